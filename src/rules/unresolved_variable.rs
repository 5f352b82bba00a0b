//! `unresolved-variable`: a volume entry or an image uses a variable that has no value and no
//! default, so compose substitutes an empty string.

use super::service_places::Written;
use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::compose::model::{Mount, Project};
use crate::compose::mounts::MountKind;
use crate::finding::{Finding, Severity};
use crate::yaml::value::Loc;

pub(crate) struct UnresolvedVariable;

static META: RuleMeta = RuleMeta {
    id: "unresolved-variable",
    category: Category::Correctness,
    severity: Severity::Info,
    off_by_default: false,
    fix: FixAvailability::None,
    migrates: false,
    summary: "a volume entry or image uses a variable with no value and no default",
    what_it_does: "Reports `$VAR` / `${VAR}` in a service's `volumes` entry or `image` when the \
variable is set neither in the environment nor in the project's `.env`, and has no default. \
The message says what compose makes of the entry once the variable is replaced by an empty \
string. Variables elsewhere in the file are not reported.",
    why_it_matters: "Compose only warns (`The \"DATA\" variable is not set. Defaulting to a \
blank string.`) and carries on with a different mount: `${DATA}/pg:/var/lib/postgresql/data` \
becomes a bind of `/pg` at the root of the host, `${DATA}pgdata:/data` the volume `pgdata`, \
`${DATA}:/data` an invalid entry. On a machine where the variable is missing — a new server, a \
CI runner, `sudo` dropping the environment — the database starts on an empty directory, and \
its data is written where nobody will look for it. An image variable decides which image (and \
so which data directory) runs.",
    example: "services:\n  db:\n    image: postgres:16\n    volumes:\n      - ${DATA_DIR}/pg:/var/lib/postgresql/data\n",
    fix_safety: "No fix: the value belongs to the deployment; set it in `.env` or give the \
variable a default in the file.",
};

impl Rule for UnresolvedVariable {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        let project = ctx.project;
        // Each file's `image` and `volumes` values, read once for all its variables.
        let mut written: Vec<Option<Written>> = project.files.iter().map(|_| None).collect();
        for (name, loc) in &project.unset_variables {
            let Some(file) = project.files.get(loc.file) else {
                continue;
            };
            let written = written[loc.file]
                .get_or_insert_with(|| Written::new(&file.tree, loc.file, &["image", "volumes"]));
            for place in places(written, *loc) {
                let Some((message, help)) = describe(project, name, &place, *loc) else {
                    continue;
                };
                out.push(
                    Finding::new(META.id, META.severity, *loc, message, help)
                        .service(&place.service),
                );
            }
        }
    }
}

/// A service's `image` value or `volumes` entry that holds the variable.
struct Place {
    service: String,
    what: PlaceKind,
    /// The whole entry (for a volume) or the image value.
    entry: Loc,
}

#[derive(PartialEq, Eq)]
enum PlaceKind {
    Image,
    Volume,
}

/// The message and help, or `None` when the entry does not reach the final project (a later
/// file or entry replaced it), so the missing value changes nothing.
fn describe(project: &Project, name: &str, place: &Place, loc: Loc) -> Option<(String, String)> {
    // A service left out of the project (`--profile`) is not run: nothing to say about it.
    let service = project.services.iter().find(|s| s.name == place.service)?;
    let outcome = match place.what {
        PlaceKind::Image => match service.image.as_ref() {
            Some(image) if image.loc == place.entry => {
                format!("the image becomes `{}`", image.value)
            }
            Some(_) => return None,
            None => "the image becomes an empty string".to_owned(),
        },
        PlaceKind::Volume => {
            let mount = service.mounts.iter().find(|m| m.loc == Some(place.entry));
            match mount {
                Some(m) => format!("the entry becomes {}", mount_outcome(m)),
                None if project.errors.iter().any(|e| e.loc == Some(place.entry)) => {
                    "the entry becomes invalid and compose refuses the project".to_owned()
                }
                None => return None,
            }
        }
    };
    let message =
        format!("variable `{name}` is not set: compose substitutes an empty string, so {outcome}");
    let named = place.what == PlaceKind::Volume
        && service
            .mounts
            .iter()
            .find(|m| m.loc == Some(place.entry))
            .is_some_and(|m| m.kind == MountKind::Named);
    let help = if named {
        // `${STACK}data`: a prefix that may well be meant to be empty.
        format!(
            "set `{name}` in the project's `.env` (or the environment); if an empty value is intended, write `${{{name}:-}}`"
        )
    } else {
        let default = default_example(project, name, place, loc);
        format!(
            "set `{name}` in the project's `.env` (or the environment), or give it a default in the file: `{default}`"
        )
    };
    Some((message, help))
}

fn mount_outcome(m: &Mount) -> String {
    let target = &m.target;
    match m.kind {
        MountKind::Bind => match &m.source {
            Some(s) => format!("a bind mount of the host path `{s}` at `{target}`"),
            None => format!("a bind mount without a source at `{target}`"),
        },
        MountKind::Named => format!(
            "the named volume `{}` at `{target}`",
            m.volume_key
                .as_deref()
                .or(m.source.as_deref())
                .unwrap_or("")
        ),
        MountKind::Anonymous => format!("an anonymous volume at `{target}`"),
        kind => format!("a {kind} mount at `{target}`"),
    }
}

/// `${DATA:-./data}` for a volume source, `${TAG:-latest}` for an image.
fn default_example(project: &Project, name: &str, place: &Place, loc: Loc) -> String {
    let text = project
        .files
        .get(loc.file)
        .and_then(|f| f.source.text.get(loc.start..loc.end))
        .unwrap_or("");
    let fallback = match place.what {
        PlaceKind::Image => "latest",
        PlaceKind::Volume
            if text.contains(&format!("{name}}}/")) || text.contains(&format!("${name}/")) =>
        {
            "."
        }
        PlaceKind::Volume => "./data",
    };
    format!("${{{name}:-{fallback}}}")
}

/// Where the variable's scalar sits: inside which services' `image` or `volumes` entries of
/// this file (through anchors and merge keys too). Walking the syntax tree also finds entries
/// the model dropped because the substitution made them invalid.
fn places(written: &Written, loc: Loc) -> Vec<Place> {
    written
        .holders(loc)
        .into_iter()
        .filter_map(|h| {
            let what = match (h.key, h.item) {
                ("image", _) => PlaceKind::Image,
                (_, Some(_)) => PlaceKind::Volume,
                (_, None) => return None,
            };
            Some(Place {
                service: h.service.to_owned(),
                what,
                entry: h.entry,
            })
        })
        .collect()
}
