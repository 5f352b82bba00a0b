//! `stowage migrate`: anonymous volumes, image volumes and (on request) bind mounts rewritten
//! into named volumes, project by project, with the plan that carries the data across.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use super::args::MigrateArgs;
use super::load::{Configs, request};
use super::{EXIT_FAILURE, dedup_changes, exit_code, main_file, or_report, print, stdin_paths};
use crate::compose::model::Project;
use crate::fix;
use crate::fix::migrate;
use crate::images::KnowledgeBase;
use crate::output;
use crate::rules::convert::{BindStrategy, FixSettings};
use crate::workspace::inventory;

/// A project with data to move: the project as migrated, its conversions, the files it changes.
type Moved = ((Project, Vec<migrate::Conversion>), Vec<PathBuf>);

/// `stowage migrate`: the diff (or, with `--write`, the files written), the data plan on
/// standard error, and the script with `--script`.
pub(super) fn run(args: MigrateArgs) -> i32 {
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
    let Some(request) = or_report(request(args.load)) else {
        return EXIT_FAILURE;
    };
    let inventory = inventory::collect(&request, KnowledgeBase::builtin());
    let mut failures: Vec<String> = inventory
        .failures
        .iter()
        .map(|f| {
            format!(
                "{}{}",
                f.path
                    .as_deref()
                    .map(|p| format!("{p}: "))
                    .unwrap_or_default(),
                f.message
            )
        })
        .collect();
    let mut plan = String::new();
    let stdin_paths = stdin_paths(&inventory);
    // Per project with data to move: the project as migrated, its conversions and its files.
    let mut moves: Vec<Moved> = Vec::new();
    let mut changes = Vec::new();
    for (i, (project, analysis)) in inventory.projects.iter().enumerate() {
        if project.is_rejected() {
            failures.push(format!(
                "{}: compose rejects this project; fix its errors first (`stowage check`)",
                main_file(project)
            ));
            continue;
        }
        let config = match configs.for_dir(&project.directory) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_FAILURE;
            }
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
        };
        // The migration and what is printed of it: a bug in either is an error for this project.
        let migrated = catch_unwind(AssertUnwindSafe(|| {
            crate::faults::panic_at(crate::faults::Stage::Migrate, project.paths());
            let kb = config.knowledge_base()?;
            let reanalysed;
            let analysis = match &kb {
                Cow::Borrowed(_) => analysis,
                Cow::Owned(kb) => {
                    reanalysed = crate::analysis::analyse(project, kb);
                    &reanalysed
                }
            };
            let m = migrate::migrate_project(&inventory.options[i], project, analysis, &kb, fixes)?;
            // Positions of what is left: in the file as it will be on disk (with `--write`).
            let (left, shown) = if args.write {
                (&m.left, &m.after)
            } else {
                (&m.left_before, project)
            };
            let mut plan = migrate::summary(&m.after, &m.conversions);
            plan.push_str(&migrate::left_summary(shown, left));
            // The project as migrated, kept only where there is data to move.
            let moved = (!m.conversions.is_empty()).then_some((m.after, m.conversions));
            Ok::<_, String>((m.outcome.files, plan, moved))
        }));
        let (files, project_plan, moved) = match migrated {
            Ok(Ok(done)) => done,
            Ok(Err(e)) => {
                failures.push(e);
                continue;
            }
            Err(panic) => {
                failures.push(format!(
                    "{}: {}",
                    main_file(project),
                    crate::faults::internal_error("migrating this project", panic.as_ref())
                ));
                continue;
            }
        };
        plan.push_str(&project_plan);
        // Text read from standard input is printed, not written: nothing changes on disk.
        let on_disk = files.iter().any(|f| !stdin_paths.contains(&f.path));
        if let Some(moved) = moved.filter(|_| on_disk || args.script.is_some()) {
            moves.push((moved, files.iter().map(|f| f.path.clone()).collect()));
        }
        changes.extend(files);
    }
    dedup_changes(&mut changes);
    let plans: Vec<(&Project, &[migrate::Conversion])> =
        moves.iter().map(|((p, c), _)| (p, c.as_slice())).collect();
    // The plan is never lost: a write that changes where data lives writes its plan first (to
    // `--script FILE`, else beside each project's compose file), and a project whose plan cannot
    // be written keeps its files as they are.
    let mut script_done = false;
    if args.write && !plans.is_empty() {
        match &args.script {
            Some(path) => {
                script_done = true;
                match write_plan(path, &migrate::script(&plans)) {
                    Ok(()) => eprintln!("data plan written to {}", path.display()),
                    Err(e) => {
                        failures.push(e);
                        changes.clear();
                    }
                }
            }
            None => {
                for ((project, conversions), paths) in &moves {
                    let script = migrate::script(&[(project, conversions.as_slice())]);
                    match write_default_plan(project, &script) {
                        Ok(path) => eprintln!(
                            "data plan for project `{}` written to {} (run it before the next `up`)",
                            project.name,
                            path.display()
                        ),
                        Err(e) => {
                            failures.push(format!("{e}; its files are left as they were"));
                            changes.retain(|c| !paths.contains(&c.path));
                        }
                    }
                }
            }
        }
    }
    if args.write {
        for change in &changes {
            if stdin_paths.contains(&change.path) {
                // `migrate --write -` prints the migrated text, as `check --fix -` does.
                print(&change.fixed);
                continue;
            }
            if let Err(e) = fix::write::atomic_write(&change.path, &change.original, &change.fixed)
            {
                failures.push(format!("{}: {}", change.display, e.reason()));
            }
        }
    } else {
        print(&output::diff::unified(&changes));
    }
    if !plan.is_empty() {
        // Service names and paths come from the files: no control character reaches the terminal.
        eprint!("{}", output::escape::terminal(&plan));
    }
    if let Some(path) = args.script.as_ref().filter(|_| !script_done) {
        if plans.is_empty() {
            // Nothing is left to convert in the files, which says nothing about the data: files
            // rewritten earlier leave old volumes that still hold it. Their plan was written by
            // the run that rewrote them; an earlier plan is never replaced with nothing.
            eprintln!(
                "nothing left to convert in the files, so no new plan: {} not written",
                path.display()
            );
            for project in inventory.projects.iter().map(|(p, _)| p) {
                for earlier in earlier_plans(project) {
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
        } else if let Err(e) = write_plan(path, &migrate::script(&plans)) {
            failures.push(e);
        } else {
            eprintln!("data plan written to {}", path.display());
        }
    } else if !plans.is_empty() && !args.write {
        eprintln!("`--script FILE` writes the commands that copy the data across");
    }
    for f in &failures {
        eprintln!("error: {}", output::escape::terminal(f));
    }
    exit_code(!failures.is_empty(), !args.write && !changes.is_empty())
}

/// Writes a plan script, executable.
fn write_plan(path: &Path, script: &str) -> Result<(), String> {
    std::fs::write(path, script)
        .and_then(|()| {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))?;
            }
            Ok(())
        })
        .map_err(|e| format!("{}: cannot write the data plan: {e}", path.display()))
}

