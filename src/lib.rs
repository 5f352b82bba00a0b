//! stowage: lints and migrates Docker Compose files so that stacks keep their data.
#![forbid(unsafe_code)]

pub mod analysis;
pub mod check;
pub mod cli;
pub mod config;
pub mod discover;
pub mod env;
pub mod faults;
pub mod finding;
pub mod fix;
pub mod images;
pub mod interpolate;
pub mod inventory;
pub mod merge;
pub mod migrate;
pub mod model;
pub mod mounts;
pub mod output;
pub mod project;
pub mod rules;
pub mod source;
pub mod suppress;
pub mod syntax;
pub mod value;
