//! Failure injection, for tests of what a bug costs (documented in `docs/robustness.md`).
//!
//! `STOWAGE_INJECT_PANIC=NAME` makes loading a file named `NAME` panic (the loader calls [`panic_loading`]).
//! `STOWAGE_INJECT_PANIC=STAGE:NAME` makes a later stage panic for every project that read a
//! file named `NAME`: `lint` (the rules), `render` (any output format of `check` or `volumes`)
//! or `migrate`. Each must become an error that names the project, while the other projects
//! are still reported; [`internal_error`] is what such an error says.

use std::path::Path;
use std::sync::OnceLock;

/// The switch: a file name, or `STAGE:NAME`.
pub(crate) const PANIC_VAR: &str = "STOWAGE_INJECT_PANIC";

/// Where a panic can be injected after loading.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
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

/// Panics when `STOWAGE_INJECT_PANIC` holds the name of the file being loaded, as a bug in the
/// loader would: the run must report that file and go on with the others.
pub(crate) fn panic_loading(path: &Path) {
    if let Some(name) = std::env::var_os(PANIC_VAR)
        && path.file_name() == Some(name.as_os_str())
    {
        panic!(
            "{PANIC_VAR}: injected panic while loading {}",
            path.display()
        );
    }
}

/// Panics when `STOWAGE_INJECT_PANIC` asks for a panic at `stage` for one of a project's `files`.
pub(crate) fn panic_at<'a>(stage: Stage, files: impl IntoIterator<Item = &'a Path>) {
    let Some((wanted, name)) = injected() else {
        return;
    };
    if wanted != stage.as_str() {
        return;
    }
    if let Some(file) = files
        .into_iter()
        .find(|f| f.file_name() == Some(std::ffi::OsStr::new(name)))
    {
        panic!(
            "{PANIC_VAR}: injected panic at `{}` for {}",
            stage.as_str(),
            file.display()
        );
    }
}

/// The message of a panic caught while `doing` something (`loading this project`, …): an
/// internal error to report, with the panic's own text.
pub(crate) fn internal_error(doing: &str, panic: &(dyn std::any::Any + Send)) -> String {
    let text = panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or_default();
    format!("internal error while {doing} (please report it): {text}")
}
