//! The crate's shape, checked on its source as text: every module stays on its floor (the table
//! under "Floors" in docs/design.md, the only place the floors are written), the top-level
//! modules import each other in no circle, no file has more than 900 lines before its tests and
//! no file of the command line more than 500.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

const MAX_LINES: usize = 900;
const MAX_CLI_LINES: usize = 500;

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The floor of each top-level module, from the table in docs/design.md.
fn floors() -> BTreeMap<String, u32> {
    let design = std::fs::read_to_string(root().join("docs/design.md")).expect("docs/design.md");
    let table = design
        .split_once("### Floors")
        .expect("docs/design.md has a `### Floors` section")
        .1;
    let mut floors = BTreeMap::new();
    for line in table
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
    {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let Ok(floor) = cells[0].parse::<u32>() else {
            continue; // the header and its rule
        };
        for module in cells[1].split(',') {
            let module = module.trim().trim_matches('`').to_string();
            assert!(
                floors.insert(module.clone(), floor).is_none(),
                "`{module}` is on two floors in docs/design.md"
            );
        }
    }
    assert!(
        !floors.is_empty(),
        "the Floors table in docs/design.md is empty"
    );
    floors
}

/// The top-level modules `src/lib.rs` declares.
fn declared_modules() -> BTreeSet<String> {
    let lib = std::fs::read_to_string(root().join("src/lib.rs")).expect("src/lib.rs");
    lib.lines()
        .filter_map(|line| {
            let rest = line.trim().strip_suffix(';')?;
            let name = rest.rsplit_once("mod ")?.1;
            let visibility = rest.rsplit_once("mod ")?.0.trim();
            (visibility.is_empty() || visibility.starts_with("pub")).then(|| name.to_string())
        })
        .collect()
}

