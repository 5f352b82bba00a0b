//! What ships around the binary and what a user installs it with: the package metadata and
//! licences, the Python packages (the wheel, the pre-commit shim), the pre-commit hooks, the
//! GitHub Action, the release targets, the JSON schema of `.stowage.yaml` (held against the
//! README's example and stowage's own reading of it), and the small command-line conveniences
//! (`--color`, `rules --format json`, `man COMMAND`, "did you mean"). `.ci/run` builds and runs
//! the wheel, the container image and the action's steps.

use std::path::Path;

use serde_json::Value as Json;
use stowage::yaml::{syntax, value};

mod common;
use common::binary::{manifest_dir, stowage_run, tempdir, write};

fn read(rel: &str) -> String {
    std::fs::read_to_string(manifest_dir().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

fn toml_of(rel: &str) -> toml::Table {
    read(rel)
        .parse()
        .unwrap_or_else(|e| panic!("{rel} is not TOML: {e}"))
}

/// YAML as JSON (plain `true`/`false` and integers typed, as YAML reads them).
fn yaml_to_json(text: &str) -> Json {
    let tree = syntax::parse(text);
    assert!(tree.error.is_none(), "not YAML: {:?}", tree.error);
    let Some(root) = tree.documents.first().and_then(|d| d.root) else {
        return Json::Null;
    };
    let mut errors = Vec::new();
    let v = value::from_document(&tree, text, 0, root, &mut errors).expect("small document");
    assert!(errors.is_empty(), "{errors:?}");
    fn convert(v: &value::Value) -> Json {
        match &v.kind {
            value::ValueKind::Null => Json::Null,
            value::ValueKind::Scalar { text, plain } => match (plain, text.as_str()) {
                (true, "true") => Json::Bool(true),
                (true, "false") => Json::Bool(false),
                (true, t) if t.parse::<u64>().is_ok() => Json::from(t.parse::<u64>().unwrap()),
                _ => Json::String(text.to_string()),
            },
            value::ValueKind::Seq(items) => Json::Array(items.iter().map(convert).collect()),
            value::ValueKind::Map(m) => Json::Object(
                m.iter()
                    .map(|(k, e)| (k.to_string(), convert(&e.value)))
                    .collect(),
            ),
        }
    }
    convert(&v)
}

fn version() -> String {
    toml_of("Cargo.toml")["package"]["version"]
        .as_str()
        .expect("a version")
        .to_owned()
}

#[test]
fn the_package_is_stowage_compose_with_the_command_stowage() {
    let cargo = toml_of("Cargo.toml");
    let package = &cargo["package"];
    assert_eq!(package["name"].as_str(), Some("stowage-compose"));
    assert_eq!(package["license"].as_str(), Some("MIT OR Apache-2.0"));
    for key in [
        "description",
        "readme",
        "documentation",
        "keywords",
        "categories",
    ] {
        assert!(package.get(key).is_some(), "Cargo.toml has no `{key}`");
    }
    assert_eq!(cargo["lib"]["name"].as_str(), Some("stowage"));
    assert_eq!(cargo["bin"][0]["name"].as_str(), Some("stowage"));
    assert!(read("LICENSE-MIT").contains("Permission is hereby granted"));
    assert!(read("LICENSE-APACHE").contains("Apache License"));
    // SARIF's `informationUri` names this package, not the crate `stowage` (another project).
    assert_eq!(
        stowage::output::findings::sarif::information_uri(),
        "https://crates.io/crates/stowage-compose"
    );
}

#[test]
fn the_python_packages_follow_the_crate() {
    let wheel = toml_of("packaging/wheel/pyproject.toml");
    assert_eq!(wheel["project"]["name"].as_str(), Some("stowage-compose"));
    assert_eq!(wheel["tool"]["maturin"]["bindings"].as_str(), Some("bin"));
    assert!(
        manifest_dir()
            .join("packaging/wheel")
            .join(wheel["tool"]["maturin"]["manifest-path"].as_str().unwrap())
            .is_file()
    );
    // The root package is what pre-commit installs: the wheel of this very version.
    let shim = toml_of("pyproject.toml");
    assert_eq!(
        shim["project"]["version"].as_str(),
        Some(version().as_str())
    );
    assert_eq!(
        shim["project"]["dependencies"][0].as_str(),
        Some(format!("stowage-compose=={}", version()).as_str())
    );
}

#[test]
fn every_pre_commit_hook_ends_its_options_before_the_file_names() {
    let hooks = yaml_to_json(&read(".pre-commit-hooks.yaml"));
    let hooks = hooks.as_array().expect("a list of hooks");
    let ids: Vec<&str> = hooks.iter().map(|h| h["id"].as_str().unwrap()).collect();
    assert_eq!(
        ids,
        [
            "stowage",
            "stowage-migrate",
            "stowage-source",
            "stowage-migrate-source"
        ]
    );
    for hook in hooks {
        let entry = hook["entry"].as_str().unwrap();
        assert!(
            entry.ends_with(" --"),
            "{entry}: file names could be options"
        );
        let language = hook["language"].as_str().unwrap();
        let source = hook["id"].as_str().unwrap().ends_with("-source");
        assert_eq!(language, if source { "rust" } else { "python" });
    }
}

#[test]
fn the_action_pins_a_version_uploads_sarif_and_falls_back_to_annotations() {
    let action = yaml_to_json(&read("action.yml"));
    assert_eq!(
        action["inputs"]["version"]["default"],
        Json::from(version())
    );
    assert_eq!(action["runs"]["using"], "composite");
    let steps = action["runs"]["steps"].as_array().expect("steps");
    let upload = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .is_some_and(|u| u.starts_with("github/codeql-action/upload-sarif@"))
        })
        .expect("an upload-sarif step");
    assert_eq!(upload["with"]["category"], "${{ inputs.category }}");
    assert_eq!(upload["continue-on-error"], true);
    let fallback = steps
        .iter()
        .find(|s| s["name"] == "Annotations")
        .expect("an annotations step");
    assert!(
        fallback["if"]
            .as_str()
            .unwrap()
            .contains("steps.upload.outcome != 'success'"),
        "{fallback}"
    );
    // No step builds anything: the binary is downloaded.
    for step in steps {
        let run = step["run"].as_str().unwrap_or("");
        assert!(!run.contains("cargo"), "{run}");
        if !run.is_empty() {
            let command = run.split('"').nth(1).expect("a quoted script");
            let script = command.replace("$GITHUB_ACTION_PATH/", "");
            assert!(manifest_dir().join(&script).is_file(), "{script}");
        }
    }
}

