//! Loading a project as compose does: per file parse → interpolate → include → extends → merge →
//! uniqueness; then project name, profiles, the typed model and compose's consistency checks.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use compact_str::CompactString;
use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};
use indexmap::IndexMap;

use crate::compose::env::ProjectEnv;
use crate::compose::interpolate::{self, InterpolateError};
use crate::compose::merge;
use crate::compose::model::*;
use crate::compose::mounts::{self, MountKind};
use crate::yaml::source::{self, SourceFile};
use crate::yaml::syntax;
use crate::yaml::value::{
    self, Entry, FileId, Loc, Map, MergeTag, Value, ValueErrorKind, ValueKind,
};

/// What to load and how; mirrors the compose flags stowage accepts.
#[derive(Debug, Clone, Default)]
pub struct LoadOptions {
    /// Compose files in merge order (`-` reads `stdin`).
    pub files: Vec<PathBuf>,
    pub stdin: Option<String>,
    /// The path `-` stands for (for messages and relative paths).
    pub stdin_filename: Option<PathBuf>,
    pub project_directory: Option<PathBuf>,
    pub project_name: Option<String>,
    pub env_files: Vec<PathBuf>,
    /// Active profiles; empty = every service (stowage's default), `*` = every service.
    pub profiles: Vec<String>,
    pub process_env: Arc<IndexMap<String, String>>,
    /// Base for relative paths given on the command line and for displayed paths.
    pub cwd: PathBuf,
    /// File contents to use instead of what is on disk (the fix loop re-loads edited text).
    pub overlay: foldhash::HashMap<PathBuf, Arc<str>>,
}

pub fn load(opts: &LoadOptions) -> Project {
    let mut loader = Loader::new(opts);
    loader.run()
}

struct Loader<'a> {
    opts: &'a LoadOptions,
    files: Vec<LoadedFile>,
    /// Directory relative paths of each file resolve against.
    base_dirs: Vec<PathBuf>,
    errors: Vec<Problem>,
    warnings: Vec<Problem>,
    unset: Vec<(String, Loc)>,
    /// The entries of `unset`, to keep it free of duplicates in constant time.
    unset_seen: HashSet<(String, Loc)>,
    version_keys: Vec<Loc>,
    replaced: Vec<ReplacedMount>,
    /// (earlier, later, service) of each entry of `replaced`.
    replaced_seen: HashSet<(Loc, Loc, String)>,
    home: String,
    /// Files being loaded through `include`, to detect cycles.
    include_chain: Vec<PathBuf>,
    /// Services being resolved through `extends`, to detect cycles.
    extends_chain: Vec<(PathBuf, String)>,
    /// The role of files read now (an `include` inside an extended file is still extended).
    role: FileRole,
    /// Alias expansion left for the whole project (shared by every document of every file).
    expansion: value::Budget,
    /// Whether running out of `expansion` (or too deep a nesting) was reported.
    expansion_spent: bool,
    /// Bytes of compose files read so far, and bytes produced by interpolation.
    loaded_bytes: usize,
    interpolated_bytes: usize,
    /// How deep `include` and `extends` of other files are nested now.
    file_depth: usize,
    /// Files loaded for `extends`, by path and variable scope (what loading them produced).
    extends_cache: HashMap<(PathBuf, usize), Value>,
    /// Top-level volume key → engine name, and the spans of `unset` by file (sorted), built
    /// when services are lowered.
    volume_names: HashMap<String, String>,
    unset_index: HashMap<FileId, Vec<(usize, usize)>>,
    /// YAML nodes the files read from now on may still hold (`syntax::MAX_NODES` in all).
    nodes_left: usize,
    /// Whether a read over `MAX_FILES_READ` or `MAX_PROJECT_BYTES` was reported.
    load_limit_reported: bool,
    /// The variable scope files are loaded in now (0: the project's; one per `include`), and
    /// how many scopes there have been.
    env_scope: usize,
    env_scopes: usize,
}

/// Limits that keep a hostile project (a file extended by every service of a long chain of
/// files, a huge variable used everywhere) from costing unbounded time or memory. Real projects
/// stay far below them.
const MAX_FILES_READ: usize = 2_000;
const MAX_PROJECT_BYTES: usize = 64 << 20;
const MAX_INTERPOLATED_BYTES: usize = 64 << 20;
const MAX_FILE_DEPTH: usize = 64;
/// Services being resolved through `extends` at once (a chain in one file is resolved without
/// this nesting; it is reached through other files or a cycle only).
const MAX_EXTENDS_DEPTH: usize = 256;

fn abs(base: &Path, p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    PathBuf::from(mounts::clean_path(&joined.to_string_lossy()))
}

fn problem(loc: Option<Loc>, kind: ProblemKind, message: impl Into<String>) -> Problem {
    Problem {
        loc,
        path: None,
        message: message.into(),
        kind,
        related: None,
    }
}

impl<'a> Loader<'a> {
    fn new(opts: &'a LoadOptions) -> Self {
        let home = opts.process_env.get("HOME").cloned().unwrap_or_default();
        Loader {
            opts,
            files: Vec::new(),
            base_dirs: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            unset: Vec::new(),
            unset_seen: HashSet::new(),
            version_keys: Vec::new(),
            replaced: Vec::new(),
            replaced_seen: HashSet::new(),
            home,
            include_chain: Vec::new(),
            extends_chain: Vec::new(),
            role: FileRole::Main,
            expansion: value::Budget::default(),
            expansion_spent: false,
            loaded_bytes: 0,
            interpolated_bytes: 0,
            file_depth: 0,
            extends_cache: HashMap::default(),
            load_limit_reported: false,
            nodes_left: syntax::MAX_NODES,
            volume_names: HashMap::default(),
            unset_index: HashMap::default(),
            env_scope: 0,
            env_scopes: 0,
        }
    }

    fn display(&self, path: &Path) -> String {
        match path.strip_prefix(&self.opts.cwd) {
            Ok(p) if p.as_os_str().is_empty() => ".".into(),
            // What `display()` shows, without the formatting machinery (once per file read).
            Ok(p) => p.to_string_lossy().into_owned(),
            Err(_) => path.to_string_lossy().into_owned(),
        }
    }

    fn main_paths(&self) -> Vec<PathBuf> {
        self.opts
            .files
            .iter()
            .map(|f| {
                if f.as_os_str() == "-" {
                    stdin_path(self.opts)
                } else {
                    abs(&self.opts.cwd, f)
                }
            })
            .collect()
    }

    fn run(&mut self) -> Project {
        let main_paths = self.main_paths();
        let directory = match &self.opts.project_directory {
            Some(d) => abs(&self.opts.cwd, d),
            None => main_paths
                .first()
                .and_then(|p| p.parent())
                .map_or_else(|| self.opts.cwd.clone(), Path::to_path_buf),
        };
        let mut env = ProjectEnv::new(self.opts.process_env.clone());
        let env_files: Vec<PathBuf> = if self.opts.env_files.is_empty() {
            let dotenv = directory.join(".env");
            if dotenv.is_file() {
                vec![dotenv]
            } else {
                Vec::new()
            }
        } else {
            self.opts
                .env_files
                .iter()
                .map(|p| abs(&self.opts.cwd, p))
                .collect()
        };
        // Errors inside env files, registered once the main files are (they come first).
        let mut env_errors = Vec::new();
        for path in &env_files {
            match read_text(path) {
                Ok(text) => {
                    if let Err(e) = env.add_env_file(path, &text) {
                        env_errors.push((path.clone(), text, e));
                    }
                }
                Err(e) => self.errors.push(problem(
                    None,
                    ProblemKind::Io,
                    format!("couldn't read env file {}: {e}", self.display(path)),
                )),
            }
        }
        // Compose exposes the project name to interpolation once it is known from a flag.
        if let Some(name) = &self.opts.project_name {
            env.set_if_absent("COMPOSE_PROJECT_NAME", name);
        }

        let mut dict = empty_map(Loc {
            file: 0,
            start: 0,
            end: 0,
        });
        let mut main_files = Vec::new();
        for (i, path) in main_paths.iter().enumerate() {
            let text = if self.opts.files[i].as_os_str() == "-" {
                self.opts.stdin.clone()
            } else {
                None
            };
            let before = self.files.len();
            dict = self.load_file(path, text, &directory, &env, dict, None);
            if self.files.len() > before {
                main_files.push(before);
            }
        }
        for (path, text, e) in env_errors {
            let loc = self.register_env_file(&path, text, &e);
            let message = format!("failed to read {}: {e}", self.display(&path));
            self.errors
                .push(problem(Some(loc), ProblemKind::Invalid, message));
        }
        self.finish(dict, directory, main_files, &env)
    }

