//! Evaluation on real projects (`tests/realworld/`, see its README): `stowage check` runs on every
//! project of the set as the project's own instructions load it (`projects.toml`), and each
//! finding is judged against the maintainer's ground truth in `truth.toml`, written by hand and
//! independently of stowage's output:
//!
//! - **right**: a persistence finding on a service that really loses data it needs on a normal
//!   lifecycle command (its `lost_on` is not empty);
//! - **noise**: information that is true but no risk (a recommendation, obsolete syntax);
//! - **wrong**: a finding that fails CI by default (warning, error) where nothing is lost and
//!   compose accepts the file (every project of the set loads in Docker Compose).
//!
//! The verdicts, the precision figures and every miss (a service at risk without a persistence
//! finding) are kept in `tests/realworld/verdicts.md`, which this test keeps current
//! (`STOWAGE_UPDATE_VERDICTS=1 cargo test --test realworld` rewrites it); the test fails when
//! precision falls below the floors below.

mod common;

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;

use common::binary::{self, copy_dir, manifest_dir};
use serde::Deserialize;
use serde_json::Value as Json;

/// Precision of the findings that fail CI by default (warning, error): right / all of them.
const DEFAULT_FAILING_FLOOR: f64 = 0.95;
/// Precision of every persistence finding reported by default: right / all of them.
const PERSISTENCE_FLOOR: f64 = 0.85;

const PERSISTENCE_RULES: &[&str] = &[
    "anonymous-volume",
    "implicit-volume",
    "ephemeral-data",
    "shadowed-data-path",
    "bind-mount",
    "override-drops-volume",
    "merge-drops-volumes",
    "shared-data-volume",
    "hostname-keyed-data",
    "project-scoped-volume",
];

#[derive(Deserialize)]
struct Truth {
    service: Vec<ServiceTruth>,
}

#[derive(Deserialize)]
struct ServiceTruth {
    project: String,
    file: Option<String>,
    #[serde(default)]
    files: Vec<String>,
    service: String,
    lost_on: Vec<String>,
    why: String,
}

#[derive(Deserialize)]
struct Setups {
    project: Vec<Setup>,
}

#[derive(Deserialize, Default, Clone)]
struct Setup {
    name: String,
    env_file: Option<String>,
    #[serde(default)]
    copy: Vec<(String, String)>,
    #[serde(default)]
    touch: Vec<String>,
}

fn set_dir() -> PathBuf {
    manifest_dir().join("tests/realworld")
}

fn read_toml<T: serde::de::DeserializeOwned>(name: &str) -> T {
    let path = set_dir().join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    toml::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `stowage check --format json` on one project, in a temporary copy prepared as `setup` says.
fn check(project: &str, files: &[String], setup: &Setup) -> Json {
    let (_tmp, root) = binary::tempdir();
    let dir = root.join(project);
    copy_dir(&set_dir().join(project), &dir);
    for (from, to) in &setup.copy {
        std::fs::copy(dir.join(from), dir.join(to)).expect("copy the shipped example");
    }
    for name in &setup.touch {
        std::fs::write(dir.join(name), "").expect("create the env file");
    }
    let mut args = vec!["check", "--format", "json", "--exit-zero"];
    for file in files {
        args.extend(["-f", file]);
    }
    if let Some(env_file) = &setup.env_file {
        args.extend(["--env-file", env_file]);
    }
    let run = binary::stowage_run(&dir, &args);
    run.expect_code(0);
    let json = run.json();
    assert_eq!(
        json["errors"].as_array().map(Vec::len),
        Some(0),
        "{project}: stowage could not check it: {}",
        json["errors"]
    );
    json
}

#[derive(PartialEq, Eq, PartialOrd, Ord, Clone, Copy)]
enum Verdict {
    Right,
    Noise,
    Wrong,
}

impl Verdict {
    fn as_str(self) -> &'static str {
        match self {
            Verdict::Right => "right",
            Verdict::Noise => "noise",
            Verdict::Wrong => "wrong",
        }
    }
}

struct Judged {
    project: String,
    place: String,
    rule: String,
    severity: String,
    service: String,
    message: String,
    verdict: Verdict,
    why: String,
}

fn judge(
    project: &str,
    finding: &Json,
    truth: &BTreeMap<(String, String), &ServiceTruth>,
) -> Judged {
    let text = |key: &str| finding[key].as_str().unwrap_or_default().to_owned();
    let (rule, severity, service) = (text("rule"), text("severity"), text("service"));
    let fails = severity != "info";
    let at_risk = truth.get(&(project.to_owned(), service.clone()));
    let persistence = PERSISTENCE_RULES.contains(&rule.as_str());
    let (verdict, why) = match at_risk {
        Some(t) if persistence && !t.lost_on.is_empty() => (
            Verdict::Right,
            format!("loses data on {}: {}", t.lost_on.join(", "), t.why),
        ),
        Some(t) if persistence => (
            if fails {
                Verdict::Wrong
            } else {
                Verdict::Noise
            },
            format!("nothing needed is lost: {}", t.why),
        ),
        _ if fails => (
            Verdict::Wrong,
            "compose accepts the project and nothing is lost".to_owned(),
        ),
        _ => (Verdict::Noise, "true, and no risk to data".to_owned()),
    };
    Judged {
        project: project.to_owned(),
        place: format!("{}:{}", text("path"), finding["line"]),
        rule,
        severity,
        service,
        message: text("message"),
        verdict,
        why,
    }
}

