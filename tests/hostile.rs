//! Hostile input (issue 7): every input is answered with exit 0, 1 or 2 and a message that names
//! the file (and the line and column, where there is one), within bounded time and memory, by
//! `check`, `volumes` and `migrate` (dry run) alike. Writes never damage a file.
//!
//! The binary runs under the limits the issue sets, enforced by the harness rather than by
//! timing assertions: 1 GiB of address space and 10 s of CPU (`prlimit`, or `ulimit` in `sh`
//! where `prlimit` is missing), and a wall-clock kill after [`WALL_CLOCK`]. A run that is killed,
//! dies of a signal, or exits with anything but 0, 1 or 2 fails the test.
//!
//! Small cases are committed under `fixtures/hostile/<case>/` (the main file is `stack.yaml`, a
//! name neither compose's discovery nor the repository walk picks up, so the other fixture tests
//! and the live comparison with compose leave them alone). Large ones are generated here. Their
//! size suits the unoptimised test binary; `STOWAGE_HOSTILE_SCALE=10 cargo test --release --test
//! hostile` runs them ten times larger (docs/robustness.md).

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use regex::Regex;

/// The limits of the issue: 1 GiB of address space, 10 s of CPU.
const ADDRESS_SPACE: u64 = 1 << 30;
const CPU_SECONDS: u64 = 10;
/// Killed after this long whatever it is doing (a blocked read, a sleep): the CPU limit is what
/// bounds the work; this allows for a machine busy with other tests.
const WALL_CLOCK: Duration = Duration::from_secs(20);

// ---------------------------------------------------------------------------------------------
// the harness

struct Outcome {
    code: i32,
    stdout: String,
    stderr: String,
    what: String,
}

impl Outcome {
    fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }

    fn context(&self) -> String {
        let cut = |s: &str| -> String {
            if s.len() > 4000 {
                format!("{}… ({} bytes)", &s[..s.floor_char_boundary(4000)], s.len())
            } else {
                s.to_owned()
            }
        };
        format!(
            "`{}` exited {}\n--- stdout:\n{}\n--- stderr:\n{}",
            self.what,
            self.code,
            cut(&self.stdout),
            cut(&self.stderr)
        )
    }

    fn expect_code(&self, code: i32) -> &Self {
        assert_eq!(self.code, code, "{}", self.context());
        self
    }

    /// The output names `file` with a line and a column (`file:12:5`).
    fn expect_position(&self, file: &str) -> &Self {
        let re = Regex::new(&format!(r"(^|[\s/(\[]){}:\d+:\d+", regex::escape(file)))
            .expect("valid regex");
        assert!(
            re.is_match(&self.all()),
            "no `{file}:LINE:COLUMN` in the output\n{}",
            self.context()
        );
        self
    }

    fn expect_mention(&self, text: &str) -> &Self {
        assert!(
            self.all().contains(text),
            "`{text}` is not in the output\n{}",
            self.context()
        );
        self
    }
}

fn binary() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_stowage"))
}

fn has_prlimit() -> bool {
    Command::new("prlimit")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// `stowage <args>` in `dir` under the limits, with an empty environment plus `env`.
fn stowage_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Outcome {
    run(dir, args, env, None)
}

/// `stowage <args>` in `dir` under the limits, reading the file `input` on standard input.
fn stowage_stdin(dir: &Path, args: &[&str], input: &Path) -> Outcome {
    run(dir, args, &[], Some(input))
}

fn run(dir: &Path, args: &[&str], env: &[(&str, &str)], input: Option<&Path>) -> Outcome {
    let mut cmd = if has_prlimit() {
        let mut c = Command::new("prlimit");
        c.arg(format!("--as={ADDRESS_SPACE}"))
            .arg(format!("--cpu={CPU_SECONDS}"))
            .arg("--")
            .arg(binary());
        c
    } else {
        let mut c = Command::new("sh");
        c.arg("-c")
            .arg(format!(
                "ulimit -v {} && ulimit -t {CPU_SECONDS} && exec \"$0\" \"$@\"",
                ADDRESS_SPACE / 1024
            ))
            .arg(binary());
        c
    };
    cmd.args(args)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .envs(env.iter().copied())
        .current_dir(dir)
        .stdin(match input {
            Some(path) => Stdio::from(std::fs::File::open(path).expect("the input file")),
            None => Stdio::null(),
        });
    // Output goes to files: a pipe that nobody reads could block the child forever.
    let out_dir = tempfile::tempdir().expect("temp dir");
    let out_path = out_dir.path().join("stdout");
    let err_path = out_dir.path().join("stderr");
    cmd.stdout(std::fs::File::create(&out_path).expect("stdout file"))
        .stderr(std::fs::File::create(&err_path).expect("stderr file"));
    let what = format!("stowage {}", args.join(" "));
    let mut child = cmd.spawn().expect("the binary starts");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for the binary") {
            break status;
        }
        if started.elapsed() > WALL_CLOCK {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "`{what}` in {} was still running after {WALL_CLOCK:?}",
                dir.display()
            );
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    let read = |p: &Path| {
        let mut bytes = Vec::new();
        std::fs::File::open(p)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .expect("read the output");
        String::from_utf8_lossy(&bytes).into_owned()
    };
    let outcome = Outcome {
        code: status.code().unwrap_or(-1),
        stdout: read(&out_path),
        stderr: read(&err_path),
        what,
    };
    assert!(
        status.code().is_some(),
        "killed by a signal ({status}): out of CPU time or memory, or a crash\n{}",
        outcome.context()
    );
    assert!(
        (0..=2).contains(&outcome.code),
        "exit code outside 0..=2\n{}",
        outcome.context()
    );
    outcome
}

fn stowage(dir: &Path, args: &[&str]) -> Outcome {
    stowage_env(dir, args, &[])
}

/// How much larger the generated inputs are (`STOWAGE_HOSTILE_SCALE`, default 1).
fn scale() -> usize {
    std::env::var("STOWAGE_HOSTILE_SCALE")
        .ok()
        .and_then(|s| s.parse().ok())
        .filter(|&n| n > 0)
        .unwrap_or(1)
}

