//! YAML-aware edits that read like a human's: same quoting style, same indentation, same block
//! or flow style, same line endings, trailing comments kept. Rules build fixes with these instead
//! of offset arithmetic. Every helper refuses (returns `None`) rather than guess: block scalars,
//! `!reset` nodes, shapes it does not understand.

use serde::Serialize;

use crate::yaml::source::SourceFile;
use crate::yaml::syntax::{Kind, NodeId, Style, Tree};
use crate::yaml::value::Loc;

/// Replace the bytes `start..end` of a file with `content`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Edit {
    pub start: usize,
    pub end: usize,
    pub content: String,
}

/// One file's text and tree.
#[derive(Clone, Copy)]
pub(crate) struct View<'a> {
    pub(crate) source: &'a SourceFile,
    pub(crate) tree: &'a Tree,
}

impl<'a> View<'a> {
    pub(crate) fn text(&self) -> &'a str {
        &self.source.text
    }

    /// The line ending the file uses (CRLF when its first line break is one).
    pub(crate) fn eol(&self) -> &'static str {
        match self.text().find('\n') {
            Some(i) if i > 0 && self.text().as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        }
    }

    /// The node whose content is exactly `loc` (the place a value was written).
    pub(crate) fn node_at(&self, loc: Loc) -> Option<NodeId> {
        self.tree.node_with_span(loc.start, loc.end)
    }

    /// Byte offset of the start of the line holding `offset`; the first line starts after a
    /// BOM, which is neither indentation nor a column.
    fn line_start(&self, offset: usize) -> usize {
        self.text()[..offset].rfind('\n').map_or_else(
            || {
                if self.text().starts_with('\u{feff}') && offset >= 3 {
                    3
                } else {
                    0
                }
            },
            |i| i + 1,
        )
    }

    /// End of the line holding `offset`, before its line break (after any trailing comment).
    fn line_end(&self, offset: usize) -> usize {
        let text = self.text();
        let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
        if end > offset && text.as_bytes()[end - 1] == b'\r' {
            end - 1
        } else {
            end
        }
    }

    /// Column (in bytes) of `offset` within its line.
    fn column(&self, offset: usize) -> usize {
        offset - self.line_start(offset)
    }

    /// The end of a node's content with trailing whitespace trimmed (block scalars run on).
    fn content_end(&self, id: NodeId) -> usize {
        let span = &self.tree.nodes[id].span;
        let text = &self.text()[span.start..span.end.min(self.text().len())];
        span.start + text.trim_end().len()
    }

    /// The indentation unit of the file: how far nested block mappings are indented (default 2).
    pub(crate) fn indent_unit(&self) -> usize {
        for node in &self.tree.nodes {
            if let Kind::Map {
                flow: false,
                entries,
            } = &node.kind
            {
                for (k, v) in entries {
                    if let Kind::Map {
                        flow: false,
                        entries: inner,
                    } = &self.tree.nodes[*v].kind
                        && let Some((ik, _)) = inner.first()
                    {
                        let outer = self.column(self.tree.nodes[*k].span.start);
                        let inner_col = self.column(self.tree.nodes[*ik].span.start);
                        if inner_col > outer {
                            return inner_col - outer;
                        }
                    }
                }
            }
        }
        2
    }

    fn is_reset(&self, id: NodeId) -> bool {
        self.tree.nodes[id]
            .tag
            .as_ref()
            .is_some_and(|t| t.name == "!reset" || t.name == "!override")
    }

    /// Whether `offset` lies inside a block scalar or a `!reset` node. A block scalar's span
    /// runs on through trailing blank lines; they belong to its value only with keep chomping
    /// (`|+`), so text may be inserted right after its last content line otherwise.
    pub(crate) fn is_protected(&self, offset: usize) -> bool {
        // Only tagged nodes and block scalars can be protected (indexed once per tree).
        self.tree.tagged_or_block().iter().any(|&id| {
            let n = &self.tree.nodes[id];
            let end = match &n.kind {
                Kind::Scalar {
                    style: Style::Literal | Style::Folded,
                    value,
                } if !value.ends_with("\n\n") => self.content_end(id),
                Kind::Scalar {
                    style: Style::Literal | Style::Folded,
                    ..
                } => n.span.end,
                _ if n.tag.as_ref().is_some_and(|t| t.name == "!reset") => n.span.end,
                _ => return false,
            };
            n.span.start <= offset && offset < end
        })
    }

    /// `edits`, unless one of them starts inside a protected node.
    fn guard(&self, edits: Vec<Edit>) -> Option<Vec<Edit>> {
        (!edits.iter().any(|e| self.is_protected(e.start))).then_some(edits)
    }

    fn guard_one(&self, edit: Edit) -> Option<Edit> {
        self.guard(vec![edit]).and_then(|mut v| v.pop())
    }
}

