//! The trainable form of [`crate::unet::CosciaUnet`]: the same graph and the same NHWC
//! im2col-as-matmul convolutions, but every kernel, bias and BatchNorm scale/offset is a candle
//! `Var` and BatchNorm is not folded. In training mode BatchNorm normalises with the batch's
//! statistics and the moving mean/variance follow Keras (momentum 0.99; the moving variance
//! takes the unbiased batch variance, as TensorFlow's fused kernel does); in eval mode it uses
//! the moving statistics, so [`TrainableUnet::weights`] run through `CosciaUnet::new` give the
//! same softmax.
//!
//! Kernels are kept in the matmul layout (`(k·k·in, out)` for convs, `(in, k·k·out)` for the
//! transposed convs: Keras's HWIO flattened), converted from/to the package's OIHW layout at
//! the edges. On the CPU the 3×3 convs (with their bias and the ReLU on their input), the
//! training-mode BatchNorm, the blocks' closing `relu(· + shortcut)`, the decoder's
//! concatenation, the patch and the transposed convs are custom ops with their own backward
//! passes on plain slices (`conv_op.rs`, `bn_op.rs`, `eltwise_op.rs`, `patch_op.rs`), so a
//! training pass keeps about one activation per layer alive; GPUs run the tensor ops.

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor, Var};

use super::rng::SplitMix;
use crate::unet::Config;
use crate::MlError;

/// Keras BatchNormalization's default momentum.
pub const BN_MOMENTUM: f64 = 0.99;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ConvKind {
    /// 3×3, stride 1, zero padding 1 (Keras 'same').
    Same3x3,
    /// Kernel = stride = k, no padding (Keras 'valid').
    Patch(usize),
}

impl ConvKind {
    fn k(self) -> usize {
        match self {
            ConvKind::Same3x3 => 3,
            ConvKind::Patch(k) => k,
        }
    }
}

/// How a tensor starts when the network is built at random (Keras's defaults).
#[derive(Clone, Copy, Debug)]
enum Init {
    /// Glorot uniform with `fan_in + fan_out`.
    Glorot(usize),
    Zeros,
    Ones,
}

/// Where the tensors come from while the network is built: the package layout (OIHW kernels,
/// (in, out, k, k) transposed kernels) by name.
type Source<'a> = dyn FnMut(&str, &[usize], Init) -> Result<Tensor, MlError> + 'a;

/// A trainable tensor and whether the original's `kernel_regularizer=l2(0.01)` applies to it.
#[derive(Clone, Debug)]
pub struct Param {
    pub name: String,
    pub var: Var,
    pub regularised: bool,
}

#[derive(Debug)]
struct Conv {
    /// (k·k·in, out).
    weight: Var,
    bias: Var,
    kind: ConvKind,
    cin: usize,
    cout: usize,
}

impl Conv {
    fn build(
        src: &mut Source,
        name: &str,
        (cin, cout): (usize, usize),
        kind: ConvKind,
    ) -> Result<Conv, MlError> {
        let k = kind.k();
        let fans = k * k * (cin + cout);
        let w = src(
            &format!("{name}.weight"),
            &[cout, cin, k, k],
            Init::Glorot(fans),
        )?;
        let b = src(&format!("{name}.bias"), &[cout], Init::Zeros)?;
        let w = w
            .permute((2, 3, 1, 0))?
            .contiguous()?
            .reshape((k * k * cin, cout))?;
        Ok(Conv {
            weight: Var::from_tensor(&w)?,
            bias: Var::from_tensor(&b)?,
            kind,
            cin,
            cout,
        })
    }

    fn export(&self, name: &str, out: &mut HashMap<String, Tensor>) -> Result<(), MlError> {
        let k = self.kind.k();
        let w = self
            .weight
            .as_tensor()
            .reshape((k, k, self.cin, self.cout))?
            .permute((3, 2, 0, 1))?
            .contiguous()?;
        out.insert(format!("{name}.weight"), f32_copy(&w)?);
        out.insert(format!("{name}.bias"), f32_copy(self.bias.as_tensor())?);
        Ok(())
    }

    fn params(&self, name: &str, out: &mut Vec<Param>) {
        out.push(param(format!("{name}.weight"), &self.weight, true));
        out.push(param(format!("{name}.bias"), &self.bias, false));
    }

