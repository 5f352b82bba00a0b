//! Where a service's own configuration puts its data, and whether it keeps any: the knowledge
//! base's rules for an image (`command_flags`, `config_keys`, `persistence`) applied to the
//! service's `entrypoint:` and `command:` words and to the configuration files the project mounts
//! into it; and whether the service runs the image's server at all (a one-off job that another
//! service waits for keeps nothing).

use std::path::{Path, PathBuf};

use crate::compose::model::{Project, Service};
use crate::compose::mounts::{self, MountKind};
use crate::images::{ConfigFormat, ImageFacts, Persistence, Setting, SettingEffect};
use crate::yaml::value::{Value, ValueKind};
use crate::yaml::{syntax, value};

/// Configuration files are read up to this size: real ones are a few kilobytes.
const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// What a service does with the data its image keeps.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Role {
    /// It runs the image's server, and its data counts.
    Server,
    /// Persistence is switched off (the reason names the setting): nothing to keep.
    PersistenceOff(String),
    /// An image whose data counts only when asked for (a cache), and nothing asks for it: a
    /// risk to it is information.
    NotAskedFor,
    /// It runs to completion (the reason says why it is taken for a job), not as the server.
    Job(String),
}

/// Where the service keeps its data after everything that decides it.
#[derive(Debug, Clone)]
pub(crate) struct Placement {
    /// Data paths: the image's (tag and environment applied), then moved by the configuration.
    pub(crate) paths: Vec<String>,
    /// What moved them (`` `--dir` in `command:` ``), for messages.
    pub(crate) moved_by: Option<String>,
    pub(crate) role: Role,
}

/// One value the configuration gives a setting, and where it was read.
struct Found {
    value: String,
    effect: SettingEffect,
    replaces: Option<String>,
    subpath: Option<String>,
    origin: String,
}

/// Which service waits for which to complete (`service_completed_successfully`), built once per
/// project: the waited-for service's name, and the first service waiting for it.
pub(crate) fn waits(project: &Project) -> foldhash::HashMap<&str, &str> {
    let mut out = foldhash::HashMap::default();
    for s in &project.services {
        for awaited in &s.awaits_completion_of {
            out.entry(awaited.as_str()).or_insert(s.name.as_str());
        }
    }
    out
}

pub(crate) fn place(
    project: &Project,
    waits: &foldhash::HashMap<&str, &str>,
    service: &Service,
    facts: &ImageFacts,
) -> Placement {
    let mut placement = Placement {
        paths: facts.data_paths.clone(),
        moved_by: facts.relocated_by.as_ref().map(|v| format!("`{v}`")),
        role: Role::Server,
    };
    if let Some(reason) = job(waits, service) {
        placement.role = Role::Job(reason);
        return placement;
    }
    // Only an image with argument or configuration-file rules reads the words.
    let words = if facts.command_flags.is_empty() && facts.config_format.is_none() {
        Vec::new()
    } else {
        words(service)
    };
    let mut found = config_settings(project, service, facts, &words);
    found.extend(flag_settings(facts, &words));

    let mut moved: Vec<String> = Vec::new();
    let mut off: Option<String> = None;
    let mut asked = false;
    for f in found {
        match f.effect {
            SettingEffect::Off => {
                off.get_or_insert(f.origin);
            }
            SettingEffect::On => asked = true,
            SettingEffect::Relocate | SettingEffect::Add => {
                let values: Vec<String> = f
                    .value
                    .split_whitespace()
                    .filter_map(|v| {
                        container_path(v, facts.workdir.as_deref(), f.subpath.as_deref())
                    })
                    .collect();
                if values.is_empty() {
                    continue;
                }
                match (f.effect, &f.replaces) {
                    (SettingEffect::Add, _) => placement.paths.extend(values),
                    (_, Some(replaced)) => {
                        if let Some(pos) = placement.paths.iter().position(|p| p == replaced) {
                            placement.paths.splice(pos..=pos, values);
                        }
                    }
                    _ => placement.paths = values,
                }
                if !moved.contains(&f.origin) {
                    moved.push(f.origin);
                }
            }
        }
    }
    placement.paths.dedup();
    if !moved.is_empty() {
        placement.moved_by = Some(moved.join(", "));
    }
    placement.role = match off {
        Some(setting) if !asked => Role::PersistenceOff(setting),
        _ if facts.persistence == Persistence::OptIn
            && !asked
            && !mounted_on_data(service, &placement.paths) =>
        {
            Role::NotAskedFor
        }
        _ => Role::Server,
    };
    placement
}

