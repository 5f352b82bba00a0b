//! `unused-suppression`: a `# stowage: ignore[…]` comment that suppresses nothing.
//!
//! Only the check runner knows which suppressions matched a finding, so it reports these
//! findings itself (see `lint::run`); this module holds the rule's identity and documentation.

use super::{Category, Context, FixAvailability, Rule, RuleMeta};
use crate::finding::{Finding, Severity};

pub(crate) struct UnusedSuppression;

pub(crate) static META: RuleMeta = RuleMeta {
    id: "unused-suppression",
    category: Category::Correctness,
    severity: Severity::Warning,
    off_by_default: false,
    fix: FixAvailability::None,
    migrates: false,
    summary: "a suppression comment that suppresses nothing, names an unknown rule, or cannot be read",
    what_it_does: "Reports `# stowage: ignore[…]` and `# stowage: ignore-file[…]` comments that match no \
finding of an enabled rule, that name a rule that does not exist, or that are malformed.",
    why_it_matters: "A stale suppression hides the next real problem on that line: once the mount it \
excused is fixed, a later change can lose data silently. A misspelt rule id suppresses nothing at all.",
    example: "services:\n  cache:\n    image: nginx:1.27\n    # stowage: ignore[anonymous-volume] nothing here is anonymous\n    volumes:\n      - ./html:/usr/share/nginx/html:ro\n",
    fix_safety: "No fix: remove the comment by hand once you have checked why it no longer matches.",
};

impl Rule for UnusedSuppression {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    /// Reported by the check runner after every other rule ran.
    fn check(&self, _ctx: &Context, _out: &mut Vec<Finding>) {}
}
