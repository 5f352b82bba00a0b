//! The migration fixes: an anonymous volume, an implicit image volume or a directory bind mount
//! becomes a named volume declared at top level. Rules attach these fixes to their findings;
//! `stowage migrate` applies them. One place decides names and edits for all of them.

use std::path::Path;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use crate::analysis::covers;
use crate::compose::model::{FileRole, Mount, MountSyntax, Project, Service};
use crate::compose::mounts::MountKind;
use crate::finding::{Applicability, Edit, Fix};
use crate::rules::Context;
use crate::yaml::edit::{self, Declaration, View};
use crate::yaml::syntax::{Kind, NodeId};
use crate::yaml::value::Loc;

/// What happens to read-write directory bind mounts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum BindStrategy {
    /// Left as they are.
    #[default]
    Skip,
    /// Become named volumes; the data must be copied into them.
    Volume,
    /// Become named volumes bound to the same host directory (`driver_opts` `device`): the data
    /// stays where it is.
    KeepPath,
}

impl BindStrategy {
    pub fn parse(s: &str) -> Option<BindStrategy> {
        match s {
            "skip" => Some(BindStrategy::Skip),
            "volume" => Some(BindStrategy::Volume),
            "keep-path" => Some(BindStrategy::KeepPath),
            _ => None,
        }
    }
}

/// How migration fixes name and convert volumes.
#[derive(Debug, Clone, Default)]
pub struct FixSettings {
    pub binds: BindStrategy,
    /// `{service}`, `{basename}` and `{project}` are replaced; default `{service}-{basename}`.
    pub name_template: Option<String>,
    /// Only the mounts of these services are converted (`--service`; empty: all).
    pub services: Vec<String>,
    /// Only the mounts at these container paths are converted (`--target`; empty: all).
    pub targets: Vec<String>,
    /// Files outside the project's directory (an `include` from a sibling directory, which other
    /// projects may include too) are edited as well (`--allow-outside`); by default the mounts
    /// written there are left as they are.
    pub allow_outside: bool,
}

impl FixSettings {
    /// Whether the mount at `target` of `service` is among those asked to be converted.
    pub(crate) fn wants(&self, service: &str, target: &str) -> bool {
        let target = target.trim_end_matches('/');
        (self.services.is_empty() || self.services.iter().any(|s| s == service))
            && (self.targets.is_empty()
                || self
                    .targets
                    .iter()
                    .any(|t| t.trim_end_matches('/') == target))
    }
}

pub(crate) const DEFAULT_TEMPLATE: &str = "{service}-{basename}";

/// Checks a name template: every `{…}` must be `{service}`, `{basename}` or `{project}` (a typo
/// such as `{servce}` would otherwise end up in every volume name).
pub(crate) fn validate_template(template: &str) -> Result<(), String> {
    if template.trim().is_empty() {
        return Err("the name template is empty".into());
    }
    let mut rest = template;
    while let Some(open) = rest.find(['{', '}']) {
        let after = &rest[open..];
        let Some(close) = after.find('}').filter(|_| after.starts_with('{')) else {
            return Err(format!(
                "name template `{template}`: unmatched `{}`",
                &after[..1]
            ));
        };
        let placeholder = &after[..=close];
        if !matches!(placeholder, "{service}" | "{basename}" | "{project}") {
            return Err(format!(
                "name template `{template}`: unknown placeholder `{placeholder}` (expected \
`{{service}}`, `{{basename}}` or `{{project}}`)"
            ));
        }
        rest = &after[close + 1..];
    }
    Ok(())
}

/// Keeps `[a-zA-Z0-9._-]`, turns anything else into `-`, and never returns an empty name, nor
/// one of a single character: `x:/data` in short syntax is a Windows drive path, not a volume.
pub(crate) fn sanitise(name: &str) -> String {
    let s = volume_chars(name);
    let s = s.trim_matches('-').to_owned();
    if s.is_empty() || s.chars().all(|c| c == '.') {
        "data".into()
    } else if s.chars().count() == 1 {
        format!("{s}-data")
    } else {
        s
    }
}

