//! Runs the loader over every project the command line names, in parallel, and keeps the results
//! in command-line order. A panic while loading one project becomes a failure for that project.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::analysis::{self, ServiceAnalysis};
use crate::discover::{self, ProjectFiles};
use crate::images::KnowledgeBase;
use crate::model::{ProblemKind, Project};
use crate::project::{self, LoadOptions};

/// Everything loaded for one command.
pub struct Inventory {
    pub projects: Vec<(Project, Vec<ServiceAnalysis>)>,
    /// How each project was loaded (same order as `projects`), to load it again after fixes.
    pub options: Vec<LoadOptions>,
    /// Paths that could not be processed at all (missing, or a bug while loading).
    pub failures: Vec<Failure>,
    pub cwd: PathBuf,
}

#[derive(Debug, Clone)]
pub struct Failure {
    pub path: Option<String>,
    pub message: String,
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
    pub fn display_dir(&self, dir: &Path) -> String {
        match dir.strip_prefix(&self.cwd) {
            Ok(p) if p.as_os_str().is_empty() => ".".into(),
            Ok(p) => p.display().to_string(),
            Err(_) => dir.display().to_string(),
        }
    }

    /// stowage could not do its job: a path is missing, or a file named on the command line
    /// (compose file, env file) could not be read.
    pub fn has_failures(&self) -> bool {
        !self.failures.is_empty()
            || self
                .projects
                .iter()
                .any(|(p, _)| p.errors.iter().any(|e| e.kind == ProblemKind::Io))
    }

    pub fn has_errors(&self) -> bool {
        !self.failures.is_empty() || self.projects.iter().any(|(p, _)| p.is_rejected())
    }
}

pub fn collect(request: &Request, kb: &KnowledgeBase) -> Inventory {
    let cwd = request.load.cwd.clone();
    let mut failures = Vec::new();
    let mut sets: Vec<ProjectFiles> = Vec::new();
    if !request.files.is_empty() {
        sets.push(ProjectFiles {
            files: request.files.clone(),
        });
    } else if request.paths.is_empty() {
        let env = &request.load.process_env;
        match discover::from_working_dir(
            &cwd,
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
        for path in &request.paths {
            let full = if path.is_absolute() {
                path.clone()
            } else {
                cwd.join(path)
            };
            match discover::from_path(&full) {
                Ok(found) => sets.extend(found),
                Err(_) => failures.push(Failure {
                    path: Some(path.display().to_string()),
                    message: "no such file or directory".into(),
                }),
            }
        }
    }
    // A file named twice, or a base file named next to its override (pre-commit passes both),
    // is one project: drop sets contained in another set.
    let mut unique: Vec<ProjectFiles> = Vec::new();
    for set in sets {
        if unique
            .iter()
            .any(|u| set.files.iter().all(|f| u.files.contains(f)))
        {
            continue;
        }
        unique.retain(|u| !u.files.iter().all(|f| set.files.contains(f)));
        unique.push(set);
    }
    type Loaded = (Project, Vec<ServiceAnalysis>, LoadOptions);
    let projects: Vec<Result<Loaded, Failure>> = unique
        .par_iter()
        .map(|set| {
            let mut opts = request.load.clone();
            opts.files = set.files.clone();
            catch_unwind(AssertUnwindSafe(|| {
                let project = project::load(&opts);
                let analysis = analysis::analyse(&project, kb);
                (project, analysis, opts.clone())
            }))
            .map_err(|panic| {
                let what = panic
                    .downcast_ref::<String>()
                    .cloned()
                    .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                    .unwrap_or_default();
                Failure {
                    path: set.files.first().map(|f| f.display().to_string()),
                    message: format!(
                        "internal error while loading this project (please report it): {what}"
                    ),
                }
            })
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
        cwd,
    }
}
