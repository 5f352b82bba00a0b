//! `stowage check --format junit`: JUnit XML for CI test reports — one test suite, one test case
//! per linted file (passing when it has no findings), one `<failure>` per finding; a path stowage
//! could not check is a test case with an `<error>`.

use std::collections::BTreeMap;
use std::fmt::Write;

use super::position;
use crate::finding::Finding;
use crate::model::Project;

/// Escapes an attribute value (line breaks and tabs as character references, which attribute
/// normalisation would otherwise turn into spaces); characters XML 1.0 cannot carry at all
/// (control characters other than tab, newline and carriage return) become `\u{…}` text.
pub fn escape(s: &str) -> String {
    escape_with(s, true)
}

/// Escapes element text: as [`escape`], but line breaks and tabs stay as they are.
pub fn escape_text(s: &str) -> String {
    escape_with(s, false)
}

fn escape_with(s: &str, attribute: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' if attribute => out.push_str("&quot;"),
            '\'' if attribute => out.push_str("&apos;"),
            '\n' if attribute => out.push_str("&#10;"),
            '\t' if attribute => out.push_str("&#9;"),
            '\n' | '\t' => out.push(c),
            '\r' => out.push_str("&#13;"),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

enum Outcome {
    Failure {
        rule: &'static str,
        message: String,
        body: String,
    },
    Error {
        message: String,
    },
}

pub fn render(
    results: &[(&Project, Vec<Finding>)],
    failures: &[(Option<String>, String)],
) -> String {
    // Every file of every project, findings or not, by the path the user sees.
    let mut cases: BTreeMap<String, Vec<Outcome>> = BTreeMap::new();
    for (project, findings) in results {
        for file in &project.files {
            cases.entry(file.source.display.clone()).or_default();
        }
        for f in findings {
            let p = position(project, f.loc);
            let mut body = format!(
                "{}:{}:{}: {}[{}] {}",
                p.path,
                p.line,
                p.column,
                f.severity.as_str(),
                f.rule,
                f.message
            );
            if !f.help.is_empty() {
                let _ = write!(body, "\nhelp: {}", f.help);
            }
            if !f.services.is_empty() {
                let _ = write!(body, "\nservices: {}", f.services.join(", "));
            }
            cases
                .entry(p.path.clone())
                .or_default()
                .push(Outcome::Failure {
                    rule: f.rule,
                    message: format!("line {}, column {}: {}", p.line, p.column, f.message),
                    body,
                });
        }
    }
    for (path, message) in failures {
        cases
            .entry(path.clone().unwrap_or_else(|| "stowage".into()))
            .or_default()
            .push(Outcome::Error {
                message: message.clone(),
            });
    }
    let tests = cases.len();
    let failed = cases
        .values()
        .filter(|o| o.iter().any(|o| matches!(o, Outcome::Failure { .. })))
        .count();
    let errors = cases
        .values()
        .filter(|o| o.iter().any(|o| matches!(o, Outcome::Error { .. })))
        .count();
    let mut out = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let counts = format!("tests=\"{tests}\" failures=\"{failed}\" errors=\"{errors}\"");
    let _ = writeln!(out, "<testsuites name=\"stowage\" {counts}>");
    let _ = writeln!(out, "  <testsuite name=\"stowage\" {counts} skipped=\"0\">");
    for (path, outcomes) in &cases {
        let path = escape(path);
        if outcomes.is_empty() {
            let _ = writeln!(
                out,
                "    <testcase name=\"{path}\" classname=\"stowage\" file=\"{path}\"/>"
            );
            continue;
        }
        let _ = writeln!(
            out,
            "    <testcase name=\"{path}\" classname=\"stowage\" file=\"{path}\">"
        );
        for o in outcomes {
            match o {
                Outcome::Failure {
                    rule,
                    message,
                    body,
                } => {
                    let _ = writeln!(
                        out,
                        "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                        escape(rule),
                        escape(message),
                        escape_text(body)
                    );
                }
                Outcome::Error { message } => {
                    let _ = writeln!(
                        out,
                        "      <error type=\"stowage\" message=\"{}\">{}</error>",
                        escape(message),
                        escape_text(message)
                    );
                }
            }
        }
        out.push_str("    </testcase>\n");
    }
    out.push_str("  </testsuite>\n</testsuites>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_and_control_characters() {
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&apos;");
        assert_eq!(escape("x\u{1}y"), "x\\u{1}y");
        assert_eq!(escape("l1\nl2"), "l1&#10;l2");
        assert_eq!(escape_text("l1\nl2\r"), "l1\nl2&#13;");
    }
}
