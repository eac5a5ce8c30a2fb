//! Import of the original Dafne's `.model` files (reference §3.1, §3.4) into a model package.
//!
//! A `.model` is a dill pickle of the Keras weight list, metadata and the Python source of the
//! model's functions. It is decoded by dafne-io's restricted pickle reader and nothing in it is
//! ever executed. The file holds no layer graph, so the graph is rebuilt from the weight list:
//! Keras stores the weights in functional layer order (per conv `kernel, bias`, per batch norm
//! `gamma, beta, moving_mean, moving_variance`), and the coscia_unet's order is fixed by its
//! topology: `L` encoder levels of three convs + batch norms each, a bottleneck conv + batch
//! norm, `L` decoder levels (a transposed conv first) and a 1×1 classifier, i.e. `12·L + 3`
//! layers. Widths, classes and input channels come from the weights' shapes, so the kit's
//! narrow models and the real ones import through the same code; the synthesised layers then
//! go through [`keras::import_coscia_unet`], which checks every shape against the topology.
//!
//! What the weights do not hold is read from the function sources as text (numbers after
//! known names, e.g. `Input(shape=(250,250,2))`, `MODEL_RESOLUTION = ...`, `BAND = 49`), and
//! refused with a clear message when absent. Labels are the original's thigh/leg lists, chosen
//! by the labels module the apply function imports (or the model name) and checked against the
//! class count. Torch models, ensembles and deltas are refused.

use std::collections::BTreeMap;

use candle_core::Device;
use dafne_io::legacy::{parse_model_file, LegacyArray, LegacyModelFile};
use serde_json::{json, Value};

use crate::keras::{self, KerasLayer, KerasWeight};
use crate::package::{
    sha256_hex, ArchitectureSpec, BiasCorrection, IncrementalLearning, Label, Manifest,
    Preprocessing, Provenance, FORMAT_VERSION,
};
use crate::{MlError, Package};

pub use dafne_core::{LEG_LABELS, THIGH_LABELS};

fn input_err<T>(why: impl Into<String>) -> Result<T, MlError> {
    Err(MlError::Input { why: why.into() })
}

/// Reads an original `.model` file's bytes into a package (weights on the CPU). `source_name`
/// (the file name) goes into the provenance and names the model when the metadata does not.
pub fn import_dafne_model(bytes: &[u8], source_name: &str) -> Result<Package, MlError> {
    let file = parse_model_file(bytes).map_err(|e| MlError::Input { why: e.to_string() })?;
    import_parsed(&file, &sha256_hex(bytes), source_name)
}

