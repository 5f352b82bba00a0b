//! compose's `extends`: a service built on another one, of the same file or of another file,
//! resolved without deep recursion, with cycles reported and files extended many times loaded
//! once per variable scope.

use std::path::Path;

use foldhash::{HashMap, HashSet};

use super::{Loader, abs, empty_map};
use crate::compose::env::ProjectEnv;
use crate::compose::merge;
use crate::compose::model::*;
use crate::yaml::value::{Entry, FileId, Loc, Map, MergeTag, Value, ValueKind};

use compact_str::CompactString;

/// Services being resolved through `extends` at once (a chain in one file is resolved without
/// this nesting; it is reached through other files or a cycle only).
pub(super) const MAX_EXTENDS_DEPTH: usize = 256;

impl Loader<'_> {
    /// compose-go `ApplyExtends` for every service of one document.
    pub(super) fn apply_extends(&mut self, cfg: &mut Value, file: FileId, env: &ProjectEnv) {
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
                        let issue = Issue::ExtendsCycle {
                            service: member.clone(),
                            base: next.to_owned(),
                        };
                        self.errors.push(Problem::new(loc, issue));
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

    pub(super) fn resolve_extends(
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
                    let issue = Issue::ExtendsWithoutService {
                        service: name.to_owned(),
                    };
                    self.errors.push(Problem::new(Some(extends.loc), issue));
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
                self.errors
                    .push(Problem::new(Some(extends.loc), Issue::ExtendsWrongType));
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
            let issue = Issue::ExtendsCycle {
                service: name.to_owned(),
                base: base_name,
            };
            self.errors.push(Problem::new(Some(extends.loc), issue));
            return None;
        }
        if self.extends_chain.len() >= MAX_EXTENDS_DEPTH {
            self.errors
                .push(Problem::new(Some(extends.loc), Issue::ExtendsTooLong));
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
                    let issue = Issue::ExtendsBaseNotFound {
                        service: name.to_owned(),
                        base: base_name.clone(),
                        file: None,
                    };
                    self.errors.push(Problem::new(Some(extends.loc), issue));
                    None
                }
            },
            Some((f, loc)) => {
                let path = key.0.clone();
                let dir = path
                    .parent()
                    .map_or_else(|| self.base_dirs[file].clone(), Path::to_path_buf);
                if !path.exists() {
                    self.errors
                        .push(Problem::new(Some(loc), self.missing_file(&path)));
                    None
                } else if let Some(issue) = self.not_readable(&path) {
                    self.errors.push(Problem::new(Some(loc), issue));
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
                            let issue = Issue::ExtendsBaseNotFound {
                                service: name.to_owned(),
                                base: base_name.clone(),
                                file: Some(self.display(&path)),
                            };
                            self.errors.push(Problem::new(Some(extends.loc), issue));
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
        // compose removes `!reset` keys while it reads a file: the base has none left, and the
        // service's own `!reset` and `!override` keys still apply to what earlier files set.
        let marked: Vec<(CompactString, Entry)> = service
            .as_map()
            .into_iter()
            .flatten()
            .filter(|(_, e)| e.value.tag.is_some())
            .map(|(k, e)| (k.clone(), e.clone()))
            .collect();
        let mut merged = merge::merge(merge::strip_resets(base), service, &["services", name]);
        if let Some(m) = merged.as_map_mut() {
            m.shift_remove("extends");
            for (key, entry) in marked {
                match (entry.value.tag, m.get_mut(&key)) {
                    (Some(MergeTag::Override), Some(e)) => e.value.tag = Some(MergeTag::Override),
                    (Some(MergeTag::Reset), _) => {
                        m.insert(key, entry);
                    }
                    _ => {}
                }
            }
        }
        Some(merged)
    }
}

/// The base a service extends in its own file (`extends: name` or a mapping without `file`).
pub(super) fn same_file_base<'m>(services: &'m Map, name: &str) -> Option<&'m str> {
    let extends = services.get(name)?.value.get("extends")?;
    match &extends.kind {
        ValueKind::Scalar { text, .. } => Some(text),
        ValueKind::Map(m) if !m.contains_key("file") => m.get("service")?.value.as_str(),
        _ => None,
    }
}

pub(super) fn e_loc(m: &Map, key: &str) -> Loc {
    m.get(key).map_or(
        Loc {
            file: 0,
            start: 0,
            end: 0,
        },
        |e| e.value.loc,
    )
}
