//! `stowage migrate`: anonymous volumes, image volumes and (on request) bind mounts rewritten
//! into named volumes, project by project, with the plan that carries the data across.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::PathBuf;

use super::args::MigrateArgs;
use super::load::{Configs, request};
use super::plans::{earlier_plans, write_default_plan, write_plan};
use super::{
    EXIT_FAILURE, apply_changes, dedup_changes, exit_code, main_file, on_writers, or_report, print,
};
use crate::compose::loader::{self, LoadOptions};
use crate::fix;
use crate::fix::migrate;
use crate::images::KnowledgeBase;
use crate::output;
use crate::rules::convert::{BindStrategy, FixSettings};
use crate::workspace::inventory;

use rayon::prelude::*;

/// A project migrated: the files it changes, the summary printed of it, its data plan where
/// there is data to move, and whether its files are kept as they were (its plan or one of its
/// files could not be written).
struct Migrated {
    paths: Vec<PathBuf>,
    summary: String,
    moved: Option<migrate::Plan>,
    kept: bool,
}

/// `stowage migrate`: the diff (or, with `--write`, the files written), the data plan on
/// standard error, and the script with `--script`.
pub(super) fn run(mut args: MigrateArgs) -> i32 {
    // The configuration's template is checked when it is read.
    if let Some(Err(e)) = args
        .name_template
        .as_deref()
        .map(crate::rules::convert::validate_template)
    {
        eprintln!("error: {e}");
        return EXIT_FAILURE;
    }
    let Some(configs) = or_report(Configs::new(args.config.as_deref(), args.no_config)) else {
        return EXIT_FAILURE;
    };
    let Some(request) = or_report(request(std::mem::take(&mut args.load))) else {
        return EXIT_FAILURE;
    };
    let (planned, planned_failures) = inventory::plan(&request);
    let failure_line = |f: inventory::Failure| {
        format!(
            "{}{}",
            f.path
                .as_deref()
                .map(|p| format!("{p}: "))
                .unwrap_or_default(),
            f.message
        )
    };
    // Projects are loaded and migrated side by side, each dropped once migrated: what is kept is
    // the files' texts, the summary and the plan, so memory grows like `check`'s.
    let outcomes: Vec<Outcome> = planned
        .par_iter()
        .map(|set| migrate_one(&args, &configs, &inventory::options(&request, set)))
        .collect();
    let mut load_failures = Vec::new();
    let mut project_failures = Vec::new();
    let mut projects: Vec<Seen> = Vec::new();
    let mut results = Vec::new();
    for outcome in outcomes {
        match outcome {
            Outcome::LoadFailed(f) => load_failures.push(failure_line(f)),
            Outcome::ConfigError(e) => {
                eprintln!("error: {e}");
                return EXIT_FAILURE;
            }
            Outcome::Done(done) => {
                let (seen, result) = *done;
                match result {
                    Ok(done) => results.push(done),
                    Err(e) => project_failures.push(e),
                }
                projects.push(seen);
            }
        }
    }
    // Paths that name nothing, projects that could not be loaded, then those not migrated.
    let mut failures: Vec<String> = planned_failures.into_iter().map(failure_line).collect();
    failures.extend(load_failures);
    failures.extend(project_failures);
    let stdin_paths: Vec<PathBuf> = projects.iter().filter_map(|p| p.stdin.clone()).collect();
    let mut migrated_projects: Vec<Migrated> = Vec::new();
    let mut changes = Vec::new();
    for (files, project_plan, moved) in results {
        // Text read from standard input is printed, not written: nothing changes on disk.
        let on_disk = files.iter().any(|f| !stdin_paths.contains(&f.path));
        migrated_projects.push(Migrated {
            paths: files.iter().map(|f| f.path.clone()).collect(),
            summary: project_plan,
            moved: moved.filter(|_| on_disk || args.script.is_some()),
            kept: false,
        });
        changes.extend(files);
    }
    dedup_changes(&mut changes);
    // Every file the projects read: what `--script` must never replace.
    let protected: Vec<PathBuf> = projects
        .iter()
        .flat_map(|p| p.read.iter().cloned())
        .collect();
    // The plan is never lost: a write that changes where data lives writes its plan first (to
    // `--script FILE`, else beside each project's compose file), and a project whose plan cannot
    // be written keeps its files as they are.
    let mut script_done = false;
    let mut script_existed = false;
    let mut default_plans: Vec<(usize, PathBuf)> = Vec::new();
    if args.write && migrated_projects.iter().any(|m| m.moved.is_some()) {
        match &args.script {
            Some(path) => {
                script_done = true;
                script_existed = path.exists();
                match write_plan(path, &script_of(&migrated_projects), &protected) {
                    Ok(()) => eprintln!("data plan written to {}", path.display()),
                    Err(e) => {
                        failures.push(e);
                        changes.clear();
                        migrated_projects.iter_mut().for_each(|m| m.kept = true);
                    }
                }
            }
            None => {
                // Created new (never over a file), so only the project's own files matter:
                // checking every file of a monorepo for each plan was quadratic. Written side
                // by side, reported in order.
                let written: Vec<Option<Result<PathBuf, String>>> =
                    on_writers(migrated_projects.len(), || {
                        migrated_projects
                            .par_iter()
                            .map(|m| {
                                let plan = m.moved.as_ref()?;
                                let script = migrate::script(&[plan]);
                                Some(write_default_plan(
                                    &plan.directory,
                                    &plan.name,
                                    &script,
                                    &m.paths,
                                ))
                            })
                            .collect()
                    });
                for ((k, m), written) in migrated_projects.iter_mut().enumerate().zip(written) {
                    let (Some(plan), Some(written)) = (&m.moved, written) else {
                        continue;
                    };
                    match written {
                        Ok(path) => {
                            eprintln!(
                                "data plan for project `{}` written to {} (run it before the next `up`)",
                                plan.name,
                                path.display()
                            );
                            default_plans.push((k, path));
                        }
                        Err(e) => {
                            let names: Vec<&str> = changes
                                .iter()
                                .filter(|c| m.paths.contains(&c.path))
                                .map(|c| c.display.as_str())
                                .collect();
                            failures.push(format!("{e}; {} left as it was", names.join(", ")));
                            changes.retain(|c| !m.paths.contains(&c.path));
                            m.kept = true;
                        }
                    }
                }
            }
        }
    }
    // The files not written, by what they really are.
    let mut not_written = Vec::new();
    if args.write {
        // `migrate --write -` prints the migrated text, as `check --fix -` does.
        for (change, outcome) in changes.iter().zip(apply_changes(&changes, &stdin_paths)) {
            if let Err(message) = outcome {
                failures.push(message);
                not_written.push(fix::write::real_target(&change.path));
            }
        }
    } else if !print(&output::diff::unified(&changes)) {
        failures.push("the diff could not be written to standard output".into());
    }
    // A project with a file that could not be written was not migrated: its data must not move,
    // so the plan written for it goes (the default one) or is written again without it.
    let mut unwritten = false;
    // (Each path's real target is looked up only when something was not written.)
    for m in migrated_projects
        .iter_mut()
        .filter(|_| !not_written.is_empty())
    {
        if m.paths
            .iter()
            .any(|p| not_written.contains(&fix::write::real_target(p)))
        {
            m.kept = true;
            unwritten = true;
        }
    }
    if unwritten {
        for (k, path) in &default_plans {
            if migrated_projects[*k].kept {
                match std::fs::remove_file(path) {
                    Ok(()) => eprintln!(
                        "{} removed: the project's files were not rewritten, so its data stays where it is",
                        path.display()
                    ),
                    Err(e) => failures.push(format!(
                        "{}: cannot remove the data plan of files that were not rewritten (do not run it): {e}",
                        path.display()
                    )),
                }
            }
        }
        let left = migrated_projects
            .iter()
            .any(|m| !m.kept && m.moved.is_some());
        if let Some(path) = args.script.as_ref().filter(|_| script_done) {
            // A script this run created is removed when no project was migrated; one it
            // replaced is written again with the projects that were.
            if !left && !script_existed {
                match std::fs::remove_file(path) {
                    Ok(()) => eprintln!(
                        "{} removed: no project's files were rewritten, so no data moves",
                        path.display()
                    ),
                    Err(e) => failures.push(format!(
                        "{}: cannot remove the data plan of files that were not rewritten (do not run it): {e}",
                        path.display()
                    )),
                }
            } else {
                match write_plan(path, &script_of(&migrated_projects), &protected) {
                    Ok(()) => eprintln!(
                        "data plan written again to {} without the projects whose files were not rewritten",
                        path.display()
                    ),
                    Err(e) => failures.push(format!(
                        "{e}; it names projects whose files were not rewritten (do not run it)"
                    )),
                }
            }
        }
    }
    // The plan of what reached the disk (or, without `--write`, of what would).
    let plan: String = migrated_projects
        .iter()
        .filter(|m| !m.kept)
        .map(|m| m.summary.as_str())
        .collect();
    if !plan.is_empty() {
        // Service names and paths come from the files: no control character reaches the terminal.
        eprint!("{}", output::escape::terminal(&plan));
    }
    let moving = migrated_projects
        .iter()
        .any(|m| !m.kept && m.moved.is_some());
    if let Some(path) = args.script.as_ref().filter(|_| !script_done) {
        if !moving {
            // Nothing is left to convert in the files, which says nothing about the data: files
            // rewritten earlier leave old volumes that still hold it. Their plan was written by
            // the run that rewrote them; an earlier plan is never replaced with nothing.
            eprintln!(
                "nothing left to convert in the files, so no new plan: {} not written",
                path.display()
            );
            for project in &projects {
                for earlier in earlier_plans(&project.name, &project.directory) {
                    eprintln!(
                        "the data plan of project `{}` written when its files were rewritten: {} (run it if it has not run)",
                        project.name,
                        earlier.display()
                    );
                }
            }
            eprintln!(
                "old anonymous volumes are never deleted: if the files were rewritten without running a plan, their data still has to be moved (the plan's `--from SERVICE:TARGET=VOLUME` takes an old volume)"
            );
        } else if let Err(e) = write_plan(path, &script_of(&migrated_projects), &protected) {
            failures.push(e);
        } else {
            eprintln!("data plan written to {}", path.display());
        }
    } else if moving && !args.write {
        eprintln!("`--script FILE` writes the commands that copy the data across");
    }
    for f in &failures {
        eprintln!("error: {}", output::escape::terminal(f));
    }
    exit_code(!failures.is_empty(), !args.write && !changes.is_empty())
}

