//! `check --write-baseline` and `check --baseline` end to end: the file written (a snapshot), a
//! baseline that still matches after every line moved, exactly the new finding failing, entries
//! gone counted as stale, identical findings counted, every format, `--fix` leaving baselined
//! findings alone, and the exit 2 of a missing or malformed baseline.

use std::path::Path;

use serde_json::Value as Json;

mod common;
use common::binary::{Run, copy_dir, manifest_dir, stowage_run, tempdir, write};

/// The messages of the demo's findings (the rule documentation SARIF carries has none of them).
const DEMO: [&str; 3] = [
    "anonymous volume at `/var/lib/postgresql/data` (where",
    "`redis:7` declares",
    "`docker.elastic.co/elasticsearch/elasticsearch:8.15.0` keeps",
];

/// The message of the finding `add_finding` adds (SARIF writes it with a capital).
const NEW: &str = "nonymous volume at `/scratch` is orphaned";

/// The demo's `compose.yaml` with a service more, with an anonymous volume.
fn add_finding(text: &str) -> String {
    text.replace(
        "\nvolumes:\n",
        "  scratch:\n    image: alpine:3.20\n    volumes:\n      - /scratch\n\nvolumes:\n",
    )
}

/// A copy of `fixtures/demo` (three findings: `db`, `cache`, `search`) in a repository, with
/// its baseline written to `ci/baseline.json`.
fn demo_with_baseline() -> (tempfile::TempDir, std::path::PathBuf) {
    let (guard, dir) = tempdir();
    copy_dir(&manifest_dir().join("fixtures/demo"), &dir);
    std::fs::create_dir(dir.join(".git")).unwrap();
    let r = stowage_run(
        &dir,
        &["check", "--write-baseline", "ci/baseline.json", "."],
    );
    // The directory the baseline goes to must exist, as for any file written.
    r.expect_code(2);
    assert!(r.stderr.contains("ci/baseline.json"), "{}", r.stderr);
    std::fs::create_dir(dir.join("ci")).unwrap();
    let r = stowage_run(
        &dir,
        &["check", "--write-baseline", "ci/baseline.json", "."],
    );
    r.expect_code(0);
    assert_eq!(
        r.stderr,
        "Wrote 3 findings in 1 file to the baseline `ci/baseline.json`.\n"
    );
    assert_eq!(r.stdout, "");
    (guard, dir)
}

/// `check --baseline ci/baseline.json MORE .` in `dir`.
fn check(dir: &Path, more: &[&str]) -> Run {
    let mut args = vec!["check", "--baseline", "ci/baseline.json"];
    args.extend(more);
    args.push(".");
    stowage_run(dir, &args)
}

/// [`check`] with `--format json`, its exit code checked.
fn json_check(dir: &Path, code: i32, more: &[&str]) -> Json {
    let r = check(dir, &[&["--format", "json"], more].concat());
    r.expect_code(code);
    r.json()
}

fn rules(doc: &Json) -> Vec<&str> {
    doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| f["rule"].as_str().expect("rule"))
        .collect()
}

