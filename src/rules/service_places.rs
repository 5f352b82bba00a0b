//! Which services hold a place written in a compose file, and under which service key, read
//! from the file's syntax tree through aliases and `<<` merge keys. The model cannot always say:
//! an entry compose rejected is not in it, and an entry written once in an anchor is every
//! merging service's.

use crate::yaml::syntax::{Kind, NodeId, Tree};
use crate::yaml::value::{FileId, Loc};

/// Merge chains are short; the bound only guards against pathological documents.
const MAX_MERGE_DEPTH: usize = 16;

/// A service whose value for `key` holds the place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Holder<'t> {
    pub(crate) service: &'t str,
    /// The service key (one of those asked for) whose value holds the place.
    pub(crate) key: &'static str,
    /// When the value is a list: the index of the item holding the place (a `volumes` entry).
    pub(crate) item: Option<usize>,
    /// The written node holding the place: that item, or else the key's value.
    pub(crate) entry: Loc,
}

/// For every service of every document of the file (`tree`, holding `loc`), in order: the keys
/// of `keys` whose value (followed through aliases and `<<` merges) holds `loc`.
pub(super) fn holders<'t>(tree: &'t Tree, loc: Loc, keys: &[&'static str]) -> Vec<Holder<'t>> {
    Written::new(tree, loc.file, keys).holders(loc)
}

/// The values of some service keys in one file, read once to be asked about many places.
pub(super) struct Written<'t> {
    /// Per service and key (`group`), in order: the value, or each item of a list value.
    nodes: Vec<(usize, Holder<'t>)>,
}

impl<'t> Written<'t> {
    /// `file`: the file `tree` was read from.
    pub fn new(tree: &'t Tree, file: FileId, keys: &[&'static str]) -> Written<'t> {
        let loc = |node: NodeId| {
            let span = &tree.node(tree.resolve(node)).span;
            Loc {
                file,
                start: span.start,
                end: span.end,
            }
        };
        let mut nodes = Vec::new();
        let mut group = 0;
        for root in tree.documents.iter().filter_map(|d| d.root) {
            let Some(services) = map_get(tree, root, "services") else {
                continue;
            };
            let Kind::Map { entries, .. } = &tree.node(tree.resolve(services)).kind else {
                continue;
            };
            for &(name, service) in entries {
                let Some(name) = tree.scalar(name) else {
                    continue;
                };
                for &key in keys {
                    let Some(value) = map_get(tree, service, key) else {
                        continue;
                    };
                    let holder = |item, entry| Holder {
                        service: name,
                        key,
                        item,
                        entry,
                    };
                    match &tree.node(tree.resolve(value)).kind {
                        Kind::Seq { items, .. } => nodes.extend(
                            items
                                .iter()
                                .enumerate()
                                .map(|(i, &item)| (group, holder(Some(i), loc(item)))),
                        ),
                        _ => nodes.push((group, holder(None, loc(value)))),
                    }
                    group += 1;
                }
            }
        }
        Written { nodes }
    }

    /// Per service and key, the first node that holds `loc` (a place in this file).
    pub(crate) fn holders(&self, loc: Loc) -> Vec<Holder<'t>> {
        let mut out = Vec::new();
        let mut done = None;
        for (group, h) in &self.nodes {
            if done != Some(*group) && h.entry.start <= loc.start && loc.end <= h.entry.end {
                done = Some(*group);
                out.push(h.clone());
            }
        }
        out
    }
}

/// Whether the service `service` lists the entry written at `loc` in its `volumes` (directly, or
/// through aliases and `<<` merges).
pub(super) fn lists_volume_entry(tree: &Tree, service: &str, loc: Loc) -> bool {
    holders(tree, loc, &["volumes"])
        .iter()
        .any(|h| h.service == service && h.item.is_some() && h.entry == loc)
}

/// A mapping's value for `key`, following aliases and `<<` merge keys (explicit keys win, then
/// earlier merge sources, like YAML merge keys).
fn map_get(tree: &Tree, node: NodeId, key: &str) -> Option<NodeId> {
    map_get_within(tree, node, key, 0)
}

fn map_get_within(tree: &Tree, node: NodeId, key: &str, depth: usize) -> Option<NodeId> {
    if depth > MAX_MERGE_DEPTH {
        return None;
    }
    let Kind::Map { entries, .. } = &tree.node(tree.resolve(node)).kind else {
        return None;
    };
    if let Some(&(_, v)) = entries.iter().find(|(k, _)| tree.scalar(*k) == Some(key)) {
        return Some(v);
    }
    for &(k, v) in entries {
        if tree.scalar(k) != Some("<<") {
            continue;
        }
        let sources: Vec<NodeId> = match &tree.node(tree.resolve(v)).kind {
            Kind::Seq { items, .. } => items.clone(),
            _ => vec![v],
        };
        if let Some(found) = sources
            .into_iter()
            .find_map(|s| map_get_within(tree, s, key, depth + 1))
        {
            return Some(found);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::syntax;

    fn loc_of(text: &str, needle: &str) -> Loc {
        let start = text.find(needle).expect("needle in text");
        Loc {
            file: 0,
            start,
            end: start + needle.len(),
        }
    }

    #[test]
    fn finds_services_through_anchors_and_merges() {
        let text = "x-base: &base\n  image: app:${TAG}\n  volumes:\n    - ${DATA}/x:/x\nservices:\n  a:\n    <<: *base\n  b:\n    <<: [*base]\n    image: other\n  c:\n    volumes:\n      - ./c:/c\n";
        let tree = syntax::parse(text);
        let entry = loc_of(text, "${DATA}/x:/x");
        let inner = loc_of(text, "${DATA}");
        let found: Vec<(&str, &str, Option<usize>)> = holders(&tree, inner, &["image", "volumes"])
            .iter()
            .map(|h| (h.service, h.key, h.item))
            .collect();
        assert_eq!(
            found,
            [("a", "volumes", Some(0)), ("b", "volumes", Some(0))]
        );
        assert!(
            holders(&tree, inner, &["volumes"])
                .iter()
                .all(|h| h.entry == entry)
        );
        let image = loc_of(text, "${TAG}");
        let found: Vec<(&str, Option<usize>)> = holders(&tree, image, &["image", "volumes"])
            .iter()
            .map(|h| (h.service, h.item))
            .collect();
        assert_eq!(found, [("a", None)]);
        assert!(lists_volume_entry(&tree, "b", entry));
        assert!(!lists_volume_entry(&tree, "c", entry));
        assert!(!lists_volume_entry(&tree, "a", inner));
    }
}
