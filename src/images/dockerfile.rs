//! The Dockerfile reader: the `VOLUME`s of a local Dockerfile's last stage and that stage's base
//! image, for services that are `build:` rather than `image:`.

use crate::compose::mounts::clean_path;

/// What a local Dockerfile says about persistence.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct DockerfileFacts {
    /// `VOLUME` paths of the last stage (including those of an earlier stage it is built
    /// `FROM`), in order, without duplicates. Variables that could not be resolved stay verbatim.
    pub(crate) volumes: Vec<String>,
    /// The last stage's base image (`FROM x AS a` ... `FROM a` gives `x`); `None` for `scratch`
    /// or a Dockerfile without `FROM`.
    pub(crate) base_image: Option<String>,
}

#[derive(Debug, Default, Clone)]
struct Stage {
    name: Option<String>,
    base_image: Option<String>,
    env: Vec<(String, String)>,
    args: Vec<(String, Option<String>)>,
    volumes: Vec<String>,
}

impl Stage {
    /// ENV wins over ARG; an ARG without a known value is unknown.
    fn var(&self, name: &str) -> Option<String> {
        if let Some((_, value)) = self.env.iter().rev().find(|(k, _)| k == name) {
            return Some(value.clone());
        }
        self.args
            .iter()
            .rev()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.clone())
    }
}

/// Reads the `VOLUME`s of a Dockerfile's last stage and that stage's base image. Handles parser
/// directives (`# escape=`), line continuations, comments, heredocs, case-insensitive
/// instructions, JSON and plain `VOLUME` forms, and `$VAR` / `${VAR}` from ARG defaults and ENV.
pub(crate) fn parse_dockerfile(text: &str) -> DockerfileFacts {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let lines: Vec<&str> = text.lines().map(|l| l.trim_end_matches('\r')).collect();
    let (escape, first_line) = parser_directives(&lines);
    let instructions = logical_lines(&lines[first_line..], escape);

    let mut global_args: Vec<(String, Option<String>)> = Vec::new();
    let mut stages: Vec<Stage> = Vec::new();
    for line in &instructions {
        let line = line.trim();
        let (keyword, rest) = match line.find(char::is_whitespace) {
            Some(at) => (&line[..at], line[at..].trim()),
            None => (line, ""),
        };
        match keyword.to_ascii_uppercase().as_str() {
            "FROM" => {
                let lookup = |name: &str| lookup_args(&global_args, name);
                stages.push(from_stage(rest, escape, &lookup, &stages));
            }
            "ARG" => {
                let current = stages.last();
                let lookup = |name: &str| match current {
                    Some(stage) => stage.var(name),
                    None => lookup_args(&global_args, name),
                };
                let mut declared = Vec::new();
                for word in split_words(rest, escape) {
                    let (name, value) = match word.split_once('=') {
                        Some((name, value)) => {
                            (name.to_string(), Some(expand_word(value, escape, &lookup)))
                        }
                        None => (word.clone(), None),
                    };
                    declared.push((name, value));
                }
                match stages.last_mut() {
                    Some(stage) => {
                        for (name, value) in declared {
                            // `ARG NAME` in a stage picks up the default of a global `ARG NAME=x`
                            let value = value.or_else(|| lookup_args(&global_args, &name));
                            stage.args.push((name, value));
                        }
                    }
                    None => global_args.extend(declared),
                }
            }
            "ENV" => {
                if let Some(stage) = stages.last_mut() {
                    let pairs = env_pairs(rest, escape, &|name: &str| stage.var(name));
                    stage.env.extend(pairs);
                }
            }
            "VOLUME" => {
                if let Some(stage) = stages.last_mut() {
                    let paths = volume_args(rest, escape, &|name: &str| stage.var(name));
                    for path in paths {
                        let path = normalise_volume_path(&path);
                        if !path.is_empty() && !stage.volumes.contains(&path) {
                            stage.volumes.push(path);
                        }
                    }
                }
            }
            _ => {}
        }
    }
    match stages.pop() {
        Some(last) => DockerfileFacts {
            volumes: last.volumes,
            base_image: last.base_image,
        },
        None => DockerfileFacts::default(),
    }
}

