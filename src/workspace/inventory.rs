//! Runs the loader over every project the command line names, in parallel, and keeps the results
//! in command-line order. A panic while loading one project becomes a failure for that project.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::analysis::{self, ServiceAnalysis};
use crate::compose::loader::{self, LoadOptions};
use crate::compose::model::{ProblemKind, Project};
use crate::images::KnowledgeBase;
use crate::workspace::discover::{self, ProjectFiles};

/// Everything loaded for one command.
pub struct Inventory {
    pub projects: Vec<(Project, Vec<ServiceAnalysis>)>,
    /// How each project was loaded (same order as `projects`), to load it again after fixes.
    pub(crate) options: Vec<LoadOptions>,
    /// Paths that could not be processed at all (missing, or a bug while loading).
    pub(crate) failures: Vec<Failure>,
    pub(crate) cwd: PathBuf,
}

#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) path: Option<String>,
    pub(crate) message: String,
}

impl Failure {
    /// `path: message` on one line, for the comment lines of the graph formats.
    pub(crate) fn one_line(&self) -> String {
        let path = self
            .path
            .as_deref()
            .map(|p| format!("{p}: "))
            .unwrap_or_default();
        format!("{path}{}", self.message.replace('\n', " "))
    }
}

/// How the command line asked for projects.
#[derive(Debug, Clone, Default)]
pub struct Request {
    /// Positional paths (files or directories); empty = compose's discovery from `cwd`.
    pub paths: Vec<PathBuf>,
    /// `-f` files: one project merged in this order (takes precedence over `paths`).
    pub files: Vec<PathBuf>,
    /// Options shared by every project (files filled in per project).
    pub load: LoadOptions,
}

impl Inventory {
    pub(crate) fn display_dir(&self, dir: &Path) -> String {
        match dir.strip_prefix(&self.cwd) {
            Ok(p) if p.as_os_str().is_empty() => ".".into(),
            Ok(p) => p.display().to_string(),
            Err(_) => dir.display().to_string(),
        }
    }

    /// stowage could not do its job: a path is missing, or a file named on the command line
    /// (compose file, env file) could not be read.
    pub(crate) fn has_failures(&self) -> bool {
        !self.failures.is_empty()
            || self
                .projects
                .iter()
                .any(|(p, _)| p.errors.iter().any(|e| e.kind == ProblemKind::Io))
    }

    pub(crate) fn has_errors(&self) -> bool {
        !self.failures.is_empty() || self.projects.iter().any(|(p, _)| p.is_rejected())
    }
}

pub fn collect(request: &Request, kb: &KnowledgeBase) -> Inventory {
    let (planned, mut failures) = plan(request);
    let projects: Vec<Result<_, Failure>> = planned
        .par_iter()
        .map(|set| {
            let opts = options(request, set);
            load(&opts, kb).map(|(project, analysis)| (project, analysis, opts))
        })
        .collect();
    let mut loaded = Vec::new();
    let mut options = Vec::new();
    for p in projects {
        match p {
            Ok((project, analysis, opts)) => {
                loaded.push((project, analysis));
                options.push(opts);
            }
            Err(f) => failures.push(f),
        }
    }
    Inventory {
        projects: loaded,
        options,
        failures,
        cwd: request.load.cwd.clone(),
    }
}

/// One loaded project and its analysis.
pub(crate) type Loaded = (Project, Vec<ServiceAnalysis>);

/// The projects the command line names, in command-line order, and the paths that name nothing.
/// Cheap: nothing is loaded (`options` and `load` do that), so a command can load, check and
/// drop projects a few at a time.
pub(crate) fn plan(request: &Request) -> (Vec<ProjectFiles>, Vec<Failure>) {
    let cwd = &request.load.cwd;
    let mut failures = Vec::new();
    let mut sets: Vec<ProjectFiles> = Vec::new();
    if !request.files.is_empty() {
        sets.push(ProjectFiles {
            files: request.files.clone(),
        });
    } else if request.paths.is_empty() {
        let env = &request.load.process_env;
        match discover::from_working_dir(
            cwd,
            env.get("COMPOSE_FILE").map(String::as_str),
            env.get("COMPOSE_PATH_SEPARATOR").map(String::as_str),
        ) {
            Ok(p) => sets.push(p),
            Err(e) => failures.push(Failure {
                path: None,
                message: e.to_string(),
            }),
        }
    } else {
        // Each path is looked at (a `stat`, or a directory walk) on any core: a hook may name
        // hundreds of files. One path stays on this thread (no thread pool for one file).
        let find = |path: &PathBuf| {
            if path.is_absolute() {
                discover::from_path(path)
            } else {
                discover::from_path(&cwd.join(path))
            }
        };
        let found: Vec<_> = if request.paths.len() > 1 {
            request.paths.par_iter().map(find).collect()
        } else {
            request.paths.iter().map(find).collect()
        };
        for (path, result) in request.paths.iter().zip(found) {
            match result {
                Ok(found) => {
                    sets.extend(found.projects);
                    failures.extend(found.skipped.into_iter().map(|s| Failure {
                        path: Some(s.path),
                        message: s.reason,
                    }));
                }
                Err(e) => failures.push(Failure {
                    path: Some(path.display().to_string()),
                    message: match e {
                        discover::DiscoverError::NotAFile(_) => {
                            "not a regular file or directory (a device, FIFO or socket)".into()
                        }
                        discover::DiscoverError::Unreadable(_, reason) => {
                            format!("cannot read: {reason}")
                        }
                        discover::DiscoverError::NoneUnder(_) => "no compose file found under this directory (looked for compose*.yaml and docker-compose*.yml)".into(),
                        _ => "no such file or directory".into(),
                    },
                }),
            }
        }
    }
    let sets = unique_sets(sets);
    if sets.len() > 1 {
        keep_freed_memory();
    }
    (sets, failures)
}

