//! Import of the original's `.model` files: the legacy kit's Thigh and Leg models (Keras 2
//! and the Keras 3 / numpy 2 re-dumps) become packages whose tensors equal the layer-graph
//! import's, whose softmax matches Keras on the kit's input, and whose manifest carries the
//! original's labels, preprocessing and learning recipe. Damaged files, other pickles, other
//! model types and weight lists of other networks are refused with clear messages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::PathBuf;

use candle_core::{Device, Tensor};
use common::{keras_weights, layers, max_abs_diff, model_dir, read_npz};
use dafne_ml::keras::import_coscia_unet;
use dafne_ml::legacy::{import_dafne_model, import_parsed};
use dafne_ml::package::sha256_hex;
use dafne_ml::{MlError, Package, UnetConfig};

fn model_file(model: &str, keras3: bool) -> PathBuf {
    let (dir, stem) = match model {
        "thigh" => ("thigh_narrow8", "Thigh_1610001000"),
        _ => ("leg_narrow8", "Leg_1610001000"),
    };
    let suffix = if keras3 { "_keras3_numpy2" } else { "" };
    model_dir(dir).join(format!("{stem}{suffix}.model"))
}

fn import(model: &str, keras3: bool) -> (Package, Vec<u8>) {
    let path = model_file(model, keras3);
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{e}: {}", path.display()));
    let name = path.file_name().unwrap().to_str().unwrap().to_string();
    (import_dafne_model(&bytes, &name).unwrap(), bytes)
}

fn values(t: &Tensor) -> Vec<f32> {
    t.flatten_all().unwrap().to_vec1().unwrap()
}

#[test]
fn thigh_manifest_carries_the_originals_facts() {
    let (p, bytes) = import("thigh", false);
    let m = &p.manifest;
    assert_eq!(m.id, "210e2a21-1984-4e6f-8675-bf57bbabef2f");
    assert_eq!(m.version, 1_610_001_000);
    assert_eq!(m.name, "Thigh");
    assert_eq!(m.description, "Segmentation of the muscles of the thigh");
    let dafne_ml::package::Architecture::CosciaUnet(cfg) = p.architecture().unwrap();
    assert_eq!(cfg, UnetConfig::thigh().narrowed(8));
    assert_eq!(cfg.param_count(), 419_165);
    assert_eq!(m.labels.len(), 12);
    assert_eq!(
        (
            m.labels[0].value,
            m.labels[0].name.as_str(),
            m.labels[0].long_name.as_str()
        ),
        (1, "VL", "Vastus Lateralis")
    );
    assert_eq!(m.labels[11].long_name, "Adductor Longus");
    let pre = &m.preprocessing;
    assert_eq!(pre.resolution_mm, 1.037037);
    assert_eq!(pre.canvas_px, 432);
    assert_eq!(pre.crop_px, [250, 250]);
    assert_eq!(pre.normalise_max, 600.0);
    let bc = pre.bias_correction.as_ref().unwrap();
    assert_eq!(
        (bc.levels, bc.iterations, bc.otsu_bins, bc.rescale_below),
        (8, 50, 200, 350.0)
    );
    assert!(pre.split_laterality);
    assert_eq!(pre.orientation, "axial");
    assert_eq!(m.variants, ["", "Left", "Right"]);
    assert_eq!(m.categories, [["MSK", "Muscle", "Lower limbs"]]);
    assert_eq!(m.dimensionality, 2);
    let il = m.incremental_learning.as_ref().unwrap();
    assert_eq!(il.boundary_band_px2, 49.0);
    assert_eq!(il.learning_rate, 0.001);
    assert_eq!(
        (il.epochs, il.batch_size, il.min_training_images),
        (5, 5, 5)
    );
    assert_eq!(il.boundary_weight, 10.0);
    assert!(il.class_frequency_weights);
    let d = &m.provenance.details;
    assert_eq!(d["source_file"], "Thigh_1610001000.model");
    assert_eq!(d["source_sha256"], sha256_hex(&bytes));
    assert_eq!(
        d["source_sha256"], "dce37a5aaed171394a7262c2b1b360f82a662004e7a769174a8c0779fcfeabbe",
        "model.truth.json's sha256"
    );
    assert!(m.provenance.parent.is_none());
}

#[test]
fn leg_manifest_uses_the_leg_labels_and_band() {
    let (p, _) = import("leg", false);
    let m = &p.manifest;
    assert_eq!(m.id, "ba333b4d-90e7-4108-aca5-9216f408d91e");
    assert_eq!(m.name, "Leg");
    let names: Vec<_> = m.labels.iter().map(|l| l.name.as_str()).collect();
    assert_eq!(names, ["SOL", "GM", "GL", "TA", "ELD", "PE"]);
    assert_eq!(m.preprocessing.crop_px, [216, 216]);
    assert_eq!(
        m.incremental_learning.as_ref().unwrap().boundary_band_px2,
        64.0
    );
    let dafne_ml::package::Architecture::CosciaUnet(cfg) = p.architecture().unwrap();
    assert_eq!(cfg, UnetConfig::leg().narrowed(8));
}

/// The weights-only rebuild gives exactly the tensors of the import through the kit's real
/// Keras layer graph, for both Keras versions' files.
#[test]
fn tensors_equal_the_layer_graph_import() {
    for (model, kit) in [("thigh", "thigh_narrow8"), ("leg", "leg_narrow8")] {
        let (cfg, want) =
            import_coscia_unet(&layers(kit), keras_weights(kit), &Device::Cpu).unwrap();
        for keras3 in [false, true] {
            let (p, _) = import(model, keras3);
            assert_eq!(
                p.manifest.architecture,
                dafne_ml::package::ArchitectureSpec::coscia_unet(&cfg)
            );
            assert_eq!(p.weights.len(), want.len(), "{model} keras3={keras3}");
            for (name, t) in &want {
                let ours = &p.weights[name];
                assert_eq!(ours.dims(), t.dims(), "{model} {name}");
                assert_eq!(values(ours), values(t), "{model} keras3={keras3} {name}");
            }
        }
    }
}

