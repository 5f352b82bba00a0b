//! End-to-end tests of what `stowage migrate` may edit: a file outside the project's directory
//! (included from a sibling directory, and so possibly by other projects) is left as it is and
//! reported with the reason unless `--allow-outside` is given, and the plan (the summary on
//! standard error and the script's header) names every file the migration edits.

use std::path::{Path, PathBuf};

mod common;
use common::binary::{stowage_run, tempdir, write};

/// The file both projects include, with a database whose data is on an anonymous volume.
const SHARED: &str =
    "services:\n  db:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data\n";

/// Two projects, `a` and `b`, in sibling directories; each includes `../shared/db.yaml` and has
/// a service of its own with an anonymous volume.
fn monorepo() -> (tempfile::TempDir, PathBuf) {
    let (tmp, root) = tempdir();
    write(&root, "shared/db.yaml", SHARED);
    for name in ["a", "b"] {
        write(
            &root,
            &format!("{name}/compose.yaml"),
            "include:\n  - ../shared/db.yaml\nservices:\n  cache:\n    image: redis:7\n    volumes:\n      - /data\n",
        );
    }
    (tmp, root)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).expect("read")
}

#[test]
fn a_shared_file_outside_the_project_is_left_and_the_reason_given() {
    let (_tmp, root) = monorepo();
    let a = root.join("a");
    let run = stowage_run(&a, &["migrate", "--write", "--script", "plan.sh", "."]);
    run.expect_code(0);
    assert_eq!(read(&root.join("shared/db.yaml")), SHARED, "{}", run.stderr);
    assert!(!read(&root.join("b/compose.yaml")).contains("cache-data"));
    // The project's own file is migrated and named.
    assert!(read(&a.join("compose.yaml")).contains("cache-data:/data"));
    assert!(
        run.stderr.contains("files edited: compose.yaml\n"),
        "{}",
        run.stderr
    );
    let left = run
        .stderr
        .lines()
        .find(|l| l.starts_with("not migrated:") && l.contains("db.yaml"))
        .unwrap_or_else(|| panic!("the shared mount is not reported:\n{}", run.stderr));
    assert!(
        left.contains("outside the project's directory") && left.contains("--allow-outside"),
        "{left}"
    );
    // The script names the one file it was written for, and copies nothing of `db`.
    let script = read(&a.join("plan.sh"));
    let header: Vec<&str> = script
        .lines()
        .skip_while(|l| !l.starts_with("# The compose files the migration edits:"))
        .skip(1)
        .take_while(|l| l.starts_with("#   "))
        .collect();
    assert_eq!(
        header,
        [format!("#   {}", a.join("compose.yaml").display())],
        "{script}"
    );
    assert!(!script.contains("'db:"), "{script}");
}

#[test]
fn allow_outside_rewrites_the_shared_file_and_names_it() {
    let (_tmp, root) = monorepo();
    let a = root.join("a");
    let run = stowage_run(
        &a,
        &[
            "migrate",
            "--write",
            "--allow-outside",
            "--script",
            "plan.sh",
            ".",
        ],
    );
    run.expect_code(0);
    let shared = read(&root.join("shared/db.yaml"));
    assert_ne!(shared, SHARED, "{}", run.stderr);
    assert!(shared.contains(":/var/lib/postgresql/data"), "{shared}");
    assert!(!run.stderr.contains("not migrated:"), "{}", run.stderr);
    let edited = run
        .stderr
        .lines()
        .find(|l| l.trim_start().starts_with("files edited:"))
        .unwrap_or_else(|| panic!("no list of the files edited:\n{}", run.stderr));
    assert!(
        edited.contains("compose.yaml") && edited.contains("db.yaml"),
        "{edited}"
    );
    let script = read(&a.join("plan.sh"));
    for file in [a.join("compose.yaml"), root.join("shared/db.yaml")] {
        assert!(
            script.contains(&format!("#   {}\n", file.display())),
            "{script}"
        );
    }
}

#[test]
fn a_dry_run_reports_the_shared_mount_too() {
    let (_tmp, root) = monorepo();
    let run = stowage_run(&root.join("b"), &["migrate", "."]);
    // The project's own file changes (exit 1 for a dry run with changes); the shared one not.
    run.expect_code(1);
    assert!(!run.stdout.contains("db.yaml"), "{}", run.stdout);
    assert!(
        run.stderr.lines().any(|l| l.starts_with("not migrated:")
            && l.contains("db.yaml")
            && l.contains("outside the project's directory")),
        "{}",
        run.stderr
    );
}