/// Writes `value` as a scalar in `style` when that reads back as the same string, else the
/// nearest style that does (plain → double quotes; inside flow collections plain text may not
/// contain `,[]{}`).
pub fn render_scalar(value: &str, style: Style, in_flow: bool) -> String {
    match style {
        // Single quotes cannot escape: a line break would fold into a space, and a control
        // character cannot be written at all.
        Style::SingleQuoted if value.chars().all(inline_printable) => {
            format!("'{}'", value.replace('\'', "''"))
        }
        Style::DoubleQuoted => double_quoted(value),
        Style::Plain if plain_safe(value, in_flow) => value.to_owned(),
        _ => double_quoted(value),
    }
}

fn double_quoted(value: &str) -> String {
    let mut out = String::from("\"");
    for c in value.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Whether `c` can be written as it is inside a one-line scalar: a tab, or a printable
/// character that is not a line break.
fn inline_printable(c: char) -> bool {
    c == '\t' || !(c.is_control() || matches!(c, '\u{feff}' | '\u{fffe}' | '\u{ffff}'))
}

/// Whether `value` written plainly parses back as the same string.
pub(crate) fn plain_safe(value: &str, in_flow: bool) -> bool {
    let Some(first) = value.chars().next() else {
        return false;
    };
    if !value.chars().all(inline_printable) {
        return false;
    }
    // A tab separates like a space does.
    if value != value.trim()
        || value.contains(": ")
        || value.contains(":\t")
        || value.contains(" #")
        || value.contains("\t#")
        || value.ends_with(':')
        || value.contains('\n')
    {
        return false;
    }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) && !(first == '-' || first == '?' || first == ':') {
        return false;
    }
    if matches!(first, '-' | '?' | ':')
        && value[1..]
            .chars()
            .next()
            .is_none_or(|c| c == ' ' || c == '\t')
    {
        return false;
    }
    if in_flow && value.contains([',', '[', ']', '{', '}']) {
        return false;
    }
    // Values that would be read as something other than a string.
    // go-yaml reads numbers with `_` in them, signs, `0x`/`0o`/`0b` prefixes and `.inf`/`.nan`.
    let lower = value.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    let special = matches!(
        lower.as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
    ) || matches!(unsigned, ".inf" | ".nan")
        || lower.replace('_', "").parse::<f64>().is_ok()
        || ["0x", "0o", "0b"].iter().any(|p| unsigned.starts_with(p));
    !special
}

/// Replaces a scalar's content, keeping its quoting style. Refuses block scalars and tagged ones.
pub(crate) fn replace_scalar(view: View, node: NodeId, new_value: &str) -> Option<Edit> {
    // Every edit is checked where it lands: never inside a block scalar or a `!reset`.
    view.guard_one(replace_scalar_unguarded(view, node, new_value)?)
}

