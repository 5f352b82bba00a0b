//! The fast path for the YAML that compose files are written in: block mappings and sequences,
//! one-line scalars, flow sequences of scalars, `{}`, block scalars, anchors and aliases. It
//! builds exactly the tree the full parser builds (`super::parse_events`), or gives up (`None`)
//! at the first thing it does not handle, and the full parser reads the file instead. Errors
//! are always the full parser's: anything unusual, wrong or merely rare is given up on.
//!
//! Why: the full parser was half of checking a typical file. Tests hold the two parsers to the
//! same tree on every corpus and fixture file and on generated documents (`tests` below).

use compact_str::CompactString;
use foldhash::{HashMap, HashMapExt};
use memchr::{memchr, memchr2, memchr3};

use super::{COMMENTS_READ, Document, Kind, Node, NodeId, Style, Tree};

/// Deeper nesting is given up on (real files nest a dozen levels; the recursion stays small).
const MAX_DEPTH: usize = 64;
/// Implicit keys are at most 1024 characters in YAML; longer ones are left to the full parser.
const MAX_KEY_BYTES: usize = 1000;

/// Builds the tree of `text`, or `None` when the full parser must read it.
pub(super) fn parse(text: &str, max_nodes: usize) -> Option<Tree> {
    if !ordinary_text(text) {
        return None;
    }
    let mut p = Fast {
        text,
        b: text.as_bytes(),
        nodes: Vec::with_capacity(text.len() / 12),
        anchors: HashMap::new(),
        max_nodes,
    };
    let (doc_start, ls, indent) = p.document_start()?;
    let (root, next) = p.collection(ls, indent, None, 0)?;
    if !matches!(p.next_content(next)?, Next::End) {
        return None;
    }
    let span = doc_start..p.nodes[root].span.end;
    let mut tree = Tree {
        nodes: p.nodes,
        documents: vec![Document {
            root: Some(root),
            span,
        }],
        ..Tree::default()
    };
    tree.nodes.shrink_to_fit();
    Some(tree)
}

/// Text the fast path may read: no comment that must be recorded, no byte order mark, and no
/// character that is a line break or not printable to some YAML reader (tabs and carriage
/// returns included: their rules are left to the full parser).
fn ordinary_text(text: &str) -> bool {
    let bytes = text.as_bytes();
    // Whole chunks at a time (no early exit), which the compiler turns into vector code.
    let printable = |b: u8| (b >= 0x20) & (b != 0x7f) | (b == b'\n');
    if !bytes
        .chunks(64)
        .all(|chunk| chunk.iter().fold(true, |ok, &b| ok & printable(b)))
    {
        return false;
    }
    if memchr::memmem::find(bytes, COMMENTS_READ.as_bytes()).is_some() {
        return false;
    }
    // U+0080–U+009F, U+2028, U+2029, U+FEFF, U+FFFE and U+FFFF, by their UTF-8 lead bytes.
    let mut rest = bytes;
    while let Some(i) = memchr3(0xc2, 0xe2, 0xef, rest) {
        let tail = &rest[i..];
        let odd = match tail {
            [0xc2, b, ..] => (0x80..=0x9f).contains(b),
            [0xe2, 0x80, 0xa8 | 0xa9, ..]
            | [0xef, 0xbb, 0xbf, ..]
            | [0xef, 0xbf, 0xbe | 0xbf, ..] => true,
            _ => false,
        };
        if odd {
            return false;
        }
        rest = &tail[1..];
    }
    true
}

struct Fast<'a> {
    text: &'a str,
    b: &'a [u8],
    nodes: Vec<Node>,
    /// Anchor name → the node of its latest definition.
    anchors: HashMap<&'a str, NodeId>,
    max_nodes: usize,
}

/// The next line with content after blank and comment lines.
enum Next {
    End,
    /// Line start and indentation.
    Line(usize, usize),
}

/// What holds a value: a mapping (after `:`) or a sequence (after `-`).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Holder {
    Map,
    Seq,
}

/// Where a plain scalar stopped.
#[derive(PartialEq, Eq)]
enum Stop {
    /// At the end of its line or of a comment's `#`.
    Line,
    /// At a `:` that makes it a key.
    Colon,
}

/// A node found on the line of its indicator, not yet added.
enum Inline {
    Plain(usize, usize),
    Quoted(CompactString, Style, usize, usize),
}

impl<'a> Fast<'a> {
    fn at(&self, i: usize) -> Option<u8> {
        self.b.get(i).copied()
    }

    fn spaces(&self, mut i: usize) -> usize {
        while self.at(i) == Some(b' ') {
            i += 1;
        }
        i
    }

    fn line_end(&self, i: usize) -> usize {
        memchr(b'\n', &self.b[i.min(self.b.len())..]).map_or(self.b.len(), |n| i + n)
    }

    fn next_line(&self, i: usize) -> usize {
        (self.line_end(i) + 1).min(self.b.len())
    }

    /// `-` followed by a space or the end of its line: a sequence entry.
    fn is_dash(&self, i: usize) -> bool {
        self.at(i) == Some(b'-') && matches!(self.at(i + 1), None | Some(b' ' | b'\n'))
    }

