//! Grayscale area opening and closing with a small area threshold, as the original's trainer
//! runs `skimage.morphology.area_opening/area_closing(image, area_threshold=4)` (connectivity
//! 1) on every training image before resampling it.
//!
//! skimage builds a max-tree; for a threshold of a few pixels there is a direct, exact form:
//! the opening at p is the largest `min(f over S)` over 4-connected sets S of exactly `area`
//! pixels that contain p and stay inside the image (a larger set never has a larger minimum).
//! The fixed polyominoes of 4 cells containing the origin are 76 offset sets, enumerated once.

/// Offset sets (row, column) of `area` 4-connected cells, each containing (0, 0).
fn polyominoes(area: usize) -> Vec<Vec<(i32, i32)>> {
    let mut sets: Vec<Vec<(i32, i32)>> = vec![vec![(0, 0)]];
    for _ in 1..area {
        let mut grown: Vec<Vec<(i32, i32)>> = Vec::new();
        for set in &sets {
            for &(r, c) in set {
                for (dr, dc) in [(-1, 0), (1, 0), (0, -1), (0, 1)] {
                    let cell = (r + dr, c + dc);
                    if set.contains(&cell) {
                        continue;
                    }
                    let mut next = set.clone();
                    next.push(cell);
                    next.sort_unstable();
                    if !grown.contains(&next) {
                        grown.push(next);
                    }
                }
            }
        }
        sets = grown;
    }
    sets
}

/// Area opening (`closing == false`) or closing of a row-major image, connectivity 4.
fn area_filter(values: &[f32], rows: usize, cols: usize, area: usize, closing: bool) -> Vec<f32> {
    if area <= 1 || values.len() != rows * cols || rows * cols < area {
        return values.to_vec();
    }
    let sets = polyominoes(area);
    let mut out = values.to_vec();
    for r in 0..rows as i32 {
        for c in 0..cols as i32 {
            let mut best: Option<f32> = None;
            for set in &sets {
                let mut extreme: Option<f32> = None;
                let inside = set.iter().all(|&(dr, dc)| {
                    let (rr, cc) = (r + dr, c + dc);
                    if rr < 0 || cc < 0 || rr >= rows as i32 || cc >= cols as i32 {
                        return false;
                    }
                    let v = values[rr as usize * cols + cc as usize];
                    extreme = Some(match extreme {
                        None => v,
                        Some(e) if closing => e.max(v),
                        Some(e) => e.min(v),
                    });
                    true
                });
                if let (true, Some(e)) = (inside, extreme) {
                    best = Some(match best {
                        None => e,
                        Some(b) if closing => b.min(e),
                        Some(b) => b.max(e),
                    });
                }
            }
            if let Some(b) = best {
                out[r as usize * cols + c as usize] = b;
            }
        }
    }
    out
}

/// skimage `area_closing(area_opening(image, area), area)` with connectivity 1.
pub fn open_close(values: &[f32], rows: usize, cols: usize, area: usize) -> Vec<f32> {
    let opened = area_filter(values, rows, cols, area, false);
    area_filter(&opened, rows, cols, area, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tetromino_count() {
        // 19 fixed tetrominoes, each containing the origin at 4 of its cells.
        assert_eq!(polyominoes(4).len(), 76);
        assert_eq!(polyominoes(2).len(), 4);
    }

    #[test]
    fn removes_small_peaks_and_pits_only() {
        let (rows, cols) = (8, 8);
        let mut img = vec![10.0f32; rows * cols];
        // A 3-pixel bright speck goes; a 2x2 bright square (4 px) stays.
        for &(r, c) in &[(1, 1), (1, 2), (2, 1)] {
            img[r * cols + c] = 50.0;
        }
        for &(r, c) in &[(5, 5), (5, 6), (6, 5), (6, 6)] {
            img[r * cols + c] = 70.0;
        }
        // A single dark pit is filled.
        img[3 * cols + 6] = 0.0;
        let out = open_close(&img, rows, cols, 4);
        assert_eq!(out[cols + 1], 10.0);
        assert_eq!(out[2 * cols + 1], 10.0);
        assert_eq!(out[5 * cols + 5], 70.0);
        assert_eq!(out[6 * cols + 6], 70.0);
        assert_eq!(out[3 * cols + 6], 10.0);
        assert_eq!(out[0], 10.0);
    }
}
