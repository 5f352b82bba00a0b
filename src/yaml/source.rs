//! Source files: their text, how they were encoded, and byte offset ↔ line/column conversion.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// One file as read from disk (or stdin), decoded to UTF-8 text.
#[derive(Debug, Clone)]
pub(crate) struct SourceFile {
    /// The path as the user should see it (relative to the working directory when possible).
    pub(crate) display: String,
    /// The absolute path (or the stdin pseudo-path).
    pub(crate) path: PathBuf,
    /// The whole text, including a leading BOM if the file has one.
    pub(crate) text: Arc<str>,
    /// Shared with the snippets of the human output (`output::human`).
    line_starts: Arc<[usize]>,
}

/// A position for humans: 1-based line, 1-based column counted in characters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
pub(crate) struct LineCol {
    pub(crate) line: usize,
    pub(crate) column: usize,
}

/// Why a file's bytes could not be turned into text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum DecodeError {
    #[error("file is not valid UTF-8 (invalid byte at offset {offset})")]
    InvalidUtf8 { offset: usize },
    #[error("file is encoded as {encoding}; compose files must be UTF-8")]
    UnsupportedEncoding { encoding: &'static str },
}

/// Where each line of `text` starts: at 0 and after every line break (`\n`, `\r\n`, and a lone
/// `\r`, which ends a line too, as in YAML: a file saved with classic Mac endings).
pub fn line_starts(text: &str) -> Vec<usize> {
    let bytes = text.as_bytes();
    std::iter::once(0)
        .chain(
            memchr::memchr2_iter(b'\n', b'\r', bytes)
                .filter(|&i| bytes[i] == b'\n' || bytes.get(i + 1) != Some(&b'\n'))
                .map(|i| i + 1),
        )
        .collect()
}

impl DecodeError {
    /// Byte offset of the first byte that is not UTF-8 text (0 for another encoding's BOM).
    pub(crate) fn offset(&self) -> usize {
        match self {
            DecodeError::InvalidUtf8 { offset } => *offset,
            DecodeError::UnsupportedEncoding { .. } => 0,
        }
    }
}

/// Why a file could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ReadError {
    #[error("{}", io_reason(.0))]
    Io(#[from] std::io::Error),
    #[error("is a directory")]
    Directory,
    /// A FIFO, a device, a socket: reading it could block forever or never end.
    #[error("is not a regular file")]
    NotAFile,
    #[error(
        "file is too large ({size} bytes; stowage reads compose files of up to {} MiB)",
        MAX_FILE_BYTES >> 20
    )]
    TooLarge { size: u64 },
}

/// The largest file stowage reads: far beyond any real compose file, small enough that loading
/// it stays within a modest memory budget.
pub(crate) const MAX_FILE_BYTES: u64 = 32 << 20;

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// Reads a regular file of at most [`MAX_FILE_BYTES`] (symlinks followed). Never blocks on a
/// FIFO and never reads an endless device.
pub(crate) fn read_file(path: &Path) -> Result<Vec<u8>, ReadError> {
    use std::io::Read;
    let meta = std::fs::metadata(path)?;
    if meta.is_dir() {
        return Err(ReadError::Directory);
    }
    if !meta.is_file() {
        return Err(ReadError::NotAFile);
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge { size: meta.len() });
    }
    // Opened without blocking, then looked at again: a FIFO put in its place since, or a file
    // whose reads block (`/proc/kmsg`), is refused or fails at once instead of hanging.
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.custom_flags(rustix::fs::OFlags::NONBLOCK.bits() as i32);
    }
    let mut file = options.open(path)?;
    let meta = file.metadata()?;
    if !meta.is_file() {
        return Err(ReadError::NotAFile);
    }
    // Room for one byte more than the size: a read that stops at the size has reached the end,
    // with no further call to find it (a tenth of the system calls of checking many files). A
    // file that grew since its size was read is read on to its end.
    let size = usize::try_from(meta.len()).unwrap_or(0);
    let mut bytes = vec![0; size + 1];
    let mut filled = 0;
    loop {
        match file.read(&mut bytes[filled..]) {
            Ok(0) => {
                bytes.truncate(filled);
                break;
            }
            Ok(n) => {
                filled += n;
                if filled == bytes.len() {
                    file.take(MAX_FILE_BYTES + 1 - filled as u64)
                        .read_to_end(&mut bytes)?;
                    break;
                }
                if filled == size {
                    bytes.truncate(filled);
                    break;
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e.into()),
        }
    }
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(ReadError::TooLarge {
            size: bytes.len() as u64,
        });
    }
    Ok(bytes)
}

const UTF8_BOM: &str = "\u{feff}";

impl SourceFile {
    pub fn new(
        display: impl Into<String>,
        path: impl Into<PathBuf>,
        text: impl Into<Arc<str>>,
    ) -> Self {
        let text: Arc<str> = text.into();
        let line_starts = line_starts(&text).into();
        SourceFile {
            display: display.into(),
            path: path.into(),
            text,
            line_starts,
        }
    }

