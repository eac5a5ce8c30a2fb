//! Model packages: save/load round trip, the sha256 check, unknown architectures, newer
//! format versions, and a random-weights network that builds at the original's full width.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use dafne_ml::package::{
    ArchitectureSpec, BiasCorrection, IncrementalLearning, Label, Manifest, ParentVersion,
    Preprocessing, Provenance, MANIFEST_FILE, WEIGHTS_FILE,
};
use dafne_ml::{CosciaUnet, MlError, Package, UnetConfig};

/// A small random network and its weights.
fn random_net(cfg: &UnetConfig) -> (CosciaUnet, HashMap<String, Tensor>, usize) {
    let varmap = VarMap::new();
    let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
    let net = CosciaUnet::new(cfg, vb).unwrap();
    let data = varmap.data().lock().unwrap();
    let count = data.values().map(|v| v.elem_count()).sum();
    let weights = data
        .iter()
        .map(|(k, v)| (k.clone(), v.as_tensor().clone()))
        .collect();
    (net, weights, count)
}

fn manifest(cfg: &UnetConfig) -> Manifest {
    Manifest {
        format_version: 1,
        id: "6f1c1f0e-0000-4000-8000-000000000001".into(),
        version: 1_700_000_000,
        name: "Test thigh".into(),
        description: "random weights".into(),
        architecture: ArchitectureSpec::coscia_unet(cfg),
        input_channels: vec!["image".into()],
        labels: vec![
            Label {
                value: 1,
                name: "VL".into(),
                long_name: "Vastus Lateralis".into(),
            },
            Label {
                value: 2,
                name: "VM".into(),
                long_name: "Vastus Medialis".into(),
            },
        ],
        preprocessing: Preprocessing {
            resolution_mm: 1.037037,
            canvas_px: 432,
            crop_px: cfg.input_size,
            normalise_max: 600.0,
            bias_correction: Some(BiasCorrection {
                levels: 8,
                iterations: 50,
                otsu_bins: 200,
                rescale_below: 350.0,
            }),
            split_laterality: true,
            orientation: "axial".into(),
        },
        variants: vec![String::new(), "Left".into(), "Right".into()],
        categories: vec![vec!["MSK".into(), "Muscle".into(), "Lower limbs".into()]],
        dimensionality: 2,
        incremental_learning: Some(IncrementalLearning {
            learning_rate: 1e-3,
            epochs: 5,
            batch_size: 5,
            min_training_images: 5,
            boundary_weight: 10.0,
            boundary_band_px2: 49.0,
            class_frequency_weights: true,
        }),
        weights_sha256: String::new(),
        licence: "GPL-3.0-or-later".into(),
        provenance: Provenance {
            parent: Some(ParentVersion {
                id: "parent".into(),
                version: 1_600_000_000,
                weights_sha256: "00".repeat(32),
            }),
            trained_on: "nothing (test)".into(),
            created_by: "dafne-ml tests".into(),
            details: [("slices".to_string(), "0".to_string())].into(),
        },
    }
}

fn small() -> UnetConfig {
    UnetConfig::doubling(2, 3, 3, [24, 24])
}

fn saved(dir: &Path) -> (Package, CosciaUnet) {
    let cfg = small();
    let (net, weights, _) = random_net(&cfg);
    let mut package = Package {
        manifest: manifest(&cfg),
        weights,
    };
    package.save(dir).unwrap();
    (package, net)
}

fn edit_manifest(dir: &Path, edit: impl FnOnce(&mut serde_json::Value)) {
    let path = dir.join(MANIFEST_FILE);
    let mut v: serde_json::Value = serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    edit(&mut v);
    std::fs::write(&path, serde_json::to_vec(&v).unwrap()).unwrap();
}

#[test]
fn round_trip_keeps_manifest_weights_and_output() {
    let dir = tempfile::tempdir().unwrap();
    let (package, net) = saved(dir.path());
    assert_eq!(package.manifest.weights_sha256.len(), 64);
    let loaded = Package::load(dir.path(), &Device::Cpu).unwrap();
    assert_eq!(loaded.manifest, package.manifest);
    assert_eq!(loaded.weights.len(), package.weights.len());
    for (name, t) in &package.weights {
        let back = &loaded.weights[name];
        assert_eq!(back.dims(), t.dims(), "{name}");
        let a: Vec<f32> = t.flatten_all().unwrap().to_vec1().unwrap();
        let b: Vec<f32> = back.flatten_all().unwrap().to_vec1().unwrap();
        assert_eq!(a, b, "{name}");
    }
    let x = Tensor::randn(0f32, 1.0, (2, 24, 24, 1), &Device::Cpu).unwrap();
    let before: Vec<f32> = net
        .forward(&x)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    let after: Vec<f32> = loaded
        .coscia_unet(&Device::Cpu)
        .unwrap()
        .forward(&x)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert_eq!(before, after);
    // Probabilities: each pixel sums to one.
    let sums: Vec<f32> = net
        .forward(&x)
        .unwrap()
        .sum(3)
        .unwrap()
        .flatten_all()
        .unwrap()
        .to_vec1()
        .unwrap();
    assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-5));
}

