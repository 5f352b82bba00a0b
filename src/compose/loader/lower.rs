//! Lowering the merged value tree to the typed model: the project name, top-level volumes and
//! services (profiles, image, build, environment, mounts). Lowering reads only what it is given:
//! the active profiles, each file's directory, `HOME` and the variables used without a value.

use std::path::{Path, PathBuf};

use foldhash::{HashMap, HashMapExt};

use super::keys::LONG_VOLUME_KEYS;
use super::{Overlay, abs, article, normalize_project_name};
use crate::compose::env::ProjectEnv;
use crate::compose::merge;
use crate::compose::model::*;
use crate::compose::mounts::{self, MountKind};
use crate::compose::schema;
use crate::yaml::value::{FileId, Loc, Value, ValueKind};

/// What lowering needs of the loader, and where its problems go.
pub(super) struct Lowering<'a> {
    /// Active profiles; empty = every service.
    profiles: &'a [String],
    /// Texts read instead of the files on disk (`env_file:` files an editor has open).
    overlay: &'a Overlay,
    /// Directory relative paths of each file resolve against.
    base_dirs: &'a [PathBuf],
    home: &'a str,
    errors: &'a mut Vec<Problem>,
    warnings: &'a mut Vec<Problem>,
    /// Top-level volume key → engine name, built when services are lowered.
    volume_names: HashMap<String, String>,
    /// The spans of the variables used without a value, by file (sorted).
    unset_index: HashMap<FileId, Vec<(usize, usize)>>,
    /// Whether references to top-level volumes are checked (not in services the profiles
    /// switch off).
    check_references: bool,
}

/// `-p`, then `COMPOSE_PROJECT_NAME` (process environment or env file), then `name:`, then
/// the project directory's name.
pub(super) fn project_name(
    flag: Option<&str>,
    dict: &Value,
    directory: &Path,
    env: &ProjectEnv,
    errors: &mut Vec<Problem>,
) -> (String, NameOrigin) {
    use crate::compose::interpolate::Vars;
    // An empty `-p` is no name at all: compose goes on to the next source.
    let explicit = if let Some(n) = flag.filter(|n| !n.is_empty()) {
        Some((n.to_owned(), NameOrigin::Flag, None))
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
                let issue = Issue::InvalidProjectName { name: name.clone() };
                errors.push(Problem::new(loc, issue));
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
                errors.push(Problem::new(None, Issue::EmptyProjectName));
            }
            (name, NameOrigin::Directory)
        }
    }
}

impl<'a> Lowering<'a> {
    /// `unset`: the variables used without a value, and where.
    pub(super) fn new(
        profiles: &'a [String],
        overlay: &'a Overlay,
        base_dirs: &'a [PathBuf],
        home: &'a str,
        unset: &[(String, Loc)],
        errors: &'a mut Vec<Problem>,
        warnings: &'a mut Vec<Problem>,
    ) -> Self {
        let mut unset_index: HashMap<FileId, Vec<(usize, usize)>> = HashMap::new();
        for (_, l) in unset {
            unset_index
                .entry(l.file)
                .or_default()
                .push((l.start, l.end));
        }
        for spans in unset_index.values_mut() {
            spans.sort_unstable();
        }
        Lowering {
            profiles,
            overlay,
            base_dirs,
            home,
            errors,
            warnings,
            volume_names: HashMap::default(),
            unset_index,
            check_references: true,
        }
    }