    /// Decode raw bytes: UTF-8 (with or without BOM); UTF-16/32 BOMs are named in the error.
    pub(crate) fn decode(bytes: Vec<u8>) -> Result<String, DecodeError> {
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

    /// [`SourceFile::decode`], keeping on failure what can be shown of the file: the text before
    /// the first bad byte (nothing for another encoding), so positions up to the error are exact.
    pub(crate) fn decode_or_prefix(bytes: Vec<u8>) -> Result<String, (DecodeError, String)> {
        if bytes.starts_with(&[0xFE, 0xFF])
            || bytes.starts_with(&[0xFF, 0xFE])
            || bytes.starts_with(&[0, 0, 0xFE, 0xFF])
        {
            return SourceFile::decode(bytes).map_err(|e| (e, String::new()));
        }
        String::from_utf8(bytes).map_err(|e| {
            let offset = e.utf8_error().valid_up_to();
            let mut valid = e.into_bytes();
            valid.truncate(offset);
            let prefix = String::from_utf8(valid).unwrap_or_default();
            (DecodeError::InvalidUtf8 { offset }, prefix)
        })
    }

    pub(crate) fn has_bom(&self) -> bool {
        self.text.starts_with(UTF8_BOM)
    }

    /// 1-based line and character column of a byte offset (a BOM is not a column; `\r` is).
    pub(crate) fn line_col(&self, offset: usize) -> LineCol {
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
    pub(crate) fn line_range(&self, offset: usize) -> Range<usize> {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&s| s <= offset) - 1;
        let start = self.line_starts[line];
        let bytes = self.text.as_bytes();
        let mut end = self
            .line_starts
            .get(line + 1)
            .map_or(self.text.len(), |&next| next - 1);
        if end > start && bytes.get(end) == Some(&b'\n') && bytes[end - 1] == b'\r' {
            end -= 1;
        }
        start..end
    }

    /// Where each line starts ([`line_starts`]).
    pub fn line_starts(&self) -> Arc<[usize]> {
        self.line_starts.clone()
    }

    #[cfg_attr(not(test), allow(dead_code))] // read by the unit tests only
    pub(crate) fn line_count(&self) -> usize {
        self.line_starts.len()
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
    fn a_lone_carriage_return_ends_a_line() {
        let f = SourceFile::new("f", "/f", "a: 1\rb: 2\r\nc: 3\nd");
        assert_eq!(f.line_count(), 4);
        let b = f.text.find('b').unwrap();
        assert_eq!(f.line_col(b), LineCol { line: 2, column: 1 });
        assert_eq!(&f.text[f.line_range(0)], "a: 1");
        assert_eq!(&f.text[f.line_range(b)], "b: 2");
        let c = f.text.find('c').unwrap();
        assert_eq!(f.line_col(c), LineCol { line: 3, column: 1 });
        assert_eq!(&f.text[f.line_range(f.text.len())], "d");
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

    #[test]
    fn decode_or_prefix_stops_at_the_bad_byte() {
        let bytes = b"a: b\nc: \xff\xfe\n".to_vec();
        let (err, prefix) = SourceFile::decode_or_prefix(bytes).unwrap_err();
        assert_eq!(err.offset(), 8);
        assert_eq!(prefix, "a: b\nc: ");
        let f = SourceFile::new("f", "/f", prefix);
        assert_eq!(f.line_col(err.offset()), LineCol { line: 2, column: 4 });
        for bom in [
            &[0xFF, 0xFE, b'a', 0][..],
            &[0xFE, 0xFF, 0, b'a'],
            &[0, 0, 0xFE, 0xFF],
        ] {
            let (err, prefix) = SourceFile::decode_or_prefix(bom.to_vec()).unwrap_err();
            assert!(
                matches!(err, DecodeError::UnsupportedEncoding { .. }),
                "{bom:?}"
            );
            assert_eq!((err.offset(), prefix.as_str()), (0, ""));
        }
        assert_eq!(
            SourceFile::decode_or_prefix(b"a: 1".to_vec()).unwrap(),
            "a: 1"
        );
    }

    #[test]
    fn read_file_refuses_what_is_not_a_regular_file() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(read_file(dir.path()), Err(ReadError::Directory)));
        assert!(matches!(
            read_file(&dir.path().join("missing")),
            Err(ReadError::Io(_))
        ));
        #[cfg(unix)]
        assert!(matches!(
            read_file(Path::new("/dev/zero")),
            Err(ReadError::NotAFile)
        ));
        let f = dir.path().join("c.yaml");
        std::fs::write(&f, "a: 1\n").unwrap();
        assert_eq!(read_file(&f).unwrap(), b"a: 1\n");
        std::fs::write(&f, "").unwrap();
        assert_eq!(read_file(&f).unwrap(), b"");
        // A size of 0 that is not the whole file (as in /proc) is read to its end.
        #[cfg(target_os = "linux")]
        assert!(read_file(Path::new("/proc/self/status")).unwrap().len() > 100);
    }
}
