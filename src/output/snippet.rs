//! A finding's report drawn directly: byte for byte what miette's `GraphicalReportHandler` draws
//! with [`super::findings::human`]'s settings (its unicode theme with or without colour, one line of
//! context, no wrapping, no syntax highlighting, no URL), at a fraction of the cost (miette builds
//! strings for every piece of every line and scans the file byte by byte for each of several
//! reads of every label).
//!
//! [`draw`] covers the shapes findings have: labels that each lie on one line (its line break
//! included; an empty one counts a byte), any number of them on the same or on different lines,
//! with or without text, and one label over several lines with no other label on its lines. It
//! declines, and the caller lets miette draw the report, when a label starts at the end of the
//! file or has a text of several lines, two labels start at the same byte (miette's unstable sort
//! orders them), two run over several lines or another label is on the lines of one that does, a
//! line break among the lines shown is not `\n` or `\r\n` (a lone `\r`, which miette's lines
//! keep as text), or a character whose width counts (before the end of a label, before a tab) is
//! an escape (which escaping replaced) or one whose width miette's `unicode-width` (0.1) and ours
//! (0.2) might disagree on.
//!
//! What miette does, and is done here the same way:
//! - the labels are sorted by offset; each is read with a line of context either side, and a
//!   label's context is merged into the previous one when `line + line_count` of the previous one
//!   (its first line and the number of line breaks from the start of the file to its end) reaches
//!   the new one's first line: one snippet then runs from the first label to the last;
//! - a snippet's header names the file and the line and byte column of its primary label; its
//!   line numbers are padded to the width of the last one;
//! - under a line, the labels on it are underlined (`─┬─`, `▲` for an empty one, `───` without
//!   text), then their texts are drawn from the last to the first, each after the `│` of the
//!   labels before it; labels are styled in turn with the theme's highlight styles;
//! - a label over several lines gives every line of its snippet a gutter, where arrows point to
//!   its first and last lines and a bar joins them; its text is drawn under its last line;
//! - a column is a character's `unicode-width` width, a tab reaches the next multiple of 4 and is
//!   drawn as spaces.

use miette::{LabeledSpan, Severity};
use unicode_width::UnicodeWidthChar;

use super::escape::same_length;

/// A report as miette is given it ([`super::findings::human`]'s `Shown`).
pub(crate) struct Report<'a> {
    pub(crate) severity: Severity,
    pub(crate) code: &'a str,
    pub(crate) message: &'a str,
    pub(crate) help: &'a str,
    /// The file the labels point into; `None`: no snippet.
    pub(crate) source: Option<Source<'a>>,
    pub(crate) labels: &'a [LabeledSpan],
}

/// A file as miette reads it.
pub(crate) struct Source<'a> {
    pub(crate) name: &'a str,
    /// The text as read: each line shown is escaped (`same_length`), as the text miette is given
    /// is, a line at a time (only what is shown is scanned).
    pub(crate) text: &'a str,
    /// Where each line of `text` starts (`source::line_starts`: a lone `\r` ends a line, as in
    /// miette's reads but not in its drawing; a snippet with one is declined).
    pub(crate) line_starts: &'a [usize],
}

/// A style of miette's theme: what owo-colors writes before the text (nothing for no style),
/// and `\x1b[0m` after it unless nothing.
#[derive(Clone, Copy)]
struct Style(&'static str);

impl Style {
    fn open(self, out: &mut String) {
        out.push_str(self.0);
    }

    fn close(self, out: &mut String) {
        if !self.0.is_empty() {
            out.push_str("\x1b[0m");
        }
    }

    fn paint(self, out: &mut String, text: &str) {
        self.open(out);
        out.push_str(text);
        self.close(out);
    }
}

/// The styles of miette's `GraphicalTheme::unicode()` (`ThemeStyles::ansi()`) or
/// `unicode_nocolor()` (`ThemeStyles::none()`); both draw with `ThemeCharacters::unicode()`.
pub(crate) struct Theme {
    error: Style,
    warning: Style,
    advice: Style,
    help: Style,
    link: Style,
    linum: Style,
    /// Taken in turn by the labels, in offset order.
    highlights: &'static [Style],
}

impl Theme {
    pub fn new(colour: bool) -> &'static Theme {
        const COLOUR: Theme = Theme {
            error: Style("\x1b[31m"),
            warning: Style("\x1b[33m"),
            advice: Style("\x1b[36m"),
            help: Style("\x1b[36m"),
            link: Style("\x1b[36;1;4m"),
            linum: Style("\x1b[2m"),
            highlights: &[
                Style("\x1b[35;1m"),
                Style("\x1b[33;1m"),
                Style("\x1b[32;1m"),
            ],
        };
        const PLAIN: Theme = Theme {
            error: Style(""),
            warning: Style(""),
            advice: Style(""),
            help: Style(""),
            link: Style(""),
            linum: Style(""),
            highlights: &[Style("")],
        };
        if colour { &COLOUR } else { &PLAIN }
    }
}

