//! parse → model: any text loads into a project (with its problems) and lints without panicking,
//! and every position the loader reports lies inside the file it names.
#![no_main]

use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    // Bytes that are not UTF-8 stop at decoding (covered by tests); the loader takes text.
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let project = stowage::compose::loader::load(&common::options(text));
    for problem in project.errors.iter().chain(&project.warnings) {
        if let Some(loc) = problem.loc {
            let file = &project.files[loc.file].source;
            assert!(
                loc.start <= loc.end && loc.end <= file.text.len(),
                "{problem:?} is outside {}",
                file.display
            );
            let _ = file.line_col(loc.start);
        }
    }
    for finding in common::lint(&project) {
        let file = &project.files[finding.loc.file].source;
        assert!(finding.loc.end <= file.text.len(), "{finding:?}");
        assert!(file.text.is_char_boundary(finding.loc.start), "{finding:?}");
        assert!(file.text.is_char_boundary(finding.loc.end), "{finding:?}");
    }
});
