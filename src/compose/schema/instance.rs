//! The document as compose validates it, borrowed from the value tree: scalars typed as go-yaml
//! types plain scalars, strings at compose's cast paths cast (one that does not convert stays a
//! string), `!reset` nodes left out (compose removes them while decoding), the lists that
//! compose-go's `EnforceUnicity` makes unique made unique. Every node keeps where it was written.
//! Also the two string checks compose makes at other moments than the schema's: the casts of a
//! document as it is interpolated, the byte sizes `units.RAMInBytes` refuses of the whole project.

use compact_str::CompactString;
use serde_json::{Map as JsonMap, Number, Value as Json};

use super::{Touched, Violation, is_size, ram_in_bytes, size_within};
use crate::compose::loader::problem::SchemaProblem;
use crate::compose::merge;
use crate::yaml::value::{Loc, MergeTag, Value, ValueKind};

/// The typed document: its root, and the items of its arrays and the members of its objects, each
/// array's and object's run of them in one place, so the document is a few allocations rather
/// than one per node (which building and dropping it cost most of).
#[derive(Debug)]
pub(crate) struct Document<'a> {
    pub(crate) root: Instance<'a>,
    items: Vec<Instance<'a>>,
    members: Vec<Member<'a>>,
}

/// A node of the typed document; `loc` is `None` for what compose adds (the default condition of
/// a `depends_on` entry written as a list item).
#[derive(Debug, PartialEq)]
pub(crate) struct Instance<'a> {
    pub(crate) loc: Option<Loc>,
    pub(crate) kind: Kind<'a>,
}

#[derive(Debug, PartialEq)]
pub(crate) enum Kind<'a> {
    Null,
    Bool(bool),
    Int(i64),
    /// Always finite: infinity and NaN become the largest float, as JSON cannot hold them.
    Float(f64),
    Str(&'a str),
    /// Its items: [`Document::items`].
    Array(Run),
    /// Its members in the order written: [`Document::members`].
    Object(Run),
}

/// Where an array's items or an object's members are in their [`Document`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Run {
    start: usize,
    len: usize,
}

#[derive(Debug, PartialEq)]
pub(crate) struct Member<'a> {
    pub(crate) key: &'a str,
    pub(crate) key_loc: Option<Loc>,
    pub(crate) value: Instance<'a>,
}

impl<'a> Document<'a> {
    pub(crate) fn items(&self, run: Run) -> &[Instance<'a>] {
        &self.items[run.start..run.start + run.len]
    }

    pub(crate) fn members(&self, run: Run) -> &[Member<'a>] {
        &self.members[run.start..run.start + run.len]
    }

    pub(crate) fn member(&self, v: &Instance<'a>, key: &str) -> Option<&Instance<'a>> {
        match v.kind {
            Kind::Object(run) => self
                .members(run)
                .iter()
                .find(|m| m.key == key)
                .map(|m| &m.value),
            _ => None,
        }
    }

    /// The JSON jsonschema would be given of `v` (the differential test checks both on it).
    pub(crate) fn to_json(&self, v: &Instance<'_>) -> Json {
        match v.kind {
            Kind::Null => Json::Null,
            Kind::Bool(b) => Json::Bool(b),
            Kind::Int(i) => Json::from(i),
            Kind::Float(f) => Json::Number(Number::from_f64(f).expect("floats here are finite")),
            Kind::Str(s) => Json::String(s.to_owned()),
            Kind::Array(run) => {
                Json::Array(self.items(run).iter().map(|i| self.to_json(i)).collect())
            }
            Kind::Object(run) => Json::Object(
                self.members(run)
                    .iter()
                    .map(|m| (m.key.to_owned(), self.to_json(&m.value)))
                    .collect::<JsonMap<_, _>>(),
            ),
        }
    }
}

/// Builds the typed document of `v`; `touched` limits the top level (and its `services`) to what
/// a document wrote.
pub(crate) fn build<'a>(v: &'a Value, touched: Option<&Touched>) -> Document<'a> {
    // Room for a file of a few services from the start: growing from nothing, a small document
    // spent more on growing the runs than one allocation per node had cost.
    let mut builder = Builder {
        items: Vec::with_capacity(64),
        members: Vec::with_capacity(256),
        pending_items: Vec::with_capacity(16),
        pending_members: Vec::with_capacity(64),
    };
    let root = builder.node(v, &mut Vec::new(), touched);
    Document {
        root,
        items: builder.items,
        members: builder.members,
    }
}

