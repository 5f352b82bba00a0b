//! `stowage check`: the one driver of the lint. Projects are checked one of two ways, and
//! reported the same way: streamed (each project loaded, checked, rendered and dropped a batch at
//! a time, so memory stays flat) unless the run fixes files or the format is one document of
//! every project, which keep every project until the end. Failures, the report's end and the
//! exit code are written once, in [`report`]. A baseline (`--baseline`, `--write-baseline`) takes
//! each project's findings before they are reported, in [`Baselining::reported`].

mod kept;
mod streamed;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use super::args::{CheckArgs, SeverityArg};
use super::load::{Configs, request};
use super::{EXIT_FAILURE, exit_code, isolate_panics, main_file, or_report};
use crate::compose::model::Project;
use crate::finding::{Finding, Severity};
use crate::lint::RuleSettings;
use crate::lint::baseline::{Matcher, Recorder};
use crate::lint::config::Config;
use crate::output;
use crate::output::findings::summary::{Baselined, Fixed, Tally};
use crate::output::findings::{Chunk, End, Failure, Out, Reporter};
use crate::rules;
use crate::rules::convert::FixSettings;
use crate::workspace::inventory::Request;

/// What a project's check leaves once the project is reported (or dropped).
struct Checked {
    /// Its report's parts (none when they were written already).
    chunks: Vec<Chunk>,
    tallies: Vec<Tally>,
    /// Distinct files the project read.
    files: usize,
    /// Whether a finding is at least as severe as the project's `fail-on`.
    failing: bool,
}

/// Every project checked, for [`report`].
struct Run<'a> {
    /// What failed before the projects were reported (loading, fixing, writing), in order.
    failures: Vec<Failure>,
    /// Each project in order: checked, or why not (a failure follows the ones above).
    checked: Vec<Result<Checked, Failure>>,
    /// Whether a path or a file a project names could not be read.
    unreadable: bool,
    /// Every project kept with its findings, for a whole document.
    results: Vec<(&'a Project, Vec<Finding>)>,
    /// `--fix`: what was applied.
    fixed: Option<Fixed>,
}

/// What a check is run with.
struct Checking<'a> {
    args: &'a CheckArgs,
    configs: Configs,
    request: Request,
    /// The rules selected and ignored.
    base: RuleSettings,
    reporter: Box<dyn Reporter>,
    /// `--output-file`, created before the check; taken by the one [`Out`] of the run.
    output: Mutex<Option<std::fs::File>>,
    baseline: Baselining,
}

/// `--baseline` or `--write-baseline`.
enum Baselining {
    Off,
    /// Findings the baseline records are not reported.
    Match(Matcher),
    /// Every finding is recorded instead of reported, and written to the path at the end.
    Write(Recorder, PathBuf),
}

impl Baselining {
    /// What is reported of `project`'s `findings`.
    fn reported(&self, project: &Project, findings: Vec<Finding>) -> Vec<Finding> {
        match self {
            Baselining::Off => findings,
            Baselining::Match(matcher) => matcher.unmatched(project, findings),
            Baselining::Write(recorder, _) => {
                recorder.record(project, &findings);
                Vec::new()
            }
        }
    }
}

impl Checking<'_> {
    /// Where the report goes: the `--output-file`, else standard output (or standard error,
    /// held, when `to_stderr`).
    fn out(&self, to_stderr: bool) -> Out {
        match self.output.lock().unwrap_or_else(|e| e.into_inner()).take() {
            Some(file) => Out::to_file(file),
            None => Out::new(to_stderr),
        }
    }

    fn parts(&self) -> (&CheckArgs, &Configs, &Request, &RuleSettings, &dyn Reporter) {
        (
            self.args,
            &self.configs,
            &self.request,
            &self.base,
            self.reporter.as_ref(),
        )
    }
}