    /// The conv of `x`, ReLU'd first when `relu_in`.
    fn forward(&self, x: &Tensor, relu_in: bool) -> candle_core::Result<Tensor> {
        let weight = self.weight.as_tensor();
        let bias = self.bias.as_tensor();
        match self.kind {
            ConvKind::Same3x3 => super::conv_op::same3x3(x, weight, bias, relu_in),
            ConvKind::Patch(k) if relu_in => {
                super::patch_op::patch_conv(&x.relu()?, weight, bias, k)
            }
            ConvKind::Patch(k) => super::patch_op::patch_conv(x, weight, bias, k),
        }
    }
}

/// A transposed conv whose kernel equals its stride (see `unet.rs`): one matmul and a
/// reshuffle; rows/columns past `k·n` (Keras's output padding) receive only the bias.
#[derive(Debug)]
struct UpConv {
    /// (in, k·k·out), columns (kernel row, kernel column, output channel).
    weight: Var,
    bias: Var,
    stride: usize,
    cin: usize,
    cout: usize,
}

impl UpConv {
    fn build(
        src: &mut Source,
        name: &str,
        (cin, cout): (usize, usize),
        stride: usize,
    ) -> Result<UpConv, MlError> {
        let k = stride;
        let w = src(
            &format!("{name}.weight"),
            &[cin, cout, k, k],
            Init::Glorot(k * k * (cin + cout)),
        )?;
        let b = src(&format!("{name}.bias"), &[cout], Init::Zeros)?;
        let w = w
            .permute((0, 2, 3, 1))?
            .contiguous()?
            .reshape((cin, k * k * cout))?;
        Ok(UpConv {
            weight: Var::from_tensor(&w)?,
            bias: Var::from_tensor(&b)?,
            stride,
            cin,
            cout,
        })
    }

    fn export(&self, name: &str, out: &mut HashMap<String, Tensor>) -> Result<(), MlError> {
        let k = self.stride;
        let w = self
            .weight
            .as_tensor()
            .reshape((self.cin, k, k, self.cout))?
            .permute((0, 3, 1, 2))?
            .contiguous()?;
        out.insert(format!("{name}.weight"), f32_copy(&w)?);
        out.insert(format!("{name}.bias"), f32_copy(self.bias.as_tensor())?);
        Ok(())
    }

    fn params(&self, name: &str, out: &mut Vec<Param>) {
        out.push(param(format!("{name}.weight"), &self.weight, true));
        out.push(param(format!("{name}.bias"), &self.bias, false));
    }

    fn forward(&self, x: &Tensor, out_rows: usize, out_cols: usize) -> candle_core::Result<Tensor> {
        super::patch_op::up_conv(
            x,
            self.weight.as_tensor(),
            self.bias.as_tensor(),
            self.stride,
            (out_rows, out_cols),
        )
    }
}

#[derive(Debug)]
struct Bn {
    /// Position in the network's list of BatchNorms (the order of `TrainableUnet::bns_mut`).
    id: usize,
    gamma: Var,
    beta: Var,
    moving_mean: Tensor,
    moving_var: Tensor,
    eps: f64,
}

/// One BatchNorm's batch statistics from a training pass, applied after the step.
#[derive(Debug)]
struct BatchStats {
    id: usize,
    mean: Tensor,
    /// Unbiased (n/(n−1)), as the moving variance takes it.
    var: Tensor,
}

impl Bn {
    fn build(src: &mut Source, name: &str, c: usize, id: usize, eps: f64) -> Result<Bn, MlError> {
        Ok(Bn {
            id,
            gamma: Var::from_tensor(&src(&format!("{name}.weight"), &[c], Init::Ones)?)?,
            beta: Var::from_tensor(&src(&format!("{name}.bias"), &[c], Init::Zeros)?)?,
            moving_mean: src(&format!("{name}.running_mean"), &[c], Init::Zeros)?,
            moving_var: src(&format!("{name}.running_var"), &[c], Init::Ones)?,
            eps,
        })
    }

    fn export(&self, name: &str, out: &mut HashMap<String, Tensor>) -> Result<(), MlError> {
        out.insert(format!("{name}.weight"), f32_copy(self.gamma.as_tensor())?);
        out.insert(format!("{name}.bias"), f32_copy(self.beta.as_tensor())?);
        out.insert(format!("{name}.running_mean"), f32_copy(&self.moving_mean)?);
        out.insert(format!("{name}.running_var"), f32_copy(&self.moving_var)?);
        Ok(())
    }

