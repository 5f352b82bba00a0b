//! Writing a fixed file without ever damaging it: a temporary file in the same directory,
//! flushed to disk, then renamed over the target; permissions kept; a symlink is written
//! through to its target; a file that changed on disk since it was read is left alone.

use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0}: the file changed on disk since it was read; not overwriting it")]
    Changed(String),
    #[error("{path}: cannot write: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl WriteError {
    /// What went wrong, without the path (for callers that show the path their own way).
    pub fn reason(&self) -> String {
        match self {
            WriteError::Changed(_) => {
                "the file changed on disk since it was read; not overwriting it".into()
            }
            WriteError::Io { source, .. } => format!("cannot write: {source}"),
        }
    }
}

fn io(path: &Path, source: std::io::Error) -> WriteError {
    WriteError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// Failure injection, for tests of what a failed write leaves behind (the test suite runs as a
/// user who may write anywhere, so an unwritable directory cannot be made for real). When set,
/// `STOWAGE_WRITE_FAULT` holds comma-separated steps of [`atomic_write`] that then fail:
/// `create-temp` (the directory refuses a new file), `write-temp` (the disk is full), `rename`
/// (the rename over the target fails), and `changed` (another program edits the target just
/// before stowage would replace it). Documented in `docs/robustness.md`; never set it otherwise.
pub const FAULT_VAR: &str = "STOWAGE_WRITE_FAULT";

fn fault(step: &str) -> bool {
    std::env::var(FAULT_VAR).is_ok_and(|v| v.split(',').any(|s| s.trim() == step))
}

fn injected(step: &str) -> std::io::Error {
    std::io::Error::other(format!("{step} failed ({FAULT_VAR})"))
}

/// The file a path really names (following symlinks), so the link itself is kept.
pub fn real_target(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Replaces the file at `path` with `text` if it still holds `expected`. Every error names
/// `path` (the file being written), whichever step failed.
pub fn atomic_write(path: &Path, expected: &str, text: &str) -> Result<(), WriteError> {
    replace(path, expected.as_bytes(), text)
}

/// Writes `text` to `path`, a file stowage owns (a baseline): created when missing (with the
/// permissions a new file gets), else replaced whatever it holds, atomically as [`atomic_write`].
pub fn write_owned(path: &Path, text: &str) -> Result<(), WriteError> {
    match std::fs::read(real_target(path)) {
        Ok(current) => replace(path, &current, text),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // An empty file first: the rename then keeps the permissions it was created with.
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
                .map_err(|e| io(path, e))?;
            replace(path, b"", text).inspect_err(|_| {
                // Nothing is left behind, unless another program wrote there meanwhile.
                if std::fs::metadata(path).is_ok_and(|m| m.len() == 0) {
                    let _ = std::fs::remove_file(path);
                }
            })
        }
        Err(e) => Err(io(path, e)),
    }
}

/// [`atomic_write`] of a file that holds `expected` bytes.
fn replace(path: &Path, expected: &[u8], text: &str) -> Result<(), WriteError> {
    let target = real_target(path);
    let current = std::fs::read(&target).map_err(|e| io(path, e))?;
    if current != expected {
        return Err(WriteError::Changed(path.display().to_string()));
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    let metadata = std::fs::metadata(&target).map_err(|e| io(path, e))?;
    let created = if fault("create-temp") {
        Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            injected("create-temp"),
        ))
    } else {
        tempfile::Builder::new()
            .prefix(".stowage-")
            .suffix(".tmp")
            .tempfile_in(dir)
    };
    let mut tmp = created.map_err(|e| {
        // tempfile names the random file it could not create; the directory is what matters.
        let kind = std::io::Error::from(e.kind());
        io(
            path,
            std::io::Error::new(
                e.kind(),
                format!("cannot create a file in `{}`: {kind}", dir.display()),
            ),
        )
    })?;
    if fault("write-temp") {
        return Err(io(path, injected("write-temp")));
    }
    tmp.write_all(text.as_bytes()).map_err(|e| io(path, e))?;
    tmp.as_file().sync_all().map_err(|e| io(path, e))?;
    #[cfg(unix)]
    {
        // Keep the owner and group where allowed (root fixing someone's file); a user who may
        // not give a file away keeps what the system allows.
        use std::os::unix::fs::MetadataExt;
        let _ =
            std::os::unix::fs::fchown(tmp.as_file(), Some(metadata.uid()), Some(metadata.gid()));
    }
    std::fs::set_permissions(tmp.path(), metadata.permissions()).map_err(|e| io(path, e))?;
    if fault("changed") {
        let mut other = std::fs::OpenOptions::new()
            .append(true)
            .open(&target)
            .map_err(|e| io(path, e))?;
        other
            .write_all(b"# edited by another program\n")
            .map_err(|e| io(path, e))?;
    }
    // Last look before replacing: a concurrent edit wins over ours.
    let again = std::fs::read(&target).map_err(|e| io(path, e))?;
    if again != expected {
        return Err(WriteError::Changed(path.display().to_string()));
    }
    if fault("rename") {
        return Err(io(path, injected("rename")));
    }
    tmp.persist(&target).map_err(|e| io(path, e.error))?;
    if let Ok(d) = std::fs::File::open(dir) {
        // Make the rename durable where the platform allows syncing a directory.
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_through_symlinks_and_keeps_permissions() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.yaml");
        std::fs::write(&real, "a: 1\n").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o640)).unwrap();
            let link = dir.path().join("compose.yaml");
            std::os::unix::fs::symlink(&real, &link).unwrap();
            atomic_write(&link, "a: 1\n", "a: 2\n").unwrap();
            assert!(
                std::fs::symlink_metadata(&link)
                    .unwrap()
                    .file_type()
                    .is_symlink()
            );
            assert_eq!(std::fs::read_to_string(&real).unwrap(), "a: 2\n");
            assert_eq!(
                std::fs::metadata(&real).unwrap().permissions().mode() & 0o777,
                0o640
            );
        }
    }

    #[test]
    fn refuses_when_the_file_changed() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("c.yaml");
        std::fs::write(&f, "a: 1\n").unwrap();
        assert!(matches!(
            atomic_write(&f, "a: 0\n", "a: 2\n"),
            Err(WriteError::Changed(_))
        ));
        assert_eq!(std::fs::read_to_string(&f).unwrap(), "a: 1\n");
    }
}
