//! The formats that fit stowage into pipelines, checked against their schema or grammar and
//! snapshotted: `check --format sarif|github|gitlab|junit`, `volumes --format mermaid|dot`;
//! shell completions and the man page; standard input (`-`, `-f -`, `--stdin-filename`); the
//! quiet stderr of long runs off a terminal; the pre-commit hook, run for real with `pre-commit`.
//!
//! External validators come from the environment, as `.ci/run` sets it up: `STOWAGE_SARIF_SCHEMA`
//! (the SARIF 2.1.0 schema shipped by the npm package `@microsoft/sarif-multitool-linux`),
//! `STOWAGE_MERMAID_MODULES` (a `node_modules` holding `mermaid` and `jsdom`) and `pre-commit` on
//! the PATH. Locally each check is skipped with a note when its tool is missing; under CI (`CI`
//! set) a missing tool fails the test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Stdio;

use regex::Regex;
use serde_json::Value as Json;

use stowage::finding::Severity;
use stowage::rules::{Category, RULES};

mod common;
use common::binary::{Run, manifest_dir, run, stowage, stowage_run, str_of, tempdir, write};

// ---------------------------------------------------------------------------------------------
// helpers

fn usize_of(v: &Json) -> usize {
    v.as_u64()
        .unwrap_or_else(|| panic!("expected a number, got {v}")) as usize
}

fn on_path(program: &str) -> Option<PathBuf> {
    std::env::split_paths(&std::env::var_os("PATH")?)
        .map(|d| d.join(program))
        .find(|p| p.is_file())
}

/// Under CI a missing external tool is a failure; locally the check is skipped with a note.
fn missing_tool(what: &str, how: &str) {
    assert!(
        std::env::var_os("CI").is_none(),
        "{what} is missing: CI must provide it (see .ci/run)"
    );
    println!("note: {what} is missing, skipping this check ({how})");
}

fn cache_dir(name: &str) -> PathBuf {
    let base = std::env::var_os("XDG_CACHE_HOME")
        .filter(|v| !v.is_empty())
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|h| PathBuf::from(h).join(".cache"))
        })
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_TARGET_TMPDIR")));
    base.join(name)
}

// ---------------------------------------------------------------------------------------------
// the check fixture: a clean file and one with three findings (a fix, a related location,
// characters outside ASCII before a finding, a path with `,`, `:` and `&`)

const WEIRD_DIR: &str = "we,ird:&dir";
const WEIRD: &str = "version: \"3\"\nservices:\n  web:\n    environment: {NOTE: \"données ☃\", NOTE: \"twice\", NOTE: \"thrice\"}\n    image: nginx  # stowage: ignore[obsolete-version] nothing to suppress here\n";
const CLEAN: &str = "services:\n  app:\n    image: nginx\n";
/// Rules whose findings the fixture is about (so that rules added later cannot change it).
const SELECT: &str = "obsolete-version,duplicate-key,unused-suppression";

fn weird_file() -> String {
    format!("{WEIRD_DIR}/compose.yaml")
}

fn fixture() -> (tempfile::TempDir, PathBuf) {
    let (dir, root) = tempdir();
    write(&root, &weird_file(), WEIRD);
    write(&root, "clean/compose.yaml", CLEAN);
    (dir, root)
}

fn check(cwd: &Path, format: &str) -> Run {
    stowage_run(cwd, &["check", "--format", format, "--select", SELECT, "."])
}

/// The JSON findings of the fixture, the reference the other formats are compared with.
fn json_findings(cwd: &Path) -> Vec<Json> {
    let r = check(cwd, "json");
    r.expect_code(1);
    let findings = r.json()["findings"].as_array().expect("findings").clone();
    let rules: Vec<&str> = findings.iter().map(|f| str_of(&f["rule"])).collect();
    assert_eq!(
        rules,
        [
            "obsolete-version",
            "duplicate-key",
            "duplicate-key",
            "unused-suppression"
        ],
        "the fixture's findings changed"
    );
    findings
}

/// Replaces the working directory and stowage's version with placeholders.
fn redact(text: &str, cwd: &Path) -> String {
    let version = env!("CARGO_PKG_VERSION");
    text.replace(&cwd.display().to_string(), "[CWD]")
        .replace(
            &format!("\"version\": \"{version}\""),
            "\"version\": \"[VERSION]\"",
        )
        .replace(
            &format!("\"semanticVersion\": \"{version}\""),
            "\"semanticVersion\": \"[VERSION]\"",
        )
}

fn severity_of(f: &Json) -> Severity {
    Severity::parse(str_of(&f["severity"])).expect("a known severity")
}

// ---------------------------------------------------------------------------------------------
// SARIF

fn sarif_validator() -> Option<jsonschema::Validator> {
    let Some(path) = std::env::var_os("STOWAGE_SARIF_SCHEMA").filter(|v| !v.is_empty()) else {
        missing_tool(
            "STOWAGE_SARIF_SCHEMA (the SARIF 2.1.0 schema)",
            "npm install @microsoft/sarif-multitool-linux and point STOWAGE_SARIF_SCHEMA at its sarif-2.1.0.json",
        );
        return None;
    };
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read STOWAGE_SARIF_SCHEMA={path:?}: {e}"));
    let schema: Json = serde_json::from_str(&text).expect("the schema is JSON");
    Some(
        jsonschema::options()
            .should_validate_formats(true)
            .build(&schema)
            .expect("the SARIF schema compiles"),
    )
}

fn assert_valid_sarif(validator: &jsonschema::Validator, doc: &Json, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(doc)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "{what}: SARIF does not match the 2.1.0 schema:\n{}",
        errors.join("\n")
    );
}