/// The imported package, saved and loaded back, gives Keras' softmax on the kit's input.
#[test]
fn imported_package_softmax_matches_keras() {
    for (model, kit) in [("thigh", "thigh_narrow8"), ("leg", "leg_narrow8")] {
        let (mut p, _) = import(model, false);
        let tmp = tempfile::tempdir().unwrap();
        p.save(tmp.path()).unwrap();
        let loaded = Package::load(tmp.path(), &Device::Cpu).unwrap();
        assert_eq!(loaded.manifest, p.manifest);
        let net = loaded.coscia_unet(&Device::Cpu).unwrap();
        let pre = read_npz(&model_dir(kit).join("apply/synthetic.preprocessed.npz"));
        let input = &pre["predict_input_left"];
        let x = Tensor::from_vec(input.values.clone(), input.shape.as_slice(), &Device::Cpu)
            .unwrap()
            .narrow(3, 0, 1)
            .unwrap()
            .contiguous()
            .unwrap();
        let ours = net.forward(&x).unwrap();
        let softmax = read_npz(&model_dir(kit).join("apply/synthetic.softmax_left.npz"));
        let want = &softmax["softmax"];
        assert_eq!(ours.dims(), want.shape.as_slice());
        let (diff, at) = max_abs_diff(&values(&ours), &want.values);
        println!("{model}: imported package softmax max abs diff {diff:.3e} at {at}");
        assert!(diff <= 1e-4, "{model}: softmax differs by {diff} at {at}");
    }
}

fn input_error(r: Result<Package, MlError>) -> String {
    match r {
        Err(MlError::Input { why }) => why,
        Err(e) => panic!("expected an input error, got {e:?}"),
        Ok(_) => panic!("expected an error"),
    }
}

#[test]
fn damaged_files_and_other_pickles_are_refused() {
    let bytes = std::fs::read(model_file("thigh", false)).unwrap();
    let why = input_error(import_dafne_model(&bytes[..bytes.len() / 2], "t.model"));
    assert!(why.contains("ends early"), "{why}");
    let why = input_error(import_dafne_model(b"this is not a pickle", "t.model"));
    assert!(why.contains("cannot load the model file"), "{why}");
    // pickle.dumps({'a': 1}, protocol=2) and pickle.dumps([], protocol=2)
    let dict = b"\x80\x02}q\x00X\x01\x00\x00\x00aq\x01K\x01s.";
    let why = input_error(import_dafne_model(dict, "d.model"));
    assert!(why.contains("not a Dafne model file"), "{why}");
    let why = input_error(import_dafne_model(b"\x80\x02]q\x00.", "l.model"));
    assert!(why.contains("not a Dafne model file"), "{why}");
    // The same file claiming another model class (same length, so the pickle stays valid).
    let other: Vec<u8> = replace_all(&bytes, b"DynamicDLModel", b"DynamicTMModel");
    let why = input_error(import_dafne_model(&other, "t.model"));
    assert!(
        why.contains("DynamicTMModel") && why.contains("Torch"),
        "{why}"
    );
}

fn replace_all(haystack: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = haystack.to_vec();
    let mut i = 0;
    let mut hits = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            hits += 1;
            i += from.len();
        } else {
            i += 1;
        }
    }
    assert!(hits > 0);
    out
}

#[test]
fn other_networks_and_missing_facts_are_refused() {
    let path = model_file("leg", false);
    let file = dafne_io::legacy::read_model_file(&path).unwrap();
    let sha = "0".repeat(64);
    import_parsed(&file, &sha, "Leg.model").unwrap();

    let mut short = file.clone();
    short.weights.truncate(short.weights.len() - 2);
    let why = input_error(import_parsed(&short, &sha, "Leg.model"));
    assert!(why.contains("not those of a coscia_unet"), "{why}");

    let mut no_input = file.clone();
    let init = no_input
        .function_sources
        .get_mut("init_model_function")
        .unwrap();
    *init = init.replace("Input(shape=", "Input(batch_shape=");
    let why = input_error(import_parsed(&no_input, &sha, "Leg.model"));
    assert!(why.contains("input size"), "{why}");

    let mut wrong_crop = file.clone();
    let apply = wrong_crop
        .function_sources
        .get_mut("apply_model_function")
        .unwrap();
    *apply = apply.replace(
        "MODEL_SIZE_SPLIT = (216, 216)",
        "MODEL_SIZE_SPLIT = (250, 250)",
    );
    let why = input_error(import_parsed(&wrong_crop, &sha, "Leg.model"));
    assert!(why.contains("crops to"), "{why}");

    let mut unknown = file.clone();
    let apply = unknown
        .function_sources
        .get_mut("apply_model_function")
        .unwrap();
    *apply = apply.replace("labels.leg", "labels.arm");
    unknown.metadata["model_name"] = "Arm".into();
    let why = input_error(import_parsed(&unknown, &sha, "Arm.model"));
    assert!(why.contains("label names"), "{why}");

    let mut torch = file.clone();
    torch.model_type = "DynamicTorchModel".into();
    let why = input_error(import_parsed(&torch, &sha, "Kidney.model"));
    assert!(why.contains("not Torch"), "{why}");

    let mut delta = file;
    delta.is_delta = true;
    let why = input_error(import_parsed(&delta, &sha, "Leg.model"));
    assert!(why.contains("delta"), "{why}");
}