/// Draws `report` as miette would; `false`, with nothing written, when it has a shape this does
/// not cover (see the module documentation).
pub(crate) fn draw(out: &mut String, report: &Report, theme: &Theme) -> bool {
    let start = out.len();
    let (style, icon) = match report.severity {
        Severity::Error => (theme.error, "×"),
        Severity::Warning => (theme.warning, "⚠"),
        Severity::Advice => (theme.advice, "☞"),
    };
    // The code, a blank line, then the message after the severity's icon, its further lines
    // after a bar.
    style.paint(out, report.code);
    out.push_str("\n\n");
    indented(
        out,
        report.message,
        |out| {
            out.push_str("  ");
            style.paint(out, icon);
            out.push(' ');
        },
        |out| {
            out.push_str("  ");
            style.paint(out, "│");
            out.push(' ');
        },
    );
    if let Some(source) = &report.source
        && !report.labels.is_empty()
        && snippets(out, source, report.labels, theme).is_none()
    {
        out.truncate(start);
        return false;
    }
    indented(
        out,
        report.help,
        |out| theme.help.paint(out, "  help: "),
        |out| out.push_str("        "),
    );
    true
}

/// `text` as miette's handler writes it when it does not wrap: each line after an indent (`first`
/// for the first line, `rest` for the others), trimmed at its end before a blank line; then a line
/// break.
fn indented(out: &mut String, text: &str, first: impl Fn(&mut String), rest: impl Fn(&mut String)) {
    // The lines of `text` (`str::split_terminator`: none in an empty text, no empty one after a
    // final line break).
    let mut from = 0;
    let ends = memchr::memchr_iter(b'\n', text.as_bytes());
    let unended = !text.is_empty() && !text.ends_with('\n');
    for end in ends.chain(unended.then_some(text.len())) {
        let line = &text[from..end];
        if from > 0 {
            out.push('\n');
        }
        let indent = out.len();
        if from == 0 {
            first(out)
        } else {
            rest(out)
        }
        if line.trim().is_empty() {
            let kept = out[indent..].trim_end().len();
            out.truncate(indent + kept);
        }
        out.push_str(line);
        from = end + 1;
    }
    if text.ends_with('\n') {
        out.push('\n');
    }
    out.push('\n');
}

/// A label, as miette's handler sees it once sorted.
struct Label<'a> {
    start: usize,
    end: usize,
    /// The line it starts on (0-based).
    line: usize,
    /// The line of its last byte (`line` unless it runs over several lines).
    last: usize,
    text: Option<&'a str>,
    primary: bool,
    style: Style,
}

/// What miette reads around a span (`SourceCode::read_span` with a line of context either side):
/// the bytes from the start of line `line` (0-based) to `end`, and the number of line breaks
/// from the start of the file to `end`.
struct Context {
    end: usize,
    line: usize,
    line_count: usize,
}