/// What is kept of a project after it is migrated and dropped.
struct Seen {
    name: String,
    directory: PathBuf,
    /// Every file it read (compose files, included and extended ones).
    read: Vec<PathBuf>,
    /// The path it is known by when it was read from standard input.
    stdin: Option<PathBuf>,
}

/// A project's files as migrated, the summary printed of it, and its data plan.
type Done = (Vec<fix::FixedFile>, String, Option<migrate::Plan>);

/// One project as [`migrate_one`] leaves it.
enum Outcome {
    LoadFailed(inventory::Failure),
    ConfigError(String),
    Done(Box<(Seen, Result<Done, String>)>),
}

/// Loads and migrates one project; a bug while migrating it or printing of it is an error for
/// this project.
fn migrate_one(args: &MigrateArgs, configs: &Configs, opts: &LoadOptions) -> Outcome {
    let (project, analysis) = match inventory::load(opts, KnowledgeBase::builtin()) {
        Ok(loaded) => loaded,
        Err(f) => return Outcome::LoadFailed(f),
    };
    let seen = Seen {
        name: project.name.clone(),
        directory: project.directory.clone(),
        read: project
            .files
            .iter()
            .map(|f| f.source.path.clone())
            .chain(opts.files.iter().cloned())
            .collect(),
        stdin: opts.stdin.is_some().then(|| loader::stdin_path(opts)),
    };
    if project.is_rejected() {
        let message = format!(
            "{}: compose rejects this project; fix its errors first (`stowage check`)",
            main_file(&project)
        );
        return Outcome::Done(Box::new((seen, Err(message))));
    }
    let config = match configs.for_dir(&project.directory) {
        Ok(c) => c,
        Err(e) => return Outcome::ConfigError(e.to_string()),
    };
    let binds = args
        .binds
        .as_deref()
        .or(config.migrate.binds.as_deref())
        .and_then(BindStrategy::parse)
        .unwrap_or_default();
    let name_template = args
        .name_template
        .clone()
        .or(config.migrate.name_template.clone());
    let fixes = FixSettings {
        binds,
        name_template,
        services: args.services.clone(),
        targets: args.targets.clone(),
        allow_outside: args.allow_outside,
    };
    let migrated = catch_unwind(AssertUnwindSafe(|| {
        crate::faults::panic_at(crate::faults::Stage::Migrate, project.paths());
        let kb = config.knowledge_base()?;
        let reanalysed;
        let analysis = match &kb {
            Cow::Borrowed(_) => &analysis,
            Cow::Owned(kb) => {
                reanalysed = crate::analysis::analyse(&project, kb);
                &reanalysed
            }
        };
        let m = migrate::migrate_project(opts, &project, analysis, &kb, fixes)?;
        // Positions of what is left: in the file as it will be on disk (with `--write`).
        let (left, shown) = if args.write {
            (&m.left, &m.after)
        } else {
            (&m.left_before, &project)
        };
        let edited: Vec<&str> = m.outcome.files.iter().map(|f| f.display.as_str()).collect();
        let mut plan = migrate::summary(&m.after, &m.conversions, &edited);
        plan.push_str(&migrate::left_summary(shown, left, args.allow_outside));
        // The plan, only where there is data to move (not the project).
        let paths: Vec<PathBuf> = m.outcome.files.iter().map(|f| f.path.clone()).collect();
        let moved =
            (!m.conversions.is_empty()).then(|| migrate::Plan::new(&m.after, m.conversions, paths));
        Ok::<_, String>((m.outcome.files, plan, moved))
    }));
    let result = migrated.unwrap_or_else(|panic| {
        Err(format!(
            "{}: {}",
            main_file(&project),
            crate::faults::internal_error("migrating this project", panic.as_ref())
        ))
    });
    Outcome::Done(Box::new((seen, result)))
}

/// The script that moves the data of the projects migrated and not kept as they were.
fn script_of(migrated: &[Migrated]) -> String {
    let plans: Vec<&migrate::Plan> = migrated
        .iter()
        .filter(|m| !m.kept)
        .filter_map(|m| m.moved.as_ref())
        .collect();
    migrate::script(&plans)
}
