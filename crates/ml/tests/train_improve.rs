//! `improve` end to end on phantom slices with a small model (so the test stays short): a
//! base model is trained on phantom slices, then updated from corrections. Correct
//! corrections give a new version (parent and details recorded); corrections that are wrong
//! on the training slices (label names rotated) while the held-out slices stay right lower
//! the held-out Dice, and the guard refuses the update. Slices are resampled to 2.074 mm (a
//! 216 px canvas, 128 px crops) and the bias correction is off.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::OnceLock;

use candle_core::Device;
use dafne_core::{NoProgress, SliceMask};
use dafne_ml::apply::SliceImage;
use dafne_ml::package::{Manifest, Preprocessing};
use dafne_ml::train::improve::{
    correction_labels, held_out_indices, improve, training_crops, Correction, ImproveOptions,
};
use dafne_ml::train::{fit, recalibrate_batch_norm, BatchNormMode, FitOptions, TrainableUnet};
use dafne_ml::{Package, UnetConfig};
use dafne_phantom::{generate, Domain, PhantomSpec};

const LONG: [&str; 12] = [
    "Vastus Lateralis",
    "Vastus Medialis",
    "Vastus Intermedius",
    "Rectus Femoris",
    "Sartorius",
    "Gracilis",
    "Adductor Magnus",
    "Semimembranosus",
    "Semitendinosus",
    "Biceps Femoris Long",
    "Biceps Femoris Short",
    "Adductor Longus",
];

fn config() -> UnetConfig {
    UnetConfig::doubling(6, 3, 13, [128, 128])
}

fn manifest(cfg: &UnetConfig) -> Manifest {
    let thigh = Manifest::original_thigh(cfg);
    Manifest {
        id: "phantom-test".into(),
        name: "Thigh test".into(),
        preprocessing: Preprocessing {
            resolution_mm: 2.074,
            canvas_px: 216,
            bias_correction: None,
            ..thigh.preprocessing.clone()
        },
        licence: "test".into(),
        ..thigh
    }
}

/// Phantom slices as corrections with the true masks.
fn phantom(slices: usize, seed: u64) -> Vec<Correction> {
    let p = generate(&PhantomSpec::thigh(slices, Domain::a(), seed)).unwrap();
    let [cols, rows, _, _] = p.volume.dims();
    let values = p.volume.to_f32();
    (0..slices)
        .map(|k| Correction {
            image: SliceImage {
                values: values[k * rows * cols..(k + 1) * rows * cols].to_vec(),
                rows,
                cols,
                spacing_mm: [1.037, 1.037],
            },
            masks: p
                .masks
                .iter()
                .map(|m| {
                    let bools = m
                        .slices
                        .get(&k)
                        .map_or_else(|| vec![false; rows * cols], SliceMask::to_bools);
                    (m.name.clone(), bools)
                })
                .collect(),
        })
        .collect()
}

/// A base model trained on phantom slices (once per test binary).
fn base() -> &'static Package {
    static BASE: OnceLock<Package> = OnceLock::new();
    BASE.get_or_init(|| {
        let cfg = config();
        let manifest = manifest(&cfg);
        let corrections = phantom(8, 100);
        let classes: Vec<Vec<u8>> = corrections
            .iter()
            .map(|c| correction_labels(&manifest, c).unwrap().unwrap())
            .collect();
        let slices: Vec<_> = corrections.iter().map(|c| &c.image).zip(&classes).collect();
        let (crops, _) = training_crops(&manifest, &slices, &NoProgress).unwrap();
        let mut net = TrainableUnet::new_random(&cfg, 3, &Device::Cpu).unwrap();
        let mut o = FitOptions::incremental(manifest.incremental_learning.as_ref().unwrap(), 1);
        o.epochs = 40;
        o.learning_rate = 1e-2;
        o.batch_norm = BatchNormMode::BatchStatistics;
        let h = fit(&mut net, &crops, &[], &o, &NoProgress).unwrap();
        recalibrate_batch_norm(&mut net, &crops, 5, &NoProgress).unwrap();
        println!(
            "base model losses: first {:.0}, last {:.0}",
            h[0].train_loss,
            h[h.len() - 1].train_loss
        );
        Package {
            manifest,
            weights: net.weights().unwrap(),
        }
    })
}

fn options() -> ImproveOptions {
    ImproveOptions {
        split_lr: true,
        held_out_fraction: 0.34,
        min_slices: 3,
        // The rule: the held-out Dice must not drop.
        max_dice_drop: 0.0,
        seed: 5,
        ..ImproveOptions::default()
    }
}

#[test]
#[ignore = "trains a base model (minutes): cargo test -p dafne-ml --test train_improve -- --ignored --nocapture"]
fn a_sensible_update_is_kept_as_a_new_version() {
    let base = base();
    let corrections = phantom(9, 200);
    let (report, new) = improve(base, &corrections, &options(), &NoProgress).unwrap();
    println!("{report:?}");
    assert!(report.accepted, "{}", report.reason);
    assert_eq!(report.slices_held_out, 3);
    assert_eq!((report.slices_trained, report.training_images), (6, 12));
    assert!(
        report.dice_before > 0.3,
        "the base model must segment: {}",
        report.dice_before
    );
    let new = new.expect("a new package");
    let parent = new.manifest.provenance.parent.as_ref().unwrap();
    assert_eq!((parent.id.as_str(), parent.version), ("phantom-test", 1));
    assert!(new.manifest.version > 1);
    assert_eq!(new.manifest.provenance.details["il_slices_held_out"], "3");
    assert!(!std::ptr::eq(&new.weights, &base.weights));
}

#[test]
#[ignore = "trains a base model (minutes): cargo test -p dafne-ml --test train_improve -- --ignored --nocapture"]
fn the_guard_refuses_an_update_from_wrong_corrections() {
    let base = base();
    let mut corrections = phantom(9, 200);
    let held = held_out_indices(9, options().held_out_fraction, options().seed);
    for (i, c) in corrections.iter_mut().enumerate() {
        if held.contains(&i) {
            continue;
        }
        // Every muscle named as the next one: consistent but wrong.
        for (name, _) in &mut c.masks {
            let (long, side) = name.rsplit_once('_').unwrap();
            let k = LONG.iter().position(|l| *l == long).unwrap();
            *name = format!("{}_{side}", LONG[(k + 1) % LONG.len()]);
        }
    }
    let (report, new) = improve(base, &corrections, &options(), &NoProgress).unwrap();
    println!("{report:?}");
    assert!(!report.accepted, "{}", report.reason);
    assert!(new.is_none());
    assert!(report.dice_after < report.dice_before - options().max_dice_drop);
    assert!(report.reason.contains("refused"), "{}", report.reason);
}

#[test]
fn too_few_usable_slices_make_no_update() {
    // Refused before any training: an untrained network will do.
    let cfg = config();
    let net = TrainableUnet::new_random(&cfg, 1, &Device::Cpu).unwrap();
    let base = &Package {
        manifest: manifest(&cfg),
        weights: net.weights().unwrap(),
    };
    let mut corrections = phantom(2, 300);
    for c in &mut corrections[1..] {
        c.masks.truncate(6);
    }
    let (report, new) = improve(base, &corrections, &options(), &NoProgress).unwrap();
    assert!(!report.accepted && new.is_none());
    assert!(report.reason.contains("1 of 2"), "{}", report.reason);
}
