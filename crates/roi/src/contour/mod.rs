//! Contour (spline) ROIs as the original Dafne edits them (`dafne/utils/pySplineInterp.py`,
//! `SplineInterpROIClass` in its default non-smooth mode): a closed curve through at least 4
//! knots, each piece between two consecutive knots fitted by scipy's `splprep` on the 4 knots
//! around it (`spline.rs`) and sampled with `|Δx| + |Δy|` points, the samples rounded to pixels
//! and de-duplicated; filled by the original's own rasteriser (`raster.rs`). A slice's mask is
//! the XOR of its filled contours ([`contours_to_mask`]), so a contour drawn inside another
//! makes a hole. Knots are `[x, y]` = `[column, row]` in pixels, as the original stores them.
//!
//! Also here: knot insertion on the curve, translation and rotation about the curve's centre,
//! snapping knots to image edges (`snap.rs`), knot simplification (`simplify.rs`) and tracing a
//! mask into contours (`trace.rs`, `marching.rs`). Everything is checked against the original's code run from
//! `tests/contour.rs`.

mod marching;
mod raster;
mod simplify;
mod snap;
mod spline;
mod trace;

use std::collections::HashSet;

use dafne_core::{MaskError, SliceMask};

pub use trace::mask_to_contours;

/// What went wrong with a contour operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ContourError {
    #[error("cannot snap a contour to a {rows} x {cols} image given {len} pixel values")]
    SnapImage {
        rows: usize,
        cols: usize,
        len: usize,
    },
    #[error("cannot rasterise the contour for snapping: {0}")]
    SnapMask(#[source] MaskError),
}

/// The distance (in pixels, per axis) within which a new knot goes onto the curve rather than
/// after the last knot (`addKnot`'s `tolerance`).
pub const NEAR_CURVE_PX: f64 = 2.0;
/// The radius within which a click picks a knot (`KNOT_RADIUS`).
pub const KNOT_RADIUS_PX: f64 = 2.0;
/// A new knot closer than this to an existing one is that knot (`findExistingKnot`).
const SAME_KNOT_PX: f64 = 0.1;
/// Knots farther than this from the origin make no curve (no slice comes near it).
pub const MAX_COORD_PX: f64 = 1.0e6;
/// Knots whose curve would need more samples than this (`|Δx| + |Δy|` per piece) make no
/// curve: the original would try to allocate them all; a 512 x 512 slice needs a few thousand.
pub const MAX_SAMPLES: usize = 1 << 24;

/// Python's `x ** 2` on a float: libm's `pow`, which is not always `x * x`; the original
/// squares with it where noted. `black_box` keeps the compiler from turning it into `x * x`.
pub(crate) fn pypow2(x: f64) -> f64 {
    x.powf(std::hint::black_box(2.0))
}

/// A closed spline through `knots` (`[x, y]` = `[column, row]`, pixels).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Contour {
    pub knots: Vec<[f64; 2]>,
}

impl Contour {
    pub fn new(knots: Vec<[f64; 2]>) -> Self {
        Contour { knots }
    }

    /// Whether the knots make a curve: at least 4 (as the original needs), all finite and
    /// within [`MAX_COORD_PX`], and at most [`MAX_SAMPLES`] samples in all.
    pub fn is_valid(&self) -> bool {
        let n = self.knots.len();
        if n < 4
            || !self
                .knots
                .iter()
                .all(|k| k[0].abs() <= MAX_COORD_PX && k[1].abs() <= MAX_COORD_PX)
        {
            return false;
        }
        let samples: usize = (0..n)
            .map(|i| spline::sample_count(self.knots[i], self.knots[(i + 1) % n]))
            .sum();
        samples <= MAX_SAMPLES
    }

    /// The knot at a cyclic index (`getKnot`).
    fn knot(&self, i: isize) -> [f64; 2] {
        let n = self.knots.len() as isize;
        self.knots[i.rem_euclid(n) as usize]
    }

    /// The raw samples of each piece: piece `j` runs from knot `j + 1` to knot `j + 2`
    /// (cyclic), in the original's order. Empty when the contour is not valid.
    fn pieces(&self) -> Vec<Vec<[f64; 2]>> {
        if !self.is_valid() {
            return Vec::new();
        }
        let n = self.knots.len() as isize;
        (0..n)
            .map(|j| {
                let k = [
                    self.knot(j),
                    self.knot(j + 1),
                    self.knot(j + 2),
                    self.knot(j + 3),
                ];
                let mut part = Vec::new();
                spline::spline_part(k, &mut part);
                part
            })
            .collect()
    }