/// A temporary directory (canonical, so the binary's relative paths are predictable).
fn tempdir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().canonicalize().expect("canonical temp dir");
    (dir, path)
}

fn write(dir: &Path, rel: &str, bytes: impl AsRef<[u8]>) {
    let path = dir.join(rel);
    std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
    std::fs::write(path, bytes).expect("write");
}

/// A copy of `fixtures/hostile/<case>` in a temporary directory.
fn fixture(case: &str) -> (tempfile::TempDir, PathBuf) {
    let src = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/hostile")
        .join(case);
    let (guard, dir) = tempdir();
    let entries = std::fs::read_dir(&src).unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    for entry in entries {
        let entry = entry.expect("dir entry");
        std::fs::copy(entry.path(), dir.join(entry.file_name())).expect("copy the fixture");
    }
    (guard, dir)
}

/// What each command must answer for one input.
struct Expect {
    /// Exit codes of `check`, `volumes` and `migrate` (dry run).
    codes: [i32; 3],
    /// The file the messages are about, with a line and column where the problem has one.
    file: &'static str,
    positioned: bool,
    /// A fragment of the message `check` and `volumes` print.
    says: &'static str,
}

/// Runs `check`, `volumes` and `migrate` on `stack.yaml` in `dir` (or on `target`).
fn answers(dir: &Path, target: &str, expect: &Expect) {
    let [check, volumes, migrate] = expect.codes;
    for (command, code) in [("check", check), ("volumes", volumes)] {
        let out = stowage(dir, &[command, target]);
        out.expect_code(code).expect_mention(expect.says);
        if expect.positioned {
            out.expect_position(expect.file);
        } else {
            out.expect_mention(expect.file);
        }
    }
    // migrate names the project it refuses (compose rejects it) or the file it would change.
    stowage(dir, &["migrate", target])
        .expect_code(migrate)
        .expect_mention(target);
}

/// A fixture case answered by all three commands.
fn fixture_case(case: &str, expect: Expect) {
    let (_guard, dir) = fixture(case);
    answers(&dir, "stack.yaml", &expect);
}

/// A rejected project: a finding in `check` (1), an error in `volumes` (1), and `migrate`
/// refuses it (2).
fn rejected(says: &'static str) -> Expect {
    Expect {
        codes: [1, 1, 2],
        file: "stack.yaml",
        positioned: true,
        says,
    }
}

/// A file stowage cannot read as text: exit 2 from every command.
fn unreadable(says: &'static str) -> Expect {
    Expect {
        codes: [2, 2, 2],
        file: "stack.yaml",
        positioned: true,
        says,
    }
}

// ---------------------------------------------------------------------------------------------
// expansion bombs and recursion

#[test]
fn alias_bomb() {
    fixture_case("alias-bomb", rejected("too large"));
}

#[test]
fn merge_key_bomb() {
    fixture_case("merge-key-bomb", rejected("too large"));
}

#[test]
fn long_scalar_aliased_many_times() {
    // 10 KiB aliased 60 × 60 times: 36 MiB of copies from a 10 KiB file.
    let (_guard, dir) = tempdir();
    let mut text = format!("x-big: &big \"{}\"\n", "x".repeat(10 * 1024));
    text.push_str(&format!("x-l1: &l1 [{}]\n", vec!["*big"; 60].join(", ")));
    text.push_str(&format!("x-l2: &l2 [{}]\n", vec!["*l1"; 60].join(", ")));
    text.push_str("services:\n  app:\n    image: alpine:3.20\n    x-all: *l2\n");
    write(&dir, "stack.yaml", text);
    answers(&dir, "stack.yaml", &rejected("too large"));
}

#[test]
fn bombs_in_many_documents_share_one_budget() {
    let (_guard, dir) = tempdir();
    let bomb: String = (1..5)
        .map(|i| {
            format!(
                "x-a{i}: &a{i} [{}]\n",
                vec![format!("*a{}", i - 1); 10].join(", ")
            )
        })
        .collect();
    let mut text = String::new();
    for d in 0..200 * scale() {
        text.push_str(&format!(
            "---\nx-a0: &a0 [l, l, l, l, l, l, l, l, l, l]\n{bomb}services:\n  s{d}:\n    image: alpine:3.20\n"
        ));
    }
    write(&dir, "stack.yaml", text);
    answers(&dir, "stack.yaml", &rejected("too large"));
}

#[test]
fn recursive_alias() {
    fixture_case("recursive-alias", rejected("too deeply nested"));
}

#[test]
fn recursive_merge_key() {
    fixture_case("recursive-merge", rejected("too deeply nested"));
}

#[test]
fn merge_keys_pointing_at_scalars() {
    fixture_case("merge-scalar", rejected("map merge requires map"));
}

// ---------------------------------------------------------------------------------------------
// nesting: 100 000 levels must not overflow the stack

fn deep(text: String, says: &'static str) {
    let (_guard, dir) = tempdir();
    write(&dir, "stack.yaml", text);
    answers(&dir, "stack.yaml", &rejected(says));
}

const DEPTH: usize = 100_000;

#[test]
fn deeply_nested_flow_sequences() {
    deep(
        format!("services: {}{}\n", "[".repeat(DEPTH), "]".repeat(DEPTH)),
        "recursion limit",
    );
}

#[test]
fn deeply_nested_flow_mappings() {
    deep(
        format!("services: {}x{}\n", "{a: ".repeat(DEPTH), "}".repeat(DEPTH)),
        "recursion limit",
    );
}

#[test]
fn deeply_nested_unclosed_flow() {
    deep(
        format!("services: {}\n", "[{a: ".repeat(DEPTH)),
        "recursion limit",
    );
}

#[test]
fn deeply_nested_block_sequences() {
    deep(
        format!("services:\n  {}x\n", "- ".repeat(DEPTH)),
        "recursion limit",
    );
}

