//! Image knowledge: image-reference normalisation, the stateful-image knowledge base (data paths,
//! declared `VOLUME`s, tag variants, env overrides) and the `VOLUME`s of local Dockerfiles.
//!
//! The knowledge base format is documented in the header of `data/stateful-images.toml`.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;
use std::sync::OnceLock;

use foldhash::{HashMap, HashMapExt};
use indexmap::IndexMap;
use serde::{Deserialize, Serialize};

/// The built-in knowledge base, embedded so the binary needs no files at run time.
#[cfg(test)]
const BUILTIN_TOML: &str = include_str!("../data/stateful-images.toml");

// The same file as `build.rs` embeds it: `BUILTIN_SCHEMA_VERSION`, `BUILTIN_MATCHING` (JSON) and
// `BUILTIN_ENTRIES` (key, repositories, entry as JSON). Parsing the TOML at every start took most
// of the time of a one-file run; the unit tests validate the TOML and check both agree.
include!(concat!(env!("OUT_DIR"), "/knowledge.rs"));

/// The only knowledge-base format version this code understands.
pub const SCHEMA_VERSION: i64 = 1;

const DEFAULT_DOMAIN: &str = "docker.io";
const LEGACY_DEFAULT_DOMAIN: &str = "index.docker.io";
const OFFICIAL_PREFIX: &str = "library/";
/// distribution/reference `NameTotalLengthMax`.
const NAME_TOTAL_LENGTH_MAX: usize = 255;

// ---------------------------------------------------------------------------------------------
// Image references
// ---------------------------------------------------------------------------------------------

/// A normalised image reference (distribution/reference `ParseNormalizedNamed`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ImageRef {
    /// Registry host (with port), `docker.io` for Docker Hub.
    pub domain: String,
    /// Repository path inside the registry, `library/postgres` for official images.
    pub path: String,
    /// The tag as written; `None` when the reference has no tag (compose pulls `latest`
    /// unless a digest is given, see [`ImageRef::effective_tag`]).
    pub tag: Option<String>,
    /// `algorithm:hex` after the `@`.
    pub digest: Option<String>,
}

impl ImageRef {
    /// The normalised repository, e.g. `docker.io/library/postgres`.
    pub fn repository(&self) -> String {
        [self.domain.as_str(), "/", &self.path].concat()
    }

    /// The tag that is pulled: the written tag, or `latest` when there is neither a tag nor a
    /// digest. `None` for a digest-only reference (the digest may belong to any tag).
    pub fn effective_tag(&self) -> Option<&str> {
        match (&self.tag, &self.digest) {
            (Some(tag), _) => Some(tag),
            (None, None) => Some("latest"),
            (None, Some(_)) => None,
        }
    }

    /// The short form people write: `postgres`, `bitnami/postgresql`, `ghcr.io/org/app`.
    pub fn familiar_name(&self) -> String {
        if self.domain == DEFAULT_DOMAIN {
            match self.path.strip_prefix(OFFICIAL_PREFIX) {
                Some(name) if !name.contains('/') => name.to_string(),
                _ => self.path.clone(),
            }
        } else {
            self.repository()
        }
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.familiar_name())?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(digest) = &self.digest {
            write!(f, "@{digest}")?;
        }
        Ok(())
    }
}

/// Parses and normalises an image reference the way Docker does (distribution/reference):
/// `postgres` == `library/postgres` == `docker.io/library/postgres` ==
/// `index.docker.io/library/postgres`; the first component is a registry only when it contains
/// `.` or `:`, is `localhost`, or has an upper-case letter; the tag is a `:` after the last `/`
/// (so `localhost:5000/redis` has no tag); the digest follows the first `@`.
///
/// Returns `None` for an empty string, an image ID (64 hex digits, optionally `sha256:`-prefixed),
/// a reference that still contains `$` (unresolved interpolation: the image is not statically
/// known), and anything Docker would reject (upper case in the path, bad tag, bad digest).
pub fn parse_image_ref(s: &str) -> Option<ImageRef> {
    let s = s.trim();
    if s.is_empty() || s.contains('$') || s.chars().any(char::is_whitespace) || is_image_id(s) {
        return None;
    }
    let (name, digest) = match s.split_once('@') {
        Some((name, digest)) => (name, Some(digest)),
        None => (s, None),
    };
    if digest.is_some_and(|d| !valid_digest(d)) {
        return None;
    }
    let last_component_start = name.rfind('/').map_or(0, |slash| slash + 1);
    let (name, tag) = match name[last_component_start..].find(':') {
        Some(colon) => {
            let split = last_component_start + colon;
            (&name[..split], Some(&name[split + 1..]))
        }
        None => (name, None),
    };
    if tag.is_some_and(|t| !valid_tag(t)) || name.is_empty() || name.len() > NAME_TOTAL_LENGTH_MAX {
        return None;
    }
    let (domain, path) = split_domain(name);
    if !valid_domain(&domain) || !path.split('/').all(valid_path_component) {
        return None;
    }
    Some(ImageRef {
        domain,
        path,
        tag: tag.map(str::to_string),
        digest: digest.map(str::to_string),
    })
}

/// distribution/reference `splitDockerDomain`.
fn split_domain(name: &str) -> (String, String) {
    let (domain, path) = match name.split_once('/') {
        Some((first, rest))
            if first.contains(['.', ':'])
                || first == "localhost"
                || first.chars().any(|c| c.is_ascii_uppercase()) =>
        {
            (first, rest)
        }
        _ => (DEFAULT_DOMAIN, name),
    };
    let domain = if domain == LEGACY_DEFAULT_DOMAIN {
        DEFAULT_DOMAIN
    } else {
        domain
    };
    let path = if domain == DEFAULT_DOMAIN && !path.contains('/') {
        [OFFICIAL_PREFIX, path].concat()
    } else {
        path.to_owned()
    };
    (domain.to_owned(), path)
}

fn is_lower_hex(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

fn is_image_id(s: &str) -> bool {
    let hex = s.strip_prefix("sha256:").unwrap_or(s);
    hex.len() == 64 && is_lower_hex(hex)
}

/// `[\w][\w.-]{0,127}`
fn valid_tag(tag: &str) -> bool {
    let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let bytes = tag.as_bytes();
    !bytes.is_empty()
        && bytes.len() <= 128
        && word(bytes[0])
        && bytes.iter().all(|&b| word(b) || b == b'.' || b == b'-')
}

/// `algorithm:encoded`; sha256 digests must be 64 lower-case hex digits.
fn valid_digest(digest: &str) -> bool {
    let Some((algorithm, encoded)) = digest.split_once(':') else {
        return false;
    };
    let algorithm_ok = !algorithm.is_empty()
        && algorithm
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"+._-".contains(&b));
    let encoded_ok = !encoded.is_empty()
        && encoded
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"=_-".contains(&b));
    let sha256_ok = algorithm != "sha256" || (encoded.len() == 64 && is_lower_hex(encoded));
    algorithm_ok && encoded_ok && sha256_ok
}

/// `host[:port]` or `[ipv6][:port]`.
fn valid_domain(domain: &str) -> bool {
    let (host, port) = if domain.starts_with('[') {
        match domain.find(']') {
            Some(end) => (&domain[..=end], &domain[end + 1..]),
            None => return false,
        }
    } else {
        match domain.rfind(':') {
            Some(colon) => (&domain[..colon], &domain[colon..]),
            None => (domain, ""),
        }
    };
    let port_ok = port.is_empty()
        || (port.len() > 1
            && port.starts_with(':')
            && port[1..].bytes().all(|b| b.is_ascii_digit()));
    let host_ok = match host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(ipv6) => !ipv6.is_empty() && ipv6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'),
        None => {
            !host.is_empty()
                && host.split('.').all(|label| {
                    !label.is_empty()
                        && !label.starts_with('-')
                        && !label.ends_with('-')
                        && label
                            .bytes()
                            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
                })
        }
    };
    host_ok && port_ok
}

/// `[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*`
fn valid_path_component(component: &str) -> bool {
    let bytes = component.as_bytes();
    let alnum = |b: u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    let mut i = 0;
    loop {
        let run_start = i;
        while i < bytes.len() && alnum(bytes[i]) {
            i += 1;
        }
        if i == run_start {
            return false;
        }
        if i == bytes.len() {
            return true;
        }
        match bytes[i] {
            b'.' => i += 1,
            b'_' => {
                i += 1;
                if bytes.get(i) == Some(&b'_') {
                    i += 1;
                }
            }
            b'-' => {
                while bytes.get(i) == Some(&b'-') {
                    i += 1;
                }
            }
            _ => return false,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Knowledge base: file format
// ---------------------------------------------------------------------------------------------

/// How sure the knowledge base is about a fact (see the data file header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub fn as_str(self) -> &'static str {
        match self {
            Confidence::Low => "low",
            Confidence::Medium => "medium",
            Confidence::High => "high",
        }
    }
}

impl fmt::Display for Confidence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// User-declared images are taken at their word.
fn default_confidence() -> Confidence {
    Confidence::High
}

fn default_true() -> bool {
    true
}

/// One `[images."<key>"]` table.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageEntry {
    pub repos: Vec<String>,
    #[serde(default)]
    pub category: Option<String>,
    #[serde(default = "default_true")]
    pub stateful: bool,
    #[serde(default)]
    pub data_paths: Vec<String>,
    #[serde(default)]
    pub declares_volume: Option<bool>,
    #[serde(default)]
    pub volume_paths: Vec<String>,
    #[serde(default)]
    pub workdir: Option<String>,
    #[serde(default)]
    pub latest_major: Option<u64>,
    #[serde(default)]
    pub major_marker: Option<String>,
    #[serde(default)]
    pub env_overrides: Vec<EnvOverride>,
    #[serde(default)]
    pub command_flags: Vec<CommandFlag>,
    #[serde(default)]
    pub variants: Vec<Variant>,
    #[serde(default)]
    pub note: Option<String>,
    #[serde(default)]
    pub sources: Vec<String>,
    #[serde(default = "default_confidence")]
    pub confidence: Confidence,
}

/// An environment variable that moves data (`env_overrides`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvOverride {
    pub var: String,
    pub effect: EnvEffect,
    /// With `relocate`: only this data path moves (otherwise all of them).
    #[serde(default)]
    pub replaces: Option<String>,
    /// Appended to the value (`POSTGRESQL_VOLUME_DIR=/v` -> `/v/data`).
    #[serde(default)]
    pub subpath: Option<String>,
    /// The value is a list (`KAFKA_LOG_DIRS=/a,/b`).
    #[serde(default)]
    pub separator: Option<String>,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvEffect {
    /// The value replaces the data path(s).
    Relocate,
    /// The value is one more data path.
    Add,
    /// Documented only.
    Info,
}

/// A command-line flag that moves data; informational (lookups do not read `command:`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CommandFlag {
    pub flag: String,
    #[serde(default)]
    pub note: Option<String>,
}

