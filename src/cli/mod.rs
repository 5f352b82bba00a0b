//! The command line: parsing (with `check` as the default command), dispatch to each command's
//! driver (`check`, `volumes`, `migrate`; the small ones are here), exit codes, and what the
//! drivers share.

mod args;
mod check;
mod load;
mod migrate;
mod plans;
mod volumes;

use std::ffi::OsString;
use std::io::{IsTerminal, Write};

use clap::{CommandFactory, Parser, Subcommand};

use args::{Cli, ColorChoice, Command, Deferred, RulesFormat};

use crate::compose::model::Project;
use crate::fix;
use crate::lsp::Ended;
use crate::output;
use crate::rules;

/// Exit codes (design §1): 0 fine, 1 problems found, 2 the tool could not do its job.
pub(crate) const EXIT_OK: i32 = 0;
pub(crate) const EXIT_FINDINGS: i32 = 1;
pub(crate) const EXIT_FAILURE: i32 = 2;

/// `check` is the default command: `stowage compose.yaml` = `stowage check compose.yaml`.
/// Subcommands are told by name without building the command (that doubled clap's share of a
/// one-file run); `default_command_knows_every_subcommand` keeps the two in step.
/// `--color` may come first (`stowage --color never compose.yaml`): the command is told after it.
/// Arguments are taken as the system gives them: one that is not UTF-8 is a path clap keeps as is,
/// or an error clap reports, never a panic.
fn with_default_command(mut args: Vec<OsString>) -> Vec<OsString> {
    let first = command_index(&args);
    let explicit = args.get(first).and_then(|a| a.to_str()).is_some_and(|a| {
        matches!(a, "help" | "-h" | "--help" | "-V" | "--version")
            || <Command as Subcommand>::has_subcommand(a)
    });
    if !explicit {
        args.insert(first, "check".into());
    }
    args
}

/// Where the command (or the first path) is in `args`: after the program and a leading `--color`.
fn command_index(args: &[OsString]) -> usize {
    match args.get(1).and_then(|a| a.to_str()) {
        Some("--color") => 3,
        Some(a) if a.starts_with("--color=") => 2,
        _ => 1,
    }
}

/// A first argument that is neither a command nor a path that exists but is one or two letters
/// away from a command's name (`stowage chek`): the command it probably meant.
fn mistyped_command(args: &[OsString]) -> Option<String> {
    let first = args.get(command_index(args))?.to_str()?;
    if first.len() < 3
        || first.starts_with('-')
        || first.contains(['.', '/', '\\'])
        || <Command as Subcommand>::has_subcommand(first)
        || std::path::Path::new(first).exists()
    {
        return None;
    }
    // Only on this error path is clap's whole command built.
    let command = Cli::command();
    let names: Vec<String> = command
        .get_subcommands()
        .map(|c| c.get_name().to_owned())
        .chain(["help".to_owned()])
        .collect();
    names
        .into_iter()
        .find(|name| (1..=2).contains(&strsim::levenshtein(first, name)))
}

/// Whether the findings are coloured: `--color`, else `FORCE_COLOR` / `CLICOLOR_FORCE` (set and
/// not `0`), else `NO_COLOR` (set and not empty), else whether they go to standard output
/// (`to_stdout`) and it is a terminal.
fn use_colour(choice: ColorChoice, to_stdout: bool) -> bool {
    let set = |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto if set("FORCE_COLOR") || set("CLICOLOR_FORCE") => true,
        ColorChoice::Auto if std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty()) => false,
        ColorChoice::Auto => to_stdout && std::io::stdout().is_terminal(),
    }
}

/// `stowage rules --format json`: the registry as data (for editors and for tools that wrap
/// stowage).
fn rules_json() -> String {
    let rules: Vec<serde_json::Value> = rules::RULES
        .iter()
        .map(|r| {
            let m = r.meta();
            serde_json::json!({
                "id": m.id,
                "category": m.category,
                "severity": m.severity,
                "enabled_by_default": !m.off_by_default,
                "kind": m.kind().as_str(),
                "fix": m.fix,
                "summary": m.summary,
            })
        })
        .collect();
    serde_json::to_string_pretty(&rules).expect("JSON values serialise") + "\n"
}

/// The manual page of stowage, or of one of its commands as `stowage-COMMAND(1)`.
fn man_page(command: Option<&str>) -> Result<String, String> {
    let cli = Cli::command();
    let page = match command {
        None => cli,
        Some(name) => {
            let sub = cli
                .find_subcommand(name)
                .ok_or_else(|| format!("unknown command `{name}` (see `stowage --help`)"))?;
            let full = format!("stowage-{}", sub.get_name());
            sub.clone()
                .name(full.clone())
                .bin_name(full)
                .version(env!("CARGO_PKG_VERSION"))
        }
    };
    let mut roff = Vec::new();
    clap_mangen::Man::new(page)
        .render(&mut roff)
        .map_err(|e| format!("cannot render the manual page: {e}"))?;
    Ok(String::from_utf8_lossy(&roff).into_owned())
}

