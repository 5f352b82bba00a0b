//! `duplicate-mount-target`: one service's volume list mounts two entries on the same target;
//! compose keeps the last one, in place of the first, without a warning.

use super::replaced_entry::{describe, same_sequence, service_lists_entry};
use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::compose::mounts::MountKind;
use crate::finding::{Finding, Severity};
use crate::yaml::value::Loc;

pub(crate) struct DuplicateMountTarget;

static META: RuleMeta = RuleMeta {
    id: "duplicate-mount-target",
    category: Category::Correctness,
    severity: Severity::Error,
    off_by_default: false,
    fix: FixAvailability::None,
    migrates: false,
    summary: "two entries of one volume list mount the same target; compose keeps only the last",
    what_it_does: "Reports a volume entry whose target (after compose cleans the path) is already \
mounted by an earlier entry of the same `volumes:` list, identical or not. The finding is on the \
later entry, the one compose keeps; the earlier one is labelled.

An entry of an override file or of an extending service that replaces an entry of the base \
(another list) is ordinary merging and is not reported here; `override-drops-volume` reports the \
dangerous case of that. A target used by both `volumes:` and `tmpfs:` is rejected by compose \
itself (reported by `invalid-compose`).",
    why_it_matters: "Compose makes a service's volumes unique by target: the later entry replaces \
the earlier one in place and the earlier one is silently ignored. Whatever the first entry says \
(a named volume, a bind of existing data, `:ro`) does not happen. When the list says \
`- pgdata:/var/lib/postgresql/data` and, further down, `- /var/lib/postgresql/data`, the \
database runs on an anonymous volume that `docker compose down` orphans, while the named volume \
stays empty. Identical duplicates are harmless today, but the next edit to one of them will be \
silently ignored.",
    example: "services:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdata:/var/lib/postgresql/data\n      - ./init.sql:/docker-entrypoint-initdb.d/init.sql:ro\n      - /var/lib/postgresql/data\nvolumes:\n  pgdata:\n",
    fix_safety: "No automatic fix: which of the two entries was meant is the author's decision.",
};

impl Rule for DuplicateMountTarget {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        let project = ctx.project;
        for r in &project.replaced_mounts {
            if !same_sequence(project, r.earlier, r.later) {
                continue;
            }
            let text = |loc: Loc| {
                project
                    .file(loc.file)
                    .source
                    .text
                    .get(loc.range())
                    .map(str::trim)
                    .map(str::to_owned)
            };
            let identical = text(r.earlier).is_some() && text(r.earlier) == text(r.later);
            let target = &r.target;
            let (message, help) = match (r.earlier_kind, r.later_kind) {
                _ if identical => (
                    format!("`{target}` is mounted twice by identical entries"),
                    "remove one of the two entries".to_owned(),
                ),
                (
                    Some(earlier @ (MountKind::Named | MountKind::Bind)),
                    Some(later @ (MountKind::Anonymous | MountKind::Tmpfs)),
                ) => {
                    let what = if later == MountKind::Tmpfs {
                        "a tmpfs"
                    } else {
                        "an anonymous volume"
                    };
                    (
                        format!(
                            "`{target}` is mounted twice: {what} replaces {}",
                            describe(project, earlier, r.earlier, false)
                        ),
                        format!(
                            "compose keeps only the last entry for a target, so {} is not \
mounted; remove this entry to keep it",
                            describe(project, earlier, r.earlier, true)
                        ),
                    )
                }
                _ => (
                    format!("`{target}` is mounted twice: compose keeps only this entry"),
                    "compose keeps only the last entry for a target and ignores the earlier one; \
remove the entry you do not want"
                        .to_owned(),
                ),
            };
            let mut finding = Finding::new(META.id, META.severity, r.later, message, help)
                .label(r.earlier, "first mounted here; compose ignores this entry")
                .service(&r.service);
            // The loader records a replacement once per pair of entries, so a list shared
            // through an anchor names only its first service: the others mount the same entry.
            for service in &project.services {
                if service.mounts.iter().any(|m| m.loc == Some(r.later))
                    && service_lists_entry(project, &service.name, r.earlier)
                {
                    finding = finding.service(&service.name);
                }
            }
            out.push(finding);
        }
    }
}