    /// The closed curve as the original draws and fills it (`getCurve()`): every sample
    /// rounded to the pixel (ties to even) and each pixel kept once, at its first visit.
    /// Empty when the contour is not valid (the original returns None).
    pub fn curve(&self) -> Vec<[f64; 2]> {
        pixelate(self.pieces().into_iter().flatten())
    }

    /// The filled contour on a `rows x cols` slice, pixel for pixel as the original's
    /// `toMask((rows, cols), False)`. Empty when the contour is not valid.
    /// A slice too large for a [`SliceMask`] is an error.
    pub fn to_mask(&self, rows: usize, cols: usize) -> Result<SliceMask, MaskError> {
        raster::poly_to_mask(&self.curve(), rows, cols)
    }

    /// Adds a knot at `p` (`addKnot`): an existing knot within 0.1 px is returned as is; a
    /// point within [`NEAR_CURVE_PX`] (per axis) of a curve piece is inserted between that
    /// piece's knots; otherwise it is appended. Returns the knot's index.
    pub fn add_knot(&mut self, p: [f64; 2]) -> usize {
        if let Some(i) = self.existing_knot(p) {
            return i;
        }
        let index = match self.piece_near(p, NEAR_CURVE_PX) {
            Some(j) => (j + 1) % self.knots.len() + 1,
            None => self.knots.len(),
        };
        self.knots.insert(index, p);
        index
    }

    /// Inserts `p` at `index` (clamped to the end) without looking at the curve.
    pub fn insert_knot(&mut self, index: usize, p: [f64; 2]) {
        self.knots.insert(index.min(self.knots.len()), p);
    }

    fn existing_knot(&self, p: [f64; 2]) -> Option<usize> {
        let tol = pypow2(SAME_KNOT_PX);
        self.knots
            .iter()
            .position(|k| pypow2(p[0] - k[0]) + pypow2(p[1] - k[1]) < tol)
    }

    /// The first piece with a rounded sample within `tolerance` of `p` on both axes
    /// (`isPointNearPath`).
    fn piece_near(&self, p: [f64; 2], tolerance: f64) -> Option<usize> {
        self.pieces().iter().position(|piece| {
            piece.iter().any(|q| {
                (p[0] - q[0].round_ties_even()).abs() <= tolerance
                    && (p[1] - q[1].round_ties_even()).abs() <= tolerance
            })
        })
    }

    /// The first knot closer than `radius_px` to `p` (`findKnotEvent`).
    pub fn find_knot(&self, p: [f64; 2], radius_px: f64) -> Option<usize> {
        let r2 = pypow2(radius_px);
        self.knots
            .iter()
            .position(|k| pypow2(p[0] - k[0]) + pypow2(p[1] - k[1]) < r2)
    }

    /// Puts knot `i` at `p` (`replaceKnot`); an index past the end does nothing.
    pub fn move_knot(&mut self, i: usize, p: [f64; 2]) {
        if let Some(k) = self.knots.get_mut(i) {
            *k = p;
        }
    }

    /// Removes knot `i`; an index past the end does nothing.
    pub fn remove_knot(&mut self, i: usize) {
        if i < self.knots.len() {
            self.knots.remove(i);
        }
    }

    /// The mean of the curve's pixels (`getCenterOfMass`), `None` without a curve.
    pub fn center_of_mass(&self) -> Option<[f64; 2]> {
        let curve = self.curve();
        if curve.is_empty() {
            return None;
        }
        let mut sum = [0.0f64; 2];
        for p in &curve {
            sum[0] += p[0];
            sum[1] += p[1];
        }
        let n = curve.len() as f64;
        Some([sum[0] / n, sum[1] / n])
    }

    /// Moves every knot by `d`.
    pub fn translate(&mut self, d: [f64; 2]) {
        for k in &mut self.knots {
            *k = [k[0] + d[0], k[1] + d[1]];
        }
    }

