//! Incremental learning from the user's corrections: the original's recipe
//! (`thigh_incremental_mem` + `common_input_process_split`, reference §3.4/§3.7) plus a guard
//! the original does not have.
//!
//! Recipe: per slice, ROIs `<name>_L`/`<name>_R` are merged into the label `<name>`; the slice
//! is used only when more than `nlabels / 2` labels (nlabels counts the background) have more
//! than 5 pixels; each mask is area-opened then area-closed at 4 pixels; where masks overlap
//! the lower class wins; the image goes through the apply preprocessing and gives two
//! training crops (the legs; labels cropped the same way); fewer than `min_training_images`
//! crops: no update; only the first `⌊n / batch⌋·batch` crops are used (the original's
//! generator); Adam/AMSGrad, `epochs` epochs of `batch_size`, weight maps as `input_creation_mem`.
//!
//! Unlike the original, BatchNorm is frozen while the update trains (the model's moving
//! statistics normalise, γ and β still learn): trained in Keras's training mode on batches of
//! a few crops of one volume, the weights adapt to those batches' statistics while inference
//! keeps the old moving ones, and the held-out Dice fell even with right corrections
//! (0.634 → 0.583 on the test model; frozen: 0.732 → 0.821).
//!
//! Guard: part of the usable slices (at least one) is held out of training; the full apply
//! pipeline segments them before and after, and the update is kept only when the mean Dice
//! against the user's masks does not drop by more than `max_dice_drop`; and when the package
//! ships a reference set (`reference`), its mean Dice must not drop by more than
//! `max_reference_drop` either, which catches corrections that are consistently wrong (the
//! held-out slices are wrong the same way). An update trained on wrong corrections then does
//! not silently replace a good model.
//!
//! Not reproduced: the original also area-opens/closes the *grey-level* image (4 px) before
//! resampling and always rescales the bias-corrected image; here the image goes through
//! exactly the apply preprocessing.

use std::collections::{BTreeMap, HashMap};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use candle_core::Device;
use dafne_core::{Progress, SliceMask};
use dafne_roi::morphology::{despeckle, fill_small_holes};

use super::rng::SplitMix;
use super::{fit, BatchNormMode, FitOptions, TrainCrop, TrainableUnet};
use crate::apply::{prepare_slice, without_side, SegmentOptions, Segmenter, Side, SliceImage};
use crate::package::{Manifest, ParentVersion};
use crate::{MlError, Package};

