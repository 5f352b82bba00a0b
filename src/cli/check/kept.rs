//! `check` keeping every project: all loaded first, checked (and fixed: the fixes written, or
//! shown as a diff) side by side, and kept until reported (a whole document needs them all).

use std::path::PathBuf;

use rayon::prelude::*;

use super::{
    Baselining, Checked, Checking, Run, files_read, lint_safely, project_settings, render, report,
};
use crate::cli::load::Progress;
use crate::cli::{
    EXIT_FAILURE, apply_changes, dedup_changes, exit_code, main_file, print, stdin_paths,
};
use crate::compose::model::Project;
use crate::finding::{Finding, Severity};
use crate::fix;
use crate::images::KnowledgeBase;
use crate::lint;
use crate::output;
use crate::output::findings::Failure;
use crate::output::findings::summary::{Fixed, Tally, unsafe_note};
use crate::workspace::inventory;

/// One project's findings, the severity that fails the run, and what fixing it did.
type Linted = (Vec<Finding>, Severity, Option<fix::Outcome>);

/// Every project loaded first, checked (and fixed) side by side, and kept until reported.
pub(super) fn check(checking: &Checking) -> i32 {
    let (args, configs, request, base, reporter) = checking.parts();
    let mut progress = Progress::loading();
    let inventory = inventory::collect(request, KnowledgeBase::builtin());
    progress.checking(inventory.projects.len());
    // Configuration is resolved first (it may fail: exit 2), then projects are linted in parallel.
    let mut plans = Vec::new();
    for (project, _) in &inventory.projects {
        match configs.for_dir(&project.directory) {
            Ok(c) => plans.push(c),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_FAILURE;
            }
        }
    }
    let fixing = args.fix || args.diff;
    let linted: Vec<Result<Linted, String>> = inventory
        .projects
        .par_iter()
        .zip(plans.par_iter())
        .zip(inventory.options.par_iter())
        .map(|(((project, analysis), config), opts)| {
            let (threshold, base) = project_settings(args.fail_on, base, config);
            let outcome = lint_safely(project, || {
                if fixing {
                    let lint = |p: &Project| {
                        lint::lint(
                            p,
                            &crate::analysis::analyse(p, KnowledgeBase::builtin()),
                            &base,
                            config,
                        )
                        .map(|mut findings| {
                            // Only reported findings are fixed.
                            if let Baselining::Match(matcher) = &checking.baseline {
                                matcher.without_baselined_fixes(p, &mut findings);
                            }
                            findings
                        })
                        .unwrap_or_default()
                    };
                    fix::fix_project(opts, &lint, args.unsafe_fixes)
                        .map(|o| (o.remaining.clone(), Some(o)))
                        .map_err(|e| {
                            // The failure is reported with the project's first file already.
                            let fix::FixError::Refused { path, reason } = e;
                            let main = project
                                .main_files
                                .first()
                                .map(|&f| project.file(f).source.display.as_str());
                            if main == Some(path.as_str()) {
                                format!("refusing to fix: {reason}")
                            } else {
                                format!("refusing to fix `{path}`: {reason}")
                            }
                        })
                } else {
                    lint::lint(project, analysis, &base, config).map(|f| (f, None))
                }
            })
            .map(|(f, o)| (f, threshold, o));
            progress.inc();
            outcome
        })
        .collect();
    progress.finish();
    let mut failures: Vec<Failure> = inventory
        .failures
        .iter()
        .map(|f| (f.path.clone(), f.message.clone()))
        .collect();
    // Fixed projects replace the loaded ones for reporting what is left.
    let mut staged = Vec::new();
    let mut fixed_projects: Vec<Option<Project>> = Vec::new();
    let mut changes: Vec<fix::FixedFile> = Vec::new();
    let (mut applied, mut unsafe_waiting) = (0, 0);
    // Per project: the fixes applied and the files they changed (to count what was written).
    let mut project_fixes: Vec<(usize, Vec<PathBuf>)> = Vec::new();
    let stdin_paths = stdin_paths(&inventory);
    // Per project, in order: the files its fixes changed.
    let mut fixed_paths: Vec<Option<Vec<PathBuf>>> = Vec::new();
    // The files of projects whose data plan could not be written: not written either.
    let mut unplanned: Vec<PathBuf> = Vec::new();
    for (i, outcome) in linted.into_iter().enumerate() {
        match outcome {
            Ok((findings, threshold, outcome)) => {
                let mut paths = None;
                let fixed = outcome.and_then(|o| {
                    // Unsafe fixes change where data lives: the plan that moves it is written
                    // first, or nothing of the project is.
                    let (before, before_mounts) = &inventory.projects[i];
                    // Text from standard input is printed, not written: nothing changes on disk.
                    let on_disk = o.files.iter().any(|f| !stdin_paths.contains(&f.path));
                    let planned = match (&o.project, args.fix && args.unsafe_fixes && on_disk) {
                        (Some(after), true) => {
                            let edited: Vec<PathBuf> =
                                o.files.iter().map(|f| f.path.clone()).collect();
                            crate::cli::plans::plan_fixed(before, before_mounts, after, &edited)
                        }
                        _ => Ok(()),
                    };
                    unsafe_waiting += o.unsafe_waiting;
                    match planned {
                        Ok(()) => {
                            applied += o.applied;
                            let changed: Vec<PathBuf> =
                                o.files.iter().map(|f| f.path.clone()).collect();
                            project_fixes.push((o.applied, changed.clone()));
                            paths = Some(changed);
                            changes.extend(o.files);
                            o.project
                        }
                        // Nothing of the project is written: it is reported as it is on disk.
                        Err(e) => {
                            let names: Vec<&str> =
                                o.files.iter().map(|f| f.display.as_str()).collect();
                            failures
                                .push((None, format!("{e}; {} left as it was", names.join(", "))));
                            let changed: Vec<PathBuf> =
                                o.files.iter().map(|f| f.path.clone()).collect();
                            unplanned.extend(changed.iter().map(|p| fix::write::real_target(p)));
                            paths = Some(changed);
                            None
                        }
                    }
                });
                fixed_paths.push(paths);
                fixed_projects.push(fixed);
                staged.push(Ok((findings, threshold)));
            }
            Err(message) => {
                fixed_projects.push(None);
                fixed_paths.push(None);
                staged.push(Err(message));
            }
        }
    }
    let mut results = Vec::new();
    for (i, outcome) in staged.into_iter().enumerate() {
        let project = fixed_projects[i]
            .as_ref()
            .unwrap_or(&inventory.projects[i].0);
        match outcome {
            Ok((findings, threshold)) => {
                let findings = checking.baseline.reported(project, findings);
                results.push((i, project, findings, threshold));
            }
            Err(message) => failures.push((
                project
                    .main_files
                    .first()
                    .map(|&f| project.file(f).source.display.clone()),
                message,
            )),
        }
    }
    dedup_changes(&mut changes);
    if args.diff {
        if !print(&output::diff::unified(&changes)) {
            failures.push((
                None,
                "the diff could not be written to standard output".into(),
            ));
        }
        let fixes = if applied == 1 { "fix" } else { "fixes" };
        if !args.quiet {
            eprintln!(
                "{applied} {fixes} would be applied to {} file(s).{}",
                changes.len(),
                unsafe_note(unsafe_waiting)
            );
        }
        for (p, m) in &failures {
            output::eprint_failure(p.as_deref(), m);
        }
        return exit_code(
            inventory.has_failures() || !failures.is_empty(),
            !changes.is_empty(),
        );
    }
    let mut printed_stdin = false;
    // The files not written, by what they really are (a second name reaches the same file).
    let mut not_written: Vec<PathBuf> = Vec::new();
    // `check --fix -` prints the fixed text instead of writing a file; the report goes to stderr.
    for (change, outcome) in changes.iter().zip(apply_changes(&changes, &stdin_paths)) {
        printed_stdin |= stdin_paths.contains(&change.path);
        if let Err(message) = outcome {
            failures.push((None, message));
            not_written.push(fix::write::real_target(&change.path));
        }
    }
    // The summary counts what reached the disk: a project with a file that could not be
    // written applied nothing there, and is reported as it is on disk.
    let written = changes.len() - not_written.len();
    if !not_written.is_empty() || !unplanned.is_empty() {
        let unwritten = |paths: &Vec<PathBuf>| {
            paths.iter().any(|p| {
                let target = fix::write::real_target(p);
                not_written.contains(&target) || unplanned.contains(&target)
            })
        };
        applied = project_fixes
            .iter()
            .filter(|(_, paths)| !unwritten(paths))
            .map(|(n, _)| n)
            .sum();
        let mut kept = Vec::with_capacity(results.len());
        for (i, project, findings, threshold) in results {
            if !fixed_paths[i].as_ref().is_some_and(unwritten) {
                kept.push((i, project, findings, threshold));
                continue;
            }
            let (original, analysis) = &inventory.projects[i];
            let (_, settings) = project_settings(args.fail_on, base, &plans[i]);
            match lint_safely(original, || {
                lint::lint(original, analysis, &settings, &plans[i])
            }) {
                Ok(findings) => kept.push((i, original, findings, threshold)),
                Err(message) => failures.push((Some(main_file(original)), message)),
            }
        }
        results = kept;
    }
    // Each project is rendered on its own. One whose rendering fails still counts its files and
    // whether it fails the run (it was checked); the failure follows those above.
    let mut checked = Vec::with_capacity(results.len());
    let mut kept = Vec::new();
    for (_, project, findings, threshold) in results {
        let files = files_read(project);
        let failing = findings.iter().any(|f| f.severity >= threshold);
        match render(reporter, project, &findings, None) {
            Ok(chunks) => {
                checked.push(Ok(Checked {
                    chunks,
                    tallies: findings.iter().map(Tally::from).collect(),
                    files,
                    failing,
                }));
                if reporter.whole_document() {
                    kept.push((project, findings));
                }
            }
            Err(failure) => {
                checked.push(Ok(Checked {
                    chunks: Vec::new(),
                    tallies: Vec::new(),
                    files,
                    failing,
                }));
                checked.push(Err(failure));
            }
        }
    }
    let run = Run {
        failures,
        checked,
        unreadable: inventory.has_failures(),
        results: kept,
        fixed: args.fix.then_some(Fixed {
            applied,
            written,
            unsafe_waiting,
        }),
    };
    // `check --fix -` printed the fixed text: the report goes to stderr.
    report(checking, checking.out(printed_stdin), run, &inventory.cwd)
}
