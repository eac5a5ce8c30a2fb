//! Brushes of mask mode, rasterised exactly as the original Dafne does (`BrushPatches.py` and
//! `MuscleSegmentation.moveBrushPatch`), so that a stroke paints the same pixels:
//!
//! - the pointer position (data coordinates, x = column, y = row) is first rounded half to
//!   even (NumPy's `round`);
//! - a square of side `size` covers rows `floor(y - size/2) + 1 ..` and columns
//!   `floor(x - size/2) + 1 ..`, `size` pixels each way (size 0 paints nothing);
//! - a circle of radius `size` is the midpoint-circle disc of diameter `2 size + 1` centred on
//!   the rounded pixel (size 0 paints that pixel).
//!
//! Unlike the original, dabs that reach past the image edge are clipped instead of wrapping
//! around (NumPy negative slicing) or failing.

use crate::SliceMask;

/// Sizes the toolbox offers.
pub const MAX_BRUSH_SIZE_PX: u32 = 20;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BrushShape {
    Square,
    Circle,
}

/// A mask-mode brush: a shape and a size in pixels (side for a square, radius for a circle).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Brush {
    pub shape: BrushShape,
    pub size_px: u32,
}

impl Brush {
    pub fn new(shape: BrushShape, size_px: u32) -> Self {
        Brush {
            shape,
            size_px: size_px.min(MAX_BRUSH_SIZE_PX),
        }
    }

    /// Sets the pixels of one dab with the pointer at `(x, y)` (x = column, y = row, in pixel
    /// units where pixel centres are integers).
    pub fn dab(&self, x: f64, y: f64, into: &mut SliceMask) {
        if !x.is_finite() || !y.is_finite() {
            return;
        }
        let (x, y) = (x.round_ties_even(), y.round_ties_even());
        let size = self.size_px as i64;
        match self.shape {
            BrushShape::Square => {
                let row0 = (y - size as f64 / 2.0).floor() as i64 + 1;
                let col0 = (x - size as f64 / 2.0).floor() as i64 + 1;
                for row in row0..row0 + size {
                    fill_row(into, row, col0, col0 + size - 1);
                }
            }
            BrushShape::Circle => {
                let (cx, cy) = (x as i64, y as i64);
                for (offset, half) in disc_half_widths(self.size_px).iter().enumerate() {
                    let dy = offset as i64;
                    fill_row(into, cy - dy, cx - half, cx + half);
                    if dy != 0 {
                        fill_row(into, cy + dy, cx - half, cx + half);
                    }
                }
            }
        }
    }

    /// One dab as its own mask.
    pub fn dab_mask(&self, x: f64, y: f64, rows: usize, cols: usize) -> Option<SliceMask> {
        let mut m = SliceMask::new(rows, cols).ok()?;
        self.dab(x, y, &mut m);
        Some(m)
    }
}

/// The pixels of one gesture: every dab from press to release, limited to the intensity window
/// when the brush is intensity aware. Sent to the editor as one `Edit`, so one undo step.
#[derive(Clone, Debug)]
pub struct Stroke {
    brush: Brush,
    window: Option<SliceMask>,
    patch: SliceMask,
}

impl Stroke {
    /// `window`: the intensity window taken at the press (see [`intensity_window`]), if any.
    pub fn new(brush: Brush, rows: usize, cols: usize, window: Option<SliceMask>) -> Option<Self> {
        let patch = SliceMask::new(rows, cols).ok()?;
        let window = window.filter(|w| w.same_shape(&patch));
        Some(Stroke {
            brush,
            window,
            patch,
        })
    }

    pub fn dab(&mut self, x: f64, y: f64) {
        match &self.window {
            None => self.brush.dab(x, y, &mut self.patch),
            Some(window) => {
                let mut one = self.patch.empty_like();
                self.brush.dab(x, y, &mut one);
                one.combine(window, |a, b| a & b);
                self.patch.combine(&one, |a, b| a | b);
            }
        }
    }

    /// The pixels painted so far (for a live preview).
    pub fn patch(&self) -> &SliceMask {
        &self.patch
    }

    pub fn into_patch(self) -> SliceMask {
        self.patch
    }
}

