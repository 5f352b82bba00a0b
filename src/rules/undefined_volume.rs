//! `undefined-volume`: a service mounts a named volume that no top-level `volumes:` declares.

use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::finding::{Applicability, Edit, Finding, Fix, Severity};
use crate::model::{Problem, ProblemKind, Project};
use crate::syntax::{Kind, NodeId, Style, Tree};
use crate::value::Loc;

pub struct UndefinedVolume;

static META: RuleMeta = RuleMeta {
    id: "undefined-volume",
    category: Category::Correctness,
    severity: Severity::Error,
    off_by_default: false,
    fix: FixAvailability::Sometimes,
    summary: "a named volume is used but not declared in the top-level `volumes:`",
    what_it_does: "Reports a service volume entry (`pgdata:/var/lib/postgresql/data`, or long \
syntax `type: volume` with `source: pgdata`) whose volume is not declared under the top-level \
`volumes:` key of the project. When a declared volume has a similar name, it is suggested.",
    why_it_matters: "Docker Compose refuses the project (`service \"db\" refers to undefined \
volume pgdata: invalid compose project`): nothing starts. The tempting quick fix — turning the \
entry into a bind mount or an anonymous volume to make the error go away — is exactly what \
loses data on the next `down`; declaring the volume keeps the data in a named volume that \
survives recreation and `down`. A near-miss name usually means a typo: the data the author \
expects is in the volume that *is* declared.",
    example: "services:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdata:/var/lib/postgresql/data\n",
    fix_safety: "Safe: declares the volume (`volumes:` / `  pgdata:`) in the file that uses it, \
which is what compose needs to create it; nothing that was working changes. Offered only when \
no declared volume has a similar name (then the reference is probably a typo), when the file \
has a single document, and when the top-level `volumes:` is absent or a block mapping.",
};

impl Rule for UndefinedVolume {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        let project = ctx.project;
        for problem in project
            .errors
            .iter()
            .filter(|p| p.kind == ProblemKind::UndefinedVolume)
        {
            if let Some(f) = finding(project, problem) {
                out.push(f);
            }
        }
    }
}

fn finding(project: &Project, problem: &Problem) -> Option<Finding> {
    let loc = match problem.loc {
        Some(loc) => loc,
        None => {
            let file = *project.main_files.first()?;
            (file < project.files.len()).then_some(Loc {
                file,
                start: 0,
                end: 0,
            })?
        }
    };
    let service = quoted_service(&problem.message);
    // The mount the entry became names the volume key; the message is the fallback.
    let key = project
        .services
        .iter()
        .flat_map(|s| &s.mounts)
        .find(|m| m.loc == problem.loc && m.volume_key.is_some())
        .and_then(|m| m.volume_key.clone())
        .or_else(|| key_in_message(&problem.message))?;
    let similar = similar_volume(project, &key);
    let looks_like_path = key.contains('/') || key.starts_with('.') || key.starts_with('~');
    let help = if looks_like_path {
        format!(
            "`{key}` looks like a host path: use `type: bind` for a bind mount, or name a volume declared under the top-level `volumes:`"
        )
    } else if let Some(s) = &similar {
        format!(
            "did you mean the declared volume `{s}`? otherwise declare it: add `{key}:` under a top-level `volumes:` key"
        )
    } else {
        format!("declare it: add `{key}:` under a top-level `volumes:` key")
    };
    let mut f = Finding::new(
        META.id,
        META.severity,
        loc,
        format!("named volume `{key}` is not declared in the top-level `volumes:`"),
        help,
    );
    if let Some(service) = &service {
        f = f.service(service);
    }
    if let Some(s) = similar.as_ref().and_then(|s| project.volume(s)) {
        f = f.label(
            s.loc,
            format!(
                "a volume with a similar name, `{}`, is declared here",
                s.key
            ),
        );
    }
    if similar.is_none() && !looks_like_path && project.main_files.contains(&loc.file) {
        f.fix = declare_fix(project, loc.file, &key);
    }
    Some(f)
}

/// `service "db" refers to undefined volume pgdata: invalid compose project` → `db`.
fn quoted_service(message: &str) -> Option<String> {
    let rest = message.strip_prefix("service \"")?;
    Some(rest.split('"').next()?.to_owned())
}

fn key_in_message(message: &str) -> Option<String> {
    let rest = message.split("refers to undefined volume ").nth(1)?;
    let key = rest
        .strip_suffix(": invalid compose project")
        .unwrap_or(rest);
    (!key.is_empty()).then(|| key.to_owned())
}

