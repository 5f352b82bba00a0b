//! Compose variable interpolation (`$VAR`, `${VAR:-default}`, ...) with the exact semantics of compose-go's `template.Substitute`.
//!
//! compose-go matches `\$(?i:(\$)|([_a-z][_a-z0-9]*)|{(?:([_a-z][_a-z0-9]*(?::?[-+?](.*))?)}|()))`
//! and then splits a braced match at its first *balanced* closing brace. This module reproduces
//! that behaviour with a hand-written scanner so that it is linear-ish in time, bounded in stack
//! depth, and can report the byte offset of the expression at fault. The observable quirks kept
//! on purpose (they decide what docker compose actually does):
//!
//! - the regex runs case-insensitively, so Go's case folding lets `ſ` (U+017F) and `K` (U+212A)
//!   appear in variable names;
//! - `.` does not match a newline, so a `${VAR:-...}` whose `}` is on a later line is invalid;
//! - the braced match extends to the last `}` on the line, and compose-go's brace counter skips
//!   the character after every `{`, so `${A:-{}}` has the default `{}`;
//! - defaults, alternatives and messages are interpolated only when they are used (compose-go
//!   v2.13), so an unset variable inside an unused default is neither reported nor an error.

use std::hash::BuildHasher;

use foldhash::{HashSet, HashSetExt};

/// Where variable values come from (process env overrides the .env file, see env.rs).
pub(crate) trait Vars {
    /// The value of `name`, `None` when the variable is not set at all (set-but-empty is `Some("")`).
    fn get(&self, name: &str) -> Option<&str>;
}

impl<S: BuildHasher> Vars for std::collections::HashMap<String, String, S> {
    fn get(&self, name: &str) -> Option<&str> {
        std::collections::HashMap::get(self, name).map(String::as_str)
    }
}

impl<S: BuildHasher> Vars for indexmap::IndexMap<String, String, S> {
    fn get(&self, name: &str) -> Option<&str> {
        indexmap::IndexMap::get(self, name).map(String::as_str)
    }
}

impl<V: Vars + ?Sized> Vars for &V {
    fn get(&self, name: &str) -> Option<&str> {
        (**self).get(name)
    }
}

/// The result of interpolating one string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Interpolated {
    /// The string with every expression replaced.
    pub(crate) value: String,
    /// Variables used with no value and no default, in order, deduplicated — compose warns
    /// `The "X" variable is not set. Defaulting to a blank string.` for each.
    pub(crate) unset: Vec<String>,
}

/// Why a string cannot be interpolated; compose refuses the whole file in both cases.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum InterpolateError {
    /// `${VAR`, `${1X}`, `${VAR/a/b}` ... ; offset = byte offset in the input of the `$` that starts the bad expression
    #[error("invalid interpolation format")]
    Invalid { offset: usize },
    /// `${VAR:?msg}` / `${VAR?msg}` unmet; `message` is compose's own text
    /// (`required variable VAR is missing a value: msg`, without `: msg` when msg is empty)
    #[error("{message}")]
    Required {
        offset: usize,
        var: String,
        message: String,
    },
    /// The result would be more than [`MAX_GROWTH`] bytes longer than the input; offset = the
    /// `$` of the expression that crossed the limit
    #[error("the interpolated value is too large (more than {} MiB longer than the text)", MAX_GROWTH >> 20)]
    TooLarge { offset: usize },
}

impl InterpolateError {
    /// Byte offset in the input of the `$` that starts the expression at fault.
    pub(crate) fn offset(&self) -> usize {
        match self {
            Self::Invalid { offset }
            | Self::Required { offset, .. }
            | Self::TooLarge { offset } => *offset,
        }
    }
}

/// How much longer than its input a result may grow: variables used many times in one string,
/// or `.env` values that double at each line, would otherwise need unbounded memory.
pub(crate) const MAX_GROWTH: usize = 1 << 20;

/// Nesting of defaults/alternatives/messages deeper than this is refused as invalid: no real
/// file comes close, and it keeps hostile input from costing more than `MAX_NESTING` passes.
pub(crate) const MAX_NESTING: usize = 64;

