//! Conformance of `stowage::compose::mounts` with compose-go's `ParseVolume` and the reference CLI, row by
//! row over `tests/data/compose-go-volume-cases.tsv` (compose-go's own test cases, Apache-2.0, with the
//! reference CLI's output added; attribution in the file's first line).

use std::collections::HashMap;

use stowage::compose::mounts::{
    MountKind, clean_path, parse_short, resolve_bind_source, spec_error_message,
};

const CASES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/data/compose-go-volume-cases.tsv"
);

/// Rows in the table; checked so that a truncated or misread file cannot pass silently.
const EXPECTED_ROWS: usize = 112;

/// The directory and home the table's `cli_full_*` columns were produced with.
const PROJECT_DIR: &str = "/home/u/proj";
const HOME: &str = "/home/u";

struct Row {
    line: usize,
    cells: HashMap<String, String>,
}

impl Row {
    fn get(&self, column: &str) -> &str {
        match self.cells.get(column) {
            Some(value) => value,
            None => panic!("line {}: no column {column:?}", self.line),
        }
    }
}

fn load_rows() -> Vec<Row> {
    let text = std::fs::read_to_string(CASES).unwrap_or_else(|e| panic!("reading {CASES}: {e}"));
    let mut lines = text
        .lines()
        .enumerate()
        .map(|(index, line)| (index + 1, line))
        .filter(|(_, line)| !line.starts_with('#'));
    let (_, header) = lines.next().expect("the table has a header line");
    let columns: Vec<&str> = header.split('\t').collect();
    lines
        .filter(|(_, line)| !line.is_empty())
        .map(|(line, text)| {
            let values: Vec<&str> = text.split('\t').collect();
            assert_eq!(
                values.len(),
                columns.len(),
                "line {line}: {} cells for {} columns",
                values.len(),
                columns.len()
            );
            let cells = columns
                .iter()
                .zip(values)
                .map(|(c, v)| ((*c).to_owned(), v.to_owned()))
                .collect();
            Row { line, cells }
        })
        .collect()
}

#[test]
fn every_table_row_matches_compose_go() {
    let rows = load_rows();
    let mut mismatches: Vec<String> = Vec::new();
    let mut checked = 0;
    let mut resolved_checked = 0;

    for row in &rows {
        let spec: String = serde_json::from_str(row.get("input_json"))
            .unwrap_or_else(|e| panic!("line {}: input_json: {e}", row.line));
        let mut fail = |what: &str, got: &dyn std::fmt::Debug, want: &dyn std::fmt::Debug| {
            mismatches.push(format!(
                "line {} {spec:?}: {what}: got {got:?}, want {want:?}",
                row.line
            ));
        };
        checked += 1;

        let want_err = row.get("err");
        let volume = match parse_short(&spec) {
            Err(err) => {
                let message = spec_error_message(&spec, &err);
                if message != want_err {
                    fail("error", &message, &want_err);
                }
                continue;
            }
            Ok(volume) => {
                if !want_err.is_empty() {
                    fail("error", &"no error", &want_err);
                    continue;
                }
                volume
            }
        };

        let want_source = row.get("source");
        let want_kind = match (row.get("type"), want_source.is_empty()) {
            ("bind", _) => MountKind::Bind,
            ("volume", false) => MountKind::Named,
            ("volume", true) => MountKind::Anonymous,
            (other, _) => panic!("line {}: unknown type {other:?}", row.line),
        };
        if volume.kind != want_kind {
            fail("kind", &volume.kind, &want_kind);
        }
        let source = volume.source.as_deref().unwrap_or("");
        if source != want_source {
            fail("source", &source, &want_source);
        }
        if volume.target != row.get("target") {
            fail("target", &volume.target, &row.get("target"));
        }
        let flags = [
            ("read_only", volume.read_only),
            ("volume_nocopy", volume.nocopy),
            ("bind_create_host_path", volume.kind == MountKind::Bind),
        ];
        for (column, got) in flags {
            let want = row.get(column) == "true";
            if got != want {
                fail(column, &got, &want);
            }
        }
        let options = [
            ("bind_propagation", volume.propagation.as_deref()),
            ("bind_selinux", volume.selinux.as_deref()),
        ];
        for (column, got) in options {
            let got = got.unwrap_or("");
            if got != row.get(column) {
                fail(column, &got, &row.get(column));
            }
        }

        // `config --no-interpolate --no-path-resolution`: only the target is cleaned.
        if row.get("cli_raw_error").is_empty() {
            let cleaned = clean_path(&volume.target);
            if cleaned != row.get("cli_raw_target") {
                fail("cli_raw_target", &cleaned, &row.get("cli_raw_target"));
            }
        }

        // The `cli_full_*` columns were produced after interpolation with an empty
        // environment; specs containing `$` are parsed here without interpolation, so only
        // this column is skipped for them.
        if row.get("cli_full_type") == "bind"
            && row.get("cli_full_error").is_empty()
            && !spec.contains('$')
        {
            resolved_checked += 1;
            let resolved = resolve_bind_source(source, PROJECT_DIR, HOME);
            if resolved != row.get("cli_full_source") {
                fail("cli_full_source", &resolved, &row.get("cli_full_source"));
            }
        }
    }

    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches.join("\n")
    );
    assert_eq!(checked, EXPECTED_ROWS, "rows checked");
    assert!(
        resolved_checked > 0,
        "no bind row exercised resolve_bind_source"
    );
}
