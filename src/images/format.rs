//! The knowledge-base file format (`data/stateful-images.toml` and user files): the serde types
//! of its tables and the errors that refuse a file. What the fields mean for a lookup is in
//! `knowledge`, what makes them valid in `validate`.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The only knowledge-base format version this code understands.
pub(crate) const SCHEMA_VERSION: i64 = 1;

/// How sure the knowledge base is about a fact (see the data file header).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Confidence {
    Low,
    Medium,
    High,
}

impl Confidence {
    pub(crate) fn as_str(self) -> &'static str {
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
pub(crate) struct ImageEntry {
    pub(crate) repos: Vec<String>,
    #[serde(default)]
    pub(crate) category: Option<String>,
    #[serde(default = "default_true")]
    pub(crate) stateful: bool,
    #[serde(default)]
    pub(crate) data_paths: Vec<String>,
    #[serde(default)]
    pub(crate) declares_volume: Option<bool>,
    #[serde(default)]
    pub(crate) volume_paths: Vec<String>,
    #[serde(default)]
    pub(crate) workdir: Option<String>,
    #[serde(default)]
    pub(crate) latest_major: Option<u64>,
    #[serde(default)]
    pub(crate) major_marker: Option<String>,
    #[serde(default)]
    pub(crate) env_overrides: Vec<EnvOverride>,
    #[serde(default)]
    pub(crate) command_flags: Vec<CommandFlag>,
    #[serde(default)]
    pub(crate) config_format: Option<ConfigFormat>,
    /// Configuration files the image reads without being told (absolute container paths).
    #[serde(default)]
    pub(crate) config_paths: Vec<String>,
    #[serde(default)]
    pub(crate) config_keys: Vec<ConfigKey>,
    #[serde(default)]
    pub(crate) persistence: Persistence,
    #[serde(default)]
    pub(crate) hostname_keyed: Option<HostnameKeyed>,
    #[serde(default)]
    pub(crate) variants: Vec<Variant>,
    #[serde(default)]
    pub(crate) note: Option<String>,
    #[serde(default)]
    pub(crate) sources: Vec<String>,
    #[serde(default = "default_confidence")]
    pub(crate) confidence: Confidence,
}

/// An environment variable that moves data (`env_overrides`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct EnvOverride {
    pub(crate) var: String,
    pub(crate) effect: EnvEffect,
    /// With `relocate`: only this data path moves (otherwise all of them).
    #[serde(default)]
    pub(crate) replaces: Option<String>,
    /// Appended to the value (`POSTGRESQL_VOLUME_DIR=/v` -> `/v/data`).
    #[serde(default)]
    pub(crate) subpath: Option<String>,
    /// The value is a list (`KAFKA_LOG_DIRS=/a,/b`).
    #[serde(default)]
    pub(crate) separator: Option<String>,
    #[serde(default)]
    pub(crate) note: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum EnvEffect {
    /// The value replaces the data path(s).
    Relocate,
    /// The value is one more data path.
    Add,
    /// Documented only.
    Info,
}

/// A command-line argument that moves the data or turns persistence on or off
/// (`command_flags`), read from the service's `entrypoint:` and `command:`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CommandFlag {
    /// `--dir` (its value is the next word or follows `=`), `-c data_directory` (two words, the
    /// value after `=`), or a subcommand such as `server` (its value is every word after it up to
    /// the next flag).
    pub(crate) flag: String,
    /// The rule applies only to this value (`--save ""`); any value when absent.
    #[serde(default)]
    pub(crate) value: Option<String>,
    #[serde(default)]
    pub(crate) effect: SettingEffect,
    /// With `relocate`: only this data path moves.
    #[serde(default)]
    pub(crate) replaces: Option<String>,
    /// Appended to the value.
    #[serde(default)]
    pub(crate) subpath: Option<String>,
    #[serde(default)]
    pub(crate) note: Option<String>,
}

/// A key of the image's configuration file that moves the data or turns persistence on or off
/// (`config_keys`), read from configuration files the project mounts.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ConfigKey {
    /// `dir` (redis), `datadir` (my.cnf), `storage.dbPath` (YAML: nested keys, or one key with
    /// dots as elasticsearch.yml writes it).
    pub(crate) key: String,
    #[serde(default)]
    pub(crate) value: Option<String>,
    #[serde(default)]
    pub(crate) effect: SettingEffect,
    #[serde(default)]
    pub(crate) replaces: Option<String>,
    #[serde(default)]
    pub(crate) subpath: Option<String>,
    #[serde(default)]
    pub(crate) note: Option<String>,
}

/// A `command_flags` or `config_keys` rule as lookups use it, one type for both: the setting it
/// is about (a flag, a key) and what a value of it does. The file has a serde type for each, as
/// `deny_unknown_fields` cannot take a flattened common part; each becomes one of these.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Setting {
    /// The flag or the key.
    pub(crate) name: String,
    pub(crate) value: Option<String>,
    pub(crate) effect: SettingEffect,
    pub(crate) replaces: Option<String>,
    pub(crate) subpath: Option<String>,
}

