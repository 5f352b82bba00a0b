//! End-to-end tests of fixing and migrating: `check --fix`, `--unsafe-fixes`, `--diff` and
//! `stowage migrate` (dry run, `--write`, `--binds`, `--name-template`, `--script`), the ways a
//! write is refused (exit 2, the file as it was) and what a write keeps (symlinks, permissions,
//! BOM, line endings, the final newline), then hand-written projects the migration must handle.
//! Every command runs with a cleared environment inside a temporary directory.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value as Json;

mod common;
use common::binary::{Run, command, run, stowage, stowage_run, tempdir, write};
use common::oracle;

// ---------------------------------------------------------------------------------------------
// helpers

/// A project directory named `app` (so the project is `app`) in a fresh temporary directory.
struct Project {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
}

impl Project {
    fn new(files: &[(&str, &str)]) -> Project {
        let (tmp, root) = tempdir();
        let dir = root.join("app");
        std::fs::create_dir(&dir).expect("mkdir");
        let p = Project { _tmp: tmp, dir };
        for (rel, text) in files {
            p.write(rel, text);
        }
        p
    }

    fn with_compose(text: &str) -> Project {
        Project::new(&[("compose.yaml", text)])
    }

    fn write(&self, rel: &str, text: &str) {
        write(&self.dir, rel, text);
    }

    fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.dir.join(rel)).expect("read")
    }

    fn run(&self, args: &[&str]) -> Run {
        stowage_run(&self.dir, args)
    }

    /// Files in the project directory whose names start like stowage's temporary files.
    fn leftovers(&self) -> Vec<String> {
        std::fs::read_dir(&self.dir)
            .expect("read dir")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".stowage-"))
            .collect()
    }
}

/// Docker Compose itself accepts the project in `dir` (when the reference CLI is there; a local
/// run without it checks with stowage's loader only).
fn assert_compose_accepts(dir: &Path) {
    let Some(oracle) = oracle::installed() else {
        return;
    };
    let out = Command::new(oracle)
        .args(["--profile", "*", "config", "--format", "json"])
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", dir)
        .output()
        .expect("the reference CLI runs");
    assert!(
        out.status.success(),
        "docker compose rejects the result: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(dir.join("compose.yaml")).unwrap_or_default()
    );
}

/// The project loads without a problem compose would reject (stowage's loader, and docker
/// compose itself when it is installed), and nothing is left to migrate.
fn assert_settled(p: &Project, migrate_args: &[&str]) {
    assert_compose_accepts(&p.dir);
    let volumes = p.run(&["volumes"]);
    assert_eq!(
        volumes.code,
        0,
        "the result does not load cleanly:\n{}\n{}\n{}",
        p.read("compose.yaml"),
        volumes.stdout,
        volumes.stderr
    );
    let mut args = vec!["migrate"];
    args.extend_from_slice(migrate_args);
    let again = p.run(&args);
    assert_eq!(
        (again.code, again.stdout.as_str()),
        (0, ""),
        "a second migration would change something:\n{}",
        again.stderr
    );
}

/// `stowage migrate --write <args>` on a project holding `compose.yaml` = `text` (and `extra`
/// files): the written file, after checking that it loads and that nothing is left to do.
fn migrated(text: &str, extra: &[(&str, &str)], args: &[&str]) -> String {
    let p = Project::with_compose(text);
    for (rel, t) in extra {
        p.write(rel, t);
    }
    let mut full = vec!["migrate", "--write"];
    full.extend_from_slice(args);
    p.run(&full).expect_code(0);
    assert_settled(&p, args);
    p.read("compose.yaml")
}

const DB: &str = "services:\n  db:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data   # the data\n";

// ---------------------------------------------------------------------------------------------
// check --diff / --fix / --unsafe-fixes

const VERSIONED: &str = "version: \"3.8\"\nservices:\n  db:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data   # the data\n";

