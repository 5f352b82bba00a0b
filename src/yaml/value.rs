//! The located value tree: compose's untyped document model (what compose-go calls the dict),
//! with every node remembering where it was written. Built from the syntax tree with merge keys
//! applied and aliases expanded under a work budget; interpolated, merged and made unique here.

use std::ops::Range;

use compact_str::CompactString;
use foldhash::{HashSet, HashSetExt};
use indexmap::IndexMap;

use crate::yaml::syntax::{self, Kind, NodeId, Style, Tree};

/// Index of a file in the project's file list.
pub(crate) type FileId = usize;

/// Where a value was written: the file and byte range of its node (for an alias: of the anchored
/// node, so a finding inside an anchor points at the one place to change).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    pub(crate) file: FileId,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Loc {
    pub(crate) fn range(&self) -> Range<usize> {
        self.start..self.end
    }
}

/// The compose merge tags.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum MergeTag {
    /// `!reset`: drop what earlier files or the extended service set.
    Reset,
    /// `!override`: replace what earlier files set instead of merging with it.
    Override,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub kind: ValueKind,
    pub loc: Loc,
    pub(crate) tag: Option<MergeTag>,
    /// Set when the value came through an alias: where the alias was written.
    pub(crate) via_alias: Option<Loc>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum ValueKind {
    Null,
    /// A scalar: its text after YAML escapes (and later interpolation); `plain` when written
    /// unquoted, which decides whether `true` or `5` is a bool/number or a string.
    Scalar {
        text: CompactString,
        plain: bool,
    },
    Seq(Vec<Value>),
    Map(Map),
}

/// Keys in the order written. Hashed with foldhash: SipHash was a tenth of loading a project.
pub(crate) type Map = IndexMap<CompactString, Entry, foldhash::fast::RandomState>;

#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub key_loc: Loc,
    pub value: Value,
}

/// A problem found while building or transforming values, with where it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValueError {
    pub(crate) loc: Loc,
    pub(crate) message: String,
    pub(crate) kind: ValueErrorKind,
    /// The key a `DuplicateKey` error is about (as read, quotes and escapes resolved).
    pub(crate) key: Option<CompactString>,
    /// Secondary position (e.g. the first definition of a duplicate key).
    pub(crate) related: Option<Loc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum ValueErrorKind {
    DuplicateKey,
    /// A mapping key that is a collection.
    KeyNotString,
    /// A merge key `<<` whose value is not a mapping or a list of them.
    MergeNotMapping,
    TooLarge,
}

/// Alias and merge-key expansion is bounded so a "billion laughs" file costs bounded time and
/// memory: in nodes copied through an alias, in scalar bytes copied through an alias (one long
/// scalar aliased many times), and in nesting (aliases of nested anchors nest deeper than the
/// parser's own limit). What is written out costs what the file costs and is not counted.
pub(crate) const MAX_EXPANDED_NODES: usize = 200_000;
pub(crate) const MAX_EXPANDED_BYTES: usize = 32 << 20;
/// Also bounds the stack every recursive walk over values needs (merging, rules, `extends`),
/// on threads with small stacks and in unoptimised builds: real files nest a dozen levels.
const MAX_DEPTH: usize = 256;

/// The expansion value building may still do. One budget is shared by every document of every
/// file of a project, so many documents (or many files) cannot multiply the bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    pub(crate) nodes: usize,
    pub(crate) bytes: usize,
}

impl Default for Budget {
    fn default() -> Self {
        Budget {
            nodes: MAX_EXPANDED_NODES,
            bytes: MAX_EXPANDED_BYTES,
        }
    }
}

struct Builder<'a> {
    tree: &'a Tree,
    text: &'a str,
    file: FileId,
    budget: Budget,
    errors: Vec<ValueError>,
    /// Places already reported: a mistake inside an anchor is reported once, not once per alias.
    reported: HashSet<(usize, usize, ValueErrorKind)>,
    /// Byte offsets of line starts, computed the first time a message needs a line number.
    line_starts: Option<Vec<usize>>,
}

/// Builds the value of one document under a budget of its own. Duplicate keys and bad merge keys
/// are collected in `errors`; `None` only when the work budget ran out (the error says so).
pub fn from_document(
    tree: &Tree,
    text: &str,
    file: FileId,
    root: NodeId,
    errors: &mut Vec<ValueError>,
) -> Option<Value> {
    from_document_within(tree, text, file, root, &mut Budget::default(), errors)
}

