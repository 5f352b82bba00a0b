//! What both targets share: loading fuzz input as a compose file read from standard input.

use std::path::PathBuf;

use stowage::lint::{self, RuleSettings};
use stowage::lint::config::Config;
use stowage::finding::Finding;
use stowage::images::KnowledgeBase;
use stowage::compose::model::Project;
use stowage::compose::loader::LoadOptions;

/// The input as `stowage check -` would load it, in a directory that does not exist (so that
/// `include`, `extends`, `.env` and `build` find nothing, or whatever absolute path they name).
pub fn options(text: &str) -> LoadOptions {
    LoadOptions {
        files: vec![PathBuf::from("-")],
        stdin: Some(text.to_owned()),
        cwd: PathBuf::from("/nonexistent/stowage-fuzz"),
        ..LoadOptions::default()
    }
}

/// Every default rule over a loaded project.
pub fn lint(project: &Project) -> Vec<Finding> {
    let kb = KnowledgeBase::builtin();
    let analysis = stowage::analysis::analyse(project, kb);
    lint::lint(
        project,
        &analysis,
        &RuleSettings::default(),
        &Config::default(),
    )
    .unwrap_or_default()
}