/// The runs of a document being built. An array's items (an object's members) wait on a stack
/// while each is built, its own items and members placed meanwhile, and are placed together
/// when the last is done.
struct Builder<'a> {
    items: Vec<Instance<'a>>,
    members: Vec<Member<'a>>,
    pending_items: Vec<Instance<'a>>,
    pending_members: Vec<Member<'a>>,
}

impl<'a> Builder<'a> {
    fn node(
        &mut self,
        v: &'a Value,
        path: &mut Vec<&'a str>,
        touched: Option<&Touched>,
    ) -> Instance<'a> {
        let kind = match &v.kind {
            ValueKind::Null => Kind::Null,
            ValueKind::Scalar { text, plain } => scalar(text, *plain, path),
            ValueKind::Seq(items) => {
                let first = self.pending_items.len();
                let item = |this: &mut Self, item, path: &mut Vec<&'a str>| {
                    path.push("[]");
                    let built = this.node(item, path, None);
                    this.pending_items.push(built);
                    path.pop();
                };
                match unique_list(path) {
                    Some(key_value) => kept(items, key_value)
                        .into_iter()
                        .for_each(|v| item(self, v, path)),
                    None => items
                        .iter()
                        .filter(|v| !is_reset(v))
                        .for_each(|v| item(self, v, path)),
                }
                let start = self.items.len();
                self.items.extend(self.pending_items.drain(first..));
                Kind::Array(Run {
                    start,
                    len: self.items.len() - start,
                })
            }
            ValueKind::Map(m) => {
                let depends_on =
                    matches!(path.as_slice(), ["services", s, "depends_on"] if *s != "[]");
                let only = match (touched, path.as_slice()) {
                    (Some(t), []) => Some(&t.keys),
                    (Some(t), ["services"]) => Some(&t.services),
                    _ => None,
                };
                let depth = path.len();
                let wanted = |k: &CompactString| only.is_none_or(|o| o.contains(k.as_str()));
                let first = self.pending_members.len();
                for (k, e) in m.iter().filter(|(k, e)| !is_reset(&e.value) && wanted(k)) {
                    // A list item the merge made a key (its value written nowhere, so placed on
                    // the item): compose-go's `mergeDependsOn` gives it the default condition.
                    let value = if depends_on && e.value.is_null() && e.value.loc == e.key_loc {
                        self.default_condition(e.value.loc)
                    } else {
                        path.push(k);
                        let value = self.node(&e.value, path, touched.filter(|_| depth < 1));
                        path.pop();
                        value
                    };
                    self.pending_members.push(Member {
                        key: k,
                        key_loc: Some(e.key_loc),
                        value,
                    });
                }
                let start = self.members.len();
                self.members.extend(self.pending_members.drain(first..));
                Kind::Object(Run {
                    start,
                    len: self.members.len() - start,
                })
            }
        };
        Instance {
            loc: Some(v.loc),
            kind,
        }
    }

    fn default_condition(&mut self, loc: Loc) -> Instance<'a> {
        let member = |key, kind| Member {
            key,
            key_loc: None,
            value: Instance { loc: None, kind },
        };
        let start = self.members.len();
        self.members.extend([
            member("condition", Kind::Str("service_started")),
            member("required", Kind::Bool(true)),
        ]);
        Instance {
            loc: Some(loc),
            kind: Kind::Object(Run { start, len: 2 }),
        }
    }
}

/// A scalar typed as go-yaml types it, a string at a cast path cast (one that does not convert
/// stays a string: [`cast_failures`] reports it).
fn scalar<'a>(text: &'a str, plain: bool, path: &[&str]) -> Kind<'a> {
    let typed = if plain {
        yaml_scalar(text)
    } else {
        Kind::Str(text)
    };
    match (typed, cast_for(path)) {
        (Kind::Str(s), Some(cast)) => cast(s).unwrap_or(Kind::Str(s)),
        (typed, _) => typed,
    }
}