/// Why the service is a one-off job rather than the image's server, if it is one: another
/// service waits for it to complete, or it replaces the image's entrypoint with a shell and is
/// not restarted.
fn job(waits: &foldhash::HashMap<&str, &str>, service: &Service) -> Option<String> {
    if let Some(waiter) = waits.get(service.name.as_str()) {
        return Some(format!(
            "`{waiter}` waits for it to complete (`service_completed_successfully`)"
        ));
    }
    let entrypoint = service.entrypoint.as_deref().map(shell_words)?;
    let no_restart = matches!(service.restart.as_deref(), Some("no" | "on-failure"))
        || service
            .restart
            .as_deref()
            .is_some_and(|r| r.starts_with("on-failure:"));
    (entrypoint.first().is_some_and(|w| is_shell(w)) && no_restart)
        .then(|| "its `entrypoint:` runs a shell and it is not restarted".to_owned())
}

fn is_shell(word: &str) -> bool {
    let name = word.rsplit('/').next().unwrap_or(word);
    matches!(name, "sh" | "bash" | "ash" | "dash" | "zsh")
}

/// The words of `entrypoint:` then `command:`, and the words of a script given to a shell with
/// `-c` (`sh -c "redis-server --save ''"`), as the shell would split them.
fn words(service: &Service) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for text in [&service.entrypoint, &service.command]
        .into_iter()
        .flatten()
    {
        out.extend(shell_words(text));
    }
    let scripts: Vec<String> = out
        .windows(2)
        .filter(|w| w[0] == "-c")
        .map(|w| w[1].clone())
        .collect();
    for script in scripts {
        out.extend(shell_words(&script));
    }
    out
}

/// Splits like a POSIX shell without expanding anything: quotes group and disappear (`''` is an
/// empty word), a backslash escapes outside single quotes, `;`, `&` and `|` end a word.
pub(crate) fn shell_words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for c in chars.by_ref() {
                    if c == '\'' {
                        break;
                    }
                    word.push(c);
                }
            }
            '"' => {
                in_word = true;
                while let Some(c) = chars.next() {
                    match c {
                        '"' => break,
                        '\\' => word.extend(chars.next()),
                        _ => word.push(c),
                    }
                }
            }
            '\\' => {
                in_word = true;
                word.extend(chars.next());
            }
            c if c.is_whitespace() || matches!(c, ';' | '&' | '|') => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        out.push(word);
    }
    out
}

/// The values the words give the image's `command_flags`.
fn flag_settings(facts: &ImageFacts, words: &[String]) -> Vec<Found> {
    settings(
        &facts.command_flags,
        |flag| flag_values(flag, words),
        |flag| format!("`{flag}` in `command:`"),
    )
}

/// What the settings named in `rules` are given: `values` finds the values of one name, each
/// read by the first rule of that name whose `value` matches (`--save ""` before `--save`);
/// `origin` says where, for messages.
fn settings(
    rules: &[Setting],
    mut values: impl FnMut(&str) -> Vec<String>,
    origin: impl Fn(&str) -> String,
) -> Vec<Found> {
    let mut names: Vec<&str> = Vec::new();
    for rule in rules {
        if !names.contains(&rule.name.as_str()) {
            names.push(&rule.name);
        }
    }
    let mut out = Vec::new();
    for name in names {
        for value in values(name) {
            let Some(rule) = rules
                .iter()
                .find(|r| r.name == name && r.value.as_ref().is_none_or(|v| *v == value))
            else {
                continue;
            };
            out.push(Found {
                value,
                effect: rule.effect,
                replaces: rule.replaces.clone(),
                subpath: rule.subpath.clone(),
                origin: origin(name),
            });
        }
    }
    out
}