impl From<&CommandFlag> for Setting {
    fn from(rule: &CommandFlag) -> Setting {
        Setting {
            name: rule.flag.clone(),
            value: rule.value.clone(),
            effect: rule.effect,
            replaces: rule.replaces.clone(),
            subpath: rule.subpath.clone(),
        }
    }
}

impl From<&ConfigKey> for Setting {
    fn from(rule: &ConfigKey) -> Setting {
        Setting {
            name: rule.key.clone(),
            value: rule.value.clone(),
            effect: rule.effect,
            replaces: rule.replaces.clone(),
            subpath: rule.subpath.clone(),
        }
    }
}

/// What a command-line flag or configuration key does to the data.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum SettingEffect {
    /// The value replaces the data path(s).
    #[default]
    Relocate,
    /// The value is one more data path.
    Add,
    /// Persistence is off: nothing is written that must survive.
    Off,
    /// Persistence is asked for (what an `opt-in` image needs before its data counts).
    On,
}

/// How an image's configuration files are written (`config_format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ConfigFormat {
    /// `key value...` lines (redis.conf, valkey.conf).
    Redis,
    /// `key = value` lines, sections ignored (my.cnf, postgresql.conf, zoo.cfg, mosquitto.conf).
    Ini,
    /// YAML (mongod.conf, elasticsearch.yml, loki and tempo configuration).
    Yaml,
}

/// Whether the stack relies on the image's data by default (`persistence`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Persistence {
    /// A database and the like: its data is what it is for.
    #[default]
    Default,
    /// A cache or broker that can run without keeping anything (redis, valkey): its data counts
    /// only when the project asks for persistence (a flag or key with effect `on`, or a mount on
    /// the data path); otherwise a risk to it is reported as information.
    OptIn,
}

/// The image keeps its data in a directory named after the container's hostname
/// (`hostname_keyed`): a new container with a new hostname starts from an empty one.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct HostnameKeyed {
    /// How the directory is named, for messages (`rabbit@<hostname>`).
    pub(crate) dir: String,
    /// Environment variables that, when set, fix the name (`RABBITMQ_NODENAME`).
    #[serde(default)]
    pub(crate) unless_env: Vec<String>,
}

/// A tag-dependent layout. All its selectors must match; layout fields that are set replace the entry's.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Variant {
    pub(crate) tag_in: Option<Vec<String>>,
    pub(crate) tag_prefix: Option<String>,
    pub(crate) tag_suffix: Option<String>,
    pub(crate) tag_contains: Option<String>,
    pub(crate) major_min: Option<u64>,
    pub(crate) major_max: Option<u64>,
    pub(crate) version_min: Option<String>,
    pub(crate) version_below: Option<String>,
    pub(crate) data_paths: Option<Vec<String>>,
    pub(crate) declares_volume: Option<bool>,
    pub(crate) volume_paths: Option<Vec<String>>,
    pub(crate) env_overrides: Option<Vec<EnvOverride>>,
    pub(crate) confidence: Option<Confidence>,
    pub(crate) note: Option<String>,
}

/// A registry prefix that mirrors Docker Hub (`[matching] mirrors`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Mirror {
    pub(crate) prefix: String,
    pub(crate) replace: String,
}

/// A normalisation test case (`[matching] examples`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MatchingExample {
    pub(super) input: String,
    #[serde(default)]
    pub(super) interpolated: Option<String>,
    pub(super) repo: String,
    #[serde(default)]
    pub(super) tag: Option<String>,
    #[serde(default)]
    pub(super) digest: Option<String>,
    #[serde(default)]
    #[allow(dead_code)] // documentation for humans
    note: Option<String>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct MatchingSection {
    #[serde(default)]
    pub(super) mirrors: Vec<Mirror>,
    #[serde(default)]
    pub(super) examples: Vec<MatchingExample>,
}

/// A whole file; only the unit tests read one (the binary embeds the built-in file through
/// `build.rs`, and user entries come from the config file).
#[cfg(test)]
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct KnowledgeFile {
    pub(super) schema_version: i64,
    #[serde(default)]
    pub(super) matching: MatchingSection,
    #[serde(default)]
    pub(super) images: std::collections::BTreeMap<String, ImageEntry>,
}

/// Why a knowledge base was refused. The errors of a whole file (TOML, schema version,
/// `[matching]`) exist for the unit tests that read one (see `KnowledgeFile`).
#[derive(Debug, thiserror::Error)]
pub(crate) enum KnowledgeError {
    #[cfg(test)]
    #[error("knowledge base is not valid: {0}")]
    Toml(#[from] toml::de::Error),
    #[cfg(test)]
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
    #[cfg(test)]
    #[error("matching: {0}")]
    Matching(String),
}

#[cfg(test)]
mod tests {
    use crate::images::BUILTIN_TOML;

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
}
