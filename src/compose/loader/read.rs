//! Reading the files of a project: registering each file read (or refused, so that its error has
//! a place), the messages for files that cannot be read, and the project-wide budgets that keep a
//! hostile project bounded (files read, bytes read, bytes interpolated, alias expansion).

use std::path::Path;

use super::{Loader, Overlay};
use crate::compose::env::ProjectEnv;
use crate::compose::interpolate::{self, InterpolateError};
use crate::compose::model::*;
use crate::yaml::source::{self, SourceFile};
use crate::yaml::syntax;
use crate::yaml::value::{self, FileId, Loc, Value, ValueKind};

/// Limits that keep a hostile project (a file extended by every service of a long chain of
/// files, a huge variable used everywhere) from costing unbounded time or memory. Real projects
/// stay far below them.
pub(super) const MAX_FILES_READ: usize = 2_000;
pub(super) const MAX_PROJECT_BYTES: usize = 64 << 20;
pub(super) const MAX_INTERPOLATED_BYTES: usize = 64 << 20;
pub(super) const MAX_FILE_DEPTH: usize = 64;

impl Loader<'_> {
    /// Reads and parses one file and registers it; `None` (with an error recorded) when unreadable.
    /// `at` is where another file names it (`include`, `extends`); a file named on the command
    /// line that cannot be read is still registered, empty, so that the error has a place.
    pub(super) fn read(
        &mut self,
        path: &Path,
        text: Option<String>,
        base_dir: &Path,
        at: Option<Loc>,
    ) -> Option<FileId> {
        let text = match text.or_else(|| self.opts.overlay.get(path).map(|t| t.to_string())) {
            Some(t) => t,
            None => match source::read_file(path) {
                Ok(bytes) => match SourceFile::decode_or_prefix(bytes) {
                    Ok(t) => t,
                    Err((e, prefix)) => {
                        // Registered with the text before the bad byte, so the error points at
                        // it; nothing of the file is loaded.
                        let id = self.register(path, prefix, base_dir);
                        let offset = e.offset().min(self.files[id].source.text.len());
                        let issue = Issue::NotUtf8 {
                            reason: e.to_string(),
                            referenced: at.is_some(),
                        };
                        let loc = Loc {
                            file: id,
                            start: offset,
                            end: offset,
                        };
                        self.errors.push(Problem {
                            path: Some(self.display(path)),
                            ..Problem::new(Some(loc), issue)
                        });
                        return None;
                    }
                },
                Err(e) => {
                    let issue = self.unreadable(path, &e, at.is_some());
                    self.not_read(path, base_dir, at, issue);
                    return None;
                }
            },
        };
        if let Err(files) = self.take_load_budget(text.len()) {
            // Said once: every later read fails the same way.
            if !std::mem::replace(&mut self.load_limit_reported, true) {
                let issue = Issue::LoadLimit {
                    files,
                    referenced: at.is_some(),
                };
                self.not_read(path, base_dir, at, issue);
            }
            return None;
        }
        crate::faults::panic_loading(path);
        let source = SourceFile::new(self.display(path), path, text);
        // Every file of the project draws on one allowance of nodes (memory grows with them).
        let tree = syntax::parse_within(&source.text, self.nodes_left);
        self.nodes_left = self.nodes_left.saturating_sub(tree.nodes.len());
        let id = self.files.len();
        if let Some(err) = &tree.error {
            let loc = Loc {
                file: id,
                start: err.offset,
                end: err.offset,
            };
            let issue = Issue::Syntax {
                message: err.message.clone(),
                mistake: err.mistake,
            };
            self.errors.push(Problem::new(Some(loc), issue));
        }
        self.files.push(LoadedFile {
            source,
            tree,
            role: self.role,
        });
        self.base_dirs.push(base_dir.to_path_buf());
        Some(id)
    }

    /// A file that cannot be read; `referenced`: reported where another file names it (so the
    /// message says which file), not in the file itself.
    pub(super) fn unreadable(&self, path: &Path, e: &source::ReadError, referenced: bool) -> Issue {
        let why = match e {
            source::ReadError::Io(io) => ReadFailure::Open {
                reason: io_reason(io),
            },
            source::ReadError::Directory => ReadFailure::Directory,
            source::ReadError::NotAFile => ReadFailure::NotAFile,
            source::ReadError::TooLarge { size } => ReadFailure::TooLarge { size: *size },
        };
        Issue::Unreadable {
            path: self.display(path),
            why,
            referenced,
        }
    }

    /// A file named by `include` or `extends` that does not exist.
    pub(super) fn missing_file(&self, path: &Path) -> Issue {
        let reason = "no such file or directory".to_owned();
        Issue::Unreadable {
            path: self.display(path),
            why: ReadFailure::Open { reason },
            referenced: true,
        }
    }

    /// Why a file named by `extends` cannot be read, before reading it (None: it can be tried).
    pub(super) fn not_readable(&self, path: &Path) -> Option<Issue> {
        let meta = std::fs::metadata(path).ok()?;
        let e = if meta.is_dir() {
            source::ReadError::Directory
        } else if !meta.is_file() {
            source::ReadError::NotAFile
        } else if meta.len() > source::MAX_FILE_BYTES {
            source::ReadError::TooLarge { size: meta.len() }
        } else {
            return None;
        };
        Some(self.unreadable(path, &e, true))
    }

    /// Records why a file was not read: where another file names it (`at`, a reference compose
    /// rejects), or at the start of the file itself, registered empty (stowage could not do its
    /// job: exit 2).
    pub(super) fn not_read(&mut self, path: &Path, base_dir: &Path, at: Option<Loc>, issue: Issue) {
        let loc = at.unwrap_or_else(|| Loc {
            file: self.register(path, String::new(), base_dir),
            start: 0,
            end: 0,
        });
        self.errors.push(Problem {
            path: Some(self.display(path)),
            ..Problem::new(Some(loc), issue)
        });
    }

    /// Registers an env file that holds an error, so that the error points into it. It is no
    /// compose file: it has no YAML tree, and the `Extended` role keeps fixes out of it.
    pub(super) fn register_env_file(
        &mut self,
        path: &Path,
        text: String,
        e: &crate::compose::env::DotenvError,
    ) -> Loc {
        let offset = e.position().offset.min(text.len());
        let role = std::mem::replace(&mut self.role, FileRole::Extended);
        let base_dir = path.parent().unwrap_or(Path::new("/")).to_path_buf();
        let file = self.register(path, text, &base_dir);
        self.role = role;
        Loc {
            file,
            start: offset,
            end: offset,
        }
    }

    /// Registers a file that is not loaded (unreadable, or not UTF-8) so that its error has a
    /// place to point at.
    pub(super) fn register(&mut self, path: &Path, shown: String, base_dir: &Path) -> FileId {
        let id = self.files.len();
        self.files.push(LoadedFile {
            source: SourceFile::new(self.display(path), path, shown),
            tree: syntax::Tree::default(),
            role: self.role,
        });
        self.base_dirs.push(base_dir.to_path_buf());
        id
    }

    /// Counts a file read against the project's limits: the bytes read in all (a file extended
    /// by many services is read once per service) and the number of reads. `Err(true)`: too many
    /// files, `Err(false)`: too many bytes.
    pub(super) fn take_load_budget(&mut self, bytes: usize) -> Result<(), bool> {
        self.loaded_bytes = self.loaded_bytes.saturating_add(bytes);
        if self.files.len() >= MAX_FILES_READ {
            return Err(true);
        }
        if self.loaded_bytes > MAX_PROJECT_BYTES {
            return Err(false);
        }
        Ok(())
    }

    pub(super) fn interpolate(&mut self, cfg: &mut Value, env: &ProjectEnv) {
        let mut errors = Vec::new();
        let mut unset = Vec::new();
        let mut path = Vec::new();
        let mut produced = self.interpolated_bytes;
        let mut exhausted = false;
        cfg.for_each_scalar_mut(&mut path, &mut |path, text, loc| {
            if exhausted || !interpolate::has_variables(text) {
                return;
            }
            match interpolate::interpolate(text, env) {
                Ok(done) => {
                    produced = produced.saturating_add(done.value.len());
                    if produced > MAX_INTERPOLATED_BYTES {
                        // Every value is bounded on its own; this bounds the project (a long
                        // variable used in a great many places).
                        exhausted = true;
                        errors.push(Problem::new(Some(loc), Issue::InterpolationLimit));
                        return;
                    }
                    unset.extend(done.unset.into_iter().map(|v| (v, loc)));
                    *text = done.value.into();
                }
                Err(e) => {
                    let at: Vec<String> = path.iter().map(|&p| p.to_owned()).collect();
                    let issue = match &e {
                        InterpolateError::Invalid { .. } => Issue::InvalidInterpolation {
                            at,
                            value: shorten(text).into_owned(),
                        },
                        InterpolateError::Required { var, message, .. } => {
                            required_variable(at, var, &shorten(message))
                        }
                        InterpolateError::TooLarge { .. } => Issue::InterpolatedValueTooLarge {
                            at,
                            reason: e.to_string(),
                        },
                    };
                    errors.push(Problem::new(Some(loc), issue));
                }
            }
        });
        self.interpolated_bytes = produced;
        for (name, loc) in unset {
            if self.unset_seen.insert((name.clone(), loc)) {
                self.unset.push((name, loc));
            }
        }
        self.errors.extend(errors);
    }

    /// Takes a copy of `value` out of the expansion budget; false (reported once) when spent.
    pub(super) fn charge_copy(&mut self, value: &Value, at: Loc) -> bool {
        let (nodes, bytes) = value_size(value);
        match (
            self.expansion.nodes.checked_sub(nodes),
            self.expansion.bytes.checked_sub(bytes),
        ) {
            (Some(nodes), Some(bytes)) => {
                self.expansion = value::Budget { nodes, bytes };
                true
            }
            _ => {
                self.expansion = value::Budget { nodes: 0, bytes: 0 };
                if !self.expansion_spent {
                    self.expansion_spent = true;
                    self.errors
                        .push(Problem::new(Some(at), Issue::ExpansionLimit));
                }
                false
            }
        }
    }
}

