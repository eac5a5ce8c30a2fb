//! The original's `split_mirror` (dafne_dl `common/preprocess_train.py`): finds the two legs
//! on the bias-corrected canvas so each can be cropped and the right one mirrored.
//!
//! A pixel is "dark" where it is not above scikit-image's `threshold_local(image, 15,
//! offset=10)` (Gaussian method, σ = 14/6, `reflect` edges); dark specks and holes under 4
//! pixels (4-connected) are removed (`area_opening`, then `area_closing`). The count of dark
//! pixels per column and per row then gives the crop box: a column scan for
//! blank–blob–blank–blob–blank (each blob over 20 columns; one blob is cut in the middle), a
//! row scan for the first blob over 50 rows (both thresholds scaled on other grids). Arithmetic follows the original (f32 image and
//! filter output, f64 kernel sums) so the box matches it.

use crate::MlError;

/// The crop box `[a1, a2, a3, a4, b1, b2]`: the image-left leg is columns `a1..a2`, the
/// image-right leg `a3..a4`, both rows `b1..b2` (half-open, as the original slices them).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SplitBox {
    pub a1: usize,
    pub a2: usize,
    pub a3: usize,
    pub a4: usize,
    pub b1: usize,
    pub b2: usize,
}

impl SplitBox {
    pub fn as_array(&self) -> [usize; 6] {
        [self.a1, self.a2, self.a3, self.a4, self.b1, self.b2]
    }
}

/// The grid the original's pixel thresholds were written for.
const ORIGINAL_PIXEL_MM: f64 = 1.037037;

/// `split_mirror` on a `rows × cols` image of `pixel_mm` pixels (the original always passes its
/// 432 × 432 canvas at 1.037037 mm). Its thresholds, 20 columns between legs and 50 rows of
/// body, are scaled to `pixel_mm` so they keep meaning ~21 mm and ~52 mm (unchanged at
/// 1.037037 mm).
///
/// Errors: the row scan finds no blob taller than the row threshold (the original also fails
/// when the blob reaches the last row; here it ends there).
pub fn split_mirror(
    image: &[f32],
    rows: usize,
    cols: usize,
    pixel_mm: f64,
) -> Result<SplitBox, MlError> {
    if image.len() != rows * cols || rows == 0 || cols == 0 {
        return Err(MlError::Input {
            why: format!(
                "split_mirror needs a {rows} × {cols} image, got {} values",
                image.len()
            ),
        });
    }
    let dark = split_mask(image, rows, cols);
    let col_counts: Vec<usize> = (0..cols)
        .map(|c| (0..rows).filter(|&r| dark[r * cols + c]).count())
        .collect();
    let row_counts: Vec<usize> = dark
        .chunks(cols)
        .map(|row| row.iter().filter(|&&d| d).count())
        .collect();
    let scale = if pixel_mm.is_finite() && pixel_mm > 0.0 {
        ORIGINAL_PIXEL_MM / pixel_mm
    } else {
        1.0
    };
    let min_gap = (20.0 * scale).round();
    let min_rows = (50.0 * scale).round() as usize;
    let [a1, a2, a3, a4] = column_scan(&above_floor(&col_counts), min_gap);
    let (b1, b2) = row_scan(&above_floor(&row_counts), min_rows).ok_or_else(|| MlError::Input {
        why: format!(
            "cannot split the slice into left and right: no body over {min_rows} rows tall \
             found (split_mirror)"
        ),
    })?;
    Ok(SplitBox {
        a1: a1 as usize,
        a2: a2 as usize,
        a3: a3 as usize,
        a4: a4 as usize,
        b1,
        b2,
    })
}

/// `counts` less the background's: the median count of the 8 outermost entries at each end.
/// The original takes any dark pixel as body, which holds on its clean scans (their floor is
/// 0 and nothing changes); where noise leaves dark specks in every row and column of the
/// background, the body is what stands out of that floor (see below).
fn above_floor(counts: &[usize]) -> Vec<usize> {
    let edge = 8.min(counts.len() / 2);
    let mut border: Vec<usize> = counts[..edge]
        .iter()
        .chain(&counts[counts.len() - edge..])
        .copied()
        .collect();
    border.sort_unstable();
    let floor = border.get(border.len() / 2).copied().unwrap_or(0);
    if floor == 0 {
        return counts.to_vec();
    }
    // Noise counts scatter around the floor: averaged over 5 neighbours, and above a third
    // of the fullest row or column, only the body remains.
    let smooth: Vec<usize> = (0..counts.len())
        .map(|i| {
            let window = &counts[i.saturating_sub(2)..(i + 3).min(counts.len())];
            window.iter().sum::<usize>() / window.len()
        })
        .collect();
    let peak = smooth.iter().copied().max().unwrap_or(0);
    let threshold = (2 * floor).max(peak / 3);
    smooth
        .iter()
        .map(|&c| if c > threshold { c } else { 0 })
        .collect()
}

