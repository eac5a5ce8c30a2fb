//! The original Dafne's model files (`.model`, reference §3.1): `DynamicDLModel.dump` writes a
//! plain (never compressed) dill pickle of a dict `model_id, weights, timestamp_id, is_delta,
//! data_dimensionality, type, metadata` plus one `*_function` entry per model function, holding
//! that function's Python source.
//!
//! The pickle runs through the same restricted VM as the ROI files, so the only globals it may
//! name are dill's and numpy's array constructors and `numpy.dtype`; a function pickled as code
//! (dill's `_create_function`, `_create_code`) or anything else is refused by name. The source
//! texts are returned as data and never run. Output is bounded by the input: weight data and
//! source text together may not exceed the file's length (a real file stores each once), so
//! memo references cannot multiply a small file into a huge model.

use std::collections::BTreeMap;
use std::path::Path;

use super::numpy::{Kind, NdArray};
use super::pickle::{self, Dict, Node, Unpickled, Value};
use super::{DecodeError, LegacyError, MAX_DECOMPRESSED_BYTES};

/// Values of the metadata tree (a real file has a few dozen).
const MAX_METADATA_VALUES: usize = 1 << 16;
/// Nesting of the metadata tree (a real file has 3).
const MAX_METADATA_DEPTH: usize = 32;

/// A model file as the original's `generic_load_model` reads it, before it runs anything.
#[derive(Clone, Debug, PartialEq)]
pub struct LegacyModelFile {
    pub model_id: String,
    /// Unix time of the model version (`<name>_<timestamp_id>.model`).
    pub timestamp_id: i64,
    pub is_delta: bool,
    /// 2 or 3 (2 when the file predates the key).
    pub data_dimensionality: i64,
    /// The model class the original would instantiate (`DynamicDLModel` when the key is absent).
    pub model_type: String,
    /// The metadata dict as JSON (tuples become lists); an empty object when absent.
    pub metadata: serde_json::Value,
    /// The weights in file order (for Keras, `model.get_weights()` order).
    pub weights: Vec<LegacyArray>,
    /// `*_function` entries: Python source text, kept as data and never executed. Functions
    /// stored as `None` are left out.
    pub function_sources: BTreeMap<String, String>,
}

impl LegacyModelFile {
    /// Elements of all weights together (Keras' parameter count).
    pub fn param_count(&self) -> usize {
        self.weights.iter().map(|w| w.data.len()).sum()
    }
}

/// One weight array: float32 elements in C (row-major) order. float16 weights are widened
/// (exact); float64 weights are accepted only when every value is exactly a float32.
#[derive(Clone, Debug, PartialEq)]
pub struct LegacyArray {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

/// Reads a `.model` file written by the original Dafne (`DynamicDLModel.dump`).
pub fn read_model_file(path: &Path) -> Result<LegacyModelFile, LegacyError> {
    let read_error = |source| LegacyError::ReadModel {
        path: path.to_path_buf(),
        source,
    };
    let len = std::fs::metadata(path).map_err(read_error)?.len();
    if len > MAX_DECOMPRESSED_BYTES as u64 {
        return Err(LegacyError::DecodeModel {
            path: path.to_path_buf(),
            source: DecodeError::TooLarge {
                limit: MAX_DECOMPRESSED_BYTES,
            },
        });
    }
    let bytes = std::fs::read(path).map_err(read_error)?;
    decode(&bytes).map_err(|source| LegacyError::DecodeModel {
        path: path.to_path_buf(),
        source,
    })
}

/// [`read_model_file`] on bytes already in memory.
pub fn parse_model_file(bytes: &[u8]) -> Result<LegacyModelFile, LegacyError> {
    decode(bytes).map_err(LegacyError::ModelBytes)
}

fn decode(bytes: &[u8]) -> Result<LegacyModelFile, DecodeError> {
    if bytes.len() > MAX_DECOMPRESSED_BYTES {
        return Err(DecodeError::TooLarge {
            limit: MAX_DECOMPRESSED_BYTES,
        });
    }
    let unpickled = pickle::unpickle(bytes)?;
    Converter {
        unpickled: &unpickled,
        bytes_left: bytes.len(),
        metadata_values: 0,
    }
    .model()
}

fn model_error(reason: impl Into<String>) -> DecodeError {
    DecodeError::Model {
        reason: reason.into(),
    }
}

struct Converter<'a> {
    unpickled: &'a Unpickled,
    /// Bytes of weight data and source text that may still be output.
    bytes_left: usize,
    metadata_values: usize,
}

