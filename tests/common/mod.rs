//! Helpers shared by the integration tests (`mod common;`): running the `stowage` binary
//! ([`binary`]), the reference Docker Compose CLI with its scrubbed environment ([`oracle`]), the
//! generator of compose projects ([`generate`]) and the settings of the property tests ([`props`]).
//!
//! Every test binary that declares `mod common;` compiles all of it but uses only a part, hence
//! `allow(dead_code)` on the groups (and nowhere else).

/// The `stowage` binary, run with an empty environment, and the files its tests set up
/// (tests/cli.rs, tests/formats.rs, tests/fix_cli.rs).
#[allow(dead_code)]
pub mod binary {
    use std::path::{Path, PathBuf};

    use assert_cmd::Command;
    use serde_json::Value as Json;

    pub fn manifest_dir() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    /// The binary, run in `cwd` with an empty environment, as a `std` command (for what
    /// `assert_cmd` cannot set, such as the user to run as).
    pub fn command(cwd: &Path) -> std::process::Command {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_stowage"));
        cmd.env_clear().current_dir(cwd);
        cmd
    }

    /// The binary, run in `cwd` with an empty environment.
    pub fn stowage(cwd: &Path) -> Command {
        Command::from_std(command(cwd))
    }

    /// What a run printed, and its exit code.
    pub struct Run {
        pub code: i32,
        pub stdout: String,
        pub stderr: String,
    }

    impl Run {
        pub fn json(&self) -> Json {
            serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
                panic!(
                    "stdout is not JSON ({e}):\n{}\nstderr:\n{}",
                    self.stdout, self.stderr
                )
            })
        }

        pub fn expect_code(&self, code: i32) -> &Self {
            assert_eq!(
                self.code, code,
                "unexpected exit code\nstdout:\n{}\nstderr:\n{}",
                self.stdout, self.stderr
            );
            self
        }
    }

    impl From<std::process::Output> for Run {
        fn from(out: std::process::Output) -> Run {
            Run {
                code: out.status.code().expect("exited normally, not by a signal"),
                stdout: String::from_utf8(out.stdout).expect("stdout is UTF-8"),
                stderr: String::from_utf8(out.stderr).expect("stderr is UTF-8"),
            }
        }
    }

    pub fn run(cmd: &mut Command) -> Run {
        Run::from(cmd.output().expect("the binary runs"))
    }

    /// `stowage <args>` in `cwd` (empty environment).
    pub fn stowage_run(cwd: &Path, args: &[&str]) -> Run {
        run(stowage(cwd).args(args))
    }

    /// A temporary directory; its canonical path is what the binary sees as its working directory.
    pub fn tempdir() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().expect("temp dir");
        let canonical = dir.path().canonicalize().expect("canonical temp dir");
        (dir, canonical)
    }

    /// Writes `root/rel`, creating its directory.
    pub fn write(root: &Path, rel: &str, text: &str) {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().expect("has a parent")).expect("mkdir");
        std::fs::write(path, text).expect("write");
    }

    /// Copies the directory `from` to `to`, recursively.
    pub fn copy_dir(from: &Path, to: &Path) {
        std::fs::create_dir_all(to).expect("create the copy's directory");
        for entry in std::fs::read_dir(from).expect("read the directory") {
            let entry = entry.expect("directory entry");
            let target = to.join(entry.file_name());
            if entry.file_type().expect("file type").is_dir() {
                copy_dir(&entry.path(), &target);
            } else {
                std::fs::copy(entry.path(), &target).expect("copy a file");
            }
        }
    }

    pub fn str_of(v: &Json) -> &str {
        v.as_str()
            .unwrap_or_else(|| panic!("expected a string, got {v}"))
    }
}

/// The reference loader: Docker Compose's own CLI (`STOWAGE_ORACLE`, compose v2.40.3), run as
/// `config --format json` in a scrubbed environment, and stowage's loader given that same
/// environment (tests/corpus.rs, tests/oracle.rs, tests/migrate_corpus.rs; tests/fix_cli.rs and
/// tests/fix_props.rs look the CLI up).
#[allow(dead_code)]
pub mod oracle {
    use std::path::{Path, PathBuf};
    use std::process::Command;

