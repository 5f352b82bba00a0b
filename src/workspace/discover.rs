//! Which projects the command-line paths stand for: compose's own file discovery for a directory
//! or no argument, a walk of a repository (honouring `.gitignore`), and override files paired
//! with their base file.

use std::path::{Path, PathBuf};

/// Base file names in compose's order of preference.
pub(crate) const BASE_NAMES: [&str; 4] = [
    "compose.yaml",
    "compose.yml",
    "docker-compose.yml",
    "docker-compose.yaml",
];
/// Override file names in compose's order of preference.
pub(crate) const OVERRIDE_NAMES: [&str; 4] = [
    "compose.override.yml",
    "compose.override.yaml",
    "docker-compose.override.yml",
    "docker-compose.override.yaml",
];

/// One project to load: its files in merge order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ProjectFiles {
    pub(crate) files: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub(crate) enum DiscoverError {
    #[error("{0}: no such file or directory")]
    Missing(String),
    /// A FIFO, a device or a socket: reading it could block forever or never end.
    #[error("{0}: not a regular file or directory (a device, FIFO or socket)")]
    NotAFile(String),
    #[error(
        "no compose file found in {0} or any parent directory (looked for compose.yaml, compose.yml, docker-compose.yml, docker-compose.yaml)"
    )]
    NothingFound(String),
    #[error("{0}: cannot read: {1}")]
    Unreadable(String, String),
    /// A directory walked that holds no compose file at all (a wrong path in CI must not pass).
    #[error("no compose file found under {0} (looked for compose*.yaml and docker-compose*.yml)")]
    NoneUnder(String),
}

/// What a walk could not look at: a directory it could not read (permissions, a path longer
/// than the system allows), a compose file whose name is not UTF-8. The walk goes on; the
/// command reports each one and exits 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Skipped {
    pub(crate) path: String,
    pub(crate) reason: String,
}

/// The projects under a path, and what the walk had to skip.
#[derive(Debug, Default, PartialEq, Eq)]
pub(crate) struct Found {
    pub(crate) projects: Vec<ProjectFiles>,
    pub(crate) skipped: Vec<Skipped>,
}

/// A walk's error as what was skipped: the path it is about and the system's reason.
fn skipped(e: &ignore::Error, root: &Path) -> Skipped {
    match e {
        ignore::Error::WithPath { path, err } => Skipped {
            path: path.display().to_string(),
            reason: format!("cannot read this directory: {}", reason_of(err)),
        },
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            skipped(err, root)
        }
        other => Skipped {
            path: root.display().to_string(),
            reason: format!("cannot walk: {}", reason_of(other)),
        },
    }
}

/// The system's reason alone (the path is shown once, in front).
fn reason_of(e: &ignore::Error) -> String {
    match e.io_error() {
        Some(io) => match io.raw_os_error() {
            Some(code) => std::io::Error::from_raw_os_error(code).to_string(),
            None => io.to_string(),
        },
        None => e.to_string(),
    }
}

/// Whether a file name looks like a compose file (`compose*.y*ml`, `docker-compose*.y*ml`).
pub fn is_compose_name(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    (lower.starts_with("compose") || lower.starts_with("docker-compose"))
        && (lower.ends_with(".yml") || lower.ends_with(".yaml"))
}

fn is_override_name(name: &str) -> bool {
    OVERRIDE_NAMES.contains(&name)
}

/// compose's discovery in one directory: the first base file, then the first override file.
pub fn default_files(dir: &Path) -> Option<Vec<PathBuf>> {
    let base = BASE_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())?;
    let mut files = vec![base];
    if let Some(o) = OVERRIDE_NAMES
        .iter()
        .map(|n| dir.join(n))
        .find(|p| p.is_file())
    {
        files.push(o);
    }
    Some(files)
}

/// No path given: `COMPOSE_FILE`, else the working directory and then each parent.
pub(crate) fn from_working_dir(
    cwd: &Path,
    compose_file: Option<&str>,
    separator: Option<&str>,
) -> Result<ProjectFiles, DiscoverError> {
    if let Some(list) = compose_file.filter(|s| !s.is_empty()) {
        let sep = separator.filter(|s| !s.is_empty()).unwrap_or(":");
        let files = list
            .split(sep)
            .filter(|s| !s.is_empty())
            .map(|f| cwd.join(f))
            .collect();
        return Ok(ProjectFiles { files });
    }
    let mut dir = Some(cwd);
    while let Some(d) = dir {
        if let Some(files) = default_files(d) {
            return Ok(ProjectFiles { files });
        }
        dir = d.parent();
    }
    Err(DiscoverError::NothingFound(cwd.display().to_string()))
}

