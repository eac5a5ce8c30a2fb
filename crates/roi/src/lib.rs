//! ROI editing. Today: [`SliceMask`], a bit-packed 2-D binary mask (one bit per pixel, a 512 x 512
//! slice is 32 KiB), and the mask-mode morphology of the original Dafne's editing tools
//! ([`morphology`]): grow/shrink, fill holes, despeckle and small-hole filling (area
//! opening/closing) and connected-component labelling, bit-exact with scipy.ndimage and
//! skimage.morphology (checked by `tests/morphology.rs` against the real libraries).
//!
//! Coordinates are `(row, col)`: `row` is the image row (y, down), `col` the column (x, right),
//! as in a NumPy slice `mask[row, col]`. Outside the mask every pixel reads as unset, which is
//! also scipy's `border_value=0`.
//!
//! [`RoiSet`] holds the named ROIs of a dataset; [`Editor`] applies each gesture ([`Edit`]) and
//! keeps a bounded undo/redo history of what changed.
//!
//! Brushes, contours, boolean ROI operations and interpolation come later (issue 3).

pub mod brush;
mod components;
pub mod contour;
mod history;
pub mod morphology;
mod roiset;
pub mod session_file;
pub mod stats;
pub mod threshold;

pub use brush::{Brush, BrushShape, Stroke};
pub use contour::{contours_to_mask, mask_to_contours, Contour, ContourError};
pub use dafne_core::{BoundingBox, MaskError, SliceMask, MAX_PIXELS};
pub use history::{BoolOp, Changed, Edit, Editor, Mode, Output};
pub use morphology::{Connectivity, Labels};
pub use roiset::{EditError, Roi, RoiId, RoiSet};
pub use threshold::{auto_threshold, N4Options, ThresholdError};

/// Masks drawn as text for unit tests: `#` is set, anything else unset.
#[cfg(test)]
pub(crate) mod test_masks {
    use dafne_core::SliceMask;

    #[allow(clippy::unwrap_used)]
    pub fn mask(rows: &[&str]) -> SliceMask {
        let cols = rows.first().map_or(0, |r| r.len());
        let bytes: Vec<u8> = rows
            .iter()
            .flat_map(|r| r.bytes().map(|b| u8::from(b == b'#')))
            .collect();
        SliceMask::from_u8(rows.len(), cols, &bytes).unwrap()
    }
}
