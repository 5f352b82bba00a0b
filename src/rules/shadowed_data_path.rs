//! `shadowed-data-path`: a persistent mount on a parent or on the wrong path that leaves an
//! image's data elsewhere; and the data-layout verdicts the four data rules share
//! (`ephemeral-data`, `implicit-volume`, `shadowed-data-path`, `shared-data-volume`), so that
//! each data path is reported by exactly one of them.

use std::path::Path;

use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::analysis::{ServiceAnalysis, VolumeSource, covers};
use crate::finding::{Finding, Severity};
use crate::images::{ImageFacts, parse_image_ref};
use crate::model::{Mount, MountSyntax, Service};
use crate::mounts::MountKind;
use crate::value::Loc;

pub struct ShadowedDataPath;

static META: RuleMeta = RuleMeta {
    id: "shadowed-data-path",
    category: Category::Persistence,
    severity: Severity::Error,
    off_by_default: false,
    fix: FixAvailability::None,
    summary: "a persistent mount on a parent or on the wrong path leaves the image's data elsewhere",
    what_it_does: "For images the knowledge base knows (or the base image of a local Dockerfile), \
finds a bind mount or named volume that was clearly meant to persist the image's data but does \
not hold it:\n\n\
- the mount is on a **parent** of the data path, and the image declares a `VOLUME` between the \
mount and the data (or at the data path itself) that nothing is mounted on. The engine skips an \
image `VOLUME` only when something is mounted at *exactly* that path, so it creates an anonymous \
volume there, on top of your mount, and the data goes into it. This is the classic \
`db:/var/lib/postgresql` mistake with `postgres` 17 and older, whose data is in \
`/var/lib/postgresql/data`.\n\
- the mount is on the path **another version** of the image uses. This is `postgres` 18 and \
later with a volume at the old `/var/lib/postgresql/data`: from 18 on the image keeps its data in \
`/var/lib/postgresql/<major>/docker` (`VOLUME /var/lib/postgresql`), and its entrypoint refuses \
to start on the old layout. Likewise `chromadb/chroma` 1.x (`/data`) with a volume at the 0.x \
`/chroma/chroma`.\n\
- a **named volume inside** the data path: only that sub-directory is persisted. (A bind mount \
inside a data directory is usually configuration, scripts or plugins, and is left to \
`ephemeral-data` and `implicit-volume`.)\n\n\
Tag variants (`postgres:16` vs `postgres:18`, `latest` = 18) and environment overrides such as \
`PGDATA` are applied before the check: `PGDATA=/var/lib/postgresql/data/pgdata` with a volume at \
`/var/lib/postgresql/data` is fine.",
    why_it_matters: "The stack looks persistent, and even survives `docker compose up` recreating \
the container (the engine re-attaches the anonymous volume), so nobody notices — until \
`docker compose down` orphans the anonymous volume (the next `up` starts an empty database) or \
`down -v` / `up -V` / `rm -v` deletes it. The named volume you back up holds an empty parent \
directory. With `postgres` 18 and a volume at the old `/var/lib/postgresql/data`, the entrypoint refuses \
to start; an image without such a check writes its data past the mount, into an anonymous volume \
or into the container layer.",
    example: "services:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdata:/var/lib/postgresql   # data is in /var/lib/postgresql/data\nvolumes:\n  pgdata:\n",
    fix_safety: "No fix: moving the mount changes where the data lives, and the data written so \
far sits in an anonymous volume (or in the old layout) that must be copied or upgraded by hand.",
};

