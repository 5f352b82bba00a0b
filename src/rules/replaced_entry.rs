//! What the rules about a volume entry that a later entry replaces on the same target share
//! (`duplicate-mount-target`, `override-drops-volume`): whether both entries are one list's, how
//! the replaced entry is named, and which services list an entry.

use super::service_places;
use crate::compose::model::Project;
use crate::compose::mounts::{self, MountKind};
use crate::yaml::syntax::Kind;
use crate::yaml::value::Loc;

/// Whether both entries are items of one YAML sequence (one list written twice on a target), as
/// opposed to an override file or an extending service replacing a base entry.
pub(super) fn same_sequence(project: &Project, a: Loc, b: Loc) -> bool {
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

/// "bind mount" or "named volume": what a persistent mount is called.
pub(super) fn kind_noun(kind: MountKind) -> &'static str {
    match kind {
        MountKind::Bind => "bind mount",
        _ => "named volume",
    }
}

/// "the named volume `pgdata`" / "the bind mount of `./pgdata`" (the host path only when
/// `with_host_path`: messages name no host paths), from the entry as written, without the
/// source when it depends on a variable.
pub(super) fn describe(
    project: &Project,
    kind: MountKind,
    loc: Loc,
    with_host_path: bool,
) -> String {
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
/// (directly, or through `<<` merges and aliases). The loader records a replacement once per
/// pair of entries, so for entries shared through an anchor only the first service has a record.
pub(super) fn service_lists_entry(project: &Project, service: &str, loc: Loc) -> bool {
    service_places::lists_volume_entry(&project.file(loc.file).tree, service, loc)
}
