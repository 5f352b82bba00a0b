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

/// Each rule's link (diagnostics' `codeDescription`, SARIF's `helpUri`) names its section of the
/// reference the crate's documentation publishes: the module `rules_reference` holds
/// `docs/rules.md`, and rustdoc gives the heading `## rule` the anchor `rule` (lower case,
/// letters, digits and `-` kept).
#[test]
fn every_rule_links_to_its_section_of_the_published_reference() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let lib = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    assert!(
        lib.contains("#[doc = include_str!(\"../docs/rules.md\")]\npub mod rules_reference {}"),
        "src/lib.rs publishes docs/rules.md as `rules_reference`"
    );
    let reference = std::fs::read_to_string(root.join("docs/rules.md")).unwrap();
    for rule in stowage::rules::RULES.iter().map(|r| r.meta().id) {
        let url = stowage::output::rules_doc::url(rule);
        assert_eq!(
            url,
            format!(
                "https://docs.rs/stowage-compose/{}/stowage/rules_reference/index.html#{rule}",
                env!("CARGO_PKG_VERSION")
            )
        );
        assert!(
            rule.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-'),
            "{rule} is its own anchor"
        );
        assert!(
            reference.lines().any(|l| l == format!("## {rule}")),
            "docs/rules.md has no section `## {rule}`"
        );
    }
}
