//! The apply pipeline's building blocks against the Python libraries the original used,
//! called at test time: `scipy.ndimage.zoom` (cubic and nearest) and scikit-image's
//! `threshold_local` + `area_opening`/`area_closing` (the mask `split_mirror` profiles).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use common::{model_dir, python, read_npz};
use dafne_ml::apply::resample::zoom_f64;
use dafne_ml::apply::{pad_or_cut, split_mask, zoom, zoomed_len};

/// Deterministic pseudo-random values in 0..1000 (f32-exact, so Python sees the same input).
fn noise(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed
        .wrapping_mul(6364136223846793005)
        .wrapping_add(1442695040888963407);
    (0..n)
        .map(|_| {
            s = s
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((s >> 40) % 100_000) as f32 / 100.0
        })
        .collect()
}

fn write_f32(path: &Path, v: &[f32]) {
    let bytes: Vec<u8> = v.iter().flat_map(|x| x.to_le_bytes()).collect();
    std::fs::write(path, bytes).unwrap();
}

fn read_f64(path: &Path) -> Vec<f64> {
    std::fs::read(path)
        .unwrap()
        .chunks(8)
        .map(|c| f64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

fn run_python(script: &str, args: &[&Path]) {
    let out = Command::new(python())
        .args(["-W", "ignore", "-c", script])
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python().display()));
    assert!(
        out.status.success(),
        "python failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// scipy.ndimage.zoom with default arguments (the original's call), order 3 and order 0; one
/// Python process for every case.
#[test]
fn zoom_matches_scipy() {
    let cases: &[(usize, usize, f64, f64)] = &[
        (37, 41, 0.9642, 0.9642),
        (20, 30, 1.3, 0.77),
        (256, 256, 1.0 / 1.037037, 1.0 / 1.037037),
        (256, 200, 1.037037 / 1.0, 0.5),
        (1, 7, 2.0, 1.5),
        (9, 9, 1.0, 1.0),
    ];
    let tmp = tempfile::tempdir().unwrap();
    let script = r#"
import sys, os, numpy as np
from scipy.ndimage import zoom
d = sys.argv[1]
for line in open(os.path.join(d, 'cases')):
    name, r, c, fr, fc, order = line.split()
    a = np.fromfile(os.path.join(d, name), dtype=np.float32).reshape(int(r), int(c)).astype(np.float64)
    z = zoom(a, (float(fr), float(fc))) if order == '3' else zoom(a, (float(fr), float(fc)), order=0)
    np.array(z.shape, np.float64).tofile(os.path.join(d, name + '.shape'))
    z.astype(np.float64).tofile(os.path.join(d, name + '.out'))
"#;
    let mut list = String::new();
    let mut inputs = Vec::new();
    for (k, &(rows, cols, fr, fc)) in cases.iter().enumerate() {
        for order in [3u8, 0] {
            let mut input = noise(rows * cols, k as u64 + 1);
            if order == 0 {
                input.iter_mut().for_each(|v| *v = (*v / 100.0).floor());
            }
            let name = format!("case{k}_{order}");
            write_f32(&tmp.path().join(&name), &input);
            list.push_str(&format!("{name} {rows} {cols} {fr:.17} {fc:.17} {order}\n"));
            inputs.push((name, k, rows, cols, fr, fc, order, input));
        }
    }
    std::fs::write(tmp.path().join("cases"), list).unwrap();
    run_python(script, &[tmp.path()]);
    for (name, k, rows, cols, fr, fc, order, input) in inputs {
        let shape = read_f64(&tmp.path().join(format!("{name}.shape")));
        let (out_rows, out_cols) = (zoomed_len(rows, fr), zoomed_len(cols, fc));
        assert_eq!(
            [out_rows as f64, out_cols as f64],
            [shape[0], shape[1]],
            "output shape of case {k}"
        );
        let want = read_f64(&tmp.path().join(format!("{name}.out")));
        let got = zoom(&input, rows, cols, out_rows, out_cols, order);
        let diff = got
            .iter()
            .zip(&want)
            .map(|(g, w)| (f64::from(*g) - w).abs())
            .fold(0.0, f64::max);
        let wide: Vec<f64> = input.iter().map(|&v| f64::from(v)).collect();
        let diff64 = zoom_f64(&wide, rows, cols, out_rows, out_cols, order)
            .iter()
            .zip(&want)
            .map(|(g, w)| (g - w).abs())
            .fold(0.0, f64::max);
        println!(
            "zoom case {k} order {order}: {rows}×{cols} → {out_rows}×{out_cols}, max |ours − scipy| = {diff64:.2e} in f64, {diff:.2e} after rounding to f32"
        );
        // Values up to 1000: f64 agrees to rounding; f32 output is a few ulps off.
        let (tol, tol32) = if order == 0 { (0.0, 0.0) } else { (1e-9, 1e-3) };
        assert!(diff64 <= tol, "case {k} order {order}: differs by {diff64}");
        assert!(
            diff <= tol32,
            "case {k} order {order}: f32 differs by {diff}"
        );
    }
}

/// padorcut: centred, floor of the difference before, ceil after, per axis.
#[test]
fn pad_or_cut_offsets() {
    let v: Vec<u16> = (0..35).collect(); // 5 × 7
    let p = pad_or_cut(&v, 5, 7, 8, 10);
    // Rows: 1 before, 2 after; columns: 1 before, 2 after.
    assert_eq!(p[10 + 1], 0);
    assert_eq!(p[10..20], [0, 0, 1, 2, 3, 4, 5, 6, 0, 0]);
    assert_eq!(p[50..60], [0, 28, 29, 30, 31, 32, 33, 34, 0, 0]);
    assert!(p[60..].iter().all(|&x| x == 0));
    // Cuts: 5 → 2 drops 1 before and 2 after; 7 → 4 drops 1 and 2.
    let c = pad_or_cut(&v, 5, 7, 2, 4);
    assert_eq!(c, vec![8, 9, 10, 11, 15, 16, 17, 18]);
    // Mixed: pad rows by 1 (after), cut one column (after).
    let m = pad_or_cut(&v, 5, 7, 6, 6);
    assert_eq!(m[..6], [0, 1, 2, 3, 4, 5]);
    assert_eq!(m[6..12], [7, 8, 9, 10, 11, 12]);
    assert_eq!(m[30..], [0; 6]);
}

/// The dark-pixel mask split_mirror profiles equals scikit-image's on the original's own
/// bias-corrected canvases.
#[test]
fn split_mask_matches_scikit_image() {
    let tmp = tempfile::tempdir().unwrap();
    let script = r#"
import sys, numpy as np, skimage
from skimage.filters import threshold_local
a = np.fromfile(sys.argv[1], dtype=np.float32).reshape(432, 432)
b = a > threshold_local(a, 15, offset=10)
b = b == 0.0
b = skimage.morphology.area_opening(b, area_threshold=4)
b = skimage.morphology.area_closing(b, area_threshold=4)
b.astype(np.float64).tofile(sys.argv[2])
"#;
    for case in ["t1", "synthetic"] {
        let pre =
            read_npz(&model_dir("thigh_narrow8").join(format!("apply/{case}.preprocessed.npz")));
        let canvas = &pre["biascorrected_432"].values;
        let inp = tmp.path().join(format!("{case}.f32"));
        let out = tmp.path().join(format!("{case}.mask"));
        write_f32(&inp, canvas);
        run_python(script, &[&inp, &out]);
        let want: Vec<bool> = read_f64(&out).iter().map(|&v| v != 0.0).collect();
        let got = split_mask(canvas, 432, 432);
        let differ = got.iter().zip(&want).filter(|(a, b)| a != b).count();
        println!(
            "split mask {case}: {differ} of {} pixels differ from scikit-image ({} dark)",
            got.len(),
            want.iter().filter(|&&d| d).count()
        );
        assert_eq!(differ, 0, "{case}");
    }
}
