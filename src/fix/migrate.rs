//! `stowage migrate`: which mounts a migration converts, and the data plan that carries existing
//! data across — as a summary for people and as a POSIX sh script that never deletes anything.

use std::fmt::Write;
use std::path::PathBuf;

use foldhash::{HashMap, HashMapExt, HashSet};

use crate::analysis::{self, ServiceAnalysis};
use crate::compose::loader::LoadOptions;
use crate::compose::model::{Mount, MountSyntax, Project, TopVolume};
use crate::compose::mounts::MountKind;
use crate::finding::Finding;
use crate::fix::{self, Outcome};
use crate::images::KnowledgeBase;
use crate::lint::config::Config;
use crate::lint::{self, RuleSettings};
use crate::rules;
use crate::rules::convert::{BindStrategy, FixSettings};

/// A verified migration of one project, not yet written.
pub struct Migration {
    pub outcome: Outcome,
    /// The project as it loads after the migration.
    pub(crate) after: Project,
    pub conversions: Vec<Conversion>,
    /// What the migration was asked to convert and could not (no automatic fix: an entry built
    /// from a variable, a block scalar, long-syntax binds, …), placed in the project as it was
    /// before the migration (`left_before`, for a dry run) and after it (`left`).
    pub(crate) left: Vec<Finding>,
    pub(crate) left_before: Vec<Finding>,
}

/// The most mounts one migration converts: the fix loop holds the project before and after and
/// the findings of both, a few kilobytes per mount, and must stay well under 1 GiB
/// (`docs/robustness.md`). Real projects convert tens.
pub const MAX_CONVERSIONS: usize = 20_000;

/// Migrates one project in memory: the migration rules' fixes (unsafe ones included) through the
/// fix loop, then checks that every target is still mounted. `Err` says why it refuses.
pub fn migrate_project(
    opts: &LoadOptions,
    before: &Project,
    before_mounts: &[ServiceAnalysis],
    kb: &KnowledgeBase,
    fixes: FixSettings,
) -> Result<Migration, String> {
    let binds = fixes.binds;
    // What was not asked for (`--service`) is not "left".
    let chosen = fixes.services.clone();
    let candidates = before_mounts
        .iter()
        .flat_map(|a| &a.mounts)
        .filter(|m| {
            m.kind == MountKind::Anonymous
                || (m.kind == MountKind::Bind && binds != BindStrategy::Skip)
        })
        .count();
    if candidates > MAX_CONVERSIONS {
        let shown = before
            .main_files
            .first()
            .map(|&f| before.file(f).source.display.clone())
            .unwrap_or_default();
        return Err(format!(
            "{shown}: refusing to migrate: {candidates} mounts to convert in one project, more \
             than the {MAX_CONVERSIONS} stowage converts at once (each costs memory for the \
             verification); migrate some services by hand first"
        ));
    }
    let settings = RuleSettings {
        select: rules::RULES
            .iter()
            .map(|rule| rule.meta())
            .filter(|meta| meta.migrates)
            .map(|meta| meta.id.to_owned())
            .collect(),
        fixes,
        ..RuleSettings::default()
    };
    // Severities and per-path ignores of a configuration do not decide what migrates.
    let lint = |p: &Project| {
        lint::run(
            p,
            &analysis::analyse(p, kb),
            kb,
            &settings,
            &Config::default(),
        )
    };
    let mut outcome = fix::fix_project(opts, &lint, true).map_err(|e| e.to_string())?;
    let after = outcome
        .project
        .take()
        .ok_or("the migrated project could not be loaded")?;
    let after_mounts = analysis::analyse(&after, kb);
    let shown = before
        .main_files
        .first()
        .map(|&f| before.file(f).source.display.clone())
        .unwrap_or_default();
    let none = HashSet::default();
    if let Some(lost) = lost_target(before, before_mounts, &after, &after_mounts, &none) {
        return Err(format!(
            "{shown}: refusing to migrate: {lost} would no longer be mounted"
        ));
    }
    // The other direction catches an edit that landed in the wrong place: `a:/x` and `b:/y`
    // run together into one entry mount something at a path nothing was mounted on before.
    // Only a data path that nothing persisted (`ephemeral-data`) may gain a mount.
    let layer = layer_paths(before, before_mounts);
    if let Some(gained) = lost_target(&after, &after_mounts, before, before_mounts, &layer) {
        return Err(format!(
            "{shown}: refusing to migrate: {gained} would be mounted where nothing was before"
        ));
    }
    let conversions = conversions(before, before_mounts, &after, &after_mounts);
    // Binds are only asked for with `--binds volume|keep-path`.
    let left: Vec<Finding> = outcome
        .remaining
        .iter()
        .filter(|f| f.rule != "bind-mount" || binds != BindStrategy::Skip)
        .filter(|f| chosen.is_empty() || f.services.iter().any(|s| chosen.contains(s)))
        .cloned()
        .collect();
    // The same findings in the project as it was (rule, message and services name one), from
    // the fix loop's first pass rather than linting `before` once more.
    let left_keys: HashSet<(&str, &str, &[String])> = left
        .iter()
        .map(|f| (f.rule, f.message.as_str(), f.services.as_slice()))
        .collect();
    let is_left =
        |f: &Finding| left_keys.contains(&(f.rule, f.message.as_str(), f.services.as_slice()));
    let left_before = match outcome.remaining_before.take() {
        Some(before) => before.into_iter().filter(is_left).collect(),
        // Nothing was fixed: what is left is where it was.
        None => outcome
            .remaining
            .iter()
            .filter(|f| is_left(f))
            .cloned()
            .collect(),
    };
    Ok(Migration {
        outcome,
        after,
        conversions,
        left,
        left_before,
    })
}