/// `name` with every character a volume key may not hold turned into `-`.
fn volume_chars(name: &str) -> String {
    name.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect()
}

fn basename(target: &str) -> &str {
    target
        .trim_end_matches(['/', '\\'])
        .rsplit(['/', '\\'])
        .next()
        .filter(|b| !b.is_empty())
        .unwrap_or("data")
}

/// A written, writable bind of a host directory that is not host integration or source code.
pub(crate) fn is_data_bind(project: &Project, service: &Service, mount: &Mount) -> bool {
    if mount.kind != MountKind::Bind
        || !matches!(mount.syntax, MountSyntax::Short | MountSyntax::Long)
        || mount.read_only
        || mount.unresolved
    {
        return false;
    }
    let Some(source) = mount.resolved_source.as_deref().or(mount.source.as_deref()) else {
        return false;
    };
    if is_host_integration(source) || is_host_integration(&mount.target) {
        return false;
    }
    let path = Path::new(source);
    if path.is_absolute()
        && (project.directory.starts_with(path)
            || service
                .build
                .as_ref()
                .and_then(|b| b.context.as_deref())
                .is_some_and(|c| c == path))
    {
        return false;
    }
    is_directory(source)
}

fn is_host_integration(path: &str) -> bool {
    const EXACT: &[&str] = &["/", "/etc/localtime", "/etc/timezone", "/etc/machine-id"];
    const TREES: &[&str] = &["/dev", "/proc", "/sys", "/run", "/var/run"];
    EXACT.contains(&path) || path.ends_with("/docker.sock") || TREES.iter().any(|t| covers(t, path))
}

/// Whether the bind source is (or will be created as) a directory. The rule's one stat: the
/// loader does not record what a bind source is on disk, and a file bind is configuration.
fn is_directory(source: &str) -> bool {
    match std::fs::metadata(source) {
        Ok(meta) => meta.is_dir(),
        // Compose creates a missing short-syntax source as a directory; a name that looks like
        // a file is still most likely a file that is not there yet (generated, or not checked out).
        Err(_) => !looks_like_file(source),
    }
}

fn looks_like_file(source: &str) -> bool {
    const DOTFILES: &[&str] = &[
        ".env",
        ".htpasswd",
        ".htaccess",
        ".npmrc",
        ".pgpass",
        ".netrc",
        ".gitconfig",
        ".bashrc",
        ".profile",
        ".pypirc",
    ];
    let name = source.rsplit('/').find(|s| !s.is_empty()).unwrap_or("");
    if DOTFILES.contains(&name) {
        return true;
    }
    // `nginx.conf`, `init.sql`, `app.toml`: a dot after the first character, with something
    // after it (`.config` and `data.` are directory-like).
    name.char_indices()
        .skip(1)
        .any(|(i, c)| c == '.' && i + 1 < name.len())
}

/// Every mount a migration could convert, in a stable order: (service, mount).
fn candidates<'a>(ctx: &'a Context) -> Vec<(&'a Service, &'a Mount)> {
    let mut out: Vec<(&Service, &Mount)> = Vec::new();
    for (service, analysis) in ctx.services() {
        for m in &analysis.mounts {
            let wanted = match m.kind {
                // One entry in an anchor several services use is an anonymous volume of each:
                // one named volume would make them share their data.
                MountKind::Anonymous => sharing(ctx, m) <= 1,
                MountKind::Bind => {
                    ctx.fixes.binds != BindStrategy::Skip && is_data_bind(ctx.project, service, m)
                }
                _ => false,
            };
            if wanted {
                out.push((service, m));
            }
        }
    }
    out
}

