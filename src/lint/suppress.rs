//! Suppression comments: `# stowage: ignore[rule-a, rule-b] reason` on a finding's line or alone
//! on the line above it, and `# stowage: ignore-file[rule]` anywhere in a file.

use crate::yaml::source::SourceFile;
use crate::yaml::syntax::Tree;
use crate::yaml::value::{FileId, Loc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Suppression {
    /// The comment (for reporting it when it suppresses nothing).
    pub(crate) loc: Loc,
    pub(crate) scope: Scope,
    pub(crate) rules: Vec<String>,
    pub(crate) reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Scope {
    /// Findings starting on this 1-based line.
    Line(usize),
    File,
}

/// A comment that starts like a suppression but cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Malformed {
    pub(crate) loc: Loc,
    pub(crate) message: String,
}

/// Every suppression comment of one file.
pub fn collect(
    file: FileId,
    source: &SourceFile,
    tree: &Tree,
) -> (Vec<Suppression>, Vec<Malformed>) {
    let mut out = Vec::new();
    let mut malformed = Vec::new();
    for range in &tree.comments {
        let text = &source.text[range.clone()];
        let body = text.trim_start_matches('#').trim_start();
        let Some(rest) = body.strip_prefix(crate::yaml::syntax::COMMENTS_READ) else {
            continue;
        };
        let rest = rest.trim_start();
        let loc = Loc {
            file,
            start: range.start,
            end: range.end,
        };
        let (file_scope, rest) = if let Some(r) = rest.strip_prefix("ignore-file") {
            (true, r)
        } else if let Some(r) = rest.strip_prefix("ignore") {
            (false, r)
        } else {
            malformed.push(Malformed {
                loc,
                message: "unknown `stowage:` directive (expected `ignore[…]` or `ignore-file[…]`)"
                    .into(),
            });
            continue;
        };
        let Some(inner) = rest.strip_prefix('[').and_then(|r| r.split_once(']')) else {
            malformed.push(Malformed {
                loc,
                message: "a suppression names its rules: `# stowage: ignore[rule-id] reason`"
                    .into(),
            });
            continue;
        };
        let (list, reason) = inner;
        let rules: Vec<String> = list
            .split(',')
            .map(|r| r.trim().to_owned())
            .filter(|r| !r.is_empty())
            .collect();
        if rules.is_empty() {
            malformed.push(Malformed {
                loc,
                message: "a suppression names its rules: `# stowage: ignore[rule-id] reason`"
                    .into(),
            });
            continue;
        }
        let reason = Some(reason.trim().to_owned()).filter(|r| !r.is_empty());
        let scope = if file_scope {
            Scope::File
        } else {
            let line = source.line_col(range.start).line;
            let line_range = source.line_range(range.start);
            // A comment alone on its line covers the next line; a trailing comment its own line.
            let alone = source.text[line_range.start..range.start].trim().is_empty();
            Scope::Line(if alone { line + 1 } else { line })
        };
        out.push(Suppression {
            loc,
            scope,
            rules,
            reason,
        });
    }
    (out, malformed)
}

impl Suppression {
    #[cfg_attr(not(test), allow(dead_code))] // read by the unit tests only
    pub(crate) fn covers(&self, rule: &str, line: usize) -> bool {
        self.rules.iter().any(|r| r == rule)
            && match self.scope {
                Scope::File => true,
                Scope::Line(l) => l == line,
            }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_line_and_file_suppressions() {
        let text = "# stowage: ignore-file[bind-mount]\nservices:\n  db:\n    # stowage: ignore[anonymous-volume, implicit-volume] scratch data\n    volumes: [/data] # stowage: ignore[ephemeral-data]\n    image: x # stowage: nope\n";
        let source = SourceFile::new("c.yaml", "/c.yaml", text);
        let tree = crate::yaml::syntax::parse(text);
        let (s, bad) = collect(0, &source, &tree);
        assert_eq!(s.len(), 3);
        assert_eq!(s[0].scope, Scope::File);
        assert_eq!(s[1].scope, Scope::Line(5));
        assert_eq!(s[1].rules, vec!["anonymous-volume", "implicit-volume"]);
        assert_eq!(s[1].reason.as_deref(), Some("scratch data"));
        assert_eq!(s[2].scope, Scope::Line(5));
        assert!(s[1].covers("implicit-volume", 5));
        assert!(!s[1].covers("implicit-volume", 4));
        assert_eq!(bad.len(), 1);
    }
}