/// A tag-dependent layout. All its selectors must match; layout fields that are set replace the entry's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    pub tag_in: Option<Vec<String>>,
    pub tag_prefix: Option<String>,
    pub tag_suffix: Option<String>,
    pub tag_contains: Option<String>,
    pub major_min: Option<u64>,
    pub major_max: Option<u64>,
    pub version_min: Option<String>,
    pub version_below: Option<String>,
    pub data_paths: Option<Vec<String>>,
    pub declares_volume: Option<bool>,
    pub volume_paths: Option<Vec<String>>,
    pub env_overrides: Option<Vec<EnvOverride>>,
    pub confidence: Option<Confidence>,
    pub note: Option<String>,
}

impl Variant {
    fn has_version_selector(&self) -> bool {
        self.major_min.is_some()
            || self.major_max.is_some()
            || self.version_min.is_some()
            || self.version_below.is_some()
    }

    fn has_tag_selector(&self) -> bool {
        self.tag_in.is_some()
            || self.tag_prefix.is_some()
            || self.tag_suffix.is_some()
            || self.tag_contains.is_some()
    }

    fn matches(&self, tag: &str, version: Option<&[u64]>) -> bool {
        let tag_ok = self
            .tag_in
            .as_ref()
            .is_none_or(|tags| tags.iter().any(|t| t == tag))
            && self
                .tag_prefix
                .as_ref()
                .is_none_or(|p| tag.starts_with(p.as_str()))
            && self
                .tag_suffix
                .as_ref()
                .is_none_or(|s| tag.ends_with(s.as_str()))
            && self
                .tag_contains
                .as_ref()
                .is_none_or(|c| tag.contains(c.as_str()));
        if !tag_ok {
            return false;
        }
        if !self.has_version_selector() {
            return true;
        }
        let Some(version) = version else {
            return false;
        };
        let major = version.first().copied().unwrap_or(0);
        self.major_min.is_none_or(|min| major >= min)
            && self.major_max.is_none_or(|max| major <= max)
            && self
                .version_min
                .as_deref()
                .and_then(parse_dotted)
                .is_none_or(|min| version_at_least(version, &min))
            && self
                .version_below
                .as_deref()
                .and_then(parse_dotted)
                .is_none_or(|bound| !version_at_least(version, &bound))
    }

    /// Used in messages when the variant has no `note`.
    fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(tags) = &self.tag_in {
            parts.push(format!("tags {}", tags.join(", ")));
        }
        if let Some(p) = &self.tag_prefix {
            parts.push(format!("tags `{p}*`"));
        }
        if let Some(s) = &self.tag_suffix {
            parts.push(format!("tags `*{s}`"));
        }
        if let Some(c) = &self.tag_contains {
            parts.push(format!("tags containing `{c}`"));
        }
        match (self.major_min, self.major_max) {
            (Some(min), Some(max)) if min == max => parts.push(format!("version {min}")),
            (Some(min), Some(max)) => parts.push(format!("versions {min} to {max}")),
            (Some(min), None) => parts.push(format!("versions {min} and later")),
            (None, Some(max)) => parts.push(format!("versions {max} and earlier")),
            (None, None) => {}
        }
        if let Some(min) = &self.version_min {
            parts.push(format!("versions from {min}"));
        }
        if let Some(bound) = &self.version_below {
            parts.push(format!("versions before {bound}"));
        }
        parts.join(", ")
    }
}

/// A registry prefix that mirrors Docker Hub (`[matching] mirrors`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Mirror {
    pub prefix: String,
    pub replace: String,
}

/// A normalisation test case (`[matching] examples`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchingExample {
    input: String,
    #[serde(default)]
    interpolated: Option<String>,
    repo: String,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    digest: Option<String>,
    #[serde(default)]
    #[allow(dead_code)] // documentation for humans
    note: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MatchingSection {
    #[serde(default)]
    mirrors: Vec<Mirror>,
    #[serde(default)]
    examples: Vec<MatchingExample>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct KnowledgeFile {
    schema_version: i64,
    #[serde(default)]
    matching: MatchingSection,
    #[serde(default)]
    images: BTreeMap<String, ImageEntry>,
}

/// Why a knowledge base was refused.
#[derive(Debug, thiserror::Error)]
pub enum KnowledgeError {
    #[error("knowledge base is not valid: {0}")]
    Toml(#[from] toml::de::Error),
    #[error("knowledge base has `schema_version = {found}`, expected {expected}")]
    SchemaVersion { found: i64, expected: i64 },
    #[error("image `{key}`: {message}")]
    Entry { key: String, message: String },
    #[error("repository `{repo}` is listed by both `{first}` and `{second}`")]
    DuplicateRepository {
        repo: String,
        first: String,
        second: String,
    },
    #[error("matching: {0}")]
    Matching(String),
}

// ---------------------------------------------------------------------------------------------
// Knowledge base: lookups
// ---------------------------------------------------------------------------------------------

/// What the knowledge base says about one image, for one tag and environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFacts {
    /// Entry key, e.g. `postgres`.
    pub key: String,
    pub stateful: bool,
    /// Directories to persist, after the tag variant and env overrides.
    pub data_paths: Vec<String>,
    /// Image `VOLUME`s (after the tag variant; env never moves them).
    pub volume_paths: Vec<String>,
    pub declares_volume: Option<bool>,
    pub confidence: Confidence,
    /// Note of the selected variant, for messages.
    pub variant: Option<String>,
    /// Env var(s) that moved the data (comma-separated when several did).
    pub relocated_by: Option<String>,
    pub sources: Vec<String>,
}

/// An entry of the knowledge base; a built-in one is deserialised from its JSON when first read.
#[derive(Debug, Clone)]
struct Slot {
    raw: Option<&'static str>,
    parsed: OnceLock<ImageEntry>,
}

impl Slot {
    fn get(&self) -> &ImageEntry {
        self.parsed.get_or_init(|| {
            let raw = self.raw.expect("a slot without an entry has its JSON");
            serde_json::from_str(raw)
                .expect("the embedded knowledge base is validated by the images unit tests")
        })
    }

    fn get_mut(&mut self) -> &mut ImageEntry {
        self.get();
        self.parsed.get_mut().expect("parsed just before")
    }

    fn into_entry(mut self) -> ImageEntry {
        self.get();
        self.parsed.take().expect("parsed just before")
    }
}

impl From<ImageEntry> for Slot {
    fn from(entry: ImageEntry) -> Slot {
        Slot {
            raw: None,
            parsed: OnceLock::from(entry),
        }
    }
}

/// The stateful-image knowledge base.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeBase {
    /// Built-in keys are borrowed from the binary: the built-in base is made at every start.
    entries: IndexMap<Cow<'static, str>, Slot, foldhash::fast::RandomState>,
    mirrors: Vec<Mirror>,
    examples: Vec<MatchingExample>,
    /// Repository -> entry index (rebuilt after every change).
    exact: HashMap<String, usize>,
    /// (`prefix/` of a `prefix/*` repository, entry index), longest prefix first.
    patterns: Vec<(String, usize)>,
    /// The index is `BUILTIN_EXACT` and `BUILTIN_PATTERNS` (built by `build.rs`), not `exact`
    /// and `patterns`: the built-in knowledge base as it was embedded.
    embedded_index: bool,
}

