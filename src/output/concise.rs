//! `--format concise`: one line per finding, `path:line:col: severity[rule] message`.

use std::fmt::Write;

use super::escape::one_line;
use super::position;
use crate::compose::model::Project;
use crate::finding::Finding;

pub fn render_findings(out: &mut String, project: &Project, findings: &[Finding]) {
    for f in findings {
        let p = position(project, f.loc);
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
