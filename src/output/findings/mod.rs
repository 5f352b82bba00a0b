//! `check`'s report: one [`Reporter`] per format (a file each), chosen in one place,
//! [`reporter`]. A reporter renders each project's findings in parts as the project is checked
//! (or, for a whole document, nothing until every project is there), and writes the end of the
//! report: failures, the summary, the JSON tail, or the whole document. [`Out`] puts the parts on
//! standard output (or standard error) in project order.

pub(crate) mod concise;
pub(crate) mod github;
pub(crate) mod gitlab;
pub mod human;
pub(crate) mod json;
pub(crate) mod junit;
pub mod sarif;
pub(crate) mod summary;

use std::io::Write as _;

use crate::compose::model::Project;
use crate::finding::Finding;
use summary::Tally;

/// `check --format`.
#[derive(clap::ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
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

/// The reporter of `format`: the one place a format is told from another (`colour`: the human
/// report's, when standard output is a terminal).
pub(crate) fn reporter(format: Format, colour: bool) -> Box<dyn Reporter> {
    match format {
        Format::Human => Box::new(human::Reporter(human::Human::new(colour))),
        Format::Concise => Box::new(concise::Reporter),
        Format::Json => Box::new(json::Reporter),
        Format::Sarif => Box::new(sarif::REPORTER),
        Format::Github => Box::new(github::Reporter),
        Format::Gitlab => Box::new(gitlab::REPORTER),
        Format::Junit => Box::new(junit::REPORTER),
    }
}

/// A path or project stowage could not check, and why.
pub(crate) type Failure = (Option<String>, String);

/// What the end of a report is made of.
pub(crate) struct End<'a> {
    /// What could not be checked, in order.
    pub(crate) failures: &'a [Failure],
    /// What the summary needs of every finding reported.
    pub(crate) tallies: &'a [Tally],
    /// Distinct files read.
    pub(crate) files: usize,
    /// `--statistics`, `--quiet`.
    pub(crate) statistics: bool,
    pub(crate) quiet: bool,
    /// `--fix`: what was applied.
    pub(crate) fixed: Option<summary::Fixed>,
    /// Every project with its findings, for a whole document (empty otherwise).
    pub(crate) results: &'a [(&'a Project, Vec<Finding>)],
    /// The working directory (SARIF's `%SRCROOT%`).
    pub(crate) cwd: &'a std::path::Path,
    /// `--baseline`: what it matched.
    pub(crate) baseline: Option<summary::Baselined>,
}

/// A format of `check`'s report.
pub(crate) trait Reporter: Sync {
    /// Whether the report is one document made from every project at once (by `end`): `check`
    /// then keeps every project until the end.
    fn whole_document(&self) -> bool {
        false
    }

    /// One project's findings, a part at a time, each handed to `emit` in order (a whole
    /// document renders nothing here).
    fn project(&self, project: &Project, findings: &[Finding], emit: &mut dyn FnMut(Chunk)) {
        let _ = (project, findings, emit);
    }

    /// Makes what `end` would make of `results`, and drops it: a bug shows here, before anything
    /// is written (whole documents only).
    fn probe(&self, results: &[(&Project, Vec<Finding>)]) {
        let _ = results;
    }

    /// Writes a part `project` rendered.
    fn chunk(&self, out: &mut Out, chunk: &Chunk) {
        out.chunk(chunk);
    }

    /// The end of the report, after every project's parts.
    fn end(&self, out: &mut Out, end: &End) -> std::io::Result<()>;
}

/// A report that is one document of every project: `probe` makes what `write` would, and drops
/// it; `write` writes the document (and what it leaves out of the failures) at the end.
pub(crate) struct Document {
    probe: fn(&[(&Project, Vec<Finding>)]),
    write: fn(&mut Out, &End) -> std::io::Result<()>,
}

impl Reporter for Document {
    fn whole_document(&self) -> bool {
        true
    }

    fn probe(&self, results: &[(&Project, Vec<Finding>)]) {
        (self.probe)(results);
    }

    fn end(&self, out: &mut Out, end: &End) -> std::io::Result<()> {
        (self.write)(out, end)
    }
}

/// Findings rendered, in order.
pub(crate) struct Chunk {
    text: String,
    /// The findings the text holds, and those with a fix.
    findings: usize,
    fixable: usize,
}

impl Chunk {
    fn new(text: String, findings: &[Finding]) -> Chunk {
        Chunk {
            text,
            findings: findings.len(),
            fixable: findings.iter().filter(|f| f.fix.is_some()).count(),
        }
    }
}

/// `findings` rendered by `render` in parts of a few thousand (what waits to be written stays
/// small).
fn in_parts(
    project: &Project,
    findings: &[Finding],
    emit: &mut dyn FnMut(Chunk),
    render: fn(&mut String, &Project, &[Finding]),
) {
    const PART: usize = 4096;
    for part in findings.chunks(PART) {
        let mut text = String::new();
        render(&mut text, project, part);
        emit(Chunk::new(text, part));
    }
}

/// Where the report goes: standard output, or standard error held until the end (`check --fix -`
/// prints the fixed text on standard output; the report follows what went to standard error
/// before it). The first error writing it is kept ([`Out::error`]: the command then exits 2),
/// except a closed pipe (`stowage check | head`): the reader wanted no more.
pub(crate) struct Out {
    out: std::io::BufWriter<Box<dyn std::io::Write + Send>>,
    /// The findings written, and those with a fix.
    findings: usize,
    fixable: usize,
    error: Option<std::io::Error>,
}

/// Standard error, written when flushed.
struct HeldStderr(Vec<u8>);

impl std::io::Write for HeldStderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let mut stderr = std::io::stderr().lock();
        stderr.write_all(&std::mem::take(&mut self.0))?;
        stderr.flush()
    }
}

impl Out {
    pub(crate) fn new(to_stderr: bool) -> Out {
        let out: Box<dyn std::io::Write + Send> = if to_stderr {
            Box::new(HeldStderr(Vec::new()))
        } else {
            Box::new(std::io::stdout())
        };
        Out::writing(out)
    }

    /// The report written to `file` instead of standard output.
    pub(crate) fn to_file(file: std::fs::File) -> Out {
        Out::writing(Box::new(file))
    }

    fn writing(out: Box<dyn std::io::Write + Send>) -> Out {
        Out {
            out: std::io::BufWriter::with_capacity(1 << 16, out),
            findings: 0,
            fixable: 0,
            error: None,
        }
    }

    /// Keeps the first error of `result` that is not a closed pipe.
    pub(crate) fn record(&mut self, result: std::io::Result<()>) {
        if let Err(e) = result
            && e.kind() != std::io::ErrorKind::BrokenPipe
            && self.error.is_none()
        {
            self.error = Some(e);
        }
    }

    /// The first error writing the report (a full disk): the report is not whole.
    pub(crate) fn error(&self) -> Option<&std::io::Error> {
        self.error.as_ref()
    }

    pub(crate) fn write(&mut self, text: &str) {
        let result = self.out.write_all(text.as_bytes());
        self.record(result);
    }

    fn chunk(&mut self, chunk: &Chunk) {
        self.write(&chunk.text);
        self.findings += chunk.findings;
        self.fixable += chunk.fixable;
    }

    /// What a whole document is written to.
    fn writer(&mut self) -> &mut dyn std::io::Write {
        &mut self.out
    }

    pub(crate) fn flush(&mut self) {
        let result = self.out.flush();
        self.record(result);
    }
}