    use std::collections::BTreeSet;

    use indexmap::IndexMap;
    use serde_json::Value as Json;
    use stowage::compose::loader::{self, LoadOptions};
    use stowage::compose::model::{Mount, MountSyntax, Project};
    use stowage::compose::mounts::MountKind;

    /// The scrubbed environment (with `PWD`, the project directory).
    pub const PATH: &str = "/usr/bin:/bin";
    pub const HOME: &str = "/home/oracle";
    pub const USER: &str = "oracle";

    /// The reference CLI (`STOWAGE_ORACLE`, installed by `.ci/run`). CI must have it; a local run
    /// without it skips, or narrows, the checks that need it.
    pub fn installed() -> Option<PathBuf> {
        let oracle = std::env::var_os("STOWAGE_ORACLE")
            .filter(|v| !v.is_empty())
            .map(PathBuf::from);
        assert!(
            oracle.is_some() || std::env::var_os("CI").is_none(),
            "CI must set STOWAGE_ORACLE (.ci/run installs it)"
        );
        oracle
    }

    /// Loading `files` as the reference CLI does: the scrubbed environment is the process
    /// environment stowage sees, so only `dir/.env` (and included projects' own `.env`) feed
    /// interpolation; `dir` is the project and working directory; every profile is active.
    pub fn load_options(dir: &Path, files: Vec<PathBuf>) -> LoadOptions {
        let mut env = IndexMap::new();
        env.insert("PATH".to_owned(), PATH.to_owned());
        env.insert("HOME".to_owned(), HOME.to_owned());
        env.insert("USER".to_owned(), USER.to_owned());
        env.insert("PWD".to_owned(), dir.display().to_string());
        LoadOptions {
            files,
            project_directory: Some(dir.to_path_buf()),
            profiles: vec!["*".into()],
            process_env: env.into(),
            cwd: dir.to_path_buf(),
            ..LoadOptions::default()
        }
    }

    /// `oracle -f <files>… --project-directory <dir> --profile '*' config --format json`, run in
    /// `dir` with the scrubbed environment.
    pub fn config_command(oracle: &Path, dir: &Path, files: &[PathBuf]) -> Command {
        config_with_flags(oracle, dir, files, &["--profile", "*"])
    }

    /// [`config_command`] with these global flags instead of `--profile '*'` (`--profile x`,
    /// `-p ''`; without `--profile`, only the services without profiles are enabled).
    pub fn config_with_flags(
        oracle: &Path,
        dir: &Path,
        files: &[PathBuf],
        flags: &[&str],
    ) -> Command {
        let mut cmd = Command::new(oracle);
        for f in files {
            cmd.arg("-f").arg(f);
        }
        cmd.arg("--project-directory").arg(dir).args(flags);
        cmd.args(["config", "--format", "json"])
            .env_clear()
            .env("PATH", PATH)
            .env("HOME", HOME)
            .env("USER", USER)
            .env("PWD", dir)
            .current_dir(dir);
        cmd
    }

    /// A mount as compared with compose's: (kind, source, target, read_only).
    pub type Row = (String, Option<String>, String, bool);

    /// Stowage's mounts of `service` as rows (None without such a service): those of its
    /// `volumes:`, in order, then the `tmpfs:` key's as `tmpfs-key` rows; image `VOLUME`s with
    /// nothing mounted there are left out, as compose's `config` leaves them out. `source` gives
    /// the source column of a `volumes:` entry.
    pub fn mount_rows(
        project: &Project,
        service: &str,
        source: impl Fn(&Mount) -> Option<String>,
    ) -> Option<Vec<Row>> {
        let s = project.services.iter().find(|s| s.name == service)?;
        let mut rows: Vec<Row> = Vec::new();
        let mut tmpfs = Vec::new();
        for m in &s.mounts {
            match m.syntax {
                MountSyntax::Implicit => {}
                MountSyntax::TmpfsKey => {
                    tmpfs.push(("tmpfs-key".to_owned(), None, m.target.clone(), false))
                }
                MountSyntax::Short | MountSyntax::Long => rows.push((
                    m.kind.as_str().to_owned(),
                    source(m),
                    m.target.clone(),
                    m.read_only,
                )),
            }
        }
        rows.extend(tmpfs);
        Some(rows)
    }

