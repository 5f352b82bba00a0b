//! `invalid-compose`: what compose rejects about the shape of the project — wrong types, unknown
//! keys, compose v1 files, bad interpolation, missing or circular references, unreadable files.

use super::similar::edit_distance;
use super::{Category, Context, FixAvailability, Rule, RuleMeta, problems};
use crate::compose::loader::SERVICE_KEYS;
use crate::compose::model::{Issue, Problem, ProblemKind, ReadFailure};
use crate::finding::{Finding, Severity};
use crate::yaml::value::ValueErrorKind;

pub(crate) struct InvalidCompose;

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
            let d = describe(problem);
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
    service: Option<&str>,
) -> Described {
    Described {
        message: message.into(),
        help: help.into(),
        service: service.map(str::to_owned),
        related_label: None,
    }
}

const GENERIC_HELP: &str =
    "fix the value at this position: compose refuses the project as long as it is there";
const KEYS_HELP: &str = "remove it or fix its spelling; custom keys must start with `x-`";
const BOOLEAN_HELP: &str = "write `true` or `false`";
const SET_VARIABLE_HELP: &str = "set the variable in the environment or in the project's `.env`";

/// The loader's problem in the catalogue's style, with the remedy.
fn describe(problem: &Problem) -> Described {
    use Issue::*;
    let service = problem.issue.service();
    // The loader's own words (compose's), for the problems the catalogue words the same way.
    let said = || lower_first(clean(&problem.message));
    match &problem.issue {
        UnknownTopLevelKey {
            key,
            no_services: true,
        } => described(
            format!("top-level key `{key}` is not allowed: this looks like a compose v1 file"),
            format!(
                "move `{key}` and the other services under a top-level `services:` key (compose no longer reads the v1 format)"
            ),
            None,
        ),
        UnknownTopLevelKey { key, .. } => described(
            format!("top-level key `{key}` is not allowed"),
            "the top level holds `services`, `volumes`, `networks`, `configs`, `secrets`, `models`, `include`, `name`; custom keys must start with `x-`",
            None,
        ),
        UnknownServiceKey { key, .. } => {
            let help = match suggest_service_key(key) {
                Some(s) => format!(
                    "did you mean `{s}`? compose knows no service key `{key}`; custom keys must start with `x-`"
                ),
                None => KEYS_HELP.to_owned(),
            };
            described(format!("unknown service key `{key}`"), help, service)
        }
        UnknownVolumeEntryKey { index, key, .. } => described(
            format!("key `{key}` is not allowed in `volumes.{index}`"),
            "a long-syntax volume takes `type`, `source`, `target`, `read_only`, `consistency`, `bind`, `volume`, `tmpfs`, `image`; custom keys must start with `x-`",
            service,
        ),
        VolumeEntryWithoutType { .. } => described(
            "long-syntax volume has no `type`",
            "add `type: volume` (named volume), `type: bind` (host path) or `type: tmpfs`",
            service,
        ),
        SectionNotMapping { section, actual } => {
            let help = match *section {
                "volumes" => "declare volumes as a mapping: `volumes:` followed by one indented `name:` line per volume".to_owned(),
                "services" => "declare services as a mapping: `services:` followed by one indented `name:` block per service".to_owned(),
                _ => format!("write `{section}` as a mapping"),
            };
            described(
                format!("`{section}` must be a mapping, not {actual}"),
                help,
                None,
            )
        }
        ServiceNotMapping {
            service: name,
            actual,
        } => described(
            format!("a service definition must be a mapping, not {actual}"),
            format!("write `services.{name}` as a mapping"),
            service,
        ),
        VolumeNotMapping { key, actual } => described(
            format!("`volumes.{key}` must be a mapping or empty, not {actual}"),
            "leave the volume empty (`name:`) or give it a mapping of options (`driver`, `driver_opts`, `external`, `labels`, `name`)",
            None,
        ),
        ServiceVolumesNotList { actual, .. } => described(
            format!("`volumes` must be a list, not {actual}"),
            "write the service's volumes as a list: one `- source:target` line per mount",
            service,
        ),
        VolumeEntryWrongType { actual, .. } => described(
            format!("a volume entry must be a string or a mapping, not {actual}"),
            "write the volume as a string (`pgdata:/var/lib/postgresql/data`) or a long-syntax mapping with `type`, `source`, `target`",
            service,
        ),
        // Worded as the other "must be … not …" problems are.
        Value {
            kind: ValueErrorKind::KeyNotString,
            ..
        } => described(
            "`mapping keys` must be strings, not collections",
            "write `mapping keys` as strings",
            None,
        ),
        TmpfsEntryNotString { .. } => described(
            "entries of `tmpfs` must be strings",
            "write each entry as a string such as `/run` or `/tmp:size=64m`",
            service,
        ),
        VolumeReadOnlyNotBoolean { .. } => described(
            "`read_only` of a volume entry must be a boolean",
            BOOLEAN_HELP,
            service,
        ),
        ExternalNotBoolean { key } => described(
            format!("`volumes.{key}.external` must be a boolean"),
            BOOLEAN_HELP,
            None,
        ),
        TargetMountedTwice { target, .. } => Described {
            related_label: Some("first mounted here"),
            ..described(
                format!("target `{target}` is mounted twice once compose cleans the paths"),
                "remove one of the two entries, or write both targets the same way so the later one replaces the earlier as intended",
                service,
            )
        },
        TmpfsAndVolume { target, .. } => described(
            format!("target `{target}` is mounted by both `volumes` and `tmpfs`"),
            "keep one of the two mounts: compose refuses two mounts on one container path",
            service,
        ),
        NoImageNorBuild { service: name } => described(
            format!("service `{name}` has neither an image nor a build context"),
            "add `image:` with the image to run (a string such as `nginx:1.27`), or `build:` with the directory holding its Dockerfile",
            service,
        ),
        UndefinedNetwork { network, .. } => described(
            format!("network `{network}` is not declared"),
            format!("declare it under a top-level `networks:` key (`{network}:`), or fix its name"),
            service,
        ),
        UndefinedDependency { dependency, .. } => described(
            format!("dependency `{dependency}` is not a service of the project"),
            format!(
                "fix the name, define `{dependency}`, or mark the dependency `required: false`"
            ),
            service,
        ),
        InvalidVolumeName { key } => described(
            format!("volume name `{key}` is not valid"),
            "volume keys may only contain letters, digits, `.`, `_` and `-`; to use another engine name set `name:` on the volume",
            None,
        ),
        ExternalConflict { key, option } => described(
            format!("external volume `{key}` cannot set `{option}`"),
            format!(
                "an external volume is created outside compose: remove `{option}`, or remove `external: true` so compose creates the volume"
            ),
            None,
        ),
        ExternalNameConflict { key } => described(
            format!("volume `{key}` sets both `name` and `external.name`"),
            "keep `name:` with `external: true` and remove `external.name`",
            None,
        ),
        InvalidInterpolation { at, value } => described(
            format!("invalid interpolation in `{}`: `{value}`", relative(at)),
            "write a literal `$` as `$$`, and close every `${` with `}` (`${VAR}`, `${VAR:-default}`)",
            service,
        ),
        RequiredVariable { at, var, tail } if !var.is_empty() => described(
            format!(
                "required variable `{var}`{} (in `{}`)",
                clean(tail),
                relative(at)
            ),
            format!("set `{var}` in the environment or in the project's `.env`"),
            service,
        ),
        RequiredVariable {
            at, tail: reason, ..
        }
        | InterpolatedValueTooLarge { at, reason } => described(
            format!("{} (in `{}`)", clean(reason), relative(at)),
            SET_VARIABLE_HELP,
            service,
        ),
        ExtendsCycle { .. } => described(
            said(),
            "break the cycle: one of the services must define its settings itself instead of extending the other",
            service,
        ),
        ExtendsBaseNotFound {
            service: name,
            base,
            file,
        } => {
            let message = match file {
                Some(_) => format!(
                    "cannot extend service `{name}`: service `{base}` not found in the extended file"
                ),
                None => clean(&problem.message).to_owned(),
            };
            described(
                message,
                format!("fix the name in `extends`, or define the service `{base}` there"),
                service,
            )
        }
        ExtendsWithoutService { service: name } => described(
            format!("`extends` of service `{name}` does not name a service"),
            "add `service:` with the name of the service to extend",
            service,
        ),
        DependencyCycle { cycle } => described(
            format!(
                "dependency cycle: {}",
                cycle
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(" → ")
            ),
            "remove one of the `depends_on` (or `links`, `volumes_from`, `network_mode: service:`) references in the cycle",
            service,
        ),
        IncludeCycle { .. } => described(
            "include cycle: this file is already being included",
            "remove the `include` entry that leads back to an including file",
            None,
        ),
        ImportConflict { section, name } => described(
            format!("`{section}.{name}` is also defined by an included file, differently"),
            "rename one of the two, or remove the local definition and use the included one",
            service,
        ),
        EnvFileNotFound { .. } => described(
            "env file not found",
            "create the file, fix the path, or mark the entry optional with `path:` and `required: false`",
            None,
        ),
        RemoteInclude { .. } => described(
            said(),
            "stowage reads local files only: check the included project from a local copy (`git clone`, `oras pull`), or ignore this error knowingly",
            None,
        ),
        EnvFileUnreadable { path, reason } => described(
            format!(
                "cannot read the env file `{}`: {}",
                file_name(path),
                lower_first(clean(reason))
            ),
            "make the file readable, or pass another one with `--env-file`",
            None,
        ),
        EnvFileInvalid { path, reason } => described(
            format!(
                "env file `{}` is invalid: {}",
                file_name(path),
                clean(reason)
            ),
            "write one `NAME=value` per line; quote values that contain spaces or `#`",
            None,
        ),
        Unreadable {
            why: ReadFailure::Open { reason },
            ..
        } => described(
            format!("cannot open the file: {}", clean(reason)),
            "fix the path (relative paths resolve from the directory of the file that names them), or create the file",
            None,
        ),
        Unreadable {
            why: ReadFailure::Directory,
            ..
        } => described(
            "the path names a directory, not a file",
            "name the compose file itself, not its directory",
            None,
        ),
        Unreadable {
            why: ReadFailure::NotAFile,
            referenced,
            ..
        } => described(
            said(),
            if *referenced {
                "point `include` or `extends` at a regular file: stowage does not read devices, FIFOs or sockets (reading one could block forever or never end)"
            } else {
                "name a regular file: stowage does not read devices, FIFOs or sockets (reading one could block forever or never end); to check a stream, pipe it to `stowage check -`"
            },
            None,
        ),
        Unreadable {
            why: ReadFailure::TooLarge { .. },
            referenced,
            ..
        } => described(
            said(),
            if *referenced {
                "check that `include` or `extends` names a compose file: stowage reads compose files of up to 32 MiB; split a generated file into several joined with `include`"
            } else {
                "check that the path names a compose file: stowage reads compose files of up to 32 MiB; split a generated file into several joined with `include`"
            },
            None,
        ),
        LoadLimit { .. } => described(
            said(),
            "read fewer files through `include` and `extends`: a file extended by every service, or included many times, counts each time; define shared settings once (an anchor, or one service to extend)",
            None,
        ),
        NestedTooDeeply => described(
            said(),
            "flatten the chain of `include` and `extends`: nesting this deep is usually a file that reaches itself through others",
            None,
        ),
        InterpolationLimit => described(
            said(),
            "check the variables the file uses (`.env`, `--env-file`, the environment) for a value that grows out of bounds: interpolation may add at most 1 MiB to a string and 64 MiB to a project",
            None,
        ),
        ExpansionLimit => described(
            said(),
            "expand fewer aliases, merge keys and `extends`: the project multiplies its entries beyond what stowage checks (`docs/robustness.md` lists the limits)",
            None,
        ),
        NotUtf8 { reason, .. } => described(
            clean(reason),
            "save the file as UTF-8 (compose reads nothing else)",
            None,
        ),
        InvalidProjectName { name } => described(
            format!("invalid project name `{name}`"),
            "a project name may hold only lower-case letters, digits, `-` and `_`, and must start with a letter or digit",
            None,
        ),
        EmptyFile => described(
            said(),
            "add a `services:` key with at least one service",
            None,
        ),
        TopLevelNotMapping => described(
            said(),
            "the file must be a mapping with a `services:` key",
            None,
        ),
        EmptyProjectName => described(said(), "set `name:` in the file, or pass `-p NAME`", None),
        Value {
            kind: ValueErrorKind::MergeNotMapping,
            ..
        } => described(
            said(),
            "merge an anchored mapping (`<<: *name`) or a list of them (`<<: [*a, *b]`)",
            None,
        ),
        Value {
            kind: ValueErrorKind::TooLarge,
            ..
        } => described(
            said(),
            "expand fewer aliases: the file multiplies anchors beyond what compose accepts",
            None,
        ),
        IncludeNotList => described(
            said(),
            "write `include:` as a list of paths (`- other.yaml`)",
            None,
        ),
        IncludeEntryWrongType | IncludeEntryWithoutPath => described(
            said(),
            "write each `include` entry as a path, or a mapping with `path:`",
            None,
        ),
        ExtendsWrongType => described(
            said(),
            "write `extends: other` or `extends: {service: other, file: other.yaml}`",
            None,
        ),
        _ => described(said(), GENERIC_HELP, None),
    }
}

