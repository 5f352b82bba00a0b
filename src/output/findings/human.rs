//! Findings for people: source snippets with labels as miette draws them (drawn directly by
//! `snippet` when it covers the report, by miette otherwise), colours only on a terminal.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use miette::{
    Diagnostic, GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteError,
    MietteSpanContents, NamedSource, SourceCode, SourceSpan, SpanContents,
};
use rayon::prelude::*;
use unicode_width::UnicodeWidthStr;

use crate::compose::model::Project;
use crate::finding::{Finding, Severity};
use crate::output::escape::{one_line, same_length, terminal};
use crate::output::snippet::{self, Theme};

pub struct Human {
    /// Draws what `snippet::draw` does not. Renders without wrapping: [`wrap`] has wrapped the
    /// message and help already (miette's own wrapping, Unicode line breaking, took a third of
    /// the rendering time).
    handler: GraphicalReportHandler,
    /// The same theme, for `snippet::draw`.
    theme: &'static Theme,
    renderer: Renderer,
}

/// Who draws a report (tests compare them).
#[doc(hidden)]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Renderer {
    /// `snippet::draw`, or miette for a report it does not cover (what [`Human::new`] does).
    Direct,
    /// Always miette.
    Miette,
    /// `snippet::draw` only: a report it does not cover is left out.
    DirectOnly,
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
    let mut out = String::with_capacity(text.len());
    let mut from = 0;
    for end in memchr::memchr_iter(b'\n', text.as_bytes()).chain([text.len()]) {
        if from > 0 {
            out.push('\n');
        }
        wrap_line(&mut out, &text[from..end], room);
        from = end + 1;
    }
    out
}

/// `line` after `out`, each space that ends a word (one outside a `code span`) kept or made a
/// line break so that the words on a line fit `room` columns (a line may hold one longer word);
/// a space that ends the line is left out.
fn wrap_line(out: &mut String, line: &str, room: usize) {
    let start = out.len();
    out.push_str(line);
    let ascii = line.is_ascii();
    let bytes = line.as_bytes();
    let mut used = 0;
    // Where the word being read starts (after a space unless 0), and where it ends.
    let mut word = 0;
    let mut end = 0;
    let mut in_code = false;
    loop {
        while end < bytes.len() {
            match bytes[end] {
                b' ' if !in_code => break,
                b'`' => in_code = !in_code,
                _ => {}
            }
            end += 1;
        }
        let text = &line[word..end];
        let width = if ascii || text.is_ascii() {
            text.len()
        } else {
            text.width()
        };
        if word > 0 {
            if used > 0 && used + 1 + width > room {
                out.replace_range(start + word - 1..start + word, "\n");
                used = 0;
            } else {
                used += 1;
            }
        }
        used += width;
        if end == bytes.len() {
            break;
        }
        if end + 1 == bytes.len() {
            out.pop(); // the space that ends the line
            break;
        }
        end += 1;
        word = end;
    }
}

/// `--format human` (the default).
pub(crate) struct Reporter(pub(crate) Human);

impl super::Reporter for Reporter {
    /// A long report is rendered in parts side by side, a few parts per thread at a time, each
    /// handed to `emit` in order (what waits to be written stays small).
    fn project(&self, project: &Project, findings: &[Finding], emit: &mut dyn FnMut(super::Chunk)) {
        const PART: usize = 512;
        const MAX_PART: usize = 2048;
        if findings.len() <= PART {
            let mut text = String::new();
            self.0.render(&mut text, project, findings);
            emit(super::Chunk::new(text, findings));
            return;
        }
        let threads = rayon::current_num_threads();
        let part = findings.len().div_ceil(4 * threads).clamp(PART, MAX_PART);
        for wave in findings.chunks(part * 2 * threads) {
            let parts: Vec<(String, &[Finding])> = wave
                .par_chunks(part)
                .map(|chunk| {
                    let mut text = String::new();
                    self.0.render(&mut text, project, chunk);
                    (text, chunk)
                })
                .collect();
            for (text, chunk) in parts {
                emit(super::Chunk::new(text, chunk));
            }
        }
    }

    fn end(&self, out: &mut super::Out, end: &super::End) -> std::io::Result<()> {
        super::summary::end(out, end)
    }
}

impl Human {
    pub fn new(colour: bool) -> Human {
        Human::with_renderer(colour, Renderer::Direct)
    }

    /// Findings drawn by `renderer` (tests compare the renderers).
    #[doc(hidden)]
    pub fn with_renderer(colour: bool, renderer: Renderer) -> Human {
        let theme = if colour {
            GraphicalTheme::unicode()
        } else {
            GraphicalTheme::unicode_nocolor()
        };
        let handler = GraphicalReportHandler::new_themed(theme)
            .with_context_lines(1)
            .with_width(WIDTH)
            .with_wrap_lines(false);
        Human {
            handler,
            theme: Theme::new(colour),
            renderer,
        }
    }

