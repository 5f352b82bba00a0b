//! `.stowage.yaml`: per-rule severity, `fail-on`, per-path ignores, extra stateful images and
//! migrate options. Found upward from a project's directory; every error has a position.

use std::borrow::Cow;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use foldhash::HashMap;
use globset::{Glob, GlobSet, GlobSetBuilder};

use crate::finding::Severity;
use crate::images::{self, ImageEntry, KnowledgeBase};
use crate::rules;
use crate::yaml::source::SourceFile;
use crate::yaml::syntax;
use crate::yaml::value::{self, Value, ValueKind};

pub(crate) const FILE_NAMES: [&str; 2] = [".stowage.yaml", ".stowage.yml"];

#[derive(Debug, Clone, Default)]
pub struct Config {
    /// The file it was read from (None: defaults).
    pub(crate) path: Option<PathBuf>,
    /// Rule id → severity (`None` = off), in file order.
    pub(crate) rules: Vec<(String, Option<Severity>)>,
    pub(crate) fail_on: Option<Severity>,
    pub(crate) ignores: Vec<PathIgnore>,
    /// Extra stateful images (same fields as the built-in knowledge base).
    pub(crate) images: Vec<(String, ImageEntry)>,
    pub(crate) migrate: MigrateOptions,
}

#[derive(Debug, Clone)]
pub(crate) struct PathIgnore {
    glob: GlobSet,
    /// Empty = every rule.
    pub(crate) rules: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct MigrateOptions {
    pub(crate) name_template: Option<String>,
    pub(crate) binds: Option<String>,
}

/// A configuration problem, with the file and 1-based position.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}:{line}:{column}: {message}")]
pub struct ConfigError {
    pub(crate) path: String,
    pub(crate) line: usize,
    pub(crate) column: usize,
    pub(crate) message: String,
}

impl PathIgnore {
    /// Whether a finding of `rule` in `path` (relative to the configuration's directory) is ignored.
    pub(crate) fn matches(&self, path: &Path, rule: &str) -> bool {
        self.glob.is_match(path) && (self.rules.is_empty() || self.rules.iter().any(|r| r == rule))
    }
}

impl Config {
    /// The directory paths in `ignores` are relative to.
    pub(crate) fn base_dir(&self) -> Option<&Path> {
        self.path.as_deref().and_then(Path::parent)
    }

    /// Whether a finding of `rule` in the file at absolute `path` is ignored by a path rule.
    pub(crate) fn ignores(&self, path: &Path, rule: &str) -> bool {
        let Some(base) = self.base_dir() else {
            return false;
        };
        let Ok(rel) = path.strip_prefix(base) else {
            return false;
        };
        self.ignores.iter().any(|i| i.matches(rel, rule))
    }

    /// The built-in knowledge base extended with the configured images: the one every command
    /// uses for the projects this configuration covers (borrowed when it adds nothing).
    pub(crate) fn knowledge_base(&self) -> Result<Cow<'static, KnowledgeBase>, String> {
        if self.images.is_empty() {
            return Ok(Cow::Borrowed(KnowledgeBase::builtin()));
        }
        let mut kb = KnowledgeBase::builtin().clone();
        let extra = KnowledgeBase::from_entries(self.images.clone()).map_err(|e| e.to_string())?;
        kb.extend(extra);
        Ok(Cow::Owned(kb))
    }
}

/// The nearest configuration file in `dir` or a parent directory. `known` remembers the answer
/// for every directory looked at, so that the projects of one repository share their parents'
/// lookups. It is shared by the threads checking projects side by side, and is locked only to
/// read or record answers: the file system is asked with the lock released (two threads may
/// then ask about one directory, and find the same answer).
pub(crate) fn find(
    dir: &Path,
    known: &Mutex<HashMap<PathBuf, Option<PathBuf>>>,
) -> Option<PathBuf> {
    let lock = || known.lock().unwrap_or_else(|e| e.into_inner());
    let mut unanswered = Vec::new();
    let mut d = Some(dir);
    let mut answer = None;
    while let Some(current) = d {
        if let Some(a) = lock().get(current) {
            answer = a.clone();
            break;
        }
        unanswered.push(current);
        if let Some(p) = FILE_NAMES
            .iter()
            .map(|name| current.join(name))
            .find(|p| p.is_file())
        {
            answer = Some(p);
            break;
        }
        d = current.parent();
    }
    let mut known = lock();
    for dir in unanswered {
        known.insert(dir.to_path_buf(), answer.clone());
    }
    answer
}

pub(crate) fn load(path: &Path) -> Result<Config, ConfigError> {
    let display = path.display().to_string();
    // As a compose file is read: a regular file of bounded size, never a FIFO or a device.
    let bytes = crate::yaml::source::read_file(path).map_err(|e| ConfigError {
        path: display.clone(),
        line: 1,
        column: 1,
        message: format!("cannot read the configuration: {e}"),
    })?;
    let text = SourceFile::decode(bytes).map_err(|e| ConfigError {
        path: display.clone(),
        line: 1,
        column: 1,
        message: e.to_string(),
    })?;
    let mut config = parse(&display, &text)?;
    config.path = Some(path.to_path_buf());
    Ok(config)
}

