//! The rule fixtures: `fixtures/rules/<rule-id>/*.yaml` (or a directory per case holding a compose
//! project). A fixture named `*-ok.yaml` must produce no finding at all; any other fixture must
//! produce findings of its own rule and of no other rule. Each fixture's findings (with help,
//! labels and services) are kept as a snapshot.

use std::fmt::Write;
use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use stowage::analysis;
use stowage::compose::loader::{self, LoadOptions};
use stowage::compose::model::Project;
use stowage::finding::Finding;
use stowage::fix;
use stowage::images::KnowledgeBase;
use stowage::lint::config::Config;
use stowage::lint::{self, RuleSettings};
use stowage::rules::{self, FixAvailability};
use stowage::workspace::discover;

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/rules")
}

/// Loads a fixture with a fixed environment so results do not depend on the machine.
/// How a fixture is loaded (a file alone, or a directory with compose's discovery), with a fixed
/// environment so results do not depend on the machine.
fn load_options(path: &Path, cwd: &Path) -> LoadOptions {
    let (dir, files) = if path.is_dir() {
        (
            path.to_path_buf(),
            discover::default_files(path).unwrap_or_default(),
        )
    } else {
        (
            path.parent().unwrap().to_path_buf(),
            vec![path.to_path_buf()],
        )
    };
    let mut env = IndexMap::new();
    env.insert("HOME".to_owned(), "/home/user".to_owned());
    LoadOptions {
        files,
        process_env: env.into(),
        cwd: cwd.to_path_buf(),
        project_directory: Some(dir),
        ..LoadOptions::default()
    }
}

pub fn load_fixture(path: &Path) -> Project {
    loader::load(&load_options(path, &fixtures_root()))
}

fn render(project: &Project, findings: &[Finding]) -> String {
    let mut out = String::new();
    for f in findings {
        let p = project.position(f.loc);
        let _ = writeln!(
            out,
            "{}:{}:{}: {}[{}] {}",
            p.path,
            p.line,
            p.column,
            f.severity.as_str(),
            f.rule,
            f.message
        );
        let _ = writeln!(out, "  help: {}", f.help);
        if !f.services.is_empty() {
            let _ = writeln!(out, "  services: {}", f.services.join(", "));
        }
        for l in &f.labels {
            let p = project.position(l.loc);
            let _ = writeln!(
                out,
                "  label {}:{}:{}: {}",
                p.path, p.line, p.column, l.message
            );
        }
        if let Some(fix) = &f.fix {
            let _ = writeln!(out, "  fix ({:?}): {}", fix.applicability, fix.title);
        }
    }
    out
}

fn cases() -> Vec<(String, PathBuf)> {
    let mut out = Vec::new();
    let Ok(dirs) = std::fs::read_dir(fixtures_root()) else {
        return out;
    };
    let mut dirs: Vec<PathBuf> = dirs
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    for dir in dirs {
        let rule = dir.file_name().unwrap().to_string_lossy().into_owned();
        let mut entries: Vec<PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .flatten()
            .map(|e| e.path())
            .collect();
        entries.sort();
        for e in entries {
            let name = e.file_name().unwrap().to_string_lossy().into_owned();
            if e.is_dir() || name.ends_with(".yaml") || name.ends_with(".yml") {
                out.push((rule.clone(), e));
            }
        }
    }
    out
}

#[test]
fn every_rule_has_fixtures() {
    let cases = cases();
    for rule in rules::RULES {
        let id = rule.meta().id;
        let positive = cases.iter().any(|(r, p)| r == id && !is_ok_case(p));
        let negative = cases.iter().any(|(r, p)| r == id && is_ok_case(p));
        assert!(
            positive && negative,
            "rule `{id}` needs a positive and a `*-ok` fixture under fixtures/rules/{id}/"
        );
    }
    for (rule, path) in &cases {
        assert!(
            rules::find(rule).is_some(),
            "{} is under an unknown rule id",
            path.display()
        );
    }
}