/// The data paths of each service that no mount holds or covers: their data is in the
/// container's own layer, as (service, path).
fn layer_paths<'a>(
    project: &'a Project,
    mounts: &'a [ServiceAnalysis],
) -> HashSet<(&'a str, &'a str)> {
    let mut out = HashSet::default();
    for a in mounts {
        let Some(placement) = &a.placement else {
            continue;
        };
        for path in &placement.paths {
            if !a.mounts.iter().any(|m| analysis::covers(&m.target, path)) {
                out.insert((project.services[a.service].name.as_str(), path.as_str()));
            }
        }
    }
    out
}

/// A service target mounted in `before` and not in `after`, other than those in `allowed` (a
/// migration changes the kind of mount, never what is mounted where). Linear: `after`'s
/// targets are indexed by service.
fn lost_target(
    before: &Project,
    before_mounts: &[ServiceAnalysis],
    after: &Project,
    after_mounts: &[ServiceAnalysis],
    allowed: &HashSet<(&str, &str)>,
) -> Option<String> {
    // The first service of a name, as a scan would find it.
    let mut now: HashMap<&str, HashSet<&str>> = HashMap::new();
    for x in after_mounts.iter().rev() {
        let targets = x.mounts.iter().map(|m| m.target.as_str()).collect();
        now.insert(after.services[x.service].name.as_str(), targets);
    }
    for a in before_mounts {
        let name = &before.services[a.service].name;
        let targets = now.get(name.as_str());
        for m in &a.mounts {
            if !targets.is_some_and(|t| t.contains(m.target.as_str()))
                && !allowed.contains(&(name.as_str(), m.target.as_str()))
            {
                return Some(format!("`{}` of service `{name}`", m.target));
            }
        }
    }
    None
}

/// One mount that a migration turns into a named volume.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conversion {
    pub service: String,
    pub target: String,
    pub(crate) from: Source,
    /// The new top-level volume key and its engine name.
    pub(crate) volume_key: String,
    pub(crate) engine_name: String,
    /// `--binds keep-path`: the volume is the same host directory; nothing to copy.
    pub(crate) keeps_path: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum Source {
    /// An anonymous volume written in the file.
    Anonymous,
    /// The anonymous volume an image `VOLUME` created.
    ImageVolume,
    /// A host directory (absolute path).
    Bind(String),
    /// The container's own writable layer: nothing was mounted there.
    ContainerLayer,
}

