//! Issue 16, "Never lose a write, never pass by mistake": what stowage writes (fixed files, the
//! migrated text, `--script`, every report on standard output) and what it reads before (the
//! walk, `--config`, special files), against a hostile or careless user. Each test runs the
//! binary with a wall-clock limit: a hang fails the test instead of blocking the suite.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WALL_CLOCK: Duration = Duration::from_secs(20);

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(
            self.code, code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout, self.stderr
        );
        self
    }

    /// `text` is in the output (errors of `check` are part of its report, on standard output).
    fn expect_stderr(&self, text: &str) -> &Self {
        assert!(
            self.stderr.contains(text) || self.stdout.contains(text),
            "`{text}` not in the output:\n{}\nstdout:\n{}",
            self.stderr,
            self.stdout
        );
        self
    }
}

/// `stowage args` in `dir` with `env`; standard output to `stdout` (a file such as `/dev/full`)
/// or captured.
fn run_with(dir: &Path, args: &[&str], env: &[(&str, &str)], stdout: Option<&Path>) -> Run {
    let out_dir = tempfile::tempdir().expect("temp dir");
    let out_path = out_dir.path().join("stdout");
    let err_path = out_dir.path().join("stderr");
    let stdout_file = match stdout {
        Some(p) => std::fs::OpenOptions::new()
            .write(true)
            .open(p)
            .expect("stdout"),
        None => std::fs::File::create(&out_path).expect("stdout file"),
    };
    let mut child = Command::new(env!("CARGO_BIN_EXE_stowage"))
        .args(args)
        .env_remove("STOWAGE_WRITE_FAULT")
        .env("NO_COLOR", "1")
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(stdout_file)
        .stderr(std::fs::File::create(&err_path).expect("stderr file"))
        .spawn()
        .expect("the binary starts");
    let code = wait(&mut child, &format!("stowage {}", args.join(" ")));
    Run {
        code,
        stdout: std::fs::read_to_string(&out_path).unwrap_or_default(),
        stderr: std::fs::read_to_string(&err_path).expect("stderr"),
    }
}

fn wait(child: &mut std::process::Child, what: &str) -> i32 {
    let started = Instant::now();
    loop {
        if let Some(status) = child.try_wait().expect("wait") {
            return status
                .code()
                .unwrap_or_else(|| panic!("`{what}` died: {status}"));
        }
        if started.elapsed() > WALL_CLOCK {
            let _ = child.kill();
            let _ = child.wait();
            panic!("`{what}` still running after {WALL_CLOCK:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

fn run(dir: &Path, args: &[&str]) -> Run {
    run_with(dir, args, &[], None)
}

fn tempdir() -> (tempfile::TempDir, PathBuf) {
    let t = tempfile::tempdir().expect("temp dir");
    let p = t.path().canonicalize().expect("canonical");
    (t, p)
}

/// A safe fix (`version` goes) and nothing else to report.
const FIXABLE: &str = "version: \"3.8\"\nservices:\n  web:\n    image: nginx:1.27\n";
const FIXED: &str = "services:\n  web:\n    image: nginx:1.27\n";
/// An anonymous volume: `migrate` converts it, with data to move.
const MIGRATABLE: &str =
    "services:\n  db:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data\n";

fn project(text: &str) -> (tempfile::TempDir, PathBuf) {
    let (t, dir) = tempdir();
    std::fs::write(dir.join("compose.yaml"), text).expect("write");
    (t, dir)
}

fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".stowage-"))
        .collect()
}

/// `rel` in `dir` holds `text`, and no temporary file is left beside it.
fn assert_left(dir: &Path, rel: &str, text: &str) {
    assert_eq!(
        std::fs::read_to_string(dir.join(rel)).expect("read"),
        text,
        "{rel}"
    );
    assert!(leftovers(dir).is_empty(), "{:?}", leftovers(dir));
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    rustix::fs::mknodat(
        rustix::fs::CWD,
        path,
        rustix::fs::FileType::Fifo,
        rustix::fs::Mode::from_raw_mode(0o644),
        0,
    )
    .expect("mkfifo");
}

#[cfg(unix)]
fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).expect("stat").permissions().mode() & 0o7777
}

#[cfg(unix)]
fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

// ---------------------------------------------------------------------------------------------
// --script