/// Asks glibc's allocator to keep the memory a project frees for the next one. Projects are
/// loaded, checked and dropped in turn, and a thread's freed memory went back to the system as
/// soon as more than 128 KiB of it was free at the top of its heap (`M_TRIM_THRESHOLD`): the
/// next project asked for it again (`mprotect`) and touched every page anew, a page fault
/// each. Freeing a block big enough to have had its own mapping raises that threshold to twice
/// the block's size (the dynamic mmap threshold of mallopt(3)), the one way to set it without
/// `unsafe`. On 200 corpus files: 131 `mprotect`s became 80, 626 page faults 545, and a run
/// took 5-9% less time. Another allocator only maps and unmaps a block it never touches; where
/// the block cannot be had (a tight memory limit), nothing is asked.
fn keep_freed_memory() {
    let mut block: Vec<u8> = Vec::new();
    if block.try_reserve_exact(16 << 20).is_ok() {
        drop(std::hint::black_box(block));
    }
}

/// How to load one planned project.
pub(crate) fn options(request: &Request, set: &ProjectFiles) -> LoadOptions {
    let mut opts = request.load.clone();
    opts.files = set.files.clone();
    opts
}

/// A file named twice, or a base file named next to its override (pre-commit passes both),
/// is one project: drops sets contained in another set (a later set replaces the earlier ones
/// it contains). Indexed by file, so that thousands of sets are not compared pairwise.
fn unique_sets(sets: Vec<ProjectFiles>) -> Vec<ProjectFiles> {
    use foldhash::{HashMap, HashMapExt};
    let mut unique: Vec<Option<ProjectFiles>> = Vec::new();
    // File -> the entries of `unique` holding it (entries may have been dropped since).
    let mut holders: HashMap<PathBuf, Vec<usize>> = HashMap::new();
    // Entries without files: contained in every set.
    let mut empty: Vec<usize> = Vec::new();
    let contains =
        |u: &ProjectFiles, set: &ProjectFiles| set.files.iter().all(|f| u.files.contains(f));
    for set in sets {
        let candidates: Vec<usize> = match set.files.first() {
            Some(first) => holders.get(first).cloned().unwrap_or_default(),
            None => (0..unique.len()).collect(),
        };
        if candidates
            .iter()
            .any(|&i| unique[i].as_ref().is_some_and(|u| contains(u, &set)))
        {
            continue;
        }
        let mut inside: Vec<usize> = empty.clone();
        for f in &set.files {
            inside.extend(holders.get(f).into_iter().flatten().copied());
        }
        for i in inside {
            if unique[i].as_ref().is_some_and(|u| contains(&set, u)) {
                unique[i] = None;
            }
        }
        let index = unique.len();
        for f in &set.files {
            holders.entry(f.clone()).or_default().push(index);
        }
        if set.files.is_empty() {
            empty.push(index);
        }
        unique.push(Some(set));
    }
    unique.into_iter().flatten().collect()
}

/// Loads and analyses one planned project; a panic becomes a failure of that project.
pub(crate) fn load(opts: &LoadOptions, kb: &KnowledgeBase) -> Result<Loaded, Failure> {
    catch_unwind(AssertUnwindSafe(|| {
        let project = loader::load(opts);
        let analysis = analysis::analyse(&project, kb);
        (project, analysis)
    }))
    .map_err(|panic| Failure {
        path: opts.files.first().map(|f| shown_path(&opts.cwd, f)),
        message: crate::faults::internal_error("loading this project", panic.as_ref()),
    })
}

/// A path as the user should see it: relative to the working directory when inside it.
fn shown_path(cwd: &Path, path: &Path) -> String {
    let cleaned = crate::compose::mounts::clean_path(&path.to_string_lossy());
    let cleaned = Path::new(&cleaned);
    match cleaned.strip_prefix(cwd) {
        Ok(p) if !p.as_os_str().is_empty() => p.display().to_string(),
        _ => cleaned.display().to_string(),
    }
}
