//! Applying fixes: non-overlapping edits per pass, re-load, re-lint, repeat until stable, then
//! verify before anything is written (the result parses, the targeted findings are gone, no new
//! error appeared, another pass would change nothing).

pub mod convert;
pub mod write;
pub mod yaml;

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::Arc;

use crate::finding::{Applicability, Edit, Finding, Fix, Severity};
use crate::model::{ProblemKind, Project};
use crate::project::{self, LoadOptions};
use crate::syntax::{self, Kind, Style, Tree};

/// Passes before the loop gives up (each pass applies every fix that does not overlap another).
pub const MAX_PASSES: usize = 50;

/// The result of fixing one project: the new text of every file that changed.
#[derive(Debug, Default)]
pub struct Outcome {
    pub files: Vec<FixedFile>,
    /// Fixes applied, over all passes.
    pub applied: usize,
    /// Unsafe fixes that were not applied (without `--unsafe-fixes`).
    pub unsafe_waiting: usize,
    /// The findings left after fixing.
    pub remaining: Vec<Finding>,
    /// The fixed project (for callers that report on it).
    pub project: Option<Project>,
}

#[derive(Debug, Clone)]
pub struct FixedFile {
    pub path: PathBuf,
    pub display: String,
    pub original: Arc<str>,
    pub fixed: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FixError {
    #[error("{path}: refusing to fix: {reason}")]
    Refused { path: String, reason: String },
}

/// Applies edits to `text`; edits must not overlap (pure inserts at one point keep their order).
/// Checks that everything outside the edits is byte-identical.
pub fn apply_edits(text: &str, edits: &[Edit]) -> Result<String, String> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.start, e.end));
    let mut out =
        String::with_capacity(text.len() + edits.iter().map(|e| e.content.len()).sum::<usize>());
    let mut at = 0;
    for e in &sorted {
        if e.start < at
            || e.end < e.start
            || e.end > text.len()
            || !text.is_char_boundary(e.start)
            || !text.is_char_boundary(e.end)
        {
            return Err(format!("edit {}..{} does not fit the text", e.start, e.end));
        }
        out.push_str(&text[at..e.start]);
        out.push_str(&e.content);
        at = e.end;
    }
    out.push_str(&text[at..]);
    // Everything between the edits must have been copied unchanged.
    let mut pos_old = 0;
    let mut pos_new = 0;
    for e in &sorted {
        let kept = &text[pos_old..e.start];
        if out.get(pos_new..pos_new + kept.len()) != Some(kept) {
            return Err("text outside the edits changed".into());
        }
        pos_new += kept.len() + e.content.len();
        pos_old = e.end;
    }
    if out.get(pos_new..) != Some(&text[pos_old..]) {
        return Err("text outside the edits changed".into());
    }
    Ok(out)
}

/// Checks that the edits changed only what they replaced: every scalar of `before` that no edit
/// touches reads the same in `fixed`, at its shifted place. An insert that landed inside a
/// block scalar's value (`|+` keeps trailing blank lines) or ran into a neighbouring value
/// changes one. Text that does not parse is left to the next pass, which refuses it.
pub fn landed_where_meant(
    text: &str,
    before: &Tree,
    fixed: &str,
    edits: &[Edit],
) -> Result<(), String> {
    let after = syntax::parse(fixed);
    if after.error.is_some() {
        return Ok(());
    }
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.start, e.end));
    let new_scalars: HashMap<usize, (&String, Style)> = after
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            Kind::Scalar { value, style } => Some((n.span.start, (value, *style))),
            _ => None,
        })
        .collect();
    for n in &before.nodes {
        let Kind::Scalar { value, style } = &n.kind else {
            continue;
        };
        if n.span.is_empty() {
            // An empty value (`key:`) has no text to keep.
            continue;
        }
        // A block scalar's span runs on through trailing blank lines: its text ends earlier.
        let end = match style {
            Style::Literal | Style::Folded => {
                n.span.start + text.get(n.span.clone()).map_or(0, |t| t.trim_end().len())
            }
            _ => n.span.end,
        };
        let touched = sorted.iter().any(|e| {
            if e.start == e.end {
                n.span.start < e.start && e.start < end
            } else {
                e.start < end && n.span.start < e.end
            }
        });
        if touched {
            continue;
        }
        let shift: isize = sorted
            .iter()
            .filter(|e| e.end <= n.span.start)
            .map(|e| e.content.len() as isize - (e.end - e.start) as isize)
            .sum();
        let at = (n.span.start as isize + shift) as usize;
        match new_scalars.get(&at) {
            Some((v, st)) if *v == value && *st == *style => {}
            _ => {
                return Err(format!(
                    "an edit changed the value `{}` it was not meant to touch",
                    value.escape_debug()
                ));
            }
        }
    }
    Ok(())
}

