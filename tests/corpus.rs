//! Differential test against Docker Compose on the shared corpus: for every entry compose accepts,
//! stowage's mount table (kind, target, read-only, source) must equal compose's; for entries compose
//! rejects, stowage must report an error. Expected output: the corpus's `expected.jsonl` (tests/common, `corpus`), made
//! by docker compose v2.40.3 (see the corpus README for the environment it ran in).

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value as Json;
use stowage::compose::loader;
use stowage::compose::model::Project;
use stowage::compose::mounts::{self, MountKind};

mod common;
use common::oracle::{self, Row};

/// Entries whose difference from compose is understood; each line: `file<TAB>reason`.
fn allow_list() -> BTreeMap<String, String> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus-allow.tsv"),
    )
    .unwrap_or_default();
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('\t'))
        .map(|(f, r)| (f.to_owned(), r.to_owned()))
        .collect()
}

fn expected_rows(service: &Json, dir: &Path, corpus_files: &Path) -> Vec<Row> {
    let subst = |s: &str| {
        s.replace("<PROJECT_DIR>", &dir.display().to_string())
            .replace("<CORPUS>", &corpus_files.display().to_string())
    };
    let mut rows = Vec::new();
    for v in service["volumes"].as_array().into_iter().flatten() {
        let ty = v["type"].as_str().unwrap_or("");
        let source = v["source"].as_str().map(str::to_owned);
        let (kind, source) = match ty {
            "volume" if source.is_none() => ("anonymous".to_owned(), None),
            "volume" => ("named".to_owned(), source),
            // Discovery records were made without `source_resolved`; resolve them as compose does.
            "bind" => (
                "bind".to_owned(),
                v["source_resolved"].as_str().map(subst).or_else(|| {
                    source.map(|s| {
                        mounts::resolve_bind_source(&s, &dir.display().to_string(), oracle::HOME)
                    })
                }),
            ),
            other => (
                other.to_owned(),
                if other == "tmpfs" { None } else { source },
            ),
        };
        rows.push((
            kind,
            source,
            v["target"].as_str().unwrap_or("").to_owned(),
            v["read_only"].as_bool().unwrap_or(false),
        ));
    }
    for t in service["tmpfs"].as_array().into_iter().flatten() {
        let text = t.as_str().unwrap_or("");
        let target = text.split(':').next().unwrap_or(text);
        rows.push(("tmpfs-key".to_owned(), None, target.to_owned(), false));
    }
    rows
}

/// Stowage's rows of `service`. Source: the resolved host path for binds, nothing for anonymous
/// volumes and tmpfs, the source as written for the other kinds.
fn actual_rows(project: &Project, service: &str) -> Option<Vec<Row>> {
    oracle::mount_rows(project, service, |m| match m.kind {
        MountKind::Bind => m.resolved_source.clone(),
        MountKind::Anonymous | MountKind::Tmpfs => None,
        _ => m.source.clone(),
    })
}

struct Outcome {
    file: String,
    accepted: bool,
    /// None = agrees; Some(reason) = differs.
    difference: Option<String>,
}

fn check_entry(record: &Json, corpus_files: &Path) -> Outcome {
    let file = record["file"].as_str().unwrap_or("").to_owned();
    // Recorded with `--no-path-resolution`; `resolved_error` is what compose said when it
    // resolved paths, as `config` and `up` do (a bind without a source): that is a rejection.
    let accepted = record["ok"].as_bool().unwrap_or(false) && record["resolved_error"].is_null();
    let (dir, files) = if record["mode"].as_str() == Some("default-discovery") {
        let dir = corpus_files.join(&file);
        let files = record["files_present"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|f| f.as_str())
            .map(|f| dir.join(f))
            .collect();
        (dir, files)
    } else {
        let path = corpus_files.join(&file);
        (path.parent().unwrap().to_path_buf(), vec![path])
    };
    let project = loader::load(&oracle::load_options(&dir, files));
    if !accepted {
        let difference = (!project.is_rejected()).then(|| {
            format!(
                "compose rejects it ({}), stowage accepts it",
                record["error_class"].as_str().unwrap_or("?")
            )
        });
        return Outcome {
            file,
            accepted,
            difference,
        };
    }
    if project.is_rejected() {
        let errors: Vec<&str> = project.errors.iter().map(|e| e.message.as_str()).collect();
        return Outcome {
            file,
            accepted,
            difference: Some(format!("stowage rejects it: {}", errors.join(" | "))),
        };
    }
    let services = record["services"].as_object().cloned().unwrap_or_default();
    let mut problems = Vec::new();
    for (name, service) in &services {
        let expected = expected_rows(service, &dir, corpus_files);
        match actual_rows(&project, name) {
            None => problems.push(format!("service {name} missing")),
            Some(actual) if actual != expected => problems.push(format!(
                "service {name}: expected {expected:?}, got {actual:?}"
            )),
            Some(_) => {}
        }
    }
    for s in &project.services {
        if !services.contains_key(&s.name) {
            problems.push(format!("extra service {}", s.name));
        }
    }
    Outcome {
        file,
        accepted,
        difference: (!problems.is_empty()).then(|| problems.join("; ")),
    }
}

fn main() {
    common::corpus::main("corpus_parity_with_docker_compose", parity);
}

fn parity(corpus: &Path) {
    let text = std::fs::read_to_string(corpus.join("expected.jsonl")).expect("the corpus");
    let corpus_files = corpus.join("files").canonicalize().unwrap();
    let records: Vec<Json> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let outcomes: Vec<Outcome> = records
        .iter()
        .map(|r| check_entry(r, &corpus_files))
        .collect();
    let allow = allow_list();

    let accepted: Vec<&Outcome> = outcomes.iter().filter(|o| o.accepted).collect();
    let rejected: Vec<&Outcome> = outcomes.iter().filter(|o| !o.accepted).collect();
    let agree = accepted.iter().filter(|o| o.difference.is_none()).count();
    let reject_agree = rejected.iter().filter(|o| o.difference.is_none()).count();
    let parity = agree as f64 / accepted.len() as f64 * 100.0;
    println!(
        "accepted by compose: {} entries, same mount table: {agree} ({parity:.2}%)",
        accepted.len()
    );
    println!(
        "rejected by compose: {} entries, rejected by stowage: {reject_agree} ({:.2}%)",
        rejected.len(),
        reject_agree as f64 / rejected.len() as f64 * 100.0
    );

    let unexplained: Vec<&Outcome> = outcomes
        .iter()
        .filter(|o| o.difference.is_some() && !allow.contains_key(&o.file))
        .collect();
    for o in &unexplained {
        println!("DIFF {}: {}", o.file, o.difference.as_deref().unwrap_or(""));
    }
    let stale: Vec<&String> = allow
        .keys()
        .filter(|f| {
            !outcomes
                .iter()
                .any(|o| &o.file == *f && o.difference.is_some())
        })
        .collect();
    assert!(
        stale.is_empty(),
        "allow-list entries that now agree (remove them): {stale:?}"
    );
    assert!(
        unexplained.is_empty(),
        "{} entries differ from docker compose without an explanation in tests/corpus-allow.tsv",
        unexplained.len()
    );
    assert!(parity >= 99.5, "parity {parity:.2}% is below 99.5%");
}
