//! Mask-mode morphology of the original Dafne's editing tools, bit-exact with the libraries it
//! calls (`MuscleSegmentation.py`; reference §1.5):
//!
//! | here | original |
//! | --- | --- |
//! | [`grow`] | `scipy.ndimage.binary_dilation(mask)` (3x3 cross, 1 iteration) |
//! | [`shrink`] | `scipy.ndimage.binary_erosion(mask)` (border_value 0: pixels on the image edge go) |
//! | [`fill_holes`] | `scipy.ndimage.binary_fill_holes(mask)` |
//! | [`despeckle`] | `skimage.morphology.area_opening(mask, area_threshold=radius²)` |
//! | [`fill_small_holes`] | `skimage.morphology.area_closing(mask, area_threshold=radius²)` |
//! | [`label`] | `scipy.ndimage.label` (cross or 3x3 structure) |
//! | [`remove_small`] | `label` + `bincount` + `sizes >= min_size` lookup |
//!
//! On a binary image skimage's area opening is exactly "drop every 4-connected foreground
//! component of fewer than `area_threshold` pixels", and area closing the same on the
//! background. So [`fill_small_holes`] also fills a small background region that touches the
//! image edge (cut off by the ROI in a corner), and a whole-image component smaller than the
//! threshold goes too. Checked against skimage 0.26 in `tests/morphology.rs`.
//!
//! grow/shrink work on 64 pixels per instruction; the component operations on runs
//! (see `components.rs`), so their cost follows the number of runs, not pixels.

use std::fmt;

use crate::components::components;
use dafne_core::SliceMask;

/// The original's default radius of the despeckle / fill-holes tools.
pub const DEFAULT_RADIUS_PX: usize = 5;

/// The area threshold the original derives from the tool radius: `radius²` (25 px by default).
pub fn area_threshold(radius_px: usize) -> usize {
    radius_px.saturating_mul(radius_px)
}

/// Which neighbours join pixels into one component.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Connectivity {
    /// Edge neighbours (scipy's default cross, skimage's `connectivity=1`).
    #[default]
    Four,
    /// Edge and corner neighbours (a 3x3 block, skimage's `connectivity=2`).
    Eight,
}

/// One pixel added around the mask through each edge (3x3 cross dilation).
pub fn grow(mask: &SliceMask) -> SliceMask {
    cross::<true>(mask)
}

/// One pixel removed along the outline: a pixel stays only when its four edge neighbours are
/// set, and pixels outside the image count as unset (3x3 cross erosion, border 0).
pub fn shrink(mask: &SliceMask) -> SliceMask {
    cross::<false>(mask)
}

fn cross<const GROW: bool>(mask: &SliceMask) -> SliceMask {
    let mut out = mask.empty_like();
    let zeros = vec![0u64; mask.words_per_row()];
    let last_mask = mask.last_word_mask();
    let mut rows = mask.row_chunks().peekable();
    let mut above: &[u64] = &zeros;
    for out_row in out.row_chunks_mut() {
        let Some(row) = rows.next() else { break };
        let below = rows.peek().copied().unwrap_or(&zeros);
        // Bit b of a word is column 64w + b: the left neighbour's bit arrives by shifting up one
        // (carrying the previous word's top bit), the right neighbour's by shifting down.
        let mut previous = 0u64;
        let nexts = row.iter().skip(1).chain(std::iter::once(&0));
        for ((((o, &c), &next), &up), &down) in
            out_row.iter_mut().zip(row).zip(nexts).zip(above).zip(below)
        {
            let left = (c << 1) | (previous >> 63);
            let right = (c >> 1) | (next << 63);
            *o = if GROW {
                c | left | right | up | down
            } else {
                c & left & right & up & down
            };
            previous = c;
        }
        if let Some(last) = out_row.last_mut() {
            *last &= last_mask;
        }
        above = row;
    }
    out
}

/// Fills every hole: unset pixels that no 4-connected path of unset pixels joins to the image
/// edge.
pub fn fill_holes(mask: &SliceMask) -> SliceMask {
    let background = components(mask, false, Connectivity::Four);
    let mut out = mask.clone();
    for run in background.runs_where(|c| !background.touches_border[c]) {
        out.set_run(run.row as usize, run.start as usize, run.end as usize);
    }
    out
}

/// Removes 4-connected components of fewer than `area_threshold` pixels (skimage
/// `area_opening`; the tool passes [`area_threshold`]`(radius)`).
pub fn despeckle(mask: &SliceMask, area_threshold: usize) -> SliceMask {
    remove_small(mask, area_threshold, Connectivity::Four)
}

/// Fills 4-connected background components of fewer than `area_threshold` pixels, including
/// ones that touch the image edge (skimage `area_closing`).
pub fn fill_small_holes(mask: &SliceMask, area_threshold: usize) -> SliceMask {
    let mut out = mask.clone();
    if area_threshold <= 1 {
        return out;
    }
    let background = components(mask, false, Connectivity::Four);
    for run in background.runs_where(|c| background.sizes[c] < area_threshold) {
        out.set_run(run.row as usize, run.start as usize, run.end as usize);
    }
    out
}

