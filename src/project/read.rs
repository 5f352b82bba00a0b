//! Reading the files of a project: registering each file read (or refused, so that its error has
//! a place), the messages for files that cannot be read, and the project-wide budgets that keep a
//! hostile project bounded (files read, bytes read, bytes interpolated, alias expansion).

use std::path::Path;

use super::{Loader, problem};
use crate::env::ProjectEnv;
use crate::interpolate::{self, InterpolateError};
use crate::model::*;
use crate::source::{self, SourceFile};
use crate::syntax;
use crate::value::{self, FileId, Loc, Value, ValueKind};

/// Limits that keep a hostile project (a file extended by every service of a long chain of
/// files, a huge variable used everywhere) from costing unbounded time or memory. Real projects
/// stay far below them.
const MAX_FILES_READ: usize = 2_000;
const MAX_PROJECT_BYTES: usize = 64 << 20;
const MAX_INTERPOLATED_BYTES: usize = 64 << 20;
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
                        let kind = if at.is_some() {
                            ProblemKind::Reference
                        } else {
                            ProblemKind::Io
                        };
                        self.errors.push(Problem {
                            path: Some(self.display(path)),
                            ..problem(
                                Some(Loc {
                                    file: id,
                                    start: offset,
                                    end: offset,
                                }),
                                kind,
                                e.to_string(),
                            )
                        });
                        return None;
                    }
                },
                Err(e) => {
                    let message = self.read_error_message(path, &e, at.is_some());
                    self.not_read(path, base_dir, at, message);
                    return None;
                }
            },
        };
        if let Err(message) = self.take_load_budget(text.len()) {
            // Said once: every later read fails the same way.
            if !std::mem::replace(&mut self.load_limit_reported, true) {
                self.not_read(path, base_dir, at, message);
            }
            return None;
        }
        inject_panic(path);
        let source = SourceFile::new(self.display(path), path, text);
        // Every file of the project draws on one allowance of nodes (memory grows with them).
        let tree = syntax::parse_within(&source.text, self.nodes_left);
        self.nodes_left = self.nodes_left.saturating_sub(tree.nodes.len());
        let id = self.files.len();
        if let Some(err) = &tree.error {
            self.errors.push(problem(
                Some(Loc {
                    file: id,
                    start: err.offset,
                    end: err.offset,
                }),
                ProblemKind::Syntax,
                err.message.clone(),
            ));
        }
        self.files.push(LoadedFile {
            source,
            tree,
            role: self.role,
        });
        self.base_dirs.push(base_dir.to_path_buf());
        Some(id)
    }

    /// The message for a file that cannot be read; `referenced`: reported where another file
    /// names it (so it says which file), not in the file itself.
    pub(super) fn read_error_message(
        &self,
        path: &Path,
        e: &source::ReadError,
        referenced: bool,
    ) -> String {
        let shown = self.display(path);
        match e {
            source::ReadError::Io(io) => format!("open {shown}: {}", io_reason(io)),
            source::ReadError::Directory => format!("{shown} is a directory"),
            source::ReadError::NotAFile if referenced => {
                format!("`{shown}` is not a regular file (a device, FIFO or socket)")
            }
            source::ReadError::NotAFile => {
                "not a regular file (a device, FIFO or socket)".to_owned()
            }
            source::ReadError::TooLarge { .. } if referenced => format!("`{shown}`: {e}"),
            source::ReadError::TooLarge { .. } => e.to_string(),
        }
    }

    /// Why a file named by `extends` cannot be read, before reading it (None: it can be tried).
    pub(super) fn not_readable(&self, path: &Path) -> Option<String> {
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
        Some(self.read_error_message(path, &e, true))
    }

    /// Records why a file was not read: where another file names it (`at`, a reference compose
    /// rejects), or at the start of the file itself, registered empty (stowage could not do its
    /// job: exit 2).
    pub(super) fn not_read(
        &mut self,
        path: &Path,
        base_dir: &Path,
        at: Option<Loc>,
        message: String,
    ) {
        let (loc, kind) = match at {
            Some(at) => (at, ProblemKind::Reference),
            None => {
                let file = self.register(path, String::new(), base_dir);
                let loc = Loc {
                    file,
                    start: 0,
                    end: 0,
                };
                (loc, ProblemKind::Io)
            }
        };
        self.errors.push(Problem {
            path: Some(self.display(path)),
            ..problem(Some(loc), kind, message)
        });
    }

    /// Registers an env file that holds an error, so that the error points into it. It is no
    /// compose file: it has no YAML tree, and the `Extended` role keeps fixes out of it.
    pub(super) fn register_env_file(
        &mut self,
        path: &Path,
        text: String,
        e: &crate::env::DotenvError,
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
    /// by many services is read once per service) and the number of reads.
    pub(super) fn take_load_budget(&mut self, bytes: usize) -> Result<(), String> {
        self.loaded_bytes = self.loaded_bytes.saturating_add(bytes);
        if self.files.len() >= MAX_FILES_READ {
            return Err(format!(
                "project reads too many files (more than {MAX_FILES_READ}, counting each `extends` and `include`)"
            ));
        }
        if self.loaded_bytes > MAX_PROJECT_BYTES {
            return Err(format!(
                "project reads too much (more than {} MiB of compose files, counting each `extends` and `include`)",
                MAX_PROJECT_BYTES >> 20
            ));
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
                        errors.push(problem(
                            Some(loc),
                            ProblemKind::Interpolation,
                            format!(
                                "interpolated values are too large (more than {} MiB in all)",
                                MAX_INTERPOLATED_BYTES >> 20
                            ),
                        ));
                        return;
                    }
                    unset.extend(done.unset.into_iter().map(|v| (v, loc)));
                    *text = done.value.into();
                }
                Err(e) => {
                    let at = path.join(".");
                    let message = match &e {
                        InterpolateError::Invalid { .. } => format!(
                            "invalid interpolation format for {at}: `{}`; escape any `$` with another `$`",
                            shorten(text)
                        ),
                        InterpolateError::Required { message, .. } => {
                            format!("error while interpolating {at}: {}", shorten(message))
                        }
                        InterpolateError::TooLarge { .. } => {
                            format!("error while interpolating {at}: {e}")
                        }
                    };
                    errors.push(problem(Some(loc), ProblemKind::Interpolation, message));
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
                    self.errors.push(problem(
                        Some(at),
                        ProblemKind::Invalid,
                        "project is too large (`extends`, alias or merge-key expansion)",
                    ));
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

/// Failure injection, for tests of what a bug costs (documented in `docs/robustness.md`): when
/// `STOWAGE_INJECT_PANIC` holds a file name, loading a file of that name panics, as a bug in
/// the loader would. The run must report that file and go on with the others.
pub const PANIC_VAR: &str = "STOWAGE_INJECT_PANIC";

pub(super) fn inject_panic(path: &Path) {
    if let Some(name) = std::env::var_os(PANIC_VAR)
        && path.file_name() == Some(name.as_os_str())
    {
        panic!(
            "{PANIC_VAR}: injected panic while loading {}",
            path.display()
        );
    }
}

/// An env file's text: a regular file of bounded size, in UTF-8 (the reason otherwise).
pub(super) fn read_text(path: &Path) -> Result<String, String> {
    let bytes = source::read_file(path).map_err(|e| e.to_string())?;
    SourceFile::decode(bytes).map_err(|e| e.to_string())
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