/// The conversions between a project before and after migration: every service target that was
/// an anonymous volume or a bind and is now a named volume.
pub(crate) fn conversions(
    before: &Project,
    before_mounts: &[ServiceAnalysis],
    after: &Project,
    after_mounts: &[ServiceAnalysis],
) -> Vec<Conversion> {
    let mut out = Vec::new();
    // After the migration: each service's named volumes by target (the first one, as a scan
    // would find), and the top-level volumes by key.
    let named: HashMap<&str, HashMap<&str, &Mount>> = after_mounts
        .iter()
        .rev()
        .map(|x| {
            let mut by_target = HashMap::new();
            for m in x.mounts.iter().filter(|m| m.kind == MountKind::Named) {
                by_target.entry(m.target.as_str()).or_insert(m);
            }
            (after.services[x.service].name.as_str(), by_target)
        })
        .collect();
    let volumes: HashMap<&str, &TopVolume> = after
        .volumes
        .iter()
        .rev()
        .map(|v| (v.key.as_str(), v))
        .collect();
    let layer = layer_paths(before, before_mounts);
    for a in before_mounts {
        let service = &before.services[a.service];
        let Some(new) = named.get(service.name.as_str()) else {
            continue;
        };
        // Data paths nothing held before, now on a named volume: the data is in the old
        // container's own layer.
        for path in a.placement.iter().flat_map(|p| &p.paths) {
            if !layer.contains(&(service.name.as_str(), path.as_str())) {
                continue;
            }
            if let Some(now) = new.get(path.as_str()) {
                out.push(Conversion {
                    service: service.name.clone(),
                    target: path.clone(),
                    from: Source::ContainerLayer,
                    volume_key: now.volume_key.clone().unwrap_or_default(),
                    engine_name: now.resolved_source.clone().unwrap_or_default(),
                    keeps_path: false,
                });
            }
        }
        for m in &a.mounts {
            let from = match (m.kind, m.syntax) {
                (MountKind::Anonymous, MountSyntax::Implicit) => Source::ImageVolume,
                (MountKind::Anonymous, _) => Source::Anonymous,
                (MountKind::Bind, _) => Source::Bind(m.resolved_source.clone().unwrap_or_default()),
                _ => continue,
            };
            let Some(now) = new.get(m.target.as_str()) else {
                continue;
            };
            let key = now.volume_key.clone().unwrap_or_default();
            let volume = volumes.get(key.as_str());
            let keeps_path = matches!(&from, Source::Bind(_))
                && volume
                    .is_some_and(|v| v.driver_opts.get("o").is_some_and(|o| o.contains("bind")));
            out.push(Conversion {
                service: service.name.clone(),
                target: m.target.clone(),
                from,
                volume_key: key,
                engine_name: now.resolved_source.clone().unwrap_or_default(),
                keeps_path,
            });
        }
    }
    out
}

/// The plan for people: the files the migration edits, then each mount and where its data goes.
pub(crate) fn summary(project: &Project, conversions: &[Conversion], files: &[&str]) -> String {
    let mut out = String::new();
    if conversions.is_empty() && files.is_empty() {
        return out;
    }
    let _ = writeln!(out, "data plan for project `{}`:", project.name);
    if !files.is_empty() {
        let _ = writeln!(out, "  files edited: {}", files.join(", "));
    }
    for c in conversions {
        let from = match &c.from {
            Source::Anonymous => "anonymous volume".to_owned(),
            Source::ImageVolume => "anonymous volume (image VOLUME)".to_owned(),
            Source::Bind(host) => format!("host directory {host}"),
            Source::ContainerLayer => "the container's own layer (no mount)".to_owned(),
        };
        let how = if c.keeps_path {
            "data stays in place"
        } else {
            "copy the data"
        };
        let _ = writeln!(
            out,
            "  {} {}: {from} -> named volume `{}` ({}): {how}",
            c.service, c.target, c.volume_key, c.engine_name
        );
    }
    out
}

/// The mounts a migration left as they were, for people: one line each, with the reason.
/// `allow_outside`: files outside the project's directory could be edited.
pub(crate) fn left_summary(project: &Project, left: &[Finding], allow_outside: bool) -> String {
    let mut out = String::new();
    for f in left {
        let why = if !allow_outside && rules::convert::outside_project(project, f.loc.file) {
            "in a file outside the project's directory, which other projects may use too; \
             `--allow-outside` rewrites it"
        } else if f.rule == rules::anonymous_volume::META.id && f.services.len() > 1 {
            "written once, in an anchor, for several services that each have their own data \
             there: one named volume would merge it; give each service an entry of its own"
        } else {
            "no automatic conversion; see `stowage check`"
        };
        let p = project.position(f.loc);
        let services = f
            .services
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "not migrated: {}:{}:{}: {} (service {services}): {why}",
            p.path, p.line, p.column, f.rule
        );
    }
    out
}