/// The lists compose-go's `EnforceUnicity` makes unique before it validates (`override/uncity.go`):
/// `Some(true)` where each entry is keyed by the `KEY` of `KEY=VALUE`, `Some(false)` where by the
/// entry as written (ports, `expose`, `env_file`); `volumes` are made unique by the loader itself.
/// A `match` rather than a table of patterns: it runs for every list of every document.
pub(super) fn unique_list(path: &[&str]) -> Option<bool> {
    let named = |n: &str| n != "[]";
    match path {
        ["networks", n, "labels"] | ["networks", n, "ipam", "options"] if named(n) => Some(true),
        ["services", s, rest @ ..] if named(s) => match rest {
            ["ports" | "expose" | "env_file"] => Some(false),
            ["annotations" | "cap_add" | "cap_drop" | "dns" | "dns_opt" | "dns_search"]
            | ["environment" | "labels" | "links" | "profiles" | "sysctls" | "tmpfs"]
            | ["deploy", "labels"]
            | [
                "build",
                "args" | "additional_contexts" | "platform" | "tags" | "labels",
            ] => Some(true),
            ["networks", n, "aliases" | "link_local_ips"] if named(n) => Some(true),
            _ => None,
        },
        _ => None,
    }
}

/// The items of one of the lists of [`unique_list`] as compose validates them: `!reset` items
/// left out, a later entry with the key of an earlier one put in its place (`key_value`: the key
/// of `KEY=VALUE`).
pub(super) fn kept(items: &[Value], key_value: bool) -> Vec<&Value> {
    let mut kept: Vec<&Value> = items.iter().filter(|v| !is_reset(v)).collect();
    merge::unique_by(kept.iter().map(|v| unique_key(v, key_value))).apply(&mut kept);
    kept
}

/// What an entry of a [`unique_list`] is made unique by: the key of `KEY=VALUE` (`key_value`) or
/// the whole scalar; nothing for a mapping or a list.
fn unique_key(item: &Value, key_value: bool) -> Option<&str> {
    match &item.kind {
        ValueKind::Scalar { text, .. } if key_value => Some(merge::key_value_item(text).0),
        ValueKind::Scalar { text, .. } => Some(text.as_str()),
        _ => None,
    }
}

/// The strings at compose's cast paths in one document that do not convert. compose-go casts
/// while it interpolates a file, before the file is merged, so a value a later file (or a later
/// entry with the same target) replaces is refused all the same.
pub(crate) fn cast_failures(document: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let paths = Checked {
        at: cast_for,
        within: cast_within,
    };
    for_each_string(
        document,
        &mut Vec::new(),
        &paths,
        &mut |path, text, loc, cast| {
            if let Err(reason) = cast(text) {
                out.push(Violation {
                    loc,
                    path: path.join("."),
                    problem: SchemaProblem::Cast { reason },
                });
            }
        },
    );
    out
}

/// The byte sizes of the merged project that `units.RAMInBytes` refuses: compose converts them
/// when it decodes the project, after the last file, so one a later file replaces is no error.
pub(crate) fn size_failures(dict: &Value) -> Vec<Violation> {
    let mut out = Vec::new();
    let paths = Checked {
        at: |path| is_size(path).then_some(()),
        within: size_within,
    };
    for_each_string(dict, &mut Vec::new(), &paths, &mut |path, text, loc, ()| {
        if ram_in_bytes(text).is_none() {
            out.push(Violation {
                loc,
                path: path.join("."),
                problem: SchemaProblem::Size {
                    value: text.to_owned(),
                },
            });
        }
    });
    out
}

/// The paths a string check applies to: `at` a path, what is checked there; `within`, whether
/// one is below a path. The walk goes only where `within` says: the checks are at a few paths
/// of the services and sections, and a project is mostly elsewhere (environments, labels).
struct Checked<T> {
    at: fn(&[&str]) -> Option<T>,
    within: fn(&[&str]) -> bool,
}

