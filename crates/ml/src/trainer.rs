//! A new model from labelled datasets: the original's ModelTrainer (dafne-models
//! `create_model.py`) on candle. Input: the original's `.npz` bundles (`data`, `resolution`,
//! `mask_<ROI>`); output: a model package whose apply pipeline is the one it was trained with.
//!
//! As the original: common resolution = median in-plane resolution, size = largest field of
//! view at it capped at 256 px (the resolution coarsened), labels = sorted union of the masks
//! (one class per ROI name, so `_L`/`_R` ROIs stay separate classes and the package does not
//! split sides; with [`TrainerOptions::split_laterality`], beyond the original's trainer, the
//! model splits the legs as its Thigh and Leg models do: one class per muscle, two mirrored
//! crops per slice, see [`data`]), datasets with at most half the labels dropped, the first 20 % of the datasets
//! (10 % from 10 on) for validation, Adam (amsgrad) lr 0.009765 batch 5 with the weighted loss,
//! early stopping on the validation loss (patience, minimum epochs) keeping the best weights;
//! then, unlike the original, the BatchNorm moving statistics are set to the training crops'
//! (one pass; Keras's exponential average lags the weights for hundreds of epochs, and the
//! validation loss is measured with batch statistics for the same reason);
//! bias correction as the trainer's template (N4 4 levels, always rescaled to 600) and the
//! same incremental-learning recipe as the thigh model.
//!
//! Submodules: [`data`] (bundles → slices → crops), [`area`] (the 4-pixel grayscale area
//! opening/closing of training images), [`plot`] (`loss.csv`, `loss.png`).

pub mod area;
pub mod data;
pub mod plot;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Instant;

use candle_core::Device;
use dafne_core::Progress;

use crate::package::{
    ArchitectureSpec, BiasCorrection, IncrementalLearning, Label, Preprocessing, Provenance,
};
use crate::train::{
    fit, recalibrate_batch_norm, BatchNormMode, EarlyStopping, EpochStats, FitOptions, TrainCrop,
    TrainableUnet,
};
use crate::unet::Config;
use crate::{Manifest, MlError, Package};

pub use data::{bundle_paths, model_info, ModelInfo};
pub use plot::write_loss_files;

/// The original's cap on the network input (px).
pub const MAX_INPUT_PX: usize = 256;
/// The trainer template's bias correction: 4 levels of 50 iterations, Otsu mask of 200 bins,
/// and the result always rescaled to 600 (`normalize = -1`): a threshold no maximum reaches.
pub const TRAINER_BIAS_CORRECTION: BiasCorrection = BiasCorrection {
    levels: 4,
    iterations: 50,
    otsu_bins: 200,
    rescale_below: f64::MAX,
};

/// How to train. [`Default`] is the original's ModelTrainer command line (levels 5, 2 convs,
/// patience 5, at least 10 epochs, at most 400) with the thigh model's base width.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainerOptions {
    /// Filters of the first encoder level; each level doubles them.
    pub base_width: usize,
    pub levels: usize,
    /// 3×3 conv + BN layers per residual block.
    pub res_convs: usize,
    pub max_epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// Epochs the validation loss may rise before training stops; 0: never stop early (and keep
    /// the last epoch's weights, not the best validation epoch's).
    pub patience: usize,
    /// Epochs before early stopping is considered.
    pub min_epochs: usize,
    /// Fraction of the datasets used for validation; `None`: the original's 20 % (under 10
    /// datasets) or 10 %.
    pub validation_fraction: Option<f64>,
    pub seed: u64,
    /// The model's display name.
    pub name: String,
    /// Cap on the network input (the original: 256 px).
    pub max_input_px: usize,
    /// Split the legs as the original's Thigh and Leg models do (ROIs `<class>_R`/`_L`, one
    /// mirrored crop per leg); off: one crop per slice, one class per ROI (the original's
    /// trainer).
    pub split_laterality: bool,
    /// Written into the manifest.
    pub licence: String,
    pub description: String,
}