impl KnowledgeBase {
    /// The built-in knowledge base (`data/stateful-images.toml`), parsed once.
    pub fn builtin() -> &'static KnowledgeBase {
        static BUILTIN: OnceLock<KnowledgeBase> = OnceLock::new();
        BUILTIN.get_or_init(KnowledgeBase::from_embedded)
    }

    /// The built-in file as `build.rs` embedded it, without validation (`from_toml` validates
    /// the same facts in the unit tests: `builtin_matches_the_validated_toml`). Entries are
    /// deserialised when a lookup first selects them.
    fn from_embedded() -> KnowledgeBase {
        debug_assert_eq!(BUILTIN_SCHEMA_VERSION, SCHEMA_VERSION);
        let matching: MatchingSection = serde_json::from_str(BUILTIN_MATCHING)
            .expect("the embedded knowledge base is validated by the images unit tests");
        let mut base = KnowledgeBase {
            mirrors: matching.mirrors,
            examples: matching.examples,
            ..KnowledgeBase::default()
        };
        base.entries.reserve(BUILTIN_ENTRIES.len());
        for (key, _, raw) in BUILTIN_ENTRIES {
            let slot = Slot {
                raw: Some(raw),
                parsed: OnceLock::new(),
            };
            base.entries.insert(Cow::Borrowed(*key), slot);
        }
        base.embedded_index = true;
        base
    }

    /// Parses and validates a knowledge base in the format of `data/stateful-images.toml`.
    pub fn from_toml(text: &str) -> Result<KnowledgeBase, KnowledgeError> {
        let file: KnowledgeFile = toml::from_str(text)?;
        if file.schema_version != SCHEMA_VERSION {
            return Err(KnowledgeError::SchemaVersion {
                found: file.schema_version,
                expected: SCHEMA_VERSION,
            });
        }
        for mirror in &file.matching.mirrors {
            validate_mirror(mirror)?;
        }
        let mut base = KnowledgeBase::from_entries(file.images)?;
        base.mirrors = file.matching.mirrors;
        base.examples = file.matching.examples;
        Ok(base)
    }

    /// Builds a knowledge base from entries deserialised elsewhere (e.g. a user config file).
    pub fn from_entries(
        entries: impl IntoIterator<Item = (String, ImageEntry)>,
    ) -> Result<KnowledgeBase, KnowledgeError> {
        let mut base = KnowledgeBase::default();
        let mut owner: HashMap<String, String> = HashMap::new();
        for (key, entry) in entries {
            validate_entry(&key, &entry)?;
            for repo in &entry.repos {
                if let Some(first) = owner.insert(repo.clone(), key.clone()) {
                    return Err(KnowledgeError::DuplicateRepository {
                        repo: repo.clone(),
                        first,
                        second: key,
                    });
                }
            }
            base.entries.insert(Cow::Owned(key), Slot::from(entry));
        }
        base.rebuild_index();
        Ok(base)
    }

    /// Adds `other`'s entries and mirrors; its entries win over existing ones with the same key
    /// or the same repository (a repository moves to the new entry; an old entry left without
    /// repositories is dropped).
    pub fn extend(&mut self, other: KnowledgeBase) {
        for (key, slot) in other.entries {
            let entry = slot.into_entry();
            self.entries.shift_remove(&key);
            for old in self.entries.values_mut() {
                old.get_mut()
                    .repos
                    .retain(|repo| !entry.repos.contains(repo));
            }
            self.entries.retain(|_, old| !old.get().repos.is_empty());
            self.entries.insert(key, Slot::from(entry));
        }
        for mirror in other.mirrors {
            if !self.mirrors.contains(&mirror) {
                self.mirrors.push(mirror);
            }
        }
        self.examples.extend(other.examples);
        self.rebuild_index();
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Entry keys: sorted for a parsed file, then in the order `extend` added them.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.entries.keys().map(|k| k.as_ref())
    }

    /// The raw entry (notes, category, command flags) for a key.
    pub fn get(&self, key: &str) -> Option<&ImageEntry> {
        self.entries.get(key).map(Slot::get)
    }

    /// [`KnowledgeBase::lookup`] for an unparsed reference (`None` if it does not parse).
    pub fn lookup_str(
        &self,
        image: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<ImageFacts> {
        self.lookup(&parse_image_ref(image)?, env)
    }

    /// Facts for `image`; `env` gives the service's final environment (for `PGDATA` and the like).
    pub fn lookup(
        &self,
        image: &ImageRef,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<ImageFacts> {
        let (index, match_confidence) = self.find(&image.repository())?;
        let (key, slot) = self.entries.get_index(index)?;
        Some(resolve(key, slot.get(), image, env, match_confidence))
    }

    /// Entry index for a repository and how much the match itself can be trusted.
    fn find(&self, repository: &str) -> Option<(usize, Confidence)> {
        if let Some(index) = self.find_direct(repository) {
            return Some((index, Confidence::High));
        }
        for mirror in &self.mirrors {
            let Some(rest) = repository.strip_prefix(mirror.prefix.as_str()) else {
                continue;
            };
            let canonical = parse_image_ref(&format!("{}{rest}", mirror.replace))
                .map(|r| r.repository())
                .and_then(|r| self.find_direct(&r));
            if let Some(index) = canonical {
                return Some((index, Confidence::High));
            }
        }
        // Private pull-through caches (harbor.example.com/dockerhub/library/postgres): the name
        // suggests an official image, but nothing proves the cache maps it 1:1.
        let (_, name) = repository.rsplit_once("/library/")?;
        let official = format!("{DEFAULT_DOMAIN}/{OFFICIAL_PREFIX}{name}");
        if name.contains('/') || official == repository {
            return None;
        }
        self.find_exact(&official)
            .map(|index| (index, Confidence::Low))
    }

    fn find_exact(&self, repository: &str) -> Option<usize> {
        if self.embedded_index {
            return BUILTIN_EXACT
                .binary_search_by(|(repo, _)| (*repo).cmp(repository))
                .ok()
                .map(|i| BUILTIN_EXACT[i].1);
        }
        self.exact.get(repository).copied()
    }

    fn find_direct(&self, repository: &str) -> Option<usize> {
        if let Some(index) = self.find_exact(repository) {
            return Some(index);
        }
        let matches = |prefix: &str, index: usize| {
            let rest = repository.strip_prefix(prefix)?;
            (!rest.is_empty() && !rest.contains('/')).then_some(index)
        };
        if self.embedded_index {
            return BUILTIN_PATTERNS.iter().find_map(|&(p, i)| matches(p, i));
        }
        self.patterns.iter().find_map(|(p, i)| matches(p, *i))
    }

    fn rebuild_index(&mut self) {
        self.embedded_index = false;
        self.exact.clear();
        self.patterns.clear();
        let mut repos = Vec::new();
        for (index, slot) in self.entries.values().enumerate() {
            repos.extend(slot.get().repos.iter().map(|r| (r.clone(), index)));
        }
        for (repo, index) in repos {
            self.index_repository(&repo, index);
        }
        self.sort_patterns();
    }

    fn index_repository(&mut self, repo: &str, index: usize) {
        match repo.strip_suffix('*') {
            Some(prefix) => self.patterns.push((prefix.to_string(), index)),
            None => {
                self.exact.insert(repo.to_owned(), index);
            }
        }
    }

    fn sort_patterns(&mut self) {
        self.patterns
            .sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
    }
}

/// Applies the tag variant and env overrides of `entry` for `image`.
fn resolve(
    key: &str,
    entry: &ImageEntry,
    image: &ImageRef,
    env: &dyn Fn(&str) -> Option<String>,
    match_confidence: Confidence,
) -> ImageFacts {
    // A digest-only reference may name any tag; like an untagged one it gets the `latest` rule.
    let tag = image.tag.as_deref().unwrap_or("latest");
    let version = image
        .tag
        .as_deref()
        .and_then(|t| tag_version(t, entry.major_marker.as_deref()))
        .or_else(|| entry.latest_major.map(|major| vec![major]));
    let selected = entry
        .variants
        .iter()
        .find(|v| v.matches(tag, version.as_deref()));

    let mut confidence = entry.confidence.min(match_confidence);
    let mut variant_note = None;
    if let Some(variant) = selected {
        if let Some(cap) = variant.confidence {
            confidence = confidence.min(cap);
        }
        variant_note = Some(
            variant
                .note
                .clone()
                .filter(|n| !n.is_empty())
                .unwrap_or_else(|| variant.describe()),
        );
    } else if version.is_none() && entry.variants.iter().any(Variant::has_version_selector) {
        confidence = confidence.min(Confidence::Medium);
        variant_note = Some(format!(
            "tag `{tag}` does not name a version; the default layout is assumed"
        ));
    }

    let mut data_paths = selected
        .and_then(|v| v.data_paths.clone())
        .unwrap_or_else(|| entry.data_paths.clone());
    let volume_paths = selected
        .and_then(|v| v.volume_paths.clone())
        .unwrap_or_else(|| entry.volume_paths.clone());
    let declares_volume = selected
        .and_then(|v| v.declares_volume)
        .or(entry.declares_volume);
    let overrides = selected
        .and_then(|v| v.env_overrides.as_ref())
        .unwrap_or(&entry.env_overrides);

    let mut relocated_by: Vec<&str> = Vec::new();
    for o in overrides {
        if o.effect == EnvEffect::Info {
            continue;
        }
        let Some(raw) = env(&o.var) else {
            continue;
        };
        let values: Vec<String> = match &o.separator {
            Some(sep) if !sep.is_empty() => raw.split(sep.as_str()).map(str::to_string).collect(),
            _ => vec![raw],
        }
        .iter()
        .filter_map(|v| env_path(v, entry.workdir.as_deref(), o.subpath.as_deref()))
        .collect();
        if values.is_empty() {
            continue;
        }
        let before = data_paths.clone();
        match (o.effect, &o.replaces) {
            (EnvEffect::Relocate, None) => data_paths = values,
            (EnvEffect::Relocate, Some(replaced)) => {
                if let Some(pos) = data_paths.iter().position(|p| p == replaced) {
                    data_paths.splice(pos..=pos, values);
                }
            }
            (EnvEffect::Add, _) => data_paths.extend(values),
            (EnvEffect::Info, _) => {}
        }
        dedup_in_order(&mut data_paths);
        if data_paths != before {
            relocated_by.push(&o.var);
        }
    }
    relocated_by.dedup();

    ImageFacts {
        key: key.to_string(),
        stateful: entry.stateful,
        data_paths,
        volume_paths,
        declares_volume,
        confidence,
        variant: variant_note,
        relocated_by: (!relocated_by.is_empty()).then(|| relocated_by.join(", ")),
        sources: entry.sources.clone(),
    }
}

/// The container path an env value names: absolute, or relative to the image `WORKDIR`; `None`
/// for empty values, values with `$` (the image does not expand them) and relative values
/// without a known working directory.
fn env_path(value: &str, workdir: Option<&str>, subpath: Option<&str>) -> Option<String> {
    let value = value.trim();
    if value.is_empty() || value.contains('$') {
        return None;
    }
    let joined = if value.starts_with('/') {
        value.to_string()
    } else {
        format!("{}/{value}", workdir?)
    };
    let joined = match subpath {
        Some(sub) => format!("{joined}/{sub}"),
        None => joined,
    };
    Some(clean_posix_path(&joined))
}

/// `path.Clean` for absolute POSIX paths.
fn clean_posix_path(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            _ => parts.push(part),
        }
    }
    format!("/{}", parts.join("/"))
}

fn dedup_in_order(items: &mut Vec<String>) {
    let mut seen = foldhash::HashSet::default();
    items.retain(|item| seen.insert(item.clone()));
}

/// The version a tag names: the number after `marker` if one is given (`2.17-pg17` -> 17),
/// otherwise the leading dotted number, with an optional `v` (`16-alpine` -> 16, `v1.7` -> 1.7).
fn tag_version(tag: &str, marker: Option<&str>) -> Option<Vec<u64>> {
    match marker {
        Some(marker) if !marker.is_empty() => tag.match_indices(marker).find_map(|(at, _)| {
            leading_dotted(&tag[at + marker.len()..]).filter(|v| !v.is_empty())
        }),
        _ => {
            let rest = match tag.strip_prefix(['v', 'V']) {
                Some(rest) if rest.starts_with(|c: char| c.is_ascii_digit()) => rest,
                _ => tag,
            };
            leading_dotted(rest).filter(|v| !v.is_empty())
        }
    }
}

/// Leading `\d+(\.\d+)*` as numbers; `None` when a number overflows.
fn leading_dotted(s: &str) -> Option<Vec<u64>> {
    let mut numbers = Vec::new();
    let mut rest = s;
    loop {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            break;
        }
        numbers.push(rest[..digits].parse().ok()?);
        rest = &rest[digits..];
        match rest.strip_prefix('.') {
            Some(after) if after.starts_with(|c: char| c.is_ascii_digit()) => rest = after,
            _ => break,
        }
    }
    Some(numbers)
}

/// A whole dotted version string (`"2.5"`), as used by `version_min` / `version_below`.
fn parse_dotted(s: &str) -> Option<Vec<u64>> {
    s.split('.').map(|part| part.parse().ok()).collect()
}

/// Whether tag version `version` is >= `bound`. A component the tag leaves out stands for the
/// newest release of that line (`2` is the newest 2.x), so it satisfies any bound.
fn version_at_least(version: &[u64], bound: &[u64]) -> bool {
    for (i, b) in bound.iter().enumerate() {
        match version.get(i) {
            None => return true,
            Some(v) if v > b => return true,
            Some(v) if v < b => return false,
            Some(_) => {}
        }
    }
    true
}

// ---------------------------------------------------------------------------------------------
// Knowledge base: validation
// ---------------------------------------------------------------------------------------------

fn entry_error(key: &str, message: impl Into<String>) -> KnowledgeError {
    KnowledgeError::Entry {
        key: key.to_string(),
        message: message.into(),
    }
}

/// A container path as Docker accepts it for a mount target, in canonical form: POSIX
/// (`/a/b`, no `.`/`..`/empty components, no trailing `/`) or Windows (`C:\a\b`).
fn is_canonical_container_path(path: &str) -> bool {
    let bytes = path.as_bytes();
    if bytes.len() >= 3 && bytes[0].is_ascii_alphabetic() && &bytes[1..3] == b":\\" {
        return (!path.contains('/') && !path.ends_with('\\')) || path.len() == 3;
    }
    path == "/" || (path.starts_with('/') && clean_posix_path(path) == path)
}