    pub(super) fn volumes(&mut self, dict: &Value, project: &str) -> Vec<TopVolume> {
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
                let issue = Issue::InvalidVolumeName {
                    key: key.as_str().to_owned(),
                };
                self.errors.push(Problem::new(Some(entry.key_loc), issue));
            }
            let v = &entry.value;
            if !v.is_null() && v.as_map().is_none() {
                let issue = Issue::VolumeNotMapping {
                    key: key.as_str().to_owned(),
                    actual: article(v.type_name()),
                };
                self.errors.push(Problem::new(Some(v.loc), issue));
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
                            let issue = Issue::ExternalNotBoolean {
                                key: key.as_str().to_owned(),
                            };
                            self.errors.push(Problem::new(Some(e.loc), issue));
                            (false, None)
                        }
                    },
                },
                None => (false, None),
            };
            if external_name.is_some() {
                let at = v.get("external").map(|e| e.loc);
                // compose converts `external.name` to `name` in the model merged after each
                // file: a `name` a later file sets replaces it, one written with it (or before
                // it) must be the same.
                let name_loc = v.get("name").map(|n| n.loc);
                let later_file = matches!((name_loc, at), (Some(n), Some(e)) if n.file > e.file);
                if explicit.is_some() && explicit != external_name && !later_file {
                    let issue = Issue::ExternalNameConflict {
                        key: key.as_str().to_owned(),
                    };
                    self.errors.push(Problem::new(at, issue));
                } else {
                    let issue = Issue::ExternalNameDeprecated {
                        key: key.as_str().to_owned(),
                    };
                    self.warnings.push(Problem::new(at, issue));
                }
            }
            if external {
                for conflicting in ["driver", "driver_opts", "labels"] {
                    if let Some(c) = v.get(conflicting).filter(|c| !c.is_null()) {
                        let issue = Issue::ExternalConflict {
                            key: key.as_str().to_owned(),
                            option: conflicting,
                        };
                        self.errors.push(Problem::new(Some(c.loc), issue));
                    }
                }
            }
            let name = match (&explicit, &external_name) {
                (Some(n), _) | (None, Some(n)) => n.clone(),
                (None, None) if external => key.as_str().to_owned(),
                _ => format!("{project}_{key}"),
            };
            let driver_opts = v
                .get("driver_opts")
                .and_then(Value::as_map)
                .map(|m| {
                    m.iter()
                        .filter_map(|(k, e)| {
                            Some((k.as_str().to_owned(), e.value.as_str()?.to_owned()))
                        })
                        .collect()
                })
                .unwrap_or_default();
            out.push(TopVolume {
                key: key.as_str().to_owned(),
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

    pub(super) fn services(
        &mut self,
        dict: &Value,
        volumes: &[TopVolume],
        env: &ProjectEnv,
    ) -> Vec<Service> {
        let Some(services) = dict.get("services").and_then(Value::as_map) else {
            return Vec::new();
        };
        // Looked up once per mount, indexed so that many mounts cost linear time.
        self.volume_names.clear();
        for v in volumes {
            self.volume_names
                .entry(v.key.clone())
                .or_insert_with(|| v.name.clone());
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
            // compose converts, checks and resolves the mounts of every service; the
            // consistency checks (references, collisions) only look at the enabled ones.
            let enabled = self.profile_enabled(&profiles);
            let mounts = self.mounts(name, v, &base_dirs, enabled);
            if let Some(hosts) = v.get("extra_hosts")
                && let Some((loc, reason)) = extra_hosts_refusal(hosts)
            {
                let issue = Issue::ExtraHost {
                    service: name.to_string(),
                    reason,
                };
                self.errors.push(Problem::new(Some(loc), issue));
            }
            if !enabled {
                continue;
            }
            let image = v.get("image").and_then(|i| {
                Some(Located {
                    value: i.as_str().filter(|t| !t.is_empty())?.to_owned(),
                    loc: i.loc,
                })
            });
            let build = v.get("build").and_then(|b| self.lower_build(b));
            // `environment:` wins over `env_file:`; without env files its map is the result as
            // it is (not copied entry by entry into an empty one).
            let written = lower_environment(v.get("environment"), env);
            let environment = match v.get("env_file") {
                None => written,
                files => {
                    let mut from_files = self.env_files(files, env);
                    from_files.extend(written);
                    from_files
                }
            };
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
            let words = |key: &str| {
                v.get(key).and_then(|c| match &c.kind {
                    ValueKind::Scalar { text, .. } => Some(text.as_str().to_owned()),
                    // Quoted where needed, so that splitting the text as a shell does gives the
                    // list back (an empty `""` argument included).
                    ValueKind::Seq(items) => Some(
                        items
                            .iter()
                            .filter_map(Value::as_str)
                            .map(shell_quote)
                            .collect::<Vec<_>>()
                            .join(" "),
                    ),
                    _ => None,
                })
            };
            let awaits_completion_of = match v.get("depends_on").map(|d| &d.kind) {
                Some(ValueKind::Map(m)) => m
                    .iter()
                    .filter(|(_, e)| {
                        e.value.get("condition").and_then(Value::as_str)
                            == Some("service_completed_successfully")
                    })
                    .map(|(k, _)| k.as_str().to_owned())
                    .collect(),
                _ => Vec::new(),
            };
            out.push(Service {
                name: name.as_str().to_owned(),
                loc: entry.key_loc,
                image,
                build,
                environment,
                mounts,
                volumes_from,
                profiles,
                command: words("command"),
                entrypoint: words("entrypoint"),
                restart: v.get("restart").and_then(Value::as_str).map(str::to_owned),
                hostname: v.get("hostname").and_then(Value::as_str).map(str::to_owned),
                network_mode: v
                    .get("network_mode")
                    .and_then(Value::as_str)
                    .map(str::to_owned),
                awaits_completion_of,
            });
        }
        out
    }

    /// The mounts of a service's `volumes` and `tmpfs`, with compose's checks of the entries;
    /// `consistency`: also the checks compose makes of enabled services only (undefined
    /// volumes, two mounts on one target).
    fn mounts(
        &mut self,
        name: &str,
        v: &Value,
        base_dirs: &[String],
        consistency: bool,
    ) -> Vec<Mount> {
        self.check_references = consistency;
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
                _ => self.errors.push(Problem::new(
                    Some(vols.loc),
                    Issue::ServiceVolumesNotList {
                        service: name.to_string(),
                        actual: article(vols.type_name()),
                    },
                )),
            }
        }
        let volumes = mounts.len();
        if let Some(tmpfs) = v.get("tmpfs") {
            let items: Vec<&Value> = match &tmpfs.kind {
                ValueKind::Seq(items) => items.iter().collect(),
                ValueKind::Scalar { .. } => vec![tmpfs],
                _ => Vec::new(),
            };
            for item in items {
                let Some(text) = item.as_str() else {
                    let issue = Issue::TmpfsEntryNotString {
                        service: name.to_string(),
                    };
                    self.errors.push(Problem::new(Some(item.loc), issue));
                    continue;
                };
                // compose keeps `tmpfs:` paths as written (only `volumes` targets are
                // cleaned), so `/run/` here and `/run` in `volumes` do not collide.
                let (target, _) = mounts::parse_tmpfs_entry(text);
                mounts.push(Mount {
                    kind: MountKind::Tmpfs,
                    source: None,
                    resolved_source: None,
                    target,
                    read_only: false,
                    loc: Some(item.loc),
                    syntax: MountSyntax::TmpfsKey,
                    volume_key: None,
                    ignored_options: Vec::new(),
                    unresolved: false,
                });
            }
        }
        if consistency {
            self.check_targets(name, &mounts[..volumes], &mounts[volumes..]);
        }
        mounts
    }

    /// compose-go `checkConsistency`: every target once, the `tmpfs` paths as written, the
    /// `volumes` targets cleaned (entries that only differ before cleaning, `/data/` and
    /// `/data`, were not merged and now collide).
    fn check_targets(&mut self, name: &str, volumes: &[Mount], tmpfs: &[Mount]) {
        let mut tmpfs_at: HashMap<&str, usize> = HashMap::with_capacity(tmpfs.len());
        for (i, m) in tmpfs.iter().enumerate() {
            match tmpfs_at.get(m.target.as_str()) {
                Some(&first) => self.mounted_twice(name, "tmpfs", (i, m), (first, &tmpfs[first])),
                None => {
                    tmpfs_at.insert(m.target.as_str(), i);
                }
            }
        }
        let mut first_at: HashMap<&str, usize> = HashMap::with_capacity(volumes.len());
        for (i, m) in volumes.iter().enumerate() {
            match first_at.get(m.target.as_str()) {
                Some(&first) => {
                    self.mounted_twice(name, "volumes", (i, m), (first, &volumes[first]))
                }
                None => {
                    first_at.insert(m.target.as_str(), i);
                }
            }
        }
        for m in tmpfs {
            if first_at.contains_key(m.target.as_str()) {
                let issue = Issue::TmpfsAndVolume {
                    service: name.to_string(),
                    target: m.target.clone(),
                };
                self.errors.push(Problem::new(m.loc, issue));
            }
        }
    }

    fn mounted_twice(
        &mut self,
        service: &str,
        section: &'static str,
        (index, later): (usize, &Mount),
        (first, earlier): (usize, &Mount),
    ) {
        let issue = Issue::TargetMountedTwice {
            service: service.to_string(),
            section,
            index,
            first,
            target: later.target.clone(),
        };
        self.errors.push(Problem {
            related: earlier.loc,
            ..Problem::new(later.loc, issue)
        });
    }

    /// The variables of a service's `env_file:` files, in order (a later file wins), read as
    /// compose reads them (dotenv, interpolated from the project environment). A file that cannot
    /// be read adds nothing here: validation reports a required one that is missing.
    fn env_files(&self, value: Option<&Value>, env: &ProjectEnv) -> Environment {
        let items: Vec<&Value> = match value.map(|v| &v.kind) {
            Some(ValueKind::Seq(items)) => items.iter().collect(),
            Some(ValueKind::Scalar { .. }) => value.into_iter().collect(),
            _ => Vec::new(),
        };
        let mut out = Environment::default();
        for item in items {
            let path = match &item.kind {
                ValueKind::Scalar { text, .. } => text.as_str(),
                ValueKind::Map(m) => m.get("path").and_then(|p| p.value.as_str()).unwrap_or(""),
                _ => continue,
            };
            if path.is_empty() {
                continue;
            }
            let dir = self
                .base_dirs
                .get(item.loc.file)
                .cloned()
                .unwrap_or_default();
            let Ok(text) = super::read::read_text(self.overlay, &super::abs(&dir, Path::new(path)))
            else {
                continue;
            };
            if let Ok(vars) = crate::compose::env::parse_dotenv(&text, env) {
                out.extend(vars.into_iter().map(|(k, v)| (k, Some(v))));
            }
        }
        out
    }

    pub(super) fn profile_enabled(&self, profiles: &[String]) -> bool {
        let active = &self.profiles;
        active.is_empty()
            || profiles.is_empty()
            || active.iter().any(|a| a == "*" || profiles.contains(a))
    }

    pub(super) fn lower_build(&mut self, b: &Value) -> Option<Build> {
        let dir = self.base_dirs.get(b.loc.file).cloned().unwrap_or_default();
        let (context, dockerfile, inline) = match &b.kind {
            ValueKind::Scalar { text, .. } => (text.as_str().to_owned(), None, None),
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
    pub(super) fn lower_mount(
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
                        let issue = Issue::VolumeSpec {
                            spec: text.as_str().to_owned(),
                            error: e,
                        };
                        self.errors.push(Problem::new(Some(item.loc), issue));
                        return None;
                    }
                };
                let target = mounts::clean_path(&parsed.target);
                let (resolved_source, volume_key) = match parsed.kind {
                    MountKind::Bind => (
                        parsed
                            .source
                            .as_deref()
                            .map(|s| mounts::resolve_bind_source(s, base_dir, self.home)),
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
                    ignored_options: parsed.ignored_options,
                    unresolved,
                })
            }
            ValueKind::Map(m) => {
                for (key, e) in m {
                    if !key.starts_with("x-") && !LONG_VOLUME_KEYS.contains(&key.as_str()) {
                        let issue = Issue::UnknownVolumeEntryKey {
                            service: service.to_owned(),
                            index,
                            key: key.as_str().to_owned(),
                        };
                        self.errors.push(Problem::new(Some(e.key_loc), issue));
                    }
                }
                let Some(ty) = m.get("type").map(|e| &e.value) else {
                    let issue = Issue::VolumeEntryWithoutType {
                        service: service.to_owned(),
                        index,
                    };
                    self.errors.push(Problem::new(Some(item.loc), issue));
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
                        let issue = Issue::VolumeEntryBadType {
                            service: service.to_owned(),
                            index,
                        };
                        self.errors.push(Problem::new(Some(ty.loc), issue));
                        return None;
                    }
                };
                let Some(target) = m.get("target").and_then(|e| e.value.as_str()) else {
                    let issue = Issue::VolumeEntryWithoutTarget {
                        service: service.to_owned(),
                        index,
                    };
                    self.errors.push(Problem::new(Some(item.loc), issue));
                    return None;
                };
                if let Some(e) = m.get("source")
                    && matches!(
                        e.value.kind,
                        ValueKind::Null | ValueKind::Seq(_) | ValueKind::Map(_)
                    )
                {
                    let issue = Issue::VolumeSourceNotString {
                        service: service.to_owned(),
                        index,
                    };
                    self.errors.push(Problem::new(Some(e.value.loc), issue));
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
                            let issue = Issue::VolumeReadOnlyNotBoolean {
                                service: service.to_owned(),
                                index,
                            };
                            self.errors.push(Problem::new(Some(v.loc), issue));
                            false
                        }
                    },
                };
                if let Some(mode) = m.get("tmpfs").and_then(|t| t.value.get("mode"))
                    && let Some(reason) = schema::uint32_refusal(mode)
                {
                    let issue = Issue::TmpfsModeNotUnsigned {
                        service: service.to_owned(),
                        index,
                        reason,
                    };
                    self.errors.push(Problem::new(Some(mode.loc), issue));
                }
                let (kind, resolved_source, volume_key) = match kind {
                    MountKind::Named => match &source {
                        Some(s) => (
                            MountKind::Named,
                            self.named_volume(service, s, item.loc),
                            Some(s.clone()),
                        ),
                        None => (MountKind::Anonymous, None, None),
                    },
                    // An empty source (`${UNSET:-}`) is a relative path like any other: compose
                    // resolves it to the directory itself.
                    MountKind::Bind => match m.get("source").and_then(|e| e.value.as_str()) {
                        Some(s) => (
                            MountKind::Bind,
                            Some(mounts::resolve_bind_source(s, base_dir, self.home)),
                            None,
                        ),
                        // compose refuses it when it resolves paths (`up`, `config`).
                        None => {
                            self.errors
                                .push(Problem::new(Some(item.loc), Issue::BindWithoutSource));
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
                    ignored_options: Vec::new(),
                    unresolved,
                })
            }
            _ => {
                let issue = Issue::VolumeEntryWrongType {
                    service: service.to_owned(),
                    index,
                    actual: article(item.type_name()),
                };
                self.errors.push(Problem::new(Some(item.loc), issue));
                None
            }
        }
    }

    /// Whether a variable without a value is used inside `item` (`unset_index` is built).
    pub(super) fn unset_at(&self, item: &Value) -> bool {
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
    pub(super) fn named_volume(&mut self, service: &str, key: &str, loc: Loc) -> Option<String> {
        match self.volume_names.get(key) {
            Some(name) => Some(name.clone()),
            None if !self.check_references => None,
            None => {
                let issue = Issue::UndefinedVolume {
                    service: service.to_owned(),
                    key: key.to_owned(),
                };
                self.errors.push(Problem::new(Some(loc), issue));
                None
            }
        }
    }
}