    /// `:` that ends a key.
    fn is_colon(&self, i: usize) -> bool {
        self.at(i) == Some(b':') && matches!(self.at(i + 1), None | Some(b' ' | b'\n'))
    }

    /// A character that may follow `-` or `:` inside a plain scalar in a flow collection.
    fn flow_safe(&self, i: usize) -> bool {
        !matches!(
            self.at(i),
            None | Some(b' ' | b'\n' | b',' | b'[' | b']' | b'{' | b'}')
        )
    }

    /// `---` or `...` at the start of a line.
    fn is_marker(&self, ls: usize) -> bool {
        let three = &self.b[ls..(ls + 3).min(self.b.len())];
        (three == b"---" || three == b"...") && matches!(self.at(ls + 3), None | Some(b' ' | b'\n'))
    }

    fn push(&mut self, kind: Kind, span: std::ops::Range<usize>) -> Option<NodeId> {
        if self.nodes.len() >= self.max_nodes {
            return None;
        }
        self.nodes.push(Node {
            kind,
            span,
            anchor: None,
            tag: None,
        });
        Some(self.nodes.len() - 1)
    }

    /// A collection starting at `at`, named by its anchor before its entries are read: an alias
    /// inside refers to it, as in the full parser.
    fn open(&mut self, kind: Kind, at: usize, anchor: Option<(usize, usize)>) -> Option<NodeId> {
        let id = self.push(kind, at..at)?;
        self.anchor(id, anchor);
        Some(id)
    }

    /// A block collection's children, and its end: its last child's (as the full parser's tree).
    fn close(&mut self, id: NodeId, kind: Kind, last: Option<NodeId>) {
        let start = self.nodes[id].span.start;
        let end = last.map_or(start, |c| self.nodes[c].span.end).max(start);
        let node = &mut self.nodes[id];
        node.span.end = end;
        node.kind = kind;
    }

    fn anchor(&mut self, id: NodeId, anchor: Option<(usize, usize)>) {
        if let Some((s, e)) = anchor {
            self.nodes[id].anchor = Some(s..e);
            // `&` excluded
            self.anchors.insert(&self.text[s + 1..e], id);
        }
    }

    /// From a line start, past blank and comment lines: the next line with content.
    fn skip_blank(&self, mut ls: usize) -> Next {
        loop {
            let i = self.spaces(ls);
            match self.at(i) {
                None => return Next::End,
                Some(b'\n') => ls = i + 1,
                Some(b'#') => ls = self.next_line(i),
                Some(_) => return Next::Line(ls, i - ls),
            }
            if ls >= self.b.len() {
                return Next::End;
            }
        }
    }

    /// [`Self::skip_blank`], giving up at a document marker (`---`, `...`).
    fn next_content(&self, ls: usize) -> Option<Next> {
        match self.skip_blank(ls) {
            Next::Line(ls, 0) if self.is_marker(ls) => None,
            next => Some(next),
        }
    }

    /// The document's start and its first content line: after leading comments and an
    /// optional `---` line with nothing else on it.
    fn document_start(&self) -> Option<(usize, usize, usize)> {
        let Next::Line(ls, indent) = self.skip_blank(0) else {
            return None;
        };
        if indent == 0 && self.b[ls..].starts_with(b"---") && self.is_marker(ls) {
            let after = self.rest_of_line(ls + 3)?;
            let Next::Line(first, indent) = self.next_content(after)? else {
                return None;
            };
            return Some((ls, first, indent));
        }
        Some((ls + indent, ls, indent))
    }

    /// After a node that ends on its line: spaces, then the line's end or a comment. The start
    /// of the next line.
    fn rest_of_line(&self, end: usize) -> Option<usize> {
        let i = self.spaces(end);
        match self.at(i) {
            None => Some(self.b.len()),
            Some(b'\n') => Some(i + 1),
            Some(b'#') if i > end => Some(self.next_line(i)),
            _ => None,
        }
    }

    /// A block collection whose first line starts at `ls`, indented by `indent`.
    fn collection(
        &mut self,
        ls: usize,
        indent: usize,
        anchor: Option<(usize, usize)>,
        depth: usize,
    ) -> Option<(NodeId, usize)> {
        if depth > MAX_DEPTH {
            return None;
        }
        let first = ls + indent;
        if self.is_dash(first) {
            self.sequence(first, indent, None, anchor, depth)
        } else {
            self.mapping(first, indent, anchor, depth)
        }
    }

    /// A block mapping whose first key starts at `first`, its keys indented by `indent`.
    fn mapping(
        &mut self,
        first: usize,
        indent: usize,
        anchor: Option<(usize, usize)>,
        depth: usize,
    ) -> Option<(NodeId, usize)> {
        let id = self.open(
            Kind::Map {
                flow: false,
                entries: Vec::new(),
            },
            first,
            anchor,
        )?;
        let mut entries = Vec::new();
        let mut key_at = first;
        let next = loop {
            let (key, colon) = self.key(key_at)?;
            let (value, next) = self.value(colon, indent, Holder::Map, depth + 1)?;
            entries.push((key, value));
            match self.next_content(next)? {
                Next::Line(ls, i) if i == indent => key_at = ls + i,
                Next::Line(ls, i) if i < indent => break ls,
                Next::Line(..) => return None,
                Next::End => break self.b.len(),
            }
        };
        let last = entries.last().map(|&(_, v)| v);
        self.close(
            id,
            Kind::Map {
                flow: false,
                entries,
            },
            last,
        );
        Some((id, next))
    }

