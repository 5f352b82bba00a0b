//! `syntax-error`: a compose file that is not valid YAML, reported at the parser's position.

use super::{Category, Context, FixAvailability, Rule, RuleMeta, problems};
use crate::compose::model::{Issue, ProblemKind};
use crate::finding::{Finding, Severity};
use crate::yaml::syntax::Mistake;

pub struct SyntaxError;

static META: RuleMeta = RuleMeta {
    id: "syntax-error",
    category: Category::Correctness,
    severity: Severity::Error,
    off_by_default: false,
    fix: FixAvailability::None,
    migrates: false,
    summary: "the file is not valid YAML",
    what_it_does: "Reports the first YAML syntax error of a compose file (an unclosed quote or \
bracket, a tab used for indentation, a key at the wrong indentation, an alias to an anchor that \
does not exist…), at the exact position the parser stopped.",
    why_it_matters: "Docker Compose refuses the whole project when one of its files does not \
parse: `up`, `down`, `config` all fail, so nothing in the file is checked either — stowage \
cannot say whether the stack keeps its data until the file parses. In CI or a pre-commit hook \
this is the earliest place to catch a broken edit, before a deploy fails halfway.",
    example: "services:\n  db:\n\timage: postgres:16\n",
    fix_safety: "No fix: the intended structure cannot be guessed.",
};

impl Rule for SyntaxError {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, ctx: &Context, out: &mut Vec<Finding>) {
        let project = ctx.project;
        for problem in problems::errors(project, ProblemKind::Syntax) {
            let Some(loc) = problems::location(project, problem) else {
                continue;
            };
            let Issue::Syntax { message, mistake } = &problem.issue else {
                continue;
            };
            let reason = parser_reason(message);
            let help = help_for(*mistake);
            out.push(Finding::new(
                META.id,
                META.severity,
                loc,
                format!("invalid YAML: {reason}"),
                help,
            ));
        }
    }
}

/// The parser's message in the catalogue's style: lower case, no trailing period, quoted
/// characters in backticks (the parser writes `` `@' `` and `'['`).
fn parser_reason(message: &str) -> String {
    let trimmed = message.trim().trim_end_matches('.');
    let mut out = String::with_capacity(trimmed.len());
    let chars: Vec<char> = trimmed.chars().collect();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        // `x' and 'x' around a single character become `x`.
        if (c == '`' || c == '\'') && i + 2 < chars.len() && chars[i + 2] == '\'' {
            out.push('`');
            out.push(chars[i + 1]);
            out.push('`');
            i += 3;
            continue;
        }
        out.push(c);
        i += 1;
    }
    // "unexpected character: `@`" reads better without the colon.
    let out = out.replacen("character: `", "character `", 1);
    let mut chars = out.chars();
    match chars.next() {
        Some(first)
            if first.is_uppercase() && !chars.clone().next().is_some_and(char::is_uppercase) =>
        {
            first.to_lowercase().chain(chars).collect()
        }
        _ => out,
    }
}

fn help_for(mistake: Mistake) -> &'static str {
    match mistake {
        Mistake::Tab => "indent with spaces: YAML does not allow tabs in indentation",
        Mistake::Quote => {
            "close the quoted string with the same quote character it starts with (write a `\"` inside double quotes as `\\\"`, a `'` inside single quotes as `''`)"
        }
        Mistake::Flow => {
            "close the flow collection with its matching `]` or `}`, or write it in block style (one `- item` per line)"
        }
        Mistake::NestedValue => {
            "a value cannot hold an unquoted `: `: put the nested mapping on its own indented lines, or quote the value"
        }
        Mistake::Indentation => {
            "check the indentation: keys of one mapping start in the same column, and list items (`- `) belong under a key"
        }
        Mistake::Colon => {
            "a `:` cannot start here: look for an unclosed `[` or `{` above, or quote the value that holds the `:`"
        }
        Mistake::UnknownAnchor => {
            "define the anchor (`&name`) before the alias (`*name`) that uses it, or fix the alias's spelling"
        }
        Mistake::UnexpectedCharacter => {
            "quote the value: a plain YAML value cannot start with `@`, `` ` ``, `%` or other reserved characters"
        }
        Mistake::Other => {
            "fix the YAML at this position; compose loads nothing from the file until it parses"
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_rewritten_in_catalogue_style() {
        assert_eq!(
            parser_reason("unexpected character: `@'"),
            "unexpected character `@`"
        );
        assert_eq!(
            parser_reason("unclosed bracket '['"),
            "unclosed bracket `[`"
        );
        assert_eq!(parser_reason("Unclosed quote."), "unclosed quote");
        assert_eq!(parser_reason("YAML thing"), "YAML thing");
    }
}
