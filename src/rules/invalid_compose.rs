//! `invalid-compose`: what compose rejects about the shape of the project — wrong types, unknown
//! keys, compose v1 files, bad interpolation, missing or circular references, unreadable files.

use super::similar::edit_distance;
use super::{Category, Context, FixAvailability, Rule, RuleMeta, problems};
use crate::compose::model::ProblemKind;
use crate::finding::{Finding, Severity};
use crate::project::SERVICE_KEYS;

pub struct InvalidCompose;

static META: RuleMeta = RuleMeta {
    id: "invalid-compose",
    category: Category::Correctness,
    severity: Severity::Error,
    off_by_default: false,
    fix: FixAvailability::None,
    migrates: false,
    summary: "compose rejects the project: wrong type, unknown key or broken reference",
    what_it_does: "Reports what makes Docker Compose refuse to load the project, outside YAML \
syntax and volume entries: a value of the wrong type (`volumes: 3`, a list where a mapping \
belongs), a key compose does not know (`volume:` for `volumes:`, a compose v1 file with services \
at the top level), invalid `${…}` interpolation or a required variable without a value, a \
service without `image` or `build`, references to networks, services, files or `extends` \
targets that do not exist, dependency and include cycles, and files that cannot be read.",
    why_it_matters: "Compose refuses the whole project: `up`, `down` and `config` all fail, so \
nothing runs and nothing can be migrated. Some of these are silent traps in other tools: a \
misspelt `volume:` key is ignored by YAML-level tools, and the service then runs with no volume \
at all — compose at least refuses it, and this rule says where and why.",
    example: "services:\n  db:\n    image: postgres:16\n    volume:\n      - pgdata:/var/lib/postgresql/data\nvolumes:\n  pgdata:\n",
    fix_safety: "No fix: the intended value cannot be guessed.",
};

impl Rule for InvalidCompose {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        let project = ctx.project;
        for problem in project.errors.iter().filter(|p| {
            matches!(
                p.kind,
                ProblemKind::Invalid
                    | ProblemKind::Reference
                    | ProblemKind::Interpolation
                    | ProblemKind::Io
            )
        }) {
            let Some(loc) = problems::location(project, problem) else {
                continue;
            };
            let d = describe(&problem.message);
            let mut f = Finding::new(META.id, META.severity, loc, d.message, d.help);
            if let Some(service) = d.service {
                f = f.service(&service);
            }
            if let Some(related) = problem.related {
                f = f.label(related, d.related_label.unwrap_or("related definition"));
            }
            out.push(f);
        }
    }
}

struct Described {
    message: String,
    help: String,
    service: Option<String>,
    /// What the problem's secondary place is, when it has one.
    related_label: Option<&'static str>,
}

fn described(
    message: impl Into<String>,
    help: impl Into<String>,
    service: Option<String>,
) -> Described {
    Described {
        message: message.into(),
        help: help.into(),
        service,
        related_label: None,
    }
}