/// Every `.rs` file under `dir`.
fn sources(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).expect("a readable source directory") {
        let path = entry.expect("a directory entry").path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The library's files with the top-level module each belongs to (`lib.rs` and `main.rs` belong
/// to none).
fn library_files() -> Vec<(String, PathBuf, String)> {
    let src = root().join("src");
    let mut files = Vec::new();
    sources(&src, &mut files);
    files.sort();
    files
        .into_iter()
        .filter_map(|path| {
            let relative = path.strip_prefix(&src).expect("under src");
            let first = relative.components().next()?.as_os_str().to_str()?;
            let module = first.strip_suffix(".rs").unwrap_or(first);
            if module == "lib" || module == "main" {
                return None;
            }
            let text = std::fs::read_to_string(&path).expect("a readable source file");
            Some((module.to_string(), path, text))
        })
        .collect()
}

/// The top-level modules a file names in `crate::` paths, outside comments, with a line each:
/// `crate::a::…` and each item of `crate::{a::…, b}`.
fn named_modules(text: &str) -> Vec<(String, usize)> {
    let mut named = Vec::new();
    for (number, line) in text.lines().enumerate() {
        let code = line.split_once("//").map_or(line, |(code, _)| code);
        let mut rest = code;
        while let Some(at) = rest.find("crate::") {
            let before = rest[..at].chars().next_back();
            rest = &rest[at + "crate::".len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_') {
                continue; // a longer name ending in `crate` (`$crate::` counts: a macro's path)
            }
            if let Some(group) = rest.strip_prefix('{') {
                let mut depth = 0usize;
                let mut item_start = true;
                for (i, c) in group.char_indices() {
                    match c {
                        '{' => depth += 1,
                        '}' if depth == 0 => break,
                        '}' => depth -= 1,
                        ',' if depth == 0 => item_start = true,
                        c if item_start && (c.is_alphabetic() || c == '_') => {
                            named.push((identifier(&group[i..]), number + 1));
                            item_start = false;
                        }
                        _ => {}
                    }
                }
            } else {
                named.push((identifier(rest), number + 1));
            }
        }
    }
    named
}

fn identifier(text: &str) -> String {
    text.chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect()
}

#[test]
fn every_module_has_a_floor() {
    let floors = floors();
    let declared = declared_modules();
    let missing: Vec<_> = declared
        .iter()
        .filter(|m| !floors.contains_key(*m))
        .collect();
    assert!(
        missing.is_empty(),
        "modules of src/lib.rs without a floor in docs/design.md: {missing:?}"
    );
    let stale: Vec<_> = floors.keys().filter(|m| !declared.contains(*m)).collect();
    assert!(
        stale.is_empty(),
        "docs/design.md places modules that do not exist: {stale:?}"
    );
}

#[test]
fn nothing_imports_a_higher_floor() {
    let floors = floors();
    let mut upward = Vec::new();
    for (module, path, text) in library_files() {
        let own = floors[&module];
        for (named, line) in named_modules(&text) {
            // `crate::x` where `x` is not a module (a macro or an item of lib.rs) has no floor.
            if let Some(&floor) = floors.get(&named)
                && floor > own
            {
                upward.push(format!(
                    "{}:{line}: `{module}` (floor {own}) names `{named}` (floor {floor})",
                    path.strip_prefix(root()).expect("under the root").display()
                ));
            }
        }
    }
    assert!(
        upward.is_empty(),
        "imports from a higher floor:\n{}",
        upward.join("\n")
    );
}

#[test]
fn no_modules_import_each_other_in_a_circle() {
    let floors = floors();
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for (module, _, text) in library_files() {
        let targets = edges.entry(module.clone()).or_default();
        for (named, _) in named_modules(&text) {
            if named != module && floors.contains_key(&named) {
                targets.insert(named);
            }
        }
    }
    // Depth-first search; a module met again while it is on the path closes a circle.
    fn visit(
        module: &str,
        edges: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|m| m == module) {
            let mut circle = path[at..].to_vec();
            circle.push(module.to_string());
            return Some(circle);
        }
        if !done.insert(module.to_string()) {
            return None;
        }
        path.push(module.to_string());
        for next in edges.get(module).into_iter().flatten() {
            if let Some(circle) = visit(next, edges, path, done) {
                return Some(circle);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    for module in edges.keys() {
        if let Some(circle) = visit(module, &edges, &mut Vec::new(), &mut done) {
            panic!("modules import each other: {}", circle.join(" → "));
        }
    }
}

/// The lines before a file's `#[cfg(test)]` module (all of them when it has none).
fn lines_before_tests(text: &str) -> usize {
    let lines: Vec<&str> = text.lines().collect();
    lines
        .iter()
        .enumerate()
        .position(|(i, line)| {
            line.trim() == "#[cfg(test)]"
                && lines[i + 1..]
                    .iter()
                    .find(|l| !l.trim_start().starts_with("#["))
                    .is_some_and(|l| l.trim_start().starts_with("mod "))
        })
        .unwrap_or(lines.len())
}

#[test]
fn no_file_is_too_long() {
    let mut long = Vec::new();
    for (module, path, text) in library_files() {
        let name = path.strip_prefix(root()).expect("under the root").display();
        let before_tests = lines_before_tests(&text);
        if before_tests > MAX_LINES {
            long.push(format!(
                "{name}: {before_tests} lines before its tests (at most {MAX_LINES})"
            ));
        }
        let lines = text.lines().count();
        if module == "cli" && lines > MAX_CLI_LINES {
            long.push(format!(
                "{name}: {lines} lines (at most {MAX_CLI_LINES} in src/cli)"
            ));
        }
    }
    assert!(long.is_empty(), "files too long:\n{}", long.join("\n"));
}

#[test]
fn the_reader_finds_imports() {
    let text = "use crate::yaml::value::Value;\n\
                // crate::cli in a comment\n\
                use crate::{compose::model::{A, B}, images};\n\
                let x = $crate::fix::f(); other_crate::cli::g(); fn f() -> crate::lint::X {}\n";
    let named: Vec<_> = named_modules(text).into_iter().map(|(m, _)| m).collect();
    assert_eq!(named, ["yaml", "compose", "images", "fix", "lint"]);
    assert_eq!(
        lines_before_tests(
            "a\nb\n#[cfg(test)]\nfn helper() {}\n#[cfg(test)]\n#[allow(x)]\nmod tests {}\n"
        ),
        4
    );
}