impl Source<'_> {
    /// The line holding byte `at`.
    fn line_of(&self, at: usize) -> usize {
        self.line_starts.partition_point(|&s| s <= at) - 1
    }

    /// Where line `k` ends, its line break included (the end of the text for the last line).
    fn next_start(&self, k: usize) -> usize {
        self.line_starts
            .get(k + 1)
            .copied()
            .unwrap_or(self.text.len())
    }

    /// Where line `k`'s line break starts (the end of the text for the last line): once the line
    /// breaks are checked, one is `\n` or `\r\n`.
    fn text_end(&self, k: usize) -> usize {
        let next = self.next_start(k);
        let bytes = self.text.as_bytes();
        match k + 1 < self.line_starts.len() {
            false => next,
            true if next >= 2 && bytes[next - 2] == b'\r' => next - 2,
            true => next - 1,
        }
    }

    /// Whether byte `at` is the `\n` of a `\r\n`.
    fn inside_crlf(&self, at: usize) -> bool {
        let bytes = self.text.as_bytes();
        at > 0 && bytes.get(at) == Some(&b'\n') && bytes[at - 1] == b'\r'
    }

    /// What miette reads around `start..end` (which must lie in the text), worked out from the
    /// line starts. miette scans the bytes: the context starts a line above the span's first
    /// line, and ends after the line break that follows the one after the span's last byte (or
    /// after the last byte before an empty span), a line break counting only once the span's
    /// last byte has been passed: the line break of a span that ends on one thus does not count.
    /// `None` when a line break there is not `\n` (miette would split the lines otherwise).
    fn read(&self, start: usize, end: usize) -> Option<Context> {
        let first = self.line_of(start).saturating_sub(1);
        let last_byte = end.saturating_sub(1);
        let last = self.line_of(last_byte);
        let breaks = self.line_starts.len() - 1;
        let stop = last + 2 + usize::from(last_byte >= self.text_end(last));
        let bytes = self.text.as_bytes();
        let checked =
            (first + 1..=stop.min(breaks)).all(|k| bytes[self.line_starts[k] - 1] == b'\n');
        checked.then(|| Context {
            end: self
                .line_starts
                .get(stop)
                .copied()
                .unwrap_or(self.text.len()),
            line: first,
            line_count: stop.min(breaks),
        })
    }
}

/// The snippets of `labels` in `source`; `None` for a shape this does not draw.
fn snippets(
    out: &mut String,
    source: &Source,
    labels: &[LabeledSpan],
    theme: &Theme,
) -> Option<()> {
    let mut sorted = Vec::with_capacity(labels.len());
    for l in labels {
        let start = l.offset();
        let end = start.checked_add(l.len())?;
        if start >= source.text.len() || end > source.text.len() {
            return None;
        }
        let line = source.line_of(start);
        // The line of its last byte; its line for an empty label or one that ends with the line
        // break of its line.
        let last = match end > source.next_start(line) {
            true => source.line_of(end - 1),
            false => line,
        };
        let text = l.label();
        if text.is_some_and(|t| t.contains('\n')) {
            return None;
        }
        sorted.push(Label {
            start,
            end,
            line,
            last,
            text,
            primary: l.primary(),
            style: Style(""),
        });
    }
    sorted.sort_unstable_by_key(|l| l.start);
    if sorted.windows(2).any(|w| w[0].start == w[1].start) {
        return None;
    }
    // At most one label over several lines, and no other label on its lines.
    let mut long = sorted.iter().filter(|l| l.last > l.line);
    if let Some(m) = long.next() {
        let beside = |l: &Label| l.start != m.start && l.line <= m.last && l.last >= m.line;
        if long.next().is_some() || sorted.iter().any(beside) {
            return None;
        }
    }
    for (l, &style) in sorted.iter_mut().zip(theme.highlights.iter().cycle()) {
        l.style = style;
    }
    // Each label's context, merged into the one before as miette merges them.
    let mut contexts: Vec<(usize, usize, Context)> = Vec::with_capacity(1);
    for l in &sorted {
        let right = source.read(l.start, l.end)?;
        if let Some((from, to, left)) = contexts.last_mut()
            && left.line + left.line_count >= right.line
        {
            *to = (*to).max(l.end);
            *left = source.read(*from, *to)?;
            continue;
        }
        contexts.push((l.start, l.end, right));
    }
    for (from, to, context) in &contexts {
        snippet(out, source, &sorted, (*from, *to), context, theme)?;
    }
    Some(())
}