/// The entries of one host directory that a migration converts together into one named volume
/// (several services binding one directory keep sharing their files).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct BindGroup {
    /// Where each entry was written, once each, in a stable order.
    pub(crate) locs: Vec<Loc>,
    /// How many services mount the directory.
    pub(crate) services: usize,
    /// Whether every entry is among those asked to be converted (`--service`, `--target`):
    /// converting only some would split what the services share.
    pub(crate) wanted: bool,
}

/// The group of the bind of host directory `source`, or None when the directory cannot become
/// one volume: another mount that is no candidate binds it (read-only, long syntax, …), a bind
/// reaches inside it, or it lies inside another directory being converted — converting it would
/// split what those containers see. Computed once per project (`Memo::bind_groups`).
fn bind_group<'a>(ctx: &'a Context, source: &str) -> Option<&'a BindGroup> {
    let groups = ctx.memo.bind_groups.get_or_init(|| {
        let mut groups: HashMap<String, Option<BindGroup>> = HashMap::new();
        let mut seen: HashSet<Loc> = HashSet::new();
        let mut services: HashSet<(&str, &str)> = HashSet::new();
        let mut candidate_places: HashSet<(&str, Loc)> = HashSet::new();
        for (s, m) in candidates(ctx) {
            let (MountKind::Bind, Some(src), Some(loc)) =
                (m.kind, m.resolved_source.as_deref(), m.loc)
            else {
                continue;
            };
            candidate_places.insert((s.name.as_str(), loc));
            let group = groups.entry(src.to_owned()).or_insert_with(|| {
                Some(BindGroup {
                    locs: Vec::new(),
                    services: 0,
                    wanted: true,
                })
            });
            let Some(group) = group else { continue };
            group.wanted &= ctx.fixes.wants(&s.name, &m.target);
            if seen.insert(loc) {
                group.locs.push(loc);
            }
            if services.insert((s.name.as_str(), src)) {
                group.services += 1;
            }
        }
        let mut sources = std::collections::BTreeSet::new();
        for (s, a) in ctx.services() {
            for m in a.mounts.iter().filter(|m| m.kind == MountKind::Bind) {
                let Some(src) = m.resolved_source.as_deref() else {
                    continue;
                };
                sources.insert(src);
                let candidate = m
                    .loc
                    .is_some_and(|l| candidate_places.contains(&(s.name.as_str(), l)));
                if !candidate && let Some(g) = groups.get_mut(src) {
                    *g = None;
                }
            }
        }
        let keys: Vec<String> = groups.keys().cloned().collect();
        for key in keys {
            let nested = sources
                .range(format!("{key}/").as_str()..format!("{key}0").as_str())
                .next()
                .is_some();
            let inside = Path::new(&key)
                .ancestors()
                .skip(1)
                .any(|a| a.to_str().is_some_and(|a| groups.contains_key(a)));
            if nested || inside {
                groups.insert(key, None);
            }
        }
        groups
    });
    groups.get(source)?.as_ref()
}

/// How many services mount the place a mount was written (more than one: an anchor several
/// services use). Counted once per project (`Memo::sharing`).
fn sharing(ctx: &Context, m: &Mount) -> usize {
    let Some(loc) = m.loc else { return 0 };
    let counts = ctx.memo.sharing.get_or_init(|| {
        let mut counts: HashMap<Loc, usize> = HashMap::new();
        for (_, a) in ctx.services() {
            let mut seen: HashSet<Loc> = HashSet::new();
            for l in a.mounts.iter().filter_map(|x| x.loc) {
                if seen.insert(l) {
                    *counts.entry(l).or_default() += 1;
                }
            }
        }
        counts
    });
    counts.get(&loc).copied().unwrap_or(0)
}

