//! Mask to contours (`dafne/utils/mask_to_spline.py`, `mask_to_splines`): the mask is opened
//! (cross erosion then dilation; without the erosion when that leaves nothing, for thin
//! structures), traced with marching squares (`marching.rs`), and each outline of at
//! least 8 points is fitted: 4 knots at 0, ¼, ½ and ¾ of it, then up to 3 passes that insert
//! knots where the curve is farthest from the outline (each new knot the outline point that
//! minimises the mean distance) and prune knots that are not needed, then simplification.
//!
//! Sums and means are numpy's (pairwise summation), so the choices between candidate knots
//! are the original's.

use dafne_core::SliceMask;
use rayon::prelude::*;

use super::{marching, spline, Contour};
use crate::morphology::{grow, shrink};

const MAX_CONTOURS: usize = 100;
const MAX_FIT_PASSES: usize = 3;

/// The contours tracing `mask` (`mask_to_splines(mask, precision)`): `precision` is the mean
/// distance in pixels the fit aims at (the original's default is 1). Outlines too short to fit
/// give no contour.
pub fn mask_to_contours(mask: &SliceMask, precision: f64) -> Vec<Contour> {
    let mut outlines = all_outlines(mask, true);
    if outlines.is_empty() {
        outlines = all_outlines(mask, false);
    }
    outlines
        .into_iter()
        .filter_map(|outline| {
            // [row, col] -> [x, y], walked backwards
            let points: Vec<[f64; 2]> = outline.iter().rev().map(|p| [p[1], p[0]]).collect();
            fit(&points, precision)
        })
        .collect()
}

/// `find_all_contours`: outlines of the opened mask with at least 3 points.
fn all_outlines(mask: &SliceMask, erode: bool) -> Vec<Vec<[f64; 2]>> {
    let opened = if erode {
        grow(&shrink(mask))
    } else {
        grow(mask)
    };
    if opened.is_empty() {
        return Vec::new();
    }
    let mut raw = marching::find_contours(&opened);
    raw.truncate(MAX_CONTOURS);
    raw.retain(|c| c.len() >= 3);
    raw
}

/// numpy's sum of a float64 array (pairwise summation in blocks of 8, up to 128 at a time).
fn np_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        let mut res = 0.0;
        for v in a {
            res += v;
        }
        return res;
    }
    if n <= 128 {
        let mut r = [0.0f64; 8];
        r.copy_from_slice(&a[..8]);
        let mut i = 8;
        while i < n - n % 8 {
            for j in 0..8 {
                r[j] += a[i + j];
            }
            i += 8;
        }
        let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for v in &a[i..] {
            res += v;
        }
        return res;
    }
    let mut n2 = n / 2;
    n2 -= n2 % 8;
    np_sum(&a[..n2]) + np_sum(&a[n2..])
}

/// `calc_contour_distance`: each point of `a` against the point of `b` at the same fraction
/// of its length; the mean and the distances. `None` when `b` is empty (the original raises).
fn contour_distance(a: &[[f64; 2]], b: &[[f64; 2]]) -> Option<(f64, Vec<f64>)> {
    if b.is_empty() || a.is_empty() {
        return None;
    }
    let step = b.len() as f64 / a.len() as f64;
    let d: Vec<f64> = a
        .iter()
        .enumerate()
        .map(|(i, p)| {
            let q = b
                .get((i as f64 * step) as usize)
                .copied()
                .unwrap_or(b[b.len() - 1]);
            let (dx, dy) = (p[0] - q[0], p[1] - q[1]);
            (dx * dx + dy * dy).sqrt()
        })
        .collect();
    Some((np_sum(&d) / a.len() as f64, d))
}

/// `getCurve(shift_curve=True)`: the curve starting at knot 0; `None` under 4 knots.
fn shifted_curve(c: &Contour) -> Option<Vec<[f64; 2]>> {
    if c.knots.len() < 4 {
        return None;
    }
    let mut pieces = c.pieces();
    let last = pieces.pop().unwrap_or_default();
    let ordered = last.into_iter().chain(pieces.into_iter().flatten());
    Some(super::pixelate(ordered))
}

fn max_of(d: &[f64]) -> f64 {
    d.iter().copied().fold(f64::NEG_INFINITY, f64::max)
}