/// Single-quotes a word for sh.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The services whose containers see the data of the conversions: the converted services, every
/// service that reaches one through `volumes_from` (directly or through another), and every
/// service that binds a host directory a conversion copies from. All of them are stopped while
/// the data is copied.
pub(crate) fn services_to_stop(project: &Project, conversions: &[Conversion]) -> Vec<String> {
    let binds: Vec<&str> = conversions
        .iter()
        .filter_map(|c| match &c.from {
            Source::Bind(host) => Some(host.as_str()),
            _ => None,
        })
        .collect();
    let overlaps = |a: &str, b: &str| {
        let inside = |x: &str, y: &str| {
            x == y || x.strip_prefix(y).is_some_and(|rest| rest.starts_with('/'))
        };
        inside(a, b) || inside(b, a)
    };
    let mut stop: Vec<String> = conversions.iter().map(|c| c.service.clone()).collect();
    for service in &project.services {
        let shares = service.mounts.iter().any(|m| {
            m.kind == MountKind::Bind
                && m.resolved_source
                    .as_deref()
                    .is_some_and(|src| binds.iter().any(|b| overlaps(src, b)))
        });
        if shares {
            stop.push(service.name.clone());
        }
    }
    // `volumes_from: [name]`, `[name:ro]` or `[service:name]`; `container:` names no service.
    loop {
        let before = stop.len();
        for service in &project.services {
            if stop.contains(&service.name) {
                continue;
            }
            let reaches = service.volumes_from.iter().any(|v| {
                let v = v.value.strip_prefix("service:").unwrap_or(&v.value);
                let name = v
                    .strip_suffix(":ro")
                    .or_else(|| v.strip_suffix(":rw"))
                    .unwrap_or(v);
                !v.starts_with("container:") && stop.iter().any(|s| s == name)
            });
            if reaches {
                stop.push(service.name.clone());
            }
        }
        if stop.len() == before {
            break;
        }
    }
    stop.sort_unstable();
    stop.dedup();
    stop
}

/// What the plan runs in its helper container to fill the new volume: it must be empty (nothing
/// merged, nothing seeded), then everything is copied with owners, modes and times (busybox `cp
/// -a` does not keep a symbolic link's own time, so it is set afterwards).
const COPY: &str = r#"if [ -n "$(ls -A /to)" ]; then echo "stowage plan: the new volume already holds files; nothing is merged: move them away first" >&2; exit 3; fi
cp -a /from/. /to/
cd /from && find . -type l -exec sh -c 'for f; do touch -h -r "/from/$f" "/to/$f"; done' sh {} +"#;

/// The full listing of `/from` and `/to` compared: per entry its name, type and mode, owner,
/// modification time, and the size and checksum of a file or the target of a link, as records
/// ending in NUL (any file name survives), sorted. A directory's size depends on the
/// filesystem's history, not on its contents, and is left out.
const VERIFY: &str = r#"list() {
  cd "$1" && find . -print0 | xargs -0 -r sh -c 'for f; do
    if [ -L "$f" ]; then c=$(readlink "$f" | sha256sum); s=-
    elif [ -f "$f" ]; then c=$(sha256sum < "$f"); s=$(stat -c %s "$f")
    else c=-; s=-; fi
    printf "%s %s %s %s\0" "$(stat -c "%f %u:%g %Y" "$f")" "$s" "${c%% *}" "$f"
  done' sh | sort -z
}
a=$(list /from | sha256sum); b=$(list /to | sha256sum)
if [ "$a" != "$b" ]; then echo "stowage plan: the listing of the new volume differs from the old data" >&2; exit 4; fi
echo "$(list /from | tr -cd '\000' | wc -c)""#;

/// What the plan runs in its helper container after `docker cp` put the directory of a
/// container's own layer into the new volume (`/to`) and, whole, into `/stowage/NAME` for
/// reference: the volume's root takes the directory's owner, mode and time (the copy fills it
/// but does not set it), then the full listings are compared ([`VERIFY`]).
const LAYER_VERIFY: &str = r#"r=/stowage/$1
chown "$(stat -c %u:%g "$r")" /to && chmod "$(stat -c %a "$r")" /to && touch -r "$r" /to
ln -s "$r" /from"#;

/// One project's part of a data plan: what the script needs of the project as migrated (not the
/// project itself: a monorepo's plans are kept until every file is written), what it converts,
/// and the files the migration edits (named in the script).
#[derive(Debug, Clone)]
pub(crate) struct Plan {
    pub(crate) name: String,
    pub(crate) directory: PathBuf,
    pub(crate) main_files: Vec<PathBuf>,
    /// The services stopped during the copy ([`services_to_stop`]).
    pub(crate) stop: Vec<String>,
    pub(crate) conversions: Vec<Conversion>,
    pub(crate) files: Vec<PathBuf>,
}