fn replace_scalar_unguarded(view: View, node: NodeId, new_value: &str) -> Option<Edit> {
    let n = &view.tree.nodes[node];
    let Kind::Scalar { style, .. } = &n.kind else {
        return None;
    };
    if matches!(style, Style::Literal | Style::Folded) || view.is_protected(n.span.start) {
        return None;
    }
    let in_flow = in_flow_collection(view, node);
    let content = render_scalar(new_value, *style, in_flow);
    if n.span.is_empty() {
        // An empty value (`source:`) sits at its key's `:`; the new one goes after it.
        if view.text().as_bytes().get(n.span.start) != Some(&b':') {
            return None;
        }
        let after = n.span.start + 1;
        return Some(match view.text().as_bytes().get(after) {
            Some(b' ') => Edit {
                start: after + 1,
                end: after + 1,
                content,
            },
            _ => Edit {
                start: after,
                end: after,
                content: format!(" {content}"),
            },
        });
    }
    Some(Edit {
        start: n.span.start,
        end: n.span.end,
        content,
    })
}

fn parent_of(view: View, node: NodeId) -> Option<NodeId> {
    view.tree.parent(node)
}

fn in_flow_collection(view: View, node: NodeId) -> bool {
    parent_of(view, node).is_some_and(|p| {
        matches!(
            view.tree.nodes[p].kind,
            Kind::Seq { flow: true, .. } | Kind::Map { flow: true, .. }
        )
    })
}

/// Appends items to a sequence, block or flow, in one edit (several inserts at one point could
/// run together: `[]` + `a` + `b` is `[ab]`). Items are values, rendered plain when that reads
/// back, quoted otherwise (in a flow sequence plain text may not hold `,[]{}`).
pub(crate) fn append_seq_items(view: View, seq: NodeId, items: &[String]) -> Option<Edit> {
    // Every edit is checked where it lands: never inside a block scalar or a `!reset`.
    view.guard_one(append_seq_items_unguarded(view, seq, items)?)
}

fn append_seq_items_unguarded(view: View, seq: NodeId, items: &[String]) -> Option<Edit> {
    let n = &view.tree.nodes[seq];
    if items.is_empty() || view.is_reset(seq) || view.is_protected(n.span.start) {
        return None;
    }
    let Kind::Seq {
        flow,
        items: existing,
    } = &n.kind
    else {
        return None;
    };
    if *flow {
        let close = n.span.end.checked_sub(1)?;
        if view.text().as_bytes().get(close) != Some(&b']') {
            return None;
        }
        let rendered = items
            .iter()
            .map(|i| render_scalar(i, Style::Plain, true))
            .collect::<Vec<_>>()
            .join(", ");
        // Insert right after the last item so a trailing `,` or a line break before `]` stays.
        return Some(match existing.last() {
            Some(&last) => Edit {
                start: view.content_end(last),
                end: view.content_end(last),
                content: format!(", {rendered}"),
            },
            None => Edit {
                start: close,
                end: close,
                content: rendered,
            },
        });
    }
    let &last = existing.last()?;
    let first = view.tree.nodes[*existing.first()?].span.start;
    let dash = view.text()[..first].rfind('-')?;
    let indent = &view.text()[view.line_start(dash)..dash];
    if !indent.chars().all(|c| c == ' ') {
        return None;
    }
    let at = view.line_end(view.content_end(last));
    let eol = view.eol();
    Some(Edit {
        start: at,
        end: at,
        content: items
            .iter()
            .map(|i| format!("{eol}{indent}- {}", render_scalar(i, Style::Plain, false)))
            .collect(),
    })
}

/// Adds `key:` with a sequence holding `items` (values, rendered as in [`append_seq_items`]) to a
/// mapping: a block sequence under a block mapping, `key: [a, b]` in a flow mapping (a service
/// without `volumes:`).
pub(crate) fn add_seq_key(view: View, map: NodeId, key: &str, items: &[String]) -> Option<Edit> {
    // Every edit is checked where it lands: never inside a block scalar or a `!reset`.
    view.guard_one(add_seq_key_unguarded(view, map, key, items)?)
}

