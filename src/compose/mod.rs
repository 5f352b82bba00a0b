//! What Docker Compose does, one file per compose-go package: interpolation (`interpolate`),
//! `.env` files and the project environment (`env`), merging files and overrides (`merge`),
//! volume syntax and its classification (`mounts`), compose's JSON schema (`schema`), the typed project model (`model`), and the
//! loader that reads, merges, validates and lowers a project into that model (`loader`).

pub(crate) mod env;
pub(crate) mod interpolate;
pub mod loader;
pub(crate) mod merge;
pub mod model;
pub mod mounts;
#[doc(hidden)]
pub mod schema;