    /// A block sequence whose first `-` is at `first`. `indentless`: the value of a mapping key
    /// written at the key's own indentation, which starts where its first entry does.
    fn sequence(
        &mut self,
        first: usize,
        indent: usize,
        indentless: Option<usize>,
        anchor: Option<(usize, usize)>,
        depth: usize,
    ) -> Option<(NodeId, usize)> {
        let start = indentless.unwrap_or(first);
        let id = self.open(
            Kind::Seq {
                flow: false,
                items: Vec::new(),
            },
            start,
            anchor,
        )?;
        let mut items = Vec::new();
        let mut dash = first;
        let next = loop {
            let (item, next) = self.value(dash, indent, Holder::Seq, depth + 1)?;
            items.push(item);
            match self.next_content(next)? {
                Next::Line(ls, i) if i == indent && self.is_dash(ls + i) => dash = ls + i,
                Next::Line(ls, i) if i < indent || (i == indent && indentless.is_some()) => {
                    break ls;
                }
                Next::Line(..) => return None,
                Next::End => break self.b.len(),
            }
        };
        let last = items.last().copied();
        self.close(id, Kind::Seq { flow: false, items }, last);
        Some((id, next))
    }

    /// A key of a block mapping at `at`: its node and the position of its `:`.
    fn key(&mut self, at: usize) -> Option<(NodeId, usize)> {
        let (node, colon) = match self.inline(at)? {
            (inline, Stop::Colon) => {
                let (node, end) = self.push_inline(inline)?;
                (node, self.spaces(end))
            }
            (_, Stop::Line) => return None,
        };
        let span = &self.nodes[node].span;
        (span.end - span.start <= MAX_KEY_BYTES).then_some((node, colon))
    }

    /// A plain or quoted scalar on one line at `at`, and whether a key's `:` follows it.
    fn inline(&self, at: usize) -> Option<(Inline, Stop)> {
        match self.at(at)? {
            b'"' | b'\'' => {
                let (value, style, end) = self.quoted(at)?;
                let after = self.spaces(end);
                let stop = if self.is_colon(after) {
                    Stop::Colon
                } else {
                    Stop::Line
                };
                Some((Inline::Quoted(value, style, at, end), stop))
            }
            _ => {
                let (end, stop) = self.plain_block(at)?;
                Some((Inline::Plain(at, end), stop))
            }
        }
    }

    /// Adds a scalar found by [`Self::inline`]: its node and where it ends.
    fn push_inline(&mut self, inline: Inline) -> Option<(NodeId, usize)> {
        let (kind, s, e) = match inline {
            Inline::Plain(s, e) => (plain(&self.text[s..e]), s, e),
            Inline::Quoted(value, style, s, e) => (Kind::Scalar { value, style }, s, e),
        };
        Some((self.push(kind, s..e)?, e))
    }

    /// A plain scalar in block context: where it ends (trailing spaces excluded) and why.
    fn plain_block(&self, at: usize) -> Option<(usize, Stop)> {
        let first = self.at(at)?;
        let next = self.at(at + 1);
        let starts_ok = match first {
            b'-' | b'?' | b':' => !matches!(next, None | Some(b' ' | b'\n')),
            b' ' | b'\n' => false,
            c => !is_indicator(c),
        };
        if !starts_ok {
            return None;
        }
        let mut i = at + 1;
        let (stop_at, stop) = loop {
            match memchr3(b':', b'#', b'\n', &self.b[i..]) {
                None => break (self.b.len(), Stop::Line),
                Some(n) => {
                    let j = i + n;
                    match self.b[j] {
                        b'\n' => break (j, Stop::Line),
                        b'#' if self.b[j - 1] == b' ' => break (j, Stop::Line),
                        b':' if self.is_colon(j) => break (j, Stop::Colon),
                        _ => i = j + 1,
                    }
                }
            }
        };
        let mut end = stop_at;
        while end > at && self.b[end - 1] == b' ' {
            end -= 1;
        }
        Some((end, stop))
    }

    /// A quoted scalar on one line at `at`: its value, style and the position after it.
    fn quoted(&self, at: usize) -> Option<(CompactString, Style, usize)> {
        if self.b[at] == b'"' {
            let (value, end) = self.double_quoted(at)?;
            Some((value, Style::DoubleQuoted, end))
        } else {
            let (value, end) = self.single_quoted(at)?;
            Some((value, Style::SingleQuoted, end))
        }
    }

    /// `'…'` on one line: its value and the position after the closing quote.
    fn single_quoted(&self, at: usize) -> Option<(CompactString, usize)> {
        let mut value = CompactString::default();
        let mut i = at + 1;
        loop {
            let n = memchr2(b'\'', b'\n', &self.b[i..])?;
            let j = i + n;
            if self.b[j] == b'\n' {
                return None;
            }
            value.push_str(&self.text[i..j]);
            if self.at(j + 1) == Some(b'\'') {
                value.push('\'');
                i = j + 2;
            } else {
                return Some((value, j + 1));
            }
        }
    }

