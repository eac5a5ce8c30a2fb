//! Editing tools that need the dataset's pixels, computed here and applied by the caller as
//! one [`dafne_roi::Edit`] (so that they are one undo step).

use dafne_core::SliceMask;
use dafne_roi::threshold::auto_threshold;

use crate::{Dataset, SessionError};

/// The real values of one slice (first frame), row-major, as the editing tools read them.
pub fn slice_values(dataset: &Dataset, slice: usize) -> Result<Vec<f32>, SessionError> {
    let [cols, rows, slices, _] = dataset.volume.dims();
    if slice >= slices {
        return Err(SessionError::InvalidInput(format!(
            "slice {slice} is outside the dataset ({slices} slices)"
        )));
    }
    let mut out = Vec::with_capacity(rows * cols);
    for row in 0..rows {
        for col in 0..cols {
            let v = dataset
                .volume
                .real_value([col, row, slice, 0])
                .unwrap_or(0.0);
            out.push(v as f32);
        }
    }
    Ok(out)
}

/// Auto Threshold (reference §1.5): bias-corrected Otsu mask of `slice`; apply it with
/// `Edit::KeepOnly` to the current ROI or to every ROI of the slice.
pub fn auto_threshold_mask(dataset: &Dataset, slice: usize) -> Result<SliceMask, SessionError> {
    let [cols, rows, _, _] = dataset.volume.dims();
    let values = slice_values(dataset, slice)?;
    let spacing = dataset.volume.geometry.spacing_mm();
    auto_threshold(&values, rows, cols, [spacing[1], spacing[0]])
        .map_err(|e| SessionError::InvalidInput(format!("auto threshold of slice {slice}: {e}")))
}