#[test]
fn sarif_matches_the_schema() {
    let Some(validator) = sarif_validator() else {
        return;
    };
    let (_dir, root) = fixture();
    let r = check(&root, "sarif");
    r.expect_code(1);
    assert_valid_sarif(&validator, &r.json(), "the fixture");
    // The validator is live: a 0 line is refused.
    let mut broken = r.json();
    broken["runs"][0]["results"][0]["locations"][0]["physicalLocation"]["region"]["startLine"] =
        Json::from(0);
    assert!(validator.iter_errors(&broken).next().is_some());

    let demo = stowage_run(
        &manifest_dir(),
        &["check", "--format", "sarif", "fixtures/demo"],
    );
    assert_valid_sarif(&validator, &demo.json(), "the demo");

    // Every fixture of the repository: all rules that fire, fixes, related locations.
    let all = stowage_run(
        &manifest_dir(),
        &["check", "--format", "sarif", "--exit-zero", "fixtures"],
    );
    all.expect_code(0);
    assert_valid_sarif(&validator, &all.json(), "fixtures/");

    // A path that cannot be checked: an unsuccessful invocation with a notification.
    let missing = stowage_run(&root, &["check", "--format", "sarif", "nope.yaml"]);
    missing.expect_code(2);
    let doc = missing.json();
    assert_valid_sarif(&validator, &doc, "a missing path");
    let invocation = &doc["runs"][0]["invocations"][0];
    assert_eq!(invocation["executionSuccessful"], false);
    assert_eq!(
        invocation["toolExecutionNotifications"][0]["locations"][0]["physicalLocation"]["artifactLocation"]
            ["uri"],
        "nope.yaml"
    );
}

#[test]
fn sarif_describes_every_rule_of_the_registry() {
    let (_dir, root) = fixture();
    let doc = check(&root, "sarif").json();
    assert_eq!(doc["version"], "2.1.0");
    let run = &doc["runs"][0];
    let driver = &run["tool"]["driver"];
    assert_eq!(driver["name"], "stowage");
    assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
    assert!(str_of(&driver["informationUri"]).starts_with("https://"));
    let rules = driver["rules"].as_array().expect("rules");
    assert_eq!(rules.len(), RULES.len());
    let pascal_case = Regex::new("^[A-Z][A-Za-z]+$").unwrap();
    for (descriptor, rule) in rules.iter().zip(RULES) {
        let m = rule.meta();
        assert_eq!(descriptor["id"], m.id);
        let name = str_of(&descriptor["name"]);
        assert!(pascal_case.is_match(name), "{name}");
        assert_eq!(
            name.to_ascii_lowercase(),
            m.id.replace('-', ""),
            "the friendly name spells the id"
        );
        assert_eq!(descriptor["shortDescription"]["text"], m.summary);
        assert_eq!(descriptor["fullDescription"]["text"], m.what_it_does.trim());
        assert!(str_of(&descriptor["help"]["text"]).contains(m.why_it_matters.trim()));
        assert_eq!(
            descriptor["help"]["markdown"],
            stowage::output::rules_doc::explain(m).as_str()
        );
        let level = match m.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "note",
        };
        assert_eq!(descriptor["defaultConfiguration"]["level"], level);
        assert_eq!(
            descriptor["defaultConfiguration"]["enabled"],
            !m.off_by_default
        );
        let category = match m.category {
            Category::Persistence => "persistence",
            Category::Correctness => "correctness",
        };
        let tags = descriptor["properties"]["tags"].as_array().expect("tags");
        assert!(tags.contains(&Json::from(category)), "{tags:?}");
    }
    assert_eq!(run["columnKind"], "unicodeCodePoints");
    assert_eq!(
        run["originalUriBaseIds"]["%SRCROOT%"]["uri"],
        format!("file://{}/", root.display())
    );
}

/// `line`/`column` (1-based, characters) → byte offset in `text`.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text
        .split_inclusive('\n')
        .take(line - 1)
        .map(str::len)
        .sum();
    let rest = &text[start..];
    start
        + rest
            .char_indices()
            .nth(column - 1)
            .map_or(rest.len(), |(i, _)| i)
}

