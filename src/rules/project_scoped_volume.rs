//! `project-scoped-volume`: a named volume whose engine name is `<project>_<key>` while the
//! project name comes from the directory name, so renaming the directory loses the volume.

use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::compose::model::NameOrigin;
use crate::compose::mounts::MountKind;
use crate::finding::{Finding, Severity};

pub(crate) struct ProjectScopedVolume;

static META: RuleMeta = RuleMeta {
    id: "project-scoped-volume",
    category: Category::Persistence,
    severity: Severity::Info,
    off_by_default: true,
    fix: FixAvailability::None,
    migrates: false,
    summary: "a named volume's engine name depends on the directory the project is in",
    what_it_does: "Reports a top-level volume that a service mounts, that is neither `external` \
nor given a `name:`, in a project whose name compose takes from the directory name (no \
top-level `name:`, no `-p`, no `COMPOSE_PROJECT_NAME`). Compose names such a volume \
`<project>_<key>` in the engine.

Not reported: volumes no service uses (see `unused-volume`) and volumes whose `driver_opts` \
name a `device` (the data lives on that device or host path, not in the engine's volume).

Off by default: it is a property of nearly every compose file, worth turning on for stacks that \
are deployed from a checkout whose directory name is not fixed.",
    why_it_matters: "The engine volume that holds the data is found by name. When the project \
name comes from the directory, renaming or moving the directory, cloning the repository under \
another name, or running the stack from a CI workspace changes the project name, and `docker \
compose up` creates a new, empty `<newname>_<key>` volume. The old volume still exists, but the \
database starts empty, and nothing says why.",
    example: "# in a directory named `shop`: the volume is `shop_pgdata`\nservices:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdata:/var/lib/postgresql/data\nvolumes:\n  pgdata:\n",
    fix_safety: "No automatic fix: set the top-level `name:` to the current project name (the \
engine names stay the same), or give the volume a fixed `name:`.",
};

impl Rule for ProjectScopedVolume {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        let project = ctx.project;
        if project.name_origin != NameOrigin::Directory {
            return;
        }
        for volume in &project.volumes {
            if volume.external || volume.explicit_name || volume.driver_opts.contains_key("device")
            {
                continue;
            }
            let users: Vec<&str> = project
                .services
                .iter()
                .filter(|s| {
                    s.mounts.iter().any(|m| {
                        m.kind == MountKind::Named && m.volume_key.as_deref() == Some(&volume.key)
                    })
                })
                .map(|s| s.name.as_str())
                .collect();
            if users.is_empty() {
                continue;
            }
            let message = format!(
                "the engine name of volume `{}` (`{}`) comes from the directory name: renaming or \
moving the directory starts a new, empty volume",
                volume.key, volume.name
            );
            let help = format!(
                "set the top-level `name: {}` to keep this engine name whatever the directory, \
or give the volume a fixed `name: {}`",
                project.name, volume.name
            );
            let mut finding = Finding::new(META.id, META.severity, volume.loc, message, help);
            for user in users {
                finding = finding.service(user);
            }
            out.push(finding);
        }
    }
}
