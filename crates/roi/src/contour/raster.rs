//! The original's rasteriser (`dafne/utils/polyToMask.py`): each pair of consecutive curve
//! points (closing back to the first) is drawn as a line of pixels, points clamped to the
//! image; then the outside is flood-filled (4-connected) from a pixel of an extra column right
//! of the image, and the mask is the outline plus everything the flood did not reach.
//!
//! Python's `round` (ties to even) and the original's clamping order are kept, so the outline
//! pixels are the same. The flood is limited to the outline's bounding box grown by one pixel:
//! everything outside it is background, except a strip left of the box when the outline touches
//! both the top and the bottom row (the original's flood cannot get round it from the right).

use dafne_core::{MaskError, SliceMask};

/// Python `int(round(v))`: ties to even.
fn intround(v: f64) -> i64 {
    v.round_ties_even() as i64
}

/// The outline pixels the original draws for the closed polyline `points` (x = column,
/// y = row) on a `rows x cols` slice, as (x, y) pairs in drawing order (repeats included).
fn outline(points: &[[f64; 2]], rows: usize, cols: usize, mut mark: impl FnMut(i64, i64)) {
    // The original clamps points in place while drawing, so a point is clamped when it is
    // first the end of a segment, after the equality test of that segment.
    let mut pts: Vec<[f64; 2]> = points.to_vec();
    let max_x = cols as f64 - 1.0;
    let max_y = rows as f64 - 1.0;
    let clamp = |p: &mut [f64; 2]| {
        if p[0] < 0.0 {
            p[0] = 0.0;
        }
        if p[1] < 0.0 {
            p[1] = 0.0;
        }
        if p[0] > max_x {
            p[0] = max_x;
        }
        if p[1] > max_y {
            p[1] = max_y;
        }
    };
    let n = pts.len();
    for i in 0..n {
        let j = if i + 1 < n { i + 1 } else { 0 };
        if pts[i][0] == pts[j][0] && pts[i][1] == pts[j][1] {
            continue;
        }
        clamp(&mut pts[i]);
        clamp(&mut pts[j]);
        let (cur, next) = (pts[i], pts[j]);
        mark(intround(cur[0]), intround(cur[1]));
        if next[0] == cur[0] {
            let (start_y, end_y) = if cur[1] < next[1] {
                (cur[1], next[1])
            } else {
                (next[1], cur[1])
            };
            for y in intround(start_y)..intround(end_y + 1.0) {
                mark(intround(cur[0]), y);
            }
            continue;
        }
        let slope = (next[1] - cur[1]) / (next[0] - cur[0]);
        if slope.abs() < 1.0 {
            let (start_x, end_x, start_y) = if cur[0] < next[0] {
                (cur[0], next[0], cur[1])
            } else {
                (next[0], cur[0], next[1])
            };
            for x in intround(start_x)..intround(end_x + 1.0) {
                let y = start_y + (x as f64 - start_x) * slope;
                mark(x, intround(y));
            }
        } else {
            let (start_y, end_y, start_x) = if cur[1] < next[1] {
                (cur[1], next[1], cur[0])
            } else {
                (next[1], cur[1], next[0])
            };
            for y in intround(start_y)..intround(end_y + 1.0) {
                let x = start_x + (y as f64 - start_y) / slope;
                mark(intround(x), y);
            }
        }
    }
}

const FREE: u8 = 0;
const WALL: u8 = 1;
const FLOODED: u8 = 2;

/// A window of the original's grid (the slice plus one column on the right).
struct Window {
    x0: usize,
    y0: usize,
    width: usize,
    height: usize,
    cells: Vec<u8>,
}

impl Window {
    fn at(&self, x: usize, y: usize) -> u8 {
        self.cells[(y - self.y0) * self.width + (x - self.x0)]
    }

    /// 4-connected scanline flood from `seeds` (absolute coordinates inside the window).
    fn flood(&mut self, seeds: Vec<(usize, usize)>) {
        let w = self.width;
        let mut stack: Vec<(usize, usize)> = seeds
            .into_iter()
            .map(|(x, y)| (x - self.x0, y - self.y0))
            .collect();
        while let Some((x, y)) = stack.pop() {
            let line = y * w;
            if self.cells[line + x] != FREE {
                continue;
            }
            let mut l = x;
            while l > 0 && self.cells[line + l - 1] == FREE {
                l -= 1;
            }
            let mut r = x;
            while r + 1 < w && self.cells[line + r + 1] == FREE {
                r += 1;
            }
            self.cells[line + l..=line + r].fill(FLOODED);
            for ny in [y.wrapping_sub(1), y + 1] {
                if ny >= self.height {
                    continue;
                }
                let nline = ny * w;
                let mut in_run = false;
                for nx in l..=r {
                    let free = self.cells[nline + nx] == FREE;
                    if free && !in_run {
                        stack.push((nx, ny));
                    }
                    in_run = free;
                }
            }
        }
    }
}