/// The loader's message (compose's wording, sometimes with paths) rewritten in the catalogue's
/// style, with the remedy. Unknown messages keep their text, cleaned up.
fn describe(raw: &str) -> Described {
    let msg = raw.trim().trim_end_matches('.');
    let msg = msg.strip_suffix(": invalid compose project").unwrap_or(msg);

    // compose v1: services at the top level.
    if let Some(rest) = msg.strip_prefix("additional property `") {
        let key = rest.split('`').next().unwrap_or("");
        if msg.contains("compose v1") {
            return described(
                format!("top-level key `{key}` is not allowed: this looks like a compose v1 file"),
                format!(
                    "move `{key}` and the other services under a top-level `services:` key (compose no longer reads the v1 format)"
                ),
                None,
            );
        }
        return described(
            format!("top-level key `{key}` is not allowed"),
            "the top level holds `services`, `volumes`, `networks`, `configs`, `secrets`, `models`, `include`, `name`; custom keys must start with `x-`",
            None,
        );
    }
    // services.<name> additional property `<key>` is not allowed
    if let Some((path, key)) = additional_property(msg) {
        let service = service_of_path(path);
        if let Some(service) = &service
            && path == format!("services.{service}")
        {
            let help = match suggest_service_key(key) {
                Some(s) => format!(
                    "did you mean `{s}`? compose knows no service key `{key}`; custom keys must start with `x-`"
                ),
                None => {
                    "remove it or fix its spelling; custom keys must start with `x-`".to_owned()
                }
            };
            return described(
                format!("unknown service key `{key}`"),
                help,
                Some(service.clone()),
            );
        }
        let help = if path.contains(".volumes.") {
            "a long-syntax volume takes `type`, `source`, `target`, `read_only`, `consistency`, `bind`, `volume`, `tmpfs`, `image`; custom keys must start with `x-`"
        } else {
            "remove it or fix its spelling; custom keys must start with `x-`"
        };
        return described(
            format!("key `{key}` is not allowed in `{}`", relative(path)),
            help,
            service,
        );
    }
    if let Some(path) = msg.strip_suffix(" missing property `type`") {
        return described(
            "long-syntax volume has no `type`",
            "add `type: volume` (named volume), `type: bind` (host path) or `type: tmpfs`",
            service_of_path(path),
        );
    }
    // `<section>` must be a mapping, not a number / services.x.volumes must be a list, not …
    if let Some((subject, expected, actual)) = must_be(msg) {
        let path = subject.trim_matches('`');
        let service = service_of_path(path);
        let help = type_help(path, expected);
        let subject = match relative(path) {
            "" => "a service definition".to_owned(),
            rel if is_volume_entry(rel) => "a volume entry".to_owned(),
            rel => format!("`{rel}`"),
        };
        return described(
            format!("{subject} must be {expected}, not {actual}"),
            help,
            service,
        );
    }
    if let Some(path) = msg.strip_suffix(" entries must be strings") {
        return described(
            format!("entries of `{}` must be strings", relative(path)),
            "write each entry as a string such as `/run` or `/tmp:size=64m`",
            service_of_path(path),
        );
    }
    if let Some(path) = msg.strip_suffix(" must be a boolean") {
        let rel = relative(path);
        let subject = match rel.rsplit_once('.') {
            Some((entry, field)) if is_volume_entry(entry) => {
                format!("`{field}` of a volume entry")
            }
            _ => format!("`{rel}`"),
        };
        return described(
            format!("{subject} must be a boolean"),
            "write `true` or `false`",
            service_of_path(path),
        );
    }
    if let Some(rest) = msg.strip_prefix("services.")
        && let Some((entry, rest)) = rest.split_once(": target `")
        && rest.contains("is already mounted by")
    {
        let service = entry.split('.').next().unwrap_or("").to_owned();
        let target = rest.split('`').next().unwrap_or("");
        return Described {
            related_label: Some("first mounted here"),
            ..described(
                format!("target `{target}` is mounted twice once compose cleans the paths"),
                "remove one of the two entries, or write both targets the same way so the later one replaces the earlier as intended",
                Some(service),
            )
        };
    }
    if let Some(rest) = msg.strip_prefix("services.")
        && let Some((service, rest)) = rest.split_once(": target `")
    {
        let target = rest.split('`').next().unwrap_or("");
        return described(
            format!("target `{target}` is mounted by both `volumes` and `tmpfs`"),
            "keep one of the two mounts: compose refuses two mounts on one container path",
            Some(service.to_owned()),
        );
    }
    if let Some(rest) = msg.strip_prefix("service \"")
        && let Some((service, rest)) = rest.split_once('"')
    {
        let service = service.to_owned();
        if rest.contains("neither an image nor a build context") {
            return described(
                format!("service `{service}` has neither an image nor a build context"),
                "add `image:` with the image to run (a string such as `nginx:1.27`), or `build:` with the directory holding its Dockerfile",
                Some(service),
            );
        }
        if let Some(net) = rest.strip_prefix(" refers to undefined network ") {
            return described(
                format!("network `{net}` is not declared"),
                format!("declare it under a top-level `networks:` key (`{net}:`), or fix its name"),
                Some(service),
            );
        }
        if let Some(dep) = rest.strip_prefix(" depends on undefined service \"") {
            let dep = dep.trim_end_matches('"');
            return described(
                format!("dependency `{dep}` is not a service of the project"),
                format!("fix the name, define `{dep}`, or mark the dependency `required: false`"),
                Some(service),
            );
        }
    }
    if let Some(rest) = msg.strip_prefix("volume name `") {
        let name = rest.split('`').next().unwrap_or("");
        return described(
            format!("volume name `{name}` is not valid"),
            "volume keys may only contain letters, digits, `.`, `_` and `-`; to use another engine name set `name:` on the volume",
            None,
        );
    }
    if let Some(rest) = msg.strip_prefix("volumes.")
        && let Some((key, rest)) = rest.split_once(": ")
    {
        if rest.starts_with("conflicting parameters") {
            let option = rest.rsplit('"').nth(1).unwrap_or("driver");
            return described(
                format!("external volume `{key}` cannot set `{option}`"),
                format!(
                    "an external volume is created outside compose: remove `{option}`, or remove `external: true` so compose creates the volume"
                ),
                None,
            );
        }
        if rest.starts_with("name and external.name") {
            return described(
                format!("volume `{key}` sets both `name` and `external.name`"),
                "keep `name:` with `external: true` and remove `external.name`",
                None,
            );
        }
    }
    if let Some(rest) = msg.strip_prefix("invalid interpolation format for ")
        && let Some((at, rest)) = rest.split_once(": ")
    {
        let value = rest.split("; ").next().unwrap_or("");
        return described(
            format!("invalid interpolation in `{}`: {value}", relative(at)),
            "write a literal `$` as `$$`, and close every `${` with `}` (`${VAR}`, `${VAR:-default}`)",
            service_of_path(at),
        );
    }
    if let Some(rest) = msg.strip_prefix("error while interpolating ")
        && let Some((at, reason)) = rest.split_once(": ")
    {
        let var = reason
            .strip_prefix("required variable ")
            .and_then(|r| r.split(' ').next())
            .unwrap_or("");
        let reason = match reason.strip_prefix("required variable ") {
            Some(r) => format!("required variable `{var}`{}", &r[var.len()..]),
            None => reason.to_owned(),
        };
        let help = if var.is_empty() {
            "set the variable in the environment or in the project's `.env`".to_owned()
        } else {
            format!("set `{var}` in the environment or in the project's `.env`")
        };
        return described(
            format!("{reason} (in `{}`)", relative(at)),
            help,
            service_of_path(at),
        );
    }
    if let Some(rest) = msg.strip_prefix("circular reference: service `") {
        let service = rest.split('`').next().unwrap_or("").to_owned();
        return described(
            lower_first(msg),
            "break the cycle: one of the services must define its settings itself instead of extending the other",
            Some(service),
        );
    }
    if let Some(rest) = msg.strip_prefix("cannot extend service `") {
        let service = rest.split('`').next().unwrap_or("").to_owned();
        let base = rest.split('`').nth(2).unwrap_or("");
        let message = match msg.find(" not found in ") {
            Some(i) => format!("{} not found in the extended file", &msg[..i]),
            None => msg.to_owned(),
        };
        return described(
            message,
            format!("fix the name in `extends`, or define the service `{base}` there"),
            Some(service),
        );
    }
    if let Some(rest) = msg.strip_prefix("extends.")
        && let Some(service) = rest.strip_suffix(".service is required")
    {
        return described(
            format!("`extends` of service `{service}` does not name a service"),
            "add `service:` with the name of the service to extend",
            Some(service.to_owned()),
        );
    }
    if let Some(cycle) = msg.strip_prefix("dependency cycle detected: ") {
        return described(
            format!(
                "dependency cycle: {}",
                cycle
                    .split(" -> ")
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(" → ")
            ),
            "remove one of the `depends_on` (or `links`, `volumes_from`, `network_mode: service:`) references in the cycle",
            cycle.split(" -> ").next().map(str::to_owned),
        );
    }
    if msg.starts_with("include cycle detected: ") {
        return described(
            "include cycle: this file is already being included",
            "remove the `include` entry that leads back to an including file",
            None,
        );
    }
    if let Some(rest) = msg.strip_suffix(" conflicts with imported resource") {
        return described(
            format!("`{rest}` is also defined by an included file, differently"),
            "rename one of the two, or remove the local definition and use the included one",
            rest.strip_prefix("services.").map(str::to_owned),
        );
    }
    if msg.starts_with("env file ") {
        return described(
            "env file not found",
            "create the file, fix the path, or mark the entry optional with `path:` and `required: false`",
            None,
        );
    }
    if let Some(rest) = msg.strip_prefix("couldn't read env file ") {
        let (path, reason) = rest.split_once(": ").unwrap_or((rest, ""));
        return described(
            format!(
                "cannot read the env file `{}`: {}",
                file_name(path),
                lower_first(reason)
            ),
            "make the file readable, or pass another one with `--env-file`",
            None,
        );
    }
    if let Some(rest) = msg.strip_prefix("failed to read ") {
        let (path, reason) = rest.split_once(": ").unwrap_or((rest, ""));
        return described(
            format!("env file `{}` is invalid: {reason}", file_name(path)),
            "write one `NAME=value` per line; quote values that contain spaces or `#`",
            None,
        );
    }
    if let Some(rest) = msg.strip_prefix("open ") {
        let reason = rest.rsplit(": ").next().unwrap_or(rest);
        return described(
            format!("cannot open the file: {reason}"),
            "fix the path (relative paths resolve from the directory of the file that names them), or create the file",
            None,
        );
    }
    if msg.ends_with(" is a directory") {
        return described(
            "the path names a directory, not a file",
            "name the compose file itself, not its directory",
            None,
        );
    }
    if let Some(help) = limit_help(msg) {
        return described(lower_first(msg), help, None);
    }
    for decode in ["file is not valid UTF-8", "file is encoded as"] {
        if let Some(i) = msg.find(decode) {
            return described(
                msg[i..].to_owned(),
                "save the file as UTF-8 (compose reads nothing else)",
                None,
            );
        }
    }
    if msg.starts_with("invalid project name `") {
        let name = msg.split('`').nth(1).unwrap_or("");
        return described(
            format!("invalid project name `{name}`"),
            "a project name may hold only lower-case letters, digits, `-` and `_`, and must start with a letter or digit",
            None,
        );
    }
    let help = match msg {
        "empty compose file" => "add a `services:` key with at least one service",
        "top-level object must be a mapping" => "the file must be a mapping with a `services:` key",
        "project name must not be empty" => "set `name:` in the file, or pass `-p NAME`",
        "mapping keys must be strings, not collections" => "use a plain string as the key",
        "map merge requires map or sequence of maps as the value" => {
            "merge an anchored mapping (`<<: *name`) or a list of them (`<<: [*a, *b]`)"
        }
        "`include` must be a list" => "write `include:` as a list of paths (`- other.yaml`)",
        "`include` entries must be a path or a mapping with `path`"
        | "`include` entry needs a `path`" => {
            "write each `include` entry as a path, or a mapping with `path:`"
        }
        "`extends` must be a service name or a mapping" => {
            "write `extends: other` or `extends: {service: other, file: other.yaml}`"
        }
        m if m.starts_with("document is too") => {
            "expand fewer aliases: the file multiplies anchors beyond what compose accepts"
        }
        _ => "fix the value at this position: compose refuses the project as long as it is there",
    };
    described(lower_first(msg), help, None)
}

