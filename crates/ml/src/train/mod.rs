//! Training: the original's residual U-Net with trainable BatchNorm ([`TrainableUnet`]), its
//! weighted loss and pixel weight maps, Adam/AMSGrad with its L2 kernel penalty, and [`fit`]
//! (batches, epochs, optional validation with early stopping that keeps the best weights,
//! progress and cancel between batches). Incremental learning from the user's corrections
//! builds on these (`improve`).
//!
//! Each epoch visits every training crop once in a seeded random order (the last batch may be
//! smaller); the loss reported for a batch is the original's — a weighted *sum* over the
//! batch's pixels plus `0.01·Σw²` of the kernels — and an epoch's is the mean over its
//! batches, as Keras reports it.

pub mod adam;
mod bn_op;
mod conv_op;
mod eltwise_op;
pub mod improve;
mod kernels;
pub mod loss;
pub mod net;
mod patch_op;
pub mod reference;
mod rng;
mod typed_op;
pub mod weights;

use std::time::Instant;

use candle_core::{DType, Tensor};
use dafne_core::Progress;

pub use adam::{Adam, L2_KERNEL};
pub use improve::{improve, Correction, ImproveOptions, ImproveReport};
pub use net::{Param, TrainableUnet};
pub use weights::{class_frequencies, pixel_weights, pixel_weights_with, ClassFrequencies};

use crate::package::IncrementalLearning;
use crate::MlError;
use rng::SplitMix;

/// One training example: a network-input crop (`crop_px[0] × crop_px[1]`, row-major) and the
/// class index of each pixel (0 = background).
#[derive(Clone, Debug, PartialEq)]
pub struct TrainCrop {
    pub image: Vec<f32>,
    pub labels: Vec<u8>,
}

/// Stop when the monitored loss (validation's, else training's) has not improved for
/// `patience` epochs, but never before `min_epochs`.
#[derive(Clone, Debug, PartialEq)]
pub struct EarlyStopping {
    pub patience: usize,
    pub min_epochs: usize,
}

#[derive(Clone, Debug, PartialEq)]
pub struct FitOptions {
    pub learning_rate: f64,
    pub epochs: usize,
    pub batch_size: usize,
    pub amsgrad: bool,
    pub early_stopping: Option<EarlyStopping>,
    pub seed: u64,
    /// Weight-map parameters (boundary weight and band, class-frequency term).
    pub il: IncrementalLearning,
    pub batch_norm: BatchNormMode,
}

/// How BatchNorm runs while a network trains.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchNormMode {
    /// Keras's training mode: each batch is normalised with its own statistics and the
    /// moving statistics follow them (momentum 0.99). Training from scratch.
    BatchStatistics,
    /// Normalised with the moving statistics, as at inference; γ and β still learn. What the
    /// loss sees is then exactly what the user will get, which fine-tuning on a few slices
    /// needs (a batch of 5 crops of one volume gives statistics far from the model's).
    Frozen,
}