/// `polyToMask(points, (rows, cols))`: the filled closed polyline as a `rows x cols` mask.
pub(crate) fn poly_to_mask(
    points: &[[f64; 2]],
    rows: usize,
    cols: usize,
) -> Result<SliceMask, MaskError> {
    let mut mask = SliceMask::new(rows, cols)?;
    if rows == 0 || cols == 0 || points.is_empty() {
        return Ok(mask);
    }
    let mut walls: Vec<(usize, usize)> = Vec::with_capacity(points.len() * 2);
    outline(points, rows, cols, |x, y| {
        // Clamped points keep every pixel inside; the check only guards against overflow.
        if (0..cols as i64).contains(&x) && (0..rows as i64).contains(&y) {
            walls.push((x as usize, y as usize));
        }
    });
    let Some(bx0) = walls.iter().map(|p| p.0).min() else {
        return Ok(mask);
    };
    let bx1 = walls.iter().map(|p| p.0).max().unwrap_or(bx0);
    let by0 = walls.iter().map(|p| p.1).min().unwrap_or(0);
    let by1 = walls.iter().map(|p| p.1).max().unwrap_or(by0);
    // bx1 <= cols - 1, so the window's right column exists in the original's grid.
    let (x0, x1) = (bx0.saturating_sub(1), bx1 + 1);
    let (y0, y1) = (by0.saturating_sub(1), (by1 + 1).min(rows - 1));
    let mut win = Window {
        x0,
        y0,
        width: x1 - x0 + 1,
        height: y1 - y0 + 1,
        cells: vec![FREE; (x1 - x0 + 1) * (y1 - y0 + 1)],
    };
    for &(x, y) in &walls {
        win.cells[(y - y0) * win.width + (x - x0)] = WALL;
    }
    // The strip left of the box is cut off from the flood's start when the box spans every
    // row; it is then reached only through the box, via the window's left column.
    let left_cut_off = bx0 > 0 && by0 == 0 && by1 == rows - 1;
    let inside = |x: usize, y: usize| (bx0..=bx1).contains(&x) && (by0..=by1).contains(&y);
    let mut seeds = Vec::new();
    for y in y0..=y1 {
        for x in [x0, x1] {
            if !(inside(x, y) || left_cut_off && x < bx0) {
                seeds.push((x, y));
            }
        }
    }
    for x in x0..=x1 {
        for y in [y0, y1] {
            if !(inside(x, y) || left_cut_off && x < bx0) {
                seeds.push((x, y));
            }
        }
    }
    win.flood(seeds);
    let left_filled = left_cut_off && win.at(x0, y0) != FLOODED;
    for y in 0..rows {
        if left_filled {
            mask.set_run(y, 0, bx0);
        }
        if !(y0..=y1).contains(&y) {
            continue;
        }
        let line = &win.cells[(y - y0) * win.width..(y - y0 + 1) * win.width];
        // the window's last column may be the original's extra column: never part of the mask
        let line = &line[..line.len().min(cols - x0)];
        let mut x = 0;
        while x < line.len() {
            if line[x] == FLOODED {
                x += 1;
                continue;
            }
            let start = x;
            while x < line.len() && line[x] != FLOODED {
                x += 1;
            }
            mask.set_run(y, x0 + start, x0 + x);
        }
    }
    Ok(mask)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// The original's algorithm without the window: flood the whole grid.
    fn brute(points: &[[f64; 2]], rows: usize, cols: usize) -> SliceMask {
        let w = cols + 1;
        let mut cells = vec![FREE; w * rows];
        outline(points, rows, cols, |x, y| {
            cells[y as usize * w + x as usize] = WALL
        });
        let mut win = Window {
            x0: 0,
            y0: 0,
            width: w,
            height: rows,
            cells,
        };
        win.flood(vec![(cols, 0)]);
        let mut m = SliceMask::new(rows, cols).unwrap();
        for y in 0..rows {
            for x in 0..cols {
                m.set(y, x, win.at(x, y) != FLOODED);
            }
        }
        m
    }

    #[test]
    fn window_flood_equals_whole_grid_flood() {
        let mut s = 0x1234_5678_u64;
        let mut rnd = |n: u64| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 33) % n) as f64
        };
        for case in 0..3000 {
            let (rows, cols) = (1 + rnd(14) as usize, 1 + rnd(14) as usize);
            let n = 1 + rnd(9) as usize;
            let pts: Vec<[f64; 2]> = (0..n)
                .map(|_| [rnd(cols as u64 + 4) - 2.0, rnd(rows as u64 + 4) - 2.0])
                .collect();
            assert_eq!(
                poly_to_mask(&pts, rows, cols).unwrap(),
                brute(&pts, rows, cols),
                "case {case}: {pts:?} on {rows}x{cols}"
            );
        }
    }

    #[test]
    fn square_outline_is_filled() {
        let pts = [[1.0, 1.0], [4.0, 1.0], [4.0, 3.0], [1.0, 3.0]];
        let m = poly_to_mask(&pts, 5, 6).unwrap();
        assert_eq!(
            m,
            crate::test_masks::mask(&["......", ".####.", ".####.", ".####.", "......"])
        );
    }

    #[test]
    fn outline_touching_top_and_bottom_fills_the_left_strip() {
        // the original's flood starts right of the image and cannot pass a full-height outline
        let pts = [[2.0, 0.0], [2.0, 3.0]];
        let m = poly_to_mask(&pts, 4, 5).unwrap();
        assert_eq!(
            m,
            crate::test_masks::mask(&["###..", "###..", "###..", "###.."])
        );
    }

    #[test]
    fn ties_round_to_even() {
        assert_eq!(intround(0.5), 0);
        assert_eq!(intround(1.5), 2);
        assert_eq!(intround(2.5), 2);
        assert_eq!(intround(-0.5), 0);
    }
}