/// [`import_dafne_model`] on a file already decoded; `source_sha256` is the file's hash.
pub fn import_parsed(
    file: &LegacyModelFile,
    source_sha256: &str,
    source_name: &str,
) -> Result<Package, MlError> {
    if file.model_type != "DynamicDLModel" {
        return input_err(format!(
            "model type {:?} cannot be imported: only the original's Keras U-Nets \
             (DynamicDLModel, coscia_unet: Thigh, Leg) are supported, not Torch models or ensembles",
            file.model_type
        ));
    }
    if file.is_delta {
        return input_err("the file holds a weight delta (a federated update), not a model");
    }
    if file.data_dimensionality != 2 {
        return input_err(format!(
            "the model is {}-D; only 2-D coscia_unet models are supported",
            file.data_dimensionality
        ));
    }
    let version = u64::try_from(file.timestamp_id).map_err(|_| MlError::Input {
        why: format!("timestamp_id {} is negative", file.timestamp_id),
    })?;
    let sources = Sources(&file.function_sources);
    let init = sources.get("init_model_function")?;
    let apply = sources.get("apply_model_function")?;

    // The input size is not in the weights: the network function's `Input(shape=(H, W, C))`.
    let input = numbers_after(init, "Input(shape=")
        .or_else(|| numbers_after(init, "Input(("))
        .filter(|v| v.len() == 3 && v.iter().all(|x| *x >= 1.0 && x.fract() == 0.0))
        .ok_or_else(|| MlError::Input {
            why: "the network source has no `Input(shape=(rows, cols, channels))`: \
                  cannot tell the network's input size"
                .into(),
        })?;
    let input = [input[0] as usize, input[1] as usize, input[2] as usize];
    if let Some(split) = assigned(apply, "MODEL_SIZE_SPLIT") {
        if split.len() != 2 || split[0] as usize != input[0] || split[1] as usize != input[1] {
            return input_err(format!(
                "the apply function crops to {split:?} but the network reads {}×{}",
                input[0], input[1]
            ));
        }
    }
    check_source_graph(init)?;

    let layers = synthesise_layers(&file.weights, input)?;
    let weights = file
        .weights
        .iter()
        .map(|w| KerasWeight {
            layer: None,
            shape: w.shape.clone(),
            values: w.data.clone(),
        })
        .collect();
    let (cfg, tensors) = keras::import_coscia_unet(&layers, weights, &Device::Cpu)?;

    let family = Family::of(file, apply)?;
    let labels = family.labels();
    if labels.len() + 1 != cfg.classes {
        return input_err(format!(
            "the network has {} classes but the {} labels are {} + background",
            cfg.classes,
            family.name(),
            labels.len()
        ));
    }

    let meta = &file.metadata;
    let meta_str = |k: &str| meta.get(k).and_then(Value::as_str).map(str::to_string);
    let name = meta_str("model_name")
        .filter(|n| !n.trim().is_empty())
        .unwrap_or_else(|| name_from_file(source_name));
    let orientation = meta_str("orientation")
        .filter(|o| !o.is_empty())
        .unwrap_or_else(|| "axial".into())
        .to_lowercase();
    if orientation != "axial" {
        return input_err(format!(
            "orientation {orientation:?}: only axial coscia_unet models are supported"
        ));
    }
    let description = meta
        .get("info")
        .and_then(|i| i.get("Description"))
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();

    let preprocessing = preprocessing(apply, [cfg.input_size[0], cfg.input_size[1]])?;
    let mut details = BTreeMap::new();
    details.insert("source_file".into(), source_name.to_string());
    details.insert("source_sha256".into(), source_sha256.to_string());
    details.insert("source_model_id".into(), file.model_id.clone());
    details.insert("source_timestamp_id".into(), file.timestamp_id.to_string());
    details.insert(
        "labels".into(),
        format!("the original's {} list", family.name()),
    );
    for key in ["init_model_function", "apply_model_function"] {
        if let Some(first) = file.function_sources.get(key).and_then(|s| first_def(s)) {
            details.insert(key.into(), first);
        }
    }
    let incremental_learning = match file.function_sources.get("incremental_learn_function") {
        Some(src) => match incremental_learning(src) {
            Ok(il) => Some(il),
            Err(why) => {
                details.insert(
                    "incremental_learning".into(),
                    format!("not imported: {why}"),
                );
                None
            }
        },
        None => None,
    };

    let manifest = Manifest {
        format_version: FORMAT_VERSION,
        id: file.model_id.clone(),
        version,
        name,
        description,
        architecture: ArchitectureSpec::coscia_unet(&cfg),
        input_channels: vec!["image".into()],
        labels: labels
            .iter()
            .zip(1u32..)
            .map(|((short, long), value)| Label {
                value,
                name: (*short).into(),
                long_name: (*long).into(),
            })
            .collect(),
        preprocessing,
        variants: string_list(meta.get("variants")),
        categories: meta
            .get("categories")
            .and_then(Value::as_array)
            .map(|a| a.iter().map(|c| string_list(Some(c))).collect())
            .unwrap_or_default(),
        dimensionality: 2,
        incremental_learning,
        weights_sha256: String::new(),
        licence: "unspecified (imported from an original Dafne model file)".into(),
        provenance: Provenance {
            parent: None,
            trained_on: format!("imported from the original Dafne model file {source_name}"),
            created_by: format!("dafne-ml {} (legacy import)", env!("CARGO_PKG_VERSION")),
            details,
        },
    };
    Ok(Package {
        manifest,
        weights: tensors,
    })
}

/// The model's function sources, as text.
struct Sources<'a>(&'a BTreeMap<String, String>);

impl<'a> Sources<'a> {
    fn get(&self, key: &str) -> Result<&'a str, MlError> {
        self.0
            .get(key)
            .map(String::as_str)
            .ok_or_else(|| MlError::Input {
                why: format!("the model file has no {key}"),
            })
    }
}

#[derive(Clone, Copy)]
enum Family {
    Thigh,
    Leg,
}