/// The cleaned dark-pixel mask `split_mirror` profiles (exposed for the parity tests against
/// scikit-image): `area_closing(area_opening(~(image > threshold_local(image, 15,
/// offset=10)), 4), 4)`.
pub fn split_mask(image: &[f32], rows: usize, cols: usize) -> Vec<bool> {
    let mut dark = dark_mask(image, rows, cols);
    remove_small_components(&mut dark, rows, cols, true, 4);
    remove_small_components(&mut dark, rows, cols, false, 4);
    dark
}

/// The original's column state machine, values as it computes them (f64 after `np.ceil`).
fn column_scan(counts: &[usize], min_gap: f64) -> [f64; 4] {
    let n = counts.len();
    let (mut s, mut ii) = (0, 0usize);
    let (mut a1, mut a2, mut a3, mut a4) = (0f64, 0f64, 0f64, 0f64);
    while s != 4 && ii < n {
        let here = counts[ii] > 0;
        let i = ii as f64;
        if here && s == 0 {
            s = 1;
            a1 = i;
        }
        if !here && s == 1 && i - a1 > min_gap {
            s = 2;
            a2 = i;
        }
        if here && s == 2 {
            s = 3;
            a3 = i;
        }
        if !here && s == 3 && i - a3 > min_gap {
            s = 4;
            a4 = i;
        } else if !here && s == 3 && i - a3 < min_gap {
            s = 2;
        }
        ii += 1;
        // One patch (legs touching): split in the middle.
        if ii == n && s == 2 {
            s = 4;
            a4 = a2;
            a2 = ((a4 - a1) / 2.0).ceil() + a1;
            a3 = a2;
        }
        if ii == n && s == 3 {
            s = 4;
            a4 = (n - 1) as f64;
        }
        if ii == n && s == 1 {
            s = 4;
            a4 = (n - 1) as f64;
            a2 = ((a4 - a1) / 2.0).ceil() + a1;
            a3 = a2;
        }
    }
    [a1, a2, a3, a4]
}

fn row_scan(counts: &[usize], min_rows: usize) -> Option<(usize, usize)> {
    let (mut p, mut b1) = (0, 0usize);
    for (jj, &count) in counts.iter().enumerate() {
        if count > 0 && p == 0 {
            p = 1;
            b1 = jj;
        }
        if count == 0 && p == 1 && jj - b1 > min_rows {
            return Some((b1, jj));
        }
    }
    // A body that runs to the last row (noise in every row, or a tight field of view): the
    // original fails there; end at the last row as the column scan does at the last column.
    let last = counts.len().saturating_sub(1);
    (p == 1 && last.saturating_sub(b1) > min_rows).then_some((b1, last))
}

/// `~(image > threshold_local(image, 15, offset=10))`.
fn dark_mask(image: &[f32], rows: usize, cols: usize) -> Vec<bool> {
    let weights = gaussian_weights(14.0 / 6.0, 4.0);
    let mut smooth = image.to_vec();
    // Axis 0 then axis 1, each pass stored as f32 (scipy writes into the f32 output array).
    let mut line = vec![0f64; rows];
    let mut out = vec![0f64; rows.max(cols)];
    for c in 0..cols {
        for r in 0..rows {
            line[r] = f64::from(smooth[r * cols + c]);
        }
        correlate_reflect(&line, &weights, &mut out[..rows]);
        for r in 0..rows {
            smooth[r * cols + c] = out[r] as f32;
        }
    }
    let mut line = vec![0f64; cols];
    for r in 0..rows {
        for c in 0..cols {
            line[c] = f64::from(smooth[r * cols + c]);
        }
        correlate_reflect(&line, &weights, &mut out[..cols]);
        for c in 0..cols {
            smooth[r * cols + c] = out[c] as f32;
        }
    }
    image
        .iter()
        .zip(&smooth)
        // Not `<=`: a NaN threshold counts as dark, as `~(image > t)` does.
        .map(|(&v, &t)| v.partial_cmp(&(t - 10.0)) != Some(std::cmp::Ordering::Greater))
        .collect()
}

/// scipy's `_gaussian_kernel1d` (order 0), normalised with numpy's pairwise sum.
fn gaussian_weights(sigma: f64, truncate: f64) -> Vec<f64> {
    let radius = (truncate * sigma + 0.5) as i64;
    let sigma2 = sigma * sigma;
    let phi: Vec<f64> = (-radius..=radius)
        .map(|x| (-0.5 / sigma2 * (x * x) as f64).exp())
        .collect();
    let sum = numpy_sum(&phi);
    phi.iter().map(|p| p / sum).collect()
}

