//! Baselines (`check --write-baseline FILE`, `check --baseline FILE`): the findings a repository
//! already has, recorded so that only new ones are reported. A finding is recorded by what does not
//! move when lines do — its rule, its file (relative to the repository), the services
//! it concerns, its message and the text it points at (each with whitespace runs made one space and
//! line or column numbers taken out of the message) — never by line or column. The file is a
//! multiset: two identical findings need two entries. It is JSON, one entry a line, sorted, so a
//! baseline shrinking shows in a diff as lines removed.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use foldhash::{HashMap, HashMapExt};
use serde::{Deserialize, Serialize};
use sha2::Digest;

use crate::compose::model::Project;
use crate::finding::Finding;

/// The version of the file format this stowage reads and writes.
const VERSION: u32 = 1;

/// Longest snippet kept as text; a longer one keeps its start and a digest of the whole.
const SNIPPET_CHARS: usize = 120;

/// What a finding is recognised by, whatever line it moved to. Field order is the file's sort
/// order: by file, then rule.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Fingerprint {
    /// The finding's file, relative to [`Fingerprinter::root`], with `/` separators.
    path: String,
    rule: String,
    /// The services concerned, sorted.
    services: Vec<String>,
    message: String,
    /// The text the finding points at, whitespace runs made one space.
    snippet: String,
}

/// The baseline file.
#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    version: u32,
    findings: Vec<Fingerprint>,
}

/// Why a baseline could not be read (each is an exit 2).
#[derive(Debug, thiserror::Error)]
pub(crate) enum BaselineError {
    #[error("cannot read the baseline `{path}`: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}:{column}: invalid baseline: {message}")]
    Invalid {
        path: String,
        line: usize,
        column: usize,
        message: String,
    },
    #[error(
        "{path}: baseline version {version} is not supported (this stowage reads version {VERSION}): write it again with `--write-baseline`"
    )]
    Version { path: String, version: u64 },
}

/// Turns findings into fingerprints for a baseline.
#[derive(Debug, Clone)]
struct Fingerprinter {
    /// What paths are relative to, absolute and cleaned: the repository the baseline is in (the
    /// nearest directory above it with a `.git`), else the baseline's directory. So a baseline
    /// kept in `.github/` or `ci/` still says `deploy/compose.yaml`, and matches from any
    /// working directory.
    root: PathBuf,
}

impl Fingerprinter {
    /// For the baseline at `path` (relative paths from `cwd`).
    fn new(path: &Path, cwd: &Path) -> Fingerprinter {
        let file = absolute(cwd, path);
        let dir = file.parent().map_or(file.clone(), Path::to_path_buf);
        let root = dir
            .ancestors()
            .find(|d| d.join(".git").exists())
            .map_or(dir.clone(), Path::to_path_buf);
        Fingerprinter { root }
    }

    fn of(&self, project: &Project, f: &Finding) -> Fingerprint {
        let source = &project.file(f.loc.file).source;
        let mut services = f.services.clone();
        services.sort();
        services.dedup();
        Fingerprint {
            path: relative(&self.root, &source.path),
            rule: f.rule.to_owned(),
            services,
            message: normalise_message(&f.message),
            snippet: snippet(source.text.get(f.loc.start..f.loc.end).unwrap_or("")),
        }
    }
}

/// `path` from `cwd`, cleaned lexically (no symlink resolution: the same spelling gives the same
/// path on every machine).
fn absolute(cwd: &Path, path: &Path) -> PathBuf {
    let joined = cwd.join(path);
    PathBuf::from(crate::compose::mounts::clean_path(
        &joined.to_string_lossy(),
    ))
}