/// Cheap check used to skip work: does the string contain a `$` at all.
pub(crate) fn has_variables(input: &str) -> bool {
    // `memchr` rather than `contains('$')`: every scalar of every file is asked.
    memchr::memchr(b'$', input.as_bytes()).is_some()
}

/// Interpolates `input` as compose does (`template.Substitute`), looking variables up in `vars`.
pub(crate) fn interpolate(input: &str, vars: &dyn Vars) -> Result<Interpolated, InterpolateError> {
    if !has_variables(input) {
        return Ok(Interpolated {
            value: input.to_owned(),
            unset: Vec::new(),
        });
    }
    let mut interpolator = Interpolator {
        input,
        vars,
        unset: Vec::new(),
        seen_unset: HashSet::new(),
        limit: input.len().saturating_add(MAX_GROWTH),
    };
    let mut value = String::with_capacity(input.len());
    interpolator.substitute(0, input.len(), 0, &mut value)?;
    Ok(Interpolated {
        value,
        unset: interpolator.unset,
    })
}

/// The six braced operators; which one applies is the one written right after the name
/// (compose-go picks the earliest-occurring operator, which is always that one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Operator {
    /// `:-` default when unset or empty
    DefaultIfEmpty,
    /// `-` default when unset
    DefaultIfUnset,
    /// `:?` error when unset or empty
    RequiredNonEmpty,
    /// `?` error when unset
    Required,
    /// `:+` alternative when set and non-empty
    AltIfNonEmpty,
    /// `+` alternative when set
    AltIfSet,
}

struct Interpolator<'a> {
    input: &'a str,
    vars: &'a dyn Vars,
    unset: Vec<String>,
    seen_unset: HashSet<&'a str>,
    /// The longest result allowed.
    limit: usize,
}

impl<'a> Interpolator<'a> {
    /// Appends the interpolation of `input[start..end]` to `out`. Every region is a slice of the
    /// original input, which is what lets errors carry offsets into it.
    fn substitute(
        &mut self,
        start: usize,
        end: usize,
        depth: usize,
        out: &mut String,
    ) -> Result<(), InterpolateError> {
        let input = self.input;
        let bytes = input.as_bytes();
        let mut copied = start;
        let mut i = start;
        while let Some(rel) = bytes[i..end].iter().position(|&b| b == b'$') {
            let dollar = i + rel;
            if out.len() > self.limit {
                return Err(InterpolateError::TooLarge { offset: dollar });
            }
            let next = dollar + 1;
            match bytes.get(next).filter(|_| next < end) {
                Some(b'$') => {
                    out.push_str(&input[copied..dollar]);
                    out.push('$');
                    i = next + 1;
                    copied = i;
                }
                Some(b'{') => {
                    out.push_str(&input[copied..dollar]);
                    i = self.braced(dollar, end, depth, out)?;
                    copied = i;
                }
                _ => {
                    let name_end = scan_name(input, next, end);
                    if name_end > next {
                        out.push_str(&input[copied..dollar]);
                        self.plain(&input[next..name_end], out);
                        i = name_end;
                        copied = i;
                    } else {
                        // `$1`, `$-`, a trailing `$`: not an expression, compose keeps it.
                        i = next;
                    }
                }
            }
        }
        out.push_str(&input[copied..end]);
        if out.len() > self.limit {
            return Err(InterpolateError::TooLarge { offset: start });
        }
        Ok(())
    }

    /// Handles the `${...}` starting at `dollar`; returns the index just past it.
    fn braced(
        &mut self,
        dollar: usize,
        end: usize,
        depth: usize,
        out: &mut String,
    ) -> Result<usize, InterpolateError> {
        let input = self.input;
        let bytes = input.as_bytes();
        let invalid = || InterpolateError::Invalid { offset: dollar };
        let name_start = dollar + 2;
        let name_end = scan_name(input, name_start, end);
        if name_end == name_start {
            return Err(invalid());
        }
        let name = &input[name_start..name_end];
        if name_end < end && bytes[name_end] == b'}' {
            self.plain(name, out);
            return Ok(name_end + 1);
        }
        let (operator, text_start) = operator_at(bytes, name_end, end).ok_or_else(invalid)?;
        let text_end = closing_brace(bytes, dollar, end).ok_or_else(invalid)?;
        self.apply(operator, name, dollar, text_start, text_end, depth, out)?;
        Ok(text_end + 1)
    }

