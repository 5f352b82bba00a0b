//! Variable sources for a project: `.env` files parsed as compose-go's `dotenv` package does, layered under the process environment the way compose layers them.
//!
//! Precedence (compose-go `cli.WithOsEnv` + `cli.WithDotEnv` + `dotenv.GetEnvFromFile`):
//! values given with [`ProjectEnv::set`] > process environment > env files (a later file
//! overrides an earlier one) > env files of an `include` entry ([`ProjectEnv::add_env_file_under`]).
//! While a file is parsed, `${VAR}` in its values sees the process environment first, then the
//! earlier files, then the keys defined above it in the same file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use indexmap::IndexMap;

use crate::compose::interpolate::{self, InterpolateError, Vars};

/// Where in the env file text a problem is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    /// Byte offset in the text given to the parser (a leading BOM included).
    pub(crate) offset: usize,
    /// 1-based line.
    pub line: usize,
    /// 1-based column, in characters.
    pub column: usize,
}

impl Position {
    fn of(text: &str, offset: usize) -> Self {
        let offset = offset.min(text.len());
        let before = &text[..offset];
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line_text = &before[line_start..];
        // the BOM compose skips is not a column
        let line_text = match line_start {
            0 => line_text.strip_prefix('\u{feff}').unwrap_or(line_text),
            _ => line_text,
        };
        Self {
            offset,
            line: before.matches('\n').count() + 1,
            column: line_text.chars().count() + 1,
        }
    }
}

/// Why an env file cannot be read; compose refuses to load the project in every case.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DotenvError {
    /// A name holds something other than letters, digits, `_`, `.`, `-`, `[` and `]`.
    #[error("unexpected character `{ch}` in variable name")]
    UnexpectedCharacter { ch: char, position: Position },
    /// `MY VAR=1`, or a line with two words and no `=`.
    #[error("variable name cannot contain a space")]
    SpaceInName { position: Position },
    /// `export` at the end of the file with nothing after it.
    #[error("`export` is not followed by a variable name")]
    MissingName { position: Position },
    /// A value opened with `"` or `'` that is never closed.
    #[error("quoted value is never closed")]
    UnterminatedQuote { position: Position },
    /// A `${...}` in a value is invalid or a required variable is missing.
    #[error("{error}")]
    Interpolation {
        key: String,
        position: Position,
        error: InterpolateError,
    },
}

impl DotenvError {
    /// Where the problem is (for interpolation errors in double-quoted values, the opening quote).
    pub(crate) fn position(&self) -> Position {
        match self {
            Self::UnexpectedCharacter { position, .. }
            | Self::SpaceInName { position }
            | Self::MissingName { position }
            | Self::UnterminatedQuote { position }
            | Self::Interpolation { position, .. } => *position,
        }
    }

    /// 1-based line of the problem.
    #[cfg_attr(not(test), allow(dead_code))] // read by the unit tests only
    pub(crate) fn line(&self) -> usize {
        self.position().line
    }
}

/// Parse a dotenv file as compose-go's dotenv package does (`KEY=VALUE`, `export KEY=...`,
/// `KEY: VALUE`, single quotes literal, double quotes with escapes `\n` etc., unquoted values
/// with a trailing ` #comment` stripped, blank lines and `#` comments, `KEY` alone (no `=`)
/// takes the value from `lookup` if present, `${VAR}` interpolation in unquoted and
/// double-quoted values (`lookup` first, then keys defined earlier in the file), multi-line
/// quoted values, CRLF, BOM).
///
/// Kept from compose-go on purpose: a last line `KEY` with no newline after it is not a
/// lookup but the value of the empty key (`"" → "KEY"`), and `=value` sets the empty key too;
/// neither can be referenced by interpolation.
pub(crate) fn parse_dotenv(
    text: &str,
    lookup: &dyn Vars,
) -> Result<IndexMap<String, String>, DotenvError> {
    let mut parser = Parser {
        text,
        lookup,
        out: IndexMap::new(),
        expanded: 0,
    };
    let mut pos = if text.starts_with('\u{feff}') {
        '\u{feff}'.len_utf8()
    } else {
        0
    };
    while let Some(start) = parser.statement_start(pos) {
        pos = parser.statement(start)?;
    }
    Ok(parser.out)
}

struct Parser<'a> {
    text: &'a str,
    lookup: &'a dyn Vars,
    out: IndexMap<String, String>,
    /// Bytes produced by interpolation so far: each value is bounded by `interpolate`, this
    /// bounds the file (a large value referenced on every line).
    expanded: usize,
}

/// The most an env file's values may hold once interpolated.
const MAX_EXPANDED_BYTES: usize = 64 << 20;

