//! Session files checked against the dataset they are used with.

use std::path::Path;

use dafne_roi::session_file::{self, Session};
use dafne_roi::RoiSet;

use crate::{Dataset, SessionError};

/// An empty session for `dataset`.
pub fn new_session(dataset: &Dataset) -> Session {
    let (rows, cols, slices) = dataset.mask_dims();
    Session {
        rois: RoiSet::new(rows, cols, slices),
        classifications: Default::default(),
        restrict_boxes: Default::default(),
        dataset_id: Some(dataset.id()),
    }
}

/// Reads a session file and checks that its grid is the dataset's. A session saved for
/// another dataset of the same size is accepted with a warning (the user may have moved or
/// re-exported the data); a different grid is refused.
pub fn open_session(
    path: &Path,
    dataset: &Dataset,
) -> Result<(Session, Vec<String>), SessionError> {
    let session = session_file::read(path)?;
    let mut warnings = Vec::new();
    check_grid(&session, dataset, path)?;
    if let Some(id) = &session.dataset_id {
        if *id != dataset.id() {
            warnings.push(format!(
                "the session was saved for another dataset of the same size ({id})"
            ));
        }
    }
    Ok((session, warnings))
}

pub(crate) fn check_grid(
    session: &Session,
    dataset: &Dataset,
    path: &Path,
) -> Result<(), SessionError> {
    let (rows, cols, slices) = dataset.mask_dims();
    let r = &session.rois;
    if (r.rows(), r.cols(), r.slices()) != (rows, cols, slices) {
        return Err(SessionError::WrongDataset {
            path: path.to_path_buf(),
            expected: format!("{rows} x {cols} x {slices}"),
            got: format!("{} x {} x {}", r.rows(), r.cols(), r.slices()),
        });
    }
    Ok(())
}

/// Writes a session atomically.
pub fn save_session(path: &Path, session: &Session) -> Result<(), SessionError> {
    Ok(session_file::write(path, session)?)
}
