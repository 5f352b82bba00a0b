//! stowage: lints and migrates Docker Compose files so that stacks keep their data.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod cli;
pub mod compose;
pub(crate) mod faults;
pub mod finding;
pub mod fix;
pub mod images;
pub mod lint;
pub(crate) mod lsp;
pub mod output;
pub mod rules;
/// The rule reference: `docs/rules.md`, generated from the rules, one section per rule. Published
/// with the crate's documentation, it is the page each diagnostic and SARIF rule links to
/// (`output::rules_doc::url`).
#[doc = include_str!("../docs/rules.md")]
pub mod rules_reference {}
pub mod workspace;
pub mod yaml;
