//! `check`'s report in the formats written project by project (human, concise, github, json):
//! each project's findings rendered in parts, and the writer that puts the parts on standard
//! output in project order with the JSON document's opening and end around them.

use std::io::Write as _;

use rayon::prelude::*;

use super::human::Human;
use super::{check_json, concise, github};
use crate::compose::model::Project;
use crate::finding::Finding;

/// The formats written a project at a time.
#[derive(Clone, Copy)]
pub enum Format<'a> {
    Human(&'a Human),
    Concise,
    Github,
    Json,
}

/// Findings rendered, in order.
pub struct Chunk {
    text: String,
    /// JSON: the findings the text holds (elements of the `findings` array), and those with a fix.
    findings: usize,
    fixable: usize,
}

/// The findings of one project in `format`, a part at a time (`emit` writes or keeps each one).
pub fn render_project(
    format: Format,
    project: &Project,
    findings: &[Finding],
    emit: &mut dyn FnMut(Chunk),
) {
    const PART: usize = 4096;
    if let Format::Human(human) = format {
        render_human(human, project, findings, &mut |text| {
            emit(Chunk {
                text,
                findings: 0,
                fixable: 0,
            })
        });
        return;
    }
    for part in findings.chunks(PART) {
        let mut text = String::new();
        match format {
            Format::Concise => concise::render_findings(&mut text, project, part),
            Format::Github => github::render_findings(&mut text, project, part),
            Format::Json => check_json::elements(&mut text, project, part),
            Format::Human(_) => unreachable!("rendered above"),
        }
        emit(Chunk {
            text,
            findings: part.len(),
            fixable: part.iter().filter(|f| f.fix.is_some()).count(),
        });
    }
}

/// The human report of one project; a long one is rendered in parts side by side, a few parts
/// per thread at a time, each handed to `emit` in order (what waits to be written stays small).
fn render_human(
    human: &Human,
    project: &Project,
    findings: &[Finding],
    emit: &mut dyn FnMut(String),
) {
    const PART: usize = 512;
    const MAX_PART: usize = 2048;
    if findings.len() <= PART {
        let mut text = String::new();
        human.render(&mut text, project, findings);
        emit(text);
        return;
    }
    let threads = rayon::current_num_threads();
    let part = findings.len().div_ceil(4 * threads).clamp(PART, MAX_PART);
    for wave in findings.chunks(part * 2 * threads) {
        let parts: Vec<String> = wave
            .par_chunks(part)
            .map(|chunk| {
                let mut text = String::new();
                human.render(&mut text, project, chunk);
                text
            })
            .collect();
        for p in parts {
            emit(p);
        }
    }
}

/// Standard output: the projects' text in order, then the closing lines. JSON is one document:
/// its opening is written before the first finding, its end by `close_json`. A closed pipe
/// (`stowage check | head`) is not an error worth reporting.
pub struct Report {
    out: std::io::BufWriter<std::io::Stdout>,
    json: bool,
    /// JSON: the findings written, and those with a fix.
    findings: usize,
    fixable: usize,
}

impl Report {
    pub fn new(format: Format) -> Report {
        Report {
            out: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout()),
            json: matches!(format, Format::Json),
            findings: 0,
            fixable: 0,
        }
    }

    pub fn write(&mut self, text: &str) {
        let _ = self.out.write_all(text.as_bytes());
    }

    pub fn chunk(&mut self, chunk: &Chunk) {
        if chunk.text.is_empty() {
            return;
        }
        if self.json {
            if self.findings == 0 {
                self.write(check_json::OPEN);
                self.write("\n");
            } else {
                self.write(",\n");
            }
        }
        self.write(&chunk.text);
        self.findings += chunk.findings;
        self.fixable += chunk.fixable;
    }

    /// The rest of the JSON document (the opening too, when no finding was written), in `out`.
    pub fn close_json(
        &mut self,
        out: &mut String,
        errors: Vec<check_json::ErrorOut>,
        files: usize,
    ) {
        if self.findings == 0 {
            out.push_str(check_json::OPEN);
        }
        check_json::close(
            out,
            self.findings > 0,
            errors,
            files,
            self.findings,
            self.fixable,
        );
    }

    pub fn flush(&mut self) {
        let _ = self.out.flush();
    }
}