/// Every value `flag` gets in `words`: `--dir /x`, `--dir=/x`, `-c data_directory=/x` (a flag of
/// two words), or the words after a subcommand up to the next flag (`server /a /b`).
fn flag_values(flag: &str, words: &[String]) -> Vec<String> {
    let mut out = Vec::new();
    let parts: Vec<&str> = flag.split_whitespace().collect();
    for (i, word) in words.iter().enumerate() {
        match parts.as_slice() {
            [one] if one.starts_with('-') => {
                if word == one {
                    out.extend(words.get(i + 1).cloned());
                } else if let Some(v) = word.strip_prefix(one).and_then(|r| r.strip_prefix('=')) {
                    out.push(v.to_owned());
                }
            }
            // A subcommand: present even without a value (`weed s3 -filer=...`).
            [sub] if word == sub => {
                let rest: Vec<&str> = words[i + 1..]
                    .iter()
                    .take_while(|w| !w.starts_with('-'))
                    .map(String::as_str)
                    .collect();
                out.push(rest.join(" "));
            }
            [first, second] if word == first => {
                let Some(next) = words.get(i + 1) else {
                    continue;
                };
                if next == second {
                    out.extend(words.get(i + 2).cloned());
                } else if let Some(v) = next.strip_prefix(second).and_then(|r| r.strip_prefix('='))
                {
                    out.push(v.to_owned());
                }
            }
            _ => {}
        }
    }
    out
}

/// The values the configuration files the project mounts give the image's `config_keys`.
fn config_settings(
    project: &Project,
    service: &Service,
    facts: &ImageFacts,
    words: &[String],
) -> Vec<Found> {
    let Some(format) = facts.config_format else {
        return Vec::new();
    };
    let mut candidates: Vec<String> = facts.config_paths.clone();
    for word in words {
        let path = word.rsplit_once('=').map_or(word.as_str(), |(_, v)| v);
        if path.starts_with('/') && !candidates.iter().any(|c| c == path) {
            candidates.push(path.to_owned());
        }
    }
    let mut out = Vec::new();
    for path in candidates {
        let Some(host) = host_file(service, &path) else {
            continue;
        };
        let Some(text) = read_config(&host) else {
            continue;
        };
        let shown = host.strip_prefix(&project.directory).map_or_else(
            |_| host.display().to_string(),
            |p| format!("./{}", p.display()),
        );
        out.extend(settings(
            &facts.config_keys,
            |key| config_value(format, &text, key).into_iter().collect(),
            |key| format!("`{key}` in `{shown}`"),
        ));
    }
    out
}

/// The host file a bind mount of the service puts at container path `path`.
fn host_file(service: &Service, path: &str) -> Option<PathBuf> {
    let mount = service
        .mounts
        .iter()
        .filter(|m| m.kind == MountKind::Bind && crate::analysis::covers(&m.target, path))
        .max_by_key(|m| m.target.len())?;
    let source = PathBuf::from(mount.resolved_source.as_deref()?);
    let rest = path[mount.target.len()..].trim_start_matches('/');
    Some(if rest.is_empty() {
        source
    } else {
        source.join(rest)
    })
}

fn read_config(path: &Path) -> Option<String> {
    let meta = std::fs::metadata(path).ok()?;
    if !meta.is_file() || meta.len() > MAX_CONFIG_BYTES {
        return None;
    }
    String::from_utf8(std::fs::read(path).ok()?).ok()
}

/// The value of `key` in a configuration text; the last one written wins, as for the programs
/// that read these files.
fn config_value(format: ConfigFormat, text: &str, key: &str) -> Option<String> {
    match format {
        ConfigFormat::Redis => text.lines().rev().find_map(|line| {
            let words = shell_words(line.trim());
            (words.first()? == key).then(|| words[1..].join(" "))
        }),
        ConfigFormat::Ini => text.lines().rev().find_map(|line| {
            let line = line.trim();
            if line.starts_with(['#', ';', '[']) {
                return None;
            }
            let (k, v) = line.split_once('=')?;
            let k = k.trim();
            (k == key || k.replace('-', "_") == key.replace('-', "_")).then(|| {
                let v = v.split_once(" #").map_or(v, |(v, _)| v).trim();
                v.trim_matches(['"', '\'']).to_owned()
            })
        }),
        ConfigFormat::Yaml => {
            let tree = syntax::parse(text);
            let root = tree.documents.first()?.root?;
            let value = value::from_document(&tree, text, 0, root, &mut Vec::new())?;
            yaml_value(&value, key)
        }
    }
}

