//! `shadowed-data-path`: a persistent mount on a parent or on the wrong path that leaves an
//! image's data elsewhere.

use super::data_layout;
use super::data_layout::{
    Layout, Verdict, code_list, declare_hint, image_loc, shared_place, subject, volume_entries,
};
use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::analysis::covers;
use crate::compose::model::{Mount, MountSyntax};
use crate::finding::{Finding, Severity};
use crate::images::ImageFacts;

pub(crate) struct ShadowedDataPath;

static META: RuleMeta = RuleMeta {
    id: "shadowed-data-path",
    category: Category::Persistence,
    severity: Severity::Error,
    off_by_default: false,
    fix: FixAvailability::None,
    migrates: false,
    summary: "a persistent mount on a parent or on the wrong path leaves the image's data elsewhere",
    what_it_does: "For images the knowledge base knows (or the base image of a local Dockerfile), \
finds a bind mount or named volume that was clearly meant to persist the image's data but does \
not hold it:\n\n\
- the mount is on a **parent** of the data path, and the image declares a `VOLUME` between the \
mount and the data (or at the data path itself) that nothing is mounted on. The engine skips an \
image `VOLUME` only when something is mounted at *exactly* that path, so it creates an anonymous \
volume there, on top of your mount, and the data goes into it. This is the classic \
`db:/var/lib/postgresql` mistake with `postgres` 17 and older, whose data is in \
`/var/lib/postgresql/data`.\n\
- the mount is on the path **another version** of the image uses. This is `postgres` 18 and \
later with a volume at the old `/var/lib/postgresql/data`: from 18 on the image keeps its data in \
`/var/lib/postgresql/<major>/docker` (`VOLUME /var/lib/postgresql`), and its entrypoint refuses \
to start on the old layout. Likewise `chromadb/chroma` 1.x (`/data`) with a volume at the 0.x \
`/chroma/chroma`.\n\
- a **named volume inside** the data path: only that sub-directory is persisted. (A bind mount \
inside a data directory is usually configuration, scripts or plugins, and is left to \
`ephemeral-data` and `implicit-volume`.)\n\n\
Tag variants (`postgres:16` vs `postgres:18`, `latest` = 18) and environment overrides such as \
`PGDATA` are applied before the check: `PGDATA=/var/lib/postgresql/data/pgdata` with a volume at \
`/var/lib/postgresql/data` is fine.",
    why_it_matters: "The stack looks persistent, and even survives `docker compose up` recreating \
the container (the engine re-attaches the anonymous volume), so nobody notices — until \
`docker compose down` or `up -V` orphans the anonymous volume (the next container starts an \
empty database) or `down -v` / `rm -v` deletes it. The named volume you back up holds an empty parent \
directory. With `postgres` 18 and a volume at the old `/var/lib/postgresql/data`, the entrypoint refuses \
to start; an image without such a check writes its data past the mount, into an anonymous volume \
or into the container layer.",
    example: "services:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdata:/var/lib/postgresql   # data is in /var/lib/postgresql/data\nvolumes:\n  pgdata:\n",
    fix_safety: "No fix: moving the mount changes where the data lives, and the data written so \
far sits in an anonymous volume (or in the old layout) that must be copied or upgraded by hand.",
};

