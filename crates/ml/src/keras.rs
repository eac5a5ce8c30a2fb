//! Maps the original's Keras weights (the `weights` list of a `.model` file, `get_weights()`
//! order) onto [`CosciaUnet`](crate::unet::CosciaUnet) tensor names.
//!
//! The Keras layer list (class, config, inbound layer names, as `model.layers` gives them) is
//! walked in order; each Conv2D / BatchNormalization / Conv2DTranspose consumes its weights
//! (kernel + bias, or gamma, beta, moving mean, moving variance). Widths, class count, input
//! size and strides are read from the layers, so the kit's narrow models (every width ÷ 8)
//! and the real ones import through the same code. Kernels are converted from Keras HWIO
//! (Conv2DTranspose: H, W, out, in) to candle's OIHW (transposed conv: in, out, H, W).

use std::collections::HashMap;

use candle_core::{Device, Tensor};
use serde::Deserialize;
use serde_json::Value;

use crate::unet::Config;
use crate::MlError;

/// One layer of a Keras functional model.
#[derive(Clone, Debug, Deserialize)]
pub struct KerasLayer {
    pub name: String,
    pub class: String,
    #[serde(default)]
    pub config: Value,
    #[serde(default)]
    pub inputs: Vec<String>,
    #[serde(default)]
    pub output_shape: Value,
}

/// One array of the Keras weight list, C order. `layer` (when known) is checked against the
/// layer the walk assigns it to.
#[derive(Clone, Debug)]
pub struct KerasWeight {
    pub layer: Option<String>,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

fn graph_err<T>(why: impl Into<String>) -> Result<T, MlError> {
    Err(MlError::KerasGraph { why: why.into() })
}

/// A parametric layer and the weights it owns.
struct Param<'a> {
    layer: &'a KerasLayer,
    /// Position in the layer list (for the skip-connection check).
    index: usize,
    weights: Vec<KerasWeight>,
}

impl Param<'_> {
    fn pair(&self, key: &str) -> Option<[usize; 2]> {
        let v = self.layer.config.get(key)?.as_array()?;
        Some([v.first()?.as_u64()? as usize, v.get(1)?.as_u64()? as usize])
    }

    fn filters(&self) -> Option<usize> {
        self.layer
            .config
            .get("filters")?
            .as_u64()
            .map(|f| f as usize)
    }

    /// Square kernel size and stride of a conv, its filters.
    fn conv_shape(&self, class: &str) -> Result<(usize, usize, usize), MlError> {
        if self.layer.class != class {
            return graph_err(format!(
                "layer {} is a {}, expected a {class}",
                self.layer.name, self.layer.class
            ));
        }
        let (Some(k), Some(s), Some(f)) = (
            self.pair("kernel_size"),
            self.pair("strides"),
            self.filters(),
        ) else {
            return graph_err(format!(
                "layer {} lacks kernel_size, strides or filters",
                self.layer.name
            ));
        };
        if k[0] != k[1] || s[0] != s[1] {
            return graph_err(format!(
                "layer {} has a non-square kernel or stride",
                self.layer.name
            ));
        }
        Ok((k[0], s[0], f))
    }
}

/// Walks the parametric layers in order.
struct Cursor<'a> {
    params: &'a [Param<'a>],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn next(&mut self, what: &str) -> Result<&'a Param<'a>, MlError> {
        let p = self
            .params
            .get(self.at)
            .ok_or_else(|| MlError::KerasGraph {
                why: format!("graph ends before {what}"),
            })?;
        self.at += 1;
        Ok(p)
    }

    /// Class of the parametric layer `ahead` places after the cursor.
    fn class_at(&self, ahead: usize) -> Option<&'a str> {
        self.params
            .get(self.at + ahead)
            .map(|p| p.layer.class.as_str())
    }
}

