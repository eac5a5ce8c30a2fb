//! The network as candle tensor operations, on whatever device the weights live on (CUDA,
//! Metal, or the CPU as the reference the hand-laid CPU pass in `cpu.rs` is tested against).
//!
//! Every convolution is one matmul over an im2col-like matrix on NHWC tensors whose columns run
//! (kernel row, kernel column, input channel), i.e. Keras's HWIO kernel flattened: candle's own
//! conv2d (NCHW im2col) reached ~3.5 GFLOP/s on this project's CPU, the matmul form runs at gemm
//! speed. Each BatchNorm is folded into the conv before it (`w·γ/√(σ²+ε)`,
//! `(b−μ)·γ/√(σ²+ε)+β`) when the network is built; the CPU pass reuses these folded weights.

use candle_core::Tensor;
use candle_nn::{Init, VarBuilder};

use super::{Activations, Config};

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
pub(super) enum ConvKind {
    /// 3×3, stride 1, zero padding 1 (Keras 'same').
    Same3x3,
    /// Kernel = stride = k, no padding (Keras 'valid'; rows/columns past a multiple of k are
    /// dropped). k = 1 is the pointwise conv.
    Patch(usize),
}

impl ConvKind {
    pub(super) fn kernel(self) -> usize {
        match self {
            ConvKind::Same3x3 => 3,
            ConvKind::Patch(k) => k,
        }
    }
}

/// A conv followed by its BatchNorm, folded, as an im2col matmul on NHWC.
#[derive(Clone, Debug)]
pub(super) struct ConvBn {
    /// (k·k·in, out).
    pub(super) weight: Tensor,
    pub(super) bias: Tensor,
    pub(super) kind: ConvKind,
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
        let k = kind.kernel();
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
            ConvKind::Patch(k) => patch_conv(x, &self.weight, &self.bias, k),
        }
    }
}

/// The 3×3 convs with BN closing a level (`res_convs` of them, the original: 2):
/// `relu(bnN(convN(…relu(bn1(conv1(x)))…)) + y0)`.
#[derive(Clone, Debug)]
pub(super) struct ResBlock {
    pub(super) convs: Vec<ConvBn>,
}

impl ResBlock {
    /// Tensors `conv{i}`, `bn{i}` for i = 1..=`count` under `vb`.
    fn new(
        vb: &VarBuilder,
        cin: usize,
        w: usize,
        count: usize,
        eps: f64,
    ) -> candle_core::Result<ResBlock> {
        let convs = (1..=count)
            .map(|i| {
                let cin = if i == 1 { cin } else { w };
                let (conv, bn) = (format!("conv{i}"), format!("bn{i}"));
                ConvBn::new(vb, &conv, Some(&bn), (cin, w), ConvKind::Same3x3, eps)
            })
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(ResBlock { convs })
    }

    fn forward(&self, x: &Tensor, shortcut: &Tensor) -> candle_core::Result<Tensor> {
        let mut h = x.clone();
        let last = self.convs.len().saturating_sub(1);
        for (i, conv) in self.convs.iter().enumerate() {
            h = conv.forward(&h)?;
            if i < last {
                h = h.relu()?;
            }
        }
        (h + shortcut)?.relu()
    }
}

/// A transposed conv whose kernel equals its stride, with its BatchNorm folded: every input
/// pixel writes its own k×k block, so it is one matmul and a reshuffle. Rows/columns past
/// `k·n` (Keras's output padding) receive only the bias.
#[derive(Clone, Debug)]
pub(super) struct UpConvBn {
    /// (in, k·k·out), columns (kernel row, kernel column, output channel).
    pub(super) weight: Tensor,
    pub(super) bias: Tensor,
    pub(super) stride: usize,
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
            weight: weight.detach(),
            bias: bias.detach(),
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
pub(super) struct EncoderLevel {
    pub(super) down: ConvBn,
    pub(super) block: ResBlock,
}

#[derive(Clone, Debug)]
pub(super) struct DecoderLevel {
    pub(super) up: UpConvBn,
    pub(super) block: ResBlock,
}

/// The folded layers, top level first in both `encoder` and `decoder`.
#[derive(Clone, Debug)]
pub(super) struct Net {
    pub(super) encoder: Vec<EncoderLevel>,
    pub(super) bottleneck: ConvBn,
    pub(super) decoder: Vec<DecoderLevel>,
    pub(super) head: ConvBn,
}

impl Net {
    /// Reads and folds every layer (names in [`super::CosciaUnet::new`]); `cfg` is validated.
    pub(super) fn new(cfg: &Config, vb: &VarBuilder) -> candle_core::Result<Net> {
        let eps = cfg.bn_eps;
        let mut encoder = Vec::new();
        let mut cin = cfg.image_channels;
        for (level, &w) in cfg.widths.iter().enumerate() {
            let v = vb.pp("enc").pp(level);
            let kind = ConvKind::Patch(if level == 0 { 1 } else { cfg.down_stride });
            encoder.push(EncoderLevel {
                down: ConvBn::new(&v, "down", Some("bn0"), (cin, w), kind, eps)?,
                block: ResBlock::new(&v.pp("pair"), w, w, cfg.res_convs, eps)?,
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
                block: ResBlock::new(&v.pp("pair"), 2 * w, w, cfg.res_convs, eps)?,
            });
        }
        let head = ConvBn::new(
            vb,
            "head",
            None,
            (cfg.widths[0], cfg.classes),
            ConvKind::Patch(1),
            eps,
        )?;
        Ok(Net {
            encoder,
            bottleneck,
            decoder,
            head,
        })
    }

    /// Softmax last; every level's closing ReLU and the logits before it when `capture`.
    pub(super) fn run(&self, x: &Tensor, capture: bool) -> candle_core::Result<Activations> {
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
            h = enc.block.forward(&y0.relu()?, &y0)?;
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
            h = dec.block.forward(&merged, &y0)?;
            keep(format!("Level{}_r", level + 1), &h);
        }
        let logits = self.head.forward(&h)?;
        keep("logits".into(), &logits);
        let probs = candle_nn::ops::softmax_last_dim(&logits)?;
        acts.push(("softmax".into(), probs));
        Ok(acts)
    }
}

/// A conv whose kernel equals its stride (`k` = 1 for the 1×1 convs) on NHWC, as one matmul:
/// each output pixel's k×k input patch is one row (kernel row, kernel column, channel), so
/// `weight` is the HWIO kernel flattened to (k·k·in, out). Rows and columns that do not fill
/// a whole patch are dropped, as Keras's 'valid' padding does. Shared with the trainable net.
pub(crate) fn patch_conv(
    x: &Tensor,
    weight: &Tensor,
    bias: &Tensor,
    k: usize,
) -> candle_core::Result<Tensor> {
    let (n, h, w, c) = x.dims4()?;
    let cout = bias.dim(0)?;
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
    cols.matmul(weight)?
        .broadcast_add(bias)?
        .reshape((n, ho, wo, cout))
}