/// Sets columns `c0..=c1` of `row`, clipped to the mask.
fn fill_row(mask: &mut SliceMask, row: i64, c0: i64, c1: i64) {
    if row < 0 || row as usize >= mask.rows() {
        return;
    }
    let (c0, c1) = (c0.max(0), c1.min(mask.cols() as i64 - 1));
    for col in c0..=c1 {
        mask.set(row as usize, col as usize, true);
    }
}

/// Half-width of the disc on each row, from the centre row (index 0) outwards, as the midpoint
/// circle algorithm of the original fills it: every step `(x, y)` fills the columns
/// `-x..=x` on rows `±y` and `-y..=y` on rows `±x`.
pub fn disc_half_widths(radius: u32) -> Vec<i64> {
    let r = radius as i64;
    let mut half = vec![0i64; r as usize + 1];
    let mut mark = |a: i64, b: i64| {
        // columns ±a on rows ±b
        if let Some(h) = half.get_mut(b as usize) {
            *h = (*h).max(a);
        }
    };
    let (mut x, mut y, mut p) = (r, 0i64, 1 - r);
    mark(x, y);
    mark(y, x);
    while x > y {
        y += 1;
        if p <= 0 {
            p += 2 * y + 1;
        } else {
            x -= 1;
            p += 2 * y - 2 * x + 1;
        }
        mark(x, y);
        mark(y, x);
        if x < y {
            break;
        }
    }
    half
}