#[test]
#[cfg(unix)]
fn script_never_replaces_a_project_file_by_any_name() {
    let (_t, dir) = project(MIGRATABLE);
    std::os::unix::fs::symlink("compose.yaml", dir.join("plan.sh")).expect("symlink");
    for target in ["compose.yaml", "plan.sh", "./compose.yaml"] {
        run(&dir, &["migrate", "--script", target])
            .expect_code(2)
            .expect_stderr("is a file the projects read");
        assert_eq!(
            std::fs::read_to_string(dir.join("compose.yaml")).unwrap(),
            MIGRATABLE
        );
    }
    // With `--write`, the compose file is migrated and still not replaced by the script.
    run(&dir, &["migrate", "--write", "--script", "compose.yaml"]).expect_code(2);
    let text = std::fs::read_to_string(dir.join("compose.yaml")).unwrap();
    assert!(text.starts_with("services:"), "{text}");
    assert!(
        std::fs::symlink_metadata(dir.join("plan.sh"))
            .unwrap()
            .is_symlink()
    );
    assert!(leftovers(&dir).is_empty());
}

#[test]
#[cfg(unix)]
fn script_is_written_whole_and_never_into_a_fifo_or_a_directory() {
    let (_t, dir) = project(MIGRATABLE);
    mkfifo(&dir.join("fifo"));
    std::fs::create_dir(dir.join("sub")).unwrap();
    for target in ["fifo", "sub"] {
        run(&dir, &["migrate", "--script", target])
            .expect_code(2)
            .expect_stderr("not a regular file");
    }
    // An earlier plan is replaced whole, keeping its mode.
    std::fs::write(dir.join("plan.sh"), "old\n").unwrap();
    chmod(&dir.join("plan.sh"), 0o750);
    run(&dir, &["migrate", "--script", "plan.sh"]).expect_code(1);
    let script = std::fs::read_to_string(dir.join("plan.sh")).unwrap();
    assert!(script.starts_with("#!/bin/sh\n"), "{script}");
    assert_eq!(mode(&dir.join("plan.sh")), 0o750);
    // A failed write leaves the earlier plan and no temporary file.
    std::fs::write(dir.join("plan.sh"), "old\n").unwrap();
    run_with(
        &dir,
        &["migrate", "--script", "plan.sh"],
        &[("STOWAGE_WRITE_FAULT", "write-temp")],
        None,
    )
    .expect_code(2);
    assert_left(&dir, "plan.sh", "old\n");
}

// ---------------------------------------------------------------------------------------------
// standard output

