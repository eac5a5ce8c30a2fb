//! Plausibility of our incremental-learning step against the original's: the legacy kit ran
//! the thigh_narrow8 model's own `incremental_learn` once on 3 synthetic slices
//! (`incremental_learning/`: weights before and after). We run our step (same preparation,
//! 6 crops of which the first 5 train, 5 epochs of one batch, Adam/AMSGrad, the same loss and
//! weight maps) from the same weights and compare, tensor by tensor, our change with the
//! original's: sign agreement and correlation. Training is not bit-reproducible (batch order,
//! TensorFlow's kernels), so the bounds are loose; the figures are printed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::{BTreeMap, HashMap};

use candle_core::{Device, Tensor};
use common::{keras_weights, layers, model_dir, read_npz};
use dafne_core::NoProgress;
use dafne_ml::apply::SliceImage;
use dafne_ml::keras::{import_coscia_unet, KerasWeight};
use dafne_ml::package::Manifest;
use dafne_ml::train::improve::{correction_labels, training_crops, Correction};
use dafne_ml::train::{fit, BatchNormMode, FitOptions, TrainableUnet};
use dafne_ml::UnetConfig;

pub fn thigh_manifest(cfg: &UnetConfig) -> Manifest {
    Manifest {
        id: "210e2a21-1984-4e6f-8675-bf57bbabef2f".into(),
        version: 1_610_001_000,
        ..Manifest::original_thigh(cfg)
    }
}

/// The kit's weights after its IL call, under our tensor names.
fn kit_after(cfg: &UnetConfig) -> HashMap<String, Tensor> {
    let before = keras_weights("thigh_narrow8");
    let after =
        read_npz(&model_dir("thigh_narrow8").join("incremental_learning/weights_after.npz"));
    let list: Vec<KerasWeight> = after
        .into_values()
        .zip(before)
        .map(|(a, b)| KerasWeight {
            layer: b.layer,
            shape: a.shape,
            values: a.values,
        })
        .collect();
    let (c, t) = import_coscia_unet(&layers("thigh_narrow8"), list, &Device::Cpu).unwrap();
    assert_eq!(&c, cfg);
    t
}

/// The uint8 members of an `.npz` (the kit's masks; `common::read_npz` reads floats only).
fn read_npz_u8(path: &std::path::Path) -> BTreeMap<String, Vec<u8>> {
    use std::io::Read;
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    let mut out = BTreeMap::new();
    for i in 0..zip.len() {
        let mut member = zip.by_index(i).unwrap();
        let name = member.name().unwrap().to_string();
        let Some(key) = name.strip_suffix(".npy") else {
            continue;
        };
        let mut bytes = Vec::new();
        member.read_to_end(&mut bytes).unwrap();
        let array = dafne_io::numpy::read_npy_bytes(&bytes).unwrap();
        if let dafne_core::Voxels::U8(v) = array.voxels {
            out.insert(key.to_string(), v);
        }
    }
    out
}

fn flat(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

fn correlation(a: &[f32], b: &[f32]) -> f64 {
    let n = a.len() as f64;
    let ma = a.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let mb = b.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let (mut sab, mut saa, mut sbb) = (0.0, 0.0, 0.0);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x) - ma, f64::from(y) - mb);
        sab += x * y;
        saa += x * x;
        sbb += y * y;
    }
    if saa == 0.0 || sbb == 0.0 {
        0.0
    } else {
        sab / (saa * sbb).sqrt()
    }
}

