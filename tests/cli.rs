//! End-to-end tests of the `stowage` binary: what a user sees on stdout/stderr and the exit code,
//! for `stowage volumes` in its table and JSON (design §2, version 1) formats, compose's loading
//! flags, the directory walk and compose's own discovery. Every command runs with a cleared
//! environment (so a developer's `COMPOSE_*` or `BACKUP_DIR` cannot leak in) and, except for the
//! demo snapshots, inside a temporary directory.

use std::path::Path;

use serde_json::Value as Json;

mod common;
use common::binary::{Run, manifest_dir, run, stowage, stowage_run, str_of, tempdir, write};

// ---------------------------------------------------------------------------------------------
// helpers

impl Run {
    /// Both streams, for messages that may go to either.
    fn all(&self) -> String {
        format!("{}{}", self.stdout, self.stderr)
    }
}

/// 1-based (line, column) of the first occurrence of `needle` in `text` (ASCII text).
fn line_col(text: &str, needle: &str) -> (u64, u64) {
    for (i, line) in text.lines().enumerate() {
        if let Some(col) = line.find(needle) {
            return (i as u64 + 1, col as u64 + 1);
        }
    }
    panic!("{needle:?} not found in\n{text}");
}

fn project<'a>(doc: &'a Json, name: &str) -> &'a Json {
    doc["projects"]
        .as_array()
        .expect("projects is an array")
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("no project {name:?} in {doc:#}"))
}

fn service<'a>(project: &'a Json, name: &str) -> &'a Json {
    project["services"]
        .as_array()
        .expect("services is an array")
        .iter()
        .find(|s| s["name"] == name)
        .unwrap_or_else(|| panic!("no service {name:?} in {project:#}"))
}

fn service_names(project: &Json) -> Vec<&str> {
    project["services"]
        .as_array()
        .expect("services is an array")
        .iter()
        .map(|s| str_of(&s["name"]))
        .collect()
}

fn mount<'a>(service: &'a Json, target: &str) -> &'a Json {
    service["mounts"]
        .as_array()
        .expect("mounts is an array")
        .iter()
        .find(|m| m["target"] == target)
        .unwrap_or_else(|| panic!("no mount on {target:?} in {service:#}"))
}

fn mount_targets(service: &Json) -> Vec<&str> {
    service["mounts"]
        .as_array()
        .expect("mounts is an array")
        .iter()
        .map(|m| str_of(&m["target"]))
        .collect()
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

fn keys(v: &Json) -> Vec<&str> {
    let mut k: Vec<&str> = v
        .as_object()
        .unwrap_or_else(|| panic!("expected an object, got {v}"))
        .keys()
        .map(String::as_str)
        .collect();
    k.sort_unstable();
    k
}

fn sorted<'a>(k: &[&'a str]) -> Vec<&'a str> {
    let mut k = k.to_vec();
    k.sort_unstable();
    k
}

// ---------------------------------------------------------------------------------------------
// redaction for snapshots

/// The checkout's path in its spellings, longest first.
fn roots() -> Vec<String> {
    let dir = manifest_dir();
    let mut roots = vec![path_str(&dir)];
    if let Ok(c) = dir.canonicalize() {
        roots.push(path_str(&c));
    }
    roots.sort_by_key(|r| std::cmp::Reverse(r.len()));
    roots.dedup();
    roots
}

fn redact(text: &str) -> String {
    roots().iter().fold(text.to_owned(), |t, root| {
        t.replace(root.as_str(), "[ROOT]")
    })
}

/// Redacts the table output and lays its columns out again, so that the snapshot does not depend
/// on the length of the checkout path (the SOURCE column is as wide as the longest path). Column
/// boundaries are read from the header line (cells there are separated by at least two spaces);
/// a row whose cell does not start at its header's column fails the test.
fn redact_table(text: &str) -> String {
    fn flush(rows: &mut Vec<Vec<String>>, out: &mut String) {
        if rows.is_empty() {
            return;
        }
        let columns = rows[0].len();
        let widths: Vec<usize> = (0..columns)
            .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap_or(0))
            .collect();
        for row in rows.drain(..) {
            let mut line = String::from("  ");
            for (c, cell) in row.iter().enumerate() {
                line.push_str(cell);
                if c + 1 < columns {
                    let pad = widths[c] - cell.chars().count() + 2;
                    line.extend(std::iter::repeat_n(' ', pad));
                }
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }

    let mut out = String::new();
    let mut starts: Option<Vec<usize>> = None;
    let mut rows: Vec<Vec<String>> = Vec::new();
    for line in text.lines() {
        let chars: Vec<char> = line.chars().collect();
        if line.starts_with("  SERVICE ") {
            flush(&mut rows, &mut out);
            let s: Vec<usize> = (2..chars.len())
                .filter(|&i| {
                    chars[i] != ' ' && (i == 2 || (chars[i - 1] == ' ' && chars[i - 2] == ' '))
                })
                .collect();
            starts = Some(s);
        } else if starts.is_none() || !line.starts_with("  ") || line.starts_with("  error:") {
            flush(&mut rows, &mut out);
            starts = None;
            out.push_str(&redact(line));
            out.push('\n');
            continue;
        }
        let s = starts.as_ref().expect("inside a table");
        let cells = s
            .iter()
            .enumerate()
            .map(|(c, &start)| {
                if start > 0 && start <= chars.len() {
                    assert_eq!(
                        chars[start - 1],
                        ' ',
                        "misaligned table row (column {c} should start at {start}):\n{line}"
                    );
                }
                let end = s
                    .get(c + 1)
                    .copied()
                    .unwrap_or(chars.len())
                    .min(chars.len());
                let cell: String = chars[start.min(end)..end].iter().collect();
                redact(cell.trim())
            })
            .collect();
        rows.push(cells);
    }
    flush(&mut rows, &mut out);
    out
}

// ---------------------------------------------------------------------------------------------
// the demo project

fn demo_run(args: &[&str]) -> Run {
    let mut all = vec!["volumes", "fixtures/demo"];
    all.extend_from_slice(args);
    stowage_run(&manifest_dir(), &all)
}

#[test]
fn demo_table_snapshot() {
    let r = demo_run(&[]);
    r.expect_code(0);
    assert_eq!(r.stderr, "");
    insta::assert_snapshot!("demo_table", redact_table(&r.stdout));
}

/// A mount shared through `volumes_from` is the producer's (not an anonymous volume of the
/// consumer's own image), and a data path nothing holds has a row: the container's layer.
#[test]
fn volumes_show_shared_mounts_and_the_container_layer() {
    let dir = "fixtures/volumes/shared-and-layer";
    let r = stowage_run(&manifest_dir(), &["volumes", dir]);
    r.expect_code(0);
    let rows: Vec<Vec<&str>> = r
        .stdout
        .lines()
        .skip(2)
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .filter(|c| !c.is_empty())
                .collect()
        })
        .collect();
    assert_eq!(
        rows,
        [
            vec![
                "db",
                "anonymous (image)",
                "-",
                "/var/lib/postgresql/data",
                "yes",
                "yes",
                "no",
                "no"
            ],
            vec![
                "app",
                "anonymous (from db)",
                "-",
                "/var/lib/postgresql/data",
                "yes",
                "yes",
                "no",
                "no"
            ],
            vec![
                "search",
                "container layer",
                "-",
                "/usr/share/elasticsearch/data",
                "yes",
                "no",
                "no",
                "no"
            ],
        ],
        "{}",
        r.stdout
    );
    let r = stowage_run(&manifest_dir(), &["volumes", "--format", "json", dir]);
    r.expect_code(0);
    let doc: Json = serde_json::from_str(&r.stdout).expect("JSON");
    let services = &doc["projects"][0]["services"];
    assert_eq!(services[1]["mounts"][0]["from"], "db");
    assert!(services[0]["mounts"][0].get("from").is_none());
    assert_eq!(
        services[2]["container_layer"][0]["path"],
        "/usr/share/elasticsearch/data"
    );
    assert_eq!(
        services[2]["container_layer"][0]["survives"]["recreate"],
        false
    );
    assert!(services[0].get("container_layer").is_none());
}