impl Default for TrainerOptions {
    fn default() -> Self {
        TrainerOptions {
            base_width: 32,
            levels: 5,
            res_convs: 2,
            max_epochs: 400,
            batch_size: 5,
            learning_rate: 0.009765,
            patience: 5,
            min_epochs: 10,
            validation_fraction: None,
            seed: 0,
            name: "New model".into(),
            max_input_px: MAX_INPUT_PX,
            split_laterality: false,
            licence: "unspecified".into(),
            description: String::new(),
        }
    }
}

/// How each bundle was used.
#[derive(Clone, Debug, PartialEq)]
pub struct BundleUse {
    pub name: String,
    /// Slices turned into training (or validation) images.
    pub slices: usize,
    pub validation: bool,
}

#[derive(Clone, Debug)]
pub struct TrainerReport {
    pub labels: Vec<String>,
    pub resolution_mm: f64,
    pub crop_px: [usize; 2],
    pub epochs: Vec<EpochStats>,
    pub bundles: Vec<BundleUse>,
    /// Bundles not used, with why.
    pub dropped: Vec<String>,
    pub training_slices: usize,
    pub validation_slices: usize,
    pub seconds: f64,
}

/// The incremental-learning recipe every trained model gets (the thigh model's).
pub fn default_incremental_learning() -> IncrementalLearning {
    IncrementalLearning {
        learning_rate: 0.001,
        epochs: 5,
        batch_size: 5,
        min_training_images: 5,
        boundary_weight: 10.0,
        boundary_band_px2: 49.0,
        class_frequency_weights: true,
    }
}

/// The preprocessing of a model trained on what `info` describes.
pub fn trainer_preprocessing(info: &ModelInfo) -> Preprocessing {
    Preprocessing {
        resolution_mm: info.resolution_mm,
        canvas_px: info.canvas_px,
        crop_px: [info.size_px, info.size_px],
        normalise_max: 600.0,
        bias_correction: Some(TRAINER_BIAS_CORRECTION),
        split_laterality: info.split_laterality,
        orientation: "axial".into(),
    }
}

fn check(opts: &TrainerOptions) -> Result<(), MlError> {
    let bad = |why: String| Err(MlError::Input { why });
    if opts.base_width == 0 || opts.levels == 0 || opts.batch_size == 0 || opts.max_epochs == 0 {
        return bad("base width, levels, batch size and epochs must be at least 1".into());
    }
    if opts
        .base_width
        .checked_shl(opts.levels as u32)
        .is_none_or(|w| w > 1 << 16)
    {
        return bad(format!(
            "base width {} with {} levels is too wide",
            opts.base_width, opts.levels
        ));
    }
    if !(opts.learning_rate.is_finite() && opts.learning_rate > 0.0) {
        return bad(format!(
            "learning rate {} is not positive",
            opts.learning_rate
        ));
    }
    if let Some(f) = opts.validation_fraction {
        if !(0.0..1.0).contains(&f) {
            return bad(format!("validation fraction {f} is not in [0, 1)"));
        }
    }
    Ok(())
}

/// A UUID-shaped id, unique enough for a model: hashed from what and when it was trained.
fn new_model_id(seed_text: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let h = crate::package::sha256_hex(format!("{seed_text}|{nanos}").as_bytes());
    // Version 4 / RFC 4122 variant nibbles, so it reads as a random UUID.
    format!(
        "{}-{}-4{}-a{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        &h[17..20],
        &h[20..32]
    )
}

