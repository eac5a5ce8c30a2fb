//! `skimage.measure.find_contours(mask, 0.5)` for a binary mask: marching squares over every
//! 2x2 block (row by row), the segments oriented with the set pixels on the right and joined
//! into contours exactly as skimage's `_assemble_contours` joins them, so the contours come in
//! the same order and start at the same point. Points are `[row, col]`; on a binary mask every
//! crossing lies halfway between two pixels, so they are kept in half pixels while joining.

use std::collections::{BTreeMap, HashMap, VecDeque};

use dafne_core::SliceMask;

/// A point in half pixels: (2 * row, 2 * col).
type P = (i64, i64);

fn segments(mask: &SliceMask) -> Vec<(P, P)> {
    let (rows, cols) = (mask.rows(), mask.cols());
    let mut out = Vec::new();
    for r0 in 0..rows - 1 {
        for c0 in 0..cols - 1 {
            let ul = mask.get(r0, c0);
            let ur = mask.get(r0, c0 + 1);
            let ll = mask.get(r0 + 1, c0);
            let lr = mask.get(r0 + 1, c0 + 1);
            let case = u8::from(ul) | u8::from(ur) << 1 | u8::from(ll) << 2 | u8::from(lr) << 3;
            if case == 0 || case == 15 {
                continue;
            }
            let (r, c) = (2 * r0 as i64, 2 * c0 as i64);
            let top = (r, c + 1);
            let bottom = (r + 2, c + 1);
            let left = (r + 1, c);
            let right = (r + 1, c + 2);
            // fully_connected='low': cases 6 and 9 keep the unset pixels connected
            match case {
                1 => out.push((top, left)),
                2 => out.push((right, top)),
                3 => out.push((right, left)),
                4 => out.push((left, bottom)),
                5 => out.push((top, bottom)),
                6 => {
                    out.push((right, top));
                    out.push((left, bottom));
                }
                7 => out.push((right, bottom)),
                8 => out.push((bottom, right)),
                9 => {
                    out.push((top, left));
                    out.push((bottom, right));
                }
                10 => out.push((bottom, top)),
                11 => out.push((bottom, left)),
                12 => out.push((left, right)),
                13 => out.push((top, right)),
                _ => out.push((left, top)),
            }
        }
    }
    out
}

/// The contours of `mask` at level 0.5 as `[row, col]` points; none for a mask smaller than
/// 2 x 2 (where skimage refuses the input).
pub(super) fn find_contours(mask: &SliceMask) -> Vec<Vec<[f64; 2]>> {
    if mask.rows() < 2 || mask.cols() < 2 {
        return Vec::new();
    }
    let mut contours: BTreeMap<usize, VecDeque<P>> = BTreeMap::new();
    let mut starts: HashMap<P, usize> = HashMap::new();
    let mut ends: HashMap<P, usize> = HashMap::new();
    let mut next_id = 0usize;
    for (from, to) in segments(mask) {
        let tail = starts.remove(&to);
        let head = ends.remove(&from);
        match (tail, head) {
            (Some(t), Some(h)) if t == h => {
                if let Some(c) = contours.get_mut(&h) {
                    c.push_back(to);
                }
            }
            (Some(t), Some(h)) => {
                // keep the contour created first, so that contours stay in scan order
                let (keep, gone) = if t > h { (h, t) } else { (t, h) };
                let Some(gone_points) = contours.remove(&gone) else {
                    continue;
                };
                let Some(kept) = contours.get_mut(&keep) else {
                    continue;
                };
                if t > h {
                    kept.extend(gone_points);
                } else {
                    if let Some(first) = gone_points.front() {
                        starts.remove(first);
                    }
                    for p in gone_points.into_iter().rev() {
                        kept.push_front(p);
                    }
                }
                if let (Some(&first), Some(&last)) = (kept.front(), kept.back()) {
                    starts.insert(first, keep);
                    ends.insert(last, keep);
                }
            }
            (None, None) => {
                contours.insert(next_id, VecDeque::from([from, to]));
                starts.insert(from, next_id);
                ends.insert(to, next_id);
                next_id += 1;
            }
            (Some(t), None) => {
                if let Some(c) = contours.get_mut(&t) {
                    c.push_front(from);
                }
                starts.insert(from, t);
            }
            (None, Some(h)) => {
                if let Some(c) = contours.get_mut(&h) {
                    c.push_back(to);
                }
                ends.insert(to, h);
            }
        }
    }
    contours
        .into_values()
        .map(|c| {
            c.into_iter()
                .map(|(r, c)| [r as f64 / 2.0, c as f64 / 2.0])
                .collect()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_masks::mask;

    #[test]
    fn single_pixel_gives_a_closed_diamond() {
        let m = mask(&["...", ".#.", "..."]);
        let c = find_contours(&m);
        assert_eq!(c.len(), 1);
        assert_eq!(
            c[0],
            vec![[1.5, 1.0], [1.0, 0.5], [0.5, 1.0], [1.0, 1.5], [1.5, 1.0]]
        );
    }

    #[test]
    fn two_blobs_and_a_hole() {
        let m = mask(&["........", ".####...", ".#..#.#.", ".####...", "........"]);
        let c = find_contours(&m);
        assert_eq!(c.len(), 3);
        for contour in &c {
            assert_eq!(contour.first(), contour.last(), "closed");
        }
    }

    #[test]
    fn too_small_masks_have_no_contours() {
        assert!(find_contours(&mask(&["#"])).is_empty());
    }
}
