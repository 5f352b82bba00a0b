//! Loading a project as compose does: per file parse → interpolate → include → extends → merge →
//! uniqueness; then project name, profiles, the typed model and compose's consistency checks.
//!
//! This module owns the options, the `Loader` state shared by the stages and the order they run
//! in; each stage lives in its own file: reading files and the project's budgets (`read`),
//! `include`, `extends`, validation and consistency checks (`validate`), and the lowering of the
//! merged value tree to the typed model (`lower`). What they find wrong is typed data
//! (`problem`), worded once for every output.

mod extends;
mod include;
mod keys;
mod lower;
pub(crate) mod problem;
mod read;
mod validate;

use lower::Lowering;
use read::{MAX_FILE_DEPTH, read_text};

use std::path::{Path, PathBuf};
use std::sync::Arc;

use compact_str::CompactString;
use foldhash::{HashMap, HashSet, HashSetExt};
use indexmap::IndexMap;

use crate::compose::env::ProjectEnv;
use crate::compose::merge;
use crate::compose::model::*;
use crate::compose::mounts;
use crate::compose::schema;
use crate::yaml::syntax;
use crate::yaml::value::{self, FileId, Loc, Map, Value, ValueErrorKind, ValueKind};

pub(crate) use keys::SERVICE_KEYS;

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
    /// File contents to use instead of what is on disk (the fix loop re-loads edited text, the
    /// language server an editor's unsaved text): compose files and env files.
    pub overlay: Overlay,
}

/// Texts by absolute path, read instead of the files on disk.
pub(crate) type Overlay = foldhash::HashMap<PathBuf, Arc<str>>;

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
    /// Service volume entries already merged by an earlier document (or loaded through
    /// `extends` from another file): compose holds them in long syntax, short targets cleaned.
    canonical_volumes: HashSet<Loc>,
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
    /// YAML nodes the files read from now on may still hold (`syntax::MAX_NODES` in all).
    nodes_left: usize,
    /// Whether a read over `MAX_FILES_READ` or `MAX_PROJECT_BYTES` was reported.
    load_limit_reported: bool,
    /// The variable scope files are loaded in now (0: the project's; one per `include`), and
    /// how many scopes there have been.
    env_scope: usize,
    env_scopes: usize,
    /// What the schema refused in the model merged after each document; reported at the end
    /// where no other check already explains the same node.
    schema_violations: Vec<schema::Violation>,
    /// The `name:` of the last main file that sets one, when interpolation left it empty:
    /// compose then refuses the project instead of naming it after the directory.
    name_emptied: Option<Loc>,
}

fn abs(base: &Path, p: &Path) -> PathBuf {
    let joined = if p.is_absolute() {
        p.to_path_buf()
    } else {
        base.join(p)
    };
    match joined.to_str() {
        Some(text) => PathBuf::from(mounts::clean_path(text)),
        // A path that is not UTF-8 (a directory named in another encoding) is cleaned part by
        // part, its bytes kept: cleaned as text, it would name another file.
        None => clean_os_path(&joined),
    }
}

