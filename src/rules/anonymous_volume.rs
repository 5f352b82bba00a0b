//! `anonymous-volume`: an anonymous volume written in a compose file (`- /path`, or long syntax
//! `type: volume` without `source`), which no later `up` finds again once its container is gone.

use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::analysis::covers;
use crate::finding::{Finding, Severity};
use crate::model::{Mount, MountSyntax, Project};
use crate::mounts::MountKind;
use crate::value::Loc;

pub struct AnonymousVolume;

static META: RuleMeta = RuleMeta {
    id: "anonymous-volume",
    category: Category::Persistence,
    severity: Severity::Warning,
    off_by_default: false,
    fix: FixAvailability::None,
    summary: "an anonymous volume written in the file loses its data when the container is removed",
    what_it_does: "Reports every volume entry that mounts an anonymous volume: short syntax with \
only a container path (`- /var/lib/app`) and long syntax `type: volume` without `source`.

Anonymous volumes nested inside a bind mount of the same service (`- .:/app` with \
`- /app/node_modules`) are not reported: that is the usual idiom to keep a directory of the image \
from being hidden by the bind, not a place where the stack keeps data. Image `VOLUME`s nothing \
is mounted on are reported by `implicit-volume`, and `v:/data` (read as a Windows drive) by \
`single-letter-volume`. An anonymous volume that replaces a named volume or bind mount at the \
same target is reported by `override-drops-volume` or `duplicate-mount-target`.",
    why_it_matters: "An anonymous volume has a random name, so only the container that created \
it knows where it is. `docker compose up` re-attaches it when it recreates that container, but:

- `docker compose down` removes the container and leaves the volume orphaned: the next `up` \
creates a new, empty one (compose's documentation: anonymous volumes \"are not automatically \
mounted by a subsequent up\"), and `docker volume prune` deletes the old one;
- `docker compose down -v`, `docker compose rm -v` and `docker compose run --rm` delete it;
- `docker compose up -V` / `--renew-anon-volumes` replaces it with an empty one.

A named volume declared under the top-level `volumes:` keeps its data through all of these \
except `down -v`.",
    example: "services:\n  db:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data\n",
    fix_safety: "No automatic fix: `stowage migrate` converts anonymous volumes to named volumes \
and prints the commands that copy the existing data across.",
};

impl Rule for AnonymousVolume {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        for (service, analysis) in ctx.services() {
            for mount in &analysis.mounts {
                let Some(loc) = mount.loc else { continue };
                if !is_written_anonymous(mount)
                    || masks_bind_subdirectory(mount, &analysis.mounts)
                    || replaces_persistent_mount(ctx.project, loc)
                {
                    continue;
                }
                let data_of = analysis
                    .facts
                    .as_ref()
                    .filter(|f| f.data_paths.iter().any(|p| covers(&mount.target, p)))
                    .map(|f| format!(" (where `{}` keeps its data)", f.key))
                    .unwrap_or_default();
                let message = format!(
                    "anonymous volume at `{}`{data_of} is orphaned by `docker compose down` and \
deleted by `down -v`, `rm -v` and `up -V`",
                    mount.target
                );
                let shared = shares_entry(ctx, loc);
                let name = volume_name(
                    ctx.project,
                    (!shared).then_some(&service.name),
                    &mount.target,
                );
                let help = format!(
                    "mount a named volume instead: `{name}:{}`, and declare `{name}:` under the \
top-level `volumes:`",
                    mount.target
                );
                out.push(
                    Finding::new(META.id, META.severity, loc, message, help).service(&service.name),
                );
            }
        }
    }
}

/// An anonymous volume the user wrote (not one the engine adds for an image `VOLUME`).
fn is_written_anonymous(mount: &Mount) -> bool {
    mount.kind == MountKind::Anonymous
        && matches!(mount.syntax, MountSyntax::Short | MountSyntax::Long)
        && !mount.unresolved
        // `v:/data` has a target that is not a Unix path: `single-letter-volume` explains it.
        && mount.target.starts_with('/')
}

/// `- /app/node_modules` under `- .:/app`: the volume keeps the image's directory visible
/// through the bind; what it holds is rebuilt from the image, not data the stack produces.
fn masks_bind_subdirectory(mount: &Mount, all: &[Mount]) -> bool {
    all.iter().any(|other| {
        other.kind == MountKind::Bind
            && other.target != mount.target
            && covers(&other.target, &mount.target)
    })
}

/// The entry takes the place of a named volume or bind at its target: `override-drops-volume`
/// or `duplicate-mount-target` reports it, with the mount it drops.
fn replaces_persistent_mount(project: &Project, loc: Loc) -> bool {
    project.replaced_mounts.iter().any(|r| {
        r.later == loc && matches!(r.earlier_kind, Some(MountKind::Named | MountKind::Bind))
    })
}

/// Whether several services mount this very entry (it sits in an anchor they share).
fn shares_entry(ctx: &Context, loc: Loc) -> bool {
    ctx.project
        .services
        .iter()
        .filter(|s| s.mounts.iter().any(|m| m.loc == Some(loc)))
        .nth(1)
        .is_some()
}

/// `{service}-{basename}` (just `{basename}` for an entry shared through an anchor), sanitised
/// to what compose accepts in a volume key and unique against the project's volumes.
fn volume_name(project: &Project, service: Option<&String>, target: &str) -> String {
    let base = target.rsplit('/').find(|s| !s.is_empty()).unwrap_or("root");
    let raw = match service {
        Some(s) => format!("{s}-{base}"),
        None => base.to_owned(),
    };
    let mut clean: String = raw
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
                c
            } else {
                '-'
            }
        })
        .collect();
    if !clean.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        clean.insert(0, 'v');
    }
    let taken = |name: &str| {
        project.volume(name).is_some()
            || project.services.iter().any(|s| {
                s.mounts
                    .iter()
                    .any(|m| m.volume_key.as_deref() == Some(name))
            })
    };
    if !taken(&clean) {
        return clean;
    }
    (2..)
        .map(|n| format!("{clean}-{n}"))
        .find(|n| !taken(n))
        .unwrap_or(clean)
}