impl FitOptions {
    /// The original's incremental-learning recipe: Adam/AMSGrad at `il.learning_rate`,
    /// `il.epochs` epochs of `il.batch_size`, no validation.
    pub fn incremental(il: &IncrementalLearning, seed: u64) -> FitOptions {
        FitOptions {
            learning_rate: il.learning_rate,
            epochs: il.epochs,
            batch_size: il.batch_size,
            amsgrad: true,
            early_stopping: None,
            seed,
            il: il.clone(),
            batch_norm: BatchNormMode::Frozen,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct EpochStats {
    /// From 0.
    pub epoch: usize,
    pub train_loss: f64,
    pub val_loss: Option<f64>,
    pub seconds: f64,
}

/// A set of crops with their weight maps (computed once, over the set's class frequencies).
#[derive(Debug)]
pub struct PreparedSet<'a> {
    crops: &'a [TrainCrop],
    weights: Vec<Vec<f32>>,
}

impl<'a> PreparedSet<'a> {
    /// Checks every crop against the network's input size and classes and computes the
    /// original's weight maps with the set's own class frequencies.
    pub fn new(
        net: &TrainableUnet,
        crops: &'a [TrainCrop],
        il: &IncrementalLearning,
    ) -> Result<PreparedSet<'a>, MlError> {
        let cfg = net.config();
        let [rows, cols] = cfg.input_size;
        if cfg.image_channels != 1 {
            return Err(MlError::Input {
                why: format!(
                    "training needs a one-channel network, this one reads {}",
                    cfg.image_channels
                ),
            });
        }
        for (i, c) in crops.iter().enumerate() {
            if c.image.len() != rows * cols || c.labels.len() != rows * cols {
                return Err(MlError::Input {
                    why: format!(
                        "training crop {i} has {} image and {} label pixels, the network needs {rows}×{cols}",
                        c.image.len(),
                        c.labels.len()
                    ),
                });
            }
            if let Some(&bad) = c.labels.iter().find(|&&l| l as usize >= cfg.classes) {
                return Err(MlError::Input {
                    why: format!(
                        "training crop {i} has label {bad}, the network has {} classes",
                        cfg.classes
                    ),
                });
            }
            if c.image.iter().any(|v| !v.is_finite()) {
                return Err(MlError::Input {
                    why: format!("training crop {i} has a value that is not finite"),
                });
            }
        }
        let maps: Vec<&[u8]> = crops.iter().map(|c| c.labels.as_slice()).collect();
        let freqs = class_frequencies(&maps, rows, cols, cfg.classes);
        let weights = crops
            .iter()
            .map(|c| pixel_weights_with(&c.image, &c.labels, rows, cols, &freqs, il))
            .collect();
        Ok(PreparedSet { crops, weights })
    }

    pub fn len(&self) -> usize {
        self.crops.len()
    }

    pub fn is_empty(&self) -> bool {
        self.crops.is_empty()
    }

    pub fn weights(&self) -> &[Vec<f32>] {
        &self.weights
    }

    /// Images (N, H, W, 1), one-hot targets (N, H, W, C), weights (N, H, W) of `indices`.
    fn batch(
        &self,
        net: &TrainableUnet,
        indices: &[usize],
    ) -> Result<(Tensor, Tensor, Tensor), MlError> {
        let cfg = net.config();
        let [rows, cols] = cfg.input_size;
        let (dtype, dev) = (net.dtype(), net.device());
        let n = indices.len();
        let mut images = Vec::with_capacity(n * rows * cols);
        let mut weights = Vec::with_capacity(n * rows * cols);
        let mut labels: Vec<&[u8]> = Vec::with_capacity(n);
        for &i in indices {
            images.extend_from_slice(&self.crops[i].image);
            weights.extend_from_slice(&self.weights[i]);
            labels.push(&self.crops[i].labels);
        }
        let x = Tensor::from_vec(images, (n, rows, cols, 1), dev)?.to_dtype(dtype)?;
        let w = Tensor::from_vec(weights, (n, rows, cols), dev)?.to_dtype(dtype)?;
        let t = loss::one_hot(&labels, cfg.classes, rows, cols, dtype, dev)?;
        Ok((x, t, w))
    }
}

/// `0.01·Σw²` over the kernels (the original's regularisation losses).
fn l2_penalty(params: &[Param]) -> Result<f64, MlError> {
    let mut total = 0.0;
    for p in params.iter().filter(|p| p.regularised) {
        total += p
            .var
            .as_tensor()
            .sqr()?
            .sum_all()?
            .to_dtype(DType::F64)?
            .to_scalar::<f64>()?;
    }
    Ok(L2_KERNEL * total)
}

fn scalar(t: &Tensor) -> Result<f64, MlError> {
    Ok(t.to_dtype(DType::F64)?.to_scalar::<f64>()?)
}

/// One optimiser step on the crops `indices` of `set`; returns the batch's loss (the weighted
/// sum plus the L2 penalty, before the step). A loss that is not finite is refused before
/// anything changes.
pub fn train_step(
    net: &mut TrainableUnet,
    adam: &mut Adam,
    set: &PreparedSet,
    indices: &[usize],
) -> Result<f64, MlError> {
    train_step_with(net, adam, set, indices, BatchNormMode::BatchStatistics)
}

/// [`train_step`] with BatchNorm in `mode`.
pub fn train_step_with(
    net: &mut TrainableUnet,
    adam: &mut Adam,
    set: &PreparedSet,
    indices: &[usize],
    mode: BatchNormMode,
) -> Result<f64, MlError> {
    let params = net.params();
    let (x, t, w) = set.batch(net, indices)?;
    let (logits, stats) = match mode {
        BatchNormMode::BatchStatistics => {
            let (logits, stats) = net.forward_train_pending(&x)?;
            (logits, Some(stats))
        }
        BatchNormMode::Frozen => (net.forward_eval(&x)?, None),
    };
    let loss = loss::weighted_cross_entropy(&logits, &t, &w)?;
    let value = scalar(&loss)? + l2_penalty(&params)?;
    if !value.is_finite() {
        return Err(MlError::Training {
            why: format!("the loss became {value} (learning rate too high, or bad input)"),
        });
    }
    let grads = loss.backward()?;
    drop(logits);
    adam.step(&params, &grads, L2_KERNEL)?;
    if let Some(stats) = stats {
        net.apply_stats(stats)?;
    }
    Ok(value)
}

/// Sets the BatchNorm moving statistics to those of `crops`: one training-mode pass over
/// every crop in batches of `batch_size` (no gradient), the moving statistics then being the
/// mean of the batches' (see `TrainableUnet::set_stats_mean`). Done after training, so
/// inference normalises as training did.
pub fn recalibrate_batch_norm(
    net: &mut TrainableUnet,
    crops: &[TrainCrop],
    batch_size: usize,
    progress: &dyn Progress,
) -> Result<(), MlError> {
    if crops.is_empty() {
        return Ok(());
    }
    let [rows, cols] = net.config().input_size;
    let batch = batch_size.clamp(1, crops.len());
    let total = crops.len().div_ceil(batch) as u64;
    let mut passes = Vec::new();
    for (i, chunk) in crops.chunks(batch).enumerate() {
        if progress.cancelled() {
            return Err(MlError::Cancelled);
        }
        progress.report(i as u64, total, "recalibrating batch norm");
        let mut values = Vec::with_capacity(chunk.len() * rows * cols);
        for c in chunk {
            values.extend_from_slice(&c.image);
        }
        let x = Tensor::from_vec(values, (chunk.len(), rows, cols, 1), net.device())?;
        let (logits, stats) = net.forward_train_pending(&x.detach())?;
        drop(logits);
        passes.push(stats);
    }
    progress.report(total, total, "recalibrating batch norm");
    net.set_stats_mean(passes)
}

/// Mean batch loss (+ L2 penalty) with BatchNorm as `mode` normalises: the moving
/// statistics (`Frozen`, inference) or each batch's own (`BatchStatistics`: while a network
/// trains from scratch its moving statistics lag far behind its weights, and a validation
/// loss on them says more about that lag than about the model).
pub fn evaluate(
    net: &TrainableUnet,
    set: &PreparedSet,
    batch_size: usize,
    mode: BatchNormMode,
) -> Result<f64, MlError> {
    if set.is_empty() {
        return Err(MlError::Input {
            why: "no crops to evaluate".into(),
        });
    }
    let indices: Vec<usize> = (0..set.len()).collect();
    let mut sum = 0.0;
    let mut batches = 0usize;
    for chunk in indices.chunks(batch_size.max(1)) {
        let (x, t, w) = set.batch(net, chunk)?;
        let logits = match mode {
            BatchNormMode::Frozen => net.forward_eval(&x)?,
            BatchNormMode::BatchStatistics => net.logits_batch_stats(&x)?,
        };
        sum += scalar(&loss::weighted_cross_entropy(&logits, &t, &w)?.detach())?;
        batches += 1;
    }
    Ok(sum / batches as f64 + l2_penalty(&net.params())?)
}

/// Copies of every trainable tensor and moving statistic.
struct Snapshot {
    params: Vec<Tensor>,
    bn: Vec<(Tensor, Tensor)>,
}

impl Snapshot {
    fn take(net: &TrainableUnet) -> Result<Snapshot, MlError> {
        let params = net
            .params()
            .iter()
            .map(|p| p.var.as_tensor().copy())
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Snapshot {
            params,
            bn: net.bn_state(),
        })
    }

