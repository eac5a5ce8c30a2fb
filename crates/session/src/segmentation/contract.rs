//! The ML types this module is written against (`/work/wt/prompts/ml-contract.md`), until the
//! branches that own them are merged: then this file becomes re-exports of `dafne_ml`.
#![allow(dead_code)]

use dafne_core::Progress;
use dafne_ml::{Manifest, MlError, Package};

#[derive(Clone, Debug)]
pub struct SliceImage {
    pub values: Vec<f32>,
    pub rows: usize,
    pub cols: usize,
    pub spacing_mm: [f64; 2],
}

#[derive(Clone, Copy, Debug)]
pub enum Side {
    Both,
    Left,
    Right,
}

#[derive(Clone, Debug)]
pub struct SegmentOptions {
    pub split_lr: bool,
    pub side: Side,
}

#[derive(Clone, Debug)]
pub struct SliceSegmentation {
    pub rows: usize,
    pub cols: usize,
    pub masks: Vec<(String, Vec<bool>)>,
}

#[derive(Debug)]
pub struct Segmenter {
    manifest: Manifest,
}

impl Segmenter {
    pub fn new(package: &Package, _device: &candle_core::Device) -> Result<Segmenter, MlError> {
        Ok(Segmenter {
            manifest: package.manifest.clone(),
        })
    }
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }
    pub fn segment_slice(
        &self,
        _image: &SliceImage,
        _opts: &SegmentOptions,
    ) -> Result<SliceSegmentation, MlError> {
        Err(MlError::Input {
            why: "the apply pipeline is not merged yet".into(),
        })
    }
}

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