impl Plan {
    pub fn new(project: &Project, conversions: Vec<Conversion>, files: Vec<PathBuf>) -> Plan {
        Plan {
            name: project.name.clone(),
            directory: project.directory.clone(),
            main_files: project
                .main_files
                .iter()
                .map(|&f| project.file(f).source.path.clone())
                .collect(),
            stop: services_to_stop(project, &conversions),
            conversions,
            files,
        }
    }
}

/// The data plan as a POSIX sh script for one or more projects: it finds the old data and checks
/// that it is the data the files described, stops every service that sees it, creates each new
/// volume empty (labelled as compose labels its own), copies, compares full listings, and starts
/// again what was running. It refuses, before changing anything, where it would have to guess.
/// Nothing is deleted.
pub(crate) fn script(plans: &[&Plan]) -> String {
    let mut s = String::new();
    let all: Vec<&Conversion> = plans.iter().flat_map(|p| p.conversions.iter()).collect();
    let _ = write!(
        s,
        r#"#!/bin/sh
# Data plan written by `stowage migrate`: it moves the data of the mounts the rewritten compose
# files turned into named volumes. Run it after the files were rewritten and before anything
# recreates the containers (`up`, `down`): it reads the old volumes from the existing containers
# and refuses when they are gone or were already recreated.
#
# Usage: sh PLAN [-p PROJECT] [--from SERVICE:TARGET=SOURCE]...
#   -p PROJECT   the name the stack runs under (default: $COMPOSE_PROJECT_NAME, else the name
#                compose gives it, below)
#   --from ...   where the old data of a mount is, when its container is gone: a volume name or
#                an absolute directory
# Nothing is deleted: old volumes and host directories stay until you remove them.
#
# The compose files the migration edits:
{edited}set -eu

die() {{
  printf 'stowage plan: %s\n' "$*" >&2
  exit 1
}}
helper_image=${{STOWAGE_HELPER_IMAGE:-alpine:3.20}}
project_arg=
"#,
        edited = plans
            .iter()
            .flat_map(|p| &p.files)
            .map(|f| format!(
                "#   {}\n",
                f.display().to_string().replace(['\n', '\r'], " ")
            ))
            .collect::<String>()
    );
    for i in 0..all.len() {
        let _ = writeln!(s, "from_{i}=");
    }
    // The conversion that copies for each: the first of its project with the same source and
    // new volume (the services sharing a host directory share the volume: one copy).
    let mut rep: Vec<usize> = Vec::with_capacity(all.len());
    let mut first: HashMap<(usize, &str, &Source, bool), usize> = HashMap::new();
    let mut i = 0;
    for (p, plan) in plans.iter().enumerate() {
        for c in &plan.conversions {
            let key = (p, c.engine_name.as_str(), &c.from, c.keeps_path);
            rep.push(*first.entry(key).or_insert(i));
            i += 1;
        }
    }
    // Each `SERVICE:TARGET` once, setting every conversion it names (indexed: a monorepo's
    // projects share their service names and targets).
    let mut keys: Vec<(String, Vec<usize>)> = Vec::new();
    let mut key_at: HashMap<String, usize> = HashMap::new();
    let mut named: HashSet<(usize, usize)> = HashSet::default();
    for (i, c) in all.iter().enumerate() {
        let key = format!("{}:{}=", c.service, c.target);
        let k = *key_at.entry(key.clone()).or_insert_with(|| {
            keys.push((key, Vec::new()));
            keys.len() - 1
        });
        if named.insert((k, rep[i])) {
            keys[k].1.push(rep[i]);
        }
    }
    let _ = writeln!(s, "set_from() {{\n  case $1 in");
    for (key, ids) in &keys {
        let sets: Vec<String> = ids
            .iter()
            .map(|i| format!("from_{i}=${{1#{}}}", q(key)))
            .collect();
        let _ = writeln!(s, "    {}*) {} ;;", q(key), sets.join("; "));
    }
    let names: Vec<&str> = keys.iter().map(|(k, _)| k.trim_end_matches('=')).collect();
    let _ = writeln!(
        s,
        "    *) die {} ;;\n  esac\n}}",
        q(&format!(
            "--from names no converted mount; they are: {}",
            names.join(", ")
        ))
    );
    let _ = write!(
        s,
        r#"while [ $# -gt 0 ]; do
  case $1 in
    -p | --project-name)
      [ $# -ge 2 ] || die "$1 needs a project name"
      project_arg=$2
      shift 2 ;;
    --from)
      [ $# -ge 2 ] || die "--from needs SERVICE:TARGET=SOURCE"
      set_from "$2"
      shift 2 ;;
    *) die "unknown argument $1 (usage: sh PLAN [-p PROJECT] [--from SERVICE:TARGET=SOURCE]...)" ;;
  esac
done
"#
    );
    if plans.len() > 1 {
        let _ = writeln!(
            s,
            "[ -z \"$project_arg\" ] || die '-p names one project; this plan moves the data of {} projects'",
            plans.len()
        );
    }
    let _ = write!(
        s,
        r#"
# The mount at a path of a container as TYPE|NAME (empty when nothing is mounted there).
mount_at() {{
  docker inspect --format '{{{{range .Mounts}}}}{{{{.Type}}}}|{{{{.Name}}}}|{{{{.Destination}}}}{{{{println}}}}{{{{end}}}}' "$1" |
    while IFS='|' read -r type name dest; do
      if [ "$dest" = "$2" ]; then printf '%s|%s\n' "$type" "$name"; fi
    done
}}

# The one container of SERVICE (as `ids`) and what it mounts at TARGET (as `m`).
one_container() {{
  ids=$(docker ps -aq --filter "label=com.docker.compose.project=$project" --filter "label=com.docker.compose.service=$1")
  [ -n "$ids" ] || die "no container of service $1 in project $project, so its old data cannot be found: give the project's name (-p NAME) or the old data (--from $1:$2=SOURCE)"
  [ "$(printf '%s\n' "$ids" | wc -l)" -eq 1 ] || die "service $1 has several containers: give the old data with --from $1:$2=SOURCE"
  m=$(mount_at "$ids" "$2")
}}

# The anonymous volume at TARGET in the one container of SERVICE, checked to be the old one:
# not the new volume (the container was recreated from the rewritten files), not a named one.
old_volume() {{
  one_container "$1" "$2"
  case $m in
    "volume|$3") die "the container of $1 already mounts the new volume $3 at $2: it was recreated from the rewritten files, and the old data is in an anonymous volume no container mounts any more; find it (docker volume ls -f dangling=true) and give it with --from $1:$2=VOLUME" ;;
    volume\|?*) ;;
    "") die "the container of $1 mounts nothing at $2: it is not the container the old files made; give the old volume with --from $1:$2=VOLUME" ;;
    *) die "the container of $1 mounts a ${{m%%|*}} at $2, not an anonymous volume: give the old data with --from $1:$2=SOURCE" ;;
  esac
  name=${{m#volume|}}
  [ -z "$(docker volume inspect --format '{{{{index .Labels "com.docker.compose.volume"}}}}' "$name")" ] ||
    die "the container of $1 mounts the named volume $name at $2, not an anonymous one: give the old data with --from $1:$2=SOURCE"
  printf '%s\n' "$name"
}}

