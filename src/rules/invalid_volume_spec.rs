//! `invalid-volume-spec`: a service volume entry compose rejects (empty spec, empty section, too
//! many colons, missing target, unknown type), a bind without source that the engine rejects,
//! and a container path that is not absolute.

use super::similar::edit_distance;
use super::{Category, Context, FixAvailability, Rule, RuleMeta, problems, service_places};
use crate::compose::model::{Issue, Mount, MountSyntax, Problem, ProblemKind, Project};
use crate::compose::mounts::{self, MountKind, VolumeSpecError};
use crate::finding::{Finding, Severity};
use crate::yaml::syntax::Tree;
use crate::yaml::value::Loc;

pub(crate) struct InvalidVolumeSpec;

static META: RuleMeta = RuleMeta {
    id: "invalid-volume-spec",
    category: Category::Correctness,
    severity: Severity::Error,
    off_by_default: false,
    fix: FixAvailability::None,
    migrates: false,
    summary: "a volume entry compose or the engine rejects",
    what_it_does: "Reports service volume entries that cannot work: an empty entry, an empty \
section between colons (`:/data`, `/a::ro`, a source that came from an unset variable), too \
many colons (`/a:/b:ro:x`), a long-syntax entry without `target` or with an unknown `type`, a \
`type: bind` without `source`, and a container path that is not absolute (`./conf:etc/app`, \
`- data`).",
    why_it_matters: "Compose refuses to load a project with a malformed short-syntax entry or \
long-syntax target, so `up` and `down` fail. The other two are worse because `docker compose \
config` accepts them: a bind without a source and a relative container path pass every check \
and only fail when the engine creates the container (`field Source must not be empty`, `mount \
path must be absolute`) — in the middle of a deploy, after the old container was stopped. An \
entry written `- data` was usually meant as the named volume `data`; what compose reads is an \
anonymous volume at the relative path `data`.",
    example: "services:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdata::/var/lib/postgresql/data\nvolumes:\n  pgdata:\n",
    fix_safety: "No fix: the intended source or target cannot be guessed.",
};

impl Rule for InvalidVolumeSpec {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        let project = ctx.project;
        let problems = project
            .errors
            .iter()
            .chain(&project.warnings)
            .filter(|p| p.kind == ProblemKind::InvalidVolumeSpec);
        for problem in problems {
            let Some(loc) = problems::location(project, problem) else {
                continue;
            };
            let (message, help) = describe(project, problem, loc);
            let mut f = Finding::new(META.id, META.severity, loc, message, help);
            let services = match problem.issue.service() {
                Some(s) => vec![s.to_owned()],
                None => project
                    .files
                    .get(loc.file)
                    .map(|file| services_with_entry(&file.tree, loc))
                    .unwrap_or_default(),
            };
            for s in &services {
                f = f.service(s);
            }
            out.push(f);
        }
        // Relative container paths: compose accepts them, the engine refuses the container.
        for service in &project.services {
            for mount in &service.mounts {
                let Some(loc) = mount.loc else { continue };
                if mount.syntax == MountSyntax::Implicit
                    || is_absolute(&mount.target)
                    || mount.target.is_empty()
                    || is_drive_letter_entry(mount)
                {
                    continue;
                }
                let (message, help) = relative_target(mount);
                out.push(
                    Finding::new(META.id, META.severity, loc, message, help).service(&service.name),
                );
            }
        }
    }
}

const TYPES: &[&str] = &["bind", "volume", "tmpfs", "cluster", "npipe", "image"];

