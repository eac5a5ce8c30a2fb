//! Masks in and out: the session's ROIs as [`NamedMasks`] for the writers of
//! `dafne_io::masks`, and imported masks back into a session.

use dafne_core::NamedMasks;
use dafne_roi::{Roi, RoiSet};

use crate::{Session, SessionError};

/// Every ROI of the session, in display order, with its non-empty slices.
pub fn named_masks(rois: &RoiSet) -> Vec<NamedMasks> {
    rois.rois()
        .iter()
        .map(|roi| NamedMasks {
            name: roi.name.clone(),
            slices: roi
                .masks
                .iter()
                .filter(|(_, m)| !m.is_empty())
                .map(|(k, m)| (*k, m.clone()))
                .collect(),
        })
        .collect()
}

/// Adds imported ROIs to a session. A name the session already uses gets a ` (2)`, ` (3)`...
/// suffix, reported in the returned warnings, so nothing the user drew is overwritten.
pub fn add_imported(
    session: &mut Session,
    imported: Vec<NamedMasks>,
) -> Result<Vec<String>, SessionError> {
    let mut warnings = Vec::new();
    let mut rois: Vec<Roi> = session.rois.rois().to_vec();
    let first_id = rois.iter().map(|r| r.id).max().unwrap_or(0) + 1;
    for (id, named) in (first_id..).zip(imported) {
        let mut name = named.name.clone();
        let mut n = 2;
        while rois.iter().any(|r| r.name == name) {
            name = format!("{} ({n})", named.name);
            n += 1;
        }
        if name != named.name {
            warnings.push(format!(
                "a ROI named {:?} exists already; imported as {name:?}",
                named.name
            ));
        }
        let mut roi = Roi::new(id, name);
        roi.masks = named.slices;
        rois.push(roi);
    }
    let r = &session.rois;
    session.rois = RoiSet::from_rois(r.rows(), r.cols(), r.slices(), rois)?;
    Ok(warnings)
}
