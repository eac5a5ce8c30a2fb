//! Makes the bundled phantom demo model (`models/thigh-phantom-demo`): the original's thigh
//! design at a coarser grid, trained on synthetic thigh phantoms of domain A.
//!
//! Like the original's Thigh model it splits the legs (`split_mirror`, two mirrored crops per
//! slice, labels `<muscle>_R`/`_L`) and has the 12 muscles + background as classes; unlike it,
//! it works at 2.074 mm (216 px canvas, 128 px crops) and is narrow (base width 8), so that it
//! trains on 2 CPU cores and stays ~2 MB. Training: the original's weighted loss, Adam
//! (amsgrad), BatchNorm in training mode, early stopping on the validation phantom, then the
//! BatchNorm statistics set to the training crops'; 8 validation crops are shipped as the
//! package's reference set (checked by incremental learning). `dafne train --split-laterality`
//! trains the same kind of model from bundles; this example keeps the demo model's exact
//! recipe (phantom seeds, grid, reference set) reproducible.
//!
//! Run: `cargo run -p dafne-ml --example make_demo_model -- --out DIR
//! [--epochs N] [--train-seeds 12,13,14] [--val-seed 11] [--slices 16] [--width 8]`.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use dafne_core::{Progress, THIGH_LABELS};
use dafne_ml::apply::SliceImage;
use dafne_ml::package::{BiasCorrection, Manifest, Preprocessing, Provenance};
use dafne_ml::train::improve::{correction_labels, training_crops, Correction};
use dafne_ml::train::reference::set_reference_set;
use dafne_ml::train::{
    fit, recalibrate_batch_norm, BatchNormMode, EarlyStopping, FitOptions, TrainCrop, TrainableUnet,
};
use dafne_ml::{Package, UnetConfig};
use dafne_phantom::{generate, Domain, PhantomSpec};

type Res<T> = Result<T, Box<dyn std::error::Error>>;

struct Args {
    out: PathBuf,
    epochs: usize,
    train_seeds: Vec<u64>,
    val_seed: u64,
    slices: usize,
    width: usize,
}

fn args() -> Res<Args> {
    let mut a = Args {
        out: PathBuf::from("thigh-phantom-demo"),
        epochs: 60,
        train_seeds: vec![12, 13, 14],
        val_seed: 11,
        slices: 16,
        width: 8,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--out" => a.out = value()?.into(),
            "--epochs" => a.epochs = value()?.parse()?,
            "--train-seeds" => {
                a.train_seeds = value()?
                    .split(',')
                    .map(str::parse)
                    .collect::<Result<_, _>>()?
            }
            "--val-seed" => a.val_seed = value()?.parse()?,
            "--slices" => a.slices = value()?.parse()?,
            "--width" => a.width = value()?.parse()?,
            _ => return Err(format!("unknown argument {flag}").into()),
        }
    }
    Ok(a)
}

/// The original's Thigh model's settings at half its resolution (a 216 px canvas, 4 N4
/// levels: the trainer template's).
fn manifest(cfg: &UnetConfig) -> Manifest {
    let thigh = Manifest::original_thigh(cfg);
    Manifest {
        id: "dafne-thigh-phantom-demo".into(),
        name: "Thigh (phantom demo)".into(),
        description: "PHANTOM demo model: trained on synthetic thigh phantoms (dafne phantom, \
                      domain A), not on MRI of people. For trying the app, never for real data."
            .into(),
        preprocessing: Preprocessing {
            resolution_mm: 2.074074,
            canvas_px: 216,
            bias_correction: thigh
                .preprocessing
                .bias_correction
                .clone()
                .map(|b| BiasCorrection { levels: 4, ..b }),
            ..thigh.preprocessing.clone()
        },
        categories: vec![vec!["MSK".into(), "Muscle".into(), "Thigh".into()]],
        licence: "GPL-3.0-or-later".into(),
        ..thigh
    }
}

/// The training crops of one domain-A phantom (ground truth as the labels).
fn crops(manifest: &Manifest, seed: u64, slices: usize) -> Res<Vec<TrainCrop>> {
    let p = generate(&PhantomSpec::thigh(slices, Domain::a(), seed))?;
    let [cols, rows, depth, _] = p.volume.dims();
    let [sx, sy, _] = p.volume.geometry.spacing_mm();
    let values = p.volume.to_f32();
    let plane = rows * cols;
    let mut images = Vec::new();
    let mut classes = Vec::new();
    for z in 0..depth {
        let c = Correction {
            image: SliceImage {
                values: values[z * plane..(z + 1) * plane].to_vec(),
                rows,
                cols,
                spacing_mm: [sy, sx],
            },
            masks: p
                .masks
                .iter()
                .map(|m| {
                    let bools = m
                        .slices
                        .get(&z)
                        .map_or_else(|| vec![false; plane], |s| s.to_bools());
                    (m.name.clone(), bools)
                })
                .collect(),
        };
        if let Some(cl) = correction_labels(manifest, &c)? {
            classes.push(cl);
            images.push(c.image);
        }
    }
    let pairs: Vec<_> = images.iter().zip(&classes).collect();
    let (crops, _) = training_crops(manifest, &pairs, &dafne_core::NoProgress)?;
    Ok(crops)
}