/// Parses configuration text; `display` names the file in errors.
pub fn parse(display: &str, text: &str) -> Result<Config, ConfigError> {
    let source = SourceFile::new(display, display, text);
    let err = |offset: usize, message: String| {
        let lc = source.line_col(offset);
        ConfigError {
            path: display.to_owned(),
            line: lc.line,
            column: lc.column,
            message,
        }
    };
    let tree = syntax::parse(text);
    if let Some(e) = &tree.error {
        return Err(err(e.offset, e.message.clone()));
    }
    let Some(root) = tree.documents.first().and_then(|d| d.root) else {
        return Ok(Config::default());
    };
    let mut errors = Vec::new();
    let Some(root) = value::from_document(&tree, text, 0, root, &mut errors) else {
        return Err(err(0, "the configuration is too large".into()));
    };
    if let Some(e) = errors.first() {
        return Err(err(e.loc.start, e.message.clone()));
    }
    let mut config = Config::default();
    let at = |v: &Value| v.loc.start;
    if root.is_null() {
        return Ok(config);
    }
    let Some(map) = root.as_map() else {
        return Err(err(at(&root), "the configuration must be a mapping".into()));
    };
    for (key, entry) in map {
        let v = &entry.value;
        match key.as_str() {
            "rules" => {
                let Some(rules_map) = v.as_map() else {
                    return Err(err(
                        at(v),
                        "`rules` must map rule ids to `error`, `warning`, `info` or `off`".into(),
                    ));
                };
                for (id, e) in rules_map {
                    if rules::find(id).is_none() {
                        return Err(err(
                            e.key_loc.start,
                            format!("unknown rule `{id}` (see `stowage rules`)"),
                        ));
                    }
                    let level = match e.value.as_str() {
                        Some("off") => None,
                        Some(s) => Some(Severity::parse(s).ok_or_else(|| err(at(&e.value), format!("`{s}` is not a severity: use `error`, `warning`, `info` or `off`")))?),
                        None if e.value.as_bool() == Some(false) => None,
                        None => return Err(err(at(&e.value), "use `error`, `warning`, `info` or `off`".into())),
                    };
                    config.rules.push((id.to_string(), level));
                }
            }
            "fail-on" => {
                let s = v.as_str().unwrap_or_default();
                config.fail_on = Some(Severity::parse(s).ok_or_else(|| {
                    err(
                        at(v),
                        format!("`fail-on` must be `error`, `warning` or `info`, not `{s}`"),
                    )
                })?);
            }
            "ignore" => {
                let Some(items) = v.as_seq() else {
                    return Err(err(
                        at(v),
                        "`ignore` must be a list of `{path: GLOB, rules: [...]}`".into(),
                    ));
                };
                for item in items {
                    config.ignores.push(parse_ignore(item, &err)?);
                }
            }
            "images" => {
                let Some(images_map) = v.as_map() else {
                    return Err(err(at(v), "`images` must map names to image facts".into()));
                };
                for (name, e) in images_map {
                    let mut json = to_json(&e.value);
                    normalise_repos(&mut json);
                    let entry: ImageEntry = serde_json::from_value(json)
                        .map_err(|x| err(at(&e.value), format!("image `{name}`: {x}")))?;
                    config.images.push((name.to_string(), entry));
                }
                KnowledgeBase::from_entries(config.images.clone())
                    .map_err(|x| err(at(v), x.to_string()))?;
            }
            "migrate" => {
                let Some(m) = v.as_map() else {
                    return Err(err(at(v), "`migrate` must be a mapping".into()));
                };
                for (k, e) in m {
                    match k.as_str() {
                        "name-template" => {
                            let Some(t) = e.value.as_str() else {
                                return Err(err(
                                    at(&e.value),
                                    "`name-template` must be a string".into(),
                                ));
                            };
                            crate::rules::convert::validate_template(t)
                                .map_err(|x| err(at(&e.value), x))?;
                            config.migrate.name_template = Some(t.to_owned());
                        }
                        "binds" => {
                            let s = e.value.as_str().unwrap_or_default();
                            if !matches!(s, "skip" | "volume" | "keep-path") {
                                return Err(err(
                                    at(&e.value),
                                    format!(
                                        "`binds` must be `skip`, `volume` or `keep-path`, not `{s}`"
                                    ),
                                ));
                            }
                            config.migrate.binds = Some(s.to_owned());
                        }
                        other => {
                            return Err(err(
                                e.key_loc.start,
                                format!(
                                    "unknown key `migrate.{other}` (expected `name-template` or `binds`)"
                                ),
                            ));
                        }
                    }
                }
            }
            other => {
                return Err(err(
                    entry.key_loc.start,
                    format!(
                        "unknown key `{other}` (expected `rules`, `fail-on`, `ignore`, `images` or `migrate`)"
                    ),
                ));
            }
        }
    }
    Ok(config)
}

