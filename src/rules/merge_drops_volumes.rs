//! `merge-drops-volumes`: a `<<: *anchor` merge whose mapping also writes `volumes:`, which
//! replaces the anchor's list instead of adding to it (merge keys are shallow).

use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::compose::mounts;
use crate::finding::{Finding, Severity};
use crate::yaml::syntax::{Kind, NodeId, Style, Tree};
use crate::yaml::value::{FileId, Loc};

pub(crate) struct MergeDropsVolumes;

static META: RuleMeta = RuleMeta {
    id: "merge-drops-volumes",
    category: Category::Persistence,
    severity: Severity::Warning,
    off_by_default: false,
    fix: FixAvailability::None,
    migrates: false,
    summary: "a `<<` merge whose local `volumes:` replaces the anchor's list instead of extending it",
    what_it_does: "Reports a service mapping (or an `x-` mapping a service merges) that merges a \
mapping with `<<:` and also writes its own `volumes:` while the merged mapping has `volumes:` \
too, when some of the merged mounts are missing from the local list. The finding is on the \
local `volumes` key and names the targets that are dropped; the anchor's `volumes` key is \
labelled. It also reports `<<: [*a, *b]` where both anchors have `volumes:`: only the first \
list is kept.

Not reported: a local list that repeats every merged target, an empty local list \
(`volumes: []`) and `volumes: !reset` / `!override`, which say the replacement is meant.",
    why_it_matters: "YAML merge keys are shallow: a key written in the mapping wins over the same \
key of the merged anchor, whole. Written as\n\n```yaml\nx-app: &app\n  image: ghcr.io/acme/app:2\n  volumes:\n    - uploads:/srv/uploads\nservices:\n  worker:\n    <<: *app\n    volumes:\n      - ./jobs:/srv/jobs:ro\n```\n\n\
it reads as \"the anchor's volumes plus one\", but `worker` mounts only `/srv/jobs`: nothing \
is mounted on `/srv/uploads`, so what the service writes there stays in the container's \
writable layer (or in an anonymous volume, when the image declares one there) and is lost at \
the next recreate or `down`, and the service does not see the data the \
others keep in the volume. Compose does not warn: the merged document is valid.",
    example: "x-app: &app\n  image: ghcr.io/acme/app:2\n  volumes:\n    - uploads:/srv/uploads\nservices:\n  worker:\n    <<: *app\n    volumes:\n      - ./jobs:/srv/jobs:ro\nvolumes:\n  uploads:\n",
    fix_safety: "No automatic fix: add the dropped entries to the local list (or keep the shared \
entries in their own anchored list and repeat them).",
};

impl Rule for MergeDropsVolumes {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        let files = &ctx.project.files;
        let running: foldhash::HashSet<&str> = ctx
            .project
            .services
            .iter()
            .map(|s| s.name.as_str())
            .collect();
        for (file, loaded) in files.iter().enumerate() {
            // A file read twice (through `extends`) is checked once.
            if files[..file]
                .iter()
                .any(|f| f.source.path == loaded.source.path)
            {
                continue;
            }
            let tree = &loaded.tree;
            let text: &str = &loaded.source.text;
            for root in tree.documents.iter().filter_map(|d| d.root) {
                let Some(services) = map_get(tree, tree.resolve(root), "services") else {
                    continue;
                };
                let Kind::Map { entries, .. } = &tree.node(tree.resolve(services)).kind else {
                    continue;
                };
                for &(name, service) in entries {
                    // Services of a file read for `extends` that the project does not run are
                    // not its concern.
                    let Some(name) = tree.scalar(name).filter(|n| running.contains(n)) else {
                        continue;
                    };
                    let walker = Walker {
                        tree,
                        text,
                        file,
                        service: name,
                    };
                    walker.visit(tree.resolve(service), 0, out);
                }
            }
        }
    }
}

/// Merge chains are short; the bound only guards against pathological documents.
const MAX_DEPTH: usize = 32;

struct Walker<'a> {
    tree: &'a Tree,
    text: &'a str,
    file: FileId,
    service: &'a str,
}