/// The user's ROIs on one slice (names as the app shows them: `"<long name>"` or
/// `"<long name>_R"`/`"_L"`), each `rows × cols` of the image.
#[derive(Clone, Debug, PartialEq)]
pub struct Correction {
    pub image: SliceImage,
    pub masks: Vec<(String, Vec<bool>)>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct ImproveOptions {
    /// Segment the held-out slices with `_R`/`_L` names (Dice is computed on the merged
    /// labels either way).
    pub split_lr: bool,
    /// Fraction of the usable slices held out for the guard (at least one is).
    pub held_out_fraction: f64,
    /// Fewer usable slices than this (and never fewer than 2): no update.
    pub min_slices: usize,
    /// Largest accepted drop of the held-out mean Dice (0.02 = two points; default 0: the
    /// update must not make the held-out slices worse).
    pub max_dice_drop: f64,
    pub seed: u64,
    /// BatchNorm while the update trains (frozen: the model's own statistics).
    pub batch_norm: BatchNormMode,
    /// Largest accepted drop of the mean Dice on the package's reference set (see
    /// [`super::reference`]); updates from right corrections of another kind of scan may cost
    /// the reference domain a little.
    pub max_reference_drop: f64,
}

impl Default for ImproveOptions {
    fn default() -> ImproveOptions {
        ImproveOptions {
            split_lr: true,
            held_out_fraction: 0.2,
            min_slices: 2,
            max_dice_drop: 0.0,
            seed: 0,
            batch_norm: BatchNormMode::Frozen,
            max_reference_drop: 0.10,
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct ImproveReport {
    pub accepted: bool,
    /// In words, for the user: why the update was kept or not.
    pub reason: String,
    pub slices_trained: usize,
    pub slices_held_out: usize,
    pub training_images: usize,
    pub dice_before: f64,
    pub dice_after: f64,
    /// Mean Dice on the package's reference set before and after (none: it has no set).
    pub reference_dice: Option<(f64, f64)>,
    /// Training loss of each epoch.
    pub losses: Vec<f64>,
    pub seconds: f64,
}

/// Which of `n` usable slices are held out: `max(1, round(n·fraction))`, at most `n − 1`,
/// chosen by a seeded shuffle, in ascending order.
pub fn held_out_indices(n: usize, fraction: f64, seed: u64) -> Vec<usize> {
    if n < 2 {
        return Vec::new();
    }
    let want = (n as f64 * fraction.clamp(0.0, 1.0)).round() as usize;
    let k = want.clamp(1, n - 1);
    let mut order: Vec<usize> = (0..n).collect();
    SplitMix::new(seed ^ 0x005E_ED0F_4E1D).shuffle(&mut order);
    let mut out = order[..k].to_vec();
    out.sort_unstable();
    out
}

/// Class map of one slice from the user's masks by the original's rules; `None` when too few
/// labels are defined for the slice to be used.
pub fn correction_labels(manifest: &Manifest, c: &Correction) -> Result<Option<Vec<u8>>, MlError> {
    let (rows, cols) = (c.image.rows, c.image.cols);
    let px = rows * cols;
    let mut by_name: HashMap<&str, u32> = HashMap::new();
    for l in &manifest.labels {
        by_name.insert(l.long_name.as_str(), l.value);
    }
    for l in &manifest.labels {
        by_name.entry(l.name.as_str()).or_insert(l.value);
    }
    let mut merged: BTreeMap<u32, Vec<bool>> = BTreeMap::new();
    for (name, mask) in &c.masks {
        if mask.len() != px {
            return Err(MlError::Input {
                why: format!(
                    "a correction mask has {} pixels, its slice {rows} × {cols}",
                    mask.len()
                ),
            });
        }
        let base = without_side(name)
            .filter(|b| by_name.contains_key(b))
            .unwrap_or(name);
        let Some(&value) = by_name.get(base) else {
            continue;
        };
        let m = merged.entry(value).or_insert_with(|| vec![false; px]);
        for (o, &v) in m.iter_mut().zip(mask) {
            *o |= v;
        }
    }
    let nlabels = manifest.labels.len() + 1;
    let defined = merged
        .values()
        .filter(|m| m.iter().filter(|&&v| v).count() > 5)
        .count();
    if 2 * defined <= nlabels {
        return Ok(None);
    }
    let mut classes = vec![0u8; px];
    // Ascending class: a pixel claimed by two masks keeps the lower one.
    for (&value, mask) in &merged {
        let m = SliceMask::from_bools(rows, cols, mask).map_err(|e| MlError::Input {
            why: format!("correction mask: {e}"),
        })?;
        let m = fill_small_holes(&despeckle(&m, 4), 4);
        let value = u8::try_from(value).map_err(|_| MlError::Input {
            why: format!("label value {value} does not fit a class map"),
        })?;
        for (i, on) in m.to_bools().into_iter().enumerate() {
            if on && classes[i] == 0 {
                classes[i] = value;
            }
        }
    }
    Ok(Some(classes))
}

/// Mean Dice over the labels present in the truth or the prediction, pixel counts summed over
/// all slices. `None` when no label is present anywhere.
pub(crate) fn mean_dice(pairs: &[(Vec<u8>, Vec<u8>)], classes: usize) -> Option<f64> {
    let mut inter = vec![0u64; classes];
    let mut total = vec![0u64; classes];
    for (truth, pred) in pairs {
        for (&t, &p) in truth.iter().zip(pred) {
            let (t, p) = (t as usize, p as usize);
            if t > 0 && t < classes {
                total[t] += 1;
            }
            if p > 0 && p < classes {
                total[p] += 1;
                if p == t {
                    inter[p] += 1;
                }
            }
        }
    }
    let dice: Vec<f64> = (1..classes)
        .filter(|&c| total[c] > 0)
        .map(|c| 2.0 * inter[c] as f64 / total[c] as f64)
        .collect();
    (!dice.is_empty()).then(|| dice.iter().sum::<f64>() / dice.len() as f64)
}

/// The segmentation of `seg` as a class map (labels joined across sides).
fn predicted_classes(manifest: &Manifest, seg: &crate::apply::SliceSegmentation) -> Vec<u8> {
    let mut out = vec![0u8; seg.rows * seg.cols];
    for l in &manifest.labels {
        for (name, mask) in &seg.masks {
            let base = without_side(name).unwrap_or(name);
            if base != l.long_name && name != &l.long_name {
                continue;
            }
            for (o, &on) in out.iter_mut().zip(mask) {
                if on && *o == 0 {
                    *o = l.value as u8;
                }
            }
        }
    }
    out
}

/// Held-out Dice of `pkg` on `held` (image, truth class map).
fn held_out_dice(
    pkg: &Package,
    held: &[(&SliceImage, &Vec<u8>)],
    opts: &ImproveOptions,
    classes: usize,
) -> Result<f64, MlError> {
    let seg = Segmenter::new(pkg, &Device::Cpu)?;
    let so = SegmentOptions {
        split_lr: opts.split_lr,
        side: Side::Both,
    };
    let mut pairs = Vec::new();
    for (image, truth) in held {
        let s = seg.segment_slice(image, &so)?;
        pairs.push(((*truth).clone(), predicted_classes(&pkg.manifest, &s)));
    }
    Ok(mean_dice(&pairs, classes).unwrap_or(0.0))
}

/// The training crops of `slices` (image, class map on its grid): two per slice (the legs),
/// prepared exactly as the apply pipeline prepares them, so the network learns on what it
/// will be given. (The original's training rescales every bias-corrected image to
/// `normalise_max`, its apply only those whose maximum is below `rescale_below`: a scale
/// mismatch between what the update learns and what it segments.) A slice the pipeline cannot
/// split is skipped (the original stops with an error). Returns the crops and the number of
/// slices used.
pub fn training_crops(
    manifest: &Manifest,
    slices: &[(&SliceImage, &Vec<u8>)],
    progress: &dyn Progress,
) -> Result<(Vec<TrainCrop>, usize), MlError> {
    let pre = &manifest.preprocessing;
    let mut crops = Vec::new();
    let mut used = 0;
    let total = slices.len() as u64;
    for (i, (image, classes)) in slices.iter().enumerate() {
        if progress.cancelled() {
            return Err(MlError::Cancelled);
        }
        progress.report(i as u64, total, "preparing training slices");
        let Ok(prepared) = prepare_slice(pre, image, Side::Both) else {
            continue;
        };
        let labels = prepared.crop_labels(classes)?;
        for (image, labels) in prepared.crops().iter().zip(labels) {
            crops.push(TrainCrop {
                image: image.clone(),
                labels,
            });
        }
        used += 1;
    }
    progress.report(total, total, "preparing training slices");
    Ok((crops, used))
}

fn now_unix() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Trains `pkg` on `corrections` (see the module overview). `Ok((report, None))` when no
/// update was made or the guard refused it (the report says why); `Ok((report, Some(new)))`
/// with the new version otherwise. Errors: a model without incremental learning, malformed
/// corrections, cancel ([`MlError::Cancelled`]), training failure.
pub fn improve(
    pkg: &Package,
    corrections: &[Correction],
    opts: &ImproveOptions,
    progress: &dyn Progress,
) -> Result<(ImproveReport, Option<Package>), MlError> {
    let start = Instant::now();
    let manifest = &pkg.manifest;
    let il = manifest
        .incremental_learning
        .clone()
        .ok_or_else(|| MlError::Input {
            why: format!(
                "model {:?} does not support incremental learning",
                manifest.name
            ),
        })?;
    let crate::package::Architecture::CosciaUnet(cfg) = pkg.architecture()?;
    let mut report = ImproveReport {
        accepted: false,
        reason: String::new(),
        slices_trained: 0,
        slices_held_out: 0,
        training_images: 0,
        dice_before: 0.0,
        dice_after: 0.0,
        reference_dice: None,
        losses: Vec::new(),
        seconds: 0.0,
    };
    let finish = |mut r: ImproveReport, reason: String| {
        r.reason = reason;
        r.seconds = start.elapsed().as_secs_f64();
        Ok((r, None))
    };
    let mut usable: Vec<(&SliceImage, Vec<u8>)> = Vec::new();
    for c in corrections {
        if let Some(classes) = correction_labels(manifest, c)? {
            usable.push((&c.image, classes));
        }
    }
    let need = opts.min_slices.max(2);
    if usable.len() < need {
        return finish(
            report,
            format!(
                "{} of {} corrected slices have enough ROIs (more than half the labels with over \
                 5 pixels); at least {need} are needed",
                usable.len(),
                corrections.len()
            ),
        );
    }
    let held_idx = held_out_indices(usable.len(), opts.held_out_fraction, opts.seed);
    let (mut held, mut train) = (Vec::new(), Vec::new());
    for (i, (image, classes)) in usable.iter().enumerate() {
        if held_idx.contains(&i) {
            held.push((*image, classes));
        } else {
            train.push((*image, classes));
        }
    }
    report.slices_held_out = held.len();

    let (mut crops, used) = training_crops(manifest, &train, progress)?;
    report.slices_trained = used;
    report.training_images = crops.len();
    if crops.len() < il.min_training_images.max(1) {
        return finish(
            report,
            format!(
                "only {} training images from {} slices; the model needs at least {}",
                crops.len(),
                train.len(),
                il.min_training_images
            ),
        );
    }
    // The original's generator only ever draws the first ⌊n / batch⌋·batch images.
    let batch = il.batch_size.max(1);
    crops.truncate(crops.len() / batch * batch);

    let mut net = TrainableUnet::from_package(pkg, &Device::Cpu)?;
    if net.config() != &cfg {
        return Err(MlError::BadConfig {
            why: "the package's network does not match its manifest".into(),
        });
    }
    let fit_opts = FitOptions {
        batch_norm: opts.batch_norm,
        ..FitOptions::incremental(&il, opts.seed)
    };
    let history = fit(&mut net, &crops, &[], &fit_opts, progress)?;
    report.losses = history.iter().map(|e| e.train_loss).collect();

    let mut weights = net.weights()?;
    super::reference::carry_reference_set(&pkg.weights, &mut weights);
    let mut updated = Package {
        manifest: manifest.clone(),
        weights,
    };
    let m = &mut updated.manifest;
    m.version = now_unix().max(manifest.version + 1);
    m.provenance.parent = Some(ParentVersion {
        id: manifest.id.clone(),
        version: manifest.version,
        weights_sha256: manifest.weights_sha256.clone(),
    });
    // Written again by `Package::save`.
    m.weights_sha256 = String::new();

    if progress.cancelled() {
        return Err(MlError::Cancelled);
    }
    let reference = super::reference::reference_set(pkg)?;
    let checks = if reference.is_empty() { 2 } else { 4 };
    progress.report(0, checks, "checking held-out slices");
    report.dice_before = held_out_dice(pkg, &held, opts, cfg.classes)?;
    progress.report(1, checks, "checking held-out slices");
    report.dice_after = held_out_dice(&updated, &held, opts, cfg.classes)?;
    progress.report(2, checks, "checking held-out slices");
    if !reference.is_empty() {
        let before = super::reference::crops_dice(pkg, &reference)?;
        progress.report(3, checks, "checking the reference set");
        let after = super::reference::crops_dice(&updated, &reference)?;
        progress.report(4, checks, "checking the reference set");
        report.reference_dice = Some((before, after));
    }

    let drop = report.dice_before - report.dice_after;
    report.seconds = start.elapsed().as_secs_f64();
    if drop > opts.max_dice_drop {
        report.reason = format!(
            "update refused: mean Dice on {} held-out slices fell from {:.3} to {:.3} (more than \
             the {:.3} allowed)",
            held.len(),
            report.dice_before,
            report.dice_after,
            opts.max_dice_drop
        );
        return Ok((report, None));
    }
    if let Some((before, after)) = report.reference_dice {
        if before - after > opts.max_reference_drop {
            report.reason = format!(
                "update refused: the held-out slices went from {:.3} to {:.3}, but the model's \
                 reference set fell from {before:.3} to {after:.3} (more than the {:.3} allowed): \
                 are the ROIs named right?",
                report.dice_before, report.dice_after, opts.max_reference_drop
            );
            return Ok((report, None));
        }
    }
    report.accepted = true;
    report.reason = format!(
        "update kept: mean Dice on {} held-out slices {:.3} → {:.3}{}",
        held.len(),
        report.dice_before,
        report.dice_after,
        report
            .reference_dice
            .map_or(String::new(), |(b, a)| format!(
                ", on the model's reference set {b:.3} → {a:.3}"
            ))
    );
    let m = &mut updated.manifest;
    m.provenance.trained_on = format!(
        "incremental learning from {} corrected slices ({} images) on version {}",
        report.slices_trained, report.training_images, manifest.version
    );
    m.provenance.created_by = format!("dafne-ml {}", env!("CARGO_PKG_VERSION"));
    let d = &mut m.provenance.details;
    d.insert(
        "il_slices_trained".into(),
        report.slices_trained.to_string(),
    );
    d.insert(
        "il_slices_held_out".into(),
        report.slices_held_out.to_string(),
    );
    d.insert(
        "il_training_images".into(),
        report.training_images.to_string(),
    );
    d.insert(
        "il_dice_before".into(),
        format!("{:.4}", report.dice_before),
    );
    d.insert("il_dice_after".into(), format!("{:.4}", report.dice_after));
    if let Some((before, after)) = report.reference_dice {
        d.insert("il_reference_dice_before".into(), format!("{before:.4}"));
        d.insert("il_reference_dice_after".into(), format!("{after:.4}"));
    }
    d.insert("il_epochs".into(), report.losses.len().to_string());
    Ok((report, Some(updated)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_out_is_at_least_one_and_leaves_training() {
        assert!(held_out_indices(1, 0.5, 1).is_empty());
        assert_eq!(held_out_indices(2, 0.0, 1).len(), 1);
        assert_eq!(held_out_indices(2, 1.0, 1).len(), 1);
        assert_eq!(held_out_indices(10, 0.2, 3).len(), 2);
        assert_eq!(held_out_indices(10, 0.2, 3), held_out_indices(10, 0.2, 3));
    }

    #[test]
    fn dice_of_identical_maps_is_one() {
        let a = vec![0u8, 1, 1, 2, 2, 0];
        assert_eq!(mean_dice(&[(a.clone(), a.clone())], 3), Some(1.0));
        let b = vec![0u8, 2, 2, 1, 1, 0];
        assert_eq!(mean_dice(&[(a, b)], 3), Some(0.0));
        assert_eq!(mean_dice(&[(vec![0u8; 4], vec![0u8; 4])], 3), None);
    }
}