/// Keeps the components of at least `min_size` pixels.
pub fn remove_small(mask: &SliceMask, min_size: usize, connectivity: Connectivity) -> SliceMask {
    if min_size <= 1 {
        return mask.clone();
    }
    let foreground = components(mask, true, connectivity);
    let mut out = mask.empty_like();
    for run in foreground.runs_where(|c| foreground.sizes[c] >= min_size) {
        out.set_run(run.row as usize, run.start as usize, run.end as usize);
    }
    out
}

/// Connected components, numbered `1..=count` in raster order of their first pixel (as
/// scipy.ndimage.label); 0 is the background.
pub fn label(mask: &SliceMask, connectivity: Connectivity) -> Labels {
    let found = components(mask, true, connectivity);
    let cols = mask.cols();
    let mut labels = vec![0u32; mask.rows() * cols];
    for (run, &c) in found.runs.iter().zip(&found.component_of_run) {
        let start = run.row as usize * cols + run.start as usize;
        let end = run.row as usize * cols + run.end as usize;
        if let Some(pixels) = labels.get_mut(start..end) {
            pixels.fill(c + 1);
        }
    }
    Labels {
        rows: mask.rows(),
        cols,
        labels,
        sizes: found.sizes,
    }
}

/// The result of [`label`]: one `u32` per pixel, row-major.
#[derive(Clone, PartialEq, Eq)]
pub struct Labels {
    rows: usize,
    cols: usize,
    labels: Vec<u32>,
    sizes: Vec<usize>,
}

impl Labels {
    pub fn rows(&self) -> usize {
        self.rows
    }

    pub fn cols(&self) -> usize {
        self.cols
    }

    /// Number of components (the largest label).
    pub fn count(&self) -> usize {
        self.sizes.len()
    }

    /// The label of `(row, col)`; 0 for background and for pixels outside the image.
    pub fn get(&self, row: usize, col: usize) -> u32 {
        if row >= self.rows || col >= self.cols {
            return 0;
        }
        self.labels.get(row * self.cols + col).copied().unwrap_or(0)
    }

    /// Pixels of label `label`; 0 for the background label and labels that do not exist.
    pub fn size(&self, label: u32) -> usize {
        (label as usize)
            .checked_sub(1)
            .and_then(|i| self.sizes.get(i))
            .copied()
            .unwrap_or(0)
    }

    /// Row-major labels (`labels[row * cols + col]`).
    pub fn as_slice(&self) -> &[u32] {
        &self.labels
    }

    pub fn into_vec(self) -> Vec<u32> {
        self.labels
    }
}

impl fmt::Debug for Labels {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Labels")
            .field("rows", &self.rows)
            .field("cols", &self.cols)
            .field("count", &self.count())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::test_masks::mask;

    fn picture(m: &SliceMask) -> Vec<String> {
        (0..m.rows())
            .map(|r| {
                (0..m.cols())
                    .map(|c| if m.get(r, c) { '#' } else { '.' })
                    .collect()
            })
            .collect()
    }

    #[test]
    fn grow_is_a_cross() {
        let m = mask(&[".....", ".....", "..#..", ".....", "....#"]);
        assert_eq!(
            picture(&grow(&m)),
            [".....", "..#..", ".###.", "..#.#", "...##"]
        );
    }

    #[test]
    fn shrink_erodes_pixels_on_the_image_edge() {
        let m = SliceMask::full(4, 5).unwrap();
        assert_eq!(picture(&shrink(&m)), [".....", ".###.", ".###.", "....."]);
    }

    #[test]
    fn grow_and_shrink_carry_across_words() {
        for cols in [63usize, 64, 65, 127, 128, 129] {
            for col in [0, 62, 63, 64, 65, cols - 1] {
                if col >= cols {
                    continue;
                }
                let mut m = SliceMask::new(3, cols).unwrap();
                m.set(1, col, true);
                let g = grow(&m);
                assert_eq!(
                    g.count(),
                    5 - usize::from(col == 0) - usize::from(col + 1 == cols)
                );
                for (r, c) in [(0, col), (2, col), (1, col)] {
                    assert!(g.get(r, c), "cols {cols} col {col}");
                }
                assert_eq!(g.get(1, col.wrapping_sub(1)), col > 0);
                assert_eq!(g.get(1, col + 1), col + 1 < cols);
                // The cross shrinks back to its centre unless the edge cut an arm off.
                let interior = col > 0 && col + 1 < cols;
                let expected = if interior { m.clone() } else { m.empty_like() };
                assert_eq!(shrink(&g), expected, "cols {cols} col {col}");
            }
            let full = SliceMask::full(3, cols).unwrap();
            let s = shrink(&full);
            assert_eq!(s.count(), cols - 2, "cols {cols}");
            assert!(!s.get(1, 0) && !s.get(1, cols - 1));
            assert_eq!(grow(&full), full);
        }
    }

