//! `stowage check --format junit`: JUnit XML for CI test reports — one test suite, one test case
//! per linted file (passing when it has no findings), one `<failure>` per finding; a path stowage
//! could not check is a test case with an `<error>`.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::compose::model::Project;
use crate::finding::Finding;

/// Escapes an attribute value (line breaks and tabs as character references, which attribute
/// normalisation would otherwise turn into spaces); characters XML 1.0 cannot carry at all
/// (control characters other than tab, newline and carriage return) become `\u{…}` text.
pub(crate) fn escape(s: &str) -> String {
    escape_with(s, true)
}

/// Escapes element text: as [`escape`], but line breaks and tabs stay as they are.
pub(crate) fn escape_text(s: &str) -> String {
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

/// What a test case holds: a finding (project, finding) or a failure, by index.
#[derive(Clone, Copy)]
enum Entry {
    Failure(usize, usize),
    Error(usize),
}

/// A finding's `<failure>`: its message attribute and its text.
fn failure(project: &Project, f: &Finding) -> (String, String) {
    let p = project.position(f.loc);
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
    let message = format!("line {}, column {}: {}", p.line, p.column, f.message);
    (message, body)
}

/// `--format junit`: a whole document, failures in it.
pub(crate) const REPORTER: super::Document = super::Document {
    probe,
    write: |out, end| write(out.writer(), end.results, end.failures),
};

/// Makes every `<failure>` [`write`] would write, and drops it (a bug shows here, before
/// anything is written).
pub(crate) fn probe(results: &[(&Project, Vec<Finding>)]) {
    for (project, findings) in results {
        for f in findings {
            drop(failure(project, f));
        }
    }
}

/// The whole report, written to `out` a test case at a time.
pub fn write(
    out: &mut dyn std::io::Write,
    results: &[(&Project, Vec<Finding>)],
    failures: &[(Option<String>, String)],
) -> std::io::Result<()> {
    // Every file of every project, findings or not, by the path the user sees.
    let mut cases: BTreeMap<&str, Vec<Entry>> = BTreeMap::new();
    for (i, (project, findings)) in results.iter().enumerate() {
        for file in &project.files {
            cases.entry(file.source.display.as_str()).or_default();
        }
        for (j, f) in findings.iter().enumerate() {
            let path = project.file(f.loc.file).source.display.as_str();
            cases.entry(path).or_default().push(Entry::Failure(i, j));
        }
    }
    for (i, (path, _)) in failures.iter().enumerate() {
        cases
            .entry(path.as_deref().unwrap_or("stowage"))
            .or_default()
            .push(Entry::Error(i));
    }
    let tests = cases.len();
    let failed = cases
        .values()
        .filter(|o| o.iter().any(|o| matches!(o, Entry::Failure(..))))
        .count();
    let errors = cases
        .values()
        .filter(|o| o.iter().any(|o| matches!(o, Entry::Error(_))))
        .count();
    let mut text = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let counts = format!("tests=\"{tests}\" failures=\"{failed}\" errors=\"{errors}\"");
    let _ = writeln!(text, "<testsuites name=\"stowage\" {counts}>");
    let _ = writeln!(
        text,
        "  <testsuite name=\"stowage\" {counts} skipped=\"0\">"
    );
    for (path, entries) in &cases {
        let path = escape(path);
        if entries.is_empty() {
            let _ = writeln!(
                text,
                "    <testcase name=\"{path}\" classname=\"stowage\" file=\"{path}\"/>"
            );
            continue;
        }
        let _ = writeln!(
            text,
            "    <testcase name=\"{path}\" classname=\"stowage\" file=\"{path}\">"
        );
        for &entry in entries {
            match entry {
                Entry::Failure(i, j) => {
                    let (project, findings) = &results[i];
                    let f = &findings[j];
                    let (message, body) = failure(project, f);
                    let _ = writeln!(
                        text,
                        "      <failure type=\"{}\" message=\"{}\">{}</failure>",
                        escape(f.rule),
                        escape(&message),
                        escape_text(&body)
                    );
                }
                Entry::Error(i) => {
                    let message = &failures[i].1;
                    let _ = writeln!(
                        text,
                        "      <error type=\"stowage\" message=\"{}\">{}</error>",
                        escape(message),
                        escape_text(message)
                    );
                }
            }
            // Written as it grows: the report is as long as every finding's text.
            if text.len() > 1 << 16 {
                out.write_all(text.as_bytes())?;
                text.clear();
            }
        }
        text.push_str("    </testcase>\n");
    }
    text.push_str("  </testsuite>\n</testsuites>\n");
    out.write_all(text.as_bytes())
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