    fn params(&self, name: &str, out: &mut Vec<Param>) {
        out.push(param(format!("{name}.weight"), &self.gamma, false));
        out.push(param(format!("{name}.bias"), &self.beta, false));
    }

    fn forward(
        &self,
        x: &Tensor,
        stats: Option<&mut Vec<BatchStats>>,
    ) -> candle_core::Result<Tensor> {
        let (n, h, w, c) = x.dims4()?;
        let gamma = self.gamma.as_tensor();
        let beta = self.beta.as_tensor();
        match stats {
            None => {
                let scale = (gamma / (&self.moving_var + self.eps)?.sqrt()?)?;
                let shift = (beta - (&self.moving_mean * &scale)?)?;
                x.broadcast_mul(&scale)?.broadcast_add(&shift)
            }
            Some(stats) => {
                let m = n * h * w;
                let bessel = if m > 1 {
                    m as f64 / (m - 1) as f64
                } else {
                    1.0
                };
                if x.device().is_cpu() && super::kernels::supported(x.dtype()) {
                    let (y, mean, var) = super::bn_op::bn_train(x, gamma, beta, self.eps)?;
                    let var: Vec<f64> = var.iter().map(|v| v * bessel).collect();
                    let dt = x.dtype();
                    stats.push(BatchStats {
                        id: self.id,
                        mean: Tensor::from_vec(mean, c, x.device())?.to_dtype(dt)?,
                        var: Tensor::from_vec(var, c, x.device())?.to_dtype(dt)?,
                    });
                    return Ok(y);
                }
                let (y, mean, var) = super::bn_op::bn_train_plain(x, gamma, beta, self.eps)?;
                stats.push(BatchStats {
                    id: self.id,
                    mean,
                    var: (var * bessel)?,
                });
                Ok(y)
            }
        }
    }
}

/// A conv followed by its BatchNorm.
#[derive(Debug)]
struct ConvBn {
    conv: Conv,
    bn: Bn,
}

impl ConvBn {
    fn forward(
        &self,
        x: &Tensor,
        relu_in: bool,
        stats: Option<&mut Vec<BatchStats>>,
    ) -> candle_core::Result<Tensor> {
        self.bn.forward(&self.conv.forward(x, relu_in)?, stats)
    }
}

#[derive(Debug)]
struct Level {
    /// Encoder: the down conv + `bn0`; decoder: unused (see `up`).
    down: Option<ConvBn>,
    up: Option<(UpConv, Bn)>,
    /// The residual block's 3×3 conv + BN layers (`conv{i}`/`bn{i}`, i from 1).
    pair: Vec<ConvBn>,
}

/// The trainable network. Build it with [`TrainableUnet::new_random`] or
/// [`TrainableUnet::from_package`]; train with [`crate::train::fit`].
#[derive(Debug)]
pub struct TrainableUnet {
    cfg: Config,
    encoder: Vec<Level>,
    bottleneck: ConvBn,
    /// Top level first, like `encoder`.
    decoder: Vec<Level>,
    head: Conv,
    device: Device,
    dtype: DType,
    /// Taken at the first training pass (see `kernels::TrainingHeap`).
    heap: std::sync::OnceLock<super::kernels::TrainingHeap>,
}

fn param(name: String, var: &Var, regularised: bool) -> Param {
    Param {
        name,
        var: var.clone(),
        regularised,
    }
}

fn f32_copy(t: &Tensor) -> candle_core::Result<Tensor> {
    // A copy, never a view of the Var: the package must not change when training goes on.
    t.to_dtype(DType::F32)?.copy()
}

/// `Config::validate`, but accepting any `res_convs` ≥ 1 (the inference net may not yet).
fn validate(cfg: &Config) -> Result<(), MlError> {
    if cfg.res_convs == 0 {
        return Err(MlError::BadConfig {
            why: "zero convs per residual block".into(),
        });
    }
    let mut two = cfg.clone();
    two.res_convs = 2;
    two.validate()
}