#[test]
fn demo_json_snapshot() {
    let r = demo_run(&["--format", "json"]);
    r.expect_code(0);
    assert_eq!(r.stderr, "");
    insta::assert_snapshot!("demo_json", redact(&r.stdout));
}

#[test]
fn demo_table_and_json_agree_on_rows() {
    let table = demo_run(&[]);
    let json = demo_run(&["--format", "json"]).json();
    let p = project(&json, "shop");
    let mut expected_rows = 0;
    for s in p["services"].as_array().unwrap() {
        // One row per mount and per data path in the container's layer, or one for nothing.
        let layer = s["container_layer"].as_array().map_or(0, Vec::len);
        expected_rows += (s["mounts"].as_array().unwrap().len() + layer).max(1);
        for m in s["mounts"].as_array().unwrap() {
            let name = str_of(&s["name"]);
            let target = str_of(&m["target"]);
            assert!(
                table.stdout.lines().any(|l| {
                    let cells: Vec<&str> = l.split_whitespace().collect();
                    cells.first() == Some(&name) && cells.contains(&target)
                }),
                "no table row for {name} {target}:\n{}",
                table.stdout
            );
        }
    }
    let header = table
        .stdout
        .lines()
        .position(|l| l.trim_start().starts_with("SERVICE"))
        .expect("a header");
    let rows = table
        .stdout
        .lines()
        .skip(header + 1)
        .filter(|l| !l.trim().is_empty())
        .count();
    assert_eq!(rows, expected_rows, "{}", table.stdout);
}

