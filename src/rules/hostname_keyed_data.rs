//! `hostname-keyed-data`: an image that names its data directory after the container's hostname
//! (RabbitMQ's `rabbit@<hostname>`), persisted by a volume, in a service whose hostname
//! changes with every new container.

use super::data_layout::{self, Layout, Verdict, code_list, image_loc, subject};
use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::analysis::covers;
use crate::finding::{Finding, Severity};

pub(crate) struct HostnameKeyedData;

static META: RuleMeta = RuleMeta {
    id: "hostname-keyed-data",
    category: Category::Persistence,
    severity: Severity::Warning,
    off_by_default: false,
    fix: FixAvailability::None,
    migrates: false,
    summary: "an image keeps its data under the container's hostname, and the hostname is not fixed",
    what_it_does: "For images the knowledge base knows to name their data directory after the \
container's hostname (the official `rabbitmq` image: `/var/lib/rabbitmq/mnesia/rabbit@<hostname>`), \
reports the mount that persists the data path when the service sets no `hostname:`, nor the \
variable that fixes the name (`RABBITMQ_NODENAME`, or `RABBITMQ_MNESIA_DIR` for the directory \
itself). A service with `network_mode: host` has the host's stable name; one that shares another \
container's network namespace (`network_mode: service:…` or `container:…`) is not reported.\n\n\
Data paths that no volume persists are reported by `ephemeral-data`, `implicit-volume` or \
`anonymous-volume` instead.",
    why_it_matters: "Compose gives every new container a new hostname (its container ID) unless \
`hostname:` is set. The volume survives `docker compose up` after a change, `up \
--force-recreate`, `down` then `up` and a new image, but the new container looks for its data in \
a directory named after its new hostname: RabbitMQ starts as a new, empty node (no durable \
queues, messages, users or virtual hosts), and the old data stays behind, unused, in the \
volume.",
    example: "services:\n  broker:\n    image: rabbitmq:4\n    volumes:\n      - rabbitmq:/var/lib/rabbitmq\nvolumes:\n  rabbitmq:\n",
    fix_safety: "No automatic fix: the name to fix depends on the deployment. For a new stack, \
set `hostname:` (e.g. the service name). A running stack keeps its data in the directory named \
after the current container's hostname (`docker compose exec <service> hostname`): set \
`hostname:` to that name, or move the directory, before the next recreate.",
};

impl Rule for HostnameKeyedData {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        for (service, analysis) in ctx.services() {
            let Some(dir) = analysis
                .facts
                .as_ref()
                .and_then(|f| f.hostname_keyed.as_deref())
            else {
                continue;
            };
            if service.hostname.as_deref().is_some_and(|h| !h.is_empty())
                || service.network_mode.as_deref().is_some_and(|m| {
                    m == "host" || m.starts_with("service:") || m.starts_with("container:")
                })
            {
                continue;
            }
            let Some(layout) = Layout::of(ctx, analysis) else {
                continue;
            };
            let kept: Vec<&str> = layout
                .paths
                .iter()
                .filter(|d| matches!(d.verdict, Verdict::Durable))
                .map(|d| d.path.as_str())
                .collect();
            let Some(first) = kept.first() else {
                continue;
            };
            // The service's own mount that holds the data, else its image.
            let holder = layout
                .mounts
                .iter()
                .filter(|m| covers(&m.target, first))
                .max_by_key(|m| m.target.len())
                .filter(|m| analysis.mounts.iter().any(|x| std::ptr::eq(x, **m)))
                .and_then(|m| m.loc);
            let Some(loc) = holder.or_else(|| image_loc(service, analysis)) else {
                continue;
            };
            let message = format!(
                "{} keeps its data in {} under a directory named after the container's hostname (`{dir}`), and no `hostname:` is set: every new container gets a new hostname, so after a recreate it starts empty and the earlier data stays behind, unused, in the old directory",
                subject(ctx, service, analysis),
                code_list(&kept)
            );
            let help = format!(
                "set a fixed `hostname:` on the service (for a stack already running: the current container's hostname, `docker compose exec {} hostname`, which names the directory its data is in)",
                service.name
            );
            out.push(data_layout::data_finding(
                &META, analysis, service, loc, message, help,
            ));
        }
    }
}