fn add_seq_key_unguarded(view: View, map: NodeId, key: &str, items: &[String]) -> Option<Edit> {
    let n = &view.tree.nodes[map];
    if items.is_empty() || view.is_reset(map) || view.is_protected(n.span.start) {
        return None;
    }
    let Kind::Map { flow, entries } = &n.kind else {
        return None;
    };
    if *flow {
        let close = n.span.end.checked_sub(1)?;
        if view.text().as_bytes().get(close) != Some(&b'}') {
            return None;
        }
        let sep = if entries.is_empty() { "" } else { ", " };
        let at = entries.last().map_or(close, |(k, v)| {
            view.content_end(*v).max(view.tree.nodes[*k].span.end)
        });
        let rendered = items
            .iter()
            .map(|i| render_scalar(i, Style::Plain, true))
            .collect::<Vec<_>>()
            .join(", ");
        return Some(Edit {
            start: at,
            end: at,
            content: format!("{sep}{key}: [{rendered}]"),
        });
    }
    let (first_key, _) = entries.first()?;
    let col = view.column(view.tree.nodes[*first_key].span.start);
    let indent = &view.text()[view.line_start(view.tree.nodes[*first_key].span.start)
        ..view.tree.nodes[*first_key].span.start];
    if !indent.chars().all(|c| c == ' ') {
        return None;
    }
    let (_, last_value) = entries.last()?;
    let at = view.line_end(
        view.content_end(*last_value)
            .max(view.tree.nodes[entries.last()?.0].span.end),
    );
    let eol = view.eol();
    let unit = view.indent_unit();
    let item_indent = " ".repeat(col + unit);
    let mut content = format!("{eol}{indent}{key}:");
    for i in items {
        content.push_str(&format!(
            "{eol}{item_indent}- {}",
            render_scalar(i, Style::Plain, false)
        ));
    }
    Some(Edit {
        start: at,
        end: at,
        content,
    })
}

/// Adds `key: value` (a scalar, already rendered) to a mapping, block or flow, after its last entry.
pub(crate) fn append_map_entry(view: View, map: NodeId, key: &str, value: &str) -> Option<Edit> {
    // Every edit is checked where it lands: never inside a block scalar or a `!reset`.
    view.guard_one(append_map_entry_unguarded(view, map, key, value)?)
}

fn append_map_entry_unguarded(view: View, map: NodeId, key: &str, value: &str) -> Option<Edit> {
    let n = &view.tree.nodes[map];
    if view.is_reset(map) || view.is_protected(n.span.start) {
        return None;
    }
    let Kind::Map { flow, entries } = &n.kind else {
        return None;
    };
    let (last_key, last_value) = *entries.last()?;
    let end = view
        .content_end(last_value)
        .max(view.tree.nodes[last_key].span.end);
    if *flow {
        return Some(Edit {
            start: end,
            end,
            content: format!(", {key}: {value}"),
        });
    }
    let (first_key, _) = entries.first()?;
    let start = view.tree.nodes[*first_key].span.start;
    let prefix = &view.text()[view.line_start(start)..start];
    // Entries of a mapping that is a sequence item start after `- `; the next ones align with it.
    let indent: String = prefix
        .chars()
        .map(|c| if c == '-' { ' ' } else { c })
        .collect();
    if !indent.chars().all(|c| c == ' ') {
        return None;
    }
    let at = view.line_end(end);
    Some(Edit {
        start: at,
        end: at,
        content: format!("{}{indent}{key}: {value}", view.eol()),
    })
}

/// A top-level volume to declare: a bare `name:`, or a local volume bound to a host directory
/// (`--binds keep-path`: the data stays where it is).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Declaration {
    pub(crate) name: String,
    pub(crate) bind_device: Option<String>,
}

impl Declaration {
    /// The name as a key: plain unless YAML would read it as something else (`true`, `1`).
    fn key(&self, in_flow: bool) -> String {
        render_scalar(&self.name, Style::Plain, in_flow)
    }

    /// The entry in block style, each line preceded by `eol` and indented by `indent`.
    fn block(&self, eol: &str, indent: &str, unit: &str) -> String {
        let mut out = format!("{eol}{indent}{}:", self.key(false));
        if let Some(device) = &self.bind_device {
            let device = render_scalar(device, Style::Plain, false);
            for (depth, line) in [
                (1, "driver: local".to_owned()),
                (1, "driver_opts:".into()),
                (2, "type: none".into()),
                (2, "o: bind".into()),
                (2, format!("device: {device}")),
            ] {
                out.push_str(&format!("{eol}{indent}{}{line}", unit.repeat(depth)));
            }
        }
        out
    }

