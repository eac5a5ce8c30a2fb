//! The cubic B-spline pieces of N4, after ITK's `BSplineScatteredDataPointSetToImageFilter`
//! (one fitting level: Lee, Wolberg and Shin's scattered-data approximation) and
//! `BSplineControlPointImageFilter` (evaluation on the image grid and lattice refinement).
//!
//! The spline lives on the index domain of a `rows x cols` image: along an axis of `size`
//! pixels with `n` control points there are `n - 3` spans and pixel `i` sits at parametric
//! `i * spans / (size - 1)`; ITK divides the physical spacing out, so the spacing never
//! matters. As in ITK the last pixel is pulled inside the domain by `1e-3` of a pixel.
//! Lattices are stored as `f32`, as ITK's control point images are.

use rayon::prelude::*;

/// Parametric `epsilon` of ITK's filters, in pixels.
const BSPLINE_EPSILON: f64 = 1e-3;

/// A control point lattice, row-major: `ny` points along the rows axis, `nx` along columns.
#[derive(Debug, Clone)]
pub(crate) struct Lattice {
    pub ny: usize,
    pub nx: usize,
    pub phi: Vec<f32>,
}

/// ITK's `BSplineKernelFunction<3>`.
fn kernel3(u: f64) -> f64 {
    let a = u.abs();
    let s = u * u;
    if a < 1.0 {
        (4.0 - 6.0 * s + 3.0 * s * a) / 6.0
    } else if a < 2.0 {
        (8.0 - 12.0 * a + 6.0 * s - s * a) / 6.0
    } else {
        0.0
    }
}

/// The kernel as the reconstruction uses it: evaluated in `f64` (ITK's kernel type) and
/// stored as `f32`.
fn kernel3_f32(u: f32) -> f32 {
    kernel3(f64::from(u)) as f32
}

/// First control point and the four weights of every pixel along one axis, for fitting.
fn fit_weights(size: usize, spans: usize) -> Vec<(usize, [f64; 4])> {
    let r = spans as f64 / (size - 1) as f64;
    let eps = r * BSPLINE_EPSILON;
    let spans_f = spans as f64;
    (0..size)
        .map(|i| {
            let mut p = i as f64 * r;
            if (p - spans_f).abs() <= eps {
                p = spans_f - eps;
            }
            let k = p.floor();
            let f = p - k;
            let mut w = [0.0; 4];
            for (j, wj) in w.iter_mut().enumerate() {
                *wj = kernel3(f - j as f64 + 1.0);
            }
            (k as usize, w)
        })
        .collect()
}

/// The same in `f32` for evaluation, with ITK's `U = spans * i / (size - 1)`.
fn eval_weights(size: usize, spans: usize) -> Vec<(usize, [f32; 4])> {
    let r = spans as f32 / (size - 1) as f32;
    let eps = r * BSPLINE_EPSILON as f32;
    let spans_f = spans as f32;
    (0..size)
        .map(|i| {
            let mut u = spans_f * i as f32 / (size - 1) as f32;
            if (u - spans_f).abs() <= eps {
                u = spans_f - eps;
            }
            let k = u as usize;
            let mut w = [0.0f32; 4];
            for (j, wj) in w.iter_mut().enumerate() {
                *wj = kernel3_f32(u - (k + j) as f32 + 1.0);
            }
            (k, w)
        })
        .collect()
}

