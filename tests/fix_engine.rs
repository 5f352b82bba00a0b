//! The fix loop on real projects: fixes apply, verify and converge; nothing outside the edits moves.

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use stowage::analysis;
use stowage::compose::loader::LoadOptions;
use stowage::compose::model::Project;
use stowage::fix;
use stowage::images::KnowledgeBase;
use stowage::lint::config::Config;
use stowage::lint::{self, RuleSettings};

fn options(dir: &Path) -> LoadOptions {
    let mut env = IndexMap::new();
    env.insert("HOME".to_owned(), "/home/user".to_owned());
    LoadOptions {
        files: stowage::workspace::discover::default_files(dir).unwrap(),
        process_env: env.into(),
        cwd: dir.to_path_buf(),
        ..LoadOptions::default()
    }
}

fn lint(p: &Project) -> Vec<stowage::finding::Finding> {
    let kb = KnowledgeBase::builtin();
    let a = analysis::analyse(p, kb);
    lint::run(p, &a, kb, &RuleSettings::default(), &Config::default())
}

fn fixture(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("compose.yaml"), text).unwrap();
    let p = dir.path().to_path_buf();
    (dir, p)
}

#[test]
fn converts_anonymous_volumes_keeping_style_and_comments() {
    let (_d, dir) = fixture(
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data   # the data\n  web:\n    image: nginx:1.27\n    volumes: [\"/cache\", './html:/usr/share/nginx/html:ro']\n",
    );
    let out = fix::fix_project(&options(&dir), &lint, true).unwrap();
    assert_eq!(out.files.len(), 1);
    insta::assert_snapshot!(out.files[0].fixed);
}

fn fixed(text: &str) -> String {
    let (_d, dir) = fixture(text);
    let out = fix::fix_project(&options(&dir), &lint, true).unwrap();
    let result = out
        .files
        .first()
        .map_or_else(|| text.to_owned(), |f| f.fixed.clone());
    // A second run over the fixed text changes nothing.
    std::fs::write(dir.join("compose.yaml"), &result).unwrap();
    let again = fix::fix_project(&options(&dir), &lint, true).unwrap();
    assert!(
        again.files.is_empty(),
        "second run changed:\n{}",
        again.files[0].fixed
    );
    result
}

#[test]
fn crlf_and_bom_are_kept() {
    let text = "\u{feff}services:\r\n  db:\r\n    image: postgres:16\r\n    volumes:\r\n      - /var/lib/postgresql/data\r\n";
    assert_eq!(
        fixed(text),
        "\u{feff}services:\r\n  db:\r\n    image: postgres:16\r\n    volumes:\r\n      - db-data:/var/lib/postgresql/data\r\nvolumes:\r\n  db-data:\r\n"
    );
}

#[test]
fn an_anchor_is_edited_once_and_never_merges_the_data_of_several_services() {
    // One service uses the anchor: its entry is converted where it is written.
    let text = "x-app: &app\n  image: nginx:1.27\n  volumes:\n    - /srv/uploads\nservices:\n  a:\n    <<: *app\nvolumes: {}\n";
    assert_eq!(
        fixed(text),
        "x-app: &app\n  image: nginx:1.27\n  volumes:\n    - a-uploads:/srv/uploads\nservices:\n  a:\n    <<: *app\nvolumes: {a-uploads: {}}\n"
    );
    // Two do: each has an anonymous volume of its own there, which one named volume would merge.
    let text = "x-app: &app\n  image: nginx:1.27\n  volumes:\n    - /srv/uploads\nservices:\n  a:\n    <<: *app\n  b:\n    <<: *app\nvolumes: {}\n";
    assert_eq!(fixed(text), text);
}

#[test]
fn names_avoid_existing_volumes() {
    let text = "services:\n  db:\n    image: postgres:16\n    volumes:\n      - /var/lib/postgresql/data\n      - db-data:/backup\nvolumes:\n  db-data:\n";
    assert_eq!(
        fixed(text),
        "services:\n  db:\n    image: postgres:16\n    volumes:\n      - db-data-2:/var/lib/postgresql/data\n      - db-data:/backup\nvolumes:\n  db-data:\n  db-data-2:\n"
    );
}

#[test]
fn a_file_without_final_newline() {
    let text = "services:\n  db:\n    image: postgres:16\n    volumes: [/var/lib/postgresql/data]";
    assert_eq!(
        fixed(text),
        "services:\n  db:\n    image: postgres:16\n    volumes: [db-data:/var/lib/postgresql/data]\nvolumes:\n  db-data:"
    );
}

#[test]
fn fixes_for_one_file_apply_one_at_a_time() {
    // Two undefined volumes in one file: each fix declares its volume under the same new
    // top-level key, so they overlap and the loop applies them one pass at a time.
    let text = "services:\n  a:\n    image: redis:7\n    volumes:\n      - one:/data\n  b:\n    image: redis:7\n    volumes:\n      - two:/data\n";
    let (_d, dir) = fixture(text);
    let settings = RuleSettings {
        select: vec!["undefined-volume".to_owned()],
        ..RuleSettings::default()
    };
    let lint = |p: &Project| {
        let kb = KnowledgeBase::builtin();
        lint::run(
            p,
            &analysis::analyse(p, kb),
            kb,
            &settings,
            &Config::default(),
        )
    };
    let outcome = fix::fix_project(&options(&dir), &lint, false).expect("fixes apply");
    assert_eq!(outcome.applied, 2);
    assert_eq!(
        outcome.files[0].fixed,
        format!("{text}volumes:\n  one:\n  two:\n")
    );
}