impl TrainableUnet {
    /// Keras's initial state: Glorot-uniform kernels, zero biases, BN γ 1, β 0, moving mean
    /// 0, variance 1. Same seed, same network.
    pub fn new_random(cfg: &Config, seed: u64, device: &Device) -> Result<TrainableUnet, MlError> {
        TrainableUnet::new_random_dtype(cfg, seed, DType::F32, device)
    }

    /// [`TrainableUnet::new_random`] in another float type (F64 for gradient checks).
    pub fn new_random_dtype(
        cfg: &Config,
        seed: u64,
        dtype: DType,
        device: &Device,
    ) -> Result<TrainableUnet, MlError> {
        let mut rng = SplitMix::new(seed);
        let mut src = |_: &str, shape: &[usize], init: Init| -> Result<Tensor, MlError> {
            let len: usize = shape.iter().product();
            let values: Vec<f64> = match init {
                Init::Zeros => vec![0.0; len],
                Init::Ones => vec![1.0; len],
                Init::Glorot(fans) => {
                    let limit = (6.0 / fans.max(1) as f64).sqrt();
                    (0..len)
                        .map(|_| (rng.next_f64() * 2.0 - 1.0) * limit)
                        .collect()
                }
            };
            Ok(Tensor::from_vec(values, shape, device)?.to_dtype(dtype)?)
        };
        TrainableUnet::build(cfg, &mut src, dtype, device)
    }

    /// The package's weights (names as `CosciaUnet::new` reads them), in F32. A missing or
    /// mis-shaped tensor is an error.
    pub fn from_package(pkg: &crate::Package, device: &Device) -> Result<TrainableUnet, MlError> {
        let crate::package::Architecture::CosciaUnet(cfg) = pkg.architecture()?;
        TrainableUnet::from_weights(&cfg, &pkg.weights, device)
    }

    /// From named tensors in the package layout.
    pub fn from_weights(
        cfg: &Config,
        weights: &HashMap<String, Tensor>,
        device: &Device,
    ) -> Result<TrainableUnet, MlError> {
        let mut src = |name: &str, shape: &[usize], _: Init| -> Result<Tensor, MlError> {
            let t = weights.get(name).ok_or_else(|| MlError::Input {
                why: format!("the weights have no tensor {name:?}"),
            })?;
            if t.dims() != shape {
                return Err(MlError::Input {
                    why: format!(
                        "tensor {name:?} has shape {:?}, the network needs {shape:?}",
                        t.dims()
                    ),
                });
            }
            Ok(t.to_device(device)?.to_dtype(DType::F32)?.copy()?)
        };
        TrainableUnet::build(cfg, &mut src, DType::F32, device)
    }

    fn build(
        cfg: &Config,
        src: &mut Source,
        dtype: DType,
        device: &Device,
    ) -> Result<TrainableUnet, MlError> {
        validate(cfg)?;
        let eps = cfg.bn_eps;
        let mut ids = 0usize;
        let mut next_id = || {
            ids += 1;
            ids - 1
        };
        let pair = |src: &mut Source,
                    prefix: &str,
                    cin: usize,
                    w: usize,
                    next_id: &mut dyn FnMut() -> usize|
         -> Result<Vec<ConvBn>, MlError> {
            (1..=cfg.res_convs)
                .map(|i| {
                    let cin = if i == 1 { cin } else { w };
                    Ok(ConvBn {
                        conv: Conv::build(
                            src,
                            &format!("{prefix}.conv{i}"),
                            (cin, w),
                            ConvKind::Same3x3,
                        )?,
                        bn: Bn::build(src, &format!("{prefix}.bn{i}"), w, next_id(), eps)?,
                    })
                })
                .collect()
        };
        let mut encoder = Vec::new();
        let mut cin = cfg.image_channels;
        for (level, &w) in cfg.widths.iter().enumerate() {
            let p = format!("enc.{level}");
            let kind = ConvKind::Patch(if level == 0 { 1 } else { cfg.down_stride });
            let down = ConvBn {
                conv: Conv::build(src, &format!("{p}.down"), (cin, w), kind)?,
                bn: Bn::build(src, &format!("{p}.bn0"), w, next_id(), eps)?,
            };
            let pair = pair(src, &format!("{p}.pair"), w, w, &mut next_id)?;
            encoder.push(Level {
                down: Some(down),
                up: None,
                pair,
            });
            cin = w;
        }
        let bottleneck = ConvBn {
            conv: Conv::build(
                src,
                "bottleneck.conv",
                (cin, cfg.bottleneck_width),
                ConvKind::Patch(cfg.bottleneck_stride),
            )?,
            bn: Bn::build(src, "bottleneck.bn", cfg.bottleneck_width, next_id(), eps)?,
        };
        let mut decoder = Vec::new();
        for (level, &w) in cfg.widths.iter().enumerate() {
            let below = cfg
                .widths
                .get(level + 1)
                .copied()
                .unwrap_or(cfg.bottleneck_width);
            let stride = if level + 1 == cfg.widths.len() {
                cfg.bottleneck_stride
            } else {
                cfg.down_stride
            };
            let p = format!("dec.{level}");
            let up = UpConv::build(src, &format!("{p}.up"), (below, w), stride)?;
            let bn0 = Bn::build(src, &format!("{p}.bn0"), w, next_id(), eps)?;
            let pair = pair(src, &format!("{p}.pair"), 2 * w, w, &mut next_id)?;
            decoder.push(Level {
                down: None,
                up: Some((up, bn0)),
                pair,
            });
        }
        let head = Conv::build(
            src,
            "head",
            (cfg.widths[0], cfg.classes),
            ConvKind::Patch(1),
        )?;
        Ok(TrainableUnet {
            cfg: cfg.clone(),
            encoder,
            bottleneck,
            decoder,
            head,
            device: device.clone(),
            dtype,
            heap: std::sync::OnceLock::new(),
        })
    }