/// Help for a file stowage refuses to read, or a project past one of its limits
/// (docs/robustness.md): what to do about that case, not the generic advice to fix a value.
fn limit_help(msg: &str) -> Option<&'static str> {
    // Named by another file (`include`, `extends`): the message starts with the file's name.
    let referenced = msg.starts_with('`');
    let help = if msg.contains("not a regular file") {
        if referenced {
            "point `include` or `extends` at a regular file: stowage does not read devices, FIFOs or sockets (reading one could block forever or never end)"
        } else {
            "name a regular file: stowage does not read devices, FIFOs or sockets (reading one could block forever or never end); to check a stream, pipe it to `stowage check -`"
        }
    } else if msg.contains("file is too large (") {
        if referenced {
            "check that `include` or `extends` names a compose file: stowage reads compose files of up to 32 MiB; split a generated file into several joined with `include`"
        } else {
            "check that the path names a compose file: stowage reads compose files of up to 32 MiB; split a generated file into several joined with `include`"
        }
    } else if msg.starts_with("project reads too many files")
        || msg.starts_with("project reads too much")
    {
        "read fewer files through `include` and `extends`: a file extended by every service, or included many times, counts each time; define shared settings once (an anchor, or one service to extend)"
    } else if msg.contains("nested too deeply (more than") {
        "flatten the chain of `include` and `extends`: nesting this deep is usually a file that reaches itself through others"
    } else if msg.starts_with("interpolated values are too large")
        || msg.starts_with("the interpolated value is too large")
    {
        "check the variables the file uses (`.env`, `--env-file`, the environment) for a value that grows out of bounds: interpolation may add at most 1 MiB to a string and 64 MiB to a project"
    } else if msg.starts_with("project is too large") {
        "expand fewer aliases, merge keys and `extends`: the project multiplies its entries beyond what stowage checks (`docs/robustness.md` lists the limits)"
    } else {
        return None;
    };
    Some(help)
}

