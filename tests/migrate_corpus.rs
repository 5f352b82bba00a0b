//! `stowage migrate --write --binds volume` over every corpus entry Docker Compose accepts, on a
//! copy of the corpus: the result must load (in stowage, and in docker compose itself when
//! `STOWAGE_ORACLE` is set) with the same services and every target still mounted, with no
//! anonymous volume left among the converted mounts; every comment line of the original must
//! still be there; and a second migration must change nothing.

use std::collections::BTreeSet;
use std::path::Path;

use indexmap::IndexMap;
use serde_json::Value as Json;
use stowage::analysis;
use stowage::compose::loader;
use stowage::compose::model::MountSyntax;
use stowage::compose::mounts::MountKind;
use stowage::fix::migrate;
use stowage::fix::write::atomic_write;
use stowage::images::KnowledgeBase;
use stowage::rules::convert::{BindStrategy, FixSettings};

mod common;
use common::oracle;

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap().flatten() {
        let target = to.join(entry.file_name());
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            copy_tree(&entry.path(), &target);
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).unwrap();
            // The shared corpus is read-only; the copy must be writable.
            let mut perms = std::fs::metadata(&target).unwrap().permissions();
            #[allow(clippy::permissions_set_readonly_false)]
            perms.set_readonly(false);
            std::fs::set_permissions(&target, perms).unwrap();
        }
    }
}

/// Per service: every mounted target, and the targets that are anonymous volumes.
type ServiceTargets = IndexMap<String, (BTreeSet<String>, BTreeSet<String>)>;

/// Docker Compose's own view of a project: service → mounted targets and anonymous targets.
fn compose_mounts(oracle: &Path, dir: &Path, file: &Path) -> Result<ServiceTargets, String> {
    let out = oracle::config_command(oracle, dir, &[file.to_path_buf()])
        .output()
        .map_err(|e| e.to_string())?;
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).trim().to_owned());
    }
    let doc: Json = serde_json::from_slice(&out.stdout).map_err(|e| e.to_string())?;
    let mut services = IndexMap::new();
    for (name, s) in doc["services"].as_object().cloned().unwrap_or_default() {
        let mut targets = BTreeSet::new();
        let mut anonymous = BTreeSet::new();
        for v in s["volumes"].as_array().into_iter().flatten() {
            let target = v["target"].as_str().unwrap_or("").to_owned();
            if v["type"] == "volume" && v["source"].is_null() {
                anonymous.insert(target.clone());
            }
            targets.insert(target);
        }
        for t in s["tmpfs"].as_array().into_iter().flatten() {
            targets.insert(
                t.as_str()
                    .unwrap_or("")
                    .split(':')
                    .next()
                    .unwrap_or("")
                    .to_owned(),
            );
        }
        services.insert(name, (targets, anonymous));
    }
    Ok(services)
}