impl Rule for ShadowedDataPath {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        for (service, analysis) in ctx.services() {
            let Some(layout) = Layout::of(ctx, analysis) else {
                continue;
            };
            let Some(facts) = &analysis.facts else {
                continue;
            };
            let subject = subject(ctx, service, analysis);
            // Per offending mount: the data paths it misses, and where each one really is.
            let mut groups: Vec<Group> = Vec::new();
            for data in &layout.paths {
                let (mount, volume, misplaced) = match &data.verdict {
                    Verdict::Shadowed { mount, volume } => (*mount, Some(*volume), None),
                    Verdict::Misplaced {
                        mount,
                        volume,
                        other_layout,
                    } => (*mount, *volume, Some(*other_layout)),
                    _ => continue,
                };
                // A mount inherited through `volumes_from` is written, and fixed, elsewhere.
                if !analysis.mounts.iter().any(|m| std::ptr::eq(m, mount)) {
                    continue;
                }
                // Mounting at the image VOLUME that swallowed the data both covers the data and
                // stops the engine from creating the anonymous volume.
                let right = match volume {
                    Some(v) if covers(&v.target, &data.path) => v.target.clone(),
                    _ => data.path.clone(),
                };
                let missed = Missed {
                    data: &data.path,
                    right,
                    anonymous: volume.is_some(),
                };
                match groups.iter_mut().find(|g| std::ptr::eq(g.mount, mount)) {
                    Some(g) => {
                        if !g.missed.iter().any(|m| m.right == missed.right) {
                            g.missed.push(missed);
                        }
                    }
                    None => groups.push(Group {
                        mount,
                        misplaced,
                        missed: vec![missed],
                    }),
                }
            }
            for group in groups {
                let Some(loc) = group.mount.loc else {
                    continue;
                };
                let rights: Vec<&str> = group.missed.iter().map(|m| m.right.as_str()).collect();
                let datas: Vec<&str> = group.missed.iter().map(|m| m.data).collect();
                let anonymous = group.missed.iter().filter(|m| m.anonymous).count();
                let message = if let Some(other_layout) = group.misplaced {
                    // Where the data is, not what happens at run time: postgres 18's entrypoint
                    // refuses to start at all when the old path is a mount.
                    let place = match anonymous {
                        0 => "which is not persisted at all",
                        n if n == group.missed.len() => {
                            "an image `VOLUME` left to an anonymous volume"
                        }
                        _ => "partly in anonymous volumes, partly not persisted",
                    };
                    let what = if other_layout {
                        "does not hold the data"
                    } else {
                        "holds only part of the data"
                    };
                    format!(
                        "mount on `{}` {what}: {subject} keeps it in {}, {place}",
                        group.mount.target,
                        code_list(&datas)
                    )
                } else {
                    format!(
                        "mount on `{}` does not hold the data: {subject} declares `VOLUME {}` below it, so the data lands in an anonymous volume",
                        group.mount.target,
                        rights.join(" ")
                    )
                };
                let mut help = retarget_help(group.mount, rights[0]);
                if rights.len() > 1 {
                    let who = (!shared_place(ctx, loc)).then_some(service.name.as_str());
                    let (entries, names) = volume_entries(ctx, who, &rights[1..]);
                    help.push_str(&format!(", and add {entries} {}", declare_hint(&names)));
                }
                if let Some(other_layout) = group.misplaced {
                    match (&facts.relocated_by, other_layout) {
                        (Some(by), _) => help.push_str(&format!(
                            ", or remove `{by}` so the image uses its default path"
                        )),
                        (None, true) => help.push_str(
                            "; data written in another layout (an older version of the image) must be moved or upgraded before the switch",
                        ),
                        (None, false) => {}
                    }
                } else if rights.len() > 1 {
                    help.push_str(
                        "; copy what the anonymous volumes hold into them first (`docker compose cp` or a throw-away container), or they start empty",
                    );
                } else {
                    help.push_str(
                        "; copy what the anonymous volume holds into it first (`docker compose cp` or a throw-away container), or it starts empty",
                    );
                }
                let mut finding =
                    Finding::new(META.id, META.severity, loc, message, help).service(&service.name);
                if let Some(image) = image_loc(service, analysis) {
                    finding = finding.label(image, layout_label(&subject, facts, &datas));
                }
                out.push(finding);
            }
        }
    }
}

struct Missed<'a> {
    data: &'a str,
    /// Where a mount must go to hold `data`.
    right: String,
    /// The data is in an anonymous volume (else nowhere).
    anonymous: bool,
}

struct Group<'a> {
    mount: &'a Mount,
    /// None: on a parent, above an image `VOLUME`; Some(true): on another layout's path;
    /// Some(false): a named volume inside the data path.
    misplaced: Option<bool>,
    missed: Vec<Missed<'a>>,
}

/// "mount it at `/x` instead: `- src:/x`" (or "set its `target:`" for the long syntax).
fn retarget_help(mount: &Mount, right: &str) -> String {
    match (&mount.syntax, &mount.source) {
        (MountSyntax::Long, _) => format!("set this mount's `target:` to `{right}`"),
        (_, Some(source)) => {
            let ro = if mount.read_only { ":ro" } else { "" };
            format!("mount it at `{right}` instead: `- {source}:{right}{ro}`")
        }
        (_, None) => format!("mount it at `{right}` instead"),
    }
}

