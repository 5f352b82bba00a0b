//! `obsolete-version`: a top-level `version:` key, which compose ignores.

use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::finding::{Applicability, Edit, Finding, Fix, Severity};

pub(crate) struct ObsoleteVersion;

static META: RuleMeta = RuleMeta {
    id: "obsolete-version",
    category: Category::Correctness,
    severity: Severity::Info,
    off_by_default: false,
    fix: FixAvailability::Always,
    migrates: false,
    summary: "top-level `version:` is obsolete and ignored",
    what_it_does: "Reports a top-level `version:` key.",
    why_it_matters: "Docker Compose ignores `version:` (it warns `the attribute version is obsolete`). \
The key suggests a file format that no longer exists: compose reads every file with the current \
specification, whatever the version says.",
    example: "version: \"3.8\"\nservices:\n  web:\n    image: nginx\n",
    fix_safety: "Safe: removes the `version:` line; compose's behaviour does not change.",
};

impl Rule for ObsoleteVersion {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        for &loc in &ctx.project.version_keys {
            let text = &ctx.project.file(loc.file).source;
            let line = text.line_range(loc.start);
            // The whole line goes, with its line break, when the key is alone on it.
            // A BOM stays where it is.
            let start = if line.start == 0 && text.text.starts_with('\u{feff}') {
                '\u{feff}'.len_utf8()
            } else {
                line.start
            };
            let line_text = &text.text[start..line.end];
            let next = text.text[line.end..].find('\n').map(|i| line.end + i + 1);
            // A value that goes on below (a block scalar, a multi-line list) is more indented.
            let indent = line_text.len() - line_text.trim_start().len();
            let continues = next.is_some_and(|n| {
                let rest = &text.text[n..];
                let following = rest.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
                following.len() - following.trim_start().len() > indent
            });
            let fix = (line_text.trim_start().starts_with("version") && !continues).then(|| {
                let (start, end) = match next {
                    Some(end) => (start, end),
                    // The last line, without a line break: the one before it goes instead, so
                    // the file still ends without one.
                    None => {
                        let before = text.text[..start].trim_end_matches(['\n', '\r']).len();
                        (before, line.end)
                    }
                };
                Fix {
                    applicability: Applicability::Safe,
                    title: "remove `version:`".into(),
                    edits: vec![Edit {
                        start,
                        end,
                        content: String::new(),
                    }],
                }
            });
            let mut f = Finding::new(
                META.id,
                META.severity,
                loc,
                "`version` is obsolete and ignored by compose",
                "remove the `version:` line",
            );
            f.fix = fix;
            out.push(f);
        }
    }
}
