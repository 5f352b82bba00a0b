//! compose's `include`: each included project is loaded on its own (own directory, own `.env`,
//! own variable scope) and its resources are imported into the including file.

use std::path::{Path, PathBuf};

use super::read::read_text;
use super::{Loader, abs, empty_map};
use crate::compose::env::ProjectEnv;
use crate::compose::model::*;
use crate::yaml::value::{Entry, FileId, MergeTag, Value, ValueKind};

impl Loader<'_> {
    /// compose-go `ApplyInclude`: each included project is loaded on its own (own directory and
    /// `.env`) and its resources are copied in; a conflicting definition is an error.
    pub(super) fn apply_include(&mut self, cfg: &mut Value, file: FileId, env: &ProjectEnv) {
        let Some(map) = cfg.as_map_mut() else { return };
        let Some(include) = map.shift_remove("include") else {
            return;
        };
        let base_dir = self.base_dirs[file].clone();
        let items: Vec<Value> = match include.value.kind {
            ValueKind::Seq(items) => items,
            ValueKind::Null => Vec::new(),
            _ => {
                self.errors
                    .push(Problem::new(Some(include.value.loc), Issue::IncludeNotList));
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
                    self.errors
                        .push(Problem::new(Some(item.loc), Issue::IncludeEntryWrongType));
                    continue;
                }
            };
            let Some((first, _)) = paths.first() else {
                self.errors
                    .push(Problem::new(Some(item.loc), Issue::IncludeEntryWithoutPath));
                continue;
            };
            // A git repository or an OCI artifact compose would fetch: named where it stands.
            if let Some((reference, loc)) = paths.iter().find(|(p, _)| is_remote(p)) {
                let issue = Issue::RemoteInclude {
                    reference: reference.clone(),
                };
                self.errors.push(Problem::new(Some(*loc), issue));
                continue;
            }
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
                if dotenv.is_file() || self.opts.overlay.contains_key(&dotenv) {
                    vec![dotenv]
                } else {
                    Vec::new()
                }
            } else {
                env_files
            };
            for path in env_files {
                match read_text(&self.opts.overlay, &path) {
                    Ok(text) => {
                        if let Err(e) = inc_env.add_env_file_under(&path, &text) {
                            let issue = Issue::EnvFileInvalid {
                                path: self.display(&path),
                                reason: e.to_string(),
                            };
                            let loc = self.register_env_file(&path, text, &e);
                            self.errors.push(Problem {
                                related: Some(item.loc),
                                ..Problem::new(Some(loc), issue)
                            });
                        }
                    }
                    Err(reason) => self.errors.push(Problem::new(
                        Some(item.loc),
                        Issue::EnvFileNotFound {
                            path: self.display(&path),
                            reason: Some(reason),
                        },
                    )),
                }
            }
            let mut imported = empty_map(item.loc);
            for (p, loc) in &paths {
                let path = abs(&base_dir, Path::new(p));
                if self.include_chain.contains(&path)
                    || self.files.get(file).is_some_and(|f| f.source.path == path)
                {
                    let issue = Issue::IncludeCycle {
                        path: self.display(&path),
                    };
                    self.errors.push(Problem::new(Some(*loc), issue));
                    continue;
                }
                if !path.exists() {
                    self.errors
                        .push(Problem::new(Some(*loc), self.missing_file(&path)));
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

    pub(super) fn import_resources(&mut self, cfg: &mut Value, imported: Value) {
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
            // compose-go's `importResource` asserts the including file's section is a map:
            // one written but left null (or of another type) panics once anything is imported.
            let Some(section) = section.value.as_map_mut() else {
                let issue = Issue::ImportIntoNonMapping { section: kind };
                conflicts.push(Problem::new(Some(section.key_loc), issue));
                continue;
            };
            for (name, res) in resources {
                match section.get(name) {
                    // compose drops a `!reset` entry while decoding, before the include: the
                    // imported resource takes its place.
                    Some(existing) if existing.value.tag == Some(MergeTag::Reset) => {
                        section.insert(name.clone(), res.clone());
                    }
                    Some(existing) if !same_content(&existing.value, &res.value) => {
                        let issue = Issue::ImportConflict {
                            section: kind,
                            name: name.to_string(),
                        };
                        conflicts.push(Problem::new(Some(existing.key_loc), issue));
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
}

/// Two values with the same content, wherever they were written.
pub(super) fn same_content(a: &Value, b: &Value) -> bool {
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

/// Whether an `include` path is a remote reference compose resolves (`oci://…`, a git URL such
/// as `https://host/repo.git#ref:dir` or `git@host:repo.git`), not a local file.
fn is_remote(path: &str) -> bool {
    path.contains("://") || path.starts_with("git@")
}