    /// What compose said about one project.
    enum Verdict {
        Accepted(Json),
        Rejected(String),
    }

    fn run_oracle(oracle: &Path, dir: &Path, files: &[PathBuf]) -> Verdict {
        let out = config_command(oracle, dir, files)
            .output()
            .unwrap_or_else(|e| panic!("cannot run the oracle {}: {e}", oracle.display()));
        let stderr = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            return Verdict::Rejected(stderr.trim().to_owned());
        }
        match serde_json::from_slice(&out.stdout) {
            Ok(json) => Verdict::Accepted(json),
            Err(e) => panic!(
                "the oracle accepted {} but printed no JSON ({e}); stderr: {stderr}",
                dir.display()
            ),
        }
    }

    /// `config` re-escapes a literal `$` as `$$` in its output; stowage keeps the value itself.
    fn unescape(s: &str) -> String {
        s.replace("$$", "$")
    }

    fn expected_rows(service: &Json) -> Vec<Row> {
        let mut rows = Vec::new();
        for v in service["volumes"].as_array().into_iter().flatten() {
            let ty = v["type"].as_str().unwrap_or("");
            let source = v["source"].as_str().map(unescape);
            let (kind, source) = match ty {
                "volume" if source.is_none() => ("anonymous".to_owned(), None),
                "volume" => ("named".to_owned(), source),
                "bind" => ("bind".to_owned(), source),
                other => (other.to_owned(), None),
            };
            rows.push((
                kind,
                source,
                unescape(v["target"].as_str().unwrap_or("")),
                v["read_only"].as_bool().unwrap_or(false),
            ));
        }
        for t in service["tmpfs"].as_array().into_iter().flatten() {
            let text = unescape(t.as_str().unwrap_or(""));
            let target = text.split(':').next().unwrap_or(&text).to_owned();
            rows.push(("tmpfs-key".to_owned(), None, target, false));
        }
        rows
    }

    /// Stowage's rows of `service`. Source: the volume key for named volumes, the resolved absolute
    /// host path for binds, nothing for the other kinds.
    fn actual_rows(project: &Project, service: &str) -> Option<Vec<Row>> {
        mount_rows(project, service, |m| match m.kind {
            MountKind::Bind => m.resolved_source.clone(),
            MountKind::Named => m.volume_key.clone().or_else(|| m.source.clone()),
            _ => None,
        })
    }

    /// Every difference between compose's view of an accepted project and stowage's.
    fn compare(compose: &Json, project: &Project) -> Vec<String> {
        let mut problems = Vec::new();
        let name = unescape(compose["name"].as_str().unwrap_or(""));
        if name != project.name {
            problems.push(format!(
                "project name: compose {name:?}, stowage {:?}",
                project.name
            ));
        }

        let services = compose["services"].as_object().cloned().unwrap_or_default();
        for (name, service) in &services {
            let expected = expected_rows(service);
            match actual_rows(project, name) {
                None => problems.push(format!("service {name}: missing in stowage")),
                Some(actual) if actual != expected => problems.push(format!(
                    "service {name}: compose {expected:?}, stowage {actual:?}"
                )),
                Some(_) => {}
            }
        }
        for s in &project.services {
            if !services.contains_key(&s.name) {
                problems.push(format!("service {}: not in compose's output", s.name));
            }
        }

        // compose lists only the top-level volumes some service uses.
        let volumes = compose["volumes"].as_object().cloned().unwrap_or_default();
        for (key, v) in &volumes {
            let expected = (
                unescape(v["name"].as_str().unwrap_or("")),
                v["external"].as_bool().unwrap_or(false),
            );
            match project.volume(key) {
                None => problems.push(format!("volume {key}: missing in stowage")),
                Some(tv) if (tv.name.clone(), tv.external) != expected => problems.push(format!(
                    "volume {key}: compose (name, external) = {expected:?}, stowage {:?}",
                    (&tv.name, tv.external)
                )),
                Some(_) => {}
            }
        }
        let used: BTreeSet<String> = project
            .services
            .iter()
            .flat_map(|s| &s.mounts)
            .filter(|m| m.kind == MountKind::Named)
            .filter_map(|m| m.volume_key.clone().or_else(|| m.source.clone()))
            .collect();
        for key in used {
            if !volumes.contains_key(&key) {
                problems.push(format!(
                    "volume {key}: used in stowage, not listed by compose"
                ));
            }
        }
        problems
    }

    /// Loads `files` with stowage and with the reference CLI: None when they agree on the
    /// verdict, the project name, the mount tables and the used volumes; the differences otherwise.
    pub fn check_project(oracle: &Path, dir: &Path, files: &[PathBuf]) -> Option<String> {
        let project = loader::load(&load_options(dir, files.to_vec()));
        let stowage_errors: Vec<&str> = project.errors.iter().map(|e| e.message.as_str()).collect();
        match run_oracle(oracle, dir, files) {
            Verdict::Rejected(why) if stowage_errors.is_empty() => {
                // compose's reason is its last line, unless it crashed: then the panic's.
                let reason = why
                    .lines()
                    .find(|l| l.starts_with("panic: "))
                    .or_else(|| why.lines().last())
                    .unwrap_or("");
                Some(format!("compose rejects it ({reason}), stowage accepts it"))
            }
            Verdict::Rejected(_) => None,
            Verdict::Accepted(_) if !stowage_errors.is_empty() => Some(format!(
                "compose accepts it, stowage rejects it: {}",
                stowage_errors.join(" | ")
            )),
            Verdict::Accepted(json) => {
                let problems = compare(&json, &project);
                (!problems.is_empty()).then(|| problems.join("\n    "))
            }
        }
    }
}

