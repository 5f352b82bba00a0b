//! compose's JSON schema, applied as compose applies it: the compose-spec schema that Docker
//! Compose v2.40.3 embeds (`data/compose-spec.json`, vendored with its licence and source commit)
//! checked against the value tree, with YAML scalars typed as go-yaml types them and the strings
//! at compose's cast paths converted first (compose-go's `interpolateTypeCastMapping`, which casts
//! every string there, interpolated or not). Each violation comes back with the position of the
//! node it is about, and each `oneOf`/`anyOf` failure narrowed to its most specific cause as
//! compose-go's `getMostSpecificError` does. Then the two checks compose makes while it turns
//! the validated tree into its types, which the schema leaves to them: short-syntax ports
//! (`transform.Canonical`, Docker's `nat.ParsePortSpec`) and byte sizes (`units.RAMInBytes`).

use std::sync::OnceLock;

use compact_str::CompactString;
use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{Draft, ValidationError, Validator};
use serde_json::{Map as JsonMap, Number, Value as Json};

use crate::compose::loader::problem::SchemaProblem;
use crate::yaml::value::{Loc, MergeTag, Value, ValueKind};

const SCHEMA: &str = include_str!("../../data/compose-spec.json");

/// One thing the schema (or a cast before it) refuses: `path` is compose's dotted path of the
/// node, `loc` where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    pub loc: Loc,
    pub path: String,
    pub problem: SchemaProblem,
}

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Json = serde_json::from_str(SCHEMA).expect("the vendored schema is JSON");
        jsonschema::options()
            .with_draft(Draft::Draft7)
            .build(&schema)
            .expect("the vendored schema compiles")
    })
}

/// What of the merged model a document can have changed: its top-level keys and its services.
/// The rest was validated when it was merged (and validating all of it again after each of
/// thousands of documents would be quadratic).
pub(crate) struct Touched<'a> {
    pub keys: foldhash::HashSet<&'a str>,
    pub services: foldhash::HashSet<&'a str>,
}

/// Every violation of the schema by the `touched` part of `dict` (a top-level mapping), in the
/// order of the validator's walk.
pub(crate) fn check(dict: &Value, touched: &Touched) -> Vec<Violation> {
    let mut out = Vec::new();
    let mut sizes = Vec::new();
    let mut path = Vec::new();
    let json = to_json(dict, &mut path, &mut out, &mut sizes, Some(touched));
    // Most documents are valid: the boolean walk is cheaper than collecting errors.
    let errors = if validator().is_valid(&json) {
        Vec::new()
    } else {
        validator().iter_errors(&json).collect()
    };
    for error in &errors {
        let error = most_specific(error);
        let segments: Vec<Segment> = error
            .instance_path()
            .iter()
            .map(|s| match s {
                LocationSegment::Property(p) => Segment::Key(p.to_string()),
                LocationSegment::Index(i) => Segment::Index(i),
            })
            .collect();
        let Some(node) = locate(dict, &segments) else {
            continue;
        };
        let dotted = dotted(&segments);
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for key in unexpected {
                    let loc = node
                        .as_map()
                        .and_then(|m| m.get(key.as_str()))
                        .map_or(node.loc, |e| e.key_loc);
                    out.push(Violation {
                        loc,
                        path: dotted.clone(),
                        problem: SchemaProblem::Property { key: key.clone() },
                    });
                }
            }
            ValidationErrorKind::Type { kind } => out.push(Violation {
                loc: node.loc,
                path: dotted,
                problem: SchemaProblem::Type {
                    want: human_types(kind),
                },
            }),
            _ => out.push(Violation {
                loc: node.loc,
                path: dotted,
                problem: SchemaProblem::Other {
                    message: error.masked().to_string(),
                },
            }),
        }
    }
    check_ports(dict, &json, &mut out);
    out.append(&mut sizes);
    out
}

