//! Findings for people: source snippets with labels (miette), colours only on a terminal.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::Arc;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError,
    MietteSpanContents, NamedSource, SourceCode, SourceSpan, SpanContents,
};
use unicode_width::UnicodeWidthStr;

use super::escape::{one_line, same_length, terminal};
use super::position;
use crate::finding::{Finding, Severity};
use crate::model::Project;

pub struct Human {
    /// Renders without wrapping: [`wrap`] has wrapped the message and help already (miette's
    /// own wrapping, Unicode line breaking, took a third of the rendering time).
    handler: GraphicalReportHandler,
}

/// The report width (`with_width`); miette keeps lines two columns narrower.
const WIDTH: usize = 100;
/// Columns before a message line (`  × `) and before a help line (`  help: `).
const MESSAGE_INDENT: usize = 4;
const HELP_INDENT: usize = 8;

/// `text` with its lines broken at spaces so that each fits `WIDTH - 2` columns after an indent
/// of `indent` columns. A word longer than that (a long path) and a `code span` stay whole, so
/// that they can be copied; the line breaks `text` has are kept.
fn wrap(text: &str, indent: usize) -> String {
    let room = (WIDTH - 2).saturating_sub(indent);
    if text.len() <= room && !text.contains('\n') {
        return text.to_string();
    }
    let mut out = String::with_capacity(text.len() + 8);
    for (i, line) in text.split('\n').enumerate() {
        if i > 0 {
            out.push('\n');
        }
        let mut used = 0;
        for (j, word) in words(line).enumerate() {
            let width = if word.is_ascii() {
                word.len()
            } else {
                word.width()
            };
            if j > 0 {
                if used > 0 && used + 1 + width > room {
                    out.push('\n');
                    used = 0;
                } else {
                    out.push(' ');
                    used += 1;
                }
            }
            out.push_str(word);
            used += width;
        }
    }
    out
}

/// The parts of `line` between spaces, a `code span` with spaces in it being one part.
fn words(line: &str) -> impl Iterator<Item = &str> {
    let mut rest = line;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut in_code = false;
        let end = rest
            .char_indices()
            .find(|&(_, c)| {
                in_code ^= c == '`';
                c == ' ' && !in_code
            })
            .map_or(rest.len(), |(at, _)| at);
        let word = &rest[..end];
        rest = rest.get(end + 1..).unwrap_or("");
        Some(word)
    })
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
            .with_width(WIDTH)
            .with_wrap_lines(false);
        Human { handler }
    }

    pub fn render(&self, out: &mut String, project: &Project, findings: &[Finding]) {
        let mut sources: HashMap<usize, Windowed> = HashMap::new();
        for f in findings {
            let source = sources
                .entry(f.loc.file)
                .or_insert_with(|| {
                    let source = &project.file(f.loc.file).source;
                    // Control characters of the file must not reach the terminal; replacing
                    // them byte for byte keeps every span and line start valid.
                    let text = match same_length(&source.text) {
                        Cow::Borrowed(_) => source.text.clone(),
                        Cow::Owned(safe) => safe.into(),
                    };
                    Windowed {
                        text,
                        line_starts: source.line_starts(),
                    }
                })
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
                    .map(|s| format!("`{}`", terminal(s)))
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        } else {
            f.services
                .first()
                .map(|s| format!("in service `{}`", terminal(s)))
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
                    Some(terminal(&l.message).into_owned()),
                    l.loc.start..l.loc.end,
                ));
            } else {
                let p = position(project, l.loc);
                elsewhere.push(format!(
                    "{}:{}:{}: {}",
                    one_line(&p.path),
                    p.line,
                    p.column,
                    terminal(&l.message)
                ));
            }
        }
        let severity = match f.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
            Severity::Info => miette::Severity::Advice,
        };
        let mut help = terminal(&f.help).into_owned();
        for e in elsewhere {
            help.push_str("\nsee ");
            help.push_str(&e);
        }
        // miette pads snippets with `{:width$}`, which panics past a width of 65 535: a finding
        // on a very long line is shown without its snippet.
        let too_wide = std::iter::once(f.loc.start)
            .chain(f.labels.iter().map(|l| l.loc.start))
            .any(|at| file.line_range(at).len() > MAX_SNIPPET_LINE);
        let shown = Shown {
            message: wrap(&terminal(&f.message), MESSAGE_INDENT),
            code: f.rule,
            severity,
            help: wrap(&help, HELP_INDENT),
            labels: if too_wide { Vec::new() } else { labels },
            source: (!too_wide).then(|| NamedSource::new(one_line(&file.display), source)),
        };
        let p = position(project, f.loc);
        let _ = writeln!(out, "{}:{}:{}", one_line(&p.path), p.line, p.column);
        let _ = self.handler.render_report(out, &shown);
        out.push('\n');
    }
}

/// One finding as miette renders it. Rendered directly rather than through a `Report`, whose
/// creation looks up the default printer (terminal and colour checks) for every finding.
#[derive(Debug)]
struct Shown {
    message: String,
    code: &'static str,
    severity: miette::Severity,
    help: String,
    labels: Vec<LabeledSpan>,
    source: Option<NamedSource<Windowed>>,
}

impl std::fmt::Display for Shown {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for Shown {}

impl Diagnostic for Shown {
    fn code<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(self.code))
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(self.severity)
    }

    fn help<'a>(&'a self) -> Option<Box<dyn std::fmt::Display + 'a>> {
        Some(Box::new(&self.help))
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        Some(Box::new(self.labels.iter().cloned()))
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        self.source.as_ref().map(|s| s as &dyn SourceCode)
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
    /// Where each line starts: miette's line breaks are the file's (`\n`, `\r\n`, a lone `\r`).
    line_starts: Arc<[usize]>,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_left_alone() {
        assert_eq!(
            wrap("mount a named volume", HELP_INDENT),
            "mount a named volume"
        );
    }

    #[test]
    fn lines_break_at_spaces_within_the_width() {
        let text = "word ".repeat(40);
        let wrapped = wrap(text.trim_end(), HELP_INDENT);
        for line in wrapped.lines() {
            assert!(line.len() + HELP_INDENT <= WIDTH - 2, "{line:?}");
        }
        assert_eq!(wrapped.replace('\n', " "), text.trim_end());
    }

    #[test]
    fn code_spans_and_long_words_stay_whole() {
        let text = format!(
            "{} add `- a-very-long-volume-name:/var/lib/data` now",
            "x ".repeat(40)
        );
        let wrapped = wrap(&text, HELP_INDENT);
        assert!(
            wrapped.contains("`- a-very-long-volume-name:/var/lib/data`"),
            "{wrapped}"
        );
        let path = "/a".repeat(60);
        assert_eq!(
            wrap(&format!("at {path} here"), HELP_INDENT),
            format!("at\n{path}\nhere")
        );
    }

    #[test]
    fn line_breaks_are_kept_and_wide_characters_counted() {
        assert_eq!(wrap("one\nsee two", HELP_INDENT), "one\nsee two");
        let text = "数据 ".repeat(30);
        for line in wrap(text.trim_end(), MESSAGE_INDENT).lines() {
            assert!(line.width() + MESSAGE_INDENT <= WIDTH - 2, "{line:?}");
        }
    }
}
