//! What the rules that report the loader's problems share: which problems are theirs, and where
//! a problem without a place of its own is reported.

use crate::compose::model::{Problem, ProblemKind, Project};
use crate::yaml::value::Loc;

/// The project's errors of one kind, in the loader's order.
pub(super) fn errors(project: &Project, kind: ProblemKind) -> impl Iterator<Item = &Problem> {
    project.errors.iter().filter(move |p| p.kind == kind)
}

/// Where to report a problem: its own place, or the start of the first main file (None when the
/// project has no file to point at).
pub(super) fn location(project: &Project, problem: &Problem) -> Option<Loc> {
    match problem.loc {
        Some(loc) => Some(loc),
        None => {
            let file = *project.main_files.first()?;
            (file < project.files.len()).then_some(Loc {
                file,
                start: 0,
                end: 0,
            })
        }
    }
}