#[test]
fn deeply_nested_block_mappings() {
    // Block nesting needs indentation: the file grows with the square of the depth.
    let depth = 2_000;
    let text: String = (0..depth)
        .map(|i| format!("{}k:\n", " ".repeat(i)))
        .collect();
    deep(text, "recursion limit");
}

#[test]
fn deeply_nested_through_anchors() {
    // Each anchor nests 250 levels (within the parser's limit) and aliases the previous one:
    // the expanded document is 1 000+ levels deep.
    let (_guard, dir) = tempdir();
    let mut text = format!("x-d0: &d0 {}x{}\n", "[".repeat(250), "]".repeat(250));
    for i in 1..6 {
        text.push_str(&format!(
            "x-d{i}: &d{i} {}*d{}{}\n",
            "[".repeat(250),
            i - 1,
            "]".repeat(250)
        ));
    }
    text.push_str("services:\n  app:\n    image: alpine:3.20\n    x-deep: *d5\n");
    write(&dir, "stack.yaml", text);
    answers(&dir, "stack.yaml", &rejected("too deeply nested"));
}

// ---------------------------------------------------------------------------------------------
// size

#[test]
fn multi_megabyte_line() {
    let (_guard, dir) = tempdir();
    let long = "x".repeat(4 << 20);
    write(
        &dir,
        "stack.yaml",
        format!("services:\n  app:\n    image: alpine:3.20\n    command: {long}\n"),
    );
    for command in ["check", "volumes", "migrate"] {
        stowage(&dir, &[command, "stack.yaml"]).expect_code(0);
    }
}

#[test]
fn multi_megabyte_line_with_an_error_at_its_end() {
    let (_guard, dir) = tempdir();
    let long = "x".repeat(4 << 20);
    write(
        &dir,
        "stack.yaml",
        format!("services:\n  app:\n    image: alpine:3.20\n    command: {long}\n  bad: [\n"),
    );
    answers(&dir, "stack.yaml", &rejected("unclosed bracket"));
}

#[test]
fn finding_past_column_65535_of_a_long_line() {
    let (_guard, dir) = tempdir();
    let long = "x".repeat(70_000);
    write(
        &dir,
        "stack.yaml",
        format!("services:\n  app:\n    image: alpine:3.20\n    volumes: [{long}, /data]\n"),
    );
    // `check` reports the relative target; `volumes` lists it; `migrate` converts `/data`.
    for (command, code) in [("check", 1), ("volumes", 0), ("migrate", 1)] {
        stowage(&dir, &[command, "stack.yaml"])
            .expect_code(code)
            .expect_mention("stack.yaml");
    }
    stowage(&dir, &["check", "stack.yaml"]).expect_position("stack.yaml");
}

#[test]
fn multi_megabyte_file() {
    // Several MiB: long comments, a large extension block, and a few hundred services (at
    // most 28 MiB, under the 32 MiB limit).
    let scale = scale().min(8);
    let (_guard, dir) = tempdir();
    let mut text = String::from("services:\n");
    for i in 0..300 * scale {
        text.push_str(&format!(
            "  s{i}:  # {}\n    image: registry.example.com/team/app-{i}:1.0\n    volumes:\n      - data:/srv/data/{i}\n",
            "c".repeat(2000)
        ));
    }
    text.push_str("x-blob:\n");
    for i in 0..50_000 * scale {
        text.push_str(&format!("  - item-{i}-{}\n", "y".repeat(40)));
    }
    text.push_str("volumes:\n  data:\n");
    assert!(text.len() > 3 << 20);
    write(&dir, "stack.yaml", text);
    for command in ["check", "volumes", "migrate"] {
        stowage(&dir, &[command, "stack.yaml"]).expect_code(0);
    }
}

#[test]
fn file_over_the_size_limit_is_refused() {
    // 40 MiB of comments: over stowage's 32 MiB limit for one compose file.
    let (_guard, dir) = tempdir();
    let line = format!("# {}\n", "z".repeat(1022));
    write(&dir, "stack.yaml", line.repeat(40 * 1024));
    answers(&dir, "stack.yaml", &unreadable("too large"));
    stowage(&dir, &["check", "stack.yaml"]).expect_mention("names a compose file");
}

#[test]
fn a_million_nodes_in_a_few_megabytes() {
    // `1,` is a node: memory grows with nodes far faster than with bytes.
    let (_guard, dir) = tempdir();
    let items = vec!["1"; 1_100_000].join(",");
    write(
        &dir,
        "stack.yaml",
        format!("services:\n  app:\n    image: alpine:3.20\nx-list: [{items}]\n"),
    );
    answers(&dir, "stack.yaml", &rejected("too large to check"));
}

#[test]
fn tens_of_thousands_of_documents() {
    let (_guard, dir) = tempdir();
    let mut text = String::new();
    for d in 0..10_000 * scale() {
        if d % 10 == 0 {
            text.push_str(&format!(
                "---\nservices:\n  s{d}:\n    image: alpine:3.20\n    volumes: [data:/d]\n"
            ));
        } else {
            text.push_str(&format!("---\nx-doc-{d}: {d}\n"));
        }
    }
    text.push_str("---\nvolumes:\n  data:\n");
    write(&dir, "stack.yaml", text);
    for command in ["check", "volumes", "migrate"] {
        stowage(&dir, &[command, "stack.yaml"]).expect_code(0);
    }
}

#[test]
fn long_extends_chain() {
    let (_guard, dir) = tempdir();
    let mut text = String::from("services:\n  s0:\n    image: alpine:3.20\n");
    for i in 1..2_000 * scale() {
        text.push_str(&format!("  s{i}:\n    extends: s{}\n", i - 1));
    }
    write(&dir, "stack.yaml", text);
    for command in ["check", "volumes", "migrate"] {
        stowage(&dir, &[command, "stack.yaml"]).expect_code(0);
    }
}