impl<'a> Converter<'a> {
    fn node(&self, value: &Value) -> Option<&'a Node> {
        match value {
            Value::Node(id) => self.unpickled.arena.get(*id),
            _ => None,
        }
    }

    fn kind(&self, value: &Value) -> &'static str {
        value.kind(&self.unpickled.arena)
    }

    fn charge(&mut self, bytes: usize, what: &str) -> Result<(), DecodeError> {
        self.bytes_left = self.bytes_left.checked_sub(bytes).ok_or_else(|| {
            model_error(format!(
                "the {what} hold more data than the file stores (an array or text used twice?)"
            ))
        })?;
        Ok(())
    }

    fn model(&mut self) -> Result<LegacyModelFile, DecodeError> {
        let root = &self.unpickled.root;
        let Some(Node::Dict(top)) = self.node(root) else {
            return Err(model_error(format!(
                "the pickle holds a {}, not a dict",
                self.kind(root)
            )));
        };
        let model_id = match top.get_str("model_id") {
            Some(Value::Str(s)) => s.to_string(),
            Some(other) => {
                return Err(model_error(format!(
                    "'model_id' is a {}, not a str",
                    self.kind(other)
                )))
            }
            None => return Err(model_error("the dict has no 'model_id'")),
        };
        let timestamp_id = match top.get_str("timestamp_id") {
            Some(Value::Int(t)) => *t,
            Some(other) => {
                return Err(model_error(format!(
                    "'timestamp_id' is a {}, not an int",
                    self.kind(other)
                )))
            }
            None => return Err(model_error("the dict has no 'timestamp_id'")),
        };
        // Defaults of `DynamicDLModel.__init__` and `generic_load_model` for older files.
        let is_delta = match top.get_str("is_delta") {
            None => false,
            Some(Value::Bool(b)) => *b,
            Some(other) => {
                return Err(model_error(format!(
                    "'is_delta' is a {}, not a bool",
                    self.kind(other)
                )))
            }
        };
        let data_dimensionality = match top.get_str("data_dimensionality") {
            None => 2,
            Some(Value::Int(d)) => *d,
            Some(other) => {
                return Err(model_error(format!(
                    "'data_dimensionality' is a {}, not an int",
                    self.kind(other)
                )))
            }
        };
        let model_type = match top.get_str("type") {
            None => "DynamicDLModel".to_string(),
            Some(Value::Str(s)) => s.to_string(),
            Some(other) => {
                return Err(model_error(format!(
                    "'type' is a {}, not a str",
                    self.kind(other)
                )))
            }
        };
        let metadata = match top.get_str("metadata") {
            None | Some(Value::None) => serde_json::Value::Object(serde_json::Map::new()),
            Some(value) if matches!(self.node(value), Some(Node::Dict(_))) => {
                self.json(value, 0)?
            }
            Some(other) => {
                return Err(model_error(format!(
                    "'metadata' is a {}, not a dict",
                    self.kind(other)
                )))
            }
        };
        let weights = match top.get_str("weights") {
            Some(value) => self.weights(value)?,
            None => return Err(model_error("the dict has no 'weights'")),
        };
        let function_sources = self.sources(top)?;
        Ok(LegacyModelFile {
            model_id,
            timestamp_id,
            is_delta,
            data_dimensionality,
            model_type,
            metadata,
            weights,
            function_sources,
        })
    }

    fn sources(&mut self, top: &'a Dict) -> Result<BTreeMap<String, String>, DecodeError> {
        let mut out = BTreeMap::new();
        for (key, value) in &top.entries {
            let Value::Str(name) = key else { continue };
            if !name.ends_with("_function") {
                continue;
            }
            match value {
                Value::None => {}
                Value::Str(text) => {
                    self.charge(text.len(), "function sources")?;
                    out.insert(name.to_string(), text.to_string());
                }
                other => {
                    return Err(model_error(format!(
                        "{:?} is a {}, not Python source text",
                        truncate(name),
                        self.kind(other)
                    )))
                }
            }
        }
        Ok(out)
    }

    fn weights(&mut self, value: &Value) -> Result<Vec<LegacyArray>, DecodeError> {
        let items = match self.node(value) {
            Some(Node::List(items) | Node::Tuple(items)) => items,
            _ => {
                return Err(model_error(format!(
                    "'weights' is a {}, not a list of arrays",
                    self.kind(value)
                )))
            }
        };
        let mut out = Vec::with_capacity(items.len().min(1 << 16));
        for (index, item) in items.iter().enumerate() {
            let weight_error = |reason: String| DecodeError::Weight { index, reason };
            let array = match self.node(item) {
                Some(Node::Array(Some(array))) => array,
                Some(Node::Array(None)) => {
                    return Err(weight_error("a numpy array that never got its data".into()))
                }
                _ => {
                    return Err(weight_error(format!(
                        "a {}, not a numpy array",
                        self.kind(item)
                    )))
                }
            };
            self.charge(array.data.len(), "weights")?;
            out.push(to_f32(array).map_err(weight_error)?);
        }
        Ok(out)
    }

    /// The metadata tree as JSON: what `json.dump` makes of it (tuples are lists, int keys
    /// are strings); anything JSON cannot hold is an error.
    fn json(&mut self, value: &Value, depth: usize) -> Result<serde_json::Value, DecodeError> {
        use serde_json::Value as J;
        self.metadata_values += 1;
        if self.metadata_values > MAX_METADATA_VALUES || depth > MAX_METADATA_DEPTH {
            return Err(model_error(
                "the metadata is too large or too deeply nested",
            ));
        }
        Ok(match value {
            Value::None => J::Null,
            Value::Bool(b) => J::Bool(*b),
            Value::Int(i) => J::from(*i),
            Value::Float(f) => serde_json::Number::from_f64(*f)
                .map(J::Number)
                .ok_or_else(|| model_error("the metadata holds a NaN or infinite number"))?,
            Value::Str(s) => {
                self.charge(s.len(), "metadata")?;
                J::String(s.to_string())
            }
            Value::Node(_) => match self.node(value) {
                Some(Node::List(items) | Node::Tuple(items)) => J::Array(
                    items
                        .iter()
                        .map(|v| self.json(v, depth + 1))
                        .collect::<Result<_, _>>()?,
                ),
                Some(Node::Dict(dict)) => {
                    let mut map = serde_json::Map::new();
                    for (k, v) in &dict.entries {
                        let key = match k {
                            Value::Str(s) => s.to_string(),
                            Value::Int(i) => i.to_string(),
                            other => {
                                return Err(model_error(format!(
                                    "the metadata has a {} key",
                                    self.kind(other)
                                )))
                            }
                        };
                        self.charge(key.len(), "metadata")?;
                        let v = self.json(v, depth + 1)?;
                        map.insert(key, v);
                    }
                    J::Object(map)
                }
                _ => return Err(not_json(self.kind(value))),
            },
            Value::Bytes(_) | Value::Global(_) => return Err(not_json(self.kind(value))),
        })
    }
}