/// The projects one command-line path stands for.
pub(crate) fn from_path(path: &Path) -> Result<Found, DiscoverError> {
    if path.is_file() {
        return Ok(Found {
            projects: vec![ProjectFiles {
                files: file_project(path),
            }],
            skipped: Vec::new(),
        });
    }
    if !path.is_dir() {
        let shown = path.display().to_string();
        return Err(match std::fs::metadata(path) {
            Ok(_) => DiscoverError::NotAFile(shown),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => DiscoverError::Missing(shown),
            // A path in a directory that may not be searched is not "missing".
            Err(e) => DiscoverError::Unreadable(shown, e.to_string()),
        });
    }
    let mut dirs: Vec<(PathBuf, Vec<String>)> = Vec::new();
    // Index into `dirs` (a linear search made a walk of thousands of directories quadratic).
    let mut dir_index: foldhash::HashMap<PathBuf, usize> = Default::default();
    let walker = ignore::WalkBuilder::new(path)
        .hidden(false)
        .git_global(false)
        .require_git(false)
        .filter_entry(|e| !matches!(e.file_name().to_str(), Some(".git" | "node_modules")))
        .sort_by_file_name(std::cmp::Ord::cmp)
        .build();
    let mut skipped_paths = Vec::new();
    for entry in walker {
        let entry = match entry {
            Ok(entry) => entry,
            Err(e) => {
                skipped_paths.push(skipped(&e, path));
                continue;
            }
        };
        if !entry
            .file_type()
            .is_some_and(|t| t.is_file() || t.is_symlink())
            || !entry.path().is_file()
        {
            continue;
        }
        let Some(name) = entry.file_name().to_str() else {
            if is_compose_name(&entry.file_name().to_string_lossy()) {
                skipped_paths.push(Skipped {
                    path: entry.path().display().to_string(),
                    reason: "the file name is not valid UTF-8; stowage cannot check it (rename it)"
                        .into(),
                });
            }
            continue;
        };
        if !is_compose_name(name) {
            continue;
        }
        let dir = entry.path().parent().unwrap_or(path).to_path_buf();
        match dir_index.get(&dir) {
            Some(&i) => dirs[i].1.push(name.to_owned()),
            None => {
                dir_index.insert(dir.clone(), dirs.len());
                dirs.push((dir, vec![name.to_owned()]));
            }
        }
    }
    let mut projects = Vec::new();
    for (dir, names) in dirs {
        let default = default_files(&dir);
        let consumed: Vec<PathBuf> = default.clone().unwrap_or_default();
        if let Some(files) = default {
            projects.push(ProjectFiles { files });
        }
        for name in names {
            let p = dir.join(&name);
            if consumed.contains(&p) {
                continue;
            }
            // An override with no base beside it, or one that is not the preferred override,
            // is linted on its own rather than dropped.
            if is_override_name(&name) && consumed.len() > 1 {
                continue;
            }
            projects.push(ProjectFiles { files: vec![p] });
        }
    }
    if projects.is_empty() && skipped_paths.is_empty() {
        return Err(DiscoverError::NoneUnder(path.display().to_string()));
    }
    Ok(Found {
        projects,
        skipped: skipped_paths,
    })
}

/// A file argument: loaded on its own, except an override file comes with its base file.
fn file_project(path: &Path) -> Vec<PathBuf> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    if is_override_name(name)
        && let Some(dir) = path.parent()
        && let Some(base) = BASE_NAMES.iter().map(|n| dir.join(n)).find(|p| p.is_file())
    {
        return vec![base, path.to_path_buf()];
    }
    vec![path.to_path_buf()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walks_and_pairs_overrides() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::create_dir_all(root.join("a/node_modules")).unwrap();
        std::fs::create_dir_all(root.join("b")).unwrap();
        for f in [
            "a/compose.yaml",
            "a/compose.override.yaml",
            "a/compose.prod.yaml",
            "a/node_modules/compose.yaml",
            "b/docker-compose.override.yml",
            "b/notes.yaml",
        ] {
            std::fs::write(root.join(f), "services: {}\n").unwrap();
        }
        let projects = from_path(root).unwrap().projects;
        let files: Vec<Vec<String>> = projects
            .iter()
            .map(|p| {
                p.files
                    .iter()
                    .map(|f| f.strip_prefix(root).unwrap().display().to_string())
                    .collect()
            })
            .collect();
        assert_eq!(
            files,
            vec![
                vec![
                    "a/compose.yaml".to_owned(),
                    "a/compose.override.yaml".to_owned()
                ],
                vec!["a/compose.prod.yaml".to_owned()],
                vec!["b/docker-compose.override.yml".to_owned()]
            ]
        );
        assert_eq!(
            from_path(&root.join("a/compose.override.yaml"))
                .unwrap()
                .projects[0]
                .files
                .len(),
            2
        );
        std::fs::create_dir(root.join("empty")).unwrap();
        assert_eq!(
            from_path(&root.join("empty")),
            Err(DiscoverError::NoneUnder(
                root.join("empty").display().to_string()
            ))
        );
        assert!(matches!(
            from_path(&root.join("missing")),
            Err(DiscoverError::Missing(_))
        ));
        #[cfg(unix)]
        assert!(matches!(
            from_path(Path::new("/dev/null")),
            Err(DiscoverError::NotAFile(_))
        ));
    }
}
