//! Thigh-like MR cross-sections with exact labels: two legs, each with skin, subcutaneous fat,
//! a femur (cortex and marrow) and the 12 thigh muscles of the original's label list
//! (`dafne_dl/labels/thigh.py`), separated by thin fat septa; a smooth multiplicative bias
//! field, Rician noise, per-muscle texture, and anatomy that changes from slice to slice.
//!
//! No labelled muscle MRI can be downloaded here, so this is what the demo model is trained on,
//! what the learning-loop measurement uses (a [`Domain`] changes contrast, noise and
//! proportions: train on one, correct on another), and the app's sample dataset. It is a
//! phantom: plausible shapes and contrasts, not anatomy to learn medicine from.
//!
//! Image convention (the original's axial display): rows run anterior -> posterior, columns
//! from the patient's right to left, so the leg on the image's left is the right leg and its
//! ROIs end in `_R`.

mod anatomy;
mod field;

use dafne_core::{
    Geometry, GeometrySource, LinearMap, NamedMasks, Rescale, SeriesInfo, SliceMask, Volume, Voxels,
};
use rayon::prelude::*;

pub use anatomy::{Tissue, THIGH_LABELS};

/// Contrast, noise and proportions of a family of scans.
#[derive(Clone, Debug, PartialEq)]
pub struct Domain {
    /// Mean signal of each tissue.
    pub fat: f32,
    pub muscle: f32,
    /// Spread of the per-muscle mean around `muscle`, as a fraction.
    pub muscle_spread: f32,
    pub skin: f32,
    pub cortex: f32,
    pub marrow: f32,
    /// Standard deviation of each Gaussian channel of the Rician noise.
    pub noise_sigma: f32,
    /// Peak relative amplitude of the multiplicative bias field.
    pub bias: f32,
    /// Amplitude of the muscle texture, as a fraction of the muscle's mean.
    pub texture: f32,
    /// Subcutaneous fat thickness (mm).
    pub fat_mm: f64,
    /// Thigh size (1 = an average adult thigh, ~15 cm across).
    pub size: f64,
    /// Width of the fat septa between muscles (mm).
    pub septum_mm: f64,
    /// Deep muscles (vastus intermedius) thickness (mm).
    pub deep_mm: f64,
}

impl Domain {
    /// A T1-weighted look: bright fat and marrow, grey muscle, little noise.
    pub fn a() -> Domain {
        Domain {
            fat: 1000.0,
            muscle: 360.0,
            muscle_spread: 0.06,
            skin: 600.0,
            cortex: 40.0,
            marrow: 900.0,
            noise_sigma: 18.0,
            bias: 0.25,
            texture: 0.05,
            fat_mm: 12.0,
            size: 1.0,
            septum_mm: 1.2,
            deep_mm: 16.0,
        }
    }

    /// Another scanner and population: lower fat-muscle contrast, more noise and bias, a
    /// thinner, larger thigh with more fat between muscles.
    pub fn b() -> Domain {
        Domain {
            fat: 780.0,
            muscle: 430.0,
            muscle_spread: 0.1,
            skin: 520.0,
            cortex: 70.0,
            marrow: 700.0,
            noise_sigma: 30.0,
            bias: 0.4,
            texture: 0.09,
            fat_mm: 20.0,
            size: 1.12,
            septum_mm: 1.8,
            deep_mm: 12.0,
        }
    }

    /// `(1 - t) a + t b`, field by field.
    pub fn mix(a: &Domain, b: &Domain, t: f64) -> Domain {
        let f = |x: f32, y: f32| x + (y - x) * t as f32;
        let d = |x: f64, y: f64| x + (y - x) * t;
        Domain {
            fat: f(a.fat, b.fat),
            muscle: f(a.muscle, b.muscle),
            muscle_spread: f(a.muscle_spread, b.muscle_spread),
            skin: f(a.skin, b.skin),
            cortex: f(a.cortex, b.cortex),
            marrow: f(a.marrow, b.marrow),
            noise_sigma: f(a.noise_sigma, b.noise_sigma),
            bias: f(a.bias, b.bias),
            texture: f(a.texture, b.texture),
            fat_mm: d(a.fat_mm, b.fat_mm),
            size: d(a.size, b.size),
            septum_mm: d(a.septum_mm, b.septum_mm),
            deep_mm: d(a.deep_mm, b.deep_mm),
        }
    }
}

