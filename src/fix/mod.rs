//! Applying fixes: non-overlapping edits per pass, re-load, re-lint, repeat until stable, then
//! verify before anything is written (the result parses, the targeted findings are gone, no new
//! error appeared, another pass would change nothing).

pub mod migrate;
pub mod write;

use std::borrow::Borrow;
use std::path::PathBuf;
use std::sync::Arc;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use crate::compose::loader::{self, LoadOptions};
use crate::compose::model::{ProblemKind, Project};
use crate::finding::{Applicability, Edit, Finding, Fix, Severity};
use crate::yaml::syntax::{self, Kind, Style, Tree};

/// Passes before the loop gives up (each pass applies every fix that does not overlap another).
pub(crate) const MAX_PASSES: usize = 50;

/// The result of fixing one project: the new text of every file that changed.
#[derive(Debug, Default)]
pub struct Outcome {
    pub files: Vec<FixedFile>,
    /// Fixes applied, over all passes.
    pub applied: usize,
    /// Unsafe fixes that were not applied (without `--unsafe-fixes`).
    pub(crate) unsafe_waiting: usize,
    /// The findings left after fixing.
    pub remaining: Vec<Finding>,
    /// The same findings as they were before fixing (same rule, message and services), in the
    /// project as it was loaded first, without their fixes: where a dry run shows them. None
    /// when nothing was fixed: `remaining` are those.
    pub(crate) remaining_before: Option<Vec<Finding>>,
    /// The fixed project (for callers that report on it).
    pub(crate) project: Option<Project>,
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
pub fn apply_edits<E: Borrow<Edit>>(text: &str, edits: &[E]) -> Result<String, String> {
    let mut sorted: Vec<&Edit> = edits.iter().map(Borrow::borrow).collect();
    sorted.sort_by_key(|e| (e.start, e.end));
    let mut out =
        String::with_capacity(text.len() + sorted.iter().map(|e| e.content.len()).sum::<usize>());
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
pub(crate) fn landed_where_meant<E: Borrow<Edit>>(
    text: &str,
    before: &Tree,
    fixed: &str,
    edits: &[E],
) -> Result<(), String> {
    let after = syntax::parse(fixed);
    if after.error.is_some() {
        return Ok(());
    }
    let mut sorted: Vec<&Edit> = edits.iter().map(Borrow::borrow).collect();
    sorted.sort_by_key(|e| (e.start, e.end));
    // Edits that `apply_edits` took never overlap: sorted by start, their ends never decrease,
    // so the edits before a point are a prefix, found by binary search.
    if sorted.windows(2).any(|w| w[1].start < w[0].end) {
        return Err("edits overlap".into());
    }
    // shift[i]: how far the edits before the i-th move the text after them.
    let mut shift: Vec<isize> = Vec::with_capacity(sorted.len() + 1);
    shift.push(0);
    for e in &sorted {
        let last = shift[shift.len() - 1];
        shift.push(last + e.content.len() as isize - (e.end - e.start) as isize);
    }
    // The fixed text's scalars by where they start (sorted, searched: a third of a map's size).
    let mut new_scalars: Vec<(usize, &str, Style)> = after
        .nodes
        .iter()
        .filter_map(|n| match &n.kind {
            Kind::Scalar { value, style } => Some((n.span.start, value.as_str(), *style)),
            _ => None,
        })
        .collect();
    new_scalars.sort_by_key(|(start, _, _)| *start);
    // The scalar starting at `at`: the last one in the tree's order when several start there
    // (an empty value where the next node starts).
    let scalar_at = |at: usize| {
        let i = new_scalars.partition_point(|(start, _, _)| *start <= at);
        i.checked_sub(1)
            .map(|i| &new_scalars[i])
            .filter(|(start, _, _)| *start == at)
            .map(|(_, v, st)| (*v, *st))
    };
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
        // Edits ending at or before the scalar move it; one that ends after its start and
        // starts before its end touches it (an insert: strictly inside it).
        let before_it = sorted.partition_point(|e| e.end <= n.span.start);
        let up_to_end = sorted.partition_point(|e| e.start < end);
        if before_it < up_to_end {
            continue;
        }
        let at = (n.span.start as isize + shift[before_it]) as usize;
        match scalar_at(at) {
            Some((v, st)) if v == value && st == *style => {}
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

/// Whether two edits overlap, one pair at a time ([`Taken`] answers it for many at once).
#[cfg(test)]
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
#[cfg(test)]
fn stackable(a: &Edit, b: &Edit) -> bool {
    match (insert_class(a), insert_class(b)) {
        (InsertClass::Other, _) | (_, InsertClass::Other) => false,
        (x, y) => x == y,
    }
}

/// What an insert adds, for [`stackable`]: inserts of one class (other than `Other`) stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum InsertClass {
    /// Lines indented by this many spaces, and no less.
    Lines(usize),
    /// Entries after an existing flow entry.
    FlowEntry,
    Other,
}

fn insert_class(e: &Edit) -> InsertClass {
    let content = e.content.as_str();
    if let Some(body) = content
        .strip_prefix("\r\n")
        .or_else(|| content.strip_prefix('\n'))
    {
        let width = |line: &str| line.len() - line.trim_start_matches(' ').len();
        let first = width(body);
        if first > 0 && body.split('\n').all(|line| width(line) >= first) {
            return InsertClass::Lines(first);
        }
    }
    if content.starts_with(", ") && !content.contains('\n') {
        InsertClass::FlowEntry
    } else {
        InsertClass::Other
    }
}

/// The edits of the fixes taken so far in a pass, indexed so that checking a new edit against
/// them costs a logarithm, not a scan (a project with 100 000 anonymous volumes has 100 000
/// fixes in its first pass). Overlapping is what [`overlaps`] says pair by pair: two inserts
/// at one point conflict unless they stack, an insert and a replacement only when the insert
/// is strictly inside, two replacements when they share a byte.
#[derive(Default)]
struct Taken {
    /// Replacements (`start..end`, not empty) by start; they never overlap one another, so
    /// the one starting last before a point is the only one that can cover it.
    replacements: std::collections::BTreeMap<usize, usize>,
    /// Inserts by position: the classes of the inserts there.
    inserts: std::collections::BTreeMap<usize, Vec<InsertClass>>,
}

impl Taken {
    /// Whether `e` overlaps an edit taken (see [`overlaps`]).
    fn overlaps(&self, e: &Edit) -> bool {
        if e.start == e.end {
            let p = e.start;
            let in_replacement = self
                .replacements
                .range(..p)
                .next_back()
                .is_some_and(|(_, &end)| p < end);
            let class = insert_class(e);
            let beside = self.inserts.get(&p).is_some_and(|classes| {
                classes
                    .iter()
                    .any(|&c| c == InsertClass::Other || class == InsertClass::Other || c != class)
            });
            in_replacement || beside
        } else {
            let covers_insert = e.start < e.end
                && self
                    .inserts
                    .range(e.start.saturating_add(1)..e.end)
                    .next()
                    .is_some();
            let crosses = self
                .replacements
                .range(..e.end)
                .next_back()
                .is_some_and(|(_, &end)| e.start < end);
            covers_insert || crosses
        }
    }

    fn add(&mut self, e: &Edit) {
        if e.start == e.end {
            let classes = self.inserts.entry(e.start).or_default();
            let class = insert_class(e);
            if !classes.contains(&class) {
                classes.push(class);
            }
        } else if e.start < e.end {
            // Replacements of one fix are not checked against one another: one that overlaps
            // another is merged with it, so that the ones kept never overlap (apply_edits
            // refuses such a fix later anyway).
            let (mut start, mut end) = (e.start, e.end);
            while let Some((&s, &t)) = self.replacements.range(..end).next_back() {
                if t <= start {
                    break;
                }
                self.replacements.remove(&s);
                start = start.min(s);
                end = end.max(t);
            }
            self.replacements.insert(start, end);
        }
    }
}

/// Picks the fixes of one pass: in order, each fix whose edits overlap none already taken.
fn select<'a>(fixes: &[&'a Fix]) -> Vec<&'a Fix> {
    let mut taken: Vec<&'a Fix> = Vec::new();
    let mut edits = Taken::default();
    for &fix in fixes {
        if fix.edits.iter().any(|e| edits.overlaps(e)) {
            continue;
        }
        for e in &fix.edits {
            edits.add(e);
        }
        taken.push(fix);
    }
    taken
}