# The one container of SERVICE, checked to be the old one: nothing is mounted at TARGET (the
# data is in its own layer), which is not the new volume.
layer_container() {{
  one_container "$1" "$2"
  case $m in
    "") ;;
    "volume|$3") die "the container of $1 already mounts the new volume $3 at $2: it was recreated from the rewritten files, and the data of its own layer went with the old container; if a copy is kept elsewhere, give it with --from $1:$2=SOURCE" ;;
    *) die "the container of $1 mounts a ${{m%%|*}} at $2: it is not the container the old files made; give the old data with --from $1:$2=SOURCE" ;;
  esac
  printf '%s\n' "$ids"
}}

# Copies TARGET out of the own layer of the stopped container C into the empty volume NEW
# (docker cp keeps owners, modes, times and links), compares the full listings, and keeps the
# old container's files as an image, since recreating the container removes them.
copy_layer() {{
  if [ "$(docker cp "$1:$2/." - 2>/dev/null | dd bs=1 count=1 2>/dev/null | wc -c)" -eq 0 ]; then
    echo "stowage plan: the container $1 has nothing at $2: no data to copy" >&2
    return
  fi
  docker run --rm -v "$3":/to "$helper_image" sh -c '[ -z "$(ls -A /to)" ]' ||
    die "the new volume $3 already holds files; nothing is merged: move them away first"
  # The helper and its scratch volume go when it exits (`--rm`), even after a failed copy.
  h=$(docker create --rm -v "$3":/to -v /stowage "$helper_image" sh -c {layer_verify} sh "${{2##*/}}")
  if ! {{ docker cp "$1:$2/." - | docker cp -a - "$h:/to" && docker cp "$1:$2" - | docker cp -a - "$h:/stowage"; }}; then
    docker start "$h" >/dev/null 2>&1 || true
    die "copying $2 out of the container $1 into $3 failed; the services stay stopped, the container is untouched"
  fi
  n=$(docker start -a "$h") ||
    die "$3 is not an exact copy of $2 in the container $1; the services stay stopped, the container is untouched"
  kept="stowage-kept-layer:$(printf '%s' "$1" | cut -c1-12)"
  docker commit "$1" "$kept" >/dev/null ||
    die "$3 holds a verified copy, but the container's files could not be kept as an image; the services stay stopped"
  echo "copied $n entries from $2 of the container $1 to $3 (verified)"
  echo "kept the old container's files: image $kept"
}}

