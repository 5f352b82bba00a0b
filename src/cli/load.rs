//! What every command does before its work: the request made of the arguments (standard input
//! read), each project's configuration, and progress on standard error while projects load.

use std::io::{IsTerminal, Read};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use foldhash::HashMap;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::args::LoadArgs;
use crate::compose::loader::LoadOptions;
use crate::lint::config::{self, Config, ConfigError};
use crate::workspace::inventory::Request;

/// Progress on stderr for long runs, only when stderr is a terminal (CI logs, pipes and quick
/// pre-commit runs stay clean): a spinner while projects load, shown once loading takes longer
/// than a moment, then a bar while more than [`PROGRESS_MIN_PROJECTS`] projects are checked.
pub(super) struct Progress {
    /// The spinner, and whether it is finished (the delayed reveal must not draw it after that).
    spinner: Option<(ProgressBar, Arc<Mutex<bool>>)>,
    bar: Option<ProgressBar>,
}

const PROGRESS_MIN_PROJECTS: usize = 20;
const PROGRESS_DELAY: std::time::Duration = std::time::Duration::from_millis(300);

impl Progress {
    pub(super) fn loading() -> Progress {
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
    pub(super) fn checking(&mut self, projects: usize) {
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

    pub(super) fn inc(&self) {
        if let Some(bar) = &self.bar {
            bar.inc(1);
        }
    }

    pub(super) fn finish(&mut self) {
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

/// Configuration per project directory: `--config`, none, or the nearest `.stowage.yaml`.
/// Projects checked side by side share it: each configuration file is loaded once.
pub(super) struct Configs {
    explicit: Option<Arc<Config>>,
    disabled: bool,
    /// Each configuration file loaded, by path (the empty path: no file, the defaults).
    found: Mutex<HashMap<PathBuf, Arc<Config>>>,
    /// The nearest configuration file of each directory looked at (`config::find`).
    nearest: Mutex<HashMap<PathBuf, Option<PathBuf>>>,
}

impl Configs {
    /// `--config PATH` (loaded now: an error is the command's), or `--no-config`.
    pub(super) fn new(explicit: Option<&Path>, disabled: bool) -> Result<Configs, ConfigError> {
        Ok(Configs {
            explicit: explicit.map(config::load).transpose()?.map(Arc::new),
            disabled,
            found: Mutex::default(),
            nearest: Mutex::default(),
        })
    }

    pub(super) fn for_dir(&self, dir: &Path) -> Result<Arc<Config>, ConfigError> {
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

/// The projects the arguments name, and how to load them.
pub(super) fn request(mut load: LoadArgs) -> Result<Request, String> {
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
    let path = crate::compose::loader::stdin_path(&LoadOptions {
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