#[test]
fn long_extends_cycle() {
    let (_guard, dir) = tempdir();
    let n = 2_000 * scale();
    let mut text = String::from("services:\n");
    for i in 0..n {
        text.push_str(&format!(
            "  s{i}:\n    image: alpine:3.20\n    extends: s{}\n",
            (i + 1) % n
        ));
    }
    write(&dir, "stack.yaml", text);
    answers(&dir, "stack.yaml", &rejected("circular reference"));
}

// ---------------------------------------------------------------------------------------------
// many services, mounts and findings: time and memory grow with the project, not its square

/// `services` services with `per_service` anonymous volumes each (`/data/0`, `/data/1`, …).
fn anonymous_volumes(services: usize, per_service: usize) -> String {
    let mut text = String::from("services:\n");
    for s in 0..services {
        text.push_str(&format!("  s{s}:\n    image: alpine:3.20\n    volumes:\n"));
        for v in 0..per_service {
            text.push_str(&format!("      - /data/{v}\n"));
        }
    }
    text
}

#[test]
fn migrate_tens_of_thousands_of_services() {
    // Converting one service's mount never looks through every other service's (which took
    // minutes at this size).
    let n = 10_000 * scale().min(2);
    let (_guard, dir) = tempdir();
    write(&dir, "stack.yaml", anonymous_volumes(n, 1));
    let last = format!("s{}-0:/data/0", n - 1);
    stowage(&dir, &["migrate", "stack.yaml"])
        .expect_code(1)
        .expect_mention(&last);
    stowage(&dir, &["migrate", "--write", "stack.yaml"]).expect_code(0);
    let migrated = std::fs::read_to_string(dir.join("stack.yaml")).expect("read");
    assert!(migrated.contains(&last), "not migrated");
    assert!(
        migrated.contains(&format!("\n  s{}-0:", n - 1)),
        "not declared"
    );
    // Nothing is left to do.
    stowage(&dir, &["migrate", "stack.yaml"]).expect_code(0);
}

#[test]
fn migrate_tens_of_thousands_of_anonymous_volumes_in_one_service() {
    let n = stowage::fix::migrate::MAX_CONVERSIONS;
    let (_guard, dir) = tempdir();
    write(&dir, "stack.yaml", anonymous_volumes(1, n));
    let last = format!("s0-{}:/data/{}", n - 1, n - 1);
    stowage(&dir, &["migrate", "stack.yaml"])
        .expect_code(1)
        .expect_mention(&last);
    stowage(&dir, &["migrate", "--write", "stack.yaml"]).expect_code(0);
    let migrated = std::fs::read_to_string(dir.join("stack.yaml")).expect("read");
    assert_eq!(migrated.matches(":/data/").count(), n);
    stowage(&dir, &["migrate", "stack.yaml"]).expect_code(0);
}

#[test]
fn migrate_refuses_more_conversions_than_it_can_verify() {
    let n = stowage::fix::migrate::MAX_CONVERSIONS + 1;
    let (_guard, dir) = tempdir();
    let text = anonymous_volumes(1, n);
    write(&dir, "stack.yaml", &text);
    for args in [
        &["migrate", "stack.yaml"][..],
        &["migrate", "--write", "stack.yaml"],
    ] {
        stowage(&dir, args)
            .expect_code(2)
            .expect_mention(&format!("{n} mounts to convert"));
    }
    let after = std::fs::read_to_string(dir.join("stack.yaml")).expect("read");
    assert!(after == text, "the file changed");
}

/// Every format reports every one of `n` findings of `stack.yaml` in `dir`.
fn reports_every_finding(dir: &Path, n: usize, formats: &[&str]) {
    for &format in formats {
        let out = stowage(dir, &["check", "--format", format, "stack.yaml"]);
        out.expect_code(1);
        let count = match format {
            "human" | "concise" => out.stdout.matches("anonymous volume at `/data/").count(),
            "github" => out.stdout.matches("::warning file=stack.yaml").count(),
            "junit" => out.stdout.matches("<failure ").count(),
            _ => {
                let json: serde_json::Value = serde_json::from_str(&out.stdout)
                    .unwrap_or_else(|e| panic!("{format}: {e}\n{}", out.context()));
                let list = match format {
                    "json" => &json["findings"],
                    "sarif" => &json["runs"][0]["results"],
                    _ => &json,
                };
                list.as_array().map_or(0, Vec::len)
            }
        };
        assert_eq!(count, n, "{format}: findings reported");
        if format == "human" {
            out.expect_position("stack.yaml");
        }
    }
}

#[test]
fn hundreds_of_thousands_of_findings_line_by_line() {
    // Written a part at a time: memory holds the findings, not the report too.
    let n = 30_000 * scale().min(5);
    let (_guard, dir) = tempdir();
    write(&dir, "stack.yaml", anonymous_volumes(1, n));
    reports_every_finding(&dir, n, &["human", "concise", "github", "json"]);
}

#[test]
fn hundreds_of_thousands_of_findings_in_one_document() {
    // SARIF, GitLab and JUnit documents are written as they are made, not built whole first
    // (a SARIF log is several times larger than the findings).
    let n = 30_000 * scale().min(5);
    let (_guard, dir) = tempdir();
    write(&dir, "stack.yaml", anonymous_volumes(1, n));
    reports_every_finding(&dir, n, &["sarif", "gitlab", "junit"]);
}

#[test]
fn tens_of_thousands_of_suppression_comments() {
    // Each finding is looked up among the comments, not compared with every one of them.
    let n = 20_000 * scale().min(5);
    let (_guard, dir) = tempdir();
    let mut text = String::from("services:\n  s0:\n    image: alpine:3.20\n    volumes:\n");
    for v in 0..n {
        text.push_str(&format!(
            "      # stowage: ignore[anonymous-volume] scratch\n      - /data/{v}\n"
        ));
    }
    write(&dir, "stack.yaml", &text);
    stowage(&dir, &["check", "stack.yaml"])
        .expect_code(0)
        .expect_mention("No findings");
    // The same comment for the whole file, many times over: every copy is used.
    let mut text = anonymous_volumes(1, n);
    for _ in 0..n {
        text.push_str("# stowage: ignore-file[anonymous-volume] scratch\n");
    }
    write(&dir, "stack.yaml", &text);
    stowage(
        &dir,
        &[
            "check",
            "--select",
            "anonymous-volume,unused-suppression",
            "stack.yaml",
        ],
    )
    .expect_code(0)
    .expect_mention("No findings");
}