/// Design §2: the exact structure of `--format json`, and the values that matter on the demo.
#[test]
fn demo_json_shape_and_values() {
    let doc = demo_run(&["--format", "json"]).expect_code(0).json();
    let compose_text =
        std::fs::read_to_string(manifest_dir().join("fixtures/demo/compose.yaml")).unwrap();

    assert_eq!(keys(&doc), sorted(&["version", "projects", "errors"]));
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["errors"], serde_json::json!([]));
    let projects = doc["projects"].as_array().unwrap();
    assert_eq!(projects.len(), 1);

    let p = &projects[0];
    assert_eq!(
        keys(p),
        sorted(&["name", "directory", "files", "services", "volumes"])
    );
    assert_eq!(p["name"], "shop");
    assert_eq!(p["directory"], "fixtures/demo");
    assert_eq!(
        p["files"],
        serde_json::json!([
            "fixtures/demo/compose.yaml",
            "fixtures/demo/compose.override.yaml"
        ])
    );
    assert_eq!(
        service_names(p),
        ["web", "worker", "db", "cache", "search", "backup"]
    );

    let kinds = [
        "bind",
        "named",
        "anonymous",
        "tmpfs",
        "npipe",
        "cluster",
        "image",
    ];
    for s in p["services"].as_array().unwrap() {
        // `container_layer` only where a data path is in the container's own layer (search).
        if s["name"] == "search" {
            assert_eq!(
                keys(s),
                sorted(&["name", "image", "mounts", "container_layer"]),
                "{s:#}"
            );
            assert_eq!(
                s["container_layer"],
                serde_json::json!([{"path": "/usr/share/elasticsearch/data", "survives": {"restart": true, "recreate": false, "down_up": false, "down_volumes": false, "up_renew": false, "rm_up": false, "rm_volumes_up": false}}])
            );
        } else {
            assert_eq!(keys(s), sorted(&["name", "image", "mounts"]), "{s:#}");
        }
        assert!(s["image"].is_string() || s["image"].is_null());
        for m in s["mounts"].as_array().unwrap() {
            assert_eq!(
                keys(m),
                sorted(&[
                    "kind",
                    "source",
                    "resolved_source",
                    "target",
                    "read_only",
                    "implicit",
                    "declared_at",
                    "survives"
                ]),
                "{m:#}"
            );
            assert!(kinds.contains(&str_of(&m["kind"])), "{m:#}");
            assert!(m["source"].is_string() || m["source"].is_null());
            assert!(m["resolved_source"].is_string() || m["resolved_source"].is_null());
            assert!(str_of(&m["target"]).starts_with('/'));
            assert!(m["read_only"].is_boolean());
            let implicit = m["implicit"].as_bool().expect("implicit is a bool");
            if implicit {
                assert!(m["declared_at"].is_null(), "{m:#}");
            } else {
                let at = &m["declared_at"];
                assert_eq!(keys(at), sorted(&["path", "line", "column"]), "{m:#}");
                assert!(at["path"].is_string());
                assert!(at["line"].as_u64().is_some_and(|n| n >= 1));
                assert!(at["column"].as_u64().is_some_and(|n| n >= 1));
            }
            let survives = &m["survives"];
            let columns = [
                "restart",
                "recreate",
                "down_up",
                "down_volumes",
                "up_renew",
                "rm_up",
                "rm_volumes_up",
            ];
            assert_eq!(keys(survives), sorted(&columns));
            for k in columns {
                assert!(survives[k].is_boolean(), "{m:#}");
            }
        }
    }
    for v in p["volumes"].as_array().unwrap() {
        assert_eq!(keys(v), sorted(&["key", "name", "external", "used_by"]));
    }

    // db: an explicit anonymous volume, declared on its line of compose.yaml.
    let db = service(p, "db");
    assert_eq!(db["image"], "postgres:16-alpine");
    assert_eq!(mount_targets(db), ["/var/lib/postgresql/data"]);
    let pg = mount(db, "/var/lib/postgresql/data");
    assert_eq!(pg["kind"], "anonymous");
    assert_eq!(pg["source"], Json::Null);
    assert_eq!(pg["resolved_source"], Json::Null);
    assert_eq!(pg["implicit"], false);
    assert_eq!(pg["read_only"], false);
    let (line, column) = line_col(&compose_text, "/var/lib/postgresql/data");
    assert_eq!(
        pg["declared_at"],
        serde_json::json!({"path": "fixtures/demo/compose.yaml", "line": line, "column": column})
    );
    assert_eq!(
        pg["survives"],
        serde_json::json!({"restart": true, "recreate": true, "down_up": false, "down_volumes": false,
            "up_renew": false, "rm_up": false, "rm_volumes_up": false})
    );

    // cache: redis declares VOLUME /data; nothing is mounted there, so compose creates one.
    let cache = service(p, "cache");
    let data = mount(cache, "/data");
    assert_eq!(data["kind"], "anonymous");
    assert_eq!(data["implicit"], true);
    assert_eq!(data["declared_at"], Json::Null);
    assert_eq!(data["source"], Json::Null);
    assert_eq!(data["survives"]["down_up"], false);

    // web/worker: the anchor's named volume gets the project prefix; the read-only config bind
    // resolves against the project directory; both are declared at the anchor.
    for name in ["web", "worker"] {
        let s = service(p, name);
        assert_eq!(s["image"], "ghcr.io/example/shop:1.4");
        let uploads = mount(s, "/srv/shop/uploads");
        assert_eq!(uploads["kind"], "named");
        assert_eq!(uploads["source"], "uploads");
        assert_eq!(uploads["resolved_source"], "shop_uploads");
        assert_eq!(
            uploads["survives"],
            serde_json::json!({"restart": true, "recreate": true, "down_up": true, "down_volumes": false,
                "up_renew": true, "rm_up": true, "rm_volumes_up": true})
        );
        let (line, column) = line_col(&compose_text, "uploads:/srv/shop/uploads");
        assert_eq!(
            uploads["declared_at"],
            serde_json::json!({"path": "fixtures/demo/compose.yaml", "line": line, "column": column})
        );

        let config = mount(s, "/etc/shop/app.toml");
        assert_eq!(config["kind"], "bind");
        assert_eq!(config["read_only"], true);
        assert_eq!(config["source"], "./config/app.toml");
        let resolved = manifest_dir()
            .canonicalize()
            .unwrap()
            .join("fixtures/demo/config/app.toml");
        assert_eq!(config["resolved_source"], path_str(&resolved));
        assert_eq!(
            config["survives"],
            serde_json::json!({"restart": true, "recreate": true, "down_up": true, "down_volumes": true,
            "up_renew": true, "rm_up": true, "rm_volumes_up": true})
        );
        let (line, column) = line_col(&compose_text, "./config/app.toml:");
        assert_eq!(config["declared_at"]["line"], line);
        assert_eq!(config["declared_at"]["column"], column);
    }

    // search: tmpfs survives nothing.
    let tmp = mount(service(p, "search"), "/tmp");
    assert_eq!(tmp["kind"], "tmpfs");
    assert_eq!(
        tmp["survives"],
        serde_json::json!({"restart": false, "recreate": false, "down_up": false, "down_volumes": false,
            "up_renew": false, "rm_up": false, "rm_volumes_up": false})
    );

    // backup: the default of `${BACKUP_DIR:-./backups}` (the environment is empty).
    let backups = mount(service(p, "backup"), "/backups");
    assert_eq!(backups["kind"], "bind");
    assert_eq!(backups["source"], "./backups");
    assert_eq!(
        backups["resolved_source"],
        path_str(
            &manifest_dir()
                .canonicalize()
                .unwrap()
                .join("fixtures/demo/backups")
        )
    );

    assert_eq!(
        p["volumes"],
        serde_json::json!([{"key": "uploads", "name": "shop_uploads", "external": false, "used_by": ["web", "worker"]}])
    );
}

#[test]
fn demo_interpolates_from_the_process_environment() {
    let r = run(stowage(&manifest_dir())
        .args(["volumes", "fixtures/demo", "--format", "json"])
        .env("BACKUP_DIR", "/srv/backups"));
    let doc = r.expect_code(0).json();
    let backups = mount(service(project(&doc, "shop"), "backup"), "/backups");
    assert_eq!(backups["source"], "/srv/backups");
    assert_eq!(backups["resolved_source"], "/srv/backups");
}