/// Each scalar go-yaml decodes as a string at a path `paths` checks, with its path and what is
/// checked there (`!reset` nodes left out: compose removes them while decoding).
fn for_each_string<'a, T>(
    v: &'a Value,
    path: &mut Vec<&'a str>,
    paths: &Checked<T>,
    f: &mut impl FnMut(&[&str], &str, Loc, T),
) {
    match &v.kind {
        ValueKind::Scalar { text, plain } => {
            if let Some(check) = (paths.at)(path)
                && (!*plain || matches!(yaml_scalar(text), Kind::Str(_)))
            {
                f(path, text, v.loc, check);
            }
        }
        ValueKind::Seq(items) if (paths.within)(path) => {
            for item in items.iter().filter(|v| !is_reset(v)) {
                path.push("[]");
                for_each_string(item, path, paths, f);
                path.pop();
            }
        }
        ValueKind::Map(m) if (paths.within)(path) => {
            for (k, e) in m.iter().filter(|(_, e)| !is_reset(&e.value)) {
                path.push(k);
                for_each_string(&e.value, path, paths, f);
                path.pop();
            }
        }
        _ => {}
    }
}

fn is_reset(v: &Value) -> bool {
    v.tag == Some(MergeTag::Reset)
}

/// go-yaml v3's resolution of a plain scalar when decoding into `interface{}`: booleans of YAML
/// 1.2, integers (`_` ignored, `0x`/`0o`/`0b`/leading-`0` bases), floats (`.inf`, `.nan`);
/// timestamps stay strings. Infinity and NaN, which JSON cannot hold, become the largest float.
pub(super) fn yaml_scalar(text: &str) -> Kind<'_> {
    // By the first byte: most scalars are words or paths, neither a boolean nor a number.
    match text.as_bytes().first() {
        Some(b't' | b'T' | b'f' | b'F') => {
            return match text {
                "true" | "True" | "TRUE" => Kind::Bool(true),
                "false" | "False" | "FALSE" => Kind::Bool(false),
                _ => Kind::Str(text),
            };
        }
        Some(b'0'..=b'9' | b'-' | b'+' | b'.') => {}
        _ => return Kind::Str(text),
    }
    // A number is written with digits, letters (bases, exponents), signs, dots and `_` only: a
    // path (`./data:/data`) is a string without being parsed as one.
    let numeric = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'+' | b'-');
    if !text.bytes().all(numeric) {
        return Kind::Str(text);
    }
    if let ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
    | ".nan" | ".NaN" | ".NAN" = text
    {
        return Kind::Float(f64::MAX);
    }
    let plain: std::borrow::Cow<'_, str> = if text.as_bytes().contains(&b'_') {
        text.replace('_', "").into()
    } else {
        text.into()
    };
    if let Some(i) = go_parse_int(&plain) {
        return Kind::Int(i);
    }
    if yaml_style_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
        && f.is_finite()
    {
        return Kind::Float(f);
    }
    Kind::Str(text)
}

/// Go `strconv.ParseInt(s, 0, 64)`: sign, then `0x`, `0o`, `0b`, a leading `0` (octal) or decimal.
fn go_parse_int(s: &str) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let (radix, body) = match digits.as_bytes() {
        [b'0', b'x' | b'X', ..] => (16, &digits[2..]),
        [b'0', b'o' | b'O', ..] => (8, &digits[2..]),
        [b'0', b'b' | b'B', ..] => (2, &digits[2..]),
        [b'0', _, ..] => (8, &digits[1..]),
        _ => (10, digits),
    };
    if body.is_empty() || !body.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = i128::from_str_radix(body, radix).ok()?;
    i64::try_from(if negative { -magnitude } else { magnitude }).ok()
}

/// go-yaml's `yamlStyleFloat`: `^[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?$`.
fn yaml_style_float(s: &str) -> bool {
    let b = s.trim_start_matches(['-', '+']);
    if b.len() + 1 < s.len() {
        return false;
    }
    let (mantissa, exponent) = match b.find(['e', 'E']) {
        Some(i) => (&b[..i], Some(&b[i + 1..])),
        None => (b, None),
    };
    let digits = |t: &str| t.bytes().all(|c| c.is_ascii_digit());
    let mantissa_ok = match mantissa.split_once('.') {
        Some(("", frac)) => !frac.is_empty() && digits(frac),
        Some((int, frac)) => digits(int) && digits(frac),
        None => !mantissa.is_empty() && digits(mantissa),
    };
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && digits(e)
    });
    mantissa_ok && exponent_ok
}