impl Parser<'_> {
    fn at(&self, offset: usize) -> Position {
        Position::of(self.text, offset)
    }

    /// Start of the next statement at or after `pos`, skipping blank space and comment lines.
    fn statement_start(&self, mut pos: usize) -> Option<usize> {
        loop {
            pos += self.text[pos..].find(|c: char| !c.is_whitespace())?;
            if !self.text[pos..].starts_with('#') {
                return Some(pos);
            }
            // the newline itself is skipped as blank space by the next turn
            pos += self.text[pos..].find('\n')?;
        }
    }

    /// Parses the statement at `start` into `out`; returns where the next one may start.
    fn statement(&mut self, start: usize) -> Result<usize, DotenvError> {
        let text = self.text;
        let bytes = text.as_bytes();
        // compose-go: `^export\s+` (RE2 `\s` is `[\t\n\f\r ]`) then trims its own space set
        let mut key_start = start;
        if text[start..].starts_with("export")
            && matches!(
                bytes.get(start + 6),
                Some(b'\t' | b'\n' | b'\x0c' | b'\r' | b' ')
            )
        {
            key_start = skip_space(text, start + 6);
        }
        if key_start == text.len() {
            return Err(DotenvError::MissingName {
                position: self.at(start),
            });
        }

        let mut terminator = None;
        for (i, c) in text[key_start..].char_indices() {
            if is_space(c) {
                continue;
            }
            match c {
                '=' | ':' | '\n' => {
                    terminator = Some((key_start + i, c == '\n'));
                    break;
                }
                c if is_key_char(c) => {}
                c => {
                    return Err(DotenvError::UnexpectedCharacter {
                        ch: c,
                        position: self.at(key_start + i),
                    });
                }
            }
        }
        // No terminator before the end of the file: compose-go reads the rest as the value of
        // the empty key.
        let (key, value_from, inherited) = match terminator {
            Some((end, inherited)) => (
                text[key_start..end].trim_end_matches(char::is_whitespace),
                end + 1,
                inherited,
            ),
            None => ("", key_start, false),
        };
        // only U+0020 counts here: a tab inside a name is accepted, as in compose-go
        if key.contains(' ') {
            return Err(DotenvError::SpaceInName {
                position: self.at(key_start),
            });
        }
        let value_start = skip_space(text, value_from);

        if inherited {
            if let Some(value) = self.lookup.get(key) {
                self.out.insert(key.to_owned(), value.to_owned());
            }
            return Ok(value_start);
        }

        match bytes.get(value_start) {
            Some(&quote @ (b'"' | b'\'')) => self.quoted(key, value_start, char::from(quote)),
            _ => self.unquoted(key, value_start),
        }
    }

    fn unquoted(&mut self, key: &str, start: usize) -> Result<usize, DotenvError> {
        let text = self.text;
        let (line_end, next) = match text[start..].find('\n') {
            Some(i) => (start + i, start + i + 1),
            None => (text.len(), text.len()),
        };
        let raw = &text[start..line_end];
        // only a `#` preceded by a space starts a comment: `a#b` and `a\t#b` are values
        let raw = raw.find(" #").map_or(raw, |i| &raw[..i]);
        let raw = raw.trim_end_matches(char::is_whitespace);
        // `raw` is a prefix of the text from `start`, so error offsets map back exactly
        let value = self
            .expand(raw)
            .map_err(|error| self.interpolation_error(key, start + error.offset(), error))?;
        self.out.insert(key.to_owned(), value);
        Ok(next)
    }

    fn quoted(&mut self, key: &str, start: usize, quote: char) -> Result<usize, DotenvError> {
        let text = self.text;
        let mut raw = String::new();
        let mut escaped = false;
        let mut close = None;
        for (i, c) in text[start + 1..].char_indices() {
            if escaped {
                escaped = false;
                // an escaped quote loses its backslash, anything else keeps it for later
                if c != quote {
                    raw.push('\\');
                }
                raw.push(c);
            } else if c == '\\' {
                escaped = true;
            } else if c == quote {
                close = Some(start + 1 + i);
                break;
            } else {
                raw.push(c);
            }
        }
        let Some(close) = close else {
            return Err(DotenvError::UnterminatedQuote {
                position: self.at(start),
            });
        };
        let value = if quote == '"' {
            self.expand(&expand_escapes(&raw))
                .map_err(|error| self.interpolation_error(key, start, error))?
        } else {
            raw
        };
        self.out.insert(key.to_owned(), value);
        // the rest of the line is parsed as further statements, as compose-go does
        Ok(close + 1)
    }

    fn expand(&mut self, raw: &str) -> Result<String, InterpolateError> {
        let vars = FileVars {
            lookup: self.lookup,
            current: &self.out,
        };
        let value = interpolate::interpolate(raw, &vars)?.value;
        self.expanded = self.expanded.saturating_add(value.len());
        if self.expanded > MAX_EXPANDED_BYTES {
            return Err(InterpolateError::TooLarge { offset: 0 });
        }
        Ok(value)
    }

    fn interpolation_error(
        &self,
        key: &str,
        offset: usize,
        error: InterpolateError,
    ) -> DotenvError {
        DotenvError::Interpolation {
            key: key.to_owned(),
            position: self.at(offset),
            error,
        }
    }
}

/// What `${VAR}` sees inside an env file: the lookup first, then the file's earlier keys.
struct FileVars<'a> {
    lookup: &'a dyn Vars,
    current: &'a IndexMap<String, String>,
}

impl Vars for FileVars<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.lookup
            .get(name)
            .or_else(|| self.current.get(name).map(String::as_str))
    }
}

/// compose-go's `isSpace`: blank space that is not a line break.
fn is_space(c: char) -> bool {
    matches!(
        c,
        '\t' | '\u{b}' | '\u{c}' | '\r' | ' ' | '\u{85}' | '\u{a0}'
    )
}

