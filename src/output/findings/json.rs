//! `stowage check --format json`: findings as JSON, version 1 (public API: add fields only).

use serde::Serialize;

use crate::compose::model::Project;
use crate::finding::{Finding, Fix, Severity};

#[derive(Serialize)]
struct FindingOut<'a> {
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
struct ErrorOut {
    path: Option<String>,
    line: Option<usize>,
    column: Option<usize>,
    message: String,
}

#[derive(Serialize)]
struct Summary {
    files: usize,
    findings: usize,
    fixable: usize,
    /// `--baseline` only: findings it matched (not reported), entries nothing matched.
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<super::summary::Baselined>,
}

/// The document at once, which the parts written by [`Reporter`] must make.
#[cfg(test)]
#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    findings: Vec<FindingOut<'a>>,
    errors: Vec<ErrorOut>,
    summary: Summary,
}

fn finding_out<'a>(project: &Project, f: &'a Finding) -> FindingOut<'a> {
    let start = project.position(f.loc);
    let end = project.file(f.loc.file).source.line_col(f.loc.end);
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

/// `--format json`: one document, written a project at a time.
pub(crate) struct Reporter;

impl super::Reporter for Reporter {
    fn project(&self, project: &Project, findings: &[Finding], emit: &mut dyn FnMut(super::Chunk)) {
        super::in_parts(project, findings, emit, elements);
    }

    /// The opening is written before the first finding; the parts are separated.
    fn chunk(&self, out: &mut super::Out, chunk: &super::Chunk) {
        if chunk.text.is_empty() {
            return;
        }
        if out.findings == 0 {
            out.write(OPEN);
            out.write("\n");
        } else {
            out.write(",\n");
        }
        out.chunk(chunk);
    }

    /// The rest of the document (the opening too, when no finding was written).
    fn end(&self, out: &mut super::Out, end: &super::End) -> std::io::Result<()> {
        let errors = end
            .failures
            .iter()
            .map(|(p, m)| ErrorOut {
                path: p.clone(),
                line: None,
                column: None,
                message: m.clone(),
            })
            .collect();
        let mut text = String::new();
        if out.findings == 0 {
            text.push_str(OPEN);
        }
        let summary = Summary {
            files: end.files,
            findings: out.findings,
            fixable: out.fixable,
            baseline: end.baseline,
        };
        close(&mut text, out.findings > 0, errors, summary);
        out.write(&text);
        Ok(())
    }
}

/// The findings of one project as elements of the `findings` array, exactly as [`render`] writes
/// them (indented, separated by `,` and a line break), for a report written a part at a time.
fn elements(out: &mut String, project: &Project, findings: &[Finding]) {
    for (i, f) in findings.iter().enumerate() {
        if i > 0 {
            out.push_str(",\n");
        }
        let element = serde_json::to_string_pretty(&finding_out(project, f))
            .expect("the output model always serialises");
        indent(out, &element, "    ");
    }
}

/// The start of the document, up to the first element of `findings`.
const OPEN: &str = "{\n  \"version\": 1,\n  \"findings\": [";

/// What follows the last element of `findings` (`elements` were written: whether there were
/// any), up to the end of the document.
fn close(out: &mut String, elements: bool, errors: Vec<ErrorOut>, summary: Summary) {
    out.push_str(if elements { "\n  ]" } else { "]" });
    out.push_str(",\n  \"errors\": ");
    let errors = serde_json::to_string_pretty(&errors).expect("the output model always serialises");
    indent_rest(out, &errors, "  ");
    out.push_str(",\n  \"summary\": ");
    let summary =
        serde_json::to_string_pretty(&summary).expect("the output model always serialises");
    indent_rest(out, &summary, "  ");
    out.push_str("\n}\n");
}

/// `text` with every line indented by `by` (a JSON text holds no line break inside a string).
fn indent(out: &mut String, text: &str, by: &str) {
    out.push_str(by);
    indent_rest(out, text, by);
}

/// `text` with every line but the first indented by `by`.
fn indent_rest(out: &mut String, text: &str, by: &str) {
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
            out.push_str(by);
        }
        out.push_str(line);
    }
}

#[cfg(test)]
fn render(findings: Vec<FindingOut<'_>>, errors: Vec<ErrorOut>, files: usize) -> String {
    let fixable = findings.iter().filter(|f| f.fix.is_some()).count();
    let summary = Summary {
        files,
        findings: findings.len(),
        fixable,
        baseline: None,
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::loader::{self, LoadOptions};
    use crate::finding::{Applicability, Edit};

    /// The document written in parts is the document `render` writes.
    #[test]
    fn parts_make_the_same_document() {
        let project = loader::load(&LoadOptions {
            files: vec!["-".into()],
            stdin: Some("services:\n  db:\n    image: postgres:16\n".into()),
            stdin_filename: Some("/srv/app/compose.yaml".into()),
            cwd: "/srv/app".into(),
            ..LoadOptions::default()
        });
        let loc = crate::yaml::value::Loc {
            file: 0,
            start: 12,
            end: 14,
        };
        let plain = Finding::new(
            "anonymous-volume",
            Severity::Warning,
            loc,
            "a \"quoted\"\nmessage",
            "help",
        )
        .service("db");
        let fixed = Finding {
            fix: Some(Fix {
                applicability: Applicability::Unsafe,
                title: "t".into(),
                edits: vec![Edit {
                    start: 1,
                    end: 2,
                    content: "x\ny".into(),
                }],
            }),
            ..plain.clone()
        };
        let error = || ErrorOut {
            path: Some("a.yaml".into()),
            line: Some(1),
            column: None,
            message: "m".into(),
        };
        for (findings, errors) in [
            (vec![], vec![]),
            (vec![plain.clone()], vec![]),
            (
                vec![plain.clone(), fixed.clone(), plain],
                vec![error(), error()],
            ),
            (vec![], vec![error()]),
        ] {
            let whole = render(
                findings.iter().map(|f| finding_out(&project, f)).collect(),
                errors.iter().map(|_| error()).collect(),
                3,
            );
            let mut parts = String::from(OPEN);
            if !findings.is_empty() {
                parts.push('\n');
                // Two parts, joined as a report joins them.
                let (a, b) = findings.split_at(1);
                elements(&mut parts, &project, a);
                if !b.is_empty() {
                    parts.push_str(",\n");
                    elements(&mut parts, &project, b);
                }
            }
            let fixable = findings.iter().filter(|f| f.fix.is_some()).count();
            let summary = Summary {
                files: 3,
                findings: findings.len(),
                fixable,
                baseline: None,
            };
            close(&mut parts, !findings.is_empty(), errors, summary);
            assert_eq!(parts, whole);
        }
    }
}