fn overlaps(a: &Edit, b: &Edit) -> bool {
    // Two inserts at one point from different fixes conflict: both may add the same section
    // (a top-level `volumes:`), so the second waits for the next pass — unless they stack (two
    // entries of one mapping), or a project with 100 anonymous volumes would need 100 passes.
    // An insert overlaps a replacement only strictly inside it.
    match (a.start == a.end, b.start == b.end) {
        (true, true) => a.start == b.start && !stackable(a, b),
        (true, false) => b.start < a.start && a.start < b.end,
        (false, true) => a.start < b.start && b.start < a.end,
        (false, false) => a.start < b.end && b.start < a.end,
    }
}

/// Whether two inserts at one point can both go in, in either order: both add only lines
/// indented alike and no less (`\n  a-data:` and `\n  b-data:`, entries of one block mapping),
/// or both add entries after an existing flow entry (`, a-data: {}`). Anything that adds a key
/// at column 0 (a whole `volumes:` section), or fills an empty flow collection, does not stack.
fn stackable(a: &Edit, b: &Edit) -> bool {
    fn indentation(content: &str) -> Option<usize> {
        let body = content
            .strip_prefix("\r\n")
            .or_else(|| content.strip_prefix('\n'))?;
        let width = |line: &str| line.len() - line.trim_start_matches(' ').len();
        let first = width(body);
        (first > 0 && body.split('\n').all(|line| width(line) >= first)).then_some(first)
    }
    let flow_entry = |e: &Edit| e.content.starts_with(", ") && !e.content.contains('\n');
    match (indentation(&a.content), indentation(&b.content)) {
        (Some(x), Some(y)) => x == y,
        _ => flow_entry(a) && flow_entry(b),
    }
}

/// Picks the fixes of one pass: in order, each fix whose edits overlap none already taken.
fn select<'a>(fixes: &[&'a Fix]) -> Vec<&'a Fix> {
    let mut taken: Vec<&'a Fix> = Vec::new();
    let mut edits: Vec<&Edit> = Vec::new();
    for &fix in fixes {
        if fix
            .edits
            .iter()
            .any(|e| edits.iter().any(|t| overlaps(e, t)))
        {
            continue;
        }
        edits.extend(fix.edits.iter());
        taken.push(fix);
    }
    taken
}

/// Identifies a finding across passes (offsets move; rule, message and services do not).
fn key(f: &Finding) -> (&'static str, String, Vec<String>) {
    (f.rule, f.message.clone(), f.services.clone())
}

