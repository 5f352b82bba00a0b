//! The data-layout analysis the four data rules share (`ephemeral-data`, `implicit-volume`,
//! `shadowed-data-path`, `shared-data-volume`): where each data path of a service's image ends
//! up, so that each one is reported by exactly one of them; and the wording of their messages
//! and help (how the image is named, which volumes to add).

use foldhash::{HashMap, HashMapExt, HashSet};

use super::{Context, RuleMeta};
use crate::analysis::{Effective, Role, ServiceAnalysis, VolumeSource, covers};
use crate::compose::model::{Mount, MountSyntax, Project, Service};
use crate::compose::mounts::{MountKind, VolumeBacking};
use crate::finding::{Finding, Severity};
use crate::images::{ImageFacts, parse_image_ref};
use crate::rules::convert;
use crate::yaml::value::Loc;

/// Where one data path of a service's image ends up.
#[derive(Debug)]
pub(super) enum Verdict<'a> {
    /// The deepest mount covering it is a bind, named or cluster volume.
    Durable,
    /// Nothing covers it and no mount was aimed at it: the container layer.
    NotPersisted,
    /// A tmpfs, or a named volume on tmpfs, is the deepest mount covering it.
    Tmpfs(&'a Mount),
    /// An unmounted image `VOLUME` holds it, and no persistent mount was aimed at it.
    ImplicitVolume(&'a Mount),
    /// A persistent read-write `mount` on a strict ancestor of the image `VOLUME` that holds it.
    Shadowed { mount: &'a Mount, volume: &'a Mount },
    /// A persistent read-write `mount` at the data path of another layout of the image (postgres
    /// 18 with a volume at the old `/var/lib/postgresql/data`), or a named volume inside the
    /// data path, while the data itself is in an image `VOLUME` (`Some`) or nowhere (`None`).
    Misplaced {
        mount: &'a Mount,
        volume: Option<&'a Mount>,
        other_layout: bool,
    },
    /// An anonymous volume of another service (its image `VOLUME` or an entry it writes), shared
    /// through `volumes_from`: it survives a recreate of either, but `down` orphans it.
    Shared { volume: &'a Mount, from: &'a str },
    /// An explicit anonymous volume, or a mount kind that is not about storage (npipe, image):
    /// another rule's business.
    Other,
}

#[derive(Debug)]
pub(super) struct DataPath<'a> {
    pub(crate) path: String,
    pub(crate) verdict: Verdict<'a>,
}

/// A service's mounts as the container gets them, and where each of its data paths ends up.
#[derive(Debug)]
pub(super) struct Layout<'a> {
    /// Own written mounts, then mounts inherited through `volumes_from`, then the service's own
    /// image `VOLUME`s that nothing else is mounted on.
    pub(crate) mounts: Vec<&'a Mount>,
    /// Empty when the image is unknown, stateless, or its data was moved by `command:` flags.
    pub(crate) paths: Vec<DataPath<'a>>,
}

impl<'a> Layout<'a> {
    /// The layout of `analysis`'s service (one of `ctx.analysis`): None when the mount table
    /// cannot be known statically (`volumes_from` a container or an unknown service). Worked
    /// out for every service the first time a rule asks.
    pub(super) fn of<'c>(ctx: &'c Context<'a>, analysis: &ServiceAnalysis) -> Option<&'c Self> {
        let layouts = ctx.memo.layouts.get_or_init(|| {
            let mut layouts: Vec<Option<Layout>> = Vec::new();
            layouts.resize_with(ctx.project.services.len(), || None);
            for a in ctx.analysis {
                layouts[a.service] = Layout::work_out(ctx, a);
            }
            layouts
        });
        layouts.get(analysis.service)?.as_ref()
    }

    fn work_out(ctx: &Context<'a>, analysis: &'a ServiceAnalysis) -> Option<Layout<'a>> {
        let effective = crate::analysis::effective_mounts(ctx.project, ctx.analysis, analysis)?;
        let mounts: Vec<&Mount> = effective.iter().map(|e| e.mount).collect();
        let paths = match (&analysis.facts, &analysis.placement) {
            (Some(facts), Some(placement))
                if facts.stateful && matches!(placement.role, Role::Server | Role::NotAskedFor) =>
            {
                let other_layouts = other_layout_paths(ctx, facts);
                placement
                    .paths
                    .iter()
                    .map(|p| DataPath {
                        path: p.clone(),
                        verdict: match verdict(ctx.project, p, &mounts, &other_layouts) {
                            v @ (Verdict::ImplicitVolume(_) | Verdict::Other) => {
                                shared(&effective, p).unwrap_or(v)
                            }
                            v => v,
                        },
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        Some(Layout { mounts, paths })
    }
}

/// [`Verdict::Shared`] when the deepest mount holding `path` is an anonymous volume that comes
/// from another service through `volumes_from`.
fn shared<'a>(effective: &[Effective<'a>], path: &str) -> Option<Verdict<'a>> {
    let holder = effective
        .iter()
        .filter(|e| covers(&e.mount.target, path))
        .max_by_key(|e| e.mount.target.len())?;
    (holder.mount.kind == MountKind::Anonymous).then_some(())?;
    Some(Verdict::Shared {
        volume: holder.mount,
        from: holder.from?,
    })
}