#[test]
fn releases_cover_linux_macos_and_windows_on_x86_64_and_aarch64() {
    let dist = toml_of("dist-workspace.toml");
    let targets: Vec<&str> = dist["dist"]["targets"]
        .as_array()
        .expect("targets")
        .iter()
        .map(|t| t.as_str().unwrap())
        .collect();
    for arch in ["x86_64", "aarch64"] {
        for os in [
            "unknown-linux-gnu",
            "unknown-linux-musl",
            "apple-darwin",
            "pc-windows-msvc",
        ] {
            let target = format!("{arch}-{os}");
            assert!(targets.contains(&target.as_str()), "no {target}");
        }
    }
    // Each is a target rustc knows (offline: the toolchain's own list).
    if let Ok(out) = std::process::Command::new("rustc")
        .args(["--print", "target-list"])
        .output()
    {
        let known = String::from_utf8_lossy(&out.stdout);
        for t in &targets {
            assert!(known.lines().any(|l| l == *t), "rustc does not know {t}");
        }
    }
}

/// The README's `.stowage.yaml` example.
fn readme_config_example() -> String {
    let readme = read("README.md");
    let start = readme
        .find("### Configuration: `.stowage.yaml`")
        .expect("the configuration section");
    let block = &readme[start..];
    let block = &block[block.find("```yaml\n").expect("an example") + 8..];
    block[..block.find("```").expect("closed")].to_owned()
}

fn schema() -> jsonschema::Validator {
    let schema: Json = serde_json::from_str(&read("docs/stowage.schema.json")).expect("JSON");
    jsonschema::validator_for(&schema).expect("a valid schema")
}

