//! `single-letter-volume`: `v:/data` in short syntax is a Windows drive path to compose, not the
//! named volume `v`.

use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::compose::model::{Mount, MountSyntax};
use crate::compose::mounts::{self, MountKind};
use crate::finding::{Finding, Severity};
use crate::rules::convert;

pub(crate) struct SingleLetterVolume;

static META: RuleMeta = RuleMeta {
    id: "single-letter-volume",
    category: Category::Correctness,
    severity: Severity::Warning,
    off_by_default: false,
    fix: FixAvailability::None,
    migrates: false,
    summary: "a one-letter volume name is read as a Windows drive letter",
    what_it_does: "Reports a short-syntax volume whose first field is one letter followed by \
`:` — `v:/data`, `a:/srv:ro` — where compose's parser keeps the colon as part of a Windows \
drive path. `v:/data` becomes an **anonymous volume** with the container path `v:/data`; \
`a:/srv:ro` becomes a bind mount of the host path `a:/srv` onto the container path `ro`. \
Real Windows binds (`C:\\data:/data`, `C:/Users/me/app:/app`, whose container path is \
absolute) are not reported.",
    why_it_matters: "The author meant the named volume `v`, declared under `volumes:`, and \
believes the data is kept in it. It is not: the data goes to an anonymous volume (orphaned by \
`down`, deleted by `down -v`) or, on Linux, the engine refuses the relative container path. \
The declared volume `v` stays empty, so no error ever points at the mistake.",
    example: "services:\n  db:\n    image: postgres:16\n    volumes:\n      - d:/var/lib/postgresql/data\nvolumes:\n  d:\n",
    fix_safety: "No fix: renaming the volume means choosing a name, and existing data may sit in \
an anonymous volume that must be moved by hand.",
};

impl Rule for SingleLetterVolume {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        let project = ctx.project;
        for service in &project.services {
            for mount in &service.mounts {
                let Some(loc) = mount.loc else { continue };
                let Some(trap) = drive_trap(mount) else {
                    continue;
                };
                let letter = trap.letter;
                let intended = format!("{letter}:{}", trap.rest);
                let read_as = match mount.kind {
                    MountKind::Anonymous => format!(
                        "an anonymous volume at the container path `{}`",
                        mount.target
                    ),
                    _ => format!(
                        "a bind mount of the host path `{}` onto the container path `{}`",
                        trap.drive_path, mount.target
                    ),
                };
                let message = format!(
                    "`{letter}:` is read as a Windows drive letter: `{intended}` is {read_as}, not the named volume `{letter}`"
                );
                // Named as `stowage migrate` names volumes, after the intended container path;
                // an entry services share through an anchor keeps one volume for all of them.
                let path = trap.rest.split(':').next().unwrap_or("");
                let owner = (!convert::is_shared(ctx, mount)).then_some(service.name.as_str());
                // An anonymous volume is what `migrate` converts: the name it gives.
                let new_name = match mount.kind {
                    MountKind::Anonymous => convert::volume_name(ctx, service, mount),
                    _ => convert::name_for_path(ctx, owner, path),
                };
                let declared = project.volume(&letter);
                let help = match declared {
                    Some(_) => format!(
                        "rename the volume to two or more characters, here and in the top-level `volumes:` (e.g. `{new_name}:{}` and `{new_name}:`)",
                        trap.rest
                    ),
                    None => format!(
                        "rename the volume to two or more characters and declare it under the top-level `volumes:` (e.g. `{new_name}:{}`)",
                        trap.rest
                    ),
                };
                let mut f =
                    Finding::new(META.id, META.severity, loc, message, help).service(&service.name);
                if let Some(v) = declared {
                    f = f.label(
                        v.loc,
                        format!(
                            "the volume `{letter}` declared here is not what this entry mounts"
                        ),
                    );
                }
                out.push(f);
            }
        }
    }
}

struct Trap {
    letter: String,
    /// What follows `v:` as the author wrote it (`/data`, `/srv:ro`).
    rest: String,
    /// The host path compose binds (`a:/srv`), for binds.
    drive_path: String,
}

/// The entry, after interpolation, starts with one letter and `:` and compose read it as a
/// drive: an anonymous volume at `v:/…`, or a bind of `v:…` onto a container path that is not
/// absolute. The parser only keeps such a colon for a letter, so the mount fields say it all.
fn drive_trap(mount: &Mount) -> Option<Trap> {
    if mount.syntax != MountSyntax::Short {
        return None;
    }
    match mount.kind {
        MountKind::Anonymous => {
            let (letter, rest) = split_drive(&mount.target)?;
            // `v:\data` alone is a Windows container path; `v:/data` is the trap.
            rest.starts_with('/').then(|| Trap {
                letter,
                rest: rest.to_owned(),
                drive_path: String::new(),
            })
        }
        MountKind::Bind => {
            let source = mount.source.as_deref()?;
            let (letter, rest) = split_drive(source)?;
            if mount.target.starts_with('/') || mounts::is_windows_abs(&mount.target) {
                return None;
            }
            Some(Trap {
                letter,
                rest: format!("{rest}:{}", mount.target),
                drive_path: source.to_owned(),
            })
        }
        _ => None,
    }
}

fn split_drive(s: &str) -> Option<(String, &str)> {
    let mut chars = s.char_indices();
    let (_, c) = chars.next()?;
    let (colon, sep) = chars.next()?;
    (c.is_alphabetic() && sep == ':').then(|| (c.to_string(), &s[colon + 1..]))
}
