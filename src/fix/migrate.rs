//! `stowage migrate`: which mounts a migration converts, and the data plan that carries existing
//! data across — as a summary for people and as a POSIX sh script that never deletes anything.

use std::fmt::Write;

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
    pub after: Project,
    pub conversions: Vec<Conversion>,
    /// What the migration was asked to convert and could not (no automatic fix: an entry built
    /// from a variable, a block scalar, long-syntax binds, …), placed in the project as it was
    /// before the migration (`left_before`, for a dry run) and after it (`left`).
    pub left: Vec<Finding>,
    pub left_before: Vec<Finding>,
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
    if let Some(lost) = lost_target(before, before_mounts, &after, &after_mounts) {
        return Err(format!(
            "{shown}: refusing to migrate: {lost} would no longer be mounted"
        ));
    }
    // The other direction catches an edit that landed in the wrong place: `a:/x` and `b:/y`
    // run together into one entry mount something at a path nothing was mounted on before.
    if let Some(gained) = lost_target(&after, &after_mounts, before, before_mounts) {
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

/// A service target mounted in `before` and not in `after` (a migration changes the kind of
/// mount, never what is mounted where). Linear: `after`'s targets are indexed by service.
fn lost_target(
    before: &Project,
    before_mounts: &[ServiceAnalysis],
    after: &Project,
    after_mounts: &[ServiceAnalysis],
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
            if !targets.is_some_and(|t| t.contains(m.target.as_str())) {
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
    pub from: Source,
    /// The new top-level volume key and its engine name.
    pub volume_key: String,
    pub engine_name: String,
    /// `--binds keep-path`: the volume is the same host directory; nothing to copy.
    pub keeps_path: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// An anonymous volume written in the file.
    Anonymous,
    /// The anonymous volume an image `VOLUME` created.
    ImageVolume,
    /// A host directory (absolute path).
    Bind(String),
}

/// The conversions between a project before and after migration: every service target that was
/// an anonymous volume or a bind and is now a named volume.
pub fn conversions(
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
    for a in before_mounts {
        let service = &before.services[a.service];
        let Some(new) = named.get(service.name.as_str()) else {
            continue;
        };
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

/// The plan for people.
pub fn summary(project: &Project, conversions: &[Conversion]) -> String {
    let mut out = String::new();
    if conversions.is_empty() {
        return out;
    }
    let _ = writeln!(out, "data plan for project `{}`:", project.name);
    for c in conversions {
        let from = match &c.from {
            Source::Anonymous => "anonymous volume".to_owned(),
            Source::ImageVolume => "anonymous volume (image VOLUME)".to_owned(),
            Source::Bind(host) => format!("host directory {host}"),
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

/// The mounts a migration left as they were, for people: one line each.
pub fn left_summary(project: &Project, left: &[Finding]) -> String {
    let mut out = String::new();
    for f in left {
        let p = project.position(f.loc);
        let services = f
            .services
            .iter()
            .map(|s| format!("`{s}`"))
            .collect::<Vec<_>>()
            .join(", ");
        let _ = writeln!(
            out,
            "not migrated: {}:{}:{}: {} (service {services}): no automatic conversion; see `stowage check`",
            p.path, p.line, p.column, f.rule
        );
    }
    out
}

/// Single-quotes a word for sh.
fn q(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// The data plan as a POSIX sh script: find the old data, stop the services, let compose create
/// the new volumes, copy, check that every file arrived, start again. Nothing is deleted.
pub fn script(project: &Project, conversions: &[Conversion]) -> String {
    let mut s = String::new();
    let files: Vec<String> = project
        .main_files
        .iter()
        .map(|&f| {
            format!(
                "-f {}",
                q(&project.file(f).source.path.display().to_string())
            )
        })
        .collect();
    let _ = writeln!(s, "#!/bin/sh");
    let _ = writeln!(
        s,
        "# Data migration for the compose project `{}`, written by `stowage migrate`.",
        project.name.replace('\n', " ")
    );
    let _ = writeln!(
        s,
        "# Run it after the compose files were rewritten (`stowage migrate --write`) and before"
    );
    let _ = writeln!(
        s,
        "# anything recreated the containers: it reads the old volumes from the existing containers."
    );
    let _ = writeln!(
        s,
        "# Nothing is deleted: old anonymous volumes and host directories stay until you remove them."
    );
    let _ = writeln!(s, "set -eu\n");
    let _ = writeln!(
        s,
        "compose() {{\n  docker compose --project-directory {} -p {} {} \"$@\"\n}}",
        q(&project.directory.display().to_string()),
        q(&project.name),
        files.join(" ")
    );
    let _ = writeln!(s, "helper_image=${{STOWAGE_HELPER_IMAGE:-alpine:3.20}}\n");
    let _ = writeln!(
        s,
        "# The volume mounted at a path in a service's existing container (empty when there is none)."
    );
    let _ = writeln!(
        s,
        "old_volume() {{\n  cid=$(compose ps -aq \"$1\" | head -n 1)\n  if [ -z \"$cid\" ]; then\n    return 0\n  fi\n  docker inspect --format '{{{{range .Mounts}}}}{{{{if eq .Destination \"'\"$2\"'\"}}}}{{{{.Name}}}}{{{{end}}}}{{{{end}}}}' \"$cid\"\n}}\n"
    );
    let _ = writeln!(
        s,
        "# Copy everything, then check that every file of the source exists in the volume."
    );
    let _ = writeln!(
        s,
        "copy_into() {{\n  docker run --rm -v \"$1\":/from:ro -v \"$2\":/to \"$helper_image\" sh -c 'cp -a /from/. /to/'\n  missing=$(docker run --rm -v \"$1\":/from:ro -v \"$2\":/to:ro \"$helper_image\" sh -c 'cd /from && find . | while IFS= read -r f; do [ -e \"/to/$f\" ] || [ -L \"/to/$f\" ] || echo \"$f\"; done | wc -l')\n  total=$(docker run --rm -v \"$1\":/from:ro \"$helper_image\" sh -c 'find /from | wc -l')\n  if [ \"$missing\" -ne 0 ]; then\n    echo \"stowage: $missing of $total entries of $1 are missing from $2\" >&2\n    exit 1\n  fi\n  echo \"copied $total entries from $1 to $2\"\n}}\n"
    );
    let copies: Vec<&Conversion> = conversions.iter().filter(|c| !c.keeps_path).collect();
    let mut services: Vec<&str> = conversions.iter().map(|c| c.service.as_str()).collect();
    services.sort_unstable();
    services.dedup();
    let service_args = services.iter().map(|x| q(x)).collect::<Vec<_>>().join(" ");
    let _ = writeln!(s, "# 1. Where the data is now.");
    for (i, c) in copies.iter().enumerate() {
        match &c.from {
            Source::Bind(host) => {
                let _ = writeln!(s, "old_{i}={}", q(host));
            }
            _ => {
                let _ = writeln!(
                    s,
                    "old_{i}=$(old_volume {} {})",
                    q(&c.service),
                    q(&c.target)
                );
            }
        }
    }
    let _ = writeln!(
        s,
        "\n# 2. Stop the services, and let compose create the new volumes (containers are not started)."
    );
    let _ = writeln!(s, "compose stop {service_args}");
    let _ = writeln!(s, "compose create {service_args}\n");
    let _ = writeln!(s, "# 3. Copy the data into the new named volumes.");
    for (i, c) in copies.iter().enumerate() {
        let _ = writeln!(s, "# {} {} -> {}", c.service, c.target, c.engine_name);
        let _ = writeln!(
            s,
            "if [ -n \"$old_{i}\" ]; then\n  copy_into \"$old_{i}\" {}\nelse\n  echo {} >&2\nfi",
            q(&c.engine_name),
            q(&format!(
                "stowage: no existing data found for {} {}; nothing to copy",
                c.service, c.target
            ))
        );
    }
    for c in conversions.iter().filter(|c| c.keeps_path) {
        let _ = writeln!(
            s,
            "# {} {}: the volume {} is the same host directory; nothing to copy",
            c.service, c.target, c.engine_name
        );
    }
    let _ = writeln!(s, "\n# 4. Start the services again.");
    let _ = writeln!(s, "compose start {service_args}");
    for (i, _) in copies.iter().enumerate() {
        let _ = writeln!(
            s,
            "[ -z \"$old_{i}\" ] || echo \"kept the old data: $old_{i}\""
        );
    }
    s
}