/// Identifies a finding across passes (offsets move; rule, message and services do not).
fn key(f: &Finding) -> (&'static str, String, Vec<String>) {
    (f.rule, f.message.clone(), f.services.clone())
}

/// [`key`], borrowed.
fn key_ref(f: &Finding) -> (&'static str, &str, &[String]) {
    (f.rule, &f.message, &f.services)
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
    // The first pass's findings (once it is done, without their fixes) and compose's errors.
    let mut initial: Option<Vec<Finding>> = None;
    let mut errors_first: Option<usize> = None;
    let mut targeted: HashSet<(&'static str, String, Vec<String>)> = HashSet::new();
    let mut applied = 0;
    for _pass in 0..MAX_PASSES {
        let mut pass_opts = LoadOptions {
            overlay: overlay.clone(),
            ..opts.clone()
        };
        // The loader reads `-` from `stdin`, not from the overlay: hand it the edited text.
        if pass_opts.stdin.is_some()
            && let Some(text) = overlay.get(&loader::stdin_path(opts))
        {
            pass_opts.stdin = Some(text.to_string());
        }
        let project = loader::load(&pass_opts);
        let findings = lint(&project);
        let broken: HashSet<PathBuf> = project
            .errors
            .iter()
            .filter(|e| e.kind == ProblemKind::Syntax)
            .filter_map(|e| e.loc)
            .map(|l| project.file(l.file).source.path.clone())
            .collect();
        let first = errors_first.is_none();
        if first {
            for f in &project.files {
                originals
                    .entry(f.source.path.clone())
                    .or_insert_with(|| (f.source.display.clone(), f.source.text.clone()));
            }
            errors_first = Some(project.errors.len());
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
                project,
                findings,
                initial,
                errors_first.unwrap_or_default(),
                targeted,
                overlay,
                originals,
                applied,
                &wanted,
            );
        }
        for (path, list) in by_file {
            let fixes: Vec<&Fix> = list.iter().map(|(_, fix)| *fix).collect();
            let chosen = select(&fixes);
            let edits: Vec<&Edit> = chosen.iter().flat_map(|f| f.edits.iter()).collect();
            let Some(file) = project.files.iter().find(|f| f.source.path == path) else {
                continue;
            };
            let fixed = apply_edits(&file.source.text, &edits)
                .and_then(|fixed| {
                    landed_where_meant(&file.source.text, &file.tree, &fixed, &edits)?;
                    Ok(fixed)
                })
                .map_err(|reason| refused(&originals, &path, &reason))?;
            let chosen_at: HashSet<*const Fix> = chosen.iter().map(|c| *c as *const Fix).collect();
            for (finding, fix) in &list {
                if chosen_at.contains(&(*fix as *const Fix)) {
                    targeted.insert(key(finding));
                }
            }
            applied += chosen.len();
            overlay.insert(path, Arc::from(fixed));
        }
        if first {
            // Kept, not copied, and without their fixes (the edits of every finding of a large
            // project add up).
            let mut findings = findings;
            for f in &mut findings {
                f.fix = None;
            }
            initial = Some(findings);
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
    initial: Option<Vec<Finding>>,
    errors_before: usize,
    targeted: HashSet<(&'static str, String, Vec<String>)>,
    overlay: HashMap<PathBuf, Arc<str>>,
    originals: HashMap<PathBuf, (String, Arc<str>)>,
    applied: usize,
    wanted: &dyn Fn(&Fix) -> bool,
) -> Result<Outcome, FixError> {
    // Nothing fixed: the findings are those of the project as it was.
    let before = initial.as_deref().unwrap_or(&findings);
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
    let before_keys: HashSet<_> = before.iter().map(key_ref).collect();
    if let Some(f) = findings
        .iter()
        .find(|f| f.severity == Severity::Error && !before_keys.contains(&key_ref(f)))
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
    let remaining_keys: HashSet<_> = findings.iter().map(key_ref).collect();
    let remaining_before = initial.as_ref().map(|before| {
        before
            .iter()
            .filter(|f| remaining_keys.contains(&key_ref(f)))
            .cloned()
            .collect()
    });
    drop(remaining_keys);
    Ok(Outcome {
        files,
        applied,
        unsafe_waiting,
        remaining: findings,
        remaining_before,
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

    /// The indexed selection takes what comparing every pair of edits would take.
    #[test]
    fn indexed_selection_matches_pairwise_overlaps() {
        fn pairwise<'a>(fixes: &[&'a Fix]) -> Vec<&'a Fix> {
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
        let contents = [
            "",
            "x",
            "\n  a:",
            "\n  b:\n    c: 1",
            "\n    d:",
            ", e: {}",
            "\nvolumes:",
        ];
        // A fixed pseudo-random sequence (xorshift), so a failure reproduces.
        let mut state: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = |n: u64| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % n) as usize
        };
        for _ in 0..2_000 {
            let fixes: Vec<Fix> = (0..1 + next(8))
                .map(|_| Fix {
                    applicability: Applicability::Unsafe,
                    title: String::new(),
                    edits: (0..1 + next(3))
                        .map(|_| {
                            let start = next(12);
                            let end = if next(2) == 0 { start } else { start + next(5) };
                            edit(start, end, contents[next(contents.len() as u64)])
                        })
                        .collect(),
                })
                .collect();
            let refs: Vec<&Fix> = fixes.iter().collect();
            let indexed: Vec<*const Fix> =
                select(&refs).into_iter().map(|f| f as *const Fix).collect();
            let expected: Vec<*const Fix> = pairwise(&refs)
                .into_iter()
                .map(|f| f as *const Fix)
                .collect();
            assert_eq!(indexed, expected, "{fixes:?}");
        }
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
