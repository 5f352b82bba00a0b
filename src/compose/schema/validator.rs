//! An interpreter of compose's JSON schema (draft 7, the keywords `data/compose-spec.json` uses)
//! over the typed document of [`super::instance`]. The schema is compiled at build time into
//! [`NODES`] (build/schema.rs), its patterns into runs of character classes matched by hand.
//! [`valid`] answers yes or no, cheaply, for the documents that pass; the others are walked again
//! by [`errors`], which reports what jsonschema (the reference the differential test holds it to)
//! reports, in its order: the keywords of a subschema by
//! jsonschema's priority (`type`, `enum`, `minimum`, `maximum`, `required`, `pattern`,
//! `uniqueItems`, the properties, `items`, `oneOf`), the members of an object by name.

use super::head::head;
use super::instance::{Document, Instance, Kind, Member};

pub(super) const NULL: u8 = 1;
pub(super) const BOOLEAN: u8 = 2;
pub(super) const OBJECT: u8 = 4;
pub(super) const ARRAY: u8 = 8;
pub(super) const NUMBER: u8 = 16;
pub(super) const STRING: u8 = 32;
pub(super) const INTEGER: u8 = 64;

/// One subschema. `types` is a set of the bits above, 0 for any type.
struct Node {
    types: u8,
    enumeration: Option<Enumeration>,
    minimum: Option<Limit>,
    maximum: Option<Limit>,
    /// (name, jsonschema's message when it is missing).
    required: &'static [(&'static str, &'static str)],
    /// `required` reported after the properties (see build/schema.rs).
    required_last: bool,
    pattern: Option<(usize, &'static str)>,
    unique_items: bool,
    /// (name, its [`head`], subschema), sorted by name.
    properties: &'static [(&'static str, u64, usize)],
    /// (pattern, subschema), sorted by pattern.
    pattern_properties: &'static [(usize, usize)],
    /// `additionalProperties: false`.
    closed: bool,
    items: Option<usize>,
    one_of: &'static [usize],
}

struct Enumeration {
    values: &'static [&'static str],
    message: &'static str,
}

struct Limit {
    value: f64,
    text: &'static str,
}