/// The name a converted mount gets: the template, sanitised, unique against every declared
/// volume and every other candidate of this project (so fixes of one pass never collide).
/// Every candidate is named once per project (`Memo::volume_names`).
pub(crate) fn volume_name(ctx: &Context, service: &Service, mount: &Mount) -> String {
    fn converted_bind<'m>(ctx: &Context, m: &'m Mount) -> Option<&'m str> {
        (m.kind == MountKind::Bind && ctx.fixes.binds != BindStrategy::Skip)
            .then_some(m.resolved_source.as_deref())
            .flatten()
    }
    let raw_name = |service: &str, m: &Mount| {
        let shared = match converted_bind(ctx, m).and_then(|src| bind_group(ctx, src)) {
            Some(group) => group.services > 1,
            None => sharing(ctx, m) > 1,
        };
        let t = template(ctx, shared);
        sanitise(&fill(ctx, &t, service, &m.target))
    };
    // One conversion per place written (an anchor is converted once), one per host directory
    // for binds (the services sharing it share the volume), implicit ones per service.
    let key_of = |s: &Service, m: &Mount| match (converted_bind(ctx, m), m.loc) {
        (Some(src), _) => (None, String::new(), src.to_owned()),
        (None, Some(loc)) => (Some(loc), String::new(), String::new()),
        (None, None) => (None, s.name.clone(), m.target.clone()),
    };
    let assigned = ctx.memo.volume_names.get_or_init(|| {
        let mut taken: HashSet<String> =
            ctx.project.volumes.iter().map(|v| v.key.clone()).collect();
        let mut assigned = HashMap::new();
        for (s, m) in candidates(ctx) {
            let k = key_of(s, m);
            if assigned.contains_key(&k) {
                continue;
            }
            let base = raw_name(&s.name, m);
            let mut name = base.clone();
            let mut n = 2;
            while taken.contains(&name) {
                name = format!("{base}-{n}");
                n += 1;
            }
            taken.insert(name.clone());
            assigned.insert(k, name);
        }
        assigned
    });
    assigned
        .get(&key_of(service, mount))
        .cloned()
        .unwrap_or_else(|| raw_name(&service.name, mount))
}

/// The name template in effect (`--name-template`, else [`DEFAULT_TEMPLATE`]); for a volume
/// several services share (an entry in an anchor) without the service.
fn template(ctx: &Context, shared: bool) -> String {
    let template = ctx
        .fixes
        .name_template
        .as_deref()
        .unwrap_or(DEFAULT_TEMPLATE);
    if shared {
        template.replace("{service}-", "").replace("{service}", "")
    } else {
        template.to_owned()
    }
}

/// `template` with its placeholders replaced, not yet sanitised. A basename that repeats the
/// service's name is said once: `mysql` at `/var/lib/mysql` is `mysql`, not `mysql-mysql`.
fn fill(ctx: &Context, template: &str, service: &str, path: &str) -> String {
    let base = basename(path);
    let template = if base == service {
        template.replace("{service}-{basename}", "{service}")
    } else {
        template.to_owned()
    };
    template
        .replace("{service}", service)
        .replace("{basename}", base)
        .replace("{project}", &ctx.project.name)
}

/// Whether several services mount the entry `mount` was written as (it sits in an anchor they
/// share): its volume is then named without the service.
pub(crate) fn is_shared(ctx: &Context, mount: &Mount) -> bool {
    sharing(ctx, mount) > 1
}

/// The name to suggest for a named volume at a data path that no mount holds yet: the
/// template of [`volume_name`] for `service` (None: a volume the services sharing an entry
/// share), sanitised, unique in the project: against the declared volumes, the names
/// conversions give, and every other path's suggestion (`influxdb` keeps data in two paths both
/// called `influxdb2`). One path of one service is always given the same name, and a path a
/// conversion covers the name of its volume.
pub(crate) fn name_for_path(ctx: &Context, service: Option<&str>, path: &str) -> String {
    let key = (service.map(str::to_owned), path.to_owned());
    let mut names = ctx
        .memo
        .path_names
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(name) = names.assigned.get(&key) {
        return name.clone();
    }
    if names.taken.is_none() {
        // Once per project: the names conversions give, by service and target.
        let converted: HashMap<(String, String), String> = candidates(ctx)
            .into_iter()
            .map(|(s, m)| ((s.name.clone(), m.target.clone()), volume_name(ctx, s, m)))
            .collect();
        let declared = ctx.project.volumes.iter().map(|v| v.key.clone());
        names.taken = Some(declared.chain(converted.values().cloned()).collect());
        names.converted = converted;
    }
    // A mount the fix converts at that path: the help names the volume the fix creates.
    if let Some(name) = service.and_then(|s| names.converted.get(&(s.to_owned(), path.to_owned())))
    {
        return name.clone();
    }
    let template = template(ctx, service.is_none());
    let base = sanitise(&fill(ctx, &template, service.unwrap_or(""), path));
    let taken = names
        .taken
        .as_mut()
        .expect("filled above, once per project");
    let mut name = base.clone();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{base}-{n}");
        n += 1;
    }
    taken.insert(name.clone());
    names.assigned.insert(key, name.clone());
    name
}

