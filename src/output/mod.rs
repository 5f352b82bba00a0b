//! Rendering results for people and machines; the only place that formats output: `check`'s
//! report in `findings` (a reporter per format), `volumes`' in `volumes` (a renderer per format),
//! and what several commands share (diffs, escaping, rule documentation, source snippets).

pub mod diff;
pub(crate) mod escape;
pub mod findings;
pub mod rules_doc;
mod snippet;
pub(crate) mod volumes;

/// A path or project stowage could not check, on stderr (nothing from a file reaches the
/// terminal as a control character).
pub(crate) fn eprint_failure(path: Option<&str>, message: &str) {
    eprintln!(
        "error: {}{}",
        path.map(|p| format!("{}: ", escape::one_line(p)))
            .unwrap_or_default(),
        escape::terminal(message)
    );
}