type Cast = for<'a> fn(&'a str) -> Result<Kind<'a>, String>;

/// compose-go `interpolateTypeCastMapping` (a name stands for any key, not a list item). A
/// `match` rather than a table of patterns: it runs for every scalar of every document.
pub(super) fn cast_for(path: &[&str]) -> Option<Cast> {
    let named = |n: &str| n != "[]";
    let int: Cast = to_int;
    let float: Cast = to_float;
    let boolean: Cast = to_bool;
    match path {
        ["services", s, rest @ ..] if named(s) => match rest {
            ["cpu_count" | "cpu_period" | "cpu_quota" | "cpu_rt_period" | "cpu_rt_runtime"]
            | ["cpu_shares" | "oom_score_adj" | "pids_limit" | "scale"]
            | ["deploy", "replicas"]
            | ["deploy", "update_config" | "rollback_config", "parallelism"]
            | ["deploy", "restart_policy", "max_attempts"]
            | ["deploy", "placement", "max_replicas_per_node"]
            | ["healthcheck", "retries"]
            | ["ports", "[]", "target"] => Some(int),
            ["ulimits", u] | ["ulimits", u, "hard" | "soft"] if named(u) => Some(int),
            ["cpu_percent" | "cpus"]
            | [
                "deploy",
                "update_config" | "rollback_config",
                "max_failure_ratio",
            ] => Some(float),
            ["init" | "oom_kill_disable" | "privileged" | "read_only" | "stdin_open" | "tty"]
            | ["healthcheck", "disable"]
            | ["volumes", "[]", "read_only"]
            | ["volumes", "[]", "volume", "nocopy"] => Some(boolean),
            _ => None,
        },
        [
            "networks",
            n,
            "external" | "internal" | "attachable" | "enable_ipv4" | "enable_ipv6",
        ]
        | ["volumes" | "secrets" | "configs", n, "external"]
            if named(n) =>
        {
            Some(boolean)
        }
        _ => None,
    }
}

/// Whether a path of [`cast_for`] is below `path` (kept beside it: a cast path added there
/// needs its prefixes here).
pub(super) fn cast_within(path: &[&str]) -> bool {
    let named = |n: &str| n != "[]";
    match path {
        [] | ["services" | "networks" | "volumes" | "secrets" | "configs"] => true,
        ["networks" | "volumes" | "secrets" | "configs", n] => named(n),
        ["services", s, rest @ ..] if named(s) => match rest {
            [] | ["deploy" | "healthcheck" | "ports" | "ulimits" | "volumes"] => true,
            [
                "deploy",
                "update_config" | "rollback_config" | "restart_policy" | "placement",
            ]
            | ["ports" | "volumes", "[]"]
            | ["volumes", "[]", "volume"] => true,
            ["ulimits", u] => named(u),
            _ => false,
        },
        _ => false,
    }
}

/// Go `strconv.Atoi` / `ParseInt(s, 10, 64)`: an optional sign and decimal digits.
pub(super) fn to_int(s: &str) -> Result<Kind<'_>, String> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    match s.parse::<i64>() {
        Ok(i) if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) => {
            Ok(Kind::Int(i))
        }
        _ => Err(format!("strconv.Atoi: parsing \"{s}\": invalid syntax")),
    }
}

/// Go `strconv.ParseFloat`.
fn to_float(s: &str) -> Result<Kind<'_>, String> {
    match s.parse::<f64>() {
        Ok(f) => Ok(Kind::Float(if f.is_finite() { f } else { f64::MAX })),
        Err(_) => Err(format!(
            "strconv.ParseFloat: parsing \"{s}\": invalid syntax"
        )),
    }
}

/// compose-go `toBoolean`: YAML 1.1 spellings too, case-insensitive.
pub(super) fn to_bool(s: &str) -> Result<Kind<'_>, String> {
    match s.to_lowercase().as_str() {
        "true" | "y" | "yes" | "on" => Ok(Kind::Bool(true)),
        "false" | "n" | "no" | "off" => Ok(Kind::Bool(false)),
        _ => Err(format!("invalid boolean: {s}")),
    }
}