/// Secondary label at the image: where this image (this tag, this environment) keeps its data.
fn layout_label(subject: &str, facts: &ImageFacts, paths: &[&str]) -> String {
    let mut label = format!("{subject} keeps its data in {}", code_list(paths));
    if let Some(by) = &facts.relocated_by {
        label.push_str(&format!(" (set by `{by}`)"));
    } else if let Some(note) = facts.variant.as_deref().filter(|n| !n.is_empty()) {
        label.push_str(&format!(" — {note}"));
    }
    label
}

// ---------------------------------------------------------------------------------------------
// Shared data-layout analysis
// ---------------------------------------------------------------------------------------------

/// Where one data path of a service's image ends up.
#[derive(Debug)]
pub(super) enum Verdict<'a> {
    /// The deepest mount covering it is a bind, named or cluster volume.
    Durable,
    /// Nothing covers it and no mount was aimed at it: the container layer.
    NotPersisted,
    /// A tmpfs is the deepest mount covering it.
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
    /// An explicit anonymous volume, or a mount kind that is not about storage (npipe, image):
    /// another rule's business.
    Other,
}

#[derive(Debug)]
pub(super) struct DataPath<'a> {
    pub path: String,
    pub verdict: Verdict<'a>,
}

/// A service's mounts as the container gets them, and where each of its data paths ends up.
#[derive(Debug)]
pub(super) struct Layout<'a> {
    /// Own written mounts, then mounts inherited through `volumes_from`, then the service's own
    /// image `VOLUME`s that nothing else is mounted on.
    pub mounts: Vec<&'a Mount>,
    /// Empty when the image is unknown, stateless, or its data was moved by `command:` flags.
    pub paths: Vec<DataPath<'a>>,
}

impl<'a> Layout<'a> {
    /// None when the mount table cannot be known statically (`volumes_from` a container or an
    /// unknown service).
    pub(super) fn of(ctx: &Context<'a>, analysis: &'a ServiceAnalysis) -> Option<Layout<'a>> {
        let service = &ctx.project.services[analysis.service];
        let mounts = effective_mounts(ctx, service, analysis)?;
        let paths = match &analysis.facts {
            Some(facts) if facts.stateful && !moved_by_command(ctx, service, facts) => {
                let other_layouts = other_layout_paths(ctx, facts);
                facts
                    .data_paths
                    .iter()
                    .map(|p| DataPath {
                        path: p.clone(),
                        verdict: verdict(p, &mounts, &other_layouts),
                    })
                    .collect()
            }
            _ => Vec::new(),
        };
        Some(Layout { mounts, paths })
    }
}

fn is_persistent(m: &Mount) -> bool {
    matches!(
        m.kind,
        MountKind::Bind | MountKind::Named | MountKind::Cluster
    )
}