/// Fits a lattice of `ny x nx` control points to `values` at the pixels `indices` (row-major
/// indices into a `rows x cols` image), every point with weight 1.
pub(crate) fn fit(
    rows: usize,
    cols: usize,
    indices: &[usize],
    values: &[f32],
    ny: usize,
    nx: usize,
) -> Lattice {
    let wy = fit_weights(rows, ny - 3);
    let wx = fit_weights(cols, nx - 3);
    // The tensor-product weights separate: a pixel's weight on point (j, i) is y_j·x_i, so
    // Σ b² = (Σ y_j²)(Σ x_i²), and a row of pixels is first summed along x (four points per
    // pixel) and then spread over its four lattice rows. Bands of image rows are summed on
    // their own and added in band order: the result does not depend on the number of threads.
    let sum_sq = |w: &[f64; 4]| w.iter().map(|v| v * v).sum::<f64>();
    const BAND_ROWS: usize = 16;
    let bands: Vec<(usize, Vec<f64>, Vec<f64>)> = (0..rows.div_ceil(BAND_ROWS))
        .into_par_iter()
        .map(|band| {
            let (r0, r1) = (band * BAND_ROWS, ((band + 1) * BAND_ROWS).min(rows));
            let ky0 = wy[r0].0;
            let ky1 = wy[r1 - 1].0 + 4;
            let mut delta = vec![0.0f64; (ky1 - ky0) * nx];
            let mut omega = vec![0.0f64; (ky1 - ky0) * nx];
            let mut row_delta = vec![0.0f64; nx];
            let mut row_omega = vec![0.0f64; nx];
            let start = indices.partition_point(|&p| p < r0 * cols);
            let end = indices.partition_point(|&p| p < r1 * cols);
            let mut at = start;
            while at < end {
                let r = indices[at] / cols;
                let run_end = at + indices[at..end].partition_point(|&p| p < (r + 1) * cols);
                let (ky, by) = wy[r];
                let sy = sum_sq(&by);
                row_delta.fill(0.0);
                row_omega.fill(0.0);
                for (&index, &value) in indices[at..run_end].iter().zip(&values[at..run_end]) {
                    let (kx, bx) = wx[index % cols];
                    let scale = f64::from(value) / (sy * sum_sq(&bx));
                    for (i, xi) in bx.iter().enumerate() {
                        let x2 = xi * xi;
                        row_omega[kx + i] += x2;
                        row_delta[kx + i] += scale * x2 * xi;
                    }
                }
                for (j, yj) in by.iter().enumerate() {
                    let (y2, y3) = (yj * yj, yj * yj * yj);
                    let row = (ky + j - ky0) * nx;
                    for x in 0..nx {
                        omega[row + x] += y2 * row_omega[x];
                        delta[row + x] += y3 * row_delta[x];
                    }
                }
                at = run_end;
            }
            (ky0, delta, omega)
        })
        .collect();
    let mut delta = vec![0.0f64; ny * nx];
    let mut omega = vec![0.0f64; ny * nx];
    for (ky0, d, o) in &bands {
        for (a, b) in delta[ky0 * nx..].iter_mut().zip(d) {
            *a += b;
        }
        for (a, b) in omega[ky0 * nx..].iter_mut().zip(o) {
            *a += b;
        }
    }
    // ITK leaves a control point at zero where its weight is almost zero (within 0.1 * the
    // f32 epsilon), which also keeps points no pixel reaches at zero.
    let phi = delta
        .iter()
        .zip(&omega)
        .map(|(&d, &o)| {
            if o.abs() <= 0.1 * f64::from(f32::EPSILON) {
                0.0
            } else {
                (d / o) as f32
            }
        })
        .collect();
    Lattice { ny, nx, phi }
}

impl Lattice {
    /// Adds `other` (same size) control point by control point, in `f32` as ITK's adder does.
    pub(crate) fn add(&mut self, other: &Lattice) {
        for (a, b) in self.phi.iter_mut().zip(&other.phi) {
            *a += *b;
        }
    }

