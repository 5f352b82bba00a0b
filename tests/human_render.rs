//! The human report drawn directly (`output::snippet`) against miette's drawing: byte for byte
//! the same text, with colours and without, for every finding of the shared corpus and of
//! `fixtures/`, and for made-up files (proptest) with labels of every shape. The direct drawing
//! must also cover the common shapes (miette draws only what it declines).

use std::path::{Path, PathBuf};

use miette::{LabeledSpan, Severity};
use proptest::prelude::*;
use stowage::compose::loader::LoadOptions;
use stowage::compose::model::Project;
use stowage::finding::Finding;
use stowage::images::KnowledgeBase;
use stowage::lint::config::Config;
use stowage::lint::{self, RuleSettings};
use stowage::output::findings::human::{Human, Renderer};
use stowage::workspace::inventory::{self, Request};

mod common;
use common::props::config;

/// Findings compared, how many of them the direct drawing covered, and what differed.
#[derive(Default)]
struct Tally {
    findings: usize,
    direct: usize,
    differences: Vec<String>,
}

fn draw(colour: bool, renderer: Renderer, project: &Project, findings: &[Finding]) -> String {
    let mut out = String::new();
    Human::with_renderer(colour, renderer).render(&mut out, project, findings);
    out
}

/// Every finding of every project under `dir`, drawn alone and with the others of its project,
/// with colours and without, directly and by miette.
fn compare_dir(dir: &Path, tally: &mut Tally) {
    let request = Request {
        paths: vec![dir.to_path_buf()],
        load: LoadOptions {
            cwd: dir.to_path_buf(),
            ..LoadOptions::default()
        },
        ..Request::default()
    };
    let kb = KnowledgeBase::builtin();
    let inventory = inventory::collect(&request, kb);
    for (project, analysis) in &inventory.projects {
        let findings = lint::run(
            project,
            analysis,
            kb,
            &RuleSettings::default(),
            &Config::default(),
        );
        for f in &findings {
            let one = std::slice::from_ref(f);
            tally.findings += 1;
            let mut direct = true;
            for colour in [false, true] {
                let miette = draw(colour, Renderer::Miette, project, one);
                let drawn = draw(colour, Renderer::Direct, project, one);
                if drawn != miette {
                    tally
                        .differences
                        .push(format!("miette:\n{miette}\ndirect:\n{drawn}"));
                }
                direct &= draw(colour, Renderer::DirectOnly, project, one) == miette;
            }
            tally.direct += usize::from(direct);
        }
        for colour in [false, true] {
            if draw(colour, Renderer::Direct, project, &findings)
                != draw(colour, Renderer::Miette, project, &findings)
            {
                let dir = project.directory.display();
                tally.differences.push(format!("{dir}: all findings"));
            }
        }
    }
}

fn check_tally(what: &str, tally: &Tally) {
    eprintln!(
        "{what}: {} findings drawn as miette draws them (with colours and without), {} of them \
         directly",
        tally.findings, tally.direct
    );
    assert!(
        tally.differences.is_empty(),
        "{} reports differ from miette's, the first:\n{}",
        tally.differences.len(),
        tally.differences[0]
    );
    assert!(tally.findings > 0, "{what}: no findings");
    // Findings have common shapes: miette draws few of them.
    let share = tally.direct as f64 / tally.findings as f64;
    assert!(
        share >= 0.95,
        "{what}: only {:.1}% drawn directly",
        share * 100.0
    );
}

#[test]
fn corpus_findings_are_drawn_as_miette_draws_them() {
    let files = match common::corpus::dir() {
        Ok(dir) => dir.join("files"),
        Err(reason) => {
            eprintln!("skipped: {reason}");
            return;
        }
    };
    let mut tally = Tally::default();
    compare_dir(&files.canonicalize().unwrap(), &mut tally);
    check_tally("corpus", &tally);
}

#[test]
fn fixture_findings_are_drawn_as_miette_draws_them() {
    let fixtures = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut tally = Tally::default();
    compare_dir(&fixtures, &mut tally);
    check_tally("fixtures", &tally);
}

// ---------------------------------------------------------------------------------------------
// made-up files

/// A report of labels in a made-up file.
#[derive(Debug, Clone)]
struct Case {
    text: String,
    severity: Severity,
    message: String,
    help: String,
    /// (start, end, text, primary)
    labels: Vec<(usize, usize, Option<String>, bool)>,
}

