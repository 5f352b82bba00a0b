//! `stowage migrate`: anonymous volumes, image volumes and (on request) bind mounts rewritten
//! into named volumes, project by project, with the plan that carries the data across.

use std::borrow::Cow;
use std::panic::{AssertUnwindSafe, catch_unwind};

use super::args::MigrateArgs;
use super::load::{Configs, request};
use super::{
    EXIT_FAILURE, dedup_changes, exit_code, main_file, or_report, print, print_text, stdin_paths,
};
use crate::fix;
use crate::fix::migrate;
use crate::images::KnowledgeBase;
use crate::output;
use crate::rules::convert::{BindStrategy, FixSettings};
use crate::workspace::inventory;

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
    // Per project migrated: the files it changes, its plan and its script.
    let mut migrated_projects: Vec<(Vec<std::path::PathBuf>, String, String)> = Vec::new();
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
        };
        // The migration and what is printed of it: a bug in either is an error for this project.
        let migrated = catch_unwind(AssertUnwindSafe(|| {
            crate::faults::panic_at(crate::faults::Stage::Migrate, project);
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
            let script = if m.conversions.is_empty() {
                String::new()
            } else {
                migrate::script(&m.after, &m.conversions)
            };
            Ok::<_, String>((m.outcome.files, plan, script))
        }));
        let (files, project_plan, body) = match migrated {
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
        migrated_projects.push((
            files.iter().map(|f| f.path.clone()).collect(),
            project_plan,
            body,
        ));
        changes.extend(files);
    }
    dedup_changes(&mut changes);
    let stdin_paths = stdin_paths(&inventory);
    // The files not written, by what they really are.
    let mut not_written = Vec::new();
    if args.write {
        for change in &changes {
            let outcome = if stdin_paths.contains(&change.path) {
                // `migrate --write -` prints the migrated text, as `check --fix -` does.
                print_text(&change.fixed, &change.display)
            } else {
                fix::write::atomic_write(&change.path, &change.original, &change.fixed)
                    .map_err(|e| format!("{}: {}", change.display, e.reason()))
            };
            if let Err(message) = outcome {
                failures.push(message);
                not_written.push(fix::write::real_target(&change.path));
            }
        }
    } else if !print(&output::diff::unified(&changes)) {
        failures.push("the diff could not be written to standard output".into());
    }
    // The plan and the script of what reached the disk: a project with a file that could not be
    // written was not migrated, and its data must not be moved.
    let mut plan = String::new();
    let mut script = String::new();
    for (paths, project_plan, body) in &migrated_projects {
        if paths
            .iter()
            .any(|p| not_written.contains(&fix::write::real_target(p)))
        {
            continue;
        }
        plan.push_str(project_plan);
        if !body.is_empty() {
            script.push_str(if script.is_empty() {
                body
            } else {
                body.trim_start_matches("#!/bin/sh\n")
            });
        }
    }
    if !plan.is_empty() {
        // Service names and paths come from the files: no control character reaches the terminal.
        eprint!("{}", output::escape::terminal(&plan));
    }
    if let Some(path) = &args.script {
        if script.is_empty() {
            // Do not replace the plan of an earlier run (`--write` first, `--script` after)
            // with nothing.
            eprintln!("no data to move: {} not written", path.display());
        } else if let Err(e) = fix::write::write_new(path, &script, &project_files(&inventory)) {
            failures.push(format!(
                "{}: cannot write the script: {}",
                path.display(),
                e.reason()
            ));
        } else {
            eprintln!("data plan written to {}", path.display());
        }
    } else if !script.is_empty() {
        eprintln!("`--script FILE` writes the commands that copy the data across");
    }
    for f in &failures {
        eprintln!("error: {}", output::escape::terminal(f));
    }
    exit_code(!failures.is_empty(), !args.write && !changes.is_empty())
}

/// Every file the projects read (compose files, included and extended ones): what `--script`
/// must never replace.
fn project_files(inventory: &inventory::Inventory) -> Vec<std::path::PathBuf> {
    inventory
        .projects
        .iter()
        .flat_map(|(project, _)| project.files.iter().map(|f| f.source.path.clone()))
        .chain(
            inventory
                .options
                .iter()
                .flat_map(|o| o.files.iter().cloned()),
        )
        .collect()
}
