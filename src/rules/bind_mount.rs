//! `bind-mount`: a read-write bind mount of a host directory, where a named volume would keep
//! the data under the engine's management.

use std::path::Path;

use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::analysis::covers;
use crate::finding::{Finding, Severity};
use crate::model::{Mount, MountSyntax, Project, Service};
use crate::mounts::MountKind;
use crate::value::Loc;

pub struct BindMount;

static META: RuleMeta = RuleMeta {
    id: "bind-mount",
    category: Category::Persistence,
    severity: Severity::Info,
    off_by_default: false,
    fix: FixAvailability::None,
    summary: "a read-write bind mount of a host directory where a named volume is recommended",
    what_it_does: "Reports read-write bind mounts of host directories. The finding is a warning \
when the mount holds the data path of a known stateful image (a database's data directory), \
information otherwise.

Not reported, because they are configuration or host integration rather than data:

- read-only binds (`:ro`, `read_only: true`);
- binds of a single file (`./nginx.conf:/etc/nginx/nginx.conf`): a source that exists is \
checked on disk, one that does not exist yet counts as a file when its name has an extension \
(`app.toml`, `init.sql`) or is a known dotfile (`.env`, `.htpasswd`);
- sockets, devices and host state: `/var/run/docker.sock`, anything under `/dev`, `/proc`, \
`/sys`, `/run`, `/var/run`, `/etc/localtime`, `/etc/timezone`;
- the project directory itself (or a parent of it) and the service's own build context: that \
is the source code of a development setup;
- sources that depend on a variable with no value (`unresolved-variable` reports those).",
    why_it_matters: "A bind mount survives `docker compose down -v`, but it keeps the data \
outside everything compose and the engine manage:

- a relative bind (`./data`) puts the database inside the project's working tree, where \
`git clean -fdx`, a fresh checkout or deleting the directory deletes it, and where the files end \
up owned by the container's user (often not yours);
- an empty host directory hides what the image ships at that path (a named volume is seeded \
from the image), and UID, permission and SELinux-label mismatches stop databases from starting;
- on Docker Desktop (macOS, Windows) bind mounts cross a file-sharing layer that is slow and \
weakens `fsync` guarantees databases rely on;
- `docker volume` tooling (backup containers, `docker volume ls`, drivers) does not see it.

A named volume avoids all of this; declare it with `driver_opts: {type: none, o: bind, device: \
/abs/path}` if the files must stay in a known host directory.",
    example: "services:\n  db:\n    image: postgres:16\n    volumes:\n      - ./pgdata:/var/lib/postgresql/data\n",
    fix_safety: "No automatic fix: `stowage migrate --binds volume` moves the data into a named \
volume, `--binds keep-path` declares a named volume bound to the same host directory; both \
print the commands that move existing data.",
};

impl Rule for BindMount {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        for (service, analysis) in ctx.services() {
            for mount in &analysis.mounts {
                let Some(loc) = mount.loc else { continue };
                if !is_data_bind(ctx.project, service, mount) {
                    continue;
                }
                let stateful = analysis.facts.as_ref().filter(|f| {
                    f.stateful && f.data_paths.iter().any(|p| covers(&mount.target, p))
                });
                let (severity, message) = match stateful {
                    // `check::run` applies the configured severity; the rule asks for more here.
                    Some(f) => (
                        Severity::Warning,
                        format!(
                            "read-write bind mount of a host directory at `{}`, where `{}` keeps \
its data",
                            mount.target, f.key
                        ),
                    ),
                    None => (
                        META.severity,
                        format!(
                            "read-write bind mount of a host directory at `{}`",
                            mount.target
                        ),
                    ),
                };
                let shared = shares_entry(ctx.project, loc);
                let name = volume_name(
                    ctx.project,
                    (!shared).then_some(&service.name),
                    &mount.target,
                );
                let help = format!(
                    "mount a named volume instead: `{name}:{}`, declared under the top-level \
`volumes:` (`stowage migrate --binds keep-path` keeps the files in the same host directory)",
                    mount.target
                );
                out.push(
                    Finding::new(META.id, severity, loc, message, help).service(&service.name),
                );
            }
        }
    }
}

/// A written, writable bind of a host directory that is not host integration or source code.
fn is_data_bind(project: &Project, service: &Service, mount: &Mount) -> bool {
    if mount.kind != MountKind::Bind
        || !matches!(mount.syntax, MountSyntax::Short | MountSyntax::Long)
        || mount.read_only
        || mount.unresolved
    {
        return false;
    }
    let Some(source) = mount.resolved_source.as_deref().or(mount.source.as_deref()) else {
        return false;
    };
    if is_host_integration(source) || is_host_integration(&mount.target) {
        return false;
    }
    let path = Path::new(source);
    if path.is_absolute()
        && (project.directory.starts_with(path)
            || service
                .build
                .as_ref()
                .and_then(|b| b.context.as_deref())
                .is_some_and(|c| c == path))
    {
        return false;
    }
    is_directory(source)
}

fn is_host_integration(path: &str) -> bool {
    const EXACT: &[&str] = &["/", "/etc/localtime", "/etc/timezone", "/etc/machine-id"];
    const TREES: &[&str] = &["/dev", "/proc", "/sys", "/run", "/var/run"];
    EXACT.contains(&path) || path.ends_with("/docker.sock") || TREES.iter().any(|t| covers(t, path))
}

/// Whether the bind source is (or will be created as) a directory. The rule's one stat: the
/// loader does not record what a bind source is on disk, and a file bind is configuration.
fn is_directory(source: &str) -> bool {
    match std::fs::metadata(source) {
        Ok(meta) => meta.is_dir(),
        // Compose creates a missing short-syntax source as a directory; a name that looks like
        // a file is still most likely a file that is not there yet (generated, or not checked out).
        Err(_) => !looks_like_file(source),
    }
}

fn looks_like_file(source: &str) -> bool {
    const DOTFILES: &[&str] = &[
        ".env",
        ".htpasswd",
        ".htaccess",
        ".npmrc",
        ".pgpass",
        ".netrc",
        ".gitconfig",
        ".bashrc",
        ".profile",
        ".pypirc",
    ];
    let name = source.rsplit('/').find(|s| !s.is_empty()).unwrap_or("");
    if DOTFILES.contains(&name) {
        return true;
    }
    // `nginx.conf`, `init.sql`, `app.toml`: a dot after the first character, with something
    // after it (`.config` and `data.` are directory-like).
    name.char_indices()
        .skip(1)
        .any(|(i, c)| c == '.' && i + 1 < name.len())
}

/// Whether several services mount this very entry (it sits in an anchor they share).
fn shares_entry(project: &Project, loc: Loc) -> bool {
    project
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