fn weights_per_layer(class: &str) -> Option<usize> {
    match class {
        "Conv2D" | "Conv2DTranspose" => Some(2),
        "BatchNormalization" => Some(4),
        _ => None,
    }
}

/// The input layer's rows, columns and channels.
fn input_shape(layers: &[KerasLayer]) -> Result<[usize; 3], MlError> {
    let Some(input) = layers.iter().find(|l| l.class == "InputLayer") else {
        return graph_err("no InputLayer");
    };
    // Keras gives the input's output shape either as [None, H, W, C] or wrapped in a list.
    let mut shape = &input.output_shape;
    if let Some(inner) = shape.get(0).filter(|v| v.is_array()) {
        shape = inner;
    }
    let dims: Vec<Option<u64>> = shape
        .as_array()
        .map(|a| a.iter().map(Value::as_u64).collect())
        .unwrap_or_default();
    match dims.as_slice() {
        [_, Some(h), Some(w), Some(c)] => Ok([*h as usize, *w as usize, *c as usize]),
        _ => graph_err(format!(
            "input shape {shape} is not (batch, rows, columns, channels)"
        )),
    }
}

/// Maps a Keras coscia_unet onto our config and tensor names.
pub fn import_coscia_unet(
    layers: &[KerasLayer],
    weights: Vec<KerasWeight>,
    device: &Device,
) -> Result<(Config, HashMap<String, Tensor>), MlError> {
    let mut params = Vec::new();
    let mut supply = weights.into_iter();
    for (index, layer) in layers.iter().enumerate() {
        let Some(n) = weights_per_layer(&layer.class) else {
            continue;
        };
        let taken: Vec<KerasWeight> = supply.by_ref().take(n).collect();
        if taken.len() != n {
            return graph_err(format!("weight list ends before layer {}", layer.name));
        }
        if let Some(w) = taken
            .iter()
            .find(|w| w.layer.as_ref().is_some_and(|l| l != &layer.name))
        {
            return graph_err(format!(
                "weight of layer {:?} met layer {} (weight order differs from layer order)",
                w.layer, layer.name
            ));
        }
        params.push(Param {
            layer,
            index,
            weights: taken,
        });
    }
    if supply.next().is_some() {
        return graph_err("more weights than the layers hold");
    }
    let [rows, cols, channels] = input_shape(layers)?;
    if channels < 2 {
        return graph_err(format!(
            "input has {channels} channels; expected image channels + a weight map"
        ));
    }

    let mut out = HashMap::new();
    let mut cur = Cursor {
        params: &params,
        at: 0,
    };

    // Encoder: the first level's 1×1 conv, then k×k stride-k convs until the one whose
    // batch norm feeds a transposed conv (the bottleneck).
    let mut widths = Vec::new();
    let mut down_stride = None;
    let mut bn_eps = None;
    loop {
        let level = widths.len();
        if level > 0 && cur.class_at(2) == Some("Conv2DTranspose") {
            break;
        }
        let p = cur.next("an encoder level")?;
        let (k, s, f) = p.conv_shape("Conv2D")?;
        if level == 0 && (k, s) != (1, 1) {
            return graph_err(format!("first conv {} is not 1×1 stride 1", p.layer.name));
        }
        if level > 0 && (k != s || down_stride.is_some_and(|d| d != s)) {
            return graph_err(format!(
                "down-sampling conv {} has kernel {k}, stride {s}",
                p.layer.name
            ));
        }
        if level == 1 {
            down_stride = Some(s);
        }
        let prefix = format!("enc.{level}");
        put_level(
            &mut out,
            &prefix,
            "down",
            p,
            &mut cur,
            f,
            &mut bn_eps,
            device,
        )?;
        widths.push(f);
    }
    let p = cur.next("the bottleneck")?;
    let (k, bottleneck_stride, bottleneck_width) = p.conv_shape("Conv2D")?;
    if k != bottleneck_stride {
        return graph_err(format!(
            "bottleneck conv {} has kernel {k}, stride {bottleneck_stride}",
            p.layer.name
        ));
    }
    let bottleneck_index = p.index;
    put_conv(&mut out, "bottleneck.conv", p, device)?;
    put_bn(
        &mut out,
        "bottleneck.bn",
        cur.next("the bottleneck batch norm")?,
        &mut bn_eps,
        device,
    )?;

    // Decoder, bottom level first.
    for level in (0..widths.len()).rev() {
        let p = cur.next("a decoder level")?;
        let (k, s, f) = p.conv_shape("Conv2DTranspose")?;
        let want_s = if level + 1 == widths.len() {
            bottleneck_stride
        } else {
            down_stride.unwrap_or(0)
        };
        if k != s || s != want_s || f != widths[level] {
            return graph_err(format!(
                "transposed conv {} (kernel {k}, stride {s}, {f} filters) does not mirror encoder level {level}",
                p.layer.name
            ));
        }
        let prefix = format!("dec.{level}");
        put_level(&mut out, &prefix, "up", p, &mut cur, f, &mut bn_eps, device)?;
    }
    let head = cur.next("the classifier")?;
    let (k, _, classes) = head.conv_shape("Conv2D")?;
    if k != 1 {
        return graph_err(format!("classifier {} is not 1×1", head.layer.name));
    }
    put_conv(&mut out, "head", head, device)?;
    if let Some(extra) = params.get(cur.at) {
        return graph_err(format!(
            "unexpected layer {} after the classifier",
            extra.layer.name
        ));
    }
    check_concatenations(layers, bottleneck_index)?;

    let cfg = Config {
        image_channels: channels - 1,
        widths,
        bottleneck_width,
        bottleneck_stride,
        down_stride: down_stride.unwrap_or(2),
        classes,
        input_size: [rows, cols],
        bn_eps: bn_eps.unwrap_or(1e-3),
        res_convs: 2,
    };
    cfg.validate()?;
    if cfg.image_channels != 1 {
        return graph_err(format!(
            "{} image channels; the original's models read one",
            cfg.image_channels
        ));
    }
    Ok((cfg, out))
}