/// [`from_document`] drawing on a shared budget (what it used is taken out of `budget`).
pub(crate) fn from_document_within(
    tree: &Tree,
    text: &str,
    file: FileId,
    root: NodeId,
    budget: &mut Budget,
    errors: &mut Vec<ValueError>,
) -> Option<Value> {
    let mut b = Builder {
        tree,
        text,
        file,
        budget: *budget,
        errors: Vec::new(),
        reported: HashSet::new(),
        line_starts: None,
    };
    let v = b.build(root, 0, None);
    *budget = b.budget;
    errors.append(&mut b.errors);
    v
}

impl Builder<'_> {
    fn loc(&self, id: NodeId) -> Loc {
        let span = &self.tree.node(id).span;
        Loc {
            file: self.file,
            start: span.start,
            end: span.end,
        }
    }

    fn report(&mut self, error: ValueError) {
        if self
            .reported
            .insert((error.loc.start, error.loc.end, error.kind))
        {
            self.errors.push(error);
        }
    }

    /// 1-based line of a byte offset of this file (a lone `\r` ends a line, as in `source`).
    fn line_of(&mut self, offset: usize) -> usize {
        let starts = self
            .line_starts
            .get_or_insert_with(|| crate::yaml::source::line_starts(self.text));
        starts.partition_point(|&s| s <= offset)
    }

    fn too_large(&mut self, id: NodeId, what: &str) -> Option<Value> {
        if !self
            .errors
            .iter()
            .any(|e| e.kind == ValueErrorKind::TooLarge)
        {
            self.errors.push(ValueError {
                loc: self.loc(id),
                message: format!("document is too {what} (alias or merge-key expansion)"),
                kind: ValueErrorKind::TooLarge,
                key: None,
                related: None,
            });
        }
        None
    }

    /// Takes `bytes` (and a node) out of the budget when the node is a copy made by an alias.
    fn charge(&mut self, expanded: bool, bytes: usize) -> bool {
        if !expanded {
            return true;
        }
        match (
            self.budget.nodes.checked_sub(1),
            self.budget.bytes.checked_sub(bytes),
        ) {
            (Some(nodes), Some(bytes)) => {
                self.budget = Budget { nodes, bytes };
                true
            }
            _ => {
                self.budget = Budget { nodes: 0, bytes: 0 };
                false
            }
        }
    }

    fn build(&mut self, id: NodeId, depth: usize, via: Option<Loc>) -> Option<Value> {
        if depth > MAX_DEPTH {
            return self.too_large(id, "deeply nested");
        }
        let node = self.tree.node(id);
        let tag = node.tag.as_ref().and_then(|t| match t.name.as_str() {
            "!reset" => Some(MergeTag::Reset),
            "!override" => Some(MergeTag::Override),
            _ => None,
        });
        let loc = self.loc(id);
        let kind = match &node.kind {
            Kind::Alias { target } => {
                let alias_loc = via.unwrap_or(loc);
                return self.build(*target, depth + 1, Some(alias_loc));
            }
            Kind::Scalar { value, style } => {
                if !self.charge(via.is_some(), value.len()) {
                    return self.too_large(id, "large");
                }
                let plain = *style == Style::Plain && node.tag.is_none();
                if plain && syntax::is_null_text(value) {
                    ValueKind::Null
                } else {
                    ValueKind::Scalar {
                        text: value.clone(),
                        plain,
                    }
                }
            }
            Kind::Seq { items, .. } => {
                if !self.charge(via.is_some(), 0) {
                    return self.too_large(id, "large");
                }
                let mut out = Vec::with_capacity(items.len());
                for &item in items {
                    out.push(self.build(item, depth + 1, via)?);
                }
                ValueKind::Seq(out)
            }
            Kind::Map { entries, .. } => {
                if !self.charge(via.is_some(), 0) {
                    return self.too_large(id, "large");
                }
                ValueKind::Map(self.build_map(entries, depth, via)?)
            }
        };
        Some(Value {
            kind,
            loc,
            tag,
            via_alias: via,
        })
    }

    fn build_map(
        &mut self,
        entries: &[(NodeId, NodeId)],
        depth: usize,
        via: Option<Loc>,
    ) -> Option<Map> {
        // A mapping that merges itself recurses here without building any other value.
        if depth > MAX_DEPTH {
            let at = entries.first().map_or(0, |e| e.0);
            self.too_large(at, "deeply nested");
            return None;
        }
        let mut map = Map::with_capacity_and_hasher(entries.len(), Default::default());
        let mut merges: Vec<(NodeId, NodeId)> = Vec::new();
        for &(key, value) in entries {
            let key_node = self.tree.node(self.tree.resolve(key));
            let key_text = match &key_node.kind {
                Kind::Scalar { value: k, style } => {
                    let merge_tag = key_node.tag.as_ref().is_some_and(|t| {
                        t.name == "!!merge" || t.name == "tag:yaml.org,2002:merge"
                    });
                    if k == "<<"
                        && ((*style == Style::Plain && key_node.tag.is_none()) || merge_tag)
                    {
                        if let Some((first, _)) = merges.first() {
                            let related = Some(self.loc(*first));
                            self.report(ValueError {
                                loc: self.loc(key),
                                message: "mapping key `<<` is defined more than once".into(),
                                kind: ValueErrorKind::DuplicateKey,
                                key: Some(CompactString::const_new("<<")),
                                related,
                            });
                        }
                        merges.push((key, value));
                        continue;
                    }
                    if *style == Style::Plain && syntax::is_null_text(k) {
                        CompactString::const_new("null")
                    } else {
                        k.clone()
                    }
                }
                _ => {
                    self.report(ValueError {
                        loc: self.loc(key),
                        message: "mapping keys must be strings, not collections".into(),
                        kind: ValueErrorKind::KeyNotString,
                        key: None,
                        related: None,
                    });
                    continue;
                }
            };
            if !self.charge(via.is_some(), key_text.len()) {
                self.too_large(key, "large");
                return None;
            }
            let key_loc = self.loc(key);
            match map.entry(key_text) {
                indexmap::map::Entry::Occupied(prev) => {
                    let prev_loc = prev.get().key_loc;
                    let message = format!(
                        "mapping key `{}` already defined at line {}",
                        prev.key(),
                        self.line_of(prev_loc.start)
                    );
                    self.report(ValueError {
                        loc: key_loc,
                        message,
                        kind: ValueErrorKind::DuplicateKey,
                        key: Some(prev.key().clone()),
                        related: Some(prev_loc),
                    });
                }
                indexmap::map::Entry::Vacant(slot) => {
                    let value = self.build(value, depth + 1, via)?;
                    slot.insert(Entry { key_loc, value });
                }
            }
        }
        // Merge keys: explicit keys win; among merge sources the earlier one wins; shallow.
        for (key, value) in merges {
            let resolved = self.tree.resolve(value);
            let sources: Vec<NodeId> = match &self.tree.node(resolved).kind {
                Kind::Map { .. } => vec![value],
                Kind::Seq { items, .. } => items.clone(),
                _ => {
                    self.report(ValueError {
                        loc: self.loc(value),
                        message: "map merge requires map or sequence of maps as the value".into(),
                        kind: ValueErrorKind::MergeNotMapping,
                        key: None,
                        related: Some(self.loc(key)),
                    });
                    continue;
                }
            };
            for source in sources {
                let source_via = match self.tree.node(source).kind {
                    Kind::Alias { .. } => Some(via.unwrap_or(self.loc(source))),
                    _ => via,
                };
                let resolved = self.tree.resolve(source);
                let Kind::Map { entries, .. } = &self.tree.node(resolved).kind else {
                    self.report(ValueError {
                        loc: self.loc(source),
                        message: "map merge requires map or sequence of maps as the value".into(),
                        kind: ValueErrorKind::MergeNotMapping,
                        key: None,
                        related: Some(self.loc(key)),
                    });
                    continue;
                };
                let merged = self.build_map(entries, depth + 1, source_via)?;
                for (k, mut entry) in merged {
                    if entry.value.via_alias.is_none() {
                        entry.value.via_alias = source_via;
                    }
                    match map.get_mut(&k) {
                        None => {
                            map.insert(k, entry);
                        }
                        // compose drops a `!reset` key before merge keys apply, so a merge
                        // source supplies the key; the reset still clears what earlier files
                        // set, which is what `!override` does with the supplied value.
                        Some(explicit)
                            if explicit.value.tag == Some(MergeTag::Reset)
                                && entry.value.tag != Some(MergeTag::Reset) =>
                        {
                            entry.value.tag = Some(MergeTag::Override);
                            *explicit = entry;
                        }
                        Some(_) => {}
                    }
                }
            }
        }
        Some(map)
    }
}