/// Whether `repo` is already in normalised form (or a `prefix/*` pattern of one).
fn is_normalised_repository(repo: &str) -> bool {
    let (probe, pattern) = match repo.strip_suffix("/*") {
        Some(prefix) => (format!("{prefix}/x"), true),
        None => (repo.to_string(), false),
    };
    if probe.contains('*') {
        return false;
    }
    match parse_image_ref(&probe) {
        Some(r) => {
            r.tag.is_none()
                && r.digest.is_none()
                && r.repository() == probe
                && (!pattern || r.path.contains('/') || r.domain != DEFAULT_DOMAIN)
        }
        None => false,
    }
}

fn validate_paths(key: &str, field: &str, paths: &[String]) -> Result<(), KnowledgeError> {
    match paths.iter().find(|p| !is_canonical_container_path(p)) {
        Some(bad) => Err(entry_error(
            key,
            format!("`{field}` entry `{bad}` is not a clean absolute container path"),
        )),
        None => Ok(()),
    }
}

fn validate_overrides(key: &str, overrides: &[EnvOverride]) -> Result<(), KnowledgeError> {
    for o in overrides {
        if o.var.is_empty() || o.var.chars().any(|c| c.is_whitespace() || c == '=') {
            return Err(entry_error(
                key,
                format!("env override name `{}` is invalid", o.var),
            ));
        }
        if let Some(replaced) = &o.replaces {
            if o.effect != EnvEffect::Relocate {
                return Err(entry_error(
                    key,
                    format!(
                        "env override `{}` has `replaces` but is not `relocate`",
                        o.var
                    ),
                ));
            }
            validate_paths(key, "replaces", std::slice::from_ref(replaced))?;
        }
        if let Some(sub) = &o.subpath
            && (sub.is_empty() || sub.starts_with('/') || sub.split('/').any(|p| p == ".."))
        {
            return Err(entry_error(
                key,
                format!("env override `{}` has an invalid `subpath`", o.var),
            ));
        }
        if o.separator.as_deref() == Some("") {
            return Err(entry_error(
                key,
                format!("env override `{}` has an empty `separator`", o.var),
            ));
        }
    }
    Ok(())
}

fn validate_entry(key: &str, entry: &ImageEntry) -> Result<(), KnowledgeError> {
    if key.is_empty() {
        return Err(entry_error(key, "the key is empty"));
    }
    if entry.repos.is_empty() {
        return Err(entry_error(key, "`repos` is empty"));
    }
    if let Some(bad) = entry.repos.iter().find(|r| !is_normalised_repository(r)) {
        return Err(entry_error(
            key,
            format!("repository `{bad}` is not normalised (write it as `docker.io/library/name`)"),
        ));
    }
    validate_paths(key, "data_paths", &entry.data_paths)?;
    validate_paths(key, "volume_paths", &entry.volume_paths)?;
    if let Some(workdir) = &entry.workdir {
        validate_paths(key, "workdir", std::slice::from_ref(workdir))?;
    }
    if entry.major_marker.as_deref() == Some("") {
        return Err(entry_error(key, "`major_marker` is empty"));
    }
    validate_overrides(key, &entry.env_overrides)?;
    if let Some(flag) = entry
        .command_flags
        .iter()
        .find(|f| !f.flag.starts_with('-'))
    {
        return Err(entry_error(
            key,
            format!("command flag `{}` does not start with `-`", flag.flag),
        ));
    }
    for (i, variant) in entry.variants.iter().enumerate() {
        let which = format!("variant {}", i + 1);
        if !variant.has_tag_selector() && !variant.has_version_selector() {
            return Err(entry_error(key, format!("{which} has no selector")));
        }
        if let (Some(min), Some(max)) = (variant.major_min, variant.major_max)
            && min > max
        {
            return Err(entry_error(
                key,
                format!("{which} has `major_min` > `major_max`"),
            ));
        }
        for version in [&variant.version_min, &variant.version_below]
            .into_iter()
            .flatten()
        {
            if parse_dotted(version).is_none() {
                return Err(entry_error(
                    key,
                    format!("{which} version `{version}` is not a dotted number"),
                ));
            }
        }
        if variant
            .tag_in
            .as_ref()
            .is_some_and(|t| t.is_empty() || t.iter().any(String::is_empty))
            || [
                &variant.tag_prefix,
                &variant.tag_suffix,
                &variant.tag_contains,
            ]
            .into_iter()
            .flatten()
            .any(String::is_empty)
        {
            return Err(entry_error(
                key,
                format!("{which} has an empty tag selector"),
            ));
        }
        validate_paths(
            key,
            "data_paths",
            variant.data_paths.as_deref().unwrap_or_default(),
        )?;
        validate_paths(
            key,
            "volume_paths",
            variant.volume_paths.as_deref().unwrap_or_default(),
        )?;
        validate_overrides(key, variant.env_overrides.as_deref().unwrap_or_default())?;
    }
    Ok(())
}

fn validate_mirror(mirror: &Mirror) -> Result<(), KnowledgeError> {
    if mirror.prefix.is_empty() || !mirror.prefix.ends_with('/') || !mirror.replace.ends_with('/') {
        return Err(KnowledgeError::Matching(format!(
            "mirror `{}` -> `{}`: both must end with `/`",
            mirror.prefix, mirror.replace
        )));
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Dockerfiles
// ---------------------------------------------------------------------------------------------

/// What a local Dockerfile says about persistence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DockerfileFacts {
    /// `VOLUME` paths of the last stage (including those of an earlier stage it is built
    /// `FROM`), in order, without duplicates. Variables that could not be resolved stay verbatim.
    pub volumes: Vec<String>,
    /// The last stage's base image (`FROM x AS a` ... `FROM a` gives `x`); `None` for `scratch`
    /// or a Dockerfile without `FROM`.
    pub base_image: Option<String>,
}

#[derive(Debug, Default, Clone)]
struct Stage {
    name: Option<String>,
    base_image: Option<String>,
    env: Vec<(String, String)>,
    args: Vec<(String, Option<String>)>,
    volumes: Vec<String>,
}

impl Stage {
    /// ENV wins over ARG; an ARG without a known value is unknown.
    fn var(&self, name: &str) -> Option<String> {
        if let Some((_, value)) = self.env.iter().rev().find(|(k, _)| k == name) {
            return Some(value.clone());
        }
        self.args
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.clone())
    }
}

