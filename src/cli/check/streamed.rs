//! `check` streamed: projects loaded, checked and rendered a batch at a time on every core, each
//! dropped once rendered, so memory stays flat however many projects there are.

use std::sync::Mutex;

use rayon::prelude::*;

use super::{Checked, Checking, Run, files_read, lint_safely, project_settings, render, report};
use crate::cli::load::Progress;
use crate::cli::{EXIT_FAILURE, main_file};
use crate::images::KnowledgeBase;
use crate::lint;
use crate::output::findings::Failure;
use crate::output::findings::summary::Tally;
use crate::workspace::inventory;

/// One project as [`check`] leaves it.
enum Streamed {
    LoadFailed(inventory::Failure),
    ConfigError(String),
    /// Whether the project could not read a file it names, and its check.
    Checked(bool, Result<Checked, Failure>),
}

/// Projects loaded, checked and rendered a batch at a time on every core, then dropped.
pub(super) fn check(checking: &Checking) -> i32 {
    let (args, configs, request, base, reporter) = checking.parts();
    let kb = KnowledgeBase::builtin();
    let mut progress = Progress::loading();
    let (planned, mut failed_loads) = inventory::plan(request);
    progress.checking(planned.len());
    // One project is written as it is rendered, a part at a time: memory stays small however
    // many findings it has. Several are checked side by side, each one's text kept until the
    // projects before it are written.
    let direct = (planned.len() <= 1).then(|| Mutex::new(checking.out(false)));
    // Results come back in project order.
    let check_one = |set: &crate::workspace::discover::ProjectFiles| {
        let (project, analysis) = match inventory::load(&inventory::options(request, set), kb) {
            Ok(loaded) => loaded,
            Err(f) => return Streamed::LoadFailed(f),
        };
        let config = match configs.for_dir(&project.directory) {
            Ok(c) => c,
            Err(e) => return Streamed::ConfigError(e.to_string()),
        };
        let (threshold, base) = project_settings(args.fail_on, base, &config);
        let outcome = lint_safely(&project, || lint::lint(&project, &analysis, &base, &config));
        progress.inc();
        let io = project
            .errors
            .iter()
            .any(|e| e.kind == crate::compose::model::ProblemKind::Io);
        let result = match outcome {
            Ok(findings) => {
                let findings = checking.baseline.reported(&project, findings);
                let checked =
                    render(reporter, &project, &findings, direct.as_ref()).map(|chunks| Checked {
                        chunks,
                        tallies: findings.iter().map(Tally::from).collect(),
                        files: files_read(&project),
                        failing: findings.iter().any(|f| f.severity >= threshold),
                    });
                if direct.is_some() {
                    // The only project: the process ends once it is reported, and freeing it
                    // piece by piece first was 4% of checking a project of 10,000 services.
                    std::mem::forget(findings);
                }
                checked
            }
            Err(message) => Err((Some(main_file(&project)), message)),
        };
        if direct.is_some() {
            std::mem::forget((project, analysis));
        }
        Streamed::Checked(io, result)
    };
    // One project (a pre-commit hook, an editor) is checked on this thread: handing it to
    // another one only adds a thread start and a wake-up.
    let outcomes: Vec<Streamed> = if planned.len() > 1 {
        planned.par_iter().map(check_one).collect()
    } else {
        planned.iter().map(check_one).collect()
    };
    progress.finish();
    // Configuration is resolved in project order: the first error is the one reported (exit 2,
    // nothing printed), as when every project is loaded first.
    let mut unreadable = false;
    let mut checked = Vec::new();
    for outcome in outcomes {
        match outcome {
            Streamed::LoadFailed(f) => failed_loads.push(f),
            Streamed::ConfigError(e) => {
                eprintln!("error: {e}");
                return EXIT_FAILURE;
            }
            Streamed::Checked(io, result) => {
                unreadable |= io;
                checked.push(result);
            }
        }
    }
    let out = match direct {
        Some(out) => out.into_inner().unwrap_or_else(|e| e.into_inner()),
        None => checking.out(false),
    };
    let run = Run {
        unreadable: unreadable || !failed_loads.is_empty(),
        failures: failed_loads
            .into_iter()
            .map(|f| (f.path, f.message))
            .collect(),
        checked,
        results: Vec::new(),
        fixed: None,
    };
    report(checking, out, run, &request.load.cwd)
}