    pub fn render(&self, out: &mut String, project: &Project, findings: &[Finding]) {
        // A report takes most of a kilobyte: room for them all at once.
        out.reserve(findings.len() * 1024);
        let mut escaped: HashMap<usize, Windowed> = HashMap::new();
        for f in findings {
            self.render_one(out, project, f, &mut escaped);
        }
    }

    fn render_one(
        &self,
        out: &mut String,
        project: &Project,
        f: &Finding,
        escaped: &mut HashMap<usize, Windowed>,
    ) {
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
                let p = project.position(l.loc);
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
            source: None,
        };
        // The finding's position (`output::position`), the file named as in its snippet.
        let name = one_line(&file.display);
        let at = file.line_col(f.loc.start);
        out.push_str(&name);
        out.push(':');
        snippet::push_number(out, at.line, 0);
        out.push(':');
        snippet::push_number(out, at.column, 0);
        out.push('\n');
        let line_starts = file.line_starts();
        let source = (!too_wide).then(|| File {
            name: &name,
            text: &file.text,
            line_starts: &line_starts,
            id: f.loc.file,
            escaped,
        });
        self.draw(out, shown, source);
        out.push('\n');
    }

    /// `shown`, with its snippets from `file`, as `self.renderer` says.
    fn draw(&self, out: &mut String, mut shown: Shown, file: Option<File>) {
        if self.renderer != Renderer::Miette {
            let report = snippet::Report {
                severity: shown.severity,
                code: shown.code,
                message: &shown.message,
                help: &shown.help,
                source: file.as_ref().map(|f| snippet::Source {
                    name: f.name,
                    text: f.text,
                    line_starts: f.line_starts,
                }),
                labels: &shown.labels,
            };
            if snippet::draw(out, &report, self.theme) || self.renderer == Renderer::DirectOnly {
                return;
            }
        }
        shown.source = file.map(|f| {
            let escaped = f
                .escaped
                .entry(f.id)
                .or_insert_with(|| Windowed::new(f.text, f.line_starts.clone()));
            NamedSource::new(f.name, escaped.clone())
        });
        let _ = self.handler.render_report(out, &shown);
    }

    /// A report of `labels` in `text`, a file named `name`, drawn as [`Human::render`] draws a
    /// finding's (with the message and help as given): tests compare the renderers on made-up
    /// files.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub fn render_labels(
        &self,
        out: &mut String,
        name: &str,
        text: &str,
        severity: miette::Severity,
        message: &str,
        help: &str,
        labels: Vec<LabeledSpan>,
    ) {
        let shown = Shown {
            message: message.to_owned(),
            code: "rule",
            severity,
            help: help.to_owned(),
            labels,
            source: None,
        };
        let mut escaped = HashMap::new();
        let file = File {
            name,
            text: &Arc::from(text),
            line_starts: &crate::yaml::source::line_starts(text).into(),
            id: 0,
            escaped: &mut escaped,
        };
        self.draw(out, shown, Some(file));
    }
}

/// The file a report's snippets come from.
struct File<'a> {
    name: &'a str,
    text: &'a Arc<str>,
    line_starts: &'a Arc<[usize]>,
    id: usize,
    /// The texts of the files as miette is given them ([`Windowed`]), by id, each made for the
    /// first report miette draws from it.
    escaped: &'a mut HashMap<usize, Windowed>,
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

impl Windowed {
    /// `text`, whose lines start at `line_starts`: control characters of the file must not
    /// reach the terminal; replacing them byte for byte keeps every span and line start valid.
    fn new(text: &Arc<str>, line_starts: Arc<[usize]>) -> Windowed {
        let text = match same_length(text) {
            Cow::Borrowed(_) => text.clone(),
            Cow::Owned(safe) => safe.into(),
        };
        Windowed { text, line_starts }
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// [`wrap`] as it was written first, a word at a time (the reference for the faster one).
    fn reference_wrap(text: &str, indent: usize) -> String {
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
            for (j, word) in reference_words(line).enumerate() {
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

    fn reference_words(line: &str) -> impl Iterator<Item = &str> {
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

    proptest! {
        #![proptest_config(ProptestConfig { cases: 3000, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn wrap_is_the_reference_wrap(
            parts in prop::collection::vec(
                prop::sample::select(vec![
                    "a", "word", "longer-word", "/a/very/long/path/that/does/not/fit/anywhere/at/all/x/y/z",
                    " ", "  ", "`", "`code span`", "\n", "数据", "é", "\t",
                ]),
                0..60,
            ),
            indent in prop::sample::select(vec![MESSAGE_INDENT, HELP_INDENT, 90, 200]),
        ) {
            let text = parts.concat();
            prop_assert_eq!(wrap(&text, indent), reference_wrap(&text, indent));
        }
    }

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
