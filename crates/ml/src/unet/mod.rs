//! The original's residual 2-D U-Net ("coscia_unet", dafne-models `generate_thigh_split_model.py`
//! and `generate_leg_split_model.py`), for inference.
//!
//! Encoder level 0 = 1×1 conv, later levels = k×k stride-k conv (k = 2); each followed by BN
//! (`y0`), then a residual block `relu(bn2(conv2(relu(bn1(conv1(relu(y0)))))) + y0)` (the
//! original has 2 conv+BN layers per block; `Config::res_convs` makes it 1 or more, the
//! configurable U-Net). The bottleneck is one stride-3 conv + BN + ReLU without a residual
//! block. Each decoder level up-samples with a transposed conv whose kernel equals its stride
//! (the output padding is whatever makes the size equal the encoder level's: 15→31, 62→125 for
//! a 250² input), BN (`y0`), concatenates `[skip, relu(y0)]` and runs the same residual block.
//! A 1×1 conv gives the logits, softmax over classes. BatchNorm always runs in eval mode with
//! the stored moving statistics, folded into the conv before it.
//!
//! The network reads only the image channel(s); the original's second input channel (the
//! pixel weight map of its training loss) is not part of the model here.
//!
//! Tensors are NHWC (batch, rows, columns, channels) as in the original. Two implementations
//! share the folded weights: `graph` (candle tensor ops, any device: CUDA, Metal) and `cpu`
//! (hand-laid matmuls on slices, ~2× faster on the CPU; tested equal to `graph`).

mod cpu;
pub(crate) mod graph;
pub(crate) mod winograd;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use crate::MlError;

/// The architecture name stored in model packages.
pub const ARCHITECTURE: &str = "coscia_unet";

/// Shape of the network. Widths come from the stored model, never from constants: the legacy
/// kit's models have every width ÷ 8.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Image channels the first conv reads (1 for the original's models).
    pub image_channels: usize,
    /// Filters per encoder level, top (full resolution) first: `[32, 64, 128, 256, 512]`.
    pub widths: Vec<usize>,
    /// Filters of the bottleneck conv (1024).
    pub bottleneck_width: usize,
    /// Kernel and stride of the bottleneck conv (3).
    pub bottleneck_stride: usize,
    /// Kernel and stride of the down-sampling convs of levels 1.. (2).
    pub down_stride: usize,
    /// Output classes including background (13 thigh, 7 leg).
    pub classes: usize,
    /// Input rows and columns (250 × 250 thigh, 216 × 216 leg).
    pub input_size: [usize; 2],
    /// BatchNorm epsilon (Keras default 1e-3).
    pub bn_eps: f64,
    /// 3×3 conv + BN layers in each residual block (the original: 2). Other values make the
    /// configurable U-Net for new models (the original's ModelTrainer "Conv layers").
    #[serde(default = "default_res_convs")]
    pub res_convs: usize,
}

fn default_res_convs() -> usize {
    2
}

impl Config {
    /// The original thigh model (26,578,445 parameters).
    pub fn thigh() -> Config {
        Config::doubling(32, 5, 13, [250, 250])
    }

    /// The original leg model.
    pub fn leg() -> Config {
        Config::doubling(32, 5, 7, [216, 216])
    }

    /// `levels` encoder levels starting at `base_width` filters and doubling, the bottleneck
    /// doubling once more, as the original's generators build them.
    pub fn doubling(
        base_width: usize,
        levels: usize,
        classes: usize,
        input_size: [usize; 2],
    ) -> Config {
        let widths: Vec<usize> = (0..levels).map(|i| base_width << i).collect();
        Config {
            image_channels: 1,
            bottleneck_width: base_width << levels,
            widths,
            bottleneck_stride: 3,
            down_stride: 2,
            classes,
            input_size,
            bn_eps: 1e-3,
            res_convs: default_res_convs(),
        }
    }

    /// Every width divided by `divisor` (the legacy kit's narrow models use 8).
    pub fn narrowed(&self, divisor: usize) -> Config {
        let mut cfg = self.clone();
        cfg.widths = cfg.widths.iter().map(|w| w / divisor.max(1)).collect();
        cfg.bottleneck_width /= divisor.max(1);
        cfg
    }