#[test]
#[cfg(target_os = "linux")]
fn every_write_error_on_standard_output_exits_2() {
    let (_t, dir) = project(MIGRATABLE);
    std::fs::write(dir.join("fix.yaml"), FIXABLE).unwrap();
    let full = Path::new("/dev/full");
    let mut cases: Vec<Vec<&str>> = Vec::new();
    for format in [
        "human", "concise", "json", "sarif", "github", "gitlab", "junit",
    ] {
        cases.push(vec!["check", "--format", format]);
        cases.push(vec![
            "check", "--format", format, "--fix", "-f", "fix.yaml", "--diff",
        ]);
    }
    for format in ["table", "json", "dot", "mermaid"] {
        cases.push(vec!["volumes", "--format", format]);
    }
    cases.push(vec!["migrate"]);
    cases.push(vec!["rules"]);
    cases.push(vec!["explain", "anonymous-volume"]);
    cases.push(vec!["completions", "bash"]);
    cases.push(vec!["man"]);
    for args in &cases {
        let r = run_with(&dir, args, &[], Some(full));
        assert_eq!(
            r.code,
            2,
            "`stowage {}` into /dev/full: {}",
            args.join(" "),
            r.stderr
        );
    }
    // The new text of standard input, lost on a full disk: exit 2 (a `> new && mv` pipeline
    // stops there).
    for (args, input) in [
        (["check", "--fix", "-"], "fix.yaml"),
        (["migrate", "--write", "-"], "compose.yaml"),
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_stowage"))
            .args(args)
            .current_dir(&dir)
            .stdin(std::fs::File::open(dir.join(input)).unwrap())
            .stdout(std::fs::OpenOptions::new().write(true).open(full).unwrap())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        assert_eq!(wait(&mut child, &args.join(" ")), 2, "{args:?}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.join("compose.yaml")).unwrap(),
        MIGRATABLE
    );
}

// ---------------------------------------------------------------------------------------------
// the file written: compare-and-swap, metadata, policy, leftovers

#[test]
fn a_change_just_before_the_swap_is_never_overwritten() {
    for (fault, mark) in [
        ("changed", "# edited by another program\n"),
        ("replaced", "# written by another program\n"),
    ] {
        let (_t, dir) = project(FIXABLE);
        run_with(
            &dir,
            &["check", "--fix"],
            &[("STOWAGE_WRITE_FAULT", fault)],
            None,
        )
        .expect_code(2)
        .expect_stderr("changed on disk");
        assert_left(&dir, "compose.yaml", &format!("{FIXABLE}{mark}"));
    }
}

#[test]
#[cfg(target_os = "linux")]
fn owner_group_mode_and_extended_attributes_are_kept() {
    use rustix::fs::{XattrFlags, getxattr, setxattr};
    let (_t, dir) = project(FIXABLE);
    let file = dir.join("compose.yaml");
    chmod(&file, 0o640);
    let user_attr = setxattr(&file, "user.origin", b"kept", XattrFlags::empty()).is_ok();
    // A POSIX ACL (version 2): owner rw, user 4242 r, group r, mask r, others none.
    let mut acl = 2u32.to_le_bytes().to_vec();
    for (tag, perm, id) in [
        (1u16, 6u16, u32::MAX),
        (2, 4, 4242),
        (4, 4, u32::MAX),
        (0x10, 4, u32::MAX),
        (0x20, 0, u32::MAX),
    ] {
        acl.extend(tag.to_le_bytes());
        acl.extend(perm.to_le_bytes());
        acl.extend(id.to_le_bytes());
    }
    let acl_set = setxattr(&file, "system.posix_acl_access", &acl, XattrFlags::empty()).is_ok();
    let before = mode(&file);
    run(&dir, &["check", "--fix"]).expect_code(0);
    assert_eq!(std::fs::read_to_string(&file).unwrap(), FIXED);
    assert_eq!(mode(&file), before, "mode changed");
    let read = |name: &str| {
        let mut buf = vec![0u8; 256];
        getxattr(&file, name, &mut buf[..]).map(|n| buf[..n].to_vec())
    };
    if user_attr {
        assert_eq!(read("user.origin").unwrap(), b"kept");
    }
    if acl_set {
        assert_eq!(read("system.posix_acl_access").unwrap(), acl);
    }
    eprintln!("user xattr tested: {user_attr}; ACL tested: {acl_set}");
}

#[test]
#[cfg(unix)]
fn hard_links_read_only_files_and_append_only_directories_are_refused() {
    let (_t, dir) = project(FIXABLE);
    let file = dir.join("compose.yaml");
    std::fs::hard_link(&file, dir.join("other-name.yaml")).unwrap();
    run(&dir, &["check", "--fix", "compose.yaml"])
        .expect_code(2)
        .expect_stderr("hard links");
    std::fs::remove_file(dir.join("other-name.yaml")).unwrap();
    chmod(&file, 0o444);
    run(&dir, &["check", "--fix"])
        .expect_code(2)
        .expect_stderr("read-only");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), FIXABLE);
    chmod(&file, 0o644);
    // `chattr +a` needs root and a file system that has it: tested where it can be set.
    if Command::new("chattr")
        .arg("+a")
        .arg(&dir)
        .status()
        .is_ok_and(|s| s.success())
    {
        let r = run(&dir, &["check", "--fix"]);
        let _ = Command::new("chattr").arg("-a").arg(&dir).status();
        r.expect_code(2).expect_stderr("append-only");
        assert!(leftovers(&dir).is_empty());
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), FIXABLE);
    assert!(leftovers(&dir).is_empty());
}

#[test]
fn a_failed_write_is_reported_as_what_is_on_disk() {
    for fault in ["rename", "write-temp", "create-temp"] {
        let (_t, dir) = project(FIXABLE);
        let r = run_with(
            &dir,
            &["check", "--fix", "--format", "concise"],
            &[("STOWAGE_WRITE_FAULT", fault)],
            None,
        );
        r.expect_code(2);
        // The finding is still there: the file was not fixed.
        assert!(
            r.stdout.contains("obsolete-version"),
            "{fault}: {}",
            r.stdout
        );
        assert!(!r.stdout.contains("No findings"), "{}", r.stdout);
        assert_left(&dir, "compose.yaml", FIXABLE);
        // `migrate`: no plan of data to move for a file that was not migrated, no script.
        let (_t, dir) = project(MIGRATABLE);
        let r = run_with(
            &dir,
            &["migrate", "--write", "--script", "plan.sh"],
            &[("STOWAGE_WRITE_FAULT", fault)],
            None,
        );
        r.expect_code(2);
        assert!(!r.stderr.contains("copy the data"), "{}", r.stderr);
        assert!(!dir.join("plan.sh").exists());
        assert!(leftovers(&dir).is_empty(), "{fault}");
    }
}

