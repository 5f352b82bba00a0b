//! `--format concise`: one line per finding, `path:line:col: severity[rule] message`.

use std::fmt::Write;

use super::position;
use crate::finding::Finding;
use crate::model::Project;

pub fn render_findings(out: &mut String, project: &Project, findings: &[Finding]) {
    for f in findings {
        let p = position(project, f.loc);
        let _ = writeln!(
            out,
            "{}:{}:{}: {}[{}] {}",
            p.path,
            p.line,
            p.column,
            f.severity.as_str(),
            f.rule,
            f.message
        );
    }
}