/// A word as a POSIX shell reads it back: unchanged when plain, else in single quotes.
/// What compose-go's `HostsList` decoding refuses of a service's `extra_hosts`, once the project
/// is merged: an item without `=` or `:` between host and address, or a host name that is empty
/// or holds `:` or `=` (`=` splits before `:`). The first, where it is written, with compose's
/// reason.
fn extra_hosts_refusal(hosts: &Value) -> Option<(Loc, String)> {
    let bad_host = |host: &str| host.is_empty() || host.contains([':', '=']);
    match &hosts.kind {
        ValueKind::Seq(items) => items.iter().find_map(|item| {
            let text = item.as_str()?;
            match text.split_once('=').or_else(|| text.split_once(':')) {
                None => Some((
                    item.loc,
                    format!("invalid additional host, missing IP: {text}"),
                )),
                Some((host, _)) if bad_host(host) => {
                    Some((item.loc, format!("bad host name '{host}'")))
                }
                Some(_) => None,
            }
        }),
        ValueKind::Map(m) => m
            .iter()
            .find(|(host, _)| bad_host(host))
            .map(|(host, e)| (e.key_loc, format!("bad host name '{host}'"))),
        _ => None,
    }
}

fn shell_quote(word: &str) -> std::borrow::Cow<'_, str> {
    let plain = !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,@%+".contains(&b));
    if plain {
        word.into()
    } else {
        format!("'{}'", word.replace('\'', r"'\''")).into()
    }
}

/// The environment a service ends up with (mapping or `KEY=VALUE` list; a bare `KEY` takes the
/// value of the variable from the project environment).
pub(super) fn lower_environment(env_value: Option<&Value>, env: &ProjectEnv) -> Environment {
    use crate::compose::interpolate::Vars;
    let lookup = |name: &str| env.get(name).map(str::to_owned);
    // Read as `merge::key_value_map` reads it (a later `KEY` wins), without building that map.
    match env_value.map(|v| &v.kind) {
        Some(ValueKind::Map(m)) => m
            .iter()
            .map(|(k, e)| {
                let value = match &e.value.kind {
                    ValueKind::Null => lookup(k),
                    ValueKind::Scalar { text, .. } => Some(text.as_str().to_owned()),
                    _ => None,
                };
                (k.as_str().to_owned(), value)
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