// ---------------------------------------------------------------------------------------------
// encodings and bytes

#[test]
fn binary_file() {
    fixture_case("binary", unreadable("not valid UTF-8"));
}

#[test]
fn random_binary_file() {
    // A fixed pseudo-random sequence (xorshift), so a failure reproduces.
    let (_guard, dir) = tempdir();
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let bytes: Vec<u8> = (0..1 << 20)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state as u8
        })
        .collect();
    write(&dir, "stack.yaml", bytes);
    answers(&dir, "stack.yaml", &unreadable("not valid UTF-8"));
}

#[test]
fn invalid_utf8() {
    fixture_case("invalid-utf8", unreadable("not valid UTF-8"));
}

#[test]
fn utf16_and_utf32_with_bom() {
    for (case, encoding) in [
        ("utf16le-bom", "UTF-16LE"),
        ("utf16be-bom", "UTF-16BE"),
        ("utf32le-bom", "UTF-32LE"),
        ("utf32be-bom", "UTF-32BE"),
    ] {
        let (_guard, dir) = fixture(case);
        answers(
            &dir,
            "stack.yaml",
            &unreadable("compose files must be UTF-8"),
        );
        stowage(&dir, &["volumes", "stack.yaml"]).expect_mention(encoding);
    }
}

#[test]
fn standard_input_is_read_and_decoded_like_a_file() {
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hostile");
    let (_guard, dir) = tempdir();
    for command in ["check", "volumes", "migrate"] {
        // The same message at the same place as for the file itself (`stack.yaml:3:15`).
        stowage_stdin(
            &dir,
            &[command, "-"],
            &fixtures.join("invalid-utf8/stack.yaml"),
        )
        .expect_code(2)
        .expect_mention("stdin.yaml:3:15")
        .expect_mention("not valid UTF-8 (invalid byte at offset 31)");
        stowage_stdin(
            &dir,
            &[
                command,
                "--stdin-filename",
                "deploy/compose.yaml",
                "-f",
                "-",
            ],
            &fixtures.join("utf16le-bom/stack.yaml"),
        )
        .expect_code(2)
        .expect_position("deploy/compose.yaml")
        .expect_mention("UTF-16LE");
        stowage_stdin(&dir, &[command, "-"], &fixtures.join("binary/stack.yaml"))
            .expect_code(2)
            .expect_position("stdin.yaml");
    }
}

#[test]
fn standard_input_over_the_size_limit_is_refused() {
    // An endless stream and a file over 32 MiB: read up to the limit, never to the end.
    let (_guard, dir) = tempdir();
    let line = format!("# {}\n", "z".repeat(1022));
    write(&dir, "big", line.repeat(40 * 1024));
    for input in [dir.join("big"), PathBuf::from("/dev/zero")] {
        for command in ["check", "volumes", "migrate"] {
            stowage_stdin(&dir, &[command, "-"], &input)
                .expect_code(2)
                .expect_mention("stdin.yaml")
                .expect_mention("too large");
        }
    }
}

#[test]
fn included_binary_file() {
    fixture_case(
        "include-binary",
        Expect {
            file: "blob.yaml",
            ..rejected("not valid UTF-8")
        },
    );
}

#[test]
fn included_device() {
    fixture_case("include-device", rejected("not a regular file"));
    // The help says what to do about it, not to "fix the value".
    let (_guard, dir) = fixture("include-device");
    stowage(&dir, &["check", "stack.yaml"]).expect_mention("at a regular file");
}

// ---------------------------------------------------------------------------------------------
// no content, wrong shapes

#[test]
fn empty_file() {
    fixture_case("empty", rejected("empty compose file"));
}

#[test]
fn comment_only_file() {
    fixture_case("comment-only", rejected("empty compose file"));
}

#[test]
fn document_markers_only() {
    fixture_case("document-markers-only", rejected("must be a mapping"));
}

#[test]
fn root_is_not_a_mapping() {
    for case in ["root-scalar", "root-list", "root-null"] {
        fixture_case(case, rejected("must be a mapping"));
    }
}

#[test]
fn wrong_types_everywhere() {
    fixture_case("wrong-types", rejected("must be a"));
}

#[test]
fn wrong_types_in_nested_fields() {
    fixture_case("wrong-types-nested", rejected("driver_opts"));
}

#[test]
fn unclosed_quotes_and_brackets() {
    for case in [
        "unclosed-double-quote",
        "unclosed-single-quote",
        "unclosed-flow",
    ] {
        fixture_case(case, rejected("unclosed"));
    }
}

// ---------------------------------------------------------------------------------------------
// references: extends, include, interpolation

#[test]
fn extends_cycle() {
    fixture_case("extends-cycle", rejected("circular reference"));
}

#[test]
fn extends_itself() {
    fixture_case("extends-self", rejected("circular reference"));
}

#[test]
fn extends_cycle_through_files() {
    fixture_case(
        "extends-file-cycle",
        Expect {
            file: "base.yaml",
            ..rejected("circular reference")
        },
    );
}

#[test]
fn extends_cycle_through_its_own_file() {
    fixture_case("extends-own-file", rejected("circular reference"));
}

#[test]
fn include_cycle() {
    fixture_case(
        "include-cycle",
        Expect {
            file: "other.yaml",
            ..rejected("include cycle")
        },
    );
}

#[test]
fn long_include_chain() {
    // Each file includes the next: nesting is bounded (64 levels), not the stack.
    let (_guard, dir) = tempdir();
    for i in 0..200 {
        write(
            &dir,
            &format!("f{i}.yaml"),
            format!(
                "include:\n  - f{}.yaml\nservices:\n  s{i}:\n    image: alpine:3.20\n",
                i + 1
            ),
        );
    }
    write(
        &dir,
        "f200.yaml",
        "services:\n  last:\n    image: alpine:3.20\n",
    );
    answers(
        &dir,
        "f0.yaml",
        &Expect {
            file: "f63.yaml",
            ..rejected("nested too deeply")
        },
    );
}

