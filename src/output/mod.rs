//! Rendering results for people and machines; the only place that formats output.

pub mod check_json;
pub mod concise;
pub mod diff;
pub mod dot;
pub mod escape;
pub mod github;
pub mod gitlab;
pub mod human;
pub mod junit;
pub mod mermaid;
pub mod rules_doc;
pub mod sarif;
mod snippet;
pub mod stream;
pub mod summary;
pub mod volumes_json;
pub mod volumes_table;

use crate::compose::model::Project;
use crate::yaml::value::Loc;

/// A position for output: the file as shown to the user, 1-based line and character column.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Position {
    pub path: String,
    pub line: usize,
    pub column: usize,
}

pub fn position(project: &Project, loc: Loc) -> Position {
    let file = &project.file(loc.file).source;
    let lc = file.line_col(loc.start);
    Position {
        path: file.display.clone(),
        line: lc.line,
        column: lc.column,
    }
}