    #[test]
    fn grow_and_shrink_of_tiny_and_empty_shapes() {
        for (rows, cols) in [(0, 0), (0, 3), (3, 0), (1, 1), (1, 5), (5, 1)] {
            let full = SliceMask::full(rows, cols).unwrap();
            assert_eq!(grow(&full), full);
            assert!(shrink(&full).is_empty());
        }
        let mut dot = SliceMask::new(1, 1).unwrap();
        assert!(grow(&dot).is_empty());
        dot.set(0, 0, true);
        assert_eq!(grow(&dot).count(), 1);
    }

    #[test]
    fn fill_holes_leaves_bays_open_to_the_edge() {
        let m = mask(&["#####.", "#..#..", "#..###", "#####.", "..#..."]);
        assert_eq!(
            picture(&fill_holes(&m)),
            ["#####.", "####..", "######", "#####.", "..#..."]
        );
    }

    #[test]
    fn fill_holes_does_not_leak_through_corners() {
        // The hole touches the outside only diagonally: 4-connected background stays a hole.
        let m = mask(&["###.", "#.#.", "##..", "...."]);
        assert_eq!(picture(&fill_holes(&m)), ["###.", "###.", "##..", "...."]);
    }

    #[test]
    fn despeckle_threshold_is_strictly_below() {
        let m = mask(&["##...", "##..#", ".....", "#...."]);
        assert_eq!(
            despeckle(&m, 4),
            mask(&["##...", "##...", ".....", "....."])
        );
        assert!(despeckle(&m, 5).is_empty());
        assert_eq!(despeckle(&m, 1), m);
        assert_eq!(despeckle(&m, 0), m);
    }

    #[test]
    fn whole_image_component_below_threshold_is_removed() {
        let full = SliceMask::full(3, 3).unwrap();
        assert!(despeckle(&full, 10).is_empty());
        assert_eq!(despeckle(&full, 9), full);
        let empty = SliceMask::new(3, 3).unwrap();
        assert_eq!(fill_small_holes(&empty, 10), full);
        assert_eq!(fill_small_holes(&empty, 9), empty);
    }

    #[test]
    fn fill_small_holes_fills_small_background_on_the_edge() {
        let m = mask(&[".#####", "######", "###.##", "######", "####.."]);
        assert_eq!(
            picture(&fill_small_holes(&m, 2)),
            ["######", "######", "######", "######", "####.."]
        );
        assert_eq!(fill_small_holes(&m, 3), SliceMask::full(5, 6).unwrap());
    }

    #[test]
    fn labels_follow_raster_order_of_first_pixel() {
        let m = mask(&["..#.#", "#.#..", "###.#", "....#"]);
        let four = label(&m, Connectivity::Four);
        assert_eq!(four.count(), 3);
        assert_eq!(
            four.as_slice(),
            &[0, 0, 1, 0, 2, 1, 0, 1, 0, 0, 1, 1, 1, 0, 3, 0, 0, 0, 0, 3]
        );
        assert_eq!((four.size(1), four.size(2), four.size(3)), (6, 1, 2));
        assert_eq!((four.size(0), four.size(4)), (0, 0));
        let eight = label(&m, Connectivity::Eight);
        assert_eq!(eight.count(), 3);
        let diagonal = mask(&["#.#", ".#.", "#.#"]);
        assert_eq!(label(&diagonal, Connectivity::Eight).count(), 1);
        assert_eq!(label(&diagonal, Connectivity::Four).count(), 5);
        assert_eq!(four.get(2, 4), 3);
        assert_eq!(four.get(9, 9), 0);
    }

    #[test]
    fn remove_small_by_connectivity() {
        let m = mask(&["#.#", ".#.", "#.#"]);
        assert!(remove_small(&m, 2, Connectivity::Four).is_empty());
        assert_eq!(remove_small(&m, 5, Connectivity::Eight), m);
        assert!(remove_small(&m, 6, Connectivity::Eight).is_empty());
    }

    #[test]
    fn empty_masks_stay_empty() {
        let m = SliceMask::new(7, 9).unwrap();
        assert_eq!(fill_holes(&m), m);
        assert_eq!(despeckle(&m, 25), m);
        assert_eq!(label(&m, Connectivity::Four).count(), 0);
        let none = SliceMask::new(0, 0).unwrap();
        assert_eq!(fill_small_holes(&none, 25), none);
        assert!(label(&none, Connectivity::Eight).as_slice().is_empty());
    }

    #[test]
    fn default_threshold_is_radius_squared() {
        assert_eq!(area_threshold(DEFAULT_RADIUS_PX), 25);
        assert_eq!(area_threshold(usize::MAX), usize::MAX);
    }
}
