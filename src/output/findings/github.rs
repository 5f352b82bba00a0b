//! `stowage check --format github`: GitHub Actions workflow commands, one annotation per finding
//! (`::warning file=…,line=…,col=…,endLine=…,endColumn=…,title=…::message`).

use std::fmt::Write;

use crate::compose::model::Project;
use crate::finding::{Finding, Severity};
use crate::output::escape::{one_line, terminal};

/// Escapes a command's message (data): `%`, `\r`, `\n`.
pub(crate) fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escapes a property value: as data, plus `:` and `,`.
pub(crate) fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    }
}

/// `--format github`: an annotation per finding, and one per failure at the end.
pub(crate) struct Reporter;

impl super::Reporter for Reporter {
    fn project(&self, project: &Project, findings: &[Finding], emit: &mut dyn FnMut(super::Chunk)) {
        super::in_parts(project, findings, emit, render_findings);
    }

    fn end(&self, out: &mut super::Out, end: &super::End) -> std::io::Result<()> {
        let mut text = String::new();
        for (p, m) in end.failures {
            render_failure(&mut text, p.as_deref(), m);
        }
        out.write(&text);
        Ok(())
    }
}

pub(crate) fn render_findings(out: &mut String, project: &Project, findings: &[Finding]) {
    for f in findings {
        let start = project.position(f.loc);
        let end = project.file(f.loc.file).source.line_col(f.loc.end);
        // The log shows ANSI escapes: nothing from the file reaches it as a control character.
        let mut message = terminal(&f.message).into_owned();
        if !f.help.is_empty() {
            message.push('\n');
            message.push_str(&terminal(&f.help));
        }
        let _ = writeln!(
            out,
            "::{} file={},line={},col={},endLine={},endColumn={},title={}::{}",
            command(f.severity),
            escape_property(&one_line(&start.path)),
            start.line,
            start.column,
            end.line,
            end.column,
            escape_property(&format!("stowage ({})", f.rule)),
            escape_data(&message)
        );
    }
}

/// A path stowage could not check, as an error annotation (on the file when there is one).
pub(crate) fn render_failure(out: &mut String, path: Option<&str>, message: &str) {
    let file = path
        .map(|p| format!(" file={},title=stowage", escape_property(&one_line(p))))
        .unwrap_or_else(|| " title=stowage".into());
    let _ = writeln!(out, "::error{file}::{}", escape_data(&terminal(message)));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(escape_data("50%\r\nx: y, z"), "50%25%0D%0Ax: y, z");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