/// compose-go accepts letters, numbers and `_.-[]` in names. Go's `unicode.IsLetter` is the
/// `L` categories; `is_alphabetic` also admits a few combining marks, which no real file uses.
fn is_key_char(c: char) -> bool {
    matches!(c, '_' | '.' | '-' | '[' | ']') || c.is_alphabetic() || c.is_numeric()
}

fn skip_space(text: &str, from: usize) -> usize {
    text[from..]
        .find(|c: char| !is_space(c))
        .map_or(text.len(), |i| from + i)
}

/// Backslash escapes of double-quoted values (compose-go `expandEscapes`): `\a \b \f \n \r \t
/// \v \" \\`, `\$` (a literal dollar), and XSI octal `\0ddd`. Anything else stays as written.
fn expand_escapes(raw: &str) -> String {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        let Some(&(_, next)) = chars.peek() else {
            out.push('\\');
            break;
        };
        let simple = match next {
            'a' => Some("\u{7}"),
            'b' => Some("\u{8}"),
            'f' => Some("\u{c}"),
            'n' => Some("\n"),
            'r' => Some("\r"),
            't' => Some("\t"),
            'v' => Some("\u{b}"),
            '"' => Some("\""),
            '\\' => Some("\\"),
            // interpolation then turns `$$` into one literal `$`
            '$' => Some("$$"),
            _ => None,
        };
        if let Some(replacement) = simple {
            out.push_str(replacement);
            chars.next();
            continue;
        }
        if next != '0' {
            out.push('\\');
            continue;
        }
        chars.next();
        let digits_start = i + 2;
        let digits_len = raw[digits_start..]
            .bytes()
            .take(3)
            .take_while(u8::is_ascii_digit)
            .count();
        let digits = &raw[digits_start..digits_start + digits_len];
        for _ in 0..digits_len {
            chars.next();
        }
        // Go rewrites `\0ddd` to `\ddd` and unquotes it: exactly three octal digits up to 255
        // become that code point; otherwise the rewritten text (without the `0`) is kept.
        match u32::from_str_radix(digits, 8) {
            Ok(code) if digits_len == 3 && code <= 255 => {
                out.push(char::from_u32(code).unwrap_or(char::REPLACEMENT_CHARACTER));
            }
            _ => {
                out.push('\\');
                out.push_str(digits);
            }
        }
    }
    out
}

/// Where a variable's value comes from.
#[cfg_attr(not(test), allow(dead_code))] // read by the unit tests only
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum VarOrigin<'a> {
    /// Given with [`ProjectEnv::set`] (e.g. `COMPOSE_PROJECT_NAME`).
    Set,
    /// The process environment.
    Process,
    /// An env file (the project's own or one of an `include` entry).
    EnvFile(&'a Path),
}

#[derive(Debug, Clone)]
struct FileValue {
    value: String,
    #[cfg_attr(not(test), allow(dead_code))] // read by the unit tests only (`origin`)
    file: usize,
    /// For `include` env files: the `ProjectEnv` that added it (see `add_env_file_under`).
    owner: u64,
}

/// Gives every `ProjectEnv` (and every clone) its own identity.
static NEXT_ID: AtomicU64 = AtomicU64::new(0);

fn next_id() -> u64 {
    NEXT_ID.fetch_add(1, Ordering::Relaxed)
}

/// The variables interpolation sees for one project: process environment over env files.
#[derive(Debug)]
pub(crate) struct ProjectEnv {
    id: u64,
    set: IndexMap<String, String>,
    /// Shared: every project of a run starts from the same process environment.
    process: Arc<IndexMap<String, String>>,
    files: IndexMap<String, FileValue>,
    included: IndexMap<String, FileValue>,
    paths: Vec<PathBuf>,
}

/// A clone starts a new `include` scope: env files added to it with `add_env_file_under` can
/// override each other but never what the original already had.
impl Clone for ProjectEnv {
    fn clone(&self) -> Self {
        Self {
            id: next_id(),
            set: self.set.clone(),
            process: self.process.clone(),
            files: self.files.clone(),
            included: self.included.clone(),
            paths: self.paths.clone(),
        }
    }
}

impl ProjectEnv {
    /// `process`: the process environment (passed in, never read inside, for testability).
    pub fn new(process: Arc<IndexMap<String, String>>) -> Self {
        Self {
            id: next_id(),
            set: IndexMap::new(),
            process,
            files: IndexMap::new(),
            included: IndexMap::new(),
            paths: Vec::new(),
        }
    }

    /// Adds one of the project's env files (`.env` of the project dir, or each `--env-file` in
    /// order): its values override earlier files, the process environment overrides them all.
    /// Interpolation inside it sees the process environment, then earlier files, then the keys
    /// above it in the same file (compose-go `GetEnvFromFile`).
    pub(crate) fn add_env_file(&mut self, path: &Path, text: &str) -> Result<(), DotenvError> {
        let lookup = ProcessThenFiles {
            process: &self.process,
            files: &self.files,
        };
        let parsed = parse_dotenv(text, &lookup)?;
        let file = self.push_path(path);
        for (name, value) in parsed {
            let entry = FileValue {
                value,
                file,
                owner: self.id,
            };
            self.files.insert(name, entry);
        }
        Ok(())
    }