/// One mapping merged by `<<`: the node written after `<<` (an alias or an inline mapping)
/// and the mapping it stands for.
struct Source {
    written: NodeId,
    map: NodeId,
}

impl Walker<'_> {
    fn loc(&self, id: NodeId) -> Loc {
        let span = &self.tree.node(id).span;
        Loc {
            file: self.file,
            start: span.start,
            end: span.end,
        }
    }

    /// Checks the mapping `map` (a service, or a mapping a service merges), then what it merges.
    fn visit(&self, map: NodeId, depth: usize, out: &mut Vec<Finding>) {
        if depth > MAX_DEPTH {
            return;
        }
        let Kind::Map { entries, .. } = &self.tree.node(map).kind else {
            return;
        };
        let sources = merge_sources(self.tree, entries);
        if sources.is_empty() {
            return;
        }
        let with_volumes: Vec<(&Source, (NodeId, NodeId))> = sources
            .iter()
            .filter_map(|s| Some((s, effective_volumes(self.tree, s.map, 0)?)))
            .collect();
        let local = entries
            .iter()
            .find(|&&(k, _)| !is_merge_key(self.tree, k) && self.tree.scalar(k) == Some("volumes"))
            .copied();
        match local {
            Some((key, value)) if !states_replacement(self.tree, value) => {
                let kept = targets(self.tree, value);
                for (source, (anchor_key, anchor_value)) in &with_volumes {
                    let dropped: Vec<String> = targets(self.tree, *anchor_value)
                        .into_iter()
                        .filter(|t| !kept.contains(t))
                        .collect();
                    if dropped.is_empty() {
                        continue;
                    }
                    let from = self.source_name(source);
                    let message = format!(
                        "local `volumes` replaces the list merged from {from}: {} not mounted",
                        not_mounted(&dropped)
                    );
                    let help = format!(
                        "a `<<` merge is shallow: a key written in the mapping replaces the \
merged one whole; add {} to this list",
                        list(&dropped)
                    );
                    out.push(self.finding(key, *anchor_key, message, help));
                }
            }
            Some(_) => {}
            None => {
                // `<<: [*a, *b]`: the first mapping's list wins whole, the others are dropped.
                if let Some(((first, (_, first_value)), rest)) = with_volumes.split_first() {
                    let kept = targets(self.tree, *first_value);
                    for (source, (anchor_key, anchor_value)) in rest {
                        let dropped: Vec<String> = targets(self.tree, *anchor_value)
                            .into_iter()
                            .filter(|t| !kept.contains(t))
                            .collect();
                        if dropped.is_empty() {
                            continue;
                        }
                        let message = format!(
                            "`volumes` merged from {} replaces the list merged from {}: {} not \
mounted",
                            self.source_name(first),
                            self.source_name(source),
                            not_mounted(&dropped)
                        );
                        let help = format!(
                            "a `<<` merge is shallow: the first merged mapping's `volumes` wins \
whole; write a `volumes:` list in this mapping that mounts {} too",
                            list(&dropped)
                        );
                        out.push(self.finding(first.written, *anchor_key, message, help));
                    }
                }
            }
        }
        for source in &sources {
            self.visit(source.map, depth + 1, out);
        }
    }

    fn finding(&self, at: NodeId, anchor_key: NodeId, message: String, help: String) -> Finding {
        Finding::new(META.id, META.severity, self.loc(at), message, help)
            .label(self.loc(anchor_key), "the merged list that is replaced")
            .service(self.service)
    }

    /// `*app` for an alias, "the mapping" for one written inline.
    fn source_name(&self, source: &Source) -> String {
        match self.tree.node(source.written).kind {
            Kind::Alias { .. } => self
                .text
                .get(self.loc(source.written).range())
                .map_or_else(|| "the anchor".to_owned(), |t| format!("`{t}`")),
            _ => "the inline mapping".to_owned(),
        }
    }
}

