//! The command line: arguments, dispatch and exit codes.

use std::io::{IsTerminal, Read, Write};
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::images::KnowledgeBase;
use crate::inventory::{self, Request};
use crate::output;
use crate::project::LoadOptions;

/// Will this compose stack keep its data? Lints and migrates Docker Compose files.
#[derive(Parser, Debug)]
#[command(name = "stowage", version, about)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Every mount of every service, classified, with what survives restart, recreate, down and down -v.
    Volumes(VolumesArgs),
}

/// How projects are found and loaded (as in docker compose).
#[derive(Args, Debug, Clone, Default)]
pub struct LoadArgs {
    /// Files or directories (directories are searched recursively); default: compose's discovery from here.
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
}

/// Exit codes (design §1): 0 fine, 1 problems found, 2 the tool could not do its job.
pub const EXIT_OK: i32 = 0;
pub const EXIT_FINDINGS: i32 = 1;
pub const EXIT_FAILURE: i32 = 2;

pub fn main() -> i32 {
    let cli = match Cli::try_parse() {
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
        Command::Volumes(args) => volumes(args),
    }
}

fn request(load: LoadArgs) -> Result<Request, String> {
    let cwd =
        std::env::current_dir().map_err(|e| format!("cannot read the working directory: {e}"))?;
    let mut stdin = None;
    if load.files.iter().any(|f| f.as_os_str() == "-") {
        let mut text = String::new();
        std::io::stdin()
            .read_to_string(&mut text)
            .map_err(|e| format!("cannot read standard input: {e}"))?;
        stdin = Some(text);
    }
    let process_env = std::env::vars().collect();
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
        },
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
    let inventory = inventory::collect(&request, KnowledgeBase::builtin());
    let text = match args.format {
        VolumesFormat::Table => output::volumes_table::render(&inventory),
        VolumesFormat::Json => output::volumes_json::render(&inventory),
    };
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