#[test]
#[cfg(unix)]
fn two_names_of_one_file_are_written_once() {
    let (_t, dir) = project(FIXABLE);
    std::fs::create_dir(dir.join("other")).unwrap();
    std::os::unix::fs::symlink("../compose.yaml", dir.join("other/compose.yaml")).unwrap();
    run(
        &dir,
        &["check", "--fix", "compose.yaml", "other/compose.yaml"],
    )
    .expect_code(0);
    assert_eq!(
        std::fs::read_to_string(dir.join("compose.yaml")).unwrap(),
        FIXED
    );
    assert!(
        std::fs::symlink_metadata(dir.join("other/compose.yaml"))
            .unwrap()
            .is_symlink()
    );
    // A file two projects include, fixed alike by both, as well.
    let (_t, dir) = tempdir();
    std::fs::write(dir.join("shared.yaml"), FIXABLE.replace("web", "shared")).unwrap();
    for p in ["a", "b"] {
        std::fs::create_dir(dir.join(p)).unwrap();
        std::fs::write(
            dir.join(p).join("compose.yaml"),
            format!("include:\n  - ../shared.yaml\nservices:\n  {p}:\n    image: nginx:1.27\n"),
        )
        .unwrap();
    }
    run(&dir, &["check", "--fix", "."]).expect_code(0);
}

