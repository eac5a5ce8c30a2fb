//! The bundled phantom demo model segments the app's sample dataset well (`scripts/run.sh`
//! opens `dafne phantom --slices 20 --size 432 --seed 1`): mean Dice of every ROI over three of
//! its slices, through the whole apply pipeline with the ROI names the app shows.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::path::Path;

use candle_core::Device;
use dafne_core::NoProgress;
use dafne_ml::apply::{SegmentOptions, Segmenter, Side, SliceImage};
use dafne_ml::train::reference::reference_set;
use dafne_ml::Package;
use dafne_phantom::{generate, Domain, PhantomSpec};

#[test]
fn the_demo_model_segments_the_sample_dataset() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/thigh-phantom-demo");
    let pkg = Package::load(&dir, &Device::Cpu).unwrap();
    assert_eq!(
        reference_set(&pkg).unwrap().len(),
        8,
        "ships its reference set"
    );
    let p = generate(&PhantomSpec::thigh(20, Domain::a(), 1)).unwrap();
    let [cols, rows, _, _] = p.volume.dims();
    let [sx, sy, _] = p.volume.geometry.spacing_mm();
    let values = p.volume.to_f32();
    let plane = rows * cols;
    let slices = [3usize, 10, 17];
    let images: Vec<SliceImage> = slices
        .iter()
        .map(|&z| SliceImage {
            values: values[z * plane..(z + 1) * plane].to_vec(),
            rows,
            cols,
            spacing_mm: [sy, sx],
        })
        .collect();
    let seg = Segmenter::new(&pkg, &Device::Cpu).unwrap();
    let opts = SegmentOptions {
        split_lr: true,
        side: Side::Both,
    };
    let out = seg.segment_slices(&images, &opts, &NoProgress).unwrap();
    let mut sums: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for (&z, pred) in slices.iter().zip(&out) {
        for m in &p.masks {
            let truth = m
                .slices
                .get(&z)
                .map_or_else(|| vec![false; plane], |s| s.to_bools());
            let guess = &pred
                .masks
                .iter()
                .find(|(n, _)| *n == m.name)
                .unwrap_or_else(|| panic!("no ROI {} in the output", m.name))
                .1;
            let e = sums.entry(&m.name).or_default();
            e.0 += truth.iter().zip(guess).filter(|(a, b)| **a && **b).count();
            e.1 += truth.iter().filter(|v| **v).count() + guess.iter().filter(|v| **v).count();
        }
    }
    let dice: Vec<f64> = sums
        .values()
        .filter(|(_, n)| *n > 0)
        .map(|(i, n)| 2.0 * *i as f64 / *n as f64)
        .collect();
    let mean = dice.iter().sum::<f64>() / dice.len() as f64;
    println!("mean Dice {mean:.3} over {} ROIs", dice.len());
    assert_eq!(dice.len(), 24, "12 muscles × 2 sides");
    assert!(mean > 0.88, "mean Dice {mean:.3}");
}
