//! The command line as clap reads it: the commands and their options (the formats are
//! `output`'s, where each is rendered).

use std::path::PathBuf;

use clap::{ArgMatches, Args, FromArgMatches, Parser, Subcommand, ValueEnum};

use crate::finding::Severity;
use crate::output::{findings, volumes};

/// Will this compose stack keep its data? Lints and migrates Docker Compose files.
#[derive(Parser, Debug)]
#[command(name = "stowage", version, about)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
    /// Colours in the output: `auto` uses them on a terminal unless `NO_COLOR` is set, and
    /// off a terminal when `FORCE_COLOR` or `CLICOLOR_FORCE` is.
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColorChoice {
    Auto,
    Always,
    Never,
}

/// How `stowage rules` lists the rules.
#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RulesFormat {
    /// A table by category.
    Text,
    /// One object per rule: id, category, severity, whether it is on by default, fix, summary.
    Json,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Lint: report every service that will lose data, and compose mistakes (the default command).
    Check(Deferred<CheckArgs>),
    /// Every mount of every service, classified, with what survives restart, recreate, down and down -v.
    Volumes(Deferred<VolumesArgs>),
    /// Rewrite anonymous volumes, image volumes and (on request) bind mounts into named volumes,
    /// with a plan that carries the data across (a dry run unless `--write`).
    Migrate(Deferred<MigrateArgs>),
    /// Run the Language Server Protocol server over standard input and output (for editors:
    /// diagnostics of the whole project, fixes as code actions, what a mount survives on hover).
    Server,
    /// List the rules.
    Rules {
        /// Output format.
        #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
        format: RulesFormat,
    },
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
    /// Print the manual page (roff), e.g. `stowage man | man -l -`, or a command's page
    /// (`stowage man check`: stowage-check(1)).
    Man {
        /// A command: check, volumes, migrate, rules, explain, completions.
        command: Option<String>,
    },
}

/// A command's options, added to clap's command only when that command is the one run (or when
/// the whole command is built, for help, completions and manual pages): building and dropping
/// the options of the commands not run was 6% of the instructions of checking one file.
#[derive(Debug)]
pub(crate) struct Deferred<T>(pub(crate) T);

impl<T: FromArgMatches> FromArgMatches for Deferred<T> {
    fn from_arg_matches(matches: &ArgMatches) -> Result<Self, clap::Error> {
        T::from_arg_matches(matches).map(Deferred)
    }

    fn update_from_arg_matches(&mut self, matches: &ArgMatches) -> Result<(), clap::Error> {
        self.0.update_from_arg_matches(matches)
    }
}

impl<T: Args> Args for Deferred<T> {
    fn group_id() -> Option<clap::Id> {
        T::group_id()
    }

    fn augment_args(cmd: clap::Command) -> clap::Command {
        cmd.defer(|cmd| keeping_about(cmd, T::augment_args))
    }

    fn augment_args_for_update(cmd: clap::Command) -> clap::Command {
        cmd.defer(|cmd| keeping_about(cmd, T::augment_args_for_update))
    }
}

/// `augment` with the command's own description kept: the options' struct flattens `LoadArgs`,
/// whose doc comment clap's derive applies as a description too, which the variant's doc
/// comment overrides only when it comes after.
fn keeping_about(cmd: clap::Command, augment: fn(clap::Command) -> clap::Command) -> clap::Command {
    let about = cmd.get_about().cloned();
    let long_about = cmd.get_long_about().cloned();
    let cmd = augment(cmd);
    let cmd = match about {
        Some(about) => cmd.about(about),
        None => cmd.about(None::<&str>),
    };
    match long_about {
        Some(long_about) => cmd.long_about(long_about),
        None => cmd.long_about(None::<&str>),
    }
}

