//! The stateful-image knowledge base: the built-in one as `build.rs` embedded it, user entries
//! from the config file, how they combine (`extend`), and lookups: a normalised repository (directly, through a Docker
//! Hub mirror or a pull-through cache) selects an entry, whose tag variant and env overrides
//! then give the data paths of that image as configured.

use std::sync::OnceLock;

use foldhash::{HashMap, HashMapExt};
use indexmap::IndexMap;

use super::format::{
    Confidence, ConfigFormat, EnvEffect, ImageEntry, KnowledgeError, MatchingExample,
    MatchingSection, Mirror, Persistence, SCHEMA_VERSION, Setting, Variant,
};
use super::reference::{DEFAULT_DOMAIN, ImageRef, OFFICIAL_PREFIX, parse_image_ref};
use super::validate::validate_entry;
use crate::compose::mounts::clean_path;

// The same file as `build.rs` embeds it: `BUILTIN_SCHEMA_VERSION`, `BUILTIN_MATCHING` (JSON) and
// `BUILTIN_ENTRIES` (key, repositories, entry as JSON). Parsing the TOML at every start took most
// of the time of a one-file run; the unit tests validate the TOML and check both agree.
include!(concat!(env!("OUT_DIR"), "/knowledge.rs"));

/// What the knowledge base says about one image, for one tag and environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageFacts {
    /// Entry key, e.g. `postgres`.
    pub(crate) key: String,
    pub(crate) stateful: bool,
    /// Directories to persist, after the tag variant and env overrides.
    pub(crate) data_paths: Vec<String>,
    /// Image `VOLUME`s (after the tag variant; env never moves them).
    pub(crate) volume_paths: Vec<String>,
    pub(crate) declares_volume: Option<bool>,
    pub(crate) confidence: Confidence,
    /// Note of the selected variant, for messages.
    pub(crate) variant: Option<String>,
    /// Env var(s) that moved the data (comma-separated when several did).
    pub(crate) relocated_by: Option<String>,
    /// What the service's own configuration can change: its arguments, its configuration files
    /// (how they are written, where the image reads one unasked, which keys matter), and whether
    /// the data counts without being asked for (`analysis::configured` applies them).
    pub(crate) command_flags: Vec<Setting>,
    pub(crate) config_format: Option<ConfigFormat>,
    pub(crate) config_paths: Vec<String>,
    pub(crate) config_keys: Vec<Setting>,
    pub(crate) persistence: Persistence,
    /// The image `WORKDIR`, against which relative paths in settings resolve.
    pub(crate) workdir: Option<String>,
    /// How the directory the data is in is named after the container's hostname, unless the
    /// environment fixes the name (`hostname_keyed`).
    pub(crate) hostname_keyed: Option<String>,
}

/// The entries of a knowledge base, by index (the index the lookup tables give).
#[derive(Debug, Clone)]
enum Entries {
    /// The built-in file as embedded: `BUILTIN_ENTRIES` (sorted by key) and its index tables
    /// `BUILTIN_EXACT` and `BUILTIN_PATTERNS`; an entry is deserialised from its JSON when a
    /// lookup first selects it. Nothing is hashed or copied per entry at start.
    Embedded(Box<[OnceLock<Box<ImageEntry>>]>),
    /// Entries parsed or combined at run time, indexed by `exact` and `patterns`.
    Owned(IndexMap<String, ImageEntry, foldhash::fast::RandomState>),
}

impl Default for Entries {
    fn default() -> Entries {
        Entries::Owned(IndexMap::default())
    }
}

/// The built-in entry at `index`, deserialised on first use.
fn embedded(
    slots: &[OnceLock<Box<ImageEntry>>],
    index: usize,
) -> Option<(&'static str, &ImageEntry)> {
    let (key, _, raw) = BUILTIN_ENTRIES.get(index)?;
    let entry = slots.get(index)?.get_or_init(|| {
        serde_json::from_str(raw)
            .expect("the embedded knowledge base is validated by the images unit tests")
    });
    Some((key, entry))
}

