//! The original's residual 2-D U-Net ("coscia_unet", dafne-models `generate_thigh_split_model.py`
//! and `generate_leg_split_model.py`) as a candle module.
//!
//! Encoder level 0 = 1×1 conv, later levels = k×k stride-k conv (k = 2); each followed by BN
//! (`y0`), then `relu(bn2(conv3(relu(bn1(conv3(relu(y0)))))) + y0)`. The bottleneck is one
//! stride-3 conv + BN + ReLU without a residual block. Each decoder level up-samples with a
//! transposed conv whose kernel equals its stride (the output padding is whatever makes the
//! size equal the encoder level's: 15→31, 62→125 for a 250² input), BN (`y0`), concatenates
//! `[skip, relu(y0)]` and runs the same residual pair. A 1×1 conv gives the logits, softmax over
//! classes. BatchNorm always runs in eval mode with the stored moving statistics.
//!
//! The network reads only the image channel(s); the original's second input channel (the
//! pixel weight map of its training loss) is not part of the model here.
//!
//! Tensors are NHWC (batch, rows, columns, channels) as in the original, inside too: every
//! convolution is one matmul over an im2col matrix whose columns run (kernel row, kernel
//! column, input channel), i.e. Keras's HWIO kernel flattened. Candle's own CPU conv2d
//! (NCHW im2col) reached ~3.5 GFLOP/s here; the matmul form runs at gemm speed. The package
//! stores kernels OIHW (candle/PyTorch convention); they are flattened, and each BatchNorm is
//! folded into the conv before it (`w·γ/√(σ²+ε)`, `(b−μ)·γ/√(σ²+ε)+β`), when the network is
//! built: this module is for inference; training will run on the unfolded tensors.