// ---------------------------------------------------------------------------------------------
// exit codes

const CLEAN: &str =
    "services:\n  app:\n    image: alpine\n    volumes:\n      - data:/data\nvolumes:\n  data:\n";
const UNDEFINED_VOLUME: &str =
    "services:\n  app:\n    image: alpine\n    volumes:\n      - data:/data\n";

#[test]
fn clean_project_exits_0() {
    let (_t, root) = tempdir();
    write(&root, "proj/compose.yaml", CLEAN);
    let r = stowage_run(&root, &["volumes", "proj"]);
    r.expect_code(0);
    assert_eq!(r.stderr, "");
    assert!(
        r.stdout.starts_with("project proj (proj/compose.yaml)\n"),
        "{}",
        r.stdout
    );
    assert!(!r.stdout.contains("error"), "{}", r.stdout);
    let doc = stowage_run(&root, &["volumes", "proj", "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(doc["errors"], serde_json::json!([]));
    assert_eq!(
        mount(service(project(&doc, "proj"), "app"), "/data")["resolved_source"],
        "proj_data"
    );
}

#[test]
fn missing_path_exits_2_naming_it() {
    let (_t, root) = tempdir();
    let r = stowage_run(&root, &["volumes", "does-not-exist"]);
    r.expect_code(2);
    assert!(r.all().contains("does-not-exist"), "{}", r.all());

    let r = stowage_run(&root, &["volumes", "does-not-exist", "--format", "json"]);
    r.expect_code(2);
    let doc = r.json();
    assert_eq!(doc["version"], 1);
    assert_eq!(doc["projects"], serde_json::json!([]));
    let errors = doc["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{doc:#}");
    assert_eq!(
        keys(&errors[0]),
        sorted(&["path", "line", "column", "message"])
    );
    assert_eq!(errors[0]["path"], "does-not-exist");
}

#[test]
fn missing_path_beside_a_good_one_still_reports_the_good_one() {
    let (_t, root) = tempdir();
    write(&root, "proj/compose.yaml", CLEAN);
    let r = stowage_run(&root, &["volumes", "proj", "nope", "--format", "json"]);
    r.expect_code(2);
    let doc = r.json();
    assert_eq!(service_names(project(&doc, "proj")), ["app"]);
    assert_eq!(doc["errors"][0]["path"], "nope");
}

#[test]
fn rejected_project_exits_1_with_position() {
    let (_t, root) = tempdir();
    write(&root, "bad/compose.yaml", UNDEFINED_VOLUME);
    let (line, column) = line_col(UNDEFINED_VOLUME, "data:/data");

    let r = stowage_run(&root, &["volumes", "bad"]);
    r.expect_code(1);
    let at = format!("bad/compose.yaml:{line}:{column}:");
    let error_line = r
        .stdout
        .lines()
        .find(|l| l.contains(&at))
        .unwrap_or_else(|| panic!("no error at {at} in\n{}", r.all()));
    assert!(error_line.contains("error"), "{error_line}");
    assert!(error_line.contains("undefined volume"), "{error_line}");

    let r = stowage_run(&root, &["volumes", "bad", "--format", "json"]);
    r.expect_code(1);
    let doc = r.json();
    let errors = doc["errors"].as_array().unwrap();
    assert_eq!(errors.len(), 1, "{doc:#}");
    assert_eq!(
        keys(&errors[0]),
        sorted(&["path", "line", "column", "message"])
    );
    assert_eq!(errors[0]["path"], "bad/compose.yaml");
    assert_eq!(errors[0]["line"], line);
    assert_eq!(errors[0]["column"], column);
    assert!(str_of(&errors[0]["message"]).contains("data"), "{doc:#}");
    // The rejected project still appears, with its mounts.
    assert_eq!(
        mount(service(project(&doc, "bad"), "app"), "/data")["kind"],
        "named"
    );
}

#[test]
fn yaml_syntax_error_exits_1_with_position() {
    let (_t, root) = tempdir();
    let text = "services:\n  app:\n    image: alpine\n    volumes: [a, b\n";
    write(&root, "compose.yaml", text);
    let r = stowage_run(&root, &["volumes", "compose.yaml", "--format", "json"]);
    r.expect_code(1);
    let doc = r.json();
    let e = &doc["errors"][0];
    assert_eq!(e["path"], "compose.yaml");
    assert!(e["line"].as_u64().is_some_and(|l| l >= 4), "{doc:#}");
    assert!(e["column"].as_u64().is_some(), "{doc:#}");
}

#[test]
fn one_rejected_project_in_a_walk_exits_1() {
    let (_t, root) = tempdir();
    write(&root, "good/compose.yaml", CLEAN);
    write(&root, "bad/compose.yaml", UNDEFINED_VOLUME);
    let doc = stowage_run(&root, &["volumes", ".", "--format", "json"])
        .expect_code(1)
        .json();
    assert_eq!(doc["projects"].as_array().unwrap().len(), 2);
    assert_eq!(doc["errors"].as_array().unwrap().len(), 1);
    assert_eq!(doc["errors"][0]["path"], "bad/compose.yaml");
}

#[test]
fn bad_arguments_exit_2() {
    let (_t, root) = tempdir();
    write(&root, "compose.yaml", CLEAN);
    for args in [
        &["volumes", "--bogus"][..],
        &["volumes", "--format", "xml"],
        &["volumes", "-f"],
        &["no-such-command"],
    ] {
        let r = stowage_run(&root, args);
        r.expect_code(2);
        assert_eq!(r.stdout, "", "{args:?}");
        assert!(r.stderr.contains("error"), "{args:?}: {}", r.stderr);
    }
    let r = stowage_run(&root, &["volumes", "--bogus"]);
    assert!(r.stderr.contains("--bogus"), "{}", r.stderr);
    let r = stowage_run(&root, &["volumes", "--format", "xml"]);
    assert!(r.stderr.contains("xml"), "{}", r.stderr);
}

#[test]
fn help_and_version_exit_0() {
    let (_t, root) = tempdir();
    let r = stowage_run(&root, &["--help"]);
    r.expect_code(0);
    assert!(r.stdout.contains("Usage"), "{}", r.stdout);
    assert!(r.stdout.contains("volumes"), "{}", r.stdout);

    let r = stowage_run(&root, &["volumes", "--help"]);
    r.expect_code(0);
    for flag in [
        "--file",
        "--format",
        "--project-directory",
        "--project-name",
        "--env-file",
        "--profile",
        "--stdin-filename",
    ] {
        assert!(r.stdout.contains(flag), "{flag} missing from\n{}", r.stdout);
    }

    let r = stowage_run(&root, &["help", "volumes"]);
    r.expect_code(0);
    assert!(r.stdout.contains("--format"), "{}", r.stdout);

    let r = stowage_run(&root, &["--version"]);
    r.expect_code(0);
    assert_eq!(
        r.stdout.trim(),
        format!("stowage {}", env!("CARGO_PKG_VERSION"))
    );
}

#[test]

fn dash_f_missing_file_exits_2() {
    let (_t, root) = tempdir();
    let r = stowage_run(&root, &["volumes", "-f", "missing.yaml"]);
    r.expect_code(2);
    assert!(r.all().contains("missing.yaml"), "{}", r.all());
    let r = stowage_run(
        &root,
        &["volumes", "-f", "missing.yaml", "--format", "json"],
    );
    r.expect_code(2);
    let doc = r.json();
    assert_eq!(doc["errors"][0]["path"], "missing.yaml", "{doc:#}");
}

#[test]

fn dash_f_directory_exits_2_naming_it() {
    let (_t, root) = tempdir();
    write(&root, "sub/compose.yaml", CLEAN);
    let r = stowage_run(&root, &["volumes", "-f", "sub"]);
    r.expect_code(2);
    assert!(r.all().contains("sub"), "{}", r.all());
    let r = stowage_run(&root, &["volumes", "-f", "."]);
    assert!(
        !r.all().contains("error:  is a directory"),
        "the directory is not named:\n{}",
        r.all()
    );
    r.expect_code(2);
}

#[test]

fn compose_file_env_missing_file_exits_2() {
    let (_t, root) = tempdir();
    let r = run(stowage(&root)
        .args(["volumes"])
        .env("COMPOSE_FILE", "missing.yaml"));
    r.expect_code(2);
    assert!(r.all().contains("missing.yaml"), "{}", r.all());
}

#[test]

fn env_file_missing_exits_2() {
    let (_t, root) = tempdir();
    write(&root, "compose.yaml", CLEAN);
    let r = stowage_run(&root, &["volumes", "--env-file", "missing.env"]);
    r.expect_code(2);
    assert!(r.all().contains("missing.env"), "{}", r.all());
}

// ---------------------------------------------------------------------------------------------
// loading flags

const BASE: &str = "services:\n  app:\n    image: alpine\n    volumes:\n      - data:/data\n      - ./logs:/logs\nvolumes:\n  data:\n";

#[test]
fn dash_f_merges_files_and_override_replaces_a_mount_by_target() {
    let (_t, root) = tempdir();
    let over = "services:\n  app:\n    volumes:\n      - /data\n";
    write(&root, "proj/compose.yaml", BASE);
    write(&root, "proj/other.yaml", over);
    let doc = stowage_run(
        &root,
        &[
            "volumes",
            "-f",
            "proj/compose.yaml",
            "-f",
            "proj/other.yaml",
            "--format",
            "json",
        ],
    )
    .expect_code(0)
    .json();
    let p = project(&doc, "proj");
    assert_eq!(p["directory"], "proj");
    assert_eq!(
        p["files"],
        serde_json::json!(["proj/compose.yaml", "proj/other.yaml"])
    );
    let app = service(p, "app");
    // Replaced in place: compose keeps the position of the entry it replaces.
    assert_eq!(mount_targets(app), ["/data", "/logs"]);
    let data = mount(app, "/data");
    assert_eq!(data["kind"], "anonymous");
    assert_eq!(data["source"], Json::Null);
    let (line, column) = line_col(over, "/data");
    assert_eq!(
        data["declared_at"],
        serde_json::json!({"path": "proj/other.yaml", "line": line, "column": column})
    );
    assert_eq!(data["survives"]["down_up"], false);
    let logs = mount(app, "/logs");
    assert_eq!(logs["declared_at"]["path"], "proj/compose.yaml");
    assert_eq!(logs["resolved_source"], path_str(&root.join("proj/logs")));
    // The named volume is still declared, but nothing uses it any more.
    assert_eq!(
        p["volumes"],
        serde_json::json!([{"key": "data", "name": "proj_data", "external": false, "used_by": []}])
    );
}

#[test]
fn override_file_argument_comes_with_its_base() {
    let (_t, root) = tempdir();
    write(&root, "proj/compose.yaml", BASE);
    write(
        &root,
        "proj/compose.override.yaml",
        "services:\n  app:\n    volumes:\n      - ./other:/logs\n",
    );
    let doc = stowage_run(
        &root,
        &["volumes", "proj/compose.override.yaml", "--format", "json"],
    )
    .expect_code(0)
    .json();
    let p = project(&doc, "proj");
    assert_eq!(
        p["files"],
        serde_json::json!(["proj/compose.yaml", "proj/compose.override.yaml"])
    );
    let logs = mount(service(p, "app"), "/logs");
    assert_eq!(logs["resolved_source"], path_str(&root.join("proj/other")));
}

#[test]
fn stdin_with_stdin_filename() {
    let (_t, root) = tempdir();
    std::fs::create_dir_all(root.join("sub")).unwrap();
    let text = "services:\n  app:\n    image: alpine\n    volumes:\n      - ./logs:/logs\n      - ${SRC:-./nodotenv}:/src\n";
    write(&root, "sub/.env", "SRC=./viadotenv\n");
    let r = run(stowage(&root)
        .args([
            "volumes",
            "-f",
            "-",
            "--stdin-filename",
            "sub/compose.yaml",
            "--format",
            "json",
        ])
        .write_stdin(text));
    let doc = r.expect_code(0).json();
    let p = project(&doc, "sub");
    assert_eq!(p["directory"], "sub");
    assert_eq!(p["files"], serde_json::json!(["sub/compose.yaml"]));
    let app = service(p, "app");
    let logs = mount(app, "/logs");
    assert_eq!(logs["source"], "./logs");
    assert_eq!(logs["resolved_source"], path_str(&root.join("sub/logs")));
    let (line, column) = line_col(text, "./logs:/logs");
    assert_eq!(
        logs["declared_at"],
        serde_json::json!({"path": "sub/compose.yaml", "line": line, "column": column})
    );
    assert_eq!(
        mount(app, "/src")["resolved_source"],
        path_str(&root.join("sub/viadotenv"))
    );
}

#[test]
fn stdin_without_stdin_filename_resolves_against_the_working_directory() {
    let (_t, root) = tempdir();
    std::fs::create_dir_all(root.join("proj")).unwrap();
    let r = run(stowage(&root.join("proj"))
        .args(["volumes", "-f", "-", "--format", "json"])
        .write_stdin(BASE));
    let doc = r.expect_code(0).json();
    let p = project(&doc, "proj");
    assert_eq!(p["directory"], ".");
    assert_eq!(
        mount(service(p, "app"), "/logs")["resolved_source"],
        path_str(&root.join("proj/logs"))
    );
}

#[test]
fn project_directory_decides_relative_paths_env_and_name() {
    let (_t, root) = tempdir();
    let text = "services:\n  app:\n    image: alpine\n    volumes:\n      - data:/data\n      - ./logs:/logs\n      - ${SRC:-./nodotenv}:/src\nvolumes:\n  data:\n";
    write(&root, "files/compose.yaml", text);
    write(&root, "files/.env", "SRC=./wrong\n");
    write(&root, "elsewhere/.env", "SRC=./right\n");
    let doc = stowage_run(
        &root,
        &[
            "volumes",
            "-f",
            "files/compose.yaml",
            "--project-directory",
            "elsewhere",
            "--format",
            "json",
        ],
    )
    .expect_code(0)
    .json();
    let p = project(&doc, "elsewhere");
    assert_eq!(p["directory"], "elsewhere");
    assert_eq!(p["files"], serde_json::json!(["files/compose.yaml"]));
    let app = service(p, "app");
    assert_eq!(
        mount(app, "/logs")["resolved_source"],
        path_str(&root.join("elsewhere/logs"))
    );
    assert_eq!(
        mount(app, "/src")["resolved_source"],
        path_str(&root.join("elsewhere/right"))
    );
    assert_eq!(mount(app, "/data")["resolved_source"], "elsewhere_data");
}

#[test]
fn project_name_flag_changes_engine_volume_names() {
    let (_t, root) = tempdir();
    write(&root, "proj/compose.yaml", BASE);
    for flag in ["-p", "--project-name"] {
        let doc = stowage_run(
            &root,
            &["volumes", "proj", flag, "myproj", "--format", "json"],
        )
        .expect_code(0)
        .json();
        let p = project(&doc, "myproj");
        assert_eq!(
            mount(service(p, "app"), "/data")["resolved_source"],
            "myproj_data"
        );
        assert_eq!(p["volumes"][0]["name"], "myproj_data");
    }
    let r = stowage_run(&root, &["volumes", "proj", "-p", "myproj"]);
    r.expect_code(0);
    assert!(r.stdout.starts_with("project myproj "), "{}", r.stdout);
    assert!(r.stdout.contains("myproj_data"), "{}", r.stdout);
}

#[test]
fn compose_project_name_environment_variable() {
    let (_t, root) = tempdir();
    write(&root, "proj/compose.yaml", BASE);
    let r = run(stowage(&root)
        .args(["volumes", "proj", "--format", "json"])
        .env("COMPOSE_PROJECT_NAME", "fromenv"));
    let doc = r.expect_code(0).json();
    let p = project(&doc, "fromenv");
    assert_eq!(p["volumes"][0]["name"], "fromenv_data");

    // `-p` wins over the environment.
    let r = run(stowage(&root)
        .args(["volumes", "proj", "-p", "flag", "--format", "json"])
        .env("COMPOSE_PROJECT_NAME", "fromenv"));
    let doc = r.expect_code(0).json();
    assert_eq!(project(&doc, "flag")["volumes"][0]["name"], "flag_data");
}

#[test]
fn name_key_is_used_without_flag_or_environment() {
    let (_t, root) = tempdir();
    write(&root, "proj/compose.yaml", &format!("name: named\n{BASE}"));
    let doc = stowage_run(&root, &["volumes", "proj", "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(project(&doc, "named")["volumes"][0]["name"], "named_data");
}

#[test]
fn engine_volume_names_follow_compose() {
    let (_t, root) = tempdir();
    let text = "services:\n  app:\n    image: alpine\n    volumes:\n      - data:/data\n      - ext:/ext\n      - fixed:/fixed\nvolumes:\n  data:\n  ext:\n    external: true\n  fixed:\n    name: custom-${SUFFIX:-dflt}\n";
    // The directory name is normalised (lower case, only [a-z0-9_-]) into the project name.
    write(&root, "My.Proj/compose.yaml", text);
    let doc = stowage_run(&root, &["volumes", "My.Proj", "--format", "json"])
        .expect_code(0)
        .json();
    let p = project(&doc, "myproj");
    let app = service(p, "app");
    assert_eq!(mount(app, "/data")["resolved_source"], "myproj_data");
    let ext = mount(app, "/ext");
    assert_eq!(ext["resolved_source"], "ext");
    // `down -v` does not remove an external volume.
    assert_eq!(
        ext["survives"],
        serde_json::json!({"restart": true, "recreate": true, "down_up": true, "down_volumes": true,
            "up_renew": true, "rm_up": true, "rm_volumes_up": true})
    );
    assert_eq!(mount(app, "/fixed")["resolved_source"], "custom-dflt");
    assert_eq!(
        p["volumes"],
        serde_json::json!([
            {"key": "data", "name": "myproj_data", "external": false, "used_by": ["app"]},
            {"key": "ext", "name": "ext", "external": true, "used_by": ["app"]},
            {"key": "fixed", "name": "custom-dflt", "external": false, "used_by": ["app"]}
        ])
    );
}

const INTERPOLATED: &str = "services:\n  app:\n    image: ${IMG:-busybox}\n    volumes:\n      - ${SRC:-./default}:/data\n";

#[test]
fn dotenv_in_the_project_directory_feeds_interpolation() {
    let (_t, root) = tempdir();
    write(&root, "proj/compose.yaml", INTERPOLATED);
    write(&root, "proj/.env", "SRC=./fromdotenv\nIMG=alpine:3.20\n");
    // A `.env` in the working directory is not the project's.
    write(&root, ".env", "SRC=./fromcwd\n");
    let doc = stowage_run(&root, &["volumes", "proj", "--format", "json"])
        .expect_code(0)
        .json();
    let app = service(project(&doc, "proj"), "app");
    assert_eq!(app["image"], "alpine:3.20");
    let data = mount(app, "/data");
    assert_eq!(data["source"], "./fromdotenv");
    assert_eq!(
        data["resolved_source"],
        path_str(&root.join("proj/fromdotenv"))
    );

    // The process environment wins over `.env`.
    let r = run(stowage(&root)
        .args(["volumes", "proj", "--format", "json"])
        .env("SRC", "/abs/fromprocess"));
    let doc = r.expect_code(0).json();
    let app = service(project(&doc, "proj"), "app");
    assert_eq!(mount(app, "/data")["resolved_source"], "/abs/fromprocess");
    assert_eq!(app["image"], "alpine:3.20");
}

#[test]
fn env_file_replaces_dotenv() {
    let (_t, root) = tempdir();
    write(&root, "proj/compose.yaml", INTERPOLATED);
    write(&root, "proj/.env", "SRC=./fromdotenv\nIMG=alpine:3.20\n");
    write(&root, "alt.env", "SRC=./fromenvfile\n");
    let doc = stowage_run(
        &root,
        &[
            "volumes",
            "proj",
            "--env-file",
            "alt.env",
            "--format",
            "json",
        ],
    )
    .expect_code(0)
    .json();
    let app = service(project(&doc, "proj"), "app");
    // `.env` was not read at all: IMG falls back to its default.
    assert_eq!(app["image"], "busybox");
    assert_eq!(
        mount(app, "/data")["resolved_source"],
        path_str(&root.join("proj/fromenvfile"))
    );
}

#[test]
fn dotenv_can_set_the_project_name() {
    let (_t, root) = tempdir();
    write(&root, "proj/compose.yaml", BASE);
    write(&root, "proj/.env", "COMPOSE_PROJECT_NAME=dotname\n");
    let doc = stowage_run(&root, &["volumes", "proj", "--format", "json"])
        .expect_code(0)
        .json();
    assert_eq!(
        project(&doc, "dotname")["volumes"][0]["name"],
        "dotname_data"
    );
}

#[test]
fn profiles_default_to_every_service() {
    let (_t, root) = tempdir();
    let text = "services:\n  app:\n    image: alpine\n    profiles: [debug]\n    volumes:\n      - /data\n  base:\n    image: alpine\n  tools:\n    image: alpine\n    profiles: [tools, debug]\n";
    write(&root, "compose.yaml", text);
    let names = |args: &[&str]| -> Vec<String> {
        let mut all = vec!["volumes", "--format", "json"];
        all.extend_from_slice(args);
        let doc = stowage_run(&root, &all).expect_code(0).json();
        service_names(&doc["projects"][0])
            .into_iter()
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(names(&[]), ["app", "base", "tools"]);
    assert_eq!(names(&["--profile", "*"]), ["app", "base", "tools"]);
    assert_eq!(names(&["--profile", "debug"]), ["app", "base", "tools"]);
    assert_eq!(names(&["--profile", "tools"]), ["base", "tools"]);
    assert_eq!(names(&["--profile", "other"]), ["base"]);
    assert_eq!(
        names(&["--profile", "other", "--profile", "tools"]),
        ["base", "tools"]
    );
}

// ---------------------------------------------------------------------------------------------
// discovery

#[test]
fn directory_walk_finds_projects_and_skips_ignored_ones() {
    let (_t, root) = tempdir();
    let tree = root.join("repo");
    std::fs::create_dir_all(tree.join(".git")).unwrap();
    write(&tree, ".gitignore", "generated/\n");
    write(&tree, "a/compose.yaml", CLEAN);
    write(&tree, "b/deeper/docker-compose.yml", BASE);
    write(&tree, "node_modules/pkg/compose.yaml", CLEAN);
    write(&tree, "a/node_modules/compose.yaml", CLEAN);
    write(&tree, "generated/compose.yaml", CLEAN);
    write(&tree, ".git/compose.yaml", CLEAN);
    write(&tree, "a/notes.yaml", "not: compose\n");

    let doc = stowage_run(&root, &["volumes", "repo", "--format", "json"])
        .expect_code(0)
        .json();
    let listed: Vec<(&str, &Json)> = doc["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (str_of(&p["name"]), &p["files"]))
        .collect();
    assert_eq!(
        listed,
        [
            ("a", &serde_json::json!(["repo/a/compose.yaml"])),
            (
                "deeper",
                &serde_json::json!(["repo/b/deeper/docker-compose.yml"])
            )
        ],
        "{doc:#}"
    );
    assert_eq!(project(&doc, "a")["directory"], "repo/a");
    assert_eq!(
        mount(service(project(&doc, "deeper"), "app"), "/logs")["resolved_source"],
        path_str(&tree.join("b/deeper/logs"))
    );

    // The same from inside the tree.
    let doc = stowage_run(&tree, &["volumes", ".", "--format", "json"])
        .expect_code(0)
        .json();
    let names: Vec<&str> = doc["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| str_of(&p["name"]))
        .collect();
    assert_eq!(names, ["a", "deeper"]);
    assert_eq!(
        project(&doc, "a")["files"],
        serde_json::json!(["a/compose.yaml"])
    );
}

#[test]
fn directory_walk_pairs_override_and_lists_other_compose_files() {
    let (_t, root) = tempdir();
    write(&root, "proj/compose.yaml", BASE);
    write(
        &root,
        "proj/compose.override.yaml",
        "services:\n  app:\n    volumes:\n      - /data\n",
    );
    write(&root, "proj/compose.prod.yaml", CLEAN);
    let doc = stowage_run(&root, &["volumes", "proj", "--format", "json"])
        .expect_code(0)
        .json();
    let files: Vec<&Json> = doc["projects"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| &p["files"])
        .collect();
    assert_eq!(
        files,
        [
            &serde_json::json!(["proj/compose.yaml", "proj/compose.override.yaml"]),
            &serde_json::json!(["proj/compose.prod.yaml"])
        ]
    );
    assert_eq!(
        mount(service(&doc["projects"][0], "app"), "/data")["kind"],
        "anonymous"
    );
}

#[test]
fn no_path_discovers_compose_yaml_in_the_working_directory() {
    let (_t, root) = tempdir();
    write(&root, "proj/compose.yaml", BASE);
    write(
        &root,
        "proj/compose.override.yaml",
        "services:\n  app:\n    image: alpine:3.20\n",
    );
    let doc = stowage_run(&root.join("proj"), &["volumes", "--format", "json"])
        .expect_code(0)
        .json();
    let p = project(&doc, "proj");
    assert_eq!(p["directory"], ".");
    assert_eq!(
        p["files"],
        serde_json::json!(["compose.yaml", "compose.override.yaml"])
    );
    assert_eq!(service(p, "app")["image"], "alpine:3.20");

    let r = stowage_run(&root.join("proj"), &["volumes"]);
    r.expect_code(0);
    assert!(
        r.stdout
            .starts_with("project proj (compose.yaml, compose.override.yaml)\n"),
        "{}",
        r.stdout
    );
}

#[test]
fn no_path_in_a_subdirectory_discovers_the_parents_file() {
    let (_t, root) = tempdir();
    write(&root, "proj/compose.yaml", BASE);
    std::fs::create_dir_all(root.join("proj/src/deeper")).unwrap();
    let doc = stowage_run(
        &root.join("proj/src/deeper"),
        &["volumes", "--format", "json"],
    )
    .expect_code(0)
    .json();
    let p = project(&doc, "proj");
    let files = p["files"].as_array().unwrap();
    assert_eq!(files.len(), 1);
    assert!(str_of(&files[0]).ends_with("compose.yaml"), "{p:#}");
    // The project directory is the parent's: relative binds resolve there.
    assert_eq!(
        mount(service(p, "app"), "/logs")["resolved_source"],
        path_str(&root.join("proj/logs"))
    );
    assert_eq!(
        mount(service(p, "app"), "/data")["resolved_source"],
        "proj_data"
    );
}

#[test]
fn no_path_honours_compose_file() {
    let (_t, root) = tempdir();
    write(&root, "proj/compose.yaml", CLEAN);
    write(&root, "proj/custom.yaml", BASE);
    write(
        &root,
        "proj/extra.yaml",
        "services:\n  app:\n    volumes:\n      - ./elsewhere:/logs\n",
    );
    let r = run(stowage(&root.join("proj"))
        .args(["volumes", "--format", "json"])
        .env("COMPOSE_FILE", "custom.yaml"));
    let doc = r.expect_code(0).json();
    let p = project(&doc, "proj");
    assert_eq!(p["files"], serde_json::json!(["custom.yaml"]));
    assert_eq!(mount_targets(service(p, "app")), ["/data", "/logs"]);

    // A list separated by `:` merges in order.
    let r = run(stowage(&root.join("proj"))
        .args(["volumes", "--format", "json"])
        .env("COMPOSE_FILE", "custom.yaml:extra.yaml"));
    let doc = r.expect_code(0).json();
    let p = project(&doc, "proj");
    assert_eq!(p["files"], serde_json::json!(["custom.yaml", "extra.yaml"]));
    assert_eq!(
        mount(service(p, "app"), "/logs")["resolved_source"],
        path_str(&root.join("proj/elsewhere"))
    );

    // `-f` wins over COMPOSE_FILE.
    let r = run(stowage(&root.join("proj"))
        .args(["volumes", "-f", "compose.yaml", "--format", "json"])
        .env("COMPOSE_FILE", "custom.yaml"));
    let doc = r.expect_code(0).json();
    assert_eq!(
        project(&doc, "proj")["files"],
        serde_json::json!(["compose.yaml"])
    );
}

#[test]
fn no_path_and_no_compose_file_exits_2() {
    let (_t, root) = tempdir();
    // compose searches parents too: only meaningful when no ancestor holds a compose file.
    let ancestor_has_compose = root.ancestors().any(|d| {
        [
            "compose.yaml",
            "compose.yml",
            "docker-compose.yml",
            "docker-compose.yaml",
        ]
        .iter()
        .any(|n| d.join(n).is_file())
    });
    if ancestor_has_compose {
        eprintln!(
            "skipped: an ancestor of {} holds a compose file",
            root.display()
        );
        return;
    }
    let r = stowage_run(&root, &["volumes"]);
    r.expect_code(2);
    assert!(r.all().contains("no compose file"), "{}", r.all());
    let r = stowage_run(&root, &["volumes", "--format", "json"]);
    r.expect_code(2);
    assert_eq!(r.json()["projects"], serde_json::json!([]));
}
