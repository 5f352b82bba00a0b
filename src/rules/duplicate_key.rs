//! `duplicate-key`: a mapping key written twice (including `a` and `"a"`, and two `<<` keys).

use super::{Category, Context, FixAvailability, Rule, RuleMeta, problems};
use crate::compose::model::{Issue, Problem, ProblemKind, Project};
use crate::finding::{Finding, Severity};
use crate::yaml::value::Loc;

pub(crate) struct DuplicateKey;

static META: RuleMeta = RuleMeta {
    id: "duplicate-key",
    category: Category::Correctness,
    severity: Severity::Error,
    off_by_default: false,
    fix: FixAvailability::None,
    migrates: false,
    summary: "a mapping key is defined twice",
    what_it_does: "Reports a key that appears twice in one mapping, comparing keys after quotes \
and escapes are resolved (`image` and `\"image\"` are the same key), and a mapping with two \
merge keys `<<`. The second definition is reported, with a label on the first.",
    why_it_matters: "Docker Compose refuses the file (`mapping key \"image\" already defined`), \
while most YAML tools silently keep one of the two values — so an editor or another linter \
shows a file that compose will not run. Two `volumes:` keys in one service are the dangerous \
case: whichever one a tool keeps, the other list of mounts (often the one holding the \
database's data) is not what the author believes is mounted.",
    example: "services:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdata:/var/lib/postgresql/data\n    volumes:\n      - ./init:/docker-entrypoint-initdb.d:ro\nvolumes:\n  pgdata:\n",
    fix_safety: "No fix: which of the two definitions is meant cannot be known.",
};

impl Rule for DuplicateKey {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        let project = ctx.project;
        for problem in problems::errors(project, ProblemKind::DuplicateKey) {
            out.extend(finding(project, problem));
        }
    }
}

fn finding(project: &Project, problem: &Problem) -> Option<Finding> {
    let loc = problems::location(project, problem)?;
    let written = source_text(project, loc);
    let first_written = problem.related.and_then(|r| source_text(project, r));
    // The key as read (quotes and escapes resolved); else the text as written.
    let key = match &problem.issue {
        Issue::DuplicateKey { key, .. } => key.clone(),
        _ => written.map(unquote).unwrap_or_default(),
    };
    let (message, help) = if key == "<<" {
        let merged = [
            first_written.and_then(|_| merge_source(project, problem.related)),
            merge_source(project, Some(loc)),
        ];
        let help = match merged {
            [Some(a), Some(b)] => format!(
                "merge every anchor with one key: `<<: [{a}, {b}]` (when both define a key, the first anchor wins)"
            ),
            _ => "merge every anchor with one key: `<<: [*first, *second]` (when both define a key, the first anchor wins)".to_owned(),
        };
        (
            "merge key `<<` is written twice in one mapping".to_owned(),
            help,
        )
    } else {
        let same = match (written, first_written) {
            (Some(a), Some(b)) if a != b => {
                format!(" (`{b}` and `{a}` are the same key once quotes are removed)")
            }
            _ => String::new(),
        };
        (
            format!("mapping key `{key}` is defined twice"),
            format!(
                "compose rejects a mapping with a duplicate key{same}: keep one definition and remove the other, or combine them"
            ),
        )
    };
    let mut f = Finding::new(META.id, META.severity, loc, message, help);
    if let Some(related) = problem.related {
        f = f.label(
            related,
            format!(
                "`{}` first defined here",
                if key == "<<" { "<<" } else { &key }
            ),
        );
    }
    Some(f)
}

fn source_text(project: &Project, loc: Loc) -> Option<&str> {
    let text = &project.files.get(loc.file)?.source.text;
    text.get(loc.start..loc.end).filter(|t| !t.is_empty())
}

fn unquote(written: &str) -> String {
    let t = written.trim();
    if t.len() >= 2
        && ((t.starts_with('"') && t.ends_with('"')) || (t.starts_with('\'') && t.ends_with('\'')))
    {
        t[1..t.len() - 1].to_owned()
    } else {
        t.to_owned()
    }
}

/// The alias a `<<` key merges (`*name`), read from the rest of the key's line.
fn merge_source(project: &Project, key: Option<Loc>) -> Option<String> {
    let key = key?;
    let source = &project.files.get(key.file)?.source;
    let line = source.line_range(key.end);
    let rest = source.text.get(key.end..line.end)?;
    let rest = rest.trim_start().strip_prefix(':')?;
    let rest = rest.split(" #").next().unwrap_or("").trim();
    let name = rest.strip_prefix('*')?;
    (!name.is_empty()
        && name
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.')))
    .then(|| rest.to_owned())
}