fn is_ok_case(path: &Path) -> bool {
    let stem = path.file_stem().unwrap().to_string_lossy();
    stem.ends_with("-ok") || stem == "ok"
}

/// Applies every fix (unsafe ones included) through the fix engine: it must converge, verify,
/// and a second run must change nothing. Returns the diff for the snapshot.
fn fixed_diff(
    path: &Path,
    settings: &RuleSettings,
    failures: &mut Vec<String>,
    rel: &str,
) -> String {
    // The whole rule directory is copied, so relative paths (bind sources) look the same.
    let tmp = tempfile::tempdir().unwrap();
    let rule_dir = path.parent().unwrap();
    copy_tree(rule_dir, tmp.path());
    let target = tmp.path().join(path.file_name().unwrap());
    let kb = KnowledgeBase::builtin();
    let lint = |p: &Project| {
        lint::run(
            p,
            &analysis::analyse(p, kb),
            kb,
            settings,
            &Config::default(),
        )
    };
    let opts = load_options(&target, tmp.path());
    let outcome = match fix::fix_project(&opts, &lint, true) {
        Ok(o) => o,
        Err(e) => {
            failures.push(format!("{rel}: fixes refused: {e}"));
            return String::new();
        }
    };
    for f in &outcome.files {
        std::fs::write(&f.path, &f.fixed).unwrap();
    }
    match fix::fix_project(&opts, &lint, true) {
        Ok(again) if !again.files.is_empty() => failures.push(format!(
            "{rel}: a second fix pass changes {}",
            again.files[0].display
        )),
        Err(e) => failures.push(format!("{rel}: second fix pass refused: {e}")),
        Ok(_) => {}
    }
    format!(
        "--- fixed ---\n{}",
        stowage::output::diff::unified(&outcome.files)
    )
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(e.file_name());
        if e.path().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[test]
fn rule_fixtures() {
    let kb = KnowledgeBase::builtin();
    let mut failures = Vec::new();
    let mut checked = 0;
    for (rule_id, path) in cases() {
        let project = load_fixture(&path);
        let analysis = analysis::analyse(&project, kb);
        let mut settings = RuleSettings::default();
        // A rule that is off by default is switched on for its own fixtures.
        if let Some(rule) = rules::find(&rule_id).filter(|r| r.meta().off_by_default) {
            settings
                .severity
                .insert(rule_id.clone(), Some(rule.meta().severity));
        }
        let findings = lint::run(&project, &analysis, kb, &settings, &Config::default());
        let rel = path
            .strip_prefix(fixtures_root())
            .unwrap()
            .display()
            .to_string();
        if is_ok_case(&path) {
            if !findings.is_empty() {
                failures.push(format!(
                    "{rel}: expected no finding, got:\n{}",
                    render(&project, &findings)
                ));
            }
        } else if findings.is_empty() {
            failures.push(format!("{rel}: expected `{rule_id}` findings, got none"));
        } else if let Some(other) = findings.iter().find(|f| f.rule != rule_id) {
            failures.push(format!(
                "{rel}: `{}` fired on a `{rule_id}` fixture:\n{}",
                other.rule,
                render(&project, &findings)
            ));
        }
        let mut snapshot = render(&project, &findings);
        if let Some(rule) = rules::find(&rule_id) {
            let with_fix = findings
                .iter()
                .filter(|f| f.rule == rule_id && f.fix.is_some())
                .count();
            let declared = rule.meta().fix;
            if (declared == FixAvailability::None && with_fix > 0)
                || (declared == FixAvailability::Always && with_fix < findings.len())
            {
                failures.push(format!("{rel}: `{rule_id}` declares fixes {declared:?} but {with_fix} of {} findings have one", findings.len()));
            }
            if with_fix > 0 {
                snapshot.push_str(&fixed_diff(&path, &settings, &mut failures, &rel));
            }
        }
        let name = rel.replace(['/', '.'], "_");
        insta::assert_snapshot!(name, snapshot);
        checked += 1;
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    assert!(checked > 0, "no rule fixture found");
}