#[test]
fn one_file_included_thousands_of_times() {
    let (_guard, dir) = tempdir();
    let mut text = String::from("include:\n");
    for _ in 0..3_000 {
        text.push_str("  - other.yaml\n");
    }
    text.push_str("services:\n  a:\n    image: alpine:3.20\n");
    write(&dir, "stack.yaml", text);
    write(
        &dir,
        "other.yaml",
        "services:\n  b:\n    image: alpine:3.20\n",
    );
    answers(&dir, "stack.yaml", &rejected("too many files"));
}

#[test]
fn files_extended_by_every_service_of_the_file_before() {
    // f0's ten services extend f1, whose ten services extend f2, …: 10^12 loads if each
    // `extends` loaded its file again.
    let (_guard, dir) = tempdir();
    let depth = 12;
    for d in 0..depth {
        let mut text = String::from("services:\n");
        for i in 0..10 {
            if d + 1 < depth {
                text.push_str(&format!(
                    "  s{i}:\n    extends:\n      file: f{}.yaml\n      service: s{i}\n",
                    d + 1
                ));
            } else {
                text.push_str(&format!("  s{i}:\n    image: alpine:3.20\n"));
            }
        }
        write(&dir, &format!("f{d}.yaml"), text);
    }
    for command in ["check", "volumes", "migrate"] {
        stowage(&dir, &[command, "f0.yaml"]).expect_code(0);
    }
}

#[test]
fn include_of_itself() {
    fixture_case("include-self", rejected("include cycle"));
}

#[test]
fn deeply_nested_interpolation() {
    fixture_case("deep-interpolation", rejected("invalid interpolation"));
    let (_guard, dir) = tempdir();
    write(
        &dir,
        "stack.yaml",
        format!(
            "services:\n  app:\n    image: {}alpine{}\n",
            "${A:-".repeat(DEPTH),
            "}".repeat(DEPTH)
        ),
    );
    answers(&dir, "stack.yaml", &rejected("invalid interpolation"));
}

#[test]
fn env_file_values_that_double_at_every_line() {
    fixture_case(
        "env-doubling",
        Expect {
            file: ".env",
            ..rejected("too large")
        },
    );
}

#[test]
fn a_large_variable_used_everywhere() {
    // 512 KiB from `.env`, used in 300 places: bounded by the project's budget.
    let (_guard, dir) = tempdir();
    let mut text = String::from("services:\n  app:\n    image: alpine:3.20\n    environment:\n");
    for i in 0..300 {
        text.push_str(&format!("      V{i}: ${{BIG}}\n"));
    }
    write(&dir, "stack.yaml", text);
    write(&dir, ".env", format!("BIG={}\n", "b".repeat(512 * 1024)));
    answers(&dir, "stack.yaml", &rejected("too large"));
}

// ---------------------------------------------------------------------------------------------
// the file system

#[test]
fn directories_named_like_compose_files() {
    let (_guard, dir) = tempdir();
    std::fs::create_dir_all(dir.join("project/compose.yaml")).expect("mkdir");
    std::fs::create_dir_all(dir.join("project/docker-compose.override.yml/inner")).expect("mkdir");
    write(
        &dir,
        "project/docker-compose.yml",
        "services:\n  app:\n    image: alpine:3.20\n",
    );
    // A walk skips the directories and finds the real file.
    for command in ["check", "volumes", "migrate"] {
        stowage(&dir, &[command, "project"]).expect_code(0);
    }
    stowage(&dir, &["volumes", "project"]).expect_mention("docker-compose.yml");
    // Named as a file, the directory is an error that says what it is.
    for command in ["check", "volumes", "migrate"] {
        stowage(&dir, &[command, "-f", "project/compose.yaml"])
            .expect_code(2)
            .expect_mention("project/compose.yaml");
    }
    stowage(&dir, &["volumes", "-f", "project/compose.yaml"]).expect_mention("is a directory");
}

#[cfg(unix)]
#[test]
fn symlink_loops_during_discovery() {
    use std::os::unix::fs::symlink;
    let (_guard, dir) = tempdir();
    write(
        &dir,
        "repo/app/compose.yaml",
        "services:\n  app:\n    image: alpine:3.20\n",
    );
    symlink(".", dir.join("repo/app/self")).expect("symlink");
    symlink("..", dir.join("repo/app/parent")).expect("symlink");
    symlink("b", dir.join("repo/a")).expect("symlink");
    symlink("a", dir.join("repo/b")).expect("symlink");
    symlink("docker-compose.yml", dir.join("repo/docker-compose.yml")).expect("symlink");
    symlink("compose.yaml", dir.join("repo/app/compose.override.yaml")).expect("symlink");
    for command in ["check", "volumes", "migrate"] {
        stowage(&dir, &[command, "repo"]).expect_code(0);
    }
    stowage(&dir, &["volumes", "repo"]).expect_mention("repo/app/compose.yaml");
    // Named directly, a link that loops is a path that cannot be read.
    for command in ["check", "volumes", "migrate"] {
        stowage(&dir, &[command, "repo/docker-compose.yml"])
            .expect_code(2)
            .expect_mention("repo/docker-compose.yml");
    }
}

#[cfg(unix)]
#[test]
fn fifo_named_like_a_compose_file() {
    let (_guard, dir) = tempdir();
    std::fs::create_dir_all(dir.join("p")).expect("mkdir");
    let made = Command::new("mkfifo")
        .arg(dir.join("p/compose.yaml"))
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        eprintln!("note: mkfifo is not available, skipping");
        return;
    }
    write(
        &dir,
        "p/docker-compose.yml",
        "services:\n  a:\n    image: alpine:3.20\n",
    );
    // Reading a FIFO would block forever: it is refused, not read.
    for command in ["check", "volumes", "migrate"] {
        stowage(&dir, &[command, "-f", "p/compose.yaml"])
            .expect_code(2)
            .expect_mention("p/compose.yaml");
        stowage(&dir, &[command, "p/compose.yaml"])
            .expect_code(2)
            .expect_mention("p/compose.yaml")
            .expect_mention("not a regular file");
        stowage(&dir, &[command, "p"]).expect_code(0);
    }
}