/// Text that ends a message, without the trailing spaces and full stops the catalogue drops.
fn clean(text: &str) -> &str {
    text.trim_end().trim_end_matches('.')
}

/// A compose path without its `services.<name>` prefix (`services.db.volumes` → `volumes`).
fn relative(at: &[String]) -> String {
    match at {
        [services, _, rest @ ..] if services == "services" => rest.join("."),
        _ => at.join("."),
    }
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

    fn describe(issue: Issue) -> Described {
        super::describe(&Problem::new(None, issue))
    }

    #[test]
    fn messages_lose_paths_and_compose_suffixes() {
        let d = describe(Issue::NoImageNorBuild {
            service: "web".into(),
        });
        assert_eq!(
            d.message,
            "service `web` has neither an image nor a build context"
        );
        assert_eq!(d.service.as_deref(), Some("web"));
        let d = describe(Issue::Unreadable {
            path: "deploy/other.yaml".into(),
            why: ReadFailure::Open {
                reason: "no such file or directory".into(),
            },
            referenced: true,
        });
        assert_eq!(d.message, "cannot open the file: no such file or directory");
        let d = describe(Issue::EnvFileUnreadable {
            path: "deploy/.env".into(),
            reason: "permission denied".into(),
        });
        assert_eq!(
            d.message,
            "cannot read the env file `.env`: permission denied"
        );
        let d = describe(Issue::SectionNotMapping {
            section: "volumes",
            actual: "a number".into(),
        });
        assert_eq!(d.message, "`volumes` must be a mapping, not a number");
    }

    #[test]
    fn unknown_service_keys_get_a_suggestion() {
        let unknown = |key: &str| {
            describe(Issue::UnknownServiceKey {
                service: "web".into(),
                key: key.into(),
            })
        };
        let d = unknown("volume");
        assert_eq!(d.message, "unknown service key `volume`");
        assert!(d.help.starts_with("did you mean `volumes`?"), "{}", d.help);
        assert!(!unknown("frobnicate").help.contains("did you mean"));
        assert_eq!(suggest_service_key("enviroment"), Some("environment"));
        assert_eq!(suggest_service_key("depends-on"), Some("depends_on"));
    }

    #[test]
    fn refused_files_and_limits_get_their_own_help() {
        let unreadable = |why, referenced| Issue::Unreadable {
            path: "dev.yaml".into(),
            why,
            referenced,
        };
        let too_large = || ReadFailure::TooLarge { size: 40_000_000 };
        for (issue, says) in [
            (
                unreadable(ReadFailure::NotAFile, false),
                "pipe it to `stowage check -`",
            ),
            (
                unreadable(ReadFailure::NotAFile, true),
                "point `include` or `extends` at a regular file",
            ),
            (
                unreadable(too_large(), false),
                "check that the path names a compose file",
            ),
            (
                unreadable(too_large(), true),
                "check that `include` or `extends` names a compose file",
            ),
            (
                Issue::LoadLimit {
                    files: true,
                    referenced: false,
                },
                "read fewer files",
            ),
            (Issue::NestedTooDeeply, "flatten the chain"),
            (
                Issue::InterpolationLimit,
                "a value that grows out of bounds",
            ),
            (Issue::ExpansionLimit, "expand fewer aliases"),
        ] {
            let d = describe(issue.clone());
            assert!(d.help.contains(says), "{issue:?}: {}", d.help);
            assert_ne!(d.help, GENERIC_HELP, "{issue:?}");
        }
    }

    #[test]
    fn interpolation_messages() {
        let d = describe(Issue::RequiredVariable {
            at: vec!["services".into(), "db".into(), "image".into()],
            var: "TAG".into(),
            tail: " is missing a value: set it".into(),
        });
        assert_eq!(
            d.message,
            "required variable `TAG` is missing a value: set it (in `image`)"
        );
        assert_eq!(d.service.as_deref(), Some("db"));
    }
}
