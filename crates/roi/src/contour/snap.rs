//! Snap to edges (`MuscleSegmentation.optimize` / `optimizeKnot3`): each knot looks along the
//! normal of the line from its previous to its next knot, 40 samples over ±5 px (the image read
//! with scipy's `map_coordinates`: cubic B-spline, mode 'constant'), walking from inside the
//! contour to outside, and moves to the sample after the strongest step, steps far from the
//! knot weighed down by `sqrt(|offset| + 1)`.
//!
//! "Inside" is read from the filled contour on the slice, as the original reads the mask it
//! cached when the slice's masks were last drawn.

use dafne_core::SliceMask;

use super::{pypow2, spline::linspace, Contour, ContourError};

/// Half the length of the search line, pixels (`optim_region`).
const REGION_PX: f64 = 5.0;
/// Samples on the search line (`2 * optim_region * 4`).
const SAMPLES: usize = 40;

pub(super) fn snap_to_edges(
    contour: &mut Contour,
    image: &[f32],
    rows: usize,
    cols: usize,
) -> Result<(), ContourError> {
    if rows.checked_mul(cols) != Some(image.len()) {
        return Err(ContourError::SnapImage {
            rows,
            cols,
            len: image.len(),
        });
    }
    if contour.curve().is_empty() {
        return Ok(());
    }
    let inside = contour
        .to_mask(rows, cols)
        .map_err(ContourError::SnapMask)?;
    let coeffs = CubicImage::new(image, rows, cols);
    let n = contour.knots.len() as isize;
    let moved: Vec<[f64; 2]> = (0..n)
        .map(|i| {
            snap_knot(
                contour.knot(i),
                contour.knot(i - 1),
                contour.knot(i + 1),
                &inside,
                &coeffs,
            )
        })
        .collect();
    contour.knots = moved;
    Ok(())
}

/// `optimizeKnot3` for one knot.
fn snap_knot(
    knot: [f64; 2],
    prev: [f64; 2],
    next: [f64; 2],
    inside: &SliceMask,
    image: &CubicImage,
) -> [f64; 2] {
    let r = REGION_PX;
    let (xs, ys): (Vec<f64>, Vec<f64>) = if prev[0] == next[0] {
        let xs = if knot[0] < prev[0] {
            linspace(knot[0] + r, knot[0] - r, SAMPLES).collect()
        } else {
            linspace(knot[0] - r, knot[0] + r, SAMPLES).collect()
        };
        (xs, vec![knot[1]; SAMPLES])
    } else if prev[1] == next[1] {
        let ys = if knot[1] < prev[1] {
            linspace(knot[1] + r, knot[1] - r, SAMPLES).collect()
        } else {
            linspace(knot[1] - r, knot[1] + r, SAMPLES).collect()
        };
        (vec![knot[0]; SAMPLES], ys)
    } else {
        let slope = (next[1] - prev[1]) / (next[0] - prev[0]);
        let normal = -1.0 / slope;
        let mut x_dist = (r / (pypow2(normal) + 1.0)).sqrt();
        if nearest(inside, knot[0] + 1.0, knot[1] + normal * 1.0) {
            x_dist = -x_dist;
        }
        let (x_min, x_max) = (knot[0] - x_dist, knot[0] + x_dist);
        let (y_min, y_max) = (knot[1] - normal * x_dist, knot[1] + normal * x_dist);
        (
            linspace(x_min, x_max, SAMPLES).collect(),
            linspace(y_min, y_max, SAMPLES).collect(),
        )
    };
    // The samples are stored as float32 (the image's type), then differenced.
    let z: Vec<f32> = xs
        .iter()
        .zip(&ys)
        .map(|(&x, &y)| image.at(y, x) as f32)
        .collect();
    let weights: Vec<f64> = linspace(-r, r, SAMPLES - 1)
        .map(|o| (o.abs() + 1.0).sqrt())
        .collect();
    let mut best = 0usize;
    let mut best_score = f64::INFINITY;
    for (i, w) in weights.iter().enumerate() {
        let step = -(z[i + 1] - z[i]).abs();
        let score = f64::from(step) / w;
        // numpy's argmin: the first minimum, and the first NaN wins over everything
        if score.is_nan() {
            best = i;
            break;
        }
        if score < best_score {
            best_score = score;
            best = i;
        }
    }
    [xs[best], ys[best]]
}

/// `map_coordinates(mask, [[y], [x]], order=0, mode='constant')`: the nearest pixel (halves
/// round up), unset outside [0, len - 1] on either axis.
fn nearest(mask: &SliceMask, x: f64, y: f64) -> bool {
    let (rows, cols) = (mask.rows() as f64, mask.cols() as f64);
    if !(y >= 0.0 && y <= rows - 1.0 && x >= 0.0 && x <= cols - 1.0) {
        return false;
    }
    mask.get((y + 0.5).floor() as usize, (x + 0.5).floor() as usize)
}

/// An image prepared for scipy's cubic interpolation: B-spline coefficients along both axes
/// (`spline_filter`, mirror boundary as scipy uses for mode 'constant').
struct CubicImage {
    rows: usize,
    cols: usize,
    coeffs: Vec<f64>,
}

/// The pole of the cubic B-spline filter, sqrt(3) - 2.
const POLE: f64 = -0.267_949_192_431_122_7;

impl CubicImage {
    fn new(image: &[f32], rows: usize, cols: usize) -> Self {
        let mut coeffs: Vec<f64> = image.iter().map(|&v| f64::from(v)).collect();
        if rows > 1 {
            let mut line = vec![0.0f64; rows];
            for c in 0..cols {
                for (r, v) in line.iter_mut().enumerate() {
                    *v = coeffs[r * cols + c];
                }
                filter_line(&mut line);
                for (r, v) in line.iter().enumerate() {
                    coeffs[r * cols + c] = *v;
                }
            }
        }
        if cols > 1 {
            for row in coeffs.chunks_exact_mut(cols) {
                filter_line(row);
            }
        }
        CubicImage { rows, cols, coeffs }
    }

