//! One piece of the closed curve: the original fits `scipy.interpolate.splprep` (FITPACK
//! `parcur`, k = 3, default smoothing) to 4 consecutive knots and samples it between the 2nd
//! and 3rd with `npoints = int(|Δy| + |Δx|)`, falling back to a straight line when FITPACK
//! refuses the points (two consecutive knots equal).
//!
//! With 4 points and k = 3 FITPACK places no interior knots (t = 0,0,0,0,1,1,1,1) and the
//! least-squares cubic already has zero residual, so the fit is the cubic through the 4 knots
//! in the chord-length parameter u. To give the same pixels after rounding, the coefficients
//! are computed the way FITPACK does (Givens rotations of `fppara`, back substitution of
//! `fpback`, de Boor values of `fpbspl`), operation by operation; `tests/contour.rs` checks
//! the samples bit for bit against scipy.

/// The knots of the B-spline basis: no interior knots on [0, 1].
const T: [f64; 8] = [0.0, 0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 1.0];

/// The 4 non-zero cubic B-splines at `x` for the interval starting at `T[3]`: FITPACK's
/// `fpbspl` with l = 4, unrolled for the knots `T` (every knot difference it divides by is 1,
/// and `0 + v`, `v / 1`, `x - 0` are exact), so the operations that remain are fpbspl's own,
/// in its order: bit-identical results, without the loops (this is the tracer's hot spot).
fn basis(x: f64) -> [f64; 4] {
    let a = T[4] - x;
    // degree 1: [1 - x, x]
    let (h0, h1) = (a, x);
    // degree 2
    let (g0, g1, g2) = (h0 * a, h0 * x + h1 * a, h1 * x);
    // degree 3
    [g0 * a, g0 * x + g1 * a, g1 * x + g2 * a, g2 * x]
}

/// The loop form of [`basis`], kept to check the unrolled one.
#[cfg(test)]
fn basis_fpbspl(x: f64) -> [f64; 4] {
    let l = 3; // 0-based index of t(l)
    let mut h = [0.0f64; 4];
    let mut hh = [0.0f64; 3];
    h[0] = 1.0;
    for j in 1..=3usize {
        hh[..j].copy_from_slice(&h[..j]);
        h[0] = 0.0;
        for i in 1..=j {
            let li = l + i;
            let lj = li - j;
            if T[li] != T[lj] {
                let f = hh[i - 1] / (T[li] - T[lj]);
                h[i - 1] += f * (T[li] - x);
                h[i] = f * (x - T[lj]);
            } else {
                h[i] = 0.0;
            }
        }
    }
    h
}

/// FITPACK `fpgivs`: the rotation that zeroes `piv` against `ww`; returns (cos, sin, new ww).
fn givens(piv: f64, ww: f64) -> (f64, f64, f64) {
    let store = piv.abs();
    let dd = if store >= ww {
        let r = ww / piv;
        store * (1.0 + r * r).sqrt()
    } else {
        let r = piv / ww;
        ww * (1.0 + r * r).sqrt()
    };
    (ww / dd, piv / dd, dd)
}

/// FITPACK `fprota` on the pair (a, b).
fn rotate(cos: f64, sin: f64, a: &mut f64, b: &mut f64) {
    let (s1, s2) = (*a, *b);
    *b = cos * s2 + sin * s1;
    *a = cos * s1 - sin * s2;
}

/// The chord-length parameters of `parcur` (ipar = 0), or `None` where FITPACK stops with
/// ier = 10 (total length zero or two consecutive points equal).
fn chord_parameters(x: &[f64; 4], y: &[f64; 4]) -> Option<[f64; 4]> {
    let mut u = [0.0f64; 4];
    for i in 1..4 {
        let (dx, dy) = (x[i] - x[i - 1], y[i] - y[i - 1]);
        let dist = 0.0 + dx * dx + dy * dy;
        u[i] = u[i - 1] + dist.sqrt();
    }
    // The callers never pass non-finite knots, so NaN needs no case of its own.
    if u[3] <= 0.0 {
        return None;
    }
    for i in 1..4 {
        u[i] /= u[3];
    }
    u[3] = 1.0;
    if (1..4).any(|i| u[i - 1] >= u[i]) {
        return None;
    }
    Some(u)
}

/// The B-spline coefficients of x and y (`fppara`'s first pass + `fpback`).
fn coefficients(u: &[f64; 4], x: &[f64; 4], y: &[f64; 4]) -> [[f64; 4]; 2] {
    // a: upper triangular band matrix, a[j][0] the diagonal; z: rotated right-hand sides.
    let mut a = [[0.0f64; 4]; 4];
    let mut z = [[0.0f64; 4]; 2];
    for it in 0..4 {
        let mut xi = [x[it], y[it]];
        let mut h = basis(u[it]);
        for i in 0..4 {
            let j = i; // l - k1 = 0
            let piv = h[i];
            if piv == 0.0 {
                continue;
            }
            let (cos, sin, dd) = givens(piv, a[j][0]);
            a[j][0] = dd;
            for d in 0..2 {
                let (xd, zd) = (&mut xi[d], &mut z[d][j]);
                rotate(cos, sin, xd, zd);
            }
            if i == 3 {
                break;
            }
            for (i2, i1) in (i + 1..4).enumerate() {
                let (hv, av) = (&mut h[i1], &mut a[j][i2 + 1]);
                rotate(cos, sin, hv, av);
            }
        }
    }
    let mut c = [[0.0f64; 4]; 2];
    for d in 0..2 {
        c[d][3] = z[d][3] / a[3][0];
        let mut i = 2usize;
        for j in 2..=4usize {
            let mut store = z[d][i];
            let i1 = if j <= 3 { j - 1 } else { 3 };
            for (l, &al) in a[i].iter().enumerate().skip(1).take(i1) {
                store -= c[d][i + l] * al;
            }
            c[d][i] = store / a[i][0];
            if i == 0 {
                break;
            }
            i -= 1;
        }
    }
    c
}