    /// Adds an env file of an `include` entry: its values only fill variables the including
    /// project does not define (compose-go `Environment.Clone().Merge(envFromFile)`). Several
    /// files of one `include` (added to the same clone) override each other in order.
    pub(crate) fn add_env_file_under(
        &mut self,
        path: &Path,
        text: &str,
    ) -> Result<(), DotenvError> {
        let parsed = parse_dotenv(text, &*self)?;
        let file = self.push_path(path);
        for (name, value) in parsed {
            let defined_above = self.set.contains_key(&name)
                || self.process.contains_key(&name)
                || self.files.contains_key(&name)
                || self.included.get(&name).is_some_and(|e| e.owner != self.id);
            if !defined_above {
                let entry = FileValue {
                    value,
                    file,
                    owner: self.id,
                };
                self.included.insert(name, entry);
            }
        }
        Ok(())
    }

    /// Sets a variable over every other source (used for `COMPOSE_PROJECT_NAME` once known).
    /// Note that compose-go itself only adds `COMPOSE_PROJECT_NAME` when the environment (process
    /// or env files) does not define it already: use [`ProjectEnv::set_if_absent`] for that.
    pub(crate) fn set(&mut self, name: &str, value: &str) {
        self.set.insert(name.to_owned(), value.to_owned());
    }

    /// Sets a variable only if no source defines it (compose-go's treatment of
    /// `COMPOSE_PROJECT_NAME`).
    pub(crate) fn set_if_absent(&mut self, name: &str, value: &str) {
        if self.get(name).is_none() {
            self.set(name, value);
        }
    }

    /// Where the value of `name` comes from, `None` when it is not set.
    #[cfg_attr(not(test), allow(dead_code))] // read by the unit tests only
    pub(crate) fn origin(&self, name: &str) -> Option<VarOrigin<'_>> {
        if self.set.contains_key(name) {
            return Some(VarOrigin::Set);
        }
        if self.process.contains_key(name) {
            return Some(VarOrigin::Process);
        }
        let entry = self.files.get(name).or_else(|| self.included.get(name))?;
        self.paths
            .get(entry.file)
            .map(|p| VarOrigin::EnvFile(p.as_path()))
    }

    /// The env files added so far, in order.
    #[cfg_attr(not(test), allow(dead_code))] // read by the unit tests only
    pub(crate) fn env_files(&self) -> &[PathBuf] {
        &self.paths
    }

    fn push_path(&mut self, path: &Path) -> usize {
        self.paths.push(path.to_path_buf());
        self.paths.len() - 1
    }
}

impl Vars for ProjectEnv {
    fn get(&self, name: &str) -> Option<&str> {
        self.set
            .get(name)
            .or_else(|| self.process.get(name))
            .map(String::as_str)
            .or_else(|| self.files.get(name).map(|e| e.value.as_str()))
            .or_else(|| self.included.get(name).map(|e| e.value.as_str()))
    }
}

/// What `${VAR}` sees while a project env file is parsed.
struct ProcessThenFiles<'a> {
    process: &'a IndexMap<String, String>,
    files: &'a IndexMap<String, FileValue>,
}