#[test]
fn paths_that_do_not_exist() {
    let (_guard, dir) = tempdir();
    for command in ["check", "volumes", "migrate"] {
        stowage(&dir, &[command, "missing.yaml"])
            .expect_code(2)
            .expect_mention("missing.yaml");
        stowage(&dir, &[command, "missing/dir"])
            .expect_code(2)
            .expect_mention("missing/dir");
        stowage(&dir, &[command, "-f", "missing.yaml"])
            .expect_code(2)
            .expect_mention("missing.yaml");
    }
}

// ---------------------------------------------------------------------------------------------
// a bug in one file's processing

#[test]
fn a_panic_becomes_an_error_for_that_file_and_the_run_goes_on() {
    let (_guard, dir) = tempdir();
    let text = "services:\n  db:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data\n";
    write(&dir, "a/compose.yaml", text);
    write(&dir, "b/docker-compose.yml", text);
    let panic = [("STOWAGE_INJECT_PANIC", "compose.yaml")];
    for command in ["check", "volumes", "migrate"] {
        let out = stowage_env(&dir, &[command, "a", "b"], &panic);
        out.expect_code(2)
            .expect_mention("a/compose.yaml")
            .expect_mention("internal error");
        // The other project is still reported.
        out.expect_mention("b/docker-compose.yml");
    }
}

#[test]
fn a_panic_after_loading_is_an_error_for_that_project_and_the_run_goes_on() {
    let (_guard, dir) = tempdir();
    let text = "services:\n  db:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data\n";
    write(&dir, "a/compose.yaml", text);
    write(&dir, "b/docker-compose.yml", text);
    let check = |format: &'static str| vec!["check", "--format", format];
    let check_formats = || {
        [
            "human", "concise", "github", "json", "sarif", "gitlab", "junit",
        ]
        .into_iter()
        .map(check)
    };
    let volumes_formats = ["table", "json", "mermaid", "dot"]
        .into_iter()
        .map(|f| vec!["volumes", "--format", f]);
    let cases: Vec<(&str, Vec<Vec<&str>>, &str)> = vec![
        (
            "lint",
            check_formats()
                .chain([vec!["check", "--diff", "--unsafe-fixes"]])
                .collect(),
            "internal error while checking this project",
        ),
        (
            "render",
            check_formats().chain(volumes_formats).collect(),
            "internal error while rendering this project",
        ),
        (
            "migrate",
            vec![vec!["migrate"], vec!["migrate", "--write"]],
            "internal error while migrating this project",
        ),
    ];
    for (stage, runs, says) in cases {
        let panic = format!("{stage}:compose.yaml");
        for mut args in runs {
            args.extend(["a", "b"]);
            let out = stowage_env(&dir, &args, &[("STOWAGE_INJECT_PANIC", &panic)]);
            // The project is named, with what went wrong.
            out.expect_code(2)
                .expect_mention("a/compose.yaml")
                .expect_mention("injected panic");
            // (SARIF writes sentences: capitalised.)
            assert!(
                out.all().to_lowercase().contains(says),
                "`{says}` is not in the output\n{}",
                out.context()
            );
            // The other project is still reported, in a document that is whole.
            let format = args[1..args.len() - 2].last().copied().unwrap_or("");
            match (args[0], format) {
                ("check", "json" | "sarif" | "gitlab") | ("volumes", "json") => {
                    let json: serde_json::Value = serde_json::from_str(&out.stdout)
                        .unwrap_or_else(|e| panic!("{e}\n{}", out.context()));
                    assert!(json.to_string().contains("b/docker-compose.yml"));
                }
                ("check", "junit") => {
                    roxmltree::Document::parse(&out.stdout)
                        .unwrap_or_else(|e| panic!("{e}\n{}", out.context()));
                    out.expect_mention("b/docker-compose.yml");
                }
                // Written: the plan names the project (the file is looked at below).
                ("migrate", "--write") => {
                    out.expect_mention("project `b`");
                }
                _ => {
                    out.expect_mention("b/docker-compose.yml");
                }
            }
        }
    }
    // Nothing was written for the project that failed; the other one was migrated.
    assert_eq!(
        std::fs::read_to_string(dir.join("a/compose.yaml")).expect("read"),
        text
    );
    assert_ne!(
        std::fs::read_to_string(dir.join("b/docker-compose.yml")).expect("read"),
        text
    );
}

// ---------------------------------------------------------------------------------------------
// control characters from a file never reach the terminal raw