fn draw_case(renderer: Renderer, colour: bool, case: &Case) -> String {
    let labels = case
        .labels
        .iter()
        .map(|(start, end, text, primary)| match primary {
            true => LabeledSpan::new_primary_with_span(text.clone(), *start..*end),
            false => LabeledSpan::new_with_span(text.clone(), *start..*end),
        })
        .collect();
    let mut out = String::new();
    Human::with_renderer(colour, renderer).render_labels(
        &mut out,
        "dir/compose.yaml",
        &case.text,
        case.severity,
        &case.message,
        &case.help,
        labels,
    );
    out
}

/// Pieces of lines: ASCII, tabs, code spans, characters of two and more bytes, wide ones, and
/// (`unusual`) characters the direct drawing declines: an escape, a bell, characters whose width
/// changed between `unicode-width` versions.
fn piece(unusual: bool) -> impl Strategy<Value = &'static str> {
    let mut pieces = vec![
        "a", "key", ": ", " ", "  ", "- ", "# note", "`x y`", "é", "€", "数据", "🚀", "\t", "─",
        "\u{fe0f}", "\u{301}",
    ];
    if unusual {
        pieces.extend([
            "\u{1b}[31m",
            "\u{7}",
            "\u{4dc0}",
            "\u{5c8}",
            "\u{ff9e}",
            "\u{202e}",
        ]);
    }
    prop::sample::select(pieces)
}

/// Lines joined by line breaks (`\r` only when `unusual`), the last one with or without one.
fn text(unusual: bool) -> impl Strategy<Value = String> {
    let breaks = if unusual {
        vec!["\n", "\r\n", "\r"]
    } else {
        vec!["\n", "\r\n"]
    };
    let line = prop::collection::vec(piece(unusual), 0..6).prop_map(|p| p.concat());
    prop::collection::vec((line, prop::sample::select(breaks)), 1..7).prop_map(|lines| {
        lines
            .into_iter()
            .map(|(line, brk)| line + brk)
            .collect::<String>()
    })
}

/// Texts of messages and help: one line, several, blank and white lines, a final line break.
fn prose() -> impl Strategy<Value = String> {
    prop::sample::select(vec![
        "",
        "anonymous volume at `/data` is orphaned",
        "first line\nsecond line",
        "a\n\nb",
        "a\n   \nb",
        "ends with a line break\n",
        "\n",
        "  indented",
    ])
    .prop_map(String::from)
}

fn severity() -> impl Strategy<Value = Severity> {
    prop::sample::select(vec![Severity::Error, Severity::Warning, Severity::Advice])
}

fn label_text(unusual: bool) -> impl Strategy<Value = Option<String>> {
    let mut texts = vec![None, Some(""), Some("in service `db`"), Some("数据 wide")];
    if unusual {
        texts.push(Some("two\nlines"));
    }
    prop::sample::select(texts).prop_map(|t| t.map(String::from))
}

/// The character boundaries of `text`, and where each line starts (`\n` and `\r\n` breaks).
fn layout(text: &str) -> (Vec<usize>, Vec<usize>) {
    let bounds = text
        .char_indices()
        .map(|(i, _)| i)
        .chain([text.len()])
        .collect();
    (bounds, stowage::yaml::source::line_starts(text))
}

/// Labels that each lie on one line: from a character boundary of a line to another one of the
/// same line, its line break included; empty ones (at the line break too). Labels starting
/// where one already does are dropped. The first label is the primary one.
fn one_line_labels(text: &str, picks: &[(usize, usize, usize, Option<String>)]) -> Vec<Label> {
    let (bounds, starts) = layout(text);
    let mut labels: Vec<Label> = Vec::new();
    for (n, (line, a, b, label)) in picks.iter().enumerate() {
        let line = line % starts.len();
        let from = starts[line];
        let to = starts.get(line + 1).copied().unwrap_or(text.len());
        let inside: Vec<usize> = bounds
            .iter()
            .copied()
            .filter(|&i| from <= i && i <= to)
            .collect();
        let mut start = inside[a % inside.len()];
        let end = inside[b % inside.len()].max(start);
        if start == to {
            if to == text.len() {
                continue; // an empty label at the end of the file: not on a line
            }
            start = end - 1; // the line's last byte (`\n`)
        }
        if labels.iter().any(|l| l.0 == start) {
            continue;
        }
        labels.push((start, end, label.clone(), n == 0));
    }
    labels
}

type Label = (usize, usize, Option<String>, bool);

/// A pick of a label over several lines: two lines, a byte in each, its text, whether primary.
type LongPick = (usize, usize, usize, usize, Option<String>, bool);

