//! The closing lines of `check`: the summary and `--statistics`, and the end of the reports
//! that have them (human, concise).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::finding::{Applicability, Finding, Severity};

/// What the closing lines need of a finding: a check over many projects keeps only this once a
/// project is rendered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Tally {
    pub(crate) rule: &'static str,
    pub(crate) severity: Severity,
    pub(crate) fix: Option<Applicability>,
}

impl From<&Finding> for Tally {
    fn from(f: &Finding) -> Tally {
        Tally {
            rule: f.rule,
            severity: f.severity,
            fix: f.fix.as_ref().map(|x| x.applicability),
        }
    }
}

/// What `check --fix` applied, for the line that says so.
pub(crate) struct Fixed {
    pub(crate) applied: usize,
    /// Files written.
    pub(crate) written: usize,
    /// Unsafe fixes left for `--unsafe-fixes`.
    pub(crate) unsafe_waiting: usize,
}

/// `--baseline`: findings it matched (not reported) and entries nothing matched any more.
#[derive(Debug, Clone, Copy, serde::Serialize)]
pub(crate) struct Baselined {
    pub(crate) matched: usize,
    pub(crate) stale: usize,
}

impl Baselined {
    /// The line after the summary.
    fn line(self) -> String {
        let Baselined { matched, stale } = self;
        let findings = if matched == 1 { "finding" } else { "findings" };
        let entries = if stale == 1 { "entry" } else { "entries" };
        let note = match stale {
            0 => "",
            1 => " (`--write-baseline` again drops it)",
            _ => " (`--write-baseline` again drops them)",
        };
        format!(
            "Baseline: {matched} {findings} matched (not reported), {stale} {entries} gone{note}.\n"
        )
    }
}

/// The sentence about the unsafe fixes `--unsafe-fixes` would apply (empty when there are none).
pub(crate) fn unsafe_note(waiting: usize) -> String {
    match waiting {
        0 => String::new(),
        1 => " 1 unsafe fix is available with `--unsafe-fixes`.".into(),
        n => format!(" {n} unsafe fixes are available with `--unsafe-fixes`."),
    }
}

/// The end of the human and concise reports: failures on standard error, then `--statistics`,
/// what `--fix` applied and the summary line (unless `--quiet`, or nothing was read and
/// something failed).
pub(crate) fn end(out: &mut super::Out, end: &super::End) -> std::io::Result<()> {
    for (p, m) in end.failures {
        crate::output::eprint_failure(p.as_deref(), m);
    }
    if end.statistics {
        out.write(&statistics_of(end.tallies));
    }
    if !end.quiet && (end.files > 0 || end.failures.is_empty()) {
        if let Some(Fixed {
            applied,
            written,
            unsafe_waiting,
        }) = end.fixed
        {
            let fixes = if applied == 1 { "fix" } else { "fixes" };
            out.write(&format!(
                "Applied {applied} {fixes} to {written} file(s).{}\n",
                unsafe_note(unsafe_waiting)
            ));
        }
        out.write(&line_of(end.tallies, end.files));
        if let Some(baselined) = end.baseline {
            out.write(&baselined.line());
        }
    }
    Ok(())
}

pub(crate) fn line_of(findings: &[Tally], files: usize) -> String {
    let files_word = if files == 1 { "file" } else { "files" };
    if findings.is_empty() {
        return format!("No findings in {files} {files_word}.\n");
    }
    let count = |s: Severity| findings.iter().filter(|f| f.severity == s).count();
    let mut parts = Vec::new();
    for (s, one, many) in [
        (Severity::Error, "error", "errors"),
        (Severity::Warning, "warning", "warnings"),
        (Severity::Info, "info", "infos"),
    ] {
        match count(s) {
            0 => {}
            1 => parts.push(format!("1 {one}")),
            n => parts.push(format!("{n} {many}")),
        }
    }
    let word = if findings.len() == 1 {
        "finding"
    } else {
        "findings"
    };
    let mut out = format!(
        "Found {} {word} ({}) in {files} {files_word}.\n",
        findings.len(),
        parts.join(", ")
    );
    let with = |a: Applicability| findings.iter().filter(|f| f.fix == Some(a)).count();
    match (with(Applicability::Safe), with(Applicability::Unsafe)) {
        (0, 0) => {}
        (safe, 0) => {
            let _ = writeln!(out, "{safe} fixable with `--fix`.");
        }
        (0, unsafe_) => {
            let _ = writeln!(
                out,
                "{unsafe_} fixable with `--fix --unsafe-fixes` (they change where data lives: `stowage migrate` prints the data plan)."
            );
        }
        (safe, unsafe_) => {
            let _ = writeln!(
                out,
                "{safe} fixable with `--fix`, {unsafe_} more with `--unsafe-fixes` (they change where data lives: `stowage migrate` prints the data plan)."
            );
        }
    }
    out
}

pub(crate) fn statistics_of(findings: &[Tally]) -> String {
    let mut counts: BTreeMap<&str, (usize, Severity)> = BTreeMap::new();
    for f in findings {
        let e = counts.entry(f.rule).or_insert((0, f.severity));
        e.0 += 1;
        e.1 = e.1.max(f.severity);
    }
    let mut rows: Vec<(&str, usize, Severity)> =
        counts.into_iter().map(|(r, (n, s))| (r, n, s)).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut out = String::new();
    for (rule, n, s) in rows {
        let _ = writeln!(out, "{n:>5}  {rule:<24} [{}]", s.as_str());
    }
    out
}
