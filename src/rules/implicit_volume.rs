//! `implicit-volume`: an image `VOLUME` (known image, or a local Dockerfile's) that nothing is
//! mounted on, so the engine creates an anonymous volume for it; and a service whose data is in
//! such an anonymous volume of another service, shared through `volumes_from`.

use std::path::Path;

use super::data_layout::{
    Layout, Verdict, add_volumes_hint, code_list, declare_hint, image_loc, subject, volume_entries,
};
use super::{Category, Context, FixAvailability, Rule, RuleMeta, data_layout};
use crate::analysis::{ServiceAnalysis, VolumeSource, covers, shared_from};
use crate::compose::model::{Mount, MountSyntax, Service};
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
Also reports, on its `volumes_from` entry, a service whose data path is held by an anonymous \
volume of the service it names (that service's image `VOLUME`, or an anonymous volume it \
mounts): the volume of a data container is just as anonymous for the services that share it. \
The volume itself is reported on its owner, whose fix covers both.\n\n\
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
            shared_findings(ctx, service, analysis, layout, out);
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

/// The data of `service` held by anonymous volumes of the services it shares volumes from
/// (`volumes_from`): one finding per volume, on the `volumes_from` entry. The volume itself is
/// reported on its owner (`implicit-volume` or `anonymous-volume`), whose fix also covers this
/// service, so this finding has none.
fn shared_findings(
    ctx: &Context,
    service: &Service,
    analysis: &ServiceAnalysis,
    layout: &Layout,
    out: &mut Vec<Finding>,
) {
    let mut held: Vec<(&Mount, &str, Vec<&str>)> = Vec::new();
    for data in &layout.paths {
        let Verdict::Shared { volume, from } = data.verdict else {
            continue;
        };
        match held.iter_mut().find(|(v, _, _)| std::ptr::eq(*v, volume)) {
            Some((_, _, paths)) => paths.push(&data.path),
            None => held.push((volume, from, vec![&data.path])),
        }
    }
    for (volume, from, paths) in held {
        let Some(entry) = service
            .volumes_from
            .iter()
            .find(|e| shared_from(&e.value) == from)
        else {
            continue;
        };
        let origin = if volume.syntax == MountSyntax::Implicit {
            format!(
                "the anonymous volume compose creates for the image `VOLUME {}` of `{from}`",
                volume.target
            )
        } else {
            format!(
                "the anonymous volume `{from}` mounts at `{}`",
                volume.target
            )
        };
        let (are, survive, them) = if paths.len() == 1 {
            ("is", "it survives", "it")
        } else {
            ("are", "they survive", "them")
        };
        let message = format!(
            "{} keeps its data in {}, which {are} in {origin}, shared through `volumes_from: {from}`: {survive} a recreate, but `docker compose down` and `up -V` orphan {them}",
            subject(ctx, service, analysis),
            code_list(&paths),
        );
        let (entries, names) = volume_entries(ctx, Some(from), &[volume.target.as_str()]);
        let help = format!(
            "mount a named volume there in `{from}`, and `volumes_from` shares it with this service: add {entries} to `{from}`'s `volumes:` {}",
            declare_hint(&names)
        );
        out.push(data_layout::data_finding(
            &META, analysis, service, entry.loc, message, help,
        ));
    }
}