    /// `"…"` on one line: its value and the position after the closing quote. Only the escapes
    /// of printable characters are read; the others are left to the full parser.
    fn double_quoted(&self, at: usize) -> Option<(CompactString, usize)> {
        let mut value = CompactString::default();
        let mut i = at + 1;
        loop {
            let n = memchr3(b'"', b'\\', b'\n', &self.b[i..])?;
            let j = i + n;
            value.push_str(&self.text[i..j]);
            match self.b[j] {
                b'"' => return Some((value, j + 1)),
                b'\n' => return None,
                _ => {
                    let (c, len) = match self.at(j + 1)? {
                        b'\\' => ('\\', 2),
                        b'"' => ('"', 2),
                        b'/' => ('/', 2),
                        b' ' => (' ', 2),
                        b'n' => ('\n', 2),
                        b't' => ('\t', 2),
                        b'r' => ('\r', 2),
                        b'x' => (self.hex(j + 2, 2)?, 4),
                        b'u' => (self.hex(j + 2, 4)?, 6),
                        b'U' => (self.hex(j + 2, 8)?, 10),
                        _ => return None,
                    };
                    value.push(c);
                    i = j + len;
                }
            }
        }
    }

    /// A printable character from `digits` hex digits at `at`.
    fn hex(&self, at: usize, digits: usize) -> Option<char> {
        let hex = self.text.get(at..at + digits)?;
        if !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let c = char::from_u32(u32::from_str_radix(hex, 16).ok()?)?;
        (!c.is_control()).then_some(c)
    }

    /// The value after the indicator at `ind` (a key's `:` or an entry's `-`) of a collection
    /// indented by `indent`: on the indicator's line, on the lines below, or an empty (null)
    /// one. Returns the node and the start of the line after it.
    fn value(
        &mut self,
        ind: usize,
        indent: usize,
        holder: Holder,
        depth: usize,
    ) -> Option<(NodeId, usize)> {
        if depth > MAX_DEPTH {
            return None;
        }
        let at = self.spaces(ind + 1);
        let mut anchor = None;
        let mut q = at;
        if self.at(q) == Some(b'&') {
            let end = self.name_end(q + 1);
            if end == q + 1 {
                return None;
            }
            anchor = Some((q, end));
            q = self.spaces(end);
            if q == end && !matches!(self.at(q), None | Some(b'\n')) {
                return None;
            }
        }
        match self.at(q) {
            None | Some(b'\n' | b'#') => {
                let below = self.next_line(q);
                match self.next_content(below)? {
                    Next::Line(ls, i) if i > indent && self.b[ls + i] == b'[' => {
                        let (id, end) = self.flow_sequence(ls + i, indent, anchor)?;
                        Some((id, self.rest_of_line(end)?))
                    }
                    Next::Line(ls, i) if i > indent => self.collection(ls, i, anchor, depth),
                    Next::Line(ls, i)
                        if i == indent
                            && holder == Holder::Map
                            && anchor.is_none()
                            && self.is_dash(ls + i) =>
                    {
                        let dash = ls + i;
                        let first = self.spaces(dash + 1);
                        if matches!(self.at(first), None | Some(b'\n' | b'#' | b'&')) {
                            return None;
                        }
                        self.sequence(dash, indent, Some(first), None, depth)
                    }
                    _ if anchor.is_some() => None,
                    _ => {
                        let at = match holder {
                            Holder::Map => ind,
                            Holder::Seq => self.line_end(q),
                        };
                        let id = self.push(plain("~"), at..at)?;
                        Some((id, below))
                    }
                }
            }
            Some(b'*') => {
                if anchor.is_some() {
                    return None;
                }
                let end = self.name_end(q + 1);
                if end == q + 1 {
                    return None;
                }
                let target = *self.anchors.get(&self.text[q + 1..end])?;
                let next = self.rest_of_line(end)?;
                let id = self.push(Kind::Alias { target }, q..end)?;
                Some((id, next))
            }
            Some(b'|' | b'>') => self.block_scalar(q, indent, anchor),
            Some(b'[') => {
                let (id, end) = self.flow_sequence(q, indent, anchor)?;
                Some((id, self.rest_of_line(end)?))
            }
            Some(b'{') => {
                if self.at(q + 1) != Some(b'}') {
                    return None;
                }
                let next = self.rest_of_line(q + 2)?;
                let id = self.push(
                    Kind::Map {
                        flow: true,
                        entries: Vec::new(),
                    },
                    q..q + 2,
                )?;
                self.anchor(id, anchor);
                Some((id, next))
            }
            Some(_) => match self.inline(q)? {
                (_, Stop::Colon) => {
                    // `- key: value`: a mapping in the entry, its keys where this one is.
                    if holder != Holder::Seq || anchor.is_some() {
                        return None;
                    }
                    let line_start = ind - indent;
                    self.mapping(q, q - line_start, None, depth)
                }
                (inline, Stop::Line) => {
                    let (id, end) = self.push_inline(inline)?;
                    self.anchor(id, anchor);
                    Some((id, self.rest_of_line(end)?))
                }
            },
        }
    }

