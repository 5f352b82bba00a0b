//! Writing a file without ever damaging it or losing another program's write: a temporary file
//! in the same directory, flushed to disk, given the original's owner, group, mode and extended
//! attributes (POSIX ACLs included), then swapped with the target in one step and the text that
//! was replaced compared with what stowage read (a compare-and-swap: a concurrent change wins and
//! is put back). A symlink is written through to its target; a file stowage may not replace as
//! its owner would expect (hard links, read-only, another user's, append-only) is refused; a
//! temporary file is removed on any failure and on Ctrl-C or SIGTERM.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("{0}: the file changed on disk since it was read; not overwriting it")]
    Changed(String),
    /// A file stowage will not replace (policy, `docs/robustness.md`): `reason` says why.
    #[error("{path}: {reason}")]
    Refused { path: String, reason: String },
    #[error("{path}: cannot write: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

impl WriteError {
    /// What went wrong, without the path (for callers that show the path their own way).
    pub(crate) fn reason(&self) -> String {
        match self {
            WriteError::Changed(_) => {
                "the file changed on disk since it was read; not overwriting it".into()
            }
            WriteError::Refused { reason, .. } => reason.clone(),
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

fn refused(path: &Path, reason: String) -> WriteError {
    WriteError::Refused {
        path: path.display().to_string(),
        reason,
    }
}

/// Failure injection, for tests of what a failed write leaves behind (the test suite runs as a
/// user who may write anywhere, so an unwritable directory cannot be made for real). When set,
/// `STOWAGE_WRITE_FAULT` holds comma-separated steps of [`atomic_write`] that then fail:
/// `create-temp` (the directory refuses a new file), `write-temp` (the disk is full), `rename`
/// (the rename over the target fails), `changed` (another program appends to the target just
/// before stowage swaps it), `replaced` (another program renames a new file over the target
/// then), and `pause` (the complete temporary file waits 3 seconds before the swap, for a
/// signal to arrive). Documented in `docs/robustness.md`; never set it otherwise.
pub(crate) const FAULT_VAR: &str = "STOWAGE_WRITE_FAULT";

fn fault(step: &str) -> bool {
    std::env::var(FAULT_VAR).is_ok_and(|v| v.split(',').any(|s| s.trim() == step))
}

fn injected(step: &str) -> std::io::Error {
    std::io::Error::other(format!("{step} failed ({FAULT_VAR})"))
}

/// The file a path really names (following symlinks), so the link itself is kept.
pub(crate) fn real_target(path: &Path) -> PathBuf {
    std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf())
}

/// Temporary files being written: removed by the Ctrl-C / SIGTERM handler before it exits.
/// Held for the whole swap, so that a signal never removes a file halfway through it.
static PENDING: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

fn pending() -> std::sync::MutexGuard<'static, Vec<PathBuf>> {
    PENDING.lock().unwrap_or_else(|e| e.into_inner())
}

/// Installs, once, the handler that removes the temporary files of an interrupted write (the
/// target is then still the original) and exits 2. Before the first write a signal ends the
/// process as usual: nothing is on disk to clean.
fn remove_temporaries_on_signal() {
    static INSTALLED: std::sync::Once = std::sync::Once::new();
    INSTALLED.call_once(|| {
        // Another handler already there (a program embedding the library) keeps its own way.
        let _ = ctrlc::set_handler(|| {
            let files = pending();
            for f in files.iter() {
                let _ = std::fs::remove_file(f);
            }
            eprintln!("error: interrupted; files not yet written were left as they were");
            std::process::exit(2);
        });
    });
}

/// A temporary file next to the target, listed in [`PENDING`] while it exists.
struct Temp {
    file: File,
    path: Option<tempfile::TempPath>,
}

impl Temp {
    fn path(&self) -> &Path {
        self.path
            .as_deref()
            .expect("a temporary file has its path until dropped")
    }
}

impl Drop for Temp {
    fn drop(&mut self) {
        let mut list = pending();
        if let Some(path) = self.path.take() {
            list.retain(|p| p != &*path);
            // Removed here (TempPath's drop): after a swap it holds the replaced text.
            drop(path);
        }
    }
}

/// Creates the temporary file for `path` in `dir` with `text` in it, flushed to disk.
/// `mode`: the permissions a new file is created with (the umask applies).
fn temp_with(path: &Path, dir: &Path, text: &str, mode: u32) -> Result<Temp, WriteError> {
    remove_temporaries_on_signal();
    let mut builder = tempfile::Builder::new();
    builder.prefix(".stowage-").suffix(".tmp");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    let created = if fault("create-temp") {
        Err(std::io::Error::new(
            std::io::ErrorKind::PermissionDenied,
            injected("create-temp"),
        ))
    } else {
        // Listed before it exists: a signal between creating and listing would leave it.
        let list = pending();
        builder.tempfile_in(dir).map(|t| {
            let (file, temp_path) = t.into_parts();
            let mut list = list;
            list.push(temp_path.to_path_buf());
            Temp {
                file,
                path: Some(temp_path),
            }
        })
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
    tmp.file
        .write_all(text.as_bytes())
        .map_err(|e| io(path, e))?;
    tmp.file.sync_all().map_err(|e| io(path, e))?;
    Ok(tmp)
}

/// Replaces the file at `path` with `text` if it still holds `expected`. Every error names
/// `path` (the file being written), whichever step failed.
pub fn atomic_write(path: &Path, expected: &str, text: &str) -> Result<(), WriteError> {
    let target = real_target(path);
    let current = std::fs::read(&target).map_err(|e| io(path, e))?;
    if current != expected.as_bytes() {
        return Err(WriteError::Changed(path.display().to_string()));
    }
    let metadata = std::fs::metadata(&target).map_err(|e| io(path, e))?;
    let dir = target.parent().unwrap_or(Path::new("."));
    may_replace(path, &target, dir, &metadata)?;
    let tmp = temp_with(path, dir, text, 0o600)?;
    keep_metadata(path, &target, &metadata, &tmp.file)?;
    if fault("pause") {
        std::thread::sleep(std::time::Duration::from_secs(3));
    }
    if fault("changed") {
        let mut other = std::fs::OpenOptions::new()
            .append(true)
            .open(&target)
            .map_err(|e| io(path, e))?;
        other
            .write_all(b"# edited by another program\n")
            .map_err(|e| io(path, e))?;
    }
    if fault("replaced") {
        let rival = dir.join(".another-program.tmp");
        std::fs::write(&rival, format!("{expected}# written by another program\n"))
            .and_then(|()| std::fs::rename(&rival, &target))
            .map_err(|e| io(path, e))?;
    }
    if fault("rename") {
        return Err(io(path, injected("rename")));
    }
    swap(path, &target, tmp, expected)?;
    if let Ok(d) = File::open(dir) {
        // Make the rename durable where the platform allows syncing a directory.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Puts `tmp` in the place of `target` if `target` still holds `expected`. On Linux the two are
/// exchanged in one step (`renameat2(RENAME_EXCHANGE)`) and the replaced file, now at the
/// temporary name, is compared with `expected`: a write that reached the target before the
/// exchange is found there and exchanged back. Elsewhere (or where the file system cannot
/// exchange) the target is compared once more and then renamed over: a write in between is lost.
fn swap(path: &Path, target: &Path, tmp: Temp, expected: &str) -> Result<(), WriteError> {
    // A signal waits for the swap to finish, and then removes what is left at the temporary name.
    let _hold = pending();
    #[cfg(target_os = "linux")]
    {
        use rustix::fs::{CWD, RenameFlags, renameat_with};
        match renameat_with(CWD, tmp.path(), CWD, target, RenameFlags::EXCHANGE) {
            Ok(()) => {
                let replaced = std::fs::read(tmp.path()).map_err(|e| io(path, e))?;
                if replaced == expected.as_bytes() {
                    return Ok(());
                }
                renameat_with(CWD, tmp.path(), CWD, target, RenameFlags::EXCHANGE).map_err(
                    |e| {
                        io(
                            path,
                            std::io::Error::other(format!(
                                "the file changed while it was replaced, and putting the changed \
                                 text back failed ({e}); it is in `{}`",
                                tmp.path().display()
                            )),
                        )
                    },
                )?;
                return Err(WriteError::Changed(path.display().to_string()));
            }
            Err(e)
                if e != rustix::io::Errno::INVAL
                    && e != rustix::io::Errno::NOSYS
                    && e != rustix::io::Errno::NOTSUP =>
            {
                return Err(io(path, e.into()));
            }
            Err(_) => {}
        }
    }
    let again = std::fs::read(target).map_err(|e| io(path, e))?;
    if again != expected.as_bytes() {
        return Err(WriteError::Changed(path.display().to_string()));
    }
    std::fs::rename(tmp.path(), target).map_err(|e| io(path, e))
}

/// Writes `text` to `path`, a file stowage makes (a data plan, a baseline), in the same safe way:
/// never over one of `protected` (the project's own files, whatever name reaches them), never
/// into something that is not a regular file, and never halfway.
pub(crate) fn write_new(path: &Path, text: &str, protected: &[PathBuf]) -> Result<(), WriteError> {
    let target = real_target(path);
    let protected_target = protected.iter().any(|p| real_target(p) == target);
    if protected_target {
        return Err(refused(
            path,
            "is a file the projects read; name another file".into(),
        ));
    }
    let dir = match target.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let tmp = match std::fs::metadata(&target) {
        Ok(metadata) => {
            if !metadata.is_file() {
                return Err(refused(
                    path,
                    "is not a regular file (a directory, device, FIFO or socket); name a regular file"
                        .into(),
                ));
            }
            may_replace(path, &target, dir, &metadata)?;
            let tmp = temp_with(path, dir, text, 0o600)?;
            keep_metadata(path, &target, &metadata, &tmp.file)?;
            tmp
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => temp_with(path, dir, text, 0o666)?,
        Err(e) => return Err(io(path, e)),
    };
    let _hold = pending();
    std::fs::rename(tmp.path(), &target).map_err(|e| io(path, e))
}

/// Whether stowage may replace `target` (named `path`) in `dir` as the user would expect: the
/// policy of `docs/robustness.md`, "Writes".
fn may_replace(
    path: &Path,
    target: &Path,
    dir: &Path,
    metadata: &std::fs::Metadata,
) -> Result<(), WriteError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        if metadata.nlink() > 1 {
            return Err(refused(
                path,
                format!(
                    "the file has {} hard links; writing a new file would leave the other names with the old text (replace the links with symlinks, or fix one copy)",
                    metadata.nlink()
                ),
            ));
        }
        if metadata.mode() & 0o200 == 0 {
            return Err(refused(
                path,
                format!(
                    "the file is read-only (mode {:o}); make it writable (`chmod u+w`) to let stowage change it",
                    metadata.mode() & 0o7777
                ),
            ));
        }
        let me = rustix::process::geteuid();
        if !me.is_root() && metadata.uid() != me.as_raw() {
            return Err(refused(
                path,
                format!(
                    "the file belongs to another user (uid {}); replacing it would make it yours",
                    metadata.uid()
                ),
            ));
        }
    }
    #[cfg(target_os = "linux")]
    for (what, p) in [("file", target), ("directory", dir)] {
        use rustix::fs::{AtFlags, CWD, StatxAttributes, StatxFlags, statx};
        let locked = StatxAttributes::APPEND | StatxAttributes::IMMUTABLE;
        if let Ok(s) = statx(CWD, p, AtFlags::empty(), StatxFlags::BASIC_STATS)
            && s.stx_attributes.intersects(locked)
        {
            return Err(refused(
                path,
                format!(
                    "the {what} `{}` is append-only or immutable (`chattr`); stowage could not replace the file, nor remove what it would write",
                    p.display()
                ),
            ));
        }
    }
    let _ = (path, target, dir, metadata);
    Ok(())
}

/// Gives `file` the owner, group, mode and extended attributes of `target` (as far as the system
/// lets this user): never wider access than the original's.
fn keep_metadata(
    path: &Path,
    target: &Path,
    metadata: &std::fs::Metadata,
    file: &File,
) -> Result<(), WriteError> {
    #[cfg(unix)]
    {
        use rustix::fs::{Gid, Uid, fchown};
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        // The owner is the user's own unless root writes another's file (`may_replace`).
        let _ = fchown(file, Some(Uid::from_raw(metadata.uid())), None);
        let group_kept = fchown(file, None, Some(Gid::from_raw(metadata.gid()))).is_ok();
        let mut mode = metadata.mode() & 0o7777;
        if !group_kept {
            // The file now belongs to the user's group, not the original's: that group gets
            // no more than everyone else has, and setgid goes.
            mode &= !0o2070 | ((mode & 0o007) << 3);
        }
        file.set_permissions(std::fs::Permissions::from_mode(mode))
            .map_err(|e| io(path, e))?;
        #[cfg(target_os = "linux")]
        copy_xattrs(path, target, file, group_kept)?;
    }
    let _ = (path, target, metadata, file);
    Ok(())
}

/// Copies the extended attributes of `target` to `file`: POSIX ACLs (`system.posix_acl_*`),
/// `user.*` and the others. A `security.*` label is the system's to give (SELinux, SMACK): one
/// that cannot be set is left as the system made it. The access ACL is not copied when the
/// group could not be kept: its group entries would then apply to another group.
#[cfg(target_os = "linux")]
fn copy_xattrs(
    path: &Path,
    target: &Path,
    file: &File,
    group_kept: bool,
) -> Result<(), WriteError> {
    use rustix::fs::{XattrFlags, fsetxattr, getxattr, getxattr_query, listxattr, listxattr_query};
    let size = match listxattr_query(target) {
        Ok(n) => n,
        // A file system without extended attributes has none to keep.
        Err(_) => return Ok(()),
    };
    let mut names = vec![0u8; size];
    let n = listxattr(target, &mut names[..]).map_err(|e| io(path, e.into()))?;
    names.truncate(n);
    for name in names.split(|&b| b == 0).filter(|n| !n.is_empty()) {
        let shown = String::from_utf8_lossy(name);
        if shown == "system.posix_acl_access" && !group_kept {
            continue;
        }
        let size = getxattr_query(target, name).map_err(|e| io(path, e.into()))?;
        let mut value = vec![0u8; size];
        let n = getxattr(target, name, &mut value[..]).map_err(|e| io(path, e.into()))?;
        value.truncate(n);
        if let Err(e) = fsetxattr(file, name, &value, XattrFlags::empty())
            && !shown.starts_with("security.")
        {
            return Err(io(
                path,
                std::io::Error::other(format!("cannot keep the extended attribute `{shown}`: {e}")),
            ));
        }
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
