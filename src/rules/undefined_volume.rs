//! `undefined-volume`: a service mounts a named volume that no top-level `volumes:` declares.

use super::similar::edit_distance;
use super::{Category, Context, FixAvailability, Rule, RuleMeta, problems};
use crate::compose::model::{Issue, Problem, ProblemKind, Project};
use crate::finding::{Applicability, Finding, Fix, Severity};
use crate::yaml::edit::{self, Declaration, View};
use crate::yaml::value::Loc;

pub(crate) struct UndefinedVolume;

static META: RuleMeta = RuleMeta {
    id: "undefined-volume",
    category: Category::Correctness,
    severity: Severity::Error,
    off_by_default: false,
    fix: FixAvailability::Sometimes,
    migrates: false,
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
    fix_safety: "Safe: declares the volume (`volumes:` / `  pgdata:`) in the file and document \
that use it, which is what compose needs to create it; nothing that was working changes. \
Offered only in the project's own files (not an included or extended one), when no declared \
volume has a similar name (then the reference is probably a typo), and when the name is one \
compose accepts as a volume key.",
};

impl Rule for UndefinedVolume {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        let project = ctx.project;
        for problem in problems::errors(project, ProblemKind::UndefinedVolume) {
            out.extend(finding(project, problem));
        }
    }
}

fn finding(project: &Project, problem: &Problem) -> Option<Finding> {
    let loc = problems::location(project, problem)?;
    let Issue::UndefinedVolume { service, key } = &problem.issue else {
        return None;
    };
    let similar = similar_volume(project, key);
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
    f = f.service(service);
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
        f.fix = declare_fix(project, loc, key);
    }
    Some(f)
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

/// Declares `key` under the top-level `volumes:` of the document holding `at`. `None` for a
/// name compose refuses as a volume key (`^[a-zA-Z0-9._-]+$`) or the engine as a volume name
/// (one starting with `-`), or where the edit needs more care than an insertion.
fn declare_fix(project: &Project, at: Loc, key: &str) -> Option<Fix> {
    if !key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        || key.starts_with('-')
    {
        return None;
    }
    let file = project.files.get(at.file)?;
    let view = View {
        source: &file.source,
        tree: &file.tree,
    };
    let declaration = Declaration {
        name: key.to_owned(),
        bind_device: None,
    };
    Some(Fix {
        applicability: Applicability::Safe,
        title: format!("declare the volume `{key}`"),
        edits: edit::declare_volumes(view, at.start, &[declaration])?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::loader::{self, LoadOptions};

    fn load(text: &str) -> Project {
        loader::load(&LoadOptions {
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
    fn declares_in_flow_null_and_multi_document_files() {
        assert_eq!(
            fixed(&format!("{DB}volumes: {{other: {{}}}}\n")),
            [Some(format!(
                "{DB}volumes: {{other: {{}}, pgdata: {{}}}}\n"
            ))]
        );
        assert_eq!(
            fixed(&format!("{DB}volumes:\n")),
            [Some(format!("{DB}volumes:\n  pgdata:\n"))]
        );
        assert_eq!(
            fixed(&format!("{DB}...\n")),
            [Some(format!("{DB}volumes:\n  pgdata:\n...\n"))]
        );
        assert_eq!(
            fixed(&format!("{DB}---\nname: x\n")),
            [Some(format!("{DB}volumes:\n  pgdata:\n---\nname: x\n"))]
        );
    }

    #[test]
    fn quotes_a_name_yaml_would_read_as_something_else() {
        let text = "services:\n  db:\n    image: postgres:16\n    volumes:\n      - true:/var/lib/postgresql/data\n";
        let want = format!("{text}volumes:\n  \"true\":\n");
        assert_eq!(fixed(text), [Some(want.clone())]);
        assert!(load(&want).errors.is_empty());
    }

    #[test]
    fn no_fix_for_a_near_miss_or_a_merged_top_level() {
        for text in [
            "services:\n  db:\n    image: postgres:16\n    volumes:\n      - pgdta:/var/lib/postgresql/data\nvolumes:\n  pgdata:\n".to_owned(),
            format!("x-top: &top\n  name: app\n<<: *top\n{DB}"),
        ] {
            assert!(fixed(&text).iter().all(Option::is_none), "{text}");
        }
    }
}
