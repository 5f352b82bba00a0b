//! The schema interpreter (src/compose/schema) held to jsonschema, the validator it replaced: on
//! every document of the shared corpus (ignored, with the reason, without it) and on the
//! documents of the differential test's generator, both must give the same verdict and the same
//! errors (the most specific cause of each, at the same path, in the same order); and on variants
//! of the corpus documents changed at random (a scalar, a type, a key more or less). The
//! document both see is the JSON the interpreter's typed document converts to.

use std::path::Path;
use std::sync::OnceLock;

use jsonschema::error::{TypeKind, ValidationErrorKind};
use jsonschema::paths::LocationSegment;
use jsonschema::{Draft, ValidationError, Validator};
use libtest_mimic::{Arguments, Completion, Trial};
use serde_json::Value as Json;
use stowage::yaml::value::{Entry, Value, ValueKind};
use stowage::yaml::{syntax, value};

mod common;
use common::generate::{Rng, generate};

const SCHEMA: &str = include_str!("../data/compose-spec.json");
/// Generated projects (a few files each); `STOWAGE_DIFF_SEED` and `STOWAGE_DIFF_COUNT` as in
/// tests/differential.rs.
const DEFAULT_COUNT: u64 = 3000;
const DEFAULT_SEED: u64 = 0x5707_a6e5;
/// Changed variants of each corpus document.
const MUTANTS: usize = 8;

fn validator() -> &'static Validator {
    static VALIDATOR: OnceLock<Validator> = OnceLock::new();
    VALIDATOR.get_or_init(|| {
        let schema: Json = serde_json::from_str(SCHEMA).expect("the vendored schema is JSON");
        jsonschema::options()
            .with_draft(Draft::Draft7)
            .build(&schema)
            .expect("the vendored schema compiles")
    })
}

/// compose-go `getMostSpecificError` over jsonschema's errors (what stowage did with them).
fn most_specific<'e>(error: &'e ValidationError<'e>) -> &'e ValidationError<'e> {
    let context = match error.kind() {
        ValidationErrorKind::AnyOf { context } | ValidationErrorKind::OneOfNotValid { context } => {
            context
        }
        _ => return error,
    };
    let mut best: Option<(usize, &ValidationError<'_>)> = None;
    for cause in context.iter().flatten() {
        let cause = most_specific(cause);
        let depth = cause.instance_path().iter().count()
            + usize::from(matches!(
                cause.kind(),
                ValidationErrorKind::AdditionalProperties { .. }
            ));
        if best.is_none_or(|(d, _)| depth > d) {
            best = Some((depth, cause));
        }
    }
    best.map_or(error, |(_, e)| e)
}

fn human_types(kind: &TypeKind) -> String {
    let name = |t: &dyn std::fmt::Display| match t.to_string().as_str() {
        "object" => "mapping".to_owned(),
        other => other.to_owned(),
    };
    let mut names: Vec<String> = match kind {
        TypeKind::Single(t) => vec![name(t)],
        TypeKind::Multiple(set) => set.iter().map(|t| name(&t)).collect(),
    };
    names.sort();
    match names.split_last() {
        Some((last, rest)) if !rest.is_empty() => format!("{} or {last}", rest.join(", ")),
        _ => names.concat(),
    }
}

/// jsonschema's errors on `json`, described as `differential` describes the interpreter's.
fn reference(json: &Json) -> (bool, Vec<String>) {
    let mut out = Vec::new();
    for error in validator().iter_errors(json) {
        let error = most_specific(&error);
        let path: Vec<String> = error
            .instance_path()
            .iter()
            .map(|s| match s {
                LocationSegment::Property(p) => p.to_string(),
                LocationSegment::Index(i) => i.to_string(),
            })
            .collect();
        let path = path.join(".");
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected } => {
                for key in unexpected {
                    out.push(format!("{path}: additional property {key}"));
                }
            }
            ValidationErrorKind::Type { kind } => {
                out.push(format!("{path}: must be a {}", human_types(kind)));
            }
            _ => out.push(format!("{path}: {}", error.masked())),
        }
    }
    (validator().is_valid(json), out)
}

/// Documents compared, and how many of them the schema refuses.
#[derive(Default)]
struct Count {
    compared: usize,
    refused: usize,
}

/// The documents of `text` (none when it is not YAML).
fn documents(text: &str) -> Vec<Value> {
    let tree = syntax::parse(text);
    if tree.error.is_some() {
        return Vec::new();
    }
    tree.documents
        .iter()
        .filter_map(|d| d.root)
        .filter_map(|root| value::from_document(&tree, text, 0, root, &mut Vec::new()))
        .collect()
}

/// `doc` compared; a disagreement described in `failures` (with `text`, where it came from).
fn compare(name: &str, doc: &Value, text: &str, count: &mut Count, failures: &mut Vec<String>) {
    let (json, valid, errors) = stowage::compose::schema::differential(doc);
    let (their_valid, theirs) = reference(&json);
    count.compared += 1;
    count.refused += usize::from(!their_valid);
    if valid != their_valid || errors != theirs || valid != errors.is_empty() {
        failures.push(format!(
            "{name}: interpreter valid={valid} {errors:#?}\njsonschema valid={their_valid} \
             {theirs:#?}\n{json:#}\n{text}"
        ));
    }
}

