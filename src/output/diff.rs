//! Unified diffs of fixed files (`--diff`, `stowage migrate`).

use similar::TextDiff;

use crate::fix::FixedFile;

pub fn unified(files: &[FixedFile]) -> String {
    let mut out = String::new();
    for f in files {
        let diff = TextDiff::from_lines(f.original.as_ref(), f.fixed.as_str());
        out.push_str(
            &diff
                .unified_diff()
                .context_radius(3)
                .header(&format!("a/{}", f.display), &format!("b/{}", f.display))
                .to_string(),
        );
        if !f.fixed.ends_with('\n') || !f.original.ends_with('\n') {
            // `similar` marks a missing final newline itself; keep diffs separated.
            if !out.ends_with('\n') {
                out.push('\n');
            }
        }
    }
    out
}
