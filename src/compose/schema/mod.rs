//! compose's JSON schema, applied as compose applies it: the compose-spec schema that Docker
//! Compose v2.40.3 embeds (`data/compose-spec.json`, vendored with its licence and source commit,
//! compiled at build time and interpreted by [`validator`]) checked against the value tree, with
//! YAML scalars typed as go-yaml types them and the strings at compose's cast paths converted
//! first (compose-go's `interpolateTypeCastMapping`, which casts every string there, interpolated
//! or not; [`instance`]). Each violation comes back with the position of the
//! node it is about, and each `oneOf`/`anyOf` failure narrowed to its most specific cause as
//! compose-go's `getMostSpecificError` does. Then the two checks compose makes while it turns
//! the validated tree into its types, which the schema leaves to them: short-syntax ports
//! (`transform.Canonical`, Docker's `nat.ParsePortSpec`) and byte sizes (`units.RAMInBytes`).

mod head;
mod instance;
mod validator;

use crate::compose::loader::problem::SchemaProblem;
use crate::yaml::value::{Loc, Value, ValueKind};
use instance::{Document, Kind};
pub(crate) use instance::{cast_failures, size_failures};
use validator::{ErrorKind, SchemaError, Segment};

/// One thing the schema (or a cast before it) refuses: `path` is compose's dotted path of the
/// node, `loc` where it is written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Violation {
    pub(crate) loc: Loc,
    pub(crate) path: String,
    pub(crate) problem: SchemaProblem,
}

/// What of the merged model a document can have changed: its top-level keys and its services.
/// The rest was validated when it was merged (and validating all of it again after each of
/// thousands of documents would be quadratic).
pub(crate) struct Touched<'a> {
    pub(crate) keys: foldhash::HashSet<&'a str>,
    pub(crate) services: foldhash::HashSet<&'a str>,
}

/// Every violation of the schema by the `touched` part of `dict` (a top-level mapping): the
/// schema's errors in jsonschema's order, then the ports.
pub(crate) fn check(dict: &Value, touched: &Touched) -> Vec<Violation> {
    let mut out = Vec::new();
    // The casts that fail are reported per document before it is merged ([`cast_failures`]),
    // the byte sizes on the whole project at the end ([`size_failures`]).
    let doc = instance::build(dict, Some(touched));
    // Most documents are valid: the yes-or-no walk is cheaper than collecting errors.
    if !validator::valid_document(&doc) {
        for error in &validator::errors(&doc) {
            report(most_specific(error), &mut out);
        }
    }
    check_ports(&doc, &mut out);
    out
}

/// What compose's decoder (mapstructure, into a `uint32`) refuses of a number-or-string the
/// schema let through: every string, however numeric, and every negative number. Too large a
/// number wraps silently, as in compose.
pub(crate) fn uint32_refusal(v: &Value) -> Option<String> {
    let ValueKind::Scalar { text, plain } = &v.kind else {
        return None;
    };
    let typed = if *plain {
        instance::yaml_scalar(text)
    } else {
        Kind::Str(text)
    };
    match typed {
        Kind::Str(_) => Some("expected type 'uint32', got unconvertible type 'string'".into()),
        Kind::Int(i) if i < 0 => Some(format!(
            "cannot parse value as 'uint32': {i} overflows uint"
        )),
        Kind::Float(f) if f < 0.0 => Some(format!(
            "cannot parse value as 'uint32': {f:.6} overflows uint"
        )),
        _ => None,
    }
}

/// For tests/schema_differential.rs: the whole of `dict` as the JSON the schema is checked
/// against, the quick verdict on it, and the schema's errors as `path: problem`, the most specific
/// cause of each, in order (no casts, ports or sizes).
#[doc(hidden)]
pub fn differential(dict: &Value) -> (serde_json::Value, bool, Vec<String>) {
    let doc = instance::build(dict, None);
    let mut out = Vec::new();
    for error in &validator::errors(&doc) {
        report(most_specific(error), &mut out);
    }
    let errors = out
        .into_iter()
        .map(|v| match v.problem {
            SchemaProblem::Type { want } => format!("{}: must be a {want}", v.path),
            SchemaProblem::Property { key } => format!("{}: additional property {key}", v.path),
            SchemaProblem::Other { message } => format!("{}: {message}", v.path),
            other => format!("{}: {other:?}", v.path),
        })
        .collect();
    (
        doc.to_json(&doc.root),
        validator::valid_document(&doc),
        errors,
    )
}

