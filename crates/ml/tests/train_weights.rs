//! `pixel_weights` against the original's `input_creation_mem` + `calc_weight`, run at test
//! time by `tests/reference/ml/pixel_weights.py` (numpy + scikit-image) on the same images.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::process::Command;

use dafne_ml::package::IncrementalLearning;
use dafne_ml::train::{class_frequencies, pixel_weights, pixel_weights_with};

const DIM: usize = 40;
const CLASSES: usize = 6;

fn il(band: f64) -> IncrementalLearning {
    IncrementalLearning {
        learning_rate: 1e-3,
        epochs: 5,
        batch_size: 5,
        min_training_images: 5,
        boundary_weight: 10.0,
        boundary_band_px2: band,
        class_frequency_weights: true,
    }
}

/// Muscle-like images: a disc cut into sectors (labels 1..=4, label 5 only in one image), a
/// gap of background between some sectors, regions touching the image edge, noise.
fn images() -> Vec<(Vec<f32>, Vec<u8>)> {
    let mut s = 12345u64;
    let mut rnd = move || {
        s = s
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (s >> 40) as f32 / (1u64 << 24) as f32
    };
    (0..3)
        .map(|k| {
            let (cy, cx) = (18.0 + k as f32 * 3.0, 20.0 - k as f32 * 4.0);
            let mut image = Vec::new();
            let mut labels = Vec::new();
            for i in 0..DIM {
                for j in 0..DIM {
                    let (dy, dx) = (i as f32 - cy, j as f32 - cx);
                    let r = (dy * dy + dx * dx).sqrt();
                    let angle = dy.atan2(dx) + std::f32::consts::PI;
                    let sector = (angle / (std::f32::consts::PI / 2.0)) as u8 % 4;
                    let mut l = if r < 17.0 + k as f32 * 2.0 {
                        1 + sector
                    } else {
                        0
                    };
                    if k == 1 && r < 4.0 {
                        l = 5;
                    }
                    if (dx.abs() < 1.0 && dy > 0.0) || i == 0 {
                        l = 0;
                    }
                    labels.push(l);
                    let base = if l == 0 {
                        15.0
                    } else {
                        120.0 + 25.0 * l as f32
                    };
                    image.push(base + 40.0 * rnd());
                }
            }
            (image, labels)
        })
        .collect()
}

fn run_reference(dir: &Path, data: &[(Vec<f32>, Vec<u8>)], band: f64) -> (Vec<f32>, Vec<f64>, f64) {
    let mut img = Vec::new();
    let mut lab = Vec::new();
    for (i, l) in data {
        img.extend(i.iter().flat_map(|v| v.to_le_bytes()));
        lab.extend_from_slice(l);
    }
    std::fs::write(dir.join("images.f32"), img).unwrap();
    std::fs::write(dir.join("labels.u8"), lab).unwrap();
    let script =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/reference/ml/pixel_weights.py");
    let out = Command::new(common::python())
        .arg(&script)
        .arg(dir)
        .args([
            data.len().to_string(),
            DIM.to_string(),
            CLASSES.to_string(),
            band.to_string(),
        ])
        .output()
        .expect("run the Python reference (set DAFNE_PYTHON)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let bytes = std::fs::read(dir.join("weights.f32")).unwrap();
    let weights = bytes
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect();
    let text = std::fs::read_to_string(dir.join("frequencies.txt")).unwrap();
    let mut lines = text.lines();
    let freq = lines
        .next()
        .unwrap()
        .split_whitespace()
        .map(|v| v.parse().unwrap())
        .collect();
    let av = lines.next().unwrap().trim().parse().unwrap();
    (weights, freq, av)
}

#[test]
fn weights_match_the_originals_input_creation_mem() {
    let data = images();
    for band in [49.0, 64.0] {
        let dir = tempfile::tempdir().unwrap();
        let (want, want_freq, want_av) = run_reference(dir.path(), &data, band);
        let maps: Vec<&[u8]> = data.iter().map(|(_, l)| l.as_slice()).collect();
        let freqs = class_frequencies(&maps, DIM, DIM, CLASSES);
        for (a, b) in freqs.freq.iter().zip(&want_freq) {
            assert!((a - b).abs() < 1e-12, "{:?} vs {want_freq:?}", freqs.freq);
        }
        assert!((freqs.mean - want_av).abs() < 1e-12);
        let mut ours = Vec::new();
        for (image, labels) in &data {
            ours.extend(pixel_weights_with(
                image,
                labels,
                DIM,
                DIM,
                &freqs,
                &il(band),
            ));
        }
        let mut worst = (0f32, 0usize);
        for (i, (a, b)) in ours.iter().zip(&want).enumerate() {
            let d = (a - b).abs() / b.abs().max(1.0);
            if d > worst.0 {
                worst = (d, i);
            }
        }
        let mut boundary_only = il(band);
        boundary_only.class_frequency_weights = false;
        let boundary = data
            .iter()
            .flat_map(|(i, l)| pixel_weights_with(i, l, DIM, DIM, &freqs, &boundary_only))
            .filter(|&w| w > 0.01)
            .count();
        println!("band {band}: max relative difference {:.2e} at {}, {boundary} boundary-weighted pixels", worst.0, worst.1);
        assert!(boundary > 100, "the test must exercise the boundary term");
        assert!(
            worst.0 < 1e-6,
            "pixel {}: ours {} original {}",
            worst.1,
            ours[worst.1],
            want[worst.1]
        );
    }
}

#[test]
fn one_image_is_its_own_training_set() {
    let data = images();
    let (image, labels) = &data[0];
    let alone = pixel_weights(image, labels, DIM, DIM, CLASSES, &il(49.0));
    let freqs = class_frequencies(&[labels.as_slice()], DIM, DIM, CLASSES);
    assert_eq!(
        alone,
        pixel_weights_with(image, labels, DIM, DIM, &freqs, &il(49.0))
    );
    // Without the frequency term and on a flat image (no Otsu foreground) nothing is weighted.
    let mut off = il(49.0);
    off.class_frequency_weights = false;
    let flat = vec![3.0f32; DIM * DIM];
    assert!(pixel_weights(&flat, labels, DIM, DIM, CLASSES, &off)
        .iter()
        .all(|&w| w == 0.0));
}