#[test]
fn control_characters_from_a_file_are_printed_escaped() {
    // ESC sequences that clear the screen and set the window title, a bell, a C1 CSI, a
    // carriage return: in a service name (which compose's schema refuses, so `volumes` reports
    // the project as invalid too) and in volume targets.
    let (_guard, dir) = tempdir();
    write(
        &dir,
        "stack.yaml",
        "services:\n  \"a\\e[2Jb\\u009b\":\n    image: alpine:3.20\n    volumes:\n      - \"/d\\e]0;pwned\\a\"\n      - \"/x\\rY\"\n",
    );
    let raw = ['\u{1b}', '\u{7}', '\u{9b}', '\r'];
    for (args, code) in [
        (&["check", "stack.yaml"][..], 1),
        (&["check", "--format", "concise", "stack.yaml"][..], 1),
        (&["check", "--format", "github", "stack.yaml"][..], 1),
        (&["volumes", "stack.yaml"][..], 1),
    ] {
        let out = stowage(&dir, args);
        out.expect_code(code)
            .expect_mention("\\u{1b}]0;pwned\\u{7}")
            .expect_mention("/x\\rY");
        assert!(
            !out.all().contains(raw),
            "a raw control character\n{}",
            out.context()
        );
    }
    stowage(&dir, &["volumes", "stack.yaml"]).expect_mention("a\\u{1b}[2Jb\\u{9b}");
    // A raw control character is a syntax error, shown with its line: the snippet must not
    // carry it to the terminal either.
    write(
        &dir,
        "raw.yaml",
        "services:\n  app:\n    image: alpine\u{1b}[2J\u{7}:3.20\n",
    );
    let out = stowage(&dir, &["check", "raw.yaml"]);
    out.expect_code(1).expect_mention("syntax-error");
    assert!(
        !out.all().contains(raw),
        "a raw control character\n{}",
        out.context()
    );
    // The data plan (stderr) is for people; the diff (stdout) is a patch, byte for byte.
    // (compose refuses the service name above, and migrate a project it refuses: the targets
    // alone, in a valid service.)
    write(
        &dir,
        "targets.yaml",
        "services:\n  app:\n    image: alpine:3.20\n    volumes:\n      - \"/d\\e]0;pwned\\a\"\n",
    );
    let out = stowage(&dir, &["migrate", "targets.yaml"]);
    out.expect_code(1)
        .expect_mention("app /d\\u{1b}]0;pwned\\u{7}");
    assert!(!out.stderr.contains(raw), "{}", out.context());
}

// ---------------------------------------------------------------------------------------------
// writes

const FIXABLE: &str =
    "services:\n  db:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data\n";

/// Files in `dir` left by a write (`.stowage-*.tmp`).
fn leftovers(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .expect("read dir")
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| n.starts_with(".stowage-"))
        .collect()
}

#[test]
fn failed_writes_leave_the_file_untouched() {
    for fault in ["create-temp", "write-temp", "rename"] {
        for args in [
            &["check", "--fix", "--unsafe-fixes", "compose.yaml"][..],
            &["migrate", "--write", "compose.yaml"][..],
        ] {
            let (_guard, dir) = tempdir();
            write(&dir, "compose.yaml", FIXABLE);
            let out = stowage_env(&dir, args, &[("STOWAGE_WRITE_FAULT", fault)]);
            out.expect_code(2).expect_mention("compose.yaml");
            assert_eq!(
                std::fs::read_to_string(dir.join("compose.yaml")).expect("read"),
                FIXABLE,
                "{fault}: the file changed\n{}",
                out.context()
            );
            assert!(leftovers(&dir).is_empty(), "{fault}: {:?}", leftovers(&dir));
            // Without the fault the same command writes.
            stowage(&dir, args).expect_code(0);
            assert_ne!(
                std::fs::read_to_string(dir.join("compose.yaml")).expect("read"),
                FIXABLE
            );
        }
    }
}

#[test]
fn a_file_changed_since_it_was_read_is_not_overwritten() {
    for args in [
        &["check", "--fix", "--unsafe-fixes", "compose.yaml"][..],
        &["migrate", "--write", "compose.yaml"][..],
    ] {
        let (_guard, dir) = tempdir();
        write(&dir, "compose.yaml", FIXABLE);
        let out = stowage_env(&dir, args, &[("STOWAGE_WRITE_FAULT", "changed")]);
        out.expect_code(2)
            .expect_mention("compose.yaml")
            .expect_mention("changed on disk");
        // What the other program wrote is kept; stowage's fix is not applied over it.
        assert_eq!(
            std::fs::read_to_string(dir.join("compose.yaml")).expect("read"),
            format!("{FIXABLE}# edited by another program\n")
        );
        assert!(leftovers(&dir).is_empty(), "{:?}", leftovers(&dir));
    }
}

#[cfg(unix)]
#[test]
fn writes_keep_permissions_and_go_through_symlinks() {
    use std::os::unix::fs::PermissionsExt;
    let (_guard, dir) = tempdir();
    write(&dir, "real/stack.yml", FIXABLE);
    let real = dir.join("real/stack.yml");
    std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).expect("chmod");
    std::fs::create_dir_all(dir.join("p")).expect("mkdir");
    std::os::unix::fs::symlink("../real/stack.yml", dir.join("p/compose.yaml")).expect("symlink");
    stowage(&dir, &["migrate", "--write", "p/compose.yaml"]).expect_code(0);
    let link = dir.join("p/compose.yaml");
    assert!(
        std::fs::symlink_metadata(&link)
            .expect("stat")
            .file_type()
            .is_symlink(),
        "the link was replaced by a file"
    );
    let fixed = std::fs::read_to_string(&real).expect("read");
    assert!(
        fixed.contains("db-data:/var/lib/postgresql/data"),
        "{fixed}"
    );
    assert_eq!(
        std::fs::metadata(&real).expect("stat").permissions().mode() & 0o777,
        0o640
    );
    assert!(leftovers(&dir.join("real")).is_empty());
    assert!(leftovers(&dir.join("p")).is_empty());
}

// ---------------------------------------------------------------------------------------------
// fuzzing regressions

/// Every input a fuzz target crashed on (`fixtures/hostile/fuzz/`, see docs/fuzzing.md) is
/// answered by every command, within the limits.
#[test]
fn fuzz_crashers_stay_fixed() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/hostile/fuzz");
    let mut inputs: Vec<PathBuf> = std::fs::read_dir(&src)
        .expect("fixtures/hostile/fuzz")
        .map(|e| e.expect("dir entry").path())
        .collect();
    inputs.sort();
    assert!(!inputs.is_empty());
    for input in inputs {
        let (_guard, dir) = tempdir();
        std::fs::copy(&input, dir.join("stack.yaml")).expect("copy");
        for command in ["check", "volumes", "migrate"] {
            let out = stowage(&dir, &[command, "stack.yaml"]);
            assert!(
                out.all().contains("stack.yaml"),
                "{}: the file is not named\n{}",
                input.display(),
                out.context()
            );
        }
        // The fix engine too, on a copy: it may refuse, never crash.
        let out = stowage(&dir, &["check", "--fix", "--unsafe-fixes", "stack.yaml"]);
        let _ = out.code;
    }
}