/// A label over several lines, from a character boundary of one line to one of a later line
/// (its last byte on that line); `None` for a text of fewer than two lines.
fn long_label(text: &str, (a, b, x, y, label, primary): &LongPick) -> Option<Label> {
    let (bounds, starts) = layout(text);
    // The lines that hold a byte, and where each ends.
    let lines = starts.iter().filter(|&&s| s < text.len()).count();
    if lines < 2 {
        return None;
    }
    let next = |k: usize| starts.get(k + 1).copied().unwrap_or(text.len());
    let first = a % (lines - 1);
    let last = first + 1 + b % (lines - 1 - first);
    let starts_at: Vec<usize> = bounds
        .iter()
        .copied()
        .filter(|&i| starts[first] <= i && i < next(first))
        .collect();
    let ends_at: Vec<usize> = bounds
        .iter()
        .copied()
        .filter(|&i| starts[last] < i && i <= next(last))
        .collect();
    Some((
        starts_at[x % starts_at.len()],
        ends_at[y % ends_at.len()],
        label.clone(),
        *primary,
    ))
}

/// `labels` with `long`, the labels on its lines (or starting where it does) left out.
fn with_long(text: &str, mut labels: Vec<Label>, long: Option<Label>) -> Vec<Label> {
    let Some(long) = long else { return labels };
    let line_of =
        |at: usize| stowage::yaml::source::line_starts(text).partition_point(|&s| s <= at) - 1;
    let (first, last) = (line_of(long.0), line_of(long.1 - 1));
    labels.retain(|l| l.0 != long.0 && !(first..=last).contains(&line_of(l.0)));
    labels.push(long);
    labels
}

/// Any labels: spans between any two bytes (inside characters, across lines, at the end of the
/// file, several at the same byte), any of them primary.
fn any_labels(text: &str, picks: &[(usize, usize, Option<String>, bool)]) -> Vec<Label> {
    picks
        .iter()
        .map(|(a, len, label, primary)| {
            let start = a % (text.len() + 1);
            let end = (start + len % 12).min(text.len());
            (start, end, label.clone(), *primary)
        })
        .collect()
}

fn case(
    text: impl Strategy<Value = String>,
    labels: impl Strategy<Value = Vec<(usize, usize, usize, Option<String>)>>,
    long: impl Strategy<Value = Option<LongPick>>,
    any: impl Strategy<Value = Vec<(usize, usize, Option<String>, bool)>>,
) -> impl Strategy<Value = Case> {
    (text, severity(), prose(), prose(), labels, long, any).prop_map(
        |(text, severity, message, help, picks, long, any)| {
            let long = long.and_then(|pick| long_label(&text, &pick));
            let mut labels = with_long(&text, one_line_labels(&text, &picks), long);
            labels.extend(any_labels(&text, &any));
            Case {
                text,
                severity,
                message,
                help,
                labels,
            }
        },
    )
}

fn long(unusual: bool) -> impl Strategy<Value = Option<LongPick>> {
    let pick = (
        any::<usize>(),
        any::<usize>(),
        any::<usize>(),
        any::<usize>(),
        label_text(unusual),
        any::<bool>(),
    );
    prop::option::of(pick)
}

fn picks(unusual: bool) -> impl Strategy<Value = Vec<(usize, usize, usize, Option<String>)>> {
    prop::collection::vec(
        (
            any::<usize>(),
            any::<usize>(),
            any::<usize>(),
            label_text(unusual),
        ),
        1..5,
    )
}

proptest! {
    #![proptest_config(config(2000))]

    /// Labels on single lines, and one over several lines with no other on its lines, in files
    /// with `\n` and `\r\n` breaks and characters of known width: drawn directly, as miette
    /// draws them.
    #[test]
    fn common_labels_are_drawn_directly(
        case in case(text(false), picks(false), long(false), Just(Vec::new()))
    ) {
        for colour in [false, true] {
            let miette = draw_case(Renderer::Miette, colour, &case);
            prop_assert_eq!(draw_case(Renderer::DirectOnly, colour, &case), miette);
        }
    }

    /// Anything (labels across lines, at the end of the file, at the same byte, inside
    /// characters; lone `\r`, escapes, characters of changed width): drawn as miette draws it.
    #[test]
    fn any_labels_are_drawn_as_miette_draws_them(
        case in case(
            text(true),
            prop::collection::vec(
                (any::<usize>(), any::<usize>(), any::<usize>(), label_text(true)),
                0..4,
            ),
            long(true),
            prop::collection::vec(
                (any::<usize>(), any::<usize>(), label_text(true), any::<bool>()),
                0..3,
            ),
        )
    ) {
        for colour in [false, true] {
            let miette = draw_case(Renderer::Miette, colour, &case);
            prop_assert_eq!(draw_case(Renderer::Direct, colour, &case), miette);
        }
    }
}
