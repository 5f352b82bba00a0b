//! `stowage check --format sarif`: SARIF 2.1.0 as GitHub code scanning reads it, and the stable
//! finding fingerprints SARIF and GitLab share.
//!
//! Paths are relative to the working directory under the `%SRCROOT%` base (absolute `file:` URIs
//! for files outside it); columns count characters (`columnKind: unicodeCodePoints`), end
//! columns are exclusive as SARIF defines them.

use std::collections::BTreeMap;

use std::io::Write;

use foldhash::{HashMap, HashMapExt};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::compose::model::Project;
use crate::finding::{Applicability, Finding, Severity};
use crate::output::rules_doc;
use crate::rules::{Category, RULES, RuleMeta};
use crate::yaml::value::Loc;

const SCHEMA: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";
const SRCROOT: &str = "%SRCROOT%";
/// The key of stowage's own entry in `partialFingerprints`; bump the version if the recipe changes.
pub(crate) const FINGERPRINT_KEY: &str = "stowageFindingHash/v1";

/// Where stowage is documented: the package's homepage or repository, else its crates.io page.
pub fn information_uri() -> &'static str {
    [
        option_env!("CARGO_PKG_HOMEPAGE"),
        option_env!("CARGO_PKG_REPOSITORY"),
    ]
    .into_iter()
    .flatten()
    .find(|u| !u.is_empty())
    .unwrap_or(concat!("https://crates.io/crates/", env!("CARGO_PKG_NAME")))
}

/// One stable fingerprint per finding, in the same order: a hash of the rule, the file as shown,
/// the primary span's text with whitespace runs collapsed and the services concerned — never a
/// line number, so adding or removing unrelated lines keeps it. Identical keys (the same text
/// twice in one service) are told apart by their order of occurrence.
pub(crate) fn fingerprints(results: &[(&Project, Vec<Finding>)]) -> Vec<Vec<String>> {
    let mut seen: HashMap<String, usize> = HashMap::new();
    results
        .iter()
        .map(|(project, findings)| {
            findings
                .iter()
                .map(|f| {
                    let source = &project.file(f.loc.file).source;
                    let text = source.text.get(f.loc.start..f.loc.end).unwrap_or("");
                    let normalised = text.split_whitespace().collect::<Vec<_>>().join(" ");
                    let mut hasher = Sha256::new();
                    for part in [f.rule, &source.display, &normalised, &f.services.join("\n")] {
                        hasher.update(part.as_bytes());
                        hasher.update([0]);
                    }
                    let key = hex(&hasher.finalize());
                    let occurrence = seen.entry(key.clone()).or_insert(0);
                    *occurrence += 1;
                    if *occurrence == 1 {
                        key
                    } else {
                        let mut again = Sha256::new();
                        again.update(key.as_bytes());
                        again.update(occurrence.to_string().as_bytes());
                        hex(&again.finalize())
                    }
                })
                .collect()
        })
        .collect()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Serialize)]
struct Log<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    version: &'static str,
    runs: Vec<Run<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Run<'a> {
    tool: Tool,
    invocations: Vec<Invocation>,
    #[serde(skip_serializing_if = "Option::is_none")]
    original_uri_base_ids: Option<BTreeMap<&'static str, ArtifactLocation>>,
    column_kind: &'static str,
    results: PerFinding<'a, MakeResult<'a>>,
}

type MakeResult<'a> = fn(&'a Project, &'a Finding, String) -> ResultOut<'a>;

/// Every finding of `results` as `make` turns it, with its fingerprint, into one entry of a
/// document (a SARIF result, a GitLab issue), made one at a time as the document is written: the
/// whole list would cost several times the findings themselves.
pub(crate) struct PerFinding<'a, F> {
    results: &'a [(&'a Project, Vec<Finding>)],
    prints: Vec<Vec<String>>,
    make: F,
}