/// `<path> additional property `<key>` is not allowed` → (path, key).
fn additional_property(msg: &str) -> Option<(&str, &str)> {
    let (path, rest) = msg.split_once(" additional property `")?;
    let key = rest.split('`').next()?;
    Some((path, key))
}

/// `<subject> must be <a/an> <expected>, not <actual>`.
fn must_be(msg: &str) -> Option<(&str, &str, &str)> {
    let (subject, rest) = msg.split_once(" must be ")?;
    let (expected, actual) = rest.split_once(", not ")?;
    Some((subject, expected, actual))
}

fn type_help(path: &str, expected: &str) -> String {
    if path == "volumes" {
        return "declare volumes as a mapping: `volumes:` followed by one indented `name:` line per volume".into();
    }
    if path == "services" {
        return "declare services as a mapping: `services:` followed by one indented `name:` block per service".into();
    }
    if path.starts_with("volumes.") {
        return "leave the volume empty (`name:`) or give it a mapping of options (`driver`, `driver_opts`, `external`, `labels`, `name`)".into();
    }
    if path.ends_with(".volumes") {
        return "write the service's volumes as a list: one `- source:target` line per mount"
            .into();
    }
    if path.contains(".volumes.") {
        return "write the volume as a string (`pgdata:/var/lib/postgresql/data`) or a long-syntax mapping with `type`, `source`, `target`".into();
    }
    format!("write `{path}` as {expected}")
}