/// One snippet: the lines of `context`, with the labels on them. Its header's position is the
/// primary label's if it lies in `span` (the context's labels), else the first such label's.
fn snippet(
    out: &mut String,
    source: &Source,
    labels: &[Label],
    span: (usize, usize),
    context: &Context,
    theme: &Theme,
) -> Option<()> {
    let inside = || {
        labels
            .iter()
            .filter(|l| span.0 <= l.start && l.end <= span.1)
    };
    let primary = inside().find(|l| l.primary).or_else(|| inside().next())?;
    let column = primary.start
        - source.line_starts[primary.line]
        - usize::from(source.inside_crlf(primary.start));
    let last = source.line_of(context.end - 1);
    let width = digits(last + 1);
    // A label over several lines in this snippet: every line gets a gutter for it.
    let long = labels
        .iter()
        .find(|l| l.last > l.line && l.line <= last && l.last >= context.line);
    push_spaces(out, width + 2);
    out.push_str("╭─[");
    theme.link.open(out);
    out.push_str(source.name);
    out.push(':');
    push_number(out, primary.line + 1, 0);
    out.push(':');
    push_number(out, column + 1, 0);
    theme.link.close(out);
    out.push_str("]\n");
    for k in context.line..=last {
        let line_start = source.line_starts[k];
        // Escaping the line alone escapes it as in the whole text: its `\r` is not before a `\n`.
        let text = same_length(&source.text[line_start..source.text_end(k)]);
        out.push(' ');
        theme.linum.open(out);
        push_number(out, k + 1, width);
        theme.linum.close(out);
        out.push_str(" │ ");
        if let Some(long) = long {
            gutter(out, long, k);
        }
        push_expanded(out, &text)?;
        out.push('\n');
        // The labels are sorted: those on this line are together (the one over several lines
        // alone on its first line).
        let first = labels.partition_point(|l| l.line < k);
        let on_line = labels[first..].partition_point(|l| l.line == k);
        if on_line > 0 && labels[first].last == k {
            let labels = &labels[first..first + on_line];
            underline(out, &text, line_start, labels, width, long.is_some())?;
        }
        // Under the last line of a label over several lines, its text.
        if let Some(long) = long.filter(|l| l.last == k)
            && let Some(label) = long.text
        {
            no_number(out, width, false);
            long.style.paint(out, "╰");
            long.style.paint(out, "───");
            long.style.paint(out, "─");
            out.push(' ');
            long.style.paint(out, label);
            out.push('\n');
        }
    }
    push_spaces(out, width + 2);
    out.push_str("╰────\n");
    Some(())
}

/// The lines under a source line: the labels on it underlined, then their texts.
fn underline(
    out: &mut String,
    text: &str,
    line_start: usize,
    labels: &[Label],
    width: usize,
    gutter: bool,
) -> Option<()> {
    no_number(out, width, gutter);
    // Where each label's bar stands.
    let mut bars = Vec::with_capacity(labels.len());
    let mut highest = 0;
    for l in labels {
        let start = column(text, l.start - line_start, true)?.max(highest);
        let end = if l.start == l.end {
            start + 1
        } else {
            column(text, l.end - line_start, false)?.max(start + 1)
        };
        let bar = (start + end) / 2;
        l.style.open(out);
        push_spaces(out, start - highest);
        push_bars(out, bar - start);
        out.push(match (l.start == l.end, l.text.is_some()) {
            (true, _) => '▲',
            (false, true) => '┬',
            (false, false) => '─',
        });
        push_bars(out, end - bar - 1);
        l.style.close(out);
        highest = highest.max(end);
        bars.push(bar);
    }
    out.push('\n');
    for (i, l) in labels.iter().enumerate().rev() {
        let Some(label) = l.text else { continue };
        no_number(out, width, gutter);
        let mut at = 1;
        for (j, (other, &bar)) in labels.iter().zip(&bars).enumerate() {
            if at < bar + 1 {
                push_spaces(out, bar + 1 - at);
                at = bar + 1;
            }
            if j == i {
                l.style.open(out);
                out.push_str("╰── ");
                l.style.paint(out, label);
                l.style.close(out);
                out.push('\n');
                break;
            }
            other.style.paint(out, "│");
            at += 1;
        }
    }
    Some(())
}

/// The start of a line under a source line: no line number (`width` columns), an empty gutter
/// when the snippet has one.
fn no_number(out: &mut String, width: usize, gutter: bool) {
    out.push(' ');
    push_spaces(out, width);
    out.push_str(" · ");
    if gutter {
        push_spaces(out, 4);
    }
}

/// The gutter of line `k` in a snippet with a label over several lines, `long`: an arrow to its
/// first line (`╭─▶`) and to its last (`├─▶`, `╰─▶` without text), a bar along the lines between,
/// nothing elsewhere; each part styled alone, as miette styles them.
fn gutter(out: &mut String, long: &Label, k: usize) {
    let corner = match k {
        _ if k == long.line => "╭",
        _ if k == long.last && long.text.is_some() => "├",
        _ if k == long.last => "╰",
        _ if long.line < k && k < long.last => {
            long.style.paint(out, "│");
            return push_spaces(out, 3);
        }
        _ => return push_spaces(out, 4),
    };
    long.style.paint(out, corner);
    long.style.paint(out, "─");
    long.style.paint(out, "▶");
    out.push(' ');
}