/// `numpy.linspace(start, stop, num)` value by value (`i * step + start`, last = stop).
pub(crate) fn linspace(start: f64, stop: f64, num: usize) -> impl Iterator<Item = f64> {
    let step = if num > 1 {
        (stop - start) / (num - 1) as f64
    } else {
        0.0
    };
    (0..num).map(move |i| {
        if num > 1 && i == num - 1 {
            stop
        } else if step == 0.0 {
            // numpy divides then multiplies by delta (0 or -0) in this case: same value
            (i as f64 / (num.max(2) - 1) as f64) * (stop - start) + start
        } else {
            i as f64 * step + start
        }
    })
}

/// The number of samples of the piece between `k1` and `k2` (`int(|Δy| + |Δx|)`).
pub(crate) fn sample_count(k1: [f64; 2], k2: [f64; 2]) -> usize {
    let n = (k2[1] - k1[1]).abs() + (k2[0] - k1[0]).abs();
    // `as` truncates toward zero like Python's int() and saturates (NaN -> 0); callers
    // bound the coordinates so that the count stays reasonable.
    n as usize
}

/// Appends the samples of the piece of curve between `k[1]` and `k[2]` to `out`
/// (`SplineInterpROIClass.getSplinePart`).
pub(crate) fn spline_part(k: [[f64; 2]; 4], out: &mut Vec<[f64; 2]>) {
    let n = sample_count(k[1], k[2]);
    let x = [k[0][0], k[1][0], k[2][0], k[3][0]];
    let y = [k[0][1], k[1][1], k[2][1], k[3][1]];
    match chord_parameters(&x, &y) {
        Some(u) => {
            let c = coefficients(&u, &x, &y);
            out.extend(linspace(u[1], u[2], n).map(|arg| {
                let h = basis(arg);
                let mut p = [0.0f64; 2];
                for (d, value) in p.iter_mut().enumerate() {
                    let mut sp = 0.0;
                    for j in 0..4 {
                        sp += c[d][j] * h[j];
                    }
                    *value = sp;
                }
                p
            }));
        }
        None => {
            out.extend(
                linspace(k[1][0], k[2][0], n)
                    .zip(linspace(k[1][1], k[2][1], n))
                    .map(|(a, b)| [a, b]),
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unrolled_basis_is_bit_identical_to_fpbspl() {
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        let mut xs: Vec<f64> = vec![0.0, 1.0, 0.5, 1e-300, 1.0 - f64::EPSILON, 0.25, 0.75];
        for _ in 0..200_000 {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            xs.push((state >> 11) as f64 / (1u64 << 53) as f64);
        }
        for x in xs {
            let (a, b) = (basis(x), basis_fpbspl(x));
            assert_eq!(a.map(f64::to_bits), b.map(f64::to_bits), "{x}");
        }
    }

    fn part(k: [[f64; 2]; 4]) -> Vec<[f64; 2]> {
        let mut v = Vec::new();
        spline_part(k, &mut v);
        v
    }

    #[test]
    fn passes_through_the_middle_knots() {
        let k = [[0.0, 0.0], [10.0, 2.0], [20.0, 9.0], [25.0, 30.0]];
        let p = part(k);
        assert_eq!(p.len(), 17);
        let first = p[0];
        let last = p[p.len() - 1];
        assert!((first[0] - 10.0).abs() < 1e-9 && (first[1] - 2.0).abs() < 1e-9);
        assert!((last[0] - 20.0).abs() < 1e-9 && (last[1] - 9.0).abs() < 1e-9);
    }

    #[test]
    fn collinear_evenly_spaced_knots_give_a_straight_line() {
        let p = part([[0.0, 0.0], [3.0, 0.0], [6.0, 0.0], [9.0, 0.0]]);
        assert_eq!(p.len(), 3);
        for (i, q) in p.iter().enumerate() {
            assert!((q[0] - (3.0 + 1.5 * i as f64)).abs() < 1e-9, "{q:?}");
            assert!(q[1].abs() < 1e-9);
        }
    }

    #[test]
    fn repeated_knot_falls_back_to_a_line() {
        let p = part([[0.0, 0.0], [0.0, 0.0], [4.0, 0.0], [9.0, 1.0]]);
        assert_eq!(
            p,
            vec![[0.0, 0.0], [4.0 / 3.0, 0.0], [8.0 / 3.0, 0.0], [4.0, 0.0]]
        );
    }

    #[test]
    fn linspace_matches_numpy_rules() {
        assert_eq!(linspace(1.0, 2.0, 0).count(), 0);
        assert_eq!(linspace(1.0, 2.0, 1).collect::<Vec<_>>(), vec![1.0]);
        assert_eq!(
            linspace(0.0, 1.0, 3).collect::<Vec<_>>(),
            vec![0.0, 0.5, 1.0]
        );
        assert_eq!(
            linspace(2.0, 2.0, 3).collect::<Vec<_>>(),
            vec![2.0, 2.0, 2.0]
        );
    }
}
