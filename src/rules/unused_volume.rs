//! `unused-volume`: a top-level volume that no service mounts.

use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::compose::model::{MountSyntax, Project, TopVolume};
use crate::compose::mounts::MountKind;
use crate::finding::{Finding, Severity};

pub(crate) struct UnusedVolume;

static META: RuleMeta = RuleMeta {
    id: "unused-volume",
    category: Category::Correctness,
    severity: Severity::Info,
    off_by_default: false,
    fix: FixAvailability::None,
    migrates: false,
    summary: "a top-level volume no service mounts",
    what_it_does: "Reports a volume declared under the top-level `volumes:` that no service of \
the project mounts (short or long syntax), counting every service whatever its profiles. \
External volumes are not reported: they are created and kept outside the project, and \
declaring one that is not used yet harms nothing. Nothing is reported while compose rejects \
the project (an entry it could not read would make its volume look unused, and a misspelt \
reference is reported by `undefined-volume` with the declared name it resembles). A volume whose only mention is an entry compose reads differently is left to the \
rule that explains the entry: the one-letter `v:/data` (`single-letter-volume`) and the bare \
`- cache` without a container path (`invalid-volume-spec`).",
    why_it_matters: "An unused declaration is usually the trace of a mount that was lost: a \
volume renamed in one place only, a `volumes:` list replaced by an override or a merge key, or \
an entry that reads differently than it looks. The service then writes its data somewhere \
else — often into the container, where it is lost on the next recreate — while the declared \
volume stays empty. Compose itself ignores the declaration (`docker compose config` drops it). \
The finding is information: the declaration loses nothing by itself, and when a service's data \
really ends up unpersisted, `ephemeral-data` or `implicit-volume` reports that service.",
    example: "services:\n  db:\n    image: postgres:16\n    volumes:\n      - db-data:/var/lib/postgresql/data\nvolumes:\n  db-data:\n  pgdata:\n",
    fix_safety: "No fix: whether the declaration or a missing mount is the mistake cannot be \
known, and a volume declared for a mount that was lost may already hold the data.",
};

impl Rule for UnusedVolume {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        let project = ctx.project;
        // A project compose rejects is reported by the rule for its error first: an entry it
        // could not read is missing from the model, and a volume referenced under a misspelt
        // name is better explained by `undefined-volume`'s suggestion than as unused.
        if project.is_rejected() {
            return;
        }
        // Every volume key a mount uses, collected once (not once per declared volume).
        let mounted: foldhash::HashSet<&str> = project
            .services
            .iter()
            .flat_map(|s| &s.mounts)
            .filter_map(|m| m.volume_key.as_deref())
            .collect();
        for volume in project.volumes.iter().filter(|v| !v.external) {
            let used = mounted.contains(volume.key.as_str());
            if used
                || used_as_drive_letter(project, volume)
                || written_without_target(project, volume)
            {
                continue;
            }
            let key = &volume.key;
            out.push(Finding::new(
                META.id,
                META.severity,
                volume.loc,
                format!("volume `{key}` is declared but no service mounts it"),
                format!("mount it where the data belongs (`{key}:/path/in/container` under a service's `volumes:`), or remove `{key}:` from the top-level `volumes:`"),
            ));
        }
    }
}

/// `- cache`: the volume's name written alone, which compose reads as an anonymous volume at
/// the relative path `cache`; `invalid-volume-spec` reports the entry.
fn written_without_target(project: &Project, volume: &TopVolume) -> bool {
    project.services.iter().flat_map(|s| &s.mounts).any(|m| {
        m.syntax == MountSyntax::Short && m.kind == MountKind::Anonymous && m.target == volume.key
    })
}

/// `v:/data` mentions the one-letter volume `v` but compose reads a drive path.
fn used_as_drive_letter(project: &Project, volume: &TopVolume) -> bool {
    let mut chars = volume.key.chars();
    if chars.next().is_none() || chars.next().is_some() {
        return false;
    }
    let prefix = format!("{}:", volume.key);
    project.services.iter().flat_map(|s| &s.mounts).any(|m| {
        m.syntax == MountSyntax::Short
            && match m.kind {
                MountKind::Anonymous => m.target.starts_with(&prefix),
                MountKind::Bind => m.source.as_deref().is_some_and(|s| s.starts_with(&prefix)),
                _ => false,
            }
    })
}