/// Values that break the schema's keywords in their various ways: wrong types, numbers out of
/// range, names out of pattern, strings out of an enumeration, casts.
const SCALARS: &[&str] = &[
    "x",
    "1",
    "-5",
    "true",
    "1.5",
    "",
    "none",
    "200",
    "80:80",
    "host",
    "rebuild",
    "1g",
    "-2000",
    "0x10",
    "service_healthy",
    "sync",
    "a b",
    "Z",
    "always",
    "every_5m",
    "1.0",
];

fn nodes(v: &Value) -> usize {
    1 + match &v.kind {
        ValueKind::Seq(items) => items.iter().map(nodes).sum(),
        ValueKind::Map(m) => m.values().map(|e| nodes(&e.value)).sum(),
        _ => 0,
    }
}

/// The `k`-th node of `v` in pre-order.
fn nth<'v>(v: &'v mut Value, k: &mut usize) -> Option<&'v mut Value> {
    if *k == 0 {
        return Some(v);
    }
    *k -= 1;
    match &mut v.kind {
        ValueKind::Seq(items) => items.iter_mut().find_map(|i| nth(i, k)),
        ValueKind::Map(m) => m.values_mut().find_map(|e| nth(&mut e.value, k)),
        _ => None,
    }
}

/// One random change to one node of `doc`, below the top (which is a mapping for the loader).
fn mutate(doc: &mut Value, rng: &mut Rng) {
    let total = nodes(doc);
    if total < 2 {
        return;
    }
    let mut k = 1 + rng.below(total - 1);
    let Some(node) = nth(doc, &mut k) else { return };
    let loc = node.loc;
    let scalar = |rng: &mut Rng| {
        Value::new(
            ValueKind::Scalar {
                text: rng.pick(SCALARS).into(),
                plain: rng.chance(70),
            },
            loc,
        )
    };
    match (rng.below(6), &mut node.kind) {
        (0, _) => *node = scalar(rng),
        (1, _) => *node = Value::new(ValueKind::Null, loc),
        (2, ValueKind::Map(m)) => {
            let key = rng.pick(&["zz_unknown", "x-extra", "condition", "bad name", "soft"]);
            m.insert(
                key.into(),
                Entry {
                    key_loc: loc,
                    value: scalar(rng),
                },
            );
        }
        (2, ValueKind::Seq(items)) if !items.is_empty() => items.push(items[0].clone()),
        (3, _) => *node = Value::new(ValueKind::Seq(vec![node.clone()]), loc),
        (4, ValueKind::Map(m)) if !m.is_empty() => {
            let i = rng.below(m.len());
            m.shift_remove_index(i);
        }
        (5, ValueKind::Map(m)) => {
            let keys = m
                .keys()
                .map(|k| {
                    Value::new(
                        ValueKind::Scalar {
                            text: k.clone(),
                            plain: true,
                        },
                        loc,
                    )
                })
                .collect();
            *node = Value::new(ValueKind::Seq(keys), loc);
        }
        _ => *node = scalar(rng),
    }
}

fn report(what: &str, count: &Count, failures: &[String]) {
    println!(
        "{what}: {} documents ({} refused by the schema), {} disagree",
        count.compared,
        count.refused,
        failures.len()
    );
    for f in failures.iter().take(10) {
        println!("{f}");
    }
    assert!(failures.is_empty(), "{} {what} disagree", failures.len());
}

fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok()?.trim().parse().ok()
}

fn generated() {
    let seed = env_number("STOWAGE_DIFF_SEED").unwrap_or(DEFAULT_SEED);
    let count = env_number("STOWAGE_DIFF_COUNT").unwrap_or(DEFAULT_COUNT);
    let (mut failures, mut counted) = (Vec::new(), Count::default());
    for i in 0..count {
        let mut rng = Rng(seed ^ i.wrapping_mul(0x2545_f491_4f6c_dd1d));
        for (file, text) in generate(&mut rng).files {
            if file.ends_with(".yaml") || file.ends_with(".yml") {
                for doc in documents(&text) {
                    compare(
                        &format!("project {i} {file}"),
                        &doc,
                        &text,
                        &mut counted,
                        &mut failures,
                    );
                }
            }
        }
    }
    report("generated documents", &counted, &failures);
}

fn corpus(dir: &Path) {
    let mut files = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read the corpus").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "yaml" || e == "yml") {
                files.push(path);
            }
        }
    }
    files.sort();
    assert!(!files.is_empty(), "no YAML files in {}", dir.display());
    let (mut failures, mut count, mut mutants) = (Vec::new(), Count::default(), Count::default());
    for path in &files {
        let Ok(text) = std::fs::read_to_string(path) else {
            continue;
        };
        for doc in documents(&text) {
            let name = path.display().to_string();
            compare(&name, &doc, &text, &mut count, &mut failures);
            // And changed: a few variants of each, one random change each.
            let mut rng = Rng(count.compared as u64);
            for _ in 0..MUTANTS {
                let mut changed = doc.clone();
                mutate(&mut changed, &mut rng);
                compare(
                    &format!("{name} (changed)"),
                    &changed,
                    &text,
                    &mut mutants,
                    &mut failures,
                );
            }
        }
    }
    report("corpus documents", &count, &failures);
    report("changed corpus documents", &mutants, &failures);
}

fn main() {
    let trials = vec![
        Trial::test("generated_documents", || {
            generated();
            Ok(())
        }),
        Trial::ignorable_test("corpus_documents", || {
            Ok(match common::corpus::dir() {
                Ok(dir) => {
                    corpus(&dir);
                    Completion::Completed
                }
                Err(reason) => Completion::ignored_with(reason),
            })
        }),
    ];
    libtest_mimic::run(&Arguments::from_args(), trials).exit()
}