/// [`name_for_path`] for help text that must fit every service sharing an entry, each with a
/// volume of its own: the service stays a placeholder, `<service>-data`.
pub(crate) fn name_pattern_for_path(ctx: &Context, path: &str) -> String {
    let parts: Vec<String> = template(ctx, false)
        .split("{service}")
        .map(|part| volume_chars(&fill(ctx, part, "", path)))
        .collect();
    let pattern = parts.join("<service>");
    let pattern = pattern.trim_matches('-');
    if pattern.is_empty() {
        "data".to_owned()
    } else {
        pattern.to_owned()
    }
}

/// Whether the project is complete enough to migrate: when compose rejects it, an entry it
/// could not read is missing from the model, and a conversion could mount a second volume on
/// a path that entry already mounts (`${UNSET}:/data` + a new `x-data:/data`).
fn convertible(ctx: &Context) -> bool {
    !ctx.project.is_rejected()
}

/// Whether a file of the project lies outside its directory: other projects may read it too, so
/// converting a mount there would change their volumes behind their backs (and leave them
/// without a plan). Paths are cleaned when the project is loaded.
pub(crate) fn outside_project(project: &Project, file: usize) -> bool {
    !project
        .file(file)
        .source
        .path
        .starts_with(&project.directory)
}

/// The file a conversion edits; None for a file read through `extends`, whose top-level
/// `volumes:` compose ignores (the declaration would have to go to another file), and for one
/// outside the project's directory unless that is allowed.
fn view<'a>(ctx: &'a Context, file: usize) -> Option<View<'a>> {
    let f = ctx.project.file(file);
    let outside = !ctx.fixes.allow_outside && outside_project(ctx.project, file);
    (f.role != FileRole::Extended && !outside).then_some(View {
        source: &f.source,
        tree: &f.tree,
    })
}

/// The raw (not interpolated) text of a scalar node.
fn raw_scalar<'a>(view: View<'a>, node: NodeId) -> Option<&'a str> {
    match &view.tree.nodes[node].kind {
        Kind::Scalar { value, .. } => Some(value),
        _ => None,
    }
}

fn finish(
    view: View,
    at: usize,
    mut edits: Vec<Edit>,
    decl: Declaration,
    title: String,
) -> Option<Fix> {
    if edits.iter().any(|e| view.is_protected(e.start)) {
        return None;
    }
    let declare = edit::declare_volumes(view, at, &[decl])?;
    // Exactly as long as needed: a project may have a fix for each of 100 000 entries.
    edits.reserve_exact(declare.len());
    edits.extend(declare);
    Some(Fix {
        applicability: Applicability::Unsafe,
        title,
        edits,
    })
}

