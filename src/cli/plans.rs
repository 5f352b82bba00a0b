//! Data plans on disk: the script written beside a project's compose files
//! (`stowage-plan-PROJECT.sh`, never over an earlier one) or to `--script FILE`, through the same
//! safe writer as the compose files; the plans earlier runs left; and the plan of what
//! `check --fix --unsafe-fixes` turned into named volumes.

use std::path::{Path, PathBuf};

use crate::compose::model::Project;
use crate::fix;
use crate::fix::migrate;
use crate::images::KnowledgeBase;

/// Writes a plan script through the same safe writer as the compose files (never over one of
/// `protected`, never into a FIFO or device, never halfway), executable where it may be read.
pub(super) fn write_plan(path: &Path, script: &str, protected: &[PathBuf]) -> Result<(), String> {
    fix::write::write_new(path, script, protected)
        .map_err(|e| e.reason())
        .and_then(|()| {
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = std::fs::metadata(path)
                    .map_err(|e| e.to_string())?
                    .permissions()
                    .mode();
                std::fs::set_permissions(
                    path,
                    std::fs::Permissions::from_mode(mode | ((mode & 0o444) >> 2)),
                )
                .map_err(|e| e.to_string())?;
            }
            Ok(())
        })
        .map_err(|e| format!("{}: cannot write the data plan: {e}", path.display()))
}

/// The name of a project's plan beside its compose files, before a number is added.
fn plan_stem(project: &str) -> String {
    format!("stowage-plan-{project}")
}

/// Writes the plan of a project beside its compose files, as `stowage-plan-PROJECT.sh` or, when
/// an earlier plan (perhaps never run) is there, `stowage-plan-PROJECT-2.sh` and so on: no plan
/// is ever replaced.
pub(crate) fn write_default_plan(
    directory: &Path,
    project: &str,
    script: &str,
    protected: &[PathBuf],
) -> Result<PathBuf, String> {
    let stem = plan_stem(project);
    for n in 1..10_000 {
        let name = if n == 1 {
            format!("{stem}.sh")
        } else {
            format!("{stem}-{n}.sh")
        };
        let path = directory.join(name);
        match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(_) => return write_plan(&path, script, protected).map(|()| path),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => {
                return Err(format!(
                    "{}: cannot write the data plan: {e}",
                    path.display()
                ));
            }
        }
    }
    Err(format!(
        "{}: too many earlier data plans of project `{project}`",
        directory.display(),
    ))
}

/// The plans written beside a project's compose files (in `directory`) by earlier runs.
pub(super) fn earlier_plans(project: &str, directory: &Path) -> Vec<PathBuf> {
    let stem = plan_stem(project);
    let mut found: Vec<PathBuf> = std::fs::read_dir(directory)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            p.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                n.strip_prefix(&stem).is_some_and(|rest| {
                    rest == ".sh"
                        || rest
                            .strip_prefix('-')
                            .and_then(|r| r.strip_suffix(".sh"))
                            .is_some_and(|num| {
                                !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit())
                            })
                })
            })
        })
        .collect();
    found.sort();
    found
}

/// `check --fix --unsafe-fixes` rewrote `before` into `after` (editing `edited`): the plan that moves the data of
/// what it turned into named volumes is written beside the compose files (and named on stderr).
pub(crate) fn plan_fixed(
    before: &Project,
    before_mounts: &[crate::analysis::ServiceAnalysis],
    after: &Project,
    edited: &[PathBuf],
) -> Result<(), String> {
    let after_mounts = crate::analysis::analyse(after, KnowledgeBase::builtin());
    let conversions = migrate::conversions(before, before_mounts, after, &after_mounts);
    if conversions.is_empty() {
        return Ok(());
    }
    let files: Vec<PathBuf> = after.files.iter().map(|f| f.source.path.clone()).collect();
    let plan = migrate::Plan::new(after, conversions, edited.to_vec());
    let script = migrate::script(&[&plan]);
    let path = write_default_plan(&after.directory, &after.name, &script, &files)?;
    eprintln!(
        "data plan for project `{}` written to {} (run it before the next `up`)",
        after.name,
        path.display()
    );
    Ok(())
}