#[test]
fn sarif_results_agree_with_the_json_output() {
    let (_dir, root) = fixture();
    let findings = json_findings(&root);
    let doc = check(&root, "sarif").json();
    let run = &doc["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    let results = run["results"].as_array().expect("results");
    assert_eq!(results.len(), findings.len());
    let text = std::fs::read_to_string(root.join(weird_file())).expect("fixture");
    for (result, f) in results.iter().zip(&findings) {
        assert_eq!(result["ruleId"], f["rule"]);
        assert_eq!(rules[usize_of(&result["ruleIndex"])]["id"], f["rule"]);
        let level = match severity_of(f) {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "note",
        };
        assert_eq!(result["level"], level);
        let message = str_of(&result["message"]["text"]).to_lowercase();
        assert!(
            message.contains(&str_of(&f["message"]).to_lowercase()),
            "{message}"
        );
        let physical = &result["locations"][0]["physicalLocation"];
        assert_eq!(
            physical["artifactLocation"]["uri"],
            "we%2Cird%3A%26dir/compose.yaml"
        );
        assert_eq!(physical["artifactLocation"]["uriBaseId"], "%SRCROOT%");
        let region = &physical["region"];
        for (sarif, json) in [
            ("startLine", "line"),
            ("startColumn", "column"),
            ("endLine", "end_line"),
            ("endColumn", "end_column"),
        ] {
            assert_eq!(region[sarif], f[json], "{sarif} of {f}");
        }
        let span = &text[usize_of(&f["span"]["start"])..usize_of(&f["span"]["end"])];
        assert_eq!(region["snippet"]["text"], span);
        // Columns count characters: the duplicate keys come after `é` and `☃`.
        assert_eq!(
            offset_of(
                &text,
                usize_of(&region["startLine"]),
                usize_of(&region["startColumn"])
            ),
            usize_of(&f["span"]["start"])
        );
        // A fix, applied through SARIF's line/column regions, gives the bytes the JSON edits give.
        if f["fix"].is_null() {
            assert!(result.get("fixes").is_none());
        } else {
            let fix = &result["fixes"][0];
            let change = &fix["artifactChanges"][0];
            assert_eq!(change["artifactLocation"], physical["artifactLocation"]);
            let mut by_sarif = text.clone();
            let mut replacements = change["replacements"]
                .as_array()
                .expect("replacements")
                .clone();
            replacements.reverse();
            for r in &replacements {
                let d = &r["deletedRegion"];
                let start = offset_of(
                    &text,
                    usize_of(&d["startLine"]),
                    usize_of(&d["startColumn"]),
                );
                let end = offset_of(&text, usize_of(&d["endLine"]), usize_of(&d["endColumn"]));
                by_sarif.replace_range(start..end, str_of(&r["insertedContent"]["text"]));
            }
            let mut by_json = text.clone();
            let mut edits = f["fix"]["edits"].as_array().expect("edits").clone();
            edits.reverse();
            for e in &edits {
                by_json.replace_range(
                    usize_of(&e["start"])..usize_of(&e["end"]),
                    str_of(&e["content"]),
                );
            }
            assert_eq!(by_sarif, by_json);
            assert!(by_sarif.starts_with("services:"), "{by_sarif}");
            assert_eq!(
                fix["properties"]["applicability"],
                f["fix"]["applicability"]
            );
        }
    }
    // The duplicate key points back at its first definition.
    let related = &results[1]["relatedLocations"][0];
    assert_eq!(related["id"], 1);
    assert!(str_of(&related["message"]["text"]).contains("NOTE"));
    let region = &related["physicalLocation"]["region"];
    assert_eq!(
        offset_of(
            &text,
            usize_of(&region["startLine"]),
            usize_of(&region["startColumn"])
        ),
        text.find("NOTE").expect("first NOTE")
    );
}

#[test]
fn sarif_snapshot() {
    let (_dir, root) = fixture();
    let r = check(&root, "sarif");
    r.expect_code(1);
    assert_eq!(r.stderr, "");
    // The rule descriptors are checked against the registry above; the snapshot keeps their ids
    // only, so that editing a rule's documentation does not touch it.
    let mut text = String::new();
    let mut rules: Option<(String, Vec<String>)> = None;
    for line in r.stdout.lines() {
        if let Some((indent, ids)) = &mut rules {
            if line == format!("{indent}]") || line == format!("{indent}],") {
                text.push_str(&format!(
                    "{indent}  {}\n",
                    ids.join(&format!(",\n{indent}  "))
                ));
                rules = None;
            } else {
                if let Some(id) = line.strip_prefix(&format!("{indent}    \"id\": ")) {
                    ids.push(id.trim_end_matches(',').to_owned());
                }
                continue;
            }
        }
        text.push_str(line);
        text.push('\n');
        if line.trim() == "\"rules\": [" {
            rules = Some((
                line[..line.len() - line.trim_start().len()].to_owned(),
                Vec::new(),
            ));
        }
    }
    assert!(text.contains("\"obsolete-version\""), "{text}");
    insta::assert_snapshot!("sarif", redact(&text, &root));
}

// ---------------------------------------------------------------------------------------------
// fingerprints (SARIF and GitLab)

fn gitlab_issues(cwd: &Path) -> Vec<Json> {
    let r = check(cwd, "gitlab");
    r.expect_code(1);
    r.json().as_array().expect("an array").clone()
}

#[test]
fn fingerprints_are_unique_and_survive_unrelated_edits() {
    let (_dir, root) = fixture();
    let before = gitlab_issues(&root);
    let sarif = check(&root, "sarif").json();
    let prints: Vec<&str> = before.iter().map(|i| str_of(&i["fingerprint"])).collect();
    let unique: BTreeSet<&str> = prints.iter().copied().collect();
    assert_eq!(
        unique.len(),
        prints.len(),
        "fingerprints are unique: {prints:?}"
    );
    // SARIF carries the same fingerprints.
    let sarif_prints: Vec<&str> = sarif["runs"][0]["results"]
        .as_array()
        .expect("results")
        .iter()
        .map(|r| str_of(&r["partialFingerprints"]["stowageFindingHash/v1"]))
        .collect();
    assert_eq!(sarif_prints, prints);

    // Lines added above move every finding down and change no fingerprint.
    write(&root, &weird_file(), &format!("# deploy notes\n\n{WEIRD}"));
    let after = gitlab_issues(&root);
    assert_eq!(after.len(), before.len());
    for (a, b) in after.iter().zip(&before) {
        assert_eq!(a["fingerprint"], b["fingerprint"]);
        assert_eq!(
            usize_of(&a["location"]["lines"]["begin"]),
            usize_of(&b["location"]["lines"]["begin"]) + 2
        );
    }
    // Editing the finding itself changes its fingerprint.
    write(&root, &weird_file(), &WEIRD.replace("NOTE", "MEMO"));
    let edited = gitlab_issues(&root);
    assert_ne!(edited[1]["fingerprint"], before[1]["fingerprint"]);
    assert_eq!(edited[0]["fingerprint"], before[0]["fingerprint"]);

    // Unique over every fixture of the repository too.
    let all = stowage_run(
        &manifest_dir(),
        &["check", "--format", "gitlab", "--exit-zero", "fixtures"],
    );
    all.expect_code(0);
    let all = all.json();
    let prints: Vec<&str> = all
        .as_array()
        .expect("an array")
        .iter()
        .map(|i| str_of(&i["fingerprint"]))
        .collect();
    assert!(!prints.is_empty());
    let unique: BTreeSet<&str> = prints.iter().copied().collect();
    assert_eq!(unique.len(), prints.len());
}

// ---------------------------------------------------------------------------------------------
// GitLab Code Quality

#[test]
fn gitlab_report_has_the_required_fields() {
    let (_dir, root) = fixture();
    let findings = json_findings(&root);
    let issues = gitlab_issues(&root);
    assert_eq!(issues.len(), findings.len());
    let hex = Regex::new("^[0-9a-f]{64}$").unwrap();
    for (issue, f) in issues.iter().zip(&findings) {
        assert!(!str_of(&issue["description"]).is_empty());
        assert_eq!(issue["description"], f["message"]);
        assert_eq!(issue["check_name"], f["rule"]);
        assert!(hex.is_match(str_of(&issue["fingerprint"])));
        let severity = str_of(&issue["severity"]);
        assert!(["info", "minor", "major", "critical", "blocker"].contains(&severity));
        let expected = match severity_of(f) {
            Severity::Info => "info",
            Severity::Warning => "major",
            Severity::Error => "critical",
        };
        assert_eq!(severity, expected);
        assert_eq!(issue["location"]["path"], f["path"]);
        let lines = &issue["location"]["lines"];
        assert!(lines["begin"].is_u64() && lines["end"].is_u64());
        assert_eq!(lines["begin"], f["line"]);
        assert_eq!(lines["end"], f["end_line"]);
    }
    // Nothing to report is an empty array, not nothing.
    let clean = stowage_run(&root, &["check", "--format", "gitlab", "clean"]);
    clean.expect_code(0);
    assert_eq!(clean.json(), Json::Array(Vec::new()));
}

#[test]
fn gitlab_snapshot() {
    let (_dir, root) = fixture();
    let r = check(&root, "gitlab");
    assert_eq!(r.stderr, "");
    insta::assert_snapshot!("gitlab", redact(&r.stdout, &root));
}

// ---------------------------------------------------------------------------------------------
// GitHub Actions annotations

fn unescape_data(s: &str) -> String {
    s.replace("%0A", "\n")
        .replace("%0D", "\r")
        .replace("%25", "%")
}

fn unescape_property(s: &str) -> String {
    unescape_data(&s.replace("%3A", ":").replace("%2C", ","))
}

#[test]
fn github_annotations_follow_the_workflow_command_grammar() {
    let (_dir, root) = fixture();
    let findings = json_findings(&root);
    let r = check(&root, "github");
    r.expect_code(1);
    let property = r"(?:[^%,:\r\n]|%25|%0D|%0A|%3A|%2C)*";
    let data = r"(?:[^%\r\n]|%25|%0D|%0A)*";
    let grammar = Regex::new(&format!(
        r"^::(error|warning|notice) file=({property}),line=(\d+),col=(\d+),endLine=(\d+),endColumn=(\d+),title=({property})::({data})$"
    ))
    .unwrap();
    let lines: Vec<&str> = r.stdout.lines().collect();
    assert_eq!(lines.len(), findings.len(), "{}", r.stdout);
    for (line, f) in lines.iter().zip(&findings) {
        let c = grammar
            .captures(line)
            .unwrap_or_else(|| panic!("not a workflow command: {line}"));
        let command = match severity_of(f) {
            Severity::Error => "error",
            Severity::Warning => "warning",
            Severity::Info => "notice",
        };
        assert_eq!(&c[1], command);
        // `,` and `:` in the path are escaped, and come back.
        assert!(c[2].contains("%2C") && c[2].contains("%3A"), "{}", &c[2]);
        assert_eq!(unescape_property(&c[2]), str_of(&f["path"]));
        for (i, key) in [
            (3, "line"),
            (4, "column"),
            (5, "end_line"),
            (6, "end_column"),
        ] {
            assert_eq!(
                c[i].parse::<u64>().unwrap(),
                f[key].as_u64().unwrap(),
                "{key}"
            );
        }
        assert_eq!(
            unescape_property(&c[7]),
            format!("stowage ({})", str_of(&f["rule"]))
        );
        assert_eq!(
            unescape_data(&c[8]),
            format!("{}\n{}", str_of(&f["message"]), str_of(&f["help"]))
        );
    }
    insta::assert_snapshot!("github", r.stdout);
}

#[test]
fn github_reports_paths_it_cannot_check_as_errors() {
    let (_dir, root) = fixture();
    let r = stowage_run(&root, &["check", "--format", "github", "missing,dir"]);
    r.expect_code(2);
    assert!(
        r.stdout
            .starts_with("::error file=missing%2Cdir,title=stowage::"),
        "{}",
        r.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// JUnit XML

#[test]
fn junit_has_one_test_case_per_file_and_a_failure_per_finding() {
    let (_dir, root) = fixture();
    let findings = json_findings(&root);
    let r = check(&root, "junit");
    r.expect_code(1);
    let doc = roxmltree::Document::parse(&r.stdout)
        .unwrap_or_else(|e| panic!("not well-formed XML ({e}):\n{}", r.stdout));
    let suites = doc.root_element();
    assert_eq!(suites.tag_name().name(), "testsuites");
    let children: Vec<_> = suites.children().filter(|n| n.is_element()).collect();
    assert_eq!(children.len(), 1, "one test suite");
    let suite = children[0];
    assert_eq!(suite.tag_name().name(), "testsuite");
    let cases: BTreeMap<&str, roxmltree::Node> = suite
        .children()
        .filter(|n| n.is_element())
        .map(|n| {
            assert_eq!(n.tag_name().name(), "testcase");
            (n.attribute("name").expect("a name"), n)
        })
        .collect();
    let weird = weird_file();
    assert_eq!(
        cases.keys().copied().collect::<Vec<_>>(),
        ["clean/compose.yaml", weird.as_str()]
    );
    assert_eq!(suite.attribute("tests"), Some("2"));
    assert_eq!(suite.attribute("failures"), Some("1"));
    assert_eq!(suite.attribute("errors"), Some("0"));
    // A file without findings passes.
    assert_eq!(
        cases["clean/compose.yaml"]
            .children()
            .filter(|n| n.is_element())
            .count(),
        0
    );
    let failures: Vec<_> = cases[weird.as_str()]
        .children()
        .filter(|n| n.is_element())
        .collect();
    assert_eq!(failures.len(), findings.len());
    for (failure, f) in failures.iter().zip(&findings) {
        assert_eq!(failure.tag_name().name(), "failure");
        assert_eq!(failure.attribute("type"), f["rule"].as_str());
        let message = failure.attribute("message").expect("a message");
        assert!(message.ends_with(str_of(&f["message"])), "{message}");
        assert!(message.contains(&format!("line {}, column {}", f["line"], f["column"])));
        let body = failure.text().expect("a body");
        assert!(body.starts_with(&format!(
            "{weird}:{}:{}: {}[{}]",
            f["line"],
            f["column"],
            str_of(&f["severity"]),
            str_of(&f["rule"])
        )));
        assert!(body.contains(str_of(&f["help"])));
    }
    insta::assert_snapshot!("junit", r.stdout);
}

#[test]
fn junit_reports_paths_it_cannot_check_as_errors() {
    let (_dir, root) = fixture();
    let r = stowage_run(
        &root,
        &["check", "--format", "junit", "clean", "a<b>&.yaml"],
    );
    r.expect_code(2);
    let doc = roxmltree::Document::parse(&r.stdout).expect("well-formed XML");
    let case = doc
        .descendants()
        .find(|n| n.attribute("name") == Some("a<b>&.yaml"))
        .expect("a test case for the missing path");
    let error = case.first_element_child().expect("an error");
    assert_eq!(error.tag_name().name(), "error");
    assert_eq!(doc.root_element().attribute("errors"), Some("1"));
    assert_eq!(doc.root_element().attribute("tests"), Some("2"));
}

// ---------------------------------------------------------------------------------------------
// Mermaid and DOT

/// Node ids a Mermaid flowchart declares, checking the lines stowage writes against their
/// grammar; panics on anything else.
fn mermaid_sanity(text: &str) {
    let mut lines = text.lines();
    assert_eq!(lines.next(), Some("flowchart LR"));
    let label = r#""[^"]*""#;
    let node = Regex::new(&format!(
        r"^ +(\w+)(?:\[{label}\]|\[\({label}\)\]|\(\[{label}\]\)|\[/{label}/\])$"
    ))
    .unwrap();
    let edge = Regex::new(&format!(r"^ +(\w+) -->\|{label}\| (\w+)$")).unwrap();
    let subgraph = Regex::new(&format!(r"^ +subgraph (\w+)\[{label}\]$")).unwrap();
    let class_def =
        Regex::new(r"^ +classDef (\w+) fill:#[0-9a-f]{6},stroke:#[0-9a-f]{6},color:#[0-9a-f]{3}$")
            .unwrap();
    let class = Regex::new(r"^ +class ([\w,]+) (\w+)$").unwrap();
    let mut declared = BTreeSet::new();
    let mut edges = Vec::new();
    let mut classes = BTreeSet::new();
    let mut applied = Vec::new();
    let mut depth = 0usize;
    for line in lines {
        if let Some(c) = node.captures(line) {
            assert!(declared.insert(c[1].to_owned()), "declared twice: {line}");
        } else if let Some(c) = edge.captures(line) {
            edges.push((c[1].to_owned(), c[2].to_owned()));
        } else if subgraph.is_match(line) {
            depth += 1;
        } else if line.trim() == "end" {
            depth = depth.checked_sub(1).expect("`end` without `subgraph`");
        } else if let Some(c) = class_def.captures(line) {
            classes.insert(c[1].to_owned());
        } else if let Some(c) = class.captures(line) {
            for id in c[1].split(',') {
                applied.push((id.to_owned(), c[2].to_owned()));
            }
        } else if line.trim() != "direction LR" && !line.trim_start().starts_with("%%") {
            panic!("unexpected line in the flowchart: {line:?}");
        }
    }
    assert_eq!(depth, 0, "every subgraph ends");
    for (from, to) in &edges {
        assert!(
            declared.contains(from) && declared.contains(to),
            "{from} --> {to}"
        );
    }
    for (id, class) in &applied {
        assert!(declared.contains(id), "class on an undeclared node {id}");
        assert!(classes.contains(class), "undefined class {class}");
    }
}

/// Braces balance outside quoted strings and every edge's endpoints are declared nodes.
fn dot_sanity(text: &str) {
    assert!(text.starts_with("digraph stowage {\n"));
    let mut depth = 0i32;
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' if in_string => escaped = true,
            '"' => in_string = !in_string,
            '{' if !in_string => depth += 1,
            '}' if !in_string => {
                depth -= 1;
                assert!(depth >= 0, "unbalanced braces");
            }
            _ => {}
        }
    }
    assert!(!in_string, "an unterminated string");
    assert_eq!(depth, 0, "unbalanced braces");
    let node = Regex::new(r#"^ +(\w+) \[label="(?:[^"\\]|\\.)*",.*\];$"#).unwrap();
    let edge = Regex::new(r#"^ +(\w+) -> (\w+) \[label="(?:[^"\\]|\\.)*"\];$"#).unwrap();
    let mut declared = BTreeSet::new();
    let mut edges = Vec::new();
    for line in text.lines() {
        if let Some(c) = edge.captures(line) {
            edges.push((c[1].to_owned(), c[2].to_owned()));
        } else if let Some(c) = node.captures(line) {
            assert!(declared.insert(c[1].to_owned()), "declared twice: {line}");
        }
    }
    assert!(!edges.is_empty());
    for (from, to) in &edges {
        assert!(
            declared.contains(from) && declared.contains(to),
            "{from} -> {to}"
        );
    }
}

/// Mermaid's own parser (under jsdom), when `STOWAGE_MERMAID_MODULES` names a `node_modules`
/// holding `mermaid` and `jsdom`.
fn mermaid_parses(text: &str) {
    let Some(modules) = std::env::var_os("STOWAGE_MERMAID_MODULES").filter(|v| !v.is_empty())
    else {
        missing_tool(
            "STOWAGE_MERMAID_MODULES (mermaid's parser)",
            "npm install mermaid jsdom and point STOWAGE_MERMAID_MODULES at that node_modules",
        );
        return;
    };
    let modules = PathBuf::from(modules);
    let script = r#"
        import { JSDOM } from 'jsdom';
        const dom = new JSDOM('<!DOCTYPE html><body></body>');
        globalThis.window = dom.window;
        globalThis.document = dom.window.document;
        const { default: mermaid } = await import('mermaid');
        let text = '';
        for await (const chunk of process.stdin) text += chunk;
        await mermaid.parse(text);
        console.log('parsed');
    "#;
    // `--eval` resolves bare imports from the working directory: the one above `node_modules`.
    let mut child = std::process::Command::new("node")
        .args(["--input-type=module", "--eval", script])
        .current_dir(modules.parent().expect("node_modules has a parent"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("node runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to node");
    let out = child.wait_with_output().expect("node finishes");
    assert!(
        out.status.success() && String::from_utf8_lossy(&out.stdout).contains("parsed"),
        "mermaid rejects the flowchart:\n{}\n{text}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Graphviz itself, when `dot` is installed (optional: CI does not install it).
fn dot_renders(text: &str) {
    let Some(dot) = on_path("dot") else {
        println!("note: Graphviz `dot` is not installed, not rendering the graph");
        return;
    };
    let mut child = std::process::Command::new(dot)
        .arg("-Tsvg")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("dot runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write to dot");
    let out = child.wait_with_output().expect("dot finishes");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stderr.trim().is_empty(),
        "dot rejects the graph:\n{stderr}\n{text}"
    );
}

fn demo_graph(format: &str) -> String {
    let r = stowage_run(
        &manifest_dir(),
        &["volumes", "--format", format, "fixtures/demo"],
    );
    r.expect_code(0);
    assert_eq!(r.stderr, "");
    r.stdout
}

#[test]
fn mermaid_demo() {
    let text = demo_graph("mermaid");
    mermaid_sanity(&text);
    mermaid_parses(&text);
    // Colours: the anonymous volume red, the project volume orange, the bind mount green.
    assert!(text.contains("class p0_e0,p0_e1,p0_e2,legend_lostOnDown lostOnDown"));
    assert!(text.contains("class p0_v0,legend_lostOnDownV lostOnDownV"));
    insta::assert_snapshot!("mermaid_demo", text);
}

#[test]
fn readme_shows_the_demo_flowchart() {
    let readme = std::fs::read_to_string(manifest_dir().join("README.md")).expect("README.md");
    let start = readme
        .find("```mermaid\n")
        .expect("a mermaid block in the README")
        + "```mermaid\n".len();
    let end = start + readme[start..].find("```").expect("the block ends");
    assert_eq!(
        &readme[start..end],
        demo_graph("mermaid"),
        "the README's flowchart is not `stowage volumes --format mermaid fixtures/demo`"
    );
}

#[test]
fn dot_demo() {
    let text = demo_graph("dot");
    dot_sanity(&text);
    dot_renders(&text);
    insta::assert_snapshot!("dot_demo", text);
}

/// As the table shows them: a mount shared through `volumes_from` is one node with an edge from
/// each service (the consumer's says where from), and a data path nothing holds is a
/// container-layer node, the worst fate.
#[test]
fn graphs_show_shared_mounts_and_the_container_layer() {
    let graph = |format| {
        let r = stowage_run(
            &manifest_dir(),
            &[
                "volumes",
                "--format",
                format,
                "fixtures/volumes/shared-and-layer",
            ],
        );
        r.expect_code(0);
        r.stdout
    };
    let mermaid = graph("mermaid");
    mermaid_sanity(&mermaid);
    mermaid_parses(&mermaid);
    assert!(
        mermaid.contains("p0_s0 -->|\"/var/lib/postgresql/data\"| p0_e0")
            && mermaid.contains("p0_s1 -->|\"/var/lib/postgresql/data (from db)\"| p0_e0"),
        "{mermaid}"
    );
    assert!(
        mermaid.contains("p0_s2 -->|\"/usr/share/elasticsearch/data\"| p0_e1")
            && mermaid.contains("class p0_e1,legend_lostOnRecreate lostOnRecreate"),
        "{mermaid}"
    );
    insta::assert_snapshot!("mermaid_shared_and_layer", mermaid);
    let dot = graph("dot");
    dot_sanity(&dot);
    dot_renders(&dot);
    insta::assert_snapshot!("dot_shared_and_layer", dot);
}

#[test]
fn graphs_escape_what_they_quote() {
    let (_dir, root) = tempdir();
    write(
        &root,
        "odd/compose.yaml",
        r#"services:
  web:
    image: "nginx"
    volumes:
      - './a "quoted" <dir> #1\x:/data'
      - ext:/ext
      - kept:/kept
      - /anon
    tmpfs: [/run]
volumes:
  ext:
    external: true
  kept:
    driver: local
    driver_opts: {type: none, o: bind, device: /srv/kept}
  spare: {}
"#,
    );
    let mermaid = stowage_run(&root, &["volumes", "--format", "mermaid", "odd"]);
    mermaid.expect_code(0);
    mermaid_sanity(&mermaid.stdout);
    mermaid_parses(&mermaid.stdout);
    assert!(
        mermaid
            .stdout
            .contains("[/\"./a #quot;quoted#quot; #lt;dir#gt; #35;1\\x\"/]"),
        "{}",
        mermaid.stdout
    );
    let dot = stowage_run(&root, &["volumes", "--format", "dot", "odd"]);
    dot.expect_code(0);
    dot_sanity(&dot.stdout);
    dot_renders(&dot.stdout);
    assert!(
        dot.stdout.contains(r#"label="./a \"quoted\" <dir> #1\\x""#),
        "{}",
        dot.stdout
    );
    // External volume green, the volume keeping its data in a host directory points at it,
    // the unused volume is shown.
    assert!(
        dot.stdout.contains(r#"p0_v0 [label="ext\nexternal""#),
        "{}",
        dot.stdout
    );
    assert!(
        dot.stdout.contains(r#"-> p0_h1 [label="device"]"#),
        "{}",
        dot.stdout
    );
    assert!(
        dot.stdout.contains(r#"label="spare\nodd_spare""#),
        "{}",
        dot.stdout
    );
}

// ---------------------------------------------------------------------------------------------
// completions and the man page

#[test]
fn completions_for_every_shell() {
    let cwd = manifest_dir();
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let r = stowage_run(&cwd, &["completions", shell]);
        r.expect_code(0);
        assert!(r.stdout.len() > 200, "{shell}: {}", r.stdout);
        for word in ["check", "volumes", "format", "stdin-filename"] {
            assert!(
                r.stdout.contains(word),
                "{shell} completions mention `{word}`"
            );
        }
        if ["bash", "zsh", "fish"].contains(&shell) {
            assert!(
                r.stdout.contains("sarif"),
                "{shell} completes format values"
            );
        }
    }
    let r = stowage_run(&cwd, &["completions", "tcsh"]);
    r.expect_code(2);
}

#[test]
fn man_page() {
    let r = stowage_run(&manifest_dir(), &["man"]);
    r.expect_code(0);
    assert!(r.stdout.contains(".TH stowage 1"), "{}", r.stdout);
    for word in ["check", "volumes", "completions", "SUBCOMMANDS"] {
        assert!(r.stdout.contains(word), "the man page mentions `{word}`");
    }
}

// ---------------------------------------------------------------------------------------------
// standard input

fn with_stdin(cwd: &Path, args: &[&str], input: &str) -> Run {
    run(stowage(cwd).args(args).write_stdin(input))
}

#[test]
fn check_reads_standard_input_named_by_stdin_filename() {
    let (_dir, root) = tempdir();
    for args in [
        &["check", "-", "--stdin-filename", "deploy/compose.yaml"][..],
        &[
            "check",
            "-f",
            "-",
            "--stdin-filename",
            "deploy/compose.yaml",
        ][..],
    ] {
        let mut all = args.to_vec();
        all.extend(["--format", "json", "--select", "obsolete-version"]);
        let r = with_stdin(
            &root,
            &all,
            "version: \"3\"\nservices:\n  web:\n    image: nginx\n",
        );
        r.expect_code(0);
        let doc = r.json();
        assert_eq!(doc["findings"][0]["rule"], "obsolete-version");
        assert_eq!(doc["findings"][0]["path"], "deploy/compose.yaml");
    }
    // Without a name standard input still works.
    let r = with_stdin(
        &root,
        &[
            "check",
            "-",
            "--format",
            "concise",
            "--select",
            "obsolete-version",
            "--fail-on",
            "info",
        ],
        "version: \"3\"\nservices:\n  web:\n    image: nginx\n",
    );
    r.expect_code(1);
    assert!(r.stdout.contains("info[obsolete-version]"), "{}", r.stdout);
}

#[test]
fn stdin_resolves_relative_paths_and_dotenv_from_its_name() {
    let (_dir, root) = tempdir();
    write(&root, "deploy/.env", "DATA_DIR=./from-dotenv\n");
    write(&root, "deploy/.stowage.yaml", "fail-on: info\n");
    let compose = "services:\n  web:\n    image: nginx\n    volumes:\n      - ${DATA_DIR}:/data\n";
    for args in [&["volumes", "-"][..], &["volumes", "-f", "-"][..]] {
        let mut all = args.to_vec();
        all.extend([
            "--stdin-filename",
            "deploy/compose.yaml",
            "--format",
            "json",
        ]);
        let r = with_stdin(&root, &all, compose);
        r.expect_code(0);
        let doc = r.json();
        let mount = &doc["projects"][0]["services"][0]["mounts"][0];
        assert_eq!(mount["source"], "./from-dotenv");
        assert_eq!(
            mount["resolved_source"],
            root.join("deploy/from-dotenv").display().to_string()
        );
        assert_eq!(doc["projects"][0]["directory"], "deploy");
    }
    // The configuration is found from the name too (`fail-on: info` makes a bind mount fail).
    let r = with_stdin(
        &root,
        &[
            "check",
            "-",
            "--stdin-filename",
            "deploy/compose.yaml",
            "--select",
            "bind-mount",
            "--format",
            "concise",
        ],
        compose,
    );
    assert!(
        r.stdout
            .contains("deploy/compose.yaml:5:9: info[bind-mount]"),
        "{}",
        r.stdout
    );
    r.expect_code(1);
}

#[test]
fn stdin_cannot_be_combined_with_other_paths() {
    let (_dir, root) = tempdir();
    write(&root, "compose.yaml", CLEAN);
    let r = with_stdin(&root, &["check", "-", "compose.yaml"], CLEAN);
    r.expect_code(2);
    assert!(r.stderr.contains("standard input"), "{}", r.stderr);
}

// ---------------------------------------------------------------------------------------------
// long runs

#[test]
fn many_projects_keep_stderr_clean_off_a_terminal() {
    let (_dir, root) = tempdir();
    for i in 0..30 {
        write(&root, &format!("p{i:02}/compose.yaml"), CLEAN);
    }
    let r = stowage_run(&root, &["check", "."]);
    r.expect_code(0);
    assert_eq!(r.stderr, "");
    assert_eq!(r.stdout, "No findings in 30 files.\n");
}

// ---------------------------------------------------------------------------------------------
// pre-commit

/// The `files:` patterns of `.pre-commit-hooks.yaml`, by hook id.
fn hook_patterns() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(manifest_dir().join(".pre-commit-hooks.yaml"))
        .expect("the hooks file");
    let mut out = BTreeMap::new();
    let mut id = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("- id: ") {
            id = Some(rest.trim().to_owned());
        } else if let Some(rest) = line.trim_start().strip_prefix("files: ") {
            out.insert(
                id.clone().expect("files after an id"),
                rest.trim().to_owned(),
            );
        }
    }
    out
}

#[test]
fn hook_files_pattern_matches_compose_files_at_any_depth() {
    let patterns = hook_patterns();
    assert_eq!(
        patterns.keys().map(String::as_str).collect::<Vec<_>>(),
        [
            "stowage",
            "stowage-migrate",
            "stowage-migrate-source",
            "stowage-source"
        ]
    );
    for pattern in patterns.values() {
        let re = Regex::new(pattern).expect("a valid pattern");
        for path in [
            "compose.yaml",
            "compose.yml",
            "compose.override.yaml",
            "docker-compose.yml",
            "docker-compose.override.yml",
            "deploy/compose.prod.yaml",
            "a/b/c/docker-compose.dev.yaml",
            "Docker-Compose.YML",
        ] {
            assert!(re.is_match(path), "{pattern} should match {path}");
            let name = path.rsplit('/').next().unwrap();
            assert!(
                stowage::workspace::discover::is_compose_name(name),
                "{name}"
            );
        }
        for path in [
            "README.md",
            "compose.json",
            "mycompose.yaml",
            "compose.yaml.bak",
            "compose/Dockerfile",
            "deploy/app.yaml",
        ] {
            assert!(!re.is_match(path), "{pattern} should not match {path}");
        }
    }
}

fn git(dir: &Path, args: &[&str]) -> std::process::Output {
    let out = std::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_AUTHOR_NAME", "stowage tests")
        .env("GIT_AUTHOR_EMAIL", "tests@stowage.invalid")
        .env("GIT_COMMITTER_NAME", "stowage tests")
        .env("GIT_COMMITTER_EMAIL", "tests@stowage.invalid")
        .env("GIT_AUTHOR_DATE", "2000-01-01T00:00:00Z")
        .env("GIT_COMMITTER_DATE", "2000-01-01T00:00:00Z")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?} failed:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// The working tree (tracked and untracked files, as git ignores nothing else) committed into a
/// fresh repository, so that `try-repo` sees exactly what is being tested, committed or not.
fn snapshot_repository(into: &Path) {
    let listed = git(
        &manifest_dir(),
        &[
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
        ],
    );
    for rel in listed.stdout.split(|&b| b == 0).filter(|s| !s.is_empty()) {
        let rel = std::str::from_utf8(rel).expect("UTF-8 path");
        let from = manifest_dir().join(rel);
        if !from.is_file() {
            continue; // deleted in the working tree
        }
        let to = into.join(rel);
        std::fs::create_dir_all(to.parent().expect("a parent")).expect("mkdir");
        std::fs::copy(&from, &to).expect("copy");
    }
    git(into, &["init", "-q"]);
    git(into, &["add", "-A"]);
    git(into, &["commit", "-q", "-m", "snapshot"]);
}

/// `pre-commit try-repo` of this checkout's hook `hook` on a repository with two compose files
/// (one with a warning), a README, and a compose file under a directory named `--config=x`
/// beside a planted configuration that turns the rules off (the names must reach stowage as
/// paths: the hook's `--`).
fn run_pre_commit_hook(hook: &str, env: &[(&str, std::path::PathBuf)]) {
    let Some(pre_commit) = on_path("pre-commit") else {
        missing_tool("pre-commit", "pip install pre-commit");
        return;
    };
    if !manifest_dir().join(".git").exists() {
        missing_tool("a git checkout of stowage", "run the tests in a clone");
        return;
    }
    let (_snapshot_dir, snapshot) = tempdir();
    snapshot_repository(&snapshot);
    let (_user_dir, user) = tempdir();
    write(&user, "good/compose.yaml", CLEAN);
    write(
        &user,
        "bad/docker-compose.yml",
        "services:\n  web:\n    image: nginx  # stowage: ignore[obsolete-version]\n",
    );
    write(&user, "--config=x/compose.yaml", CLEAN);
    write(&user, "README.md", "not a compose file\n");
    git(&user, &["init", "-q"]);
    git(&user, &["add", "-A"]);
    // Planted, not tracked: pre-commit passes only tracked files.
    write(
        &user,
        "x/compose.yaml",
        "rules:\n  unused-suppression: \"off\"\n",
    );
    let out = std::process::Command::new(pre_commit)
        .args([
            "try-repo",
            &snapshot.display().to_string(),
            hook,
            "--all-files",
        ])
        .current_dir(&user)
        .envs(env.iter().map(|(k, v)| (k, v)))
        .env_remove("PRE_COMMIT")
        .output()
        .expect("pre-commit runs");
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        out.status.code(),
        Some(1),
        "the hook fails on a warning:\n{output}"
    );
    let status = Regex::new(r"(?m)^stowage[^.]*\.+Failed$").unwrap();
    assert!(status.is_match(&output), "{output}");
    assert!(output.contains("bad/docker-compose.yml:3:19"), "{output}");
    assert!(output.contains("unused-suppression"), "{output}");
    // The three compose files were checked (none read as an option); the README was not passed.
    assert!(
        output.contains("Found 1 finding (1 warning) in 3 files."),
        "{output}"
    );
}

#[test]
fn pre_commit_hook_built_from_source_runs_stowage_check() {
    // pre-commit builds the hook with `cargo install`: a shared target directory makes every
    // build after the first one incremental.
    let cache = cache_dir("stowage-pre-commit");
    run_pre_commit_hook(
        "stowage-source",
        &[
            ("PRE_COMMIT_HOME", cache.join("home")),
            ("CARGO_TARGET_DIR", cache.join("target")),
        ],
    );
}

#[test]
fn pre_commit_hook_from_the_wheel_runs_stowage_check() {
    // The wheel is not on PyPI before a release: pip finds it in STOWAGE_WHEEL_DIR (.ci/run
    // builds it there), and pre-commit gets a home of its own for each run so that it installs
    // that wheel anew.
    let Some(wheels) = std::env::var_os("STOWAGE_WHEEL_DIR").filter(|v| !v.is_empty()) else {
        missing_tool(
            "the stowage-compose wheel (STOWAGE_WHEEL_DIR)",
            "STOWAGE_WHEEL_DIR=dir scripts/build-release.sh",
        );
        return;
    };
    let (_home_dir, home) = tempdir();
    run_pre_commit_hook(
        "stowage",
        &[
            ("PRE_COMMIT_HOME", home),
            ("PIP_FIND_LINKS", std::path::PathBuf::from(wheels)),
        ],
    );
}