/// Nodes and scalar bytes in a value (what copying it costs).
pub(super) fn value_size(value: &Value) -> (usize, usize) {
    let mut nodes = 0usize;
    let mut bytes = 0usize;
    let mut stack = vec![value];
    while let Some(v) = stack.pop() {
        nodes += 1;
        match &v.kind {
            ValueKind::Null => {}
            ValueKind::Scalar { text, .. } => bytes += text.len(),
            ValueKind::Seq(items) => stack.extend(items),
            ValueKind::Map(m) => {
                for (k, e) in m {
                    bytes += k.len();
                    stack.push(&e.value);
                }
            }
        }
    }
    (nodes, bytes)
}

/// An env file's text: the overlay's (an editor's unsaved text), else a regular file of bounded
/// size, in UTF-8 (the reason otherwise).
pub(super) fn read_text(overlay: &Overlay, path: &Path) -> Result<String, String> {
    if let Some(text) = overlay.get(path) {
        return Ok(text.to_string());
    }
    let bytes = source::read_file(path).map_err(|e| e.to_string())?;
    SourceFile::decode(bytes).map_err(|e| e.to_string())
}

/// `${VAR:?msg}` unmet, from the interpolator's message (`required variable VAR is missing a
/// value…`, cut short): the variable apart from the rest, unless shortening cut into it.
fn required_variable(at: Vec<String>, var: &str, message: &str) -> Issue {
    let tail = message
        .strip_prefix("required variable ")
        .and_then(|rest| rest.strip_prefix(var));
    match tail {
        Some(tail) => Issue::RequiredVariable {
            at,
            var: var.to_owned(),
            tail: tail.to_owned(),
        },
        None => Issue::RequiredVariable {
            at,
            var: String::new(),
            tail: message.to_owned(),
        },
    }
}

/// A value quoted in a message, cut short when it is long (a multi-megabyte line).
pub(super) fn shorten(text: &str) -> std::borrow::Cow<'_, str> {
    const MAX: usize = 120;
    match text.char_indices().nth(MAX) {
        None => text.into(),
        Some((cut, _)) => format!("{}…", &text[..cut]).into(),
    }
}

pub(super) fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}
