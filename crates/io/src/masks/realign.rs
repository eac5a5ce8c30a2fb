//! Bringing a mask volume written on another grid onto the dataset's voxels, as the original's
//! `realign_medical_volume(mask, dataset, interpolation_order=0)` does: for each dataset voxel
//! (i, j, k), the mask voxel at `inv(mask_affine) @ dataset_affine @ [i, j, k, 1]`, nearest
//! neighbour as `scipy.ndimage.map_coordinates(order=0, mode="constant")` picks it
//! (`floor(c + 0.5)`, so halves round up; a coordinate outside `[0, len - 1]` gives 0).
//!
//! One deliberate difference: a coordinate within [`EDGE_TOLERANCE_VOXELS`] outside the first or
//! last voxel still takes that voxel. NIfTI stores affines as float32, so a mask written on the
//! dataset's own grid with its axes in another order (the original writes (rows, cols, slices))
//! lands 1e-5 voxel past the edge, and scipy would drop its whole last row or column.

use dafne_core::Affine;

/// How far (in voxels) outside the mask's first or last voxel a sample still takes that voxel.
pub const EDGE_TOLERANCE_VOXELS: f64 = 1e-3;

/// `np.isclose(a, b, rtol=1e-3)` on every element (atol 1e-8, relative to `b`), as the original
/// decides whether a mask is already on the dataset's grid.
pub fn affines_close(a: &Affine, b: &Affine) -> bool {
    a.iter()
        .flatten()
        .zip(b.iter().flatten())
        .all(|(x, y)| (x - y).abs() <= 1e-8 + 1e-3 * y.abs())
}

/// Whether a mask of `src_dims` with `src_affine` must be resampled to fit a dataset of
/// `dst_dims` with `dst_affine` (the original's test: affines not close, or shapes differ).
pub fn needs_realign(
    src_dims: [usize; 3],
    src_affine: &Affine,
    dst_dims: [usize; 3],
    dst_affine: &Affine,
) -> bool {
    src_dims != dst_dims || !affines_close(dst_affine, src_affine)
}

/// `src` (dims `src_dims`, axis 0 fastest, voxel -> world `src_affine`) sampled at every voxel of
/// the grid `dst_dims` / `dst_affine` (same world frame), nearest neighbour, 0 outside.
/// `None` when `src_affine` cannot be inverted.
pub fn realign_nearest<T: Copy + Default + Send + Sync>(
    src: &[T],
    src_dims: [usize; 3],
    src_affine: &Affine,
    dst_dims: [usize; 3],
    dst_affine: &Affine,
) -> Option<Vec<T>> {
    let inverse = invert_affine(src_affine)?;
    let t = dafne_core::matmul(&inverse, dst_affine);
    let [w, h, d] = dst_dims;
    let mut out = vec![T::default(); w * h * d];
    if src.len() != src_dims.iter().product::<usize>() || out.is_empty() {
        return Some(out);
    }
    let upper = src_dims.map(|n| n as f64 - 1.0 + EDGE_TOLERANCE_VOXELS);
    let index = |c: f64, axis: usize| -> Option<usize> {
        if c >= -EDGE_TOLERANCE_VOXELS && c <= upper[axis] {
            Some(((c + 0.5).floor().max(0.0) as usize).min(src_dims[axis] - 1))
        } else {
            None
        }
    };
    use rayon::prelude::*;
    out.par_chunks_mut(w * h)
        .enumerate()
        .for_each(|(k, plane)| {
            for (j, line) in plane.chunks_exact_mut(w).enumerate() {
                let (j, k) = (j as f64, k as f64);
                let base: [f64; 3] = std::array::from_fn(|r| t[r][1] * j + t[r][2] * k + t[r][3]);
                for (i, value) in line.iter_mut().enumerate() {
                    let i = i as f64;
                    let c: [f64; 3] = std::array::from_fn(|r| t[r][0] * i + base[r]);
                    if let (Some(a), Some(b), Some(z)) =
                        (index(c[0], 0), index(c[1], 1), index(c[2], 2))
                    {
                        *value = src[a + src_dims[0] * (b + src_dims[1] * z)];
                    }
                }
            }
        });
    Some(out)
}

/// The inverse of an affine (linear part by cofactors); `None` when singular.
fn invert_affine(a: &Affine) -> Option<Affine> {
    let m = |r: usize, c: usize| a[r][c];
    let cof =
        |r0: usize, r1: usize, c0: usize, c1: usize| m(r0, c0) * m(r1, c1) - m(r0, c1) * m(r1, c0);
    let adj = [
        [cof(1, 2, 1, 2), -cof(0, 2, 1, 2), cof(0, 1, 1, 2)],
        [-cof(1, 2, 0, 2), cof(0, 2, 0, 2), -cof(0, 1, 0, 2)],
        [cof(1, 2, 0, 1), -cof(0, 2, 0, 1), cof(0, 1, 0, 1)],
    ];
    let det = m(0, 0) * adj[0][0] + m(0, 1) * adj[1][0] + m(0, 2) * adj[2][0];
    let scale = (0..3)
        .flat_map(|r| (0..3).map(move |c| m(r, c).abs()))
        .fold(0.0, f64::max);
    if !det.is_finite() || det.abs() <= 1e-12 * scale.powi(3) || scale == 0.0 {
        return None;
    }
    let mut inv = identity();
    for r in 0..3 {
        for c in 0..3 {
            inv[r][c] = adj[r][c] / det;
        }
        inv[r][3] = -(0..3).map(|c| inv[r][c] * a[c][3]).sum::<f64>();
    }
    Some(inv)
}

fn identity() -> Affine {
    std::array::from_fn(|r| std::array::from_fn(|c| if r == c { 1.0 } else { 0.0 }))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn inverse_times_affine_is_identity() {
        let a: Affine = [
            [0.0, -0.3125, 0.1, 83.9],
            [-0.3125, 0.0, 0.0, 91.2],
            [0.02, 0.0, 2.0, 6.64],
            [0.0, 0.0, 0.0, 1.0],
        ];
        let p = dafne_core::matmul(&invert_affine(&a).unwrap(), &a);
        for (r, row) in p.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                assert!((v - if r == c { 1.0 } else { 0.0 }).abs() < 1e-12);
            }
        }
        let mut singular = a;
        singular[2] = [0.0; 4];
        assert!(invert_affine(&singular).is_none());
    }

    #[test]
    fn halves_round_up_and_outside_is_zero() {
        // Destination voxel i samples source coordinate i / 2 - 0.5 (a 2x finer grid, shifted).
        let src: Vec<u8> = vec![1, 2, 3];
        let mut dst = identity();
        dst[0][0] = 0.5;
        dst[0][3] = -0.5;
        let out = realign_nearest(&src, [3, 1, 1], &identity(), [7, 1, 1], &dst).unwrap();
        // -0.5 outside, 0 -> 1, 0.5 -> 2, 1 -> 2, 1.5 -> 3, 2 -> 3, 2.5 outside.
        assert_eq!(out, vec![0, 1, 2, 2, 3, 3, 0]);
    }
}
