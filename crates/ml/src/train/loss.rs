//! The original's training loss (`weighted_loss` in dafne-dl's `preprocess_train.py`):
//! `−Σ_pixels w · log(Σ_c y_true·y_pred)` over the whole batch, a sum, not a mean (Keras then
//! averages the one-element result, which leaves it as is). With one-hot labels that is the
//! weighted cross-entropy of each pixel's true class; it is computed here from the logits
//! with log-softmax, the same value without `log(softmax)` underflowing to −∞.

use candle_core::{DType, Device, Tensor, D};

use crate::MlError;

/// The weighted loss of `logits` (N, H, W, C) against one-hot `targets` (same shape) with
/// per-pixel `weights` (N, H, W). A scalar tensor that backpropagates to the logits.
pub fn weighted_cross_entropy(
    logits: &Tensor,
    targets: &Tensor,
    weights: &Tensor,
) -> Result<Tensor, MlError> {
    let logp = candle_nn::ops::log_softmax(logits, D::Minus1)?;
    let picked = (logp * targets)?.sum(D::Minus1)?;
    Ok((picked * weights)?.sum_all()?.neg()?)
}

/// One-hot (N·H·W·C) of class maps; a label ≥ `classes` is an input error.
pub fn one_hot(
    labels: &[&[u8]],
    classes: usize,
    rows: usize,
    cols: usize,
    dtype: DType,
    device: &Device,
) -> Result<Tensor, MlError> {
    let px = rows * cols;
    let mut out = vec![0f32; labels.len() * px * classes];
    for (n, map) in labels.iter().enumerate() {
        if map.len() != px {
            return Err(MlError::Input {
                why: format!(
                    "a label map has {} pixels, the network needs {px}",
                    map.len()
                ),
            });
        }
        for (i, &c) in map.iter().enumerate() {
            let c = c as usize;
            if c >= classes {
                return Err(MlError::Input {
                    why: format!("label {c} is not below the network's {classes} classes"),
                });
            }
            out[(n * px + i) * classes + c] = 1.0;
        }
    }
    Ok(Tensor::from_vec(out, (labels.len(), rows, cols, classes), device)?.to_dtype(dtype)?)
}
