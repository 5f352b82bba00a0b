//! `override-drops-volume`: a later file (or an extending service) mounts an anonymous volume or
//! a tmpfs at the target of a named volume or bind mount, which compose then drops.

use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::model::{Project, ReplacedMount};
use crate::mounts::{self, MountKind};
use crate::syntax::{Kind, NodeId, Tree};
use crate::value::Loc;

pub struct OverrideDropsVolume;

static META: RuleMeta = RuleMeta {
    id: "override-drops-volume",
    category: Category::Persistence,
    severity: Severity::Error,
    off_by_default: false,
    fix: FixAvailability::None,
    summary: "a later file replaces a named volume or bind mount with an anonymous volume or tmpfs",
    what_it_does: "Reports a volume entry that replaces a persistent mount (a named or external \
volume, or a bind mount) of the same service at the same target with an anonymous volume or a \
tmpfs: an entry in an override file (`compose.override.yaml`, a later `-f` file) over an entry \
of the base file, or an entry of a service over the one it `extends`.

Two entries on one target written in the same list are reported by `duplicate-mount-target` \
instead, and a service-level `tmpfs:` on the target of a volume is rejected by compose itself \
(`invalid-compose`).",
    why_it_matters: "Compose makes a service's volumes unique by target: a later entry with the \
same target replaces the earlier one whole, without a word. An override file that writes \
`- /var/lib/postgresql/data` over the base file's `pgdata:/var/lib/postgresql/data` does not add \
anything: it unmounts the named volume. The database then starts empty on an anonymous volume, \
which `docker compose down` orphans and `down -v` deletes; a tmpfs loses everything at every \
stop. The data in the named volume is still there, just no longer mounted, which makes the \
problem easy to miss until the stack runs without the override again.",
    example: "# compose.yaml\nservices:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdata:/var/lib/postgresql/data\nvolumes:\n  pgdata:\n\n# compose.override.yaml\nservices:\n  db:\n    volumes:\n      - /var/lib/postgresql/data\n",
    fix_safety: "No automatic fix: whether the override is a mistake or a deliberate throw-away \
setup (tests on a tmpfs) is the author's decision.",
};

impl Rule for OverrideDropsVolume {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        let project = ctx.project;
        for r in &project.replaced_mounts {
            let (Some(earlier), Some(later)) = (r.earlier_kind, r.later_kind) else {
                continue;
            };
            if !is_persistent(earlier)
                || !matches!(later, MountKind::Anonymous | MountKind::Tmpfs)
                || same_sequence(project, r.earlier, r.later)
                || !still_mounted(project, r)
            {
                continue;
            }
            let (what, goes) = if later == MountKind::Tmpfs {
                ("a tmpfs", "is in memory and lost at every stop")
            } else {
                (
                    "an anonymous volume",
                    "goes to an anonymous volume that `docker compose down` orphans",
                )
            };
            let message = format!(
                "{what} replaces {} at `{}`",
                describe(project, earlier, r.earlier, false),
                r.target
            );
            let help = format!(
                "compose keeps only the last entry for a target, so {} is no longer mounted and \
what the service writes there {goes}; remove this entry to keep the earlier mount, or mount a \
named volume here",
                describe(project, earlier, r.earlier, true)
            );
            let label = format!("this {} is replaced", kind_noun(earlier));
            let mut finding = Finding::new(META.id, META.severity, r.later, message, help)
                .label(r.earlier, label)
                .service(&r.service);
            for service in same_pair_services(project, r) {
                finding = finding.service(service);
            }
            out.push(finding);
        }
    }
}

/// The other services this very replacement happens in. The loader records a pair of entries
/// once, whatever the service, so when both entries sit in anchors several services share, only
/// the first service has a record; a service that mounts the later entry without a record of
/// its own went through the same pair when its own mapping lists the earlier entry and no other
/// earlier entry was ever replaced by the later one.
fn same_pair_services<'a>(project: &'a Project, r: &ReplacedMount) -> Vec<&'a str> {
    let same_later: Vec<&ReplacedMount> = project
        .replaced_mounts
        .iter()
        .filter(|x| x.later == r.later)
        .collect();
    if same_later.iter().any(|x| x.earlier != r.earlier) {
        return Vec::new();
    }
    project
        .services
        .iter()
        .filter(|s| s.name != r.service && !same_later.iter().any(|x| x.service == s.name))
        .filter(|s| s.mounts.iter().any(|m| m.loc == Some(r.later)))
        .filter(|s| service_lists_entry(project, &s.name, r.earlier))
        .map(|s| s.name.as_str())
        .collect()
}

fn is_persistent(kind: MountKind) -> bool {
    matches!(kind, MountKind::Named | MountKind::Bind)
}