/// The shared corpus of real compose files and what docker compose made of them
/// (`expected.jsonl`): 1,594 files kept outside the repository, in `STOWAGE_CORPUS` or
/// `../shared/corpus` beside the checkout (tests/corpus.rs, tests/migrate_corpus.rs,
/// tests/human_render.rs). A clone without it runs those tests as ignored, with the reason.
#[allow(dead_code)]
pub mod corpus {
    use std::path::{Path, PathBuf};

    use libtest_mimic::{Arguments, Completion, Trial};

    /// The corpus directory, or why there is none. `STOWAGE_CORPUS` set to a directory without
    /// the corpus is a mistake (CI sets it to run these tests) and panics.
    pub fn dir() -> Result<PathBuf, String> {
        if let Some(dir) = std::env::var_os("STOWAGE_CORPUS").filter(|v| !v.is_empty()) {
            let dir = PathBuf::from(dir);
            assert!(
                dir.join("expected.jsonl").is_file(),
                "STOWAGE_CORPUS={} holds no expected.jsonl",
                dir.display()
            );
            return Ok(dir);
        }
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        if dir.join("expected.jsonl").is_file() {
            Ok(dir)
        } else {
            Err(format!(
                "the shared corpus is not beside the checkout ({}) and STOWAGE_CORPUS is not set",
                dir.display()
            ))
        }
    }

    /// The `main` of a test binary without libtest's harness whose one test, `name`, runs over
    /// the corpus: reported as ignored with the reason when there is none, failed when `test`
    /// panics.
    pub fn main(name: &str, test: fn(&Path)) -> ! {
        let trial = Trial::ignorable_test(name, move || {
            Ok(match dir() {
                Ok(dir) => {
                    test(&dir);
                    Completion::Completed
                }
                Err(reason) => Completion::ignored_with(reason),
            })
        });
        libtest_mimic::run(&Arguments::from_args(), vec![trial]).exit()
    }
}

/// The generator of compose projects (tests/differential.rs, tests/schema_differential.rs).
#[allow(dead_code)]
pub mod generate;

/// Settings of the property tests (tests/fix_props.rs, tests/human_render.rs).
#[allow(dead_code)]
pub mod props {
    use proptest::prelude::ProptestConfig;

    /// `cases` per property unless `PROPTEST_CASES` asks for more (a longer local run); failing
    /// inputs are printed, not saved next to the tests.
    pub fn config(cases: u32) -> ProptestConfig {
        let cases = std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(cases);
        ProptestConfig {
            cases,
            failure_persistence: None,
            ..ProptestConfig::default()
        }
    }
}