impl Rule for ShadowedDataPath {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        for (service, analysis) in ctx.services() {
            let Some(layout) = Layout::of(ctx, analysis) else {
                continue;
            };
            let Some(facts) = &analysis.facts else {
                continue;
            };
            // Per offending mount: the data paths it misses, and where each one really is.
            let mut groups: Vec<Group> = Vec::new();
            for data in &layout.paths {
                let (mount, volume, misplaced) = match &data.verdict {
                    Verdict::Shadowed { mount, volume } => (*mount, Some(*volume), None),
                    Verdict::Misplaced {
                        mount,
                        volume,
                        other_layout,
                    } => (*mount, *volume, Some(*other_layout)),
                    _ => continue,
                };
                // A mount inherited through `volumes_from` is written, and fixed, elsewhere.
                if !analysis.mounts.iter().any(|m| std::ptr::eq(m, mount)) {
                    continue;
                }
                // Mounting at the image VOLUME that swallowed the data both covers the data and
                // stops the engine from creating the anonymous volume.
                let right = match volume {
                    Some(v) if covers(&v.target, &data.path) => v.target.clone(),
                    _ => data.path.clone(),
                };
                let missed = Missed {
                    data: &data.path,
                    right,
                    anonymous: volume.is_some(),
                };
                match groups.iter_mut().find(|g| std::ptr::eq(g.mount, mount)) {
                    Some(g) => {
                        if !g.missed.iter().any(|m| m.right == missed.right) {
                            g.missed.push(missed);
                        }
                    }
                    None => groups.push(Group {
                        mount,
                        misplaced,
                        missed: vec![missed],
                    }),
                }
            }
            if groups.is_empty() {
                continue;
            }
            let subject = subject(ctx, service, analysis);
            for group in groups {
                let Some(loc) = group.mount.loc else {
                    continue;
                };
                let rights: Vec<&str> = group.missed.iter().map(|m| m.right.as_str()).collect();
                let datas: Vec<&str> = group.missed.iter().map(|m| m.data).collect();
                let anonymous = group.missed.iter().filter(|m| m.anonymous).count();
                let message = if let Some(other_layout) = group.misplaced {
                    // Where the data is, not what happens at run time: postgres 18's entrypoint
                    // refuses to start at all when the old path is a mount.
                    let place = match anonymous {
                        0 => "which is not persisted at all",
                        n if n == group.missed.len() => {
                            "an image `VOLUME` left to an anonymous volume"
                        }
                        _ => "partly in anonymous volumes, partly not persisted",
                    };
                    let what = if other_layout {
                        "does not hold the data"
                    } else {
                        "holds only part of the data"
                    };
                    format!(
                        "mount on `{}` {what}: {subject} keeps it in {}, {place}",
                        group.mount.target,
                        code_list(&datas)
                    )
                } else {
                    format!(
                        "mount on `{}` does not hold the data: {subject} declares `VOLUME {}` below it, so the data lands in an anonymous volume",
                        group.mount.target,
                        rights.join(" ")
                    )
                };
                let mut help = retarget_help(group.mount, rights[0]);
                if rights.len() > 1 {
                    let who = (!shared_place(ctx, loc)).then_some(service.name.as_str());
                    let (entries, names) = volume_entries(ctx, who, &rights[1..]);
                    help.push_str(&format!(", and add {entries} {}", declare_hint(&names)));
                }
                if let Some(other_layout) = group.misplaced {
                    match (&facts.relocated_by, other_layout) {
                        (Some(by), _) => help.push_str(&format!(
                            ", or remove `{by}` so the image uses its default path"
                        )),
                        (None, true) => help.push_str(
                            "; data written in another layout (an older version of the image) must be moved or upgraded before the switch",
                        ),
                        (None, false) => {}
                    }
                } else if rights.len() > 1 {
                    help.push_str(
                        "; copy what the anonymous volumes hold into them first (`docker compose cp` or a throw-away container), or they start empty",
                    );
                } else {
                    help.push_str(
                        "; copy what the anonymous volume holds into it first (`docker compose cp` or a throw-away container), or it starts empty",
                    );
                }
                let mut finding =
                    data_layout::data_finding(&META, analysis, service, loc, message, help);
                if let Some(image) = image_loc(service, analysis) {
                    finding = finding.label(image, layout_label(&subject, facts, &datas));
                }
                out.push(finding);
            }
        }
    }
}

struct Missed<'a> {
    data: &'a str,
    /// Where a mount must go to hold `data`.
    right: String,
    /// The data is in an anonymous volume (else nowhere).
    anonymous: bool,
}

struct Group<'a> {
    mount: &'a Mount,
    /// None: on a parent, above an image `VOLUME`; Some(true): on another layout's path;
    /// Some(false): a named volume inside the data path.
    misplaced: Option<bool>,
    missed: Vec<Missed<'a>>,
}

/// "mount it at `/x` instead: `- src:/x`" (or "set its `target:`" for the long syntax).
fn retarget_help(mount: &Mount, right: &str) -> String {
    match (&mount.syntax, &mount.source) {
        (MountSyntax::Long, _) => format!("set this mount's `target:` to `{right}`"),
        (_, Some(source)) => {
            let ro = if mount.read_only { ":ro" } else { "" };
            format!("mount it at `{right}` instead: `- {source}:{right}{ro}`")
        }
        (_, None) => format!("mount it at `{right}` instead"),
    }
}

/// Secondary label at the image: where this image (this tag, this environment) keeps its data.
fn layout_label(subject: &str, facts: &ImageFacts, paths: &[&str]) -> String {
    let mut label = format!("{subject} keeps its data in {}", code_list(paths));
    if let Some(by) = &facts.relocated_by {
        label.push_str(&format!(" (set by `{by}`)"));
    } else if let Some(note) = facts.variant.as_deref().filter(|n| !n.is_empty()) {
        label.push_str(&format!(" — {note}"));
    }
    label
}