fn comment_lines(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

fn main() {
    common::corpus::main(
        "migrate_every_accepted_corpus_entry",
        migrate_every_accepted_entry,
    );
}

fn migrate_every_accepted_entry(corpus: &Path) {
    let expected =
        std::fs::read_to_string(corpus.join("expected.jsonl")).expect("the shared corpus");
    let oracle = oracle::installed();
    if oracle.is_none() {
        println!(
            "note: STOWAGE_ORACLE is not set; checking migrated files with stowage's loader only"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("files");
    copy_tree(&corpus.join("files"), &root);
    let kb = KnowledgeBase::builtin();
    let (mut entries, mut migrated, mut files_changed, mut conversions) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for line in expected.lines() {
        let record: Json = serde_json::from_str(line).unwrap();
        if record["ok"] != true || record["mode"] == "default-discovery" {
            continue;
        }
        entries += 1;
        let rel = record["file"].as_str().unwrap();
        let file = root.join(rel);
        let dir = file.parent().unwrap().to_path_buf();
        let opts = oracle::load_options(&dir, vec![file.clone()]);
        let before = loader::load(&opts);
        let before_mounts = analysis::analyse(&before, kb);
        let before_compose = oracle.as_deref().map(|o| compose_mounts(o, &dir, &file));
        let fixes = FixSettings {
            binds: BindStrategy::Volume,
            ..FixSettings::default()
        };
        let m = match migrate::migrate_project(&opts, &before, &before_mounts, kb, fixes.clone()) {
            Ok(m) => m,
            Err(e) => {
                failures.push(format!("{rel}: {e}"));
                continue;
            }
        };
        if m.outcome.files.is_empty() {
            continue;
        }
        migrated += 1;
        files_changed += m.outcome.files.len();
        conversions += m.conversions.len();
        for f in &m.outcome.files {
            atomic_write(&f.path, &f.original, &f.fixed).unwrap();
            let kept = comment_lines(&f.fixed);
            if let Some(lost) = comment_lines(&f.original)
                .into_iter()
                .find(|c| !kept.contains(c))
            {
                failures.push(format!("{rel}: comment line lost: {lost}"));
            }
        }
        let after = loader::load(&opts);
        if after.is_rejected() {
            failures.push(format!(
                "{rel}: stowage rejects the migrated project: {:?}",
                after.errors.iter().map(|e| &e.message).collect::<Vec<_>>()
            ));
        }
        for c in &m.conversions {
            let service = after.services.iter().find(|s| s.name == c.service);
            let mount = service.and_then(|s| {
                s.mounts
                    .iter()
                    .find(|x| x.target == c.target && x.syntax != MountSyntax::Implicit)
            });
            if mount.map(|x| x.kind) != Some(MountKind::Named) {
                failures.push(format!(
                    "{rel}: {} {} is not a named volume after migration",
                    c.service, c.target
                ));
            }
        }
        if let (Some(oracle), Some(Ok(before_compose))) = (oracle.as_deref(), before_compose) {
            match compose_mounts(oracle, &dir, &file) {
                Err(e) => failures.push(format!(
                    "{rel}: docker compose rejects the migrated project: {e}"
                )),
                Ok(now) => {
                    let names: Vec<&String> = before_compose.keys().collect();
                    if names != now.keys().collect::<Vec<_>>() {
                        failures.push(format!("{rel}: services changed"));
                    }
                    for (name, (targets, _)) in &before_compose {
                        let (after_targets, anonymous) = now.get(name).cloned().unwrap_or_default();
                        if let Some(t) = targets.iter().find(|t| !after_targets.contains(*t)) {
                            failures.push(format!("{rel}: {name} no longer mounts {t}"));
                        }
                        for c in m.conversions.iter().filter(|c| &c.service == name) {
                            if anonymous.contains(&c.target) {
                                failures.push(format!(
                                    "{rel}: {name} {} is still an anonymous volume for compose",
                                    c.target
                                ));
                            }
                        }
                    }
                }
            }
        }
        // A second migration of the migrated files changes nothing.
        let again_mounts = analysis::analyse(&after, kb);
        match migrate::migrate_project(&opts, &after, &again_mounts, kb, fixes) {
            Ok(again) if !again.outcome.files.is_empty() => failures.push(format!(
                "{rel}: a second migration changes {}",
                again.outcome.files[0].display
            )),
            Err(e) => failures.push(format!("{rel}: second run: {e}")),
            Ok(_) => {}
        }
        // Later entries may share these files (includes, extends): put them back.
        for f in &m.outcome.files {
            std::fs::write(&f.path, f.original.as_bytes()).unwrap();
        }
    }
    println!(
        "accepted entries: {entries}; migrated: {migrated} ({files_changed} files, {conversions} mounts converted); failures: {}",
        failures.len()
    );
    for f in &failures {
        println!("FAIL {f}");
    }
    assert!(
        entries > 1000,
        "the corpus has fewer accepted entries than expected: {entries}"
    );
    assert!(
        failures.is_empty(),
        "{} corpus entries failed the migration checks",
        failures.len()
    );
}