    /// The end of an anchor or alias name starting at `at`.
    fn name_end(&self, mut at: usize) -> usize {
        while let Some(c) = self.at(at) {
            if matches!(c, b' ' | b'\n' | b',' | b'[' | b']' | b'{' | b'}') {
                break;
            }
            at += 1;
        }
        at
    }

    /// `|` or `>` at `at`, in a collection indented by `indent`.
    fn block_scalar(
        &mut self,
        at: usize,
        indent: usize,
        anchor: Option<(usize, usize)>,
    ) -> Option<(NodeId, usize)> {
        let literal = self.b[at] == b'|';
        let mut h = at + 1;
        let strip = match self.at(h) {
            Some(b'-') => {
                h += 1;
                true
            }
            Some(b'+' | b'0'..=b'9') => return None,
            _ => false,
        };
        if matches!(self.at(h), Some(b'0'..=b'9' | b'+' | b'-')) {
            return None;
        }
        let first_line = self.rest_of_line(h)?;
        let content_indent = self.spaces(first_line) - first_line;
        if matches!(self.at(first_line + content_indent), None | Some(b'\n'))
            || content_indent <= indent
        {
            return None;
        }
        let start = first_line + content_indent;
        let mut value = CompactString::default();
        let mut empty_lines = 0;
        let mut started = false;
        let mut last_spaced = false;
        let mut ls = first_line;
        let (end, next) = loop {
            if ls >= self.b.len() {
                break (self.b.len(), self.b.len());
            }
            let s = self.spaces(ls);
            let spaces = s - ls;
            match self.at(s) {
                None => {
                    if spaces > content_indent {
                        return None;
                    }
                    break (self.b.len(), self.b.len());
                }
                Some(b'\n') => {
                    if spaces > content_indent {
                        return None;
                    }
                    empty_lines += 1;
                    ls = s + 1;
                    continue;
                }
                Some(_) if spaces < content_indent => break (s, ls),
                Some(_) => {}
            }
            // Folding joins two lines that start with text by a space (by the empty lines
            // between them, if any); line breaks next to a more indented line are kept.
            let spaced = spaces > content_indent;
            let e = self.line_end(s);
            if started {
                let breaks = if literal || spaced || last_spaced {
                    1 + empty_lines
                } else {
                    empty_lines
                };
                if breaks == 0 {
                    value.push(' ');
                } else {
                    value.extend(std::iter::repeat_n('\n', breaks));
                }
            }
            last_spaced = spaced;
            value.push_str(&self.text[ls + content_indent..e]);
            started = true;
            empty_lines = 0;
            ls = (e + 1).min(self.b.len());
        };
        // Clipped, the last line ends with a line break, even at the end of the file (as in
        // the full parser).
        if !strip {
            value.push('\n');
        }
        let style = if literal {
            Style::Literal
        } else {
            Style::Folded
        };
        let id = self.push(Kind::Scalar { value, style }, start..end)?;
        self.anchor(id, anchor);
        Some((id, next))
    }

    /// `[…]` at `at`, of scalars and aliases, in a block collection indented by `indent`: the
    /// node and the position after `]`. Its lines after the first are indented more than the
    /// collection (`]` may be at its indentation), with no comments.
    fn flow_sequence(
        &mut self,
        at: usize,
        indent: usize,
        anchor: Option<(usize, usize)>,
    ) -> Option<(NodeId, usize)> {
        let id = self.open(
            Kind::Seq {
                flow: true,
                items: Vec::new(),
            },
            at,
            anchor,
        )?;
        let mut items = Vec::new();
        let mut i = self.flow_space(at + 1, indent)?;
        if self.at(i) != Some(b']') {
            loop {
                let (item, end) = self.flow_item(i)?;
                items.push(item);
                i = self.flow_space(end, indent)?;
                match self.at(i)? {
                    b',' => {
                        i = self.flow_space(i + 1, indent)?;
                        if self.at(i) == Some(b']') {
                            return None;
                        }
                    }
                    b']' => break,
                    _ => return None,
                }
            }
        }
        let node = &mut self.nodes[id];
        node.span.end = i + 1;
        node.kind = Kind::Seq { flow: true, items };
        Some((id, i + 1))
    }

    /// Past spaces and line breaks inside a flow sequence: the next character's position.
    fn flow_space(&self, at: usize, indent: usize) -> Option<usize> {
        let mut i = self.spaces(at);
        while self.at(i)? == b'\n' {
            let ls = i + 1;
            i = self.spaces(ls);
            match self.at(i)? {
                b'\n' => {}
                b']' if i - ls >= indent => {}
                b'#' => return None,
                _ if i - ls > indent => {}
                _ => return None,
            }
        }
        (self.at(i) != Some(b'#')).then_some(i)
    }

