//! Autosegmentation as the original's model apply function does it (reference §3.4), so a
//! model gives the labels it gave in Dafne:
//! resample to the model's pixel size (`scipy.ndimage.zoom`, cubic) → pad/cut to the canvas
//! (432²) → scale to 600 and N4 bias correction → `split_mirror` into the image-left leg and
//! the mirrored image-right leg → both crops through the network in one batch → argmax →
//! un-mirror, paste back, zoom back (nearest) and pad/cut to the original grid. Image-left is
//! anatomical right, hence `_R`; the single-side variants ("Left"/"Right") skip the split and
//! process one centred crop, the "Left" one mirrored so the network always sees a right leg.
//!
//! - `resample`: `zoom`, `pad_or_cut`.
//! - `split`: `split_mirror`.
//! - `prepare`: [`PreparedSlice`] (network crops, and the way back to the original grid;
//!   training uses it for its crops too).
//! - `segmenter`: [`Segmenter`] (a package's network + the pipeline).

pub mod prepare;
pub mod resample;
pub mod segmenter;
pub mod split;

pub use prepare::{bias_correct, prepare_slice, PrepareTimes, PreparedSlice};
pub use resample::{pad_or_cut, zoom, zoomed_len};
pub use segmenter::{without_side, Segmenter, StepTimes};
pub use split::{split_mask, split_mirror, SplitBox};

/// One 2-D slice to segment, already in the model's orientation.
#[derive(Clone, Debug, PartialEq)]
pub struct SliceImage {
    /// Row-major intensities, `rows × cols`.
    pub values: Vec<f32>,
    pub rows: usize,
    pub cols: usize,
    /// `[between rows, between columns]`.
    pub spacing_mm: [f64; 2],
}

/// Which legs to segment: both (split into left and right), or one leg centred in the image
/// (the original's "Left"/"Right" variants, anatomical sides).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Side {
    #[default]
    Both,
    Left,
    Right,
}

impl Side {
    /// From a variant name of the original ("", "Left", "Right"; case and surrounding spaces
    /// ignored; anything ending in "left"/"right" counts, as in the original).
    pub fn from_variant(variant: &str) -> Side {
        let v = variant.trim().to_lowercase();
        if v.ends_with("right") {
            Side::Right
        } else if v.ends_with("left") {
            Side::Left
        } else {
            Side::Both
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub struct SegmentOptions {
    /// Name the ROIs per side (`_R`/`_L`) instead of joining both sides.
    pub split_lr: bool,
    pub side: Side,
}

/// The result on the slice's own grid.
#[derive(Clone, Debug, PartialEq)]
pub struct SliceSegmentation {
    pub rows: usize,
    pub cols: usize,
    /// Every output ROI in label order, empty ones included: with `split_lr`
    /// `"<long>_R", "<long>_L"` per label (one of them for a single side), else `"<long>"`.
    pub masks: Vec<(String, Vec<bool>)>,
}

impl SliceImage {
    pub(crate) fn check(&self) -> Result<(), crate::MlError> {
        let bad = |why: String| Err(crate::MlError::Input { why });
        if self.rows == 0 || self.cols == 0 || self.values.len() != self.rows * self.cols {
            return bad(format!(
                "slice of {} × {} needs {} values, got {}",
                self.rows,
                self.cols,
                self.rows * self.cols,
                self.values.len()
            ));
        }
        if !self.spacing_mm.iter().all(|s| s.is_finite() && *s > 0.0) {
            return bad(format!(
                "slice spacing must be positive, got {:?} mm",
                self.spacing_mm
            ));
        }
        if !self.values.iter().all(|v| v.is_finite()) {
            return bad("slice has a value that is not finite".into());
        }
        Ok(())
    }

    /// True when no pixel is above zero: the original would divide by a zero maximum.
    pub fn is_blank(&self) -> bool {
        !self.values.iter().any(|&v| v > 0.0)
    }
}