/// What to generate.
#[derive(Clone, Debug, PartialEq)]
pub struct PhantomSpec {
    pub rows: usize,
    pub cols: usize,
    pub slices: usize,
    /// (column, row, slice) spacing; the original's models work at 1.037 mm in-plane.
    pub spacing_mm: [f64; 3],
    pub domain: Domain,
    /// Same seed, same phantom (bit for bit, on every machine).
    pub seed: u64,
}

impl PhantomSpec {
    /// 432 x 432 at 1.037 mm (the original's working grid), `slices` of 5 mm.
    pub fn thigh(slices: usize, domain: Domain, seed: u64) -> PhantomSpec {
        PhantomSpec {
            rows: 432,
            cols: 432,
            slices,
            spacing_mm: [1.037, 1.037, 5.0],
            domain,
            seed,
        }
    }
}

/// A generated dataset: the image (real values, float32) and one mask per label and side, in
/// the original's label order (`Vastus Lateralis_R`, `Vastus Lateralis_L`, ...).
#[derive(Debug)]
pub struct Phantom {
    pub volume: Volume,
    pub masks: Vec<NamedMasks>,
}

#[derive(Debug, thiserror::Error)]
pub enum PhantomError {
    #[error("a phantom needs at least 64 x 64 pixels and 1 slice, got {rows} x {cols} x {slices}")]
    TooSmall {
        rows: usize,
        cols: usize,
        slices: usize,
    },
    #[error("spacing must be positive and finite, got {0:?}")]
    Spacing([f64; 3]),
    #[error("cannot build the volume: {0}")]
    Volume(#[from] dafne_core::VolumeError),
    #[error(transparent)]
    Mask(#[from] dafne_core::MaskError),
}

/// Generates the phantom of `spec`.
pub fn generate(spec: &PhantomSpec) -> Result<Phantom, PhantomError> {
    let (rows, cols, slices) = (spec.rows, spec.cols, spec.slices);
    if rows < 64 || cols < 64 || slices == 0 {
        return Err(PhantomError::TooSmall { rows, cols, slices });
    }
    if !spec.spacing_mm.iter().all(|s| s.is_finite() && *s > 0.0) {
        return Err(PhantomError::Spacing(spec.spacing_mm));
    }
    let per_slice: Vec<(Vec<f32>, Vec<u8>)> = (0..slices)
        .into_par_iter()
        .map(|k| anatomy::slice(spec, k))
        .collect();
    let plane = rows * cols;
    let mut values = Vec::with_capacity(plane * slices);
    let mut masks: Vec<NamedMasks> = anatomy::roi_names()
        .into_iter()
        .map(NamedMasks::new)
        .collect();
    for (k, (image, labels)) in per_slice.into_iter().enumerate() {
        values.extend_from_slice(&image);
        for (index, roi) in masks.iter_mut().enumerate() {
            let label = (index + 1) as u8;
            if !labels.contains(&label) {
                continue;
            }
            let bools: Vec<bool> = labels.iter().map(|&l| l == label).collect();
            roi.slices
                .insert(k, SliceMask::from_bools(rows, cols, &bools)?);
        }
    }
    let [sx, sy, sz] = spec.spacing_mm;
    // Columns run towards the patient's left (+x in LPS), rows towards posterior (+y), slices
    // down the leg (-z).
    let mut affine = Geometry::from_spacing([sx, sy, sz], GeometrySource::Missing).affine_lps;
    affine[2][2] = -sz;
    let volume = Volume::new(
        [cols, rows, slices, 1],
        Voxels::F32(values),
        Rescale::Uniform(LinearMap {
            slope: 1.0,
            intercept: 0.0,
        }),
        Geometry::new(affine, GeometrySource::Missing),
        SeriesInfo {
            format: "phantom".into(),
            description: Some(format!("thigh phantom (seed {})", spec.seed)),
            ..SeriesInfo::default()
        },
    )?;
    Ok(Phantom { volume, masks })
}