fn not_json(kind: &str) -> DecodeError {
    model_error(format!(
        "the metadata holds a {kind}, which JSON cannot hold"
    ))
}

fn truncate(s: &str) -> String {
    s.chars().take(60).collect()
}

/// The array's elements as float32 in C order.
fn to_f32(array: &NdArray) -> Result<LegacyArray, String> {
    let dtype = &array.dtype;
    if dtype.kind != Kind::Float {
        return Err(format!("dtype {}, not a float", array.dtype_name()));
    }
    // `NdArray::new` checked that the data holds exactly the elements; a zero-length axis lets
    // the others be anything, so bound them too for whoever computes strides from the shape.
    let nonzero_product = array
        .shape
        .iter()
        .filter(|&&d| d != 0)
        .try_fold(1usize, |acc, &d| acc.checked_mul(d));
    if nonzero_product.is_none_or(|p| p > isize::MAX as usize) {
        return Err(format!(
            "shape {:?} is too large",
            array.shape.iter().take(8).collect::<Vec<_>>()
        ));
    }
    let big_endian = dtype.big_endian;
    let data: Vec<f32> = match dtype.itemsize {
        4 => array
            .data
            .chunks_exact(4)
            .map(|c| {
                let b = [c[0], c[1], c[2], c[3]];
                f32::from_bits(if big_endian {
                    u32::from_be_bytes(b)
                } else {
                    u32::from_le_bytes(b)
                })
            })
            .collect(),
        2 => array
            .data
            .chunks_exact(2)
            .map(|c| {
                let b = [c[0], c[1]];
                f16_to_f32(if big_endian {
                    u16::from_be_bytes(b)
                } else {
                    u16::from_le_bytes(b)
                })
            })
            .collect(),
        8 => {
            let mut out = Vec::with_capacity(array.data.len() / 8);
            for c in array.data.chunks_exact(8) {
                let b = [c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]];
                let v = f64::from_bits(if big_endian {
                    u64::from_be_bytes(b)
                } else {
                    u64::from_le_bytes(b)
                });
                let narrow = v as f32;
                if f64::from(narrow) != v && !v.is_nan() {
                    return Err(format!(
                        "float64 value {v} is not exactly a float32; refusing to round it"
                    ));
                }
                out.push(narrow);
            }
            out
        }
        _ => return Err(format!("unsupported dtype {}", array.dtype_name())),
    };
    let data = if array.fortran {
        fortran_to_c(&data, &array.shape)
    } else {
        data
    };
    Ok(LegacyArray {
        shape: array.shape.clone(),
        data,
    })
}

