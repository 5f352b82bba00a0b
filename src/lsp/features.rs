//! What the editor is shown: findings as diagnostics (the rule as code, a link to its
//! documentation, severity, exact range, related places), their fixes as code actions (computed
//! and verified by the fix engine, `fix::fix_project`, one finding at a time), and on a mount what
//! it survives (the same classification `stowage volumes` shows).

use std::path::Path;

use foldhash::HashMap;
use lsp_types::{
    CodeAction, CodeActionKind, CodeDescription, Diagnostic, DiagnosticRelatedInformation,
    DiagnosticSeverity, Hover, HoverContents, Location, MarkupContent, MarkupKind, NumberOrString,
    Position, Range, TextEdit, Uri, WorkspaceEdit,
};

use super::session::{Linted, Session};
use super::text::{LineIndex, whole_edit};
use crate::compose::model::Project;
use crate::finding::{Applicability, Finding, Severity};
use crate::fix;
use crate::lint::config::ConfigError;
use crate::output::volumes::table;
use crate::yaml::value::{FileId, Loc};

const SOURCE: &str = "stowage";

/// The diagnostics of `findings`, by file (every file of the project: none is an empty list).
pub(crate) fn diagnostics(
    project: &Project,
    findings: &[Finding],
    uri_of: impl Fn(&Path) -> Option<Uri>,
) -> HashMap<std::path::PathBuf, Vec<Diagnostic>> {
    let mut out: HashMap<std::path::PathBuf, Vec<Diagnostic>> = project
        .files
        .iter()
        .map(|f| (f.source.path.clone(), Vec::new()))
        .collect();
    let mut indexes: HashMap<FileId, LineIndex> = HashMap::default();
    for f in findings {
        let d = diagnostic(project, f, &mut indexes, &uri_of);
        let path = project.file(f.loc.file).source.path.clone();
        out.entry(path).or_default().push(d);
    }
    out
}

/// The range of `loc` in its file, with the line index of each file made once.
fn range<'p>(
    project: &'p Project,
    loc: Loc,
    indexes: &mut HashMap<FileId, LineIndex<'p>>,
) -> Range {
    indexes
        .entry(loc.file)
        .or_insert_with(|| LineIndex::new(&project.file(loc.file).source.text))
        .range(loc.start, loc.end)
}

fn diagnostic<'p>(
    project: &'p Project,
    f: &Finding,
    indexes: &mut HashMap<FileId, LineIndex<'p>>,
    uri_of: &impl Fn(&Path) -> Option<Uri>,
) -> Diagnostic {
    let related: Vec<DiagnosticRelatedInformation> = f
        .labels
        .iter()
        .filter_map(|label| {
            let uri = uri_of(&project.file(label.loc.file).source.path)?;
            Some(DiagnosticRelatedInformation {
                location: Location::new(uri, range(project, label.loc, indexes)),
                message: label.message.clone(),
            })
        })
        .collect();
    let message = if f.help.is_empty() {
        f.message.clone()
    } else {
        format!("{}\nhelp: {}", f.message, f.help)
    };
    Diagnostic {
        range: range(project, f.loc, indexes),
        severity: Some(severity(f.severity)),
        code: Some(NumberOrString::String(f.rule.to_owned())),
        code_description: rule_href(f.rule),
        source: Some(SOURCE.to_owned()),
        message,
        related_information: (!related.is_empty()).then_some(related),
        tags: None,
        data: None,
    }
}

fn severity(s: Severity) -> DiagnosticSeverity {
    match s {
        Severity::Error => DiagnosticSeverity::ERROR,
        Severity::Warning => DiagnosticSeverity::WARNING,
        Severity::Info => DiagnosticSeverity::INFORMATION,
    }
}

/// Where the rule is documented: its section of the rule reference.
fn rule_href(rule: &str) -> Option<CodeDescription> {
    let href = crate::output::rules_doc::url(rule).parse().ok()?;
    Some(CodeDescription { href })
}

/// A configuration file that cannot be used, at the place it says.
pub(crate) fn config_diagnostic(e: &ConfigError) -> Diagnostic {
    let at = Position::new(
        u32::try_from(e.line.saturating_sub(1)).unwrap_or(u32::MAX),
        u32::try_from(e.column.saturating_sub(1)).unwrap_or(u32::MAX),
    );
    Diagnostic {
        range: Range::new(at, at),
        severity: Some(DiagnosticSeverity::ERROR),
        source: Some(SOURCE.to_owned()),
        message: format!("configuration: {}", e.message),
        ..Diagnostic::default()
    }
}

/// Whether `loc` is in the file at `path` and touches `start..=end`.
fn touches(project: &Project, loc: Loc, path: &Path, start: usize, end: usize) -> bool {
    loc.start <= end && start <= loc.end && project.file(loc.file).source.path == path
}