    /// Refuses shapes the network cannot have: zero widths, a level that shrinks to nothing.
    pub fn validate(&self) -> Result<(), MlError> {
        let bad = |why: String| Err(MlError::BadConfig { why });
        if self.widths.is_empty() {
            return bad("no encoder levels".into());
        }
        if self.image_channels == 0 || self.classes == 0 || self.bottleneck_width == 0 {
            return bad("zero channels, classes or bottleneck width".into());
        }
        if self.widths.contains(&0) {
            return bad(format!("a zero width in {:?}", self.widths));
        }
        if self.res_convs == 0 {
            return bad("no conv layers in the residual blocks (res_convs 0)".into());
        }
        if self.down_stride == 0 || self.bottleneck_stride == 0 {
            return bad("zero stride".into());
        }
        if !(self.bn_eps > 0.0 && self.bn_eps.is_finite()) {
            return bad(format!(
                "batch-norm epsilon {} is not positive",
                self.bn_eps
            ));
        }
        for axis in 0..2 {
            let sizes = self.level_sizes(axis);
            if sizes.contains(&0) {
                return bad(format!(
                    "input size {:?} shrinks to nothing after {} levels",
                    self.input_size,
                    self.widths.len()
                ));
            }
        }
        Ok(())
    }

    /// Refuses a batch that is not (N ≥ 1, rows, columns, channels) of this network; the
    /// inference and the trainable networks both check their input here.
    pub fn check_input(&self, dims: &[usize]) -> Result<(), MlError> {
        let want = [self.input_size[0], self.input_size[1], self.image_channels];
        if dims.len() != 4 || dims[1..] != want || dims[0] == 0 {
            return Err(MlError::InputShape {
                got: dims.to_vec(),
                want: want.to_vec(),
            });
        }
        Ok(())
    }

    /// Size along `axis` (0 rows, 1 columns) at each encoder level and then the bottleneck:
    /// 250 → [250, 125, 62, 31, 15, 5]. Keras 'valid' convs round down.
    pub fn level_sizes(&self, axis: usize) -> Vec<usize> {
        let mut size = self.input_size[axis.min(1)];
        let mut out = vec![size];
        for _ in 1..self.widths.len() {
            size /= self.down_stride.max(1);
            out.push(size);
        }
        size /= self.bottleneck_stride.max(1);
        out.push(size);
        out
    }

    /// Stride of the conv that enters encoder level `level` (and of the transposed conv that
    /// leaves decoder level `level`).
    pub(crate) fn stride_into(&self, level: usize) -> usize {
        if level == self.widths.len() {
            self.bottleneck_stride
        } else {
            self.down_stride
        }
    }

    /// Stored numbers, BatchNorm moving statistics included (Keras counts them too).
    pub fn param_count(&self) -> usize {
        let conv = |k: usize, cin: usize, cout: usize| k * k * cin * cout + cout;
        let bn = |c: usize| 4 * c;
        let n = self.res_convs;
        let mut total = 0;
        let mut cin = self.image_channels;
        for (level, &w) in self.widths.iter().enumerate() {
            let k = if level == 0 { 1 } else { self.down_stride };
            total += conv(k, cin, w) + bn(w) + n * (conv(3, w, w) + bn(w));
            cin = w;
        }
        total +=
            conv(self.bottleneck_stride, cin, self.bottleneck_width) + bn(self.bottleneck_width);
        let mut below = self.bottleneck_width;
        for level in (0..self.widths.len()).rev() {
            let w = self.widths[level];
            let s = self.stride_into(level + 1);
            total += conv(s, below, w) + bn(w) + conv(3, 2 * w, w) + n * bn(w);
            total += n.saturating_sub(1) * conv(3, w, w);
            below = w;
        }
        total + conv(1, self.widths[0], self.classes)
    }

    /// Multiply-adds × 2 of one forward pass on one `input_size` crop (convolutions only).
    pub fn flops(&self) -> f64 {
        let rows = self.level_sizes(0);
        let cols = self.level_sizes(1);
        let px = |l: usize| (rows[l] * cols[l]) as f64;
        let conv =
            |k: usize, cin: usize, cout: usize, l: usize| 2.0 * (k * k * cin * cout) as f64 * px(l);
        let n = self.res_convs as f64;
        let mut total = 0.0;
        let mut cin = self.image_channels;
        for (level, &w) in self.widths.iter().enumerate() {
            let k = if level == 0 { 1 } else { self.down_stride };
            total += conv(k, cin, w, level) + n * conv(3, w, w, level);
            cin = w;
        }
        let bottom = self.widths.len();
        total += conv(self.bottleneck_stride, cin, self.bottleneck_width, bottom);
        let mut below = self.bottleneck_width;
        for level in (0..self.widths.len()).rev() {
            let w = self.widths[level];
            let s = self.stride_into(level + 1);
            // The transposed conv does k² MACs per input pixel and output channel.
            total += 2.0 * (s * s * below * w) as f64 * px(level + 1);
            total += conv(3, 2 * w, w, level) + (n - 1.0).max(0.0) * conv(3, w, w, level);
            below = w;
        }
        total + conv(1, self.widths[0], self.classes, 0)
    }
}

