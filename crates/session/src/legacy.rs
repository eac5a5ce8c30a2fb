//! Import of the original Dafne's ROI files (`.p`, reference §2.1): decoded by the restricted
//! pickle reader of `dafne_io::legacy` (nothing in the file is executed), then checked against
//! the dataset and turned into a session. A slice stored as knots only is rasterised as the
//! original does (XOR of the filled sub-ROIs); stored knots stay as the slice's contours.

use std::path::Path;

use dafne_io::legacy::{self, LegacyRoi};
use dafne_roi::contour::{contours_to_mask, Contour};
use dafne_roi::{Roi, RoiSet};

use crate::restrict::check_box;
use crate::sessions::new_session;
use crate::{Dataset, Session, SessionError};

/// Reads `path` as a session for `dataset`; returns it with warnings (other time points of a
/// time-resolved file, boxes that do not fit).
pub fn import_legacy(
    path: &Path,
    dataset: &Dataset,
) -> Result<(Session, Vec<String>), SessionError> {
    let file = legacy::read_roi_file(path)?;
    let (rows, cols, slices) = dataset.mask_dims();
    let wrong = |got: String| SessionError::WrongDataset {
        path: path.to_path_buf(),
        expected: format!("{rows} x {cols} x {slices}"),
        got,
    };
    if let Some((r, c)) = file.mask_size {
        if (r, c) != (rows, cols) {
            return Err(wrong(format!("{r} x {c} slices")));
        }
    }
    let mut warnings = Vec::new();
    if file.time_points.len() > 1 {
        warnings.push(format!(
            "the file holds {} time points; imported time point {} (the one it was saved at)",
            file.time_points.len(),
            file.current_time_point.unwrap_or(0)
        ));
    }
    let mut session = new_session(dataset);
    let mut rois = Vec::with_capacity(file.rois.len());
    for (id, roi) in (1..).zip(&file.rois) {
        rois.push(convert_roi(id, roi, rows, cols, slices, &wrong)?);
    }
    session.rois = RoiSet::from_rois(rows, cols, slices, rois)?;
    for (slice, class) in file.classifications.iter().enumerate() {
        if slice < slices && class != "None" && !class.is_empty() {
            session.classifications.insert(slice, class.clone());
        }
    }
    for (&slice, &b) in &file.restrict_boxes {
        // The original stores the whole image as the default box: nothing to keep.
        if b == [0, 0, rows, cols] {
            continue;
        }
        match check_box(rows, cols, b) {
            Ok(()) if slice < slices => {
                session.restrict_boxes.insert(slice, b);
            }
            _ => warnings.push(format!(
                "restrict area of slice {slice} {b:?} does not fit the dataset; dropped"
            )),
        }
    }
    Ok((session, warnings))
}

/// One ROI; a slice beyond the dataset is an error made by `wrong`.
fn convert_roi(
    id: u32,
    roi: &LegacyRoi,
    rows: usize,
    cols: usize,
    slices: usize,
    wrong: &dyn Fn(String) -> SessionError,
) -> Result<Roi, SessionError> {
    let mut out = Roi::new(id, roi.name.clone());
    for (&slice, stored) in &roi.slices {
        if slice >= slices {
            return Err(wrong(format!("ROI {:?} on slice {slice}", roi.name)));
        }
        let contours: Vec<Contour> = stored
            .contours
            .iter()
            .map(|knots| Contour {
                knots: knots.clone(),
            })
            .collect();
        let mask = match &stored.mask {
            Some(mask) => mask.clone(),
            None => contours_to_mask(&contours, rows, cols).map_err(dafne_roi::EditError::Mask)?,
        };
        if !mask.is_empty() {
            out.masks.insert(slice, mask);
        }
        if !contours.is_empty() {
            out.contours.insert(slice, contours);
        }
    }
    Ok(out)
}