/// The byte offsets of `range` in the text `linted` read for `path`.
fn offsets(linted: &Linted, path: &Path, range: Range) -> Option<(usize, usize)> {
    let file = linted
        .project
        .files
        .iter()
        .find(|f| f.source.path == path)?;
    let index = LineIndex::new(&file.source.text);
    Some((index.offset(range.start), index.offset(range.end)))
}

/// The fixes of the findings of `path` in `range`, as code actions: safe ones preferred quick
/// fixes, unsafe ones said so (they change where data lives).
pub(crate) fn code_actions(session: &Session, path: &Path, range: Range) -> Vec<CodeAction> {
    let mut out: Vec<CodeAction> = Vec::new();
    for linted in session.linted_with(path) {
        let Some((start, end)) = offsets(linted, path, range) else {
            continue;
        };
        let mut indexes = HashMap::default();
        for f in &linted.findings {
            let Some(fix) = &f.fix else { continue };
            if !touches(&linted.project, f.loc, path, start, end) {
                continue;
            }
            let Some(edit) = fix_edit(session, linted, f) else {
                continue;
            };
            let safe = fix.applicability == Applicability::Safe;
            let title = if safe {
                fix.title.clone()
            } else {
                format!("{} (unsafe)", fix.title)
            };
            if out
                .iter()
                .any(|a| a.title == title && a.edit.as_ref() == Some(&edit))
            {
                continue;
            }
            let d = diagnostic(&linted.project, f, &mut indexes, &|p: &Path| {
                session.uri_of(p)
            });
            out.push(CodeAction {
                title,
                kind: Some(CodeActionKind::QUICKFIX),
                diagnostics: Some(vec![d]),
                edit: Some(edit),
                is_preferred: Some(safe),
                ..CodeAction::default()
            });
        }
    }
    out
}

/// The edit fixing `target` alone, as the fix engine applies and verifies it (the other
/// findings lose their fixes; its own is applied whether safe or not).
fn fix_edit(session: &Session, linted: &Linted, target: &Finding) -> Option<WorkspaceEdit> {
    let configured = &linted.configured;
    let lint = |p: &Project| {
        let analysis = crate::analysis::analyse(p, &configured.kb);
        let mut findings = crate::lint::run(
            p,
            &analysis,
            &configured.kb,
            &linted.settings,
            &configured.config,
        );
        for f in &mut findings {
            if (f.rule, &f.message, &f.services) != (target.rule, &target.message, &target.services)
            {
                f.fix = None;
            }
        }
        findings
    };
    let outcome = fix::fix_project(&linted.opts, &lint, true)
        .map_err(|e| eprintln!("stowage server: {e}"))
        .ok()?;
    if outcome.files.is_empty() {
        return None;
    }
    // The type lsp-types gives `WorkspaceEdit::changes`; a `Uri` hashes its text, which never
    // changes once parsed.
    #[allow(clippy::mutable_key_type)]
    let mut changes: std::collections::HashMap<Uri, Vec<TextEdit>> =
        std::collections::HashMap::new();
    for file in &outcome.files {
        let uri = session.uri_of(&file.path)?;
        changes.insert(uri, vec![whole_edit(&file.original, &file.fixed)]);
    }
    Some(WorkspaceEdit::new(changes))
}

/// What the mounts written at `position` of `path` survive, one section per service using them
/// (an anchor can be shared).
pub(crate) fn hover(session: &Session, path: &Path, position: Position) -> Option<Hover> {
    let mut sections: Vec<String> = Vec::new();
    let mut at: Option<Range> = None;
    for linted in session.linted_with(path) {
        let Some((offset, _)) = offsets(linted, path, Range::new(position, position)) else {
            continue;
        };
        let project = &linted.project;
        for a in &linted.analysis {
            for m in &a.mounts {
                let Some(loc) = m.loc.filter(|&l| touches(project, l, path, offset, offset)) else {
                    continue;
                };
                let kind = table::kind(m);
                let source = table::source(m)
                    .map(|s| format!(" `{s}`"))
                    .unwrap_or_default();
                let s = project.survives(m);
                let yn = |b: bool| if b { "yes" } else { "**no**" };
                let section = format!(
                    "**{}**: {kind}{source} → `{}`{}\n\n| restart | recreate | down + up | down -v |\n|---|---|---|---|\n| {} | {} | {} | {} |",
                    project.services[a.service].name,
                    m.target,
                    if m.read_only { " (read-only)" } else { "" },
                    yn(s.restart),
                    yn(s.recreate),
                    yn(s.down_up),
                    yn(s.down_volumes),
                );
                if !sections.contains(&section) {
                    sections.push(section);
                }
                let index = LineIndex::new(&project.file(loc.file).source.text);
                at.get_or_insert(index.range(loc.start, loc.end));
            }
        }
    }
    if sections.is_empty() {
        return None;
    }
    Some(Hover {
        contents: HoverContents::Markup(MarkupContent {
            kind: MarkupKind::Markdown,
            value: sections.join("\n\n---\n\n"),
        }),
        range: at,
    })
}
