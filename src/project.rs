//! Loading a project as compose does: per file parse → interpolate → include → extends → merge →
//! uniqueness; then project name, profiles, the typed model and compose's consistency checks.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use indexmap::IndexMap;

use crate::env::ProjectEnv;
use crate::interpolate::{self, InterpolateError};
use crate::merge;
use crate::model::*;
use crate::mounts::{self, MountKind};
use crate::source::SourceFile;
use crate::syntax;
use crate::value::{self, Entry, FileId, Loc, Map, Value, ValueErrorKind, ValueKind};

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
    pub process_env: IndexMap<String, String>,
    /// Base for relative paths given on the command line and for displayed paths.
    pub cwd: PathBuf,
    /// File contents to use instead of what is on disk (the fix loop re-loads edited text).
    pub overlay: std::collections::HashMap<PathBuf, Arc<str>>,
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
    version_keys: Vec<Loc>,
    replaced: Vec<ReplacedMount>,
    home: String,
    /// Files being loaded through `include`, to detect cycles.
    include_chain: Vec<PathBuf>,
    /// Services being resolved through `extends`, to detect cycles.
    extends_chain: Vec<(PathBuf, String)>,
    /// The role of files read now (an `include` inside an extended file is still extended).
    role: FileRole,
}

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
            version_keys: Vec::new(),
            replaced: Vec::new(),
            home,
            include_chain: Vec::new(),
            extends_chain: Vec::new(),
            role: FileRole::Main,
        }
    }

    fn display(&self, path: &Path) -> String {
        match path.strip_prefix(&self.opts.cwd) {
            Ok(p) if p.as_os_str().is_empty() => ".".into(),
            Ok(p) => p.display().to_string(),
            Err(_) => path.display().to_string(),
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
        for path in &env_files {
            match std::fs::read_to_string(path) {
                Ok(text) => {
                    if let Err(e) = env.add_env_file(path, &text) {
                        self.errors.push(problem(
                            None,
                            ProblemKind::Invalid,
                            format!("failed to read {}: {e}", self.display(path)),
                        ));
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
            dict = self.load_file(path, text, &directory, &env, dict);
            if self.files.len() > before {
                main_files.push(before);
            }
        }
        self.finish(dict, directory, main_files, &env)
    }

    /// Reads and parses one file and registers it; `None` (with an error recorded) when unreadable.
    fn read(
        &mut self,
        path: &Path,
        text: Option<String>,
        base_dir: &Path,
        at: Option<Loc>,
    ) -> Option<FileId> {
        let text = match text.or_else(|| self.opts.overlay.get(path).map(|t| t.to_string())) {
            Some(t) => t,
            None => match std::fs::read(path) {
                Ok(bytes) => match SourceFile::decode(bytes) {
                    Ok(t) => t,
                    Err(e) => {
                        self.errors.push(problem(
                            at,
                            ProblemKind::Io,
                            format!("{}: {e}", self.display(path)),
                        ));
                        return None;
                    }
                },
                Err(e) => {
                    let shown = Some(self.display(path));
                    let message = if path.is_dir() {
                        format!("{} is a directory", self.display(path))
                    } else {
                        format!("open {}: {}", self.display(path), io_reason(&e))
                    };
                    let kind = if at.is_some() {
                        ProblemKind::Reference
                    } else {
                        ProblemKind::Io
                    };
                    self.errors.push(Problem {
                        path: shown,
                        ..problem(at, kind, message)
                    });
                    return None;
                }
            },
        };
        let source = SourceFile::new(self.display(path), path, text);
        let tree = syntax::parse(&source.text);
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

    /// compose-go `loadYamlFile`: every document of the file is processed and merged into `dict`.
    fn load_file(
        &mut self,
        path: &Path,
        text: Option<String>,
        base_dir: &Path,
        env: &ProjectEnv,
        mut dict: Value,
    ) -> Value {
        let Some(id) = self.read(path, text, base_dir, None) else {
            return dict;
        };
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
            let built = value::from_document(&file.tree, &file.source.text, id, root, &mut errors);
            for e in errors {
                let kind = match e.kind {
                    ValueErrorKind::DuplicateKey => ProblemKind::DuplicateKey,
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
            dict = merge::merge(dict, cfg, &[]);
            self.enforce_unicity(&mut dict);
        }
        dict
    }

    fn interpolate(&mut self, cfg: &mut Value, env: &ProjectEnv) {
        let mut errors = Vec::new();
        let mut unset = Vec::new();
        let mut path = Vec::new();
        let _ = cfg.for_each_scalar_mut::<()>(&mut path, &mut |path, text, loc| {
            if !interpolate::has_variables(text) {
                return Ok(());
            }
            match interpolate::interpolate(text, env) {
                Ok(done) => {
                    unset.extend(done.unset.into_iter().map(|v| (v, loc)));
                    *text = done.value;
                }
                Err(e) => {
                    let at = path.join(".");
                    let message = match &e {
                        InterpolateError::Invalid { .. } => format!("invalid interpolation format for {at}: `{text}`; escape any `$` with another `$`"),
                        InterpolateError::Required { message, .. } => format!("error while interpolating {at}: {message}"),
                    };
                    errors.push(problem(Some(loc), ProblemKind::Interpolation, message));
                }
            }
            Ok(())
        });
        for (name, loc) in unset {
            if !self.unset.iter().any(|(n, l)| *n == name && *l == loc) {
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
                    (vec![(text.clone(), item.loc)], None, Vec::new())
                }
                ValueKind::Map(m) => {
                    let paths = match m.get("path").map(|e| &e.value) {
                        Some(v) => match &v.kind {
                            ValueKind::Scalar { text, .. } => vec![(text.clone(), v.loc)],
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
                match std::fs::read_to_string(&path) {
                    Ok(text) => {
                        if let Err(e) = inc_env.add_env_file_under(&path, &text) {
                            self.errors.push(problem(
                                Some(item.loc),
                                ProblemKind::Invalid,
                                format!("failed to read {}: {e}", self.display(&path)),
                            ));
                        }
                    }
                    Err(e) => self.errors.push(problem(
                        Some(item.loc),
                        ProblemKind::Reference,
                        format!(
                            "env file {} not found: {}",
                            self.display(&path),
                            io_reason(&e)
                        ),
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
                imported = self.load_file(&path, None, &inc_dir, &inc_env, imported);
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
            let section = target.entry(kind.to_owned()).or_insert_with(|| Entry {
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
            .map(|(k, _)| k.clone())
            .collect();
        if names.is_empty() {
            return;
        }
        let snapshot = services.clone();
        let mut resolved = Vec::new();
        for name in names {
            if let Some(v) = self.resolve_extends(&snapshot, &name, file, env) {
                resolved.push((name, v));
            }
        }
        if let Some(services) = cfg
            .as_map_mut()
            .and_then(|m| m.get_mut("services"))
            .and_then(|e| e.value.as_map_mut())
        {
            for (name, v) in resolved {
                if let Some(e) = services.get_mut(&name) {
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
    ) -> Option<Value> {
        let service = services.get(name)?.value.clone();
        let Some(extends) = service.get("extends").cloned() else {
            return Some(service);
        };
        let (base_name, base_file) = match &extends.kind {
            ValueKind::Scalar { text, .. } => (text.clone(), None),
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
        if self.extends_chain.contains(&key) || (key.0 == this_path && key.1 == name) {
            self.errors.push(problem(Some(extends.loc), ProblemKind::Reference, format!("circular reference: service `{name}` extends `{base_name}`, which extends it back")));
            return None;
        }
        self.extends_chain
            .push((this_path.clone(), name.to_owned()));
        let base = match base_file {
            None => match services.get(&base_name) {
                Some(_) => self.resolve_extends(services, &base_name, file, env),
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
                if !path.is_file() {
                    self.errors.push(problem(
                        Some(loc),
                        ProblemKind::Reference,
                        format!("open {}: no such file or directory", self.display(&path)),
                    ));
                    None
                } else {
                    let _ = f;
                    let role = std::mem::replace(&mut self.role, FileRole::Extended);
                    let loaded = self.load_file(&path, None, &dir, env, empty_map(loc));
                    self.role = role;
                    match loaded.get("services").and_then(|s| s.get(&base_name)) {
                        Some(b) => Some(b.clone()),
                        None => {
                            self.errors.push(problem(Some(extends.loc), ProblemKind::Reference, format!("cannot extend service `{name}`: service `{base_name}` not found in {}", self.display(&path))));
                            None
                        }
                    }
                }
            }
        };
        self.extends_chain.pop();
        let mut service = service;
        if let Some(m) = service.as_map_mut() {
            m.shift_remove("extends");
        }
        let base = base?;
        let mut merged = merge::merge(base, service, &["services", name]);
        if let Some(m) = merged.as_map_mut() {
            m.shift_remove("extends");
        }
        Some(merged)
    }

    fn enforce_unicity(&mut self, dict: &mut Value) {
        let Some(services) = dict
            .as_map_mut()
            .and_then(|m| m.get_mut("services"))
            .and_then(|e| e.value.as_map_mut())
        else {
            return;
        };
        for (name, entry) in services.iter_mut() {
            let Some(vols) = entry.value.as_map_mut().and_then(|m| m.get_mut("volumes")) else {
                continue;
            };
            if let ValueKind::Seq(items) = &mut vols.value.kind {
                for (earlier, later) in merge::enforce_unique_volumes(items) {
                    if earlier.loc != later.loc
                        && !self.replaced.iter().any(|r| {
                            r.earlier == earlier.loc && r.later == later.loc && r.service == *name
                        })
                    {
                        self.replaced.push(ReplacedMount {
                            service: name.clone(),
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
    fn validate_top_level(&mut self, cfg: &Value) {
        let Some(map) = cfg.as_map() else { return };
        let unknown: Vec<(&String, &Entry)> = map
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
                            if !key.starts_with("x-") && !SERVICE_KEYS.contains(&key.as_str()) {
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
        if self
            .errors
            .iter()
            .all(|e| e.kind != ProblemKind::Syntax && e.kind != ProblemKind::Io)
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
        project.errors = std::mem::take(&mut self.errors);
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
        use crate::interpolate::Vars;
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
                (None, None) if external => key.clone(),
                _ => format!("{project}_{key}"),
            };
            let driver_opts = v
                .get("driver_opts")
                .and_then(Value::as_map)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, e)| Some((k.clone(), e.value.as_str()?.to_owned())))
                        .collect()
                })
                .unwrap_or_default();
            out.push(TopVolume {
                key: key.clone(),
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
        let mut out = Vec::new();
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
                        for (i, item) in items.iter().enumerate() {
                            if let Some(m) = self.lower_mount(name, i, item, project) {
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
                    if let Some(existing) = mounts
                        .iter()
                        .find(|m| m.target == target && m.syntax != MountSyntax::TmpfsKey)
                    {
                        let _ = existing;
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
            for (i, m) in mounts.iter().enumerate() {
                if let Some(first) = mounts[..i].iter().position(|o| {
                    o.target == m.target
                        && o.syntax != MountSyntax::TmpfsKey
                        && m.syntax != MountSyntax::TmpfsKey
                }) {
                    self.errors.push(Problem { related: mounts[first].loc, ..problem(m.loc, ProblemKind::Invalid, format!("services.{name}.volumes[{i}]: target `{}` is already mounted by services.{name}.volumes[{first}]", m.target)) });
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
                ValueKind::Scalar { text, .. } => Some(text.clone()),
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
                name: name.clone(),
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
            ValueKind::Scalar { text, .. } => (text.clone(), None, None),
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

    fn lower_mount(
        &mut self,
        service: &str,
        index: usize,
        item: &Value,
        project: &Project,
    ) -> Option<Mount> {
        let base_dir = self
            .base_dirs
            .get(item.loc.file)
            .map(|d| d.to_string_lossy().into_owned())
            .unwrap_or_default();
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
                            .map(|s| mounts::resolve_bind_source(s, &base_dir, &self.home)),
                        None,
                    ),
                    MountKind::Named => {
                        let key = parsed.source.clone().unwrap_or_default();
                        (
                            self.named_volume(service, &key, item.loc, project),
                            Some(key),
                        )
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
                            self.named_volume(service, s, item.loc, project),
                            Some(s.clone()),
                        ),
                        None => (MountKind::Anonymous, None, None),
                    },
                    MountKind::Bind => match &source {
                        Some(s) => (
                            MountKind::Bind,
                            Some(mounts::resolve_bind_source(s, &base_dir, &self.home)),
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

    fn unset_at(&self, item: &Value) -> bool {
        self.unset.iter().any(|(_, l)| {
            l.file == item.loc.file && l.start >= item.loc.start && l.end <= item.loc.end
        })
    }

    /// The engine name of a named volume, or an error when it is not declared.
    fn named_volume(
        &mut self,
        service: &str,
        key: &str,
        loc: Loc,
        project: &Project,
    ) -> Option<String> {
        match project.volumes.iter().find(|v| v.key == key) {
            Some(v) => Some(v.name.clone()),
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
                    .map(String::as_str)
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
                if required && !services.contains_key(&dep) {
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
        let deps = |name: &str| -> Vec<String> {
            services
                .get(name)
                .map(|e| {
                    dependencies(&e.value)
                        .into_iter()
                        .map(|(d, _, _)| d)
                        .collect()
                })
                .unwrap_or_default()
        };
        // Iterative depth-first search with colours, so long chains cannot overflow the stack.
        let mut state: IndexMap<String, u8> = IndexMap::new();
        for start in services.keys().filter(|k| enabled.contains(k.as_str())) {
            if state.get(start).copied().unwrap_or(0) != 0 {
                continue;
            }
            let mut stack: Vec<(String, Vec<String>)> = vec![(start.clone(), deps(start))];
            state.insert(start.clone(), 1);
            while let Some((node, pending)) = stack.last_mut() {
                match pending.pop() {
                    Some(next) => match state.get(&next).copied().unwrap_or(0) {
                        0 if services.contains_key(&next) => {
                            state.insert(next.clone(), 1);
                            let d = deps(&next);
                            stack.push((next, d));
                        }
                        1 => {
                            let mut cycle: Vec<String> = stack
                                .iter()
                                .map(|(n, _)| n.clone())
                                .skip_while(|n| *n != next)
                                .collect();
                            cycle.push(next.clone());
                            let loc = services.get(&next).map(|e| e.key_loc);
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
                        state.insert(node.clone(), 2);
                        stack.pop();
                    }
                }
            }
        }
    }
}

/// The services a service needs (compose adds implicit `depends_on` for all but the first):
/// `depends_on` (with `required`), `links`, `volumes_from`, and `service:` network/ipc/pid modes.
fn dependencies(v: &Value) -> Vec<(String, Loc, bool)> {
    let mut out = Vec::new();
    match v.get("depends_on").map(|d| &d.kind) {
        Some(ValueKind::Seq(items)) => out.extend(
            items
                .iter()
                .filter_map(|i| Some((i.as_str()?.to_owned(), i.loc, true))),
        ),
        Some(ValueKind::Map(m)) => out.extend(m.iter().map(|(k, e)| {
            (
                k.clone(),
                e.key_loc,
                e.value.get("required").and_then(Value::as_bool) != Some(false),
            )
        })),
        _ => {}
    }
    for link in v.get("links").and_then(Value::as_seq).unwrap_or_default() {
        if let Some(text) = link.as_str() {
            out.push((
                text.split(':').next().unwrap_or(text).to_owned(),
                link.loc,
                true,
            ));
        }
    }
    for from in v
        .get("volumes_from")
        .and_then(Value::as_seq)
        .unwrap_or_default()
    {
        if let Some(text) = from.as_str().filter(|t| !t.starts_with("container:")) {
            out.push((
                text.split(':').next().unwrap_or(text).to_owned(),
                from.loc,
                true,
            ));
        }
    }
    for key in ["network_mode", "ipc", "pid"] {
        if let Some(mode) = v.get(key)
            && let Some(service) = mode.as_str().and_then(|m| m.strip_prefix("service:"))
        {
            out.push((service.to_owned(), mode.loc, true));
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
    Value::new(ValueKind::Map(Map::new()), loc)
}

fn article(type_name: &str) -> String {
    match type_name {
        "array" | "mapping" => format!("an {type_name}"),
        "null" => "null".into(),
        t => format!("a {t}"),
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
fn lower_environment(
    env_value: Option<&Value>,
    env: &ProjectEnv,
) -> IndexMap<String, Option<String>> {
    use crate::interpolate::Vars;
    let Some(v) = env_value else {
        return IndexMap::new();
    };
    merge::key_value_map(v)
        .into_iter()
        .map(|(k, e)| {
            let value = match &e.value.kind {
                ValueKind::Null => env.get(&k).map(str::to_owned),
                ValueKind::Scalar { text, .. } => Some(text.clone()),
                _ => None,
            };
            (k, value)
        })
        .collect()
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

/// Service keys of the compose specification (schema `#/definitions/service`).
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