    /// Moves every knot so that the centre of mass lands on `center` (`moveCenterTo`, what
    /// dragging in translate mode does); nothing happens without a curve.
    pub fn move_center_to(&mut self, center: [f64; 2]) {
        let Some(old) = self.center_of_mass() else {
            return;
        };
        let (dx, dy) = (center[0] - old[0], center[1] - old[1]);
        for k in &mut self.knots {
            *k = [k[0] + dx, k[1] + dy];
        }
    }

    /// Rotates the knots by `angle_rad` about the centre of mass (`rotateByAngle`; positive
    /// turns x towards y, i.e. clockwise on screen); nothing happens without a curve.
    pub fn rotate(&mut self, angle_rad: f64) {
        self.rotate_by_sin_cos(angle_rad.sin(), angle_rad.cos());
    }

    /// `rotateBySinCos`.
    pub fn rotate_by_sin_cos(&mut self, sin: f64, cos: f64) {
        let Some(c) = self.center_of_mass() else {
            return;
        };
        for k in &mut self.knots {
            let (rx, ry) = (k[0] - c[0], k[1] - c[1]);
            *k = [cos * rx - sin * ry + c[0], sin * rx + cos * ry + c[1]];
        }
    }

    /// Moves every knot to the strongest nearby edge of `image` (row-major `rows x cols`),
    /// as the original's "snap to edges" (`optimize` / `optimizeKnot3`). Nothing happens
    /// without a curve; an `image` that does not hold `rows * cols` values is an error.
    pub fn snap_to_edges(
        &mut self,
        image: &[f32],
        rows: usize,
        cols: usize,
    ) -> Result<(), ContourError> {
        snap::snap_to_edges(self, image, rows, cols)
    }

    /// The contour with the knots that add nothing removed (`getSimplifiedSpline`).
    pub fn simplified(&self) -> Contour {
        simplify::simplified(self)
    }
}

/// Samples rounded to the pixel (ties to even), each pixel kept once at its first visit.
fn pixelate(samples: impl Iterator<Item = [f64; 2]>) -> Vec<[f64; 2]> {
    // + 0.0 turns -0.0 into 0.0: Python's dict sees them as one key
    let rounded: Vec<[f64; 2]> = samples
        .map(|p| [p[0].round_ties_even() + 0.0, p[1].round_ties_even() + 0.0])
        .collect();
    let (mut lo, mut hi) = ([f64::INFINITY; 2], [f64::NEG_INFINITY; 2]);
    for q in &rounded {
        for d in 0..2 {
            lo[d] = lo[d].min(q[d]);
            hi[d] = hi[d].max(q[d]);
        }
    }
    let span = [hi[0] - lo[0] + 1.0, hi[1] - lo[1] + 1.0];
    let mut out = Vec::with_capacity(rounded.len());
    if rounded.is_empty() {
        return out;
    }
    // Pixels of a valid contour lie within a few million of each other: one bit each.
    if span[0] * span[1] <= (1u64 << 26) as f64 {
        let width = span[0] as usize;
        let mut seen = vec![0u64; (width * span[1] as usize).div_ceil(64)];
        for q in rounded {
            let i = (q[1] - lo[1]) as usize * width + (q[0] - lo[0]) as usize;
            let (w, b) = (i / 64, 1u64 << (i % 64));
            if seen[w] & b == 0 {
                seen[w] |= b;
                out.push(q);
            }
        }
    } else {
        let mut seen: HashSet<(u64, u64)> = HashSet::new();
        for q in rounded {
            if seen.insert((q[0].to_bits(), q[1].to_bits())) {
                out.push(q);
            }
        }
    }
    out
}