    pub fn config(&self) -> &Config {
        &self.cfg
    }

    pub fn device(&self) -> &Device {
        &self.device
    }

    pub fn dtype(&self) -> DType {
        self.dtype
    }

    /// Every tensor under the names and layouts `CosciaUnet::new` reads, in F32, copied.
    pub fn weights(&self) -> Result<HashMap<String, Tensor>, MlError> {
        let mut out = HashMap::new();
        let pair = |p: &str, pair: &[ConvBn], out: &mut HashMap<String, Tensor>| {
            for (i, cb) in pair.iter().enumerate() {
                cb.conv.export(&format!("{p}.conv{}", i + 1), out)?;
                cb.bn.export(&format!("{p}.bn{}", i + 1), out)?;
            }
            Ok::<(), MlError>(())
        };
        for (level, l) in self.encoder.iter().enumerate() {
            let p = format!("enc.{level}");
            if let Some(down) = &l.down {
                down.conv.export(&format!("{p}.down"), &mut out)?;
                down.bn.export(&format!("{p}.bn0"), &mut out)?;
            }
            pair(&format!("{p}.pair"), &l.pair, &mut out)?;
        }
        self.bottleneck.conv.export("bottleneck.conv", &mut out)?;
        self.bottleneck.bn.export("bottleneck.bn", &mut out)?;
        for (level, l) in self.decoder.iter().enumerate() {
            let p = format!("dec.{level}");
            if let Some((up, bn)) = &l.up {
                up.export(&format!("{p}.up"), &mut out)?;
                bn.export(&format!("{p}.bn0"), &mut out)?;
            }
            pair(&format!("{p}.pair"), &l.pair, &mut out)?;
        }
        self.head.export("head", &mut out)?;
        Ok(out)
    }

    /// The trainable tensors (kernels marked for the L2 penalty), in a fixed order.
    pub fn params(&self) -> Vec<Param> {
        let mut out = Vec::new();
        let pair = |p: &str, pair: &[ConvBn], out: &mut Vec<Param>| {
            for (i, cb) in pair.iter().enumerate() {
                cb.conv.params(&format!("{p}.conv{}", i + 1), out);
                cb.bn.params(&format!("{p}.bn{}", i + 1), out);
            }
        };
        for (level, l) in self.encoder.iter().enumerate() {
            let p = format!("enc.{level}");
            if let Some(down) = &l.down {
                down.conv.params(&format!("{p}.down"), &mut out);
                down.bn.params(&format!("{p}.bn0"), &mut out);
            }
            pair(&format!("{p}.pair"), &l.pair, &mut out);
        }
        self.bottleneck.conv.params("bottleneck.conv", &mut out);
        self.bottleneck.bn.params("bottleneck.bn", &mut out);
        for (level, l) in self.decoder.iter().enumerate() {
            let p = format!("dec.{level}");
            if let Some((up, bn)) = &l.up {
                up.params(&format!("{p}.up"), &mut out);
                bn.params(&format!("{p}.bn0"), &mut out);
            }
            pair(&format!("{p}.pair"), &l.pair, &mut out);
        }
        self.head.params("head", &mut out);
        out
    }

