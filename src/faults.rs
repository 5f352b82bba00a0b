//! Failure injection, for tests of what a bug costs (documented in `docs/robustness.md`).
//!
//! `STOWAGE_INJECT_PANIC=NAME` makes loading a file named `NAME` panic (`project/read.rs`).
//! `STOWAGE_INJECT_PANIC=STAGE:NAME` makes a later stage panic for every project that read a
//! file named `NAME`: `lint` (the rules), `render` (any output format of `check` or `volumes`)
//! or `migrate`. Each must become an error that names the project, while the other projects
//! are still reported; [`internal_error`] is what such an error says.

use std::sync::OnceLock;

use crate::compose::loader::PANIC_VAR;
use crate::compose::model::Project;

/// Where a panic can be injected after loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Lint,
    Render,
    Migrate,
}

impl Stage {
    fn as_str(self) -> &'static str {
        match self {
            Stage::Lint => "lint",
            Stage::Render => "render",
            Stage::Migrate => "migrate",
        }
    }
}

/// `(stage, file name)` from the environment, read once.
fn injected() -> Option<&'static (String, String)> {
    static INJECTED: OnceLock<Option<(String, String)>> = OnceLock::new();
    INJECTED
        .get_or_init(|| {
            let value = std::env::var(PANIC_VAR).ok()?;
            let (stage, name) = value.split_once(':')?;
            Some((stage.to_owned(), name.to_owned()))
        })
        .as_ref()
}

/// Panics when `STOWAGE_INJECT_PANIC` asks for a panic at `stage` for a file of `project`.
pub fn panic_at(stage: Stage, project: &Project) {
    let Some((wanted, name)) = injected() else {
        return;
    };
    if wanted != stage.as_str() {
        return;
    }
    if let Some(file) = project
        .files
        .iter()
        .find(|f| f.source.path.file_name() == Some(std::ffi::OsStr::new(name)))
    {
        panic!(
            "{PANIC_VAR}: injected panic at `{}` for {}",
            stage.as_str(),
            file.source.path.display()
        );
    }
}

/// The message of a panic caught while `doing` something (`loading this project`, …): an
/// internal error to report, with the panic's own text.
pub fn internal_error(doing: &str, panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    format!("internal error while {doing} (please report it): {text}")
}
