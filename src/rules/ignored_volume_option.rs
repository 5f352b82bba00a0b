//! `ignored-volume-option`: a short-syntax volume option compose silently drops (`RO`, `rx`,
//! `cached`…).

use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::compose::model::{Mount, MountSyntax, Project};
use crate::finding::{Finding, Severity};
use crate::yaml::value::Loc;

pub(crate) struct IgnoredVolumeOption;

static META: RuleMeta = RuleMeta {
    id: "ignored-volume-option",
    category: Category::Correctness,
    severity: Severity::Info,
    off_by_default: false,
    fix: FixAvailability::None,
    migrates: false,
    summary: "a short-syntax volume option compose silently ignores",
    what_it_does: "Reports an option in the third field of a short-syntax volume (`SOURCE:TARGET:OPTIONS`) \
that compose drops without a word: options are case sensitive (`RO`, `Rw`, `Z` is fine but `SHARED` \
is not), `cached`, `delegated` and `consistent` only exist in the long syntax (`consistency:`), \
and anything unknown (`rx`, `readonly`, `volume-nocopy`) is ignored. Empty options (a stray \
comma) are not reported.",
    why_it_matters: "The mount does something other than what is written. `./data:/data:RO` is \
mounted **read-write**: the container can modify or delete what the author meant to protect, \
and a backup or seed directory meant to be read-only is changed in place — that finding is a \
warning. The others are information, because the mount keeps the same data either way: \
`cached` and `delegated` are dropped (the performance setting they stand for never applies), \
and a misspelt `nocopy` or propagation falls back to the default.",
    example: "services:\n  web:\n    image: nginx:1.27\n    volumes:\n      - ./site:/usr/share/nginx/html:RO\n",
    fix_safety: "No fix: `RO` → `ro` makes a mount read-only that is read-write today, which can \
break a container that writes there; the change is left to the author.",
};

impl Rule for IgnoredVolumeOption {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        for service in &ctx.project.services {
            for mount in service
                .mounts
                .iter()
                .filter(|m| m.syntax == MountSyntax::Short)
            {
                let Some(entry) = mount.loc else { continue };
                for option in mount.ignored_options.iter().filter(|o| !o.is_empty()) {
                    let loc = option_loc(ctx.project, entry, option).unwrap_or(entry);
                    let (severity, message, help) = describe(option, mount);
                    out.push(
                        Finding::new(META.id, severity, loc, message, help).service(&service.name),
                    );
                }
            }
        }
    }
}

const PROPAGATIONS: [&str; 6] = [
    "rprivate", "private", "rshared", "shared", "rslave", "slave",
];

/// The finding's severity, message and help. A read-only mount written so that compose mounts it
/// read-write is a warning (the container can change or delete what was meant to be protected);
/// every other ignored option is information, since the mount holds the same data either way.
/// `lint::run` applies a configured severity to every finding of the rule.
fn describe(option: &str, mount: &Mount) -> (Severity, String, String) {
    let lower = option.to_ascii_lowercase();
    match lower.as_str() {
        "ro" | "readonly" | "read-only" | "read_only" => {
            let effect = if mount.read_only {
                "compose ignores it (the mount is read-only only because of another option)"
            } else {
                "compose ignores it and mounts read-write"
            };
            let severity = if mount.read_only { META.severity } else { Severity::Warning };
            (severity, format!("volume option `{option}` is not `ro`: {effect}"), "write `ro` in lower case to mount read-only".into())
        }
        "rw" => (
            META.severity,
            format!("volume option `{option}` is not `rw`: compose ignores it"),
            "write `rw` in lower case, or drop it: read-write is the default".into(),
        ),
        "cached" | "delegated" | "consistent" => (
            META.severity,
            format!("volume option `{option}` is ignored in the short syntax"),
            format!("use the long syntax with `consistency: {lower}` (it only has an effect on Docker Desktop for Mac), or drop the option"),
        ),
        "nocopy" | "volume-nocopy" | "volume_nocopy" | "no-copy" | "no_copy" => (
            META.severity,
            format!("volume option `{option}` is not `nocopy`: compose ignores it and copies the image's content into an empty volume"),
            "write `nocopy`".into(),
        ),
        l if PROPAGATIONS.contains(&l) => (
            META.severity,
            format!("volume option `{option}` is not `{l}`: compose ignores it and the mount keeps the default propagation"),
            format!("write `{l}` in lower case"),
        ),
        _ => (
            META.severity,
            format!("volume option `{option}` is not a mount option: compose ignores it"),
            "short-syntax options are `ro`, `rw`, `z`, `Z`, `nocopy` and the propagations `shared`, `slave`, `private` (and `rshared`, `rslave`, `rprivate`), separated by commas; other settings need the long syntax".into(),
        ),
    }
}

/// The option's own place inside the entry when the entry is written plainly (not interpolated,
/// no escapes), so the finding underlines `RO` rather than the whole entry.
fn option_loc(project: &Project, entry: Loc, option: &str) -> Option<Loc> {
    let text = project
        .files
        .get(entry.file)?
        .source
        .text
        .get(entry.start..entry.end)?;
    let (body_start, body) = match text.as_bytes().first() {
        Some(b'"' | b'\'') if text.len() >= 2 => (1, &text[1..text.len() - 1]),
        _ => (0, text),
    };
    if body.contains(['$', '\\', '\n']) {
        return None;
    }
    let options_start = body.rfind(':')? + 1;
    let mut offset = options_start;
    for piece in body[options_start..].split(',') {
        if piece == option {
            let start = entry.start + body_start + offset;
            return Some(Loc {
                file: entry.file,
                start,
                end: start + piece.len(),
            });
        }
        offset += piece.len() + 1;
    }
    None
}