    fn bns_mut(&mut self) -> Vec<&mut Bn> {
        let mut out = Vec::new();
        for l in self.encoder.iter_mut().chain(self.decoder.iter_mut()) {
            if let Some(down) = &mut l.down {
                out.push(&mut down.bn);
            }
            if let Some((_, bn)) = &mut l.up {
                out.push(bn);
            }
            out.extend(l.pair.iter_mut().map(|cb| &mut cb.bn));
        }
        out.push(&mut self.bottleneck.bn);
        out
    }

    /// Moving statistics of every BatchNorm (for snapshots: early stopping keeps the best).
    pub(crate) fn bn_state(&self) -> Vec<(Tensor, Tensor)> {
        let mut all: Vec<(usize, Tensor, Tensor)> = Vec::new();
        let mut push = |bn: &Bn| all.push((bn.id, bn.moving_mean.clone(), bn.moving_var.clone()));
        for l in self.encoder.iter().chain(self.decoder.iter()) {
            if let Some(down) = &l.down {
                push(&down.bn);
            }
            if let Some((_, bn)) = &l.up {
                push(bn);
            }
            l.pair.iter().for_each(|cb| push(&cb.bn));
        }
        push(&self.bottleneck.bn);
        all.sort_by_key(|(id, _, _)| *id);
        all.into_iter().map(|(_, m, v)| (m, v)).collect()
    }

    pub(crate) fn set_bn_state(&mut self, state: &[(Tensor, Tensor)]) {
        for bn in self.bns_mut() {
            if let Some((m, v)) = state.get(bn.id) {
                bn.moving_mean = m.clone();
                bn.moving_var = v.clone();
            }
        }
    }

    fn check_input(&self, x: &Tensor) -> Result<(), MlError> {
        self.cfg.check_input(x.dims())
    }

    /// Logits (N, H, W, classes) with BatchNorm on the moving statistics (inference).
    pub fn forward_eval(&self, images_nhwc: &Tensor) -> Result<Tensor, MlError> {
        self.check_input(images_nhwc)?;
        let logits = self.run(&images_nhwc.to_dtype(self.dtype)?, None);
        if self.heap.get().is_none() {
            super::kernels::release_pool();
        }
        Ok(logits?)
    }

    /// Class probabilities in eval mode (what `CosciaUnet::forward` computes).
    pub fn predict(&self, images_nhwc: &Tensor) -> Result<Tensor, MlError> {
        let logits = self.forward_eval(images_nhwc)?;
        Ok(candle_nn::ops::softmax_last_dim(&logits)?)
    }

    /// Logits with BatchNorm on the batch's statistics; the moving statistics take this
    /// batch's (Keras momentum).
    pub fn forward_train(&mut self, images_nhwc: &Tensor) -> Result<Tensor, MlError> {
        let (logits, stats) = self.forward_train_pending(images_nhwc)?;
        self.apply_stats(stats)?;
        Ok(logits)
    }

    /// Logits with BatchNorm on the batch's statistics, leaving the moving statistics as they
    /// are (gradient checks).
    pub fn logits_batch_stats(&self, images_nhwc: &Tensor) -> Result<Tensor, MlError> {
        Ok(self.forward_train_pending(images_nhwc)?.0)
    }

    /// Training pass whose moving-statistics updates are returned, not yet applied.
    pub(crate) fn forward_train_pending(
        &self,
        images_nhwc: &Tensor,
    ) -> Result<(Tensor, PendingStats), MlError> {
        self.check_input(images_nhwc)?;
        self.heap.get_or_init(super::kernels::TrainingHeap::new);
        let mut stats = Vec::new();
        let logits = self.run(&images_nhwc.to_dtype(self.dtype)?, Some(&mut stats))?;
        Ok((logits, PendingStats(stats)))
    }