pub(super) fn run(args: CheckArgs, colour: bool) -> i32 {
    for id in args.select.iter().chain(&args.ignore) {
        if rules::find(id).is_none() {
            eprintln!("error: unknown rule `{id}` (see `stowage rules`)");
            return EXIT_FAILURE;
        }
    }
    let Some(configs) = or_report(Configs::new(args.config.as_deref(), args.no_config)) else {
        return EXIT_FAILURE;
    };
    let Some(request) = or_report(request(args.load.clone())) else {
        return EXIT_FAILURE;
    };
    let output = match &args.output_file {
        Some(path) => match std::fs::File::create(path) {
            Ok(file) => Some(file),
            Err(e) => {
                eprintln!("error: cannot write {}: {e}", path.display());
                return EXIT_FAILURE;
            }
        },
        None => None,
    };
    let baseline = match (&args.baseline, &args.write_baseline) {
        (Some(path), _) => match Matcher::read(path, &request.load.cwd) {
            Ok(matcher) => Baselining::Match(matcher),
            Err(e) => {
                eprintln!("error: {e}");
                return EXIT_FAILURE;
            }
        },
        (None, Some(path)) => {
            Baselining::Write(Recorder::new(path, &request.load.cwd), path.clone())
        }
        (None, None) => Baselining::Off,
    };
    let reporter = output::findings::reporter(args.format, colour);
    let base = RuleSettings {
        select: args.select.clone(),
        ignore: args.ignore.clone(),
        ..RuleSettings::default()
    };
    let checking = Checking {
        args: &args,
        configs,
        request,
        base,
        reporter,
        output: Mutex::new(output),
        baseline,
    };
    if args.fix || args.diff || checking.reporter.whole_document() {
        kept::check(&checking)
    } else {
        streamed::check(&checking)
    }
}

/// What fails a project's check (`--fail-on`, else its configuration, else warnings) and its
/// rule settings: `base` with fixes naming new volumes as `stowage migrate` would there.
fn project_settings(
    fail_on: Option<SeverityArg>,
    base: &RuleSettings,
    config: &Config,
) -> (Severity, RuleSettings) {
    let threshold = fail_on
        .map(Severity::from)
        .or(config.fail_on)
        .unwrap_or(Severity::Warning);
    let settings = RuleSettings {
        fixes: FixSettings {
            name_template: config.migrate.name_template.clone(),
            ..FixSettings::default()
        },
        ..base.clone()
    };
    (threshold, settings)
}

/// `lint` of `project`: a bug in it is an error for this project.
fn lint_safely<T>(
    project: &Project,
    lint: impl FnOnce() -> Result<T, String>,
) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(|| {
        crate::faults::panic_at(crate::faults::Stage::Lint, project.paths());
        lint()
    }))
    .unwrap_or_else(|panic| {
        Err(crate::faults::internal_error(
            "checking this project",
            panic.as_ref(),
        ))
    })
}

/// Distinct files `project` read.
fn files_read(project: &Project) -> usize {
    project
        .files
        .iter()
        .map(|f| &f.source.path)
        .collect::<foldhash::HashSet<_>>()
        .len()
}

/// The report's parts of one project, written to `direct` as they are made when it is given.
/// A bug while rendering is an error for this project, as one while checking it.
fn render(
    reporter: &dyn Reporter,
    project: &Project,
    findings: &[Finding],
    direct: Option<&Mutex<Out>>,
) -> Result<Vec<Chunk>, Failure> {
    catch_unwind(AssertUnwindSafe(|| {
        crate::faults::panic_at(crate::faults::Stage::Render, project.paths());
        let mut kept: Vec<Chunk> = Vec::new();
        reporter.project(project, findings, &mut |chunk| match direct {
            Some(out) => reporter.chunk(&mut out.lock().unwrap_or_else(|e| e.into_inner()), &chunk),
            None => kept.push(chunk),
        });
        kept
    }))
    .map_err(|panic| {
        (
            Some(main_file(project)),
            crate::faults::internal_error("rendering this project", panic.as_ref()),
        )
    })
}