/// `text` with a comment line before every line and blank lines on top: every finding moves
/// down, none changes.
fn move_every_line(text: &str) -> String {
    let mut out = String::from("\n# moved down\n\n");
    for line in text.lines() {
        out.push_str("# one more line above\n");
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[test]
fn the_file_records_findings_without_positions() {
    let (_guard, dir) = demo_with_baseline();
    let text = std::fs::read_to_string(dir.join("ci/baseline.json")).unwrap();
    // Paths are relative to the repository.
    insta::assert_snapshot!("baseline_file", text);
    // Written twice, the same bytes.
    stowage_run(
        &dir,
        &["check", "--write-baseline", "ci/baseline.json", "."],
    )
    .expect_code(0);
    assert_eq!(
        std::fs::read_to_string(dir.join("ci/baseline.json")).unwrap(),
        text
    );
}

#[test]
fn a_baseline_still_matches_after_every_line_moved() {
    let (_guard, dir) = demo_with_baseline();
    for file in ["compose.yaml", "compose.override.yaml"] {
        let text = std::fs::read_to_string(dir.join(file)).unwrap();
        std::fs::write(dir.join(file), move_every_line(&text)).unwrap();
    }
    // The findings did move (the check without the baseline still reports them, lower down).
    let all = stowage_run(&dir, &["check", "--format", "json", "."]);
    all.expect_code(1);
    let lines: Vec<u64> = all.json()["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["line"].as_u64().unwrap())
        .collect();
    assert_eq!(lines, [57, 63, 69]);
    let doc = json_check(&dir, 0, &[]);
    assert_eq!(rules(&doc), Vec::<&str>::new());
    assert_eq!(doc["summary"]["findings"], 0);
    assert_eq!(doc["summary"]["baseline"]["matched"], 3);
    assert_eq!(doc["summary"]["baseline"]["stale"], 0);
    // From another directory, with the same baseline: paths are the baseline's, not the
    // working directory's.
    let r = stowage_run(
        &dir.join("ci"),
        &["check", "--baseline", "baseline.json", ".."],
    );
    r.expect_code(0);
    assert_eq!(
        r.stdout,
        "No findings in 2 files.\nBaseline: 3 findings matched (not reported), 0 entries gone.\n"
    );
}

#[test]
fn only_the_new_finding_fails_and_a_gone_one_is_stale() {
    let (_guard, dir) = demo_with_baseline();
    let compose = dir.join("compose.yaml");
    let text = std::fs::read_to_string(&compose).unwrap();
    // One new anonymous volume, and every line moved.
    let added = add_finding(&text);
    std::fs::write(&compose, move_every_line(&added)).unwrap();
    let doc = json_check(&dir, 1, &[]);
    assert_eq!(rules(&doc), ["anonymous-volume"]);
    assert_eq!(doc["findings"][0]["service"], "scratch");
    assert_eq!(doc["summary"]["baseline"]["matched"], 3);
    assert_eq!(doc["summary"]["baseline"]["stale"], 0);
    // The database's anonymous volume becomes a named one: its entry is gone.
    let fixed = added.replace(
        "      - /var/lib/postgresql/data ",
        "      - pgdata:/var/lib/postgresql/data ",
    ) + "  pgdata:\n";
    assert_ne!(fixed, added);
    std::fs::write(&compose, &fixed).unwrap();
    let doc = json_check(&dir, 1, &[]);
    assert_eq!(rules(&doc), ["anonymous-volume"]);
    assert_eq!(doc["summary"]["baseline"]["matched"], 2);
    assert_eq!(doc["summary"]["baseline"]["stale"], 1);
    let r = check(&dir, &["--format", "concise"]);
    r.expect_code(1);
    assert!(
        r.stdout.ends_with(
            "Baseline: 2 findings matched (not reported), 1 entry gone (`--write-baseline` again drops it).\n"
        ),
        "{}",
        r.stdout
    );
    // Below `--fail-on`, the new finding is reported and does not fail.
    json_check(&dir, 0, &["--fail-on", "error"]);
}

#[test]
fn identical_findings_need_an_entry_each() {
    let (_guard, dir) = tempdir();
    let suppression = "    # stowage: ignore[anonymous-volume] old\n";
    let compose = |n: usize| {
        let mut text = String::from("services:\n  app:\n    image: alpine:3.20\n");
        for i in 0..n {
            text.push_str(suppression);
            text.push_str(&format!("    label_{i}: x\n"));
        }
        text.replace("label_", "x-label-")
    };
    write(&dir, "compose.yaml", &compose(2));
    let r = stowage_run(&dir, &["check", "--write-baseline", "b.json"]);
    r.expect_code(0);
    assert!(r.stderr.starts_with("Wrote 2 findings"), "{}", r.stderr);
    write(&dir, "compose.yaml", &compose(3));
    let r = stowage_run(&dir, &["check", "--baseline", "b.json", "--format", "json"]);
    r.expect_code(1);
    let doc = r.json();
    assert_eq!(rules(&doc), ["unused-suppression"]);
    assert_eq!(doc["summary"]["baseline"]["matched"], 2);
    write(&dir, "compose.yaml", &compose(1));
    let r = stowage_run(&dir, &["check", "--baseline", "b.json", "--format", "json"]);
    r.expect_code(0);
    assert_eq!(r.json()["summary"]["baseline"]["stale"], 1);
}

#[test]
fn every_format_leaves_out_what_the_baseline_matched() {
    let (_guard, dir) = demo_with_baseline();
    let compose = dir.join("compose.yaml");
    let text = std::fs::read_to_string(&compose).unwrap();
    for format in [
        "human", "concise", "json", "sarif", "github", "gitlab", "junit",
    ] {
        let run = || check(&dir, &["--format", format]);
        std::fs::write(&compose, add_finding(&text)).unwrap();
        let r = run();
        r.expect_code(1);
        // The new finding is reported as it is without a baseline.
        let all = stowage_run(&dir, &["check", "--format", format, "."]);
        assert!(all.stdout.contains(NEW), "{format}: {}", all.stdout);
        assert_eq!(
            r.stdout.matches(NEW).count(),
            all.stdout.matches(NEW).count(),
            "{format}: {}",
            r.stdout
        );
        for matched in DEMO {
            assert!(!r.stdout.contains(matched), "{format}: {}", r.stdout);
        }
        // Without the new finding, nothing is reported and the run passes.
        std::fs::write(&compose, &text).unwrap();
        let r = run();
        r.expect_code(0);
        for matched in DEMO {
            assert!(!r.stdout.contains(matched), "{format}: {}", r.stdout);
        }
    }
}

#[test]
fn fixes_apply_to_reported_findings_only() {
    let (_guard, dir) = demo_with_baseline();
    let compose = dir.join("compose.yaml");
    let text = std::fs::read_to_string(&compose).unwrap();
    let added = add_finding(&text);
    std::fs::write(&compose, &added).unwrap();
    let r = check(&dir, &["--fix", "--unsafe-fixes"]);
    r.expect_code(0);
    assert!(
        r.stdout.starts_with("Applied 1 fix to 1 file(s).\n"),
        "{}",
        r.stdout
    );
    let fixed = std::fs::read_to_string(&compose).unwrap();
    assert!(fixed.contains("- scratch:/scratch"), "{fixed}");
    // The baselined anonymous volume and image volume are left as they were.
    assert!(
        fixed.contains("      - /var/lib/postgresql/data  "),
        "{fixed}"
    );
    assert!(!fixed.contains("cache-data"), "{fixed}");
    // `--diff` shows the same choice.
    std::fs::write(&compose, &added).unwrap();
    let r = check(&dir, &["--diff", "--unsafe-fixes"]);
    r.expect_code(1);
    assert!(
        r.stdout.contains("+      - scratch:/scratch"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("db-data"), "{}", r.stdout);
}

#[test]
fn a_missing_or_malformed_baseline_is_exit_2() {
    let (_guard, dir) = demo_with_baseline();
    let r = stowage_run(&dir, &["check", "--baseline", "nothing.json", "."]);
    r.expect_code(2);
    assert!(
        r.stderr
            .starts_with("error: cannot read the baseline `nothing.json`: "),
        "{}",
        r.stderr
    );
    assert_eq!(r.stdout, "");
    let path = dir.join("ci/baseline.json");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, text.replacen("\"rule\"", "\"rules\"", 1)).unwrap();
    let r = check(&dir, &[]);
    r.expect_code(2);
    assert!(
        r.stderr.starts_with("error: ci/baseline.json:4:")
            && r.stderr
                .contains(": invalid baseline: unknown field `rules`, expected one of"),
        "{}",
        r.stderr
    );
    std::fs::write(&path, "{\"version\": 7, \"more\": []}").unwrap();
    let r = check(&dir, &[]);
    r.expect_code(2);
    assert!(
        r.stderr.contains("baseline version 7 is not supported"),
        "{}",
        r.stderr
    );
}

#[test]
fn a_baseline_is_not_written_from_an_incomplete_check() {
    let (_guard, dir) = tempdir();
    write(
        &dir,
        "compose.yaml",
        "services:\n  db:\n    image: postgres:16\n",
    );
    let r = stowage_run(
        &dir,
        &[
            "check",
            "--write-baseline",
            "b.json",
            "compose.yaml",
            "missing.yaml",
        ],
    );
    r.expect_code(2);
    assert!(
        r.stderr.contains("error: the baseline was not written"),
        "{}",
        r.stderr
    );
    assert!(!dir.join("b.json").exists());
    // Options that make no sense together are refused.
    for other in [
        &["--fix"][..],
        &["--baseline", "b.json"],
        &["--format", "json"],
    ] {
        let mut args = vec!["check", "--write-baseline", "b.json"];
        args.extend(other);
        stowage_run(&dir, &args).expect_code(2);
    }
}
