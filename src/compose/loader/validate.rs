//! What compose checks on the value tree: the top-level and service keys it knows, sections left
//! null, uniqueness of volume targets after each merge, and the consistency checks of the merged
//! project (images, networks, dependencies and their cycles, env files).

use std::path::Path;

use compact_str::CompactString;
use foldhash::{HashMap, HashSet};

use super::keys::SERVICE_KEYS;
use super::{Loader, abs, article};
use crate::compose::merge;
use crate::compose::model::*;
use crate::compose::mounts;
use crate::yaml::value::{Entry, Loc, Map, MergeTag, Value, ValueKind};

impl Loader<'_> {
    /// Uniqueness in the services a document just merged (`touched`), as compose makes it
    /// before it validates the schema: `tmpfs` entries, volumes by their targets as written. The
    /// other services were made unique when they were merged.
    pub(super) fn enforce_unicity(&mut self, dict: &mut Value, touched: &[CompactString]) {
        let Some(services) = services_mut(dict) else {
            return;
        };
        for name in touched {
            let Some(entry) = services.get_mut(name) else {
                continue;
            };
            let Some(service) = entry.value.as_map_mut() else {
                continue;
            };
            if let Some(ValueKind::Seq(items)) = service.get_mut("tmpfs").map(|e| &mut e.value.kind)
            {
                merge::enforce_unique_tmpfs(items);
            }
            // compose's schema, checked on the model merged so far: `volumes_from` items are
            // unique (no uniqueness pass removes a repeated one).
            if let Some(ValueKind::Seq(items)) = service.get("volumes_from").map(|e| &e.value.kind)
            {
                let mut first_at: HashMap<&str, usize> = HashMap::default();
                for (index, item) in items.iter().enumerate() {
                    let Some(text) = item.as_str() else { continue };
                    if let Some(&first) = first_at.get(text) {
                        let issue = Issue::DuplicateItems {
                            path: format!("services.{name}.volumes_from"),
                            first,
                            index,
                        };
                        self.errors.push(Problem::new(Some(item.loc), issue));
                    } else {
                        first_at.insert(text, index);
                    }
                }
            }
            if let Some(ValueKind::Seq(items)) =
                service.get_mut("volumes").map(|e| &mut e.value.kind)
            {
                let canonical = &self.canonical_volumes;
                let replaced = merge::enforce_unique_volumes(
                    items,
                    |e| canonical.contains(&e.loc),
                    merge::Pass::Written,
                );
                self.record_replaced(name, replaced);
            }
        }
    }

    /// compose's conversion of the services a document just merged (`transform.Canonical`,
    /// after the schema): every short volume entry parsed — one a later file replaces
    /// (`!override`, `!reset`) is refused all the same — then uniqueness again, on the cleaned
    /// targets. The entries left count as converted to long syntax from then on
    /// (`canonical_volumes`).
    pub(super) fn canonicalize_volumes(&mut self, dict: &mut Value, touched: &[CompactString]) {
        let Some(services) = services_mut(dict) else {
            return;
        };
        for name in touched {
            let Some(ValueKind::Seq(items)) = services
                .get_mut(name)
                .and_then(|e| e.value.as_map_mut())
                .and_then(|s| s.get_mut("volumes"))
                .map(|e| &mut e.value.kind)
            else {
                continue;
            };
            for item in items.iter() {
                if let Some(text) = item.as_str()
                    && !self.canonical_volumes.contains(&item.loc)
                    && let Err(error) = mounts::parse_short(text)
                {
                    let issue = Issue::VolumeSpec {
                        spec: text.to_owned(),
                        error,
                    };
                    self.errors.push(Problem::new(Some(item.loc), issue));
                }
            }
            let canonical = &self.canonical_volumes;
            let replaced = merge::enforce_unique_volumes(
                items,
                |e| canonical.contains(&e.loc),
                merge::Pass::Cleaned,
            );
            let short = items.iter().filter(|e| e.as_str().is_some());
            self.canonical_volumes.extend(short.map(|e| e.loc));
            self.record_replaced(name, replaced);
        }
    }

    /// Keeps the volume entries a uniqueness pass replaced (earlier, later), each once.
    fn record_replaced(&mut self, service: &str, replaced: Vec<(Value, Value)>) {
        for (earlier, later) in replaced {
            if earlier.loc != later.loc
                && self
                    .replaced_seen
                    .insert((earlier.loc, later.loc, service.to_owned()))
            {
                self.replaced.push(ReplacedMount {
                    service: service.to_owned(),
                    earlier: earlier.loc,
                    later: later.loc,
                    target: merge::volume_key(&later, true)
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

    /// The schema's violations, each once, but none where another problem is reported on the
    /// same node or inside it: that one says more (the volume entry's own problem rather than
    /// `oneOf` failing on the entry).
    pub(super) fn report_schema_violations(&mut self) {
        let violations = std::mem::take(&mut self.schema_violations);
        let mut seen = HashSet::default();
        for v in violations {
            let explained = self
                .errors
                .iter()
                .filter_map(|p| p.loc)
                .any(|l| l.file == v.loc.file && l.start >= v.loc.start && l.end <= v.loc.end);
            if explained || !seen.insert((v.loc, v.path.clone(), v.problem.clone())) {
                continue;
            }
            let issue = Issue::Schema {
                path: v.path,
                problem: v.problem,
            };
            self.errors.push(Problem::new(Some(v.loc), issue));
        }
    }

    /// The top-level keys compose accepts (a compose v1 file has services at the top level).
    /// compose validates the model merged so far after each file: a section left null (`volumes:`
    /// with nothing under it) is an error, one that a later file's null leaves as it was is not.
    pub(super) fn reject_null_sections(&mut self, dict: &Value) {
        let Some(map) = dict.as_map() else { return };
        for section in ["services", "volumes", "networks", "secrets", "configs"] {
            if let Some(e) = map.get(section)
                && e.value.is_null()
                && !self.errors.iter().any(|p| p.loc == Some(e.value.loc))
            {
                let issue = Issue::SectionNotMapping {
                    section,
                    actual: article("null"),
                };
                self.errors.push(Problem::new(Some(e.value.loc), issue));
            }
        }
    }

    pub(super) fn validate_top_level(&mut self, cfg: &Value) {
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
            let no_services = map.get("services").is_none();
            let issue = Issue::UnknownTopLevelKey {
                key: k.to_string(),
                no_services,
            };
            self.errors.push(Problem::new(Some(e.key_loc), issue));
        }
        for section in ["services", "volumes", "networks", "secrets", "configs"] {
            if let Some(e) = map.get(section)
                && !e.value.is_null()
                && e.value.tag != Some(MergeTag::Reset)
                && e.value.as_map().is_none()
            {
                let issue = Issue::SectionNotMapping {
                    section,
                    actual: article(e.value.type_name()),
                };
                self.errors.push(Problem::new(Some(e.value.loc), issue));
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
                                let issue = Issue::UnknownServiceKey {
                                    service: name.to_string(),
                                    key: key.to_string(),
                                };
                                self.errors.push(Problem::new(Some(field.key_loc), issue));
                            }
                        }
                    }
                    ValueKind::Null => {}
                    _ => self.errors.push(Problem::new(
                        Some(e.value.loc),
                        Issue::ServiceNotMapping {
                            service: name.to_string(),
                            actual: article(e.value.type_name()),
                        },
                    )),
                }
            }
        }
    }

    /// compose-go `checkConsistency`, plus the checks compose does when it reads env files.
    pub(super) fn check_consistency(&mut self, dict: &Value, project: &Project) {
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
                let issue = Issue::NoImageNorBuild {
                    service: name.to_string(),
                };
                self.errors.push(Problem::new(Some(entry.key_loc), issue));
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
                        let issue = Issue::UndefinedNetwork {
                            service: name.to_string(),
                            network: net.to_owned(),
                        };
                        self.errors.push(Problem::new(Some(loc), issue));
                    }
                }
            }
            // A service switched off by the profiles counts as undefined, unless the dependency
            // is not required (compose-go `checkConsistency`).
            for (dep, loc, required) in dependencies(v) {
                let disabled = services.contains_key(dep) && !enabled.contains(dep);
                if !enabled.contains(dep) && (required || !disabled) {
                    let issue = Issue::UndefinedDependency {
                        service: name.to_string(),
                        dependency: dep.to_owned(),
                    };
                    self.errors.push(Problem::new(Some(loc), issue));
                }
            }
            self.check_env_files(name, v);
            // compose-go `checkConsistency`: a service's platform is one its build produces.
            if let Some(platform) = v.get("platform").filter(|p| p.as_str().is_some())
                && let Some(ValueKind::Seq(platforms)) = v
                    .get("build")
                    .and_then(|b| b.get("platforms"))
                    .map(|p| &p.kind)
                && !platforms.is_empty()
                && !platforms.iter().any(|p| p.as_str() == platform.as_str())
            {
                let issue = Issue::PlatformNotBuilt {
                    service: name.to_string(),
                    platform: platform.as_str().unwrap_or_default().to_owned(),
                };
                self.errors.push(Problem::new(Some(platform.loc), issue));
            }
        }
        self.check_dependency_cycles(services, &enabled);
    }

    pub(super) fn check_env_files(&mut self, service: &str, v: &Value) {
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
                let issue = Issue::EnvFileNotFound {
                    path: self.display(&full),
                    reason: None,
                };
                self.errors.push(Problem::new(Some(item.loc), issue));
            }
        }
    }

    pub(super) fn check_dependency_cycles(&mut self, services: &Map, enabled: &HashSet<&str>) {
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
                            let cycle = cycle.into_iter().map(str::to_owned).collect();
                            self.errors
                                .push(Problem::new(loc, Issue::DependencyCycle { cycle }));
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
pub(super) fn dependencies(v: &Value) -> Vec<(&str, Loc, bool)> {
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

/// The `services` mapping of the model merged so far.
fn services_mut(dict: &mut Value) -> Option<&mut Map> {
    dict.as_map_mut()?.get_mut("services")?.value.as_map_mut()
}