fn kind_noun(kind: MountKind) -> &'static str {
    match kind {
        MountKind::Bind => "bind mount",
        _ => "named volume",
    }
}

/// The replacing entry is what the service finally mounts (no even later entry put a
/// persistent mount back).
fn still_mounted(project: &Project, r: &ReplacedMount) -> bool {
    project
        .services
        .iter()
        .filter(|s| s.name == r.service)
        .any(|s| s.mounts.iter().any(|m| m.loc == Some(r.later)))
}

/// Whether both entries are items of one YAML sequence (one list written twice on a target).
fn same_sequence(project: &Project, a: Loc, b: Loc) -> bool {
    if a.file != b.file {
        return false;
    }
    let tree = &project.file(a.file).tree;
    tree.nodes.iter().any(|node| match &node.kind {
        Kind::Seq { items, .. } => {
            let has = |loc: Loc| {
                items
                    .iter()
                    .any(|&i| tree.node(tree.resolve(i)).span == loc.range())
            };
            has(a) && has(b)
        }
        _ => false,
    })
}

/// "the named volume `pgdata`" / "the bind mount of `./pgdata`" (the host path only when
/// `with_host_path`: messages name no host paths), from the entry as written, without the
/// source when it depends on a variable.
fn describe(project: &Project, kind: MountKind, loc: Loc, with_host_path: bool) -> String {
    let noun = kind_noun(kind);
    match written_source(project, loc).filter(|s| !s.contains('$')) {
        Some(source) if kind == MountKind::Bind && with_host_path => {
            format!("the {noun} of `{source}`")
        }
        Some(_) if kind == MountKind::Bind => format!("the {noun}"),
        Some(source) => format!("the {noun} `{source}`"),
        None => format!("the {noun}"),
    }
}

/// The `source` of a volume entry, read from the YAML node at `loc`.
fn written_source(project: &Project, loc: Loc) -> Option<String> {
    let tree = &project.file(loc.file).tree;
    let node = tree
        .nodes
        .iter()
        .find(|n| n.span == loc.range() && !matches!(n.kind, Kind::Alias { .. }))?;
    match &node.kind {
        Kind::Scalar { value, .. } => mounts::parse_short(value).ok()?.source,
        Kind::Map { entries, .. } => entries.iter().find_map(|&(k, v)| {
            (tree.scalar(k) == Some("source"))
                .then(|| tree.scalar(v).map(str::to_owned))
                .flatten()
        }),
        _ => None,
    }
}

/// Whether the service's own mapping in `loc.file` lists the entry at `loc` in its `volumes`
/// (directly, or through `<<` merges and aliases).
fn service_lists_entry(project: &Project, service: &str, loc: Loc) -> bool {
    let tree = &project.file(loc.file).tree;
    tree.documents.iter().filter_map(|d| d.root).any(|root| {
        let Some(services) = map_value(tree, tree.resolve(root), "services") else {
            return false;
        };
        let Some(mapping) = map_value(tree, tree.resolve(services), service) else {
            return false;
        };
        let Some(list) = volumes_of(tree, tree.resolve(mapping), 0) else {
            return false;
        };
        match &tree.node(tree.resolve(list)).kind {
            Kind::Seq { items, .. } => items
                .iter()
                .any(|&i| tree.node(tree.resolve(i)).span == loc.range()),
            _ => false,
        }
    })
}

/// The `volumes` value a mapping ends up with: its own, or the first one its `<<` merges bring.
fn volumes_of(tree: &Tree, map: NodeId, depth: usize) -> Option<NodeId> {
    if depth > 32 {
        return None;
    }
    let Kind::Map { entries, .. } = &tree.node(map).kind else {
        return None;
    };
    let is_merge = |k: NodeId| tree.scalar(k) == Some("<<");
    if let Some(&(_, own)) = entries
        .iter()
        .find(|&&(k, _)| !is_merge(k) && tree.scalar(k) == Some("volumes"))
    {
        return Some(own);
    }
    entries
        .iter()
        .filter(|&&(k, _)| is_merge(k))
        .flat_map(|&(_, v)| match &tree.node(tree.resolve(v)).kind {
            Kind::Seq { items, .. } => items.clone(),
            _ => vec![v],
        })
        .find_map(|source| volumes_of(tree, tree.resolve(source), depth + 1))
}

fn map_value(tree: &Tree, map: NodeId, key: &str) -> Option<NodeId> {
    let Kind::Map { entries, .. } = &tree.node(map).kind else {
        return None;
    };
    entries
        .iter()
        .find(|&&(k, _)| tree.scalar(k) == Some(key))
        .map(|&(_, v)| v)
}