/// Python's `bisect.bisect_right`.
fn bisect_right(a: &[usize], x: usize) -> usize {
    let (mut lo, mut hi) = (0, a.len());
    while lo < hi {
        let mid = (lo + hi) / 2;
        if x < a[mid] {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    lo
}

/// Python's `list[i]` for `-len <= i < len`.
fn py_index(a: &[usize], i: isize) -> Option<usize> {
    let n = a.len() as isize;
    let j = if i < 0 { i + n } else { i };
    (0..n).contains(&j).then(|| a[j as usize])
}

fn zero(d: &mut [f64], start: usize, end: usize) {
    let end = end.min(d.len());
    if start < end {
        d[start..end].fill(0.0);
    }
}

/// `contour_to_spline`; `None` where the original gives none or raises.
fn fit(contour: &[[f64; 2]], precision: f64) -> Option<Contour> {
    let n = contour.len();
    if n < 8 {
        return None;
    }
    let max_knots = 20usize.max(n / 10);
    let mut out = Contour::default();
    let mut added = vec![0, n / 4, n / 2, (n as f64 * 3.0 / 4.0) as usize];
    for &i in &added {
        out.add_knot(contour[i]);
    }
    shifted_curve(&out)?;
    for _pass in 0..MAX_FIT_PASSES {
        let Some(curve) = shifted_curve(&out) else {
            break;
        };
        let (mean, mut dist) = contour_distance(contour, &curve)?;
        if mean < precision && max_of(&dist) < precision * 3.0 {
            break;
        }
        let mut added_set: std::collections::HashSet<usize> = added.iter().copied().collect();
        let mut exhausted: Vec<(usize, usize)> = Vec::new();
        for _ in 0..max_knots {
            for &(s, e) in &exhausted {
                zero(&mut dist, s, e);
            }
            if !dist.iter().any(|&d| d != 0.0) {
                break;
            }
            // numpy's argmax: the first maximum
            let mut max_i = 0;
            for (i, &d) in dist.iter().enumerate() {
                if d > dist[max_i] {
                    max_i = i;
                }
            }
            let at = bisect_right(&added, max_i);
            let start = py_index(&added, at as isize - 1)?;
            let end = if at == added.len() { n - 1 } else { added[at] };
            if end < start + 2 {
                exhausted.push((start, end));
                zero(&mut dist, start, end);
                continue;
            }
            let at_i = at as isize;
            let (p2, p1, n1, n2) = (
                out.knot(at_i - 2),
                out.knot(at_i - 1),
                out.knot(at_i + 1),
                out.knot(at_i + 2),
            );
            let baseline = np_sum(&dist[..start]) + np_sum(&dist[end..]);
            let local = &contour[start..end];
            // Each candidate knot's fit is independent: score them in parallel, then pick the
            // first best one in order as the original's loop does.
            let local_fit = |k: [f64; 2]| {
                let mut part = Vec::new();
                spline::spline_part([p2, p1, k, n1], &mut part);
                spline::spline_part([p1, k, n1, n2], &mut part);
                contour_distance(local, &part).map(|(_, d)| d)
            };
            let scores: Vec<Option<f64>> = (start + 1..end)
                .into_par_iter()
                .map(|test| {
                    if added_set.contains(&test) {
                        return None;
                    }
                    local_fit(contour[test]).map(|d| (baseline + np_sum(&d)) / n as f64)
                })
                .collect();
            let mut best_d = f64::INFINITY;
            let mut best_point = start + 1;
            let mut found = false;
            for (test, score) in (start + 1..end).zip(scores) {
                if let Some(new_d) = score {
                    if new_d < best_d {
                        best_d = new_d;
                        best_point = test;
                        found = true;
                    }
                }
            }
            let best_local = if found {
                local_fit(contour[best_point])
            } else {
                None
            };
            out.insert_knot(at, contour[best_point]);
            added.insert(at.min(added.len()), best_point);
            added_set.insert(best_point);
            if let Some(l) = best_local {
                dist[start..end].copy_from_slice(&l);
            }
            if best_d < precision {
                break;
            }
        }
        // prune: drop each knot whose absence keeps the fit within tolerance
        let mut i = added.len() as isize - 1;
        while i >= 0 && out.knots.len() > 4 {
            let iu = i as usize;
            if iu >= out.knots.len() {
                return None; // the original's knot list and indices disagree: it raises
            }
            out.knots.remove(iu);
            let keep = match shifted_curve(&out) {
                Some(curve) => {
                    let (mean, d) = contour_distance(contour, &curve)?;
                    mean < precision && max_of(&d) < precision * 3.0
                }
                None => false,
            };
            if keep {
                added.remove(iu);
            } else {
                out.insert_knot(iu, contour[added[iu]]);
            }
            i -= 1;
        }
    }
    Some(out.simplified())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numpy_sums() {
        let a: Vec<f64> = (0..300).map(|i| (i as f64 * 0.37).sin()).collect();
        let plain: f64 = a.iter().sum();
        assert!((np_sum(&a) - plain).abs() < 1e-12);
        assert_eq!(np_sum(&[1.0, 2.0]), 3.0);
        assert_eq!(np_sum(&[]), 0.0);
    }

    #[test]
    fn disc_traces_to_one_contour_close_to_it() {
        let mut m = SliceMask::new(40, 40).unwrap_or_else(|_| unreachable!());
        for r in 0..40usize {
            for c in 0..40usize {
                let (dr, dc) = (r as f64 - 20.0, c as f64 - 18.0);
                m.set(r, c, dr * dr + dc * dc <= 100.0);
            }
        }
        let cs = mask_to_contours(&m, 1.0);
        assert_eq!(cs.len(), 1);
        let back = super::super::contours_to_mask(&cs, 40, 40).unwrap_or_else(|_| unreachable!());
        let mut x = back.clone();
        x.combine(&m, |a, b| a ^ b);
        assert!(x.count() < 30, "{} pixels differ", x.count());
    }

    #[test]
    fn helpers_follow_python() {
        assert_eq!(bisect_right(&[0, 5, 9], 5), 2);
        assert_eq!(bisect_right(&[0, 5, 9], 0), 1);
        assert_eq!(py_index(&[3, 4], -1), Some(4));
        assert_eq!(py_index(&[3, 4], 2), None);
        assert!(mask_to_contours(
            &SliceMask::new(5, 5).unwrap_or_else(|_| unreachable!()),
            1.0
        )
        .is_empty());
    }
}