    fn flow(&self) -> String {
        match &self.bind_device {
            None => format!("{}: {{}}", self.key(true)),
            Some(device) => format!(
                "{}: {{driver: local, driver_opts: {{type: none, o: bind, device: {}}}}}",
                self.key(true),
                render_scalar(device, Style::Plain, true)
            ),
        }
    }
}

/// Declares top-level named volumes in the document that holds `offset`: extends an existing
/// `volumes:` (block, flow, empty, null) or adds one. Names YAML would read as something else
/// (`true`, `1`) are quoted. Refuses to add a `volumes:` key to a document that merges (`<<`)
/// mappings into its top level: the new key would replace the volumes merged in.
pub(crate) fn declare_volumes(
    view: View,
    offset: usize,
    decls: &[Declaration],
) -> Option<Vec<Edit>> {
    // Every edit is checked where it lands: never inside a block scalar or a `!reset`.
    view.guard(declare_volumes_unguarded(view, offset, decls)?)
}

fn declare_volumes_unguarded(
    view: View,
    offset: usize,
    decls: &[Declaration],
) -> Option<Vec<Edit>> {
    if decls.is_empty() {
        return Some(Vec::new());
    }
    let doc = view
        .tree
        .documents
        .iter()
        .find(|d| d.span.start <= offset && offset <= d.span.end.max(d.span.start))?;
    let root = doc.root?;
    let Kind::Map {
        flow: false,
        entries,
    } = &view.tree.nodes[root].kind
    else {
        return None;
    };
    let eol = view.eol();
    let unit = " ".repeat(view.indent_unit());
    let existing = entries
        .iter()
        .find(|(k, _)| view.tree.scalar(*k) == Some("volumes"));
    let Some(&(key, value)) = existing else {
        if entries
            .iter()
            .any(|(k, _)| view.tree.scalar(*k) == Some("<<"))
        {
            return None;
        }
        // No top-level `volumes:`: append one at the end of this document.
        let (_, last_value) = entries.last()?;
        let (last_key, _) = entries.last()?;
        let end = view.line_end(
            view.content_end(*last_value)
                .max(view.tree.nodes[*last_key].span.end),
        );
        let at = end;
        let mut content = String::new();
        // Keep the file's habit of separating top-level sections with a blank line.
        if separates_sections(view, entries) {
            content.push_str(eol);
        }
        content.push_str(eol);
        content.push_str("volumes:");
        for d in decls {
            content.push_str(&d.block(eol, &unit, &unit));
        }
        return Some(vec![Edit {
            start: at,
            end: at,
            content,
        }]);
    };
    let v = &view.tree.nodes[value];
    if view.is_reset(value) {
        return None;
    }
    match &v.kind {
        Kind::Map {
            flow: false,
            entries: vols,
        } if !vols.is_empty() => {
            let (first, _) = vols.first()?;
            let start = view.tree.nodes[*first].span.start;
            let indent = &view.text()[view.line_start(start)..start];
            if !indent.chars().all(|c| c == ' ') {
                return None;
            }
            let (last_key, last_value) = vols.last()?;
            let at = view.line_end(
                view.content_end(*last_value)
                    .max(view.tree.nodes[*last_key].span.end),
            );
            let content: String = decls.iter().map(|d| d.block(eol, indent, &unit)).collect();
            Some(vec![Edit {
                start: at,
                end: at,
                content,
            }])
        }
        Kind::Map {
            flow: true,
            entries: vols,
        } => {
            let close = v.span.end.checked_sub(1)?;
            if view.text().as_bytes().get(close) != Some(&b'}') {
                return None;
            }
            let rendered: Vec<String> = decls.iter().map(Declaration::flow).collect();
            Some(vec![match vols.last() {
                Some((_, last)) => {
                    let at = view.content_end(*last);
                    Edit {
                        start: at,
                        end: at,
                        content: format!(", {}", rendered.join(", ")),
                    }
                }
                None => Edit {
                    start: close,
                    end: close,
                    content: rendered.join(", "),
                },
            }])
        }
        Kind::Scalar {
            value: text,
            style: Style::Plain,
        } if crate::yaml::syntax::is_null_text(text) => {
            let key_col = view.column(view.tree.nodes[key].span.start);
            let indent = " ".repeat(key_col) + &unit;
            let body: String = decls.iter().map(|d| d.block(eol, &indent, &unit)).collect();
            if v.span.start == v.span.end || text.is_empty() {
                // `volumes:` with nothing after it (maybe a comment): add below the key's line.
                let at = view.line_end(view.tree.nodes[key].span.end);
                Some(vec![Edit {
                    start: at,
                    end: at,
                    content: body,
                }])
            } else {
                // `volumes: ~` / `volumes: null`: the null goes, the entries follow the colon.
                let colon = view.text()[view.tree.nodes[key].span.end..v.span.start].find(':')?
                    + view.tree.nodes[key].span.end;
                let at = view.line_end(v.span.end);
                if at == v.span.end {
                    return Some(vec![Edit {
                        start: colon + 1,
                        end: v.span.end,
                        content: body,
                    }]);
                }
                // A trailing comment stays on the `volumes:` line, above the new entries.
                Some(vec![
                    Edit {
                        start: colon + 1,
                        end: v.span.end,
                        content: String::new(),
                    },
                    Edit {
                        start: at,
                        end: at,
                        content: body,
                    },
                ])
            }
        }
        _ => None,
    }
}

