//! Every transcript of README.md is what the binary prints: a fenced block whose first line is
//! `$ stowage …` or `$ cat …` is a shell session, each `$ ` line a command and the lines up to the
//! next one its output (stdout and stderr as a terminal shows them, one after the other).
//!
//! The commands run with `sh` in a scratch directory holding a copy of `fixtures/demo`, with the
//! binary on the `PATH` and an otherwise empty environment. `$ cat FILE` of a file that does not
//! exist yet creates it with the output shown (the README's way of setting up an example file;
//! it stays there for the later transcripts). A line `…` in an output stands for any number of
//! lines, so a long output can be shown in part. `STOWAGE_UPDATE_DOCS=1 cargo test --test readme`
//! rewrites the outputs shown whole to what the binary prints.

use std::path::Path;
use std::process::Command;

mod common;
use common::binary::{copy_dir, manifest_dir, tempdir};

/// One command of a transcript and the output shown for it.
struct Step {
    command: String,
    /// Line range of the output in README.md (0-based, end exclusive).
    output: std::ops::Range<usize>,
}

/// The transcripts: each a list of steps, in README order.
fn transcripts(lines: &[&str]) -> Vec<Vec<Step>> {
    let mut found = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let fence = lines[i].trim_end();
        let ticks = fence.len() - fence.trim_start_matches('`').len();
        if ticks < 3 {
            i += 1;
            continue;
        }
        let end = (i + 1..lines.len())
            .find(|&j| lines[j].trim_end() == &fence[..ticks])
            .unwrap_or_else(|| panic!("README.md:{}: unclosed code block", i + 1));
        let first = lines.get(i + 1).copied().unwrap_or("");
        if fence.len() == ticks && (first.starts_with("$ stowage") || first.starts_with("$ cat ")) {
            let mut steps: Vec<Step> = Vec::new();
            for (j, line) in lines.iter().enumerate().take(end).skip(i + 1) {
                if let Some(command) = line.strip_prefix("$ ") {
                    steps.push(Step {
                        command: command.to_owned(),
                        output: j + 1..j + 1,
                    });
                } else if let Some(step) = steps.last_mut() {
                    step.output.end = j + 1;
                }
            }
            found.push(steps);
        }
        i = end + 1;
    }
    found
}

/// `command` run by `sh` in `dir`: stdout, then stderr after it.
fn run(dir: &Path, command: &str) -> String {
    let bin = Path::new(env!("CARGO_BIN_EXE_stowage"))
        .parent()
        .expect("the binary is in a directory");
    let out = Command::new("sh")
        .arg("-c")
        .arg(command)
        .env_clear()
        .env("PATH", format!("{}:/usr/bin:/bin", bin.display()))
        .current_dir(dir)
        .output()
        .expect("sh runs");
    let mut text = String::from_utf8(out.stdout).expect("stdout is UTF-8");
    text.push_str(&String::from_utf8(out.stderr).expect("stderr is UTF-8"));
    text
}

/// Whether `actual` is what `shown` shows: equal line by line (trailing blanks aside, as
/// Markdown does not show them), where a line `…` stands for any number of lines.
fn matches(shown: &[&str], actual: &[&str]) -> bool {
    let Some(gap) = shown.iter().position(|l| *l == "…") else {
        return shown.len() == actual.len()
            && shown
                .iter()
                .zip(actual)
                .all(|(s, a)| s.trim_end() == a.trim_end());
    };
    let (head, rest) = (&shown[..gap], &shown[gap + 1..]);
    actual.len() >= head.len()
        && matches(head, &actual[..head.len()])
        && (head.len()..=actual.len()).any(|from| matches(rest, &actual[from..]))
}

#[test]
fn readme_transcripts_are_what_the_binary_prints() {
    let path = manifest_dir().join("README.md");
    let text = std::fs::read_to_string(&path).expect("README.md");
    let lines: Vec<&str> = text.lines().collect();
    let (_tmp, dir) = tempdir();
    copy_dir(
        &manifest_dir().join("fixtures/demo"),
        &dir.join("fixtures/demo"),
    );

    let update = std::env::var_os("STOWAGE_UPDATE_DOCS").is_some();
    let mut replacements: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    let mut failures = Vec::new();
    let transcripts = transcripts(&lines);
    let steps: usize = transcripts.iter().map(Vec::len).sum();
    for step in transcripts.iter().flatten() {
        let shown = &lines[step.output.clone()];
        if let Some(file) = step.command.strip_prefix("cat ")
            && !dir.join(file).exists()
        {
            std::fs::write(dir.join(file), shown.join("\n") + "\n").expect("write");
        }
        let actual = run(&dir, &step.command);
        let actual_lines: Vec<&str> = actual.lines().collect();
        if matches(shown, &actual_lines) {
            continue;
        }
        if update && !shown.contains(&"…") {
            replacements.push((step.output.clone(), actual));
            continue;
        }
        let diff = similar::TextDiff::from_lines(&(shown.join("\n") + "\n"), &actual)
            .unified_diff()
            .header("README.md", "stowage")
            .to_string();
        failures.push(format!(
            "README.md:{}: `$ {}` prints something else:\n{diff}",
            step.output.start, step.command
        ));
    }
    if !replacements.is_empty() {
        let mut out: Vec<String> = lines.iter().map(|l| (*l).to_owned()).collect();
        for (range, actual) in replacements.into_iter().rev() {
            out.splice(range, actual.lines().map(str::to_owned));
        }
        std::fs::write(&path, out.join("\n") + "\n").expect("write README.md");
    }
    assert!(steps >= 10, "only {steps} transcript commands found");
    assert!(
        failures.is_empty(),
        "{} README transcripts differ (STOWAGE_UPDATE_DOCS=1 rewrites those shown whole):\n\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn gaps_in_shown_outputs_stand_for_any_lines() {
    assert!(matches(&["a", "…"], &["a", "b", "c"]));
    assert!(matches(&["a", "…", "c", "…"], &["a", "b", "c", "d"]));
    assert!(matches(&["a", "…", "c"], &["a", "b", "c"]));
    assert!(!matches(&["a", "…", "c"], &["a", "b", "c", "d"]));
    assert!(!matches(&["a", "b"], &["a", "b", "c"]));
    assert!(matches(&["a  "], &["a"]));
}