    /// One entry of a flow sequence: a quoted or plain scalar, or an alias.
    fn flow_item(&mut self, at: usize) -> Option<(NodeId, usize)> {
        match self.at(at)? {
            b'"' | b'\'' => {
                let (value, style, end) = self.quoted(at)?;
                Some((self.push(Kind::Scalar { value, style }, at..end)?, end))
            }
            b'*' => {
                let end = self.name_end(at + 1);
                if end == at + 1 {
                    return None;
                }
                let target = *self.anchors.get(&self.text[at + 1..end])?;
                Some((self.push(Kind::Alias { target }, at..end)?, end))
            }
            first => {
                let starts_ok = match first {
                    b'-' => self.flow_safe(at + 1),
                    b' ' | b'\n' => false,
                    c => !is_indicator(c),
                };
                if !starts_ok {
                    return None;
                }
                let mut i = at;
                while let Some(c) = self.at(i) {
                    match c {
                        b',' | b']' | b'\n' => break,
                        // `a: b` in a sequence is a mapping; `8080:80` a scalar
                        b':' if self.flow_safe(i + 1) => i += 1,
                        b'[' | b'{' | b'}' | b':' => return None,
                        b'#' if self.b[i - 1] == b' ' => return None,
                        _ => i += 1,
                    }
                }
                let mut end = i;
                while self.b[end - 1] == b' ' {
                    end -= 1;
                }
                Some((self.push(plain(&self.text[at..end]), at..end)?, end))
            }
        }
    }
}

/// YAML's indicator characters: none starts a plain scalar (`-`, `?` and `:` may, before a safe
/// character).
fn is_indicator(c: u8) -> bool {
    matches!(
        c,
        b'-' | b'?'
            | b':'
            | b','
            | b'['
            | b']'
            | b'{'
            | b'}'
            | b'#'
            | b'&'
            | b'*'
            | b'!'
            | b'|'
            | b'>'
            | b'\''
            | b'"'
            | b'%'
            | b'@'
            | b'`'
    )
}

fn plain(text: &str) -> Kind {
    Kind::Scalar {
        value: CompactString::from(text),
        style: Style::Plain,
    }
}

#[cfg(test)]
mod tests {
    use super::super::{Tree, parse_events};

    /// The fast path's tree, when it gives one, is the full parser's.
    fn same_as_full(text: &str) -> Result<bool, String> {
        let Some(fast) = super::parse(text, super::super::MAX_NODES) else {
            return Ok(false);
        };
        let full = parse_events(text, super::super::MAX_NODES);
        let parts = |t: &Tree| {
            (
                t.nodes.clone(),
                t.documents.clone(),
                t.comments.clone(),
                t.error.clone(),
            )
        };
        if parts(&fast) == parts(&full) {
            Ok(true)
        } else {
            let first = fast.nodes.iter().zip(&full.nodes).position(|(a, b)| a != b);
            Err(format!(
                "fast: {} nodes {:?}, full: {} nodes {:?}\nfirst differing node {first:?}: fast {:?}\nfull {:?}",
                fast.nodes.len(),
                fast.documents,
                full.nodes.len(),
                full.documents,
                first.map(|i| &fast.nodes[i]),
                first.map(|i| &full.nodes[i]),
            ))
        }
    }

    #[test]
    fn found_by_the_generator() {
        // A block scalar's last line at the end of the file still gets its line break.
        for text in ["k: >\n  true\n  -1}", "k: |\n  a\n\n  b"] {
            assert_eq!(same_as_full(text), Ok(true), "{text:?}");
        }
        // An alias inside an anchored collection names the collection, not an earlier anchor.
        for text in [
            "a: &x 1\nb: &x [*x]\n",
            "a: &x 1\nb: &x\n  [*x]\n",
            "a: &x 1\nb: &x\n  c: *x\n",
            "a: &x 1\nb: &x\n  - *x\n",
        ] {
            assert_eq!(same_as_full(text), Ok(true), "{text:?}");
        }
    }

    #[test]
    fn edge_cases_agree_or_give_up() {
        let cases = [
            "key : v\n",
            "'k' : v\n",
            "- a\n-  b\n",
            "a:    \n  b: 1\n",
            "a: &x\n  - 1\n",
            "a: 'x' # c\n",
            "a: [ ]\n",
            "a: [a , b ]\n",
            "a: [\n]\n",
            "a:\n  - b:\n    - c\n",
            "a: b\n\n\n",
            "a: |\n  x\n\n\n",
            "a: >-\n  x\n\n  y\n",
            "- - a\n",
            "a: b:\n",
            "a: -\n",
            "a: x\n  # c\nb: y\n",
            "  a: 1\n  b: 2\n",
            "a: 1\n ...\n",
            "a: 1\n---\n",
            "---\na: 1\n",
            "--- # c\na: 1\n",
            "a: \"\\u00e9\\x41\"\n",
            "a: 'it''s'\n",
            "a:\n- x\n- y\nb: 1\n",
            "a:\n  - x\n  -\n",
            "a: *x\n",
            "a: &x 1\nb: *x\n",
            "a: &x\n  b: 1\nc: *x\n",
            "a: {}\n",
            "a: {} # c\n",
            "a: [*x]\n",
            "x: &x 1\na: [*x, 2]\n",
            "a: :80\n",
            "a: ?x\n",
            "a: -1\n",
            "a: x#y\n",
            "a: x #y\n",
            "a: \"x\"\n  b: 1\n",
            "a: x\n    b\n",
            "a:\n  x\n",
            "a: 1\nb:\n",
        ];
        for text in cases {
            assert!(
                same_as_full(text).is_ok(),
                "{text:?}: {:?}",
                same_as_full(text)
            );
        }
    }