fn parse_ignore(
    item: &Value,
    err: &dyn Fn(usize, String) -> ConfigError,
) -> Result<PathIgnore, ConfigError> {
    let Some(m) = item.as_map() else {
        return Err(err(
            item.loc.start,
            "an `ignore` entry is `{path: GLOB, rules: [...]}`".into(),
        ));
    };
    let mut pattern = None;
    let mut rule_ids = Vec::new();
    for (k, e) in m {
        match k.as_str() {
            "path" => pattern = e.value.as_str().map(|s| (s.to_owned(), e.value.loc)),
            "rules" => {
                let Some(items) = e.value.as_seq() else {
                    return Err(err(
                        e.value.loc.start,
                        "`rules` must be a list of rule ids".into(),
                    ));
                };
                for r in items {
                    let id = r.as_str().unwrap_or_default();
                    if rules::find(id).is_none() {
                        return Err(err(
                            r.loc.start,
                            format!("unknown rule `{id}` (see `stowage rules`)"),
                        ));
                    }
                    rule_ids.push(id.to_owned());
                }
            }
            other => {
                return Err(err(
                    e.key_loc.start,
                    format!(
                        "unknown key `{other}` in an `ignore` entry (expected `path` or `rules`)"
                    ),
                ));
            }
        }
    }
    let Some((pattern, loc)) = pattern else {
        return Err(err(
            item.loc.start,
            "an `ignore` entry needs a `path` glob".into(),
        ));
    };
    let glob = Glob::new(&pattern)
        .map_err(|e| err(loc.start, format!("invalid glob `{pattern}`: {}", e.kind())))?;
    let mut builder = GlobSetBuilder::new();
    builder.add(glob);
    let glob = builder.build().map_err(|e| err(loc.start, e.to_string()))?;
    Ok(PathIgnore {
        glob,
        rules: rule_ids,
    })
}

/// Values as JSON, for the image fields that deserialise with serde (scalars typed as YAML would).
fn to_json(v: &Value) -> serde_json::Value {
    match &v.kind {
        ValueKind::Null => serde_json::Value::Null,
        ValueKind::Scalar { text, plain } => {
            if *plain {
                if let Some(b) = v
                    .as_bool()
                    .filter(|_| matches!(text.as_str(), "true" | "false"))
                {
                    return serde_json::Value::Bool(b);
                }
                if let Ok(n) = text.parse::<u64>() {
                    return serde_json::Value::from(n);
                }
            }
            serde_json::Value::String(text.to_string())
        }
        ValueKind::Seq(items) => serde_json::Value::Array(items.iter().map(to_json).collect()),
        ValueKind::Map(m) => serde_json::Value::Object(
            m.iter()
                .map(|(k, e)| (k.to_string(), to_json(&e.value)))
                .collect(),
        ),
    }
}

/// Users write image names as they use them (`postgres`, `registry.example.com/db`); the knowledge
/// base matches normalised repositories.
fn normalise_repos(json: &mut serde_json::Value) {
    if let Some(repos) = json.get_mut("repos").and_then(|r| r.as_array_mut()) {
        for r in repos.iter_mut() {
            if let Some(s) = r.as_str()
                && let Some(parsed) = images::parse_image_ref(s)
            {
                *r = serde_json::Value::String(parsed.repository());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_section() {
        let c = parse(
            ".stowage.yaml",
            "rules:\n  bind-mount: warning\n  implicit-volume: off\nfail-on: error\nignore:\n  - path: \"legacy/**\"\n    rules: [bind-mount]\nimages:\n  team-db:\n    repos: [registry.example.com/team/db]\n    data_paths: [/data]\n    volume_paths: [/data]\nmigrate:\n  name-template: \"{service}-{basename}\"\n  binds: volume\n",
        )
        .unwrap();
        assert_eq!(
            c.rules,
            vec![
                ("bind-mount".into(), Some(Severity::Warning)),
                ("implicit-volume".into(), None)
            ]
        );
        assert_eq!(c.fail_on, Some(Severity::Error));
        assert!(c.ignores[0].matches(Path::new("legacy/a/compose.yaml"), "bind-mount"));
        assert!(!c.ignores[0].matches(Path::new("legacy/a/compose.yaml"), "anonymous-volume"));
        assert_eq!(
            c.images[0].1.repos,
            vec!["registry.example.com/team/db".to_owned()]
        );
        assert_eq!(c.migrate.binds.as_deref(), Some("volume"));
    }

    #[test]
    fn errors_have_positions() {
        let e = parse("c.yaml", "rules:\n  no-such-rule: warning\n").unwrap_err();
        assert_eq!((e.line, e.column), (2, 3));
        let e = parse("c.yaml", "fail-on: loud\n").unwrap_err();
        assert_eq!((e.line, e.column), (1, 10));
        let e = parse("c.yaml", "colour: red\n").unwrap_err();
        assert!(e.message.contains("unknown key `colour`"));
    }
}