#[test]
#[ignore = "~30 s of CPU (N4 on three 432² slices): cargo test -p dafne-ml --test train_il_kit -- --ignored --nocapture"]
fn our_il_step_moves_the_weights_like_the_originals() {
    let (cfg, before) = import_coscia_unet(
        &layers("thigh_narrow8"),
        keras_weights("thigh_narrow8"),
        &Device::Cpu,
    )
    .unwrap();
    let manifest = thigh_manifest(&cfg);
    let kit_after = kit_after(&cfg);

    let dir = model_dir("thigh_narrow8").join("incremental_learning");
    let images = read_npz(&dir.join("training_images.npz"));
    let masks = read_npz_u8(&dir.join("training_masks.npz"));
    let mut corrections = Vec::new();
    for i in 0..3 {
        let img = &images[&format!("image_{i}")];
        let prefix = format!("{i}/");
        let masks = masks
            .iter()
            .filter_map(|(k, a)| k.strip_prefix(&prefix).map(|n| (n.to_string(), a)))
            .map(|(n, a)| (n, a.iter().map(|&v| v > 0).collect()))
            .collect();
        corrections.push(Correction {
            image: SliceImage {
                values: img.values.clone(),
                rows: img.shape[0],
                cols: img.shape[1],
                spacing_mm: [1.037037, 1.037037],
            },
            masks,
        });
    }
    let classes: Vec<Vec<u8>> = corrections
        .iter()
        .map(|c| {
            correction_labels(&manifest, c)
                .unwrap()
                .expect("slice usable")
        })
        .collect();
    let slices: Vec<_> = corrections.iter().map(|c| &c.image).zip(&classes).collect();
    let (mut crops, used) = training_crops(&manifest, &slices, &NoProgress).unwrap();
    assert_eq!((crops.len(), used), (6, 3));
    crops.truncate(5);
    let il = manifest.incremental_learning.clone().unwrap();
    let mut net = TrainableUnet::from_weights(&cfg, &before, &Device::Cpu).unwrap();
    // The original's recipe exactly: BatchNorm in Keras's training mode (ours freezes it).
    let opts = FitOptions {
        batch_norm: BatchNormMode::BatchStatistics,
        ..FitOptions::incremental(&il, 1)
    };
    let history = fit(&mut net, &crops, &[], &opts, &NoProgress).unwrap();
    println!(
        "our losses: {:?}",
        history.iter().map(|e| e.train_loss).collect::<Vec<_>>()
    );
    let ours = net.weights().unwrap();

    let mut kinds: BTreeMap<&str, (usize, usize, f64, usize)> = BTreeMap::new();
    let mut names: Vec<&String> = before.keys().collect();
    names.sort();
    for name in names {
        let b = flat(&before[name]);
        let d_ours: Vec<f32> = flat(&ours[name])
            .iter()
            .zip(&b)
            .map(|(a, b)| a - b)
            .collect();
        let d_kit: Vec<f32> = flat(&kit_after[name])
            .iter()
            .zip(&b)
            .map(|(a, b)| a - b)
            .collect();
        let agree = d_ours
            .iter()
            .zip(&d_kit)
            .filter(|(a, b)| a.signum() == b.signum())
            .count();
        let corr = correlation(&d_ours, &d_kit);
        let kind = if name.ends_with("running_mean") {
            "bn moving mean"
        } else if name.ends_with("running_var") {
            "bn moving var"
        } else if name.contains(".bn") {
            "bn gamma/beta"
        } else if name.ends_with(".weight") {
            "kernel"
        } else {
            "conv bias"
        };
        println!(
            "{name:32} n {:6}  sign agreement {:.2}  correlation {corr:+.2}",
            b.len(),
            agree as f64 / b.len() as f64
        );
        let e = kinds.entry(kind).or_default();
        e.0 += agree;
        e.1 += b.len();
        e.2 += corr;
        e.3 += 1;
    }
    for (kind, (agree, n, corr, layers)) in &kinds {
        println!(
            "{kind:16}: sign agreement {:.3} over {n} numbers, mean correlation {:+.3} over {layers} tensors",
            *agree as f64 / *n as f64,
            corr / *layers as f64
        );
    }
    let kernel = kinds["kernel"];
    assert!(
        kernel.0 as f64 / kernel.1 as f64 > 0.6,
        "kernel deltas disagree in sign"
    );
    let mean = kinds["bn moving mean"];
    assert!(
        mean.2 / mean.3 as f64 > 0.5,
        "moving means moved differently"
    );
}
