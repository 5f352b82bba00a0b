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
pub mod workspace;
pub mod yaml;
