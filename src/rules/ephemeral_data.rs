//! `ephemeral-data`: a stateful image's data path that nothing persists (no mount, no image
//! `VOLUME`), or that a tmpfs holds.

use super::convert;
use super::data_layout;
use super::data_layout::{Layout, Verdict, add_volumes_hint, code_list, image_loc, subject};
use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::compose::model::Mount;
use crate::compose::mounts::MountKind;
use crate::finding::{Finding, Severity};

pub(crate) struct EphemeralData;

static META: RuleMeta = RuleMeta {
    id: "ephemeral-data",
    category: Category::Persistence,
    severity: Severity::Error,
    off_by_default: false,
    fix: FixAvailability::Sometimes,
    migrates: true,
    summary: "a stateful image's data path is not persisted, or sits on a tmpfs",
    what_it_does: "For images the knowledge base knows to keep state (databases, search engines, \
queues, self-hosted apps — or the base image of a local Dockerfile), checks every data path of \
the image, after its tag variant and environment overrides (`PGDATA`, `GF_PATHS_DATA`…):\n\n\
- reported on the `image:` value when nothing persists the path: no mount on it or on a parent, \
and no `VOLUME` in the image (elasticsearch, grafana, n8n, mssql…);\n\
- reported on the `tmpfs` entry when the deepest mount holding the path is a tmpfs.\n\n\
A bind mount or named volume on the data path or on a parent covers it. Paths that end in an \
anonymous volume are reported by `anonymous-volume`, `implicit-volume` or `shadowed-data-path` \
instead, and a service whose `command:` moves the data (`--datadir`, `--dbpath`, `--dir`) is \
skipped because the path is then unknown.",
    why_it_matters: "Without a volume the data lives in the container's writable layer, which \
is thrown away whenever compose recreates the container: `docker compose up` after any change to \
the service or a new image, `up --force-recreate`, `down` then `up`, `rm`. The database comes back \
empty. A tmpfs is worse: it lives in memory and is emptied by every `restart`, even by a host \
reboot.",
    example: "services:\n  search:\n    image: elasticsearch:8.15.0   # indices in /usr/share/elasticsearch/data\n    environment:\n      discovery.type: single-node\n",
    fix_safety: "Unsafe fix (`--unsafe-fixes`, or `stowage migrate`), for a data path nothing \
persists: mounts a named volume there. The data in the container's own layer is not in the new \
volume: the data plan written beside the compose file copies it out of the existing container \
(`docker cp`) before anything recreates it. No fix for a tmpfs, nor for an `image:` several \
services share through an anchor.",
};

impl Rule for EphemeralData {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        for (service, analysis) in ctx.services() {
            let Some(layout) = Layout::of(ctx, analysis) else {
                continue;
            };
            let lost: Vec<&str> = layout
                .paths
                .iter()
                .filter(|d| matches!(d.verdict, Verdict::NotPersisted))
                .map(|d| d.path.as_str())
                .collect();
            // One finding per tmpfs entry, naming every data path it holds.
            let mut tmpfs: Vec<(&Mount, Vec<&str>)> = Vec::new();
            for data in &layout.paths {
                let Verdict::Tmpfs(mount) = data.verdict else {
                    continue;
                };
                match tmpfs.iter_mut().find(|(m, _)| std::ptr::eq(*m, mount)) {
                    Some((_, paths)) => paths.push(&data.path),
                    None => tmpfs.push((mount, vec![&data.path])),
                }
            }
            if lost.is_empty() && tmpfs.is_empty() {
                continue;
            }
            let subject = subject(ctx, service, analysis);
            if let (false, Some(loc)) = (lost.is_empty(), image_loc(service, analysis)) {
                let (are, it) = if lost.len() == 1 {
                    ("is", "it is")
                } else {
                    ("are", "they are")
                };
                let mut message = format!(
                    "{subject} keeps its data in {}, which {are} not persisted: {it} lost whenever the container is recreated",
                    code_list(&lost)
                );
                if let Some(by) = relocated(analysis) {
                    message = format!("{message} (the path is set by {by})");
                }
                let help = format!(
                    "mount a named volume on the data path: add {}",
                    add_volumes_hint(ctx, &service.name, loc, &lost)
                );
                let mut finding =
                    data_layout::data_finding(&META, analysis, service, loc, message, help);
                if !data_layout::shared_place(ctx, loc) {
                    finding.fix = convert::add_layer_volumes(ctx, service, &lost);
                }
                out.push(finding);
            }

            for (mount, paths) in tmpfs {
                let Some(loc) = mount.loc else {
                    continue;
                };
                let throwaway = "for a throw-away test database, suppress with `# stowage: ignore[ephemeral-data]`";
                let (message, help) = match mount.volume_key.as_deref() {
                    // A named volume the local driver puts on tmpfs (`driver_opts: {type: tmpfs}`).
                    Some(key) if mount.kind != MountKind::Tmpfs => (
                        format!(
                            "volume `{key}` on `{}` is a tmpfs (`driver_opts` `type: tmpfs`) and holds the data of {subject} in memory: it is lost whenever the container stops",
                            mount.target
                        ),
                        format!(
                            "keep the data on disk: remove `driver_opts` `type`, `device` and `o` from the top-level declaration of `{key}` ({throwaway})"
                        ),
                    ),
                    _ => {
                        // A tmpfs exactly on the data path must go: compose refuses two mounts on
                        // one target. One on a parent can stay above the new volume.
                        let action = if paths.iter().any(|p| *p == mount.target) {
                            "replace this tmpfs with a named volume: remove it and add"
                        } else {
                            "mount a named volume on the data path below this tmpfs: add"
                        };
                        (
                            format!(
                                "tmpfs on `{}` holds the data of {subject} in memory: it is lost on every restart",
                                mount.target
                            ),
                            format!(
                                "{action} {} ({throwaway})",
                                add_volumes_hint(ctx, &service.name, loc, &paths)
                            ),
                        )
                    }
                };
                out.push(data_layout::data_finding(
                    &META, analysis, service, loc, message, help,
                ));
            }
        }
    }
}

fn relocated(analysis: &crate::analysis::ServiceAnalysis) -> Option<&str> {
    analysis.placement.as_ref()?.moved_by.as_deref()
}
