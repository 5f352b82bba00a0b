//! Findings for people: source snippets with labels (miette), colours only on a terminal.

use std::collections::HashMap;
use std::sync::Arc;

use miette::{
    GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, MietteError,
    MietteSpanContents, NamedSource, Report, SourceCode, SourceSpan, SpanContents,
};

use super::position;
use crate::finding::{Finding, Severity};
use crate::model::Project;

pub struct Human {
    handler: GraphicalReportHandler,
    /// The same without line wrapping, for findings whose message and help are short enough
    /// not to wrap: wrapping (Unicode line breaking) took a third of the rendering time, and
    /// wraps such a line to itself.
    unwrapped: GraphicalReportHandler,
}

/// The report width (`with_width`).
const WIDTH: usize = 100;

/// Whether `text` is one line that miette's wrapping leaves as it is: it fits the width with
/// the widest indent miette puts before it (`  help: `, 8 columns; bytes are at least columns),
/// and has no whitespace at its ends, no line break and no tab.
fn fits_unwrapped(text: &str) -> bool {
    !text.is_empty()
        && text.len() + 8 + 2 < WIDTH - 2
        && text.trim() == text
        && !text.contains(['\n', '\r', '\t'])
}

impl Human {
    pub fn new(colour: bool) -> Human {
        let theme = if colour {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_context_lines(1)
            .with_width(WIDTH);
        Human {
            unwrapped: handler.clone().with_wrap_lines(false),
            handler,
        }
    }

    pub fn render(&self, out: &mut String, project: &Project, findings: &[Finding]) {
        let mut sources: HashMap<usize, Windowed> = HashMap::new();
        for f in findings {
            let source = sources
                .entry(f.loc.file)
                .or_insert_with(|| Windowed::new(project.file(f.loc.file).source.text.clone()))
                .clone();
            self.render_one(out, project, f, source);
        }
    }

    fn render_one(&self, out: &mut String, project: &Project, f: &Finding, source: Windowed) {
        let file = &project.file(f.loc.file).source;
        let primary = if f.services.len() > 1 {
            format!(
                "in services {}",
                f.services
                    .iter()
                    .map(|s| format!("`{s}`"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            f.services
                .first()
                .map(|s| format!("in service `{s}`"))
                .unwrap_or_default()
        };
        let mut labels = vec![LabeledSpan::new_primary_with_span(
            Some(primary).filter(|p| !p.is_empty()),
            f.loc.start..f.loc.end,
        )];
        let mut elsewhere = Vec::new();
        for l in &f.labels {
            if project.file(l.loc.file).source.path == file.path {
                labels.push(LabeledSpan::new_with_span(
                    Some(l.message.clone()),
                    l.loc.start..l.loc.end,
                ));
            } else {
                let p = position(project, l.loc);
                elsewhere.push(format!("{}:{}:{}: {}", p.path, p.line, p.column, l.message));
            }
        }
        let severity = match f.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        };
        let mut help = f.help.clone();
        for e in elsewhere {
            help.push_str("\nsee ");
            help.push_str(&e);
        }
        let handler = if fits_unwrapped(&f.message) && fits_unwrapped(&help) {
            &self.unwrapped
        } else {
            &self.handler
        };
        let diagnostic = MietteDiagnostic::new(f.message.clone())
            .with_code(f.rule)
            .with_severity(severity)
            .with_help(help);
        // miette pads snippets with `{:width$}`, which panics past a width of 65 535: a finding
        // on a very long line is shown without its snippet.
        let too_wide = std::iter::once(f.loc.start)
            .chain(f.labels.iter().map(|l| l.loc.start))
            .any(|at| file.line_range(at).len() > MAX_SNIPPET_LINE);
        let report = if too_wide {
            Report::new(diagnostic)
        } else {
            Report::new(diagnostic.with_labels(labels))
                .with_source_code(NamedSource::new(file.display.clone(), source))
        };
        let p = position(project, f.loc);
        out.push_str(&format!("{}:{}:{}\n", p.path, p.line, p.column));
        let _ = handler.render_report(out, report.as_ref());
        out.push('\n');
    }
}

/// The longest line shown as a source snippet (in bytes).
const MAX_SNIPPET_LINE: usize = 10_000;

/// A file's text as miette reads it, from the lines around a span: miette's own `str` source
/// scans from the start of the file for every label of every finding, which made a file with many
/// findings quadratic. Gives miette exactly what its `str` source gives (same data, span, line,
/// column and line count).
#[derive(Debug, Clone)]
struct Windowed {
    text: Arc<str>,
    /// Where each line starts, with miette's line breaks (`\n`, `\r\n`, a lone `\r`).
    line_starts: Arc<Vec<usize>>,
}

impl Windowed {
    fn new(text: Arc<str>) -> Windowed {
        let bytes = text.as_bytes();
        let mut line_starts = vec![0];
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'\r' if bytes.get(i + 1) == Some(&b'\n') => {
                    i += 1;
                    line_starts.push(i + 1);
                }
                b'\r' | b'\n' => line_starts.push(i + 1),
                _ => {}
            }
            i += 1;
        }
        Windowed {
            text,
            line_starts: Arc::new(line_starts),
        }
    }
}

impl SourceCode for Windowed {
    fn read_span<'a>(
        &'a self,
        span: &SourceSpan,
        context_lines_before: usize,
        context_lines_after: usize,
    ) -> Result<Box<dyn SpanContents<'a> + 'a>, MietteError> {
        // miette starts its contents `context_lines_before` lines above the span's line: read
        // from the start of that line on, and shift what it finds back into the whole file.
        let line = self.line_starts.partition_point(|&s| s <= span.offset()) - 1;
        let first = line.saturating_sub(context_lines_before);
        let start = self.line_starts[first];
        let window = &self.text.as_bytes()[start..];
        let shifted = SourceSpan::new((span.offset() - start).into(), span.len());
        let inner = window.read_span(&shifted, context_lines_before, context_lines_after)?;
        let data_span = *inner.span();
        Ok(Box::new(MietteSpanContents::new(
            inner.data(),
            SourceSpan::new((data_span.offset() + start).into(), data_span.len()),
            inner.line() + first,
            inner.column(),
            inner.line_count() + first,
        )))
    }
}