/// `- /data` or `{type: volume, target: /data}` → the named volume `<name>` at the same target.
pub(crate) fn convert_anonymous(ctx: &Context, service: &Service, mount: &Mount) -> Option<Fix> {
    if mount.kind != MountKind::Anonymous
        || mount.syntax == MountSyntax::Implicit
        || !ctx.fixes.wants(&service.name, &mount.target)
        || !convertible(ctx)
        || is_shared(ctx, mount)
    {
        return None;
    }
    let loc = mount.loc?;
    let v = view(ctx, loc.file)?;
    let node = v.node_at(loc)?;
    let name = volume_name(ctx, service, mount);
    let edit = match mount.syntax {
        MountSyntax::Short => {
            let raw = raw_scalar(v, node)?;
            if raw.contains('$') || raw.contains(':') {
                return None;
            }
            edit::replace_scalar(v, node, &format!("{name}:{raw}"))?
        }
        MountSyntax::Long => {
            let Kind::Map { entries, .. } = &v.tree.nodes[node].kind else {
                return None;
            };
            match entries
                .iter()
                .find(|(k, _)| v.tree.scalar(*k) == Some("source"))
            {
                Some((_, value)) => edit::replace_scalar(v, *value, &name)?,
                None => edit::append_map_entry(v, node, "source", &name)?,
            }
        }
        _ => return None,
    };
    finish(
        v,
        loc.start,
        vec![edit],
        Declaration {
            name: name.clone(),
            bind_device: None,
        },
        format!("mount the named volume `{name}` instead"),
    )
}

/// Image `VOLUME`s nothing is mounted on → named volumes mounted there explicitly (one fix for
/// all of a service's, so its `volumes:` list is created once).
pub(crate) fn add_implicit(ctx: &Context, service: &Service, implicit: &[&Mount]) -> Option<Fix> {
    if implicit.iter().any(|m| m.syntax != MountSyntax::Implicit) {
        return None;
    }
    let implicit: Vec<&Mount> = implicit
        .iter()
        .copied()
        .filter(|m| ctx.fixes.wants(&service.name, &m.target))
        .collect();
    if implicit.is_empty() {
        return None;
    }
    let names: Vec<String> = implicit
        .iter()
        .map(|m| volume_name(ctx, service, m))
        .collect();
    let targets: Vec<&str> = implicit.iter().map(|m| m.target.as_str()).collect();
    add_named(ctx, service, &names, &targets, "the image's `VOLUME` paths")
}

/// Data paths nothing persists (the data is in the container's own layer) → named volumes
/// mounted there, named as the finding's help names them. Not for an `image:` several services
/// share through an anchor: each would need a volume of its own.
pub(crate) fn add_layer_volumes(ctx: &Context, service: &Service, paths: &[&str]) -> Option<Fix> {
    let paths: Vec<&str> = paths
        .iter()
        .copied()
        .filter(|p| ctx.fixes.wants(&service.name, p))
        .collect();
    if paths.is_empty() {
        return None;
    }
    // Unique in the project, and the names the help gives.
    let names: Vec<String> = paths
        .iter()
        .map(|p| name_for_path(ctx, Some(&service.name), p))
        .collect();
    add_named(ctx, service, &names, &paths, "the data paths")
}