/// `clean_path` of a path that is not UTF-8: `.` dropped, `..` taking the part before away.
fn clean_os_path(p: &Path) -> PathBuf {
    use std::path::Component;
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir
                if matches!(out.components().next_back(), Some(Component::Normal(_))) =>
            {
                out.pop();
            }
            Component::ParentDir if out.has_root() => {}
            c => out.push(c),
        }
    }
    out
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
            canonical_volumes: HashSet::new(),
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
            env_scope: 0,
            env_scopes: 0,
            schema_violations: Vec::new(),
            name_emptied: None,
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
            if dotenv.is_file() || self.opts.overlay.contains_key(&dotenv) {
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
            match read_text(&self.opts.overlay, path) {
                Ok(text) => {
                    if let Err(e) = env.add_env_file(path, &text) {
                        env_errors.push((path.clone(), text, e));
                    }
                }
                Err(reason) => self.errors.push(Problem::new(
                    None,
                    Issue::EnvFileUnreadable {
                        path: self.display(path),
                        reason,
                    },
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
            let issue = Issue::EnvFileInvalid {
                path: self.display(&path),
                reason: e.to_string(),
            };
            self.errors.push(Problem::new(Some(loc), issue));
        }
        self.finish(dict, directory, main_files, &env)
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
            self.errors
                .push(Problem::new(Some(at), Issue::NestedTooDeeply));
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
                let issue = match (e.kind, e.key) {
                    (ValueErrorKind::DuplicateKey, Some(key)) => Issue::DuplicateKey {
                        key: key.into(),
                        message: e.message,
                    },
                    // The budget is the project's: once spent, say so once.
                    (ValueErrorKind::TooLarge, _) if self.expansion_spent => continue,
                    (kind, _) => {
                        self.expansion_spent |= kind == ValueErrorKind::TooLarge;
                        Issue::Value {
                            kind,
                            message: e.message,
                        }
                    }
                };
                self.errors.push(Problem {
                    related: e.related,
                    ..Problem::new(Some(e.loc), issue)
                });
            }
            let Some(mut cfg) = built else { continue };
            if cfg.as_map().is_none() {
                self.errors
                    .push(Problem::new(Some(cfg.loc), Issue::TopLevelNotMapping));
                continue;
            }
            let written_name = cfg
                .get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| !n.is_empty());
            self.interpolate(&mut cfg, env);
            self.schema_violations.extend(schema::cast_failures(&cfg));
            if written_name && self.role == FileRole::Main {
                let name = cfg.get("name");
                self.name_emptied = name.filter(|v| v.as_str() == Some("")).map(|v| v.loc);
            }
            self.apply_include(&mut cfg, id, env);
            self.apply_extends(&mut cfg, id, env);
            if let Some(v) = cfg.as_map().and_then(|m| m.get("version")) {
                self.version_keys.push(v.key_loc);
            }
            self.validate_top_level(&cfg);
            let keys: Vec<CompactString> = cfg
                .as_map()
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            let touched: Vec<CompactString> = cfg
                .get("services")
                .and_then(Value::as_map)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default();
            dict = merge::merge(dict, cfg, &[]);
            self.reject_null_sections(&dict);
            self.enforce_unicity(&mut dict, &touched);
            // compose-go validates the model merged so far against the schema after each
            // document, so every file is checked as written, before later files override it;
            // a file read for `extends` is validated through the services that extend it.
            // Only what the document wrote is checked: the rest passed when it was merged.
            // Extension keys (`x-…`) take any value: a document of only those needs no check.
            if self.role != FileRole::Extended && keys.iter().any(|k| !k.starts_with("x-")) {
                let part = schema::Touched {
                    keys: keys.iter().map(CompactString::as_str).collect(),
                    services: touched.iter().map(CompactString::as_str).collect(),
                };
                self.schema_violations.extend(schema::check(&dict, &part));
            }
            self.canonicalize_volumes(&mut dict, &touched);
        }
        dict
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

    fn finish(
        &mut self,
        dict: Value,
        directory: PathBuf,
        main_files: Vec<FileId>,
        env: &ProjectEnv,
    ) -> Project {
        let (name, name_origin) = lower::project_name(
            self.opts.project_name.as_deref(),
            &dict,
            &directory,
            env,
            &mut self.errors,
        );
        if name_origin == NameOrigin::Directory
            && let Some(loc) = self.name_emptied
        {
            self.errors
                .push(Problem::new(Some(loc), Issue::EmptyProjectName));
        }
        let mut project = Project {
            name,
            name_origin,
            directory,
            files: Vec::new(),
            main_files,
            services: Vec::new(),
            volumes: Vec::new(),
            volume_index: Default::default(),
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
            let start = Loc {
                file: project.main_files.first().copied().unwrap_or(0),
                start: 0,
                end: 0,
            };
            self.errors
                .push(Problem::new(Some(start), Issue::EmptyFile));
        }
        // The variables used without a value, now the project's: entries built from them are
        // marked unresolved while lowering.
        let mut lowering = Lowering::new(
            &self.opts.profiles,
            &self.opts.overlay,
            &self.base_dirs,
            &self.home,
            &project.unset_variables,
            &mut self.errors,
            &mut self.warnings,
        );
        project.volumes = lowering.volumes(&dict, &project.name);
        for (i, v) in project.volumes.iter().enumerate() {
            project.volume_index.entry(v.key.clone()).or_insert(i);
        }
        project.services = lowering.services(&dict, &project.volumes, env);
        self.check_consistency(&dict, &project);
        self.schema_violations.extend(schema::size_failures(&dict));
        self.report_schema_violations();
        let errors = std::mem::take(&mut self.errors);
        project.errors = self.distinct(errors);
        project.warnings = std::mem::take(&mut self.warnings);
        project.files = std::mem::take(&mut self.files);
        project
    }
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

/// The path standard input stands for (`--stdin-filename`, relative to the working directory).
pub(crate) fn stdin_path(opts: &LoadOptions) -> PathBuf {
    abs(
        &opts.cwd,
        opts.stdin_filename
            .as_deref()
            .unwrap_or(Path::new("stdin.yaml")),
    )
}

/// compose-go `NormalizeProjectName`: lowercase, keep `[a-z0-9_-]`, trim leading `_` and `-`.
pub(crate) fn normalize_project_name(s: &str) -> String {
    let lower = s.to_lowercase();
    let kept: String = lower
        .chars()
        .filter(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '_' || *c == '-')
        .collect();
    kept.trim_start_matches(['_', '-']).to_owned()
}
