//! `implicit-volume`: an image `VOLUME` (known image, or a local Dockerfile's) that nothing is
//! mounted on, so the engine creates an anonymous volume for it.

use std::path::Path;

use super::data_layout::{Layout, Verdict, add_volumes_hint, image_loc, subject};
use super::{Category, Context, FixAvailability, Rule, RuleMeta, data_layout};
use crate::analysis::{VolumeSource, covers};
use crate::compose::model::{Mount, MountSyntax};
use crate::compose::mounts::clean_path;
use crate::finding::{Finding, Severity};
use crate::rules::convert;

pub(crate) struct ImplicitVolume;

static META: RuleMeta = RuleMeta {
    id: "implicit-volume",
    category: Category::Persistence,
    severity: Severity::Warning,
    off_by_default: false,
    fix: FixAvailability::Sometimes,
    migrates: true,
    summary: "an image `VOLUME` with nothing mounted on it becomes an anonymous volume",
    what_it_does: "Reports, on the service's `image:` (or `build:`) value, the `VOLUME`s of the \
image that nothing is mounted on at exactly their path. The `VOLUME`s are those of a local \
Dockerfile the service builds, or those the knowledge base records for a known image (for a \
known image only the `VOLUME`s that hold its data are reported: scratch volumes such as plex's \
`/transcode` or bitnami's `/docker-entrypoint-initdb.d` are not).\n\n\
A `VOLUME` whose data is lost because a mount on a parent path was meant to hold it is reported \
by `shadowed-data-path` instead.",
    why_it_matters: "For every unmounted `VOLUME` the engine creates an anonymous volume with a \
random name. It survives `restart` and the recreate done by `docker compose up`, which is why the \
problem stays hidden; but `docker compose down` and `up -V` orphan it (the next container starts \
with a new, empty one), `down -v` and `rm -v` delete it, and `docker volume prune` reclaims it. For a database image (`postgres`, `mysql`, `mongo`, `redis`…) that volume is the database.",
    example: "services:\n  cache:\n    image: redis:7   # VOLUME /data\n    command: redis-server --appendonly yes\n",
    fix_safety: "Unsafe fix (`--unsafe-fixes`, or `stowage migrate`): mounts a named volume \
(`<service>-<basename>`) on each image `VOLUME` path and declares it under the top-level \
`volumes:`. The new volume starts empty (with the image's content): the data of the existing \
anonymous volume has to be copied across, which `stowage migrate --script` writes the commands \
for. No fix when the service's volumes come from an anchor or another file, where a new \
`volumes:` key would replace them.",
};

impl Rule for ImplicitVolume {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        for (service, analysis) in ctx.services() {
            let Some(layout) = Layout::of(ctx, analysis) else {
                continue;
            };
            let own = |m: &Mount| analysis.mounts.iter().any(|x| std::ptr::eq(x, m));
            let from_kb = |m: &Mount| {
                analysis
                    .facts
                    .as_ref()
                    .is_some_and(|f| f.volume_paths.iter().any(|p| clean_path(p) == m.target))
            };
            let mut reported: Vec<&Mount> = Vec::new();
            let mut holds_data = false;
            for &m in &layout.mounts {
                if m.syntax != MountSyntax::Implicit || !own(m) {
                    continue;
                }
                let mut keep = !from_kb(m);
                for data in &layout.paths {
                    match data.verdict {
                        Verdict::ImplicitVolume(h) if std::ptr::eq(h, m) => {
                            holds_data = true;
                            keep = true;
                        }
                        // Part of the data directory goes to an anonymous volume.
                        _ if data.path != m.target && covers(&data.path, &m.target) => keep = true,
                        _ => {}
                    }
                }
                // shadowed-data-path names the mount that was meant to hold this data.
                let shadowed = layout.paths.iter().any(|d| match d.verdict {
                    Verdict::Shadowed { volume, .. }
                    | Verdict::Misplaced {
                        volume: Some(volume),
                        ..
                    } => std::ptr::eq(volume, m),
                    _ => false,
                });
                if keep && !shadowed {
                    reported.push(m);
                }
            }
            if reported.is_empty() {
                continue;
            }
            let Some(loc) = image_loc(service, analysis) else {
                continue;
            };
            let paths: Vec<&str> = reported.iter().map(|m| m.target.as_str()).collect();
            let (volumes, hold) = if paths.len() == 1 {
                ("an anonymous volume", "holds")
            } else {
                ("anonymous volumes", "hold")
            };
            let mut message = format!(
                "{} declares `VOLUME {}` with nothing mounted there: compose creates {volumes}",
                subject(ctx, service, analysis),
                paths.join(" ")
            );
            if holds_data {
                message.push_str(&format!(" that {hold} its data"));
            }
            let mut origins = Vec::new();
            if let (true, Some(facts)) = (reported.iter().any(|m| from_kb(m)), &analysis.facts) {
                origins.push(format!("the knowledge base entry `{}`", facts.key));
            }
            if reported.iter().any(|m| !from_kb(m)) {
                match &analysis.volumes_from {
                    VolumeSource::Dockerfile(shown) => {
                        origins.push(format!("`{}`", dockerfile_display(ctx, shown)));
                    }
                    _ => origins.push("the image".to_owned()),
                }
            }
            let help = format!(
                "an anonymous volume survives a recreate but is orphaned by `docker compose down` and deleted by `down -v`; mount a named volume there: add {} (the `VOLUME` comes from {})",
                add_volumes_hint(ctx, &service.name, loc, &paths),
                origins.join(" and ")
            );
            let mut finding =
                data_layout::data_finding(&META, analysis, service, loc, message, help);
            // A place several services share (an image in an anchor) gets no fix: one edit
            // could not give each service its own volume.
            if !data_layout::shared_place(ctx, loc) {
                finding.fix = convert::add_implicit(ctx, service, &reported);
            }
            out.push(finding);
        }
    }
}

/// A Dockerfile path for help text, relative to the project directory when inside it.
fn dockerfile_display(ctx: &Context, shown: &str) -> String {
    Path::new(shown)
        .strip_prefix(&ctx.project.directory)
        .map_or_else(|_| shown.to_owned(), |p| p.display().to_string())
}