impl Vars for ProcessThenFiles<'_> {
    fn get(&self, name: &str) -> Option<&str> {
        self.process
            .get(name)
            .map(String::as_str)
            .or_else(|| self.files.get(name).map(|e| e.value.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(pairs: &[(&str, &str)]) -> IndexMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    fn parse(text: &str) -> IndexMap<String, String> {
        parse_with(text, &map(&[]))
    }

    fn parse_with(text: &str, lookup: &IndexMap<String, String>) -> IndexMap<String, String> {
        match parse_dotenv(text, lookup) {
            Ok(m) => m,
            Err(e) => panic!("{text:?}: unexpected error {e:?}"),
        }
    }

    fn value(text: &str, key: &str) -> String {
        let parsed = parse(text);
        match parsed.get(key) {
            Some(v) => v.clone(),
            None => panic!("{text:?}: no key {key:?} in {parsed:?}"),
        }
    }

    fn error(text: &str) -> DotenvError {
        match parse_dotenv(text, &map(&[])) {
            Ok(m) => panic!("{text:?}: expected an error, got {m:?}"),
            Err(e) => e,
        }
    }

    #[test]
    fn values_as_compose_go_parses_them() {
        let cases: &[(&str, &str, &str)] = &[
            ("FOO=bar", "FOO", "bar"),
            ("FOO =bar", "FOO", "bar"),
            ("FOO= bar", "FOO", "bar"),
            ("FOO=\"bar\"", "FOO", "bar"),
            ("FOO='bar'", "FOO", "bar"),
            (r#"FOO="escaped\"bar""#, "FOO", r#"escaped"bar"#),
            (r#"FOO="\"quoted\"""#, "FOO", r#""quoted""#),
            (r#"FOO="'d'""#, "FOO", "'d'"),
            ("OPTION_A: 1", "OPTION_A", "1"),
            ("OPTION_A: Foo=bar", "OPTION_A", "Foo=bar"),
            ("OPTION_A=1:B", "OPTION_A", "1:B"),
            ("export OPTION_A=2", "OPTION_A", "2"),
            (r"export OPTION_B='\n'", "OPTION_B", r"\n"),
            ("export exportFoo=2", "exportFoo", "2"),
            ("exportFOO=2", "exportFOO", "2"),
            ("export_FOO =2", "export_FOO", "2"),
            ("export.FOO= 2", "export.FOO", "2"),
            ("export\tOPTION_A=2", "OPTION_A", "2"),
            ("  export OPTION_A=2", "OPTION_A", "2"),
            ("\texport OPTION_A=2", "OPTION_A", "2"),
            (r#"export OPTION_A="export A""#, "OPTION_A", "export A"),
            ("export=1", "export", "1"),
            (r#"FOO="bar\nbaz""#, "FOO", "bar\nbaz"),
            (r"FOO=a\tb", "FOO", r"a\tb"),
            (r#"FOO="a\tb""#, "FOO", "a\tb"),
            (
                r#"KEY="Z\aZ\bZ\fZ\nZ\rZ\tZ\vZ\\Z\0123Z""#,
                "KEY",
                "Z\u{7}Z\u{8}Z\u{c}Z\nZ\rZ\tZ\u{b}Z\\ZSZ",
            ),
            ("FOO.BAR=foobar", "FOO.BAR", "foobar"),
            ("FOO=foobar=", "FOO", "foobar="),
            ("FOO=bar ", "FOO", "bar"),
            ("FOO=bar # this is foo", "FOO", "bar"),
            ("FOO=bar #this is foo", "FOO", "bar"),
            ("FOO=bar #", "FOO", "bar"),
            (
                "FOO=123#not-an-inline-comment",
                "FOO",
                "123#not-an-inline-comment",
            ),
            ("FOO=a\t#b", "FOO", "a\t#b"),
            // the space before `#` is eaten as leading space of the value
            ("FOO= #not a comment", "FOO", "#not a comment"),
            ("FOO=  a  #  c", "FOO", "a"),
            (r#"FOO="bar#baz""#, "FOO", "bar#baz"),
            (r##"FOO="bar#baz"#"##, "FOO", "bar#baz"),
            (r#"FOO="bar#baz" # comment"#, "FOO", "bar#baz"),
            ("FOO='bar#baz' # comment", "FOO", "bar#baz"),
            (r#"FOO="bar#baz#bang" # comment"#, "FOO", "bar#baz#bang"),
            (r#"FOO="ba#r""#, "FOO", "ba#r"),
            ("FOO='ba#r'", "FOO", "ba#r"),
            (r#"FOO="bar\n\ b\az""#, "FOO", "bar\n\\ b\u{7}z"),
            (r#"FOO="bar\\\n\ b\az""#, "FOO", "bar\\\n\\ b\u{7}z"),
            (r#"FOO="bar\\r\ b\az""#, "FOO", "bar\\r\\ b\u{7}z"),
            (r#"FOO="bar\nbaz\\""#, "FOO", "bar\nbaz\\"),
            (r#"="value""#, "", "value"),
            (" KEY =value", "KEY", "value"),
            ("   KEY=value", "KEY", "value"),
            ("\tKEY=value", "KEY", "value"),
            (r#"KEY="\0123""#, "KEY", "S"),
            (r#"KEY="\x07""#, "KEY", r"\x07"),
            (r#"KEY="\u12e4""#, "KEY", r"\u12e4"),
            (r#"KEY="\U00101234""#, "KEY", r"\U00101234"),
            (r#"KEY="\c""#, "KEY", r"\c"),
            // octal quirks: the `0` is dropped when the rest is not three octal digits
            (r#"KEY="\0""#, "KEY", r"\"),
            (r#"KEY="\012""#, "KEY", r"\12"),
            (r#"KEY="\0999""#, "KEY", r"\999"),
            (r#"KEY="\0400""#, "KEY", r"\400"),
            (r#"KEY="\0377""#, "KEY", "\u{ff}"),
            (r#"KEY="\01234""#, "KEY", "S4"),
            (r#"KEY="a\\""#, "KEY", "a\\"),
            // single quotes: literal, only `\'` is unescaped
            (r"KEY='a\'b'", "KEY", "a'b"),
            (r"KEY='a\\b'", "KEY", r"a\\b"),
            (r"KEY='a\nb'", "KEY", r"a\nb"),
            ("KEY='$HOME'", "KEY", "$HOME"),
            // empty values
            ("KEY=", "KEY", ""),
            ("KEY=\nNEXT=1", "KEY", ""),
            ("KEY=\"\"", "KEY", ""),
            ("KEY=''", "KEY", ""),
            ("KEY= ", "KEY", ""),
            // unicode names and values
            (
                "árvíztűrő-TÜKÖRFÚRÓGÉP=ÁRVÍZTŰRŐ-tükörfúrógép",
                "árvíztűrő-TÜKÖRFÚRÓGÉP",
                "ÁRVÍZTŰRŐ-tükörfúrógép",
            ),
            ("a[1]=c", "a[1]", "c"),
            ("VAR-WITH-DASHES=dashes", "VAR-WITH-DASHES", "dashes"),
            ("K=🐳 whale", "K", "🐳 whale"),
            // a tab inside a name is kept (only U+0020 is refused)
            ("MY\tKEY=v", "MY\tKEY", "v"),
        ];
        for (text, key, expected) in cases {
            assert_eq!(value(text, key), *expected, "text {text:?}");
        }
    }

    #[test]
    fn whole_file() {
        let text = "\
# a comment
  # an indented comment

OPTION_A=1
OPTION_B='2'
export OPTION_C = \"3\"
OPTION_D: 4
OPTION_E=
OPTION_F=\"first line
second line\"
OPTION_G='multi
line'   # trailing comment
OPTION_H=my string  # comment
";
        let parsed = parse(text);
        let expected = map(&[
            ("OPTION_A", "1"),
            ("OPTION_B", "2"),
            ("OPTION_C", "3"),
            ("OPTION_D", "4"),
            ("OPTION_E", ""),
            ("OPTION_F", "first line\nsecond line"),
            ("OPTION_G", "multi\nline"),
            ("OPTION_H", "my string"),
        ]);
        assert_eq!(parsed, expected);
        let keys: Vec<&str> = parsed.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            expected.keys().map(String::as_str).collect::<Vec<_>>()
        );
    }

    #[test]
    fn crlf_and_bom() {
        let text = "\u{feff}A=1\r\nB=\"two\"\r\n\r\n# c\r\nC='3' \r\nD = x y \r\nE\r\n";
        let lookup = map(&[("E", "from env")]);
        assert_eq!(
            parse_with(text, &lookup),
            map(&[
                ("A", "1"),
                ("B", "two"),
                ("C", "3"),
                ("D", "x y"),
                ("E", "from env")
            ])
        );
        // CRLF inside a quoted value is kept
        assert_eq!(value("A=\"x\r\ny\"\r\n", "A"), "x\r\ny");
        // only a leading BOM is skipped
        assert!(matches!(
            error("A=1\n\u{feff}B=2"),
            DotenvError::UnexpectedCharacter { ch: '\u{feff}', .. }
        ));
    }

    #[test]
    fn key_alone_takes_the_lookup_value() {
        let lookup = map(&[("INHERITED", "from env"), ("EMPTY", "")]);
        let parsed = parse_with("INHERITED\nEMPTY\nMISSING\nA=1\n", &lookup);
        assert_eq!(
            parsed,
            map(&[("INHERITED", "from env"), ("EMPTY", ""), ("A", "1")])
        );
        assert_eq!(
            parse_with("export INHERITED\n", &lookup),
            map(&[("INHERITED", "from env")])
        );
        // `KEY=` is an empty value, `KEY` with nothing set is absent
        assert_eq!(parse("KEY=\n"), map(&[("KEY", "")]));
        assert_eq!(parse("KEY\n"), map(&[]));
        // compose-go quirk: without a newline after it, the last `KEY` is a value of ""
        assert_eq!(
            parse_with("A=1\nINHERITED", &lookup),
            map(&[("A", "1"), ("", "INHERITED")])
        );
        // an inherited key does not see keys of the same file
        assert_eq!(parse("A=1\nA\n"), map(&[("A", "1")]));
    }

    #[test]
    fn interpolation_in_values() {
        let cases: &[(&str, &str, &str)] = &[
            ("FOO=test\nBAR=$FOO", "BAR", "test"),
            ("FOO=test\nBAR=${FOO}bar", "BAR", "testbar"),
            ("BAR=$FOO", "BAR", ""),
            ("FOO=test\nBAR=\"quote $FOO\"", "BAR", "quote test"),
            ("BAR='quote $FOO'", "BAR", "quote $FOO"),
            (r#"FOO="foo\$BAR""#, "FOO", "foo$BAR"),
            (r#"FOO="foo\${BAR}""#, "FOO", "foo${BAR}"),
            (
                "FOO=test\nBAR=\"foo\\${FOO} ${FOO}\"",
                "BAR",
                "foo${FOO} test",
            ),
            ("FOO=$$BAR", "FOO", "$BAR"),
            ("A=1\nB=${A:-x}_${C:-y}", "B", "1_y"),
            ("A=\nB=${A-x}", "B", ""),
            ("B=${A:+x}", "B", ""),
            ("B=${A:-{}}", "B", "{}"),
            ("A=1\nA=2\nB=$A", "B", "2"),
            // the comment is cut before interpolation, so `$C` is never looked at
            ("A=1\nB=$A #$C", "B", "1"),
        ];
        for (text, key, expected) in cases {
            assert_eq!(value(text, key), *expected, "text {text:?}");
        }
    }

    #[test]
    fn lookup_wins_over_the_file_in_interpolation() {
        // compose-go fixture substitutions.env with OPTION_A=5 in the process environment
        let text = "OPTION_A=1\nOPTION_B=${OPTION_A}\nOPTION_C=$OPTION_B\nOPTION_D=${OPTION_A}_${OPTION_B}\nOPTION_E=${OPTION_NOT_DEFINED}\n";
        let lookup = map(&[("OPTION_A", "5")]);
        assert_eq!(
            parse_with(text, &lookup),
            map(&[
                ("OPTION_A", "1"),
                ("OPTION_B", "5"),
                ("OPTION_C", "5"),
                ("OPTION_D", "5_5"),
                ("OPTION_E", ""),
            ])
        );
        assert_eq!(
            parse_with("TEST=$ME", &map(&[("ME", "YES")])),
            map(&[("TEST", "YES")])
        );
    }

    #[test]
    fn quirks_kept_from_compose_go() {
        // text after a closing quote is read as further statements
        let lookup = map(&[("b", "B")]);
        assert_eq!(
            parse_with("A=\"a\"b\n", &lookup),
            map(&[("A", "a"), ("b", "B")])
        );
        assert_eq!(parse("A=\"a\"C=1\n"), map(&[("A", "a"), ("C", "1")]));
        // `export =1` sets the empty key
        assert_eq!(parse("export =1"), map(&[("", "1")]));
        // `KEY:value` is the yaml-like form
        assert_eq!(parse("URL: http://x:1/"), map(&[("URL", "http://x:1/")]));
        assert_eq!(parse("A=b=c:d"), map(&[("A", "b=c:d")]));
    }

    #[test]
    fn errors_with_positions() {
        let e = error("%!(EXTRA string)=foo");
        assert_eq!(
            e,
            DotenvError::UnexpectedCharacter {
                ch: '%',
                position: Position {
                    offset: 0,
                    line: 1,
                    column: 1
                },
            }
        );
        assert_eq!(e.to_string(), "unexpected character `%` in variable name");

        let e = error("A=1\n\n  lol$wut\n");
        assert_eq!(
            e.position(),
            Position {
                offset: 10,
                line: 3,
                column: 6
            }
        );
        assert!(matches!(
            e,
            DotenvError::UnexpectedCharacter { ch: '$', .. }
        ));

        let e = error("A=1\nMY KEY=value\n");
        assert_eq!(
            e,
            DotenvError::SpaceInName {
                position: Position {
                    offset: 4,
                    line: 2,
                    column: 1
                }
            }
        );
        assert_eq!(e.line(), 2);
        assert!(matches!(
            error("KEY VALUE\n"),
            DotenvError::SpaceInName { .. }
        ));

        assert!(matches!(
            error("\"KEY\"=1"),
            DotenvError::UnexpectedCharacter { ch: '"', .. }
        ));
        assert!(matches!(
            error("KEY#=1"),
            DotenvError::UnexpectedCharacter { ch: '#', .. }
        ));
        assert!(matches!(
            error("A='a' 'b'"),
            DotenvError::UnexpectedCharacter { ch: '\'', .. }
        ));
        assert!(matches!(
            error("é=1\nü$=2"),
            DotenvError::UnexpectedCharacter {
                position: Position {
                    line: 2,
                    column: 2,
                    ..
                },
                ..
            }
        ));

        let e = error("A=1\nexport ");
        assert_eq!(
            e,
            DotenvError::MissingName {
                position: Position {
                    offset: 4,
                    line: 2,
                    column: 1
                }
            }
        );

        for text in [
            r#"KEY=""#,
            r#"KEY="value"#,
            r#"KEY="value\""#,
            r#"KEY="value'"#,
            "KEY='",
            "KEY='value",
            r"KEY='value\'",
            r#"KEY='value""#,
        ] {
            let e = error(text);
            assert_eq!(
                e,
                DotenvError::UnterminatedQuote {
                    position: Position {
                        offset: 4,
                        line: 1,
                        column: 5
                    }
                },
                "text {text:?}"
            );
            assert_eq!(e.to_string(), "quoted value is never closed");
        }
        let e = error("A=1\nB=\"open\nstill open\n");
        assert_eq!(
            e.position(),
            Position {
                offset: 6,
                line: 2,
                column: 3
            }
        );
    }

    #[test]
    fn interpolation_errors() {
        let e = error("A=1\nB=x${C\n");
        assert_eq!(
            e,
            DotenvError::Interpolation {
                key: "B".into(),
                position: Position {
                    offset: 7,
                    line: 2,
                    column: 4
                },
                error: InterpolateError::Invalid { offset: 1 },
            }
        );
        assert_eq!(e.to_string(), "invalid interpolation format");

        let e = error("B=\"${C:?need C}\"");
        assert_eq!(
            e.position(),
            Position {
                offset: 2,
                line: 1,
                column: 3
            }
        );
        assert_eq!(
            e.to_string(),
            "required variable C is missing a value: need C"
        );
        // single-quoted values are never interpolated
        assert_eq!(value("B='${'", "B"), "${");
    }

    #[test]
    fn blank_and_comment_only_files() {
        for text in [
            "",
            "\n",
            "\r\n",
            "\t\t ",
            "# Comment",
            "\t # comment",
            "#a\n#b\n\n",
            "\u{feff}",
        ] {
            assert_eq!(parse(text), map(&[]), "text {text:?}");
        }
    }

    #[test]
    fn project_env_precedence() {
        let process = map(&[
            ("FROM_PROCESS", "p"),
            ("BOTH", "process wins"),
            ("TAG", "1.0"),
        ]);
        let mut env = ProjectEnv::new(process.into());
        env.add_env_file(
            Path::new("/p/.env"),
            "BOTH=file\nONLY_FILE=f\nIMAGE=app:${TAG}\nSHARED=first\n",
        )
        .expect("valid");
        env.add_env_file(
            Path::new("/p/second.env"),
            "SHARED=second\nREF=${ONLY_FILE}-${SHARED}\n",
        )
        .expect("valid");
        assert_eq!(env.get("FROM_PROCESS"), Some("p"));
        assert_eq!(env.get("BOTH"), Some("process wins"));
        assert_eq!(env.get("ONLY_FILE"), Some("f"));
        assert_eq!(env.get("IMAGE"), Some("app:1.0"));
        assert_eq!(env.get("SHARED"), Some("second"));
        // earlier files are visible, the same file's earlier key loses to them
        assert_eq!(env.get("REF"), Some("f-first"));
        assert_eq!(env.get("NOPE"), None);

        assert_eq!(env.origin("FROM_PROCESS"), Some(VarOrigin::Process));
        assert_eq!(env.origin("BOTH"), Some(VarOrigin::Process));
        assert_eq!(
            env.origin("SHARED"),
            Some(VarOrigin::EnvFile(Path::new("/p/second.env")))
        );
        assert_eq!(
            env.origin("ONLY_FILE"),
            Some(VarOrigin::EnvFile(Path::new("/p/.env")))
        );
        assert_eq!(env.origin("NOPE"), None);
        assert_eq!(env.env_files().len(), 2);

        env.set("COMPOSE_PROJECT_NAME", "demo");
        env.set("BOTH", "set wins");
        assert_eq!(env.get("COMPOSE_PROJECT_NAME"), Some("demo"));
        assert_eq!(env.get("BOTH"), Some("set wins"));
        assert_eq!(env.origin("BOTH"), Some(VarOrigin::Set));

        let r = interpolate::interpolate("${IMAGE}-${COMPOSE_PROJECT_NAME}", &env).expect("valid");
        assert_eq!(r.value, "app:1.0-demo");
    }

    #[test]
    fn set_if_absent_keeps_existing_values() {
        let mut env = ProjectEnv::new(map(&[("COMPOSE_PROJECT_NAME", "from-env")]).into());
        env.set_if_absent("COMPOSE_PROJECT_NAME", "flag");
        env.set_if_absent("OTHER", "x");
        assert_eq!(env.get("COMPOSE_PROJECT_NAME"), Some("from-env"));
        assert_eq!(env.get("OTHER"), Some("x"));
    }

    #[test]
    fn inherited_keys_in_project_files() {
        let mut env = ProjectEnv::new(map(&[("P", "process")]).into());
        env.add_env_file(Path::new("a.env"), "F=first\n")
            .expect("valid");
        env.add_env_file(Path::new("b.env"), "P\nF\nX\n")
            .expect("valid");
        assert_eq!(env.get("P"), Some("process"));
        assert_eq!(env.get("F"), Some("first"));
        assert_eq!(
            env.origin("F"),
            Some(VarOrigin::EnvFile(Path::new("b.env")))
        );
        assert_eq!(env.get("X"), None);
    }

    #[test]
    fn include_env_files_fill_gaps_only() {
        let mut env = ProjectEnv::new(map(&[("P", "process")]).into());
        env.add_env_file(Path::new("/p/.env"), "A=outer\n")
            .expect("valid");
        let mut inc = env.clone();
        inc.add_env_file_under(Path::new("/p/sub/.env"), "A=inner\nP=inner\nB=b1\nC=${A}\n")
            .expect("valid");
        inc.add_env_file_under(Path::new("/p/sub/more.env"), "B=b2\n")
            .expect("valid");
        assert_eq!(inc.get("A"), Some("outer"));
        assert_eq!(inc.get("P"), Some("process"));
        // later files of the same include override earlier ones
        assert_eq!(inc.get("B"), Some("b2"));
        assert_eq!(inc.get("C"), Some("outer"));
        assert_eq!(
            inc.origin("B"),
            Some(VarOrigin::EnvFile(Path::new("/p/sub/more.env")))
        );
        // the original is untouched
        assert_eq!(env.get("B"), None);
        // a nested include cannot override what its parent include set
        let mut nested = inc.clone();
        nested
            .add_env_file_under(Path::new("/p/sub/deeper/.env"), "B=nested\nD=d\n")
            .expect("valid");
        assert_eq!(nested.get("B"), Some("b2"));
        assert_eq!(nested.get("D"), Some("d"));
    }

    #[test]
    fn env_file_errors_propagate() {
        let mut env = ProjectEnv::new(Default::default());
        let e = env
            .add_env_file(Path::new(".env"), "OK=1\nBAD KEY=2\n")
            .expect_err("invalid");
        assert_eq!(e.line(), 2);
        assert!(env.env_files().is_empty());
        assert_eq!(env.get("OK"), None);
    }

    #[test]
    fn large_files_parse() {
        let text: String = (0..20_000).map(|i| format!("K{i}=v{i} # c\n")).collect();
        let parsed = parse(&text);
        assert_eq!(parsed.len(), 20_000);
        assert_eq!(parsed.get("K19999").map(String::as_str), Some("v19999"));
        let comments = "#\n".repeat(100_000);
        assert!(parse(&comments).is_empty());
    }
}
