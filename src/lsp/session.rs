//! What the server knows between messages: the open documents (the editor's unsaved text, read by
//! the loader through its overlay), the settings, each configuration file and knowledge base
//! loaded once, and every project a document belongs to with its last lint. Linting a project
//! yields the diagnostics of every file it read; [`Session::diagnostics_of`] joins those of the
//! projects that share a file.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use foldhash::{HashMap, HashSet};
use indexmap::IndexMap;
use lsp_types::{Diagnostic, Uri};
use serde::Deserialize;

use super::features;
use super::text::path_uri;
use crate::analysis::{self, ServiceAnalysis};
use crate::compose::loader::{self, LoadOptions, Overlay};
use crate::compose::model::Project;
use crate::finding::Finding;
use crate::images::KnowledgeBase;
use crate::lint::config::{self, Config, ConfigError};
use crate::lint::{self, RuleSettings};
use crate::rules::convert::FixSettings;
use crate::workspace::discover;

/// Settings from `initializationOptions` or `workspace/didChangeConfiguration` (either this
/// object, or it under a `stowage` key).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(default, rename_all = "camelCase")]
pub(crate) struct Settings {
    /// A configuration file for every project (default: the nearest `.stowage.yaml`).
    pub(crate) config: Option<PathBuf>,
    /// Only these rules.
    pub(crate) select: Vec<String>,
    /// Never these rules.
    pub(crate) ignore: Vec<String>,
}

impl Settings {
    /// The settings in `value` (None when it holds none that stowage reads).
    pub(crate) fn from_json(value: &serde_json::Value) -> Option<Result<Settings, String>> {
        let value = value.get("stowage").unwrap_or(value);
        if !value.is_object() {
            return None;
        }
        Some(Settings::deserialize(value).map_err(|e| format!("stowage settings: {e}")))
    }
}

/// A document the editor has open.
pub(crate) struct Document {
    /// As the editor named it (it expects diagnostics under that very URI).
    pub(crate) uri: Uri,
    pub(crate) text: Arc<str>,
}

/// A configuration and the knowledge base it makes, loaded once (until its file changes).
pub(crate) struct Configured {
    pub(crate) config: Config,
    pub(crate) kb: Cow<'static, KnowledgeBase>,
}

/// One project as the editor's documents make it now.
pub(crate) struct Linted {
    pub(crate) project: Project,
    pub(crate) analysis: Vec<ServiceAnalysis>,
    pub(crate) findings: Vec<Finding>,
    pub(crate) opts: LoadOptions,
    pub(crate) configured: Arc<Configured>,
    pub(crate) settings: RuleSettings,
}

/// A project a document belongs to.
struct Tracked {
    /// Its compose files in merge order (what `-f` would name).
    files: Vec<PathBuf>,
    /// Every file whose text decides it: compose files read (includes, extends), `.env`, the
    /// configuration file.
    members: HashSet<PathBuf>,
    linted: Option<Linted>,
    /// The diagnostics of its last lint, by file.
    diagnostics: HashMap<PathBuf, Vec<Diagnostic>>,
}

pub(crate) struct Session {
    pub(crate) settings: Settings,
    docs: HashMap<PathBuf, Document>,
    projects: Vec<Tracked>,
    /// Projects to lint again before the next answer.
    dirty: HashSet<usize>,
    /// Projects linted (when they were found) whose diagnostics are not published yet.
    fresh: HashSet<usize>,
    /// Files that had diagnostics from a project no longer tracked: published again (empty, or
    /// with what the projects still tracked say).
    withdrawn: HashSet<PathBuf>,
    configs: HashMap<PathBuf, Arc<Configured>>,
    /// The nearest configuration file of each directory looked at.
    nearest:
        Mutex<std::collections::HashMap<PathBuf, Option<PathBuf>, foldhash::fast::RandomState>>,
    /// The workspace folders: where projects that include a document are looked for.
    roots: Vec<PathBuf>,
    process_env: Arc<IndexMap<String, String>>,
}