fn verdict<'a>(path: &str, mounts: &[&'a Mount], other_layouts: &[String]) -> Verdict<'a> {
    let holder = mounts
        .iter()
        .copied()
        .filter(|m| covers(&m.target, path))
        .max_by_key(|m| m.target.len());
    // A mount that was clearly meant to hold this data but sits elsewhere: on the path another
    // tag of the image uses, or (a named volume, which is for data) inside the data directory.
    // A bind inside it is usually configuration, scripts or plugins, and is not considered.
    let aimed = |m: &&Mount| is_persistent(m) && !m.read_only && !covers(&m.target, path);
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
        Some(m) if is_persistent(m) => Verdict::Durable,
        Some(m) if m.kind == MountKind::Tmpfs => Verdict::Tmpfs(m),
        Some(m) if m.syntax == MountSyntax::Implicit => {
            let parent = mounts
                .iter()
                .copied()
                .filter(|p| {
                    is_persistent(p)
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

/// The mount table the engine builds: written mounts win, `volumes_from` mounts fill targets
/// that are still free (tmpfs is never shared), and image `VOLUME`s only get an anonymous volume
/// where nothing at all is mounted at exactly their path.
fn effective_mounts<'a>(
    ctx: &Context<'a>,
    service: &'a Service,
    analysis: &'a ServiceAnalysis,
) -> Option<Vec<&'a Mount>> {
    let mut mounts: Vec<&'a Mount> = analysis
        .mounts
        .iter()
        .filter(|m| m.syntax != MountSyntax::Implicit)
        .collect();
    for from in &service.volumes_from {
        let name = from
            .value
            .strip_suffix(":ro")
            .or_else(|| from.value.strip_suffix(":rw"))
            .unwrap_or(&from.value);
        if name.starts_with("container:") {
            return None;
        }
        let other = ctx
            .analysis
            .iter()
            .find(|a| ctx.project.services[a.service].name == name)?;
        for m in &other.mounts {
            if m.kind != MountKind::Tmpfs && !mounts.iter().any(|x| x.target == m.target) {
                mounts.push(m);
            }
        }
    }
    for m in analysis
        .mounts
        .iter()
        .filter(|m| m.syntax == MountSyntax::Implicit)
    {
        if !mounts.iter().any(|x| x.target == m.target) {
            mounts.push(m);
        }
    }
    Some(mounts)
}

/// Whether `command:` passes a flag that moves the data (`--datadir`, `--dbpath`, `--dir`…):
/// the knowledge base's data paths are then not where the data is.
fn moved_by_command(ctx: &Context, service: &Service, facts: &ImageFacts) -> bool {
    let (Some(command), Some(entry)) = (&service.command, ctx.kb.get(&facts.key)) else {
        return false;
    };
    command.split_whitespace().any(|word| {
        entry.command_flags.iter().any(|f| {
            word == f.flag
                || word
                    .strip_prefix(f.flag.as_str())
                    .is_some_and(|rest| rest.starts_with('='))
        })
    })
}

// ---------------------------------------------------------------------------------------------
// Shared wording
// ---------------------------------------------------------------------------------------------

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
            let untagged = parse_image_ref(&image.value)
                .is_some_and(|r| r.tag.is_none() && r.digest.is_none());
            let untagged = untagged
                && analysis
                    .facts
                    .as_ref()
                    .and_then(|f| ctx.kb.get(&f.key))
                    .is_some_and(|e| !e.variants.is_empty());
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

/// A Dockerfile path for help text, relative to the project directory when inside it.
pub(super) fn dockerfile_display(ctx: &Context, shown: &str) -> String {
    Path::new(shown)
        .strip_prefix(&ctx.project.directory)
        .map_or_else(|_| shown.to_owned(), |p| p.display().to_string())
}

/// A volume name for `path` in `service`: `{service}-{basename}`, sanitised to
/// `[a-zA-Z0-9._-]` and unique against the project's top-level volumes.
pub(super) fn suggested_volume(ctx: &Context, service: &str, path: &str) -> String {
    let base = path.rsplit('/').find(|s| !s.is_empty());
    let raw = match base {
        Some(base) if base != service => format!("{service}-{base}"),
        _ => service.to_owned(),
    };
    let name: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    let name = if name.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        name
    } else {
        format!("v{name}")
    };
    if ctx.project.volume(&name).is_none() {
        return name;
    }
    (2..)
        .map(|n| format!("{name}-{n}"))
        .find(|candidate| ctx.project.volume(candidate).is_none())
        .unwrap_or(name)
}

/// "`- name:/path`" entries joined for help text, and the names. With `service` None (a place
/// several services share through an anchor) the names are patterns: `<service>-data`.
pub(super) fn volume_entries(
    ctx: &Context,
    service: Option<&str>,
    paths: &[&str],
) -> (String, Vec<String>) {
    let mut names: Vec<String> = Vec::new();
    let mut entries = Vec::new();
    for path in paths {
        let base = match service {
            Some(service) => suggested_volume(ctx, service, path),
            None => {
                let base = path.rsplit('/').find(|s| !s.is_empty()).unwrap_or("data");
                format!("<service>-{base}")
            }
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

/// Whether `loc` (an `image:` value or a mount entry) belongs to several services, as when it is
/// written once in an anchor: a finding there is merged, so its help must fit every service.
pub(super) fn shared_place(ctx: &Context, loc: Loc) -> bool {
    ctx.services()
        .filter(|(s, a)| {
            image_loc(s, a) == Some(loc) || a.mounts.iter().any(|m| m.loc == Some(loc))
        })
        .nth(1)
        .is_some()
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