/// Appends `name:target` entries to the service's `volumes:` (creating the list) and declares
/// the names at top level; the fix's title says they are mounted on `what`.
fn add_named(
    ctx: &Context,
    service: &Service,
    names: &[String],
    targets: &[&str],
    what: &str,
) -> Option<Fix> {
    if !convertible(ctx) {
        return None;
    }
    let v = view(ctx, service.loc.file)?;
    // The service's key by its span (indexed), else every mapping in turn.
    let indexed = v
        .tree
        .node_with_span(service.loc.start, service.loc.end)
        .and_then(|key| v.tree.value_of_key(key));
    let service_map = indexed.or_else(|| {
        v.tree.nodes.iter().find_map(|n| match &n.kind {
            Kind::Map { entries, .. } => entries
                .iter()
                .find(|(k, _)| {
                    v.tree.nodes[*k].span.start == service.loc.start
                        && v.tree.nodes[*k].span.end == service.loc.end
                })
                .map(|(_, val)| *val),
            _ => None,
        })
    })?;
    let Kind::Map { entries, .. } = &v.tree.nodes[service_map].kind else {
        return None;
    };
    let items: Vec<String> = names
        .iter()
        .zip(targets)
        .map(|(name, target)| format!("{name}:{target}"))
        .collect();
    let own_volumes = entries
        .iter()
        .find(|(k, _)| v.tree.scalar(*k) == Some("volumes"))
        .map(|(_, val)| *val);
    let written_mounts = service
        .mounts
        .iter()
        .any(|m| m.syntax == MountSyntax::Short || m.syntax == MountSyntax::Long);
    let edit = match own_volumes {
        // Only a list written right here may grow: an alias would change every user of its anchor.
        Some(seq) if matches!(v.tree.nodes[seq].kind, Kind::Seq { .. }) => {
            edit::append_seq_items(v, seq, &items)?
        }
        Some(_) => return None,
        // A new `volumes:` key would replace volumes merged in from an anchor (`<<`) or another file.
        None if written_mounts => return None,
        None => edit::add_seq_key(v, service_map, "volumes", &items)?,
    };
    let mut edits = vec![edit];
    let decls: Vec<Declaration> = names
        .iter()
        .map(|n| Declaration {
            name: n.clone(),
            bind_device: None,
        })
        .collect();
    if edits.iter().any(|e| v.is_protected(e.start)) {
        return None;
    }
    edits.extend(edit::declare_volumes(v, service.loc.start, &decls)?);
    let listed = names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ");
    Some(Fix {
        applicability: Applicability::Unsafe,
        title: format!("mount the named volume(s) {listed} on {what}"),
        edits,
    })
}