/// The mask of a slice holding `contours`: the XOR of each filled contour
/// (`RoiAndMaskPair.subroi_to_mask`); contours without a curve add nothing.
pub fn contours_to_mask(
    contours: &[Contour],
    rows: usize,
    cols: usize,
) -> Result<SliceMask, MaskError> {
    let mut mask = SliceMask::new(rows, cols)?;
    for c in contours {
        mask.combine(&c.to_mask(rows, cols)?, |a, b| a ^ b);
    }
    Ok(mask)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn square() -> Contour {
        Contour::new(vec![[10.0, 10.0], [20.0, 10.0], [20.0, 20.0], [10.0, 20.0]])
    }

    #[test]
    fn fewer_than_four_knots_make_no_curve() {
        let c = Contour::new(vec![[1.0, 1.0], [5.0, 1.0], [5.0, 5.0]]);
        assert!(c.curve().is_empty());
        assert!(c.to_mask(8, 8).unwrap().is_empty());
        assert_eq!(c.center_of_mass(), None);
    }

    #[test]
    fn non_finite_knots_make_no_curve() {
        let mut c = square();
        c.knots[2][0] = f64::NAN;
        assert!(c.curve().is_empty());
        c.knots[2][0] = 1e9;
        assert!(c.curve().is_empty());
        // within the coordinate bound but far too many samples
        let zigzag: Vec<[f64; 2]> = (0..40)
            .map(|i| {
                if i % 2 == 0 {
                    [-9.0e5, -9.0e5]
                } else {
                    [9.0e5, 9.0e5]
                }
            })
            .collect();
        assert!(!Contour::new(zigzag.clone()).is_valid());
        assert_eq!(Contour::new(zigzag).simplified().knots.len(), 2);
    }

    #[test]
    fn curve_pixels_are_unique_and_pass_through_the_knots() {
        let c = square();
        let curve = c.curve();
        let set: HashSet<_> = curve.iter().map(|p| (p[0] as i64, p[1] as i64)).collect();
        assert_eq!(set.len(), curve.len());
        for k in &c.knots {
            assert!(set.contains(&(k[0] as i64, k[1] as i64)), "{k:?}");
        }
    }

    #[test]
    fn square_is_symmetric_about_its_centre() {
        let com = square().center_of_mass().unwrap();
        assert!(
            (com[0] - 15.0).abs() < 0.5 && (com[1] - 15.0).abs() < 0.5,
            "{com:?}"
        );
    }

    #[test]
    fn inner_contour_makes_a_hole() {
        let outer = square();
        let inner = Contour::new(vec![[13.0, 13.0], [17.0, 13.0], [17.0, 17.0], [13.0, 17.0]]);
        let m = contours_to_mask(&[outer.clone(), inner], 32, 32).unwrap();
        assert!(m.get(11, 11));
        assert!(!m.get(15, 15));
        assert!(outer.to_mask(32, 32).unwrap().get(15, 15));
        assert!(outer.to_mask(1 << 20, 1 << 20).is_err());
    }

    #[test]
    fn add_knot_on_the_curve_inserts_between_its_knots() {
        let mut c = square();
        // on the piece from knot 1 (20,10) to knot 2 (20,20)
        assert_eq!(c.add_knot([21.0, 15.0]), 2);
        assert_eq!(c.knots[2], [21.0, 15.0]);
        // far away: appended
        assert_eq!(c.add_knot([40.0, 40.0]), 5);
        // on an existing knot: that knot, nothing added
        assert_eq!(c.add_knot([10.05, 10.0]), 0);
        assert_eq!(c.knots.len(), 6);
    }

    #[test]
    fn knot_edits() {
        let mut c = square();
        assert_eq!(c.find_knot([19.0, 11.0], KNOT_RADIUS_PX), Some(1));
        assert_eq!(c.find_knot([15.0, 15.0], KNOT_RADIUS_PX), None);
        c.move_knot(1, [22.0, 9.0]);
        assert_eq!(c.knots[1], [22.0, 9.0]);
        c.move_knot(9, [0.0, 0.0]);
        c.remove_knot(0);
        c.remove_knot(7);
        assert_eq!(c.knots.len(), 3);
    }

    #[test]
    fn translate_and_rotate_move_the_centre_as_expected() {
        let mut c = square();
        let before = c.center_of_mass().unwrap();
        c.translate([3.0, -2.0]);
        let after = c.center_of_mass().unwrap();
        assert!((after[0] - before[0] - 3.0).abs() < 1e-9);
        assert!((after[1] - before[1] + 2.0).abs() < 1e-9);
        let k0 = c.knots.clone();
        c.rotate(std::f64::consts::FRAC_PI_2);
        c.rotate(-std::f64::consts::FRAC_PI_2);
        for (a, b) in c.knots.iter().zip(&k0) {
            assert!((a[0] - b[0]).abs() < 1.5 && (a[1] - b[1]).abs() < 1.5);
        }
        let mut m = square();
        m.move_center_to([40.0, 41.0]);
        let com = m.center_of_mass().unwrap();
        assert!(
            (com[0] - 40.0).abs() < 1.0 && (com[1] - 41.0).abs() < 1.0,
            "{com:?}"
        );
    }
}