/// A bind, or a named or cluster volume whose data is not in memory.
fn is_persistent(project: &Project, m: &Mount) -> bool {
    matches!(
        m.kind,
        MountKind::Bind | MountKind::Named | MountKind::Cluster
    ) && !in_memory(project, m)
}

/// A tmpfs, or a named volume of the local driver on tmpfs (`driver_opts: {type: tmpfs}`).
pub(super) fn in_memory(project: &Project, m: &Mount) -> bool {
    m.kind == MountKind::Tmpfs || project.backing(m) == VolumeBacking::Memory
}

fn verdict<'a>(
    project: &Project,
    path: &str,
    mounts: &[&'a Mount],
    other_layouts: &[String],
) -> Verdict<'a> {
    let holder = mounts
        .iter()
        .copied()
        .filter(|m| covers(&m.target, path))
        .max_by_key(|m| m.target.len());
    // A mount that was clearly meant to hold this data but sits elsewhere: on the path another
    // tag of the image uses, or (a named volume, which is for data) inside the data directory.
    // A bind inside it is usually configuration, scripts or plugins, and is not considered.
    let aimed = |m: &&Mount| is_persistent(project, m) && !m.read_only && !covers(&m.target, path);
    let misplaced = mounts
        .iter()
        .copied()
        .filter(aimed)
        .find(|m| other_layouts.contains(&m.target))
        .map(|m| (m, true))
        .or_else(|| {
            mounts
                .iter()
                .copied()
                .filter(aimed)
                .find(|m| m.kind == MountKind::Named && covers(path, &m.target))
                .map(|m| (m, false))
        });
    match holder {
        Some(m) if is_persistent(project, m) => Verdict::Durable,
        Some(m) if in_memory(project, m) => Verdict::Tmpfs(m),
        Some(m) if m.syntax == MountSyntax::Implicit => {
            let parent = mounts
                .iter()
                .copied()
                .filter(|p| {
                    is_persistent(project, p)
                        && !p.read_only
                        && p.target != m.target
                        && covers(&p.target, &m.target)
                })
                .max_by_key(|p| p.target.len());
            match (parent, misplaced) {
                (Some(mount), _) => Verdict::Shadowed { mount, volume: m },
                (None, Some((mount, other_layout))) => Verdict::Misplaced {
                    mount,
                    volume: Some(m),
                    other_layout,
                },
                (None, None) => Verdict::ImplicitVolume(m),
            }
        }
        Some(_) => Verdict::Other,
        None => match misplaced {
            Some((mount, other_layout)) => Verdict::Misplaced {
                mount,
                volume: None,
                other_layout,
            },
            None => Verdict::NotPersisted,
        },
    }
}

/// Data paths the image uses with other tags (its other variants and its default layout), minus
/// the ones this tag uses.
fn other_layout_paths(ctx: &Context, facts: &ImageFacts) -> Vec<String> {
    let Some(entry) = ctx.kb.get(&facts.key) else {
        return Vec::new();
    };
    let mut paths: Vec<String> = Vec::new();
    let variants = entry.variants.iter().filter_map(|v| v.data_paths.as_ref());
    for path in std::iter::once(&entry.data_paths).chain(variants).flatten() {
        if !facts.data_paths.contains(path) && !paths.contains(path) {
            paths.push(path.clone());
        }
    }
    paths
}

/// A finding about the service's data, in service `service`. It keeps the rule's severity,
/// unless the image's data counts only when asked for and nothing in the project asks (a cache
/// whose persistence nobody configured): then it is information and the message says why.
/// `lint::run` applies a configured severity over either.
pub(super) fn data_finding(
    rule: &RuleMeta,
    analysis: &ServiceAnalysis,
    service: &Service,
    loc: Loc,
    message: String,
    help: String,
) -> Finding {
    let (severity, message) = match analysis.placement.as_ref().map(|p| &p.role) {
        Some(Role::NotAskedFor) => (
            Severity::Info,
            format!(
                "{message} (nothing in the project asks it to persist: if it is only a cache, this costs nothing)"
            ),
        ),
        _ => (rule.severity, message),
    };
    Finding::new(rule.id, severity, loc, message, help).service(&service.name)
}