    /// The same spline on a lattice with twice the spans along both axes (`2n - 3` points):
    /// midpoint subdivision of the uniform cubic B-spline, exact inside the domain, which is
    /// what `RefineControlPointLattice` computes with its solved coefficients.
    pub(crate) fn refine(&self) -> Lattice {
        let refine_axis = |src: &[f64]| -> Vec<f64> {
            let n = src.len();
            let m = 2 * n - 3;
            let mut out = vec![0.0; m];
            for (k, o) in out.iter_mut().enumerate() {
                let j = k / 2;
                *o = if k % 2 == 0 {
                    0.5 * (src[j] + src[j + 1])
                } else {
                    0.125 * src[j] + 0.75 * src[j + 1] + 0.125 * src[j + 2]
                };
            }
            out
        };
        let (ny, nx) = (self.ny, self.nx);
        let (my, mx) = (2 * ny - 3, 2 * nx - 3);
        // Rows first (each lattice row along x), then columns.
        let mut tmp = vec![0.0f64; ny * mx];
        for y in 0..ny {
            let src: Vec<f64> = self.phi[y * nx..(y + 1) * nx]
                .iter()
                .map(|&v| f64::from(v))
                .collect();
            tmp[y * mx..(y + 1) * mx].copy_from_slice(&refine_axis(&src));
        }
        let mut phi = vec![0.0f32; my * mx];
        for x in 0..mx {
            let src: Vec<f64> = (0..ny).map(|y| tmp[y * mx + x]).collect();
            for (y, v) in refine_axis(&src).into_iter().enumerate() {
                phi[y * mx + x] = v as f32;
            }
        }
        Lattice {
            ny: my,
            nx: mx,
            phi,
        }
    }

    /// The spline at every pixel of a `rows x cols` image, row-major, in `f32` as ITK's
    /// reconstruction (collapse along rows, then along columns).
    pub(crate) fn evaluate(&self, rows: usize, cols: usize) -> Vec<f32> {
        let wy = eval_weights(rows, self.ny - 3);
        let wx = eval_weights(cols, self.nx - 3);
        let mut out = vec![0.0f32; rows * cols];
        out.par_chunks_mut(cols.max(1))
            .zip(wy.par_iter())
            .for_each(|(out, &(ky, by))| {
                let mut collapsed = vec![0.0f32; self.nx];
                for (x, c) in collapsed.iter_mut().enumerate() {
                    let mut acc = 0.0f32;
                    for (j, b) in by.iter().enumerate() {
                        acc += self.phi[(ky + j) * self.nx + x] * b;
                    }
                    *c = acc;
                }
                for (o, &(kx, bx)) in out.iter_mut().zip(&wx) {
                    let mut acc = 0.0f32;
                    for (i, b) in bx.iter().enumerate() {
                        acc += collapsed[kx + i] * b;
                    }
                    *o = acc;
                }
            });
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_is_a_partition_of_unity() {
        for f in [0.0, 0.25, 0.5, 0.999] {
            let s: f64 = (0..4).map(|j| kernel3(f - j as f64 + 1.0)).sum();
            assert!((s - 1.0).abs() < 1e-12);
        }
    }

    #[test]
    fn fit_of_a_constant_is_symmetric_and_refinement_keeps_the_spline() {
        let (rows, cols) = (23, 31);
        let indices: Vec<usize> = (0..rows * cols).collect();
        let values = vec![2.5f32; rows * cols];
        let lattice = fit(rows, cols, &indices, &values, 4, 4);
        let field = lattice.evaluate(rows, cols);
        // One level of Lee-Wolberg-Shin approximation overshoots a constant (N4 iterates on
        // the residual); the field is symmetric like the data and within 30 % of it.
        for r in 0..rows {
            for c in 0..cols {
                let v = field[r * cols + c];
                assert!((2.5..3.25).contains(&v), "{v}");
                let mirror = field[(rows - 1 - r) * cols + (cols - 1 - c)];
                assert!((v - mirror).abs() < 1e-4, "{v} vs {mirror}");
            }
        }

        let mut varied = lattice.clone();
        for (k, p) in varied.phi.iter_mut().enumerate() {
            *p = (k as f32 * 0.37).sin();
        }
        let coarse = varied.evaluate(rows, cols);
        let fine = varied.refine();
        assert_eq!((fine.ny, fine.nx), (5, 5));
        let finer = fine.refine().evaluate(rows, cols);
        for (a, b) in coarse.iter().zip(&finer) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }
}
