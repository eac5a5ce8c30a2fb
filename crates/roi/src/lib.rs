//! ROI editing, with the original Dafne's exact semantics where users rely on them.
//!
//! - [`RoiSet`]: the named ROIs of a dataset; per slice a bit-packed [`SliceMask`] (a 512 x 512
//!   slice is 32 KiB) and, while in sync, the slice's contours (sub-ROIs combined by XOR).
//! - [`Editor`]: applies each gesture ([`Edit`]: brush stroke or patch with a [`Mode`], erase
//!   from all ROIs, contour change, keep-only (Auto Threshold), ROI add/delete/rename/copy,
//!   combine, remove overlap) and keeps a bounded undo/redo history of what changed.
//! - [`brush`]: the original's square and midpoint-circle brushes, intensity window, strokes.
//! - [`contour`]: the original's splines (FITPACK fit replicated), rasterisation, knot editing,
//!   translate/rotate, snap to edges, simplify, mask to contours; bit-exact with the original.
//! - [`morphology`]: grow/shrink, fill holes, despeckle and small-hole filling (area
//!   opening/closing), labelling; bit-exact with scipy.ndimage and skimage.morphology.
//! - [`threshold`]: Auto Threshold: ITK-exact Otsu after N4 bias correction.
//! - [`stats`]: the statistics CSV; [`session_file`]: versioned, checksummed, atomic sessions.
//!
//! Coordinates are `(row, col)`: `row` is the image row (y, down), `col` the column (x, right),
//! as in a NumPy slice `mask[row, col]`; contour knots are `[x, y]` = `[col, row]` as the
//! original stores them. Outside the mask every pixel reads as unset (scipy's
//! `border_value=0`). Interpolation and registration-based propagation come later.

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