/// A read-write directory bind → a named volume (`--binds volume`) or a named volume bound to the
/// same directory (`--binds keep-path`). Every entry that binds the directory is converted by the
/// one fix, into the one volume, so the services that shared the directory share the volume.
pub(crate) fn convert_bind(ctx: &Context, service: &Service, mount: &Mount) -> Option<Fix> {
    if ctx.fixes.binds == BindStrategy::Skip
        || !is_data_bind(ctx.project, service, mount)
        || !convertible(ctx)
    {
        return None;
    }
    let loc = mount.loc?;
    let group = bind_group(ctx, mount.resolved_source.as_deref()?).filter(|g| g.wanted)?;
    // One fix edits one file.
    if group.locs.iter().any(|l| l.file != loc.file) {
        return None;
    }
    let v = view(ctx, loc.file)?;
    let name = volume_name(ctx, service, mount);
    let mut edits = Vec::with_capacity(group.locs.len());
    let mut written_source = None;
    for &at in &group.locs {
        let node = v.node_at(at)?;
        // Short syntax only: a long entry or a variable is left, and the group with it.
        let raw = raw_scalar(v, node)?;
        if raw.contains('$') {
            return None;
        }
        let parsed = crate::compose::mounts::parse_short(raw).ok()?;
        if parsed.ignored_options.iter().any(|o| !o.is_empty())
            || parsed.propagation.is_some()
            || parsed.selinux.is_some()
        {
            return None;
        }
        let target = &raw[parsed.target_range.clone()];
        edits.push(edit::replace_scalar(v, node, &format!("{name}:{target}"))?);
        if at == loc {
            written_source = parsed.source_range.clone().map(|r| raw[r].to_owned());
        }
    }
    edits.sort_by_key(|e| e.start);
    // `keep-path`: the directory as the file wrote it when relative (compose resolves a relative
    // `device` of a `local` bind volume against the project directory, as it does a bind's
    // source), so the file does not tie the project to one machine's path.
    let device = (ctx.fixes.binds == BindStrategy::KeepPath).then(|| match written_source {
        Some(w) if w.starts_with("./") || w.starts_with("../") || w == "." || w == ".." => w,
        _ => mount.resolved_source.clone().unwrap_or_default(),
    });
    let title = match device {
        Some(_) => format!("keep the data in place behind the named volume `{name}`"),
        None => format!("move the data into the named volume `{name}`"),
    };
    finish(
        v,
        loc.start,
        edits,
        Declaration {
            name,
            bind_device: device,
        },
        title,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::loader::{self, LoadOptions};
    use crate::images::KnowledgeBase;

    /// Runs `f` on the context of a project read from `text`, with `template` if any.
    fn with_context<T>(text: &str, template: Option<&str>, f: impl FnOnce(&Context) -> T) -> T {
        let project = loader::load(&LoadOptions {
            files: vec!["-".into()],
            stdin: Some(text.to_owned()),
            stdin_filename: Some("/srv/app/compose.yaml".into()),
            cwd: "/srv/app".into(),
            ..LoadOptions::default()
        });
        let kb = KnowledgeBase::builtin();
        let analysis = crate::analysis::analyse(&project, kb);
        let fixes = FixSettings {
            name_template: template.map(str::to_owned),
            ..FixSettings::default()
        };
        f(&Context {
            project: &project,
            analysis: &analysis,
            kb,
            fixes: &fixes,
            memo: Default::default(),
        })
    }

    #[test]
    fn templates_name_known_placeholders_only() {
        assert!(validate_template(DEFAULT_TEMPLATE).is_ok());
        assert!(validate_template("{project}_{service}.{basename}").is_ok());
        assert!(validate_template("data").is_ok());
        assert!(validate_template("").is_err());
        assert!(validate_template("{servce}-{basename}").is_err());
        assert!(validate_template("{service").is_err());
        assert!(validate_template("service}").is_err());
        assert!(validate_template("{{service}}").is_err());
    }

    #[test]
    fn names_are_sanitised() {
        assert_eq!(sanitise("db-/var/lib"), "db--var-lib");
        assert_eq!(sanitise("web-node_modules"), "web-node_modules");
        assert_eq!(sanitise("é"), "data");
        assert_eq!(sanitise("x"), "x-data");
        assert_eq!(basename("/var/lib/postgresql/data/"), "data");
        assert_eq!(basename("/"), "data");
    }

    #[test]
    fn names_for_paths_follow_the_template() {
        let text = "x-site: &site\n  - site:/srv/html\nservices:\n  db:\n    image: postgres:16\n  mysql:\n    image: mysql:8\n  web:\n    image: nginx:1.27\n    volumes: *site\n  preview:\n    image: nginx:1.27\n    volumes: *site\nvolumes:\n  db-data: {}\n  db-data-2: {}\n";
        with_context(text, None, |ctx| {
            let db = Some("db");
            assert_eq!(
                name_for_path(ctx, db, "/var/lib/postgresql/data"),
                "db-data-3"
            );
            assert_eq!(name_for_path(ctx, db, "/var/lib/a b/"), "db-a-b");
            assert_eq!(name_for_path(ctx, Some("mysql"), "/var/lib/mysql"), "mysql");
            assert_eq!(name_for_path(ctx, None, "/srv/html"), "html");
            assert_eq!(name_for_path(ctx, None, "/x"), "x-data");
            assert_eq!(
                name_pattern_for_path(ctx, "/var/lib/mysql"),
                "<service>-mysql"
            );
            let web = &ctx.project.services[2];
            assert!(is_shared(ctx, &web.mounts[0]));
        });
        with_context(text, Some("{project}-{service}-{basename}"), |ctx| {
            // The conversion of db's image VOLUME is `app-db-data`: no suggestion takes a name
            // twice, and one path of one service keeps its name.
            assert_eq!(name_for_path(ctx, Some("db"), "/data"), "app-db-data-2");
            assert_eq!(name_for_path(ctx, Some("data"), "/data"), "app-data");
            assert_eq!(name_for_path(ctx, None, "/data"), "app-data-2");
            assert_eq!(name_for_path(ctx, Some("data"), "/data"), "app-data");
            assert_eq!(name_pattern_for_path(ctx, "/data"), "app-<service>-data");
        });
    }
}
