//! The YAML layer: the only code that knows the YAML parser. Turns text into a located tree
//! (byte spans for every node, anchors, tags, comments, documents) without expanding aliases.
//! Most compose files take the fast path (`fast`); the full parser reads the rest.

mod fast;

use std::ops::Range;

use compact_str::CompactString;
use foldhash::{HashMap, HashMapExt};
use granit_parser::{ErrorKind, Event, Parser, ScalarStyle, StructureStyle};

pub(crate) type NodeId = usize;

/// A parsed file: every node of every document, with positions.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    pub nodes: Vec<Node>,
    pub documents: Vec<Document>,
    /// The comments that may be suppressions (`suppress.rs`): every comment of a text that
    /// contains [`COMMENTS_READ`], none otherwise (recording comments was a sixth of parsing).
    pub(crate) comments: Vec<Range<usize>>,
    /// The first syntax error; documents before it are complete, the one it is in may be partial.
    pub error: Option<SyntaxError>,
    /// Lookups by span and parent, built on first use (`Tree::index`): edits ask for them once
    /// per finding, and scanning every node each time made large files quadratic. A tree is
    /// not changed once `parse` returns it.
    index: std::sync::OnceLock<Index>,
}

/// See `Tree::index`.
#[derive(Debug, Clone, Default)]
struct Index {
    /// The first node that is not an alias, by exact span.
    by_span: HashMap<(usize, usize), NodeId>,
    /// The first collection holding each node, by node.
    parent: Vec<Option<NodeId>>,
    /// Each key's value in that first collection, by key node (`None` for a node that is not a
    /// key there).
    value: Vec<Option<NodeId>>,
    /// Nodes with a tag or a block scalar style, in node order.
    tagged_or_block: Vec<NodeId>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Document {
    pub root: Option<NodeId>,
    /// From the document's first byte (or `---`) to the end of its last node.
    pub(crate) span: Range<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: Kind,
    /// Byte range of the content (quotes included for quoted scalars; tag and anchor excluded).
    pub(crate) span: Range<usize>,
    /// Byte range of the `&name` token.
    pub(crate) anchor: Option<Range<usize>>,
    /// Boxed: tags are rare, and every node would otherwise carry room for one.
    pub(crate) tag: Option<Box<NodeTag>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NodeTag {
    /// The tag as written, e.g. `!reset`.
    pub(crate) name: String,
    pub(crate) span: Range<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    Scalar {
        /// Inline up to 24 bytes, as most keys and values of compose files are: a parsed file
        /// does not allocate for each of them.
        value: CompactString,
        style: Style,
    },
    Seq {
        flow: bool,
        items: Vec<NodeId>,
    },
    Map {
        flow: bool,
        entries: Vec<(NodeId, NodeId)>,
    },
    /// `*name`; `target` is the anchored node (the most recent definition before it).
    Alias {
        target: NodeId,
    },
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SyntaxError {
    /// The parser's words.
    pub(crate) message: String,
    pub(crate) offset: usize,
    pub(crate) mistake: Mistake,
}

/// What sort of mistake stopped the parse, grouped by what fixes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Mistake {
    /// A tab where YAML allows none (indentation, plain scalars).
    Tab,
    /// An unclosed or malformed quoted string.
    Quote,
    /// An unclosed or malformed flow collection (`[…]`, `{…}`).
    Flow,
    /// `key: value` inside a value.
    NestedValue,
    /// A key at the wrong indentation.
    Indentation,
    /// A `:` where none can start.
    Colon,
    /// An alias to no anchor.
    UnknownAnchor,
    /// A reserved character starting a plain value.
    UnexpectedCharacter,
    Other,
}

impl Mistake {
    /// The mistake a parser error is.
    fn of(kind: &ErrorKind) -> Mistake {
        use ErrorKind as K;
        match kind {
            K::TabNotAllowed
            | K::TabInBlockIndentation
            | K::TabAtBlockScalarStart
            | K::TabInIndentation
            | K::TabInPlainScalar => Mistake::Tab,
            K::DocumentIndicatorInQuotedScalar
            | K::UnclosedQuotedScalar
            | K::InvalidQuotedScalarIndent
            | K::InvalidTrailingSingleQuotedScalar
            | K::InvalidTrailingDoubleQuotedScalar
            | K::UnknownQuotedScalarEscape
            | K::InvalidQuotedScalarHexEscape
            | K::InvalidLowSurrogateHexEscape
            | K::InvalidLowSurrogate
            | K::MissingLowSurrogate
            | K::UnpairedLowSurrogate
            | K::InvalidUnicodeEscape => Mistake::Quote,
            K::UnexpectedEofFlowSequence
            | K::UnexpectedEofFlowMapping
            | K::UnexpectedEofImplicitFlowMapping
            | K::ExpectedFlowMappingSeparator
            | K::ExpectedFlowSequenceSeparator
            | K::UnclosedFlowCollection { .. }
            | K::FlowMappingValueAdjacentCollection => Mistake::Flow,
            K::MappingValueNotAllowed => Mistake::NestedValue,
            K::ExpectedBlockMappingKey
            | K::InvalidIndentation
            | K::ZeroBlockScalarIndent
            | K::InvalidFlowScalarIndent => Mistake::Indentation,
            K::InvalidColonPlacement => Mistake::Colon,
            K::UnknownAnchor => Mistake::UnknownAnchor,
            K::UnexpectedCharacter { .. } => Mistake::UnexpectedCharacter,
            _ => Mistake::Other,
        }
    }
}

impl Tree {
    pub(crate) fn node(&self, id: NodeId) -> &Node {
        &self.nodes[id]
    }

    /// Follows aliases to the node that holds the content.
    pub(crate) fn resolve(&self, mut id: NodeId) -> NodeId {
        // Aliases always point backwards, so this terminates; the bound is a belt and braces.
        for _ in 0..self.nodes.len() {
            match self.nodes[id].kind {
                Kind::Alias { target } => id = target,
                _ => return id,
            }
        }
        id
    }

    pub(crate) fn scalar(&self, id: NodeId) -> Option<&str> {
        match &self.nodes[self.resolve(id)].kind {
            Kind::Scalar { value, .. } => Some(value),
            _ => None,
        }
    }

    fn index(&self) -> &Index {
        self.index.get_or_init(|| {
            let mut index = Index {
                parent: vec![None; self.nodes.len()],
                value: vec![None; self.nodes.len()],
                ..Index::default()
            };
            for (id, n) in self.nodes.iter().enumerate() {
                if !matches!(n.kind, Kind::Alias { .. }) {
                    index
                        .by_span
                        .entry((n.span.start, n.span.end))
                        .or_insert(id);
                }
                let block = matches!(
                    n.kind,
                    Kind::Scalar {
                        style: Style::Literal | Style::Folded,
                        ..
                    }
                );
                if block || n.tag.is_some() {
                    index.tagged_or_block.push(id);
                }
                // (child, its value when the child is a key)
                let children: &mut dyn Iterator<Item = (NodeId, Option<NodeId>)> = match &n.kind {
                    Kind::Seq { items, .. } => &mut items.iter().map(|&item| (item, None)),
                    Kind::Map { entries, .. } => {
                        &mut entries.iter().flat_map(|&(k, v)| [(k, Some(v)), (v, None)])
                    }
                    _ => &mut std::iter::empty(),
                };
                for (child, value) in children {
                    if let Some(slot @ None) = index.parent.get_mut(child) {
                        *slot = Some(id);
                        index.value[child] = value;
                    }
                }
            }
            index
        })
    }

    /// The first node (in node order) that is not an alias and spans exactly `start..end`.
    pub(crate) fn node_with_span(&self, start: usize, end: usize) -> Option<NodeId> {
        self.index().by_span.get(&(start, end)).copied()
    }

    /// The first collection (in node order) that has `id` as an item, key or value.
    pub(crate) fn parent(&self, id: NodeId) -> Option<NodeId> {
        self.index().parent.get(id).copied().flatten()
    }

    /// The value of the entry whose key is `key`, in the first collection that holds `key`.
    pub(crate) fn value_of_key(&self, key: NodeId) -> Option<NodeId> {
        self.index().value.get(key).copied().flatten()
    }

    /// Every node with a tag or in a block scalar style (`|`, `>`), in node order.
    pub(crate) fn tagged_or_block(&self) -> &[NodeId] {
        &self.index().tagged_or_block
    }
}

impl Node {
    /// An implicit null: `key:` with nothing after it, or `~` / `null` written plainly.
    #[cfg_attr(not(test), allow(dead_code))] // read by the unit tests only
    pub(crate) fn is_null(&self) -> bool {
        matches!(&self.kind, Kind::Scalar { value, style: Style::Plain } if is_null_text(value))
            && self.tag.is_none()
    }
}

pub(crate) fn is_null_text(s: &str) -> bool {
    matches!(s, "" | "~" | "null" | "Null" | "NULL")
}

enum Open {
    Seq(NodeId),
    /// A mapping and the key waiting for its value.
    Map(NodeId, Option<NodeId>),
}

/// Parses a whole file. Never panics; stops at the first syntax error and keeps what came before.
pub fn parse(text: &str) -> Tree {
    parse_within(text, MAX_NODES)
}

/// The most nodes a parse builds. A node costs memory several times the bytes that wrote it
/// (`1,` is a node), so size limits alone do not bound memory; real compose files have a few
/// thousand nodes.
pub(crate) const MAX_NODES: usize = 250_000;

/// What a comment that stowage reads contains: a text without it has no such comment.
pub(crate) const COMMENTS_READ: &str = "stowage:";

/// How the error of a parse stopped by its node limit starts.
pub(crate) const TOO_MANY_NODES: &str = "the file is too large to check";

/// [`parse`] that stops with an error once the tree would hold more than `max_nodes` nodes.
pub(crate) fn parse_within(text: &str, max_nodes: usize) -> Tree {
    fast::parse(text, max_nodes).unwrap_or_else(|| parse_events(text, max_nodes))
}

/// The full parser's tree: every file the fast path gives up on, and the reference it is
/// tested against.
fn parse_events(text: &str, max_nodes: usize) -> Tree {
    let options = granit_parser::options! {
        emit_anchor_events: true,
        emit_comments: text.contains(COMMENTS_READ),
    };
    let parser = Parser::new_from_str_with_options(text, options);
    let mut tree = Tree::default();
    let mut stack: Vec<Open> = Vec::new();
    let mut anchors: HashMap<usize, NodeId> = HashMap::new();
    let mut last_node: Option<NodeId> = None;
    let mut doc_start = 0;
    let char_to_byte = CharToByte::new(text);

    for item in parser {
        let (event, span) = match item {
            Ok(pair) => pair,
            Err(e) => {
                let offset = e
                    .marker()
                    .byte_offset()
                    .unwrap_or_else(|| char_to_byte.get(e.marker().index()));
                tree.error = Some(SyntaxError {
                    message: e.kind().to_string(),
                    offset,
                    mistake: Mistake::of(e.kind()),
                });
                if let Some(Open::Seq(id) | Open::Map(id, _)) = stack.first() {
                    tree.documents.push(Document {
                        root: Some(*id),
                        span: doc_start..offset,
                    });
                }
                break;
            }
        };
        let start = span
            .start
            .byte_offset()
            .unwrap_or_else(|| char_to_byte.get(span.start.index()));
        let end = span
            .end
            .byte_offset()
            .unwrap_or_else(|| char_to_byte.get(span.end.index()));
        let tag_of = |tag: Option<&granit_parser::Tag>| {
            let tag = tag?;
            let range = span.tag_span().map(|t| {
                let s = t
                    .start
                    .byte_offset()
                    .unwrap_or_else(|| char_to_byte.get(t.start.index()));
                let e = t
                    .end
                    .byte_offset()
                    .unwrap_or_else(|| char_to_byte.get(t.end.index()));
                s..e
            });
            let name = range
                .as_ref()
                .and_then(|r| text.get(r.clone()))
                .map_or_else(|| tag.original(), str::to_owned);
            Some(Box::new(NodeTag {
                name,
                span: range.unwrap_or(start..start),
            }))
        };
        let new_node = match event {
            Event::StreamStart | Event::StreamEnd => None,
            Event::DocumentStart(..) => {
                doc_start = start;
                None
            }
            Event::DocumentEnd => {
                tree.documents.push(Document {
                    root: None,
                    span: doc_start..end.max(doc_start),
                });
                None
            }
            Event::Comment(..) => {
                tree.comments.push(start..end);
                None
            }
            Event::Anchor(..) => {
                if let Some(id) = last_node {
                    tree.nodes[id].anchor = Some(start..end);
                }
                None
            }
            Event::Scalar(value, style, anchor, tag) => {
                let style = match style {
                    ScalarStyle::Plain => Style::Plain,
                    ScalarStyle::SingleQuoted => Style::SingleQuoted,
                    ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
                    ScalarStyle::Literal => Style::Literal,
                    ScalarStyle::Folded => Style::Folded,
                };
                let tag = tag_of(tag.as_deref());
                Some((
                    Node {
                        kind: Kind::Scalar {
                            value: CompactString::from(value),
                            style,
                        },
                        span: start..end,
                        anchor: None,
                        tag,
                    },
                    anchor,
                    false,
                ))
            }
            Event::SequenceStart(style, anchor, tag) => {
                let tag = tag_of(tag.as_deref());
                let flow = style == StructureStyle::Flow;
                Some((
                    Node {
                        kind: Kind::Seq {
                            flow,
                            items: Vec::new(),
                        },
                        span: start..end,
                        anchor: None,
                        tag,
                    },
                    anchor,
                    true,
                ))
            }
            Event::MappingStart(style, anchor, tag) => {
                let tag = tag_of(tag.as_deref());
                let flow = style == StructureStyle::Flow;
                Some((
                    Node {
                        kind: Kind::Map {
                            flow,
                            entries: Vec::new(),
                        },
                        span: start..end,
                        anchor: None,
                        tag,
                    },
                    anchor,
                    true,
                ))
            }
            Event::Alias(anchor) => match anchors.get(&anchor) {
                Some(&target) => Some((
                    Node {
                        kind: Kind::Alias { target },
                        span: start..end,
                        anchor: None,
                        tag: None,
                    },
                    0,
                    false,
                )),
                None => {
                    tree.error = Some(SyntaxError {
                        message: "unknown anchor".into(),
                        offset: start,
                        mistake: Mistake::UnknownAnchor,
                    });
                    break;
                }
            },
            Event::UnresolvedAlias(_) => {
                tree.error = Some(SyntaxError {
                    message: "unknown anchor".into(),
                    offset: start,
                    mistake: Mistake::UnknownAnchor,
                });
                break;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some(Open::Seq(id) | Open::Map(id, _)) = stack.pop() {
                    close_collection(&mut tree, id, end);
                    if stack.is_empty() {
                        tree.documents.push(Document {
                            root: Some(id),
                            span: doc_start..tree.nodes[id].span.end,
                        });
                    }
                }
                None
            }
            // Events added by future parser versions carry no data node.
            _ => None,
        };
        if let Some((node, anchor, is_collection)) = new_node {
            if tree.nodes.len() >= max_nodes {
                tree.error = Some(SyntaxError {
                    message: format!("{TOO_MANY_NODES}: more than {max_nodes} YAML nodes"),
                    offset: node.span.start,
                    mistake: Mistake::Other,
                });
                break;
            }
            let id = tree.nodes.len();
            tree.nodes.push(node);
            last_node = Some(id);
            if anchor != 0 {
                anchors.insert(anchor, id);
            }
            attach(&mut tree, &mut stack, id);
            if is_collection {
                stack.push(if matches!(tree.nodes[id].kind, Kind::Seq { .. }) {
                    Open::Seq(id)
                } else {
                    Open::Map(id, None)
                });
            } else if stack.is_empty() {
                tree.documents.push(Document {
                    root: Some(id),
                    span: doc_start..end,
                });
            }
        }
    }
    merge_document_ends(&mut tree);
    // The tree lives as long as the project: give back what growing it reserved.
    tree.nodes.shrink_to_fit();
    tree
}

/// DocumentEnd events arrive after the root closed; fold the two records of one document together.
fn merge_document_ends(tree: &mut Tree) {
    let mut merged: Vec<Document> = Vec::new();
    for doc in tree.documents.drain(..) {
        match (merged.last_mut(), doc.root) {
            (Some(prev), None) if prev.root.is_some() && prev.span.start == doc.span.start => {}
            _ => merged.push(doc),
        }
    }
    tree.documents = merged;
}

fn attach(tree: &mut Tree, stack: &mut [Open], id: NodeId) {
    match stack.last_mut() {
        Some(Open::Seq(seq)) => {
            if let Kind::Seq { items, .. } = &mut tree.nodes[*seq].kind {
                items.push(id);
            }
        }
        Some(Open::Map(map, pending)) => match pending.take() {
            None => *pending = Some(id),
            Some(key) => {
                if let Kind::Map { entries, .. } = &mut tree.nodes[*map].kind {
                    entries.push((key, id));
                }
            }
        },
        None => {}
    }
}

/// A block collection's end event points at the next token, possibly past comments and blank
/// lines, so its span ends with its last child instead; flow collections end at `]` / `}`.
fn close_collection(tree: &mut Tree, id: NodeId, end_event_end: usize) {
    let (flow, last) = match &tree.nodes[id].kind {
        Kind::Seq { flow, items } => (*flow, items.last().copied()),
        Kind::Map { flow, entries } => (*flow, entries.last().map(|e| e.1)),
        _ => return,
    };
    let end = if flow {
        end_event_end
    } else {
        last.map_or(tree.nodes[id].span.start, |child| {
            tree.nodes[child].span.end
        })
    };
    tree.nodes[id].span.end = end.max(tree.nodes[id].span.start);
}

/// Converts char indices to byte offsets for the rare markers without a byte offset. Markers
/// mostly move forward, so it walks on from the last answer: linear over a file, not quadratic.
struct CharToByte<'a> {
    text: &'a str,
    /// The last (char index, byte offset) answered.
    last: std::cell::Cell<(usize, usize)>,
}

impl<'a> CharToByte<'a> {
    fn new(text: &'a str) -> Self {
        CharToByte {
            text,
            last: std::cell::Cell::new((0, 0)),
        }
    }
    fn get(&self, chars: usize) -> usize {
        let (mut at_char, mut at_byte) = self.last.get();
        if chars < at_char {
            (at_char, at_byte) = (0, 0);
        }
        let byte = self.text[at_byte..]
            .char_indices()
            .nth(chars - at_char)
            .map_or(self.text.len(), |(i, _)| at_byte + i);
        if byte < self.text.len() {
            self.last.set((chars, byte));
        }
        byte
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every parser error is the mistake its words say (the advice used to be chosen from them).
    #[test]
    fn mistakes_agree_with_the_parser_messages() {
        use ErrorKind as K;
        let said = |text: &str| {
            let t = text.replace("':'", "`:`");
            let has = |s: &str| t.contains(s);
            if has("tab") {
                Mistake::Tab
            } else if has("unclosed quote") || has("quoted scalar") {
                Mistake::Quote
            } else if has("unclosed bracket") || has("flow sequence") || has("flow mapping") {
                Mistake::Flow
            } else if has("mapping values are not allowed") {
                Mistake::NestedValue
            } else if has("did not find expected key") || has("indentation") {
                Mistake::Indentation
            } else if has("illegal placement of `:`") {
                Mistake::Colon
            } else if has("unknown anchor") {
                Mistake::UnknownAnchor
            } else if has("unexpected character") {
                Mistake::UnexpectedCharacter
            } else {
                Mistake::Other
            }
        };
        let kinds = [
            K::InputByteLimitExceeded { limit: 1 },
            K::UnexpectedEofFlowSequence,
            K::UnexpectedEofFlowMapping,
            K::UnexpectedEofImplicitFlowMapping,
            K::UnexpectedEofBlockSequence,
            K::UnexpectedEofBlockMapping,
            K::UnexpectedEof,
            K::ExpectedStreamStart,
            K::DuplicateVersionDirective,
            K::UnsupportedYamlMajorVersion,
            K::DuplicateTagDirective,
            K::ExpectedDocumentStart,
            K::MissingDocumentEndBeforeDirective,
            K::AnchorCountOverflow,
            K::UnknownAnchor,
            K::ExpectedNodeContent,
            K::ExpectedBlockMappingKey,
            K::ExpectedFlowMappingSeparator,
            K::ExpectedFlowSequenceSeparator,
            K::ExpectedBlockSequenceEntry,
            K::UndeclaredTagHandle,
            K::MissingIncludeResolver,
            K::MultipleDocumentsUnsupported,
            K::InputOffsetsWithoutSlice,
            K::InputSlicingUnavailable,
            K::ExpectedTagBang,
            K::ExpectedTagDirectiveBang,
            K::InvalidGlobalTagCharacter,
            K::SimpleKeyExpected,
            K::InvalidSimpleKey,
            K::InvalidDocumentEnd,
            K::InvalidIndentation,
            K::BomInsideDocument,
            K::UnexpectedCharacter { character: '@' },
            K::TabNotAllowed,
            K::TabInBlockIndentation,
            K::CommentInterceptedScalar,
            K::ExpectedWhitespace,
            K::CommentNotSeparated,
            K::InvalidDirectiveTerminator,
            K::DirectiveDisallowed,
            K::MissingYamlVersionSeparator,
            K::MissingDirectiveName,
            K::InvalidDirectiveName,
            K::DirectiveByteLimitExceeded { limit: 1 },
            K::TooManyReservedDirectiveParams { limit: 1 },
            K::YamlVersionTooLong,
            K::MissingYamlVersion,
            K::InvalidTagDirectiveTerminator,
            K::InvalidTagTerminator,
            K::MissingTagUri,
            K::UnclosedVerbatimTag,
            K::InvalidTagEscape,
            K::InvalidTagUtf8LeadingByte,
            K::InvalidTagUtf8TrailingByte,
            K::InvalidTagUtf8,
            K::MissingAnchorOrAliasName,
            K::MisplacedFlowCollectionEnd,
            K::MismatchedFlowCollectionEnd {
                open: '[',
                close: '}',
            },
            K::UnclosedFlowCollection { open: '[' },
            K::RecursionLimitExceeded,
            K::BlockEntryInFlowCollection,
            K::BlockSequenceEntryNotAllowed,
            K::InvalidBlockEntryWhitespace,
            K::ZeroBlockScalarIndent,
            K::InvalidBlockScalarHeader,
            K::TabAtBlockScalarStart,
            K::InvalidBlockScalarIndent,
            K::DocumentIndicatorInQuotedScalar,
            K::UnclosedQuotedScalar,
            K::TabInIndentation,
            K::InvalidQuotedScalarIndent,
            K::InvalidTrailingSingleQuotedScalar,
            K::InvalidTrailingDoubleQuotedScalar,
            K::UnknownQuotedScalarEscape,
            K::InvalidQuotedScalarHexEscape,
            K::InvalidLowSurrogateHexEscape,
            K::InvalidLowSurrogate,
            K::MissingLowSurrogate,
            K::UnpairedLowSurrogate,
            K::InvalidUnicodeEscape,
            K::InvalidFlowScalarIndent,
            K::PlainScalarStartsWithDashFlowIndicator,
            K::TabInPlainScalar,
            K::UnexpectedEndOfPlainScalar,
            K::MappingKeyNotAllowed,
            K::FlowMappingValueAdjacentCollection,
            K::InvalidMappingValueWhitespace,
            K::InvalidColonPlacement,
            K::MappingValueNotAllowed,
        ];
        for kind in &kinds {
            let text = kind.to_string();
            assert_eq!(Mistake::of(kind), said(&text), "{kind:?}: {text}");
        }
        assert_eq!(said("unknown anchor"), Mistake::UnknownAnchor);
        assert_eq!(said(TOO_MANY_NODES), Mistake::Other);
    }

    fn root_map(tree: &Tree) -> &Vec<(NodeId, NodeId)> {
        let root = tree.documents[0].root.unwrap();
        match &tree.nodes[root].kind {
            Kind::Map { entries, .. } => entries,
            k => panic!("not a map: {k:?}"),
        }
    }

    #[test]
    fn spans_cover_scalars_and_block_collections() {
        let text = "a: &x [1, 2]  # c\nb: *x\nc:\n  - 'q'\n  - d\n\n# tail\n";
        let tree = parse(text);
        assert!(tree.error.is_none());
        let entries = root_map(&tree);
        assert_eq!(entries.len(), 3);
        let (_, a) = entries[0];
        assert_eq!(&text[tree.nodes[a].span.clone()], "[1, 2]");
        assert_eq!(&text[tree.nodes[a].anchor.clone().unwrap()], "&x");
        let (_, b) = entries[1];
        assert_eq!(tree.resolve(b), a);
        let (_, c) = entries[2];
        assert_eq!(&text[tree.nodes[c].span.clone()], "- 'q'\n  - d");
        assert!(tree.comments.is_empty(), "no comment can be a suppression");
        let text = format!("{text}# stowage: ignore[bind-mount]\n");
        assert_eq!(parse(&text).comments.len(), 3);
    }

    #[test]
    fn tags_and_multiple_documents() {
        let text = "a: !reset []\n---\nb: 1\n";
        let tree = parse(text);
        assert_eq!(tree.documents.len(), 2, "{:?}", tree.documents);
        let (_, a) = root_map(&tree)[0];
        assert_eq!(tree.nodes[a].tag.as_ref().unwrap().name, "!reset");
    }

    #[test]
    fn error_has_offset() {
        let tree = parse("a: b\nc: [1, 2\n");
        let err = tree.error.unwrap();
        assert!(err.offset >= 5, "{err:?}");
        assert!(parse("a: b\n\tc: d\n").error.is_some());
    }

    #[test]
    fn char_indices_become_byte_offsets_in_any_order() {
        let text = "aé😀b";
        let c = CharToByte::new(text);
        assert_eq!(c.get(2), 3);
        assert_eq!(c.get(3), 7);
        assert_eq!(c.get(1), 1);
        assert_eq!(c.get(0), 0);
        assert_eq!(c.get(3), 7);
        assert_eq!(c.get(4), text.len());
        assert_eq!(c.get(9), text.len());
    }

    #[test]
    fn the_node_limit_stops_the_parse_with_an_error() {
        let text = "a: [1, 2, 3, 4, 5]\n";
        assert!(parse_within(text, 8).error.is_none());
        let tree = parse_within(text, 5);
        let err = tree.error.expect("stopped");
        assert!(err.message.starts_with(TOO_MANY_NODES), "{err:?}");
        assert_eq!(tree.nodes.len(), 5);
        assert_eq!(&text[err.offset..err.offset + 1], "3");
    }

    #[test]
    fn empty_value_is_null() {
        let tree = parse("a:\nb: ~\n");
        let entries = root_map(&tree);
        assert!(tree.nodes[entries[0].1].is_null());
        assert!(tree.nodes[entries[1].1].is_null());
    }
}
