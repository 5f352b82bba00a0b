//! Live differential test against Docker Compose: every compose project under `fixtures/` is
//! loaded by the reference CLI (`$STOWAGE_ORACLE … config --format json`, compose v2.40.3) and by
//! stowage's loader with the same scrubbed environment; the services, their mount tables, the
//! used top-level volumes, the project name and the verdict (accepted / rejected) must agree.
//!
//! Without `STOWAGE_ORACLE` the test is skipped locally and fails under CI (`CI` set), which must
//! run it (`.ci/run` installs the CLI and exports the variable).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde_json::Value as Json;
use stowage::compose::loader;
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

/// Projects whose verdict depends on the active profiles: compose converts and checks the
/// entries of every service, but checks references and collisions in enabled services only, and
/// a service switched off counts as undefined for the services that need it.
const PROFILE_CASES: &[(&str, &str)] = &[
    (
        "off-service-not-checked",
        "services:\n  app:\n    image: a\n  off:\n    profiles: [x]\n    image: a\n    volumes: [/a, undeclared:/b]\n    tmpfs: [/a]\n    depends_on: [nothere]\n",
    ),
    (
        "depends-on-off-service",
        "services:\n  app:\n    image: a\n    depends_on: [off]\n  off:\n    profiles: [x]\n    image: a\n",
    ),
    (
        "depends-on-off-service-not-required",
        "services:\n  app:\n    image: a\n    depends_on:\n      off: {condition: service_started, required: false}\n  off:\n    profiles: [x]\n    image: a\n",
    ),
    (
        "depends-on-missing-not-required",
        "services:\n  app:\n    image: a\n    depends_on:\n      nothere: {condition: service_started, required: false}\n",
    ),
    (
        "volumes-from-off-service",
        "services:\n  app:\n    image: a\n    volumes_from: [off]\n  off:\n    profiles: [x]\n    image: a\n",
    ),
    (
        "off-service-bad-spec",
        "services:\n  app:\n    image: a\n  off:\n    profiles: [x]\n    image: a\n    volumes: ['/a:/b:ro:x']\n",
    ),
    (
        "off-service-bind-without-source",
        "services:\n  app:\n    image: a\n  off:\n    profiles: [x]\n    image: a\n    volumes: [{type: bind, target: /a}]\n",
    ),
];

#[test]
fn profiles_agree_with_docker_compose() {
    let Some(oracle) = oracle::installed() else {
        println!(
            "note: STOWAGE_ORACLE is not set, skipping the comparison of profiles with docker compose"
        );
        return;
    };
    let mut differences = Vec::new();
    for (name, text) in PROFILE_CASES {
        let dir = tempfile::tempdir().expect("temp dir");
        let dir = dir
            .path()
            .canonicalize()
            .expect("canonical temp dir")
            .join(name);
        std::fs::create_dir_all(&dir).expect("mkdir");
        let file = dir.join("compose.yaml");
        std::fs::write(&file, text).expect("write");
        // `y` enables no service with a profile (stowage without profiles enables them all).
        for profiles in [["y"], ["x"]] {
            let flags = ["--profile", profiles[0]];
            let out = oracle::config_with_flags(&oracle, &dir, std::slice::from_ref(&file), &flags)
                .output()
                .expect("run the oracle");
            let compose: Option<BTreeSet<String>> = out.status.success().then(|| {
                let json: Json = serde_json::from_slice(&out.stdout).expect("JSON");
                json["services"]
                    .as_object()
                    .expect("services")
                    .keys()
                    .cloned()
                    .collect()
            });
            let mut opts = oracle::load_options(&dir, vec![file.clone()]);
            opts.profiles = profiles.iter().map(|p| p.to_string()).collect();
            let project = loader::load(&opts);
            let stowage = project
                .errors
                .is_empty()
                .then(|| project.services.iter().map(|s| s.name.clone()).collect());
            if compose != stowage {
                let errors: Vec<&str> = project.errors.iter().map(|e| e.message.as_str()).collect();
                differences.push(format!(
                    "{name} --profile {profiles:?}: compose {compose:?} ({}), stowage {stowage:?} ({errors:?})",
                    String::from_utf8_lossy(&out.stderr).trim()
                ));
            }
        }
    }
    assert!(differences.is_empty(), "{}", differences.join("\n"));
}

/// `-p ''` is no name: compose falls back to `name:`, then to the directory's name.
#[test]
fn empty_project_flag_agrees_with_docker_compose() {
    let Some(oracle) = oracle::installed() else {
        println!(
            "note: STOWAGE_ORACLE is not set, skipping the comparison of `-p ''` with docker compose"
        );
        return;
    };
    for text in [
        "services:\n  app:\n    image: a\n",
        "name: fromkey\nservices:\n  app:\n    image: a\n",
    ] {
        let tmp = tempfile::tempdir().expect("temp dir");
        let dir = tmp.path().canonicalize().expect("canonical").join("proj");
        std::fs::create_dir_all(&dir).expect("mkdir");
        let file = dir.join("compose.yaml");
        std::fs::write(&file, text).expect("write");
        let flags = ["-p", ""];
        let out = oracle::config_with_flags(&oracle, &dir, std::slice::from_ref(&file), &flags)
            .output()
            .expect("run the oracle");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let json: Json = serde_json::from_slice(&out.stdout).expect("JSON");
        let mut opts = oracle::load_options(&dir, vec![file.clone()]);
        opts.project_name = Some(String::new());
        let project = loader::load(&opts);
        assert!(project.errors.is_empty(), "{:?}", project.errors);
        assert_eq!(json["name"].as_str(), Some(project.name.as_str()), "{text}");
    }
}