impl Family {
    /// The labels module the apply function imports (`dafne_dl.labels.thigh`), else the
    /// model name; an unknown family is refused rather than given wrong names.
    fn of(file: &LegacyModelFile, apply: &str) -> Result<Family, MlError> {
        if apply.contains("labels.thigh") {
            return Ok(Family::Thigh);
        }
        if apply.contains("labels.leg") {
            return Ok(Family::Leg);
        }
        let name = file
            .metadata
            .get("model_name")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_lowercase();
        if name.starts_with("thigh") {
            Ok(Family::Thigh)
        } else if name.starts_with("leg") {
            Ok(Family::Leg)
        } else {
            input_err(format!(
                "cannot tell the label names of model {name:?}: only the original's Thigh and Leg label lists are known"
            ))
        }
    }

    fn labels(self) -> &'static [(&'static str, &'static str)] {
        match self {
            Family::Thigh => &THIGH_LABELS,
            Family::Leg => &LEG_LABELS,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Family::Thigh => "thigh",
            Family::Leg => "leg",
        }
    }
}

/// A parametric Keras layer as the weight list shows it.
enum Group<'a> {
    Conv(&'a LegacyArray),
    BatchNorm,
}

/// Splits the weight list into layers: a 4-D kernel and its 1-D bias, or four 1-D batch-norm
/// arrays of one length.
fn group_weights(weights: &[LegacyArray]) -> Result<Vec<Group<'_>>, MlError> {
    let mut groups = Vec::new();
    let mut i = 0;
    while i < weights.len() {
        let w = &weights[i];
        match w.shape.len() {
            4 => {
                let bias = weights.get(i + 1).filter(|b| b.shape.len() == 1);
                if bias.is_none() {
                    return not_coscia(format!("kernel {i} (shape {:?}) has no bias", w.shape));
                }
                groups.push(Group::Conv(w));
                i += 2;
            }
            1 => {
                let same = weights
                    .get(i..i + 4)
                    .is_some_and(|b| b.iter().all(|x| x.shape == w.shape));
                if !same {
                    return not_coscia(format!(
                        "weight {i} (shape {:?}) is neither a conv kernel nor part of a batch norm",
                        w.shape
                    ));
                }
                groups.push(Group::BatchNorm);
                i += 4;
            }
            _ => {
                return not_coscia(format!("weight {i} has shape {:?}", w.shape));
            }
        }
    }
    Ok(groups)
}

fn not_coscia<T>(why: impl std::fmt::Display) -> Result<T, MlError> {
    input_err(format!(
        "the weights are not those of a coscia_unet (the original's Thigh/Leg network): {why}"
    ))
}

/// The layer list the weights imply: input layer, then the parametric layers with the
/// class, kernel, stride and filters the coscia_unet topology gives each position.
fn synthesise_layers(
    weights: &[LegacyArray],
    input: [usize; 3],
) -> Result<Vec<KerasLayer>, MlError> {
    let groups = group_weights(weights)?;
    let n = groups.len();
    if n < 15 || (n - 3) % 12 != 0 {
        return not_coscia(format!(
            "{n} layers; a coscia_unet with L levels has 12·L + 3"
        ));
    }
    let levels = (n - 3) / 12;
    let bottleneck = 6 * levels;
    let mut layers = vec![KerasLayer {
        name: "input".into(),
        class: "InputLayer".into(),
        config: json!({}),
        inputs: vec![],
        output_shape: json!([[null, input[0], input[1], input[2]]]),
    }];
    for (i, g) in groups.iter().enumerate() {
        let name = format!("layer_{i}");
        let layer = match g {
            Group::BatchNorm => KerasLayer {
                name,
                class: "BatchNormalization".into(),
                config: json!({ "epsilon": 1e-3 }),
                inputs: vec![],
                output_shape: Value::Null,
            },
            Group::Conv(k) => {
                let size = k.shape[0];
                // Decoder levels start every 6 layers after the bottleneck's conv + batch norm.
                let transposed = i > bottleneck + 1 && i < n - 1 && (i - bottleneck - 2) % 6 == 0;
                let down = i < bottleneck && i > 0 && i % 6 == 0;
                let strided = transposed || down || i == bottleneck;
                let filters = if transposed { k.shape[2] } else { k.shape[3] };
                KerasLayer {
                    name,
                    class: if transposed {
                        "Conv2DTranspose"
                    } else {
                        "Conv2D"
                    }
                    .into(),
                    config: json!({
                        "filters": filters,
                        "kernel_size": [size, k.shape[1]],
                        "strides": if strided { [size, k.shape[1]] } else { [1, 1] },
                    }),
                    inputs: vec![],
                    output_shape: Value::Null,
                }
            }
        };
        layers.push(layer);
    }
    Ok(layers)
}