/// A declared volume whose key differs only by case, `-`/`_`/`.`, or a small typo.
fn similar_volume(project: &Project, key: &str) -> Option<String> {
    let norm = |s: &str| s.to_lowercase().replace(['-', '_', '.'], "");
    let wanted = norm(key);
    project
        .volumes
        .iter()
        .filter(|v| v.key != key)
        .map(|v| (edit_distance(&norm(&v.key), &wanted), v))
        .filter(|(d, v)| *d == 0 || (*d <= 2 && v.key.chars().count().min(key.chars().count()) > 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, v)| v.key.clone())
}

/// The edit that declares `key` in `file`: a new `volumes:` section at the end, or one more
/// entry at the end of an existing block-style top-level `volumes:` mapping. `None` where the
/// edit would need more care than a line insertion (flow or null `volumes:`, several
/// documents, a merge key at the top level, a name that is not a plain YAML key).
///
/// The edit replaces the line break (or last character) it follows instead of inserting at a
/// point, so two such fixes for one file always overlap and are applied one per pass: two
/// inserts at one point would write `volumes:` twice.
fn declare_fix(project: &Project, file: usize, key: &str) -> Option<Fix> {
    if !key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        || key.starts_with('-')
        || plain_key_changes_meaning(key)
    {
        return None;
    }
    let loaded = project.files.get(file)?;
    let tree = &loaded.tree;
    let text: &str = &loaded.source.text;
    if tree.error.is_some() || tree.documents.len() != 1 {
        return None;
    }
    let root = tree.documents[0].root?;
    let Kind::Map {
        flow: false,
        entries,
    } = &tree.node(root).kind
    else {
        return None;
    };
    if entries.iter().any(|(k, _)| tree.scalar(*k) == Some("<<")) {
        return None;
    }
    let root_end = tree.node(root).span.end;
    // A `---` or `...` after the document would put appended text in another document.
    if text
        .get(root_end..)?
        .lines()
        .any(|l| l.starts_with("---") || l.starts_with("..."))
    {
        return None;
    }
    let eol = if text.contains("\r\n") { "\r\n" } else { "\n" };
    let volumes = entries
        .iter()
        .find(|(k, _)| tree.scalar(*k) == Some("volumes"));
    let edit = match volumes {
        None => {
            let blank = if sections_separated_by_blank_lines(tree, entries, text)
                && !text.ends_with(&format!("{eol}{eol}"))
            {
                eol
            } else {
                ""
            };
            append_at_end(text, &format!("{blank}volumes:{eol}  {key}:"), eol)?
        }
        Some(&(_, value)) => {
            let node = tree.node(value);
            let Kind::Map {
                flow: false,
                entries: vols,
            } = &node.kind
            else {
                return None;
            };
            let &(first_key, _) = vols.first()?;
            let &(last_key, last_value) = vols.last()?;
            let source = &loaded.source;
            let first_start = tree.node(first_key).span.start;
            let indent = text.get(source.line_range(first_start).start..first_start)?;
            if indent.is_empty() || !indent.chars().all(|c| c == ' ') {
                return None;
            }
            let end = content_end(tree, text, last_key, last_value);
            let line = source.line_range(end);
            if line.end >= text.len() {
                append_at_end(text, &format!("{indent}{key}:"), eol)?
            } else {
                let break_len = if text[line.end..].starts_with("\r\n") {
                    2
                } else {
                    1
                };
                Edit {
                    start: line.end,
                    end: line.end + break_len,
                    content: format!("{eol}{indent}{key}:{eol}"),
                }
            }
        }
    };
    Some(Fix {
        applicability: Applicability::Safe,
        title: format!("declare the volume `{key}`"),
        edits: vec![edit],
    })
}

/// Appends `{eol}{content}` after the file's last line, keeping whether the file ends with a
/// line break.
fn append_at_end(text: &str, content: &str, eol: &str) -> Option<Edit> {
    if let Some(stripped) = text.strip_suffix(eol) {
        let start = stripped.len();
        return Some(Edit {
            start,
            end: text.len(),
            content: format!("{eol}{content}{eol}"),
        });
    }
    // No final line break: the new lines go after the last character, which the edit rewrites.
    let (last_start, last) = text.char_indices().next_back()?;
    if last == '\n' {
        // Ends with `\n` in a CRLF file: finish that line with the file's own break.
        return Some(Edit {
            start: last_start,
            end: text.len(),
            content: format!("\n{content}{eol}"),
        });
    }
    Some(Edit {
        start: last_start,
        end: text.len(),
        content: format!("{last}{eol}{content}"),
    })
}

/// Where the last entry's text ends: block scalars run on over trailing blank lines, and an
/// empty value (`pgdata:`) sits at its key.
fn content_end(tree: &Tree, text: &str, key: NodeId, value: NodeId) -> usize {
    let key_end = tree.node(key).span.end;
    let value_node = tree.node(value);
    let mut end = value_node.span.end.max(key_end);
    if matches!(
        &value_node.kind,
        Kind::Scalar {
            style: Style::Literal | Style::Folded,
            ..
        }
    ) {
        while end > key_end
            && text
                .as_bytes()
                .get(end - 1)
                .is_some_and(|b| b.is_ascii_whitespace())
        {
            end -= 1;
        }
    }
    end
}

