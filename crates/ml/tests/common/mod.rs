//! Shared test helpers: the legacy kit's paths, `.npz` members as f32 arrays, the Keras layer
//! graph and weights of the kit's models.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use dafne_core::Voxels;
use dafne_ml::keras::{KerasLayer, KerasWeight};

/// The real-data kit: `$DAFNE_TEST_DATA`, else `../shared/data` beside the repository.
pub fn data_dir() -> PathBuf {
    match std::env::var_os("DAFNE_TEST_DATA") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
    }
}

pub fn model_dir(name: &str) -> PathBuf {
    data_dir().join("dafne-legacy/models").join(name)
}

pub fn python() -> PathBuf {
    match std::env::var_os("DAFNE_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"),
    }
}

/// An f32 array: shape and C-order values.
#[derive(Clone, Debug)]
pub struct Array {
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// Every member of an `.npz`, by key, as f32 (float32 and float64 members only).
pub fn read_npz(path: &Path) -> BTreeMap<String, Array> {
    let file = std::fs::File::open(path).unwrap_or_else(|e| panic!("{e}: {}", path.display()));
    let mut zip = zip::ZipArchive::new(file).unwrap();
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
        assert!(!array.fortran_order, "{key} is Fortran order");
        let values = match array.voxels {
            Voxels::F32(v) => v,
            Voxels::F64(v) => v.into_iter().map(|x| x as f32).collect(),
            _ => continue,
        };
        out.insert(
            key.to_string(),
            Array {
                shape: array.shape,
                values,
            },
        );
    }
    out
}

pub fn layers(model: &str) -> Vec<KerasLayer> {
    let text = std::fs::read(model_dir(model).join("layers.json")).unwrap();
    serde_json::from_slice(&text).unwrap()
}

/// Layer name of each weight, from the kit's `weights_manifest.json`.
fn manifest_layers(model: &str) -> Vec<String> {
    let text = std::fs::read(model_dir(model).join("weights_manifest.json")).unwrap();
    let entries: Vec<serde_json::Value> = serde_json::from_slice(&text).unwrap();
    entries
        .iter()
        .map(|e| e["layer"].as_str().unwrap().to_string())
        .collect()
}

/// The Keras weight list of a kit model: the thigh's `weights_before.npz`; for the leg the
/// `.model` file's `weights`, extracted by the test's Python with a restricted unpickler
/// (only the four globals the kit lists; nothing in the file runs).
pub fn keras_weights(model: &str) -> Vec<KerasWeight> {
    let dir = model_dir(model);
    let npz = dir.join("incremental_learning/weights_before.npz");
    let arrays = if npz.exists() {
        read_npz(&npz)
    } else {
        let tmp = tempfile::tempdir().unwrap();
        let out = tmp.path().join("weights.npz");
        let model_file = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| {
                p.extension().is_some_and(|e| e == "model")
                    && !p.to_string_lossy().contains("keras3")
            })
            .unwrap();
        let script = r#"
import pickle, sys, numpy as np
from numpy.core import multiarray
def create_array(f, args, state, npdict=None):
    a = f(*args); a.__setstate__(state); return a
ALLOWED = {('dill._dill', '_create_array'): create_array,
           ('numpy.core.multiarray', '_reconstruct'): multiarray._reconstruct,
           ('numpy', 'dtype'): np.dtype, ('numpy', 'ndarray'): np.ndarray}
class Restricted(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) not in ALLOWED:
            raise pickle.UnpicklingError(f'global {module}.{name} not allowed')
        return ALLOWED[(module, name)]
with open(sys.argv[1], 'rb') as f:
    d = Restricted(f).load()
np.savez(sys.argv[2], **{f'w{i:03d}': np.asarray(w, np.float32) for i, w in enumerate(d['weights'])})
"#;
        let status = Command::new(python())
            .args(["-W", "ignore", "-c", script])
            .arg(&model_file)
            .arg(&out)
            .status()
            .unwrap_or_else(|e| panic!("cannot run {}: {e}", python().display()));
        assert!(
            status.success(),
            "python could not extract the weights of {}",
            model_file.display()
        );
        read_npz(&out)
    };
    let names = manifest_layers(model);
    assert_eq!(arrays.len(), names.len(), "weight count of {model}");
    // Keys w000.. sort in list order.
    arrays
        .into_values()
        .zip(names)
        .map(|(a, layer)| KerasWeight {
            layer: Some(layer),
            shape: a.shape,
            values: a.values,
        })
        .collect()
}

/// Largest absolute difference, and where.
pub fn max_abs_diff(a: &[f32], b: &[f32]) -> (f32, usize) {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .enumerate()
        .map(|(i, (x, y))| ((x - y).abs(), i))
        .fold(
            (0.0, 0),
            |m, v| if v.0 > m.0 || v.0.is_nan() { v } else { m },
        )
}