/// How many directories above a document projects are looked for when there is no workspace.
const PARENTS_WITHOUT_ROOT: usize = 2;

impl Session {
    pub(crate) fn new(settings: Settings, roots: Vec<PathBuf>) -> Session {
        Session {
            settings,
            docs: HashMap::default(),
            projects: Vec::new(),
            dirty: HashSet::default(),
            fresh: HashSet::default(),
            withdrawn: HashSet::default(),
            configs: HashMap::default(),
            nearest: Mutex::default(),
            roots,
            process_env: Arc::new(
                std::env::vars_os()
                    .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
                    .collect(),
            ),
        }
    }

    pub(crate) fn has_dirty(&self) -> bool {
        !self.dirty.is_empty() || !self.fresh.is_empty() || !self.withdrawn.is_empty()
    }

    pub(crate) fn document(&self, path: &Path) -> Option<&Document> {
        self.docs.get(path)
    }

    /// The editor opened a document: the projects that read it are linted again, or found
    /// when none does yet.
    pub(crate) fn open(&mut self, path: PathBuf, uri: Uri, text: String, language: &str) {
        let compose = language.contains("compose");
        let text: Arc<str> = Arc::from(text);
        self.docs.insert(path.clone(), Document { uri, text });
        if !self.touched(&path) {
            self.track(&path, compose);
        }
    }

    /// The editor changed an open document (`text` is the whole of it now). Projects are looked
    /// for when it is opened, not at every keystroke.
    pub(crate) fn change(&mut self, path: PathBuf, text: String) -> Result<(), String> {
        let doc = self
            .docs
            .get_mut(&path)
            .ok_or_else(|| format!("{} is not open", path.display()))?;
        doc.text = Arc::from(text);
        self.touched(&path);
        Ok(())
    }

    /// The editor closed a document: the file on disk decides again, and a project none of
    /// whose files is open any more is no longer followed.
    pub(crate) fn close(&mut self, path: &Path) {
        if self.docs.remove(path).is_some() {
            self.touched(path);
            self.untrack_unopened();
        }
    }

    /// Forgets the projects none of whose files is open: their diagnostics are withdrawn at the
    /// next flush (a file another project still reads keeps what that project says).
    fn untrack_unopened(&mut self) {
        let mut kept = Vec::with_capacity(self.projects.len());
        let mut moved: HashMap<usize, usize> = HashMap::default();
        for (index, tracked) in std::mem::take(&mut self.projects).into_iter().enumerate() {
            if tracked.members.iter().any(|m| self.docs.contains_key(m)) {
                moved.insert(index, kept.len());
                kept.push(tracked);
            } else {
                self.withdrawn.extend(tracked.diagnostics.into_keys());
            }
        }
        self.projects = kept;
        let renumber = |set: &HashSet<usize>| -> HashSet<usize> {
            set.iter().filter_map(|i| moved.get(i).copied()).collect()
        };
        self.dirty = renumber(&self.dirty);
        self.fresh = renumber(&self.fresh);
    }

    /// A file saved or changed on disk (the configuration, an env file).
    pub(crate) fn changed_on_disk(&mut self, path: &Path) {
        self.touched(path);
    }

    /// New settings: every project is linted again with them.
    pub(crate) fn set_settings(&mut self, settings: Settings) {
        self.settings = settings;
        self.configs.clear();
        self.dirty.extend(0..self.projects.len());
    }

    /// Marks the projects `path` decides as dirty (a configuration file is loaded again);
    /// whether there are any.
    fn touched(&mut self, path: &Path) -> bool {
        let is_config = config::FILE_NAMES.iter().any(|n| path.ends_with(n));
        if self.configs.remove(path).is_some() || is_config {
            self.nearest
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .clear();
        }
        let holding: Vec<usize> = (0..self.projects.len())
            .filter(|&i| self.projects[i].members.contains(path))
            .collect();
        self.dirty.extend(&holding);
        !holding.is_empty()
    }

