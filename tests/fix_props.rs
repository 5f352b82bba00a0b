//! Properties of the fix machinery (proptest): applying edits changes nothing outside them,
//! rendered scalars read back as the same string in every style, and fixing random compose
//! projects converges — a second run changes nothing and the result loads without errors.

use std::path::Path;

use indexmap::IndexMap;
use proptest::prelude::*;
use stowage::analysis;
use stowage::compose::loader::{self, LoadOptions};
use stowage::compose::model::Project;
use stowage::finding::{Edit, Finding};
use stowage::fix;
use stowage::fix::migrate;
use stowage::images::KnowledgeBase;
use stowage::lint::config::Config;
use stowage::lint::{self, RuleSettings};
use stowage::rules::convert::{BindStrategy, FixSettings};
use stowage::yaml::edit::render_scalar;
use stowage::yaml::syntax::{self, Kind, Style};

mod common;
use common::oracle;
use common::props::config;

// ---------------------------------------------------------------------------------------------
// edit application

/// Text with multi-byte characters and both line endings, so boundaries matter.
fn text() -> impl Strategy<Value = String> {
    text_of(0)
}

/// [`text`] of at least `min` characters.
fn text_of(min: usize) -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop::sample::select(vec!["a", "b", " ", "\n", "\r\n", "é", "€", "😀", ":", "#"]),
        min..40,
    )
    .prop_map(|parts| parts.concat())
}

/// Byte offsets of the character boundaries of `s`.
fn boundaries(s: &str) -> Vec<usize> {
    s.char_indices().map(|(i, _)| i).chain([s.len()]).collect()
}

/// Non-overlapping edits (sorted; inserts may share a point) from raw picks.
fn edits_for(text: &str, picks: &[(usize, usize, String)]) -> Vec<Edit> {
    let b = boundaries(text);
    let mut raw: Vec<(usize, usize, String)> = picks
        .iter()
        .map(|(s, len, content)| {
            let start = s % b.len();
            let end = (start + len % 4).min(b.len() - 1);
            (b[start], b[end], content.clone())
        })
        .collect();
    raw.sort_by_key(|(s, e, _)| (*s, *e));
    let mut out: Vec<Edit> = Vec::new();
    for (start, end, content) in raw {
        if let Some(last) = out.last() {
            // A replacement must start at or after the previous edit's end; an insert may
            // follow another insert at the same point, but not sit inside a replacement.
            if start < last.end || (start == last.end && start == last.start && end > start) {
                continue;
            }
        }
        out.push(Edit {
            start,
            end,
            content,
        });
    }
    out
}