/// Every decoder concatenation must read `[skip from the encoder, up-sampled]`: the first
/// decoder conv's input-channel order depends on it.
fn check_concatenations(layers: &[KerasLayer], bottleneck_index: usize) -> Result<(), MlError> {
    let position: HashMap<&str, usize> = layers
        .iter()
        .enumerate()
        .map(|(i, l)| (l.name.as_str(), i))
        .collect();
    for (i, layer) in layers.iter().enumerate() {
        if layer.class != "Concatenate" || i < bottleneck_index {
            continue;
        }
        let at = |k: usize| {
            layer
                .inputs
                .get(k)
                .and_then(|n| position.get(n.as_str()))
                .copied()
        };
        match (at(0), at(1)) {
            (Some(a), Some(b)) if a < bottleneck_index && b > bottleneck_index => {}
            // The output's [softmax, weight map] concatenation (no conv follows it).
            _ if layers[i + 1..]
                .iter()
                .all(|l| weights_per_layer(&l.class).is_none()) => {}
            _ => {
                return graph_err(format!(
                    "concatenation {} does not read [encoder skip, up-sampled decoder]",
                    layer.name
                ))
            }
        }
    }
    Ok(())
}

fn tensor(w: &KerasWeight, device: &Device) -> Result<Tensor, MlError> {
    let count: usize = w.shape.iter().product();
    if count != w.values.len() {
        return graph_err(format!(
            "weight of shape {:?} holds {} values",
            w.shape,
            w.values.len()
        ));
    }
    Ok(Tensor::from_vec(
        w.values.clone(),
        w.shape.as_slice(),
        device,
    )?)
}