fn is_merge_key(tree: &Tree, key: NodeId) -> bool {
    let node = tree.node(tree.resolve(key));
    let Kind::Scalar { value, style } = &node.kind else {
        return false;
    };
    let merge_tag = node
        .tag
        .as_ref()
        .is_some_and(|t| t.name == "!!merge" || t.name == "tag:yaml.org,2002:merge");
    value == "<<" && ((*style == Style::Plain && node.tag.is_none()) || merge_tag)
}

/// The mappings merged into a mapping, in merge order (the earlier one wins a key).
fn merge_sources(tree: &Tree, entries: &[(NodeId, NodeId)]) -> Vec<Source> {
    let mut out = Vec::new();
    for &(key, value) in entries {
        if !is_merge_key(tree, key) {
            continue;
        }
        let written: Vec<NodeId> = match &tree.node(tree.resolve(value)).kind {
            Kind::Map { .. } => vec![value],
            Kind::Seq { items, .. } => items.clone(),
            _ => Vec::new(),
        };
        for w in written {
            let map = tree.resolve(w);
            if matches!(tree.node(map).kind, Kind::Map { .. }) {
                out.push(Source { written: w, map });
            }
        }
    }
    out
}

/// The `volumes` entry (key, value) a mapping ends up with: its own, or the one it merges.
fn effective_volumes(tree: &Tree, map: NodeId, depth: usize) -> Option<(NodeId, NodeId)> {
    if depth > MAX_DEPTH {
        return None;
    }
    let Kind::Map { entries, .. } = &tree.node(map).kind else {
        return None;
    };
    if let Some(&own) = entries
        .iter()
        .find(|&&(k, _)| !is_merge_key(tree, k) && tree.scalar(k) == Some("volumes"))
    {
        return Some(own);
    }
    merge_sources(tree, entries)
        .iter()
        .find_map(|s| effective_volumes(tree, s.map, depth + 1))
}

/// `volumes: []`, `!reset` or `!override`: the author says the merged list is not wanted.
fn states_replacement(tree: &Tree, value: NodeId) -> bool {
    let node = tree.node(value);
    if node
        .tag
        .as_ref()
        .is_some_and(|t| t.name == "!reset" || t.name == "!override")
    {
        return true;
    }
    matches!(&tree.node(tree.resolve(value)).kind, Kind::Seq { items, .. } if items.is_empty())
}

/// The targets a `volumes` list mounts, cleaned like compose does; an entry that cannot be
/// read without interpolation is named by its text.
fn targets(tree: &Tree, list: NodeId) -> Vec<String> {
    let Kind::Seq { items, .. } = &tree.node(tree.resolve(list)).kind else {
        return Vec::new();
    };
    let mut out: Vec<String> = Vec::new();
    for &item in items {
        let item = tree.resolve(item);
        let target = match &tree.node(item).kind {
            Kind::Scalar { value, .. } if !value.contains('$') => mounts::parse_short(value)
                .ok()
                .map_or_else(|| value.to_string(), |v| mounts::clean_path(&v.target)),
            Kind::Scalar { value, .. } => value.to_string(),
            Kind::Map { .. } => match map_get(tree, item, "target").and_then(|t| tree.scalar(t)) {
                Some(t) if !t.contains('$') => mounts::clean_path(t),
                Some(t) => t.to_owned(),
                None => continue,
            },
            _ => continue,
        };
        if !out.contains(&target) {
            out.push(target);
        }
    }
    out
}

fn map_get(tree: &Tree, map: NodeId, key: &str) -> Option<NodeId> {
    let Kind::Map { entries, .. } = &tree.node(map).kind else {
        return None;
    };
    entries
        .iter()
        .find(|&&(k, _)| tree.scalar(k) == Some(key))
        .map(|&(_, v)| v)
}

/// "`/a` is" / "`/a` and `/b` are".
fn not_mounted(targets: &[String]) -> String {
    let verb = if targets.len() == 1 { "is" } else { "are" };
    format!("{} {verb}", list(targets))
}

fn list(targets: &[String]) -> String {
    let quoted: Vec<String> = targets.iter().map(|t| format!("`{t}`")).collect();
    match quoted.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} and {last}", rest.join(", ")),
        Some((last, _)) => last.clone(),
        None => String::new(),
    }
}