    /// The interpolated value at (row y, column x); 0 outside [0, len - 1] on either axis.
    fn at(&self, y: f64, x: f64) -> f64 {
        let (Some((r0, wr, redge)), Some((c0, wc, cedge))) =
            (axis_weights(y, self.rows), axis_weights(x, self.cols))
        else {
            return 0.0;
        };
        let mut t = 0.0;
        for (i, wri) in wr.iter().enumerate() {
            let r = if redge {
                mirror(r0 + i as i64, self.rows)
            } else {
                (r0 + i as i64) as usize
            };
            for (j, wcj) in wc.iter().enumerate() {
                let c = if cedge {
                    mirror(c0 + j as i64, self.cols)
                } else {
                    (c0 + j as i64) as usize
                };
                let mut coeff = self.coeffs[r * self.cols + c];
                coeff *= wri;
                coeff *= wcj;
                t += coeff;
            }
        }
        t
    }
}

/// The first of the 4 taps, their weights and whether they cross an edge; `None` outside.
fn axis_weights(cc: f64, len: usize) -> Option<(i64, [f64; 4], bool)> {
    if !(cc >= 0.0 && cc <= len as f64 - 1.0) {
        return None;
    }
    let start = cc.floor() as i64 - 1;
    let x = cc - cc.floor();
    let (y, z) = (x, 1.0 - x);
    let mut w = [0.0f64; 4];
    w[1] = (y * y * (y - 2.0) * 3.0 + 4.0) / 6.0;
    w[2] = (z * z * (z - 2.0) * 3.0 + 4.0) / 6.0;
    w[0] = z * z * z / 6.0;
    w[3] = 1.0;
    for i in 0..3 {
        w[3] -= w[i];
    }
    let edge = start < 0 || start + 3 >= len as i64;
    Some((start, w, edge))
}

/// scipy's mirror index (whole-sample symmetric) for taps beyond the edge.
fn mirror(idx: i64, len: usize) -> usize {
    let len = len as i64;
    if len <= 1 {
        return 0;
    }
    let s2 = 2 * len - 2;
    let mut i = idx;
    if i < 0 {
        i += s2 * (-i / s2);
        i = if i <= 1 - len { i + s2 } else { -i };
    } else if i >= len {
        i -= s2 * (i / s2);
        if i >= len {
            i = s2 - i;
        }
    }
    i.clamp(0, len - 1) as usize
}

/// One line of the cubic B-spline prefilter (scipy `apply_filter`, mirror initialisation).
fn filter_line(c: &mut [f64]) {
    let n = c.len();
    if n < 2 {
        return;
    }
    let z = POLE;
    let gain = (1.0 - z) * (1.0 - 1.0 / z);
    for v in c.iter_mut() {
        *v *= gain;
    }
    let z_n_1 = z.powf(std::hint::black_box((n - 1) as f64));
    c[0] += z_n_1 * c[n - 1];
    let mut z_i = z;
    for i in 1..n - 1 {
        c[0] += z_i * (c[i] + z_n_1 * c[n - 1 - i]);
        z_i *= z;
    }
    c[0] /= 1.0 - z_n_1 * z_n_1;
    for i in 1..n {
        c[i] += z * c[i - 1];
    }
    c[n - 1] = (z * c[n - 2] + c[n - 1]) * z / (z * z - 1.0);
    for i in (0..n - 1).rev() {
        c[i] = z * (c[i + 1] - c[i]);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cubic_interpolation_reproduces_samples_and_linear_ramps() {
        let (rows, cols) = (6usize, 7usize);
        let image: Vec<f32> = (0..rows * cols)
            .map(|i| (2 * (i / cols) + 3 * (i % cols)) as f32)
            .collect();
        let ci = CubicImage::new(&image, rows, cols);
        for r in 0..rows {
            for c in 0..cols {
                assert!((ci.at(r as f64, c as f64) - f64::from(image[r * cols + c])).abs() < 1e-9);
            }
        }
        // mirrored edges bend a ramp slightly, so only close in the middle
        assert!((ci.at(2.5, 3.25) - (5.0 + 9.75)).abs() < 0.05);
        assert_eq!(ci.at(-0.1, 2.0), 0.0);
        assert_eq!(ci.at(2.0, 6.01), 0.0);
    }

    #[test]
    fn mirror_indices() {
        assert_eq!(mirror(-1, 5), 1);
        assert_eq!(mirror(-2, 5), 2);
        assert_eq!(mirror(5, 5), 3);
        assert_eq!(mirror(6, 5), 2);
        assert_eq!(mirror(3, 1), 0);
    }

    #[test]
    fn knot_moves_to_the_edge_of_a_bright_square() {
        let (rows, cols) = (40usize, 40usize);
        let image: Vec<f32> = (0..rows * cols)
            .map(|i| {
                let (r, c) = (i / cols, i % cols);
                if (10..30).contains(&r) && (10..30).contains(&c) {
                    100.0
                } else {
                    0.0
                }
            })
            .collect();
        // a diamond slightly inside the square's edges
        let mut c = Contour::new(vec![[20.0, 12.0], [27.0, 20.0], [20.0, 27.0], [12.0, 20.0]]);
        c.snap_to_edges(&image, rows, cols).unwrap();
        let k = c.knots[1];
        assert!(c.snap_to_edges(&image, rows, cols + 1).is_err());
        assert!(
            (k[0] - 29.5).abs() < 1.0 && (k[1] - 20.0).abs() < 1e-9,
            "{k:?}"
        );
    }
}