/// Whether the document's top-level entries are separated by blank lines.
fn separates_sections(view: View, entries: &[(NodeId, NodeId)]) -> bool {
    entries.iter().skip(1).any(|(k, _)| {
        let start = view.line_start(view.tree.nodes[*k].span.start);
        start > 0
            && view.text()[view.line_start(start - 1)..start]
                .trim()
                .is_empty()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::syntax;

    fn apply(text: &str, edits: &[Edit]) -> String {
        let mut out = text.to_owned();
        let mut edits = edits.to_vec();
        edits.sort_by_key(|e| std::cmp::Reverse(e.start));
        for e in edits {
            out.replace_range(e.start..e.end, &e.content);
        }
        out
    }

    fn with_view<T>(text: &str, f: impl FnOnce(View) -> T) -> T {
        let source = SourceFile::new("c.yaml", "/c.yaml", text);
        let tree = syntax::parse(text);
        assert!(tree.error.is_none(), "{:?}", tree.error);
        f(View {
            source: &source,
            tree: &tree,
        })
    }

    fn declare(text: &str, names: &[&str]) -> Option<String> {
        with_view(text, |v| {
            let decls: Vec<Declaration> = names
                .iter()
                .map(|s| Declaration {
                    name: (*s).to_owned(),
                    bind_device: None,
                })
                .collect();
            let first = if text.starts_with('\u{feff}') { 3 } else { 0 };
            declare_volumes(v, first, &decls).map(|e| apply(text, &e))
        })
    }

    #[test]
    fn declares_in_every_shape() {
        assert_eq!(
            declare("services:\n  a:\n    image: x\n", &["data"]).unwrap(),
            "services:\n  a:\n    image: x\nvolumes:\n  data:\n"
        );
        assert_eq!(
            declare("services:\n  a:\n    image: x", &["data"]).unwrap(),
            "services:\n  a:\n    image: x\nvolumes:\n  data:"
        );
        assert_eq!(
            declare("services:\n  a:\n    image: x\n\nnetworks:\n  n:\n", &["d"]).unwrap(),
            "services:\n  a:\n    image: x\n\nnetworks:\n  n:\n\nvolumes:\n  d:\n"
        );
        assert_eq!(
            declare("services: {}\nvolumes:\n    old:   # keep\n", &["d"]).unwrap(),
            "services: {}\nvolumes:\n    old:   # keep\n    d:\n"
        );
        assert_eq!(
            declare("services: {}\nvolumes: {}\n", &["d"]).unwrap(),
            "services: {}\nvolumes: {d: {}}\n"
        );
        assert_eq!(
            declare("services: {}\nvolumes: {a: {}}\n", &["d"]).unwrap(),
            "services: {}\nvolumes: {a: {}, d: {}}\n"
        );
        assert_eq!(
            declare("services: {}\nvolumes:\n", &["d"]).unwrap(),
            "services: {}\nvolumes:\n  d:\n"
        );
        assert_eq!(
            declare("services: {}\nvolumes: ~\n", &["d"]).unwrap(),
            "services: {}\nvolumes:\n  d:\n"
        );
        assert_eq!(
            declare("services: {}\nvolumes: null   # none yet\n", &["d"]).unwrap(),
            "services: {}\nvolumes:   # none yet\n  d:\n"
        );
        assert_eq!(
            declare("services: {}\r\nvolumes:\r\n  a:\r\n", &["d", "e"]).unwrap(),
            "services: {}\r\nvolumes:\r\n  a:\r\n  d:\r\n  e:\r\n"
        );
        assert!(declare("services: {}\nvolumes: !reset {}\n", &["d"]).is_none());
        assert_eq!(
            declare("x: &x\n  y: 1\nservices: {}\n---\nservices: {}\n", &["d"]).unwrap(),
            "x: &x\n  y: 1\nservices: {}\nvolumes:\n  d:\n---\nservices: {}\n"
        );
        let with_device = with_view("services: {}\n", |v| {
            let d = Declaration {
                name: "web-data".into(),
                bind_device: Some("/srv/web data".into()),
            };
            apply("services: {}\n", &declare_volumes(v, 0, &[d]).unwrap())
        });
        assert_eq!(
            with_device,
            "services: {}\nvolumes:\n  web-data:\n    driver: local\n    driver_opts:\n      type: none\n      o: bind\n      device: /srv/web data\n"
        );
    }

    #[test]
    fn a_bom_is_not_indentation() {
        // The first key's column is 0, so the unit is 4, not 4 minus the BOM's 3 bytes.
        let text = "\u{feff}x:\n    y: 1\nservices: {}\n";
        assert_eq!(
            declare(text, &["d"]).unwrap(),
            format!("{text}volumes:\n    d:\n")
        );
        let text = "\u{feff}volumes:\n  a:\nservices: {}\n";
        assert_eq!(
            declare(text, &["d"]).unwrap(),
            "\u{feff}volumes:\n  a:\n  d:\nservices: {}\n"
        );
    }

    #[test]
    fn quotes_names_yaml_would_read_as_something_else() {
        assert_eq!(
            declare("services: {}\n", &["true", "1", "null", "ok"]).unwrap(),
            "services: {}\nvolumes:\n  \"true\":\n  \"1\":\n  \"null\":\n  ok:\n"
        );
        assert_eq!(
            declare("services: {}\nvolumes: {a: {}}\n", &["no"]).unwrap(),
            "services: {}\nvolumes: {a: {}, \"no\": {}}\n"
        );
        let fixed = declare("services: {}\n", &["yes", "1.5"]).unwrap();
        let tree = syntax::parse(&fixed);
        let keys: Vec<&str> = tree
            .nodes
            .iter()
            .filter_map(|n| match &n.kind {
                Kind::Scalar { value, style } if *style != Style::Plain => Some(value.as_str()),
                _ => None,
            })
            .collect();
        assert_eq!(keys, ["yes", "1.5"]);
    }

    #[test]
    fn never_adds_a_volumes_key_that_would_replace_merged_ones() {
        let merged = "x-base: &base\n  volumes:\n    old: {}\n<<: *base\nservices: {}\n";
        assert!(declare(merged, &["d"]).is_none());
        // An own `volumes:` already replaces the merged one: extending it changes nothing else.
        let own = "x-base: &base\n  networks: {}\n<<: *base\nservices: {}\nvolumes:\n  a:\n";
        assert_eq!(declare(own, &["d"]).unwrap(), format!("{own}  d:\n"));
    }

    #[test]
    fn replaces_scalars_in_their_style() {
        let text =
            "services:\n  a:\n    volumes:\n      - '/data'\n      - \"/x\"\n      - /y   # c\n";
        with_view(text, |v| {
            let ids: Vec<NodeId> = v.tree.nodes.iter().enumerate().filter(|(_, n)| matches!(&n.kind, Kind::Scalar { value, .. } if value.starts_with('/'))).map(|(i, _)| i).collect();
            let edits: Vec<Edit> = ids
                .iter()
                .map(|&i| replace_scalar(v, i, "a-data:/data").unwrap())
                .collect();
            assert_eq!(
                apply(text, &edits),
                "services:\n  a:\n    volumes:\n      - 'a-data:/data'\n      - \"a-data:/data\"\n      - a-data:/data   # c\n"
            );
        });
    }

    #[test]
    fn appends_items_block_and_flow() {
        let text =
            "services:\n  a:\n    volumes:\n      - ./x:/x # c\n  b:\n    volumes: [./y:/y]\n";
        with_view(text, |v| {
            let seqs: Vec<NodeId> = v
                .tree
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| matches!(n.kind, Kind::Seq { .. }))
                .map(|(i, _)| i)
                .collect();
            let edits = vec![
                append_seq_items(v, seqs[0], &["d:/d".into()]).unwrap(),
                append_seq_items(v, seqs[1], &["e:/e".into(), "f,g:/f".into()]).unwrap(),
            ];
            assert_eq!(
                apply(text, &edits),
                "services:\n  a:\n    volumes:\n      - ./x:/x # c\n      - d:/d\n  b:\n    volumes: [./y:/y, e:/e, \"f,g:/f\"]\n"
            );
        });
    }

    #[test]
    fn adds_a_volumes_key_to_a_service() {
        let text = "services:\n  db:\n    image: postgres:16\n    environment:\n      A: b\n";
        with_view(text, |v| {
            let db = v
                .tree
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| matches!(n.kind, Kind::Map { .. }))
                .map(|(i, _)| i)
                .nth(2)
                .unwrap();
            let e = add_seq_key(
                v,
                db,
                "volumes",
                &["db-data:/var/lib/postgresql/data".into()],
            )
            .unwrap();
            assert_eq!(
                apply(text, &[e]),
                "services:\n  db:\n    image: postgres:16\n    environment:\n      A: b\n    volumes:\n      - db-data:/var/lib/postgresql/data\n"
            );
        });
    }

    #[test]
    fn appends_map_entries_to_sequence_items() {
        let text = "services:\n  a:\n    volumes:\n      - type: volume\n        target: /data\n      - {type: volume, target: /x}\n";
        with_view(text, |v| {
            let maps: Vec<NodeId> = v
                .tree
                .nodes
                .iter()
                .enumerate()
                .filter(|(_, n)| matches!(&n.kind, Kind::Map { entries, .. } if entries.len() == 2))
                .map(|(i, _)| i)
                .collect();
            let edits = vec![
                append_map_entry(v, maps[0], "source", "a-data").unwrap(),
                append_map_entry(v, maps[1], "source", "a-x").unwrap(),
            ];
            assert_eq!(
                apply(text, &edits),
                "services:\n  a:\n    volumes:\n      - type: volume\n        target: /data\n        source: a-data\n      - {type: volume, target: /x, source: a-x}\n"
            );
        });
    }

    #[test]
    fn plain_only_when_it_reads_back() {
        assert!(plain_safe("db-data:/var/lib/x", false));
        assert!(!plain_safe("true", false));
        assert!(!plain_safe("a: b", false));
        assert!(!plain_safe("a,b", true));
        assert_eq!(render_scalar("it's", Style::SingleQuoted, false), "'it''s'");
    }
}