/// numpy's pairwise summation for arrays under 128 elements (8 interleaved accumulators).
fn numpy_sum(a: &[f64]) -> f64 {
    if a.len() < 8 {
        return a.iter().fold(0.0, |s, v| s + v);
    }
    let mut r = [0f64; 8];
    r.copy_from_slice(&a[..8]);
    let mut i = 8;
    while i + 8 <= a.len() {
        for j in 0..8 {
            r[j] += a[i + j];
        }
        i += 8;
    }
    let mut res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for v in &a[i..] {
        res += v;
    }
    res
}

/// scipy's `correlate1d` with a symmetric kernel and `mode='reflect'` (d c b a | a b c d).
fn correlate_reflect(line: &[f64], weights: &[f64], out: &mut [f64]) {
    let n = line.len() as i64;
    let half = weights.len() / 2;
    let at = |i: i64| -> f64 {
        let mut i = i;
        // Half-sample symmetric extension, repeated for kernels wider than the line.
        loop {
            if i < 0 {
                i = -i - 1;
            } else if i >= n {
                i = 2 * n - 1 - i;
            } else {
                return line[i as usize];
            }
        }
    };
    for (i, o) in out.iter_mut().enumerate() {
        let i = i as i64;
        let mut t = line[i as usize] * weights[half];
        for k in (1..=half).rev() {
            t += (at(i - k as i64) + at(i + k as i64)) * weights[half - k];
        }
        *o = t;
    }
}

/// skimage's `area_opening` (`bright` = true) or `area_closing` (false) of a binary image with
/// 4-connectivity: components of that value smaller than `min_area` pixels take the other value.
fn remove_small_components(
    mask: &mut [bool],
    rows: usize,
    cols: usize,
    bright: bool,
    min_area: usize,
) {
    let mut seen = vec![false; mask.len()];
    let mut stack = Vec::new();
    let mut component = Vec::new();
    for start in 0..mask.len() {
        if seen[start] || mask[start] != bright {
            continue;
        }
        seen[start] = true;
        stack.push(start);
        component.clear();
        while let Some(p) = stack.pop() {
            component.push(p);
            let (r, c) = (p / cols, p % cols);
            let mut visit = |q: usize| {
                if !seen[q] && mask[q] == bright {
                    seen[q] = true;
                    stack.push(q);
                }
            };
            if r > 0 {
                visit(p - cols);
            }
            if r + 1 < rows {
                visit(p + cols);
            }
            if c > 0 {
                visit(p - 1);
            }
            if c + 1 < cols {
                visit(p + 1);
            }
        }
        if component.len() < min_area {
            for &p in &component {
                mask[p] = !bright;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn column_scan_cases() {
        let mut c = vec![0usize; 432];
        // Two blobs.
        c[40..150].fill(3);
        c[200..330].fill(3);
        assert_eq!(column_scan(&c, 20.0), [40.0, 150.0, 200.0, 330.0]);
        // One blob: split in the middle.
        let mut one = vec![0usize; 432];
        one[100..301].fill(1);
        assert_eq!(column_scan(&one, 20.0), [100.0, 201.0, 201.0, 301.0]);
        // A blob reaching the right edge.
        let mut edge = vec![0usize; 432];
        edge[100..432].fill(1);
        assert_eq!(column_scan(&edge, 20.0), [100.0, 266.0, 266.0, 431.0]);
    }

    #[test]
    fn small_specks_and_holes_go() {
        let (rows, cols) = (6, 6);
        let mut m = vec![false; 36];
        m[7] = true; // a lone speck
        for p in [20, 21, 22, 26, 27, 28, 32, 33, 34] {
            m[p] = true;
        }
        remove_small_components(&mut m, rows, cols, true, 4);
        assert!(!m[7]);
        assert!(m[27]);
    }

    #[test]
    fn blank_image_is_refused() {
        assert!(split_mirror(&[0.0; 64 * 64], 64, 64, ORIGINAL_PIXEL_MM).is_err());
    }

    #[test]
    fn a_noisy_background_does_not_hide_the_legs() {
        // Two legs (columns 30..90 and 120..180) over a background with 3-8 dark specks in
        // every column, as a noisy scan gives.
        let counts: Vec<usize> = (0..216)
            .map(|c| {
                let noise = 3 + (c * 7) % 6;
                if (30..90).contains(&c) || (120..180).contains(&c) {
                    40 + noise
                } else {
                    noise
                }
            })
            .collect();
        assert_eq!(
            column_scan(&counts, 10.0)[0],
            0.0,
            "as raw counts: all body"
        );
        let [a1, a2, a3, a4] = column_scan(&above_floor(&counts), 10.0);
        assert!(
            (28.0..=31.0).contains(&a1) && (89.0..=92.0).contains(&a2),
            "{a1} {a2}"
        );
        assert!(
            (118.0..=121.0).contains(&a3) && (179.0..=182.0).contains(&a4),
            "{a3} {a4}"
        );
        // A clean background (floor 0) is left exactly as the original sees it.
        let clean: Vec<usize> = counts.iter().map(|&c| if c > 20 { c } else { 0 }).collect();
        assert_eq!(above_floor(&clean), clean);
    }
}