    /// Reads and parses one file and registers it; `None` (with an error recorded) when unreadable.
    /// `at` is where another file names it (`include`, `extends`); a file named on the command
    /// line that cannot be read is still registered, empty, so that the error has a place.
    fn read(
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
    fn read_error_message(&self, path: &Path, e: &source::ReadError, referenced: bool) -> String {
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
    fn not_readable(&self, path: &Path) -> Option<String> {
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
    fn not_read(&mut self, path: &Path, base_dir: &Path, at: Option<Loc>, message: String) {
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
    fn register_env_file(
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
    fn register(&mut self, path: &Path, shown: String, base_dir: &Path) -> FileId {
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
    fn take_load_budget(&mut self, bytes: usize) -> Result<(), String> {
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

    /// compose-go `loadYamlFile`: every document of the file is processed and merged into `dict`.
    /// `at` is where another file names this one (`include`, `extends`), None for a main file.
    fn load_file(
        &mut self,
        path: &Path,
        text: Option<String>,
        base_dir: &Path,
        env: &ProjectEnv,
        dict: Value,
        at: Option<Loc>,
    ) -> Value {
        if let Some(at) = at
            && self.file_depth >= MAX_FILE_DEPTH
        {
            self.errors.push(problem(
                Some(at),
                ProblemKind::Reference,
                format!(
                    "`include` and `extends` of other files are nested too deeply (more than {MAX_FILE_DEPTH} levels)"
                ),
            ));
            return dict;
        }
        let Some(id) = self.read(path, text, base_dir, at) else {
            return dict;
        };
        self.file_depth += 1;
        let dict = self.load_documents(id, env, dict);
        self.file_depth -= 1;
        dict
    }

    fn load_documents(&mut self, id: FileId, env: &ProjectEnv, mut dict: Value) -> Value {
        if self.files[id].tree.error.is_some() {
            return dict;
        }
        let roots: Vec<Option<syntax::NodeId>> = self.files[id]
            .tree
            .documents
            .iter()
            .map(|d| d.root)
            .collect();
        for root in roots.into_iter().flatten() {
            let mut errors = Vec::new();
            let file = &self.files[id];
            let built = value::from_document_within(
                &file.tree,
                &file.source.text,
                id,
                root,
                &mut self.expansion,
                &mut errors,
            );
            for e in errors {
                let kind = match e.kind {
                    ValueErrorKind::DuplicateKey => ProblemKind::DuplicateKey,
                    // The budget is the project's: once spent, say so once.
                    ValueErrorKind::TooLarge if self.expansion_spent => continue,
                    ValueErrorKind::TooLarge => {
                        self.expansion_spent = true;
                        ProblemKind::Invalid
                    }
                    _ => ProblemKind::Invalid,
                };
                self.errors.push(Problem {
                    loc: Some(e.loc),
                    path: None,
                    message: e.message,
                    kind,
                    related: e.related,
                });
            }
            let Some(mut cfg) = built else { continue };
            if cfg.as_map().is_none() {
                self.errors.push(problem(
                    Some(cfg.loc),
                    ProblemKind::Invalid,
                    "top-level object must be a mapping",
                ));
                continue;
            }
            self.interpolate(&mut cfg, env);
            self.apply_include(&mut cfg, id, env);
            self.apply_extends(&mut cfg, id, env);
            if let Some(v) = cfg.as_map().and_then(|m| m.get("version")) {
                self.version_keys.push(v.key_loc);
            }
            self.validate_top_level(&cfg);
            let touched: Vec<CompactString> = cfg
                .get("services")
                .and_then(Value::as_map)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            dict = merge::merge(dict, cfg, &[]);
            self.reject_null_sections(&dict);
            self.enforce_unicity(&mut dict, &touched);
        }
        dict
    }

    fn interpolate(&mut self, cfg: &mut Value, env: &ProjectEnv) {
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

    /// compose-go `ApplyInclude`: each included project is loaded on its own (own directory and
    /// `.env`) and its resources are copied in; a conflicting definition is an error.
    fn apply_include(&mut self, cfg: &mut Value, file: FileId, env: &ProjectEnv) {
        let Some(map) = cfg.as_map_mut() else { return };
        let Some(include) = map.shift_remove("include") else {
            return;
        };
        let base_dir = self.base_dirs[file].clone();
        let items: Vec<Value> = match include.value.kind {
            ValueKind::Seq(items) => items,
            ValueKind::Null => Vec::new(),
            _ => {
                self.errors.push(problem(
                    Some(include.value.loc),
                    ProblemKind::Invalid,
                    "`include` must be a list",
                ));
                return;
            }
        };
        for item in items {
            let (paths, project_dir, env_files) = match &item.kind {
                ValueKind::Scalar { text, .. } => {
                    (vec![(text.to_string(), item.loc)], None, Vec::new())
                }
                ValueKind::Map(m) => {
                    let paths = match m.get("path").map(|e| &e.value) {
                        Some(v) => match &v.kind {
                            ValueKind::Scalar { text, .. } => vec![(text.to_string(), v.loc)],
                            ValueKind::Seq(s) => s
                                .iter()
                                .filter_map(|x| Some((x.as_str()?.to_owned(), x.loc)))
                                .collect(),
                            _ => Vec::new(),
                        },
                        None => Vec::new(),
                    };
                    let project_dir = m
                        .get("project_directory")
                        .and_then(|e| e.value.as_str())
                        .map(|s| abs(&base_dir, Path::new(s)));
                    let env_files: Vec<PathBuf> = match m.get("env_file").map(|e| &e.value) {
                        Some(v) => match &v.kind {
                            ValueKind::Scalar { text, .. } => vec![abs(&base_dir, Path::new(text))],
                            ValueKind::Seq(s) => s
                                .iter()
                                .filter_map(|x| Some(abs(&base_dir, Path::new(x.as_str()?))))
                                .collect(),
                            _ => Vec::new(),
                        },
                        None => Vec::new(),
                    };
                    (paths, project_dir, env_files)
                }
                _ => {
                    self.errors.push(problem(
                        Some(item.loc),
                        ProblemKind::Invalid,
                        "`include` entries must be a path or a mapping with `path`",
                    ));
                    continue;
                }
            };
            let Some((first, _)) = paths.first() else {
                self.errors.push(problem(
                    Some(item.loc),
                    ProblemKind::Invalid,
                    "`include` entry needs a `path`",
                ));
                continue;
            };
            let first_abs = abs(&base_dir, Path::new(first));
            let inc_dir = project_dir.unwrap_or_else(|| {
                first_abs
                    .parent()
                    .map_or_else(|| base_dir.clone(), Path::to_path_buf)
            });
            // Variables: the including project's win over the included project's env files.
            let mut inc_env = env.clone();
            let env_files = if env_files.is_empty() {
                let dotenv = inc_dir.join(".env");
                if dotenv.is_file() {
                    vec![dotenv]
                } else {
                    Vec::new()
                }
            } else {
                env_files
            };
            for path in env_files {
                match read_text(&path) {
                    Ok(text) => {
                        if let Err(e) = inc_env.add_env_file_under(&path, &text) {
                            let message = format!("failed to read {}: {e}", self.display(&path));
                            let loc = self.register_env_file(&path, text, &e);
                            self.errors.push(Problem {
                                related: Some(item.loc),
                                ..problem(Some(loc), ProblemKind::Invalid, message)
                            });
                        }
                    }
                    Err(e) => self.errors.push(problem(
                        Some(item.loc),
                        ProblemKind::Reference,
                        format!("env file {} not found: {e}", self.display(&path)),
                    )),
                }
            }
            let mut imported = empty_map(item.loc);
            for (p, loc) in &paths {
                let path = abs(&base_dir, Path::new(p));
                if self.include_chain.contains(&path)
                    || self.files.get(file).is_some_and(|f| f.source.path == path)
                {
                    self.errors.push(problem(
                        Some(*loc),
                        ProblemKind::Reference,
                        format!("include cycle detected: {}", self.display(&path)),
                    ));
                    continue;
                }
                if !path.exists() {
                    self.errors.push(problem(
                        Some(*loc),
                        ProblemKind::Reference,
                        format!("open {}: no such file or directory", self.display(&path)),
                    ));
                    continue;
                }
                self.include_chain
                    .push(self.files[file].source.path.clone());
                let included = self.role.max(FileRole::Included);
                let role = std::mem::replace(&mut self.role, included);
                // The included project has variables of its own: a scope of its own for the
                // files it extends.
                self.env_scopes += 1;
                let scope = std::mem::replace(&mut self.env_scope, self.env_scopes);
                imported = self.load_file(&path, None, &inc_dir, &inc_env, imported, Some(*loc));
                self.env_scope = scope;
                self.role = role;
                self.include_chain.pop();
            }
            self.import_resources(cfg, imported);
        }
    }

    fn import_resources(&mut self, cfg: &mut Value, imported: Value) {
        let ValueKind::Map(imported) = imported.kind else {
            return;
        };
        let Some(target) = cfg.as_map_mut() else {
            return;
        };
        let mut conflicts = Vec::new();
        for kind in [
            "services", "volumes", "networks", "secrets", "configs", "models",
        ] {
            let Some(entry) = imported.get(kind) else {
                continue;
            };
            let Some(resources) = entry.value.as_map() else {
                continue;
            };
            let section = target.entry(kind.into()).or_insert_with(|| Entry {
                key_loc: entry.key_loc,
                value: empty_map(entry.value.loc),
            });
            if section.value.is_null() {
                section.value = empty_map(entry.value.loc);
            }
            let Some(section) = section.value.as_map_mut() else {
                continue;
            };
            for (name, res) in resources {
                match section.get(name) {
                    Some(existing) if !same_content(&existing.value, &res.value) => {
                        conflicts.push(problem(
                            Some(existing.key_loc),
                            ProblemKind::Reference,
                            format!("{kind}.{name} conflicts with imported resource"),
                        ));
                    }
                    Some(_) => {}
                    None => {
                        section.insert(name.clone(), res.clone());
                    }
                }
            }
        }
        self.errors.extend(conflicts);
    }

    /// compose-go `ApplyExtends` for every service of one document.
    fn apply_extends(&mut self, cfg: &mut Value, file: FileId, env: &ProjectEnv) {
        let Some(services) = cfg.get("services").and_then(Value::as_map) else {
            return;
        };
        let names: Vec<String> = services
            .iter()
            .filter(|(_, e)| e.value.get("extends").is_some())
            .map(|(k, _)| k.to_string())
            .collect();
        if names.is_empty() {
            return;
        }
        let snapshot = services.clone();
        let mut memo: HashMap<String, Option<Value>> = HashMap::default();
        let mut resolved = Vec::new();
        for name in names {
            // The chain of bases in this file below `name` is resolved deepest first, so that
            // each resolution finds its base done and a chain of any length needs no deep
            // recursion; a cycle in the chain is reported once per service in it.
            let mut chain = vec![name.clone()];
            let mut in_chain: HashSet<&str> = [name.as_str()].into_iter().collect();
            while let Some(base) = same_file_base(&snapshot, chain.last().expect("not empty")) {
                if memo.contains_key(base) || !snapshot.contains_key(base) {
                    break;
                }
                if in_chain.contains(base) {
                    let start = chain.iter().position(|n| n == base).unwrap_or(0);
                    for (i, member) in chain[start..].iter().enumerate() {
                        let next = chain.get(start + i + 1).map_or(base, String::as_str);
                        let loc = snapshot[member.as_str()]
                            .value
                            .get("extends")
                            .map(|e| e.loc);
                        self.errors.push(problem(loc, ProblemKind::Reference, format!("circular reference: service `{member}` extends `{next}`, which extends it back")));
                        memo.insert(member.clone(), None);
                    }
                    break;
                }
                in_chain.insert(base);
                chain.push(base.to_owned());
            }
            for n in chain.iter().rev() {
                if !memo.contains_key(n) {
                    let v = self.resolve_extends(&snapshot, n, file, env, &mut memo);
                    memo.insert(n.clone(), v);
                }
            }
            if let Some(Some(v)) = memo.get(&name) {
                resolved.push((name, v.clone()));
            }
        }
        if let Some(services) = cfg
            .as_map_mut()
            .and_then(|m| m.get_mut("services"))
            .and_then(|e| e.value.as_map_mut())
        {
            for (name, v) in resolved {
                if let Some(e) = services.get_mut(name.as_str()) {
                    e.value = v;
                }
            }
        }
    }

    fn resolve_extends(
        &mut self,
        services: &Map,
        name: &str,
        file: FileId,
        env: &ProjectEnv,
        memo: &mut HashMap<String, Option<Value>>,
    ) -> Option<Value> {
        let service = services.get(name)?.value.clone();
        let Some(extends) = service.get("extends").cloned() else {
            return Some(service);
        };
        let (base_name, base_file) = match &extends.kind {
            ValueKind::Scalar { text, .. } => (text.to_string(), None),
            ValueKind::Map(m) => {
                let Some(s) = m.get("service").and_then(|e| e.value.as_str()) else {
                    self.errors.push(problem(
                        Some(extends.loc),
                        ProblemKind::Invalid,
                        format!("extends.{name}.service is required"),
                    ));
                    return None;
                };
                (
                    s.to_owned(),
                    m.get("file")
                        .and_then(|e| e.value.as_str())
                        .map(|f| (f.to_owned(), e_loc(m, "file"))),
                )
            }
            _ => {
                self.errors.push(problem(
                    Some(extends.loc),
                    ProblemKind::Invalid,
                    "`extends` must be a service name or a mapping",
                ));
                return None;
            }
        };
        let this_path = self.files[file].source.path.clone();
        let key = (
            base_file.as_ref().map_or(this_path.clone(), |(f, _)| {
                abs(&self.base_dirs[file], Path::new(f))
            }),
            base_name.clone(),
        );
        // The service itself being resolved already: its file was loaded again for `extends`.
        let reentered = self
            .extends_chain
            .iter()
            .any(|(p, n)| *p == this_path && n == name);
        if reentered || self.extends_chain.contains(&key) || (key.0 == this_path && key.1 == name) {
            self.errors.push(problem(Some(extends.loc), ProblemKind::Reference, format!("circular reference: service `{name}` extends `{base_name}`, which extends it back")));
            return None;
        }
        if self.extends_chain.len() >= MAX_EXTENDS_DEPTH {
            self.errors.push(problem(
                Some(extends.loc),
                ProblemKind::Reference,
                format!("`extends` chain is too long (more than {MAX_EXTENDS_DEPTH} services)"),
            ));
            return None;
        }
        self.extends_chain
            .push((this_path.clone(), name.to_owned()));
        let base = match base_file {
            None => match services.get(base_name.as_str()) {
                Some(_) => match memo.get(&base_name) {
                    Some(done) => done.clone(),
                    None => {
                        let done = self.resolve_extends(services, &base_name, file, env, memo);
                        memo.insert(base_name.clone(), done.clone());
                        done
                    }
                },
                None => {
                    self.errors.push(problem(
                        Some(extends.loc),
                        ProblemKind::Reference,
                        format!("cannot extend service `{name}`: service `{base_name}` not found"),
                    ));
                    None
                }
            },
            Some((f, loc)) => {
                let path = key.0.clone();
                let dir = path
                    .parent()
                    .map_or_else(|| self.base_dirs[file].clone(), Path::to_path_buf);
                if !path.exists() {
                    self.errors.push(problem(
                        Some(loc),
                        ProblemKind::Reference,
                        format!("open {}: no such file or directory", self.display(&path)),
                    ));
                    None
                } else if let Some(message) = self.not_readable(&path) {
                    self.errors
                        .push(problem(Some(loc), ProblemKind::Reference, message));
                    None
                } else {
                    let _ = f;
                    // A file extended by many services is loaded once per variable scope: loading
                    // it again would only repeat its problems, and a chain of files each
                    // extended by every service of the one before would cost exponential time.
                    let cache_key = (path.clone(), self.env_scope);
                    let loaded = match self.extends_cache.remove(&cache_key) {
                        Some(done) => done,
                        None => {
                            let role = std::mem::replace(&mut self.role, FileRole::Extended);
                            let loaded =
                                self.load_file(&path, None, &dir, env, empty_map(loc), Some(loc));
                            self.role = role;
                            loaded
                        }
                    };
                    let base = match loaded.get("services").and_then(|s| s.get(&base_name)) {
                        Some(b) => Some(b.clone()),
                        None => {
                            self.errors.push(problem(Some(extends.loc), ProblemKind::Reference, format!("cannot extend service `{name}`: service `{base_name}` not found in {}", self.display(&path))));
                            None
                        }
                    };
                    self.extends_cache.insert(cache_key, loaded);
                    base
                }
            }
        };
        self.extends_chain.pop();
        let mut service = service;
        if let Some(m) = service.as_map_mut() {
            m.shift_remove("extends");
        }
        let base = base?;
        // Each service of a chain holds a copy of its bases: count the copies against the
        // project's expansion budget, or a long chain costs memory quadratic in its length.
        if !self.charge_copy(&base, extends.loc) {
            return None;
        }
        let mut merged = merge::merge(base, service, &["services", name]);
        if let Some(m) = merged.as_map_mut() {
            m.shift_remove("extends");
        }
        Some(merged)
    }

    /// The problems without repeats: a file read once per service that extends it reports its
    /// own problems once, not once per read.
    fn distinct(&self, problems: Vec<Problem>) -> Vec<Problem> {
        let mut seen = HashSet::new();
        problems
            .into_iter()
            .filter(|p| {
                let place = p.loc.map(|l| {
                    let path = self.files.get(l.file).map(|f| f.source.path.as_path());
                    (path, l.start, l.end)
                });
                seen.insert((place, p.kind, p.message.clone()))
            })
            .collect()
    }

    /// Takes a copy of `value` out of the expansion budget; false (reported once) when spent.
    fn charge_copy(&mut self, value: &Value, at: Loc) -> bool {
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

    /// Uniqueness by target in the services a document just merged (`touched`): the others
    /// were made unique when they were merged.
    fn enforce_unicity(&mut self, dict: &mut Value, touched: &[CompactString]) {
        let Some(services) = dict
            .as_map_mut()
            .and_then(|m| m.get_mut("services"))
            .and_then(|e| e.value.as_map_mut())
        else {
            return;
        };
        for name in touched {
            let Some(entry) = services.get_mut(name) else {
                continue;
            };
            let Some(vols) = entry.value.as_map_mut().and_then(|m| m.get_mut("volumes")) else {
                continue;
            };
            if let ValueKind::Seq(items) = &mut vols.value.kind {
                for (earlier, later) in merge::enforce_unique_volumes(items) {
                    if earlier.loc != later.loc
                        && self
                            .replaced_seen
                            .insert((earlier.loc, later.loc, name.to_string()))
                    {
                        self.replaced.push(ReplacedMount {
                            service: name.to_string(),
                            earlier: earlier.loc,
                            later: later.loc,
                            target: merge::volume_key(&later)
                                .ok()
                                .flatten()
                                .map(|t| mounts::clean_path(&t))
                                .unwrap_or_default(),
                            earlier_kind: merge::entry_kind(&earlier),
                            later_kind: merge::entry_kind(&later),
                        });
                    }
                }
            }
        }
    }

    /// The top-level keys compose accepts (a compose v1 file has services at the top level).
    /// compose validates the model merged so far after each file: a section left null (`volumes:`
    /// with nothing under it) is an error, one that a later file's null leaves as it was is not.
    fn reject_null_sections(&mut self, dict: &Value) {
        let Some(map) = dict.as_map() else { return };
        for section in ["services", "volumes", "networks", "secrets", "configs"] {
            if let Some(e) = map.get(section)
                && e.value.is_null()
                && !self.errors.iter().any(|p| p.loc == Some(e.value.loc))
            {
                self.errors.push(problem(
                    Some(e.value.loc),
                    ProblemKind::Invalid,
                    format!("`{section}` must be a mapping, not null"),
                ));
            }
        }
    }

    fn validate_top_level(&mut self, cfg: &Value) {
        let Some(map) = cfg.as_map() else { return };
        let unknown: Vec<(&CompactString, &Entry)> = map
            .iter()
            .filter(|(k, _)| {
                !k.starts_with("x-")
                    && !matches!(
                        k.as_str(),
                        "version"
                            | "name"
                            | "include"
                            | "services"
                            | "networks"
                            | "volumes"
                            | "secrets"
                            | "configs"
                            | "models"
                    )
            })
            .collect();
        for (k, e) in &unknown {
            let hint = if map.get("services").is_none() {
                " (a compose v1 file? services belong under `services:`)"
            } else {
                ""
            };
            self.errors.push(problem(
                Some(e.key_loc),
                ProblemKind::Invalid,
                format!("additional property `{k}` is not allowed{hint}"),
            ));
        }
        for section in ["services", "volumes", "networks", "secrets", "configs"] {
            if let Some(e) = map.get(section)
                && !e.value.is_null()
                && e.value.tag != Some(MergeTag::Reset)
                && e.value.as_map().is_none()
            {
                self.errors.push(problem(
                    Some(e.value.loc),
                    ProblemKind::Invalid,
                    format!(
                        "`{section}` must be a mapping, not {}",
                        article(e.value.type_name())
                    ),
                ));
            }
        }
        if let Some(services) = map.get("services").and_then(|e| e.value.as_map()) {
            for (name, e) in services {
                match &e.value.kind {
                    ValueKind::Map(m) => {
                        for (key, field) in m {
                            if !key.starts_with("x-")
                                && SERVICE_KEYS.binary_search(&key.as_str()).is_err()
                            {
                                self.errors.push(problem(
                                    Some(field.key_loc),
                                    ProblemKind::Invalid,
                                    format!(
                                        "services.{name} additional property `{key}` is not allowed"
                                    ),
                                ));
                            }
                        }
                    }
                    ValueKind::Null => {}
                    _ => self.errors.push(problem(
                        Some(e.value.loc),
                        ProblemKind::Invalid,
                        format!(
                            "services.{name} must be a mapping, not {}",
                            article(e.value.type_name())
                        ),
                    )),
                }
            }
        }
    }

    fn finish(
        &mut self,
        dict: Value,
        directory: PathBuf,
        main_files: Vec<FileId>,
        env: &ProjectEnv,
    ) -> Project {
        let (name, name_origin) = self.project_name(&dict, &directory, env);
        let mut project = Project {
            name,
            name_origin,
            directory,
            files: Vec::new(),
            main_files,
            services: Vec::new(),
            volumes: Vec::new(),
            errors: Vec::new(),
            warnings: Vec::new(),
            unset_variables: std::mem::take(&mut self.unset),
            version_keys: std::mem::take(&mut self.version_keys),
            replaced_mounts: std::mem::take(&mut self.replaced),
        };
        if self.errors.is_empty()
            && dict.as_map().is_some_and(|m| m.is_empty())
            && !self.files.is_empty()
        {
            self.errors.push(problem(
                Some(Loc {
                    file: project.main_files.first().copied().unwrap_or(0),
                    start: 0,
                    end: 0,
                }),
                ProblemKind::Invalid,
                "empty compose file",
            ));
        }
        project.volumes = self.lower_volumes(&dict, &project.name);
        project.services = self.lower_services(&dict, &project, env);
        self.check_consistency(&dict, &project);
        let errors = std::mem::take(&mut self.errors);
        project.errors = self.distinct(errors);
        project.warnings = std::mem::take(&mut self.warnings);
        project.files = std::mem::take(&mut self.files);
        project
    }

    /// `-p`, then `COMPOSE_PROJECT_NAME` (process environment or env file), then `name:`, then
    /// the project directory's name.
    fn project_name(
        &mut self,
        dict: &Value,
        directory: &Path,
        env: &ProjectEnv,
    ) -> (String, NameOrigin) {
        use crate::compose::interpolate::Vars;
        let explicit = if let Some(n) = &self.opts.project_name {
            Some((n.clone(), NameOrigin::Flag, None))
        } else if let Some(n) = env.get("COMPOSE_PROJECT_NAME").filter(|n| !n.is_empty()) {
            Some((n.to_owned(), NameOrigin::Environment, None))
        } else {
            dict.get("name")
                .and_then(|v| Some((v.as_str()?.to_owned(), NameOrigin::NameKey, Some(v.loc))))
                .filter(|(n, _, _)| !n.is_empty())
        };
        match explicit {
            // compose normalises a `name:` key but refuses an invalid name from `-p` or the
            // environment.
            Some((name, NameOrigin::NameKey, _)) => {
                (normalize_project_name(&name), NameOrigin::NameKey)
            }
            Some((name, origin, loc)) => {
                if normalize_project_name(&name) != name || name.is_empty() {
                    self.errors.push(problem(loc, ProblemKind::Invalid, format!("invalid project name `{name}`: must consist only of lowercase alphanumeric characters, hyphens, and underscores as well as start with a letter or number")));
                }
                (name, origin)
            }
            None => {
                let base = directory
                    .file_name()
                    .map(|s| s.to_string_lossy().into_owned())
                    .unwrap_or_default();
                let name = normalize_project_name(&base);
                if name.is_empty() {
                    self.errors.push(problem(
                        None,
                        ProblemKind::Invalid,
                        "project name must not be empty",
                    ));
                }
                (name, NameOrigin::Directory)
            }
        }
    }

    fn lower_volumes(&mut self, dict: &Value, project: &str) -> Vec<TopVolume> {
        let Some(vols) = dict.get("volumes").and_then(Value::as_map) else {
            return Vec::new();
        };
        let mut out = Vec::new();
        // `x-` keys are extensions, not volumes.
        for (key, entry) in vols.iter().filter(|(k, _)| !k.starts_with("x-")) {
            if key.is_empty()
                || !key
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
            {
                self.errors.push(problem(
                    Some(entry.key_loc),
                    ProblemKind::Invalid,
                    format!("volume name `{key}` does not match `^[a-zA-Z0-9._-]+$`"),
                ));
            }
            let v = &entry.value;
            if !v.is_null() && v.as_map().is_none() {
                self.errors.push(problem(
                    Some(v.loc),
                    ProblemKind::Invalid,
                    format!(
                        "volumes.{key} must be a mapping or empty, not {}",
                        article(v.type_name())
                    ),
                ));
                continue;
            }
            let explicit = v.get("name").and_then(Value::as_str).map(str::to_owned);
            let (external, external_name) = match v.get("external") {
                Some(e) => match &e.kind {
                    ValueKind::Map(m) => (
                        true,
                        m.get("name")
                            .and_then(|n| n.value.as_str())
                            .map(str::to_owned),
                    ),
                    _ => match e.as_bool() {
                        Some(b) => (b, None),
                        None => {
                            self.errors.push(problem(
                                Some(e.loc),
                                ProblemKind::Invalid,
                                format!("volumes.{key}.external must be a boolean"),
                            ));
                            (false, None)
                        }
                    },
                },
                None => (false, None),
            };
            if external_name.is_some() {
                if explicit.is_some() {
                    self.errors.push(problem(
                        v.get("external").map(|e| e.loc),
                        ProblemKind::Invalid,
                        format!("volumes.{key}: name and external.name conflict; only use name"),
                    ));
                } else {
                    self.warnings.push(problem(v.get("external").map(|e| e.loc), ProblemKind::Obsolete, format!("volumes.{key}: external.name is deprecated; set `name` and `external: true`")));
                }
            }
            if external {
                for conflicting in ["driver", "driver_opts", "labels"] {
                    if let Some(c) = v.get(conflicting).filter(|c| !c.is_null()) {
                        self.errors.push(problem(Some(c.loc), ProblemKind::Invalid, format!("volumes.{key}: conflicting parameters \"external\" and \"{conflicting}\" specified")));
                    }
                }
            }
            let name = match (&explicit, &external_name) {
                (Some(n), _) | (None, Some(n)) => n.clone(),
                (None, None) if external => key.to_string(),
                _ => format!("{project}_{key}"),
            };
            let driver_opts = v
                .get("driver_opts")
                .and_then(Value::as_map)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, e)| Some((k.to_string(), e.value.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default();
            out.push(TopVolume {
                key: key.to_string(),
                loc: entry.key_loc,
                name,
                external,
                driver: v.get("driver").and_then(Value::as_str).map(str::to_owned),
                driver_opts,
                explicit_name: explicit.is_some() || external_name.is_some(),
            });
        }
        out
    }

    fn lower_services(
        &mut self,
        dict: &Value,
        project: &Project,
        env: &ProjectEnv,
    ) -> Vec<Service> {
        let Some(services) = dict.get("services").and_then(Value::as_map) else {
            return Vec::new();
        };
        // Lookups done once per mount, indexed so that many mounts cost linear time.
        self.volume_names.clear();
        for v in &project.volumes {
            self.volume_names
                .entry(v.key.clone())
                .or_insert_with(|| v.name.clone());
        }
        self.unset_index.clear();
        for (_, l) in &self.unset {
            self.unset_index
                .entry(l.file)
                .or_default()
                .push((l.start, l.end));
        }
        for spans in self.unset_index.values_mut() {
            spans.sort_unstable();
        }
        // The directory each file's relative bind sources resolve against, as text.
        let base_dirs: Vec<String> = self
            .base_dirs
            .iter()
            .map(|d| d.to_string_lossy().into_owned())
            .collect();
        let mut out = Vec::with_capacity(services.len());
        for (name, entry) in services {
            let v = &entry.value;
            let profiles: Vec<String> = v
                .get("profiles")
                .and_then(Value::as_seq)
                .map(|s| {
                    s.iter()
                        .filter_map(|p| p.as_str().map(str::to_owned))
                        .collect()
                })
                .unwrap_or_default();
            if !self.profile_enabled(&profiles) {
                continue;
            }
            let image = v.get("image").and_then(|i| {
                Some(Located {
                    value: i.as_str().filter(|t| !t.is_empty())?.to_owned(),
                    loc: i.loc,
                })
            });
            let build = v.get("build").and_then(|b| self.lower_build(b));
            let environment = lower_environment(v.get("environment"), env);
            let mut mounts = Vec::new();
            if let Some(vols) = v.get("volumes") {
                match &vols.kind {
                    ValueKind::Seq(items) => {
                        mounts.reserve(items.len());
                        for (i, item) in items.iter().enumerate() {
                            let base_dir = base_dirs.get(item.loc.file).map_or("", String::as_str);
                            if let Some(m) = self.lower_mount(name, i, item, base_dir) {
                                mounts.push(m);
                            }
                        }
                    }
                    _ => self.errors.push(problem(
                        Some(vols.loc),
                        ProblemKind::Invalid,
                        format!(
                            "services.{name}.volumes must be a list, not {}",
                            article(vols.type_name())
                        ),
                    )),
                }
            }
            if let Some(tmpfs) = v.get("tmpfs") {
                let volume_targets: HashSet<String> = mounts
                    .iter()
                    .filter(|m| m.syntax != MountSyntax::TmpfsKey)
                    .map(|m| m.target.clone())
                    .collect();
                let items: Vec<&Value> = match &tmpfs.kind {
                    ValueKind::Seq(items) => items.iter().collect(),
                    ValueKind::Scalar { .. } => vec![tmpfs],
                    _ => Vec::new(),
                };
                for item in items {
                    let Some(text) = item.as_str() else {
                        self.errors.push(problem(
                            Some(item.loc),
                            ProblemKind::Invalid,
                            format!("services.{name}.tmpfs entries must be strings"),
                        ));
                        continue;
                    };
                    let (target, _) = mounts::parse_tmpfs_entry(text);
                    let target = mounts::clean_path(&target);
                    if volume_targets.contains(&target) {
                        self.errors.push(problem(Some(item.loc), ProblemKind::Invalid, format!("services.{name}: target `{target}` is mounted by both `volumes` and `tmpfs`")));
                    }
                    mounts.push(Mount {
                        kind: MountKind::Tmpfs,
                        source: None,
                        resolved_source: None,
                        target,
                        read_only: false,
                        loc: Some(item.loc),
                        syntax: MountSyntax::TmpfsKey,
                        volume_key: None,
                        nocopy: false,
                        ignored_options: Vec::new(),
                        unresolved: false,
                    });
                }
            }
            // Targets are unique after compose cleans them; entries that only differ before
            // cleaning (`/data/` and `/data`) were not merged and now collide.
            let mut first_at: HashMap<&str, usize> = HashMap::with_capacity(mounts.len());
            for (i, m) in mounts.iter().enumerate() {
                if m.syntax == MountSyntax::TmpfsKey {
                    continue;
                }
                match first_at.get(m.target.as_str()) {
                    Some(&first) => self.errors.push(Problem { related: mounts[first].loc, ..problem(m.loc, ProblemKind::Invalid, format!("services.{name}.volumes[{i}]: target `{}` is already mounted by services.{name}.volumes[{first}]", m.target)) }),
                    None => {
                        first_at.insert(m.target.as_str(), i);
                    }
                }
            }
            let volumes_from = v
                .get("volumes_from")
                .and_then(Value::as_seq)
                .map(|s| {
                    s.iter()
                        .filter_map(|x| {
                            Some(Located {
                                value: x.as_str()?.to_owned(),
                                loc: x.loc,
                            })
                        })
                        .collect()
                })
                .unwrap_or_default();
            let command = v.get("command").and_then(|c| match &c.kind {
                ValueKind::Scalar { text, .. } => Some(text.to_string()),
                ValueKind::Seq(items) => Some(
                    items
                        .iter()
                        .filter_map(Value::as_str)
                        .collect::<Vec<_>>()
                        .join(" "),
                ),
                _ => None,
            });
            out.push(Service {
                name: name.to_string(),
                loc: entry.key_loc,
                image,
                build,
                environment,
                mounts,
                volumes_from,
                profiles,
                command,
            });
        }
        out
    }

    fn profile_enabled(&self, profiles: &[String]) -> bool {
        let active = &self.opts.profiles;
        active.is_empty()
            || profiles.is_empty()
            || active.iter().any(|a| a == "*" || profiles.contains(a))
    }

    fn lower_build(&mut self, b: &Value) -> Option<Build> {
        let dir = self.base_dirs.get(b.loc.file).cloned().unwrap_or_default();
        let (context, dockerfile, inline) = match &b.kind {
            ValueKind::Scalar { text, .. } => (text.to_string(), None, None),
            ValueKind::Map(m) => (
                m.get("context")
                    .and_then(|c| c.value.as_str())
                    .unwrap_or(".")
                    .to_owned(),
                m.get("dockerfile")
                    .and_then(|c| c.value.as_str())
                    .map(str::to_owned),
                m.get("dockerfile_inline")
                    .and_then(|c| c.value.as_str())
                    .map(str::to_owned),
            ),
            _ => return None,
        };
        let remote = context.contains("://")
            || context.starts_with("git@")
            || context.starts_with("github.com/");
        let context = (!remote).then(|| abs(&dir, Path::new(&context)));
        Some(Build {
            context,
            dockerfile: dockerfile.unwrap_or_else(|| "Dockerfile".into()),
            inline,
            loc: b.loc,
        })
    }

    /// `base_dir`: the directory of the file `item` was written in, as text.
    fn lower_mount(
        &mut self,
        service: &str,
        index: usize,
        item: &Value,
        base_dir: &str,
    ) -> Option<Mount> {
        let unresolved = self.unset_at(item);
        match &item.kind {
            ValueKind::Scalar { text, .. } => {
                let parsed = match mounts::parse_short(text) {
                    Ok(p) => p,
                    Err(e) => {
                        self.errors.push(problem(
                            Some(item.loc),
                            ProblemKind::InvalidVolumeSpec,
                            mounts::spec_error_message(text, &e),
                        ));
                        return None;
                    }
                };
                let target = mounts::clean_path(&parsed.target);
                let (resolved_source, volume_key) = match parsed.kind {
                    MountKind::Bind => (
                        parsed
                            .source
                            .as_deref()
                            .map(|s| mounts::resolve_bind_source(s, base_dir, &self.home)),
                        None,
                    ),
                    MountKind::Named => {
                        let key = parsed.source.clone().unwrap_or_default();
                        (self.named_volume(service, &key, item.loc), Some(key))
                    }
                    _ => (None, None),
                };
                Some(Mount {
                    kind: parsed.kind,
                    source: parsed.source,
                    resolved_source,
                    target,
                    read_only: parsed.read_only,
                    loc: Some(item.loc),
                    syntax: MountSyntax::Short,
                    volume_key,
                    nocopy: parsed.nocopy,
                    ignored_options: parsed.ignored_options,
                    unresolved,
                })
            }
            ValueKind::Map(m) => {
                let at = format!("services.{service}.volumes.{index}");
                for (key, e) in m {
                    if !key.starts_with("x-") && !LONG_VOLUME_KEYS.contains(&key.as_str()) {
                        self.errors.push(problem(
                            Some(e.key_loc),
                            ProblemKind::Invalid,
                            format!("{at} additional property `{key}` is not allowed"),
                        ));
                    }
                }
                let Some(ty) = m.get("type").map(|e| &e.value) else {
                    self.errors.push(problem(
                        Some(item.loc),
                        ProblemKind::Invalid,
                        format!("{at} missing property `type`"),
                    ));
                    return None;
                };
                let kind = match ty.as_str() {
                    Some("bind") => MountKind::Bind,
                    Some("volume") => MountKind::Named,
                    Some("tmpfs") => MountKind::Tmpfs,
                    Some("npipe") => MountKind::Npipe,
                    Some("cluster") => MountKind::Cluster,
                    Some("image") => MountKind::Image,
                    _ => {
                        self.errors.push(problem(Some(ty.loc), ProblemKind::InvalidVolumeSpec, format!("{at}.type must be one of `bind`, `volume`, `tmpfs`, `cluster`, `npipe`, `image`")));
                        return None;
                    }
                };
                let Some(target) = m.get("target").and_then(|e| e.value.as_str()) else {
                    self.errors.push(problem(Some(item.loc), ProblemKind::InvalidVolumeSpec, format!("service volume services.{service}.volumes.[{index}] is missing a mount target")));
                    return None;
                };
                if let Some(e) = m.get("source")
                    && matches!(
                        e.value.kind,
                        ValueKind::Null | ValueKind::Seq(_) | ValueKind::Map(_)
                    )
                {
                    self.errors.push(problem(
                        Some(e.value.loc),
                        ProblemKind::Invalid,
                        format!("{at}.source must be a string"),
                    ));
                    return None;
                }
                let source = m
                    .get("source")
                    .and_then(|e| e.value.as_str())
                    .filter(|s| !s.is_empty())
                    .map(str::to_owned);
                let read_only = match m.get("read_only").map(|e| &e.value) {
                    None => false,
                    Some(v) => match v.as_bool() {
                        Some(b) => b,
                        None => {
                            self.errors.push(problem(
                                Some(v.loc),
                                ProblemKind::Invalid,
                                format!("{at}.read_only must be a boolean"),
                            ));
                            false
                        }
                    },
                };
                let nocopy = m
                    .get("volume")
                    .and_then(|v| v.value.get("nocopy"))
                    .and_then(Value::as_bool)
                    .unwrap_or(false);
                let (kind, resolved_source, volume_key) = match kind {
                    MountKind::Named => match &source {
                        Some(s) => (
                            MountKind::Named,
                            self.named_volume(service, s, item.loc),
                            Some(s.clone()),
                        ),
                        None => (MountKind::Anonymous, None, None),
                    },
                    MountKind::Bind => match &source {
                        Some(s) => (
                            MountKind::Bind,
                            Some(mounts::resolve_bind_source(s, base_dir, &self.home)),
                            None,
                        ),
                        // `config` accepts it; the engine refuses to create the container.
                        None => {
                            self.warnings.push(problem(Some(item.loc), ProblemKind::InvalidVolumeSpec, "invalid mount config for type \"bind\": field Source must not be empty"));
                            (MountKind::Bind, None, None)
                        }
                    },
                    k => (k, None, None),
                };
                Some(Mount {
                    kind,
                    source,
                    resolved_source,
                    target: mounts::clean_path(target),
                    read_only,
                    loc: Some(item.loc),
                    syntax: MountSyntax::Long,
                    volume_key,
                    nocopy,
                    ignored_options: Vec::new(),
                    unresolved,
                })
            }
            _ => {
                self.errors.push(problem(
                    Some(item.loc),
                    ProblemKind::Invalid,
                    format!(
                        "services.{service}.volumes.{index} must be a string or a mapping, not {}",
                        article(item.type_name())
                    ),
                ));
                None
            }
        }
    }

    /// Whether a variable without a value is used inside `item` (`unset_index` is built).
    fn unset_at(&self, item: &Value) -> bool {
        let Some(spans) = self.unset_index.get(&item.loc.file) else {
            return false;
        };
        let from = spans.partition_point(|&(start, _)| start < item.loc.start);
        spans[from..]
            .iter()
            .take_while(|&&(start, _)| start <= item.loc.end)
            .any(|&(_, end)| end <= item.loc.end)
    }

    /// The engine name of a named volume, or an error when it is not declared.
    fn named_volume(&mut self, service: &str, key: &str, loc: Loc) -> Option<String> {
        match self.volume_names.get(key) {
            Some(name) => Some(name.clone()),
            None => {
                self.errors.push(problem(Some(loc), ProblemKind::UndefinedVolume, format!("service \"{service}\" refers to undefined volume {key}: invalid compose project")));
                None
            }
        }
    }

    /// compose-go `checkConsistency`, plus the checks compose does when it reads env files.
    fn check_consistency(&mut self, dict: &Value, project: &Project) {
        let Some(services) = dict.get("services").and_then(Value::as_map) else {
            return;
        };
        let networks: HashSet<&str> = dict
            .get("networks")
            .and_then(Value::as_map)
            .map(|m| {
                m.keys()
                    .map(CompactString::as_str)
                    .filter(|k| !k.starts_with("x-"))
                    .collect()
            })
            .unwrap_or_default();
        let enabled: HashSet<&str> = project.services.iter().map(|s| s.name.as_str()).collect();
        for (name, entry) in services {
            if !enabled.contains(name.as_str()) {
                continue;
            }
            let v = &entry.value;
            let image = v
                .get("image")
                .and_then(Value::as_str)
                .filter(|i| !i.is_empty());
            if image.is_none() && v.get("build").is_none() && v.get("provider").is_none() {
                self.errors.push(problem(Some(entry.key_loc), ProblemKind::Reference, format!("service \"{name}\" has neither an image nor a build context specified: invalid compose project")));
            }
            if let Some(nets) = v.get("networks") {
                let refs: Vec<(&str, Loc)> = match &nets.kind {
                    ValueKind::Seq(items) => items
                        .iter()
                        .filter_map(|i| Some((i.as_str()?, i.loc)))
                        .collect(),
                    ValueKind::Map(m) => m.iter().map(|(k, e)| (k.as_str(), e.key_loc)).collect(),
                    _ => Vec::new(),
                };
                for (net, loc) in refs {
                    if net != "default" && !networks.contains(net) {
                        self.errors.push(problem(Some(loc), ProblemKind::Reference, format!("service \"{name}\" refers to undefined network {net}: invalid compose project")));
                    }
                }
            }
            for (dep, loc, required) in dependencies(v) {
                if required && !services.contains_key(dep) {
                    self.errors.push(problem(Some(loc), ProblemKind::Reference, format!("service \"{name}\" depends on undefined service \"{dep}\": invalid compose project")));
                }
            }
            self.check_env_files(name, v);
        }
        self.check_dependency_cycles(services, &enabled);
    }

    fn check_env_files(&mut self, service: &str, v: &Value) {
        let Some(env_file) = v.get("env_file") else {
            return;
        };
        let items: Vec<&Value> = match &env_file.kind {
            ValueKind::Seq(items) => items.iter().collect(),
            ValueKind::Scalar { .. } => vec![env_file],
            _ => Vec::new(),
        };
        for item in items {
            let (path, required) = match &item.kind {
                ValueKind::Scalar { text, .. } => (text.as_str(), true),
                ValueKind::Map(m) => (
                    m.get("path").and_then(|p| p.value.as_str()).unwrap_or(""),
                    m.get("required")
                        .and_then(|r| r.value.as_bool())
                        .unwrap_or(true),
                ),
                _ => continue,
            };
            let dir = self
                .base_dirs
                .get(item.loc.file)
                .cloned()
                .unwrap_or_default();
            let full = abs(&dir, Path::new(path));
            if required && !full.is_file() {
                let _ = service;
                self.errors.push(problem(
                    Some(item.loc),
                    ProblemKind::Reference,
                    format!("env file {} not found", self.display(&full)),
                ));
            }
        }
    }

    fn check_dependency_cycles(&mut self, services: &Map, enabled: &HashSet<&str>) {
        let deps = |name: &str| {
            services
                .get(name)
                .map(|e| {
                    dependencies(&e.value)
                        .into_iter()
                        .map(|(d, _, _)| d)
                        .collect::<Vec<_>>()
                })
                .unwrap_or_default()
        };
        // Iterative depth-first search with colours, so long chains cannot overflow the stack.
        let mut state: HashMap<&str, u8> = HashMap::default();
        for start in services.keys().filter(|k| enabled.contains(k.as_str())) {
            if state.get(start.as_str()).copied().unwrap_or(0) != 0 {
                continue;
            }
            let mut stack = vec![(start.as_str(), deps(start))];
            state.insert(start, 1);
            while let Some((node, pending)) = stack.last_mut() {
                match pending.pop() {
                    Some(next) => match state.get(next).copied().unwrap_or(0) {
                        0 if services.contains_key(next) => {
                            state.insert(next, 1);
                            stack.push((next, deps(next)));
                        }
                        1 => {
                            let mut cycle: Vec<&str> = stack
                                .iter()
                                .map(|&(n, _)| n)
                                .skip_while(|n| *n != next)
                                .collect();
                            cycle.push(next);
                            let loc = services.get(next).map(|e| e.key_loc);
                            self.errors.push(problem(
                                loc,
                                ProblemKind::Reference,
                                format!("dependency cycle detected: {}", cycle.join(" -> ")),
                            ));
                            return;
                        }
                        _ => {}
                    },
                    None => {
                        state.insert(node, 2);
                        stack.pop();
                    }
                }
            }
        }
    }
}

/// The services a service needs (compose adds implicit `depends_on` for all but the first):
/// `depends_on` (with `required`), `links`, `volumes_from`, and `service:` network/ipc/pid modes.
fn dependencies(v: &Value) -> Vec<(&str, Loc, bool)> {
    let mut out = Vec::new();
    match v.get("depends_on").map(|d| &d.kind) {
        Some(ValueKind::Seq(items)) => out.extend(
            items
                .iter()
                .filter_map(|i| Some((i.as_str()?, i.loc, true))),
        ),
        Some(ValueKind::Map(m)) => out.extend(m.iter().map(|(k, e)| {
            (
                k.as_str(),
                e.key_loc,
                e.value.get("required").and_then(Value::as_bool) != Some(false),
            )
        })),
        _ => {}
    }
    for link in v.get("links").and_then(Value::as_seq).unwrap_or_default() {
        if let Some(text) = link.as_str() {
            out.push((text.split(':').next().unwrap_or(text), link.loc, true));
        }
    }
    for from in v
        .get("volumes_from")
        .and_then(Value::as_seq)
        .unwrap_or_default()
    {
        if let Some(text) = from.as_str().filter(|t| !t.starts_with("container:")) {
            out.push((text.split(':').next().unwrap_or(text), from.loc, true));
        }
    }
    for key in ["network_mode", "ipc", "pid"] {
        if let Some(mode) = v.get(key)
            && let Some(service) = mode.as_str().and_then(|m| m.strip_prefix("service:"))
        {
            out.push((service, mode.loc, true));
        }
    }
    out
}

fn e_loc(m: &Map, key: &str) -> Loc {
    m.get(key).map_or(
        Loc {
            file: 0,
            start: 0,
            end: 0,
        },
        |e| e.value.loc,
    )
}

fn empty_map(loc: Loc) -> Value {
    Value::new(ValueKind::Map(Map::default()), loc)
}

fn article(type_name: &str) -> String {
    match type_name {
        "array" | "mapping" => format!("an {type_name}"),
        "null" => "null".into(),
        t => format!("a {t}"),
    }
}

/// The base a service extends in its own file (`extends: name` or a mapping without `file`).
fn same_file_base<'m>(services: &'m Map, name: &str) -> Option<&'m str> {
    let extends = services.get(name)?.value.get("extends")?;
    match &extends.kind {
        ValueKind::Scalar { text, .. } => Some(text),
        ValueKind::Map(m) if !m.contains_key("file") => m.get("service")?.value.as_str(),
        _ => None,
    }
}

/// Nodes and scalar bytes in a value (what copying it costs).
fn value_size(value: &Value) -> (usize, usize) {
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

fn inject_panic(path: &Path) {
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
fn read_text(path: &Path) -> Result<String, String> {
    let bytes = source::read_file(path).map_err(|e| e.to_string())?;
    SourceFile::decode(bytes).map_err(|e| e.to_string())
}

/// A value quoted in a message, cut short when it is long (a multi-megabyte line).
fn shorten(text: &str) -> std::borrow::Cow<'_, str> {
    const MAX: usize = 120;
    match text.char_indices().nth(MAX) {
        None => text.into(),
        Some((cut, _)) => format!("{}…", &text[..cut]).into(),
    }
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Two values with the same content, wherever they were written.
fn same_content(a: &Value, b: &Value) -> bool {
    match (&a.kind, &b.kind) {
        (ValueKind::Null, ValueKind::Null) => true,
        (ValueKind::Scalar { text: x, .. }, ValueKind::Scalar { text: y, .. }) => x == y,
        (ValueKind::Seq(x), ValueKind::Seq(y)) => {
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| same_content(a, b))
        }
        (ValueKind::Map(x), ValueKind::Map(y)) => {
            x.len() == y.len()
                && x.iter()
                    .all(|(k, e)| y.get(k).is_some_and(|f| same_content(&e.value, &f.value)))
        }
        _ => false,
    }
}

/// The environment a service ends up with (mapping or `KEY=VALUE` list; a bare `KEY` takes the
/// value of the variable from the project environment).
fn lower_environment(env_value: Option<&Value>, env: &ProjectEnv) -> Environment {
    use crate::compose::interpolate::Vars;
    let lookup = |name: &str| env.get(name).map(str::to_owned);
    // Read as `merge::key_value_map` reads it (a later `KEY` wins), without building that map.
    match env_value.map(|v| &v.kind) {
        Some(ValueKind::Map(m)) => m
            .iter()
            .map(|(k, e)| {
                let value = match &e.value.kind {
                    ValueKind::Null => lookup(k),
                    ValueKind::Scalar { text, .. } => Some(text.to_string()),
                    _ => None,
                };
                (k.to_string(), value)
            })
            .collect(),
        Some(ValueKind::Seq(items)) => items
            .iter()
            .filter_map(Value::as_str)
            .map(|text| match merge::key_value_item(text) {
                (k, Some(v)) => (k.to_owned(), Some(v.to_owned())),
                (k, None) => (k.to_owned(), lookup(k)),
            })
            .collect(),
        _ => Environment::default(),
    }
}

/// The path standard input stands for (`--stdin-filename`, relative to the working directory).
pub fn stdin_path(opts: &LoadOptions) -> PathBuf {
    abs(
        &opts.cwd,
        opts.stdin_filename
            .as_deref()
            .unwrap_or(Path::new("stdin.yaml")),
    )
}

/// compose-go `NormalizeProjectName`: lowercase, keep `[a-z0-9_-]`, trim leading `_` and `-`.
pub fn normalize_project_name(s: &str) -> String {
    let lower = s.to_lowercase();
    let kept: String = lower
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    kept.trim_start_matches(['_', '-']).to_owned()
}

/// Service keys of the compose specification (schema `#/definitions/service`), sorted: looked up
/// by binary search for every key of every service.
pub const SERVICE_KEYS: &[&str] = &[
    "annotations",
    "attach",
    "blkio_config",
    "build",
    "cap_add",
    "cap_drop",
    "cgroup",
    "cgroup_parent",
    "command",
    "configs",
    "container_name",
    "cpu_count",
    "cpu_percent",
    "cpu_period",
    "cpu_quota",
    "cpu_rt_period",
    "cpu_rt_runtime",
    "cpu_shares",
    "cpus",
    "cpuset",
    "credential_spec",
    "depends_on",
    "deploy",
    "develop",
    "device_cgroup_rules",
    "devices",
    "dns",
    "dns_opt",
    "dns_search",
    "domainname",
    "entrypoint",
    "env_file",
    "environment",
    "expose",
    "extends",
    "external_links",
    "extra_hosts",
    "gpus",
    "group_add",
    "healthcheck",
    "hostname",
    "image",
    "init",
    "ipc",
    "isolation",
    "label_file",
    "labels",
    "links",
    "logging",
    "mac_address",
    "mem_limit",
    "mem_reservation",
    "mem_swappiness",
    "memswap_limit",
    "models",
    "network_mode",
    "networks",
    "oom_kill_disable",
    "oom_score_adj",
    "pid",
    "pids_limit",
    "platform",
    "ports",
    "post_start",
    "pre_stop",
    "privileged",
    "profiles",
    "provider",
    "pull_policy",
    "pull_refresh_after",
    "read_only",
    "restart",
    "runtime",
    "scale",
    "secrets",
    "security_opt",
    "shm_size",
    "stdin_open",
    "stop_grace_period",
    "stop_signal",
    "storage_opt",
    "sysctls",
    "tmpfs",
    "tty",
    "ulimits",
    "use_api_socket",
    "user",
    "userns_mode",
    "uts",
    "volumes",
    "volumes_from",
    "working_dir",
];

/// Keys of a long-syntax service volume (schema `#/definitions/service/volumes` item).
const LONG_VOLUME_KEYS: &[&str] = &[
    "type",
    "source",
    "target",
    "read_only",
    "consistency",
    "bind",
    "volume",
    "tmpfs",
    "image",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_keys_are_sorted() {
        assert!(SERVICE_KEYS.windows(2).all(|w| w[0] < w[1]));
    }
}