pub fn main() -> i32 {
    let args: Vec<OsString> = std::env::args_os().collect();
    if let Some(meant) = mistyped_command(&args) {
        eprintln!(
            "error: no such command or file: `{}`\n\n  tip: did you mean `{meant}`?",
            args[command_index(&args)].to_string_lossy()
        );
        return EXIT_FAILURE;
    }
    let cli = match Cli::try_parse_from(with_default_command(args)) {
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
        Command::Check(Deferred(args)) => {
            let colour = use_colour(cli.color, args.output_file.is_none());
            check::run(args, colour)
        }
        Command::Volumes(Deferred(args)) => volumes::run(args),
        Command::Migrate(Deferred(args)) => migrate::run(args),
        Command::Server => match crate::lsp::run() {
            Ended::Exit {
                after_shutdown: true,
            } => EXIT_OK,
            // LSP's code for an `exit` without `shutdown`.
            Ended::Exit {
                after_shutdown: false,
            } => 1,
            Ended::InputLost => EXIT_FAILURE,
        },
        Command::Rules { format } => printed(&match format {
            RulesFormat::Text => output::rules_doc::list(),
            RulesFormat::Json => rules_json(),
        }),
        Command::Explain { rule } => match rules::find(&rule) {
            Some(r) => printed(&output::rules_doc::explain(r.meta())),
            None => {
                eprintln!("error: unknown rule `{rule}` (see `stowage rules`)");
                EXIT_FAILURE
            }
        },
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "stowage", &mut script);
            printed(&String::from_utf8_lossy(&script))
        }
        Command::Man { command } => match man_page(command.as_deref()) {
            Ok(page) => printed(&page),
            Err(e) => {
                eprintln!("error: {e}");
                EXIT_FAILURE
            }
        },
    }
}

/// Writes `text` to standard output, flushed: an error is one the system gave (a full disk,
/// `/dev/full`, a closed pipe).
fn write_stdout(text: &str) -> std::io::Result<()> {
    let mut out = std::io::stdout().lock();
    out.write_all(text.as_bytes()).and_then(|()| out.flush())
}

/// A report on standard output; false (said on standard error) when it could not be written. A
/// closed pipe (`stowage rules | head`) is not such a failure: the reader wanted no more.
fn print(text: &str) -> bool {
    match write_stdout(text) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            eprintln!("error: cannot write to standard output: {e}");
            false
        }
        _ => true,
    }
}

/// Exit 0 once `text` is on standard output, 2 when it could not be written.
fn printed(text: &str) -> i32 {
    if print(text) { EXIT_OK } else { EXIT_FAILURE }
}

/// A file's new text on standard output in place of the file (`check --fix -`, `migrate
/// --write -`): every error is a failure, a closed pipe too (the text was lost).
fn print_text(text: &str, display: &str) -> Result<(), String> {
    write_stdout(text)
        .map_err(|e| format!("{display}: cannot write the new text to standard output: {e}"))
}

/// Exit 2 when stowage could not do its job (`failed`), else 1 when it found something, else 0.
fn exit_code(failed: bool, found: bool) -> i32 {
    if failed {
        EXIT_FAILURE
    } else if found {
        EXIT_FINDINGS
    } else {
        EXIT_OK
    }
}

/// `result`'s value, or its error on standard error (the command then exits 2).
fn or_report<T>(result: Result<T, impl std::fmt::Display>) -> Option<T> {
    result.map_err(|e| eprintln!("error: {e}")).ok()
}

/// The paths of the projects read from standard input (what `--fix` and `--write` print instead
/// of writing).
fn stdin_paths(inventory: &crate::workspace::inventory::Inventory) -> Vec<std::path::PathBuf> {
    inventory
        .options
        .iter()
        .filter(|o| o.stdin.is_some())
        .map(crate::compose::loader::stdin_path)
        .collect()
}

/// A panic caught while rendering.
type Panic = Box<dyn std::any::Any + Send>;

/// Once `attempt` (a rendering of `items`, its panics caught) failed on all of them together:
/// each item is tried alone, and those that fail alone leave `items`, returned with their
/// panic (they become failures naming their project; the caller tries the rest together again).
/// `attempt` gets the items to try and leaves them there.
fn isolate_panics<T>(
    items: &mut Vec<T>,
    mut attempt: impl FnMut(&mut Vec<T>) -> Result<(), Panic>,
) -> Vec<(T, Panic)> {
    let mut failed = Vec::new();
    let mut alone = Vec::with_capacity(1);
    for item in std::mem::take(items) {
        alone.push(item);
        let outcome = attempt(&mut alone);
        let Some(item) = alone.pop() else {
            continue;
        };
        match outcome {
            Ok(()) => items.push(item),
            Err(panic) => failed.push((item, panic)),
        }
    }
    failed
}

/// The first file of a project as the user sees it (how messages about a project name it).
fn main_file(project: &Project) -> String {
    project
        .main_files
        .first()
        .map(|&f| project.file(f).source.display.clone())
        .unwrap_or_default()
}