use candle_core::Tensor;
use candle_nn::{Init, VarBuilder};
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
        if self.res_convs != 2 {
            return bad(format!(
                "{} convs per residual block: only 2 are supported yet",
                self.res_convs
            ));
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
    fn stride_into(&self, level: usize) -> usize {
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
        let mut total = 0;
        let mut cin = self.image_channels;
        for (level, &w) in self.widths.iter().enumerate() {
            let k = if level == 0 { 1 } else { self.down_stride };
            total += conv(k, cin, w) + bn(w) + 2 * (conv(3, w, w) + bn(w));
            cin = w;
        }
        total +=
            conv(self.bottleneck_stride, cin, self.bottleneck_width) + bn(self.bottleneck_width);
        let mut below = self.bottleneck_width;
        for level in (0..self.widths.len()).rev() {
            let w = self.widths[level];
            let s = self.stride_into(level + 1);
            total += conv(s, below, w) + bn(w) + conv(3, 2 * w, w) + conv(3, w, w) + 2 * bn(w);
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
        let mut total = 0.0;
        let mut cin = self.image_channels;
        for (level, &w) in self.widths.iter().enumerate() {
            let k = if level == 0 { 1 } else { self.down_stride };
            total += conv(k, cin, w, level) + 2.0 * conv(3, w, w, level);
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
            total += conv(3, 2 * w, w, level) + conv(3, w, w, level);
            below = w;
        }
        total + conv(1, self.widths[0], self.classes, 0)
    }
}

/// Reads `weight` (out, in, k, k) and `bias` of a conv under `vb`.
fn load_conv(
    vb: &VarBuilder,
    cin: usize,
    cout: usize,
    k: usize,
) -> candle_core::Result<(Tensor, Tensor)> {
    let w = vb.get_with_hints(
        (cout, cin, k, k),
        "weight",
        candle_nn::init::DEFAULT_KAIMING_NORMAL,
    )?;
    let b = vb.get_with_hints(cout, "bias", Init::Const(0.0))?;
    Ok((w, b))
}

/// A BatchNorm in eval mode as `x·scale + shift` per channel.
fn load_bn(vb: &VarBuilder, c: usize, eps: f64) -> candle_core::Result<(Tensor, Tensor)> {
    let gamma = vb.get_with_hints(c, "weight", Init::Const(1.0))?;
    let beta = vb.get_with_hints(c, "bias", Init::Const(0.0))?;
    let mean = vb.get_with_hints(c, "running_mean", Init::Const(0.0))?;
    let var = vb.get_with_hints(c, "running_var", Init::Const(1.0))?;
    let scale = (gamma / (var + eps)?.sqrt()?)?;
    let shift = (beta - (mean * &scale)?)?;
    Ok((scale, shift))
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConvKind {
    /// 3×3, stride 1, zero padding 1 (Keras 'same').
    Same3x3,
    /// Kernel = stride = k, no padding (Keras 'valid'; rows/columns past a multiple of k are
    /// dropped). k = 1 is the pointwise conv.
    Patch(usize),
}

/// A conv followed by its BatchNorm, folded, as an im2col matmul on NHWC.
#[derive(Clone, Debug)]
struct ConvBn {
    /// (k·k·in, out).
    weight: Tensor,
    bias: Tensor,
    kind: ConvKind,
}

impl ConvBn {
    /// `conv` names the conv under `vb`, `bn` its BatchNorm (none for the classifier).
    fn new(
        vb: &VarBuilder,
        conv: &str,
        bn: Option<&str>,
        (cin, cout): (usize, usize),
        kind: ConvKind,
        eps: f64,
    ) -> candle_core::Result<ConvBn> {
        let k = match kind {
            ConvKind::Same3x3 => 3,
            ConvKind::Patch(k) => k,
        };
        let (w, b) = load_conv(&vb.pp(conv), cin, cout, k)?;
        // OIHW → HWIO → (k·k·in, out): the im2col column order.
        let mut weight = w
            .permute((2, 3, 1, 0))?
            .contiguous()?
            .reshape((k * k * cin, cout))?;
        let mut bias = b;
        if let Some(bn) = bn {
            let (scale, shift) = load_bn(&vb.pp(bn), cout, eps)?;
            weight = weight.broadcast_mul(&scale.reshape((1, cout))?)?;
            bias = ((bias * &scale)? + shift)?;
        }
        // Detached: results then hold no autograd links to their inputs, so each intermediate
        // is freed as soon as it is used (with a VarMap's variables every activation of the
        // pass stayed alive: ~1.2 GB more peak memory on the full-width thigh).
        Ok(ConvBn {
            weight: weight.detach(),
            bias: bias.detach(),
            kind,
        })
    }

    fn forward(&self, x: &Tensor) -> candle_core::Result<Tensor> {
        let (n, h, w, c) = x.dims4()?;
        let cout = self.bias.dim(0)?;
        match self.kind {
            ConvKind::Same3x3 => {
                // Flatten the zero-padded images into one row-major list of pixels: the input
                // pixel of tap (dy, dx) for output pixel p is p + dy·(w+2) + dx. Outputs are
                // computed for every padded position (the two extra rows and columns per image
                // are garbage, cut afterwards), so each tap is a contiguous slice. The three
                // column taps are copied side by side once; each kernel row is then a matmul on
                // a shifted slice of that matrix (a third of a full im2col's copying).
                let (hp, wp) = (h + 2, w + 2);
                let total = n * hp * wp;
                let padded = x.pad_with_zeros(1, 1, 1)?.pad_with_zeros(2, 1, 1)?;
                let flat = padded
                    .reshape((total, c))?
                    .pad_with_zeros(0, 0, 2 * wp + 2)?;
                let taps = [0, 1, 2]
                    .map(|dx| flat.narrow(0, dx, total + 2 * wp))
                    .into_iter()
                    .collect::<candle_core::Result<Vec<_>>>()?;
                let row_cols = Tensor::cat(&taps, 1)?;
                let mut y =
                    row_cols
                        .narrow(0, 0, total)?
                        .matmul(&self.weight.narrow(0, 0, 3 * c)?)?;
                for dy in 1..3 {
                    let part = row_cols.narrow(0, dy * wp, total)?;
                    y = (y + part.matmul(&self.weight.narrow(0, dy * 3 * c, 3 * c)?)?)?;
                }
                let y = y.broadcast_add(&self.bias)?;
                y.reshape((n, hp, wp, cout))?
                    .narrow(1, 0, h)?
                    .narrow(2, 0, w)?
                    .contiguous()
            }
            ConvKind::Patch(k) => {
                let (ho, wo) = (h / k, w / k);
                let x = if ho * k != h || wo * k != w {
                    x.narrow(1, 0, ho * k)?.narrow(2, 0, wo * k)?.contiguous()?
                } else {
                    x.clone()
                };
                let cols = if k == 1 {
                    x.reshape((n * h * w, c))?
                } else {
                    x.reshape((n, ho, k, wo, k, c))?
                        .permute((0, 1, 3, 2, 4, 5))?
                        .contiguous()?
                        .reshape((n * ho * wo, k * k * c))?
                };
                cols.matmul(&self.weight)?
                    .broadcast_add(&self.bias)?
                    .reshape((n, ho, wo, cout))
            }
        }
    }
}

/// Two 3×3 convs with BN closing a level: `relu(bn2(conv2(relu(bn1(conv1(x))))) + y0)`.
#[derive(Clone, Debug)]
struct ResPair {
    first: ConvBn,
    second: ConvBn,
}

impl ResPair {
    fn new(vb: &VarBuilder, cin: usize, w: usize, eps: f64) -> candle_core::Result<ResPair> {
        Ok(ResPair {
            first: ConvBn::new(vb, "conv1", Some("bn1"), (cin, w), ConvKind::Same3x3, eps)?,
            second: ConvBn::new(vb, "conv2", Some("bn2"), (w, w), ConvKind::Same3x3, eps)?,
        })
    }

    fn forward(&self, x: &Tensor, shortcut: &Tensor) -> candle_core::Result<Tensor> {
        let h = self.first.forward(x)?.relu()?;
        (self.second.forward(&h)? + shortcut)?.relu()
    }
}

#[derive(Clone, Debug)]
struct EncoderLevel {
    down: ConvBn,
    pair: ResPair,
}

/// A transposed conv whose kernel equals its stride, with its BatchNorm folded: every input
/// pixel writes its own k×k block, so it is one matmul and a reshuffle. Rows/columns past
/// `k·n` (Keras's output padding) receive only the bias.
#[derive(Clone, Debug)]
struct UpConvBn {
    /// (in, k·k·out), columns (kernel row, kernel column, output channel).
    weight: Tensor,
    bias: Tensor,
    stride: usize,
}

impl UpConvBn {
    fn new(
        vb: &VarBuilder,
        (cin, cout): (usize, usize),
        stride: usize,
        eps: f64,
    ) -> candle_core::Result<UpConvBn> {
        let k = stride;
        let up = vb.pp("up");
        let w = up.get_with_hints(
            (cin, cout, k, k),
            "weight",
            candle_nn::init::DEFAULT_KAIMING_NORMAL,
        )?;
        let b = up.get_with_hints(cout, "bias", Init::Const(0.0))?;
        let (scale, shift) = load_bn(&vb.pp("bn0"), cout, eps)?;
        let weight = w
            .permute((0, 2, 3, 1))?
            .contiguous()?
            .broadcast_mul(&scale.reshape((1, 1, 1, cout))?)?
            .reshape((cin, k * k * cout))?;
        let bias = ((b * &scale)? + shift)?;
        Ok(UpConvBn {
            weight,
            bias,
            stride,
        })
    }

    fn forward(&self, x: &Tensor, out_rows: usize, out_cols: usize) -> candle_core::Result<Tensor> {
        let (n, h, w, cin) = x.dims4()?;
        let k = self.stride;
        let cout = self.bias.dim(0)?;
        let y = x.reshape((n * h * w, cin))?.matmul(&self.weight)?;
        let y = y
            .reshape((n, h, w, k, k, cout))?
            .permute((0, 1, 3, 2, 4, 5))?
            .reshape((n, h * k, w * k, cout))?;
        let y = y.pad_with_zeros(1, 0, out_rows.saturating_sub(h * k))?;
        let y = y.pad_with_zeros(2, 0, out_cols.saturating_sub(w * k))?;
        y.broadcast_add(&self.bias)
    }
}

#[derive(Clone, Debug)]
struct DecoderLevel {
    up: UpConvBn,
    pair: ResPair,
}

/// The network, for inference. Build it with [`CosciaUnet::new`] from a `VarBuilder` (a
/// package's weights, or a `VarMap` for random weights).
#[derive(Clone, Debug)]
pub struct CosciaUnet {
    cfg: Config,
    encoder: Vec<EncoderLevel>,
    bottleneck: ConvBn,
    /// Top level first, like `encoder`.
    decoder: Vec<DecoderLevel>,
    head: ConvBn,
}

/// Named intermediate outputs (NHWC), in the original's names: `Level1_l`..`Level6_l`,
/// `Level5_r`..`Level1_r`, `logits`, `softmax`.
pub type Activations = Vec<(String, Tensor)>;

impl CosciaUnet {
    /// Tensor names: `enc.{l}.{down,bn0}`, `enc.{l}.pair.{conv1,bn1,conv2,bn2}`,
    /// `bottleneck.{conv,bn}`, `dec.{l}.{up,bn0}`, `dec.{l}.pair.*`, `head`; conv `weight`
    /// OIHW + `bias`, BN `weight`, `bias`, `running_mean`, `running_var`, up-conv `weight`
    /// (in, out, k, k) + `bias`. A missing or mis-shaped tensor is an error.
    pub fn new(cfg: &Config, vb: VarBuilder) -> Result<CosciaUnet, MlError> {
        cfg.validate()?;
        let eps = cfg.bn_eps;
        let mut encoder = Vec::new();
        let mut cin = cfg.image_channels;
        for (level, &w) in cfg.widths.iter().enumerate() {
            let v = vb.pp("enc").pp(level);
            let kind = ConvKind::Patch(if level == 0 { 1 } else { cfg.down_stride });
            encoder.push(EncoderLevel {
                down: ConvBn::new(&v, "down", Some("bn0"), (cin, w), kind, eps)?,
                pair: ResPair::new(&v.pp("pair"), w, w, eps)?,
            });
            cin = w;
        }
        let kind = ConvKind::Patch(cfg.bottleneck_stride);
        let bottleneck = ConvBn::new(
            &vb.pp("bottleneck"),
            "conv",
            Some("bn"),
            (cin, cfg.bottleneck_width),
            kind,
            eps,
        )?;
        let mut decoder = Vec::new();
        for (level, &w) in cfg.widths.iter().enumerate() {
            let below = cfg
                .widths
                .get(level + 1)
                .copied()
                .unwrap_or(cfg.bottleneck_width);
            let v = vb.pp("dec").pp(level);
            decoder.push(DecoderLevel {
                up: UpConvBn::new(&v, (below, w), cfg.stride_into(level + 1), eps)?,
                pair: ResPair::new(&v.pp("pair"), 2 * w, w, eps)?,
            });
        }
        let head = ConvBn::new(
            &vb,
            "head",
            None,
            (cfg.widths[0], cfg.classes),
            ConvKind::Patch(1),
            eps,
        )?;
        Ok(CosciaUnet {
            cfg: cfg.clone(),
            encoder,
            bottleneck,
            decoder,
            head,
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
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
        let dims = x.dims();
        let want = [
            self.cfg.input_size[0],
            self.cfg.input_size[1],
            self.cfg.image_channels,
        ];
        if dims.len() != 4 || dims[1..] != want || dims[0] == 0 {
            return Err(MlError::InputShape {
                got: dims.to_vec(),
                want: want.to_vec(),
            });
        }
        Ok(())
    }

    fn run(&self, x: &Tensor, capture: bool) -> Result<Activations, MlError> {
        self.check_input(x)?;
        let mut acts: Activations = Vec::new();
        let mut keep = |name: String, t: &Tensor| {
            if capture {
                acts.push((name, t.clone()));
            }
        };
        let mut h = x.contiguous()?;
        let mut skips = Vec::with_capacity(self.encoder.len());
        for (level, enc) in self.encoder.iter().enumerate() {
            let y0 = enc.down.forward(&h)?;
            h = enc.pair.forward(&y0.relu()?, &y0)?;
            keep(format!("Level{}_l", level + 1), &h);
            skips.push(h.clone());
        }
        h = self.bottleneck.forward(&h)?.relu()?;
        keep(format!("Level{}_l", self.encoder.len() + 1), &h);
        for (level, dec) in self.decoder.iter().enumerate().rev() {
            let skip = &skips[level];
            let (_, rows, cols, _) = skip.dims4()?;
            let y0 = dec.up.forward(&h, rows, cols)?;
            let merged = Tensor::cat(&[skip, &y0.relu()?], 3)?;
            h = dec.pair.forward(&merged, &y0)?;
            keep(format!("Level{}_r", level + 1), &h);
        }
        let logits = self.head.forward(&h)?;
        keep("logits".into(), &logits);
        let probs = candle_nn::ops::softmax_last_dim(&logits)?;
        acts.push(("softmax".into(), probs));
        Ok(acts)
    }
}
