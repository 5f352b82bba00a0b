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

fn io(path: &Path, source: std::io::Error) -> WriteError {
    WriteError::Io {
        path: path.display().to_string(),
        source,
    }
}

/// The file a path really names (following symlinks), so the link itself is kept.
pub fn real_target(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Replaces the file at `path` with `text` if it still holds `expected`.
pub fn atomic_write(path: &Path, expected: &str, text: &str) -> Result<(), WriteError> {
    let target = real_target(path);
    let current = std::fs::read(&target).map_err(|e| io(&target, e))?;
    if current != expected.as_bytes() {
        return Err(WriteError::Changed(path.display().to_string()));
    }
    let dir = target.parent().unwrap_or(Path::new("."));
    let permissions = std::fs::metadata(&target)
        .map_err(|e| io(&target, e))?
        .permissions();
    let mut tmp = tempfile::Builder::new()
        .prefix(".stowage-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(|e| io(dir, e))?;
    tmp.write_all(text.as_bytes())
        .map_err(|e| io(tmp.path(), e))?;
    tmp.as_file().sync_all().map_err(|e| io(tmp.path(), e))?;
    std::fs::set_permissions(tmp.path(), permissions).map_err(|e| io(tmp.path(), e))?;
    // Last look before replacing: a concurrent edit wins over ours.
    let again = std::fs::read(&target).map_err(|e| io(&target, e))?;
    if again != expected.as_bytes() {
        return Err(WriteError::Changed(path.display().to_string()));
    }
    tmp.persist(&target).map_err(|e| io(&target, e.error))?;
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