fn unix_seconds() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A trained package's BatchNorm statistics recalibrated on the bundles' crops (see
/// [`recalibrate_batch_norm`]); the labels and preprocessing are the package's.
pub fn recalibrate_package(
    pkg: &Package,
    bundles: &[PathBuf],
    batch_size: usize,
    progress: &dyn Progress,
) -> Result<Package, MlError> {
    let labels: Vec<String> = pkg
        .manifest
        .labels
        .iter()
        .map(|l| l.long_name.clone())
        .collect();
    let mut crops = Vec::new();
    for path in bundles {
        let d = data::read_dataset(path)?;
        for z in 0..d.slices.len() {
            crops.extend(data::slice_crops(
                &d,
                z,
                &labels,
                &pkg.manifest.preprocessing,
            )?);
        }
    }
    let mut net = TrainableUnet::from_package(pkg, &Device::Cpu)?;
    recalibrate_batch_norm(&mut net, &crops, batch_size, progress)?;
    let mut out = Package {
        manifest: pkg.manifest.clone(),
        weights: net.weights()?,
    };
    out.manifest.provenance.details.insert(
        "bn_recalibration".into(),
        format!(
            "batch statistics of {} crops in batches of {batch_size}",
            crops.len()
        ),
    );
    Ok(out)
}

/// Trains a new model from `bundles` (`.npz` files). Progress phases: "reading bundles",
/// "preparing slices", then the training engine's; cancel is checked between slices and
/// batches (→ [`MlError::Cancelled`]).
pub fn train_from_bundles(
    bundles: &[PathBuf],
    opts: &TrainerOptions,
    progress: &dyn Progress,
) -> Result<(Package, TrainerReport), MlError> {
    check(opts)?;
    let start = Instant::now();
    let mut datasets = Vec::with_capacity(bundles.len());
    for (i, path) in bundles.iter().enumerate() {
        if progress.cancelled() {
            return Err(MlError::Cancelled);
        }
        progress.report(i as u64, bundles.len() as u64, "reading bundles");
        datasets.push(data::read_dataset(path)?);
    }
    let info = model_info(&datasets, opts.max_input_px, opts.split_laterality)?;
    let size = info.size_px;
    let pre = trainer_preprocessing(&info);
    let classes = info.labels.len() + 1;
    let cfg = Config {
        res_convs: opts.res_convs,
        ..Config::doubling(opts.base_width, opts.levels, classes, [size, size])
    };
    cfg.validate()?;

    let kept = info.kept.len();
    let fraction = opts
        .validation_fraction
        .unwrap_or(if kept < 10 { 0.2 } else { 0.1 });
    let n_val = (kept as f64 * fraction).floor() as usize;

    let total_slices: usize = info.kept.iter().map(|&i| datasets[i].slices.len()).sum();
    let mut done = 0u64;
    let (mut train, mut val): (Vec<TrainCrop>, Vec<TrainCrop>) = (Vec::new(), Vec::new());
    let mut uses = Vec::with_capacity(kept);
    for (k, &i) in info.kept.iter().enumerate() {
        let d = &datasets[i];
        let mut crops = Vec::new();
        let mut slices = 0;
        // One slice at a time, so cancel and progress come between slices.
        for z in 0..d.slices.len() {
            if progress.cancelled() {
                return Err(MlError::Cancelled);
            }
            progress.report(done, total_slices as u64, "preparing slices");
            let of_slice = data::slice_crops(d, z, &info.labels, &pre)?;
            slices += usize::from(!of_slice.is_empty());
            crops.extend(of_slice);
            done += 1;
        }
        let validation = k < n_val;
        uses.push(BundleUse {
            name: d.name.clone(),
            slices,
            validation,
        });
        if validation {
            val.extend(crops);
        } else {
            train.extend(crops);
        }
    }
    progress.report(done, total_slices as u64, "preparing slices");
    if train.is_empty() {
        let why = if opts.split_laterality {
            "no training slice has more than half the labels drawn and two legs to split"
        } else {
            "no training slice has more than half the labels drawn"
        };
        return Err(MlError::Input { why: why.into() });
    }
    let slices_of = |validation: bool| -> usize {
        uses.iter()
            .filter(|u| u.validation == validation)
            .map(|u| u.slices)
            .sum()
    };
    let (training_slices, validation_slices) = (slices_of(false), slices_of(true));

    let il = default_incremental_learning();
    let device = Device::Cpu;
    let mut net = TrainableUnet::new_random(&cfg, opts.seed, &device)?;
    let fit_opts = FitOptions {
        learning_rate: opts.learning_rate,
        epochs: opts.max_epochs,
        batch_size: opts.batch_size,
        amsgrad: true,
        // Patience 0: no early stopping, the last epoch's weights are kept.
        early_stopping: (!val.is_empty() && opts.patience > 0).then_some(EarlyStopping {
            patience: opts.patience,
            min_epochs: opts.min_epochs,
        }),
        seed: opts.seed,
        il: il.clone(),
        batch_norm: BatchNormMode::BatchStatistics,
    };
    let epochs = fit(&mut net, &train, &val, &fit_opts, progress)?;
    recalibrate_batch_norm(&mut net, &train, opts.batch_size, progress)?;
    let weights = net.weights()?;

    let trained_on = uses
        .iter()
        .map(|u| {
            format!(
                "{} ({} slices{})",
                u.name,
                u.slices,
                if u.validation { ", validation" } else { "" }
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    let dropped: Vec<String> = info
        .dropped
        .iter()
        .map(|(i, why)| format!("{}: {why}", datasets[*i].name))
        .collect();
    let best = epochs
        .iter()
        .filter_map(|e| Some((e.epoch, e.val_loss?)))
        .min_by(|a, b| a.1.total_cmp(&b.1));
    let mut details = BTreeMap::new();
    details.insert("training_slices".into(), training_slices.to_string());
    details.insert("validation_slices".into(), validation_slices.to_string());
    if opts.split_laterality {
        details.insert("training_crops".into(), train.len().to_string());
    }
    details.insert("epochs_run".into(), epochs.len().to_string());
    if let Some((epoch, loss)) = best {
        details.insert("best_epoch".into(), epoch.to_string());
        details.insert("best_val_loss".into(), format!("{loss:.6}"));
    }
    details.insert("seed".into(), opts.seed.to_string());
    details.insert(
        "trainer".into(),
        format!(
            "base_width {} levels {} res_convs {} batch {} lr {} patience {} min_epochs {} max_epochs {} split_laterality {}",
            opts.base_width,
            opts.levels,
            opts.res_convs,
            opts.batch_size,
            opts.learning_rate,
            opts.patience,
            opts.min_epochs,
            opts.max_epochs,
            opts.split_laterality
        ),
    );
    if !dropped.is_empty() {
        details.insert("dropped_bundles".into(), dropped.join("; "));
    }

    let manifest = Manifest {
        format_version: crate::package::FORMAT_VERSION,
        id: new_model_id(&format!("{}|{trained_on}|{}", opts.name, opts.seed)),
        version: unix_seconds(),
        name: opts.name.clone(),
        description: opts.description.clone(),
        architecture: ArchitectureSpec::coscia_unet(&cfg),
        input_channels: vec!["image".into()],
        labels: info
            .labels
            .iter()
            .enumerate()
            .map(|(i, l)| Label {
                value: i as u32 + 1,
                name: l.clone(),
                long_name: l.clone(),
            })
            .collect(),
        preprocessing: pre,
        variants: vec![String::new()],
        categories: Vec::new(),
        dimensionality: 2,
        incremental_learning: Some(il),
        weights_sha256: String::new(),
        licence: opts.licence.clone(),
        provenance: Provenance {
            parent: None,
            trained_on,
            created_by: format!("dafne-ml {} trainer", env!("CARGO_PKG_VERSION")),
            details,
        },
    };
    let report = TrainerReport {
        labels: info.labels,
        resolution_mm: info.resolution_mm,
        crop_px: [size, size],
        epochs,
        bundles: uses,
        dropped,
        training_slices,
        validation_slices,
        seconds: start.elapsed().as_secs_f64(),
    };
    Ok((Package { manifest, weights }, report))
}