/// What the weights cannot show about the graph, checked in the network's source: skip
/// connections concatenated as `[encoder, decoder]` (the channel order of the first decoder
/// conv) and batch norms at Keras' default epsilon.
fn check_source_graph(init: &str) -> Result<(), MlError> {
    for line in code_lines(init) {
        if line.contains("BatchNormalization(") && line.contains("epsilon") {
            return input_err(format!(
                "the network sets a batch-norm epsilon ({}), which this importer does not read",
                line.trim()
            ));
        }
        if let Some(at) = line.find("Concatenate(") {
            let args = &line[at..];
            if let (Some(l), Some(r)) = (args.find("_l"), args.find("_r")) {
                if r < l {
                    return input_err(format!(
                        "skip connection concatenated as [decoder, encoder] ({}): not the coscia_unet order",
                        line.trim()
                    ));
                }
            }
        }
    }
    Ok(())
}

/// The apply pipeline's constants, read from its source.
fn preprocessing(apply: &str, crop_px: [usize; 2]) -> Result<Preprocessing, MlError> {
    let need = |name: &str| {
        assigned(apply, name).ok_or_else(|| MlError::Input {
            why: format!("the apply function has no {name} = ...: cannot tell the preprocessing"),
        })
    };
    let resolution = need("MODEL_RESOLUTION")?;
    let canvas = need("MODEL_SIZE")?;
    let (Some(&resolution_mm), Some(&canvas_px)) = (resolution.first(), canvas.first()) else {
        return input_err("the apply function's MODEL_RESOLUTION or MODEL_SIZE is empty");
    };
    if resolution.iter().any(|r| *r != resolution_mm)
        || canvas.iter().any(|c| *c != canvas_px)
        || resolution_mm <= 0.0
        || canvas_px < 1.0
    {
        return input_err(format!(
            "the apply function's MODEL_RESOLUTION {resolution:?} / MODEL_SIZE {canvas:?} are not square and positive"
        ));
    }
    let normalise_max = assigned(apply, "MAX_GRAY_VALUE")
        .and_then(|v| v.first().copied())
        .unwrap_or(600.0);
    // The original's N4 step (biascorrection_image): levels × iterations, Otsu bins, rescale.
    let bias_correction = if apply.contains("N4BiasFieldCorrection") {
        let levels = numbers_after(apply, "levels=").and_then(|v| v.first().copied());
        let iterations = assigned(apply, "numberOfIteration").and_then(|v| v.first().copied());
        let bins = numbers_after(apply, "OtsuThreshold(").and_then(|v| v.get(2).copied());
        let below = numbers_after(apply, "if m <").and_then(|v| v.first().copied());
        let (Some(levels), Some(iterations), Some(bins), Some(below)) =
            (levels, iterations, bins, below)
        else {
            return input_err(
                "the apply function's N4 bias correction does not read as the original's \
                 (levels=, numberOfIteration, OtsuThreshold bins, rescale threshold)",
            );
        };
        Some(BiasCorrection {
            levels: levels as usize,
            iterations: iterations as usize,
            otsu_bins: bins as usize,
            rescale_below: below,
        })
    } else {
        None
    };
    Ok(Preprocessing {
        resolution_mm,
        canvas_px: canvas_px as usize,
        crop_px,
        normalise_max,
        bias_correction,
        split_laterality: apply.contains("split_mirror"),
        orientation: "axial".into(),
    })
}

