//! `--format concise`: one line per finding, `path:line:col: severity[rule] message`.

use std::fmt::Write;

use crate::compose::model::Project;
use crate::finding::Finding;
use crate::output::escape::one_line;

/// `--format concise`.
pub(crate) struct Reporter;

impl super::Reporter for Reporter {
    fn project(&self, project: &Project, findings: &[Finding], emit: &mut dyn FnMut(super::Chunk)) {
        super::in_parts(project, findings, emit, render_findings);
    }

    fn end(&self, out: &mut super::Out, end: &super::End) -> std::io::Result<()> {
        super::summary::end(out, end)
    }
}

pub(crate) fn render_findings(out: &mut String, project: &Project, findings: &[Finding]) {
    for f in findings {
        let p = project.position(f.loc);
        // One line each, and nothing from the file reaches the terminal as a control character.
        let _ = writeln!(
            out,
            "{}:{}:{}: {}[{}] {}",
            one_line(&p.path),
            p.line,
            p.column,
            f.severity.as_str(),
            f.rule,
            one_line(&f.message)
        );
    }
}