/// Fixes one project: loads it with `opts`, lints it with `lint`, applies the fixes `wanted`
/// accepts, and loops until nothing changes. Nothing is written here.
pub fn fix_project(
    opts: &LoadOptions,
    lint: &dyn Fn(&Project) -> Vec<Finding>,
    unsafe_fixes: bool,
) -> Result<Outcome, FixError> {
    let wanted = |f: &Fix| f.applicability == Applicability::Safe || unsafe_fixes;
    let mut overlay: HashMap<PathBuf, Arc<str>> = opts.overlay.clone();
    let mut originals: HashMap<PathBuf, (String, Arc<str>)> = HashMap::new();
    let mut initial: Option<(Vec<Finding>, usize)> = None;
    let mut targeted: HashSet<(&'static str, String, Vec<String>)> = HashSet::new();
    let mut applied = 0;
    for _pass in 0..MAX_PASSES {
        let mut pass_opts = LoadOptions {
            overlay: overlay.clone(),
            ..opts.clone()
        };
        // The loader reads `-` from `stdin`, not from the overlay: hand it the edited text.
        if pass_opts.stdin.is_some()
            && let Some(text) = overlay.get(&project::stdin_path(opts))
        {
            pass_opts.stdin = Some(text.to_string());
        }
        let project = project::load(&pass_opts);
        let findings = lint(&project);
        let broken: HashSet<PathBuf> = project
            .errors
            .iter()
            .filter(|e| e.kind == ProblemKind::Syntax)
            .filter_map(|e| e.loc)
            .map(|l| project.file(l.file).source.path.clone())
            .collect();
        if initial.is_none() {
            for f in &project.files {
                originals
                    .entry(f.source.path.clone())
                    .or_insert_with(|| (f.source.display.clone(), f.source.text.clone()));
            }
            initial = Some((findings.clone(), project.errors.len()));
        } else if let Some(path) = broken.iter().find(|p| overlay.contains_key(*p)) {
            return Err(refused(&originals, path, "the fixed file does not parse"));
        }
        // Group the wanted fixes by file; a file that does not parse is never edited.
        let mut by_file: Vec<(PathBuf, Vec<(&Finding, &Fix)>)> = Vec::new();
        for f in &findings {
            let Some(fix) = f.fix.as_ref().filter(|x| wanted(x) && !x.edits.is_empty()) else {
                continue;
            };
            let path = project.file(f.loc.file).source.path.clone();
            if broken.contains(&path) {
                continue;
            }
            match by_file.iter_mut().find(|(p, _)| *p == path) {
                Some((_, list)) => list.push((f, fix)),
                None => by_file.push((path, vec![(f, fix)])),
            }
        }
        if by_file.is_empty() {
            return finish(
                project, findings, initial, targeted, overlay, originals, applied, &wanted,
            );
        }
        for (path, list) in by_file {
            let fixes: Vec<&Fix> = list.iter().map(|(_, fix)| *fix).collect();
            let chosen = select(&fixes);
            let edits: Vec<Edit> = chosen
                .iter()
                .flat_map(|f| f.edits.iter().cloned())
                .collect();
            let Some(file) = project.files.iter().find(|f| f.source.path == path) else {
                continue;
            };
            let fixed = apply_edits(&file.source.text, &edits)
                .and_then(|fixed| {
                    landed_where_meant(&file.source.text, &file.tree, &fixed, &edits)?;
                    Ok(fixed)
                })
                .map_err(|reason| refused(&originals, &path, &reason))?;
            for (finding, fix) in &list {
                if chosen.iter().any(|c| std::ptr::eq(*c, *fix)) {
                    targeted.insert(key(finding));
                }
            }
            applied += chosen.len();
            overlay.insert(path, Arc::from(fixed));
        }
    }
    let path = overlay.keys().next().cloned().unwrap_or_default();
    Err(refused(
        &originals,
        &path,
        &format!("fixes did not settle after {MAX_PASSES} passes"),
    ))
}

fn refused(
    originals: &HashMap<PathBuf, (String, Arc<str>)>,
    path: &PathBuf,
    reason: &str,
) -> FixError {
    let shown = originals
        .get(path)
        .map_or_else(|| path.display().to_string(), |(d, _)| d.clone());
    FixError::Refused {
        path: shown,
        reason: reason.to_owned(),
    }
}

#[allow(clippy::too_many_arguments)]
fn finish(
    project: Project,
    findings: Vec<Finding>,
    initial: Option<(Vec<Finding>, usize)>,
    targeted: HashSet<(&'static str, String, Vec<String>)>,
    overlay: HashMap<PathBuf, Arc<str>>,
    originals: HashMap<PathBuf, (String, Arc<str>)>,
    applied: usize,
    wanted: &dyn Fn(&Fix) -> bool,
) -> Result<Outcome, FixError> {
    let (before, errors_before) = initial.unwrap_or_default();
    let any_path = overlay.keys().next().cloned().unwrap_or_default();
    if let Some(f) = findings.iter().find(|f| targeted.contains(&key(f))) {
        return Err(refused(
            &originals,
            &project.file(f.loc.file).source.path,
            &format!(
                "the fix for `{}` did not remove the finding: {}",
                f.rule, f.message
            ),
        ));
    }
    let before_keys: HashSet<_> = before.iter().map(key).collect();
    if let Some(f) = findings
        .iter()
        .find(|f| f.severity == Severity::Error && !before_keys.contains(&key(f)))
    {
        return Err(refused(
            &originals,
            &project.file(f.loc.file).source.path,
            &format!("fixing would introduce a new error: {}", f.message),
        ));
    }
    if project.errors.len() > errors_before {
        return Err(refused(
            &originals,
            &any_path,
            "fixing would make compose reject the project",
        ));
    }
    let mut files = Vec::new();
    for (path, text) in &overlay {
        let Some((display, original)) = originals.get(path) else {
            continue;
        };
        if **original != **text {
            files.push(FixedFile {
                path: path.clone(),
                display: display.clone(),
                original: original.clone(),
                fixed: text.to_string(),
            });
        }
    }
    files.sort_by(|a, b| a.display.cmp(&b.display));
    let unsafe_waiting = findings
        .iter()
        .filter(|f| f.fix.as_ref().is_some_and(|x| !wanted(x)))
        .count();
    Ok(Outcome {
        files,
        applied,
        unsafe_waiting,
        remaining: findings,
        project: Some(project),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(start: usize, end: usize, content: &str) -> Edit {
        Edit {
            start,
            end,
            content: content.into(),
        }
    }

    #[test]
    fn applies_non_overlapping_edits() {
        assert_eq!(
            apply_edits("abcdef", &[edit(1, 2, "X"), edit(4, 4, "Y")]).unwrap(),
            "aXcdYef"
        );
        assert!(apply_edits("abc", &[edit(0, 2, ""), edit(1, 3, "")]).is_err());
        assert!(apply_edits("abc", &[edit(2, 9, "")]).is_err());
        assert_eq!(
            apply_edits("ab", &[edit(1, 1, "x"), edit(1, 1, "y")]).unwrap(),
            "axyb"
        );
    }

    #[test]
    fn edits_must_leave_other_values_alone() {
        let check = |text: &str, edits: &[Edit]| {
            let fixed = apply_edits(text, edits).unwrap();
            landed_where_meant(text, &syntax::parse(text), &fixed, edits)
        };
        // Kept trailing blank lines belong to a `|+` value: inserting before them changes it.
        let keep = "a: |+\n  keep\n\nb: 1\n";
        assert!(check(keep, &[edit(8, 8, "x")]).is_err());
        assert!(check(keep, &[edit(12, 12, "\nc: 2")]).is_err());
        assert!(check(keep, &[edit(18, 18, "\nc: 2")]).is_ok());
        // With clipping they do not: the same insert is fine.
        let clip = "a: |\n  keep\n\nb: 1\n";
        assert!(check(clip, &[edit(11, 11, "\nc: 2")]).is_ok());
        // Replacing a value, and inserting next to one, leave the others as they were.
        let flow = "v: [a, 'b']\nw: x\n";
        assert!(check(flow, &[edit(4, 5, "z:/a"), edit(10, 10, ", c")]).is_ok());
        // Running an insert into a neighbouring value is caught.
        assert!(check(flow, &[edit(15, 15, "y")]).is_err());
    }

    #[test]
    fn inserts_that_add_entries_of_one_mapping_stack() {
        let fix = |edits: Vec<Edit>| Fix {
            applicability: Applicability::Unsafe,
            title: String::new(),
            edits,
        };
        let a = fix(vec![edit(0, 1, "x"), edit(20, 20, "\n  a-data:")]);
        let b = fix(vec![
            edit(5, 6, "y"),
            edit(20, 20, "\r\n  b-data:\r\n    driver: local"),
        ]);
        let c = fix(vec![edit(8, 9, "z"), edit(20, 20, "\nvolumes:\n  c-data:")]);
        let d = fix(vec![edit(20, 20, "\n    volumes:\n      - d:/d")]);
        let e = fix(vec![edit(30, 30, ", e: {}")]);
        let f = fix(vec![edit(30, 30, ", f: {}")]);
        let g = fix(vec![edit(40, 40, "g: {}")]);
        let h = fix(vec![edit(40, 40, "h: {}")]);
        let chosen = select(&[&a, &b, &c, &d, &e, &f, &g, &h]);
        let titles: Vec<&str> = chosen
            .iter()
            .map(|x| x.edits.last().unwrap().content.as_str())
            .collect();
        assert_eq!(
            titles,
            [
                "\n  a-data:",
                "\r\n  b-data:\r\n    driver: local",
                ", e: {}",
                ", f: {}",
                "g: {}"
            ]
        );
    }

    #[test]
    fn selection_skips_overlapping_fixes() {
        let a = Fix {
            applicability: Applicability::Safe,
            title: "a".into(),
            edits: vec![edit(0, 3, "")],
        };
        let b = Fix {
            applicability: Applicability::Safe,
            title: "b".into(),
            edits: vec![edit(2, 4, "")],
        };
        let c = Fix {
            applicability: Applicability::Safe,
            title: "c".into(),
            edits: vec![edit(5, 5, "x")],
        };
        let chosen = select(&[&a, &b, &c]);
        assert_eq!(
            chosen.iter().map(|f| f.title.as_str()).collect::<Vec<_>>(),
            vec!["a", "c"]
        );
    }
}
