//! Text from compose files on a terminal: a hostile file may hold escape sequences (ESC, CSI),
//! bells, carriage returns or bidirectional overrides in keys and values, which would let it
//! rewrite what the terminal shows. Output for people prints them escaped (`\u{1b}`), as Rust's
//! `escape_default` writes them.

use std::borrow::Cow;

/// Whether `c` can change what a terminal shows beyond printing a character: C0 and C1 control
/// characters, DEL, and the invisible bidirectional controls (which reorder what follows).
/// Line feeds and tabs are kept when `keep_lines`.
fn unsafe_char(c: char, keep_lines: bool) -> bool {
    match c {
        '\n' | '\t' => !keep_lines,
        '\u{0}'..='\u{1f}' | '\u{7f}'..='\u{9f}' => true,
        '\u{61c}' | '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' => {
            true
        }
        _ => false,
    }
}

/// Whether `s` holds a character [`unsafe_char`] names (with `crlf_kept`, a `\r` before a `\n`
/// does not count), read from its UTF-8 bytes: blocks of bytes are first checked branch-free for
/// a byte that can start such a character (control bytes, DEL, `0xc2`, `0xd8`, `0xe2`; line
/// feeds and tabs only when they count), which
/// the compiler turns into vector instructions; only such blocks are decoded. Clean text thus
/// costs about one instruction per byte (a report masks the whole text of every file it shows
/// snippets of).
fn holds_unsafe(s: &str, keep_lines: bool, crlf_kept: bool) -> bool {
    let bytes = s.as_bytes();
    let at = |i: usize| bytes.get(i).copied().unwrap_or(0);
    let may_start = |block: &[u8]| {
        let mut found = 0u8;
        for &b in block {
            let control = (b < 0x20) & (!keep_lines | ((b != b'\n') & (b != b'\t')));
            found |= u8::from(control | (b == 0x7f) | (b == 0xc2) | (b == 0xd8) | (b == 0xe2));
        }
        found != 0
    };
    bytes.chunks(64).enumerate().any(|(n, block)| {
        may_start(block)
            && (n * 64..n * 64 + block.len()).any(|i| match bytes[i] {
                b'\n' | b'\t' => !keep_lines,
                b'\r' => !(crlf_kept && at(i + 1) == b'\n'),
                0..=0x1f | 0x7f => true,
                0xc2 => (0x80..=0x9f).contains(&at(i + 1)),
                0xd8 => at(i + 1) == 0x9c,
                0xe2 => match at(i + 1) {
                    0x80 => matches!(at(i + 2), 0x8e | 0x8f | 0xaa..=0xae),
                    0x81 => (0xa6..=0xa9).contains(&at(i + 2)),
                    _ => false,
                },
                _ => false,
            })
    })
}

fn escape(s: &str, keep_lines: bool) -> Cow<'_, str> {
    if !holds_unsafe(s, keep_lines, false) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if unsafe_char(c, keep_lines) {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// `s` for a terminal, line breaks and tabs kept (messages and help of several lines).
pub(crate) fn terminal(s: &str) -> Cow<'_, str> {
    escape(s, true)
}

/// `s` for one line of a terminal: line breaks and tabs are escaped too (`\n`, `\t`), so that a
/// record stays on its line (`--format concise`, a table cell).
pub(crate) fn one_line(s: &str) -> Cow<'_, str> {
    escape(s, false)
}

/// `s` with every byte of an unsafe character replaced by `?`, so that byte offsets into it
/// stay valid (a source snippet whose spans point into it). `\r\n` line endings are kept; a
/// lone `\r` (which moves the cursor back over the line) is replaced.
pub(crate) fn same_length(s: &str) -> Cow<'_, str> {
    let unsafe_at = |i: usize, c: char| {
        unsafe_char(c, true) && !(c == '\r' && s.as_bytes().get(i + 1) == Some(&b'\n'))
    };
    if !holds_unsafe(s, true, true) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    for (i, c) in s.char_indices() {
        if unsafe_at(i, c) {
            out.extend(std::iter::repeat_n('?', c.len_utf8()));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(terminal("plain `text` é"), "plain `text` é");
        assert!(matches!(terminal("plain"), Cow::Borrowed(_)));
        assert_eq!(terminal("a\u{1b}[2Jb"), "a\\u{1b}[2Jb");
        assert_eq!(terminal("bell\u{7}"), "bell\\u{7}");
        assert_eq!(terminal("over\rwrite"), "over\\rwrite");
        assert_eq!(terminal("csi\u{9b}31m"), "csi\\u{9b}31m");
        assert_eq!(terminal("del\u{7f}"), "del\\u{7f}");
        assert_eq!(terminal("rtl\u{202e}txt"), "rtl\\u{202e}txt");
        assert_eq!(terminal("two\nlines\tand tab"), "two\nlines\tand tab");
        assert_eq!(one_line("two\nlines\tand tab"), "two\\nlines\\tand tab");
        assert_eq!(one_line("nul\u{0}"), "nul\\u{0}");
    }

    #[test]
    fn the_byte_scan_finds_exactly_the_unsafe_characters() {
        for c in (0..0x3000).filter_map(char::from_u32) {
            for keep_lines in [true, false] {
                let text = format!("{}a{c}b", "x".repeat(62));
                assert_eq!(
                    holds_unsafe(&text, keep_lines, false),
                    unsafe_char(c, keep_lines),
                    "{c:?}"
                );
            }
        }
        assert!(!holds_unsafe("a\r\nb", true, true));
        assert!(holds_unsafe("a\r\nb", true, false));
        assert!(holds_unsafe("a\rb", true, true));
    }

    #[test]
    fn same_length_keeps_offsets() {
        for s in [
            "a\u{1b}[2Jb",
            "crlf\r\nline",
            "lone\rcr",
            "c1\u{9b}x",
            "bidi\u{202e}x",
        ] {
            let masked = same_length(s);
            assert_eq!(masked.len(), s.len(), "{s:?}");
            assert!(!masked.contains('\u{1b}') && !masked.contains('\u{9b}'));
            assert!(!masked.contains('\u{202e}'));
        }
        assert_eq!(same_length("crlf\r\nline"), "crlf\r\nline");
        assert_eq!(same_length("lone\rcr"), "lone?cr");
        assert_eq!(same_length("a\u{1b}b"), "a?b");
        // Text that only looks suspicious from its bytes is left alone.
        for clean in ["é © — €", "tab\tand\nline"] {
            assert!(matches!(same_length(clean), Cow::Borrowed(_)), "{clean:?}");
            assert!(matches!(terminal(clean), Cow::Borrowed(_)), "{clean:?}");
        }
        assert_eq!(
            terminal("\u{61c}\u{200e}\u{2066}"),
            "\\u{61c}\\u{200e}\\u{2066}"
        );
    }
}
