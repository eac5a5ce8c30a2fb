//! The original Dafne's model files (`.model`) against what the original wrote and reads back
//! (`dafne-legacy/models/*/model.truth.json`, `weights_manifest.json`, `Thigh.json`/`Leg.json`,
//! the incremental-learning weight dumps): scalars, metadata, keys, function sources, every
//! weight's shape and bits; then hostile and broken pickles (made once with Python 3.11,
//! numpy 2.4 and dill 0.4.1 by the script at the end of this file and embedded as bytes).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::io::Read;
use std::path::{Path, PathBuf};

use dafne_core::Voxels;
use dafne_io::legacy::{
    parse_model_file, read_model_file, DecodeError, LegacyError, LegacyModelFile,
};
use dafne_io::numpy::read_npy_bytes;
use serde_json::{json, Value};

fn models_dir() -> PathBuf {
    common::data_dir().join("dafne-legacy/models")
}

fn json_file(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// (model folder, metadata json, file) for every `.model` of the kit.
const KIT: [(&str, &str, &str); 5] = [
    ("thigh_narrow8", "Thigh.json", "Thigh_1610001000.model"),
    (
        "thigh_narrow8",
        "Thigh.json",
        "Thigh_1610001000_keras3_numpy2.model",
    ),
    (
        "thigh_narrow8",
        "Thigh.json",
        "incremental_learning/Thigh_1610001001_after_IL.model",
    ),
    ("leg_narrow8", "Leg.json", "Leg_1610001000.model"),
    (
        "leg_narrow8",
        "Leg.json",
        "Leg_1610001000_keras3_numpy2.model",
    ),
];

fn read(folder: &str, file: &str) -> LegacyModelFile {
    let path = models_dir().join(folder).join(file);
    read_model_file(&path).unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn every_model_file_matches_what_the_original_wrote() {
    for (folder, json_name, file) in KIT {
        let truth = json_file(&models_dir().join(folder).join("model.truth.json"));
        let facts = &truth["file"];
        let path = models_dir().join(folder).join(file);
        let bytes = std::fs::read(&path).unwrap();
        let model = read(folder, file);
        let after_il = file.contains("after_IL");
        let redumped = after_il || file.contains("keras3");
        // The file is the one the truth describes.
        if file
            == truth["model_file"]
                .as_str()
                .unwrap()
                .rsplit('/')
                .next()
                .unwrap()
        {
            assert_eq!(bytes.len() as u64, facts["bytes"].as_u64().unwrap());
            assert_eq!(
                common::sha256_hex(&bytes),
                facts["sha256"].as_str().unwrap()
            );
        }
        if after_il {
            let il = &truth["incremental_learning"];
            assert_eq!(
                il["model_after_il"].as_str().unwrap(),
                Path::new(file).file_name().unwrap().to_str().unwrap()
            );
            assert_eq!(
                bytes.len() as u64,
                il["model_after_il_bytes"].as_u64().unwrap()
            );
        }

        // Scalars.
        let scalars = &facts["scalars"];
        assert_eq!(
            model.model_id,
            scalars["model_id"].as_str().unwrap(),
            "{file}"
        );
        let timestamp = scalars["timestamp_id"].as_i64().unwrap() + i64::from(after_il);
        assert_eq!(model.timestamp_id, timestamp, "{file}");
        assert_eq!(model.is_delta, scalars["is_delta"].as_bool().unwrap());
        assert_eq!(
            model.data_dimensionality,
            scalars["data_dimensionality"].as_i64().unwrap()
        );
        assert_eq!(model.model_type, scalars["type"].as_str().unwrap());

        // Metadata: the pickled dict, and the JSON the original writes beside the model
        // (`get_metadata()` adds `type` and `can_incremental_learn`).
        assert_eq!(model.metadata, facts["metadata"], "{file}");
        let side = json_file(&models_dir().join(folder).join(json_name));
        let side = side.as_object().unwrap();
        let ours = model.metadata.as_object().unwrap();
        for (key, value) in ours {
            assert_eq!(side.get(key), Some(value), "{file}: {key}");
        }
        let extra: BTreeSet<&str> = side
            .keys()
            .filter(|k| !ours.contains_key(*k))
            .map(String::as_str)
            .collect();
        assert_eq!(extra, BTreeSet::from(["can_incremental_learn", "type"]));
        assert_eq!(side["type"], json!(model.model_type));
        assert_eq!(
            side["dimensionality"],
            json!(model.data_dimensionality.to_string())
        );

        // Keys: the fixed ones plus one per stored function.
        let truth_keys: BTreeSet<&str> = facts["keys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| k.as_str().unwrap())
            .collect();
        let mut keys = BTreeSet::from([
            "model_id",
            "weights",
            "timestamp_id",
            "is_delta",
            "data_dimensionality",
            "type",
            "metadata",
        ]);
        keys.extend(model.function_sources.keys().map(String::as_str));
        assert_eq!(keys, truth_keys, "{file}");

        // Function sources: "str, N chars, first line: ..." per function, kept as text.
        let sources = facts["function_sources"].as_object().unwrap();
        assert_eq!(sources.len(), model.function_sources.len());
        for (name, summary) in sources {
            let summary = summary.as_str().unwrap();
            let (chars, first_line) = summary
                .strip_prefix("str, ")
                .and_then(|s| s.split_once(" chars, first line: "))
                .unwrap();
            let source = &model.function_sources[name];
            assert_eq!(source.lines().next().unwrap(), first_line, "{file}: {name}");
            // Re-dumped files hold the source as the original's loader patched it
            // (`from dl` -> `from dafne_dl`); the truth counts the generated file's.
            if !redumped {
                let count = source.chars().count();
                assert_eq!(count, chars.parse::<usize>().unwrap(), "{file}: {name}");
            }
        }

        // Weights: count, shapes in Keras order, parameters.
        let manifest = json_file(&models_dir().join(folder).join("weights_manifest.json"));
        let manifest = manifest.as_array().unwrap();
        assert_eq!(model.weights.len(), manifest.len(), "{file}");
        assert_eq!(
            model.weights.len() as u64,
            facts["n_weight_arrays"].as_u64().unwrap()
        );
        for (i, (w, entry)) in model.weights.iter().zip(manifest).enumerate() {
            assert_eq!(entry["index"].as_u64().unwrap(), i as u64);
            let shape: Vec<usize> = entry["shape"]
                .as_array()
                .unwrap()
                .iter()
                .map(|d| d.as_u64().unwrap() as usize)
                .collect();
            assert_eq!(w.shape, shape, "{file}: weight {i}");
            assert_eq!(w.data.len(), shape.iter().product::<usize>());
            assert!(w.data.iter().all(|v| v.is_finite()), "{file}: weight {i}");
        }
        assert_eq!(
            model.param_count() as u64,
            truth["param_count"].as_u64().unwrap(),
            "{file}"
        );
    }
}

fn bits(model: &LegacyModelFile) -> Vec<Vec<u32>> {
    model
        .weights
        .iter()
        .map(|w| w.data.iter().map(|v| v.to_bits()).collect())
        .collect()
}

#[test]
fn the_keras3_numpy2_dump_holds_the_same_weights_bit_for_bit() {
    for (folder, stem) in [("thigh_narrow8", "Thigh"), ("leg_narrow8", "Leg")] {
        let keras2 = read(folder, &format!("{stem}_1610001000.model"));
        let keras3 = read(folder, &format!("{stem}_1610001000_keras3_numpy2.model"));
        assert_eq!(bits(&keras2), bits(&keras3), "{stem}");
        assert_eq!(
            keras2.weights.iter().map(|w| &w.shape).collect::<Vec<_>>(),
            keras3.weights.iter().map(|w| &w.shape).collect::<Vec<_>>()
        );
        assert_eq!(keras2.metadata, keras3.metadata);
        // dafne_dl's loader patches old imports in the source before re-dumping it.
        assert_eq!(
            keras2.function_sources.keys().collect::<Vec<_>>(),
            keras3.function_sources.keys().collect::<Vec<_>>()
        );
        for (name, source) in &keras2.function_sources {
            let patched = source
                .replace("from dl", "from dafne_dl")
                .replace("import dl", "import dafne_dl");
            assert!(patched == keras3.function_sources[name], "{stem}: {name}");
        }
    }
}

/// `w000`, `w001`, ... of an npz as (shape, bits).
fn npz_weights(path: &Path) -> Vec<(Vec<usize>, Vec<u32>)> {
    let mut zip = zip::ZipArchive::new(std::fs::File::open(path).unwrap()).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut member = zip.by_name(&format!("w{i:03}.npy")).unwrap();
            let mut bytes = Vec::new();
            member.read_to_end(&mut bytes).unwrap();
            let array = read_npy_bytes(&bytes).unwrap();
            assert!(!array.fortran_order);
            let Voxels::F32(data) = array.voxels else {
                panic!("w{i:03} is not float32")
            };
            (array.shape, data.iter().map(|v| v.to_bits()).collect())
        })
        .collect()
}

#[test]
fn weights_equal_the_ones_keras_held_before_and_after_incremental_learning() {
    let il = models_dir().join("thigh_narrow8/incremental_learning");
    for (file, npz) in [
        ("Thigh_1610001000.model", "weights_before.npz"),
        (
            "incremental_learning/Thigh_1610001001_after_IL.model",
            "weights_after.npz",
        ),
    ] {
        let model = read("thigh_narrow8", file);
        let expected = npz_weights(&il.join(npz));
        assert_eq!(expected.len(), 188);
        let ours: Vec<(Vec<usize>, Vec<u32>)> = model
            .weights
            .iter()
            .map(|w| w.shape.clone())
            .zip(bits(&model))
            .collect();
        assert_eq!(ours.len(), expected.len());
        for (i, (a, b)) in ours.iter().zip(&expected).enumerate() {
            assert!(a == b, "{file}: weight {i} differs from {npz}");
        }
    }
    // Learning changed every array, so the two comparisons are not the same one twice.
    let before = read("thigh_narrow8", "Thigh_1610001000.model");
    let after = read(
        "thigh_narrow8",
        "incremental_learning/Thigh_1610001001_after_IL.model",
    );
    let changed = bits(&before)
        .iter()
        .zip(bits(&after))
        .filter(|(a, b)| *a != b)
        .count();
    assert_eq!(changed, 188);
}

#[test]
fn reading_the_thigh_model_is_fast() {
    let path = models_dir().join("thigh_narrow8/Thigh_1610001000.model");
    let bytes = std::fs::read(&path).unwrap();
    let start = std::time::Instant::now();
    let runs = 5;
    for _ in 0..runs {
        let model = parse_model_file(&bytes).unwrap();
        assert_eq!(model.weights.len(), 188);
    }
    let per_read = start.elapsed() / runs;
    eprintln!(
        "parse_model_file: {:.2} ms per read of {} bytes",
        per_read.as_secs_f64() * 1e3,
        bytes.len()
    );
    // Generous: a test build reads it in a few ms; this only catches a pathological slowdown.
    assert!(per_read < std::time::Duration::from_secs(2), "{per_read:?}");
}

fn decode_error(bytes: &[u8]) -> DecodeError {
    match parse_model_file(bytes) {
        Err(LegacyError::ModelBytes(e)) => e,
        Err(other) => panic!("unexpected error kind: {other}"),
        Ok(m) => panic!(
            "decoded a model with {} weights from bad input",
            m.weights.len()
        ),
    }
}

#[test]
fn a_small_model_decodes_every_dtype_and_layout() {
    let m = parse_model_file(TINY_MODEL).unwrap();
    assert_eq!(m.model_id, "tiny-0001");
    assert_eq!(m.timestamp_id, 1_700_000_000);
    assert!(m.is_delta);
    assert_eq!(m.data_dimensionality, 3);
    assert_eq!(m.model_type, "DynamicDLModel");
    assert_eq!(
        m.metadata,
        json!({"model_name": "Tiny", "variants": ["", "Left"], "info": {"Ratio": 1.5, "n": -3},
               "shape": [1, 2], "none": null, "7": true})
    );
    // incremental_learn_function is None: left out. The source is returned, not run.
    assert_eq!(m.function_sources.len(), 1);
    assert_eq!(
        m.function_sources["init_model_function"],
        "def make():\n    import os\n    os.system(\"echo never\")\n"
    );
    let w: Vec<(Vec<usize>, Vec<f32>)> = m
        .weights
        .iter()
        .map(|w| (w.shape.clone(), w.data.clone()))
        .collect();
    assert_eq!(
        w,
        [
            (vec![2, 3], vec![0.0, 0.5, 1.0, 1.5, 2.0, 2.5]), // float32
            (vec![2], vec![1.5, -2.0]),                       // big-endian float32
            (vec![3, 2], vec![0.0, 1.0, 2.0, 3.0, 4.0, 5.0]), // Fortran order, read back in C order
            (vec![2], vec![0.25, -65504.0]),                  // float16, widened
            (vec![2, 1], vec![0.5, 3.0]),                     // float64 holding float32 values
        ]
    );
    assert_eq!(m.param_count(), 18);

    let plain = parse_model_file(PROTOCOL2_PLAIN).unwrap();
    assert_eq!(plain.weights[0].shape, [1, 2]);
    assert_eq!(plain.weights[0].data, [1.0, -0.5]);
    assert_eq!(plain.data_dimensionality, 2);
}

#[test]
fn every_prefix_of_a_model_is_a_truncation_error() {
    for len in 0..TINY_MODEL.len() {
        let e = decode_error(&TINY_MODEL[..len]);
        assert!(matches!(e, DecodeError::Truncated { .. }), "[..{len}]: {e}");
    }
    let bytes = std::fs::read(models_dir().join("leg_narrow8/Leg_1610001000.model")).unwrap();
    let n = bytes.len();
    for len in [
        0,
        1,
        2,
        11,
        12,
        107,
        5000,
        n / 3,
        n / 2,
        n - 5000,
        n - 2,
        n - 1,
    ] {
        let e = decode_error(&bytes[..len]);
        assert!(matches!(e, DecodeError::Truncated { .. }), "[..{len}]: {e}");
    }
}

/// `{'model_id': 'm', 'weights': os.system('echo')}` by hand (protocol 4 without a frame).
const OS_SYSTEM: &[u8] =
    b"\x80\x04}\x94(\x8c\x08model_id\x8c\x01m\x8c\x07weights\x8c\x02os\x8c\x06system\x93\x8c\x04echo\x85Ru.";

#[test]
fn code_and_functions_are_refused_by_name() {
    for (bytes, name) in [
        (OS_SYSTEM, "os.system"),
        (BUILTINS_EXEC, "builtins.exec"),
        (DILL_FUNCTION, "dill._dill._create_function"),
        (DILL_CODE, "dill._dill._create_code"),
    ] {
        let e = decode_error(bytes);
        assert!(
            matches!(&e, DecodeError::Forbidden { global } if global == name),
            "{name}: {e}"
        );
        assert!(e.to_string().contains(name), "{e}");
    }
}

#[test]
fn weights_that_are_not_float_arrays_are_refused() {
    let e = decode_error(NOT_ARRAYS);
    assert!(
        matches!(&e, DecodeError::Weight { index: 1, reason } if reason.contains("list")),
        "{e}"
    );
    let e = decode_error(INT_WEIGHTS);
    assert!(
        matches!(&e, DecodeError::Weight { index: 0, reason } if reason.contains("i4")),
        "{e}"
    );
    let e = decode_error(ARRAY_WITHOUT_DATA);
    assert!(
        matches!(&e, DecodeError::Weight { index: 0, reason } if reason.contains("never got its data")),
        "{e}"
    );
    let e = decode_error(INEXACT_F64);
    assert!(
        matches!(&e, DecodeError::Weight { index: 0, reason } if reason.contains("float64")),
        "{e}"
    );
}

#[test]
fn shapes_that_overflow_or_mismatch_the_data_are_refused() {
    for bytes in [SHAPE_OVERFLOW, SHAPE_MISMATCH] {
        let e = decode_error(bytes);
        assert!(
            matches!(&e, DecodeError::Malformed { reason, .. } if reason.contains("does not match")),
            "{e}"
        );
    }
    let e = decode_error(ZERO_AXIS_HUGE);
    assert!(
        matches!(&e, DecodeError::Weight { index: 0, reason } if reason.contains("too large")),
        "{e}"
    );
}

#[test]
fn wrong_structure_is_a_clear_error() {
    for (bytes, needle) in [
        (NOT_A_DICT, "list"),
        (NO_MODEL_ID, "model_id"),
        (BYTES_METADATA, "bytes"),
        // One 400-byte array listed 1000 times: refused instead of copied 1000 times.
        (ONE_ARRAY_MANY_TIMES, "more data than the file stores"),
    ] {
        let e = decode_error(bytes);
        assert!(
            matches!(&e, DecodeError::Model { reason } if reason.contains(needle)),
            "{needle}: {e}"
        );
    }
    // With a path, the path comes last.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("Bad_1.model");
    std::fs::write(&path, NOT_A_DICT).unwrap();
    let text = read_model_file(&path).unwrap_err().to_string();
    assert!(text.starts_with("cannot load the model file"), "{text}");
    assert!(text.ends_with(&path.display().to_string()), "{text}");
    let missing = dir.path().join("missing.model");
    let text = read_model_file(&missing).unwrap_err().to_string();
    assert!(text.starts_with("cannot read the model file"), "{text}");
    assert!(text.ends_with(&missing.display().to_string()), "{text}");
}

// Made once by this script (Python 3.11.7, numpy 2.4.6, dill 0.4.1):
// import dill, pickle, numpy as np, os, sys, pickletools
// from dill._dill import _create_array
// from numpy._core.multiarray import _reconstruct
//
// def rust(name, b):
//     s = ''.join(chr(c) if 32 <= c < 127 and chr(c) not in '"\\' else '\\x%02x' % c for c in b)
//     print(f'const {name}: &[u8] = b"{s}";')
//
// tiny = {
//     'model_id': 'tiny-0001',
//     'weights': [np.arange(6, dtype=np.float32).reshape(2, 3) * np.float32(0.5),
//                 np.array([1.5, -2.0], dtype='>f4'),
//                 np.asfortranarray(np.arange(6, dtype=np.float32).reshape(3, 2)),
//                 np.array([0.25, -65504], dtype=np.float16),
//                 np.array([[0.5], [3.0]], dtype=np.float64)],
//     'timestamp_id': 1700000000,
//     'is_delta': True,
//     'data_dimensionality': 3,
//     'type': 'DynamicDLModel',
//     'metadata': {'model_name': 'Tiny', 'variants': ['', 'Left'], 'info': {'Ratio': 1.5, 'n': -3}, 'shape': (1, 2), 'none': None, 7: True},
//     'init_model_function': 'def make():\n    import os\n    os.system("echo never")\n',
//     'incremental_learn_function': None,
// }
// rust('TINY_MODEL', dill.dumps(tiny, protocol=4))
//
// class Raw:
//     def __init__(self, r): self.r = r
//     def __reduce__(self): return self.r
//
// def model_with(weights, **extra):
//     d = {'model_id': 'x', 'weights': weights, 'timestamp_id': 1, 'is_delta': False, 'data_dimensionality': 2, 'type': 'DynamicDLModel', 'metadata': {}}
//     d.update(extra)
//     return d
//
// rust('BUILTINS_EXEC', pickle.dumps(model_with([Raw((exec, ('print(1)',)))]), protocol=4))
// def f(x):
//     return x + 1
// rust('DILL_FUNCTION', dill.dumps(model_with([], init_model_function=f), protocol=4))
// rust('DILL_CODE', dill.dumps(model_with([], init_model_function=f.__code__), protocol=4))
// rust('NOT_ARRAYS', dill.dumps(model_with([np.zeros(2, np.float32), [1.0, 2.0]]), protocol=4))
// rust('INT_WEIGHTS', dill.dumps(model_with([np.zeros(2, np.int32)]), protocol=4))
// rust('INEXACT_F64', dill.dumps(model_with([np.array([0.1])]), protocol=4))
// def fake(shape, nbytes):
//     return Raw((_create_array, (_reconstruct, (np.ndarray, (0,), b'b'), (1, shape, np.dtype('f4'), False, b'\0' * nbytes), None)))
// rust('SHAPE_OVERFLOW', pickle.dumps(model_with([fake((2**62, 2**62), 8)]), protocol=4))
// rust('SHAPE_MISMATCH', pickle.dumps(model_with([fake((2, 3), 8)]), protocol=4))
// rust('ZERO_AXIS_HUGE', pickle.dumps(model_with([fake((0, 2**62, 2**62), 0)]), protocol=4))
// a = np.ones(100, np.float32)
// rust('ONE_ARRAY_MANY_TIMES', dill.dumps(model_with([a] * 1000), protocol=4))
// rust('NOT_A_DICT', dill.dumps([np.zeros(2, np.float32)], protocol=4))
// rust('NO_MODEL_ID', dill.dumps({'weights': []}, protocol=4))
// rust('BYTES_METADATA', dill.dumps(model_with([], metadata={'blob': b'\0\1'}), protocol=4))
// # A Python 2 era pickle (protocol 2): numpy arrays through _reconstruct + BUILD, no dill globals.
// rust('PROTOCOL2_PLAIN', pickle.dumps(model_with([np.array([[1.0, -0.5]], np.float32)]), protocol=2))
// rust('ARRAY_WITHOUT_DATA', pickle.dumps(model_with([Raw((_reconstruct, (np.ndarray, (0,), b'b')))]), protocol=4))

const TINY_MODEL: &[u8] = b"\x80\x04\x95Q\x03\x00\x00\x00\x00\x00\x00}\x94(\x8c\x08model_id\x94\x8c\x09tiny-0001\x94\x8c\x07weights\x94]\x94(\x8c\x0adill._dill\x94\x8c\x0d_create_array\x94\x93\x94(\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94(K\x01K\x02K\x03\x86\x94h\x0b\x8c\x05dtype\x94\x93\x94\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x18\x00\x00\x00\x00\x00\x00\x00?\x00\x00\x80?\x00\x00\xc0?\x00\x00\x00@\x00\x00 @\x94t\x94Nt\x94R\x94h\x07(h\x0ah\x0dK\x00\x85\x94h\x0f\x87\x94(K\x01K\x02\x85\x94h\x13\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01>\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x08?\xc0\x00\x00\xc0\x00\x00\x00\x94t\x94Nt\x94R\x94h\x07(h\x0ah\x0dK\x00\x85\x94h\x0f\x87\x94(K\x01K\x03K\x02\x86\x94h\x16\x88C\x18\x00\x00\x00\x00\x00\x00\x00@\x00\x00\x80@\x00\x00\x80?\x00\x00@@\x00\x00\xa0@\x94t\x94Nt\x94R\x94h\x07(h\x0ah\x0dK\x00\x85\x94h\x0f\x87\x94(K\x01K\x02\x85\x94h\x13\x8c\x02f2\x94\x89\x88\x87\x94R\x94(K\x03h\x17NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x04\x004\xff\xfb\x94t\x94Nt\x94R\x94h\x07(h\x0ah\x0dK\x00\x85\x94h\x0f\x87\x94(K\x01K\x02K\x01\x86\x94h\x13\x8c\x02f8\x94\x89\x88\x87\x94R\x94(K\x03h\x17NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x10\x00\x00\x00\x00\x00\x00\xe0?\x00\x00\x00\x00\x00\x00\x08@\x94t\x94Nt\x94R\x94e\x8c\x0ctimestamp_id\x94J\x00\xf1Se\x8c\x08is_delta\x94\x88\x8c\x13data_dimensionality\x94K\x03\x8c\x04type\x94\x8c\x0eDynamicDLModel\x94\x8c\x08metadata\x94}\x94(\x8c\x0amodel_name\x94\x8c\x04Tiny\x94\x8c\x08variants\x94]\x94(\x8c\x00\x94\x8c\x04Left\x94e\x8c\x04info\x94}\x94(\x8c\x05Ratio\x94G?\xf8\x00\x00\x00\x00\x00\x00\x8c\x01n\x94J\xfd\xff\xff\xffu\x8c\x05shape\x94K\x01K\x02\x86\x94\x8c\x04none\x94NK\x07\x88u\x8c\x13init_model_function\x94\x8c6def make():\x0a    import os\x0a    os.system(\x22echo never\x22)\x0a\x94\x8c\x1aincremental_learn_function\x94Nu.";
const BUILTINS_EXEC: &[u8] = b"\x80\x04\x95\x9e\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x08model_id\x94\x8c\x01x\x94\x8c\x07weights\x94]\x94\x8c\x08builtins\x94\x8c\x04exec\x94\x93\x94\x8c\x08print(1)\x94\x85\x94R\x94a\x8c\x0ctimestamp_id\x94K\x01\x8c\x08is_delta\x94\x89\x8c\x13data_dimensionality\x94K\x02\x8c\x04type\x94\x8c\x0eDynamicDLModel\x94\x8c\x08metadata\x94}\x94u.";
const DILL_FUNCTION: &[u8] = b"\x80\x04\x95c\x01\x00\x00\x00\x00\x00\x00}\x94(\x8c\x08model_id\x94\x8c\x01x\x94\x8c\x07weights\x94]\x94\x8c\x0ctimestamp_id\x94K\x01\x8c\x08is_delta\x94\x89\x8c\x13data_dimensionality\x94K\x02\x8c\x04type\x94\x8c\x0eDynamicDLModel\x94\x8c\x08metadata\x94}\x94\x8c\x13init_model_function\x94\x8c\x0adill._dill\x94\x8c\x10_create_function\x94\x93\x94(h\x0d\x8c\x0c_create_code\x94\x93\x94(C\x02\x02\x01\x94K\x01K\x00K\x00K\x01K\x02K\x03C\x0c\x97\x00|\x00d\x01z\x00\x00\x00S\x00\x94NK\x01\x86\x94)h\x02\x85\x94\x8c\x16/tmp/lmodel-gen/gen.py\x94\x8c\x01f\x94h\x17K$C\x0b\x80\x00\xd8\x0b\x0c\x88q\x895\x80L\x94C\x00\x94))t\x94R\x94c__builtin__\x0a__main__\x0ah\x17NNt\x94R\x94}\x94}\x94\x8c\x0f__annotations__\x94}\x94s\x86\x94bu.";
const DILL_CODE: &[u8] = b"\x80\x04\x95\x11\x01\x00\x00\x00\x00\x00\x00}\x94(\x8c\x08model_id\x94\x8c\x01x\x94\x8c\x07weights\x94]\x94\x8c\x0ctimestamp_id\x94K\x01\x8c\x08is_delta\x94\x89\x8c\x13data_dimensionality\x94K\x02\x8c\x04type\x94\x8c\x0eDynamicDLModel\x94\x8c\x08metadata\x94}\x94\x8c\x13init_model_function\x94\x8c\x0adill._dill\x94\x8c\x0c_create_code\x94\x93\x94(C\x02\x02\x01\x94K\x01K\x00K\x00K\x01K\x02K\x03C\x0c\x97\x00|\x00d\x01z\x00\x00\x00S\x00\x94NK\x01\x86\x94)h\x02\x85\x94\x8c\x16/tmp/lmodel-gen/gen.py\x94\x8c\x01f\x94h\x15K$C\x0b\x80\x00\xd8\x0b\x0c\x88q\x895\x80L\x94C\x00\x94))t\x94R\x94u.";
const NOT_ARRAYS: &[u8] = b"\x80\x04\x95D\x01\x00\x00\x00\x00\x00\x00}\x94(\x8c\x08model_id\x94\x8c\x01x\x94\x8c\x07weights\x94]\x94(\x8c\x0adill._dill\x94\x8c\x0d_create_array\x94\x93\x94(\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94(K\x01K\x02\x85\x94h\x0b\x8c\x05dtype\x94\x93\x94\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x08\x00\x00\x00\x00\x00\x00\x00\x00\x94t\x94Nt\x94R\x94]\x94(G?\xf0\x00\x00\x00\x00\x00\x00G@\x00\x00\x00\x00\x00\x00\x00ee\x8c\x0ctimestamp_id\x94K\x01\x8c\x08is_delta\x94\x89\x8c\x13data_dimensionality\x94K\x02\x8c\x04type\x94\x8c\x0eDynamicDLModel\x94\x8c\x08metadata\x94}\x94u.";
const INT_WEIGHTS: &[u8] = b"\x80\x04\x95-\x01\x00\x00\x00\x00\x00\x00}\x94(\x8c\x08model_id\x94\x8c\x01x\x94\x8c\x07weights\x94]\x94\x8c\x0adill._dill\x94\x8c\x0d_create_array\x94\x93\x94(\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94(K\x01K\x02\x85\x94h\x0b\x8c\x05dtype\x94\x93\x94\x8c\x02i4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x08\x00\x00\x00\x00\x00\x00\x00\x00\x94t\x94Nt\x94R\x94a\x8c\x0ctimestamp_id\x94K\x01\x8c\x08is_delta\x94\x89\x8c\x13data_dimensionality\x94K\x02\x8c\x04type\x94\x8c\x0eDynamicDLModel\x94\x8c\x08metadata\x94}\x94u.";
const INEXACT_F64: &[u8] = b"\x80\x04\x95-\x01\x00\x00\x00\x00\x00\x00}\x94(\x8c\x08model_id\x94\x8c\x01x\x94\x8c\x07weights\x94]\x94\x8c\x0adill._dill\x94\x8c\x0d_create_array\x94\x93\x94(\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94(K\x01K\x01\x85\x94h\x0b\x8c\x05dtype\x94\x93\x94\x8c\x02f8\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x08\x9a\x99\x99\x99\x99\x99\xb9?\x94t\x94Nt\x94R\x94a\x8c\x0ctimestamp_id\x94K\x01\x8c\x08is_delta\x94\x89\x8c\x13data_dimensionality\x94K\x02\x8c\x04type\x94\x8c\x0eDynamicDLModel\x94\x8c\x08metadata\x94}\x94u.";
const SHAPE_OVERFLOW: &[u8] = b"\x80\x04\x95?\x01\x00\x00\x00\x00\x00\x00}\x94(\x8c\x08model_id\x94\x8c\x01x\x94\x8c\x07weights\x94]\x94\x8c\x0adill._dill\x94\x8c\x0d_create_array\x94\x93\x94(\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94(K\x01\x8a\x08\x00\x00\x00\x00\x00\x00\x00@\x8a\x08\x00\x00\x00\x00\x00\x00\x00@\x86\x94h\x0b\x8c\x05dtype\x94\x93\x94\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x08\x00\x00\x00\x00\x00\x00\x00\x00\x94t\x94Nt\x94R\x94a\x8c\x0ctimestamp_id\x94K\x01\x8c\x08is_delta\x94\x89\x8c\x13data_dimensionality\x94K\x02\x8c\x04type\x94\x8c\x0eDynamicDLModel\x94\x8c\x08metadata\x94}\x94u.";
const SHAPE_MISMATCH: &[u8] = b"\x80\x04\x95/\x01\x00\x00\x00\x00\x00\x00}\x94(\x8c\x08model_id\x94\x8c\x01x\x94\x8c\x07weights\x94]\x94\x8c\x0adill._dill\x94\x8c\x0d_create_array\x94\x93\x94(\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94(K\x01K\x02K\x03\x86\x94h\x0b\x8c\x05dtype\x94\x93\x94\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x08\x00\x00\x00\x00\x00\x00\x00\x00\x94t\x94Nt\x94R\x94a\x8c\x0ctimestamp_id\x94K\x01\x8c\x08is_delta\x94\x89\x8c\x13data_dimensionality\x94K\x02\x8c\x04type\x94\x8c\x0eDynamicDLModel\x94\x8c\x08metadata\x94}\x94u.";
const ZERO_AXIS_HUGE: &[u8] = b"\x80\x04\x959\x01\x00\x00\x00\x00\x00\x00}\x94(\x8c\x08model_id\x94\x8c\x01x\x94\x8c\x07weights\x94]\x94\x8c\x0adill._dill\x94\x8c\x0d_create_array\x94\x93\x94(\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94(K\x01K\x00\x8a\x08\x00\x00\x00\x00\x00\x00\x00@\x8a\x08\x00\x00\x00\x00\x00\x00\x00@\x87\x94h\x0b\x8c\x05dtype\x94\x93\x94\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x00\x94t\x94Nt\x94R\x94a\x8c\x0ctimestamp_id\x94K\x01\x8c\x08is_delta\x94\x89\x8c\x13data_dimensionality\x94K\x02\x8c\x04type\x94\x8c\x0eDynamicDLModel\x94\x8c\x08metadata\x94}\x94u.";
const ONE_ARRAY_MANY_TIMES: &[u8] = b"\x80\x04\x95\x87\x0a\x00\x00\x00\x00\x00\x00}\x94(\x8c\x08model_id\x94\x8c\x01x\x94\x8c\x07weights\x94]\x94(\x8c\x0adill._dill\x94\x8c\x0d_create_array\x94\x93\x94(\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94(K\x01Kd\x85\x94h\x0b\x8c\x05dtype\x94\x93\x94\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89B\x90\x01\x00\x00\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x00\x00\x80?\x94t\x94Nt\x94R\x94h\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ch\x1ce\x8c\x0ctimestamp_id\x94K\x01\x8c\x08is_delta\x94\x89\x8c\x13data_dimensionality\x94K\x02\x8c\x04type\x94\x8c\x0eDynamicDLModel\x94\x8c\x08metadata\x94}\x94u.";
const NOT_A_DICT: &[u8] = b"\x80\x04\x95\xb6\x00\x00\x00\x00\x00\x00\x00]\x94\x8c\x0adill._dill\x94\x8c\x0d_create_array\x94\x93\x94(\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94(K\x01K\x02\x85\x94h\x07\x8c\x05dtype\x94\x93\x94\x8c\x02f4\x94\x89\x88\x87\x94R\x94(K\x03\x8c\x01<\x94NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00t\x94b\x89C\x08\x00\x00\x00\x00\x00\x00\x00\x00\x94t\x94Nt\x94R\x94a.";
const NO_MODEL_ID: &[u8] =
    b"\x80\x04\x95\x10\x00\x00\x00\x00\x00\x00\x00}\x94\x8c\x07weights\x94]\x94s.";
const BYTES_METADATA: &[u8] = b"\x80\x04\x95\x87\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x08model_id\x94\x8c\x01x\x94\x8c\x07weights\x94]\x94\x8c\x0ctimestamp_id\x94K\x01\x8c\x08is_delta\x94\x89\x8c\x13data_dimensionality\x94K\x02\x8c\x04type\x94\x8c\x0eDynamicDLModel\x94\x8c\x08metadata\x94}\x94\x8c\x04blob\x94C\x02\x00\x01\x94su.";
const PROTOCOL2_PLAIN: &[u8] = b"\x80\x02}q\x00(X\x08\x00\x00\x00model_idq\x01X\x01\x00\x00\x00xq\x02X\x07\x00\x00\x00weightsq\x03]q\x04cnumpy._core.multiarray\x0a_reconstruct\x0aq\x05cnumpy\x0andarray\x0aq\x06K\x00\x85q\x07c_codecs\x0aencode\x0aq\x08X\x01\x00\x00\x00bq\x09X\x06\x00\x00\x00latin1q\x0a\x86q\x0bRq\x0c\x87q\x0dRq\x0e(K\x01K\x01K\x02\x86q\x0fcnumpy\x0adtype\x0aq\x10X\x02\x00\x00\x00f4q\x11\x89\x88\x87q\x12Rq\x13(K\x03X\x01\x00\x00\x00<q\x14NNNJ\xff\xff\xff\xffJ\xff\xff\xff\xffK\x00tq\x15b\x89h\x08X\x0a\x00\x00\x00\x00\x00\xc2\x80?\x00\x00\x00\xc2\xbfq\x16h\x0a\x86q\x17Rq\x18tq\x19baX\x0c\x00\x00\x00timestamp_idq\x1aK\x01X\x08\x00\x00\x00is_deltaq\x1b\x89X\x13\x00\x00\x00data_dimensionalityq\x1cK\x02X\x04\x00\x00\x00typeq\x1dX\x0e\x00\x00\x00DynamicDLModelq\x1eX\x08\x00\x00\x00metadataq\x1f}q u.";
const ARRAY_WITHOUT_DATA: &[u8] = b"\x80\x04\x95\xc5\x00\x00\x00\x00\x00\x00\x00}\x94(\x8c\x08model_id\x94\x8c\x01x\x94\x8c\x07weights\x94]\x94\x8c\x16numpy._core.multiarray\x94\x8c\x0c_reconstruct\x94\x93\x94\x8c\x05numpy\x94\x8c\x07ndarray\x94\x93\x94K\x00\x85\x94C\x01b\x94\x87\x94R\x94a\x8c\x0ctimestamp_id\x94K\x01\x8c\x08is_delta\x94\x89\x8c\x13data_dimensionality\x94K\x02\x8c\x04type\x94\x8c\x0eDynamicDLModel\x94\x8c\x08metadata\x94}\x94u.";