fn put_conv(
    out: &mut HashMap<String, Tensor>,
    prefix: &str,
    p: &Param,
    device: &Device,
) -> Result<(), MlError> {
    let (k, _, f) = p.conv_shape(&p.layer.class)?;
    let [kernel, bias] = [&p.weights[0], &p.weights[1]];
    let kernel_ok = kernel.shape.len() == 4 && kernel.shape[..2] == [k, k];
    let out_axis = if p.layer.class == "Conv2DTranspose" {
        2
    } else {
        3
    };
    if !kernel_ok || kernel.shape[out_axis] != f || bias.shape != [f] {
        return graph_err(format!(
            "layer {} has kernel {:?} and bias {:?}, expected {k}×{k} with {f} filters",
            p.layer.name, kernel.shape, bias.shape
        ));
    }
    // HWIO → OIHW; for Conv2DTranspose (H, W, out, in) → (in, out, H, W): the same permutation.
    let weight = tensor(kernel, device)?
        .permute((3, 2, 0, 1))?
        .contiguous()?;
    out.insert(format!("{prefix}.weight"), weight);
    out.insert(format!("{prefix}.bias"), tensor(bias, device)?);
    Ok(())
}

fn put_bn(
    out: &mut HashMap<String, Tensor>,
    prefix: &str,
    p: &Param,
    eps: &mut Option<f64>,
    device: &Device,
) -> Result<(), MlError> {
    if p.layer.class != "BatchNormalization" {
        return graph_err(format!(
            "layer {} is a {}, expected a BatchNormalization",
            p.layer.name, p.layer.class
        ));
    }
    let this_eps = p
        .layer
        .config
        .get("epsilon")
        .and_then(Value::as_f64)
        .unwrap_or(1e-3);
    match eps {
        Some(e) if (*e - this_eps).abs() > 1e-12 => {
            return graph_err(format!(
                "batch norm {} has epsilon {this_eps}, others {e}",
                p.layer.name
            ))
        }
        _ => *eps = Some(this_eps),
    }
    let n = p.weights[0].shape.clone();
    if n.len() != 1 || p.weights.iter().any(|w| w.shape != n) {
        return graph_err(format!(
            "batch norm {} has mismatched parameter shapes",
            p.layer.name
        ));
    }
    for (w, name) in p
        .weights
        .iter()
        .zip(["weight", "bias", "running_mean", "running_var"])
    {
        out.insert(format!("{prefix}.{name}"), tensor(w, device)?);
    }
    Ok(())
}

/// One U-Net level: its entry conv (`down` or `up`) with its batch norm, then the residual pair.
#[allow(clippy::too_many_arguments)]
fn put_level(
    out: &mut HashMap<String, Tensor>,
    prefix: &str,
    entry: &str,
    p: &Param,
    cur: &mut Cursor,
    width: usize,
    eps: &mut Option<f64>,
    device: &Device,
) -> Result<(), MlError> {
    put_conv(out, &format!("{prefix}.{entry}"), p, device)?;
    put_bn(
        out,
        &format!("{prefix}.bn0"),
        cur.next("a batch norm")?,
        eps,
        device,
    )?;
    put_pair(out, &format!("{prefix}.pair"), cur, width, eps, device)
}

fn put_pair(
    out: &mut HashMap<String, Tensor>,
    prefix: &str,
    cur: &mut Cursor,
    width: usize,
    eps: &mut Option<f64>,
    device: &Device,
) -> Result<(), MlError> {
    for i in 1..=2 {
        let p = cur.next("a residual conv")?;
        let (k, s, f) = p.conv_shape("Conv2D")?;
        if (k, s, f) != (3, 1, width) {
            return graph_err(format!(
                "conv {} is not 3×3 stride 1 with {width} filters",
                p.layer.name
            ));
        }
        put_conv(out, &format!("{prefix}.conv{i}"), p, device)?;
        put_bn(
            out,
            &format!("{prefix}.bn{i}"),
            cur.next("a batch norm")?,
            eps,
            device,
        )?;
    }
    Ok(())
}