fn describe(project: &Project, problem: &Problem, loc: Loc) -> (String, String) {
    match &problem.issue {
        Issue::VolumeSpec {
            error: VolumeSpecError::Empty,
            ..
        } => (
            "volume entry is empty".into(),
            "remove the empty entry, or write the mount as `SOURCE:TARGET` (if it comes from a variable, set the variable)".into(),
        ),
        Issue::VolumeSpec {
            spec,
            error: VolumeSpecError::EmptySection,
        } => {
            let help = if spec.starts_with(':') {
                "the source before the first `:` is empty: write `name:/path` for a named volume or `./dir:/path` for a bind mount (if the source comes from a variable, set it or give it a default)".to_owned()
            } else if spec.ends_with(':') {
                "remove the trailing `:`, or add the mode after it (`ro`)".to_owned()
            } else {
                let collapsed = spec.replace("::", ":");
                let fields: Vec<&str> = collapsed.split(':').collect();
                // `./site:/srv::ro`: one colon too many; `./site::ro`: the container path is missing.
                if fields.len() >= 3 && fields[1].starts_with('/') {
                    format!("remove the extra `:` (`{collapsed}`)")
                } else {
                    "a section between `::` is empty: write the missing part, usually the container path (`SOURCE:/path/in/container:MODE`)".to_owned()
                }
            };
            (
                format!("volume `{spec}` has an empty section between colons"),
                help,
            )
        }
        Issue::VolumeSpec {
            spec,
            error: VolumeSpecError::TooManyColons,
        } => (
            format!("volume `{spec}` has too many colons"),
            "the short syntax is `SOURCE:TARGET[:MODE]` with modes separated by commas (`ro,z`); for a path that contains `:` use the long syntax (`type`, `source`, `target`)".into(),
        ),
        Issue::VolumeEntryWithoutTarget { .. } => (
            "volume entry has no `target`".into(),
            "add `target:` with the absolute path inside the container where the volume is mounted"
                .into(),
        ),
        Issue::VolumeEntryBadType { .. } => {
            let written = written_scalar(project, loc);
            let suggestion = written.as_deref().and_then(|w| {
                TYPES
                    .iter()
                    .copied()
                    .find(|t| w.eq_ignore_ascii_case(t) || edit_distance(t, &w.to_lowercase()) <= 2)
            });
            let message = match &written {
                Some(w) => format!("unknown volume type `{w}`"),
                None => "unknown volume type".to_owned(),
            };
            let help = match suggestion {
                Some(s) => format!("did you mean `{s}`? the type must be one of `bind`, `volume`, `tmpfs`, `cluster`, `npipe`, `image`"),
                None => "use `type: volume` for a named volume, `type: bind` for a host path, `type: tmpfs` for memory; the type must be one of `bind`, `volume`, `tmpfs`, `cluster`, `npipe`, `image`".to_owned(),
            };
            (message, help)
        }
        Issue::BindWithoutSource => (
            "`type: bind` has no `source`: the engine refuses to create the container (`field Source must not be empty`)".into(),
            "add `source:` with the host path to mount, or use `type: volume` with `source:` naming a volume".into(),
        ),
        _ => (
            problem.message.trim_end_matches('.').to_owned(),
            "fix the volume entry: compose refuses it".into(),
        ),
    }
}

fn relative_target(mount: &Mount) -> (String, String) {
    let target = &mount.target;
    let message = format!(
        "container path `{target}` is not absolute: the engine refuses to create the container"
    );
    let help = match (mount.kind, mount.syntax) {
        // `- data`: a named volume without its target, most of the time.
        (MountKind::Anonymous, MountSyntax::Short) if !target.contains('/') => format!(
            "to mount the named volume `{target}`, give it a container path: `{target}:/path/in/container`; otherwise write the path absolute: `/{target}`"
        ),
        _ => format!(
            "write the container path absolute: `/{}`",
            target.trim_start_matches("./")
        ),
    };
    (message, help)
}

fn is_absolute(target: &str) -> bool {
    target.starts_with('/') || mounts::is_windows_abs(target)
}

/// `v:/data:ro` or `a:b:c:d`: a one-letter first field read as a Windows drive; the
/// `single-letter-volume` rule explains those, with the right remedy.
fn is_drive_letter_entry(mount: &Mount) -> bool {
    if mount.syntax != MountSyntax::Short || mount.kind != MountKind::Bind {
        return false;
    }
    let Some(source) = &mount.source else {
        return false;
    };
    let mut chars = source.chars();
    matches!((chars.next(), chars.next()), (Some(c), Some(':')) if c.is_alphabetic())
}

/// The type as written (`type: volumex`), without quotes.
fn written_scalar(project: &Project, loc: Loc) -> Option<String> {
    let text = project
        .files
        .get(loc.file)?
        .source
        .text
        .get(loc.start..loc.end)?;
    let t = text.trim();
    let t = t
        .strip_prefix('"')
        .and_then(|s| s.strip_suffix('"'))
        .or_else(|| t.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')))
        .unwrap_or(t);
    (!t.is_empty() && !t.contains('\n')).then(|| t.to_owned())
}

/// Services of this file whose `volumes` list holds the entry at `loc` (through anchors and
/// merge keys too): an entry compose rejects is not in the model, so the model cannot say whose
/// it is.
fn services_with_entry(tree: &Tree, loc: Loc) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for h in service_places::holders(tree, loc, &["volumes"]) {
        if h.item.is_some() && h.entry == loc && !out.iter().any(|s| s == h.service) {
            out.push(h.service.to_owned());
        }
    }
    out
}
