//! Source files: their text, how they were encoded, and byte offset ↔ line/column conversion.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One file as read from disk (or stdin), decoded to UTF-8 text.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// The path as the user should see it (relative to the working directory when possible).
    pub display: String,
    /// The absolute path (or the stdin pseudo-path).
    pub path: PathBuf,
    /// The whole text, including a leading BOM if the file has one.
    pub text: Arc<str>,
    line_starts: Vec<usize>,
}

/// A position for humans: 1-based line, 1-based column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub struct LineCol {
    pub line: usize,
    pub column: usize,
}

/// Why a file's bytes could not be turned into text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    #[error("file is not valid UTF-8 (invalid byte at offset {offset})")]
    InvalidUtf8 { offset: usize },
    #[error("file is encoded as {encoding}; compose files must be UTF-8")]
    UnsupportedEncoding { encoding: &'static str },
}

const UTF8_BOM: &str = "\u{feff}";

impl SourceFile {
    pub fn new(
        display: impl Into<String>,
        path: impl Into<PathBuf>,
        text: impl Into<Arc<str>>,
    ) -> Self {
        let text: Arc<str> = text.into();
        let mut line_starts = vec![0];
        line_starts.extend(text.match_indices('\n').map(|(i, _)| i + 1));
        SourceFile {
            display: display.into(),
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// Decode raw bytes: UTF-8 (with or without BOM); UTF-16/32 BOMs are named in the error.
    pub fn decode(bytes: Vec<u8>) -> Result<String, DecodeError> {
        let encoding = if bytes.starts_with(&[0, 0, 0xFE, 0xFF]) {
            Some("UTF-32BE")
        } else if bytes.starts_with(&[0xFF, 0xFE, 0, 0]) {
            Some("UTF-32LE")
        } else if bytes.starts_with(&[0xFE, 0xFF]) {
            Some("UTF-16BE")
        } else if bytes.starts_with(&[0xFF, 0xFE]) {
            Some("UTF-16LE")
        } else {
            None
        };
        if let Some(encoding) = encoding {
            return Err(DecodeError::UnsupportedEncoding { encoding });
        }
        String::from_utf8(bytes).map_err(|e| DecodeError::InvalidUtf8 {
            offset: e.utf8_error().valid_up_to(),
        })
    }

    pub fn has_bom(&self) -> bool {
        self.text.starts_with(UTF8_BOM)
    }

    pub fn dir(&self) -> &Path {
        self.path.parent().unwrap_or(Path::new("/"))
    }

    /// 1-based line and character column of a byte offset (a BOM is not a column; `\r` is).
    pub fn line_col(&self, offset: usize) -> LineCol {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let mut start = self.line_starts[line];
        if line == 0 && self.has_bom() && offset >= UTF8_BOM.len() {
            start = UTF8_BOM.len();
        }
        let column = self
            .text
            .get(start..offset)
            .map_or(offset - start, |s| s.chars().count())
            + 1;
        LineCol {
            line: line + 1,
            column,
        }
    }

    /// The byte range of the line holding `offset`, without its line terminator.
    pub fn line_range(&self, offset: usize) -> Range<usize> {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let mut end = self
            .line_starts
            .get(line + 1)
            .map_or(self.text.len(), |&next| next - 1);
        if end > start && self.text.as_bytes()[end - 1] == b'\r' {
            end -= 1;
        }
        start..end
    }

    pub fn line_count(&self) -> usize {
        self.line_starts.len()
    }

    /// Byte offset of the start of a 1-based line.
    pub fn line_start(&self, line: usize) -> Option<usize> {
        self.line_starts.get(line.checked_sub(1)?).copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_col_counts_chars_and_skips_bom() {
        let f = SourceFile::new("f", "/f", "\u{feff}a: é\r\nb: c\n");
        assert_eq!(f.line_col(3), LineCol { line: 1, column: 1 });
        assert_eq!(f.line_col(6), LineCol { line: 1, column: 4 });
        let b = f.text.find('b').unwrap();
        assert_eq!(f.line_col(b), LineCol { line: 2, column: 1 });
        assert_eq!(&f.text[f.line_range(3)], "\u{feff}a: é");
    }

    #[test]
    fn decode_rejects_utf16_and_bad_bytes() {
        assert!(matches!(
            SourceFile::decode(vec![0xFF, 0xFE, b'a', 0]),
            Err(DecodeError::UnsupportedEncoding { .. })
        ));
        assert_eq!(
            SourceFile::decode(vec![b'a', 0xC3]),
            Err(DecodeError::InvalidUtf8 { offset: 1 })
        );
        assert_eq!(SourceFile::decode(b"a: b".to_vec()).unwrap(), "a: b");
    }
}
