//! The command line: arguments, dispatch and exit codes.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use std::panic::{AssertUnwindSafe, catch_unwind};

use rayon::prelude::*;
use std::path::Path;
use std::sync::{Arc, Mutex};

use foldhash::HashMap;

use crate::compose::model::Project;
use crate::finding::{Finding, Severity};
use crate::fix;
use crate::fix::migrate;
use crate::images::KnowledgeBase;
use crate::lint::config::{self, Config, ConfigError};
use crate::lint::{self, RuleSettings};
use crate::output;
use crate::output::human::Human;
use crate::output::stream;
use crate::project::LoadOptions;
use crate::rules;
use crate::rules::convert::{BindStrategy, FixSettings};
use crate::workspace::inventory::{self, Request};

/// Will this compose stack keep its data? Lints and migrates Docker Compose files.
#[derive(Parser, Debug)]
#[command(name = "stowage", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Lint: report every service that will lose data, and compose mistakes (the default command).
    Check(CheckArgs),
    /// Every mount of every service, classified, with what survives restart, recreate, down and down -v.
    Volumes(VolumesArgs),
    /// Rewrite anonymous volumes, image volumes and (on request) bind mounts into named volumes,
    /// with a plan that carries the data across (a dry run unless `--write`).
    Migrate(MigrateArgs),
    /// List the rules.
    Rules,
    /// Print a rule's documentation.
    Explain {
        /// A rule id, e.g. `anonymous-volume`.
        rule: String,
    },
    /// Print a shell completion script (e.g. `stowage completions bash > /etc/bash_completion.d/stowage`).
    Completions {
        /// The shell to complete for.
        shell: clap_complete::Shell,
    },
    /// Print the manual page (roff), e.g. `stowage man | man -l -`.
    Man,
}

#[derive(Args, Debug)]
pub struct CheckArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Human)]
    pub format: CheckFormat,
    /// Only these rules (comma-separated ids); rules that are off by default can be selected.
    #[arg(long, value_delimiter = ',')]
    pub select: Vec<String>,
    /// Never these rules (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Exit 1 when a finding is at least this severe (default: warning, or the configuration's `fail-on`).
    #[arg(long, value_enum)]
    pub fail_on: Option<SeverityArg>,
    /// Configuration file (default: `.stowage.yaml` found upward from each project).
    #[arg(long, conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore configuration files.
    #[arg(long)]
    pub no_config: bool,
    /// Exit 0 even when there are findings (2 still means stowage could not do its job).
    #[arg(long)]
    pub exit_zero: bool,
    /// Print how many findings each rule produced.
    #[arg(long)]
    pub statistics: bool,
    /// Print findings only, no summary.
    #[arg(short, long)]
    pub quiet: bool,
    /// Apply safe fixes (verified before anything is written).
    #[arg(long)]
    pub fix: bool,
    /// Also apply unsafe fixes (they change where data lives: see `stowage migrate` for the data plan).
    #[arg(long)]
    pub unsafe_fixes: bool,
    /// Print the fixes as a unified diff instead of writing them (exit 1 when there are changes).
    #[arg(long)]
    pub diff: bool,
}

#[derive(Args, Debug)]
pub struct MigrateArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Apply the changes (verified, atomic) instead of printing them.
    #[arg(long)]
    pub write: bool,
    /// Read-write directory bind mounts: leave them (`skip`), move their data into named volumes
    /// (`volume`), or turn them into named volumes bound to the same directory (`keep-path`).
    #[arg(long, value_parser = ["skip", "volume", "keep-path"])]
    pub binds: Option<String>,
    /// Name of new volumes: `{service}`, `{basename}` (last part of the container path), `{project}`.
    #[arg(long)]
    pub name_template: Option<String>,
    /// Write the data plan as a POSIX sh script to FILE.
    #[arg(long, value_name = "FILE")]
    pub script: Option<PathBuf>,
    /// Configuration file (default: `.stowage.yaml` found upward from each project).
    #[arg(long, conflicts_with = "no_config")]
    pub config: Option<PathBuf>,
    /// Ignore configuration files.
    #[arg(long)]
    pub no_config: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum CheckFormat {
    Human,
    Concise,
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// GitHub Actions annotations (workflow commands).
    Github,
    /// GitLab Code Quality report.
    Gitlab,
    /// JUnit XML: one test case per file.
    Junit,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeverityArg {
    Error,
    Warning,
    Info,
}

impl From<SeverityArg> for Severity {
    fn from(s: SeverityArg) -> Severity {
        match s {
            SeverityArg::Error => Severity::Error,
            SeverityArg::Warning => Severity::Warning,
            SeverityArg::Info => Severity::Info,
        }
    }
}

/// How projects are found and loaded (as in docker compose).
#[derive(Args, Debug, Clone, Default)]
pub struct LoadArgs {
    /// Files or directories (directories are searched recursively; `-` reads standard input); default: compose's discovery from here.
    pub paths: Vec<PathBuf>,
    /// Compose file, merged in the order given (`-` reads standard input); like `docker compose -f`.
    #[arg(short = 'f', long = "file")]
    pub files: Vec<PathBuf>,
    /// Name standard input is known by (relative paths and `.env` resolve from it).
    #[arg(long)]
    pub stdin_filename: Option<PathBuf>,
    /// Directory relative paths and `.env` resolve against (default: the first file's directory).
    #[arg(long)]
    pub project_directory: Option<PathBuf>,
    /// Project name (decides engine volume names).
    #[arg(short = 'p', long)]
    pub project_name: Option<String>,
    /// Environment file(s) for interpolation instead of the project's `.env`.
    #[arg(long)]
    pub env_file: Vec<PathBuf>,
    /// Only services compose would run with these profiles (`*` = all); default: every service.
    #[arg(long)]
    pub profile: Vec<String>,
}

#[derive(Args, Debug)]
pub struct VolumesArgs {
    #[command(flatten)]
    pub load: LoadArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = VolumesFormat::Table)]
    pub format: VolumesFormat,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum VolumesFormat {
    Table,
    Json,
    /// Mermaid flowchart: services → volumes → host paths, coloured by what survives.
    Mermaid,
    /// Graphviz DOT: the same graph.
    Dot,
}