#[test]
#[cfg(unix)]
fn a_signal_during_a_write_leaves_the_original_and_no_temporary_file() {
    for signal in ["TERM", "INT"] {
        let (_t, dir) = project(FIXABLE);
        let mut child = Command::new(env!("CARGO_BIN_EXE_stowage"))
            .args(["check", "--fix"])
            .env("STOWAGE_WRITE_FAULT", "pause")
            .current_dir(&dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let started = Instant::now();
        while leftovers(&dir).is_empty() {
            assert!(started.elapsed() < WALL_CLOCK, "no temporary file appeared");
            std::thread::sleep(Duration::from_millis(5));
        }
        assert!(
            Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(child.id().to_string())
                .status()
                .unwrap()
                .success()
        );
        assert_eq!(wait(&mut child, "check --fix"), 2, "{signal}");
        assert!(
            leftovers(&dir).is_empty(),
            "{signal}: {:?}",
            leftovers(&dir)
        );
        assert_eq!(
            std::fs::read_to_string(dir.join("compose.yaml")).unwrap(),
            FIXABLE
        );
    }
}

// ---------------------------------------------------------------------------------------------
// reading: the walk, arguments, --config, special files

#[test]
fn a_directory_with_no_compose_file_is_an_error() {
    let (_t, dir) = tempdir();
    std::fs::create_dir(dir.join("empty")).unwrap();
    std::fs::write(dir.join("empty/notes.yaml"), "a: 1\n").unwrap();
    for command in ["check", "volumes", "migrate"] {
        run(&dir, &[command, "empty"])
            .expect_code(2)
            .expect_stderr("no compose file found under this directory");
    }
}

#[test]
#[cfg(unix)]
fn the_walk_reports_what_it_cannot_read() {
    use std::os::unix::ffi::OsStrExt;
    let (_t, dir) = project(FIXABLE);
    // A compose file whose name is not UTF-8.
    let odd = dir.join(std::ffi::OsStr::from_bytes(b"compose.\xff.yaml"));
    std::fs::write(&odd, FIXABLE).unwrap();
    run(&dir, &["check", "."])
        .expect_code(2)
        .expect_stderr("not valid UTF-8");
    std::fs::remove_file(&odd).unwrap();
    // A directory deeper than PATH_MAX, made one step at a time from a directory descriptor.
    {
        use rustix::fs::{Mode, OFlags, mkdirat, openat};
        let long = "d".repeat(250);
        let mut fd = openat(
            rustix::fs::CWD,
            &dir,
            OFlags::DIRECTORY | OFlags::RDONLY,
            Mode::empty(),
        )
        .unwrap();
        for _ in 0..20 {
            mkdirat(&fd, long.as_str(), Mode::from_raw_mode(0o755)).unwrap();
            fd = openat(
                &fd,
                long.as_str(),
                OFlags::DIRECTORY | OFlags::RDONLY,
                Mode::empty(),
            )
            .unwrap();
        }
        let f = openat(
            &fd,
            "compose.yaml",
            OFlags::CREATE | OFlags::WRONLY,
            Mode::from_raw_mode(0o644),
        )
        .unwrap();
        rustix::io::write(&f, b"services: {}\n").unwrap();
    }
    run(&dir, &["check", "."])
        .expect_code(2)
        .expect_stderr("File name too long");
    // The temporary directory is removed with `rm -r`, which copes with deep trees.
    let _ = Command::new("rm")
        .arg("-rf")
        .arg(dir.join("d".repeat(250)))
        .status();
}

#[test]
#[cfg(unix)]
fn an_unreadable_directory_is_reported_not_skipped() {
    // Root reads every directory: the walk is run as `nobody` where that can be done.
    let (_t, dir) = project(FIXABLE);
    std::fs::create_dir(dir.join("locked")).unwrap();
    std::fs::write(dir.join("locked/compose.yaml"), FIXED).unwrap();
    chmod(&dir.join("locked"), 0o000);
    chmod(&dir, 0o755);
    chmod(dir.parent().unwrap(), 0o755);
    let as_nobody = |args: &[&str]| {
        Command::new("setpriv")
            .args(["--reuid=65534", "--regid=65534", "--clear-groups"])
            .arg(env!("CARGO_BIN_EXE_stowage"))
            .args(args)
            .current_dir(&dir)
            .output()
    };
    let Ok(out) = as_nobody(&["check", "."]) else {
        eprintln!("setpriv unavailable: not tested");
        return;
    };
    if !rustix::process::geteuid().is_root() {
        eprintln!("not root: cannot switch to nobody; not tested");
        return;
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("locked") && stderr.contains("Permission denied"),
        "{stderr}"
    );
    let out = as_nobody(&["check", "locked/compose.yaml"]).unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(!stderr.contains("no such file"), "{stderr}");
    chmod(&dir.join("locked"), 0o755);
}

#[test]
#[cfg(unix)]
fn an_argument_that_is_not_utf8_is_a_path_never_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let (_t, dir) = tempdir();
    for args in [
        vec![&b"\xff"[..]],
        vec![b"check", b"\xff.yaml"],
        vec![b"--config", b"\xff"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_stowage"))
            .args(args.iter().map(|a| std::ffi::OsStr::from_bytes(a)))
            .current_dir(&dir)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(2),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(!String::from_utf8_lossy(&out.stderr).contains("panicked"));
    }
}

#[test]
#[cfg(unix)]
fn config_and_special_files_never_hang() {
    let (_t, dir) = project(FIXED);
    mkfifo(&dir.join("fifo"));
    for config in ["fifo", "/dev/zero", "/dev/urandom"] {
        for command in ["check", "migrate"] {
            run(&dir, &[command, "--config", config])
                .expect_code(2)
                .expect_stderr("not a regular file");
        }
    }
    // A file whose reads block (when it is there and readable).
    if Path::new("/proc/kmsg").exists() {
        run(&dir, &["check", "/proc/kmsg"]).expect_code(2);
    }
}

#[test]
fn a_remote_include_is_named_as_unsupported_where_it_stands() {
    let (_t, dir) = project(
        "include:\n  - oci://registry.example/app:1\n  - path: https://github.com/acme/stack.git#main:deploy\nservices:\n  web:\n    image: nginx:1.27\n",
    );
    for format in ["concise", "human", "json"] {
        let r = run(&dir, &["check", "--format", format]);
        r.expect_code(2)
            .expect_stderr(
                "remote include `oci://registry.example/app:1` is not supported; skipped",
            )
            .expect_stderr("remote include `https://github.com/acme/stack.git#main:deploy`");
        assert!(!r.stdout.contains("cannot open"), "{}", r.stdout);
    }
    let r = run(&dir, &["check", "--format", "concise"]);
    assert!(r.stdout.contains("compose.yaml:2:5:"), "{}", r.stdout);
    assert!(r.stdout.contains("compose.yaml:3:11:"), "{}", r.stdout);
}

#[test]
#[cfg(unix)]
fn a_directory_whose_name_is_not_utf8_is_read() {
    use std::os::unix::ffi::OsStrExt;
    let (_t, dir) = tempdir();
    let odd = dir.join(std::ffi::OsStr::from_bytes(b"app-\xff"));
    std::fs::create_dir(&odd).unwrap();
    std::fs::write(odd.join("compose.yaml"), format!("name: app\n{FIXED}")).unwrap();
    for args in [vec!["check", "."], vec!["volumes", "."]] {
        let r = run(&dir, &args);
        assert!(!r.stdout.contains("no such file"), "{}", r.stdout);
        assert!(!r.stderr.contains("no such file"), "{}", r.stderr);
        assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    }
}
