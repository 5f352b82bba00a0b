//! Live differential test against Docker Compose: every compose project under `fixtures/` is
//! loaded by the reference CLI (`$STOWAGE_ORACLE … config --format json`, compose v2.40.3) and by
//! stowage's loader with the same scrubbed environment; the services, their mount tables, the
//! used top-level volumes, the project name and the verdict (accepted / rejected) must agree.
//!
//! Without `STOWAGE_ORACLE` the test is skipped locally and fails under CI (`CI` set), which must
//! run it (`.ci/run` installs the CLI and exports the variable).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use stowage::workspace::discover;

mod common;
use common::oracle;

/// Fixtures (relative to `fixtures/`) where stowage is known to disagree with compose, each with
/// the reason. The loader is to be fixed and this list emptied; an entry that agrees again fails
/// the test so the list cannot go stale.
const KNOWN_DIFFERENCES: &[(&str, &str)] = &[];

/// At least this many fixture projects must be found and compared (so an emptied or moved
/// `fixtures/` cannot make the test pass by comparing nothing).
const MIN_FIXTURE_PROJECTS: usize = 47;

/// Every directory under `root` that compose's discovery finds a project in, sorted.
fn fixture_projects(root: &Path) -> Vec<(PathBuf, Vec<PathBuf>)> {
    let mut found = Vec::new();
    let mut pending = vec![root.to_path_buf()];
    while let Some(dir) = pending.pop() {
        if let Some(files) = discover::default_files(&dir) {
            found.push((dir.clone(), files));
        }
        let entries = std::fs::read_dir(&dir)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
        for entry in entries {
            let path = entry.expect("directory entry").path();
            if path.is_dir() {
                pending.push(path);
            }
        }
    }
    found.sort();
    found
}

#[test]
fn fixtures_agree_with_docker_compose() {
    let Some(oracle) = oracle::installed() else {
        println!(
            "note: STOWAGE_ORACLE is not set, skipping the live comparison with docker compose \
             (STOWAGE_ORACLE=$(../shared/oracle/install.sh) cargo test --test oracle)"
        );
        return;
    };
    assert!(
        oracle.is_file(),
        "STOWAGE_ORACLE={} is not a file",
        oracle.display()
    );

    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures")
        .canonicalize()
        .expect("fixtures/ exists");
    let projects = fixture_projects(&root);
    let allowed: BTreeMap<&str, &str> = KNOWN_DIFFERENCES.iter().copied().collect();

    let mut compared = 0;
    let mut unexplained = Vec::new();
    let mut known = BTreeSet::new();
    for (dir, files) in &projects {
        let name = dir.strip_prefix(&root).unwrap().display().to_string();
        let outcome = oracle::check_project(&oracle, dir, files);
        compared += 1;
        match (outcome, allowed.get(name.as_str())) {
            (None, _) => {}
            (Some(diff), Some(reason)) => {
                println!("known difference {name} ({reason}):\n    {diff}");
                known.insert(name);
            }
            (Some(diff), None) => unexplained.push(format!("{name}:\n    {diff}")),
        }
    }
    println!(
        "{compared} fixture projects compared with docker compose: {} agree, {} known differences, \
         {} unexplained",
        compared - known.len() - unexplained.len(),
        known.len(),
        unexplained.len()
    );

    let stale: Vec<&str> = allowed
        .keys()
        .copied()
        .filter(|k| !known.contains(*k))
        .collect();
    assert!(
        unexplained.is_empty(),
        "stowage disagrees with docker compose on {} fixture(s):\n{}",
        unexplained.len(),
        unexplained.join("\n")
    );
    assert!(
        stale.is_empty(),
        "KNOWN_DIFFERENCES entries that agree with compose now (or name no fixture): remove {stale:?}"
    );
    assert_eq!(compared, projects.len());
    assert!(
        compared >= MIN_FIXTURE_PROJECTS,
        "only {compared} fixture projects found under {}, expected at least {MIN_FIXTURE_PROJECTS}",
        root.display()
    );
}