/// Short-syntax `ports` entries (numbers and strings) that Docker's port parser refuses.
fn check_ports(dict: &Value, json: &Json, out: &mut Vec<Violation>) {
    let Some(services) = json.get("services").and_then(Json::as_object) else {
        return;
    };
    for (name, service) in services {
        let Some(ports) = service.get("ports").and_then(Json::as_array) else {
            continue;
        };
        for (i, port) in ports.iter().enumerate() {
            let spec = match port {
                Json::String(s) => s.clone(),
                Json::Number(n) if n.is_i64() || n.is_u64() => n.to_string(),
                _ => continue,
            };
            if let Err(reason) = parse_port_spec(&spec) {
                let segments = [
                    Segment::Key("services".into()),
                    Segment::Key(name.clone()),
                    Segment::Key("ports".into()),
                    Segment::Index(i),
                ];
                if let Some(node) = locate(dict, &segments) {
                    out.push(Violation {
                        loc: node.loc,
                        path: dotted(&segments),
                        problem: SchemaProblem::Port { reason },
                    });
                }
            }
        }
    }
}

/// Docker's `nat.ParsePortSpec`: `[ip:][host:]container[/proto]`, each port a number to 65535
/// or a range, ranges of the same length unless the container port is a single one.
fn parse_port_spec(raw: &str) -> Result<(), String> {
    let parts: Vec<&str> = raw.split(':').collect();
    let (ip, host, container) = match parts.as_slice() {
        [c] => (String::new(), "", *c),
        [h, c] => (String::new(), *h, *c),
        [rest @ .., h, c] => (rest.join(":"), *h, *c),
        [] => (String::new(), "", ""),
    };
    let (proto, container) = split_proto_port(container);
    let ip = match ip.strip_prefix('[') {
        Some(inner) => match inner.strip_suffix(']') {
            Some(addr) => addr.to_owned(),
            None => return Err(format!("invalid IP address {ip}")),
        },
        None => ip,
    };
    if !ip.is_empty() && ip.parse::<std::net::IpAddr>().is_err() {
        return Err(format!("invalid IP address: {ip}"));
    }
    if container.is_empty() {
        return Err(format!("no port specified: {raw}<empty>"));
    }
    let (start, end) =
        port_range(container).ok_or_else(|| format!("invalid containerPort: {container}"))?;
    if !host.is_empty() {
        let (host_start, host_end) =
            port_range(host).ok_or_else(|| format!("invalid hostPort: {host}"))?;
        if end - start != host_end.wrapping_sub(host_start) && end != start {
            return Err(format!(
                "invalid ranges specified for container and host Ports: {container} and {host}"
            ));
        }
    }
    let proto = proto.to_lowercase();
    if !matches!(proto.as_str(), "tcp" | "udp" | "sctp") {
        return Err(format!("invalid proto: {proto}"));
    }
    Ok(())
}

/// Docker's `SplitProtoPort`: `(proto, port)`, `tcp` when none is written.
fn split_proto_port(raw: &str) -> (&str, &str) {
    let mut parts = raw.split('/');
    let port = parts.next().unwrap_or("");
    if port.is_empty() {
        return ("", "");
    }
    match parts.next() {
        None | Some("") => ("tcp", port),
        Some(proto) => (proto, port),
    }
}

/// Docker's `ParsePortRange`: `n` or `start-end`, each a `uint16`, `end` not below `start`.
fn port_range(s: &str) -> Option<(u64, u64)> {
    let port = |p: &str| {
        (!p.is_empty() && p.bytes().all(|c| c.is_ascii_digit()))
            .then(|| p.parse::<u16>().ok())
            .flatten()
            .map(u64::from)
    };
    if !s.contains('-') {
        let p = port(s)?;
        return Some((p, p));
    }
    let mut parts = s.split('-');
    let start = port(parts.next()?)?;
    let end = port(parts.next()?)?;
    (end >= start).then_some((start, end))
}