/// Exit codes (design §1): 0 fine, 1 problems found, 2 the tool could not do its job.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_FAILURE: i32 = 2;

/// `check` is the default command: `stowage compose.yaml` = `stowage check compose.yaml`.
/// Subcommands are told by name without building the command (that doubled clap's share of a
/// one-file run); `default_command_knows_every_subcommand` keeps the two in step.
fn with_default_command(mut args: Vec<String>) -> Vec<String> {
    let explicit = args.get(1).is_some_and(|a| {
        matches!(a.as_str(), "help" | "-h" | "--help" | "-V" | "--version")
            || <Command as Subcommand>::has_subcommand(a)
    });
    if !explicit {
        args.insert(1, "check".into());
    }
    args
}

pub fn main() -> i32 {
    let cli = match Cli::try_parse_from(with_default_command(std::env::args().collect())) {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return if e.use_stderr() {
                EXIT_FAILURE
            } else {
                EXIT_OK
            };
        }
    };
    match cli.command {
        Command::Check(args) => check(args),
        Command::Volumes(args) => volumes(args),
        Command::Migrate(args) => migrate(args),
        Command::Rules => {
            print(&output::rules_doc::list());
            EXIT_OK
        }
        Command::Explain { rule } => match rules::find(&rule) {
            Some(r) => {
                print(&output::rules_doc::explain(r.meta()));
                EXIT_OK
            }
            None => {
                eprintln!("error: unknown rule `{rule}` (see `stowage rules`)");
                EXIT_FAILURE
            }
        },
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "stowage", &mut script);
            print(&String::from_utf8_lossy(&script));
            EXIT_OK
        }
        Command::Man => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut page) {
                Ok(()) => {
                    print(&String::from_utf8_lossy(&page));
                    EXIT_OK
                }
                Err(e) => {
                    eprintln!("error: cannot render the manual page: {e}");
                    EXIT_FAILURE
                }
            }
        }
    }
}

/// Progress on stderr for long runs, only when stderr is a terminal (CI logs, pipes and quick
/// pre-commit runs stay clean): a spinner while projects load, shown once loading takes longer
/// than a moment, then a bar while more than [`PROGRESS_MIN_PROJECTS`] projects are checked.
struct Progress {
    /// The spinner, and whether it is finished (the delayed reveal must not draw it after that).
    spinner: Option<(ProgressBar, Arc<Mutex<bool>>)>,
    bar: Option<ProgressBar>,
}

const PROGRESS_MIN_PROJECTS: usize = 20;
const PROGRESS_DELAY: std::time::Duration = std::time::Duration::from_millis(300);

impl Progress {
    fn loading() -> Progress {
        let mut progress = Progress {
            spinner: None,
            bar: None,
        };
        if !std::io::stderr().is_terminal() {
            return progress;
        }
        let spinner = ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
        spinner.set_style(
            ProgressStyle::with_template("{spinner} {msg} {elapsed}").expect("a valid template"),
        );
        spinner.set_message("loading compose projects…");
        spinner.enable_steady_tick(std::time::Duration::from_millis(100));
        let finished = Arc::new(Mutex::new(false));
        let (delayed, delayed_finished) = (spinner.clone(), finished.clone());
        std::thread::spawn(move || {
            std::thread::sleep(PROGRESS_DELAY);
            let finished = delayed_finished.lock().unwrap_or_else(|e| e.into_inner());
            if !*finished {
                delayed.set_draw_target(ProgressDrawTarget::stderr());
            }
        });
        progress.spinner = Some((spinner, finished));
        progress
    }

