//! Resampling as the original's apply function does it: `scipy.ndimage.zoom` (cubic B-spline
//! with scipy's prefilter for images, nearest for labels) and `padorcut` (centred pad with
//! zeros or centred crop).
//!
//! scipy's `zoom` (default `grid_mode=False`) maps output index `k` to input coordinate
//! `k · (n_in − 1) / (n_out − 1)`, so every sample lies inside the input; its default
//! `mode='constant'` then behaves as `'mirror'` (the prefilter's boundary and the taps beyond
//! the edge), which the tests check against scipy itself.

/// Output length of `scipy.ndimage.zoom` for an axis of `len` samples and a zoom factor:
/// `round(len · factor)` with Python's round-half-to-even.
pub fn zoomed_len(len: usize, factor: f64) -> usize {
    let x = len as f64 * factor;
    let r = x.round();
    // Python rounds exact halves to even; f64::round rounds them away from zero.
    let r = if (x - x.trunc()).abs() == 0.5 && r % 2.0 != 0.0 {
        r - x.signum()
    } else {
        r
    };
    r.max(0.0) as usize
}

/// `scipy.ndimage.zoom(values, zoom, order)` for a `rows × cols` row-major image resampled to
/// `out_rows × out_cols` (`order` 0 = nearest, anything else = cubic B-spline, scipy's
/// order 3). Computed in f64 as scipy does; an empty input or output gives an empty result
/// (zeros when only the input is empty).
pub fn zoom(
    values: &[f32],
    rows: usize,
    cols: usize,
    out_rows: usize,
    out_cols: usize,
    order: u8,
) -> Vec<f32> {
    let wide: Vec<f64> = values.iter().map(|&v| f64::from(v)).collect();
    zoom_f64(&wide, rows, cols, out_rows, out_cols, order)
        .into_iter()
        .map(|v| v as f32)
        .collect()
}

/// [`zoom`] on f64 values (the original zooms its float64 slice), f64 out.
pub fn zoom_f64(
    values: &[f64],
    rows: usize,
    cols: usize,
    out_rows: usize,
    out_cols: usize,
    order: u8,
) -> Vec<f64> {
    if rows == 0 || cols == 0 || values.len() != rows * cols {
        return vec![0.0; out_rows * out_cols];
    }
    let row_map = axis_map(rows, out_rows);
    let col_map = axis_map(cols, out_cols);
    let mut out = Vec::with_capacity(out_rows * out_cols);
    if order == 0 {
        let ri: Vec<usize> = row_map.iter().map(|&c| nearest(c, rows)).collect();
        let ci: Vec<usize> = col_map.iter().map(|&c| nearest(c, cols)).collect();
        for &r in &ri {
            for &c in &ci {
                out.push(values[r * cols + c]);
            }
        }
        return out;
    }
    let coeffs = spline_filter(values, rows, cols);
    let rw: Vec<Taps> = row_map.iter().map(|&c| taps(c, rows)).collect();
    let cw: Vec<Taps> = col_map.iter().map(|&c| taps(c, cols)).collect();
    for r in &rw {
        for c in &cw {
            // Tensor-product sum in scipy's tap order (rows outer, columns inner).
            let mut t = 0.0;
            for i in 0..4 {
                let line = &coeffs[r.index[i] * cols..];
                for j in 0..4 {
                    t += line[c.index[j]] * r.weight[i] * c.weight[j];
                }
            }
            out.push(t);
        }
    }
    out
}

/// Input coordinate of each output sample (scipy's `grid_mode=False`).
fn axis_map(len: usize, out_len: usize) -> Vec<f64> {
    let step = if out_len > 1 {
        (len as f64 - 1.0) / (out_len as f64 - 1.0)
    } else {
        1.0
    };
    (0..out_len).map(|k| k as f64 * step).collect()
}

fn nearest(coord: f64, len: usize) -> usize {
    mirror((coord + 0.5).floor() as i64, len)
}

/// scipy's `'mirror'` extension (d c b | a b c d | c b a) of an index.
fn mirror(i: i64, len: usize) -> usize {
    let n = len as i64;
    if n <= 1 {
        return 0;
    }
    let period = 2 * n - 2;
    let mut i = i.rem_euclid(period);
    if i >= n {
        i = period - i;
    }
    i as usize
}

struct Taps {
    index: [usize; 4],
    weight: [f64; 4],
}

