//! `override-drops-volume`: a later file (or an extending service) mounts an anonymous volume or
//! a tmpfs at the target of a named volume or bind mount, which compose then drops.

use super::replaced_entry::{describe, kind_noun, same_sequence, service_lists_entry};
use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::compose::model::{Project, ReplacedMount};
use crate::compose::mounts::MountKind;
use crate::finding::{Finding, Severity};

pub(crate) struct OverrideDropsVolume;

static META: RuleMeta = RuleMeta {
    id: "override-drops-volume",
    category: Category::Persistence,
    severity: Severity::Error,
    off_by_default: false,
    fix: FixAvailability::None,
    migrates: false,
    summary: "a later file replaces a named volume or bind mount with an anonymous volume or tmpfs",
    what_it_does: "Reports a volume entry that replaces a persistent mount (a named or external \
volume, or a bind mount) of the same service at the same target with an anonymous volume or a \
tmpfs: an entry in an override file (`compose.override.yaml`, a later `-f` file) over an entry \
of the base file, or an entry of a service over the one it `extends`.

Two entries on one target written in the same list are reported by `duplicate-mount-target` \
instead, and a service-level `tmpfs:` on the target of a volume is rejected by compose itself \
(`invalid-compose`).",
    why_it_matters: "Compose makes a service's volumes unique by target: a later entry with the \
same target replaces the earlier one whole, without a word. An override file that writes \
`- /var/lib/postgresql/data` over the base file's `pgdata:/var/lib/postgresql/data` does not add \
anything: it unmounts the named volume. The database then starts empty on an anonymous volume, \
which `docker compose down` orphans and `down -v` deletes; a tmpfs loses everything at every \
stop. The data in the named volume is still there, just no longer mounted, which makes the \
problem easy to miss until the stack runs without the override again.",
    example: "# compose.yaml\nservices:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdata:/var/lib/postgresql/data\nvolumes:\n  pgdata:\n\n# compose.override.yaml\nservices:\n  db:\n    volumes:\n      - /var/lib/postgresql/data\n",
    fix_safety: "No automatic fix: whether the override is a mistake or a deliberate throw-away \
setup (tests on a tmpfs) is the author's decision.",
};

impl Rule for OverrideDropsVolume {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        let project = ctx.project;
        for r in &project.replaced_mounts {
            let (Some(earlier), Some(later)) = (r.earlier_kind, r.later_kind) else {
                continue;
            };
            if !is_persistent(earlier)
                || !matches!(later, MountKind::Anonymous | MountKind::Tmpfs)
                || same_sequence(project, r.earlier, r.later)
                || !still_mounted(project, r)
            {
                continue;
            }
            let (what, goes) = if later == MountKind::Tmpfs {
                ("a tmpfs", "is in memory and lost at every stop")
            } else {
                (
                    "an anonymous volume",
                    "goes to an anonymous volume that `docker compose down` orphans",
                )
            };
            let message = format!(
                "{what} replaces {} at `{}`",
                describe(project, earlier, r.earlier, false),
                r.target
            );
            let help = format!(
                "compose keeps only the last entry for a target, so {} is no longer mounted and \
what the service writes there {goes}; remove this entry to keep the earlier mount, or mount a \
named volume here",
                describe(project, earlier, r.earlier, true)
            );
            let label = format!("this {} is replaced", kind_noun(earlier));
            let mut finding = Finding::new(META.id, META.severity, r.later, message, help)
                .label(r.earlier, label)
                .service(&r.service);
            for service in same_pair_services(project, r) {
                finding = finding.service(service);
            }
            out.push(finding);
        }
    }
}

/// The other services this very replacement happens in. The loader records a pair of entries
/// once, whatever the service, so when both entries sit in anchors several services share, only
/// the first service has a record; a service that mounts the later entry without a record of
/// its own went through the same pair when its own mapping lists the earlier entry and no other
/// earlier entry was ever replaced by the later one.
fn same_pair_services<'a>(project: &'a Project, r: &ReplacedMount) -> Vec<&'a str> {
    let same_later: Vec<&ReplacedMount> = project
        .replaced_mounts
        .iter()
        .filter(|x| x.later == r.later)
        .collect();
    if same_later.iter().any(|x| x.earlier != r.earlier) {
        return Vec::new();
    }
    project
        .services
        .iter()
        .filter(|s| s.name != r.service && !same_later.iter().any(|x| x.service == s.name))
        .filter(|s| s.mounts.iter().any(|m| m.loc == Some(r.later)))
        .filter(|s| service_lists_entry(project, &s.name, r.earlier))
        .map(|s| s.name.as_str())
        .collect()
}

fn is_persistent(kind: MountKind) -> bool {
    matches!(kind, MountKind::Named | MountKind::Bind)
}

/// The replacing entry is what the service finally mounts (no even later entry put a
/// persistent mount back).
fn still_mounted(project: &Project, r: &ReplacedMount) -> bool {
    project
        .services
        .iter()
        .filter(|s| s.name == r.service)
        .any(|s| s.mounts.iter().any(|m| m.loc == Some(r.later)))
}
