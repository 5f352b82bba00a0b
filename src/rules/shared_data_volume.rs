//! `shared-data-volume`: one named volume mounted read-write on the data path of two database
//! services.

use super::data_layout::{Layout, Verdict, declare_hint, shared_place, volume_entries};
use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::analysis::covers;
use crate::compose::model::{Mount, Service};
use crate::compose::mounts::MountKind;
use crate::finding::{Finding, Severity};
use crate::rules::convert;
use crate::yaml::value::Loc;

pub(crate) struct SharedDataVolume;

static META: RuleMeta = RuleMeta {
    id: "shared-data-volume",
    category: Category::Persistence,
    severity: Severity::Warning,
    off_by_default: false,
    fix: FixAvailability::None,
    migrates: false,
    summary: "two services mount one named volume read-write on a database data path",
    what_it_does: "Reports a named volume that two or more services mount read-write where it \
holds the data of each service's image — a path from the knowledge base for that image, tag and \
environment, for data stores (databases, caches, search engines, queues, coordination and vector \
stores, object storage). One finding per service after the first, with a label at the first \
service's mount.\n\n\
Not reported: read-only mounts, mounts that do not hold the image's data (a backup job that \
mounts the volume at `/backup`), applications that share files by design (`nextcloud` and its cron \
container, `wordpress` and `wp-cli`), and services whose profiles never run together.",
    why_it_matters: "Two database processes writing the same data files corrupt them: most \
engines only guard against it with a lock file, which does not always hold across containers, and \
the ones that do simply refuse to start (`elasticsearch`, `prometheus`). It usually comes from \
copying a service to make a replica or a \"new version\" and forgetting the volume; the damage shows \
up later, on the first concurrent write.",
    example: "services:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdata:/var/lib/postgresql/data\n  db-replica:\n    image: postgres:16\n    volumes:\n      - pgdata:/var/lib/postgresql/data\nvolumes:\n  pgdata:\n",
    fix_safety: "No fix: the second service needs its own volume, and which data it should start \
with (a copy, a replica, nothing) is a decision only you can make.",
};

/// Knowledge-base categories whose images own their data files exclusively.
const DATA_STORES: &[&str] = &[
    "database",
    "cache/kv",
    "search",
    "queue",
    "coordination",
    "vector-db",
    "object-storage",
];

/// One read-write named-volume mount that holds the data of its service's image.
struct DataMount<'a> {
    service: &'a Service,
    mount: &'a Mount,
    loc: Loc,
    volume: &'a str,
}

impl Rule for SharedDataVolume {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        let mut mounts: Vec<DataMount> = Vec::new();
        for (service, analysis) in ctx.services() {
            let Some(facts) = &analysis.facts else {
                continue;
            };
            if !is_data_store(ctx, &facts.key) {
                continue;
            }
            let Some(layout) = Layout::of(ctx, analysis) else {
                continue;
            };
            // Only the service's own entries: a `volumes_from` mount is reported on its owner.
            for m in &analysis.mounts {
                let (MountKind::Named, false, Some(loc)) = (m.kind, m.read_only, m.loc) else {
                    continue;
                };
                let Some(volume) = m
                    .resolved_source
                    .as_deref()
                    .or(m.volume_key.as_deref())
                    .or(m.source.as_deref())
                else {
                    continue;
                };
                // The data must really be in this volume: no deeper mount takes it.
                let holds = layout.paths.iter().any(|d| {
                    matches!(d.verdict, Verdict::Durable)
                        && layout
                            .mounts
                            .iter()
                            .filter(|x| covers(&x.target, &d.path))
                            .max_by_key(|x| x.target.len())
                            .is_some_and(|holder| std::ptr::eq(*holder, m))
                });
                if holds {
                    mounts.push(DataMount {
                        service,
                        mount: m,
                        loc,
                        volume,
                    });
                }
            }
        }
        for (j, later) in mounts.iter().enumerate() {
            let Some(first) = mounts[..j].iter().find(|first| {
                first.volume == later.volume
                    && first.service.name != later.service.name
                    && run_together(first.service, later.service)
            }) else {
                continue;
            };
            let key = later.mount.volume_key.as_deref().unwrap_or(later.volume);
            let message = format!(
                "volume `{key}` already holds the data of `{}`: two database processes would write the same files",
                first.service.name
            );
            let tail = "to read the other service's files, mount the volume `:ro`, and for a replica use the database's own replication";
            let help = if shared_place(ctx, later.loc) {
                // Written once in an anchor: every service that merges it gets the same volume.
                let (entries, names) = volume_entries(ctx, None, &[later.mount.target.as_str()]);
                format!(
                    "give each service its own volume: move this entry out of the shared anchor into each service as {entries} {}; {tail}",
                    declare_hint(&names)
                )
            } else {
                let own =
                    convert::name_for_path(ctx, Some(&later.service.name), &later.mount.target);
                format!(
                    "give `{}` its own volume: mount `{own}` there instead and declare `{own}:` under top-level `volumes:`; {tail}",
                    later.service.name
                )
            };
            out.push(
                Finding::new(META.id, META.severity, later.loc, message, help)
                    .service(&later.service.name)
                    .service(&first.service.name)
                    .label(
                        first.loc,
                        format!(
                            "`{}` mounts `{key}` read-write on its data path here",
                            first.service.name
                        ),
                    ),
            );
        }
    }
}

fn is_data_store(ctx: &Context, key: &str) -> bool {
    let Some(category) = ctx.kb.get(key).and_then(|e| e.category.as_deref()) else {
        return false;
    };
    // The bitnami family groups data stores with apps (wordpress) and stateless images.
    DATA_STORES.contains(&category) || (category == "bitnami" && key != "bitnami-wordpress")
}

/// Services whose profiles are all different never run in the same `up` unless both profiles
/// are enabled on purpose.
fn run_together(a: &Service, b: &Service) -> bool {
    a.profiles.is_empty()
        || b.profiles.is_empty()
        || a.profiles.iter().any(|p| b.profiles.contains(p))
}
