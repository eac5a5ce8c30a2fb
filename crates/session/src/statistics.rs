//! The statistics CSV (global or slicewise) of a session's ROIs, on the dataset's real
//! (rescaled) values, volume in mm³. Never runs a model.

use dafne_roi::stats;

use crate::{Dataset, Session, SessionError};

pub fn statistics_csv(
    session: &Session,
    dataset: &Dataset,
    slicewise: bool,
) -> Result<String, SessionError> {
    let rows = if slicewise {
        stats::slicewise(&dataset.volume, &session.rois)?
    } else {
        stats::global(&dataset.volume, &session.rois)?
    };
    Ok(stats::to_csv(&rows, slicewise))
}
