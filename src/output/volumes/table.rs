//! `stowage volumes` for people: one table per project, one row per mount as the engine builds
//! the service's table (mounts shared through `volumes_from` say where from), and one per data
//! path nothing holds (the container's own layer).

use std::fmt::Write;

use crate::analysis::{Effective, layer_paths, shown_mounts};
use crate::compose::model::{Mount, MountSyntax};
use crate::compose::mounts::{MountKind, Survives};
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

pub(crate) fn render(inventory: &Inventory) -> String {
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
            let mounts = shown_mounts(project, analysis, a);
            let yn = |b: bool| if b { "yes" } else { "no" }.to_owned();
            let survival = |s: Survives| {
                [
                    yn(s.restart),
                    yn(s.recreate),
                    yn(s.down_up),
                    yn(s.down_volumes),
                ]
            };
            for Effective { mount: m, from } in &mounts {
                let kind = match from {
                    Some(from) => format!("{} (from {})", m.kind.as_str(), cell(from)),
                    None => kind(m),
                };
                let [restart, recreate, down_up, down_volumes] = survival(project.survives(m));
                rows.push([
                    cell(&service.name),
                    kind,
                    cell(&source(m).unwrap_or_else(|| "-".into())),
                    cell(&m.target),
                    if m.read_only { "ro".into() } else { "".into() },
                    restart,
                    recreate,
                    down_up,
                    down_volumes,
                ]);
            }
            // Data paths nothing holds: the container's own layer, the worst losses.
            let layer = layer_paths(a, &mounts);
            for path in &layer {
                let [restart, recreate, down_up, down_volumes] =
                    survival(Survives::CONTAINER_LAYER);
                rows.push([
                    cell(&service.name),
                    "container layer".into(),
                    "-".into(),
                    cell(path),
                    "".into(),
                    restart,
                    recreate,
                    down_up,
                    down_volumes,
                ]);
            }
            if mounts.is_empty() && layer.is_empty() {
                let mut row: [String; 9] = Default::default();
                row[0] = cell(&service.name);
                row[1] = "-".into();
                rows.push(row);
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
