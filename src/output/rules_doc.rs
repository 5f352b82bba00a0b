//! Rule documentation for people: `stowage rules`, `stowage explain RULE`, and `docs/rules.md`.

use std::fmt::Write;

use crate::rules::{Category, FixAvailability, Kind, RULES, RuleMeta};

fn fix_word(f: FixAvailability) -> &'static str {
    match f {
        FixAvailability::None => "",
        FixAvailability::Sometimes => "fix (sometimes)",
        FixAvailability::Always => "fix",
    }
}

/// The rule reference as the crate's documentation publishes it (the module `rules_reference`
/// holds `docs/rules.md`), for this version.
const REFERENCE: &str = concat!(
    "https://docs.rs/",
    env!("CARGO_PKG_NAME"),
    "/",
    env!("CARGO_PKG_VERSION"),
    "/",
    env!("CARGO_CRATE_NAME"),
    "/rules_reference/index.html"
);

/// The address of `rule`'s section of the rule reference (its heading's anchor).
pub fn url(rule: &str) -> String {
    format!("{REFERENCE}#{rule}")
}

pub(crate) fn list() -> String {
    let mut out = String::from(
        "A risk fails CI by default: data a service needs is lost by a normal lifecycle command, or\ncompose refuses the file. A recommendation is `info` or off by default.\n\n",
    );
    for category in [Category::Persistence, Category::Correctness] {
        let _ = writeln!(
            out,
            "{}:",
            if category == Category::Persistence {
                "Persistence"
            } else {
                "Correctness"
            }
        );
        for r in RULES
            .iter()
            .map(|r| r.meta())
            .filter(|m| m.category == category)
        {
            let default = if r.off_by_default {
                format!("{} (off)", r.severity.as_str())
            } else {
                r.severity.as_str().to_owned()
            };
            let _ = writeln!(
                out,
                "  {:<24} {:<15} {:<14} {:<16} {}",
                r.id,
                r.kind().as_str(),
                default,
                fix_word(r.fix),
                r.summary
            );
        }
        out.push('\n');
    }
    out.push_str("`stowage explain RULE` prints a rule's documentation.\n");
    out
}

pub fn explain(m: &RuleMeta) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "# {}\n", m.id);
    let _ = writeln!(out, "{}\n", m.summary);
    let default = if m.off_by_default {
        " (off by default)"
    } else {
        ""
    };
    let category = if m.category == Category::Persistence {
        "persistence"
    } else {
        "correctness"
    };
    let _ = writeln!(
        out,
        "Default severity: {}{default}. Category: {category}. Kind: {}.\n",
        m.severity.as_str(),
        match m.kind() {
            Kind::Risk => "risk (fails CI by default)",
            Kind::Recommendation => "recommendation (does not fail CI by default)",
        }
    );
    let _ = writeln!(out, "## What it does\n\n{}\n", m.what_it_does.trim());
    let _ = writeln!(out, "## Why it matters\n\n{}\n", m.why_it_matters.trim());
    let _ = writeln!(
        out,
        "## Example\n\n```yaml\n{}\n```\n",
        m.example.trim_end()
    );
    let _ = writeln!(out, "## Fix\n\n{}", m.fix_safety.trim());
    out
}

/// The whole of `docs/rules.md`.
pub fn markdown() -> String {
    let mut out = String::from(
        "# Rules\n\n<!-- Generated from the rule definitions in src/rules/ (`STOWAGE_UPDATE_DOCS=1 cargo test --test docs` rewrites it; the test fails when it is stale). -->\n\n",
    );
    out.push_str("A **risk** fails CI by default: data a service needs is lost by a normal lifecycle command, or compose refuses the file. A **recommendation** is `info` or off by default.\n\n");
    out.push_str("| rule | kind | category | default | fix | what |\n|---|---|---|---|---|---|\n");
    for m in RULES.iter().map(|r| r.meta()) {
        let category = if m.category == Category::Persistence {
            "persistence"
        } else {
            "correctness"
        };
        let default = if m.off_by_default {
            format!("{} (off)", m.severity.as_str())
        } else {
            m.severity.as_str().to_owned()
        };
        let fix = match m.fix {
            FixAvailability::None => "",
            FixAvailability::Sometimes => "sometimes",
            FixAvailability::Always => "yes",
        };
        let _ = writeln!(
            out,
            "| [`{}`](#{}) | {} | {category} | {default} | {fix} | {} |",
            m.id,
            m.id,
            m.kind().as_str(),
            m.summary.replace('|', "\\|")
        );
    }
    out.push('\n');
    for m in RULES.iter().map(|r| r.meta()) {
        out.push_str(
            &explain(m)
                .replacen("# ", "## ", 1)
                .replace("\n## What", "\n### What")
                .replace("\n## Why", "\n### Why")
                .replace("\n## Example", "\n### Example")
                .replace("\n## Fix", "\n### Fix"),
        );
        out.push('\n');
    }
    out
}