/// Prints one line per epoch.
struct Epochs {
    per_epoch: u64,
    start: Instant,
}

impl Progress for Epochs {
    fn cancelled(&self) -> bool {
        false
    }

    fn report(&self, done: u64, _total: u64, phase: &'static str) {
        if phase == "training" && done.is_multiple_of(self.per_epoch) {
            eprintln!(
                "[{:.0} s] epoch {} done",
                self.start.elapsed().as_secs_f64(),
                done / self.per_epoch
            );
        }
    }
}

fn main() -> Res<()> {
    let a = args()?;
    let start = Instant::now();
    let cfg = UnetConfig::doubling(a.width, 4, THIGH_LABELS.len() + 1, [128, 128]);
    let mut manifest = manifest(&cfg);
    let mut train = Vec::new();
    for &seed in &a.train_seeds {
        train.extend(crops(&manifest, seed, a.slices)?);
    }
    let val = crops(&manifest, a.val_seed, a.slices)?;
    eprintln!(
        "[{:.0} s] {} training crops, {} validation crops",
        start.elapsed().as_secs_f64(),
        train.len(),
        val.len()
    );
    let il = manifest
        .incremental_learning
        .clone()
        .ok_or("no IL recipe")?;
    let opts = FitOptions {
        learning_rate: 0.009765,
        epochs: a.epochs,
        batch_size: 5,
        amsgrad: true,
        early_stopping: Some(EarlyStopping {
            patience: 8,
            min_epochs: 10,
        }),
        seed: 1,
        il,
        batch_norm: BatchNormMode::BatchStatistics,
    };
    let mut net = TrainableUnet::new_random(&cfg, 1, &Device::Cpu)?;
    let progress = Epochs {
        per_epoch: train.len().div_ceil(5) as u64,
        start,
    };
    let history = fit(&mut net, &train, &val, &opts, &progress)?;
    recalibrate_batch_norm(&mut net, &train, 5, &dafne_core::NoProgress)?;
    let best = history
        .iter()
        .filter_map(|e| Some((e.epoch, e.val_loss?)))
        .min_by(|x, y| x.1.total_cmp(&y.1));
    let seeds: Vec<String> = a.train_seeds.iter().map(u64::to_string).collect();
    manifest.version = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    manifest.provenance = Provenance {
        parent: None,
        trained_on: format!(
            "dafne phantom domain A, seeds {} ({} slices of 432 × 432 at 1.037 mm each; {} \
             crops), validation seed {}",
            seeds.join(", "),
            a.slices,
            train.len(),
            a.val_seed
        ),
        created_by: format!(
            "dafne-ml {} example make_demo_model",
            env!("CARGO_PKG_VERSION")
        ),
        details: BTreeMap::from([
            ("epochs_run".into(), history.len().to_string()),
            (
                "best_epoch".into(),
                best.map_or("-".into(), |b| (b.0 + 1).to_string()),
            ),
            (
                "recipe".into(),
                format!(
                    "Adam amsgrad lr 0.009765 batch 5, weighted loss, early stopping patience 8 \
                     min 10 of max {} epochs, BatchNorm statistics set to the training crops'",
                    a.epochs
                ),
            ),
        ]),
    };
    // The reference set incremental learning checks updates on (see dafne_ml::train::
    // reference): both crops of 4 validation slices spread over the volume.
    let step = (val.len() / 2 / 4).max(1);
    let reference: Vec<TrainCrop> = (0..4)
        .flat_map(|k| val.iter().skip(2 * k * step).take(2).cloned())
        .collect();
    let mut weights = net.weights()?;
    set_reference_set(&mut weights, &reference, cfg.input_size)?;
    manifest.provenance.details.insert(
        "reference_set".into(),
        format!(
            "{} crops of validation seed {} (reference.images/labels)",
            reference.len(),
            a.val_seed
        ),
    );
    let mut pkg = Package { manifest, weights };
    pkg.save(&a.out)?;
    dafne_ml::trainer::write_loss_files(&a.out, &history)?;
    eprintln!(
        "[{:.0} s] saved {} ({} epochs)",
        start.elapsed().as_secs_f64(),
        a.out.display(),
        history.len()
    );
    Ok(())
}