    fn restore(&self, net: &mut TrainableUnet) -> Result<(), MlError> {
        for (p, t) in net.params().iter().zip(&self.params) {
            p.var.set(t)?;
        }
        net.set_bn_state(&self.bn);
        Ok(())
    }
}

/// Trains `net` on `train` (and reports the loss on `val` after each epoch when it is not
/// empty). With early stopping the best epoch's weights (lowest validation loss, else
/// training loss) are restored at the end. Progress counts batches; cancel is checked before
/// each batch and ends with [`MlError::Cancelled`] (the network then holds the weights of the
/// last finished step).
pub fn fit(
    net: &mut TrainableUnet,
    train: &[TrainCrop],
    val: &[TrainCrop],
    opts: &FitOptions,
    progress: &dyn Progress,
) -> Result<Vec<EpochStats>, MlError> {
    if train.is_empty() {
        return Err(MlError::Input {
            why: "no training crops".into(),
        });
    }
    if opts.batch_size == 0 {
        return Err(MlError::Input {
            why: "batch size 0".into(),
        });
    }
    if !(opts.learning_rate > 0.0 && opts.learning_rate.is_finite()) {
        return Err(MlError::Input {
            why: format!("learning rate {} is not positive", opts.learning_rate),
        });
    }
    let train_set = PreparedSet::new(net, train, &opts.il)?;
    let val_set = PreparedSet::new(net, val, &opts.il)?;
    let mut adam = Adam::new(opts.learning_rate, opts.amsgrad);
    let mut rng = SplitMix::new(opts.seed);
    let batches_per_epoch = train.len().div_ceil(opts.batch_size);
    let total = (batches_per_epoch * opts.epochs) as u64;
    let mut done = 0u64;
    let mut history = Vec::new();
    let mut best: Option<(f64, Snapshot)> = None;
    let mut since_best = 0usize;
    let mut order: Vec<usize> = (0..train.len()).collect();
    for epoch in 0..opts.epochs {
        let start = Instant::now();
        rng.shuffle(&mut order);
        let mut sum = 0.0;
        for chunk in order.chunks(opts.batch_size) {
            if progress.cancelled() {
                return Err(MlError::Cancelled);
            }
            sum += train_step_with(net, &mut adam, &train_set, chunk, opts.batch_norm)?;
            done += 1;
            progress.report(done, total, "training");
        }
        let train_loss = sum / batches_per_epoch as f64;
        let val_loss = if val_set.is_empty() {
            None
        } else {
            Some(evaluate(net, &val_set, opts.batch_size, opts.batch_norm)?)
        };
        history.push(EpochStats {
            epoch,
            train_loss,
            val_loss,
            seconds: start.elapsed().as_secs_f64(),
        });
        if let Some(es) = &opts.early_stopping {
            let monitored = val_loss.unwrap_or(train_loss);
            if best.as_ref().is_none_or(|(b, _)| monitored < *b) {
                best = Some((monitored, Snapshot::take(net)?));
                since_best = 0;
            } else {
                since_best += 1;
                if since_best >= es.patience && epoch + 1 >= es.min_epochs {
                    break;
                }
            }
        }
    }
    if let Some((_, snapshot)) = best {
        snapshot.restore(net)?;
    }
    Ok(history)
}