    pub(crate) fn apply_stats(&mut self, stats: PendingStats) -> Result<(), MlError> {
        let m = BN_MOMENTUM;
        let mut by_id: HashMap<usize, BatchStats> =
            stats.0.into_iter().map(|s| (s.id, s)).collect();
        for bn in self.bns_mut() {
            if let Some(s) = by_id.remove(&bn.id) {
                bn.moving_mean = ((&bn.moving_mean * m)? + (s.mean * (1.0 - m))?)?;
                bn.moving_var = ((&bn.moving_var * m)? + (s.var * (1.0 - m))?)?;
            }
        }
        Ok(())
    }

    /// Sets every BatchNorm's moving statistics to the plain mean of the batch statistics of
    /// `passes` (training-mode passes over a set of crops): the statistics the network saw
    /// in training, where Keras's exponential average (momentum 0.99) still remembers its
    /// initial 0/1 after a few hundred steps.
    pub(crate) fn set_stats_mean(&mut self, passes: Vec<PendingStats>) -> Result<(), MlError> {
        let n = passes.len();
        if n == 0 {
            return Ok(());
        }
        let mut sums: HashMap<usize, (Tensor, Tensor)> = HashMap::new();
        for s in passes.into_iter().flat_map(|p| p.0) {
            let sum = match sums.remove(&s.id) {
                Some((m, v)) => ((m + s.mean)?, (v + s.var)?),
                None => (s.mean, s.var),
            };
            sums.insert(s.id, sum);
        }
        for bn in self.bns_mut() {
            if let Some((m, v)) = sums.remove(&bn.id) {
                bn.moving_mean = (m / n as f64)?;
                bn.moving_var = (v / n as f64)?;
            }
        }
        Ok(())
    }

    fn run(
        &self,
        x: &Tensor,
        mut stats: Option<&mut Vec<BatchStats>>,
    ) -> candle_core::Result<Tensor> {
        let mut h = x.contiguous()?;
        let mut skips = Vec::with_capacity(self.encoder.len());
        for l in &self.encoder {
            let Some(down) = &l.down else {
                continue;
            };
            let y0 = down.forward(&h, false, stats.as_deref_mut())?;
            h = residual(&l.pair, &y0, true, &y0, &mut stats)?;
            skips.push(h.clone());
        }
        h = self
            .bottleneck
            .forward(&h, false, stats.as_deref_mut())?
            .relu()?;
        for (level, l) in self.decoder.iter().enumerate().rev() {
            let (Some((up, bn)), Some(skip)) = (&l.up, skips.get(level)) else {
                continue;
            };
            let (_, rows, cols, _) = skip.dims4()?;
            let y0 = bn.forward(&up.forward(&h, rows, cols)?, stats.as_deref_mut())?;
            let merged = super::eltwise_op::cat_relu(skip, &y0)?;
            h = residual(&l.pair, &merged, false, &y0, &mut stats)?;
        }
        self.head.forward(&h, false)
    }
}

/// `relu(bnN(convN(…relu(bn1(conv1(x)))…)) + shortcut)`, `x` ReLU'd first when
/// `relu_first` (each ReLU happens inside the conv that reads it: no ReLU'd copy is kept).
fn residual(
    pair: &[ConvBn],
    x: &Tensor,
    relu_first: bool,
    shortcut: &Tensor,
    stats: &mut Option<&mut Vec<BatchStats>>,
) -> candle_core::Result<Tensor> {
    let mut h = x.clone();
    for (i, cb) in pair.iter().enumerate() {
        h = cb.forward(&h, i > 0 || relu_first, stats.as_deref_mut())?;
    }
    super::eltwise_op::add_relu(&h, shortcut)
}

/// Seconds spent in each kind of CPU training op (3×3 conv, BatchNorm, the ReLU/add/concat
/// glue, the patch and transposed convs, forward and backward; Adam) since the last call,
/// which resets them: the breakdown `examples/train_step_time.rs` prints. Everything else of a
/// step (the loss, candle's gradient bookkeeping) is the remainder.
#[doc(hidden)]
pub fn take_op_seconds() -> Vec<(&'static str, f64)> {
    super::kernels::prof::take()
}

/// Batch statistics of a training pass, applied with [`TrainableUnet::apply_stats`].
#[derive(Debug)]
pub(crate) struct PendingStats(Vec<BatchStats>);