    #[allow(clippy::too_many_arguments)] // one call site; a struct would only rename the list
    fn apply(
        &mut self,
        operator: Operator,
        name: &'a str,
        dollar: usize,
        text_start: usize,
        text_end: usize,
        depth: usize,
        out: &mut String,
    ) -> Result<(), InterpolateError> {
        let vars = self.vars;
        let value = vars.get(name);
        let non_empty = value.filter(|v| !v.is_empty());
        match operator {
            Operator::DefaultIfEmpty => match non_empty {
                Some(v) => out.push_str(v),
                None => self.nested(dollar, text_start, text_end, depth, out)?,
            },
            Operator::DefaultIfUnset => match value {
                Some(v) => out.push_str(v),
                None => self.nested(dollar, text_start, text_end, depth, out)?,
            },
            Operator::AltIfNonEmpty => {
                // set-but-empty yields its (empty) value and unset yields nothing: both are ""
                if non_empty.is_some() {
                    self.nested(dollar, text_start, text_end, depth, out)?;
                }
            }
            Operator::AltIfSet => {
                if value.is_some() {
                    self.nested(dollar, text_start, text_end, depth, out)?;
                }
            }
            Operator::RequiredNonEmpty | Operator::Required => {
                let satisfied = if operator == Operator::Required {
                    value
                } else {
                    non_empty
                };
                match satisfied {
                    Some(v) => out.push_str(v),
                    None => {
                        let mut reason = String::new();
                        self.nested(dollar, text_start, text_end, depth, &mut reason)?;
                        let message = if reason.is_empty() {
                            format!("required variable {name} is missing a value")
                        } else {
                            format!("required variable {name} is missing a value: {reason}")
                        };
                        return Err(InterpolateError::Required {
                            offset: dollar,
                            var: name.to_owned(),
                            message,
                        });
                    }
                }
            }
        }
        Ok(())
    }

    /// Interpolates a default, alternative or message one level deeper.
    fn nested(
        &mut self,
        dollar: usize,
        start: usize,
        end: usize,
        depth: usize,
        out: &mut String,
    ) -> Result<(), InterpolateError> {
        if depth >= MAX_NESTING {
            return Err(InterpolateError::Invalid { offset: dollar });
        }
        self.substitute(start, end, depth + 1, out)
    }

    /// `$NAME` / `${NAME}`: the value, or nothing and a record of the unset variable.
    fn plain(&mut self, name: &'a str, out: &mut String) {
        let vars = self.vars;
        match vars.get(name) {
            Some(v) => out.push_str(v),
            None => {
                if self.seen_unset.insert(name) {
                    self.unset.push(name.to_owned());
                }
            }
        }
    }
}

/// End of the variable name starting at `start` (== `start` when there is none).
/// Names are `[_a-zA-Z][_a-zA-Z0-9]*` plus the two non-ASCII case folds Go's `(?i)` adds.
fn scan_name(input: &str, start: usize, end: usize) -> usize {
    let mut pos = start;
    for c in input[start..end].chars() {
        let ok = match c {
            '_' | 'a'..='z' | 'A'..='Z' | '\u{17F}' | '\u{212A}' => true,
            '0'..='9' => pos > start,
            _ => false,
        };
        if !ok {
            break;
        }
        pos += c.len_utf8();
    }
    pos
}

/// The operator right after the name at `at`, and where the text after it starts.
fn operator_at(bytes: &[u8], at: usize, end: usize) -> Option<(Operator, usize)> {
    let byte = |i: usize| if i < end { bytes.get(i).copied() } else { None };
    match (byte(at)?, byte(at + 1)) {
        (b':', Some(b'-')) => Some((Operator::DefaultIfEmpty, at + 2)),
        (b':', Some(b'?')) => Some((Operator::RequiredNonEmpty, at + 2)),
        (b':', Some(b'+')) => Some((Operator::AltIfNonEmpty, at + 2)),
        (b'-', _) => Some((Operator::DefaultIfUnset, at + 1)),
        (b'?', _) => Some((Operator::Required, at + 1)),
        (b'+', _) => Some((Operator::AltIfSet, at + 1)),
        _ => None,
    }
}