/// A pattern, matched by hand: build/schema.rs turns each of the schema's into one of these (and
/// fails on one it cannot), as compiling a regex cost more than validating a hundred files.
enum Pattern {
    /// `^literal`.
    Prefix(&'static str),
    /// Runs of character classes, any of which may match.
    Classes {
        branches: &'static [Sequence],
        #[cfg_attr(not(test), allow(dead_code))]
        source: &'static str,
    },
}

/// A run of character classes, anchored at the start and at the end or not.
struct Sequence {
    start: bool,
    atoms: &'static [Atom],
    end: bool,
}

/// A character class, once or (`repeat`) one or more times.
struct Atom {
    class: Class,
    repeat: bool,
}

enum Class {
    /// `.`
    AnyButNewline,
    /// `[...]`: inclusive ranges of ASCII characters.
    Ranges(&'static [(char, char)]),
}

impl Class {
    fn contains(&self, c: char) -> bool {
        match self {
            Class::AnyButNewline => c != '\n',
            Class::Ranges(ranges) => ranges.iter().any(|&(a, b)| a <= c && c <= b),
        }
    }
}

include!(concat!(env!("OUT_DIR"), "/compose_schema.rs"));

fn is_match(pattern: usize, text: &str) -> bool {
    match &PATTERNS[pattern] {
        Pattern::Prefix(prefix) => text.starts_with(*prefix),
        Pattern::Classes { branches, .. } => branches.iter().any(|b| {
            // One class repeated (`^[a-z]+$`, `.+`), the schema's usual pattern: a scan.
            if let [
                Atom {
                    class,
                    repeat: true,
                },
            ] = b.atoms
            {
                let mut chars = text.chars();
                return match (b.start, b.end) {
                    (true, true) => !text.is_empty() && chars.all(|c| class.contains(c)),
                    (true, false) => chars.next().is_some_and(|c| class.contains(c)),
                    (false, true) => chars.next_back().is_some_and(|c| class.contains(c)),
                    (false, false) => chars.any(|c| class.contains(c)),
                };
            }
            if b.start {
                return match_here(b.atoms, text, b.end);
            }
            text.char_indices()
                .any(|(i, _)| match_here(b.atoms, &text[i..], b.end))
        }),
    }
}

/// Whether `atoms` match at the start of `text` (and reach its end when `end`).
fn match_here(atoms: &[Atom], text: &str, end: bool) -> bool {
    let Some((atom, rest)) = atoms.split_first() else {
        return !end || text.is_empty();
    };
    let mut chars = text.char_indices();
    let mut at = match chars.next() {
        Some((_, c)) if atom.class.contains(c) => c.len_utf8(),
        _ => return false,
    };
    if !atom.repeat {
        return match_here(rest, &text[at..], end);
    }
    loop {
        if match_here(rest, &text[at..], end) {
            return true;
        }
        match chars.next() {
            Some((i, c)) if atom.class.contains(c) => at = i + c.len_utf8(),
            _ => return false,
        }
    }
}

/// The type bits an instance has: an integer is a number, a float without a fraction an integer.
fn type_bits(v: &Instance<'_>) -> u8 {
    match &v.kind {
        Kind::Null => NULL,
        Kind::Bool(_) => BOOLEAN,
        Kind::Int(_) => NUMBER | INTEGER,
        Kind::Float(f) if f.fract() == 0.0 => NUMBER | INTEGER,
        Kind::Float(_) => NUMBER,
        Kind::Str(_) => STRING,
        Kind::Array(_) => ARRAY,
        Kind::Object(_) => OBJECT,
    }
}

fn number(v: &Instance<'_>) -> Option<f64> {
    match v.kind {
        Kind::Int(i) => Some(i as f64),
        Kind::Float(f) => Some(f),
        _ => None,
    }
}

/// JSON equality (`uniqueItems`): numbers by value, objects whatever their members' order.
fn equal(doc: &Document<'_>, a: &Instance<'_>, b: &Instance<'_>) -> bool {
    match (&a.kind, &b.kind) {
        (Kind::Null, Kind::Null) => true,
        (Kind::Bool(x), Kind::Bool(y)) => x == y,
        (Kind::Int(x), Kind::Int(y)) => x == y,
        (Kind::Int(_) | Kind::Float(_), Kind::Int(_) | Kind::Float(_)) => number(a) == number(b),
        (Kind::Str(x), Kind::Str(y)) => x == y,
        (Kind::Array(x), Kind::Array(y)) => {
            let (x, y) = (doc.items(*x), doc.items(*y));
            x.len() == y.len() && x.iter().zip(y).all(|(a, b)| equal(doc, a, b))
        }
        (Kind::Object(x), Kind::Object(y)) => {
            let (x, y) = (doc.members(*x), doc.members(*y));
            x.len() == y.len()
                && x.iter().all(|m| {
                    y.iter()
                        .find(|n| n.key == m.key)
                        .is_some_and(|n| equal(doc, &m.value, &n.value))
                })
        }
        _ => false,
    }
}

/// No two items [`equal`]: compared pairwise when there are few, else only those of one hash.
fn unique(doc: &Document<'_>, items: &[Instance<'_>]) -> bool {
    if items.len() <= 16 {
        return items
            .iter()
            .enumerate()
            .all(|(i, a)| items[i + 1..].iter().all(|b| !equal(doc, a, b)));
    }
    let mut seen: foldhash::HashMap<u64, Vec<&Instance<'_>>> = foldhash::HashMap::default();
    for item in items {
        let same = seen.entry(hash(doc, item)).or_default();
        if same.iter().any(|other| equal(doc, item, other)) {
            return false;
        }
        same.push(item);
    }
    true
}

/// A hash that agrees with [`equal`]: numbers by value, members whatever their order.
fn hash(doc: &Document<'_>, v: &Instance<'_>) -> u64 {
    use std::hash::{BuildHasher, Hash, Hasher};
    let state = foldhash::fast::FixedState::default();
    let mut h = state.build_hasher();
    match &v.kind {
        Kind::Null => 0u8.hash(&mut h),
        Kind::Bool(b) => (1u8, b).hash(&mut h),
        // `+ 0.0` makes -0 and 0 one value.
        Kind::Int(_) | Kind::Float(_) => {
            (2u8, (number(v).unwrap_or(0.0) + 0.0).to_bits()).hash(&mut h)
        }
        Kind::Str(s) => (3u8, s).hash(&mut h),
        Kind::Array(items) => {
            4u8.hash(&mut h);
            (doc.items(*items).iter()).for_each(|i| hash(doc, i).hash(&mut h));
        }
        Kind::Object(members) => {
            let sum = doc.members(*members).iter().fold(0u64, |sum, m| {
                sum.wrapping_add(state.hash_one((m.key, hash(doc, &m.value))))
            });
            (5u8, sum).hash(&mut h);
        }
    }
    h.finish()
}

/// The subschema of the property `key`: a binary search that compares the names' first eight
/// bytes as one number, and the rest only when those are equal (byte order all the same: of
/// two names no longer than that with the same first bytes, the shorter is a prefix).
fn property(node: &Node, key: &str) -> Option<usize> {
    let key_head = head(key);
    node.properties
        .binary_search_by(|&(name, name_head, _)| {
            name_head.cmp(&key_head).then_with(|| {
                if name.len() <= 8 && key.len() <= 8 {
                    name.len().cmp(&key.len())
                } else {
                    name.as_bytes().cmp(key.as_bytes())
                }
            })
        })
        .ok()
        .map(|i| node.properties[i].2)
}

/// Whether the document is valid against the whole schema.
pub(super) fn valid_document(doc: &Document<'_>) -> bool {
    valid(doc, 0, &doc.root)
}

fn valid(doc: &Document<'_>, index: usize, v: &Instance<'_>) -> bool {
    let node = &NODES[index];
    if node.types != 0 && node.types & type_bits(v) == 0 {
        return false;
    }
    if let Some(e) = &node.enumeration
        && !matches!(v.kind, Kind::Str(s) if e.values.contains(&s))
    {
        return false;
    }
    if let Some(n) = number(v)
        && (node.minimum.as_ref().is_some_and(|l| n < l.value)
            || node.maximum.as_ref().is_some_and(|l| n > l.value))
    {
        return false;
    }
    match &v.kind {
        Kind::Str(s) => {
            if let Some((p, _)) = node.pattern
                && !is_match(p, s)
            {
                return false;
            }
        }
        Kind::Array(items) => {
            let items = doc.items(*items);
            if node.unique_items && !unique(doc, items) {
                return false;
            }
            if let Some(item) = node.items
                && !items.iter().all(|i| valid(doc, item, i))
            {
                return false;
            }
        }
        Kind::Object(members) => {
            let members = doc.members(*members);
            if !node
                .required
                .iter()
                .all(|(name, _)| members.iter().any(|m| m.key == *name))
            {
                return false;
            }
            for m in members {
                let mut matched = false;
                if let Some(p) = property(node, m.key) {
                    matched = true;
                    if !valid(doc, p, &m.value) {
                        return false;
                    }
                }
                for &(pattern, p) in node.pattern_properties {
                    if is_match(pattern, m.key) {
                        matched = true;
                        if !valid(doc, p, &m.value) {
                            return false;
                        }
                    }
                }
                if !matched && node.closed {
                    return false;
                }
            }
        }
        _ => {}
    }
    if !node.one_of.is_empty()
        && (node.one_of.iter())
            .filter(|&&b| valid(doc, b, v))
            .take(2)
            .count()
            != 1
    {
        return false;
    }
    true
}

/// A step of an instance path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Segment<'a> {
    Key(&'a str),
    Index(usize),
}

/// One error, where jsonschema reports it.
#[derive(Debug)]
pub(super) struct SchemaError<'v, 'a> {
    pub(crate) node: &'v Instance<'a>,
    pub(crate) path: Vec<Segment<'a>>,
    pub(crate) kind: ErrorKind<'v, 'a>,
}

#[derive(Debug)]
pub(super) enum ErrorKind<'v, 'a> {
    /// The type bits the schema wanted.
    Type(u8),
    /// The members no property or pattern allows, by name.
    Additional(Vec<&'v Member<'a>>),
    /// No branch of a `oneOf` holds: every branch's errors, in order.
    OneOfNone(Vec<SchemaError<'v, 'a>>),
    /// Any other keyword, in jsonschema's words (the instance masked as `value`).
    Message(String),
}

/// Every error of the document against the whole schema, in jsonschema's order.
pub(super) fn errors<'v, 'a>(doc: &'v Document<'a>) -> Vec<SchemaError<'v, 'a>> {
    let mut out = Vec::new();
    collect(doc, 0, &doc.root, &mut Vec::new(), &mut out);
    out
}

fn collect<'v, 'a>(
    doc: &'v Document<'a>,
    index: usize,
    v: &'v Instance<'a>,
    path: &mut Vec<Segment<'a>>,
    out: &mut Vec<SchemaError<'v, 'a>>,
) {
    let node = &NODES[index];
    let mut push = |kind| {
        out.push(SchemaError {
            node: v,
            path: path.clone(),
            kind,
        })
    };
    if node.types != 0 && node.types & type_bits(v) == 0 {
        push(ErrorKind::Type(node.types));
    }
    if let Some(e) = &node.enumeration
        && !matches!(v.kind, Kind::Str(s) if e.values.contains(&s))
    {
        push(ErrorKind::Message(e.message.to_owned()));
    }
    if let Some(n) = number(v) {
        if let Some(l) = node.minimum.as_ref().filter(|l| n < l.value) {
            push(ErrorKind::Message(format!(
                "value is less than the minimum of {}",
                l.text
            )));
        }
        if let Some(l) = node.maximum.as_ref().filter(|l| n > l.value) {
            push(ErrorKind::Message(format!(
                "value is greater than the maximum of {}",
                l.text
            )));
        }
    }
    let members = match v.kind {
        Kind::Object(members) => Some(doc.members(members)),
        _ => None,
    };
    let missing = |members: &[Member<'_>]| {
        node.required
            .iter()
            .filter(|(name, _)| !members.iter().any(|m| m.key == *name))
            .map(|(_, message)| ErrorKind::Message((*message).to_owned()))
            .collect::<Vec<_>>()
    };
    if let Some(members) = members
        && !node.required_last
    {
        missing(members).into_iter().for_each(&mut push);
    }
    match &v.kind {
        Kind::Str(s) => {
            if let Some((p, source)) = node.pattern
                && !is_match(p, s)
            {
                push(ErrorKind::Message(format!(
                    "value does not match \"{source}\""
                )));
            }
        }
        Kind::Array(items) if node.unique_items && !unique(doc, doc.items(*items)) => {
            push(ErrorKind::Message(
                "value has non-unique elements".to_owned(),
            ));
        }
        _ => {}
    }
    if let Some(members) = members {
        collect_members(doc, node, v, members, path, out);
        if node.required_last {
            for kind in missing(members) {
                out.push(SchemaError {
                    node: v,
                    path: path.clone(),
                    kind,
                });
            }
        }
    }
    if let (Some(item), Kind::Array(items)) = (node.items, &v.kind) {
        for (i, value) in doc.items(*items).iter().enumerate() {
            path.push(Segment::Index(i));
            collect(doc, item, value, path, out);
            path.pop();
        }
    }
    if !node.one_of.is_empty() {
        match (node.one_of.iter())
            .filter(|&&b| valid(doc, b, v))
            .take(2)
            .count()
        {
            1 => {}
            0 => {
                let mut causes = Vec::new();
                for &branch in node.one_of {
                    collect(doc, branch, v, path, &mut causes);
                }
                out.push(SchemaError {
                    node: v,
                    path: path.clone(),
                    kind: ErrorKind::OneOfNone(causes),
                });
            }
            _ => out.push(SchemaError {
                node: v,
                path: path.clone(),
                kind: ErrorKind::Message(
                    "value is valid under more than one of the schemas listed in the 'oneOf' \
                     keyword"
                        .to_owned(),
                ),
            }),
        }
    }
}

/// `properties`, `patternProperties` and `additionalProperties: false` over the members, by
/// name. Closed, jsonschema walks them in one pass (a member's property, then its patterns, and
/// the unknown ones together at the end); open, `properties` then each pattern over them all.
fn collect_members<'v, 'a>(
    doc: &'v Document<'a>,
    node: &Node,
    v: &'v Instance<'a>,
    members: &'v [Member<'a>],
    path: &mut Vec<Segment<'a>>,
    out: &mut Vec<SchemaError<'v, 'a>>,
) {
    let mut sorted: Vec<&Member<'a>> = members.iter().collect();
    sorted.sort_by(|a, b| a.key.cmp(b.key));
    let mut below = |schema: usize, m: &'v Member<'a>, out: &mut Vec<SchemaError<'v, 'a>>| {
        path.push(Segment::Key(m.key));
        collect(doc, schema, &m.value, path, out);
        path.pop();
    };
    if node.closed {
        let mut unexpected = Vec::new();
        for m in sorted {
            let mut matched = false;
            if let Some(p) = property(node, m.key) {
                matched = true;
                below(p, m, out);
            }
            for &(pattern, p) in node.pattern_properties {
                if is_match(pattern, m.key) {
                    matched = true;
                    below(p, m, out);
                }
            }
            if !matched {
                unexpected.push(m);
            }
        }
        if !unexpected.is_empty() {
            out.push(SchemaError {
                node: v,
                path: path.clone(),
                kind: ErrorKind::Additional(unexpected),
            });
        }
    } else {
        for &m in &sorted {
            if let Some(p) = property(node, m.key) {
                below(p, m, out);
            }
        }
        for &(pattern, p) in node.pattern_properties {
            for &m in &sorted {
                if is_match(pattern, m.key) {
                    below(p, m, out);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_property_is_found_by_name() {
        for node in NODES {
            for &(name, _, index) in node.properties {
                assert_eq!(property(node, name), Some(index), "{name}");
                for other in [format!("{name}x"), name[..name.len() - 1].to_owned()] {
                    let found = node.properties.iter().find(|p| p.0 == other);
                    assert_eq!(property(node, &other), found.map(|p| p.2), "{other}");
                }
            }
        }
    }

    #[test]
    fn patterns_match_as_regexes_do() {
        let texts = [
            "",
            "a",
            "web",
            "A-b.c_d",
            "x y",
            "\n",
            "a\n",
            "\na",
            "é",
            "UPPER",
            "x-",
            "-",
            "a\nb",
            "my.service-1",
            "1",
            "_",
            "x-foo",
            "build",
            "every_5m",
            "nope",
            " ",
            "a.",
            ".a",
            "ab",
            "-a",
            "é1",
            "1é",
            "a\nbc",
            "a b c",
            "every_",
            "every_5",
            "every_5x",
            "xevery_12h3m",
            "no always",
            "if_not_present",
            "dail",
        ];
        for (i, pattern) in PATTERNS.iter().enumerate() {
            let source = match pattern {
                Pattern::Prefix(prefix) => format!("^{prefix}"),
                Pattern::Classes { source, .. } => (*source).to_owned(),
            };
            let regex = regex::Regex::new(&source).expect("the schema's patterns compile");
            for text in texts {
                assert_eq!(
                    is_match(i, text),
                    regex.is_match(text),
                    "{source:?} on {text:?}"
                );
            }
        }
    }
}