impl Entries {
    /// The entries as a map that can change: the built-in ones are all deserialised first.
    fn into_owned(self) -> IndexMap<String, ImageEntry, foldhash::fast::RandomState> {
        match self {
            Entries::Owned(map) => map,
            Entries::Embedded(slots) => (0..slots.len())
                .filter_map(|index| embedded(&slots, index))
                .map(|(key, entry)| (key.to_owned(), entry.clone()))
                .collect(),
        }
    }
}

/// The stateful-image knowledge base.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeBase {
    entries: Entries,
    mirrors: Vec<Mirror>,
    examples: Vec<MatchingExample>,
    /// Repository -> entry index of `Entries::Owned` (rebuilt after every change).
    exact: HashMap<String, usize>,
    /// (`prefix/` of a `prefix/*` repository, entry index), longest prefix first.
    patterns: Vec<(String, usize)>,
}

impl KnowledgeBase {
    /// The built-in knowledge base (`data/stateful-images.toml`), made once.
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
        KnowledgeBase {
            entries: Entries::Embedded(BUILTIN_ENTRIES.iter().map(|_| OnceLock::new()).collect()),
            mirrors: matching.mirrors,
            examples: matching.examples,
            ..KnowledgeBase::default()
        }
    }

    /// The entry at `index` and its key.
    fn entry(&self, index: usize) -> Option<(&str, &ImageEntry)> {
        match &self.entries {
            Entries::Embedded(slots) => embedded(slots, index),
            Entries::Owned(map) => map.get_index(index).map(|(k, e)| (k.as_str(), e)),
        }
    }

    /// Parses and validates a knowledge base in the format of `data/stateful-images.toml`: how
    /// the unit tests validate the built-in file, which the binary embeds without validation.
    #[cfg(test)]
    pub(crate) fn from_toml(text: &str) -> Result<KnowledgeBase, KnowledgeError> {
        let file: super::format::KnowledgeFile = toml::from_str(text)?;
        if file.schema_version != SCHEMA_VERSION {
            return Err(KnowledgeError::SchemaVersion {
                found: file.schema_version,
                expected: SCHEMA_VERSION,
            });
        }
        for mirror in &file.matching.mirrors {
            super::validate::validate_mirror(mirror)?;
        }
        let mut base = KnowledgeBase::from_entries(file.images)?;
        base.mirrors = file.matching.mirrors;
        base.examples = file.matching.examples;
        Ok(base)
    }

    /// Builds a knowledge base from entries deserialised elsewhere (e.g. a user config file).
    pub(crate) fn from_entries(
        entries: impl IntoIterator<Item = (String, ImageEntry)>,
    ) -> Result<KnowledgeBase, KnowledgeError> {
        let mut map = IndexMap::default();
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
            map.insert(key, entry);
        }
        let mut base = KnowledgeBase {
            entries: Entries::Owned(map),
            ..KnowledgeBase::default()
        };
        base.rebuild_index();
        Ok(base)
    }

    /// Adds `other`'s entries and mirrors; its entries win over existing ones with the same key
    /// or the same repository (a repository moves to the new entry; an old entry left without
    /// repositories is dropped).
    pub(crate) fn extend(&mut self, other: KnowledgeBase) {
        let mut map = std::mem::take(&mut self.entries).into_owned();
        for (key, entry) in other.entries.into_owned() {
            map.shift_remove(&key);
            for old in map.values_mut() {
                old.repos.retain(|repo| !entry.repos.contains(repo));
            }
            map.retain(|_, old| !old.repos.is_empty());
            map.insert(key, entry);
        }
        self.entries = Entries::Owned(map);
        for mirror in other.mirrors {
            if !self.mirrors.contains(&mirror) {
                self.mirrors.push(mirror);
            }
        }
        self.examples.extend(other.examples);
        self.rebuild_index();
    }

    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        match &self.entries {
            Entries::Embedded(slots) => slots.len(),
            Entries::Owned(map) => map.len(),
        }
    }

    #[cfg(test)]
    pub(crate) fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Entry keys: sorted for a parsed file, then in the order `extend` added them.
    #[cfg(test)]
    pub(crate) fn keys(&self) -> impl Iterator<Item = &str> {
        (0..self.len()).filter_map(|index| self.entry(index).map(|(key, _)| key))
    }

    /// The raw entry (notes, category, command flags) for a key.
    pub(crate) fn get(&self, key: &str) -> Option<&ImageEntry> {
        let index = match &self.entries {
            Entries::Embedded(_) => BUILTIN_ENTRIES
                .binary_search_by(|(k, _, _)| (*k).cmp(key))
                .ok()?,
            Entries::Owned(map) => map.get_index_of(key)?,
        };
        self.entry(index).map(|(_, entry)| entry)
    }

    /// Facts for an image as written (`None` if it does not parse), as `lookup` gives them.
    pub fn lookup_str(
        &self,
        image: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<ImageFacts> {
        self.lookup(&parse_image_ref(image)?, env)
    }

    /// Facts for `image`; `env` gives the service's final environment (for `PGDATA` and the like).
    pub(crate) fn lookup(
        &self,
        image: &ImageRef,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Option<ImageFacts> {
        let (index, match_confidence) = self.find(&image.repository())?;
        let (key, entry) = self.entry(index)?;
        Some(resolve(key, entry, image, env, match_confidence))
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
        if let Entries::Embedded(_) = self.entries {
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
        if let Entries::Embedded(_) = self.entries {
            return BUILTIN_PATTERNS.iter().find_map(|&(p, i)| matches(p, i));
        }
        self.patterns.iter().find_map(|(p, i)| matches(p, *i))
    }

    fn rebuild_index(&mut self) {
        self.exact.clear();
        self.patterns.clear();
        // The embedded entries come with their tables (`BUILTIN_EXACT`, `BUILTIN_PATTERNS`).
        let Entries::Owned(map) = &self.entries else {
            return;
        };
        let mut repos = Vec::new();
        for (index, entry) in map.values().enumerate() {
            repos.extend(entry.repos.iter().map(|r| (r.clone(), index)));
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
        command_flags: entry.command_flags.iter().map(Setting::from).collect(),
        config_format: entry.config_format,
        config_paths: entry.config_paths.clone(),
        config_keys: entry.config_keys.iter().map(Setting::from).collect(),
        persistence: entry.persistence,
        workdir: entry.workdir.clone(),
        hostname_keyed: entry
            .hostname_keyed
            .as_ref()
            .filter(|h| {
                h.unless_env
                    .iter()
                    .all(|var| env(var).is_none_or(|v| v.is_empty()))
            })
            .map(|h| h.dir.clone()),
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
    // Cleaned as a rooted path: a data path is absolute, also under a Windows `WORKDIR`
    // (`C:\app`, which validation accepts) that this POSIX join does not understand.
    let mut joined = String::from("/");
    if !value.starts_with('/') {
        joined.push_str(workdir?);
        joined.push('/');
    }
    joined.push_str(value);
    if let Some(sub) = subpath {
        joined.push('/');
        joined.push_str(sub);
    }
    Some(clean_path(&joined))
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
pub(super) fn parse_dotted(s: &str) -> Option<Vec<u64>> {
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

impl Variant {
    pub(super) fn has_version_selector(&self) -> bool {
        self.major_min.is_some()
            || self.major_max.is_some()
            || self.version_min.is_some()
            || self.version_below.is_some()
    }

    pub(super) fn has_tag_selector(&self) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::{BUILTIN_TOML, parse_dockerfile};

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

    fn known(image: &str) -> bool {
        KnowledgeBase::builtin()
            .lookup_str(image, &no_env)
            .is_some()
    }

    #[test]
    fn builtin_matches_the_validated_toml() {
        let validated = KnowledgeBase::from_toml(BUILTIN_TOML).expect("built-in file validates");
        let builtin = KnowledgeBase::from_embedded();
        let entries = |base: &KnowledgeBase| -> Vec<(String, ImageEntry)> {
            (0..base.len())
                .filter_map(|index| base.entry(index))
                .map(|(k, entry)| (k.to_owned(), entry.clone()))
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
        assert!(matches!(builtin.entries, Entries::Embedded(_)));
        assert_eq!(exact, validated.exact);
        assert_eq!(patterns, validated.patterns);
        assert!(BUILTIN_EXACT.is_sorted_by(|a, b| a.0 < b.0));
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
