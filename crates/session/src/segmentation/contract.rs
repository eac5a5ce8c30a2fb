//! The apply pipeline's types come from `dafne_ml::apply`; incremental learning's are written
//! against the contract (`/work/wt/prompts/ml-contract.md`) until `dafne_ml::train` is merged:
//! then this file becomes re-exports of it.
#![allow(dead_code)]

use dafne_core::Progress;
pub use dafne_ml::apply::{SegmentOptions, Segmenter, Side, SliceImage, SliceSegmentation};
use dafne_ml::{MlError, Package};

#[derive(Clone, Debug)]
pub struct Correction {
    pub image: SliceImage,
    pub masks: Vec<(String, Vec<bool>)>,
}

#[derive(Clone, Debug)]
pub struct ImproveOptions {
    pub split_lr: bool,
    pub held_out_fraction: f64,
    pub min_slices: usize,
    pub max_dice_drop: f64,
    pub seed: u64,
}

#[derive(Clone, Debug, Default)]
pub struct ImproveReport {
    pub accepted: bool,
    pub reason: String,
    pub slices_trained: usize,
    pub slices_held_out: usize,
    pub training_images: usize,
    pub dice_before: f64,
    pub dice_after: f64,
    pub losses: Vec<f64>,
    pub seconds: f64,
}

pub fn improve(
    _pkg: &Package,
    _corrections: &[Correction],
    _opts: &ImproveOptions,
    _progress: &dyn Progress,
) -> Result<(ImproveReport, Option<Package>), MlError> {
    Err(MlError::Training {
        why: "incremental learning is not merged yet".into(),
    })
}