fn lookup_args(args: &[(String, Option<String>)], name: &str) -> Option<String> {
    args.iter()
        .rev()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| v.clone())
}

/// `FROM [--flag=x]... image [AS name]`; a stage built from an earlier stage inherits its base
/// image, ENV and VOLUMEs.
fn from_stage(
    rest: &str,
    escape: char,
    global: &dyn Fn(&str) -> Option<String>,
    stages: &[Stage],
) -> Stage {
    let words: Vec<String> = split_words(rest, escape)
        .into_iter()
        .filter(|w| !w.starts_with("--"))
        .collect();
    let image = words.first().map(|w| expand_word(w, escape, global));
    let name = match words.get(1) {
        Some(as_kw) if as_kw.eq_ignore_ascii_case("as") => {
            words.get(2).map(|n| n.to_ascii_lowercase())
        }
        _ => None,
    };
    let parent = image.as_deref().and_then(|image| {
        stages
            .iter()
            .rev()
            .find(|s| s.name.as_deref() == Some(image.to_ascii_lowercase().as_str()))
    });
    match parent {
        Some(parent) => Stage {
            name,
            base_image: parent.base_image.clone(),
            env: parent.env.clone(),
            args: Vec::new(),
            volumes: parent.volumes.clone(),
        },
        None => Stage {
            name,
            base_image: image.filter(|i| !i.eq_ignore_ascii_case("scratch")),
            ..Stage::default()
        },
    }
}

/// Leading `# directive=value` lines; returns the escape character and the first line after them.
fn parser_directives(lines: &[&str]) -> (char, usize) {
    let mut escape = '\\';
    let mut seen = Vec::new();
    for (index, line) in lines.iter().enumerate() {
        let Some(body) = line.trim().strip_prefix('#') else {
            return (escape, index);
        };
        let Some((name, value)) = body.split_once('=') else {
            return (escape, index);
        };
        let name = name.trim().to_ascii_lowercase();
        let value = value.trim();
        let known = ["syntax", "escape", "check"].contains(&name.as_str());
        if !known || seen.contains(&name) {
            // an unknown directive is a comment, and ends directive parsing
            return (escape, index);
        }
        if name == "escape" {
            match value {
                "`" => escape = '`',
                "\\" => escape = '\\',
                _ => {}
            }
        }
        seen.push(name);
    }
    (escape, lines.len())
}

/// Joins continuation lines, drops comments and blank lines, and skips heredoc bodies.
fn logical_lines(lines: &[&str], escape: char) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut continuing = false;
    let mut heredocs: Vec<(String, bool)> = Vec::new();
    for line in lines {
        if let Some((terminator, strip_tabs)) = heredocs.first() {
            let candidate = if *strip_tabs {
                line.trim_start_matches('\t')
            } else {
                line
            };
            if candidate == terminator {
                heredocs.remove(0);
            }
            continue;
        }
        let trimmed = line.trim_start();
        if trimmed.starts_with('#') || trimmed.is_empty() {
            continue;
        }
        let content = line.trim_end();
        match content.strip_suffix(escape) {
            Some(head) => {
                current.push_str(head);
                continuing = true;
                continue;
            }
            None => current.push_str(content),
        }
        continuing = false;
        let instruction = std::mem::take(&mut current);
        heredocs = heredoc_terminators(&instruction);
        out.push(instruction);
    }
    if continuing && !current.trim().is_empty() {
        out.push(current);
    }
    out
}

