//! `stowage check --format gitlab`: a GitLab Code Quality report (a JSON array of Code Climate
//! issues), with the same stable fingerprints as SARIF.

use serde::Serialize;

use super::sarif::fingerprints;
use crate::finding::{Finding, Severity};
use crate::model::Project;

#[derive(Serialize)]
struct Issue<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    description: &'a str,
    check_name: &'static str,
    fingerprint: String,
    severity: &'static str,
    categories: [&'static str; 1],
    content: Content<'a>,
    location: Location,
}

#[derive(Serialize)]
struct Content<'a> {
    body: &'a str,
}

#[derive(Serialize)]
struct Location {
    path: String,
    lines: Lines,
}

#[derive(Serialize)]
struct Lines {
    begin: usize,
    end: usize,
}

/// Code Quality severities: info, minor, major, critical, blocker.
fn severity(s: Severity) -> &'static str {
    match s {
        Severity::Info => "info",
        Severity::Warning => "major",
        Severity::Error => "critical",
    }
}

pub fn render(results: &[(&Project, Vec<Finding>)]) -> String {
    let prints = fingerprints(results);
    let mut issues = Vec::new();
    for ((project, findings), prints) in results.iter().zip(prints) {
        for (f, fingerprint) in findings.iter().zip(prints) {
            let source = &project.file(f.loc.file).source;
            let begin = source.line_col(f.loc.start).line;
            let end = source.line_col(f.loc.end.max(f.loc.start)).line;
            issues.push(Issue {
                kind: "issue",
                description: &f.message,
                check_name: f.rule,
                fingerprint,
                severity: severity(f.severity),
                categories: ["Bug Risk"],
                content: Content { body: &f.help },
                location: Location {
                    path: source.display.replace('\\', "/"),
                    lines: Lines { begin, end },
                },
            });
        }
    }
    let mut out =
        serde_json::to_string_pretty(&issues).expect("the Code Quality model always serialises");
    out.push('\n');
    out
}