/// A dotted key in YAML: nested mappings (`storage: {dbPath: /x}`), or a key written with its
/// dots (`path.data: /x`), or any mix of the two.
fn yaml_value(value: &Value, key: &str) -> Option<String> {
    let map = value.as_map()?;
    if let Some(entry) = map.get(key) {
        return match &entry.value.kind {
            ValueKind::Scalar { text, .. } => Some(text.to_string()),
            _ => None,
        };
    }
    key.match_indices('.').find_map(|(at, _)| {
        let inner = map.get(&key[..at])?;
        yaml_value(&inner.value, &key[at + 1..])
    })
}

/// A container path from a setting's value: absolute, or relative to the image `WORKDIR`.
fn container_path(value: &str, workdir: Option<&str>, subpath: Option<&str>) -> Option<String> {
    if value.is_empty() || value.contains('$') {
        return None;
    }
    let joined = if value.starts_with('/') {
        value.to_owned()
    } else {
        format!("{}/{value}", workdir?)
    };
    let full = match subpath {
        Some(sub) => format!("{joined}/{sub}"),
        None => joined,
    };
    Some(mounts::clean_path(&full))
}

/// Whether a mount sits on a data path (or holds it): the project asked for its data to be kept.
fn mounted_on_data(service: &Service, paths: &[String]) -> bool {
    service.mounts.iter().any(|m| {
        !matches!(m.kind, MountKind::Tmpfs)
            && paths.iter().any(|p| crate::analysis::covers(&m.target, p))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_a_shell() {
        assert_eq!(
            shell_words(r#"redis-server --save '' --dir "/a b" x\ y;z"#),
            ["redis-server", "--save", "", "--dir", "/a b", "x y", "z"]
        );
    }

    #[test]
    fn flag_values_in_every_spelling() {
        let w = |s: &str| shell_words(s);
        assert_eq!(
            flag_values("--dir", &w("x --dir /a --dir=/b")),
            ["/a", "/b"]
        );
        assert_eq!(
            flag_values("server", &w("minio server /a /b --console :9001")),
            ["/a /b"]
        );
        assert_eq!(
            flag_values(
                "-c data_directory",
                &w("postgres -c data_directory=/pg -c x=1")
            ),
            ["/pg"]
        );
        assert_eq!(flag_values("-E path.data", &w("-E path.data=/es")), ["/es"]);
        assert!(flag_values("--dir", &w("--dirs /a")).is_empty());
        assert_eq!(flag_values("s3", &w("weed s3 -filer=f:8888")), [""]);
    }

    #[test]
    fn configuration_values_by_format() {
        let redis = "# comment\ndir /data/redis\nsave \"\"\nappendonly no\n";
        assert_eq!(
            config_value(ConfigFormat::Redis, redis, "dir").as_deref(),
            Some("/data/redis")
        );
        assert_eq!(
            config_value(ConfigFormat::Redis, redis, "save").as_deref(),
            Some("")
        );
        let cnf = "[mysqld]\ndatadir = /srv/mysql # here\n";
        assert_eq!(
            config_value(ConfigFormat::Ini, cnf, "datadir").as_deref(),
            Some("/srv/mysql")
        );
        let yaml = "common:\n  path_prefix: /loki\npath.data: /es\nstorage:\n  dbPath: /m\n";
        assert_eq!(
            config_value(ConfigFormat::Yaml, yaml, "common.path_prefix").as_deref(),
            Some("/loki")
        );
        assert_eq!(
            config_value(ConfigFormat::Yaml, yaml, "path.data").as_deref(),
            Some("/es")
        );
        assert_eq!(
            config_value(ConfigFormat::Yaml, yaml, "storage.dbPath").as_deref(),
            Some("/m")
        );
    }
}