/// The fields compose decodes as byte sizes (`types.UnitBytes`).
fn is_size(path: &[&str]) -> bool {
    match path {
        ["services", name, rest @ ..] if *name != "[]" => matches!(
            rest,
            ["mem_limit" | "mem_reservation" | "memswap_limit" | "mem_swappiness" | "shm_size"]
                | ["build", "shm_size"]
                | ["deploy", "resources", "limits" | "reservations", "memory"]
                | ["volumes", "[]", "tmpfs", "size"]
        ),
        _ => false,
    }
}

/// go-units `RAMInBytes`: a non-negative decimal number, an optional space, then `b` or one of
/// `k m g t p` followed by nothing, `b`, `i` or `ib` (any case).
fn ram_in_bytes(s: &str) -> Option<()> {
    let sep = s.rfind(|c: char| c.is_ascii_digit() || c == '.' || c == ' ')?;
    let (num, suffix) = if s.as_bytes()[sep] == b' ' {
        (&s[..sep], &s[sep + 1..])
    } else {
        (&s[..=sep], &s[sep + 1..])
    };
    let size: f64 = go_parse_float(num)?;
    if size < 0.0 || suffix.len() > 3 {
        return None;
    }
    let suffix = suffix.to_ascii_lowercase();
    match suffix.as_bytes() {
        [] | [b'b'] => Some(()),
        [b'k' | b'm' | b'g' | b't' | b'p'] => Some(()),
        [b'k' | b'm' | b'g' | b't' | b'p', b'i' | b'b'] => Some(()),
        [b'k' | b'm' | b'g' | b't' | b'p', b'i', b'b'] => Some(()),
        _ => None,
    }
}

/// Go `strconv.ParseFloat(s, 64)` for what `RAMInBytes` can hand it (digits, dots, signs, `e`,
/// `inf`, `nan`): Rust's parser accepts the same decimal forms.
fn go_parse_float(s: &str) -> Option<f64> {
    s.parse::<f64>().ok()
}

enum Segment {
    Key(String),
    Index(usize),
}

fn dotted(segments: &[Segment]) -> String {
    let parts: Vec<String> = segments
        .iter()
        .map(|s| match s {
            Segment::Key(k) => k.clone(),
            Segment::Index(i) => i.to_string(),
        })
        .collect();
    parts.join(".")
}

/// compose-go `getMostSpecificError`: down `oneOf`/`anyOf` to the cause deepest in the
/// document (an unknown key counting one deeper), the first of equals.
fn most_specific<'e>(error: &'e ValidationError<'e>) -> &'e ValidationError<'e> {
    let context = match error.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            context
        }
        _ => return error,
    };
    let mut best: Option<(usize, &ValidationError<'_>)> = None;
    for cause in context.iter().flatten() {
        let cause = most_specific(cause);
        let depth = specificity(cause);
        if best.is_none_or(|(d, _)| depth > d) {
            best = Some((depth, cause));
        }
    }
    best.map_or(error, |(_, e)| e)
}

fn specificity(error: &ValidationError<'_>) -> usize {
    let depth = error.instance_path().iter().count();
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { .. } => depth + 1,
        _ => depth,
    }
}

/// compose-go `humanReadableType`: `object` is a mapping; several are sorted, `a, b or c`.
fn human_types(kind: &TypeKind) -> String {
    let name = |t: &dyn std::fmt::Display| match t.to_string().as_str() {
        "object" => "mapping".to_owned(),
        other => other.to_owned(),
    };
    let mut names: Vec<String> = match kind {
        TypeKind::Single(t) => vec![name(t)],
        TypeKind::Multiple(set) => set.iter().map(|t| name(&t)).collect(),
    };
    names.sort();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

/// The node at `segments`, walked as [`to_json`] builds the document.
fn locate<'v>(mut node: &'v Value, segments: &[Segment]) -> Option<&'v Value> {
    let mut path: Vec<&str> = Vec::new();
    for segment in segments {
        node = match (segment, &node.kind) {
            (Segment::Key(k), ValueKind::Map(m)) => {
                let (key, e) = m.get_key_value(k.as_str())?;
                path.push(key);
                &e.value
            }
            (Segment::Index(i), ValueKind::Seq(items)) => {
                let item = kept(items, &path).into_iter().nth(*i)?;
                path.push("[]");
                item
            }
            _ => return None,
        };
    }
    Some(node)
}