/// The four cubic B-spline taps around `coord` (scipy's `get_spline_interpolation_weights`).
fn taps(coord: f64, len: usize) -> Taps {
    let start = coord.floor() as i64 - 1;
    let x = coord - coord.floor();
    let z = 1.0 - x;
    let weight = [
        z * z * z / 6.0,
        (x * x * (x - 2.0) * 3.0 + 4.0) / 6.0,
        (z * z * (z - 2.0) * 3.0 + 4.0) / 6.0,
        x * x * x / 6.0,
    ];
    let index = [0, 1, 2, 3].map(|k| mirror(start + k, len));
    Taps { index, weight }
}

/// scipy's cubic `spline_filter` (pole √3 − 2, mirror boundary), axis 0 then axis 1.
fn spline_filter(values: &[f64], rows: usize, cols: usize) -> Vec<f64> {
    let mut c = values.to_vec();
    let mut line = vec![0.0; rows];
    for col in 0..cols {
        for r in 0..rows {
            line[r] = c[r * cols + col];
        }
        filter_line(&mut line);
        for r in 0..rows {
            c[r * cols + col] = line[r];
        }
    }
    for row in c.chunks_mut(cols) {
        filter_line(row);
    }
    c
}

fn filter_line(c: &mut [f64]) {
    let n = c.len();
    if n < 2 {
        return;
    }
    let z = 3f64.sqrt() - 2.0;
    let gain = (1.0 - z) * (1.0 - 1.0 / z);
    for v in c.iter_mut() {
        *v *= gain;
    }
    // Causal initialisation for a mirrored signal.
    let z_n_1 = z.powi(n as i32 - 1);
    let mut z_i = z;
    c[0] += z_n_1 * c[n - 1];
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

/// The original's `padorcut` on a `rows × cols` image: each axis is padded with
/// `T::default()` (floor of half the difference before, the rest after) or cropped the same
/// way, to `out_rows × out_cols`.
pub fn pad_or_cut<T: Copy + Default>(
    values: &[T],
    rows: usize,
    cols: usize,
    out_rows: usize,
    out_cols: usize,
) -> Vec<T> {
    let (r_in, r_out, r_len) = centred(rows, out_rows);
    let (c_in, c_out, c_len) = centred(cols, out_cols);
    let mut out = vec![T::default(); out_rows * out_cols];
    if values.len() != rows * cols {
        return out;
    }
    for r in 0..r_len {
        let src = &values[(r_in + r) * cols + c_in..][..c_len];
        out[(r_out + r) * out_cols + c_out..][..c_len].copy_from_slice(src);
    }
    out
}

/// For one axis: first kept input index, where it lands in the output, and how many are kept.
pub(crate) fn centred(len: usize, out_len: usize) -> (usize, usize, usize) {
    if len < out_len {
        (0, (out_len - len) / 2, len)
    } else {
        ((len - out_len) / 2, 0, out_len)
    }
}

/// Columns (or rows) reversed: the original's `img[::1, ::-1]`.
pub fn flip_columns<T: Copy>(values: &[T], cols: usize) -> Vec<T> {
    let mut out = values.to_vec();
    if cols > 0 {
        for row in out.chunks_mut(cols) {
            row.reverse();
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zoomed_len_rounds_half_to_even() {
        assert_eq!(zoomed_len(5, 0.5), 2);
        assert_eq!(zoomed_len(7, 0.5), 4);
        assert_eq!(zoomed_len(432, 1.0 / 1.037037), 417);
        assert_eq!(zoomed_len(0, 2.0), 0);
    }

    #[test]
    fn pad_or_cut_is_centred_floor_before() {
        let v: Vec<u8> = (1..=6).collect(); // 2 × 3
                                            // A difference of 1 pads after (floor(1/2) = 0 before).
        assert_eq!(
            pad_or_cut(&v, 2, 3, 3, 4),
            vec![1, 2, 3, 0, 4, 5, 6, 0, 0, 0, 0, 0]
        );
        assert_eq!(
            pad_or_cut(&v, 2, 3, 4, 5),
            vec![0, 0, 0, 0, 0, 0, 1, 2, 3, 0, 0, 4, 5, 6, 0, 0, 0, 0, 0, 0]
        );
        assert_eq!(pad_or_cut(&v, 2, 3, 1, 1), vec![2]);
        assert_eq!(pad_or_cut(&v, 2, 3, 2, 3), v);
        assert_eq!(pad_or_cut(&v, 2, 3, 0, 0), Vec::<u8>::new());
    }

    #[test]
    fn identity_zoom_reproduces_the_image() {
        let v: Vec<f32> = (0..35).map(|i| ((i * 37) % 11) as f32).collect();
        let z = zoom(&v, 5, 7, 5, 7, 3);
        for (a, b) in v.iter().zip(&z) {
            assert!((a - b).abs() < 1e-4, "{a} {b}");
        }
        assert_eq!(zoom(&v, 5, 7, 5, 7, 0), v);
    }
}
