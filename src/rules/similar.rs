//! Near-miss names for "did you mean" suggestions: how many edits apart two names are.

/// The Levenshtein distance between `a` and `b`, counted in characters: insertions, deletions
/// and substitutions, so two swapped neighbours are two edits (`strsim::osa_distance` would
/// count one, and suggest more names).
pub(super) use strsim::levenshtein as edit_distance;

#[cfg(test)]
mod tests {
    use super::edit_distance;

    #[test]
    fn counts_insertions_deletions_and_substitutions() {
        assert_eq!(edit_distance("volumes", "volumes"), 0);
        assert_eq!(edit_distance("volume", "volumes"), 1);
        assert_eq!(edit_distance("enviroment", "environment"), 1);
        assert_eq!(edit_distance("bnid", "bind"), 2);
        assert_eq!(edit_distance("", "tmpfs"), 5);
        assert_eq!(edit_distance("é", "e"), 1);
    }
}