/// `<<EOF`, `<<-EOF`, `<<"EOF"` words of a RUN/COPY/ADD instruction (BuildKit heredocs).
fn heredoc_terminators(instruction: &str) -> Vec<(String, bool)> {
    let mut words = instruction.split_whitespace();
    let keyword = words.next().unwrap_or_default().to_ascii_uppercase();
    if !["RUN", "COPY", "ADD"].contains(&keyword.as_str()) {
        return Vec::new();
    }
    words
        .filter_map(|word| {
            let word = word.trim_start_matches(|c: char| c.is_ascii_digit());
            let rest = word.strip_prefix("<<")?;
            if rest.starts_with('<') {
                return None;
            }
            let (strip_tabs, rest) = match rest.strip_prefix('-') {
                Some(rest) => (true, rest),
                None => (false, rest),
            };
            let name = rest.trim_matches(|c| c == '"' || c == '\'');
            (!name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
                .then(|| (name.to_string(), strip_tabs))
        })
        .collect()
}

/// `ENV K=V K2="v 2"` or the legacy `ENV K rest of line`; values see the variables as they were
/// before this instruction.
fn env_pairs(
    rest: &str,
    escape: char,
    vars: &dyn Fn(&str) -> Option<String>,
) -> Vec<(String, String)> {
    let words = split_words(rest, escape);
    let Some(first) = words.first() else {
        return Vec::new();
    };
    if !first.contains('=') {
        let value = rest
            .trim_start()
            .get(first.len()..)
            .unwrap_or_default()
            .trim();
        return vec![(first.clone(), expand_word(value, escape, vars))];
    }
    words
        .iter()
        .filter_map(|word| {
            let (name, value) = word.split_once('=')?;
            Some((name.to_string(), expand_word(value, escape, vars)))
        })
        .collect()
}

/// `VOLUME ["/a", "/b"]` or `VOLUME /a /b`.
fn volume_args(rest: &str, escape: char, vars: &dyn Fn(&str) -> Option<String>) -> Vec<String> {
    let rest = rest.trim();
    if rest.starts_with('[')
        && let Some(items) = parse_json_string_array(rest)
    {
        return items
            .iter()
            .map(|item| expand_word(item, escape, vars))
            .collect();
    }
    split_words(rest, escape)
        .iter()
        .map(|word| expand_word(word, escape, vars))
        .collect()
}

/// Cleans absolute POSIX paths (`/data/` -> `/data`); anything else is kept as written.
fn normalise_volume_path(path: &str) -> String {
    let path = path.trim();
    if path.starts_with('/') {
        clean_path(path)
    } else {
        path.to_string()
    }
}

/// Splits at unquoted, unescaped whitespace, keeping quotes and escapes in the words.
fn split_words(s: &str, escape: char) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if let Some(q) = quote {
            current.push(c);
            if c == escape && q == '"' {
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            } else if c == q {
                quote = None;
            }
            continue;
        }
        if c.is_whitespace() {
            if in_word {
                words.push(std::mem::take(&mut current));
                in_word = false;
            }
            continue;
        }
        in_word = true;
        current.push(c);
        if c == escape {
            if let Some(next) = chars.next() {
                current.push(next);
            }
        } else if c == '"' || c == '\'' {
            quote = Some(c);
        }
    }
    if in_word {
        words.push(current);
    }
    words
}

/// Removes quotes and escapes and substitutes variables (Docker's shell-word processing).
fn expand_word(word: &str, escape: char, vars: &dyn Fn(&str) -> Option<String>) -> String {
    let chars: Vec<char> = word.chars().collect();
    let mut out = String::new();
    let mut quote: Option<char> = None;
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        match quote {
            Some('\'') => {
                if c == '\'' {
                    quote = None;
                } else {
                    out.push(c);
                }
                i += 1;
            }
            Some(_) => {
                if c == '"' {
                    quote = None;
                    i += 1;
                } else if c == escape && i + 1 < chars.len() {
                    let next = chars[i + 1];
                    if next != '"' && next != '$' && next != escape {
                        out.push(c);
                    }
                    out.push(next);
                    i += 2;
                } else if c == '$' {
                    i = expand_dollar(&chars, i, escape, vars, &mut out);
                } else {
                    out.push(c);
                    i += 1;
                }
            }
            None => {
                if c == '\'' || c == '"' {
                    quote = Some(c);
                    i += 1;
                } else if c == escape && i + 1 < chars.len() {
                    out.push(chars[i + 1]);
                    i += 2;
                } else if c == '$' {
                    i = expand_dollar(&chars, i, escape, vars, &mut out);
                } else {
                    out.push(c);
                    i += 1;
                }
            }
        }
    }
    out
}

