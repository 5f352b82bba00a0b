//! `stowage check --format gitlab`: a GitLab Code Quality report (a JSON array of Code Climate
//! issues), with the same stable fingerprints as SARIF.

use std::io::Write;

use serde::Serialize;

use super::sarif::PerFinding;
use crate::compose::model::Project;
use crate::finding::{Finding, Severity};

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

fn issue<'a>(project: &Project, f: &'a Finding, fingerprint: String) -> Issue<'a> {
    let source = &project.file(f.loc.file).source;
    let begin = source.line_col(f.loc.start).line;
    let end = source.line_col(f.loc.end.max(f.loc.start)).line;
    Issue {
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
    }
}

/// `--format gitlab`: a whole document (failures go to standard error).
pub(crate) const REPORTER: super::Document = super::Document {
    probe,
    write: |out, end| {
        for (p, m) in end.failures {
            crate::output::eprint_failure(p.as_deref(), m);
        }
        write(out.writer(), end.results)
    },
};

/// Makes every issue [`write`] would write, and drops it (a bug shows here, before anything is
/// written).
pub(crate) fn probe(results: &[(&Project, Vec<Finding>)]) {
    PerFinding::new(results, issue).probe();
}

/// The whole document, written to `out` as it is made.
pub fn write(
    out: &mut dyn std::io::Write,
    results: &[(&Project, Vec<Finding>)],
) -> std::io::Result<()> {
    let issues = PerFinding::new(results, issue);
    // serde writes a token at a time: buffered here, not through `out`'s dynamic calls.
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut buffered, &issues).map_err(std::io::Error::from)?;
    buffered.write_all(b"\n")?;
    buffered.flush()
}
