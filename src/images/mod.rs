//! Image knowledge: what an `image:` (or a local Dockerfile) says about where a service keeps its
//! data. `reference` normalises image references as Docker does; `format` is the knowledge-base
//! file (`data/stateful-images.toml`, whose header documents it, and user files), `validate`
//! refuses bad ones, and `knowledge` answers lookups (tag variants, env overrides); `dockerfile`
//! reads the `VOLUME`s of local Dockerfiles.

mod dockerfile;
mod format;
mod knowledge;
mod reference;
mod validate;

pub(crate) use dockerfile::parse_dockerfile;
pub(crate) use format::ImageEntry;
pub(crate) use format::{ConfigFormat, Persistence, Setting, SettingEffect};
pub use knowledge::{ImageFacts, KnowledgeBase};
pub(crate) use reference::parse_image_ref;

/// The built-in knowledge base as written, for the unit tests that validate it; the binary
/// embeds it through `build.rs` (see `knowledge`).
#[cfg(test)]
const BUILTIN_TOML: &str = include_str!("../../data/stateful-images.toml");