/// Where the forward pass runs.
#[derive(Debug)]
enum Engine {
    /// Hand-laid matmuls on the CPU.
    Cpu(cpu::Net),
    /// Candle tensor ops on this device.
    Graph(graph::Net, Device),
}

/// The network, for inference. Build it with [`CosciaUnet::new`] from a `VarBuilder` (a
/// package's weights, or a `VarMap` for random weights).
#[derive(Debug)]
pub struct CosciaUnet {
    cfg: Config,
    engine: Engine,
}

/// Named intermediate outputs (NHWC), in the original's names: `Level1_l`..`Level6_l`,
/// `Level5_r`..`Level1_r`, `logits`, `softmax`.
pub type Activations = Vec<(String, Tensor)>;

impl CosciaUnet {
    /// Tensor names: `enc.{l}.{down,bn0}`, `enc.{l}.pair.{conv1,bn1,…,convN,bnN}` (N =
    /// `res_convs`), `bottleneck.{conv,bn}`, `dec.{l}.{up,bn0}`, `dec.{l}.pair.*`, `head`; conv
    /// `weight` OIHW + `bias`, BN `weight`, `bias`, `running_mean`, `running_var`, up-conv
    /// `weight` (in, out, k, k) + `bias`. A missing or mis-shaped tensor is an error. Runs on
    /// the `VarBuilder`'s device: the CPU gets the hand-laid pass, other devices candle's ops.
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<CosciaUnet, MlError> {
        cfg.validate()?;
        let net = graph::Net::new(cfg, &vb)?;
        let engine = if vb.device().is_cpu() {
            Engine::Cpu(cpu::Net::from_graph(&net)?)
        } else {
            Engine::Graph(net, vb.device().clone())
        };
        Ok(CosciaUnet {
            cfg: cfg.clone(),
            engine,
        })
    }

    /// As [`CosciaUnet::new`], but always through candle's tensor ops (on the CPU too): the
    /// reference the CPU pass is tested against.
    pub fn new_with_candle_ops(cfg: &Config, vb: VarBuilder) -> Result<CosciaUnet, MlError> {
        cfg.validate()?;
        let net = graph::Net::new(cfg, &vb)?;
        Ok(CosciaUnet {
            cfg: cfg.clone(),
            engine: Engine::Graph(net, vb.device().clone()),
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// The device the pass runs on (and the outputs live on).
    pub fn device(&self) -> &Device {
        match &self.engine {
            Engine::Cpu(_) => &Device::Cpu,
            Engine::Graph(_, device) => device,
        }
    }

    /// Class probabilities (N, H, W, classes) for images (N, H, W, image_channels); H×W must
    /// be the configured input size. Runs the whole batch at once.
    pub fn forward(&self, images_nhwc: &Tensor) -> Result<Tensor, MlError> {
        let mut out = self.run(images_nhwc, false)?;
        out.pop().map(|(_, t)| t).ok_or(MlError::BadConfig {
            why: "the network produced no output".into(),
        })
    }

    /// Every level's closing ReLU, the logits and the softmax (all NHWC), for parity checks.
    pub fn forward_activations(&self, images_nhwc: &Tensor) -> Result<Activations, MlError> {
        self.run(images_nhwc, true)
    }

    fn check_input(&self, x: &Tensor) -> Result<(), MlError> {
        self.cfg.check_input(x.dims())
    }

    fn run(&self, x: &Tensor, capture: bool) -> Result<Activations, MlError> {
        self.check_input(x)?;
        match &self.engine {
            Engine::Graph(net, device) => Ok(net.run(&x.to_device(device)?, capture)?),
            Engine::Cpu(net) => {
                let (n, h, w, c) = x.dims4()?;
                let data = x
                    .to_device(&Device::Cpu)?
                    .to_dtype(DType::F32)?
                    .flatten_all()?
                    .to_vec1::<f32>()?;
                let input = cpu::Act { data, n, h, w, c };
                net.run(input, capture)
                    .into_iter()
                    .map(|(name, a)| {
                        let t = Tensor::from_vec(a.data, (a.n, a.h, a.w, a.c), &Device::Cpu)?;
                        Ok((name, t))
                    })
                    .collect()
            }
        }
    }
}

#[cfg(test)]
mod tests;
