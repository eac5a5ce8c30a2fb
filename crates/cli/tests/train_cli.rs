//! `dafne train` end to end on tiny phantom bundles: a package that loads, with its loss
//! curve, and clear refusals for a folder without bundles.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::Path;
use std::process::Command;

use dafne_io::masks::export_bundle;
use dafne_phantom::{generate, Domain, PhantomSpec};

/// A 64 × 64 phantom at 7 mm (the whole thigh pair in a tiny image), `slices` slices.
fn bundle(path: &Path, seed: u64, slices: usize) {
    let mut spec = PhantomSpec::thigh(slices, Domain::a(), seed);
    spec.rows = 64;
    spec.cols = 64;
    spec.spacing_mm = [7.0, 7.0, 5.0];
    let p = generate(&spec).unwrap();
    export_bundle(path, &p.volume, &p.masks, Some("test")).unwrap();
}

#[test]
fn trains_a_package_from_bundles() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bundles");
    std::fs::create_dir_all(&data).unwrap();
    for seed in 1..=3 {
        bundle(&data.join(format!("phantom_{seed}.npz")), seed, 3);
    }
    let out = dir.path().join("model");
    let run = Command::new(env!("CARGO_BIN_EXE_dafne"))
        .args(["train"])
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .args([
            "--name",
            "Tiny",
            "--epochs",
            "2",
            "--base-width",
            "4",
            "--levels",
            "3",
        ])
        .args(["--validation-fraction", "0.34", "--seed", "3"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "dafne train failed: {stderr}");
    assert!(
        stderr.contains("phantom_1.npz: 3 slices (validation)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("phantom_2.npz: 3 slices (training)"),
        "{stderr}"
    );
    assert!(
        stderr.contains("24 labels, 64 x 64 px at 7.000 mm"),
        "{stderr}"
    );

    let manifest = dafne_ml::Package::read_manifest(&out).unwrap();
    assert_eq!(manifest.name, "Tiny");
    assert_eq!(manifest.labels.len(), 24);
    assert_eq!(manifest.labels[0].long_name, "Adductor Longus_L");
    assert!(!manifest.preprocessing.split_laterality);
    assert_eq!(manifest.preprocessing.crop_px, [64, 64]);
    assert!(manifest
        .provenance
        .trained_on
        .contains("phantom_3.npz (3 slices)"));
    let pkg = dafne_ml::Package::load(&out, &candle_core::Device::Cpu).unwrap();
    pkg.coscia_unet(&candle_core::Device::Cpu).unwrap();

    let csv = std::fs::read_to_string(out.join("loss.csv")).unwrap();
    let rows: Vec<&str> = csv.lines().collect();
    assert_eq!(rows[0], "epoch,train_loss,val_loss,seconds");
    assert_eq!(rows.len(), 3, "{csv}");
    assert!(
        rows[1].split(',').nth(2).is_some_and(|v| !v.is_empty()),
        "{csv}"
    );
    let png = std::fs::read(out.join("loss.png")).unwrap();
    assert_eq!(&png[1..4], b"PNG");
}

#[test]
fn trains_a_split_model_that_segments_both_legs() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("bundles");
    std::fs::create_dir_all(&data).unwrap();
    for seed in 1..=2 {
        let mut spec = PhantomSpec::thigh(3, Domain::a(), seed);
        spec.rows = 128;
        spec.cols = 128;
        spec.spacing_mm = [3.5, 3.5, 5.0];
        let p = generate(&spec).unwrap();
        export_bundle(
            &data.join(format!("phantom_{seed}.npz")),
            &p.volume,
            &p.masks,
            None,
        )
        .unwrap();
    }
    let out = dir.path().join("model");
    let run = Command::new(env!("CARGO_BIN_EXE_dafne"))
        .arg("train")
        .arg(&data)
        .arg("--out")
        .arg(&out)
        .args(["--split-laterality", "--epochs", "1", "--base-width", "4"])
        .args(["--levels", "3", "--validation-fraction", "0.5"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "dafne train failed: {stderr}");
    // 128 px at 3.5 mm: the canvas; the crop ceil(128 · 250 / 432) = 75 px.
    assert!(
        stderr.contains(
            "12 labels, 75 x 75 px at 3.500 mm, one crop per leg of a 128 x 128 px canvas"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("phantom_2.npz: 3 slices (training)"),
        "{stderr}"
    );
    let manifest = dafne_ml::Package::read_manifest(&out).unwrap();
    assert!(manifest.preprocessing.split_laterality);
    assert_eq!(manifest.labels.len(), 12);
    assert!(manifest.labels.iter().all(|l| !l.name.ends_with("_R")));
    assert_eq!(manifest.provenance.details["training_crops"], "6");

    // The package segments as a split model: every ROI it writes is named by its side.
    let input = data.join("phantom_1.npz");
    let seg_out = dir.path().join("seg");
    let run = Command::new(env!("CARGO_BIN_EXE_dafne"))
        .arg("segment")
        .arg(&input)
        .arg("--model")
        .arg(&out)
        .arg("--out")
        .arg(&seg_out)
        .args(["--slices", "1:2"])
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "dafne segment failed: {stderr}");
    let names: Vec<String> = std::fs::read_dir(&seg_out)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert!(!names.is_empty(), "{stderr}");
    assert!(
        names.iter().all(|n| n.contains("_R.") || n.contains("_L.")),
        "{names:?}"
    );
}

#[test]
fn refuses_a_folder_without_bundles() {
    let dir = tempfile::tempdir().unwrap();
    let run = Command::new(env!("CARGO_BIN_EXE_dafne"))
        .args(["train"])
        .arg(dir.path())
        .arg("--out")
        .arg(dir.path().join("model"))
        .output()
        .unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("no .npz bundles"), "{stderr}");
    assert!(!dir.path().join("model").exists());
}