/// The incremental-learning recipe of `thigh_incremental_mem` / `leg_incremental_mem`.
fn incremental_learning(src: &str) -> Result<IncrementalLearning, String> {
    let band = assigned(src, "BAND")
        .and_then(|v| v.first().copied())
        .ok_or("no BAND = ... in the learning function")?;
    let learning_rate = numbers_after(src, "learning_rate=")
        .or_else(|| numbers_after(src, "lr="))
        .and_then(|v| v.first().copied())
        .ok_or("no learning rate in the learning function")?;
    let epochs = numbers_after(src, "epochs=")
        .and_then(|v| v.first().copied())
        .ok_or("no epochs= in the learning function")?;
    let batch = numbers_after(src, "bs=").and_then(|v| v.first().copied());
    let min_images = numbers_after(src, "minTrainImages=").and_then(|v| v.first().copied());
    Ok(IncrementalLearning {
        learning_rate,
        epochs: epochs as usize,
        batch_size: batch.unwrap_or(5.0) as usize,
        min_training_images: min_images.unwrap_or(5.0) as usize,
        // input_creation_mem (dafne_dl/common/preprocess_train.py) is not in the file: its
        // constants are the original's.
        boundary_weight: 10.0,
        boundary_band_px2: band,
        class_frequency_weights: true,
    })
}

/// Lines of code with comments cut off.
fn code_lines(src: &str) -> impl Iterator<Item = &str> {
    src.lines()
        .map(|l| l.split_once('#').map_or(l, |(code, _)| code))
        .filter(|l| !l.trim().is_empty())
}

/// The numbers on the rest of the line after the first uncommented `key`, spaces ignored
/// (`Input(shape = (250, 250, 2))` matches `Input(shape=`).
fn numbers_after(src: &str, key: &str) -> Option<Vec<f64>> {
    let key: String = key.split_whitespace().collect();
    code_lines(src).find_map(|line| {
        let line: String = line.split_whitespace().collect();
        let at = line.find(&key)?;
        Some(numbers(&line[at + key.len()..]))
    })
}

/// The numbers of the first `name = ...` assignment (not `name_x =`, not `==`).
fn assigned(src: &str, name: &str) -> Option<Vec<f64>> {
    code_lines(src).find_map(|line| {
        let mut from = 0;
        while let Some(pos) = line[from..].find(name) {
            let start = from + pos;
            let end = start + name.len();
            from = end;
            let before_ok = line[..start]
                .chars()
                .next_back()
                .is_none_or(|c| !(c.is_alphanumeric() || c == '_'));
            let rest = line[end..].trim_start();
            if before_ok && rest.starts_with('=') && !rest.starts_with("==") {
                return Some(numbers(&rest[1..]));
            }
        }
        None
    })
}

/// Every number in `text` (`(250, 250, 2)`, `np.array([1.037037, 1.037037])`, `1e-08`).
fn numbers(text: &str) -> Vec<f64> {
    text.split(|c: char| !(c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+')))
        .filter_map(|t| t.parse::<f64>().ok())
        .collect()
}

fn first_def(src: &str) -> Option<String> {
    code_lines(src)
        .find(|l| l.trim_start().starts_with("def "))
        .map(|l| l.trim().to_string())
}

/// `Thigh_1610001000.model` → `Thigh` (the original's model names end at the first `_`).
fn name_from_file(source_name: &str) -> String {
    let base = std::path::Path::new(source_name)
        .file_name()
        .and_then(|f| f.to_str())
        .unwrap_or(source_name);
    base.split(['_', '.']).next().unwrap_or(base).to_string()
}

fn string_list(v: Option<&Value>) -> Vec<String> {
    v.and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    const SRC: &str =
        "def f():\n    # MODEL_SIZE = (1, 1)\n    MODEL_SIZE_SPLIT = (250, 250)\n    \
                       MODEL_SIZE = (432, 432)  # canvas\n    if MODEL_SIZE == x: pass\n    \
                       MODEL_RESOLUTION = np.array([1.037037, 1.037037])\n    \
                       inputs = Input(shape = (216, 216, 2))\n    opt = Adam(lr=1e-08)\n";

    #[test]
    fn constants_are_read_as_text() {
        assert_eq!(assigned(SRC, "MODEL_SIZE"), Some(vec![432.0, 432.0]));
        assert_eq!(assigned(SRC, "MODEL_SIZE_SPLIT"), Some(vec![250.0, 250.0]));
        assert_eq!(
            assigned(SRC, "MODEL_RESOLUTION"),
            Some(vec![1.037037, 1.037037])
        );
        assert_eq!(
            numbers_after(SRC, "Input(shape="),
            Some(vec![216.0, 216.0, 2.0])
        );
        assert_eq!(numbers_after(SRC, "lr="), Some(vec![1e-8]));
        assert_eq!(assigned(SRC, "BAND"), None);
        assert_eq!(name_from_file("/x/Thigh_1610001000.model"), "Thigh");
    }
}
