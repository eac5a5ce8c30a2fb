//! The original Dafne's "Auto Threshold" mask tool: N4 bias correction of the slice, then
//! Otsu's threshold; the caller ANDs the result with the current ROI (or every ROI of the
//! slice). Everything follows the ITK filters the original calls through SimpleITK, so the
//! masks agree with the original's pixel for pixel (see `tests/threshold.rs`):
//!
//! - [`otsu_threshold`], [`otsu_mask`]: ITK's `OtsuThresholdImageFilter`, bit-exact;
//! - [`n4_bias_correct`]: ITK's `N4BiasFieldCorrectionImageFilter` in 2-D;
//! - [`auto_threshold`]: `dafne_dl.common.biascorrection.biascorrection_image` (scale to a
//!   maximum of 600, Otsu mask, N4 with 8 levels of 50 iterations) followed by Otsu.

mod bspline;
mod fft;
mod n4;
mod otsu;

pub use n4::{n4_bias_correct, N4Options};
pub use otsu::{otsu_mask, otsu_threshold};

use dafne_core::{MaskError, SliceMask};

/// Histogram bins of both Otsu thresholds in the original's tool.
pub const AUTO_THRESHOLD_BINS: usize = 200;

/// The original scales the slice to this maximum before N4 (`MAX_GRAY_VALUE`).
const MAX_GRAY_VALUE: f64 = 600.0;

/// Why a threshold or bias correction could not be computed.
#[derive(Debug, thiserror::Error)]
pub enum ThresholdError {
    #[error("threshold: image has {len} values, expected {rows} x {cols}")]
    ImageShape {
        rows: usize,
        cols: usize,
        len: usize,
    },
    #[error("threshold: image must be at least 2 x 2 pixels, got {rows} x {cols}")]
    TooSmall { rows: usize, cols: usize },
    #[error("n4 bias correction: mask has {len} values, expected {expected}")]
    MaskShape { expected: usize, len: usize },
    #[error("threshold: value {value} at index {index} is not finite")]
    NonFinite { index: usize, value: f32 },
    #[error("threshold: pixel spacing must be positive and finite, got {spacing_mm:?} mm")]
    Spacing { spacing_mm: [f64; 2] },
    #[error("otsu threshold: no values to threshold")]
    Empty,
    #[error("threshold: invalid option: {what}")]
    Option { what: String },
    #[error(
        "auto threshold: the slice has no positive intensity (maximum {max}), nothing to threshold"
    )]
    NoSignal { max: f32 },
    #[error("auto threshold: building the mask failed: {0}")]
    Mask(#[from] MaskError),
}

/// Shape, finiteness and spacing checks shared by the entry points.
fn check_image(
    image: &[f32],
    rows: usize,
    cols: usize,
    spacing_mm: [f64; 2],
) -> Result<(), ThresholdError> {
    if rows.checked_mul(cols) != Some(image.len()) {
        return Err(ThresholdError::ImageShape {
            rows,
            cols,
            len: image.len(),
        });
    }
    if rows < 2 || cols < 2 {
        return Err(ThresholdError::TooSmall { rows, cols });
    }
    if !spacing_mm.iter().all(|s| s.is_finite() && *s > 0.0) {
        return Err(ThresholdError::Spacing { spacing_mm });
    }
    if let Some((index, &value)) = image.iter().enumerate().find(|(_, v)| !v.is_finite()) {
        return Err(ThresholdError::NonFinite { index, value });
    }
    Ok(())
}

/// The original's Auto Threshold mask of one slice (`rows x cols`, row-major real values):
/// the slice scaled to a maximum of 600, N4-corrected with the Otsu mask of itself
/// ([`N4Options::dafne`]), then Otsu-thresholded (200 bins); set pixels are above the
/// threshold. AND it with the ROI mask to apply the tool.
///
/// Errors: a slice whose maximum is not positive (the original divides by it), and the checks
/// of [`n4_bias_correct`].
pub fn auto_threshold(
    image_slice: &[f32],
    rows: usize,
    cols: usize,
    spacing_mm: [f64; 2],
) -> Result<SliceMask, ThresholdError> {
    check_image(image_slice, rows, cols, spacing_mm)?;
    let max = image_slice.iter().copied().fold(f32::MIN, f32::max);
    if max <= 0.0 {
        return Err(ThresholdError::NoSignal { max });
    }
    // numpy's `image * 600 / image.max()` on float64, then the cast to float32.
    let scaled: Vec<f32> = image_slice
        .iter()
        .map(|&v| (f64::from(v) * MAX_GRAY_VALUE / f64::from(max)) as f32)
        .collect();
    let n4_mask = otsu_mask(&scaled, AUTO_THRESHOLD_BINS)?;
    let corrected = n4_bias_correct(
        &scaled,
        rows,
        cols,
        spacing_mm,
        &n4_mask,
        &N4Options::dafne(),
    )?;
    let mask = otsu_mask(&corrected, AUTO_THRESHOLD_BINS)?;
    Ok(SliceMask::from_bools(rows, cols, &mask)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejects_bad_slices() {
        assert!(matches!(
            auto_threshold(&[0.0; 4], 2, 2, [1.0, 1.0]),
            Err(ThresholdError::NoSignal { .. })
        ));
        assert!(matches!(
            auto_threshold(&[1.0; 4], 2, 3, [1.0, 1.0]),
            Err(ThresholdError::ImageShape { .. })
        ));
        assert!(matches!(
            auto_threshold(&[1.0; 4], 2, 2, [0.0, 1.0]),
            Err(ThresholdError::Spacing { .. })
        ));
        assert!(matches!(
            auto_threshold(&[1.0, f32::NAN, 1.0, 1.0], 2, 2, [1.0, 1.0]),
            Err(ThresholdError::NonFinite { index: 1, .. })
        ));
    }
}