/// The column (0-based) miette draws byte `at` of a line's `text` at: that of the character it
/// falls in (`start`) or of the one after (not `start`); one past the text for its line break.
fn column(text: &str, at: usize, start: bool) -> Option<usize> {
    let mut at = at;
    while at <= text.len() && !text.is_char_boundary(at) {
        if start {
            at -= 1;
        } else {
            at += 1;
        }
    }
    let width = width(&text[..at.min(text.len())])?;
    Some(if at > text.len() { width + 1 } else { width })
}

/// The width of `text` as miette counts it; `None` when a character's width may be another.
fn width(text: &str) -> Option<usize> {
    if text.bytes().all(|b| (b' '..=b'~').contains(&b)) {
        return Some(text.len());
    }
    text.chars()
        .try_fold(0, |column, c| Some(column + char_width(c, column)?))
}

/// miette's width of `c` at `column`: a tab reaches the next multiple of 4, another character
/// has its `unicode-width` width (none for a control character). `None` for an escape (miette
/// counts what follows it up to an `m` zero wide; escaping replaced it) and for a character
/// whose width may differ between miette's `unicode-width` and ours.
fn char_width(c: char, column: usize) -> Option<usize> {
    match c {
        '\t' => Some(4 - column % 4),
        '\x1b' => None,
        ' '..='~' => Some(1),
        '\0'..='\x7f' => Some(0),
        _ if SAME_WIDTH.iter().any(|r| r.contains(&c)) => Some(c.width().unwrap_or(0)),
        _ => None,
    }
}

/// Characters every one of which `unicode-width` 0.1.14 (miette's) and 0.2.3 (ours) give the
/// same width: Latin, Greek, Cyrillic, punctuation, symbols, arrows, box drawing, CJK, Hangul,
/// full-width forms, most emoji and variation selectors (checked over every character of these
/// ranges with both versions).
const SAME_WIDTH: [std::ops::RangeInclusive<char>; 12] = [
    '\u{80}'..='\u{5c7}',
    '\u{2000}'..='\u{262f}',
    '\u{2638}'..='\u{2689}',
    '\u{2690}'..='\u{31e3}',
    '\u{31e6}'..='\u{4dbf}',
    '\u{4e00}'..='\u{9fff}',
    '\u{ac00}'..='\u{d7a3}',
    '\u{fe00}'..='\u{fe0f}',
    '\u{ff00}'..='\u{ff9d}',
    '\u{1f300}'..='\u{1f6d7}',
    '\u{1f900}'..='\u{1fa88}',
    '\u{20000}'..='\u{2fffd}',
];

/// A source line as miette writes it: tabs as spaces up to the next multiple of 4.
fn push_expanded(out: &mut String, text: &str) -> Option<()> {
    let Some(last_tab) = memchr::memrchr(b'\t', text.as_bytes()) else {
        out.push_str(text);
        return Some(());
    };
    let mut column = 0;
    for c in text[..=last_tab].chars() {
        let width = char_width(c, column)?;
        column += width;
        if c == '\t' {
            push_spaces(out, width);
        } else {
            out.push(c);
        }
    }
    out.push_str(&text[last_tab + 1..]);
    Some(())
}

fn digits(n: usize) -> usize {
    n.checked_ilog10().map_or(1, |d| d as usize + 1)
}

/// `n` in decimal, right-aligned to `width` columns.
pub(super) fn push_number(out: &mut String, n: usize, width: usize) {
    let mut digits = [b'0'; 20];
    let mut at = digits.len();
    let mut n = n;
    loop {
        at -= 1;
        digits[at] += (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    push_spaces(out, width.saturating_sub(digits.len() - at));
    for &d in &digits[at..] {
        out.push(char::from(d));
    }
}

fn push_spaces(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// `n` horizontal bars (`─`, an underline), pushed a run at a time.
fn push_bars(out: &mut String, n: usize) {
    const BARS: &str = "────────────────────────────────";
    let mut left = n;
    while left > 0 {
        let take = left.min(32);
        out.push_str(&BARS[..take * '─'.len_utf8()]);
        left -= take;
    }
}