    /// Loading is done; `projects` are about to be checked one by one.
    fn checking(&mut self, projects: usize) {
        if self.spinner.is_none() {
            return;
        }
        self.finish();
        if projects > PROGRESS_MIN_PROJECTS {
            let bar =
                ProgressBar::with_draw_target(Some(projects as u64), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template("{bar:30} {pos}/{len} projects checked {elapsed}")
                    .expect("a valid template"),
            );
            self.bar = Some(bar);
        }
    }

    fn inc(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    fn finish(&mut self) {
        if let Some((spinner, finished)) = self.spinner.take() {
            let mut finished = finished.lock().unwrap_or_else(|e| e.into_inner());
            *finished = true;
            spinner.finish_and_clear();
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

fn print(text: &str) {
    // A closed pipe (`stowage rules | head`) is not an error worth reporting.
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}

/// Configuration per project directory: `--config`, none, or the nearest `.stowage.yaml`.
/// Projects checked side by side share it: each configuration file is loaded once.
struct Configs {
    explicit: Option<Arc<Config>>,
    disabled: bool,
    /// Each configuration file loaded, by path (the empty path: no file, the defaults).
    found: Mutex<HashMap<PathBuf, Arc<Config>>>,
    /// The nearest configuration file of each directory looked at (`config::find`).
    nearest: Mutex<HashMap<PathBuf, Option<PathBuf>>>,
}

impl Configs {
    /// `--config PATH` (loaded now: an error is the command's), or `--no-config`.
    fn new(explicit: Option<&Path>, disabled: bool) -> Result<Configs, ConfigError> {
        Ok(Configs {
            explicit: explicit.map(config::load).transpose()?.map(Arc::new),
            disabled,
            found: Mutex::default(),
            nearest: Mutex::default(),
        })
    }

    fn for_dir(&self, dir: &Path) -> Result<Arc<Config>, ConfigError> {
        if let Some(c) = &self.explicit {
            return Ok(Arc::clone(c));
        }
        let path = if self.disabled {
            None
        } else {
            config::find(dir, &self.nearest)
        };
        let key = path.clone().unwrap_or_default();
        // Loaded under the lock: a file shared by projects checked side by side is read once.
        let mut found = self.found.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(c) = found.get(&key) {
            return Ok(Arc::clone(c));
        }
        let c = Arc::new(match &path {
            Some(p) => config::load(p)?,
            None => Config::default(),
        });
        found.insert(key, Arc::clone(&c));
        Ok(c)
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

fn check(args: CheckArgs) -> i32 {
    for id in args.select.iter().chain(&args.ignore) {
        if rules::find(id).is_none() {
            eprintln!("error: unknown rule `{id}` (see `stowage rules`)");
            return EXIT_FAILURE;
        }
    }
    let configs = match Configs::new(args.config.as_deref(), args.no_config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILURE;
        }
    };
    if !(args.fix || args.diff)
        && matches!(
            args.format,
            CheckFormat::Human | CheckFormat::Concise | CheckFormat::Json | CheckFormat::Github
        )
    {
        return check_streaming(args, configs);
    }
    let request = match request(args.load) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILURE;
        }
    };
    let mut progress = Progress::loading();
    let inventory = inventory::collect(&request, KnowledgeBase::builtin());
    progress.checking(inventory.projects.len());
    let colour = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let human = Human::new(colour);
    let mut text = String::new();
    let mut json_findings = Vec::new();
    let mut tallies: Vec<output::summary::Tally> = Vec::new();
    let mut files = 0;
    let mut failing = false;
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
    let base = RuleSettings {
        select: args.select.clone(),
        ignore: args.ignore.clone(),
        ..RuleSettings::default()
    };
    let fixing = args.fix || args.diff;
    let linted: Vec<Result<Linted, String>> = inventory
        .projects
        .par_iter()
        .zip(plans.par_iter())
        .zip(inventory.options.par_iter())
        .map(|(((project, analysis), config), opts)| {
            let (threshold, base) = project_settings(args.fail_on, &base, config);
            let outcome = catch_unwind(AssertUnwindSafe(|| {
                crate::faults::panic_at(crate::faults::Stage::Lint, project);
                if fixing {
                    let lint = |p: &Project| {
                        lint::lint(
                            p,
                            &crate::analysis::analyse(p, KnowledgeBase::builtin()),
                            &base,
                            config,
                        )
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
            }))
            .unwrap_or_else(|panic| {
                Err(crate::faults::internal_error(
                    "checking this project",
                    panic.as_ref(),
                ))
            })
            .map(|(f, o)| (f, threshold, o));
            progress.inc();
            outcome
        })
        .collect();
    progress.finish();
    let mut results = Vec::new();
    let mut failures: Vec<(Option<String>, String)> = inventory
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
    for outcome in linted {
        match outcome {
            Ok((findings, threshold, outcome)) => {
                let fixed = outcome.map(|o| {
                    applied += o.applied;
                    unsafe_waiting += o.unsafe_waiting;
                    project_fixes
                        .push((o.applied, o.files.iter().map(|f| f.path.clone()).collect()));
                    changes.extend(o.files);
                    o.project
                });
                fixed_projects.push(fixed.flatten());
                staged.push(Ok((findings, threshold)));
            }
            Err(message) => {
                fixed_projects.push(None);
                staged.push(Err(message));
            }
        }
    }
    for (i, outcome) in staged.into_iter().enumerate() {
        let project = fixed_projects[i]
            .as_ref()
            .unwrap_or(&inventory.projects[i].0);
        match outcome {
            Ok((findings, threshold)) => {
                failing |= findings.iter().any(|f| f.severity >= threshold);
                files += project
                    .files
                    .iter()
                    .map(|f| &f.source.path)
                    .collect::<foldhash::HashSet<_>>()
                    .len();
                results.push((project, findings));
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
        print(&output::diff::unified(&changes));
        let fixes = if applied == 1 { "fix" } else { "fixes" };
        if !args.quiet {
            eprintln!(
                "{applied} {fixes} would be applied to {} file(s).{}",
                changes.len(),
                unsafe_note(unsafe_waiting)
            );
        }
        for (p, m) in &failures {
            eprint_failure(p.as_deref(), m);
        }
        return if inventory.has_failures() || !failures.is_empty() {
            EXIT_FAILURE
        } else if changes.is_empty() {
            EXIT_OK
        } else {
            EXIT_FINDINGS
        };
    }
    let stdin_paths: Vec<PathBuf> = inventory
        .options
        .iter()
        .filter(|o| o.stdin.is_some())
        .map(crate::project::stdin_path)
        .collect();
    let mut printed_stdin = false;
    let mut not_written: Vec<&PathBuf> = Vec::new();
    for change in &changes {
        if stdin_paths.contains(&change.path) {
            // `check --fix -` prints the fixed text instead of writing a file; the report goes
            // to stderr.
            print(&change.fixed);
            printed_stdin = true;
            continue;
        }
        if let Err(e) = fix::write::atomic_write(&change.path, &change.original, &change.fixed) {
            failures.push((Some(change.display.clone()), e.reason()));
            not_written.push(&change.path);
        }
    }
    // The summary counts what reached the disk: a project with a file that could not be
    // written applied nothing there.
    let written = changes.len() - not_written.len();
    if !not_written.is_empty() {
        applied = project_fixes
            .iter()
            .filter(|(_, paths)| !paths.iter().any(|p| not_written.contains(&p)))
            .map(|(n, _)| n)
            .sum();
    }
    // Each project is rendered on its own: a bug while rendering one is an error for it (exit 2),
    // and the others are still reported.
    let mut kept = Vec::with_capacity(results.len());
    for (project, findings) in results {
        let rendered = catch_unwind(AssertUnwindSafe(|| {
            crate::faults::panic_at(crate::faults::Stage::Render, project);
            let mut part = String::new();
            let mut json = Vec::new();
            match args.format {
                CheckFormat::Human => human.render(&mut part, project, &findings),
                CheckFormat::Concise => {
                    output::concise::render_findings(&mut part, project, &findings)
                }
                CheckFormat::Json => json.extend(
                    findings
                        .iter()
                        .map(|f| output::check_json::place(project, f)),
                ),
                CheckFormat::Github => {
                    output::github::render_findings(&mut part, project, &findings)
                }
                // Whole documents, rendered below from every project at once.
                CheckFormat::Sarif | CheckFormat::Gitlab | CheckFormat::Junit => {}
            }
            (part, json)
        }));
        match rendered {
            Ok((part, places)) => {
                text.push_str(&part);
                tallies.extend(findings.iter().map(output::summary::Tally::from));
                json_findings.extend(places);
                kept.push((project, findings));
            }
            Err(panic) => failures.push((
                Some(main_file(project)),
                crate::faults::internal_error("rendering this project", panic.as_ref()),
            )),
        }
    }
    let mut results = kept;
    let document = matches!(
        args.format,
        CheckFormat::Sarif | CheckFormat::Gitlab | CheckFormat::Junit
    );
    if document {
        probe_document(&mut results, &mut failures, |results| match args.format {
            CheckFormat::Sarif => output::sarif::probe(results),
            CheckFormat::Junit => output::junit::probe(results),
            _ => output::gitlab::probe(results),
        });
    }
    match args.format {
        CheckFormat::Json => {
            let errors = failures
                .iter()
                .map(|(p, m)| output::check_json::ErrorOut {
                    path: p.clone(),
                    line: None,
                    column: None,
                    message: m.clone(),
                })
                .collect();
            let findings = json_findings
                .into_iter()
                .zip(results.iter().flat_map(|(_, findings)| findings))
                .map(|(place, f)| output::check_json::finding_out_at(place, f))
                .collect();
            text = output::check_json::render(findings, errors, files);
        }
        CheckFormat::Sarif | CheckFormat::Junit => {}
        CheckFormat::Github => {
            for (p, m) in &failures {
                output::github::render_failure(&mut text, p.as_deref(), m);
            }
        }
        CheckFormat::Gitlab => {
            for (p, m) in &failures {
                eprint_failure(p.as_deref(), m);
            }
        }
        CheckFormat::Human | CheckFormat::Concise => {
            for (p, m) in &failures {
                eprint_failure(p.as_deref(), m);
            }
            if args.statistics {
                text.push_str(&output::summary::statistics_of(&tallies));
            }
            if !args.quiet && (files > 0 || failures.is_empty()) {
                if args.fix {
                    let fixes = if applied == 1 { "fix" } else { "fixes" };
                    text.push_str(&format!(
                        "Applied {applied} {fixes} to {written} file(s).{}\n",
                        unsafe_note(unsafe_waiting)
                    ));
                }
                text.push_str(&output::summary::line_of(&tallies, files));
            }
        }
    }
    // `check --fix -` printed the fixed text: the report goes to stderr. A whole document is
    // written as it is made (it can be several times larger than the findings).
    let mut out: Box<dyn Write> = if printed_stdin {
        Box::new(std::io::BufWriter::new(std::io::stderr()))
    } else {
        Box::new(std::io::BufWriter::new(std::io::stdout()))
    };
    if document {
        let written = catch_unwind(AssertUnwindSafe(|| match args.format {
            CheckFormat::Sarif => {
                output::sarif::write(&mut out, &results, &failures, &inventory.cwd)
            }
            CheckFormat::Junit => output::junit::write(&mut out, &results, &failures),
            _ => output::gitlab::write(&mut out, &results),
        }));
        if let Err(panic) = written {
            // What the probe did not catch: the document is cut short, and said so.
            eprint_failure(
                None,
                &crate::faults::internal_error("writing the report", panic.as_ref()),
            );
            failures.push((None, "internal error while writing the report".into()));
        }
    } else {
        // A closed pipe (`stowage check | head`) is not an error worth reporting.
        let _ = out.write_all(text.as_bytes());
    }
    let _ = out.flush();
    drop(out);
    if inventory.has_failures() || !failures.is_empty() {
        EXIT_FAILURE
    } else if !args.exit_zero && failing {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// Before a whole document (SARIF, JUnit, GitLab) of every project is written: `probe` makes
/// what writing it would make, so that a project whose rendering panics becomes a failure
/// naming it (exit 2) and the document is written from the others.
fn probe_document<'a>(
    results: &mut Vec<(&'a Project, Vec<Finding>)>,
    failures: &mut Vec<(Option<String>, String)>,
    probe: impl Fn(&[(&'a Project, Vec<Finding>)]),
) {
    let attempt = |results: &[(&'a Project, Vec<Finding>)]| {
        catch_unwind(AssertUnwindSafe(|| {
            for (project, _) in results {
                crate::faults::panic_at(crate::faults::Stage::Render, project);
            }
            probe(results)
        }))
    };
    if attempt(results).is_ok() {
        return;
    }
    // Which projects fail on their own: they leave the document and become failures.
    for (project, findings) in std::mem::take(results) {
        let alone = [(project, findings)];
        match attempt(&alone) {
            Ok(()) => results.extend(alone),
            Err(panic) => failures.push((
                Some(main_file(project)),
                crate::faults::internal_error("rendering this project", panic.as_ref()),
            )),
        }
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

/// One project as `check_streaming` leaves it.
enum Streamed {
    LoadFailed(inventory::Failure),
    ConfigError(String),
    /// Whether the project could not read a file it names, and its report.
    Checked(bool, Result<Checked, (Option<String>, String)>),
}

/// What `check_streaming` keeps of a checked project once the project itself is dropped.
struct Checked {
    /// The rendered findings (none when they were written already).
    chunks: Vec<stream::Chunk>,
    tallies: Vec<output::summary::Tally>,
    /// Distinct files the project read.
    files: usize,
    failing: bool,
}

/// `check` without fixes, in a format written project by project (human, concise, json,
/// github): projects are loaded, checked and rendered a batch at a time on every core, then
/// dropped, so memory stays flat however many projects there are. Same output and exit codes as
/// the path that keeps every project (`check`).
fn check_streaming(args: CheckArgs, configs: Configs) -> i32 {
    let request = match request(args.load) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILURE;
        }
    };
    let kb = KnowledgeBase::builtin();
    let mut progress = Progress::loading();
    let (planned, mut failed_loads) = inventory::plan(&request);
    let colour = std::io::stdout().is_terminal()
        && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
    let human = Human::new(colour);
    let base = RuleSettings {
        select: args.select.clone(),
        ignore: args.ignore.clone(),
        ..RuleSettings::default()
    };
    let format = match args.format {
        CheckFormat::Human => stream::Format::Human(&human),
        CheckFormat::Concise => stream::Format::Concise,
        CheckFormat::Github => stream::Format::Github,
        CheckFormat::Json => stream::Format::Json,
        CheckFormat::Sarif | CheckFormat::Gitlab | CheckFormat::Junit => {
            unreachable!("whole-document formats keep every project")
        }
    };
    progress.checking(planned.len());
    // One project is written as it is rendered, a part at a time: memory stays small however
    // many findings it has. Several are checked side by side, each one's text kept until the
    // projects before it are written.
    let direct = (planned.len() <= 1).then(|| Mutex::new(stream::Report::new(format)));
    // One pass over every project on every core; each one is dropped once rendered. Results
    // come back in project order.
    let check_one = |set: &crate::workspace::discover::ProjectFiles| {
        let (project, analysis) = match inventory::load(&inventory::options(&request, set), kb) {
            Ok(loaded) => loaded,
            Err(f) => return Streamed::LoadFailed(f),
        };
        let config = match configs.for_dir(&project.directory) {
            Ok(c) => c,
            Err(e) => return Streamed::ConfigError(e.to_string()),
        };
        let (threshold, base) = project_settings(args.fail_on, &base, &config);
        let outcome = catch_unwind(AssertUnwindSafe(|| {
            crate::faults::panic_at(crate::faults::Stage::Lint, &project);
            lint::lint(&project, &analysis, &base, &config)
        }))
        .unwrap_or_else(|panic| {
            Err(crate::faults::internal_error(
                "checking this project",
                panic.as_ref(),
            ))
        });
        progress.inc();
        let io = project
            .errors
            .iter()
            .any(|e| e.kind == crate::compose::model::ProblemKind::Io);
        let result = match outcome {
            Ok(findings) => {
                let tallies = findings.iter().map(output::summary::Tally::from).collect();
                let failing = findings.iter().any(|f| f.severity >= threshold);
                // A bug while rendering is an error for this project, as one while checking it.
                let rendered =
                    catch_unwind(AssertUnwindSafe(|| {
                        crate::faults::panic_at(crate::faults::Stage::Render, &project);
                        let mut kept: Vec<stream::Chunk> = Vec::new();
                        stream::render_project(format, &project, &findings, &mut |chunk| {
                            match &direct {
                                Some(report) => report
                                    .lock()
                                    .unwrap_or_else(|e| e.into_inner())
                                    .chunk(&chunk),
                                None => kept.push(chunk),
                            }
                        });
                        kept
                    }));
                let files = project
                    .files
                    .iter()
                    .map(|f| &f.source.path)
                    .collect::<foldhash::HashSet<_>>()
                    .len();
                match rendered {
                    Ok(chunks) => Ok(Checked {
                        chunks,
                        tallies,
                        files,
                        failing,
                    }),
                    Err(panic) => Err((
                        Some(main_file(&project)),
                        crate::faults::internal_error("rendering this project", panic.as_ref()),
                    )),
                }
            }
            Err(message) => Err((Some(main_file(&project)), message)),
        };
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
    let mut io_errors = false;
    let mut checked: Vec<Result<Checked, (Option<String>, String)>> = Vec::new();
    for outcome in outcomes {
        match outcome {
            Streamed::LoadFailed(f) => failed_loads.push(f),
            Streamed::ConfigError(e) => {
                eprintln!("error: {e}");
                return EXIT_FAILURE;
            }
            Streamed::Checked(io, result) => {
                io_errors |= io;
                checked.push(result);
            }
        }
    }
    let has_failures = io_errors || !failed_loads.is_empty();
    let mut failures: Vec<(Option<String>, String)> = failed_loads
        .into_iter()
        .map(|f| (f.path, f.message))
        .collect();
    let mut report = match direct {
        Some(report) => report.into_inner().unwrap_or_else(|e| e.into_inner()),
        None => stream::Report::new(format),
    };
    let mut text = String::new();
    let mut tallies = Vec::new();
    let (mut files, mut failing) = (0, false);
    for result in checked {
        match result {
            Ok(c) => {
                for chunk in &c.chunks {
                    report.chunk(chunk);
                }
                tallies.extend(c.tallies);
                files += c.files;
                failing |= c.failing;
            }
            Err(failure) => failures.push(failure),
        }
    }
    match args.format {
        CheckFormat::Json => {
            let errors = failures
                .iter()
                .map(|(p, m)| output::check_json::ErrorOut {
                    path: p.clone(),
                    line: None,
                    column: None,
                    message: m.clone(),
                })
                .collect();
            report.close_json(&mut text, errors, files);
        }
        CheckFormat::Github => {
            for (p, m) in &failures {
                output::github::render_failure(&mut text, p.as_deref(), m);
            }
        }
        _ => {
            for (p, m) in &failures {
                eprint_failure(p.as_deref(), m);
            }
            if args.statistics {
                text.push_str(&output::summary::statistics_of(&tallies));
            }
            if !args.quiet && (files > 0 || failures.is_empty()) {
                text.push_str(&output::summary::line_of(&tallies, files));
            }
        }
    }
    report.write(&text);
    report.flush();
    if has_failures || !failures.is_empty() {
        EXIT_FAILURE
    } else if !args.exit_zero && failing {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// A path or project stowage could not check, on stderr (nothing from a file reaches the
/// terminal as a control character).
fn eprint_failure(path: Option<&str>, message: &str) {
    eprintln!(
        "error: {}{}",
        path.map(|p| format!("{}: ", output::escape::one_line(p)))
            .unwrap_or_default(),
        output::escape::terminal(message)
    );
}

/// The first file of a project as the user sees it (how messages about a project name it).
fn main_file(project: &Project) -> String {
    project
        .main_files
        .first()
        .map(|&f| project.file(f).source.display.clone())
        .unwrap_or_default()
}

/// Drops a change that repeats an earlier one: a file two projects share (an `include`d file)
/// fixed alike by both is written once, not refused the second time as changed on disk. Two
/// different results for one file stay, and the second write is refused.
fn dedup_changes(changes: &mut Vec<fix::FixedFile>) {
    // Indexed, and borrowed: thousands of projects must not compare (or copy) every text with
    // every other.
    let mut seen = foldhash::HashSet::default();
    let fresh: Vec<bool> = changes
        .iter()
        .map(|c| seen.insert((c.path.as_path(), c.fixed.as_str())))
        .collect();
    let mut fresh = fresh.into_iter();
    changes.retain(|_| fresh.next().unwrap_or(true));
}

/// One project's findings, the severity that fails the run, and what fixing it did.
type Linted = (Vec<Finding>, Severity, Option<fix::Outcome>);

fn unsafe_note(waiting: usize) -> String {
    match waiting {
        0 => String::new(),
        1 => " 1 unsafe fix is available with `--unsafe-fixes`.".into(),
        n => format!(" {n} unsafe fixes are available with `--unsafe-fixes`."),
    }
}

fn request(mut load: LoadArgs) -> Result<Request, String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    // A bare `-` path is standard input, as `-f -` is.
    if load.paths.iter().any(|p| p.as_os_str() == "-") {
        if load.paths.len() > 1 || !load.files.is_empty() {
            return Err("`-` (standard input) cannot be combined with other paths or `-f`".into());
        }
        load.paths.clear();
        load.files.push(PathBuf::from("-"));
    }
    let mut stdin = None;
    if load.files.iter().any(|f| f.as_os_str() == "-") {
        stdin = Some(read_stdin(&cwd, load.stdin_filename.as_deref())?);
    }
    // A variable that is not UTF-8 cannot be interpolated (and `env::vars` would panic on it).
    let process_env = Arc::new(
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect(),
    );
    Ok(Request {
        paths: load.paths,
        files: load.files.clone(),
        load: LoadOptions {
            files: Vec::new(),
            stdin,
            stdin_filename: load.stdin_filename,
            project_directory: load.project_directory,
            project_name: load.project_name,
            env_files: load.env_file,
            profiles: load.profile,
            process_env,
            cwd,
            overlay: Default::default(),
        },
    })
}

/// Standard input as a compose file: at most as large as a file may be, and decoded as one, so
/// that what is not UTF-8 is reported at its line and column, under the name stdin goes by.
fn read_stdin(cwd: &Path, stdin_filename: Option<&Path>) -> Result<String, String> {
    let path = crate::project::stdin_path(&LoadOptions {
        stdin_filename: stdin_filename.map(Path::to_path_buf),
        cwd: cwd.to_path_buf(),
        ..LoadOptions::default()
    });
    let shown = match path.strip_prefix(cwd) {
        Ok(p) if !p.as_os_str().is_empty() => p.display().to_string(),
        _ => path.display().to_string(),
    };
    let limit = crate::yaml::source::MAX_FILE_BYTES;
    let mut bytes = Vec::new();
    std::io::stdin()
        .lock()
        .take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| format!("{shown}: cannot read standard input: {e}"))?;
    if bytes.len() as u64 > limit {
        return Err(format!(
            "{shown}: standard input is too large (more than {} MiB; stowage reads compose files of up to {} MiB)",
            limit >> 20,
            limit >> 20
        ));
    }
    crate::yaml::source::SourceFile::decode_or_prefix(bytes).map_err(|(e, prefix)| {
        let at = crate::yaml::source::SourceFile::new(shown.as_str(), &path, prefix)
            .line_col(e.offset());
        format!("{shown}:{}:{}: {e}", at.line, at.column)
    })
}

fn volumes(args: VolumesArgs) -> i32 {
    let request = match request(args.load) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILURE;
        }
    };
    let mut progress = Progress::loading();
    let mut inventory = inventory::collect(&request, KnowledgeBase::builtin());
    progress.finish();
    let render = match args.format {
        VolumesFormat::Table => output::volumes_table::render,
        VolumesFormat::Json => output::volumes_json::render,
        VolumesFormat::Mermaid => output::mermaid::render,
        VolumesFormat::Dot => output::dot::render,
    };
    let text = render_inventory(&mut inventory, render);
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(text.as_bytes()).is_err() && std::io::stdout().is_terminal() {
        return EXIT_FAILURE;
    }
    if inventory.has_failures() {
        EXIT_FAILURE
    } else if inventory.has_errors() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// `render` of the inventory; a project whose rendering panics becomes a failure naming it
/// (exit 2), and the others are rendered without it.
fn render_inventory(
    inventory: &mut inventory::Inventory,
    render: fn(&inventory::Inventory) -> String,
) -> String {
    let attempt = |inventory: &inventory::Inventory| {
        catch_unwind(AssertUnwindSafe(|| {
            for (project, _) in &inventory.projects {
                crate::faults::panic_at(crate::faults::Stage::Render, project);
            }
            render(inventory)
        }))
    };
    if let Ok(text) = attempt(inventory) {
        return text;
    }
    // Which projects fail on their own: they leave the output and become failures.
    let projects = std::mem::take(&mut inventory.projects);
    let options = std::mem::take(&mut inventory.options);
    let mut alone = inventory::Inventory {
        projects: Vec::with_capacity(1),
        options: Vec::with_capacity(1),
        failures: Vec::new(),
        cwd: inventory.cwd.clone(),
    };
    for (loaded, opts) in projects.into_iter().zip(options) {
        alone.projects.push(loaded);
        alone.options.push(opts);
        let outcome = attempt(&alone);
        let (Some(loaded), Some(opts)) = (alone.projects.pop(), alone.options.pop()) else {
            continue;
        };
        match outcome {
            Ok(_) => {
                inventory.projects.push(loaded);
                inventory.options.push(opts);
            }
            Err(panic) => inventory.failures.push(inventory::Failure {
                path: Some(main_file(&loaded.0)),
                message: crate::faults::internal_error("rendering this project", panic.as_ref()),
            }),
        }
    }
    attempt(inventory).unwrap_or_else(|panic| {
        // Only together do they fail: none of them can be shown.
        let message = crate::faults::internal_error("rendering the inventory", panic.as_ref());
        for (project, _) in std::mem::take(&mut inventory.projects) {
            inventory.failures.push(inventory::Failure {
                path: Some(main_file(&project)),
                message: message.clone(),
            });
        }
        inventory.options.clear();
        attempt(inventory).unwrap_or_else(|_| {
            // Not even the failures can be rendered: they go to stderr.
            for f in &inventory.failures {
                eprint_failure(f.path.as_deref(), &f.message);
            }
            String::new()
        })
    })
}

fn migrate(args: MigrateArgs) -> i32 {
    // The configuration's template is checked when it is read.
    if let Some(Err(e)) = args
        .name_template
        .as_deref()
        .map(crate::rules::convert::validate_template)
    {
        eprintln!("error: {e}");
        return EXIT_FAILURE;
    }
    let configs = match Configs::new(args.config.as_deref(), args.no_config) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILURE;
        }
    };
    let request = match request(args.load) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return EXIT_FAILURE;
        }
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
    let mut script = String::new();
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
            let m = migrate::migrate_project(&inventory.options[i], project, analysis, fixes)?;
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
        plan.push_str(&project_plan);
        if !body.is_empty() {
            script.push_str(if script.is_empty() {
                &body
            } else {
                body.trim_start_matches("#!/bin/sh\n")
            });
        }
        changes.extend(files);
    }
    dedup_changes(&mut changes);
    let stdin_paths: Vec<PathBuf> = inventory
        .options
        .iter()
        .filter(|o| o.stdin.is_some())
        .map(crate::project::stdin_path)
        .collect();
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
    if let Some(path) = &args.script {
        if script.is_empty() {
            // Do not replace the plan of an earlier run (`--write` first, `--script` after)
            // with nothing.
            eprintln!("no data to move: {} not written", path.display());
        } else if let Err(e) = std::fs::write(path, &script) {
            failures.push(format!("{}: cannot write the script: {e}", path.display()));
        } else {
            eprintln!("data plan written to {}", path.display());
        }
    } else if !script.is_empty() {
        eprintln!("`--script FILE` writes the commands that copy the data across");
    }
    for f in &failures {
        eprintln!("error: {}", output::escape::terminal(f));
    }
    if !failures.is_empty() {
        EXIT_FAILURE
    } else if !args.write && !changes.is_empty() {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_command_knows_every_subcommand() {
        for sub in Cli::command().get_subcommands() {
            for name in std::iter::once(sub.get_name()).chain(sub.get_all_aliases()) {
                let args = with_default_command(vec!["stowage".into(), name.into()]);
                assert_eq!(args[1], name, "`{name}` taken for a path");
            }
        }
        let args = with_default_command(vec!["stowage".into(), "compose.yaml".into()]);
        assert_eq!(args[1..], ["check", "compose.yaml"]);
    }
}