/// `to` (absolute) relative to the directory `from` (absolute), with `/` separators; as it is
/// when the two share no root.
fn relative(from: &Path, to: &Path) -> String {
    let from: Vec<_> = from.components().collect();
    let to_parts: Vec<_> = to.components().collect();
    let common = from
        .iter()
        .zip(&to_parts)
        .take_while(|(a, b)| a == b)
        .count();
    if common == 0 {
        return to.to_string_lossy().replace('\\', "/");
    }
    let mut parts: Vec<String> = vec!["..".into(); from.len() - common];
    parts.extend(
        to_parts[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// `text` with every whitespace run one space, and no whitespace at either end.
fn collapse(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// A message without the numbers that follow `line`, `column` or `offset` (a message may say where
/// an earlier definition is), whitespace collapsed.
fn normalise_message(message: &str) -> String {
    const WORDS: [&str; 5] = ["line ", "lines ", "column ", "columns ", "offset "];
    let message = collapse(message);
    let mut out = String::with_capacity(message.len());
    let mut rest = message.as_str();
    'scan: while let Some(c) = rest.chars().next() {
        let at_word = !out.chars().next_back().is_some_and(char::is_alphanumeric);
        for word in WORDS {
            if at_word && rest.starts_with(word) {
                let after = &rest[word.len()..];
                let digits = after.bytes().take_while(u8::is_ascii_digit).count();
                if digits > 0 {
                    out.push_str(word);
                    out.push('N');
                    rest = &after[digits..];
                    continue 'scan;
                }
            }
        }
        out.push(c);
        rest = &rest[c.len_utf8()..];
    }
    out
}

/// The text a finding points at, collapsed; a long one keeps its start and the SHA-256 of the
/// whole (so the file stays readable and two long spans differing at the end stay apart).
fn snippet(text: &str) -> String {
    let text = collapse(text);
    if text.chars().count() <= SNIPPET_CHARS {
        return text;
    }
    let start: String = text.chars().take(SNIPPET_CHARS).collect();
    let digest = sha2::Sha256::digest(text.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("{start}… sha256:{hex}")
}

/// `--baseline`: the recorded findings, matched as projects are checked.
pub(crate) struct Matcher {
    fingerprinter: Fingerprinter,
    /// How many times each fingerprint was recorded.
    recorded: HashMap<Fingerprint, usize>,
    /// How many of them findings matched so far.
    used: Mutex<HashMap<Fingerprint, usize>>,
}

impl Matcher {
    /// Reads the baseline at `path` (relative paths from `cwd`).
    pub(crate) fn read(path: &Path, cwd: &Path) -> Result<Matcher, BaselineError> {
        let shown = path.display().to_string();
        let text =
            std::fs::read_to_string(absolute(cwd, path)).map_err(|source| BaselineError::Io {
                path: shown.clone(),
                source,
            })?;
        let file = parse(&text, &shown)?;
        let mut recorded = HashMap::new();
        for entry in file.findings {
            *recorded.entry(entry).or_insert(0) += 1;
        }
        Ok(Matcher {
            fingerprinter: Fingerprinter::new(path, cwd),
            recorded,
            used: Mutex::new(HashMap::new()),
        })
    }

    /// `findings` of `project` without those the baseline records (each entry matches one
    /// finding, in order, across every project of the run).
    pub(crate) fn unmatched(&self, project: &Project, findings: Vec<Finding>) -> Vec<Finding> {
        if self.recorded.is_empty() {
            return findings;
        }
        let mut used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        findings
            .into_iter()
            .filter(|f| !self.take(&mut used, self.fingerprinter.of(project, f)))
            .collect()
    }

    /// `findings` of one look at `project` (a pass of the fix loop), the fixes of those the
    /// baseline records taken away: only reported findings are fixed. The run's count of matched
    /// entries is left as it is.
    pub(crate) fn without_baselined_fixes(&self, project: &Project, findings: &mut [Finding]) {
        if self.recorded.is_empty() {
            return;
        }
        let mut used = HashMap::new();
        for f in findings {
            if self.take(&mut used, self.fingerprinter.of(project, f)) {
                f.fix = None;
            }
        }
    }

    /// Whether `fingerprint` has an entry `used` has not counted yet (it is counted then).
    fn take(&self, used: &mut HashMap<Fingerprint, usize>, fingerprint: Fingerprint) -> bool {
        let Some(&recorded) = self.recorded.get(&fingerprint) else {
            return false;
        };
        let count = used.entry(fingerprint).or_insert(0);
        if *count < recorded {
            *count += 1;
            true
        } else {
            false
        }
    }

    /// Findings the baseline matched, and entries nothing matched (their findings are gone).
    pub(crate) fn counts(&self) -> (usize, usize) {
        let used = self.used.lock().unwrap_or_else(|e| e.into_inner());
        let matched: usize = used.values().sum();
        let recorded: usize = self.recorded.values().sum();
        (matched, recorded - matched)
    }
}

/// The baseline in `text`, errors with the position (`shown`: its path).
fn parse(text: &str, shown: &str) -> Result<File, BaselineError> {
    let invalid = |e: serde_json::Error| {
        let full = e.to_string();
        let suffix = format!(" at line {} column {}", e.line(), e.column());
        BaselineError::Invalid {
            path: shown.to_owned(),
            line: e.line(),
            column: e.column(),
            message: full.strip_suffix(&suffix).unwrap_or(&full).to_owned(),
        }
    };
    match serde_json::from_str::<File>(text) {
        Ok(file) if file.version == VERSION => Ok(file),
        Ok(file) => Err(BaselineError::Version {
            path: shown.to_owned(),
            version: file.version.into(),
        }),
        Err(e) => {
            // Another version may have other fields: say which version it is, not which field.
            #[derive(Deserialize)]
            struct Versioned {
                version: u64,
            }
            match serde_json::from_str::<Versioned>(text) {
                Ok(v) if v.version != u64::from(VERSION) => Err(BaselineError::Version {
                    path: shown.to_owned(),
                    version: v.version,
                }),
                _ => Err(invalid(e)),
            }
        }
    }
}

/// `--write-baseline`: every finding of the run, recorded as projects are checked.
pub(crate) struct Recorder {
    fingerprinter: Fingerprinter,
    entries: Mutex<Vec<Fingerprint>>,
    /// Every file the projects read: what the baseline must never be written over.
    read: Mutex<Vec<std::path::PathBuf>>,
}

impl Recorder {
    /// For the baseline to be written at `path` (relative paths from `cwd`).
    pub(crate) fn new(path: &Path, cwd: &Path) -> Recorder {
        Recorder {
            fingerprinter: Fingerprinter::new(path, cwd),
            entries: Mutex::new(Vec::new()),
            read: Mutex::new(Vec::new()),
        }
    }

    /// Every file the projects recorded so far read.
    pub(crate) fn files_read(&self) -> Vec<std::path::PathBuf> {
        self.read.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub(crate) fn record(&self, project: &Project, findings: &[Finding]) {
        let prints: Vec<Fingerprint> = findings
            .iter()
            .map(|f| self.fingerprinter.of(project, f))
            .collect();
        self.entries
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(prints);
        self.read
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(project.files.iter().map(|f| f.source.path.clone()));
    }

    /// The baseline file's text, and how many findings and distinct files it records.
    pub(crate) fn render(&self) -> (String, usize, usize) {
        let mut entries =
            std::mem::take(&mut *self.entries.lock().unwrap_or_else(|e| e.into_inner()));
        entries.sort();
        let files = entries
            .iter()
            .map(|e| &e.path)
            .collect::<foldhash::HashSet<_>>()
            .len();
        (render(&entries), entries.len(), files)
    }
}

/// The file: pretty JSON with one entry a line (a finding fixed is one line removed).
fn render(entries: &[Fingerprint]) -> String {
    let mut out = format!("{{\n  \"version\": {VERSION},\n  \"findings\": [");
    for (i, entry) in entries.iter().enumerate() {
        out.push_str(if i == 0 { "\n    " } else { ",\n    " });
        let line = serde_json::to_string(entry).expect("a fingerprint always serialises");
        // `{"a":1,"b":2}` reads as `{"a": 1, "b": 2}`.
        out.push_str(&spaced(&line));
    }
    out.push_str(if entries.is_empty() {
        "]\n}\n"
    } else {
        "\n  ]\n}\n"
    });
    out
}

/// Compact JSON with a space after each `:` and `,` outside strings.
fn spaced(json: &str) -> String {
    let mut out = String::with_capacity(json.len() + json.len() / 8);
    let (mut in_string, mut escaped) = (false, false);
    for c in json.chars() {
        out.push(c);
        if in_string {
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
        } else if c == ':' || c == ',' {
            out.push(' ');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_lose_line_and_column_numbers_only() {
        assert_eq!(
            normalise_message("mapping key `a` already defined at line 12,  column 3"),
            "mapping key `a` already defined at line N, column N"
        );
        assert_eq!(
            normalise_message("`postgres:16` keeps 2 volumes; pipeline 4"),
            "`postgres:16` keeps 2 volumes; pipeline 4"
        );
    }

    #[test]
    fn long_snippets_keep_their_start_and_a_digest() {
        let long = "x ".repeat(200);
        let other = format!("{long}y");
        assert!(snippet(&long).starts_with("x x x"));
        assert!(snippet(&long).contains("… sha256:"));
        assert_ne!(snippet(&long), snippet(&other));
        assert_eq!(snippet("  - /data\n   # c\n"), "- /data # c");
    }

    #[test]
    fn paths_are_relative_to_the_repository_or_the_baseline_directory() {
        let at = |p: &str| Path::new(p).to_path_buf();
        assert_eq!(
            relative(&at("/r"), &at("/r/a/compose.yaml")),
            "a/compose.yaml"
        );
        assert_eq!(relative(&at("/r/ci"), &at("/r/a/c.yaml")), "../a/c.yaml");
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        let fp = Fingerprinter::new(Path::new("ci/../ci/base.json"), root);
        assert_eq!(fp.root, root.join("ci"));
        std::fs::create_dir(root.join(".git")).unwrap();
        let fp = Fingerprinter::new(Path::new("ci/base.json"), root);
        assert_eq!(fp.root, root);
    }

    #[test]
    fn the_file_reads_back_and_errors_have_positions() {
        let entry = |rule: &str| Fingerprint {
            path: "compose.yaml".into(),
            rule: rule.into(),
            services: vec!["db".into()],
            message: "a \"quoted\", message: here".into(),
            snippet: "- /data".into(),
        };
        let text = render(&[entry("a"), entry("b")]);
        assert!(text.contains("\n    {\"path\": \"compose.yaml\", \"rule\": \"a\""));
        assert_eq!(
            parse(&text, "b.json").unwrap().findings,
            [entry("a"), entry("b")]
        );
        assert_eq!(parse(&render(&[]), "b.json").unwrap().findings, []);
        let broken = text.replacen("\"rule\"", "\"rules\"", 1);
        let e = parse(&broken, "b.json").unwrap_err().to_string();
        assert!(e.starts_with("b.json:4:36: "), "{e}");
        assert!(e.contains("unknown field `rules`"), "{e}");
        let e = parse("{\"version\": 2, \"entries\": []}", "b.json")
            .unwrap_err()
            .to_string();
        assert!(e.contains("baseline version 2 is not supported"), "{e}");
        let e = parse("{\"version\": 1,", "b.json").unwrap_err().to_string();
        assert!(e.starts_with("b.json:1:14: invalid baseline: EOF"), "{e}");
    }
}