/// Index of the `}` closing the `${NAME<op>...` at `dollar`, as compose-go finds it: the regex
/// match runs to the last `}` before the end of the line (or region), then
/// `getFirstBraceClosingIndex` counts braces inside it — skipping the byte after each `{` — and
/// takes the `}` where the count returns to zero, or the end of the match when it never does.
/// `None` when there is no `}` at all on the line: the expression is invalid.
fn closing_brace(bytes: &[u8], dollar: usize, end: usize) -> Option<usize> {
    let mut open = 0usize;
    let mut last_close = None;
    let mut i = dollar;
    while i < end {
        match bytes[i] {
            b'\n' => break,
            b'}' => {
                last_close = Some(i);
                // `open` is at least 1 here: the scan starts on `${`
                open = open.saturating_sub(1);
                if open == 0 {
                    return Some(i);
                }
            }
            b'{' => {
                open += 1;
                i += 1;
                match bytes.get(i).filter(|_| i < end) {
                    Some(b'\n') | None => break,
                    Some(b'}') => last_close = Some(i),
                    Some(_) => {}
                }
            }
            _ => {}
        }
        i += 1;
    }
    last_close
}

#[cfg(test)]
mod tests {
    use super::*;
    use indexmap::IndexMap;

    fn vars() -> IndexMap<String, String> {
        [
            ("FOO", "first"),
            ("BAR", ""),
            ("HOME", "/home/me"),
            ("EMOJI", "🐳"),
            ("DOLLAR", "$X"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect()
    }

    fn ok(input: &str) -> String {
        match interpolate(input, &vars()) {
            Ok(r) => r.value,
            Err(e) => panic!("{input:?}: unexpected error {e:?}"),
        }
    }

    fn unset(input: &str) -> Vec<String> {
        match interpolate(input, &vars()) {
            Ok(r) => r.unset,
            Err(e) => panic!("{input:?}: unexpected error {e:?}"),
        }
    }

    fn err(input: &str) -> InterpolateError {
        match interpolate(input, &vars()) {
            Ok(r) => panic!("{input:?}: expected an error, got {:?}", r.value),
            Err(e) => e,
        }
    }

    #[test]
    fn table_of_values() {
        let cases: &[(&str, &str)] = &[
            // no expression
            ("foo", "foo"),
            ("", ""),
            // plain forms
            ("$FOO", "first"),
            ("${FOO}", "first"),
            ("This $FOO var", "This first var"),
            ("This ${FOO} var", "This first var"),
            ("This ${missing} var", "This  var"),
            ("This ${BAR} var", "This  var"),
            ("$FOO-bar", "first-bar"),
            ("$FOO$FOO", "firstfirst"),
            ("${FOO}${FOO}", "firstfirst"),
            ("$foo", ""),
            ("$FOO_", ""),
            ("$FOO.bar", "first.bar"),
            ("$_", ""),
            ("${_}", ""),
            // literal dollars
            ("a $ string", "a $ string"),
            ("^REGEX$", "^REGEX$"),
            ("$}", "$}"),
            ("$", "$"),
            ("$1", "$1"),
            ("$1FOO", "$1FOO"),
            ("$-", "$-"),
            ("$ FOO", "$ FOO"),
            ("100$", "100$"),
            // escapes
            ("$$", "$"),
            ("$$$$", "$$"),
            ("$$FOO", "$FOO"),
            ("$${foo}", "${foo}"),
            ("$$${FOO}", "$first"),
            ("$$$FOO", "$first"),
            ("$${FOO:-x", "${FOO:-x"),
            // defaults
            ("ok ${missing:-def}", "ok def"),
            ("ok ${missing-def}", "ok def"),
            ("ok ${BAR:-def}", "ok def"),
            ("ok ${FOO:-def}", "ok first"),
            ("ok ${BAR-def}", "ok "),
            ("ok ${FOO-def}", "ok first"),
            ("ok ${missing:-}", "ok "),
            ("ok ${missing-}", "ok "),
            ("ok ${BAR:-/non:-alphanumeric}", "ok /non:-alphanumeric"),
            ("${UNSET_VAR-myerror?msg}", "myerror?msg"),
            ("${UNSET_VAR-a:+b-c}", "a:+b-c"),
            // alternatives
            ("ok ${UNSET_VAR:+presence_value}", "ok "),
            ("ok ${UNSET_VAR+presence_value}", "ok "),
            ("ok ${FOO:+presence_value}", "ok presence_value"),
            ("ok ${FOO+presence_value}", "ok presence_value"),
            ("ok ${BAR+presence_value}", "ok presence_value"),
            ("ok ${BAR:+presence_value}", "ok "),
            // required, satisfied
            ("ok ${FOO:?err}", "ok first"),
            ("ok ${FOO?err}", "ok first"),
            ("ok ${BAR?err}", "ok "),
            ("${FOO?bar-baz}", "first"),
            // outer text does not pick the operator
            ("-ok ${BAR:-defaultValue}", "-ok defaultValue"),
            ("+ok ${UNSET:-${BAR-defaultValue}}", "+ok "),
            ("-ok ${FOO:-defaultValue}", "-ok first"),
            (":-ok ${UNSET-defaultValue}", ":-ok defaultValue"),
            (":-ok ${BAR-defaultValue}", ":-ok "),
            (":?ok ${BAR-defaultValue}", ":?ok "),
            (":?ok ${BAR:-defaultValue}", ":?ok defaultValue"),
            (":+ok ${BAR:-defaultValue}", ":+ok defaultValue"),
            ("+ok ${BAR-defaultValue}", "+ok "),
            ("?ok ${BAR:-defaultValue}", "?ok defaultValue"),
            // nesting
            ("ok ${UNSET_VAR-$FOO}", "ok first"),
            ("ok ${UNSET_VAR-${FOO}}", "ok first"),
            ("ok ${UNSET_VAR-${FOO} ${FOO}}", "ok first first"),
            ("ok ${BAR:-$FOO}", "ok first"),
            ("ok ${BAR:-${FOO}}", "ok first"),
            ("ok ${BAR:-${FOO} ${FOO}}", "ok first first"),
            ("ok ${BAR+$FOO}", "ok first"),
            ("ok ${BAR+$FOO ${FOO:+second}}", "ok first second"),
            ("${A:-${B:-x}}", "x"),
            ("${A:-${B:-${C:-deep}}}", "deep"),
            ("${A:-${FOO:-x}}", "first"),
            ("${A:-$$}", "$"),
            ("${A:-$${B}}", "${B}"),
            ("${A:-a}${B:-b}", "ab"),
            ("${A:-a} and ${B}", "a and "),
            ("${FOO:-a} ${B:-b} $FOO", "first b first"),
            // braces inside the text, counted as compose-go counts them
            ("${A:-x}}", "x}"),
            ("${A:-}}", "}"),
            ("${A:-a}b}c", "ab}c"),
            ("${A:-{x}}", "{x}"),
            ("${A:-{x}", "{x"),
            ("${A:-{}}", "{}"),
            ("${A:-{}x}", "{}x"),
            ("${A:-{a}{b}}", "{a}{b}"),
            ("${A:-x} {y}", "x {y}"),
            ("${FOO:-{x}}", "first"),
            ("${A-{\"k\": 1}}", "{\"k\": 1}"),
            // values are not re-interpolated
            ("$DOLLAR", "$X"),
            ("${A:-$DOLLAR}", "$X"),
            // unicode around variables
            ("é$FOO", "éfirst"),
            ("$FOOé", "firsté"),
            ("🐳${FOO}🐳", "🐳first🐳"),
            ("${EMOJI}", "🐳"),
            ("${A:-🐳}", "🐳"),
            ("$é", "$é"),
            ("${A:-日本}語", "日本語"),
            // multi-line strings: expressions on their own line work
            ("a\n${FOO}\nb", "a\nfirst\nb"),
            ("${A:-x}\n}", "x\n}"),
            ("$FOO\n$$", "first\n$"),
            // image-like and volume-like strings
            (
                "${REGISTRY:-docker.io}/library/postgres:${TAG:-16}",
                "docker.io/library/postgres:16",
            ),
            (
                "${HOME}/data:/var/lib/postgresql/data",
                "/home/me/data:/var/lib/postgresql/data",
            ),
            ("${DATA_DIR:-./data}:/data:ro", "./data:/data:ro"),
        ];
        for (input, expected) in cases {
            assert_eq!(ok(input), *expected, "input {input:?}");
        }
    }

    #[test]
    fn case_folded_names_are_names() {
        // Go's (?i)[a-z] also matches the Kelvin sign and the long s.
        assert_eq!(ok("$\u{212A}x"), "");
        assert_eq!(ok("${\u{17F}}"), "");
        assert_eq!(unset("a$\u{17F}b"), vec!["\u{17F}b".to_owned()]);
    }

    #[test]
    fn unset_variables_in_order_deduplicated() {
        assert_eq!(
            unset("$B ${A} $B ${C:-x} ${D-y} ${E:+z} ${A}"),
            vec!["B", "A"]
        );
        assert_eq!(unset("$FOO ${BAR}"), Vec::<String>::new());
        // the nested default is used, so its variables count
        assert_eq!(unset("${A:-$B}"), vec!["B"]);
        // the nested default is not used: compose-go v2.13 evaluates it lazily
        assert_eq!(unset("${FOO:-$B}"), Vec::<String>::new());
        assert_eq!(unset("${A:+${A},}x"), Vec::<String>::new());
        assert_eq!(unset("${FOO:+${A},}x"), vec!["A"]);
        assert_eq!(unset("$$A"), Vec::<String>::new());
    }

    #[test]
    fn invalid_forms_with_offsets() {
        let cases: &[(&str, usize)] = &[
            ("${", 0),
            ("${}", 0),
            ("${ }", 0),
            ("${ foo}", 0),
            ("${foo }", 0),
            ("${foo!}", 0),
            ("${VAR", 0),
            ("${1X}", 0),
            ("${VAR/a/b}", 0),
            ("${VAR:x}", 0),
            ("${VAR:}", 0),
            ("${VAR:-x", 0),
            ("${VAR-x", 0),
            ("${VAR:-{x", 0),
            ("${VAR:-\n}", 0),
            ("${é}", 0),
            ("ab ${", 3),
            ("$FOO ${1}", 5),
            ("é${", 2),
            ("$${FOO} ${", 8),
            ("${FOO} ${BAR:-x} ${@}", 17),
            // inside a default that is used: the offset is the inner `$`
            ("${A:-${}}", 5),
            ("xx${A:-yy${B:-${!}}}", 14),
            // compose-go splits `${A:-${B}` at the last `}` and `${B` is then invalid
            ("${A:-${B}", 5),
        ];
        for (input, offset) in cases {
            assert_eq!(
                err(input),
                InterpolateError::Invalid { offset: *offset },
                "input {input:?}"
            );
        }
    }

    #[test]
    fn unused_branches_are_not_evaluated() {
        assert_eq!(ok("${FOO:-${}}"), "first");
        assert_eq!(ok("${FOO:-${A:?boom}}"), "first");
        assert_eq!(ok("${A:+${}}"), "");
        assert_eq!(ok("${FOO?${}}"), "first");
        assert_eq!(ok("${FOO:-${B}"), "first");
    }

    #[test]
    fn required_messages() {
        let cases: &[(&str, usize, &str, &str)] = &[
            (
                "not ok ${UNSET_VAR:?Mandatory Variable Unset}",
                7,
                "UNSET_VAR",
                "required variable UNSET_VAR is missing a value: Mandatory Variable Unset",
            ),
            (
                "not ok ${BAR:?Mandatory Variable Empty}",
                7,
                "BAR",
                "required variable BAR is missing a value: Mandatory Variable Empty",
            ),
            (
                "not ok ${UNSET_VAR:?}",
                7,
                "UNSET_VAR",
                "required variable UNSET_VAR is missing a value",
            ),
            (
                "not ok ${UNSET_VAR?Mandatory Variable Unset}",
                7,
                "UNSET_VAR",
                "required variable UNSET_VAR is missing a value: Mandatory Variable Unset",
            ),
            (
                "not ok ${UNSET_VAR?}",
                7,
                "UNSET_VAR",
                "required variable UNSET_VAR is missing a value",
            ),
            (
                "not ok ${UNSET_VAR:?Mandatory Variable ${FOO}}",
                7,
                "UNSET_VAR",
                "required variable UNSET_VAR is missing a value: Mandatory Variable first",
            ),
            (
                "not ok ${UNSET_VAR?Mandatory Variable ${FOO}}",
                7,
                "UNSET_VAR",
                "required variable UNSET_VAR is missing a value: Mandatory Variable first",
            ),
            (
                "${UNSET_VAR?bar-baz}",
                0,
                "UNSET_VAR",
                "required variable UNSET_VAR is missing a value: bar-baz",
            ),
            (
                "${X:?$UNSET}",
                0,
                "X",
                "required variable X is missing a value",
            ),
            (
                "${A:-${B:?need B}}",
                5,
                "B",
                "required variable B is missing a value: need B",
            ),
            (
                "é ${A?x}",
                3,
                "A",
                "required variable A is missing a value: x",
            ),
            (
                "${X:?a:-b}",
                0,
                "X",
                "required variable X is missing a value: a:-b",
            ),
        ];
        for (input, offset, var, message) in cases {
            let e = err(input);
            assert_eq!(
                e,
                InterpolateError::Required {
                    offset: *offset,
                    var: (*var).to_owned(),
                    message: (*message).to_owned(),
                },
                "input {input:?}"
            );
            assert_eq!(e.to_string(), *message);
            assert_eq!(e.offset(), *offset);
        }
    }

    #[test]
    fn first_error_wins() {
        assert_eq!(err("${A:?a} ${"), err("${A:?a}"));
        assert_eq!(err("${ ${A:?a}"), InterpolateError::Invalid { offset: 0 });
        // an invalid message is reported rather than the missing variable
        assert_eq!(err("${A:?${}}"), InterpolateError::Invalid { offset: 5 });
    }

    #[test]
    fn has_variables_is_a_dollar_check() {
        assert!(has_variables("$FOO"));
        assert!(has_variables("a$"));
        assert!(!has_variables("plain"));
        assert!(!has_variables(""));
    }

    #[test]
    fn works_with_hash_maps() {
        let mut map: std::collections::HashMap<String, String> = std::collections::HashMap::new();
        map.insert("A".into(), "1".into());
        let r = interpolate("$A-${B:-2}", &map).expect("valid");
        assert_eq!(r.value, "1-2");
        assert!(r.unset.is_empty());
    }

    #[test]
    fn nesting_is_bounded() {
        let depth_ok = MAX_NESTING;
        let input = "${A:-".repeat(depth_ok) + "x" + &"}".repeat(depth_ok);
        assert_eq!(ok(&input), "x");
        let too_deep = MAX_NESTING + 1;
        let input = "${A:-".repeat(too_deep) + "x" + &"}".repeat(too_deep);
        assert_eq!(
            err(&input),
            InterpolateError::Invalid {
                offset: 5 * MAX_NESTING
            }
        );
    }

    #[test]
    fn hostile_inputs_terminate_quickly() {
        let n = 100_000;
        // deep nesting: refused at the nesting limit
        let deep = "${A:-".repeat(n) + &"}".repeat(n);
        assert!(matches!(err(&deep), InterpolateError::Invalid { .. }));
        // deep nesting in an unused branch is never looked at
        let unused = "${FOO:-".to_owned() + &"${A:-".repeat(n) + &"}".repeat(n + 1);
        assert_eq!(ok(&unused), "first");
        // many expressions on one line
        let many = "${A:-x}".repeat(n);
        assert_eq!(ok(&many).len(), n);
        let many_unset = (0..n).map(|i| format!("$V{i}")).collect::<String>();
        assert_eq!(unset(&many_unset).len(), n);
        // unbalanced openers
        let open = "${A:-{".repeat(n) + "}";
        assert!(interpolate(&open, &vars()).is_err());
        let escapes = "$$".repeat(n) + "{";
        assert_eq!(ok(&escapes).len(), n + 1);
        let lone = "$".repeat(2 * n + 1);
        assert_eq!(ok(&lone).len(), n + 1);
        let braces = "{".repeat(n) + &"}".repeat(n);
        assert_eq!(ok(&braces), braces);
    }
}