/// The lists compose-go's `EnforceUnicity` makes unique before it validates (`override/uncity.go`):
/// `Some(true)` where each entry is keyed by the `KEY` of `KEY=VALUE`, `Some(false)` where by the
/// entry as written (ports, `expose`, `env_file`); `volumes` are made unique by the loader itself.
/// A `match` rather than a table of patterns: it runs for every list of every document.
fn unique_list(path: &[&str]) -> Option<bool> {
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

/// The items of a list as compose validates them: `!reset` items left out and, in the lists of
/// [`unique_list`], a later entry with the key of an earlier one put in its place.
fn kept<'v>(items: &'v [Value], path: &[&str]) -> Vec<&'v Value> {
    let items = items.iter().filter(|v| !is_reset(v));
    let Some(key_value) = unique_list(path) else {
        return items.collect();
    };
    let mut out: Vec<&Value> = Vec::new();
    let mut index: foldhash::HashMap<&str, usize> = foldhash::HashMap::default();
    for item in items {
        let key = match &item.kind {
            ValueKind::Scalar { text, .. } if key_value => {
                Some(text.split_once('=').map_or(text.as_str(), |(k, _)| k))
            }
            ValueKind::Scalar { text, .. } => Some(text.as_str()),
            _ => None,
        };
        match key.and_then(|k| index.get(k).map(|&j| (k, j))) {
            Some((_, j)) => out[j] = item,
            None => {
                if let Some(k) = key {
                    index.insert(k, out.len());
                }
                out.push(item);
            }
        }
    }
    out
}

fn is_reset(v: &Value) -> bool {
    v.tag == Some(MergeTag::Reset)
}

/// The value tree as the JSON compose validates: scalars typed as go-yaml types plain scalars,
/// strings at cast paths cast (a failure is a violation, and the string stays), `!reset` nodes
/// left out (compose removes them while decoding).
fn to_json<'a>(
    v: &'a Value,
    path: &mut Vec<&'a str>,
    out: &mut Vec<Violation>,
    sizes: &mut Vec<Violation>,
    touched: Option<&Touched>,
) -> Json {
    match &v.kind {
        ValueKind::Null => Json::Null,
        ValueKind::Scalar { text, plain } => {
            let typed = if *plain {
                yaml_scalar(text)
            } else {
                Json::String(text.to_string())
            };
            let json = match (&typed, cast_for(path)) {
                (Json::String(s), Some(cast)) => match cast(s) {
                    Ok(j) => j,
                    Err(reason) => {
                        out.push(Violation {
                            loc: v.loc,
                            path: path.join("."),
                            problem: SchemaProblem::Cast { reason },
                        });
                        typed
                    }
                },
                _ => typed,
            };
            // Strings at byte-size fields that `units.RAMInBytes` refuses, reported after the
            // schema's own violations.
            if let Json::String(s) = &json
                && is_size(path)
                && ram_in_bytes(s).is_none()
            {
                sizes.push(Violation {
                    loc: v.loc,
                    path: path.join("."),
                    problem: SchemaProblem::Size { value: s.clone() },
                });
            }
            json
        }
        ValueKind::Seq(items) => {
            let kept = kept(items, path);
            let mut arr = Vec::with_capacity(kept.len());
            for item in kept {
                path.push("[]");
                arr.push(to_json(item, path, out, sizes, None));
                path.pop();
            }
            Json::Array(arr)
        }
        ValueKind::Map(m) => {
            let mut obj = JsonMap::new();
            let depends_on = matches!(path.as_slice(), ["services", s, "depends_on"] if *s != "[]");
            let only = match (touched, path.as_slice()) {
                (Some(t), []) => Some(&t.keys),
                (Some(t), ["services"]) => Some(&t.services),
                _ => None,
            };
            let depth = path.len();
            let wanted = |k: &CompactString| only.is_none_or(|o| o.contains(k.as_str()));
            for (k, e) in m.iter().filter(|(k, e)| !is_reset(&e.value) && wanted(k)) {
                // A list item the merge made a key (its value written nowhere, so placed on the
                // item): compose-go's `mergeDependsOn` gives it the default condition.
                let json = if depends_on && e.value.is_null() && e.value.loc == e.key_loc {
                    serde_json::json!({"condition": "service_started", "required": true})
                } else {
                    path.push(k);
                    let json = to_json(&e.value, path, out, sizes, touched.filter(|_| depth < 1));
                    path.pop();
                    json
                };
                obj.insert(k.to_string(), json);
            }
            Json::Object(obj)
        }
    }
}

