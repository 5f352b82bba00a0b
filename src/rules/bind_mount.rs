//! `bind-mount`: a read-write bind mount of a host directory, where a named volume would keep
//! the data under the engine's management.

use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::analysis::covers;
use crate::finding::{Finding, Severity};
use crate::rules::convert;

pub(crate) struct BindMount;

static META: RuleMeta = RuleMeta {
    id: "bind-mount",
    category: Category::Persistence,
    severity: Severity::Info,
    off_by_default: true,
    fix: FixAvailability::Sometimes,
    migrates: true,
    summary: "a read-write bind mount of a host directory where a named volume is recommended",
    what_it_does: "Reports read-write bind mounts of host directories, as information, when \
selected (`--select bind-mount`, or a severity in `.stowage.yaml`): a bind mount survives every \
lifecycle command (`restart`, a recreate, `down`, `down -v`), so it is a recommendation, never a \
risk to the data, and it is off by default. `stowage migrate --binds volume|keep-path` converts \
what it reports. When the mount holds the data path of a known stateful image (a database's data \
directory), the message says so.

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
    fix_safety: "Unsafe fix, only with `stowage migrate --binds volume` (the entry becomes a \
named volume; the script of `--script` copies the directory into it) or `--binds keep-path` (a \
named volume bound to the same host directory with `driver_opts`: the files stay where they are). \
`check --fix` leaves bind mounts alone. No fix for long syntax, bind options (`z`, propagation) \
or sources built from variables.",
};

impl Rule for BindMount {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        for (service, analysis) in ctx.services() {
            for mount in &analysis.mounts {
                let Some(loc) = mount.loc else { continue };
                if !convert::is_data_bind(ctx.project, service, mount) {
                    continue;
                }
                let stateful = analysis.facts.as_ref().filter(|f| {
                    f.stateful && f.data_paths.iter().any(|p| covers(&mount.target, p))
                });
                let message = match stateful {
                    Some(f) => format!(
                        "read-write bind mount of a host directory at `{}`, where `{}` keeps its \
data",
                        mount.target, f.key
                    ),
                    None => format!(
                        "read-write bind mount of a host directory at `{}`",
                        mount.target
                    ),
                };
                let name = convert::volume_name(ctx, service, mount);
                let help = format!(
                    "mount a named volume instead: `{name}:{}`, declared under the top-level \
`volumes:` (`stowage migrate --binds volume` moves the data, `--binds keep-path` keeps the files \
in the same host directory)",
                    mount.target
                );
                let mut finding =
                    Finding::new(META.id, META.severity, loc, message, help).service(&service.name);
                finding.fix = convert::convert_bind(ctx, service, mount);
                out.push(finding);
            }
        }
    }
}
