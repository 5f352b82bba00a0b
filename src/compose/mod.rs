//! What Docker Compose does, one file per compose-go package: interpolation (`interpolate`),
//! `.env` files and the project environment (`env`), merging files and overrides (`merge`),
//! volume syntax and its classification (`mounts`), and the typed project model (`model`).

pub mod env;
pub mod interpolate;
pub mod merge;
pub mod model;
pub mod mounts;