/// go-yaml v3's resolution of a plain scalar when decoding into `interface{}`: booleans of YAML
/// 1.2, integers (`_` ignored, `0x`/`0o`/`0b`/leading-`0` bases), floats (`.inf`, `.nan`);
/// timestamps stay strings. Infinity and NaN, which JSON cannot hold, become the largest float.
fn yaml_scalar(text: &str) -> Json {
    match text {
        "true" | "True" | "TRUE" => return Json::Bool(true),
        "false" | "False" | "FALSE" => return Json::Bool(false),
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" | "-.inf" | "-.Inf" | "-.INF"
        | ".nan" | ".NaN" | ".NAN" => {
            return Json::Number(Number::from_f64(f64::MAX).expect("finite"));
        }
        _ => {}
    }
    let first = text.as_bytes().first().copied().unwrap_or(b'x');
    if !(first.is_ascii_digit() || matches!(first, b'-' | b'+' | b'.')) {
        return Json::String(text.to_owned());
    }
    let plain = text.replace('_', "");
    if let Some(i) = go_parse_int(&plain) {
        return Json::Number(i.into());
    }
    if yaml_style_float(&plain)
        && let Ok(f) = plain.parse::<f64>()
        && let Some(n) = Number::from_f64(f)
    {
        return Json::Number(n);
    }
    Json::String(text.to_owned())
}