#[test]
fn diff_prints_a_unified_diff_writes_nothing_and_exits_1() {
    let p = Project::with_compose(VERSIONED);
    let r = p.run(&["check", "--diff"]);
    r.expect_code(1);
    assert_eq!(
        r.stdout,
        "--- a/compose.yaml\n+++ b/compose.yaml\n@@ -1,4 +1,3 @@\n-version: \"3.8\"\n services:\n   db:\n     image: postgres:16\n"
    );
    assert_eq!(
        r.stderr,
        "1 fix would be applied to 1 file(s). 1 unsafe fix is available with `--unsafe-fixes`.\n"
    );
    assert_eq!(p.read("compose.yaml"), VERSIONED);
    assert!(p.leftovers().is_empty());

    let r = p.run(&["check", "--diff", "--unsafe-fixes"]);
    r.expect_code(1);
    assert!(
        r.stdout
            .contains("-      - /var/lib/postgresql/data   # the data\n+      - db-data:/var/lib/postgresql/data   # the data\n"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.ends_with("+volumes:\n+  db-data:\n"),
        "{}",
        r.stdout
    );
    assert_eq!(r.stderr, "2 fixes would be applied to 1 file(s).\n");
    assert_eq!(p.read("compose.yaml"), VERSIONED);

    // Quiet: the diff only.
    let r = p.run(&["check", "--diff", "-q"]);
    r.expect_code(1);
    assert_eq!(r.stderr, "");
    // `--diff` wins over `--fix`: nothing is written.
    let r = p.run(&["check", "--fix", "--diff", "--unsafe-fixes"]);
    r.expect_code(1);
    assert!(r.stdout.starts_with("--- a/compose.yaml\n"));
    assert_eq!(p.read("compose.yaml"), VERSIONED);
}

#[test]
fn diff_of_standard_input() {
    let p = Project::new(&[]);
    let mut cmd = stowage(&p.dir);
    cmd.args([
        "check",
        "--diff",
        "-",
        "--stdin-filename",
        "deploy/compose.yaml",
    ]);
    let r = run(cmd.write_stdin(VERSIONED));
    r.expect_code(1);
    assert!(
        r.stdout
            .starts_with("--- a/deploy/compose.yaml\n+++ b/deploy/compose.yaml\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("-version: \"3.8\"\n"));
    assert_eq!(std::fs::read_dir(&p.dir).unwrap().count(), 0);
}

#[test]
fn diff_exits_0_when_there_is_nothing_to_fix() {
    let p = Project::with_compose(
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - db:/var/lib/postgresql/data\nvolumes:\n  db:\n",
    );
    let r = p.run(&["check", "--diff", "--unsafe-fixes"]);
    r.expect_code(0);
    assert_eq!(r.stdout, "");
    assert_eq!(r.stderr, "0 fixes would be applied to 0 file(s).\n");
    // Findings without a fix do not count as changes either.
    let p = Project::with_compose(
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - ${DATA}:/var/lib/postgresql/data\n",
    );
    let r = p.run(&["check", "--diff", "--unsafe-fixes"]);
    r.expect_code(0);
    assert_eq!(r.stdout, "");
}

#[test]
fn fix_applies_safe_fixes_and_counts_the_unsafe_ones() {
    let p = Project::with_compose(VERSIONED);
    let r = p.run(&["check", "--fix", "--format", "concise"]);
    // The anonymous volume (a warning) is still there.
    r.expect_code(1);
    assert!(
        r.stdout.contains(
            "Applied 1 fix to 1 file(s). 1 unsafe fix is available with `--unsafe-fixes`.\n"
        ),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("warning[anonymous-volume]"));
    assert!(!r.stdout.contains("obsolete-version"), "{}", r.stdout);
    assert_eq!(
        p.read("compose.yaml"),
        VERSIONED.replace("version: \"3.8\"\n", "")
    );
    assert!(p.leftovers().is_empty());
}

#[test]
fn unsafe_fixes_apply_everything_and_a_second_run_changes_nothing() {
    let p = Project::with_compose(&format!("{VERSIONED}  cache:\n    image: redis:7\n"));
    let r = p.run(&["check", "--fix", "--unsafe-fixes"]);
    r.expect_code(0);
    assert!(
        r.stdout.contains("Applied 3 fixes to 1 file(s).\n"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("No findings"), "{}", r.stdout);
    let fixed = p.read("compose.yaml");
    assert_eq!(
        fixed,
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - db-data:/var/lib/postgresql/data   # the data\n  cache:\n    image: redis:7\n    volumes:\n      - cache-data:/data\nvolumes:\n  db-data:\n  cache-data:\n"
    );
    let r = p.run(&["check", "--fix", "--unsafe-fixes"]);
    r.expect_code(0);
    assert!(r.stdout.contains("Applied 0 fixes to 0 file(s).\n"));
    assert_eq!(p.read("compose.yaml"), fixed);
    p.run(&["check", "--diff", "--unsafe-fixes"]).expect_code(0);
}

#[test]
fn fix_reports_in_every_format_and_json_lists_what_is_left() {
    let p = Project::with_compose(VERSIONED);
    let r = p.run(&["check", "--fix", "--format", "json"]);
    r.expect_code(1);
    let doc: Json = serde_json::from_str(&r.stdout).expect("JSON");
    let rules: Vec<&str> = doc["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["rule"].as_str().unwrap())
        .collect();
    assert_eq!(rules, ["anonymous-volume"]);
    // The positions are those of the fixed file.
    assert_eq!(doc["findings"][0]["line"], 5);
    assert!(!p.read("compose.yaml").contains("version"));
}

#[test]
fn fix_on_standard_input_prints_the_fixed_text() {
    // The fix loop re-reads standard input from its edited text on every pass (it used to
    // re-read the original and never settle).
    let p = Project::new(&[]);
    let mut cmd = stowage(&p.dir);
    cmd.args([
        "check",
        "--fix",
        "--unsafe-fixes",
        "-",
        "--format",
        "concise",
    ]);
    let r = run(cmd.write_stdin(VERSIONED));
    r.expect_code(0);
    assert_eq!(
        r.stdout,
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - db-data:/var/lib/postgresql/data   # the data\nvolumes:\n  db-data:\n"
    );
    assert!(r.stderr.contains("Applied 2 fixes"), "{}", r.stderr);
    // Nothing was written anywhere.
    assert_eq!(std::fs::read_dir(&p.dir).unwrap().count(), 0);
}

#[test]
fn migrate_standard_input() {
    let p = Project::new(&[]);
    // Dry run: a diff of the named input; `--write`: the migrated text on stdout, no file.
    let r = run(stowage(&p.dir)
        .args(["migrate", "-", "--stdin-filename", "compose.yaml"])
        .write_stdin(DB));
    r.expect_code(1);
    assert!(r.stdout.starts_with("--- a/compose.yaml\n"), "{}", r.stdout);
    let r = run(stowage(&p.dir)
        .args(["migrate", "--write", "-"])
        .write_stdin(DB));
    r.expect_code(0);
    assert_eq!(
        r.stdout,
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - db-data:/var/lib/postgresql/data   # the data\nvolumes:\n  db-data:\n"
    );
    assert!(
        r.stderr.contains("data plan for project `app`"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_dir(&p.dir).unwrap().count(), 0);
}

#[test]
fn no_migration_fix_for_a_project_compose_rejects() {
    // `${DATA}` is unset: compose rejects the entry, so stowage cannot see what it mounts and
    // must not add a second volume on the same path.
    let text = "services:\n  db:\n    image: postgres:16\n    volumes:\n      - ${DATA}:/var/lib/postgresql/data\n";
    let p = Project::with_compose(text);
    let r = p.run(&["check", "--fix", "--unsafe-fixes", "--format", "concise"]);
    r.expect_code(1);
    assert!(
        r.stdout.contains("Applied 0 fixes to 0 file(s)."),
        "{}",
        r.stdout
    );
    assert_eq!(p.read("compose.yaml"), text);
    p.run(&["migrate", "--write"]).expect_code(2);
    assert_eq!(p.read("compose.yaml"), text);
}

#[test]
fn removing_version_keeps_the_bom_and_the_final_newline_state() {
    for (before, after) in [
        (
            "\u{feff}version: \"3\"   # old\r\nservices:\r\n  a:\r\n    image: x\r\n",
            "\u{feff}services:\r\n  a:\r\n    image: x\r\n",
        ),
        (
            "services:\n  a:\n    image: x\nversion: \"3\"",
            "services:\n  a:\n    image: x",
        ),
        (
            "services:\r\n  a:\r\n    image: x\r\nversion: '3'",
            "services:\r\n  a:\r\n    image: x",
        ),
        // A value that goes on below the key has no fix (removing one line would break it).
        (
            "version: >-\n  3.8\nservices:\n  a:\n    image: x\n",
            "version: >-\n  3.8\nservices:\n  a:\n    image: x\n",
        ),
    ] {
        let p = Project::with_compose(before);
        p.run(&["check", "--fix"]).expect_code(0);
        assert_eq!(p.read("compose.yaml"), after);
    }
}

#[test]
fn fix_leaves_a_file_with_a_syntax_error_alone() {
    let text = "version: \"3\"\nservices:\n  db:\n    image: [postgres\n";
    let p = Project::with_compose(text);
    let r = p.run(&["check", "--fix", "--unsafe-fixes", "--format", "concise"]);
    r.expect_code(1);
    assert!(r.stdout.contains("syntax-error"), "{}", r.stdout);
    assert_eq!(p.read("compose.yaml"), text);
}

#[test]
fn fix_names_volumes_with_the_configured_template() {
    let p = Project::new(&[
        ("compose.yaml", DB),
        (
            ".stowage.yaml",
            "migrate:\n  name-template: \"{project}-{service}-{basename}\"\n",
        ),
    ]);
    p.run(&["check", "--fix", "--unsafe-fixes"]).expect_code(0);
    assert!(
        p.read("compose.yaml").contains(
            "- app-db-data:/var/lib/postgresql/data   # the data\nvolumes:\n  app-db-data:\n"
        ),
        "{}",
        p.read("compose.yaml")
    );
    // A template with a typo is a configuration error.
    p.write(
        ".stowage.yaml",
        "migrate:\n  name-template: \"{servce}-{basename}\"\n",
    );
    let r = p.run(&["check"]);
    r.expect_code(2);
    assert!(
        r.stderr.contains("unknown placeholder `{servce}`"),
        "{}",
        r.stderr
    );
}

// ---------------------------------------------------------------------------------------------
// stowage migrate

#[test]
fn migrate_dry_run_prints_the_diff_and_the_plan_and_exits_1() {
    let p = Project::with_compose(DB);
    let r = p.run(&["migrate"]);
    r.expect_code(1);
    assert_eq!(
        r.stdout,
        "--- a/compose.yaml\n+++ b/compose.yaml\n@@ -2,4 +2,6 @@\n   db:\n     image: postgres:16\n     volumes:\n-      - /var/lib/postgresql/data   # the data\n+      - db-data:/var/lib/postgresql/data   # the data\n+volumes:\n+  db-data:\n"
    );
    assert_eq!(
        r.stderr,
        "data plan for project `app`:\n  files edited: compose.yaml\n  db /var/lib/postgresql/data: anonymous volume -> named volume `db-data` (app_db-data): copy the data\n`--script FILE` writes the commands that copy the data across\n"
    );
    assert_eq!(p.read("compose.yaml"), DB);
    assert!(p.leftovers().is_empty());
}

#[test]
fn migrate_write_is_verified_and_a_following_dry_run_exits_0() {
    let p = Project::with_compose(DB);
    let r = p.run(&["migrate", "--write"]);
    r.expect_code(0);
    assert_eq!(r.stdout, "", "--write prints no diff");
    assert!(
        r.stderr.contains("data plan for project `app`"),
        "{}",
        r.stderr
    );
    assert_eq!(
        p.read("compose.yaml"),
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - db-data:/var/lib/postgresql/data   # the data\nvolumes:\n  db-data:\n"
    );
    assert!(p.leftovers().is_empty());
    let r = p.run(&["migrate"]);
    r.expect_code(0);
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("", ""));
    // Writing again is a no-op that succeeds.
    p.run(&["migrate", "--write"]).expect_code(0);
}

#[test]
fn migrate_with_nothing_to_do_exits_0() {
    let p = Project::with_compose(
        "services:\n  web:\n    image: nginx:1.27\n    volumes:\n      - ./html:/usr/share/nginx/html:ro\n",
    );
    let r = p.run(&["migrate"]);
    r.expect_code(0);
    assert_eq!(r.stdout, "");
    let r = p.run(&["migrate", "--write"]);
    r.expect_code(0);
    assert_eq!(
        p.read("compose.yaml"),
        "services:\n  web:\n    image: nginx:1.27\n    volumes:\n      - ./html:/usr/share/nginx/html:ro\n"
    );
}

const BINDS: &str = "services:\n  db:\n    image: postgres:16\n    volumes:\n      - ./pgdata:/var/lib/postgresql/data\n      - ./init.sql:/docker-entrypoint-initdb.d/init.sql\n      - ./backups:/backups:ro\n";

fn binds_project() -> Project {
    let p = Project::with_compose(BINDS);
    std::fs::create_dir(p.dir.join("pgdata")).unwrap();
    std::fs::create_dir(p.dir.join("backups")).unwrap();
    p.write("init.sql", "select 1;\n");
    p
}

#[test]
fn migrate_binds_skip_leaves_binds_alone() {
    let p = binds_project();
    let r = p.run(&["migrate"]);
    r.expect_code(0);
    assert_eq!(r.stdout, "");
    let r = p.run(&["migrate", "--binds", "skip", "--write"]);
    r.expect_code(0);
    assert_eq!(p.read("compose.yaml"), BINDS);
}

#[test]
fn migrate_binds_volume_moves_the_data_into_a_volume() {
    let p = binds_project();
    let r = p.run(&["migrate", "--binds", "volume", "--write"]);
    r.expect_code(0);
    // Only the read-write directory bind: the file and the read-only bind stay.
    assert_eq!(
        p.read("compose.yaml"),
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - db-data:/var/lib/postgresql/data\n      - ./init.sql:/docker-entrypoint-initdb.d/init.sql\n      - ./backups:/backups:ro\nvolumes:\n  db-data:\n"
    );
    let host = p.dir.join("pgdata");
    assert!(
        r.stderr.contains(&format!(
            "db /var/lib/postgresql/data: host directory {} -> named volume `db-data` (app_db-data): copy the data",
            host.display()
        )),
        "{}",
        r.stderr
    );
    assert_settled(&p, &["--binds", "volume"]);
}

#[test]
fn migrate_binds_keep_path_binds_a_volume_to_the_same_directory() {
    let p = binds_project();
    let script = p.dir.join("plan.sh");
    let r = p.run(&[
        "migrate",
        "--binds",
        "keep-path",
        "--write",
        "--script",
        script.to_str().unwrap(),
    ]);
    r.expect_code(0);
    // The directory as the file wrote it: compose resolves it against the project directory.
    assert_eq!(
        p.read("compose.yaml"),
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - db-data:/var/lib/postgresql/data\n      - ./init.sql:/docker-entrypoint-initdb.d/init.sql\n      - ./backups:/backups:ro\nvolumes:\n  db-data:\n    driver: local\n    driver_opts:\n      type: none\n      o: bind\n      device: ./pgdata\n"
    );
    assert!(r.stderr.contains("data stays in place"), "{}", r.stderr);
    // Nothing to copy: the script says so and copies nothing.
    let script = std::fs::read_to_string(script).unwrap();
    assert!(script.contains("is the same host directory; nothing to copy"));
    assert!(!script.contains("copy_into \""), "{script}");
    assert_settled(&p, &["--binds", "keep-path"]);
    // `stowage volumes` sees the host directory behind the volume, as written (binds too).
    let r = p.run(&["volumes", "--format", "mermaid"]);
    r.expect_code(0);
    assert!(r.stdout.contains("[/\"./pgdata\"/]"), "{}", r.stdout);
}

#[test]
fn migrate_binds_come_from_the_configuration_unless_given() {
    let p = binds_project();
    p.write(".stowage.yaml", "migrate:\n  binds: volume\n");
    let r = p.run(&["migrate"]);
    r.expect_code(1);
    assert!(
        r.stdout
            .contains("+      - db-data:/var/lib/postgresql/data")
    );
    let r = p.run(&["migrate", "--binds", "skip"]);
    r.expect_code(0);
    assert_eq!(r.stdout, "");
    let r = p.run(&["migrate", "--no-config"]);
    r.expect_code(0);
    // An unknown strategy is a usage error.
    let r = p.run(&["migrate", "--binds", "move"]);
    r.expect_code(2);
    assert_eq!(p.read("compose.yaml"), BINDS);
}

#[test]
fn migrate_name_template() {
    let text = "name: Shop\nservices:\n  db:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data\n      - /srv/data\n";
    let p = Project::with_compose(text);
    p.run(&[
        "migrate",
        "--write",
        "--name-template",
        "{project}_{service}.{basename}",
    ])
    .expect_code(0);
    assert_eq!(
        p.read("compose.yaml"),
        "name: Shop\nservices:\n  db:\n    image: postgres:16\n    volumes:\n      - shop_db.data:/var/lib/postgresql/data\n      - shop_db.data-2:/srv/data\nvolumes:\n  shop_db.data:\n  shop_db.data-2:\n"
    );

    // Placeholders only: a typo, an unmatched brace and an empty template are refused.
    let p = Project::with_compose(text);
    for bad in ["{servce}-{basename}", "{service", ""] {
        let r = p.run(&["migrate", "--name-template", bad]);
        r.expect_code(2);
        assert!(r.stderr.starts_with("error: "), "{}", r.stderr);
    }
    // Characters a volume name cannot hold become `-`.
    let r = p.run(&["migrate", "--name-template", "vol {service}/{basename}"]);
    r.expect_code(1);
    assert!(
        r.stdout
            .contains("+      - vol-db-data:/var/lib/postgresql/data"),
        "{}",
        r.stdout
    );
    assert_eq!(p.read("compose.yaml"), text);
}

#[test]
fn migrate_uses_the_project_name_for_engine_names() {
    let p = Project::with_compose(DB);
    let r = p.run(&["migrate", "-p", "prod"]);
    r.expect_code(1);
    assert!(r.stderr.contains("(prod_db-data)"), "{}", r.stderr);
    let r = run(stowage(&p.dir)
        .env("COMPOSE_PROJECT_NAME", "staging")
        .arg("migrate"));
    assert!(r.stderr.contains("(staging_db-data)"), "{}", r.stderr);
    let p = Project::with_compose(&format!("name: My.Shop\n{DB}"));
    let r = p.run(&["migrate"]);
    assert!(r.stderr.contains("(myshop_db-data)"), "{}", r.stderr);
}

/// The commands of a script, without comments (so that words in explanations do not count).
fn script_commands(script: &str) -> String {
    script
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .collect::<Vec<_>>()
        .join("\n")
}

fn assert_sh_clean(path: &Path) {
    let out = Command::new("sh")
        .arg("-n")
        .arg(path)
        .output()
        .expect("sh runs");
    assert!(
        out.status.success(),
        "sh -n rejects the script: {}\n{}",
        String::from_utf8_lossy(&out.stderr),
        std::fs::read_to_string(path).unwrap()
    );
}

#[test]
fn migrate_script_is_posix_sh_that_stops_copies_and_never_deletes() {
    let p = Project::with_compose(&format!(
        "{DB}  cache:\n    image: redis:7\n  files:\n    image: alpine:3.20\n    volumes:\n      - ./uploads:/srv/uploads\n"
    ));
    std::fs::create_dir(p.dir.join("uploads")).unwrap();
    let script_path = p.dir.join("migrate-data.sh");
    let r = p.run(&[
        "migrate",
        "--binds",
        "volume",
        "--script",
        script_path.to_str().unwrap(),
    ]);
    r.expect_code(1);
    assert!(
        r.stderr
            .contains(&format!("data plan written to {}", script_path.display())),
        "{}",
        r.stderr
    );
    // A dry run writes the script but not the compose file.
    assert!(
        p.read("compose.yaml")
            .contains("- /var/lib/postgresql/data")
    );
    assert_sh_clean(&script_path);
    let script = std::fs::read_to_string(&script_path).unwrap();
    assert!(script.starts_with("#!/bin/sh\n"));
    assert!(script.contains("\nset -eu\n"));
    let commands = script_commands(&script);
    // The old volumes are found in the existing containers, checked before anything changes.
    assert!(commands.contains("ps -aq"), "{commands}");
    assert!(commands.contains("docker inspect"), "{commands}");
    assert!(commands.contains("docker compose --project-directory"));
    assert!(commands.contains(&format!("-f '{}'", p.dir.join("compose.yaml").display())));
    for (service, target, key) in [
        ("db", "/var/lib/postgresql/data", "db-data"),
        ("cache", "/data", "cache-data"),
    ] {
        // The new volume follows the project name the plan runs under.
        assert!(
            commands.contains(&format!(
                "$(old_volume '{service}' '{target}' \"${{project}}\"_'{key}')"
            )),
            "{commands}"
        );
    }
    assert!(commands.contains("project=${project_arg:-${COMPOSE_PROJECT_NAME:-'app'}}"));
    assert!(commands.contains(&format!("'{}'", p.dir.join("uploads").display())));
    // Services stop before anything is copied, and start again at the end.
    let at = |needle: &str| {
        commands
            .rfind(needle)
            .unwrap_or_else(|| panic!("{needle:?} not in\n{commands}"))
    };
    assert!(at("old_volume 'db'") < at("compose_0 stop 'cache' 'db' 'files'"));
    assert!(at("compose_0 stop 'cache' 'db' 'files'") < at("new_volume \"$new_0\""));
    assert!(at("new_volume \"$new_0\"") < at("copy_into \"$old_0\""));
    assert!(at("copy_into \"$old_0\"") < at("compose_0 up -d --no-deps"));
    // Compose does not create the volumes (it would seed them from the image).
    assert!(!commands.contains("compose_0 create"), "{commands}");
    // Never deletes: no `rm` (other than `docker run --rm`), no `volume rm`, no `down`.
    let words: Vec<&str> = commands.split_whitespace().collect();
    for forbidden in ["rm", "rmdir", "prune", "down", "unlink"] {
        assert!(!words.contains(&forbidden), "`{forbidden}` in\n{commands}");
    }
    assert!(!commands.contains("volume rm"));
    // The full listings of the source and the copy are compared.
    assert!(commands.contains("sha256sum"), "{commands}");
    assert!(commands.contains("-print0"), "{commands}");
}

#[test]
fn migrate_script_for_several_projects_is_one_script() {
    let p = Project::new(&[
        ("one/compose.yaml", DB),
        (
            "two/compose.yaml",
            "services:\n  cache:\n    image: redis:7\n",
        ),
    ]);
    let script_path = p.dir.join("all.sh");
    let r = p.run(&["migrate", ".", "--script", script_path.to_str().unwrap()]);
    r.expect_code(1);
    assert_sh_clean(&script_path);
    let script = std::fs::read_to_string(&script_path).unwrap();
    assert_eq!(script.matches("#!/bin/sh").count(), 1);
    assert!(
        script.contains("COMPOSE_PROJECT_NAME:-'one'")
            && script.contains("COMPOSE_PROJECT_NAME:-'two'"),
        "{script}"
    );
    // `-p` names one project: the plan of two refuses it.
    assert!(script.contains("-p names one project"), "{script}");
    assert!(r.stdout.contains("a/one/compose.yaml") && r.stdout.contains("a/two/compose.yaml"));
}

#[test]
fn a_script_is_not_replaced_by_an_empty_one() {
    let p = Project::with_compose(DB);
    let script = p.dir.join("plan.sh");
    let script_arg = script.to_str().unwrap();
    p.run(&["migrate", "--write", "--script", script_arg])
        .expect_code(0);
    let plan = std::fs::read_to_string(&script).unwrap();
    assert!(plan.contains("db-data"));
    // Nothing left to migrate: the plan of the first run stays, and the data is not said to
    // be where it belongs.
    let r = p.run(&["migrate", "--script", script_arg]);
    r.expect_code(0);
    assert!(
        r.stderr
            .contains("nothing left to convert in the files, so no new plan"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("no data to move"), "{}", r.stderr);
    assert!(
        r.stderr.contains("old anonymous volumes are never deleted"),
        "{}",
        r.stderr
    );
    assert_eq!(std::fs::read_to_string(&script).unwrap(), plan);
}

#[test]
fn a_write_leaves_its_plan_beside_the_files_and_names_it() {
    let p = Project::with_compose(DB);
    let r = p.run(&["migrate", "--write"]);
    r.expect_code(0);
    let plan = p.dir.join("stowage-plan-app.sh");
    assert!(
        r.stderr.contains(&format!(
            "data plan for project `app` written to {}",
            plan.display()
        )),
        "{}",
        r.stderr
    );
    assert_sh_clean(&plan);
    // A later `--script` names it.
    let r = p.run(&["migrate", "--script", "later.sh"]);
    r.expect_code(0);
    assert!(
        r.stderr.contains(&plan.display().to_string()),
        "{}",
        r.stderr
    );
    // `check --fix --unsafe-fixes` leaves one too, beside the first rather than over it.
    let q = Project::with_compose(DB);
    std::fs::write(q.dir.join("stowage-plan-app.sh"), "earlier").unwrap();
    let r = q.run(&["check", "--fix", "--unsafe-fixes"]);
    let second = q.dir.join("stowage-plan-app-2.sh");
    assert!(
        r.stderr.contains(&second.display().to_string()),
        "{}",
        r.stderr
    );
    assert_sh_clean(&second);
    assert_eq!(q.read("stowage-plan-app.sh"), "earlier");
}

#[test]
fn a_file_two_projects_share_is_fixed_once() {
    // `compose.yaml` and `compose.prod.yaml` are two projects of one directory walk, both
    // including `common.yaml`: both fix it alike, and it is written once.
    let common = "version: \"3\"\nservices:\n  db:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data\n";
    let files = [
        (
            "compose.yaml",
            "include:\n  - common.yaml\nservices:\n  web:\n    image: nginx:1.27\n",
        ),
        (
            "compose.prod.yaml",
            "include:\n  - common.yaml\nservices:\n  api:\n    image: nginx:1.27\n",
        ),
        ("common.yaml", common),
    ];
    let fixed = "services:\n  db:\n    image: postgres:16\n    volumes:\n      - db-data:/var/lib/postgresql/data\nvolumes:\n  db-data:\n";
    let p = Project::new(&files);
    let r = p.run(&["check", "--diff", "--unsafe-fixes", "."]);
    r.expect_code(1);
    assert_eq!(
        r.stdout.matches("--- a/common.yaml").count(),
        1,
        "{}",
        r.stdout
    );
    p.run(&["check", "--fix", "--unsafe-fixes", "."])
        .expect_code(0);
    assert_eq!(p.read("common.yaml"), fixed);
    let p = Project::new(&files);
    let r = p.run(&["migrate", "."]);
    r.expect_code(1);
    assert_eq!(
        r.stdout.matches("--- a/common.yaml").count(),
        1,
        "{}",
        r.stdout
    );
    p.run(&["migrate", "--write", "."]).expect_code(0);
    assert_eq!(
        p.read("common.yaml"),
        fixed.replace("services", "version: \"3\"\nservices")
    );
}

// ---------------------------------------------------------------------------------------------
// refusals: exit 2, and the file stays as it was

#[test]
fn migrate_refuses_a_project_compose_rejects() {
    let text = "services:\n  db:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data\n      - nope:/x\n";
    let p = Project::with_compose(text);
    for args in [&["migrate"][..], &["migrate", "--write"]] {
        let r = p.run(args);
        r.expect_code(2);
        assert!(
            r.stderr.contains("compose rejects this project"),
            "{}",
            r.stderr
        );
        assert_eq!(r.stdout, "");
    }
    assert_eq!(p.read("compose.yaml"), text);
    // A missing path is a failure too.
    p.run(&["migrate", "missing.yaml"]).expect_code(2);
}

#[test]
fn a_file_changed_on_disk_since_it_was_read_is_not_overwritten() {
    use stowage::fix::write::{WriteError, atomic_write};
    let p = Project::with_compose(DB);
    let path = p.dir.join("compose.yaml");
    // Someone saved the file after stowage read it.
    let theirs = DB.replace("postgres:16", "postgres:17");
    std::fs::write(&path, &theirs).unwrap();
    let err = atomic_write(&path, DB, "services: {}\n").unwrap_err();
    assert!(matches!(err, WriteError::Changed(_)), "{err}");
    assert!(err.to_string().contains("changed on disk"));
    assert_eq!(p.read("compose.yaml"), theirs);
    assert!(p.leftovers().is_empty());
    // A file that vanished is an error, not a new file.
    std::fs::remove_file(&path).unwrap();
    assert!(atomic_write(&path, DB, "services: {}\n").is_err());
    assert!(!path.exists());
    // The expected text matches: the write goes through.
    std::fs::write(&path, DB).unwrap();
    atomic_write(&path, DB, "services: {}\n").unwrap();
    assert_eq!(p.read("compose.yaml"), "services: {}\n");
    assert!(p.leftovers().is_empty());
}

/// Whether this process runs as root: the owner of a file it creates.
#[cfg(unix)]
fn running_as_root(dir: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let probe = dir.join(".owner-probe");
    std::fs::write(&probe, "").unwrap();
    let uid = std::fs::metadata(&probe).unwrap().uid();
    std::fs::remove_file(&probe).unwrap();
    uid == 0
}

/// A write into a directory stowage may not create files in is refused with exit 2 and leaves
/// the file as it was. `chmod a-w` on the directory is how to set that up, but it does not stop
/// root (CAP_DAC_OVERRIDE ignores mode bits), and tests often run as root in containers: as
/// root, the binary runs as `nobody` (uid/gid 65534), for whom the mode bits apply. Where even
/// that is impossible (no CAP_SETUID), the test says so and stops.
#[cfg(unix)]
#[test]
fn a_read_only_directory_refuses_the_write() {
    use std::os::unix::fs::PermissionsExt;
    use std::os::unix::process::CommandExt;
    let p = Project::with_compose(DB);
    let root = running_as_root(&p.dir);
    let mode = |path: &Path, m: u32| {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(m)).unwrap()
    };
    // `nobody` must reach the directory and read the file, and not write either.
    mode(p.dir.parent().unwrap(), 0o755);
    mode(&p.dir.join("compose.yaml"), 0o644);
    mode(&p.dir, 0o555);
    let attempt = |args: &[&str]| -> Option<Run> {
        let mut cmd = command(&p.dir);
        cmd.args(args);
        if root {
            cmd.uid(65534).gid(65534);
        }
        match cmd.output() {
            Ok(out) => Some(Run::from(out)),
            Err(e) if root => {
                println!("note: cannot run the binary as `nobody` ({e}); skipping");
                None
            }
            Err(e) => panic!("the binary does not run: {e}"),
        }
    };
    let results = [
        attempt(&["migrate", "--write"]),
        attempt(&["check", "--fix", "--unsafe-fixes"]),
    ];
    mode(&p.dir, 0o755);
    let ran = results.iter().flatten().count();
    for (i, r) in results.into_iter().flatten().enumerate() {
        r.expect_code(2);
        // The plan comes first: it cannot be written either, and the file is left as it was.
        assert!(
            r.stderr.contains("cannot write the data plan")
                && r.stderr.contains("compose.yaml left as it was"),
            "{}",
            r.stderr
        );
        if i == 1 {
            // The summary counts what was written.
            assert!(
                r.stdout.contains("Applied 0 fixes to 0 file(s)."),
                "{}",
                r.stdout
            );
        }
    }
    assert!(ran == 0 || ran == 2);
    assert_eq!(p.read("compose.yaml"), DB);
    assert!(p.leftovers().is_empty());
}

#[cfg(unix)]
#[test]
fn a_symlinked_compose_file_is_written_through_and_stays_a_link() {
    use std::os::unix::fs::PermissionsExt;
    let p = Project::new(&[("stacks/prod.yaml", DB)]);
    let link = p.dir.join("compose.yaml");
    std::os::unix::fs::symlink("stacks/prod.yaml", &link).unwrap();
    let real = p.dir.join("stacks/prod.yaml");
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
    p.run(&["migrate", "--write"]).expect_code(0);
    let meta = std::fs::symlink_metadata(&link).unwrap();
    assert!(meta.file_type().is_symlink(), "the link was replaced");
    assert_eq!(
        std::fs::read_link(&link).unwrap(),
        Path::new("stacks/prod.yaml")
    );
    assert!(
        p.read("stacks/prod.yaml")
            .contains("- db-data:/var/lib/postgresql/data")
    );
    assert_eq!(
        std::fs::metadata(&real).unwrap().permissions().mode() & 0o7777,
        0o640
    );
    assert!(
        std::fs::read_dir(p.dir.join("stacks"))
            .unwrap()
            .flatten()
            .all(|e| !e.file_name().to_string_lossy().starts_with(".stowage-"))
    );
    assert_settled(&p, &[]);
}

#[cfg(unix)]
#[test]
fn permissions_are_kept() {
    use std::os::unix::fs::PermissionsExt;
    for (m, args) in [
        (0o600, &["migrate", "--write"][..]),
        (0o664, &["check", "--fix", "--unsafe-fixes"][..]),
        (0o755, &["check", "--fix", "--unsafe-fixes"][..]),
    ] {
        let p = Project::with_compose(DB);
        let path = p.dir.join("compose.yaml");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(m)).unwrap();
        p.run(args).expect_code(0);
        assert!(p.read("compose.yaml").contains("db-data"));
        assert_eq!(
            std::fs::metadata(&path).unwrap().permissions().mode() & 0o7777,
            m,
            "{args:?}"
        );
    }
}

#[test]
fn bom_line_endings_and_the_final_newline_are_kept() {
    let cases = [
        // BOM + CRLF, final newline
        (
            "\u{feff}services:\r\n  db:\r\n    image: postgres:16\r\n    volumes:\r\n      - /var/lib/postgresql/data\r\n",
            "\u{feff}services:\r\n  db:\r\n    image: postgres:16\r\n    volumes:\r\n      - db-data:/var/lib/postgresql/data\r\nvolumes:\r\n  db-data:\r\n",
        ),
        // CRLF without final newline
        (
            "services:\r\n  db:\r\n    image: postgres:16\r\n    volumes:\r\n      - /var/lib/postgresql/data",
            "services:\r\n  db:\r\n    image: postgres:16\r\n    volumes:\r\n      - db-data:/var/lib/postgresql/data\r\nvolumes:\r\n  db-data:",
        ),
        // LF without final newline, BOM
        (
            "\u{feff}services:\n  db:\n    image: postgres:16\n    volumes: [/var/lib/postgresql/data]",
            "\u{feff}services:\n  db:\n    image: postgres:16\n    volumes: [db-data:/var/lib/postgresql/data]\nvolumes:\n  db-data:",
        ),
    ];
    for (before, after) in cases {
        for args in [
            &["migrate", "--write"][..],
            &["check", "--fix", "--unsafe-fixes"],
        ] {
            let p = Project::with_compose(before);
            p.run(args).expect_code(0);
            let bytes = std::fs::read(p.dir.join("compose.yaml")).unwrap();
            assert_eq!(String::from_utf8(bytes).unwrap(), after, "{args:?}");
            assert_settled(&p, &[]);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// hand-written projects

#[test]
fn an_anonymous_volume_in_an_anchor_of_several_services_is_not_merged_into_one() {
    // Each service has an anonymous volume of its own at the entry: one named volume in the
    // anchor would make them share one set of data, and the plan could not copy two into one.
    let text = "x-app: &app\n  image: ghcr.io/example/app:1\n  volumes:\n    - /srv/uploads   # user files\nservices:\n  web:\n    <<: *app\n  worker:\n    <<: *app\n    command: work\n";
    let p = Project::with_compose(text);
    let r = p.run(&["check", "--format", "json"]);
    let doc: Json = serde_json::from_str(&r.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "one finding for the one entry: {doc:#}");
    assert_eq!(
        findings[0]["services"],
        serde_json::json!(["web", "worker"])
    );
    assert!(findings[0]["fix"].is_null(), "{doc:#}");
    assert!(
        findings[0]["help"]
            .as_str()
            .unwrap()
            .contains("give each service a named volume of its own"),
        "{doc:#}"
    );
    assert_eq!(migrated(text, &[], &[]), text);
    let r = p.run(&["migrate"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains(
            "not migrated: compose.yaml:4:7: anonymous-volume (service `web`, `worker`): written once, in an anchor"
        ),
        "{}",
        r.stderr
    );
    // A sequence anchor used as a whole list.
    let text = "x-vols: &vols\n  - /cache\nservices:\n  a:\n    image: x\n    volumes: *vols\n  b:\n    image: y\n    volumes: *vols\nvolumes:\n  other:\n";
    assert_eq!(migrated(text, &[], &[]), text);
}

#[test]
fn flow_style_stays_flow_style() {
    assert_eq!(
        migrated(
            "services:\n  a:\n    image: x\n    volumes: [/data, \"/cache\", './conf:/etc/conf:ro']\nvolumes: {}\n",
            &[],
            &[]
        ),
        "services:\n  a:\n    image: x\n    volumes: [a-data:/data, \"a-cache:/cache\", './conf:/etc/conf:ro']\nvolumes: {a-data: {}, a-cache: {}}\n"
    );
    assert_eq!(
        migrated(
            "services:\n  a: {image: redis:7, volumes: [/x]}\nvolumes: {old: {}}\n",
            &[],
            &[]
        ),
        "services:\n  a: {image: redis:7, volumes: [a-x:/x, a-data:/data]}\nvolumes: {old: {}, a-data: {}, a-x: {}}\n"
    );
    // A flow service without `volumes:` gets a flow list.
    assert_eq!(
        migrated("services:\n  cache: {image: redis:7}\n", &[], &[]),
        "services:\n  cache: {image: redis:7, volumes: [cache-data:/data]}\nvolumes:\n  cache-data:\n"
    );
}

#[test]
fn crlf_with_bom() {
    assert_eq!(
        migrated(
            "\u{feff}services:\r\n  cache:\r\n    image: redis:7   # cache\r\n  db:\r\n    image: postgres:16\r\n    volumes: [/var/lib/postgresql/data]\r\nvolumes:\r\n  other:\r\n",
            &[],
            &[]
        ),
        "\u{feff}services:\r\n  cache:\r\n    image: redis:7   # cache\r\n    volumes:\r\n      - cache-data:/data\r\n  db:\r\n    image: postgres:16\r\n    volumes: [db-data:/var/lib/postgresql/data]\r\nvolumes:\r\n  other:\r\n  cache-data:\r\n  db-data:\r\n"
    );
}

#[test]
fn generated_names_never_collide() {
    // A volume already has the generated name; two services generate the same basename; one
    // service generates the same name twice; a service name and a basename combine alike.
    assert_eq!(
        migrated(
            "services:\n  db:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data\n      - db-data:/backup\n  a:\n    image: x\n    volumes:\n      - /x/data\n      - /y/data\n  a-b:\n    image: x\n    volumes:\n      - /c\n  a-b-c:\n    image: x\n    volumes:\n      - /srv/x\nvolumes:\n  db-data:\n  a-b-c:\n",
            &[],
            &[]
        ),
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - db-data-2:/var/lib/postgresql/data\n      - db-data:/backup\n  a:\n    image: x\n    volumes:\n      - a-data:/x/data\n      - a-data-2:/y/data\n  a-b:\n    image: x\n    volumes:\n      - a-b-c-2:/c\n  a-b-c:\n    image: x\n    volumes:\n      - a-b-c-x:/srv/x\nvolumes:\n  db-data:\n  a-b-c:\n  db-data-2:\n  a-data:\n  a-data-2:\n  a-b-c-2:\n  a-b-c-x:\n"
    );
    // Names that YAML would read as something else are quoted as keys; a one-character name
    // would be a Windows drive letter (`1:/1`), so it gets a suffix.
    assert_eq!(
        migrated(
            "services:\n  \"true\":\n    image: x\n    volumes:\n      - /1\n      - /on\n",
            &[],
            &["--name-template", "{basename}"],
        ),
        "services:\n  \"true\":\n    image: x\n    volumes:\n      - 1-data:/1\n      - on:/on\nvolumes:\n  1-data:\n  \"on\":\n"
    );
}

#[test]
fn bind_mounts_with_volume_and_keep_path() {
    let text = "services:\n  db:\n    image: postgres:16\n    volumes:\n      - ./pgdata:/var/lib/postgresql/data   # keep\n      - type: bind\n        source: ./long\n        target: /long\n      - ./z:/z:z\n";
    for (strategy, decl) in [
        ("volume", "  db-data:\n".to_owned()),
        ("keep-path", String::new()),
    ] {
        let p = Project::with_compose(text);
        for d in ["pgdata", "long", "z"] {
            std::fs::create_dir(p.dir.join(d)).unwrap();
        }
        p.run(&["migrate", "--binds", strategy, "--write"])
            .expect_code(0);
        let decl = if decl.is_empty() {
            "  db-data:\n    driver: local\n    driver_opts:\n      type: none\n      o: bind\n      device: ./pgdata\n".to_owned()
        } else {
            decl
        };
        // Long syntax and binds with options are left alone (the rule says so).
        assert_eq!(
            p.read("compose.yaml"),
            format!(
                "services:\n  db:\n    image: postgres:16\n    volumes:\n      - db-data:/var/lib/postgresql/data   # keep\n      - type: bind\n        source: ./long\n        target: /long\n      - ./z:/z:z\nvolumes:\n{decl}"
            ),
            "{strategy}"
        );
        assert_settled(&p, &["--binds", strategy]);
    }
}

#[test]
fn a_device_path_that_needs_quoting_is_quoted() {
    let p = Project::with_compose(
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - \"./pg data #1:/var/lib/postgresql/data\"\n",
    );
    std::fs::create_dir(p.dir.join("pg data #1")).unwrap();
    p.run(&["migrate", "--binds", "keep-path", "--write"])
        .expect_code(0);
    let out = p.read("compose.yaml");
    assert!(out.contains("      device: \"./pg data #1\"\n"), "{out}");
    assert!(
        out.contains("- \"db-data:/var/lib/postgresql/data\"\n"),
        "{out}"
    );
    assert_settled(&p, &["--binds", "keep-path"]);
}

#[test]
fn implicit_volumes_of_images_and_local_dockerfiles() {
    assert_eq!(
        migrated(
            "services:\n  cache:\n    image: redis:7\n    environment:\n      A: b   # trailing\n  app:\n    build: .\n    volumes:\n      - ./src:/src:ro\n",
            &[("Dockerfile", "FROM alpine\nVOLUME /var/lib/app /cache\n")],
            &[]
        ),
        "services:\n  cache:\n    image: redis:7\n    environment:\n      A: b   # trailing\n    volumes:\n      - cache-data:/data\n  app:\n    build: .\n    volumes:\n      - ./src:/src:ro\n      - app:/var/lib/app\n      - app-cache:/cache\nvolumes:\n  cache-data:\n  app:\n  app-cache:\n"
    );
    // Into an empty flow list: the items stay apart.
    assert_eq!(
        migrated(
            "services:\n  app:\n    build: .\n    volumes: []\n",
            &[(
                "Dockerfile",
                "FROM alpine\nVOLUME [\"/var/lib/app\", \"/cache\"]\n"
            )],
            &[]
        ),
        "services:\n  app:\n    build: .\n    volumes: [app:/var/lib/app, app-cache:/cache]\nvolumes:\n  app:\n  app-cache:\n"
    );
}

#[test]
fn a_service_without_a_volumes_key() {
    assert_eq!(
        migrated(
            "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: example\n    healthcheck:\n      test: [CMD, pg_isready]\n\n  web:\n    image: nginx:1.27\n",
            &[],
            &[]
        ),
        "services:\n  db:\n    image: postgres:16\n    environment:\n      POSTGRES_PASSWORD: example\n    healthcheck:\n      test: [CMD, pg_isready]\n    volumes:\n      - db-data:/var/lib/postgresql/data\n\n  web:\n    image: nginx:1.27\nvolumes:\n  db-data:\n"
    );
    // Four-space indentation is kept.
    assert_eq!(
        migrated("services:\n    cache:\n        image: redis:7\n", &[], &[]),
        "services:\n    cache:\n        image: redis:7\n        volumes:\n            - cache-data:/data\nvolumes:\n    cache-data:\n"
    );
}

#[test]
fn every_shape_of_top_level_volumes() {
    let service = "services:\n  a:\n    image: x\n    volumes:\n      - /data\n";
    let fixed = "services:\n  a:\n    image: x\n    volumes:\n      - a-data:/data\n";
    for (top, after) in [
        ("", "volumes:\n  a-data:\n"),
        ("volumes: {}\n", "volumes: {a-data: {}}\n"),
        ("volumes: {x: {}}\n", "volumes: {x: {}, a-data: {}}\n"),
        (
            "volumes:\n  x:\n    driver: local   # local\n# end\n",
            "volumes:\n  x:\n    driver: local   # local\n  a-data:\n# end\n",
        ),
        (
            "volumes:\n  x: {\n    driver: local\n  }\n",
            "volumes:\n  x: {\n    driver: local\n  }\n  a-data:\n",
        ),
    ] {
        assert_eq!(
            migrated(&format!("{service}{top}"), &[], &[]),
            format!("{fixed}{after}"),
            "top-level {top:?}"
        );
    }
    // A null top-level `volumes:` is rejected by compose: migrate asks for it to be fixed first.
    for top in ["volumes:\n", "volumes:   # below\n", "volumes: ~\n"] {
        let p = Project::with_compose(&format!("{service}{top}"));
        let run = p.run(&["migrate", "--write"]);
        run.expect_code(2);
        assert!(
            run.stderr.contains("compose rejects this project"),
            "{}",
            run.stderr
        );
        assert_eq!(
            p.read("compose.yaml"),
            format!("{service}{top}"),
            "left as it was"
        );
    }
}

#[test]
fn multi_document_files() {
    // compose merges documents in order; each conversion is declared in its own document.
    assert_eq!(
        migrated(
            "services:\n  db:\n    image: postgres:16\n---\nservices:\n  web:\n    image: x\n    volumes: [/srv]\n...\n",
            &[],
            &[]
        ),
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - db-data:/var/lib/postgresql/data\nvolumes:\n  db-data:\n---\nservices:\n  web:\n    image: x\n    volumes: [web-srv:/srv]\nvolumes:\n  web-srv:\n...\n"
    );
    // A document that already declares volumes gets the new one there.
    assert_eq!(
        migrated(
            "volumes:\n  old:\n---\nservices:\n  web:\n    image: x\n    volumes: [/srv, old:/old]\n",
            &[],
            &[]
        ),
        "volumes:\n  old:\n---\nservices:\n  web:\n    image: x\n    volumes: [web-srv:/srv, old:/old]\nvolumes:\n  web-srv:\n"
    );
}

#[test]
fn a_file_without_a_final_newline() {
    assert_eq!(
        migrated(
            "services:\n  db:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data  # data",
            &[],
            &[]
        ),
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - db-data:/var/lib/postgresql/data  # data\nvolumes:\n  db-data:"
    );
    assert_eq!(
        migrated(
            "services:\n  cache:\n    image: redis:7\nvolumes:\n  x:",
            &[],
            &[]
        ),
        "services:\n  cache:\n    image: redis:7\n    volumes:\n      - cache-data:/data\nvolumes:\n  x:\n  cache-data:"
    );
}

#[test]
fn trailing_comments_stay_on_their_lines() {
    assert_eq!(
        migrated(
            "services:   # all of them\n  db:   # the database\n    image: postgres:16   # pinned\n    volumes:   # list\n      - '/var/lib/postgresql/data'   # data\n      - /tmp/x  # scratch\n",
            &[],
            &[]
        ),
        "services:   # all of them\n  db:   # the database\n    image: postgres:16   # pinned\n    volumes:   # list\n      - 'db-data:/var/lib/postgresql/data'   # data\n      - db-x:/tmp/x  # scratch\nvolumes:\n  db-data:\n  db-x:\n"
    );
}

#[test]
fn block_scalars_and_reset_are_never_edited() {
    // An entry written as a block scalar is reported but not rewritten; text in other block
    // scalars that looks like a volume entry is not touched; `!reset` content is not touched.
    let text = "services:\n  a:\n    image: x\n    volumes:\n      - |-\n        /in-a-block\n      - /data\n    command: |\n      - /notavolume\n      volumes:\n  b:\n    image: x\n    volumes: !reset\n      - /reset\n";
    let out = migrated(text, &[], &[]);
    assert_eq!(
        out,
        "services:\n  a:\n    image: x\n    volumes:\n      - |-\n        /in-a-block\n      - a-data:/data\n    command: |\n      - /notavolume\n      volumes:\n  b:\n    image: x\n    volumes: !reset\n      - /reset\nvolumes:\n  a-data:\n"
    );
    // The block scalar entry is still reported, without a fix.
    let p = Project::with_compose(&out);
    let r = p.run(&["check", "--format", "json"]);
    let doc: Json = serde_json::from_str(&r.stdout).unwrap();
    let findings = doc["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{doc:#}");
    assert!(findings[0]["fix"].is_null());
    // An override file that resets a service's volumes is left alone too.
    let p = Project::new(&[
        (
            "compose.yaml",
            "services:\n  a:\n    image: x\n    volumes:\n      - data:/data\nvolumes:\n  data:\n",
        ),
        (
            "compose.override.yaml",
            "services:\n  a:\n    volumes: !reset\n      - /data\n",
        ),
    ]);
    let r = p.run(&["migrate"]);
    r.expect_code(0);
    assert_eq!(r.stdout, "");
}

#[test]
fn a_service_ending_in_a_block_scalar() {
    // Clipped block scalars end at their last line: new keys go right after it. Kept trailing
    // blank lines (`|+`) belong to the value: nothing may be inserted before them.
    assert_eq!(
        migrated(
            "services:\n  cache:\n    image: redis:7\n    command: |\n      - /not-a-volume\n      volumes:\n\n  db:\n    image: x\n    volumes:\n      - /srv\n    entrypoint: >-\n      run\n\n",
            &[],
            &[]
        ),
        "services:\n  cache:\n    image: redis:7\n    command: |\n      - /not-a-volume\n      volumes:\n    volumes:\n      - cache-data:/data\n\n  db:\n    image: x\n    volumes:\n      - db-srv:/srv\n    entrypoint: >-\n      run\nvolumes:\n  cache-data:\n  db-srv:\n\n"
    );
    let keep = "services:\n  cache:\n    image: redis:7\n    command: |+\n      run\n\n";
    let p = Project::with_compose(keep);
    let r = p.run(&["migrate", "--write"]);
    r.expect_code(0);
    assert_eq!(p.read("compose.yaml"), keep);
    assert!(
        r.stderr.contains(
            "not migrated: compose.yaml:3:12: implicit-volume (service `cache`): no automatic conversion"
        ),
        "{}",
        r.stderr
    );
}

#[test]
fn what_cannot_be_migrated_is_listed() {
    let text = "services:\n  cache:\n    image: redis:7\n  app:\n    image: x\n    volumes:\n      - ${CACHE:-/cache}\n      - /srv\n      - type: bind\n        source: ./state\n        target: /state\n";
    let p = Project::with_compose(text);
    std::fs::create_dir(p.dir.join("state")).unwrap();
    // Dry run: positions in the file as it is.
    let r = p.run(&["migrate", "--binds", "volume"]);
    r.expect_code(1);
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("not migrated: "))
        .collect();
    assert_eq!(
        lines,
        [
            "not migrated: compose.yaml:7:9: anonymous-volume (service `app`): no automatic conversion; see `stowage check`",
            "not migrated: compose.yaml:9:9: bind-mount (service `app`): no automatic conversion; see `stowage check`",
        ]
    );
    // Without `--binds`, binds are not asked for and not listed.
    let r = p.run(&["migrate"]);
    assert!(!r.stderr.contains("bind-mount"), "{}", r.stderr);
    // After the write: positions in the written file; the run still exits 0.
    let r = p.run(&["migrate", "--binds", "volume", "--write"]);
    r.expect_code(0);
    assert!(
        r.stderr
            .contains("not migrated: compose.yaml:9:9: anonymous-volume (service `app`)"),
        "{}",
        r.stderr
    );
    let r = p.run(&["migrate", "--binds", "volume"]);
    r.expect_code(0);
    assert_eq!(r.stdout, "");
}

#[test]
fn a_project_with_many_anonymous_volumes() {
    // Declarations of one `volumes:` section go in together: 150 conversions must not need 150
    // passes of the fix loop (it gives up after 50).
    let mut text = String::from("services:\n");
    for i in 0..75 {
        text.push_str(&format!(
            "  s{i}:\n    image: x\n    volumes:\n      - /data\n      - /cache/{i}\n"
        ));
    }
    for args in [
        &["migrate", "--write"][..],
        &["check", "--fix", "--unsafe-fixes"],
    ] {
        let p = Project::with_compose(&text);
        p.run(args).expect_code(0);
        let out = p.read("compose.yaml");
        assert_eq!(out.matches("\nvolumes:\n").count(), 1);
        assert!(out.contains("      - s74-data:/data\n      - s74-74:/cache/74\n"));
        assert!(out.ends_with("  s74-data:\n  s74-74:\n"), "{out}");
        assert_eq!(out.lines().filter(|l| l.ends_with("-data:")).count(), 75);
        assert_settled(&p, &[]);
    }
}

#[test]
fn an_override_file_is_edited_where_the_entry_was_written() {
    let p = Project::new(&[
        (
            "compose.yaml",
            "services:\n  db:\n    image: postgres:16\n    volumes:\n      - db:/var/lib/postgresql/data\nvolumes:\n  db:\n",
        ),
        (
            "compose.override.yaml",
            "services:\n  db:\n    volumes:\n      - /scratch\n",
        ),
    ]);
    p.run(&["migrate", "--write"]).expect_code(0);
    assert_eq!(
        p.read("compose.override.yaml"),
        "services:\n  db:\n    volumes:\n      - db-scratch:/scratch\nvolumes:\n  db-scratch:\n"
    );
    assert_eq!(
        p.read("compose.yaml"),
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - db:/var/lib/postgresql/data\nvolumes:\n  db:\n"
    );
    assert_settled(&p, &[]);
}

#[test]
fn long_syntax_anonymous_volumes() {
    assert_eq!(
        migrated(
            "services:\n  a:\n    image: x\n    volumes:\n      - type: volume\n        target: /x   # c\n      - {type: volume, target: /y}\n      - type: volume\n        source: ''\n        target: /z\n",
            &[],
            &[]
        ),
        "services:\n  a:\n    image: x\n    volumes:\n      - type: volume\n        target: /x   # c\n        source: a-x\n      - {type: volume, target: /y, source: a-y}\n      - type: volume\n        source: 'a-z'\n        target: /z\nvolumes:\n  a-x:\n  a-y:\n  a-z:\n"
    );
    // An empty `source:` gets the name after its colon; compose rejects a null one, so migrate
    // asks for that to be fixed first.
    assert_eq!(
        migrated(
            "services:\n  a:\n    image: x\n    volumes:\n      - {type: volume, source: '', target: /z}\n      - type: volume\n        target: /u\n        volume:\n          nocopy: true\n",
            &[],
            &[]
        ),
        "services:\n  a:\n    image: x\n    volumes:\n      - {type: volume, source: 'a-z', target: /z}\n      - type: volume\n        target: /u\n        volume:\n          nocopy: true\n        source: a-u\nvolumes:\n  a-z:\n  a-u:\n"
    );
    for source in ["source:", "source:   # none", "source: ~"] {
        let text = format!(
            "services:\n  a:\n    image: x\n    volumes:\n      - type: volume\n        {source}\n        target: /x\n"
        );
        let p = Project::with_compose(&text);
        let run = p.run(&["migrate", "--write"]);
        run.expect_code(2);
        assert!(
            run.stderr.contains("compose rejects this project"),
            "{}",
            run.stderr
        );
        assert_eq!(p.read("compose.yaml"), text, "left as it was");
    }
}
