//! Autosave recovery: when a dataset is opened again, its autosave (beside the data, or in the
//! app's data folder when the data's folder is read-only) is offered back, provided it was made
//! on this dataset. The original wrote autosaves but never offered them (reference §7.7).
//!
//! A save killed mid-way leaves the previous file whole plus a hidden temporary file
//! (`.<name>.<pid>.tmp`); [`clean_stale_temporaries`] removes those of processes that are gone.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use dafne_roi::session_file::{self, Session};

use crate::sessions::check_grid;
use crate::{Dataset, SessionError};

/// Temporaries older than this are removed even where we cannot tell whether their process
/// is alive (no /proc).
const STALE_AFTER: Duration = Duration::from_secs(3600);

#[derive(Debug)]
pub struct Recovered {
    pub path: PathBuf,
    pub modified: Option<SystemTime>,
    pub session: Session,
}

/// What looking for an autosave found: at most one usable autosave, and why others were not
/// used (damaged, made on another dataset).
#[derive(Debug, Default)]
pub struct Recovery {
    pub found: Option<Recovered>,
    pub warnings: Vec<String>,
}

/// Where the autosave of `dataset` is written.
pub fn autosave_location(dataset: &Dataset, app_dir: Option<&Path>) -> PathBuf {
    session_file::autosave_path(&dataset.path, app_dir)
}

/// Writes the autosave of `dataset` (atomically: a crash mid-save keeps the previous one).
pub fn write_autosave(
    dataset: &Dataset,
    session: &Session,
    app_dir: Option<&Path>,
) -> Result<PathBuf, SessionError> {
    let path = autosave_location(dataset, app_dir);
    session_file::write(&path, session)?;
    Ok(path)
}

/// The newest autosave made on `dataset`, if any. Never fails: a damaged or foreign autosave
/// is reported in `warnings` and left on disk for the user to inspect.
pub fn find_autosave(dataset: &Dataset, app_dir: Option<&Path>) -> Recovery {
    let mut candidates = vec![session_file::autosave_beside(&dataset.path)];
    if let Some(dir) = app_dir {
        let fallback = session_file::autosave_in(&dataset.path, dir);
        if !candidates.contains(&fallback) {
            candidates.push(fallback);
        }
    }
    let mut recovery = Recovery::default();
    for path in candidates {
        if !path.is_file() {
            continue;
        }
        clean_stale_temporaries(&path);
        let session = match session_file::read(&path) {
            Ok(s) => s,
            Err(e) => {
                recovery.warnings.push(format!("autosave not used: {e}"));
                continue;
            }
        };
        if check_grid(&session, dataset, &path).is_err()
            || session
                .dataset_id
                .as_deref()
                .is_some_and(|id| id != dataset.id())
        {
            recovery.warnings.push(format!(
                "autosave not used: it was made on another dataset: {}",
                path.display()
            ));
            continue;
        }
        let modified = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
        let newer = match &recovery.found {
            None => true,
            Some(found) => modified > found.modified,
        };
        if newer {
            recovery.found = Some(Recovered {
                path,
                modified,
                session,
            });
        }
    }
    recovery
}

/// Removes `.<name>.<pid>[-<n>].tmp` files beside `path` left by saves whose process is gone
/// (or, where that cannot be told, that are older than an hour). Returns what was removed.
pub fn clean_stale_temporaries(path: &Path) -> Vec<PathBuf> {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return Vec::new();
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut removed = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = file_name
            .strip_prefix(&prefix)
            .and_then(|rest| rest.strip_suffix(".tmp"))
            .and_then(|tag| tag.split('-').next())
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() {
            continue;
        }
        let old = entry
            .metadata()
            .and_then(|m| m.modified())
            .ok()
            .and_then(|t| t.elapsed().ok())
            .is_some_and(|age| age > STALE_AFTER);
        if (process_gone(pid) || old) && std::fs::remove_file(entry.path()).is_ok() {
            removed.push(entry.path());
        }
    }
    removed.sort();
    removed
}

/// Whether process `pid` certainly no longer exists (Linux: no /proc entry); false where the
/// platform cannot tell.
fn process_gone(pid: u32) -> bool {
    let proc = Path::new("/proc");
    proc.join("self").exists() && !proc.join(pid.to_string()).exists()
}