/// Go `strconv.ParseInt(s, 0, 64)`: sign, then `0x`, `0o`, `0b`, a leading `0` (octal) or decimal.
fn go_parse_int(s: &str) -> Option<i64> {
    let (negative, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = digits.to_ascii_lowercase();
    let (radix, body) = if let Some(b) = lower.strip_prefix("0x") {
        (16, b)
    } else if let Some(b) = lower.strip_prefix("0o") {
        (8, b)
    } else if let Some(b) = lower.strip_prefix("0b") {
        (2, b)
    } else if lower.len() > 1 && lower.starts_with('0') {
        (8, &lower[1..])
    } else {
        (10, lower.as_str())
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

type Cast = fn(&str) -> Result<Json, String>;

/// compose-go `interpolateTypeCastMapping` (a name stands for any key, not a list item). A
/// `match` rather than a table of patterns: it runs for every scalar of every document.
fn cast_for(path: &[&str]) -> Option<Cast> {
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

/// Go `strconv.Atoi` / `ParseInt(s, 10, 64)`: an optional sign and decimal digits.
fn to_int(s: &str) -> Result<Json, String> {
    let digits = s.strip_prefix(['-', '+']).unwrap_or(s);
    match s.parse::<i64>() {
        Ok(i) if !digits.is_empty() && digits.bytes().all(|c| c.is_ascii_digit()) => {
            Ok(Json::Number(i.into()))
        }
        _ => Err(format!("strconv.Atoi: parsing \"{s}\": invalid syntax")),
    }
}

/// Go `strconv.ParseFloat`.
fn to_float(s: &str) -> Result<Json, String> {
    match s.parse::<f64>() {
        Ok(f) => {
            Ok(Json::Number(Number::from_f64(f).unwrap_or_else(|| {
                Number::from_f64(f64::MAX).expect("finite")
            })))
        }
        Err(_) => Err(format!(
            "strconv.ParseFloat: parsing \"{s}\": invalid syntax"
        )),
    }
}

/// compose-go `toBoolean`: YAML 1.1 spellings too, case-insensitive.
fn to_bool(s: &str) -> Result<Json, String> {
    match s.to_lowercase().as_str() {
        "true" | "y" | "yes" | "on" => Ok(Json::Bool(true)),
        "false" | "n" | "no" | "off" => Ok(Json::Bool(false)),
        _ => Err(format!("invalid boolean: {s}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_typed_as_go_yaml_types_them() {
        assert_eq!(yaml_scalar("5"), Json::from(5));
        assert_eq!(yaml_scalar("0x1F"), Json::from(31));
        assert_eq!(yaml_scalar("017"), Json::from(15));
        assert_eq!(yaml_scalar("1_000"), Json::from(1000));
        assert_eq!(yaml_scalar("1.5e3"), Json::from(1500.0));
        assert_eq!(yaml_scalar("True"), Json::Bool(true));
        assert_eq!(yaml_scalar("yes"), Json::from("yes"));
        assert_eq!(yaml_scalar("2001-12-14"), Json::from("2001-12-14"));
        assert_eq!(yaml_scalar("80:80"), Json::from("80:80"));
        assert_eq!(yaml_scalar("1e"), Json::from("1e"));
    }

    #[test]
    fn ports_as_docker_parses_them() {
        for ok in [
            "80",
            "8080:80",
            "127.0.0.1:8080:80/udp",
            "[::1]:80:80",
            "8000-8010:80",
            "80/sctp",
            "1-2:3-4",
        ] {
            assert_eq!(parse_port_spec(ok), Ok(()), "{ok}");
        }
        for (bad, why) in [
            ("99999", "invalid containerPort: 99999"),
            ("x:80", "invalid hostPort: x"),
            ("80/xyz", "invalid proto: xyz"),
            ("1.2.3:80:80", "invalid IP address: 1.2.3"),
            (
                "1-3:5-6",
                "invalid ranges specified for container and host Ports: 5-6 and 1-3",
            ),
            ("80:", "no port specified: 80:<empty>"),
        ] {
            assert_eq!(parse_port_spec(bad), Err(why.to_owned()), "{bad}");
        }
    }

    #[test]
    fn sizes_as_go_units_parses_them() {
        for ok in ["1g", "512m", "1.5GiB", "100", "10 kb", "2b"] {
            assert!(ram_in_bytes(ok).is_some(), "{ok}");
        }
        for bad in ["lots", "-1m", "1x", "1kbb", "m", ""] {
            assert!(ram_in_bytes(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn casts_match_compose_paths() {
        assert!(cast_for(&["services", "web", "read_only"]).is_some());
        assert!(cast_for(&["services", "web", "ports", "[]", "target"]).is_some());
        assert!(cast_for(&["services", "web", "ports", "[]"]).is_none());
        assert!(cast_for(&["services", "web", "ulimits", "nofile", "soft"]).is_some());
        assert!(cast_for(&["services", "[]", "read_only"]).is_none());
        assert!(cast_for(&["volumes", "data", "external"]).is_some());
        assert_eq!(unique_list(&["services", "web", "ports"]), Some(false));
        assert_eq!(unique_list(&["services", "web", "environment"]), Some(true));
        assert_eq!(unique_list(&["services", "web", "volumes"]), None);
        assert!(is_size(&[
            "services",
            "web",
            "deploy",
            "resources",
            "limits",
            "memory"
        ]));
        assert!(!is_size(&["services", "web", "memory"]));
        assert_eq!(to_bool("On"), Ok(Json::Bool(true)));
        assert!(to_bool("maybe").is_err());
        assert!(to_int("two").is_err());
        assert!(to_int("0x10").is_err());
    }
}
