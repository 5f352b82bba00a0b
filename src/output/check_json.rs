//! `stowage check --format json`: findings as JSON, version 1 (public API: add fields only).

use serde::Serialize;

use super::position;
use crate::finding::{Finding, Fix, Severity};
use crate::model::Project;

#[derive(Serialize)]
pub struct FindingOut<'a> {
    rule: &'static str,
    severity: Severity,
    message: &'a str,
    help: &'a str,
    path: String,
    /// The first service concerned (null for a file-level finding).
    service: Option<&'a str>,
    /// Every service concerned (a place inside a shared anchor concerns several).
    services: &'a [String],
    line: usize,
    column: usize,
    end_line: usize,
    end_column: usize,
    span: Span,
    fix: Option<&'a Fix>,
}

#[derive(Serialize)]
struct Span {
    start: usize,
    end: usize,
}

#[derive(Serialize)]
pub struct ErrorOut {
    pub path: Option<String>,
    pub line: Option<usize>,
    pub column: Option<usize>,
    pub message: String,
}

#[derive(Serialize)]
struct Summary {
    files: usize,
    findings: usize,
    fixable: usize,
}

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    findings: Vec<FindingOut<'a>>,
    errors: Vec<ErrorOut>,
    summary: Summary,
}

/// Where a finding is, as the JSON output gives it: what `finding_out` needs of the project, so
/// that a finding can be rendered after its project was dropped.
pub struct Place {
    start: super::Position,
    end: crate::source::LineCol,
}

pub fn place(project: &Project, f: &Finding) -> Place {
    Place {
        start: position(project, f.loc),
        end: project.file(f.loc.file).source.line_col(f.loc.end),
    }
}

pub fn finding_out<'a>(project: &Project, f: &'a Finding) -> FindingOut<'a> {
    finding_out_at(place(project, f), f)
}

pub fn finding_out_at(place: Place, f: &Finding) -> FindingOut<'_> {
    let Place { start, end } = place;
    FindingOut {
        rule: f.rule,
        severity: f.severity,
        message: &f.message,
        help: &f.help,
        path: start.path,
        service: f.services.first().map(String::as_str),
        services: &f.services,
        line: start.line,
        column: start.column,
        end_line: end.line,
        end_column: end.column,
        span: Span {
            start: f.loc.start,
            end: f.loc.end,
        },
        fix: f.fix.as_ref(),
    }
}

pub fn render(findings: Vec<FindingOut<'_>>, errors: Vec<ErrorOut>, files: usize) -> String {
    let fixable = findings.iter().filter(|f| f.fix.is_some()).count();
    let summary = Summary {
        files,
        findings: findings.len(),
        fixable,
    };
    let mut out = serde_json::to_string_pretty(&Document {
        version: 1,
        findings,
        errors,
        summary,
    })
    .expect("the output model always serialises");
    out.push('\n');
    out
}
