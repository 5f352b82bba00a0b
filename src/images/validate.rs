//! Validation of a knowledge base as it is read: normalised repositories, clean container paths,
//! well-formed variants, env overrides and mirrors. Lookups rely on it and check nothing again.

use super::format::{EnvEffect, EnvOverride, ImageEntry, KnowledgeError};
use super::knowledge::parse_dotted;
use super::reference::{DEFAULT_DOMAIN, parse_image_ref};
use crate::compose::mounts::clean_path;

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
    path == "/" || (path.starts_with('/') && clean_path(path) == path)
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

pub(super) fn validate_entry(key: &str, entry: &ImageEntry) -> Result<(), KnowledgeError> {
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
        .find(|f| f.flag.trim().is_empty() || f.flag.contains(['=', '\n']))
    {
        return Err(entry_error(
            key,
            format!("command flag `{}` is empty or holds `=`", flag.flag),
        ));
    }
    validate_paths(key, "config_paths", &entry.config_paths)?;
    if !entry.config_keys.is_empty() && entry.config_format.is_none() {
        return Err(entry_error(key, "`config_keys` needs a `config_format`"));
    }
    if let Some(k) = entry.config_keys.iter().find(|k| k.key.trim().is_empty()) {
        return Err(entry_error(key, format!("config key `{}` is empty", k.key)));
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

#[cfg(test)]
pub(super) fn validate_mirror(mirror: &super::format::Mirror) -> Result<(), KnowledgeError> {
    if mirror.prefix.is_empty() || !mirror.prefix.ends_with('/') || !mirror.replace.ends_with('/') {
        return Err(KnowledgeError::Matching(format!(
            "mirror `{}` -> `{}`: both must end with `/`",
            mirror.prefix, mirror.replace
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images::{BUILTIN_TOML, KnowledgeBase};

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
            (format!("{entry}command_flags = [{{ flag = \"--dir=x\" }}]"), "holds `=`"),
            (
                format!("{entry}config_keys = [{{ key = \"dir\" }}]"),
                "needs a `config_format`",
            ),
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
}