fn ratio(right: usize, all: usize) -> f64 {
    if all == 0 {
        1.0
    } else {
        right as f64 / all as f64
    }
}

fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace('\n', " ")
}

#[test]
fn findings_on_real_projects_are_right() {
    let truth: Truth = read_toml("truth.toml");
    let setups: Setups = read_toml("projects.toml");
    let setup_of = |name: &str| {
        setups
            .project
            .iter()
            .find(|s| s.name == name)
            .cloned()
            .unwrap_or_default()
    };
    let mut projects: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for s in &truth.service {
        let files = if s.files.is_empty() {
            vec![
                s.file
                    .clone()
                    .expect("a service names its `file` or `files`"),
            ]
        } else {
            s.files.clone()
        };
        projects.entry(&s.project).or_insert(files);
    }
    let by_service: BTreeMap<(String, String), &ServiceTruth> = truth
        .service
        .iter()
        .map(|s| ((s.project.clone(), s.service.clone()), s))
        .collect();

    let mut judged = Vec::new();
    for (project, files) in &projects {
        let json = check(project, files, &setup_of(project));
        for finding in json["findings"].as_array().expect("findings") {
            judged.push(judge(project, finding, &by_service));
        }
    }

    let failing: Vec<&Judged> = judged.iter().filter(|j| j.severity != "info").collect();
    let persistence: Vec<&Judged> = judged
        .iter()
        .filter(|j| PERSISTENCE_RULES.contains(&j.rule.as_str()))
        .collect();
    let right = |list: &[&Judged]| list.iter().filter(|j| j.verdict == Verdict::Right).count();
    let failing_precision = ratio(right(&failing), failing.len());
    let persistence_precision = ratio(right(&persistence), persistence.len());
    let reported: std::collections::BTreeSet<(&str, &str)> = persistence
        .iter()
        .map(|j| (j.project.as_str(), j.service.as_str()))
        .collect();
    let misses: Vec<&ServiceTruth> = truth
        .service
        .iter()
        .filter(|s| !s.lost_on.is_empty())
        .filter(|s| !reported.contains(&(s.project.as_str(), s.service.as_str())))
        .collect();

    let mut doc = String::from(
        "# Verdicts on the evaluation set\n\n\
         Generated by `tests/realworld.rs` (`STOWAGE_UPDATE_VERDICTS=1 cargo test --test \
         realworld`) from stowage's findings and the ground truth in `truth.toml`.\n\n",
    );
    let at_risk = truth
        .service
        .iter()
        .filter(|s| !s.lost_on.is_empty())
        .count();
    writeln!(
        doc,
        "- projects: {}, services: {}, services at risk: {at_risk}\n\
         - findings that fail CI by default: {} of {} right ({:.1}%)\n\
         - persistence findings: {} of {} right ({:.1}%)\n\
         - services at risk without a persistence finding (misses): {}\n",
        projects.len(),
        truth.service.len(),
        right(&failing),
        failing.len(),
        100.0 * failing_precision,
        right(&persistence),
        persistence.len(),
        100.0 * persistence_precision,
        misses.len(),
    )
    .expect("write to a string");
    doc.push_str("## Findings\n\n| project | place | rule | severity | service | verdict | why |\n|---|---|---|---|---|---|---|\n");
    for j in &judged {
        writeln!(
            doc,
            "| {} | {} | `{}` | {} | {} | **{}** | {} — finding: {} |",
            j.project,
            j.place,
            j.rule,
            j.severity,
            j.service,
            j.verdict.as_str(),
            cell(&j.why),
            cell(&j.message)
        )
        .expect("write to a string");
    }
    doc.push_str("\n## Misses\n\n| project | service | lost on | why |\n|---|---|---|---|\n");
    for m in &misses {
        writeln!(
            doc,
            "| {} | {} | {} | {} |",
            m.project,
            m.service,
            m.lost_on.join(", "),
            cell(&m.why)
        )
        .expect("write to a string");
    }

    let path = set_dir().join("verdicts.md");
    if std::env::var_os("STOWAGE_UPDATE_VERDICTS").is_some() {
        std::fs::write(&path, &doc).expect("write verdicts.md");
    }
    let recorded = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        recorded == doc,
        "tests/realworld/verdicts.md is stale: review the change with \
         `STOWAGE_UPDATE_VERDICTS=1 cargo test --test realworld` and `git diff`"
    );
    assert!(
        failing_precision >= DEFAULT_FAILING_FLOOR,
        "precision of default-failing findings is {:.1}%, below {:.0}% (tests/realworld/verdicts.md)",
        100.0 * failing_precision,
        100.0 * DEFAULT_FAILING_FLOOR
    );
    assert!(
        persistence_precision >= PERSISTENCE_FLOOR,
        "precision of persistence findings is {:.1}%, below {:.0}% (tests/realworld/verdicts.md)",
        100.0 * persistence_precision,
        100.0 * PERSISTENCE_FLOOR
    );
}