/// The name of a project's plan beside its compose files, before a number is added.
fn plan_stem(project: &Project) -> String {
    format!("stowage-plan-{}", project.name)
}

/// Writes the plan of a project beside its compose files, as `stowage-plan-PROJECT.sh` or, when
/// an earlier plan (perhaps never run) is there, `stowage-plan-PROJECT-2.sh` and so on: no plan
/// is ever replaced.
pub(crate) fn write_default_plan(project: &Project, script: &str) -> Result<PathBuf, String> {
    let stem = plan_stem(project);
    for n in 1..10_000 {
        let name = if n == 1 {
            format!("{stem}.sh")
        } else {
            format!("{stem}-{n}.sh")
        };
        let path = project.directory.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => return write_plan(&path, script).map(|()| path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(format!(
                    "{}: cannot write the data plan: {e}",
                    path.display()
                ));
            }
        }
    }
    Err(format!(
        "{}: too many earlier data plans of project `{}`",
        project.directory.display(),
        project.name
    ))
}

/// The plans written beside a project's compose files by earlier runs.
fn earlier_plans(project: &Project) -> Vec<PathBuf> {
    let stem = plan_stem(project);
    let mut found: Vec<PathBuf> = std::fs::read_dir(&project.directory)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.strip_prefix(&stem).is_some_and(|rest| {
                    rest == ".sh"
                        || rest
                            .strip_prefix('-')
                            .and_then(|r| r.strip_suffix(".sh"))
                            .is_some_and(|num| {
                                !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit())
                            })
                })
            })
        })
        .collect();
    found.sort();
    found
}

/// `check --fix --unsafe-fixes` rewrote `before` into `after`: the plan that moves the data of
/// what it turned into named volumes is written beside the compose files (and named on stderr).
pub(crate) fn plan_fixed(
    before: &Project,
    before_mounts: &[crate::analysis::ServiceAnalysis],
    after: &Project,
) -> Result<(), String> {
    let after_mounts = crate::analysis::analyse(after, KnowledgeBase::builtin());
    let conversions = migrate::conversions(before, before_mounts, after, &after_mounts);
    if conversions.is_empty() {
        return Ok(());
    }
    let path = write_default_plan(after, &migrate::script(&[(after, conversions.as_slice())]))
        .map_err(|e| format!("{e}; the project's files are left as they were"))?;
    eprintln!(
        "data plan for project `{}` written to {} (run it before the next `up`)",
        after.name,
        path.display()
    );
    Ok(())
}