impl Value {
    pub fn new(kind: ValueKind, loc: Loc) -> Value {
        Value {
            kind,
            loc,
            tag: None,
            via_alias: None,
        }
    }

    pub(crate) fn as_map(&self) -> Option<&Map> {
        match &self.kind {
            ValueKind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub(crate) fn as_map_mut(&mut self) -> Option<&mut Map> {
        match &mut self.kind {
            ValueKind::Map(m) => Some(m),
            _ => None,
        }
    }

    pub(crate) fn as_seq(&self) -> Option<&[Value]> {
        match &self.kind {
            ValueKind::Seq(s) => Some(s),
            _ => None,
        }
    }

    /// The text of a scalar (strings, numbers and bools alike, as written).
    pub(crate) fn as_str(&self) -> Option<&str> {
        match &self.kind {
            ValueKind::Scalar { text, .. } => Some(text),
            _ => None,
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&Value> {
        self.as_map()?.get(key).map(|e| &e.value)
    }

    pub(crate) fn is_null(&self) -> bool {
        matches!(self.kind, ValueKind::Null)
    }

    /// A YAML bool the way compose reads bool-typed fields (YAML 1.1 words accepted).
    pub(crate) fn as_bool(&self) -> Option<bool> {
        match self.as_str()? {
            "true" | "True" | "TRUE" | "y" | "Y" | "yes" | "Yes" | "YES" | "on" | "On" | "ON" => {
                Some(true)
            }
            "false" | "False" | "FALSE" | "n" | "N" | "no" | "No" | "NO" | "off" | "Off"
            | "OFF" => Some(false),
            _ => None,
        }
    }

    /// What the value is, for error messages that name the wrong type.
    pub(crate) fn type_name(&self) -> &'static str {
        match &self.kind {
            ValueKind::Null => "null",
            ValueKind::Scalar { text, plain: true }
                if matches!(text.as_str(), "true" | "false") =>
            {
                "boolean"
            }
            ValueKind::Scalar { text, plain: true } if text.parse::<f64>().is_ok() => "number",
            ValueKind::Scalar { .. } => "string",
            ValueKind::Seq(_) => "array",
            ValueKind::Map(_) => "mapping",
        }
    }

    /// Calls `f` on every scalar, depth first, with its dotted path (keys, `[]` for items), the
    /// text (to rewrite in place) and where it was written; `!reset` nodes are skipped.
    pub(crate) fn for_each_scalar_mut<'a>(
        &'a mut self,
        path: &mut Vec<&'a str>,
        f: &mut impl FnMut(&[&str], &mut CompactString, Loc),
    ) {
        let loc = self.loc;
        // compose drops `!reset` nodes while decoding, before anything reads them.
        if self.tag == Some(MergeTag::Reset) {
            return;
        }
        match &mut self.kind {
            ValueKind::Scalar { text, .. } => f(path, text, loc),
            ValueKind::Seq(items) => {
                for item in items {
                    path.push("[]");
                    item.for_each_scalar_mut(path, f);
                    path.pop();
                }
            }
            ValueKind::Map(map) => {
                for (k, e) in map.iter_mut() {
                    path.push(k);
                    e.value.for_each_scalar_mut(path, f);
                    path.pop();
                }
            }
            ValueKind::Null => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(text: &str) -> (Option<Value>, Vec<ValueError>) {
        let tree = syntax::parse(text);
        assert!(tree.error.is_none(), "{:?}", tree.error);
        let mut errors = Vec::new();
        let v = from_document(&tree, text, 0, tree.documents[0].root.unwrap(), &mut errors);
        (v, errors)
    }

    #[test]
    fn merge_keys_explicit_wins_then_earlier_source() {
        let (v, errors) =
            build("a: &a {x: 1, y: 1}\nb: &b {y: 2, z: 2}\nc:\n  <<: [*a, *b]\n  x: 3\n");
        assert!(errors.is_empty());
        let c = v.unwrap().get("c").unwrap().clone();
        assert_eq!(c.get("x").unwrap().as_str(), Some("3"));
        assert_eq!(c.get("y").unwrap().as_str(), Some("1"));
        assert_eq!(c.get("z").unwrap().as_str(), Some("2"));
        assert!(c.get("y").unwrap().via_alias.is_some());
    }

    #[test]
    fn duplicate_keys_compare_resolved_text() {
        let (_, errors) = build("a: 1\n\"a\": 2\n");
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].kind, ValueErrorKind::DuplicateKey);
        assert!(errors[0].message.contains("line 1"));
    }

    #[test]
    fn alias_bomb_is_bounded() {
        let mut text = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            text.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n", p = i - 1));
        }
        let (v, errors) = build(&text);
        assert!(v.is_none());
        assert_eq!(errors[0].kind, ValueErrorKind::TooLarge);
    }

    #[test]
    fn a_mapping_that_merges_itself_is_bounded() {
        // Found by fuzzing: nothing but the merge key, so no other value is ever built.
        let (v, errors) = build("services:\n  app: &app\n    <<: *app\n");
        assert!(v.is_none());
        assert_eq!(errors[0].kind, ValueErrorKind::TooLarge);
        assert!(errors[0].message.contains("deeply nested"), "{errors:?}");
    }

    #[test]
    fn tags_are_kept() {
        let (v, _) = build("volumes: !reset []\nports: !override [1]\n");
        let v = v.unwrap();
        assert_eq!(v.get("volumes").unwrap().tag, Some(MergeTag::Reset));
        assert_eq!(v.get("ports").unwrap().tag, Some(MergeTag::Override));
    }
}