# A source given with --from: an absolute directory or an existing volume.
given() {{
  case $1 in
    /*) [ -d "$1" ] || die "--from $1: no such directory" ;;
    *) docker volume inspect "$1" >/dev/null 2>&1 || die "--from $1: no such volume" ;;
  esac
  printf '%s\n' "$1"
}}

# Creates the new volume empty, labelled as compose labels the volumes it creates (so compose
# uses it as its own), unless it exists.
new_volume() {{
  docker volume inspect "$1" >/dev/null 2>&1 && return
  version=$(docker compose version --short 2>/dev/null) || version=
  docker volume create --label "com.docker.compose.project=$project" --label "com.docker.compose.volume=$2" \
    ${{version:+--label "com.docker.compose.version=$version"}} "$1" >/dev/null
}}

# Copies SOURCE into the empty volume NEW and compares the full listings of both.
copy_into() {{
  docker run --rm -v "$1":/from:ro -v "$2":/to "$helper_image" sh -c {copy} ||
    die "copying $1 into $2 failed; the services stay stopped, the old data is untouched"
  n=$(docker run --rm -v "$1":/from:ro -v "$2":/to:ro "$helper_image" sh -c {verify}) ||
    die "$2 is not an exact copy of $1; the services stay stopped, the old data is untouched"
  echo "copied $n entries from $1 to $2 (verified)"
}}
"#,
        copy = q(COPY),
        verify = q(VERIFY),
        layer_verify = q(&format!("{LAYER_VERIFY}\n{VERIFY}")),
    );
    let mut next = 0;
    for (p, plan) in plans.iter().enumerate() {
        let ids: Vec<usize> = (next..next + plan.conversions.len()).collect();
        next += plan.conversions.len();
        project_section(&mut s, p, plan, &ids, &rep);
    }
    s
}

/// One project's part of the plan; `ids` number its conversions in the whole script, `rep` says
/// which conversion copies for each.
fn project_section(s: &mut String, p: usize, plan: &Plan, ids: &[usize], rep: &[usize]) {
    let conversions = &plan.conversions;
    let files: Vec<String> = plan
        .main_files
        .iter()
        .map(|f| format!("-f {}", q(&f.display().to_string())))
        .collect();
    let _ = writeln!(s, "\n# Project `{}`.", plan.name.replace(['\n', '\r'], " "));
    let _ = writeln!(
        s,
        "project=${{project_arg:-${{COMPOSE_PROJECT_NAME:-{}}}}}",
        q(&plan.name)
    );
    let _ = writeln!(
        s,
        "compose_{p}() {{\n  docker compose --project-directory {} -p \"$project\" {} \"$@\"\n}}",
        q(&plan.directory.display().to_string()),
        files.join(" ")
    );
    // Run before the files were rewritten, the plan would copy into a volume that `up` does
    // not use yet, while the service keeps writing to the old one; so the files must declare
    // every new volume first.
    let mut keys: Vec<String> = conversions.iter().map(|c| q(&c.volume_key)).collect();
    keys.sort_unstable();
    keys.dedup();
    let _ = writeln!(
        s,
        "declared_{p}=$(compose_{p} config --volumes) || die \"the compose files of project $project cannot be read (docker compose config failed); nothing was changed\"\nfor key in {}; do\n  printf '%s\\n' \"$declared_{p}\" | grep -qxF \"$key\" || die \"the compose files do not declare the volume $key: this plan moves data into the volumes that \\`stowage migrate --write\\` declares, so run it after the files were rewritten; nothing was changed\"\ndone",
        keys.join(" ")
    );
    let copies: Vec<(usize, &Conversion)> = ids
        .iter()
        .copied()
        .zip(conversions)
        .filter(|&(i, c)| !c.keeps_path && rep[i] == i)
        .collect();
    // A new volume named after the project follows the name the plan is run with.
    let prefix = format!("{}_", plan.name);
    let new_name = |c: &Conversion| match c.engine_name.strip_prefix(&prefix) {
        Some(key) if key == c.volume_key => format!("\"${{project}}\"_{}", q(key)),
        _ => q(&c.engine_name),
    };
    // Without a container of the project, every source must be given: the name is wrong, or
    // the stack never ran, and nothing may be created under a name it does not run under.
    let all_given: Vec<String> = copies
        .iter()
        .map(|(i, _)| format!("[ -n \"$from_{i}\" ]"))
        .collect();
    let _ = writeln!(
        s,
        "if [ -z \"$(docker ps -aq --filter \"label=com.docker.compose.project=$project\")\" ] && ! {{ {}; }}; then\n  die \"no container of project $project exists: give the name the stack runs under (-p NAME), or every old source with --from\"\nfi",
        if all_given.is_empty() {
            "true".to_owned()
        } else {
            all_given.join(" && ")
        }
    );
    let _ = writeln!(
        s,
        "\n# 1. Where the data is now, checked before anything changes."
    );
    for (i, c) in &copies {
        let _ = writeln!(
            s,
            "if [ -n \"$from_{i}\" ]; then\n  old_{i}=$(given \"$from_{i}\")"
        );
        match &c.from {
            Source::Bind(host) => {
                let _ = writeln!(
                    s,
                    "elif [ -d {h} ]; then\n  old_{i}={h}\nelse\n  echo {} >&2\n  old_{i}=\nfi",
                    q(&format!(
                        "stowage plan: {host} does not exist: no data to copy for {} {}",
                        c.service, c.target
                    )),
                    h = q(host),
                );
            }
            Source::ContainerLayer => {
                let _ = writeln!(
                    s,
                    "  layer_{i}=\nelse\n  old_{i}=$(layer_container {} {} {})\n  layer_{i}=1\nfi",
                    q(&c.service),
                    q(&c.target),
                    new_name(c)
                );
            }
            _ => {
                let _ = writeln!(
                    s,
                    "else\n  old_{i}=$(old_volume {} {} {})\nfi",
                    q(&c.service),
                    q(&c.target),
                    new_name(c)
                );
            }
        }
    }
    let stop_args = plan.stop.iter().map(|x| q(x)).collect::<Vec<_>>().join(" ");
    let _ = writeln!(
        s,
        "\n# 2. Stop every service that sees the data (noting which ran), create the new volumes empty."
    );
    let _ = writeln!(
        s,
        "running_{p}=$(compose_{p} ps --services --status running)\ncompose_{p} stop {stop_args}"
    );
    for (i, c) in &copies {
        let _ = writeln!(
            s,
            "new_{i}={}\nnew_volume \"$new_{i}\" {}",
            new_name(c),
            q(&c.volume_key)
        );
    }
    let _ = writeln!(s, "\n# 3. Copy, and compare the full listings.");
    for (i, c) in &copies {
        let _ = writeln!(
            s,
            "# {} {}",
            c.service.replace(['\n', '\r'], " "),
            c.target.replace(['\n', '\r'], " ")
        );
        if c.from == Source::ContainerLayer {
            let _ = writeln!(
                s,
                "if [ -n \"$layer_{i}\" ]; then\n  copy_layer \"$old_{i}\" {} \"$new_{i}\"\n  old_{i}=\nelse\n  copy_into \"$old_{i}\" \"$new_{i}\"\nfi",
                q(&c.target)
            );
        } else {
            let _ = writeln!(
                s,
                "[ -z \"$old_{i}\" ] || copy_into \"$old_{i}\" \"$new_{i}\""
            );
        }
    }
    for c in conversions.iter().filter(|c| c.keeps_path) {
        let _ = writeln!(
            s,
            "# {} {}: the volume {} is the same host directory; nothing to copy",
            c.service, c.target, c.engine_name
        );
    }
    let _ = writeln!(
        s,
        "\n# 4. Start again, on the new volumes, what was running.\nstart=\nfor service in {stop_args}; do\n  if printf '%s\\n' \"$running_{p}\" | grep -qxF \"$service\"; then start=\"$start $service\"; fi\ndone\n# Service names are single words.\n[ -z \"$start\" ] || compose_{p} up -d --no-deps $start"
    );
    for (i, _) in &copies {
        let _ = writeln!(
            s,
            "[ -z \"$old_{i}\" ] || echo \"kept the old data: $old_{i}\""
        );
    }
}
