//! `stowage volumes` for people: one table per project, one row per mount.

use std::fmt::Write;

use crate::compose::model::{Mount, MountSyntax};
use crate::compose::mounts::MountKind;
use crate::output::escape::{one_line, terminal};
use crate::workspace::inventory::Inventory;

const HEADER: [&str; 9] = [
    "SERVICE", "KIND", "SOURCE", "TARGET", "RO", "RESTART", "RECREATE", "DOWN+UP", "DOWN -V",
];

/// A table cell from a file: on one line, without control characters.
fn cell(text: &str) -> String {
    one_line(text).into_owned()
}

/// A mount's kind, `(image)` for one an image `VOLUME` creates.
pub(crate) fn kind(m: &Mount) -> String {
    if m.syntax == MountSyntax::Implicit {
        format!("{} (image)", m.kind.as_str())
    } else {
        m.kind.as_str().to_owned()
    }
}

/// A mount's source as written (relative paths stay relative); a named volume with its engine
/// name.
pub(crate) fn source(m: &Mount) -> Option<String> {
    match (m.kind, &m.source, &m.resolved_source) {
        (MountKind::Named, Some(key), Some(engine)) if key != engine => {
            Some(format!("{key} ({engine})"))
        }
        (_, Some(source), _) => Some(source.clone()),
        _ => None,
    }
}

pub fn render(inventory: &Inventory) -> String {
    let mut out = String::new();
    for failure in &inventory.failures {
        let _ = writeln!(
            out,
            "error: {}{}",
            failure
                .path
                .as_deref()
                .map(|p| format!("{}: ", one_line(p)))
                .unwrap_or_default(),
            terminal(&failure.message)
        );
    }
    for (i, (project, analysis)) in inventory.projects.iter().enumerate() {
        if i > 0 || !inventory.failures.is_empty() {
            out.push('\n');
        }
        let files: Vec<String> = project
            .main_files
            .iter()
            .map(|&f| one_line(&project.file(f).source.display).into_owned())
            .collect();
        let _ = writeln!(
            out,
            "project {} ({})",
            one_line(&project.name),
            files.join(", ")
        );
        for e in &project.errors {
            let at = e
                .loc
                .map(|l| project.position(l))
                .map(|p| format!("{}:{}:{}: ", one_line(&p.path), p.line, p.column))
                .unwrap_or_default();
            let _ = writeln!(out, "  error: {at}{}", one_line(&e.message));
        }
        let mut rows: Vec<[String; 9]> = Vec::new();
        for a in analysis {
            let service = &project.services[a.service];
            for m in &a.mounts {
                let s = project.survives(m);
                let yn = |b: bool| if b { "yes" } else { "no" }.to_owned();
                let kind = kind(m);
                let source = source(m).unwrap_or_else(|| "-".into());
                rows.push([
                    cell(&service.name),
                    kind,
                    cell(&source),
                    cell(&m.target),
                    if m.read_only { "ro".into() } else { "".into() },
                    yn(s.restart),
                    yn(s.recreate),
                    yn(s.down_up),
                    yn(s.down_volumes),
                ]);
            }
            if a.mounts.is_empty() {
                rows.push([
                    cell(&service.name),
                    "-".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                    "".into(),
                ]);
            }
        }
        let mut widths = HEADER.map(|h| h.chars().count());
        for row in &rows {
            for (w, cell) in widths.iter_mut().zip(row) {
                *w = (*w).max(cell.chars().count());
            }
        }
        let line = |cells: &[String]| {
            let mut l = String::from("  ");
            // Cells are escaped when they are made (`cell`): widths count what is shown.
            for (i, (cell, w)) in cells.iter().zip(widths).enumerate() {
                if i + 1 == cells.len() {
                    l.push_str(cell);
                } else {
                    // Padded by hand: `{:<w$}` panics for widths past 65 535 (a huge source).
                    l.push_str(cell);
                    l.extend(std::iter::repeat_n(
                        ' ',
                        w.saturating_sub(cell.chars().count()) + 2,
                    ));
                }
            }
            l.trim_end().to_owned()
        };
        let _ = writeln!(out, "{}", line(&HEADER.map(str::to_owned)));
        for row in &rows {
            let _ = writeln!(out, "{}", line(row));
        }
    }
    out
}
