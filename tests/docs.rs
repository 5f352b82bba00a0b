//! `docs/rules.md` is generated from the rule definitions; this test keeps it current.
//! `STOWAGE_UPDATE_DOCS=1 cargo test --test docs` rewrites it.

use std::path::Path;

#[test]
fn rules_md_is_current() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/rules.md");
    let expected = stowage::output::rules_doc::markdown();
    if std::env::var_os("STOWAGE_UPDATE_DOCS").is_some() {
        std::fs::write(&path, &expected).unwrap();
    }
    let actual = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        actual == expected,
        "docs/rules.md is stale: run `STOWAGE_UPDATE_DOCS=1 cargo test --test docs`"
    );
}