#[test]
fn the_schema_accepts_what_stowage_accepts_and_rejects_what_it_rejects() {
    let schema = schema();
    let good = [
        readme_config_example(),
        String::new(),
        "rules:\n  bind-mount: \"off\"\n".into(),
        "images:\n  db:\n    repos: [db]\n    data_paths: [/d]\n    confidence: low\n".into(),
    ];
    for text in &good {
        stowage::lint::config::parse("x", text).unwrap_or_else(|e| panic!("{text}: {e}"));
        let json = yaml_to_json(text);
        assert!(
            schema.is_valid(&json),
            "{text}: {:?}",
            schema.validate(&json).err()
        );
    }
    let bad = [
        "rule:\n  bind-mount: info\n",
        "rules:\n  bind-mount: loud\n",
        "rules:\n  bind-mount: false\n",
        "rules:\n  no-such-rule: info\n",
        "fail-on: never\n",
        "ignore:\n  - rules: [bind-mount]\n    paths: x\n",
        "migrate:\n  binds: copy\n",
        "images:\n  db:\n    repo: [db]\n",
    ];
    for text in bad {
        assert!(
            stowage::lint::config::parse("x", text).is_err(),
            "stowage accepts {text}"
        );
        assert!(
            !schema.is_valid(&yaml_to_json(text)),
            "the schema accepts {text}"
        );
    }
}

#[test]
fn the_schema_names_every_rule() {
    let schema: Json = serde_json::from_str(&read("docs/stowage.schema.json")).expect("JSON");
    let listed: Vec<&str> = schema["definitions"]["rule"]["enum"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap())
        .collect();
    let rules = stowage_run(&manifest_dir(), &["rules", "--format", "json"]);
    rules.expect_code(0);
    let ids: Vec<String> = rules
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(listed, ids);
}

#[test]
fn a_mistyped_command_gets_a_suggestion() {
    let (_dir, dir) = tempdir();
    let r = stowage_run(&dir, &["chek"]);
    r.expect_code(2);
    assert!(r.stderr.contains("did you mean `check`?"), "{}", r.stderr);
    stowage_run(&dir, &["help"]).expect_code(0);
    // A path that exists is checked, whatever its name.
    write(
        &dir,
        "chek/compose.yaml",
        "services:\n  a:\n    image: nginx\n",
    );
    stowage_run(&dir, &["chek"]).expect_code(0);
    // A missing file is not a mistyped command.
    let r = stowage_run(&dir, &["compose.yml"]);
    r.expect_code(2);
    assert!(!r.stderr.contains("did you mean"), "{}", r.stderr);
}

fn coloured(dir: &Path, env: &[(&str, &str)], args: &[&str]) -> bool {
    let out = common::binary::command(dir)
        .envs(env.iter().copied())
        .args(args)
        .arg("--exit-zero")
        .arg("compose.yaml")
        .output()
        .expect("runs");
    String::from_utf8_lossy(&out.stdout).contains('\u{1b}')
}

#[test]
fn color_follows_the_flag_then_force_color_then_no_color() {
    let (_dir, dir) = tempdir();
    write(
        &dir,
        "compose.yaml",
        "services:\n  a:\n    image: nginx\n    volumes:\n      - /data\n",
    );
    assert!(!coloured(&dir, &[], &[]), "off a terminal, no colour");
    assert!(coloured(&dir, &[], &["--color", "always"]));
    assert!(coloured(&dir, &[], &["--color=always", "check"]));
    assert!(coloured(&dir, &[("FORCE_COLOR", "1")], &[]));
    assert!(coloured(&dir, &[("CLICOLOR_FORCE", "1")], &[]));
    assert!(!coloured(&dir, &[("FORCE_COLOR", "0")], &[]));
    assert!(!coloured(
        &dir,
        &[("FORCE_COLOR", "1")],
        &["--color", "never"]
    ));
    assert!(!coloured(&dir, &[("NO_COLOR", "1")], &["check"]));
}

#[test]
fn each_command_has_a_manual_page() {
    let dir = manifest_dir();
    for command in [
        "check",
        "volumes",
        "migrate",
        "rules",
        "explain",
        "completions",
    ] {
        let r = stowage_run(&dir, &["man", command]);
        r.expect_code(0);
        assert!(
            r.stdout.contains(&format!(
                ".TH stowage-{command} 1  \"stowage-{command} {}\"",
                version()
            )),
            "{}",
            r.stdout
        );
    }
    stowage_run(&dir, &["man", "nope"]).expect_code(2);
}