/// Writes wait on the disk (each file is synced before it replaces the old one), not on a core:
/// this many are under way at once.
const WRITERS: usize = 8;

/// Runs `work`, which writes `files` files side by side with rayon, on up to [`WRITERS`]
/// threads: none is started for one file (a pre-commit hook), and the current pool does the
/// work when no other can be made.
fn on_writers<T: Send>(files: usize, work: impl FnOnce() -> T + Send) -> T {
    if files <= 1 {
        return work();
    }
    match rayon::ThreadPoolBuilder::new()
        .num_threads(files.min(WRITERS))
        .build()
    {
        Ok(pool) => pool.install(work),
        Err(_) => work(),
    }
}

/// Applies every change, in order of `changes`: a file read from standard input (one of
/// `stdin_paths`) is printed, every other is written. The writes run side by side, except that
/// the changes of one file (by what it really is) are written one after the other, in order,
/// so the second of two different results for it is refused as changed on disk.
fn apply_changes(
    changes: &[fix::FixedFile],
    stdin_paths: &[std::path::PathBuf],
) -> Vec<Result<(), String>> {
    use rayon::prelude::*;
    let mut files: indexmap::IndexMap<std::path::PathBuf, Vec<usize>> = Default::default();
    for (i, change) in changes.iter().enumerate() {
        if !stdin_paths.contains(&change.path) {
            let real = fix::write::real_target(&change.path);
            files.entry(real).or_default().push(i);
        }
    }
    let files: Vec<Vec<usize>> = files.into_values().collect();
    let write_all = || -> Vec<Vec<(usize, Result<(), String>)>> {
        files
            .par_iter()
            .map(|indexes| {
                indexes
                    .iter()
                    .map(|&i| {
                        let c = &changes[i];
                        let written = fix::write::atomic_write(&c.path, &c.original, &c.fixed)
                            .map_err(|e| format!("{}: {}", c.display, e.reason()));
                        (i, written)
                    })
                    .collect()
            })
            .collect()
    };
    let written = on_writers(files.len(), write_all);
    let mut outcomes: Vec<Option<Result<(), String>>> = changes.iter().map(|_| None).collect();
    for (i, result) in written.into_iter().flatten() {
        outcomes[i] = Some(result);
    }
    changes
        .iter()
        .zip(outcomes)
        .map(|(change, outcome)| {
            outcome.unwrap_or_else(|| print_text(&change.fixed, &change.display))
        })
        .collect()
}

/// Drops a change that repeats an earlier one: a file two projects share (an `include`d file)
/// fixed alike by both is written once, not refused the second time as changed on disk. Two
/// different results for one file stay, and the second write is refused.
fn dedup_changes(changes: &mut Vec<fix::FixedFile>) {
    // Indexed, and borrowed: thousands of projects must not compare (or copy) every text with
    // every other.
    // A file is known by what it really is: a second name (a symlink) of a file fixed alike is
    // written once too.
    let real: Vec<std::path::PathBuf> = changes
        .iter()
        .map(|c| fix::write::real_target(&c.path))
        .collect();
    let mut seen = foldhash::HashSet::default();
    let fresh: Vec<bool> = changes
        .iter()
        .zip(&real)
        .map(|(c, real)| seen.insert((real.as_path(), c.fixed.as_str())))
        .collect();
    let mut fresh = fresh.into_iter();
    changes.retain(|_| fresh.next().unwrap_or(true));
}

#[cfg(test)]
mod tests {
    use super::*;

    /// clap's own consistency checks, over every command, with the deferred options built; and
    /// the deferred commands keep their own description, not `LoadArgs`'s.
    #[test]
    fn commands_build_with_their_descriptions() {
        let mut cli = Cli::command();
        cli.build();
        cli.clone().debug_assert();
        for (name, about) in [
            ("check", "Lint: report every service"),
            ("volumes", "Every mount of every service"),
            ("migrate", "Rewrite anonymous volumes"),
        ] {
            let sub = cli.find_subcommand(name).expect("a command");
            let text = sub.get_about().expect("a description").to_string();
            assert!(text.starts_with(about), "{name}: {text}");
            assert!(
                sub.get_arguments()
                    .any(|a| a.get_id() == "project_directory")
            );
        }
    }

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
        let args = with_default_command(
            ["stowage", "--color", "never", "compose.yaml"]
                .map(OsString::from)
                .to_vec(),
        );
        assert_eq!(args[1..], ["--color", "never", "check", "compose.yaml"]);
        let args = with_default_command(
            ["stowage", "--color=never", "rules"]
                .map(OsString::from)
                .to_vec(),
        );
        assert_eq!(args[1..], ["--color=never", "rules"]);
        #[cfg(unix)]
        {
            use std::os::unix::ffi::OsStringExt;
            let odd = OsString::from_vec(b"compose\xff.yaml".to_vec());
            let args = with_default_command(vec!["stowage".into(), odd.clone()]);
            assert_eq!(args[1..], [OsString::from("check"), odd]);
        }
    }
}