#[derive(Args, Debug)]
pub(crate) struct CheckArgs {
    #[command(flatten)]
    pub(crate) load: LoadArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = findings::Format::Human)]
    pub(crate) format: findings::Format,
    /// Only these rules (comma-separated ids); rules that are off by default can be selected.
    #[arg(long, value_delimiter = ',')]
    pub(crate) select: Vec<String>,
    /// Never these rules (comma-separated ids).
    #[arg(long, value_delimiter = ',')]
    pub(crate) ignore: Vec<String>,
    /// Exit 1 when a finding is at least this severe (default: warning, or the configuration's `fail-on`).
    #[arg(long, value_enum)]
    pub(crate) fail_on: Option<SeverityArg>,
    /// Configuration file (default: `.stowage.yaml` found upward from each project).
    #[arg(long, conflicts_with = "no_config")]
    pub(crate) config: Option<PathBuf>,
    /// Ignore configuration files.
    #[arg(long)]
    pub(crate) no_config: bool,
    /// Exit 0 even when there are findings (2 still means stowage could not do its job).
    #[arg(long)]
    pub(crate) exit_zero: bool,
    /// Print how many findings each rule produced.
    #[arg(long)]
    pub(crate) statistics: bool,
    /// Print findings only, no summary.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Apply safe fixes (verified before anything is written).
    #[arg(long)]
    pub(crate) fix: bool,
    /// Also apply unsafe fixes (they change where data lives: see `stowage migrate` for the data plan).
    #[arg(long)]
    pub(crate) unsafe_fixes: bool,
    /// Print the fixes as a unified diff instead of writing them (exit 1 when there are changes).
    #[arg(long)]
    pub(crate) diff: bool,
    /// Write the report to FILE (created or emptied) instead of standard output.
    #[arg(short = 'o', long, value_name = "FILE")]
    pub(crate) output_file: Option<std::path::PathBuf>,
    /// Report only the findings FILE does not record (see `--write-baseline`); the summary says
    /// how many it matched and how many of its entries are gone.
    #[arg(long, value_name = "FILE", conflicts_with = "write_baseline")]
    pub(crate) baseline: Option<PathBuf>,
    /// Record every finding in FILE (created or replaced) instead of reporting them, for
    /// `--baseline`: CI then fails only on new findings.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["fix", "diff", "unsafe_fixes", "format", "output_file", "statistics"])]
    pub(crate) write_baseline: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct MigrateArgs {
    #[command(flatten)]
    pub(crate) load: LoadArgs,
    /// Apply the changes (verified, atomic) instead of printing them.
    #[arg(long)]
    pub(crate) write: bool,
    /// Read-write directory bind mounts: leave them (`skip`), move their data into named volumes
    /// (`volume`), or turn them into named volumes bound to the same directory (`keep-path`).
    #[arg(long, value_parser = ["skip", "volume", "keep-path"])]
    pub(crate) binds: Option<String>,
    /// Name of new volumes: `{service}`, `{basename}` (last part of the container path), `{project}`.
    #[arg(long)]
    pub(crate) name_template: Option<String>,
    /// Write the data plan as a POSIX sh script to FILE.
    #[arg(long, value_name = "FILE")]
    pub(crate) script: Option<PathBuf>,
    /// Convert only the mounts of this service (repeatable; default: every service).
    #[arg(long = "service", value_name = "NAME")]
    pub(crate) services: Vec<String>,
    /// Convert only the mounts at this container path (repeatable; default: every path).
    #[arg(long = "target", value_name = "PATH")]
    pub(crate) targets: Vec<String>,
    /// Also rewrite files outside the project's directory (included from a sibling directory),
    /// which other projects may use too; without it, mounts written there are left as they are.
    #[arg(long)]
    pub(crate) allow_outside: bool,
    /// Configuration file (default: `.stowage.yaml` found upward from each project).
    #[arg(long, conflicts_with = "no_config")]
    pub(crate) config: Option<PathBuf>,
    /// Ignore configuration files.
    #[arg(long)]
    pub(crate) no_config: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeverityArg {
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
pub(crate) struct LoadArgs {
    /// Files or directories (directories are searched recursively; `-` reads standard input); default: compose's discovery from here.
    pub(crate) paths: Vec<PathBuf>,
    /// Compose file, merged in the order given (`-` reads standard input); like `docker compose -f`.
    #[arg(short = 'f', long = "file")]
    pub(crate) files: Vec<PathBuf>,
    /// Name standard input is known by (relative paths and `.env` resolve from it).
    #[arg(long)]
    pub(crate) stdin_filename: Option<PathBuf>,
    /// Directory relative paths and `.env` resolve against (default: the first file's directory).
    #[arg(long)]
    pub(crate) project_directory: Option<PathBuf>,
    /// Project name (decides engine volume names).
    #[arg(short = 'p', long)]
    pub(crate) project_name: Option<String>,
    /// Environment file(s) for interpolation instead of the project's `.env`.
    #[arg(long)]
    pub(crate) env_file: Vec<PathBuf>,
    /// Only services compose would run with these profiles (`*` = all); default: every service.
    #[arg(long)]
    pub(crate) profile: Vec<String>,
}

#[derive(Args, Debug)]
pub(crate) struct VolumesArgs {
    #[command(flatten)]
    pub(crate) load: LoadArgs,
    /// Output format.
    #[arg(long, value_enum, default_value_t = volumes::Format::Table)]
    pub(crate) format: volumes::Format,
}