/// Where a service-level finding points: the `build:` value when the facts come from a local
/// Dockerfile, else the `image:` value, else the `build:` value.
pub(super) fn image_loc(service: &Service, analysis: &ServiceAnalysis) -> Option<Loc> {
    let build = service.build.as_ref().map(|b| b.loc);
    if matches!(analysis.volumes_from, VolumeSource::Dockerfile(_)) {
        return build.or(service.image.as_ref().map(|i| i.loc));
    }
    service.image.as_ref().map(|i| i.loc).or(build)
}

/// How messages name the image: "`postgres:16`", "`postgres` (`latest`)" when the tag decides
/// the layout, or for a local build "the image built from `postgres`".
pub(super) fn subject(ctx: &Context, service: &Service, analysis: &ServiceAnalysis) -> String {
    match (&analysis.volumes_from, &service.image, &analysis.facts) {
        (VolumeSource::Dockerfile(_), _, Some(facts)) => {
            format!("the image built from `{}`", facts.key)
        }
        (VolumeSource::Dockerfile(_), _, None) => "the built image".to_owned(),
        (_, Some(image), _) => {
            // An untagged reference pulls `latest`: say so when the tag decides the layout.
            let untagged = analysis
                .facts
                .as_ref()
                .and_then(|f| ctx.kb.get(&f.key))
                .is_some_and(|e| !e.variants.is_empty())
                && parse_image_ref(&image.value)
                    .is_some_and(|r| r.tag.is_none() && r.digest.is_none());
            if untagged {
                format!("`{}` (`latest`)", image.value)
            } else {
                format!("`{}`", image.value)
            }
        }
        (_, None, Some(facts)) => format!("the `{}` image", facts.key),
        (_, None, None) => "the image".to_owned(),
    }
}

/// "`- name:/path`" entries joined for help text, and the names (named as `stowage migrate`
/// names volumes). With `service` None (a place several services share through an anchor) the
/// names are patterns: `<service>-data`.
pub(super) fn volume_entries(
    ctx: &Context,
    service: Option<&str>,
    paths: &[&str],
) -> (String, Vec<String>) {
    let mut names: Vec<String> = Vec::new();
    let mut entries = Vec::new();
    for path in paths {
        let base = match service {
            Some(service) => convert::name_for_path(ctx, Some(service), path),
            None => convert::name_pattern_for_path(ctx, path),
        };
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}-{n}");
            n += 1;
        }
        entries.push(format!("`- {name}:{path}`"));
        names.push(name);
    }
    (entries.join(", "), names)
}

/// "`- name:/path` to the service's `volumes:` and declare `name:` under top-level `volumes:`":
/// a named volume for each path, worded for every service when the finding's place `loc` is
/// shared through an anchor.
pub(super) fn add_volumes_hint(ctx: &Context, service: &str, loc: Loc, paths: &[&str]) -> String {
    let shared = shared_place(ctx, loc);
    let (entries, names) = volume_entries(ctx, (!shared).then_some(service), paths);
    let whose = if shared {
        "each service's"
    } else {
        "the service's"
    };
    format!("{entries} to {whose} `volumes:` {}", declare_hint(&names))
}

/// Whether `loc` (an `image:` value or a mount entry) belongs to several services, as when it is
/// written once in an anchor: a finding there is merged, so its help must fit every service.
pub(super) fn shared_place(ctx: &Context, loc: Loc) -> bool {
    // How many services each place belongs to, counted once per project.
    let counts = ctx.memo.places.get_or_init(|| {
        let mut counts: HashMap<Loc, usize> = HashMap::new();
        for (s, a) in ctx.services() {
            let mut own: HashSet<Loc> = a.mounts.iter().filter_map(|m| m.loc).collect();
            own.extend(image_loc(s, a));
            for l in own {
                *counts.entry(l).or_default() += 1;
            }
        }
        counts
    });
    counts.get(&loc).is_some_and(|&n| n > 1)
}

/// "`a`", "`a` and `b`", "`a`, `b` and `c`".
pub(super) fn code_list<S: AsRef<str>>(items: &[S]) -> String {
    let quoted: Vec<String> = items.iter().map(|s| format!("`{}`", s.as_ref())).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} and {last}", rest.join(", ")),
    }
}

/// "`a:` under top-level `volumes:`" for every name.
pub(super) fn declare_hint(names: &[String]) -> String {
    let declared: Vec<String> = names.iter().map(|n| format!("{n}:")).collect();
    format!(
        "and declare {} under top-level `volumes:`",
        code_list(&declared)
    )
}