    /// Finds the projects an opened document belongs to: its directory's project (base and
    /// override) and those of directories above that include or extend it; else the document
    /// alone when it is a compose file (`compose.prod.yaml`).
    fn track(&mut self, path: &Path, compose_language: bool) {
        let named = path
            .file_name()
            .is_some_and(|n| discover::is_compose_name(&n.to_string_lossy()));
        let mut candidates: Vec<Vec<PathBuf>> = Vec::new();
        let root = self.roots.iter().find(|r| path.starts_with(r));
        for (depth, dir) in path.ancestors().skip(1).enumerate() {
            let inside = match root {
                Some(r) => dir.starts_with(r),
                None => depth <= PARENTS_WITHOUT_ROOT,
            };
            if !inside {
                break;
            }
            // A project tracked already does not read the document (`touched` said so).
            if let Some(files) = discover::default_files(dir)
                && !candidates.contains(&files)
                && !self.projects.iter().any(|t| t.files == files)
            {
                candidates.push(files);
            }
        }
        let mut found = false;
        for files in candidates {
            let index = self.projects.len();
            self.projects.push(Tracked {
                files,
                members: HashSet::default(),
                linted: None,
                diagnostics: HashMap::default(),
            });
            self.lint_project(index);
            if self.projects[index].members.contains(path) {
                found = true;
                self.fresh.insert(index);
            } else {
                self.projects.pop();
            }
        }
        if !found && (named || compose_language) {
            let index = self.projects.len();
            self.projects.push(Tracked {
                files: vec![path.to_path_buf()],
                members: [path.to_path_buf()].into_iter().collect(),
                linted: None,
                diagnostics: HashMap::default(),
            });
            self.dirty.insert(index);
        }
    }

    /// Lints every dirty project; returns the files whose diagnostics are to be published (every
    /// file those projects read, and those that had diagnostics from them).
    pub(crate) fn flush(&mut self) -> Vec<PathBuf> {
        let mut files: Vec<PathBuf> = std::mem::take(&mut self.withdrawn).into_iter().collect();
        let dirty = std::mem::take(&mut self.dirty);
        let mut fresh: Vec<usize> = std::mem::take(&mut self.fresh).into_iter().collect();
        fresh.retain(|i| !dirty.contains(i));
        let mut dirty: Vec<usize> = dirty.into_iter().collect();
        dirty.sort_unstable();
        for (index, lint) in fresh
            .into_iter()
            .map(|i| (i, false))
            .chain(dirty.into_iter().map(|i| (i, true)))
        {
            files.extend(self.projects[index].diagnostics.keys().cloned());
            if lint {
                self.lint_project(index);
            }
            let tracked = &self.projects[index];
            files.extend(tracked.diagnostics.keys().cloned());
            files.extend(
                tracked
                    .linted
                    .iter()
                    .flat_map(|l| l.project.files.iter().map(|f| f.source.path.clone())),
            );
        }
        let mut seen = HashSet::default();
        files.retain(|f| f.is_absolute() && seen.insert(f.clone()));
        files
    }

    /// The diagnostics of `path` from every project that read it (a file two projects include
    /// says each thing once).
    pub(crate) fn diagnostics_of(&self, path: &Path) -> Vec<Diagnostic> {
        let mut out: Vec<Diagnostic> = Vec::new();
        for tracked in &self.projects {
            for d in tracked.diagnostics.get(path).into_iter().flatten() {
                if !out.contains(d) {
                    out.push(d.clone());
                }
            }
        }
        out
    }

    /// The URI to publish `path`'s diagnostics under: the editor's own for an open document.
    pub(crate) fn uri_of(&self, path: &Path) -> Option<Uri> {
        match self.docs.get(path) {
            Some(d) => Some(d.uri.clone()),
            None => path_uri(path),
        }
    }

    /// The lints of the projects that read `path`.
    pub(crate) fn linted_with(&self, path: &Path) -> impl Iterator<Item = &Linted> {
        let path = path.to_path_buf();
        self.projects
            .iter()
            .filter_map(|t| t.linted.as_ref())
            .filter(move |l| l.project.files.iter().any(|f| f.source.path == path))
    }

