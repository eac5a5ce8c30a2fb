//! Parity with the original: the legacy kit's thigh and leg models (made by the original's own
//! generator scripts with every width ÷ 8, Keras 2.15) imported through the layer graph and
//! run on the exact tensor the original's apply function passed to `predict`. Softmax must
//! match Keras within 1e-4; every level's activation is compared too (thigh).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use common::{keras_weights, layers, max_abs_diff, model_dir, read_npz};
use dafne_ml::keras::import_coscia_unet;
use dafne_ml::package::{ArchitectureSpec, Manifest, Preprocessing, Provenance};
use dafne_ml::{CosciaUnet, Package, UnetConfig};

fn import(model: &str) -> (UnetConfig, CosciaUnet) {
    let (cfg, tensors) =
        import_coscia_unet(&layers(model), keras_weights(model), &Device::Cpu).unwrap();
    let net = CosciaUnet::new(
        &cfg,
        VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu),
    )
    .unwrap();
    (cfg, net)
}

/// Channel 0 (the image) of the kit's `predict_input_left`, (1, S, S, 1).
fn left_input(model: &str) -> Tensor {
    let pre = read_npz(&model_dir(model).join("apply/synthetic.preprocessed.npz"));
    let input = &pre["predict_input_left"];
    let t = Tensor::from_vec(input.values.clone(), input.shape.as_slice(), &Device::Cpu).unwrap();
    t.narrow(3, 0, 1).unwrap().contiguous().unwrap()
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

#[test]
fn thigh_config_is_read_from_the_graph() {
    let (cfg, _) = import("thigh_narrow8");
    assert_eq!(cfg, UnetConfig::thigh().narrowed(8));
    assert_eq!(
        cfg.param_count(),
        419_165,
        "the kit's count for thigh_narrow8"
    );
    assert_eq!(
        UnetConfig::thigh().param_count(),
        26_578_445,
        "generate_thigh_split_model.py's count"
    );
    assert_eq!(cfg.level_sizes(0), [250, 125, 62, 31, 15, 5]);
}

#[test]
fn thigh_softmax_and_levels_match_keras() {
    let (_, net) = import("thigh_narrow8");
    let acts = net
        .forward_activations(&left_input("thigh_narrow8"))
        .unwrap();
    let reference =
        read_npz(&model_dir("thigh_narrow8").join("apply/synthetic.activations_left.npz"));
    // The kit's keys are numbered in network order: "00_Level1_l" .. "12_softmax".
    assert_eq!(acts.len(), reference.len());
    let mut names = Vec::new();
    for ((name, t), (key, want)) in acts.iter().zip(&reference) {
        assert_eq!(
            key.split_once('_').map(|k| k.1),
            Some(name.as_str()),
            "order of levels"
        );
        assert_eq!(t.dims(), want.shape.as_slice(), "{name} shape");
        let (diff, at) = max_abs_diff(&values(t), &want.values);
        let scale = want.values.iter().fold(0f32, |m, v| m.max(v.abs()));
        println!("thigh {key}: max |ours - keras| = {diff:.3e} at {at} (max |keras| {scale:.3})");
        assert!(diff <= 1e-4 * scale.max(1.0), "{name}: {diff} at {at}");
        names.push(name.clone());
    }
    assert_eq!(names.len(), 13, "every reference level compared: {names:?}");

    let softmax = read_npz(&model_dir("thigh_narrow8").join("apply/synthetic.softmax_left.npz"));
    let ours = net.forward(&left_input("thigh_narrow8")).unwrap();
    let (diff, at) = max_abs_diff(&values(&ours), &softmax["softmax"].values);
    println!("thigh softmax (synthetic.softmax_left.npz): max abs diff {diff:.3e} at {at}");
    assert!(diff <= 1e-4, "softmax differs by {diff} at {at}");
}

#[test]
fn leg_softmax_matches_keras() {
    let (cfg, net) = import("leg_narrow8");
    assert_eq!(cfg, UnetConfig::leg().narrowed(8));
    assert_eq!(
        cfg.param_count(),
        419_135,
        "the kit's count for leg_narrow8"
    );
    assert_eq!(cfg.level_sizes(0), [216, 108, 54, 27, 13, 4]);
    let ours = net.forward(&left_input("leg_narrow8")).unwrap();
    let softmax = read_npz(&model_dir("leg_narrow8").join("apply/synthetic.softmax_left.npz"));
    let want = &softmax["softmax"];
    assert_eq!(ours.dims(), want.shape.as_slice());
    let (diff, at) = max_abs_diff(&values(&ours), &want.values);
    println!("leg softmax (synthetic.softmax_left.npz): max abs diff {diff:.3e} at {at}");
    assert!(diff <= 1e-4, "softmax differs by {diff} at {at}");
}

/// Batch inference gives each image the result it gets alone (the left and the mirrored right
/// crop of the kit, stacked).
#[test]
fn batch_of_two_equals_one_by_one() {
    let (_, net) = import("thigh_narrow8");
    let pre = read_npz(&model_dir("thigh_narrow8").join("apply/synthetic.preprocessed.npz"));
    let crops: Vec<Tensor> = ["predict_input_left", "predict_input_right"]
        .iter()
        .map(|k| {
            let a = &pre[*k];
            let t = Tensor::from_vec(a.values.clone(), a.shape.as_slice(), &Device::Cpu).unwrap();
            t.narrow(3, 0, 1).unwrap().contiguous().unwrap()
        })
        .collect();
    let batch = net.forward(&Tensor::cat(&crops, 0).unwrap()).unwrap();
    for (i, crop) in crops.iter().enumerate() {
        let alone = net.forward(crop).unwrap();
        let (diff, _) = max_abs_diff(&values(&batch.narrow(0, i, 1).unwrap()), &values(&alone));
        assert!(diff <= 1e-6, "batch item {i} differs by {diff}");
    }
    assert!(net
        .forward(&Tensor::zeros((1, 216, 216, 1), DType::F32, &Device::Cpu).unwrap())
        .is_err());
}

/// Imported weights written as a package and read back give the same softmax.
#[test]
fn imported_package_round_trip_keeps_parity() {
    let (cfg, tensors) = import_coscia_unet(
        &layers("thigh_narrow8"),
        keras_weights("thigh_narrow8"),
        &Device::Cpu,
    )
    .unwrap();
    let mut package = Package {
        manifest: Manifest {
            format_version: 1,
            id: "210e2a21-1984-4e6f-8675-bf57bbabef2f".into(),
            version: 1_610_001_000,
            name: "Thigh (kit, widths ÷ 8)".into(),
            description: String::new(),
            architecture: ArchitectureSpec::coscia_unet(&cfg),
            input_channels: vec!["image".into()],
            labels: Vec::new(),
            preprocessing: Preprocessing {
                resolution_mm: 1.037037,
                canvas_px: 432,
                crop_px: cfg.input_size,
                normalise_max: 600.0,
                bias_correction: None,
                split_laterality: true,
                orientation: "axial".into(),
            },
            variants: vec![String::new(), "Left".into(), "Right".into()],
            categories: vec![vec!["MSK".into(), "Muscle".into(), "Lower limbs".into()]],
            dimensionality: 2,
            incremental_learning: None,
            weights_sha256: String::new(),
            licence: "GPL-3.0-or-later".into(),
            provenance: Provenance {
                trained_on: "legacy kit Thigh_1610001000.model (seeded random weights)".into(),
                ..Default::default()
            },
        },
        weights: tensors,
    };
    let dir = tempfile::tempdir().unwrap();
    package.save(dir.path()).unwrap();
    let loaded = Package::load(dir.path(), &Device::Cpu).unwrap();
    let net = loaded.coscia_unet(&Device::Cpu).unwrap();
    let ours = net.forward(&left_input("thigh_narrow8")).unwrap();
    let softmax = read_npz(&model_dir("thigh_narrow8").join("apply/synthetic.softmax_left.npz"));
    let (diff, at) = max_abs_diff(&values(&ours), &softmax["softmax"].values);
    assert!(
        diff <= 1e-4,
        "softmax after the package round trip differs by {diff} at {at}"
    );
}

/// A weight list or layer graph that does not fit is refused with a clear error, never
/// mapped silently.
#[test]
fn import_refuses_graphs_and_weights_that_do_not_fit() {
    let layers = layers("thigh_narrow8");
    let weights = keras_weights("thigh_narrow8");
    let refuse = |layers: &[dafne_ml::keras::KerasLayer],
                  weights: Vec<dafne_ml::keras::KerasWeight>,
                  want: &str| {
        let err = import_coscia_unet(layers, weights, &Device::Cpu).unwrap_err();
        assert!(matches!(err, dafne_ml::MlError::KerasGraph { .. }), "{err}");
        assert!(err.to_string().contains(want), "{err} lacks {want:?}");
    };

    let mut short = weights.clone();
    short.pop();
    refuse(&layers, short, "weight list ends");

    let mut long = weights.clone();
    long.push(weights[0].clone());
    refuse(&layers, long, "more weights");

    // Weights listed in another order than the layers (the manifest's layer names disagree).
    let mut shifted = weights.clone();
    shifted.swap(0, 6);
    refuse(&layers, shifted, "weight order differs");

    // A kernel of the wrong shape.
    let mut reshaped = weights.clone();
    reshaped[6].shape = vec![3, 3, 2, 8];
    refuse(&layers, reshaped, "expected 3×3");

    // The first decoder concatenation reading [up-sampled, skip]: the input-channel order of
    // the conv after it would be wrong.
    let mut swapped = layers.clone();
    let concat = swapped
        .iter_mut()
        .find(|l| l.class == "Concatenate")
        .unwrap();
    concat.inputs.reverse();
    refuse(&swapped, weights, "does not read [encoder skip");
}

/// The importer reads widths from the graph: the kit's thigh graph with every width × 8 (the
/// real model's shape, placeholder weights) imports as the full-width config.
#[test]
fn full_width_graph_imports_as_the_original_thigh() {
    let mut layers = layers("thigh_narrow8");
    let head = layers.iter().rposition(|l| l.class == "Conv2D").unwrap();
    for (i, layer) in layers.iter_mut().enumerate() {
        if i == head {
            continue;
        }
        if let Some(f) = layer.config.get("filters").and_then(|f| f.as_u64()) {
            layer.config["filters"] = (f * 8).into();
        }
    }
    let classes = 13;
    let widen = |d: usize| if d == 1 || d == classes { d } else { d * 8 };
    let weights: Vec<_> = keras_weights("thigh_narrow8")
        .into_iter()
        .map(|w| {
            let mut shape = w.shape.clone();
            let n = shape.len();
            for d in shape.iter_mut().skip(n.saturating_sub(2)) {
                *d = widen(*d);
            }
            let count = shape.iter().product();
            dafne_ml::keras::KerasWeight {
                layer: w.layer,
                shape,
                values: vec![0.01; count],
            }
        })
        .collect();
    let total: usize = weights.iter().map(|w| w.values.len()).sum();
    assert_eq!(total, 26_578_445);
    let (cfg, tensors) = import_coscia_unet(&layers, weights, &Device::Cpu).unwrap();
    assert_eq!(cfg, UnetConfig::thigh());
    assert_eq!(
        tensors.values().map(|t| t.elem_count()).sum::<usize>(),
        26_578_445
    );
    CosciaUnet::new(
        &cfg,
        VarBuilder::from_tensors(tensors, DType::F32, &Device::Cpu),
    )
    .unwrap();
}