/// True when a top-level key (after the first) follows a blank line.
fn sections_separated_by_blank_lines(
    tree: &Tree,
    entries: &[(NodeId, NodeId)],
    text: &str,
) -> bool {
    entries.iter().skip(1).any(|&(k, _)| {
        let start = tree.node(k).span.start;
        let before = text.get(..start).unwrap_or("");
        let before = before.trim_end_matches(' ');
        before.ends_with("\n\n") || before.ends_with("\r\n\r\n")
    })
}

/// Plain keys YAML would read as something else (`null`, `~`, `true`…) — quoting them would be
/// needed and is left to the fix engine.
fn plain_key_changes_meaning(key: &str) -> bool {
    matches!(
        key.to_ascii_lowercase().as_str(),
        "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
    ) || key.parse::<f64>().is_ok()
}

fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::{self, LoadOptions};

    fn load(text: &str) -> Project {
        project::load(&LoadOptions {
            files: vec!["-".into()],
            stdin: Some(text.to_owned()),
            stdin_filename: Some("/srv/app/compose.yaml".into()),
            cwd: "/srv/app".into(),
            ..LoadOptions::default()
        })
    }

    /// Each finding's fix applied on its own.
    fn fixed(text: &str) -> Vec<Option<String>> {
        let project = load(text);
        project
            .errors
            .iter()
            .filter(|p| p.kind == ProblemKind::UndefinedVolume)
            .filter_map(|p| finding(&project, p))
            .map(|f| {
                f.fix.map(|fix| {
                    let mut out = text.to_owned();
                    for e in fix.edits.iter().rev() {
                        out.replace_range(e.start..e.end, &e.content);
                    }
                    out
                })
            })
            .collect()
    }

    const DB: &str = "services:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdata:/var/lib/postgresql/data\n";

    #[test]
    fn appends_a_volumes_section() {
        assert_eq!(fixed(DB), [Some(format!("{DB}volumes:\n  pgdata:\n"))]);
        let no_eol = DB.trim_end();
        assert_eq!(
            fixed(no_eol),
            [Some(format!("{no_eol}\nvolumes:\n  pgdata:"))]
        );
        let crlf = DB.replace('\n', "\r\n");
        assert_eq!(
            fixed(&crlf),
            [Some(format!("{crlf}volumes:\r\n  pgdata:\r\n"))]
        );
        let fixed_text = fixed(DB)[0].clone().unwrap();
        assert!(load(&fixed_text).errors.is_empty());
    }

    #[test]
    fn keeps_blank_lines_between_sections() {
        let text = "name: app\n\nservices:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdata:/var/lib/postgresql/data\n";
        assert_eq!(
            fixed(text),
            [Some(format!("{text}\nvolumes:\n  pgdata:\n"))]
        );
    }

    #[test]
    fn extends_an_existing_block_mapping() {
        let text = format!("{DB}volumes:\n    other:\n      driver: local  # keep\n# tail\n");
        let want =
            format!("{DB}volumes:\n    other:\n      driver: local  # keep\n    pgdata:\n# tail\n");
        assert_eq!(fixed(&text), [Some(want.clone())]);
        let project = load(&want);
        assert!(project.errors.is_empty(), "{:?}", project.errors);
        // Before another top-level key.
        let text = format!("volumes:\n  other:\n{DB}");
        assert_eq!(
            fixed(&text),
            [Some(format!("volumes:\n  other:\n  pgdata:\n{DB}"))]
        );
    }

    #[test]
    fn no_fix_where_an_insertion_is_not_enough() {
        for text in [
            format!("{DB}volumes: {{other: {{}}}}\n"),
            format!("{DB}volumes:\n"),
            format!("{DB}---\nname: x\n"),
            format!("{DB}...\n"),
            "services:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdta:/var/lib/postgresql/data\nvolumes:\n  pgdata:\n".to_owned(),
        ] {
            assert!(fixed(&text).iter().all(Option::is_none), "{text}");
        }
    }

    #[test]
    fn fixes_for_one_file_overlap_so_they_apply_one_at_a_time() {
        let text = "services:\n  a:\n    image: redis:7\n    volumes:\n      - one:/data\n  b:\n    image: redis:7\n    volumes:\n      - two:/data\n";
        let project = load(text);
        let edits: Vec<Edit> = project
            .errors
            .iter()
            .filter_map(|p| finding(&project, p)?.fix)
            .flat_map(|f| f.edits)
            .collect();
        assert_eq!(edits.len(), 2);
        assert!(edits[0].start < edits[1].end && edits[1].start < edits[0].end);
    }
}