/// Reads the `VOLUME`s of a Dockerfile's last stage and that stage's base image. Handles parser
/// directives (`# escape=`), line continuations, comments, heredocs, case-insensitive
/// instructions, JSON and plain `VOLUME` forms, and `$VAR` / `${VAR}` from ARG defaults and ENV.
pub fn parse_dockerfile(text: &str) -> DockerfileFacts {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let (escape, first_line) = parser_directives(&lines);
    let instructions = logical_lines(&lines[first_line..], escape);

    let mut global_args: Vec<(String, Option<String>)> = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for line in &instructions {
        let line = line.trim();
        let (keyword, rest) = match line.find(char::is_whitespace) {
            Some(at) => (&line[..at], line[at..].trim()),
            None => (line, ""),
        };
        match keyword.to_ascii_uppercase().as_str() {
            "FROM" => {
                let lookup = |name: &str| lookup_args(&global_args, name);
                stages.push(from_stage(rest, escape, &lookup, &stages));
            }
            "ARG" => {
                let current = stages.last();
                let lookup = |name: &str| match current {
                    Some(stage) => stage.var(name),
                    None => lookup_args(&global_args, name),
                };
                let mut declared = Vec::new();
                for word in split_words(rest, escape) {
                    let (name, value) = match word.split_once('=') {
                        Some((name, value)) => {
                            (name.to_string(), Some(expand_word(value, escape, &lookup)))
                        }
                        None => (word.clone(), None),
                    };
                    declared.push((name, value));
                }
                match stages.last_mut() {
                    Some(stage) => {
                        for (name, value) in declared {
                            // `ARG NAME` in a stage picks up the default of a global `ARG NAME=x`
                            let value = value.or_else(|| lookup_args(&global_args, &name));
                            stage.args.push((name, value));
                        }
                    }
                    None => global_args.extend(declared),
                }
            }
            "ENV" => {
                if let Some(stage) = stages.last_mut() {
                    let pairs = env_pairs(rest, escape, &|name: &str| stage.var(name));
                    stage.env.extend(pairs);
                }
            }
            "VOLUME" => {
                if let Some(stage) = stages.last_mut() {
                    let paths = volume_args(rest, escape, &|name: &str| stage.var(name));
                    for path in paths {
                        let path = normalise_volume_path(&path);
                        if !path.is_empty() && !stage.volumes.contains(&path) {
                            stage.volumes.push(path);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    match stages.pop() {
        Some(last) => DockerfileFacts {
            volumes: last.volumes,
            base_image: last.base_image,
        },
        None => DockerfileFacts::default(),
    }
}

fn lookup_args(args: &[(String, Option<String>)], name: &str) -> Option<String> {
    args.iter()
        .rev()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.clone())
}

/// `FROM [--flag=x]... image [AS name]`; a stage built from an earlier stage inherits its base
/// image, ENV and VOLUMEs.
fn from_stage(
    rest: &str,
    escape: char,
    global: &dyn Fn(&str) -> Option<String>,
    stages: &[Stage],
) -> Stage {
    let words: Vec<String> = split_words(rest, escape)
        .into_iter()
        .filter(|w| !w.starts_with("--"))
        .collect();
    let image = words.first().map(|w| expand_word(w, escape, global));
    let name = match words.get(1) {
        Some(as_kw) if as_kw.eq_ignore_ascii_case("as") => {
            words.get(2).map(|n| n.to_ascii_lowercase())
        }
        _ => None,
    };
    let parent = image.as_deref().and_then(|image| {
        stages
            .iter()
            .rev()
            .find(|s| s.name.as_deref() == Some(image.to_ascii_lowercase().as_str()))
    });
    match parent {
        Some(parent) => Stage {
            name,
            base_image: parent.base_image.clone(),
            env: parent.env.clone(),
            args: Vec::new(),
            volumes: parent.volumes.clone(),
        },
        None => Stage {
            name,
            base_image: image.filter(|i| !i.eq_ignore_ascii_case("scratch")),
            ..Stage::default()
        },
    }
}

/// Leading `# directive=value` lines; returns the escape character and the first line after them.
fn parser_directives(lines: &[&str]) -> (char, usize) {
    let mut escape = '\\';
    let mut seen = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let Some(body) = line.trim().strip_prefix('#') else {
            return (escape, index);
        };
        let Some((name, value)) = body.split_once('=') else {
            return (escape, index);
        };
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        let known = ["syntax", "escape", "check"].contains(&name.as_str());
        if !known || seen.contains(&name) {
            // an unknown directive is a comment, and ends directive parsing
            return (escape, index);
        }
        if name == "escape" {
            match value {
                "`" => escape = '`',
                "\\" => escape = '\\',
                _ => {}
            }
        }
        seen.push(name);
    }
    (escape, lines.len())
}

/// Joins continuation lines, drops comments and blank lines, and skips heredoc bodies.
fn logical_lines(lines: &[&str], escape: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut continuing = false;
    let mut heredocs: Vec<(String, bool)> = Vec::new();
    for line in lines {
        if let Some((terminator, strip_tabs)) = heredocs.first() {
            let candidate = if *strip_tabs {
                line.trim_start_matches('\t')
            } else {
                line
            };
            if candidate == terminator {
                heredocs.remove(0);
            }
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        let content = line.trim_end();
        match content.strip_suffix(escape) {
            Some(head) => {
                current.push_str(head);
                continuing = true;
                continue;
            }
            None => current.push_str(content),
        }
        continuing = false;
        let instruction = std::mem::take(&mut current);
        heredocs = heredoc_terminators(&instruction);
        out.push(instruction);
    }
    if continuing && !current.trim().is_empty() {
        out.push(current);
    }
    out
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"` words of a RUN/COPY/ADD instruction (BuildKit heredocs).
fn heredoc_terminators(instruction: &str) -> Vec<(String, bool)> {
    let mut words = instruction.split_whitespace();
    let keyword = words.next().unwrap_or_default().to_ascii_uppercase();
    if !["RUN", "COPY", "ADD"].contains(&keyword.as_str()) {
        return Vec::new();
    }
    words
        .filter_map(|word| {
            let word = word.trim_start_matches(|c: char| c.is_ascii_digit());
            let rest = word.strip_prefix("<<")?;
            if rest.starts_with('<') {
                return None;
            }
            let (strip_tabs, rest) = match rest.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, rest),
            };
            let name = rest.trim_matches(|c| c == '"' || c == '\'');
            (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .then(|| (name.to_string(), strip_tabs))
        })
        .collect()
}

/// `ENV K=V K2="v 2"` or the legacy `ENV K rest of line`; values see the variables as they were
/// before this instruction.
fn env_pairs(
    rest: &str,
    escape: char,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Vec<(String, String)> {
    let words = split_words(rest, escape);
    let Some(first) = words.first() else {
        return Vec::new();
    };
    if !first.contains('=') {
        let value = rest
            .trim_start()
            .get(first.len()..)
            .unwrap_or_default()
            .trim();
        return vec![(first.clone(), expand_word(value, escape, vars))];
    }
    words
        .iter()
        .filter_map(|word| {
            let (name, value) = word.split_once('=')?;
            Some((name.to_string(), expand_word(value, escape, vars)))
        })
        .collect()
}

/// `VOLUME ["/a", "/b"]` or `VOLUME /a /b`.
fn volume_args(rest: &str, escape: char, vars: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let rest = rest.trim();
    if rest.starts_with('[')
        && let Some(items) = parse_json_string_array(rest)
    {
        return items
            .iter()
            .map(|item| expand_word(item, escape, vars))
            .collect();
    }
    split_words(rest, escape)
        .iter()
        .map(|word| expand_word(word, escape, vars))
        .collect()
}

/// Cleans absolute POSIX paths (`/data/` -> `/data`); anything else is kept as written.
fn normalise_volume_path(path: &str) -> String {
    let path = path.trim();
    if path.starts_with('/') {
        clean_posix_path(path)
    } else {
        path.to_string()
    }
}

/// Splits at unquoted, unescaped whitespace, keeping quotes and escapes in the words.
fn split_words(s: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            current.push(c);
            if c == escape && q == '"' {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            } else if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_whitespace() {
            if in_word {
                words.push(std::mem::take(&mut current));
                in_word = false;
            }
            continue;
        }
        in_word = true;
        current.push(c);
        if c == escape {
            if let Some(next) = chars.next() {
                current.push(next);
            }
        } else if c == '"' || c == '\'' {
            quote = Some(c);
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

/// Removes quotes and escapes and substitutes variables (Docker's shell-word processing).
fn expand_word(word: &str, escape: char, vars: &dyn Fn(&str) -> Option<String>) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some('\'') => {
                if c == '\'' {
                    quote = None;
                } else {
                    out.push(c);
                }
                i += 1;
            }
            Some(_) => {
                if c == '"' {
                    quote = None;
                    i += 1;
                } else if c == escape && i + 1 < chars.len() {
                    let next = chars[i + 1];
                    if next != '"' && next != '$' && next != escape {
                        out.push(c);
                    }
                    out.push(next);
                    i += 2;
                } else if c == '$' {
                    i = expand_dollar(&chars, i, escape, vars, &mut out);
                } else {
                    out.push(c);
                    i += 1;
                }
            }
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                    i += 1;
                } else if c == escape && i + 1 < chars.len() {
                    out.push(chars[i + 1]);
                    i += 2;
                } else if c == '$' {
                    i = expand_dollar(&chars, i, escape, vars, &mut out);
                } else {
                    out.push(c);
                    i += 1;
                }
            }
        }
    }
    out
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands the `$` at `chars[start]` into `out`; returns the index after the expression.
/// Unknown variables are kept verbatim (their value may come from `--build-arg` or the base image).
fn expand_dollar(
    chars: &[char],
    start: usize,
    escape: char,
    vars: &dyn Fn(&str) -> Option<String>,
    out: &mut String,
) -> usize {
    match chars.get(start + 1) {
        Some('{') => {
            let mut depth = 0usize;
            let mut end = None;
            for (j, &c) in chars.iter().enumerate().skip(start + 1) {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            end = Some(j);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let Some(end) = end else {
                out.extend(&chars[start..]);
                return chars.len();
            };
            let inner: String = chars[start + 2..end].iter().collect();
            let name_len = inner.chars().take_while(|&c| is_name_char(c)).count();
            let (name, modifier) = inner.split_at(name_len);
            let value = if name.starts_with(is_name_start) {
                vars(name)
            } else {
                None
            };
            let expand = |w: &str| expand_word(w, escape, vars);
            let result = match (modifier, value) {
                ("", value) => value,
                (m, Some(v)) if m.starts_with(":-") => {
                    Some(if v.is_empty() { expand(&m[2..]) } else { v })
                }
                (m, Some(v)) if m.starts_with(":+") => Some(if v.is_empty() {
                    String::new()
                } else {
                    expand(&m[2..])
                }),
                (m, Some(v)) if m.starts_with('-') || m.starts_with(":?") || m.starts_with('?') => {
                    Some(v)
                }
                (m, Some(_)) if m.starts_with('+') => Some(expand(&m[1..])),
                _ => None,
            };
            match result {
                Some(value) => out.push_str(&value),
                None => out.extend(&chars[start..=end]),
            }
            end + 1
        }
        Some(&c) if is_name_start(c) => {
            let end = chars[start + 1..]
                .iter()
                .position(|&c| !is_name_char(c))
                .map_or(chars.len(), |p| start + 1 + p);
            let name: String = chars[start + 1..end].iter().collect();
            match vars(&name) {
                Some(value) => out.push_str(&value),
                None => out.extend(&chars[start..end]),
            }
            end
        }
        _ => {
            out.push('$');
            start + 1
        }
    }
}

/// A JSON array of strings (the exec form); `None` if `s` is anything else.
fn parse_json_string_array(s: &str) -> Option<Vec<String>> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if chars.get(i) != Some(&'[') {
        return None;
    }
    i += 1;
    let mut items = Vec::new();
    skip_ws(&mut i);
    if chars.get(i) == Some(&']') {
        i += 1;
    } else {
        loop {
            skip_ws(&mut i);
            if chars.get(i) != Some(&'"') {
                return None;
            }
            i += 1;
            let mut item = String::new();
            loop {
                let c = *chars.get(i)?;
                i += 1;
                match c {
                    '"' => break,
                    '\\' => {
                        let e = *chars.get(i)?;
                        i += 1;
                        match e {
                            '"' | '\\' | '/' => item.push(e),
                            'b' => item.push('\u{8}'),
                            'f' => item.push('\u{c}'),
                            'n' => item.push('\n'),
                            'r' => item.push('\r'),
                            't' => item.push('\t'),
                            'u' => {
                                let hex: String = chars.get(i..i + 4)?.iter().collect();
                                i += 4;
                                let code = u32::from_str_radix(&hex, 16).ok()?;
                                item.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                            }
                            _ => return None,
                        }
                    }
                    c if (c as u32) < 0x20 => return None,
                    c => item.push(c),
                }
            }
            items.push(item);
            skip_ws(&mut i);
            match chars.get(i) {
                Some(',') => i += 1,
                Some(']') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    skip_ws(&mut i);
    (i == chars.len()).then_some(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn no_env(_: &str) -> Option<String> {
        None
    }

    fn env_of(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name: &str| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        }
    }

    fn facts(image: &str) -> ImageFacts {
        facts_env(image, &[])
    }

    fn facts_env(image: &str, env: &[(&str, &str)]) -> ImageFacts {
        let env = env_of(env);
        KnowledgeBase::builtin()
            .lookup_str(image, &env)
            .unwrap_or_else(|| panic!("no facts for {image}"))
    }

    fn repo(s: &str) -> String {
        parse_image_ref(s)
            .unwrap_or_else(|| panic!("{s} does not parse"))
            .repository()
    }

    fn known(image: &str) -> bool {
        KnowledgeBase::builtin()
            .lookup_str(image, &no_env)
            .is_some()
    }

    // ----- the data file -----------------------------------------------------------------

    #[test]
    fn builtin_knowledge_base_is_valid() {
        let base = KnowledgeBase::from_toml(BUILTIN_TOML).expect("built-in file validates");
        assert!(base.len() >= 110, "only {} entries", base.len());
        for key in base.keys() {
            let entry = base.get(key).expect("key from keys()");
            for repo in &entry.repos {
                assert!(is_normalised_repository(repo), "{key}: {repo}");
            }
            let variant_paths = entry
                .variants
                .iter()
                .flat_map(|v| v.data_paths.iter().chain(v.volume_paths.iter()).flatten());
            for path in entry
                .data_paths
                .iter()
                .chain(&entry.volume_paths)
                .chain(variant_paths)
            {
                assert!(is_canonical_container_path(path), "{key}: {path}");
            }
            assert!(!entry.sources.is_empty(), "{key} has no source");
            if entry.stateful && entry.data_paths.is_empty() {
                // the path comes from the command line: the note must say so
                assert!(entry.note.is_some(), "{key}");
            }
        }
        assert_eq!(KnowledgeBase::builtin().len(), base.len());
    }

    #[test]
    fn builtin_matches_the_validated_toml() {
        let validated = KnowledgeBase::from_toml(BUILTIN_TOML).expect("built-in file validates");
        let builtin = KnowledgeBase::from_embedded();
        let entries = |base: &KnowledgeBase| -> Vec<(String, ImageEntry)> {
            base.entries
                .iter()
                .map(|(k, slot)| (k.to_string(), slot.get().clone()))
                .collect()
        };
        assert_eq!(entries(&builtin), entries(&validated));
        assert_eq!(builtin.mirrors, validated.mirrors);
        assert_eq!(builtin.examples, validated.examples);
        // The embedded index is the one `rebuild_index` builds from the same entries.
        let exact: HashMap<String, usize> = BUILTIN_EXACT
            .iter()
            .map(|(r, i)| ((*r).to_owned(), *i))
            .collect();
        let patterns: Vec<(String, usize)> = BUILTIN_PATTERNS
            .iter()
            .map(|(p, i)| ((*p).to_owned(), *i))
            .collect();
        assert!(builtin.embedded_index);
        assert_eq!(exact, validated.exact);
        assert_eq!(patterns, validated.patterns);
        assert!(BUILTIN_EXACT.is_sorted_by(|a, b| a.0 < b.0));
    }

    /// Defaults exist for user files; the built-in file states every fact explicitly.
    #[test]
    fn builtin_entries_state_every_fact() {
        let table: toml::Table = toml::from_str(BUILTIN_TOML).expect("toml");
        let images = table["images"].as_table().expect("images table");
        for (key, entry) in images {
            let entry = entry.as_table().expect("entry table");
            for field in [
                "repos",
                "stateful",
                "data_paths",
                "volume_paths",
                "sources",
                "confidence",
            ] {
                assert!(entry.contains_key(field), "{key} lacks {field}");
            }
        }
    }

    #[test]
    fn matching_examples_from_the_data_file() {
        let examples = &KnowledgeBase::builtin().examples;
        assert!(examples.len() >= 8);
        for example in examples {
            let written = match &example.interpolated {
                Some(interpolated) => {
                    assert_eq!(parse_image_ref(&example.input), None, "{}", example.input);
                    interpolated
                }
                None => &example.input,
            };
            let parsed = parse_image_ref(written).unwrap_or_else(|| panic!("{written}"));
            assert_eq!(parsed.repository(), example.repo, "{written}");
            assert_eq!(parsed.effective_tag(), example.tag.as_deref(), "{written}");
            assert_eq!(parsed.digest, example.digest, "{written}");
        }
    }

    // ----- reference normalisation -------------------------------------------------------

    #[test]
    fn docker_hub_spellings_are_one_repository() {
        for s in [
            "postgres",
            "library/postgres",
            "docker.io/postgres",
            "docker.io/library/postgres",
            "index.docker.io/library/postgres",
            "index.docker.io/postgres",
        ] {
            assert_eq!(repo(s), "docker.io/library/postgres", "{s}");
        }
        let r = parse_image_ref("postgres").expect("parses");
        assert_eq!((r.tag, r.digest), (None, None));
        assert_eq!(repo("bitnami/postgresql"), "docker.io/bitnami/postgresql");
    }

    #[test]
    fn tag_and_digest_split() {
        let digest = "sha256:0ed5d5928d4737458944eb604cc8509e245c3e19d02ad83935398bc4b991aac7";
        let r = parse_image_ref(&format!("postgres:16@{digest}")).expect("parses");
        assert_eq!(r.tag.as_deref(), Some("16"));
        assert_eq!(r.digest.as_deref(), Some(digest));
        let digest_only = parse_image_ref(&format!("redis@{digest}")).expect("parses");
        assert_eq!(digest_only.tag, None);
        assert_eq!(digest_only.effective_tag(), None);
    }

    #[test]
    fn registry_with_port_is_not_a_tag() {
        let r = parse_image_ref("registry.example.com:5000/team/app:1.2").expect("parses");
        assert_eq!(r.domain, "registry.example.com:5000");
        assert_eq!(r.path, "team/app");
        assert_eq!(r.tag.as_deref(), Some("1.2"));
        let r = parse_image_ref("localhost:5000/redis").expect("parses");
        assert_eq!(r.repository(), "localhost:5000/redis");
        assert_eq!(r.tag, None);
        let r = parse_image_ref("localhost/app:dev").expect("parses");
        assert_eq!(r.domain, "localhost");
        let r = parse_image_ref("[::1]:5000/app:7").expect("parses");
        assert_eq!(r.domain, "[::1]:5000");
        assert_eq!(r.tag.as_deref(), Some("7"));
        // no '/': `localhost:5000` is the image `localhost` with tag 5000, as in Docker
        let r = parse_image_ref("localhost:5000").expect("parses");
        assert_eq!(r.repository(), "docker.io/library/localhost");
        // a private registry is not Docker Hub
        assert!(!known("localhost:5000/postgres:16"));
    }

    #[test]
    fn refused_references() {
        for s in [
            "",
            "   ",
            "${PG_IMAGE}",
            "${PG_IMAGE:-postgres:16}",
            "postgres:${TAG}",
            "$REGISTRY/app",
            "0ed5d5928d4737458944eb604cc8509e245c3e19d02ad83935398bc4b991aac7",
            "sha256:0ed5d5928d4737458944eb604cc8509e245c3e19d02ad83935398bc4b991aac7",
            "Postgres",
            "docker.io/Library/postgres",
            "postgres:",
            ":16",
            "@sha256:0ed5d5928d4737458944eb604cc8509e245c3e19d02ad83935398bc4b991aac7",
            "postgres@sha256:abc",
            "postgres@",
            "post gres",
            "postgres:-bad",
            "a//b",
            "/postgres",
            "postgres/",
            "-postgres",
            "postgres--",
            "a___b",
            "[::1/app",
        ] {
            assert_eq!(parse_image_ref(s), None, "{s:?}");
        }
        assert_eq!(repo("a__b"), "docker.io/library/a__b");
        assert_eq!(repo("a--b.c_d"), "docker.io/library/a--b.c_d");
    }

    #[test]
    fn familiar_names_and_display() {
        let show = |s: &str| parse_image_ref(s).expect("parses").to_string();
        assert_eq!(show("docker.io/library/postgres:16"), "postgres:16");
        assert_eq!(show("index.docker.io/bitnami/redis"), "bitnami/redis");
        assert_eq!(show("ghcr.io/org/app:1"), "ghcr.io/org/app:1");
    }

    // ----- lookups -----------------------------------------------------------------------

    #[test]
    fn postgres_tags_select_the_layout() {
        let classic = vec!["/var/lib/postgresql/data".to_string()];
        let pg18 = vec!["/var/lib/postgresql".to_string()];
        let digest = "sha256:0ed5d5928d4737458944eb604cc8509e245c3e19d02ad83935398bc4b991aac7";
        let digest_only = format!("postgres@{digest}");
        for (image, expected) in [
            ("postgres:16", &classic),
            ("postgres:16-alpine", &classic),
            ("postgres:17.6-trixie", &classic),
            ("postgres:9.6", &classic),
            ("postgres:18", &pg18),
            ("postgres:18.1", &pg18),
            ("postgres", &pg18),
            ("postgres:latest", &pg18),
            ("postgres:alpine", &pg18),
            (digest_only.as_str(), &pg18),
        ] {
            let f = facts(image);
            assert_eq!(f.key, "postgres");
            assert_eq!(&f.data_paths, expected, "{image}");
            assert_eq!(&f.volume_paths, expected, "{image}");
            assert_eq!(f.confidence, Confidence::High, "{image}");
            assert_eq!(f.declares_volume, Some(true));
            assert!(f.variant.is_some());
            assert!(f.relocated_by.is_none());
            assert!(!f.sources.is_empty());
        }
        assert!(facts("postgres:16").variant.unwrap().contains("classic"));
        // with both a tag and a digest the tag decides
        assert_eq!(facts(&format!("postgres:16@{digest}")).data_paths, classic);
    }

    #[test]
    fn pgdata_relocates_the_data_path_but_not_the_volume() {
        let f = facts_env(
            "postgres:16",
            &[("PGDATA", "/var/lib/postgresql/data/pgdata/")],
        );
        assert_eq!(f.data_paths, ["/var/lib/postgresql/data/pgdata"]);
        assert_eq!(f.volume_paths, ["/var/lib/postgresql/data"]);
        assert_eq!(f.relocated_by.as_deref(), Some("PGDATA"));

        let f = facts_env("postgres:18", &[("PGDATA", "/pgdata")]);
        assert_eq!(f.data_paths, ["/pgdata"]);
        assert_eq!(f.volume_paths, ["/var/lib/postgresql"]);

        // the default value is not a relocation; empty, relative and `$` values are ignored
        for value in ["/var/lib/postgresql/data", "", "pgdata", "$HOME/pg"] {
            let f = facts_env("postgres:16", &[("PGDATA", value)]);
            assert_eq!(f.data_paths, ["/var/lib/postgresql/data"], "{value:?}");
            assert_eq!(f.relocated_by, None, "{value:?}");
        }

        let f = facts_env(
            "postgres:17",
            &[
                ("PGDATA", "/srv/pg"),
                ("POSTGRES_INITDB_WALDIR", "/srv/wal"),
            ],
        );
        assert_eq!(f.data_paths, ["/srv/pg", "/srv/wal"]);
        assert_eq!(
            f.relocated_by.as_deref(),
            Some("PGDATA, POSTGRES_INITDB_WALDIR")
        );
    }

    #[test]
    fn bitnami_images() {
        for image in [
            "bitnami/postgresql:17",
            "docker.io/bitnamilegacy/postgresql:16.4.0",
            "bitnamisecure/postgresql",
        ] {
            let f = facts(image);
            assert_eq!(f.key, "bitnami-postgresql");
            assert_eq!(f.data_paths, ["/bitnami/postgresql/data"]);
            assert!(f.volume_paths.iter().any(|p| p == "/bitnami/postgresql"));
        }
        let f = facts_env(
            "bitnami/postgresql:17",
            &[("POSTGRESQL_VOLUME_DIR", "/vol")],
        );
        assert_eq!(f.data_paths, ["/vol/data"]);
        let f = facts_env(
            "bitnami/postgresql:17",
            &[
                ("POSTGRESQL_VOLUME_DIR", "/vol"),
                ("POSTGRESQL_DATA_DIR", "/pg"),
            ],
        );
        assert_eq!(f.data_paths, ["/pg"]);
        let f = facts_env("bitnami/postgresql:17", &[("PGDATA", "/alias")]);
        assert_eq!(f.data_paths, ["/alias"]);

        let f = facts("bitnami/redis:7.4");
        assert_eq!(f.key, "bitnami-redis");
        assert_eq!(f.data_paths, ["/bitnami/redis/data"]);
        assert_eq!(f.declares_volume, Some(false));
        assert!(f.volume_paths.is_empty());
        assert!(!facts("bitnami/keycloak:26").stateful);
    }

    #[test]
    fn mirrors_and_pull_through_caches() {
        for image in [
            "public.ecr.aws/docker/library/postgres:16",
            "mirror.gcr.io/library/postgres:16",
            "registry-1.docker.io/library/postgres:16",
            "registry-1.docker.io/postgres:16",
        ] {
            let f = facts(image);
            assert_eq!(f.key, "postgres", "{image}");
            assert_eq!(f.data_paths, ["/var/lib/postgresql/data"], "{image}");
            assert_eq!(f.confidence, Confidence::High, "{image}");
        }
        assert_eq!(facts("mirror.gcr.io/bitnami/redis").key, "bitnami-redis");
        let f = facts("harbor.example.com/dockerhub/library/postgres:18");
        assert_eq!(f.key, "postgres");
        assert_eq!(f.data_paths, ["/var/lib/postgresql"]);
        assert_eq!(f.confidence, Confidence::Low);
        assert!(!known("harbor.example.com/library/unknown-thing"));
        assert!(!known("ghcr.io/someone/postgres"));
    }

    #[test]
    fn wildcard_repositories() {
        for image in [
            "lscr.io/linuxserver/sonarr:latest",
            "ghcr.io/linuxserver/radarr",
            "linuxserver/plex:1.40",
            "mirror.gcr.io/linuxserver/plex",
        ] {
            let f = facts(image);
            assert_eq!(f.key, "linuxserver", "{image}");
            assert_eq!(f.data_paths, ["/config"]);
            assert_eq!(f.confidence, Confidence::Medium);
        }
        assert!(!known("lscr.io/linuxserver/a/b"));
    }

    #[test]
    fn tag_string_and_marker_variants() {
        let f = facts("gitea/gitea:1.22-rootless");
        assert_eq!(f.data_paths, ["/var/lib/gitea", "/etc/gitea"]);
        assert_eq!(facts("gitea/gitea:1.22").data_paths, ["/data"]);

        assert_eq!(facts("percona:psmdb-6.0").data_paths, ["/data/db"]);
        assert_eq!(facts("percona:8.0").data_paths, ["/var/lib/mysql"]);

        let f = facts("timescale/timescaledb:2.17.2-pg17");
        assert_eq!(f.data_paths, ["/var/lib/postgresql/data"]);
        assert_eq!(f.confidence, Confidence::High);
        let pg18 = ["/var/lib/postgresql"];
        assert_eq!(facts("timescale/timescaledb:latest-pg18").data_paths, pg18);
        assert_eq!(facts("pgvector/pgvector:pg18").data_paths, pg18);
        assert_eq!(facts("postgis/postgis:18-3.6").data_paths, pg18);
        assert_eq!(
            facts("pgvector/pgvector:0.8.0-pg16").data_paths,
            ["/var/lib/postgresql/data"]
        );
        // no version: the default layout, but not with high confidence
        let f = facts("timescale/timescaledb:latest");
        assert_eq!(f.data_paths, ["/var/lib/postgresql/data"]);
        assert_eq!(f.confidence, Confidence::Medium);
        assert!(f.variant.unwrap().contains("does not name a version"));

        let f = facts("mongo:8.0-windowsservercore-ltsc2022");
        assert_eq!(f.data_paths, ["C:\\data\\db"]);
        assert_eq!(f.volume_paths, ["C:\\data\\db", "C:\\data\\configdb"]);
        assert_eq!(facts("mongo:8.0").data_paths, ["/data/db"]);
    }

    #[test]
    fn version_variants() {
        assert_eq!(facts("influxdb:1.11").data_paths, ["/var/lib/influxdb"]);
        let v2 = ["/var/lib/influxdb2", "/etc/influxdb2"];
        assert_eq!(facts("influxdb:2.7").data_paths, v2);
        assert_eq!(facts("influxdb").data_paths, v2);
        for image in [
            "influxdb:3-core",
            "influxdb:core",
            "influxdb:3.1-enterprise",
        ] {
            let f = facts(image);
            assert_eq!(f.data_paths[0], "/var/lib/influxdb3", "{image}");
            assert_eq!(f.declares_volume, Some(false));
        }
        // caddy dropped its VOLUMEs in 2.5; "2" is the newest 2.x
        assert_eq!(facts("caddy:2.4.6").volume_paths, ["/config", "/data"]);
        assert_eq!(facts("caddy:2.4.6").confidence, Confidence::Medium);
        for image in ["caddy:2", "caddy:2.8-alpine", "caddy", "caddy:alpine"] {
            assert!(facts(image).volume_paths.is_empty(), "{image}");
        }
        assert_eq!(facts("traefik:v1.7").volume_paths, ["/tmp"]);
        assert!(!facts("traefik:v1.7").stateful);
        assert!(facts("traefik:v3.1").volume_paths.is_empty());
        assert_eq!(facts("louislam/uptime-kuma:1").volume_paths, ["/app/data"]);
        assert!(
            facts("louislam/uptime-kuma:2.0.0-beta.2")
                .volume_paths
                .is_empty()
        );
        assert_eq!(facts("neo4j:3.5").volume_paths, ["/data"]);
        assert_eq!(facts("neo4j:5").volume_paths, ["/data", "/logs"]);
        assert_eq!(facts("neo4j").volume_paths, ["/data", "/logs"]);
        assert_eq!(
            facts("chromadb/chroma:0.5.23").data_paths,
            ["/chroma/chroma"]
        );
        assert_eq!(facts("chromadb/chroma:1.0.0").data_paths, ["/data"]);
        let v5 = ["/etc/pihole", "/etc/dnsmasq.d"];
        assert_eq!(facts("pihole/pihole:2024.07.0").data_paths, v5);
        assert_eq!(facts("pihole/pihole:2025.03.0").data_paths, ["/etc/pihole"]);
        assert_eq!(facts("pihole/pihole").data_paths, ["/etc/pihole"]);
    }

    #[test]
    fn env_override_effects() {
        let f = facts_env(
            "apache/kafka:3.8.0",
            &[("KAFKA_LOG_DIRS", "/var/lib/kafka/data/a, /b")],
        );
        assert_eq!(f.data_paths, ["/var/lib/kafka/data/a", "/b"]);
        let f = facts_env(
            "qdrant/qdrant",
            &[("QDRANT__STORAGE__STORAGE_PATH", "./store")],
        );
        assert_eq!(f.data_paths, ["/qdrant/store"]);
        let f = facts_env("n8nio/n8n", &[("N8N_USER_FOLDER", "/home/me")]);
        assert_eq!(f.data_paths, ["/home/me/.n8n"]);
        let f = facts_env("zookeeper:3.9", &[("ZOO_DATA_LOG_DIR", "/txn")]);
        assert_eq!(f.data_paths, ["/data", "/txn"]);
        let f = facts_env("grafana/grafana", &[("GF_PATHS_PLUGINS", "/plugins")]);
        assert_eq!(f.data_paths, ["/var/lib/grafana", "/plugins"]);
        // documented-only overrides do nothing
        let f = facts_env("rabbitmq:4", &[("RABBITMQ_NODENAME", "rabbit@x")]);
        assert_eq!(f.data_paths, ["/var/lib/rabbitmq"]);
        assert_eq!(f.relocated_by, None);
        // chroma 0.x has its own override list
        let f = facts_env(
            "chromadb/chroma:0.4.24",
            &[("PERSIST_DIRECTORY", "/persist")],
        );
        assert_eq!(f.data_paths, ["/persist"]);
        let f = facts_env(
            "chromadb/chroma:1.0.0",
            &[("PERSIST_DIRECTORY", "/persist")],
        );
        assert_eq!(f.data_paths, ["/data"]);
    }

    #[test]
    fn stateless_and_unknown_images() {
        let f = facts("memcached:1.6");
        assert!(!f.stateful);
        assert!(f.data_paths.is_empty());
        assert!(!known("example/unknown:1"));
        assert!(!known("${IMAGE}"));
    }

    #[test]
    fn user_entries_win_over_builtin_ones() {
        let mut base = KnowledgeBase::builtin().clone();
        let user = KnowledgeBase::from_toml(
            r#"
schema_version = 1
[images."my-postgres"]
repos = ["docker.io/library/postgres", "registry.example.com/db/pg"]
data_paths = ["/pg"]
[images."redis"]
repos = ["docker.io/acme/redis"]
data_paths = ["/cache"]
stateful = false
"#,
        )
        .expect("user file validates");
        base.extend(user);
        let f = base.lookup_str("postgres:16", &no_env).expect("postgres");
        assert_eq!(f.key, "my-postgres");
        assert_eq!(f.data_paths, ["/pg"]);
        assert_eq!(f.confidence, Confidence::High);
        assert!(
            base.get("postgres").is_none(),
            "postgres lost its only repository"
        );
        assert!(
            base.lookup_str("registry.example.com/db/pg:1", &no_env)
                .is_some()
        );
        // the key `redis` was replaced: docker.io/library/redis is no longer known
        assert!(base.lookup_str("redis", &no_env).is_none());
        let acme = base.lookup_str("acme/redis", &no_env).expect("acme");
        assert!(!acme.stateful);

        // an entry that loses one repository keeps the others
        let mut base = KnowledgeBase::builtin().clone();
        let user = KnowledgeBase::from_toml(
            "schema_version = 1\n[images.x]\nrepos = [\"docker.io/bitnami/redis\"]\ndata_paths = [\"/r\"]\n",
        )
        .expect("valid");
        base.extend(user);
        let x = base.lookup_str("bitnami/redis", &no_env).expect("x");
        assert_eq!(x.key, "x");
        let legacy = base
            .lookup_str("bitnamilegacy/redis", &no_env)
            .expect("legacy");
        assert_eq!(legacy.key, "bitnami-redis");
    }

    #[test]
    fn invalid_knowledge_files_are_refused() {
        let entry = "schema_version = 1\n[images.a]\nrepos = [\"docker.io/library/a\"]\n";
        let cases = [
            ("schema_version = 2".to_string(), "schema_version"),
            ("images = 1".to_string(), "knowledge base is not valid"),
            (
                "schema_version = 1\n[images.a]\nrepos = [\"postgres\"]".to_string(),
                "not normalised",
            ),
            (
                "schema_version = 1\n[images.a]\nrepos = [\"docker.io/library/a:16\"]".to_string(),
                "not normalised",
            ),
            (
                "schema_version = 1\n[images.a]\nrepos = [\"docker.io/*/a\"]".to_string(),
                "not normalised",
            ),
            (
                "schema_version = 1\n[images.a]\nrepos = [\"docker.io/*\"]".to_string(),
                "not normalised",
            ),
            (
                "schema_version = 1\n[images.a]\nrepos = []".to_string(),
                "`repos` is empty",
            ),
            (format!("{entry}data_paths = [\"data\"]"), "clean absolute"),
            (format!("{entry}volume_paths = [\"/data/\"]"), "clean absolute"),
            (format!("{entry}workdir = \"/a/../b\""), "clean absolute"),
            (format!("{entry}surprise = 1"), "unknown field"),
            (
                format!("{entry}[images.b]\nrepos = [\"docker.io/library/a\"]"),
                "listed by both",
            ),
            (format!("{entry}variants = [{{ note = \"x\" }}]"), "no selector"),
            (
                format!("{entry}variants = [{{ major_min = 3, major_max = 2 }}]"),
                "major_min",
            ),
            (
                format!("{entry}variants = [{{ version_below = \"2.x\" }}]"),
                "dotted",
            ),
            (format!("{entry}variants = [{{ tag_suffix = \"\" }}]"), "empty tag"),
            (
                format!("{entry}variants = [{{ major_min = 1, data_paths = [\"x\"] }}]"),
                "clean absolute",
            ),
            (
                format!("{entry}env_overrides = [{{ var = \"X\", effect = \"move\" }}]"),
                "unknown variant",
            ),
            (
                format!("{entry}env_overrides = [{{ var = \"X\", effect = \"add\", replaces = \"/a\" }}]"),
                "not `relocate`",
            ),
            (
                format!("{entry}env_overrides = [{{ var = \"X\", effect = \"add\", subpath = \"../x\" }}]"),
                "subpath",
            ),
            (format!("{entry}command_flags = [{{ flag = \"dir\" }}]"), "`-`"),
            (
                "schema_version = 1\n[matching]\nmirrors = [{ prefix = \"x\", replace = \"docker.io/\" }]"
                    .to_string(),
                "must end with",
            ),
        ];
        for (text, expected) in &cases {
            let err = KnowledgeBase::from_toml(text).expect_err(text).to_string();
            assert!(err.contains(expected), "{text}\n-> {err}");
        }
        assert!(
            KnowledgeBase::from_toml("schema_version = 1")
                .expect("empty")
                .is_empty()
        );
        assert!(KnowledgeBase::from_toml(entry).is_ok());
    }

    #[test]
    fn tag_versions() {
        assert_eq!(tag_version("16-alpine", None), Some(vec![16]));
        assert_eq!(tag_version("18.1", None), Some(vec![18, 1]));
        assert_eq!(tag_version("v1.7.34", None), Some(vec![1, 7, 34]));
        assert_eq!(tag_version("2.", None), Some(vec![2]));
        assert_eq!(tag_version("alpine", None), None);
        assert_eq!(tag_version("latest", None), None);
        assert_eq!(tag_version("v", None), None);
        assert_eq!(tag_version("99999999999999999999999", None), None);
        assert_eq!(tag_version("2.17.2-pg17-oss", Some("pg")), Some(vec![17]));
        assert_eq!(tag_version("pgx-pg16", Some("pg")), Some(vec![16]));
        assert_eq!(tag_version("2.17.2", Some("pg")), None);
        assert!(version_at_least(&[2], &[2, 5]));
        assert!(!version_at_least(&[2, 4, 6], &[2, 5]));
        assert!(version_at_least(&[2, 5], &[2, 5]));
        assert!(version_at_least(&[3], &[2, 5]));
    }

    // ----- Dockerfiles -------------------------------------------------------------------

    fn volumes(text: &str) -> Vec<String> {
        parse_dockerfile(text).volumes
    }

    #[test]
    fn dockerfile_json_and_plain_forms() {
        assert_eq!(
            volumes("FROM alpine\nVOLUME [\"/a\", \"/b/\"]\n"),
            ["/a", "/b"]
        );
        assert_eq!(
            volumes("FROM alpine\nVOLUME /a /b\nVOLUME /c\nVOLUME /a\n"),
            ["/a", "/b", "/c"]
        );
        assert!(volumes("FROM alpine\nVOLUME [ ]\n").is_empty());
        // not JSON: Docker falls back to the plain form
        assert_eq!(volumes("FROM alpine\nVOLUME [/data]\n"), ["[/data]"]);
        assert_eq!(
            volumes("FROM alpine\nVOLUME \"/with space\" '/q'\n"),
            ["/with space", "/q"]
        );
    }

    #[test]
    fn dockerfile_lowercase_comments_and_continuations() {
        let text = "\
# a comment
from debian:12 as base
volume /lower
RUN apt-get update \\
    # a comment inside a continuation
    && apt-get install -y x

VOLUME /one \\
       /two \\

       /three
Volume [\"/four\", \\
        \"/five\"]
# VOLUME /commented
";
        let facts = parse_dockerfile(text);
        assert_eq!(
            facts.volumes,
            ["/lower", "/one", "/two", "/three", "/four", "/five"]
        );
        assert_eq!(facts.base_image.as_deref(), Some("debian:12"));
    }

    #[test]
    fn dockerfile_multi_stage_uses_the_last_stage() {
        let text = "\
FROM golang:1.23 AS build
VOLUME /build-cache
RUN go build

FROM gcr.io/distroless/static
COPY --from=build /app /app
VOLUME /data
";
        let facts = parse_dockerfile(text);
        assert_eq!(facts.volumes, ["/data"]);
        assert_eq!(
            facts.base_image.as_deref(),
            Some("gcr.io/distroless/static")
        );

        // a stage built FROM an earlier stage inherits its base, ENV and VOLUMEs
        let text = "\
FROM postgres:16 AS Base
ENV DATA=/srv
VOLUME /base
FROM base
VOLUME $DATA/db
";
        let facts = parse_dockerfile(text);
        assert_eq!(facts.volumes, ["/base", "/srv/db"]);
        assert_eq!(facts.base_image.as_deref(), Some("postgres:16"));

        let text = "FROM golang AS b\nVOLUME /x\nFROM scratch\nCOPY --from=b /a /a\n";
        assert_eq!(parse_dockerfile(text), DockerfileFacts::default());
    }

    #[test]
    fn dockerfile_arg_and_env_substitution() {
        let text = r#"ARG BASE=postgres:17
ARG DATA_ROOT=/srv
FROM --platform=$BUILDPLATFORM ${BASE}
ARG DATA_ROOT
ARG APP=app
ARG UNSET
ENV HOME_DIR=/home/${APP} OTHER="/quoted dir"
VOLUME ${DATA_ROOT}/$APP ${HOME_DIR} "$OTHER"
VOLUME ["${UNSET}/x", "$NOT_DECLARED", "${UNSET:-/fallback}", "\\$APP"]
VOLUME ${APP:+/alt} ${APP:-/unused} ${NOT_KNOWN:-/d}
"#;
        let facts = parse_dockerfile(text);
        assert_eq!(facts.base_image.as_deref(), Some("postgres:17"));
        assert_eq!(
            facts.volumes,
            [
                "/srv/app",
                "/home/app",
                "/quoted dir",
                "${UNSET}/x",
                "$NOT_DECLARED",
                "${UNSET:-/fallback}",
                "$APP",
                "/alt",
                "app",
                "${NOT_KNOWN:-/d}",
            ]
        );
        // legacy `ENV KEY value` keeps the rest of the line
        assert_eq!(
            volumes("FROM a\nENV LEGACY /legacy path\nVOLUME \"$LEGACY\"\n"),
            ["/legacy path"]
        );
        // a global ARG is not visible in a stage unless redeclared
        assert_eq!(volumes("ARG D=/d\nFROM a\nVOLUME $D\n"), ["$D"]);
        assert_eq!(volumes("ARG D=/d\nFROM a\nARG D\nVOLUME $D\n"), ["/d"]);
        // ENV wins over ARG
        assert_eq!(
            volumes("FROM a\nARG D=/arg\nENV D=/env\nVOLUME $D\n"),
            ["/env"]
        );
        // ENV values see the variables from before the instruction
        assert_eq!(
            volumes("FROM a\nENV A=/one\nENV A=/two B=$A\nVOLUME $B\n"),
            ["/one"]
        );
    }

    #[test]
    fn dockerfile_escape_directive() {
        let text = "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nVOLUME C:\\data `\n       C:\\logs\n";
        let facts = parse_dockerfile(text);
        assert_eq!(facts.volumes, ["C:\\data", "C:\\logs"]);
        // a directive after a comment is only a comment: the backslash stays the escape
        let text = "# hello\n# escape=`\nFROM a\nVOLUME /x \\\n  /y\n";
        assert_eq!(volumes(text), ["/x", "/y"]);
    }

    #[test]
    fn dockerfile_heredocs_and_no_volume() {
        let text = "FROM alpine\nRUN <<EOF\nVOLUME /not-an-instruction\nEOF\nCOPY <<-END /etc/x\n\tVOLUME /nor-this\n\tEND\nVOLUME /real\n";
        assert_eq!(volumes(text), ["/real"]);
        let plain = parse_dockerfile("FROM nginx:1.27\nCOPY . /usr/share/nginx/html\n");
        assert!(plain.volumes.is_empty());
        assert_eq!(plain.base_image.as_deref(), Some("nginx:1.27"));
        assert_eq!(parse_dockerfile(""), DockerfileFacts::default());
        assert!(volumes("VOLUME /before-from\n").is_empty());
        assert_eq!(volumes("\u{feff}FROM a\r\nVOLUME /crlf\r\n"), ["/crlf"]);
        assert!(volumes("FROM a\nONBUILD VOLUME /later\n").is_empty());
        // a file that ends inside a continuation still counts
        assert_eq!(volumes("FROM a\nVOLUME /last \\"), ["/last"]);
    }

    #[test]
    fn json_arrays() {
        assert_eq!(
            parse_json_string_array(r#"["a", "b\"c", "\u0041"]"#),
            Some(vec!["a".to_string(), "b\"c".to_string(), "A".to_string()])
        );
        assert_eq!(parse_json_string_array("[]"), Some(vec![]));
        for bad in [
            "[",
            "[\"a\"",
            "[\"a\",]",
            "[1]",
            "[\"a\"] x",
            "[\"\\u12\"]",
            "[\"\\q\"]",
        ] {
            assert_eq!(parse_json_string_array(bad), None, "{bad}");
        }
    }

    // ----- robustness --------------------------------------------------------------------

    /// Deterministic pseudo-random inputs built from the pieces the parsers care about.
    #[test]
    fn parsers_never_panic() {
        const PIECES: &[&str] = &[
            "a",
            "Z",
            "0",
            "9",
            "/",
            ":",
            "@",
            ".",
            "-",
            "_",
            "$",
            "{",
            "}",
            "[",
            "]",
            "\"",
            "'",
            "\\",
            "`",
            " ",
            "\t",
            "\n",
            "\r\n",
            "#",
            "=",
            "<<",
            "EOF",
            "FROM ",
            "VOLUME ",
            "ARG ",
            "ENV ",
            "RUN ",
            " AS ",
            "sha256:",
            "é",
            "\u{feff}",
            "${",
            ":-",
            "localhost",
            "*",
            "pg",
            "v",
        ];
        let mut seed: u64 = 0x5eed;
        let mut next = move || {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) as usize
        };
        let base = KnowledgeBase::builtin();
        for _ in 0..5000 {
            let len = next() % 24;
            let s: String = (0..len).map(|_| PIECES[next() % PIECES.len()]).collect();
            let _ = parse_dockerfile(&s);
            let _ = tag_version(&s, Some("pg"));
            let _ = tag_version(&s, None);
            let _ = env_path(&s, Some("/w"), Some("sub"));
            let _ = KnowledgeBase::from_toml(&s);
            if let Some(r) = parse_image_ref(&s) {
                let value = s.clone();
                let _ = base.lookup(&r, &move |_| Some(value.clone()));
                let again = parse_image_ref(&r.to_string()).map(|p| p.repository());
                assert_eq!(again, Some(r.repository()), "{s:?}");
            }
        }
    }
}