/// The violations of one error: one per unknown key, at the key. What compose adds itself (the
/// default condition of a `depends_on` item) is written nowhere: nothing to report there.
fn report(error: &SchemaError<'_, '_>, out: &mut Vec<Violation>) {
    let Some(loc) = error.node.loc else { return };
    let path = dotted(&error.path);
    match &error.kind {
        ErrorKind::Additional(unexpected) => {
            for m in unexpected {
                out.push(Violation {
                    loc: m.key_loc.unwrap_or(loc),
                    path: path.clone(),
                    problem: SchemaProblem::Property {
                        key: m.key.to_owned(),
                    },
                });
            }
        }
        ErrorKind::Type(types) => out.push(Violation {
            loc,
            path,
            problem: SchemaProblem::Type {
                want: human_types(*types),
            },
        }),
        ErrorKind::OneOfNone(_) => out.push(Violation {
            loc,
            path,
            problem: SchemaProblem::Other {
                message: "value is not valid under any of the schemas listed in the 'oneOf' \
                          keyword"
                    .to_owned(),
            },
        }),
        ErrorKind::Message(message) => out.push(Violation {
            loc,
            path,
            problem: SchemaProblem::Other {
                message: message.clone(),
            },
        }),
    }
}

/// Short-syntax `ports` entries (numbers and strings) that Docker's port parser refuses, the
/// services by name (the order of the JSON compose validates).
fn check_ports(doc: &Document<'_>, out: &mut Vec<Violation>) {
    let Some(&Kind::Object(services)) = doc.member(&doc.root, "services").map(|s| &s.kind) else {
        return;
    };
    let mut services: Vec<_> = doc.members(services).iter().collect();
    services.sort_by(|a, b| a.key.cmp(b.key));
    for service in services {
        let Some(&Kind::Array(ports)) = doc.member(&service.value, "ports").map(|p| &p.kind) else {
            continue;
        };
        for (i, port) in doc.items(ports).iter().enumerate() {
            let spec = match port.kind {
                Kind::Str(s) => s.to_owned(),
                Kind::Int(n) => n.to_string(),
                _ => continue,
            };
            if let Err(reason) = parse_port_spec(&spec)
                && let Some(loc) = port.loc
            {
                out.push(Violation {
                    loc,
                    path: format!("services.{}.ports.{i}", service.key),
                    problem: SchemaProblem::Port { reason },
                });
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

/// Whether a path of [`is_size`] is below `path` (kept beside it: a size path added there needs
/// its prefixes here).
fn size_within(path: &[&str]) -> bool {
    match path {
        [] | ["services"] => true,
        ["services", name, rest @ ..] if *name != "[]" => matches!(
            rest,
            [] | ["build" | "deploy" | "volumes"]
                | ["deploy", "resources"]
                | ["deploy", "resources", "limits" | "reservations"]
                | ["volumes", "[]"]
                | ["volumes", "[]", "tmpfs"]
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

fn dotted(segments: &[Segment<'_>]) -> String {
    let mut out = String::new();
    for (i, s) in segments.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        match s {
            Segment::Key(k) => out.push_str(k),
            Segment::Index(i) => out.push_str(&i.to_string()),
        }
    }
    out
}

/// compose-go `getMostSpecificError`: down `oneOf` to the cause deepest in the document (an
/// unknown key counting one deeper), the first of equals.
fn most_specific<'e, 'v, 'a>(error: &'e SchemaError<'v, 'a>) -> &'e SchemaError<'v, 'a> {
    let ErrorKind::OneOfNone(causes) = &error.kind else {
        return error;
    };
    let mut best: Option<(usize, &SchemaError<'_, '_>)> = None;
    for cause in causes {
        let cause = most_specific(cause);
        let depth = specificity(cause);
        if best.is_none_or(|(d, _)| depth > d) {
            best = Some((depth, cause));
        }
    }
    best.map_or(error, |(_, e)| e)
}

fn specificity(error: &SchemaError<'_, '_>) -> usize {
    match error.kind {
        ErrorKind::Additional(_) => error.path.len() + 1,
        _ => error.path.len(),
    }
}

/// compose-go `humanReadableType`: `object` is a mapping; several are sorted, `a, b or c`.
fn human_types(types: u8) -> String {
    use validator::{ARRAY, BOOLEAN, INTEGER, NULL, NUMBER, OBJECT, STRING};
    // Sorted by the names shown.
    let all = [
        (ARRAY, "array"),
        (BOOLEAN, "boolean"),
        (INTEGER, "integer"),
        (OBJECT, "mapping"),
        (NULL, "null"),
        (NUMBER, "number"),
        (STRING, "string"),
    ];
    let names: Vec<&str> = all
        .iter()
        .filter(|(bit, _)| types & bit != 0)
        .map(|(_, name)| *name)
        .collect();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

#[cfg(test)]
mod tests {
    use super::instance::{cast_for, cast_within, kept, to_bool, to_int, unique_list, yaml_scalar};
    use super::*;

    #[test]
    fn scalars_are_typed_as_go_yaml_types_them() {
        assert_eq!(yaml_scalar("5"), Kind::Int(5));
        assert_eq!(yaml_scalar("0x1F"), Kind::Int(31));
        assert_eq!(yaml_scalar("017"), Kind::Int(15));
        assert_eq!(yaml_scalar("1_000"), Kind::Int(1000));
        assert_eq!(yaml_scalar("1.5e3"), Kind::Float(1500.0));
        assert_eq!(yaml_scalar("True"), Kind::Bool(true));
        assert_eq!(yaml_scalar("yes"), Kind::Str("yes"));
        assert_eq!(yaml_scalar("2001-12-14"), Kind::Str("2001-12-14"));
        assert_eq!(yaml_scalar("80:80"), Kind::Str("80:80"));
        assert_eq!(yaml_scalar("1e"), Kind::Str("1e"));
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
        assert_eq!(to_bool("On"), Ok(Kind::Bool(true)));
        assert!(to_bool("maybe").is_err());
        assert!(to_int("two").is_err());
        assert!(to_int("0x10").is_err());
    }

    #[test]
    fn string_checks_are_reached_from_every_prefix() {
        let service = |rest: &str| format!("services.web.{rest}");
        let mut casts: Vec<String> = [
            "cpu_count cpu_period cpu_quota cpu_rt_period cpu_rt_runtime cpu_shares",
            "oom_score_adj pids_limit scale cpu_percent cpus init oom_kill_disable privileged",
            "read_only stdin_open tty deploy.replicas deploy.update_config.parallelism",
            "deploy.rollback_config.parallelism deploy.restart_policy.max_attempts",
            "deploy.placement.max_replicas_per_node deploy.update_config.max_failure_ratio",
            "deploy.rollback_config.max_failure_ratio healthcheck.retries healthcheck.disable",
            "ports.[].target ulimits.nofile ulimits.nofile.hard ulimits.nofile.soft",
            "volumes.[].read_only volumes.[].volume.nocopy",
        ]
        .iter()
        .flat_map(|line| line.split(' '))
        .map(service)
        .collect();
        for key in [
            "external",
            "internal",
            "attachable",
            "enable_ipv4",
            "enable_ipv6",
        ] {
            casts.push(format!("networks.n.{key}"));
        }
        for section in ["volumes", "secrets", "configs"] {
            casts.push(format!("{section}.n.external"));
        }
        let sizes: Vec<String> = [
            "mem_limit mem_reservation memswap_limit mem_swappiness shm_size build.shm_size",
            "deploy.resources.limits.memory deploy.resources.reservations.memory",
            "volumes.[].tmpfs.size",
        ]
        .iter()
        .flat_map(|line| line.split(' '))
        .map(service)
        .collect();
        for path in &casts {
            let path: Vec<&str> = path.split('.').collect();
            assert!(cast_for(&path).is_some(), "{path:?}");
            for n in 0..path.len() {
                assert!(cast_within(&path[..n]), "{path:?} below {n}");
            }
        }
        for path in &sizes {
            let path: Vec<&str> = path.split('.').collect();
            assert!(is_size(&path), "{path:?}");
            for n in 0..path.len() {
                assert!(size_within(&path[..n]), "{path:?} below {n}");
            }
        }
        for elsewhere in ["services.web.environment", "x-base", "services.[]"] {
            let path: Vec<&str> = elsewhere.split('.').collect();
            assert!(!cast_within(&path) && !size_within(&path), "{elsewhere}");
        }
    }

    #[test]
    fn unique_lists_keep_the_last_entry_of_a_key_where_the_first_was() {
        let loc = Loc {
            file: 0,
            start: 0,
            end: 0,
        };
        let scalar = |text: String| {
            let kind = ValueKind::Scalar {
                text: text.into(),
                plain: true,
            };
            Value::new(kind, loc)
        };
        // Twenty keys written twice: past sixteen entries, the earlier ones are found by a hash.
        let items: Vec<Value> = (0..40)
            .map(|i| scalar(format!("K{}={i}", i % 20)))
            .collect();
        let texts = |values: Vec<&Value>| -> Vec<String> {
            values
                .iter()
                .filter_map(|v| v.as_str())
                .map(str::to_owned)
                .collect()
        };
        let expected: Vec<String> = (20..40).map(|i| format!("K{}={i}", i % 20)).collect();
        assert_eq!(texts(kept(&items, true)), expected);
        assert_eq!(texts(kept(&items[..3], true)), ["K0=0", "K1=1", "K2=2"]);
        let ports: Vec<Value> = ["80", "81", "80"].map(|p| scalar(p.to_owned())).into();
        assert_eq!(texts(kept(&ports, false)), ["80", "81"]);
    }
}