/// The expected result, spliced by hand from the sorted edits.
fn splice(text: &str, edits: &[Edit]) -> String {
    let mut out = String::new();
    let mut at = 0;
    for e in edits {
        out.push_str(&text[at..e.start]);
        out.push_str(&e.content);
        at = e.end;
    }
    out.push_str(&text[at..]);
    out
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn edits_change_nothing_outside_them(
        text in text(),
        picks in prop::collection::vec((0usize..64, 0usize..8, "[a-z\n:é]{0,4}"), 0..8),
    ) {
        let edits = edits_for(&text, &picks);
        let result = fix::apply_edits(&text, &edits).expect("non-overlapping edits apply");
        prop_assert_eq!(&result, &splice(&text, &edits));
        // Everything between the edits is there, byte for byte, at its shifted place.
        let mut shift: isize = 0;
        let mut at = 0;
        for e in &edits {
            let kept = &text[at..e.start];
            let from = (at as isize + shift) as usize;
            prop_assert_eq!(&result[from..from + kept.len()], kept);
            shift += e.content.len() as isize - (e.end - e.start) as isize;
            at = e.end;
        }
        let from = (at as isize + shift) as usize;
        prop_assert_eq!(&result[from..], &text[at..]);
        // The order edits are given in does not matter when no two share a point.
        let distinct = edits.windows(2).all(|w| w[0].start != w[1].start);
        if distinct {
            let reversed: Vec<Edit> = edits.iter().rev().cloned().collect();
            prop_assert_eq!(fix::apply_edits(&text, &reversed).unwrap(), result);
        }
    }

    #[test]
    fn overlapping_or_misplaced_edits_are_refused(
        text in text_of(2),
        a in 0usize..64, len in 1usize..4, b in 0usize..64,
    ) {
        let bounds = boundaries(&text);
        let start = bounds[a % (bounds.len() - 1)];
        let end = bounds[(a % (bounds.len() - 1) + len).min(bounds.len() - 1)];
        // A second replacement starting strictly inside the first.
        let inside: Vec<usize> = bounds.iter().copied().filter(|&x| x > start && x < end).collect();
        if !inside.is_empty() {
            let other = inside[b % inside.len()];
            let edits = [
                Edit { start, end, content: "x".into() },
                Edit { start: other, end: other.max(end), content: "y".into() },
            ];
            prop_assert!(fix::apply_edits(&text, &edits).is_err());
        }
        // Past the end, or not on a character boundary.
        let past = Edit { start, end: text.len() + 1 + b % 3, content: String::new() };
        prop_assert!(fix::apply_edits(&text, &[past]).is_err());
        if let Some(mid) = (start + 1..end).find(|&i| !text.is_char_boundary(i)) {
            let split = Edit { start: mid, end: mid, content: "z".into() };
            prop_assert!(fix::apply_edits(&text, &[split]).is_err());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// quoting round trips

/// Strings full of what YAML treats specially.
fn scalar_value() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            4 => prop::sample::select(vec![
                "a", "Z", "0", "1", "-", "?", ":", ",", "[", "]", "{", "}", "#", "&", "*", "!",
                "|", ">", "'", "\"", "%", "@", "`", "\\", " ", "  ", "\t", "\n", "\r", "\r\n",
                ": ", " #", "~", "null", "true", "yes", "No", "0x1F", "0o17", "1e3", ".5",
                ".inf", "-.Inf", ".NaN", "é", "€", "😀", "\u{0}", "\u{7}", "\u{1b}", "\u{7f}",
                "\u{85}", "\u{a0}", "\u{2028}", "\u{feff}", "${X}", "$$", "/var/lib/data",
                "1_000", "+1", "-0x1F", "0b11", "1:30", "+.INF",
                "db-data:/x", "---", "...",
            ]).prop_map(str::to_owned),
            1 => any::<char>().prop_map(|c| c.to_string()),
        ],
        0..6,
    )
    .prop_map(|parts| parts.concat())
}

fn style() -> impl Strategy<Value = Style> {
    prop::sample::select(vec![
        Style::Plain,
        Style::SingleQuoted,
        Style::DoubleQuoted,
        Style::Literal,
        Style::Folded,
    ])
}

/// The string value of the first scalar after the key `k` in `doc`.
fn value_of(doc: &str) -> Result<String, String> {
    let tree = syntax::parse(doc);
    if let Some(e) = &tree.error {
        return Err(format!("parse error: {e}"));
    }
    let key = tree
        .nodes
        .iter()
        .position(|n| matches!(&n.kind, Kind::Scalar { value, .. } if value == "k"))
        .ok_or("no key")?;
    let value = tree
        .nodes
        .iter()
        .find_map(|n| match &n.kind {
            Kind::Map { entries, .. } => entries.iter().find(|(k, _)| *k == key).map(|(_, v)| *v),
            _ => None,
        })
        .ok_or("no value")?;
    let value = match &tree.nodes[value].kind {
        Kind::Seq { items, .. } => *items.first().ok_or("empty list")?,
        _ => value,
    };
    match &tree.nodes[value].kind {
        Kind::Scalar { value, style } => {
            // A plain scalar that YAML resolves to something other than a string (null, a
            // boolean, a number) does not count as the same string.
            if *style == Style::Plain && !value.is_empty() && !plain_is_string(value) {
                return Err(format!("plain `{value}` is not read as a string"));
            }
            Ok(value.to_string())
        }
        other => Err(format!("not a scalar: {other:?}")),
    }
}

