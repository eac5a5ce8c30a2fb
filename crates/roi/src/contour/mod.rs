//! TEMPORARY stub, replaced by the contour helper's module at merge.
use dafne_core::SliceMask;

#[derive(Clone, Debug, PartialEq)]
pub struct Contour {
    pub knots: Vec<[f64; 2]>,
}

pub fn contours_to_mask(_contours: &[Contour], rows: usize, cols: usize) -> SliceMask {
    SliceMask::new(rows, cols).unwrap_or_else(|_| unreachable!())
}

pub fn mask_to_contours(_mask: &SliceMask, _precision: f64) -> Vec<Contour> {
    Vec::new()
}