#[test]
fn tampered_weights_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path());
    let path = dir.path().join(WEIGHTS_FILE);
    let mut bytes = std::fs::read(&path).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    std::fs::write(&path, bytes).unwrap();
    let err = Package::load(dir.path(), &Device::Cpu).unwrap_err();
    assert!(matches!(err, MlError::WeightsHash { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("sha256") && text.ends_with(WEIGHTS_FILE),
        "{text}"
    );
}

#[test]
fn unknown_architecture_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path());
    edit_manifest(dir.path(), |v| {
        v["architecture"]["name"] = "resnet_from_the_future".into()
    });
    let err = Package::load(dir.path(), &Device::Cpu).unwrap_err();
    assert!(matches!(err, MlError::UnknownArchitecture { .. }), "{err}");
    assert!(err.to_string().contains("resnet_from_the_future"), "{err}");
}

#[test]
fn bad_config_newer_format_and_missing_tensor_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    saved(dir.path());
    edit_manifest(dir.path(), |v| {
        v["architecture"]["config"]["widths"] = serde_json::json!([2, 0, 8])
    });
    let err = Package::load(dir.path(), &Device::Cpu).unwrap_err();
    assert!(matches!(err, MlError::BadConfig { .. }), "{err}");

    saved(dir.path());
    edit_manifest(dir.path(), |v| {
        v["architecture"]["config"]["extra"] = 1.into()
    });
    let err = Package::load(dir.path(), &Device::Cpu).unwrap_err();
    assert!(matches!(err, MlError::ArchitectureConfig { .. }), "{err}");

    saved(dir.path());
    edit_manifest(dir.path(), |v| v["format_version"] = 99.into());
    let err = Package::load(dir.path(), &Device::Cpu).unwrap_err();
    assert!(
        matches!(err, MlError::FormatVersion { found: 99, .. }),
        "{err}"
    );

    // Weights that do not fit the config: the network refuses to build.
    let (package, _) = saved(dir.path());
    let mut wrong = package.clone();
    wrong.weights.remove("head.weight");
    assert!(wrong.coscia_unet(&Device::Cpu).is_err());
    let mut wider = package;
    wider.manifest.architecture =
        ArchitectureSpec::coscia_unet(&UnetConfig::doubling(4, 3, 3, [24, 24]));
    assert!(wider.coscia_unet(&Device::Cpu).is_err());
}

/// The original's full-width thigh network (random weights): 26,578,445 stored numbers as
/// `generate_thigh_split_model.py` reports, ~30.7 GFLOP per 250² crop (the figure),
/// and one forward pass on a small input.
#[test]
fn full_width_thigh_builds_and_runs() {
    let cfg = UnetConfig::thigh();
    assert_eq!(cfg.widths, [32, 64, 128, 256, 512]);
    assert_eq!(cfg.bottleneck_width, 1024);
    let (_, _, count) = random_net(&cfg);
    assert_eq!(count, 26_578_445);
    assert_eq!(cfg.param_count(), 26_578_445);
    let gflop = cfg.flops() / 1e9;
    assert!((gflop - 30.7).abs() < 0.3, "{gflop} GFLOP per crop");

    let mut small_input = cfg.clone();
    small_input.input_size = [48, 48]; // 48 → 24 → 12 → 6 → 3 → 1 at the bottleneck
    let (net, _, count) = random_net(&small_input);
    assert_eq!(count, 26_578_445);
    let x = Tensor::randn(0f32, 1.0, (1, 48, 48, 1), &Device::Cpu).unwrap();
    let y = net.forward(&x).unwrap();
    assert_eq!(y.dims(), [1, 48, 48, 13]);
    let v: Vec<f32> = y.flatten_all().unwrap().to_vec1().unwrap();
    assert!(v.iter().all(|p| p.is_finite() && (0.0..=1.0).contains(p)));
}

#[test]
fn a_reference_set_travels_in_the_weights_and_is_checked_by_the_hash() {
    use dafne_ml::train::reference::{crops_dice, reference_set, set_reference_set};
    use dafne_ml::train::TrainCrop;
    let dir = tempfile::tempdir().unwrap();
    let cfg = small();
    let (_, mut weights, _) = random_net(&cfg);
    let [h, w] = cfg.input_size;
    let crops: Vec<TrainCrop> = (0..3)
        .map(|k| TrainCrop {
            image: (0..h * w).map(|i| ((i * 7 + k) % 600) as f32).collect(),
            labels: (0..h * w).map(|i| ((i / w + k) % 3) as u8).collect(),
        })
        .collect();
    set_reference_set(&mut weights, &crops, cfg.input_size).unwrap();
    let mut pkg = Package {
        manifest: manifest(&cfg),
        weights,
    };
    pkg.save(dir.path()).unwrap();
    let loaded = Package::load(dir.path(), &Device::Cpu).unwrap();
    assert_eq!(reference_set(&loaded).unwrap(), crops);
    // The network still builds (the extra tensors are not weights) and can be scored on it.
    let dice = crops_dice(&loaded, &crops).unwrap();
    assert!((0.0..=1.0).contains(&dice), "{dice}");
    // A package without one has an empty set; a set of the wrong size is refused.
    let (_, plain, _) = random_net(&cfg);
    let plain = Package {
        manifest: manifest(&cfg),
        weights: plain,
    };
    assert!(reference_set(&plain).unwrap().is_empty());
    assert!(set_reference_set(&mut plain.weights.clone(), &crops, [h + 1, w]).is_err());
}
