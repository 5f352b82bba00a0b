//! parse → fix → re-parse: when the fix engine accepts to fix a file (every fix, unsafe ones
//! included), the fixed text parses, and fixing it again changes nothing.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    // Refusing to fix is a correct outcome; a panic or a broken result is not.
    let Ok(outcome) = stowage::fix::fix_project(&common::options(text), &common::lint, true) else {
        return;
    };
    let Some(fixed) = outcome.files.first() else {
        return;
    };
    let tree = stowage::yaml::syntax::parse(&fixed.fixed);
    assert!(
        tree.error.is_none(),
        "the fixed text does not parse: {:?}\n--- fixed:\n{}",
        tree.error,
        fixed.fixed
    );
    let again = stowage::fix::fix_project(&common::options(&fixed.fixed), &common::lint, true)
        .unwrap_or_else(|e| {
            panic!(
                "fixing the fixed text was refused: {e}\n--- fixed:\n{}",
                fixed.fixed
            )
        });
    assert!(
        again.files.is_empty(),
        "a second fix pass changed the text again:\n--- first:\n{}\n--- second:\n{}",
        fixed.fixed,
        again.files[0].fixed
    );
});