    #[test]
    fn odd_characters_are_left_to_the_full_parser() {
        assert!(super::ordinary_text("a: é中😀\n"));
        for odd in [
            "\t", "\r", "\u{0}", "\u{7f}", "\u{85}", "\u{9f}", "\u{2028}", "\u{2029}", "\u{feff}",
            "\u{fffe}", "\u{ffff}",
        ] {
            assert!(!super::ordinary_text(&format!("a: x{odd}y\n")), "{odd:?}");
        }
        assert!(!super::ordinary_text(
            "a: 1 # stowage: ignore[bind-mount]\n"
        ));
    }

    fn yaml_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            if p.is_dir() {
                yaml_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "yml" || x == "yaml") {
                out.push(p);
            }
        }
    }

    #[test]
    fn corpus_and_fixtures_parse_the_same() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        yaml_files(&root.join("fixtures"), &mut files);
        yaml_files(&root.join("../shared/corpus/files"), &mut files);
        let (mut fast, mut failures) = (0, Vec::new());
        for f in &files {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            match same_as_full(&text) {
                Ok(true) => fast += 1,
                Ok(false) => {}
                Err(e) => failures.push(format!("{}: {e}", f.display())),
            }
        }
        eprintln!("fast path: {fast} of {} files", files.len());
        assert!(
            failures.is_empty(),
            "{} differ:\n{}",
            failures.len(),
            failures[..failures.len().min(5)].join("\n\n")
        );
    }

    /// A small deterministic generator of compose-like YAML, with the constructs the fast path
    /// reads, the ones it gives up on, and random damage.
    struct Gen {
        state: u64,
        anchors: Vec<String>,
        out: String,
    }

    impl Gen {
        fn next(&mut self) -> u64 {
            // xorshift64*
            self.state ^= self.state >> 12;
            self.state ^= self.state << 25;
            self.state ^= self.state >> 27;
            self.state.wrapping_mul(0x2545_f491_4f6c_dd1d)
        }

        fn below(&mut self, n: usize) -> usize {
            (self.next() % n as u64) as usize
        }

        fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
            items[self.below(items.len())]
        }

        fn scalar(&mut self) -> String {
            const PLAIN: &[&str] = &[
                "x",
                "web",
                "8080:80",
                "./data:/var/lib/data:ro",
                "~",
                "null",
                "-1",
                "-c",
                ":9001",
                "?q=1",
                "a b",
                "a:b",
                "a#b",
                "é中😀",
                "${VAR:-x}",
                "true",
                "<<",
                "[x]",
                "x]",
                "--flag",
                "a ,b",
                "some long value with spaces",
            ];
            const QUOTED: &[&str] = &[
                "'it''s'",
                "''",
                "'a: b # c'",
                r#""x""#,
                r#""""#,
                r#""a\nb""#,
                r#""\x41\u00e9\U0001F600""#,
                r#""\\ \" \/""#,
                r#""a # b""#,
                r#""tab\tx""#,
                "'multi",
                r#""\q""#,
                r#""\x01""#,
                "\"a\\\n  b\"",
            ];
            if self.below(3) == 0 {
                // the last four are given up on
                let n = if self.below(10) == 0 {
                    QUOTED.len()
                } else {
                    QUOTED.len() - 4
                };
                QUOTED[self.below(n)].to_owned()
            } else {
                self.pick(PLAIN).to_owned()
            }
        }

        fn comment(&mut self) -> &'static str {
            ["", "", "", " # note", "  #c", "#x"][self.below(6)]
        }

        fn line(&mut self, indent: usize, text: &str) {
            self.out.push_str(&" ".repeat(indent));
            self.out.push_str(text);
            let comment = self.comment();
            self.out.push_str(comment);
            self.out.push('\n');
            match self.below(8) {
                0 => self.out.push('\n'),
                1 => {
                    let extra = " ".repeat(self.below(6));
                    self.out.push_str(&extra);
                    self.out.push_str("# between\n");
                }
                _ => {}
            }
        }

        fn properties(&mut self) -> String {
            match self.below(30) {
                0..=3 => {
                    let name = format!("a{}", self.below(4));
                    self.anchors.push(name.clone());
                    format!("&{name} ")
                }
                4 => "!reset ".to_owned(),
                _ => String::new(),
            }
        }

        fn inline_value(&mut self) -> Option<String> {
            let props = self.properties();
            Some(match self.below(20) {
                0 if !self.anchors.is_empty() && props.is_empty() => {
                    let i = self.below(self.anchors.len());
                    format!("*{}", self.anchors[i])
                }
                1..=3 => {
                    let n = self.below(4);
                    let items: Vec<String> = (0..n).map(|_| self.scalar()).collect();
                    let sep = [", ", ",", " , ", ",\n      "][self.below(4)];
                    format!("{props}[{}]", items.join(sep))
                }
                4 => format!("{props}{{}}"),
                5 => format!("{props}{{a: b}}"),
                _ => format!("{props}{}", self.scalar()),
            })
        }

        fn block_scalar(&mut self, indent: usize) -> String {
            let header = if self.below(10) == 0 {
                ["|+", "|2", ">\n"][self.below(3)]
            } else {
                ["|", "|-", ">", ">-", "| # c"][self.below(5)]
            };
            let mut text = format!("{header}\n");
            let inner = indent + 1 + self.below(3);
            for _ in 0..1 + self.below(4) {
                match self.below(20) {
                    0..=2 => text.push('\n'),
                    3..=5 => text.push_str(&format!("{}  more indented\n", " ".repeat(inner))),
                    6 => text.push_str(&format!("{}  \n", " ".repeat(inner))),
                    7 => text.push_str(&format!("{} \n", " ".repeat(indent))),
                    _ => text.push_str(&format!("{}{}\n", " ".repeat(inner), self.scalar())),
                }
            }
            text
        }

        fn mapping(&mut self, indent: usize, depth: usize) {
            for _ in 0..1 + self.below(4) {
                let key = match self.below(8) {
                    0 => "\"quoted key\"".to_owned(),
                    1 => "'k'".to_owned(),
                    2 => "<<".to_owned(),
                    _ => format!("key{}", self.below(5)),
                };
                self.entry(&format!("{key}:"), indent, depth, true);
            }
        }

        fn sequence(&mut self, indent: usize, depth: usize) {
            for _ in 0..1 + self.below(4) {
                self.entry("-", indent, depth, false);
            }
        }

        fn entry(&mut self, lead: &str, indent: usize, depth: usize, in_map: bool) {
            let step = 1 + self.below(4);
            match self.below(if depth > 3 { 4 } else { 9 }) {
                0 => self.line(indent, lead),
                1..=3 => {
                    let v = self.inline_value().unwrap_or_default();
                    self.line(indent, &format!("{lead} {v}"));
                }
                4 => {
                    let b = self.block_scalar(indent);
                    self.out.push_str(&" ".repeat(indent));
                    self.out.push_str(&format!("{lead} {b}"));
                }
                5 | 6 => {
                    let props = self.properties();
                    self.line(indent, format!("{lead} {props}").trim_end());
                    self.mapping(indent + step, depth + 1);
                }
                7 if !in_map => {
                    // `- key: value` and the keys under it
                    self.out.push_str(&" ".repeat(indent));
                    self.out.push_str("- ");
                    let start = self.out.len();
                    self.mapping(indent + 2, depth + 1);
                    let first_line = self.out[start..].trim_start().to_owned();
                    self.out.truncate(start);
                    self.out.push_str(&first_line);
                }
                _ => {
                    let props = self.properties();
                    self.line(indent, format!("{lead} {props}").trim_end());
                    let at = if in_map && self.below(2) == 0 {
                        indent
                    } else {
                        indent + step
                    };
                    self.sequence(at, depth + 1);
                }
            }
        }

        fn damage(&mut self) {
            const BITS: &[&str] = &[
                " ", "\n", ":", "-", "#", "[", "]", "{", "}", ",", "&", "*", "|", ">", "'", "\"",
                "\\", "x", "!", "?", "  ", "\t", "\r", "---\n", "...\n", "é",
            ];
            for _ in 0..self.below(3) {
                let mut at = self.below(self.out.len() + 1);
                while !self.out.is_char_boundary(at) {
                    at -= 1;
                }
                match self.below(3) {
                    0 => {
                        let bit = self.pick(BITS);
                        self.out.insert_str(at, bit);
                    }
                    1 if at < self.out.len() => {
                        self.out.remove(at);
                    }
                    _ => {
                        let bit = self.pick(BITS);
                        self.out.insert_str(at, bit);
                        if at + bit.len() < self.out.len() {
                            self.out.remove(at + bit.len());
                        }
                    }
                }
            }
        }
    }

    fn generate(seed: u64) -> String {
        let mut g = Gen {
            state: seed | 1,
            anchors: Vec::new(),
            out: String::new(),
        };
        if g.below(6) == 0 {
            g.out.push_str("# head\n---\n");
        }
        if g.below(5) == 0 {
            g.sequence(0, 0);
        } else {
            g.mapping(0, 0);
        }
        if g.below(4) == 0 {
            g.damage();
        }
        if g.below(8) == 0 {
            g.out.pop();
        }
        g.out
    }

    proptest::proptest! {
        #![proptest_config(proptest::test_runner::Config {
            cases: 20_000,
            failure_persistence: None,
            ..Default::default()
        })]
        #[test]
        fn generated_documents_parse_the_same(seed: u64) {
            let text = generate(seed);
            if let Err(e) = same_as_full(&text) {
                proptest::prop_assert!(false, "{text:?}\n{text}\n{e}");
            }
        }
    }

    #[test]
    fn the_generator_reaches_the_fast_path() {
        let fast = (0..2000u64)
            .filter(|&seed| super::parse(&generate(seed), super::super::MAX_NODES).is_some())
            .count();
        // Most of the others are damaged beyond what YAML allows.
        assert!(
            fast > 300,
            "only {fast} of 2000 generated documents took the fast path"
        );
    }
}