impl<'a, F, T> PerFinding<'a, F>
where
    F: Fn(&'a Project, &'a Finding, String) -> T,
{
    pub fn new(results: &'a [(&'a Project, Vec<Finding>)], make: F) -> Self {
        PerFinding {
            results,
            prints: fingerprints(results),
            make,
        }
    }

    /// Every entry, with the fingerprints computed once.
    fn entries(&self) -> impl Iterator<Item = T> + '_ {
        self.results
            .iter()
            .zip(&self.prints)
            .flat_map(move |((project, findings), prints)| {
                findings
                    .iter()
                    .zip(prints)
                    .map(move |(f, print)| (self.make)(project, f, print.clone()))
            })
    }

    /// Makes every entry the document would hold, and drops it: what can fail in writing, short
    /// of the output itself (a bug shows here, before anything is written).
    pub(crate) fn probe(&self) {
        self.entries().for_each(drop);
    }
}

impl<'a, F, T> Serialize for PerFinding<'a, F>
where
    F: Fn(&'a Project, &'a Finding, String) -> T,
    T: Serialize,
{
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_seq(self.entries())
    }
}

#[derive(Serialize)]
struct Tool {
    driver: Driver,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Driver {
    name: &'static str,
    version: &'static str,
    semantic_version: &'static str,
    information_uri: &'static str,
    rules: Vec<Descriptor>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Descriptor {
    id: &'static str,
    name: String,
    short_description: Text,
    full_description: Text,
    help_uri: String,
    help: Help,
    default_configuration: Configuration,
    properties: DescriptorProperties,
}

#[derive(Serialize)]
struct Text {
    text: String,
}

#[derive(Serialize)]
struct Help {
    text: String,
    markdown: String,
}

#[derive(Serialize)]
struct Configuration {
    enabled: bool,
    level: &'static str,
}

#[derive(Serialize)]
struct DescriptorProperties {
    tags: Vec<&'static str>,
    precision: &'static str,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Invocation {
    execution_successful: bool,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tool_execution_notifications: Vec<Notification>,
}

#[derive(Serialize)]
struct Notification {
    level: &'static str,
    message: Text,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    locations: Vec<Location>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ResultOut<'a> {
    rule_id: &'static str,
    rule_index: usize,
    level: &'static str,
    message: Text,
    locations: Vec<Location>,
    partial_fingerprints: BTreeMap<&'static str, String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    related_locations: Vec<Location>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fixes: Vec<FixOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    properties: Option<ResultProperties<'a>>,
}

#[derive(Serialize)]
struct ResultProperties<'a> {
    /// The services concerned (several when the place is inside an anchor they share).
    services: &'a [String],
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Location {
    #[serde(skip_serializing_if = "Option::is_none")]
    id: Option<usize>,
    physical_location: PhysicalLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    message: Option<Text>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct PhysicalLocation {
    artifact_location: ArtifactLocation,
    #[serde(skip_serializing_if = "Option::is_none")]
    region: Option<Region>,
}

#[derive(Serialize, Clone)]
#[serde(rename_all = "camelCase")]
struct ArtifactLocation {
    uri: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    uri_base_id: Option<&'static str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Region {
    start_line: usize,
    start_column: usize,
    end_line: usize,
    end_column: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    snippet: Option<Text>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct FixOut {
    description: Text,
    artifact_changes: Vec<ArtifactChange>,
    properties: FixProperties,
}

#[derive(Serialize)]
struct FixProperties {
    applicability: Applicability,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ArtifactChange {
    artifact_location: ArtifactLocation,
    replacements: Vec<Replacement>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Replacement {
    deleted_region: Region,
    inserted_content: Text,
}

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

/// `anonymous-volume` → `AnonymousVolume` (SARIF's "friendly name").
fn pascal_case(id: &str) -> String {
    id.split('-')
        .map(|w| {
            let mut c = w.chars();
            c.next()
                .map(|first| first.to_ascii_uppercase().to_string() + c.as_str())
                .unwrap_or_default()
        })
        .collect()
}

fn descriptor(m: &'static RuleMeta) -> Descriptor {
    let category = match m.category {
        Category::Persistence => "persistence",
        Category::Correctness => "correctness",
    };
    let text = format!(
        "{}\n\nWhy it matters: {}\n\nExample:\n{}\n\nFix: {}",
        m.what_it_does.trim(),
        m.why_it_matters.trim(),
        m.example.trim_end(),
        m.fix_safety.trim()
    );
    Descriptor {
        id: m.id,
        name: pascal_case(m.id),
        short_description: Text {
            text: m.summary.to_owned(),
        },
        full_description: Text {
            text: m.what_it_does.trim().to_owned(),
        },
        help_uri: rules_doc::url(m.id),
        help: Help {
            text,
            markdown: rules_doc::explain(m),
        },
        default_configuration: Configuration {
            enabled: !m.off_by_default,
            level: level(m.severity),
        },
        properties: DescriptorProperties {
            tags: vec!["docker-compose", category],
            precision: "high",
        },
    }
}

/// A path as shown to the user → an artifact location: relative to `%SRCROOT%` (the working
/// directory), or an absolute `file:` URI for a file outside it.
fn artifact(display: &str) -> ArtifactLocation {
    let slashed = display.replace('\\', "/");
    if slashed.starts_with('/') {
        ArtifactLocation {
            uri: format!("file://{}", percent_encode(&slashed)),
            uri_base_id: None,
        }
    } else {
        ArtifactLocation {
            uri: percent_encode(&slashed),
            uri_base_id: Some(SRCROOT),
        }
    }
}

/// Percent-encodes everything but RFC 3986 unreserved characters and `/`.
pub(crate) fn percent_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'/') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn region(project: &Project, loc: Loc, snippet: bool) -> Region {
    let source = &project.file(loc.file).source;
    let start = source.line_col(loc.start);
    let end = source.line_col(loc.end.max(loc.start));
    Region {
        start_line: start.line,
        start_column: start.column,
        end_line: end.line,
        end_column: end.column,
        snippet: snippet
            .then(|| source.text.get(loc.start..loc.end))
            .flatten()
            .filter(|t| !t.is_empty())
            .map(|t| Text { text: t.to_owned() }),
    }
}

fn location(project: &Project, loc: Loc, snippet: bool) -> PhysicalLocation {
    PhysicalLocation {
        artifact_location: artifact(&project.file(loc.file).source.display),
        region: Some(region(project, loc, snippet)),
    }
}

/// SARIF wants complete sentences: the message and its remedy, each ending with a period.
fn sentence(s: &str) -> String {
    let s = s.trim();
    if s.ends_with(['.', '!', '?']) {
        s.to_owned()
    } else {
        format!("{s}.")
    }
}

fn result_out<'a>(project: &Project, f: &'a Finding, fingerprint: String) -> ResultOut<'a> {
    let rule_index = RULES
        .iter()
        .position(|r| r.meta().id == f.rule)
        .expect("every finding comes from a registered rule");
    let related_locations = f
        .labels
        .iter()
        .enumerate()
        .map(|(i, l)| Location {
            id: Some(i + 1),
            physical_location: location(project, l.loc, false),
            message: Some(Text {
                text: sentence(&l.message),
            }),
        })
        .collect();
    let fixes = f
        .fix
        .iter()
        .map(|fix| FixOut {
            description: Text {
                text: sentence(&capitalised(&fix.title)),
            },
            artifact_changes: vec![ArtifactChange {
                artifact_location: artifact(&project.file(f.loc.file).source.display),
                replacements: fix
                    .edits
                    .iter()
                    .map(|e| Replacement {
                        deleted_region: region(
                            project,
                            Loc {
                                file: f.loc.file,
                                start: e.start,
                                end: e.end,
                            },
                            false,
                        ),
                        inserted_content: Text {
                            text: e.content.clone(),
                        },
                    })
                    .collect(),
            }],
            properties: FixProperties {
                applicability: fix.applicability,
            },
        })
        .collect();
    let message = if f.help.is_empty() {
        sentence(&f.message)
    } else {
        format!(
            "{} {}",
            sentence(&f.message),
            sentence(&capitalised(&f.help))
        )
    };
    ResultOut {
        rule_id: f.rule,
        rule_index,
        level: level(f.severity),
        message: Text {
            text: capitalised(&message),
        },
        locations: vec![Location {
            id: None,
            physical_location: location(project, f.loc, true),
            message: None,
        }],
        partial_fingerprints: BTreeMap::from([(FINGERPRINT_KEY, fingerprint)]),
        related_locations,
        fixes,
        properties: (!f.services.is_empty()).then_some(ResultProperties {
            services: &f.services,
        }),
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(first) => first.to_uppercase().collect::<String>() + c.as_str(),
        None => String::new(),
    }
}

/// `--format sarif`: a whole document, failures in it as notifications.
pub(crate) const REPORTER: super::Document = super::Document {
    probe,
    write: |out, end| write(out.writer(), end.results, end.failures, end.cwd),
};

/// Makes every result [`write`] would write, and drops it (a bug shows here, before anything is
/// written).
pub(crate) fn probe(results: &[(&Project, Vec<Finding>)]) {
    PerFinding::new(results, result_out).probe();
}

/// The whole SARIF log, written to `out` as it is made. `cwd` becomes `%SRCROOT%`; `failures`
/// (paths stowage could not check) become tool execution notifications.
pub fn write(
    out: &mut dyn std::io::Write,
    results: &[(&Project, Vec<Finding>)],
    failures: &[(Option<String>, String)],
    cwd: &std::path::Path,
) -> std::io::Result<()> {
    let notifications = failures
        .iter()
        .map(|(path, message)| Notification {
            level: "error",
            message: Text {
                text: sentence(&capitalised(message)),
            },
            locations: path
                .iter()
                .map(|p| Location {
                    id: None,
                    physical_location: PhysicalLocation {
                        artifact_location: artifact(p),
                        region: None,
                    },
                    message: None,
                })
                .collect(),
        })
        .collect();
    let root = cwd.to_string_lossy().replace('\\', "/");
    let original_uri_base_ids = root.starts_with('/').then(|| {
        let slash = if root.ends_with('/') { "" } else { "/" };
        BTreeMap::from([(
            SRCROOT,
            ArtifactLocation {
                uri: format!("file://{}{slash}", percent_encode(&root)),
                uri_base_id: None,
            },
        )])
    });
    let log = Log {
        schema: SCHEMA,
        version: "2.1.0",
        runs: vec![Run {
            tool: Tool {
                driver: Driver {
                    name: "stowage",
                    version: env!("CARGO_PKG_VERSION"),
                    semantic_version: env!("CARGO_PKG_VERSION"),
                    information_uri: information_uri(),
                    rules: RULES.iter().map(|r| descriptor(r.meta())).collect(),
                },
            },
            invocations: vec![Invocation {
                execution_successful: failures.is_empty(),
                tool_execution_notifications: notifications,
            }],
            original_uri_base_ids,
            column_kind: "unicodeCodePoints",
            results: PerFinding::new(results, result_out as MakeResult),
        }],
    };
    // serde writes a token at a time: buffered here, not through `out`'s dynamic calls.
    let mut buffered = std::io::BufWriter::with_capacity(1 << 16, out);
    serde_json::to_writer_pretty(&mut buffered, &log).map_err(std::io::Error::from)?;
    buffered.write_all(b"\n")?;
    buffered.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_uris() {
        assert_eq!(pascal_case("anonymous-volume"), "AnonymousVolume");
        assert_eq!(percent_encode("a b/c#d.yaml"), "a%20b/c%23d.yaml");
        assert_eq!(percent_encode("é"), "%C3%A9");
        assert_eq!(artifact("/x/compose.yaml").uri, "file:///x/compose.yaml");
        assert_eq!(artifact("d/compose.yaml").uri_base_id, Some(SRCROOT));
        assert_eq!(sentence("remove it"), "remove it.");
        assert_eq!(capitalised("`x` is"), "`x` is");
    }
}
