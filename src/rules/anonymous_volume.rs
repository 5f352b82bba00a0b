//! `anonymous-volume`: an anonymous volume written in a compose file (`- /path`, or long syntax
//! `type: volume` without `source`), which no later `up` finds again once its container is gone.

use foldhash::{HashMap, HashMapExt, HashSet};

use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::analysis::covers;
use crate::compose::model::{Mount, MountSyntax, Project};
use crate::compose::mounts::MountKind;
use crate::finding::{Finding, Severity};
use crate::rules::convert;
use crate::yaml::value::Loc;

pub(crate) struct AnonymousVolume;

pub(crate) static META: RuleMeta = RuleMeta {
    id: "anonymous-volume",
    category: Category::Persistence,
    severity: Severity::Warning,
    off_by_default: false,
    fix: FixAvailability::Sometimes,
    migrates: true,
    summary: "an anonymous volume written in the file loses its data when the container is removed",
    what_it_does: "Reports every volume entry that mounts an anonymous volume: short syntax with \
only a container path (`- /var/lib/app`) and long syntax `type: volume` without `source`.

Anonymous volumes nested inside a bind mount of the same service (`- .:/app` with \
`- /app/node_modules`), and dependency directories (`node_modules`, `vendor`, `.venv`, …) of a \
service that binds its source code, are not reported: that is the usual idiom to keep a directory \
of the image from being hidden by the bind, not a place where the stack keeps data. Image `VOLUME`s nothing \
is mounted on are reported by `implicit-volume`, and `v:/data` (read as a Windows drive) by \
`single-letter-volume`. An anonymous volume that replaces a named volume or bind mount at the \
same target is reported by `override-drops-volume` or `duplicate-mount-target`.",
    why_it_matters: "An anonymous volume has a random name, so only the container that created \
it knows where it is. `docker compose up` re-attaches it when it recreates that container, but:

- `docker compose down` removes the container and leaves the volume orphaned: the next `up` \
creates a new, empty one (compose's documentation: anonymous volumes \"are not automatically \
mounted by a subsequent up\"), and `docker volume prune` deletes the old one;
- `docker compose up -V` / `--renew-anon-volumes` orphans it too and mounts a new, empty one;
- `docker compose down -v` and `docker compose rm -v` delete it (`run --rm` deletes only the \
one-off container's own anonymous volumes, not the service's).

A named volume declared under the top-level `volumes:` keeps its data through all of these \
except `down -v`.",
    example: "services:\n  db:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data\n",
    fix_safety: "Unsafe fix (`--unsafe-fixes`, or `stowage migrate`): the entry becomes a named \
volume (`<service>-<basename>`, or `<basename>` for an entry shared through an anchor) declared \
under the top-level `volumes:`. The new volume starts empty: the data of the old anonymous \
volume has to be copied across, which `stowage migrate --script` writes the commands for. No fix \
inside block scalars, `!reset` nodes or entries built from variables.",
};

impl Rule for AnonymousVolume {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        // Indexed once: a service may have many thousands of entries.
        let replacing = replacing_persistent_mounts(ctx.project);
        for (service, analysis) in ctx.services() {
            // Indexed for a service with an anonymous volume only (most have none).
            let mut binds = None;
            for mount in &analysis.mounts {
                let Some(loc) = mount.loc else { continue };
                if !is_written_anonymous(mount) {
                    continue;
                }
                let binds = binds.get_or_insert_with(|| BindTargets::of(&analysis.mounts));
                if masks_bind_subdirectory(mount, binds) || replacing.contains(&loc) {
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
`up -V` and deleted by `down -v` and `rm -v`",
                    mount.target
                );
                let help = if convert::is_shared(ctx, mount) {
                    format!(
                        "this entry sits in an anchor several services use, and each of them has \
an anonymous volume of its own at `{}`: give each service a named volume of its own in its own \
list (one named volume in the anchor would make them share one set of data)",
                        mount.target
                    )
                } else {
                    let name = convert::volume_name(ctx, service, mount);
                    format!(
                        "mount a named volume instead: `{name}:{}`, and declare `{name}:` under \
the top-level `volumes:` (`stowage migrate` does both and copies the data across)",
                        mount.target
                    )
                };
                let mut finding =
                    Finding::new(META.id, META.severity, loc, message, help).service(&service.name);
                finding.fix = convert::convert_anonymous(ctx, service, mount);
                out.push(finding);
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

/// Directories of installed dependencies, rebuilt from the image or a lock file.
const DEPENDENCY_DIRS: &[&str] = &[
    "node_modules",
    "vendor",
    ".venv",
    "venv",
    "__pycache__",
    ".next",
    ".nuxt",
    "bower_components",
    ".bundle",
    "target",
    "dist",
    "build",
];

/// The targets of a service's bind mounts, indexed by path component, so that finding a bind on
/// an ancestor of a path costs the length of the path, not the number of binds.
struct BindTargets<'a> {
    any: bool,
    /// A bind on `/` (an ancestor of every other path).
    root: bool,
    /// (node, component) -> child node; node 0 is the empty path.
    children: HashMap<(usize, &'a str), usize>,
    /// Whether the path that leads to a node is a bind target.
    target: Vec<bool>,
}

impl<'a> BindTargets<'a> {
    fn of(mounts: &'a [Mount]) -> BindTargets<'a> {
        let mut index = BindTargets {
            any: false,
            root: false,
            children: HashMap::new(),
            target: vec![false],
        };
        for m in mounts.iter().filter(|m| m.kind == MountKind::Bind) {
            index.any = true;
            index.root |= m.target == "/";
            let mut node = 0;
            for part in m.target.split('/') {
                let next = index.target.len();
                node = *index.children.entry((node, part)).or_insert(next);
                if node == next {
                    index.target.push(false);
                }
            }
            index.target[node] = true;
        }
        index
    }

    /// Whether a bind is mounted on a strict ancestor of `path` (see [`covers`]).
    fn covers_below(&self, path: &str) -> bool {
        if self.root && path != "/" {
            return true;
        }
        let mut node = 0;
        let mut parts = path.split('/').peekable();
        while let Some(part) = parts.next() {
            match self.children.get(&(node, part)) {
                Some(&next) => node = next,
                None => return false,
            }
            if parts.peek().is_none() {
                return false;
            }
            if self.target[node] {
                return true;
            }
        }
        false
    }
}

/// `- /app/node_modules` under `- .:/app` (or next to `- ./src:/app/src`): the volume keeps the
/// image's directory visible past a bind; what it holds is rebuilt from the image, not data the
/// stack produces.
fn masks_bind_subdirectory(mount: &Mount, binds: &BindTargets) -> bool {
    let basename = mount.target.rsplit('/').next().unwrap_or("");
    (binds.any && DEPENDENCY_DIRS.contains(&basename)) || binds.covers_below(&mount.target)
}

/// The entries that take the place of a named volume or bind at their target:
/// `override-drops-volume` or `duplicate-mount-target` reports them, with the mount they drop.
fn replacing_persistent_mounts(project: &Project) -> HashSet<Loc> {
    project
        .replaced_mounts
        .iter()
        .filter(|r| matches!(r.earlier_kind, Some(MountKind::Named | MountKind::Bind)))
        .map(|r| r.later)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bind_targets_find_strict_ancestors_like_covers() {
        let targets = [
            "/app",
            "/srv/a/",
            "/",
            "",
            "/x/y",
            "relative",
            "/app/node_modules",
        ];
        let paths = [
            "/app",
            "/app/x",
            "/appx",
            "/app/node_modules/y",
            "/srv/a",
            "/srv/a//b",
            "/srv/a/b",
            "/x",
            "/x/y",
            "/x/y/z",
            "/",
            "relative/x",
            "relative",
            "/other",
            "",
        ];
        // Every subset of the targets, against the linear definition.
        for mask in 0u32..(1 << targets.len()) {
            let mounts: Vec<Mount> = targets
                .iter()
                .enumerate()
                .filter(|(i, _)| mask & (1 << i) != 0)
                .map(|(_, t)| Mount {
                    kind: MountKind::Bind,
                    source: None,
                    resolved_source: None,
                    target: (*t).to_owned(),
                    read_only: false,
                    loc: None,
                    syntax: MountSyntax::Short,
                    volume_key: None,
                    ignored_options: Vec::new(),
                    unresolved: false,
                })
                .collect();
            let index = BindTargets::of(&mounts);
            for path in paths {
                let linear = mounts
                    .iter()
                    .any(|b| b.target != path && covers(&b.target, path));
                assert_eq!(index.covers_below(path), linear, "{path} under {mask:b}");
            }
        }
    }
}