fn is_name_start(c: char) -> bool {
    c.is_ascii_alphabetic() || c == '_'
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands the `$` at `chars[start]` into `out`; returns the index after the expression.
/// Unknown variables are kept verbatim (their value may come from `--build-arg` or the base image).
fn expand_dollar(
    chars: &[char],
    start: usize,
    escape: char,
    vars: &dyn Fn(&str) -> Option<String>,
    out: &mut String,
) -> usize {
    match chars.get(start + 1) {
        Some('{') => {
            let mut depth = 0usize;
            let mut end = None;
            for (j, &c) in chars.iter().enumerate().skip(start + 1) {
                match c {
                    '{' => depth += 1,
                    '}' => {
                        depth = depth.saturating_sub(1);
                        if depth == 0 {
                            end = Some(j);
                            break;
                        }
                    }
                    _ => {}
                }
            }
            let Some(end) = end else {
                out.extend(&chars[start..]);
                return chars.len();
            };
            let inner: String = chars[start + 2..end].iter().collect();
            let name_len = inner.chars().take_while(|&c| is_name_char(c)).count();
            let (name, modifier) = inner.split_at(name_len);
            let value = if name.starts_with(is_name_start) {
                vars(name)
            } else {
                None
            };
            let expand = |w: &str| expand_word(w, escape, vars);
            let result = match (modifier, value) {
                ("", value) => value,
                (m, Some(v)) if m.starts_with(":-") => {
                    Some(if v.is_empty() { expand(&m[2..]) } else { v })
                }
                (m, Some(v)) if m.starts_with(":+") => Some(if v.is_empty() {
                    String::new()
                } else {
                    expand(&m[2..])
                }),
                (m, Some(v)) if m.starts_with('-') || m.starts_with(":?") || m.starts_with('?') => {
                    Some(v)
                }
                (m, Some(_)) if m.starts_with('+') => Some(expand(&m[1..])),
                _ => None,
            };
            match result {
                Some(value) => out.push_str(&value),
                None => out.extend(&chars[start..=end]),
            }
            end + 1
        }
        Some(&c) if is_name_start(c) => {
            let end = chars[start + 1..]
                .iter()
                .position(|&c| !is_name_char(c))
                .map_or(chars.len(), |p| start + 1 + p);
            let name: String = chars[start + 1..end].iter().collect();
            match vars(&name) {
                Some(value) => out.push_str(&value),
                None => out.extend(&chars[start..end]),
            }
            end
        }
        _ => {
            out.push('$');
            start + 1
        }
    }
}

/// A JSON array of strings (the exec form); `None` if `s` is anything else.
fn parse_json_string_array(s: &str) -> Option<Vec<String>> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let skip_ws = |i: &mut usize| {
        while *i < chars.len() && chars[*i].is_whitespace() {
            *i += 1;
        }
    };
    skip_ws(&mut i);
    if chars.get(i) != Some(&'[') {
        return None;
    }
    i += 1;
    let mut items = Vec::new();
    skip_ws(&mut i);
    if chars.get(i) == Some(&']') {
        i += 1;
    } else {
        loop {
            skip_ws(&mut i);
            if chars.get(i) != Some(&'"') {
                return None;
            }
            i += 1;
            let mut item = String::new();
            loop {
                let c = *chars.get(i)?;
                i += 1;
                match c {
                    '"' => break,
                    '\\' => {
                        let e = *chars.get(i)?;
                        i += 1;
                        match e {
                            '"' | '\\' | '/' => item.push(e),
                            'b' => item.push('\u{8}'),
                            'f' => item.push('\u{c}'),
                            'n' => item.push('\n'),
                            'r' => item.push('\r'),
                            't' => item.push('\t'),
                            'u' => {
                                let hex: String = chars.get(i..i + 4)?.iter().collect();
                                i += 4;
                                let code = u32::from_str_radix(&hex, 16).ok()?;
                                item.push(char::from_u32(code).unwrap_or('\u{fffd}'));
                            }
                            _ => return None,
                        }
                    }
                    c if (c as u32) < 0x20 => return None,
                    c => item.push(c),
                }
            }
            items.push(item);
            skip_ws(&mut i);
            match chars.get(i) {
                Some(',') => i += 1,
                Some(']') => {
                    i += 1;
                    break;
                }
                _ => return None,
            }
        }
    }
    skip_ws(&mut i);
    (i == chars.len()).then_some(items)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn volumes(text: &str) -> Vec<String> {
        parse_dockerfile(text).volumes
    }

    #[test]
    fn dockerfile_json_and_plain_forms() {
        assert_eq!(
            volumes("FROM alpine\nVOLUME [\"/a\", \"/b/\"]\n"),
            ["/a", "/b"]
        );
        assert_eq!(
            volumes("FROM alpine\nVOLUME /a /b\nVOLUME /c\nVOLUME /a\n"),
            ["/a", "/b", "/c"]
        );
        assert!(volumes("FROM alpine\nVOLUME [ ]\n").is_empty());
        // not JSON: Docker falls back to the plain form
        assert_eq!(volumes("FROM alpine\nVOLUME [/data]\n"), ["[/data]"]);
        assert_eq!(
            volumes("FROM alpine\nVOLUME \"/with space\" '/q'\n"),
            ["/with space", "/q"]
        );
    }

    #[test]
    fn dockerfile_lowercase_comments_and_continuations() {
        let text = "\
# a comment
from debian:12 as base
volume /lower
RUN apt-get update \\
    # a comment inside a continuation
    && apt-get install -y x

VOLUME /one \\
       /two \\

       /three
Volume [\"/four\", \\
        \"/five\"]
# VOLUME /commented
";
        let facts = parse_dockerfile(text);
        assert_eq!(
            facts.volumes,
            ["/lower", "/one", "/two", "/three", "/four", "/five"]
        );
        assert_eq!(facts.base_image.as_deref(), Some("debian:12"));
    }

    #[test]
    fn dockerfile_multi_stage_uses_the_last_stage() {
        let text = "\
FROM golang:1.23 AS build
VOLUME /build-cache
RUN go build

FROM gcr.io/distroless/static
COPY --from=build /app /app
VOLUME /data
";
        let facts = parse_dockerfile(text);
        assert_eq!(facts.volumes, ["/data"]);
        assert_eq!(
            facts.base_image.as_deref(),
            Some("gcr.io/distroless/static")
        );

        // a stage built FROM an earlier stage inherits its base, ENV and VOLUMEs
        let text = "\
FROM postgres:16 AS Base
ENV DATA=/srv
VOLUME /base
FROM base
VOLUME $DATA/db
";
        let facts = parse_dockerfile(text);
        assert_eq!(facts.volumes, ["/base", "/srv/db"]);
        assert_eq!(facts.base_image.as_deref(), Some("postgres:16"));

        let text = "FROM golang AS b\nVOLUME /x\nFROM scratch\nCOPY --from=b /a /a\n";
        assert_eq!(parse_dockerfile(text), DockerfileFacts::default());
    }

    #[test]
    fn dockerfile_arg_and_env_substitution() {
        let text = r#"ARG BASE=postgres:17
ARG DATA_ROOT=/srv
FROM --platform=$BUILDPLATFORM ${BASE}
ARG DATA_ROOT
ARG APP=app
ARG UNSET
ENV HOME_DIR=/home/${APP} OTHER="/quoted dir"
VOLUME ${DATA_ROOT}/$APP ${HOME_DIR} "$OTHER"
VOLUME ["${UNSET}/x", "$NOT_DECLARED", "${UNSET:-/fallback}", "\\$APP"]
VOLUME ${APP:+/alt} ${APP:-/unused} ${NOT_KNOWN:-/d}
"#;
        let facts = parse_dockerfile(text);
        assert_eq!(facts.base_image.as_deref(), Some("postgres:17"));
        assert_eq!(
            facts.volumes,
            [
                "/srv/app",
                "/home/app",
                "/quoted dir",
                "${UNSET}/x",
                "$NOT_DECLARED",
                "${UNSET:-/fallback}",
                "$APP",
                "/alt",
                "app",
                "${NOT_KNOWN:-/d}",
            ]
        );
        // legacy `ENV KEY value` keeps the rest of the line
        assert_eq!(
            volumes("FROM a\nENV LEGACY /legacy path\nVOLUME \"$LEGACY\"\n"),
            ["/legacy path"]
        );
        // a global ARG is not visible in a stage unless redeclared
        assert_eq!(volumes("ARG D=/d\nFROM a\nVOLUME $D\n"), ["$D"]);
        assert_eq!(volumes("ARG D=/d\nFROM a\nARG D\nVOLUME $D\n"), ["/d"]);
        // ENV wins over ARG
        assert_eq!(
            volumes("FROM a\nARG D=/arg\nENV D=/env\nVOLUME $D\n"),
            ["/env"]
        );
        // ENV values see the variables from before the instruction
        assert_eq!(
            volumes("FROM a\nENV A=/one\nENV A=/two B=$A\nVOLUME $B\n"),
            ["/one"]
        );
    }

    #[test]
    fn dockerfile_escape_directive() {
        let text = "# escape=`\nFROM mcr.microsoft.com/windows/servercore:ltsc2022\nVOLUME C:\\data `\n       C:\\logs\n";
        let facts = parse_dockerfile(text);
        assert_eq!(facts.volumes, ["C:\\data", "C:\\logs"]);
        // a directive after a comment is only a comment: the backslash stays the escape
        let text = "# hello\n# escape=`\nFROM a\nVOLUME /x \\\n  /y\n";
        assert_eq!(volumes(text), ["/x", "/y"]);
    }

    #[test]
    fn dockerfile_heredocs_and_no_volume() {
        let text = "FROM alpine\nRUN <<EOF\nVOLUME /not-an-instruction\nEOF\nCOPY <<-END /etc/x\n\tVOLUME /nor-this\n\tEND\nVOLUME /real\n";
        assert_eq!(volumes(text), ["/real"]);
        let plain = parse_dockerfile("FROM nginx:1.27\nCOPY . /usr/share/nginx/html\n");
        assert!(plain.volumes.is_empty());
        assert_eq!(plain.base_image.as_deref(), Some("nginx:1.27"));
        assert_eq!(parse_dockerfile(""), DockerfileFacts::default());
        assert!(volumes("VOLUME /before-from\n").is_empty());
        assert_eq!(volumes("\u{feff}FROM a\r\nVOLUME /crlf\r\n"), ["/crlf"]);
        assert!(volumes("FROM a\nONBUILD VOLUME /later\n").is_empty());
        // a file that ends inside a continuation still counts
        assert_eq!(volumes("FROM a\nVOLUME /last \\"), ["/last"]);
    }

    #[test]
    fn json_arrays() {
        assert_eq!(
            parse_json_string_array(r#"["a", "b\"c", "\u0041"]"#),
            Some(vec!["a".to_string(), "b\"c".to_string(), "A".to_string()])
        );
        assert_eq!(parse_json_string_array("[]"), Some(vec![]));
        for bad in [
            "[",
            "[\"a\"",
            "[\"a\",]",
            "[1]",
            "[\"a\"] x",
            "[\"\\u12\"]",
            "[\"\\q\"]",
        ] {
            assert_eq!(parse_json_string_array(bad), None, "{bad}");
        }
    }
}