/// A compose path without its `services.<name>` prefix (`services.db.volumes` → `volumes`).
fn relative(path: &str) -> &str {
    match path.strip_prefix("services.") {
        Some(rest) => rest.split_once('.').map_or("", |(_, r)| r),
        None => path,
    }
}

/// `volumes.0` / `volumes.[]`: one entry of a service's `volumes`.
fn is_volume_entry(rel: &str) -> bool {
    rel.strip_prefix("volumes.").is_some_and(|i| {
        i == "[]"
            || i.trim_matches(['[', ']'])
                .chars()
                .all(|c| c.is_ascii_digit())
    })
}

/// The service a compose path such as `services.db.volumes.0` is about.
fn service_of_path(path: &str) -> Option<String> {
    let rest = path.strip_prefix("services.")?;
    let name = rest.split('.').next()?;
    (!name.is_empty()).then(|| name.to_owned())
}

fn file_name(path: &str) -> &str {
    path.rsplit(['/', '\\']).next().unwrap_or(path)
}

fn lower_first(s: &str) -> String {
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c.is_uppercase() && !chars.clone().next().is_some_and(char::is_uppercase) => {
            c.to_lowercase().chain(chars).collect()
        }
        _ => s.to_owned(),
    }
}

/// The service key `key` is probably a misspelling of: one or two edits away (fewer for short
/// keys), the closest first.
fn suggest_service_key(key: &str) -> Option<&'static str> {
    let normalised = key.replace('-', "_").to_lowercase();
    let chars = normalised.chars().count();
    SERVICE_KEYS
        .iter()
        .copied()
        .filter(|k| {
            let most = 2.min(k.len() / 3 + 1);
            // Keys are ASCII; the distance is at least the difference in length.
            *k == normalised
                || (k.len().abs_diff(chars) <= most && edit_distance(k, &normalised) <= most)
        })
        .min_by_key(|k| edit_distance(k, &normalised))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_lose_paths_and_compose_suffixes() {
        let d = describe(
            "service \"web\" has neither an image nor a build context specified: invalid compose project",
        );
        assert_eq!(
            d.message,
            "service `web` has neither an image nor a build context"
        );
        assert_eq!(d.service.as_deref(), Some("web"));
        let d = describe("open deploy/other.yaml: no such file or directory");
        assert_eq!(d.message, "cannot open the file: no such file or directory");
        let d = describe("couldn't read env file deploy/.env: permission denied");
        assert_eq!(
            d.message,
            "cannot read the env file `.env`: permission denied"
        );
        let d = describe("`volumes` must be a mapping, not a number");
        assert_eq!(d.message, "`volumes` must be a mapping, not a number");
    }

    #[test]
    fn unknown_service_keys_get_a_suggestion() {
        let d = describe("services.web additional property `volume` is not allowed");
        assert_eq!(d.message, "unknown service key `volume`");
        assert!(d.help.starts_with("did you mean `volumes`?"), "{}", d.help);
        let d = describe("services.web additional property `frobnicate` is not allowed");
        assert!(!d.help.contains("did you mean"));
        assert_eq!(suggest_service_key("enviroment"), Some("environment"));
        assert_eq!(suggest_service_key("depends-on"), Some("depends_on"));
    }

    #[test]
    fn refused_files_and_limits_get_their_own_help() {
        let generic = describe("something unknown").help;
        for (msg, says) in [
            (
                "not a regular file (a device, FIFO or socket)",
                "pipe it to `stowage check -`",
            ),
            (
                "`dev.yaml` is not a regular file (a device, FIFO or socket)",
                "point `include` or `extends` at a regular file",
            ),
            (
                "file is too large (40000000 bytes; stowage reads compose files of up to 32 MiB)",
                "check that the path names a compose file",
            ),
            (
                "`big.yaml`: file is too large (40000000 bytes; stowage reads compose files of up to 32 MiB)",
                "check that `include` or `extends` names a compose file",
            ),
            (
                "project reads too many files (more than 2000, counting each `extends` and `include`)",
                "read fewer files",
            ),
            (
                "`include` and `extends` of other files are nested too deeply (more than 64 levels)",
                "flatten the chain",
            ),
            (
                "interpolated values are too large (more than 64 MiB in all)",
                "a value that grows out of bounds",
            ),
            (
                "project is too large (`extends`, alias or merge-key expansion)",
                "expand fewer aliases",
            ),
        ] {
            let d = describe(msg);
            assert!(d.help.contains(says), "{msg}: {}", d.help);
            assert_ne!(d.help, generic, "{msg}");
        }
    }

    #[test]
    fn interpolation_messages() {
        let d = describe(
            "error while interpolating services.db.image: required variable TAG is missing a value: set it",
        );
        assert_eq!(
            d.message,
            "required variable `TAG` is missing a value: set it (in `image`)"
        );
        assert_eq!(d.service.as_deref(), Some("db"));
    }
}