    fn overlay(&self) -> Overlay {
        self.docs
            .iter()
            .map(|(p, d)| (p.clone(), Arc::clone(&d.text)))
            .collect()
    }

    /// The configuration of projects in `dir`: the settings' file, else the nearest one (the
    /// editor's text when it is open).
    fn configured(&mut self, dir: &Path) -> Result<Arc<Configured>, ConfigError> {
        let path = match &self.settings.config {
            Some(p) => Some(p.clone()),
            None => config::find(dir, &self.nearest),
        };
        let key = path.clone().unwrap_or_default();
        if let Some(c) = self.configs.get(&key) {
            return Ok(Arc::clone(c));
        }
        let config = match &path {
            None => Config::default(),
            Some(p) => match self.docs.get(p) {
                Some(doc) => {
                    let mut c = config::parse(&p.display().to_string(), &doc.text)?;
                    c.path = Some(p.clone());
                    c
                }
                None => config::load(p)?,
            },
        };
        let kb = config.knowledge_base().map_err(|message| ConfigError {
            path: key.display().to_string(),
            line: 1,
            column: 1,
            message,
        })?;
        let configured = Arc::new(Configured { config, kb });
        self.configs.insert(key, Arc::clone(&configured));
        Ok(configured)
    }

    /// Loads, analyses and lints one project with the documents' text; a configuration that
    /// cannot be used becomes a diagnostic of its file.
    fn lint_project(&mut self, index: usize) {
        let files = self.projects[index].files.clone();
        let dir = files
            .first()
            .and_then(|f| f.parent())
            .map(Path::to_path_buf)
            .unwrap_or_default();
        let opts = LoadOptions {
            files,
            process_env: Arc::clone(&self.process_env),
            cwd: dir.clone(),
            overlay: self.overlay(),
            ..LoadOptions::default()
        };
        let configured = match self.configured(&dir) {
            Ok(c) => c,
            Err(e) => {
                let tracked = &mut self.projects[index];
                let path = self
                    .settings
                    .config
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(&e.path));
                tracked.members.insert(path.clone());
                tracked.linted = None;
                tracked.diagnostics = [(path, vec![features::config_diagnostic(&e)])]
                    .into_iter()
                    .collect();
                return;
            }
        };
        let settings = RuleSettings {
            select: self.settings.select.clone(),
            ignore: self.settings.ignore.clone(),
            severity: configured
                .config
                .rules
                .iter()
                .map(|(id, level)| (id.clone(), *level))
                .collect(),
            fixes: FixSettings {
                name_template: configured.config.migrate.name_template.clone(),
                ..FixSettings::default()
            },
        };
        let linted = catch_unwind(AssertUnwindSafe(|| {
            let project = loader::load(&opts);
            let analysis = analysis::analyse(&project, &configured.kb);
            let findings = lint::run(
                &project,
                &analysis,
                &configured.kb,
                &settings,
                &configured.config,
            );
            (project, analysis, findings)
        }));
        let Ok((project, analysis, findings)) = linted else {
            let tracked = &mut self.projects[index];
            // A bug in stowage: the project keeps no diagnostics rather than stale ones.
            eprintln!(
                "stowage server: internal error while checking {}",
                opts.files
                    .first()
                    .map(|f| f.display().to_string())
                    .unwrap_or_default()
            );
            tracked.linted = None;
            tracked.diagnostics.clear();
            return;
        };
        let diagnostics = features::diagnostics(&project, &findings, |p| self.uri_of(p));
        let tracked = &mut self.projects[index];
        tracked.members = project
            .files
            .iter()
            .map(|f| f.source.path.clone())
            .collect();
        tracked.members.insert(project.directory.join(".env"));
        tracked.members.extend(configured.config.path.clone());
        tracked.members.extend(opts.files.iter().cloned());
        tracked.diagnostics = diagnostics;
        tracked.linted = Some(Linted {
            project,
            analysis,
            findings,
            opts,
            configured,
            settings,
        });
    }
}
