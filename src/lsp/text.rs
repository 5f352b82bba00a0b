//! Where things are, as the protocol counts: byte offsets of a file's text to and from LSP
//! positions (lines, and columns in UTF-16 code units, as LSP requires), `file:` URIs to and from
//! paths, and the one edit that turns a text into another.

use std::path::{Path, PathBuf};

use lsp_types::{Position, Range, TextEdit, Uri};

use crate::output::findings::sarif::percent_encode;

/// The start of every line of a text (after `\n`, `\r\n` or a lone `\r`, as LSP and YAML both
/// break lines).
pub(crate) struct LineIndex<'a> {
    text: &'a str,
    starts: Vec<usize>,
}

impl<'a> LineIndex<'a> {
    pub(crate) fn new(text: &'a str) -> LineIndex<'a> {
        let bytes = text.as_bytes();
        let mut starts = vec![0];
        for (i, &b) in bytes.iter().enumerate() {
            let breaks = b == b'\n' || (b == b'\r' && bytes.get(i + 1) != Some(&b'\n'));
            if breaks {
                starts.push(i + 1);
            }
        }
        LineIndex { text, starts }
    }

    /// The position of byte `offset` (clamped to the text, and back to a character boundary).
    pub(crate) fn position(&self, offset: usize) -> Position {
        let mut offset = offset.min(self.text.len());
        while !self.text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset) - 1;
        let start = self.starts[line];
        let character = self.text[start..offset].encode_utf16().count();
        Position::new(to_u32(line), to_u32(character))
    }

    pub(crate) fn range(&self, start: usize, end: usize) -> Range {
        Range::new(self.position(start), self.position(end.max(start)))
    }

    /// The byte offset of `position`: past the end of a line is its end (before the break), past
    /// the last line is the end of the text; a column inside a surrogate pair is the character.
    pub(crate) fn offset(&self, position: Position) -> usize {
        let Some(&start) = self.starts.get(position.line as usize) else {
            return self.text.len();
        };
        let end = self
            .starts
            .get(position.line as usize + 1)
            .copied()
            .unwrap_or(self.text.len());
        let line = self.text[start..end].trim_end_matches(['\n', '\r']);
        let mut units = 0u32;
        for (i, c) in line.char_indices() {
            if units >= position.character {
                return start + i;
            }
            units += to_u32(c.len_utf16());
        }
        start + line.len()
    }
}

fn to_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// The path a `file:` URI names (None for other schemes).
pub(crate) fn uri_path(uri: &Uri) -> Option<PathBuf> {
    let rest = uri.as_str().strip_prefix("file://")?;
    // `file://host/path`: only the local host is a path here.
    let rest = rest.strip_prefix("localhost").unwrap_or(rest);
    let path = rest.split(['?', '#']).next().unwrap_or("");
    let decoded = percent_decode(path)?;
    // `file:///C:/x` on Windows.
    let decoded = match decoded.as_bytes() {
        [b'/', drive, b':', ..] if cfg!(windows) && drive.is_ascii_alphabetic() => {
            decoded[1..].to_owned()
        }
        _ => decoded,
    };
    Some(PathBuf::from(crate::compose::mounts::clean_path(&decoded)))
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The `file:` URI of an absolute path.
pub(crate) fn path_uri(path: &Path) -> Option<Uri> {
    let slashed = path.to_string_lossy().replace('\\', "/");
    let rooted = if slashed.starts_with('/') {
        slashed
    } else {
        format!("/{slashed}")
    };
    format!("file://{}", percent_encode(&rooted)).parse().ok()
}

/// One edit turning `before` into `after`: the part between their common start and end.
pub(crate) fn whole_edit(before: &str, after: &str) -> TextEdit {
    let mut prefix = before
        .bytes()
        .zip(after.bytes())
        .take_while(|(a, b)| a == b)
        .count();
    while !before.is_char_boundary(prefix) || !after.is_char_boundary(prefix) {
        prefix -= 1;
    }
    let room = before.len().min(after.len()) - prefix;
    let mut suffix = before
        .bytes()
        .rev()
        .zip(after.bytes().rev())
        .take(room)
        .take_while(|(a, b)| a == b)
        .count();
    while !before.is_char_boundary(before.len() - suffix)
        || !after.is_char_boundary(after.len() - suffix)
    {
        suffix -= 1;
    }
    let index = LineIndex::new(before);
    TextEdit {
        range: index.range(prefix, before.len() - suffix),
        new_text: after[prefix..after.len() - suffix].to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_count_utf16_code_units() {
        let text = "a: é😀x\r\nb\rc\n";
        let index = LineIndex::new(text);
        let x = text.find('x').expect("x is there");
        // `é` is one unit, the emoji two.
        assert_eq!(index.position(x), Position::new(0, 6));
        assert_eq!(index.offset(Position::new(0, 6)), x);
        assert_eq!(
            index.position(text.find('b').expect("b")),
            Position::new(1, 0)
        );
        assert_eq!(
            index.position(text.find('c').expect("c")),
            Position::new(2, 0)
        );
        assert_eq!(index.offset(Position::new(0, 99)), x + 1);
        assert_eq!(index.offset(Position::new(9, 0)), text.len());
        assert_eq!(index.position(text.len()), Position::new(3, 0));
    }

    #[test]
    fn uris_and_paths_round_trip() {
        let path = Path::new("/srv/my stack/compose.yaml");
        let uri = path_uri(path).expect("a valid URI");
        assert_eq!(uri.as_str(), "file:///srv/my%20stack/compose.yaml");
        assert_eq!(uri_path(&uri).as_deref(), Some(path));
        let other: Uri = "untitled:Untitled-1".parse().expect("a URI");
        assert_eq!(uri_path(&other), None);
    }

    #[test]
    fn the_edit_covers_only_what_changed() {
        let edit = whole_edit("a: 1\nb: é\nc: 3\n", "a: 1\nb: ü\nc: 3\n");
        assert_eq!(
            edit.range,
            Range::new(Position::new(1, 3), Position::new(1, 4))
        );
        assert_eq!(edit.new_text, "ü");
        let edit = whole_edit("x\n", "x\ny\n");
        assert_eq!(
            edit.range,
            Range::new(Position::new(1, 0), Position::new(1, 0))
        );
        assert_eq!(edit.new_text, "y\n");
    }
}
