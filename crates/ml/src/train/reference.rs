//! A model's reference set: a few network-ready crops with their true classes, shipped in the
//! package's weights file as the tensors `reference.images` (N, H, W; f32, as the apply
//! pipeline prepares them) and `reference.labels` (N, H, W; u8 class indices), so the weights'
//! sha256 covers them and they stay data.
//!
//! Why: incremental learning holds out some of the user's own slices to check an update, but
//! corrections that are consistently wrong (every muscle given its neighbour's name) are just
//! as wrong on those slices, and the update looks like progress. The reference set does not
//! move with the user: an update that wrecks it is refused too. (The original's server checks
//! uploaded models on its own validation data before it merges them, in the same spirit.)

use std::collections::HashMap;

use candle_core::{DType, Device, Tensor};

use super::TrainCrop;
use crate::apply::Segmenter;
use crate::{MlError, Package};

pub const IMAGES: &str = "reference.images";
pub const LABELS: &str = "reference.labels";

fn bad(why: String) -> MlError {
    MlError::BadConfig {
        why: format!("the package's reference set is not valid: {why}"),
    }
}

/// The package's reference crops; empty when it has none.
pub fn reference_set(pkg: &Package) -> Result<Vec<TrainCrop>, MlError> {
    let (Some(images), Some(labels)) = (pkg.weights.get(IMAGES), pkg.weights.get(LABELS)) else {
        return Ok(Vec::new());
    };
    let [h, w] = pkg.manifest.preprocessing.crop_px;
    let (n, rows, cols) = images.dims3()?;
    if (rows, cols) != (h, w) || labels.dims3()? != (n, rows, cols) {
        return Err(bad(format!(
            "images {:?} and labels {:?}, the network reads {h} × {w}",
            images.dims(),
            labels.dims()
        )));
    }
    let values: Vec<f32> = images.to_dtype(DType::F32)?.flatten_all()?.to_vec1()?;
    let classes: Vec<u8> = labels.to_dtype(DType::U8)?.flatten_all()?.to_vec1()?;
    Ok(values
        .chunks_exact(h * w)
        .zip(classes.chunks_exact(h * w))
        .map(|(image, labels)| TrainCrop {
            image: image.to_vec(),
            labels: labels.to_vec(),
        })
        .collect())
}

/// Adds `crops` to `weights` as the reference set (replacing one there).
pub fn set_reference_set(
    weights: &mut HashMap<String, Tensor>,
    crops: &[TrainCrop],
    crop_px: [usize; 2],
) -> Result<(), MlError> {
    let [h, w] = crop_px;
    if crops
        .iter()
        .any(|c| c.image.len() != h * w || c.labels.len() != h * w)
    {
        return Err(bad(format!("a crop is not {h} × {w}")));
    }
    let images: Vec<f32> = crops.iter().flat_map(|c| c.image.iter().copied()).collect();
    let labels: Vec<u8> = crops
        .iter()
        .flat_map(|c| c.labels.iter().copied())
        .collect();
    let n = crops.len();
    weights.insert(
        IMAGES.into(),
        Tensor::from_vec(images, (n, h, w), &Device::Cpu)?,
    );
    weights.insert(
        LABELS.into(),
        Tensor::from_vec(labels, (n, h, w), &Device::Cpu)?,
    );
    Ok(())
}

/// Copies `from`'s reference set (if any) into `to`.
pub(crate) fn carry_reference_set(
    from: &HashMap<String, Tensor>,
    to: &mut HashMap<String, Tensor>,
) {
    for name in [IMAGES, LABELS] {
        if let Some(t) = from.get(name) {
            to.insert(name.into(), t.clone());
        }
    }
}

/// Mean Dice of `pkg`'s network on `crops` (labels present in the truth or the prediction,
/// pixels summed over all crops); 0 when there is nothing to compare.
pub fn crops_dice(pkg: &Package, crops: &[TrainCrop]) -> Result<f64, MlError> {
    let seg = Segmenter::new(pkg, &Device::Cpu)?;
    let mut pairs = Vec::with_capacity(crops.len());
    // A few crops per batch: the full-size network at batch 32 would take gigabytes.
    for chunk in crops.chunks(4) {
        let images: Vec<Vec<f32>> = chunk.iter().map(|c| c.image.clone()).collect();
        for (c, pred) in chunk.iter().zip(seg.classify(&images)?) {
            pairs.push((c.labels.clone(), pred));
        }
    }
    let classes = pkg.manifest.labels.len() + 1;
    Ok(super::improve::mean_dice(&pairs, classes).unwrap_or(0.0))
}