/// The original's intensity-aware rule: pixels whose value lies strictly within ±`tolerance`
/// (a fraction, default 0.5) of the value under the pointer when the stroke began. `values` is
/// the slice row by row; the pointer pixel is `(trunc(y), trunc(x))` as the original reads it.
pub fn intensity_window(
    values: &[f32],
    rows: usize,
    cols: usize,
    x: f64,
    y: f64,
    tolerance: f64,
) -> Option<SliceMask> {
    if values.len() != rows * cols || !(x >= 0.0 && y >= 0.0) {
        return None;
    }
    let (r, c) = (y as usize, x as usize);
    if r >= rows || c >= cols {
        return None;
    }
    let intensity = values[r * cols + c] as f64;
    let delta = intensity * tolerance;
    let (lower, upper) = (intensity - delta, intensity + delta);
    let mut mask = SliceMask::new(rows, cols).ok()?;
    for (i, v) in values.iter().enumerate() {
        let v = *v as f64;
        if v > lower && v < upper {
            mask.set(i / cols, i % cols, true);
        }
    }
    Some(mask)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Half-widths per row from the top row to the centre row, for radius 0..=20, as the
    /// original's `PixelatedCircleBrush.base_mask` has them (computed by running it).
    const ORIGINAL_DISCS: [&[i64]; 21] = [
        &[0],
        &[1, 1],
        &[1, 2, 2],
        &[1, 2, 3, 3],
        &[2, 3, 4, 4, 4],
        &[2, 3, 4, 5, 5, 5],
        &[2, 4, 5, 5, 6, 6, 6],
        &[2, 4, 5, 6, 6, 7, 7, 7],
        &[2, 4, 5, 6, 7, 7, 8, 8, 8],
        &[3, 5, 6, 7, 8, 8, 9, 9, 9, 9],
        &[3, 5, 6, 7, 8, 9, 9, 10, 10, 10, 10],
        &[3, 5, 7, 8, 9, 9, 10, 10, 11, 11, 11, 11],
        &[3, 5, 7, 8, 9, 10, 10, 11, 11, 12, 12, 12, 12],
        &[3, 6, 7, 8, 9, 10, 11, 12, 12, 12, 13, 13, 13, 13],
        &[3, 6, 8, 9, 10, 11, 12, 12, 13, 13, 13, 14, 14, 14, 14],
        &[3, 6, 8, 9, 10, 11, 12, 13, 13, 14, 14, 14, 15, 15, 15, 15],
        &[
            4, 6, 8, 10, 11, 12, 13, 13, 14, 14, 15, 15, 16, 16, 16, 16, 16,
        ],
        &[
            4, 7, 8, 10, 11, 12, 13, 14, 14, 15, 16, 16, 16, 17, 17, 17, 17, 17,
        ],
        &[
            4, 7, 9, 10, 11, 12, 13, 14, 15, 16, 16, 17, 17, 17, 18, 18, 18, 18, 18,
        ],
        &[
            4, 7, 9, 11, 12, 13, 14, 15, 16, 16, 17, 17, 18, 18, 18, 19, 19, 19, 19, 19,
        ],
        &[
            4, 7, 9, 11, 12, 13, 14, 15, 16, 17, 17, 18, 18, 19, 19, 19, 20, 20, 20, 20, 20,
        ],
    ];

    #[test]
    fn circle_discs_match_the_original_for_every_size() {
        for (r, expected) in ORIGINAL_DISCS.iter().enumerate() {
            let mut ours = disc_half_widths(r as u32);
            ours.reverse(); // top row first, as the table
            assert_eq!(&ours[..], *expected, "radius {r}");
        }
    }

    fn extent(m: &SliceMask) -> Option<(usize, usize, usize, usize)> {
        let b = m.bounding_box()?;
        Some((b.rows.start, b.rows.end - 1, b.cols.start, b.cols.end - 1))
    }

    #[test]
    fn squares_land_where_the_original_puts_them() {
        // (x, y, size) -> (row min, row max, col min, col max), pixel count: from the original.
        let cases = [
            ((5.5, 4.5, 3), Some((3, 5, 5, 7)), 9),
            ((5.4, 4.6, 4), Some((4, 7, 4, 7)), 16),
            ((2.5, 3.5, 1), Some((4, 4, 2, 2)), 1),
            ((7.0, 7.0, 0), None, 0),
            ((6.5, 6.5, 5), Some((4, 8, 4, 8)), 25),
            ((9.2, 1.7, 2), Some((2, 3, 9, 10)), 4),
        ];
        for ((x, y, size), bounds, count) in cases {
            let m = Brush::new(BrushShape::Square, size)
                .dab_mask(x, y, 12, 12)
                .unwrap();
            assert_eq!((extent(&m), m.count()), (bounds, count), "{x} {y} {size}");
        }
    }

    #[test]
    fn circles_are_clipped_at_the_edge_like_the_original_shift() {
        // Original: PixelatedCircleBrush((1, 2), 3).to_mask((8, 9)) row sums.
        let m = Brush::new(BrushShape::Circle, 3)
            .dab_mask(1.0, 2.0, 8, 9)
            .unwrap();
        let sums: Vec<usize> = (0..8)
            .map(|r| (0..9).filter(|c| m.get(r, *c)).count())
            .collect();
        assert_eq!(sums, vec![4, 5, 5, 5, 4, 3, 0, 0]);
        // Radius 0 is one pixel; a dab entirely outside paints nothing.
        assert_eq!(
            Brush::new(BrushShape::Circle, 0)
                .dab_mask(3.0, 3.0, 8, 8)
                .unwrap()
                .count(),
            1
        );
        assert!(Brush::new(BrushShape::Circle, 2)
            .dab_mask(-10.0, 3.0, 8, 8)
            .unwrap()
            .is_empty());
        assert!(Brush::new(BrushShape::Square, 4)
            .dab_mask(f64::NAN, 3.0, 8, 8)
            .unwrap()
            .is_empty());
    }

    #[test]
    fn an_intensity_aware_stroke_only_paints_inside_the_window() {
        let values: Vec<f32> = (0..100)
            .map(|i| if i % 10 < 5 { 100.0 } else { 300.0 })
            .collect();
        let window = intensity_window(&values, 10, 10, 2.0, 2.0, 0.5);
        let mut stroke = Stroke::new(Brush::new(BrushShape::Square, 4), 10, 10, window).unwrap();
        stroke.dab(4.0, 4.0);
        stroke.dab(5.0, 6.0);
        let patch = stroke.into_patch();
        assert!(patch.count() > 0);
        for r in 0..10 {
            for c in 5..10 {
                assert!(!patch.get(r, c), "({r}, {c}) is outside the window");
            }
        }
    }

    #[test]
    fn intensity_window_is_strict_and_relative_to_the_pressed_pixel() {
        let values = [100.0, 50.0, 149.0, 150.0, 51.0, 0.0];
        let m = intensity_window(&values, 2, 3, 0.7, 0.2, 0.5).unwrap();
        assert_eq!(m.to_u8(), vec![1, 0, 1, 0, 1, 0]);
        // A negative value under the pointer gives an empty window, as in the original.
        let m = intensity_window(&[-10.0, -10.0], 1, 2, 0.0, 0.0, 0.5).unwrap();
        assert!(m.is_empty());
        assert!(intensity_window(&values, 2, 3, 5.0, 0.0, 0.5).is_none());
    }
}
