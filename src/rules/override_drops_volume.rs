//! `override-drops-volume`: a later file (or an extending service) mounts an anonymous volume or
//! a tmpfs at the target of a named volume or bind mount, which compose then drops.

use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::finding::{Finding, Severity};
use crate::model::{Project, ReplacedMount};
use crate::mounts::{self, MountKind};
use crate::syntax::Kind;
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
instead.",
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
            let replaced = describe(project, earlier, r.earlier);
            let (what, loses) = if later == MountKind::Tmpfs {
                ("a tmpfs", "is lost at every stop")
            } else {
                ("an anonymous volume", "is orphaned by `docker compose down`")
            };
            let message = format!("{what} replaces {replaced} at `{}`", r.target);
            let help = format!(
                "compose keeps only the last entry for a target, so {replaced} is no longer \
mounted and what the service writes here {loses}; remove this entry to keep the earlier mount, \
or mount a named volume here"
            );
            let label = format!("this {} is replaced", kind_noun(earlier));
            out.push(
                Finding::new(META.id, META.severity, r.later, message, help)
                    .label(r.earlier, label)
                    .service(&r.service),
            );
        }
    }
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

/// "the named volume `pgdata`" / "the bind mount of `./pgdata`", from the entry as written
/// (without the name when it depends on a variable).
fn describe(project: &Project, kind: MountKind, loc: Loc) -> String {
    let noun = kind_noun(kind);
    match written_source(project, loc).filter(|s| !s.contains('$')) {
        Some(source) if kind == MountKind::Bind => format!("the {noun} of `{source}`"),
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
