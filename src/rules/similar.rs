//! Near-miss names for "did you mean" suggestions: how many edits apart two names are.

/// The Levenshtein distance between `a` and `b`, counted in characters.
pub(super) fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.chars().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != *cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

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