/// The report of every project checked, its end, and the exit code.
fn report(checking: &Checking, mut out: Out, run: Run, cwd: &Path) -> i32 {
    let (args, reporter) = (checking.args, checking.reporter.as_ref());
    let Run {
        mut failures,
        checked,
        unreadable,
        mut results,
        fixed,
    } = run;
    let mut tallies = Vec::new();
    let (mut files, mut failing) = (0, false);
    for result in checked {
        match result {
            Ok(c) => {
                for chunk in &c.chunks {
                    reporter.chunk(&mut out, chunk);
                }
                tallies.extend(c.tallies);
                files += c.files;
                failing |= c.failing;
            }
            Err(failure) => failures.push(failure),
        }
    }
    if let Baselining::Write(recorder, path) = &checking.baseline {
        return write_baseline(recorder, path, &failures, unreadable, args.quiet);
    }
    if reporter.whole_document() {
        probe_document(&mut results, &mut failures, |results| {
            reporter.probe(results)
        });
    }
    let end = End {
        failures: &failures,
        tallies: &tallies,
        files,
        statistics: args.statistics,
        quiet: args.quiet,
        fixed,
        results: &results,
        cwd,
        baseline: match &checking.baseline {
            Baselining::Match(matcher) => {
                let (matched, stale) = matcher.counts();
                Some(Baselined { matched, stale })
            }
            _ => None,
        },
    };
    // A whole document is written as it is made (it can be several times larger than the
    // findings): what the probe did not catch cuts it short, and says so.
    let cut_short = catch_unwind(AssertUnwindSafe(|| {
        let result = reporter.end(&mut out, &end);
        out.record(result);
    }))
    .map_err(|panic| {
        output::eprint_failure(
            None,
            &crate::faults::internal_error("writing the report", panic.as_ref()),
        );
    })
    .is_err();
    out.flush();
    let unwritten = out.error().map(|e| {
        output::eprint_failure(None, &format!("cannot write the report: {e}"));
    });
    exit_code(
        unreadable || !failures.is_empty() || cut_short || unwritten.is_some(),
        !args.exit_zero && failing,
    )
}

/// `--write-baseline`: the findings recorded, written to `path` when every project was checked
/// (a baseline missing what could not be checked would let its findings through later).
fn write_baseline(
    recorder: &Recorder,
    path: &Path,
    failures: &[Failure],
    unreadable: bool,
    quiet: bool,
) -> i32 {
    for (p, m) in failures {
        output::eprint_failure(p.as_deref(), m);
    }
    if !failures.is_empty() || unreadable {
        let why = if failures.is_empty() {
            "a file could not be read (`stowage check` shows which)"
        } else {
            "stowage could not check everything (above)"
        };
        eprintln!("error: the baseline was not written: {why}");
        return EXIT_FAILURE;
    }
    let (text, findings, files) = recorder.render();
    if let Err(e) = crate::fix::write::write_new(path, &text, &recorder.files_read()) {
        eprintln!("error: {e}");
        return EXIT_FAILURE;
    }
    if !quiet {
        let (findings_word, files_word) = (
            if findings == 1 { "finding" } else { "findings" },
            if files == 1 { "file" } else { "files" },
        );
        eprintln!(
            "Wrote {findings} {findings_word} in {files} {files_word} to the baseline `{}`.",
            path.display()
        );
    }
    super::EXIT_OK
}

/// Before a whole document (SARIF, JUnit, GitLab) of every project is written: `probe` makes
/// what writing it would make, so that a project whose rendering panics becomes a failure
/// naming it (exit 2) and the document is written from the others.
fn probe_document<'a>(
    results: &mut Vec<(&'a Project, Vec<Finding>)>,
    failures: &mut Vec<Failure>,
    probe: impl Fn(&[(&'a Project, Vec<Finding>)]),
) {
    let attempt = |results: &[(&'a Project, Vec<Finding>)]| {
        catch_unwind(AssertUnwindSafe(|| {
            for (project, _) in results {
                crate::faults::panic_at(crate::faults::Stage::Render, project.paths());
            }
            probe(results)
        }))
    };
    if attempt(results).is_ok() {
        return;
    }
    // Which projects fail on their own: they leave the document and become failures.
    for ((project, _), panic) in isolate_panics(results, |alone| attempt(alone)) {
        failures.push((
            Some(main_file(project)),
            crate::faults::internal_error("rendering this project", panic.as_ref()),
        ));
    }
    if let Err(panic) = attempt(results) {
        // Only together do they fail: none of them can be reported.
        for (project, _) in results.drain(..) {
            failures.push((
                Some(main_file(project)),
                crate::faults::internal_error("rendering the report", panic.as_ref()),
            ));
        }
    }
}