/// Whether a plain scalar is a string under YAML 1.1 and 1.2 core resolution (what compose's
/// loader and `docker compose config` could read otherwise).
fn plain_is_string(v: &str) -> bool {
    let lower = v.to_ascii_lowercase();
    let words = [
        "~", "null", "true", "false", "yes", "no", "on", "off", "y", "n", ".inf", "-.inf", "+.inf",
        ".nan",
    ];
    let unsigned = lower.trim_start_matches(['+', '-']);
    let digits = lower.replace('_', "");
    !(words.contains(&lower.as_str())
        || digits.parse::<f64>().is_ok()
        || digits.parse::<i64>().is_ok()
        || unsigned.starts_with("0x")
        || unsigned.starts_with("0o")
        || unsigned.starts_with("0b"))
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn rendered_scalars_read_back_as_the_same_string(
        value in scalar_value(),
        style in style(),
    ) {
        // As a mapping value, as a block-sequence item, and inside flow collections.
        let block = render_scalar(&value, style, false);
        let flow = render_scalar(&value, style, true);
        for doc in [
            format!("k: {block}\n"),
            format!("k:\n  - {block}\n"),
            format!("k: [{flow}]\n"),
            format!("{{k: {flow}, other: 1}}\n"),
            format!("k: [{flow}, other]\n"),
        ] {
            let read = value_of(&doc);
            prop_assert_eq!(
                read.as_deref(),
                Ok(value.as_str()),
                "{:?} rendered in {:?} as {:?} in {:?}",
                value, style, if doc.contains('[') || doc.starts_with('{') { &flow } else { &block }, doc
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// fixing random projects

#[derive(Debug, Clone)]
enum Entry {
    /// `- /target`, in one of the quoting styles.
    Anonymous(&'static str, Style),
    /// `- name:/target` (the name is declared at top level when there is one).
    Named(&'static str, &'static str),
    /// `- ./dir:/target` (read-write) or read-only.
    Bind(&'static str, bool),
    /// `- type: volume` + `target:` (long syntax without source).
    LongAnonymous(&'static str),
    /// Long syntax with an empty `source: ""` (compose rejects a null one).
    LongEmptySource(&'static str),
}

impl Entry {
    fn target(&self) -> &'static str {
        match self {
            Entry::Anonymous(t, _)
            | Entry::LongAnonymous(t)
            | Entry::LongEmptySource(t)
            | Entry::Named(_, t) => t,
            Entry::Bind(d, _) => d,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum ListStyle {
    Absent,
    Block,
    Flow,
}

#[derive(Debug, Clone)]
struct Service {
    name: &'static str,
    image: &'static str,
    /// `<<: *common` (the anchor's keys, its `volumes:` unless the service has its own).
    merges: bool,
    list: ListStyle,
    entries: Vec<Entry>,
    comment: bool,
    /// Written as a flow mapping: `name: {image: …, volumes: […]}`.
    flow: bool,
    /// Ends with a literal block scalar (`command: |`) whose text looks like volume entries.
    command_block: bool,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Top {
    Absent,
    EmptyFlow,
    Block,
    Flow,
}

#[derive(Debug, Clone)]
struct Spec {
    services: Vec<Service>,
    /// `x-common: &common` with these volumes (when some service merges it).
    anchor: Vec<Entry>,
    top: Top,
    crlf: bool,
    bom: bool,
    final_newline: bool,
    indent: usize,
    /// The last service goes into a second YAML document.
    two_documents: bool,
    /// Blank lines between top-level sections, a `networks:` section last, a comment at the end.
    airy: bool,
}

const TARGETS: &[&str] = &[
    "/data",
    "/var/lib/postgresql/data",
    "/x/data",
    "/cache",
    "/srv/a b",
    "/var/lib/app",
];

fn entry() -> impl Strategy<Value = Entry> {
    let target = prop::sample::select(TARGETS);
    prop_oneof![
        4 => (target.clone(), prop::sample::select(vec![Style::Plain, Style::SingleQuoted, Style::DoubleQuoted]))
            .prop_map(|(t, s)| Entry::Anonymous(t, s)),
        1 => (prop::sample::select(vec!["v", "db-data", "a-data"]), target.clone())
            .prop_map(|(n, t)| Entry::Named(n, t)),
        1 => (prop::sample::select(vec!["/d", "/srv/files"]), any::<bool>())
            .prop_map(|(d, ro)| Entry::Bind(d, ro)),
        1 => target.clone().prop_map(Entry::LongAnonymous),
        1 => target.prop_map(Entry::LongEmptySource),
    ]
}

fn service() -> impl Strategy<Value = Service> {
    (
        prop::sample::select(vec!["db", "a", "a-b", "web", "cache", "app"]),
        prop::sample::select(vec![
            "redis:7",
            "postgres:16",
            "nginx:1.27",
            "alpine:3.20",
            "ghcr.io/example/app:1",
        ]),
        any::<bool>(),
        prop::sample::select(vec![ListStyle::Absent, ListStyle::Block, ListStyle::Flow]),
        prop::collection::vec(entry(), 0..4),
        any::<bool>(),
        prop::sample::select(vec![false, false, false, true]),
        any::<bool>(),
    )
        .prop_map(
            |(name, image, merges, list, entries, comment, flow, command_block)| Service {
                name,
                image,
                merges,
                list,
                entries,
                comment,
                flow,
                command_block,
            },
        )
}

fn spec() -> impl Strategy<Value = Spec> {
    (
        prop::collection::vec(service(), 1..4),
        prop::collection::vec(entry(), 0..3),
        prop::sample::select(vec![Top::Absent, Top::EmptyFlow, Top::Block, Top::Flow]),
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        prop::sample::select(vec![2usize, 4]),
        any::<bool>(),
        any::<bool>(),
    )
        .prop_map(
            |(services, anchor, top, crlf, bom, final_newline, indent, two_documents, airy)| Spec {
                services,
                anchor,
                top,
                crlf,
                bom,
                final_newline,
                indent,
                two_documents,
                airy,
            },
        )
}

/// A list item as written in block (`flow` false) or flow context.
fn item(e: &Entry, flow: bool, pad: &str, eol: &str) -> String {
    match e {
        Entry::Anonymous(t, style) => render_scalar(t, *style, flow),
        Entry::Named(n, t) => render_scalar(&format!("{n}:{t}"), Style::Plain, flow),
        Entry::Bind(d, ro) => {
            let ro = if *ro { ":ro" } else { "" };
            render_scalar(&format!(".{d}:{d}{ro}"), Style::Plain, flow)
        }
        Entry::LongAnonymous(t) if flow => format!("{{type: volume, target: {t:?}}}"),
        Entry::LongAnonymous(t) => format!("type: volume{eol}{pad}  target: {t:?}"),
        Entry::LongEmptySource(t) if flow => format!("{{type: volume, source: '', target: {t:?}}}"),
        Entry::LongEmptySource(t) => {
            format!("type: volume{eol}{pad}  source: \"\"{eol}{pad}  target: {t:?}")
        }
    }
}

/// Keeps the first entry per target (compose rejects two mounts on one target), drops named
/// volumes nothing declares.
fn usable(entries: &[Entry], declared: bool) -> Vec<Entry> {
    let mut seen: Vec<&str> = Vec::new();
    let mut out = Vec::new();
    for e in entries {
        if matches!(e, Entry::Named(..)) && !declared {
            continue;
        }
        if !seen.contains(&e.target()) {
            seen.push(e.target());
            out.push(e.clone());
        }
    }
    out
}

fn volume_list(entries: &[Entry], style: ListStyle, indent: &str, eol: &str) -> String {
    match style {
        ListStyle::Absent => String::new(),
        ListStyle::Flow => {
            let items: Vec<String> = entries.iter().map(|e| item(e, true, "", eol)).collect();
            format!("{indent}volumes: [{}]{eol}", items.join(", "))
        }
        ListStyle::Block if entries.is_empty() => format!("{indent}volumes: []{eol}"),
        ListStyle::Block => {
            let pad = format!("{indent}  ");
            let mut out = format!("{indent}volumes:{eol}");
            for (i, e) in entries.iter().enumerate() {
                let comment = if i % 2 == 1 { "  # entry" } else { "" };
                out.push_str(&format!(
                    "{pad}- {}{comment}{eol}",
                    item(e, false, &pad, eol)
                ));
            }
            out
        }
    }
}

fn render(spec: &Spec) -> String {
    let eol = if spec.crlf { "\r\n" } else { "\n" };
    let unit = " ".repeat(spec.indent);
    let declared = matches!(spec.top, Top::Block | Top::Flow);
    let mut out = String::new();
    if spec.bom {
        out.push('\u{feff}');
    }
    let merging = spec.services.iter().any(|s| s.merges);
    if merging {
        out.push_str(&format!("x-common: &common{eol}{unit}restart: always{eol}"));
        let anchor = usable(&spec.anchor, declared);
        if !anchor.is_empty() {
            out.push_str(&volume_list(&anchor, ListStyle::Block, &unit, eol));
        }
    }
    let mut names: Vec<&str> = Vec::new();
    let services: Vec<&Service> = spec
        .services
        .iter()
        .filter(|s| {
            let fresh = !names.contains(&s.name);
            names.push(s.name);
            fresh
        })
        .collect();
    // Anchors do not reach into another document: a service that merges one stays in the first.
    let split = spec.two_documents && services.len() > 1 && !services[services.len() - 1].merges;
    out.push_str(&format!("services:{eol}"));
    for (i, s) in services.iter().enumerate() {
        if split && i == services.len() - 1 {
            out.push_str(&format!("---{eol}services:{eol}"));
        }
        let comment = if s.comment { "   # a comment" } else { "" };
        if s.flow {
            let declared_entries = usable(&s.entries, declared);
            let mut parts = Vec::new();
            if s.merges {
                parts.push("<<: *common".to_owned());
            }
            parts.push(format!("image: {}", s.image));
            if s.list != ListStyle::Absent {
                let items: Vec<String> = declared_entries
                    .iter()
                    .map(|e| item(e, true, "", eol))
                    .collect();
                parts.push(format!("volumes: [{}]", items.join(", ")));
            }
            out.push_str(&format!(
                "{unit}{}: {{{}}}{comment}{eol}",
                s.name,
                parts.join(", ")
            ));
            continue;
        }
        out.push_str(&format!("{unit}{}:{comment}{eol}", s.name));
        let inner = unit.repeat(2);
        if s.merges {
            out.push_str(&format!("{inner}<<: *common{eol}"));
        }
        out.push_str(&format!("{inner}image: {}{eol}", s.image));
        out.push_str(&volume_list(
            &usable(&s.entries, declared),
            s.list,
            &inner,
            eol,
        ));
        if s.command_block {
            out.push_str(&format!(
                "{inner}command: |{eol}{inner}{unit}- /not-a-volume{eol}{inner}{unit}volumes:{eol}{eol}"
            ));
        }
    }
    if spec.airy {
        out.push_str(eol);
    }
    match spec.top {
        Top::Absent => {}
        Top::EmptyFlow => out.push_str(&format!("volumes: {{}}{eol}")),
        Top::Block => out.push_str(&format!(
            "volumes:{eol}{unit}v:{eol}{unit}db-data:   # taken{eol}{unit}a-data: {{}}{eol}"
        )),
        Top::Flow => out.push_str(&format!(
            "volumes: {{v: {{}}, db-data: {{}}, a-data: null}}{eol}"
        )),
    }
    if spec.airy {
        out.push_str(&format!(
            "{eol}networks:{eol}{unit}default: {{}}{eol}# the end{eol}"
        ));
    }
    if !spec.final_newline {
        out.truncate(out.len() - eol.len());
    }
    out
}

/// Docker Compose's own view of the project in `dir`: every (service, target) it mounts, or
/// why it rejects the project. None without the reference CLI (`STOWAGE_ORACLE`, which CI has).
fn compose_targets(dir: &Path) -> Option<Result<Vec<(String, String)>, String>> {
    let out = std::process::Command::new(oracle::installed()?)
        .args(["config", "--format", "json"])
        .current_dir(dir)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("HOME", "/home/user")
        .output()
        .expect("the reference CLI runs");
    if !out.status.success() {
        return Some(Err(String::from_utf8_lossy(&out.stderr).into_owned()));
    }
    let doc: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    let mut targets = Vec::new();
    for (name, service) in doc["services"].as_object().into_iter().flatten() {
        for v in service["volumes"].as_array().into_iter().flatten() {
            targets.push((name.clone(), v["target"].as_str().unwrap_or("").to_owned()));
        }
    }
    targets.sort();
    Some(Ok(targets))
}

fn options(dir: &Path) -> LoadOptions {
    let mut env = IndexMap::new();
    env.insert("HOME".to_owned(), "/home/user".to_owned());
    LoadOptions {
        files: vec![dir.join("compose.yaml")],
        process_env: env.into(),
        cwd: dir.to_path_buf(),
        ..LoadOptions::default()
    }
}

fn lint(p: &Project) -> Vec<Finding> {
    let kb = KnowledgeBase::builtin();
    lint::run(
        p,
        &analysis::analyse(p, kb),
        kb,
        &RuleSettings::default(),
        &Config::default(),
    )
}

/// The text's BOM, line endings and final newline, which fixing must keep.
fn shape(text: &str) -> (bool, bool, bool) {
    let crlf = text.contains("\r\n");
    let lone_lf = text.replace("\r\n", "").contains('\n');
    (
        text.starts_with('\u{feff}'),
        crlf && !lone_lf,
        text.ends_with('\n'),
    )
}

/// Entries under a block top-level `volumes:` are indented by the file's unit.
fn indented_like_the_file(text: &str, unit: usize) -> bool {
    let lines: Vec<&str> = text
        .trim_start_matches('\u{feff}')
        .lines()
        .map(|l| l.trim_end_matches('\r'))
        .collect();
    lines.iter().enumerate().all(|(i, l)| {
        if !l.starts_with("volumes:") || l.contains('{') {
            return true;
        }
        match lines.get(i + 1) {
            Some(next) if next.starts_with(' ') => next.len() - next.trim_start().len() == unit,
            _ => true,
        }
    })
}

proptest! {
    #![proptest_config(config(96))]

    #[test]
    fn fixing_random_projects_converges(spec in spec()) {
        let text = render(&spec);
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        std::fs::write(dir.join("compose.yaml"), &text).unwrap();
        let opts = options(dir);
        let before = loader::load(&opts);
        prop_assert!(
            !before.is_rejected(),
            "the generator wrote a project compose rejects:\n{}\n{:?}",
            text,
            before.errors.iter().map(|e| &e.message).collect::<Vec<_>>()
        );

        let compose_before = compose_targets(dir);
        if let Some(Err(e)) = &compose_before {
            return Err(TestCaseError::fail(format!(
                "docker compose rejects the generated project: {e}\n{text}"
            )));
        }
        // Docker Compose accepts a changed file, and mounts something on the same targets
        // (image `VOLUME`s it does not list; those become explicit mounts).
        let compose_agrees = |changed: &str| -> Result<(), String> {
            let (Some(Ok(before)), Some(after)) = (&compose_before, compose_targets(dir)) else {
                return Ok(());
            };
            let after = after.map_err(|e| format!("docker compose rejects\n{changed}\n{e}"))?;
            match before.iter().find(|t| !after.contains(t)) {
                Some(lost) => Err(format!("{lost:?} is no longer mounted in\n{changed}")),
                None => Ok(()),
            }
        };

        // `check --fix --unsafe-fixes`
        let out = fix::fix_project(&opts, &lint, true);
        prop_assert!(out.is_ok(), "refused: {:?}\n{}", out.err(), text);
        let out = out.unwrap();
        let fixed = out.files.first().map_or_else(|| text.clone(), |f| f.fixed.clone());
        prop_assert_eq!(shape(&fixed), shape(&text), "{}\n--- became ---\n{}", text, fixed);
        prop_assert!(indented_like_the_file(&fixed, spec.indent), "{}", fixed);
        std::fs::write(dir.join("compose.yaml"), &fixed).unwrap();
        if fixed != text {
            let agreed = compose_agrees(&fixed);
            prop_assert!(agreed.is_ok(), "{}", agreed.unwrap_err());
        }
        let after = loader::load(&opts);
        prop_assert!(
            !after.is_rejected(),
            "the fixed project is rejected: {:?}\n{}",
            after.errors.iter().map(|e| &e.message).collect::<Vec<_>>(),
            fixed
        );
        let again = fix::fix_project(&opts, &lint, true).unwrap();
        prop_assert!(
            again.files.is_empty(),
            "a second run changes:\n{}\n--- into ---\n{}",
            fixed,
            again.files[0].fixed
        );
        // Every fix that was offered was applied.
        prop_assert!(again.remaining.iter().all(|f| f.fix.is_none()), "{}", fixed);

        // `stowage migrate --binds volume` on the original: verified, and settled after.
        std::fs::write(dir.join("compose.yaml"), &text).unwrap();
        let kb = KnowledgeBase::builtin();
        let mounts = analysis::analyse(&before, kb);
        let settings = FixSettings { binds: BindStrategy::Volume, ..FixSettings::default() };
        let m = migrate::migrate_project(&opts, &before, &mounts, kb, settings.clone());
        prop_assert!(m.is_ok(), "migration refused: {:?}\n{}", m.err(), text);
        let m = m.unwrap();
        let migrated = m.outcome.files.first().map_or_else(|| text.clone(), |f| f.fixed.clone());
        prop_assert_eq!(shape(&migrated), shape(&text));
        prop_assert!(indented_like_the_file(&migrated, spec.indent), "{}", migrated);
        std::fs::write(dir.join("compose.yaml"), &migrated).unwrap();
        if migrated != text && migrated != fixed {
            let agreed = compose_agrees(&migrated);
            prop_assert!(agreed.is_ok(), "{}", agreed.unwrap_err());
        }
        let after = loader::load(&opts);
        prop_assert!(!after.is_rejected(), "{}", migrated);
        let after_mounts = analysis::analyse(&after, kb);
        let second = migrate::migrate_project(&opts, &after, &after_mounts, kb, settings).unwrap();
        prop_assert!(second.outcome.files.is_empty(), "second migration changes:\n{}", migrated);
        prop_assert!(second.conversions.is_empty());
    }
}
