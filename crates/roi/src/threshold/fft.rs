//! A radix-2 complex FFT for N4's histogram sharpening: a few hundred points, a handful of calls
//! per iteration, so a plain iterative Cooley-Tukey is enough and keeps the crate dependency-free.
//!
//! Both directions are unnormalised, as vnl's `fwd_transform`/`bwd_transform` that ITK calls:
//! `inverse(forward(x)) == n * x`.

/// A complex number as `(re, im)`.
pub(crate) type Complex = (f64, f64);

/// In-place transform of `data` (length a power of two); `inverse` flips the exponent's sign.
pub(crate) fn transform(data: &mut [Complex], inverse: bool) {
    let n = data.len();
    if n < 2 {
        return;
    }
    debug_assert!(n.is_power_of_two());
    // Bit-reversal permutation.
    let mut j = 0usize;
    for i in 1..n {
        let mut bit = n >> 1;
        while j & bit != 0 {
            j ^= bit;
            bit >>= 1;
        }
        j |= bit;
        if i < j {
            data.swap(i, j);
        }
    }
    let sign = if inverse { 1.0 } else { -1.0 };
    let mut len = 2;
    while len <= n {
        let angle = sign * 2.0 * std::f64::consts::PI / len as f64;
        let half = len / 2;
        for start in (0..n).step_by(len) {
            for k in 0..half {
                // Twiddles from the angle directly (not by repeated multiplication) keep the
                // rounding error at one ulp whatever the length.
                let (s, c) = (angle * k as f64).sin_cos();
                let (ar, ai) = data[start + k];
                let (br, bi) = data[start + k + half];
                let (tr, ti) = (br * c - bi * s, br * s + bi * c);
                data[start + k] = (ar + tr, ai + ti);
                data[start + k + half] = (ar - tr, ai - ti);
            }
        }
        len <<= 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_direct_sum_and_inverts() {
        let n = 16;
        let x: Vec<Complex> = (0..n)
            .map(|i| ((i as f64 * 0.7).sin(), (i as f64 * 0.3).cos()))
            .collect();
        let mut y = x.clone();
        transform(&mut y, false);
        for (k, yk) in y.iter().enumerate() {
            let (mut re, mut im) = (0.0, 0.0);
            for (i, xi) in x.iter().enumerate() {
                let a = -2.0 * std::f64::consts::PI * (i * k) as f64 / n as f64;
                re += xi.0 * a.cos() - xi.1 * a.sin();
                im += xi.0 * a.sin() + xi.1 * a.cos();
            }
            assert!((yk.0 - re).abs() < 1e-12 && (yk.1 - im).abs() < 1e-12);
        }
        transform(&mut y, true);
        for (a, b) in x.iter().zip(&y) {
            assert!((a.0 * n as f64 - b.0).abs() < 1e-12 && (a.1 * n as f64 - b.1).abs() < 1e-12);
        }
    }
}