/// Exact widening of an IEEE half (every half is a float32).
fn f16_to_f32(bits: u16) -> f32 {
    let sign = if bits & 0x8000 != 0 { -1.0f32 } else { 1.0 };
    let exp = i32::from((bits >> 10) & 0x1f);
    let frac = f32::from(bits & 0x3ff);
    match exp {
        0 => sign * frac * 2f32.powi(-24),
        31 if frac == 0.0 => sign * f32::INFINITY,
        31 => f32::NAN,
        e => sign * (1.0 + frac / 1024.0) * 2f32.powi(e - 15),
    }
}

/// Reorders column-major elements into row-major order.
fn fortran_to_c(data: &[f32], shape: &[usize]) -> Vec<f32> {
    if shape.iter().filter(|&&d| d > 1).count() <= 1 {
        return data.to_vec();
    }
    // Column-major stride of each axis.
    let mut strides = Vec::with_capacity(shape.len());
    let mut stride = 1usize;
    for &d in shape {
        strides.push(stride);
        stride = stride.saturating_mul(d);
    }
    let mut index = vec![0usize; shape.len()];
    let mut offset = 0usize;
    let mut out = Vec::with_capacity(data.len());
    for _ in 0..data.len() {
        out.push(data.get(offset).copied().unwrap_or(0.0));
        // Advance the row-major index, last axis fastest.
        for axis in (0..shape.len()).rev() {
            let (Some(i), Some(&d), Some(&s)) =
                (index.get_mut(axis), shape.get(axis), strides.get(axis))
            else {
                break;
            };
            *i += 1;
            offset += s;
            if *i < d {
                break;
            }
            offset -= s * d;
            *i = 0;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn fortran_order_is_reordered() {
        // [[[0, 1], [2, 3], [4, 5]]] (1, 3, 2) and a 2x3x2 array, stored column-major.
        let c: Vec<f32> = (0..12).map(|v| v as f32).collect();
        let shape = [2usize, 3, 2];
        let mut f = vec![0.0; 12];
        for i in 0..2 {
            for j in 0..3 {
                for k in 0..2 {
                    f[i + 2 * j + 6 * k] = c[i * 6 + j * 2 + k];
                }
            }
        }
        assert_eq!(fortran_to_c(&f, &shape), c);
        assert_eq!(fortran_to_c(&[1.0, 2.0], &[1, 2, 1]), [1.0, 2.0]);
    }

    #[test]
    fn halves_widen_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x0001), 2f32.powi(-24));
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
        assert!(f16_to_f32(0x7e00).is_nan());
    }
}
