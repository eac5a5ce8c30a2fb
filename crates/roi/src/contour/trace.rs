//! Mask to contours (`mask_to_splines`).

use dafne_core::SliceMask;

use super::Contour;

pub fn mask_to_contours(_mask: &SliceMask, _precision: f64) -> Vec<Contour> {
    Vec::new()
}
