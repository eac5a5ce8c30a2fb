//! AutoSegment and Improve model on the open dataset (reference §1.11, §3.6, §3.7): which
//! model each slice uses (its classification), slices brought to the model's orientation,
//! restrict-area crops, and the user's corrections gathered for incremental learning.
//!
//! Both jobs run in three steps so that a long inference or training never holds the app's
//! workspace: a plan read from the workspace ([`autosegment::AutosegmentPlan`],
//! [`improve::ImprovePlan`]), the run (no workspace), and the result applied back (one undo
//! step for AutoSegment). `Workspace::autosegment` / `Workspace::improve_model` chain them
//! for the CLI and tests.

pub mod autosegment;
mod contract;
pub mod improve;
pub mod orientation;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

pub use dafne_ml::{Manifest, Package};

/// `dafne_ml`'s incremental learning (the name `improve` is this module's child).
pub(crate) use contract::improve as ml_improve;
pub use contract::{
    Correction, ImproveOptions, ImproveReport, MlError, SegmentOptions, Segmenter, Side,
    SliceImage, SliceSegmentation,
};
pub use orientation::InPlane;

use crate::models::ModelStore;
use crate::SessionError;

/// What "None" means in the classification list: the slice is not segmented.
pub const NO_CLASSIFICATION: &str = "None";

/// An ML failure as a session error; a cancel stays a cancel.
pub fn ml_error(context: &str, e: MlError) -> SessionError {
    match e {
        MlError::Cancelled => SessionError::Cancelled,
        // The user's data or request (a blank slice, too few corrections) is at fault.
        e @ MlError::Input { .. } => SessionError::InvalidInput(format!("{context}: {e}")),
        source => SessionError::Ml {
            context: context.to_string(),
            source,
        },
    }
}

/// A classification string "Model, Variant" split into the model's name and the side the
/// variant asks for ("Thigh, Left" → ("Thigh", Left)); the base name alone picks the model.
pub fn parse_classification(class: &str) -> (String, Side) {
    let (base, variant) = match class.split_once(',') {
        Some((b, v)) => (b.trim(), v.trim()),
        None => (class.trim(), ""),
    };
    let side = if variant.eq_ignore_ascii_case("left") {
        Side::Left
    } else if variant.eq_ignore_ascii_case("right") {
        Side::Right
    } else {
        Side::Both
    };
    (base.to_string(), side)
}

/// The classification choices of models: "None", then each name and its variants
/// ("Thigh", "Thigh, Left", "Thigh, Right").
pub fn classification_choices<'a>(
    models: impl IntoIterator<Item = (&'a str, &'a [String])>,
) -> Vec<String> {
    let mut out = vec![NO_CLASSIFICATION.to_string()];
    for (name, variants) in models {
        out.push(name.to_string());
        for v in variants.iter().map(|v| v.trim()).filter(|v| !v.is_empty()) {
            out.push(format!("{name}, {v}"));
        }
    }
    out
}

/// (name, package folder) of the newest version of every model in `store`.
pub fn store_dirs(store: &ModelStore) -> Result<Vec<(String, PathBuf)>, SessionError> {
    Ok(store.list()?.into_iter().map(|e| (e.name, e.dir)).collect())
}

/// The newest package of the model `name` in `store`.
pub fn load_store_package(store: &ModelStore, name: &str) -> Result<Package, SessionError> {
    let entry = store.find(name)?.ok_or_else(|| {
        SessionError::InvalidInput(format!("no model named {name:?} is installed"))
    })?;
    load_package(&entry.dir)
}

/// Reads the package in `dir` (weights checked against the manifest) on the CPU.
pub fn load_package(dir: &Path) -> Result<Package, SessionError> {
    Package::load(dir, &candle_core::Device::Cpu)
        .map_err(|e| ml_error("cannot load model package", e))
}

/// Writes `package` to `dir` (a new package folder).
pub fn save_package(package: &mut Package, dir: &Path) -> Result<(), SessionError> {
    package
        .save(dir)
        .map_err(|e| ml_error("cannot write model package", e))
}

/// The manifest of the package in `dir`, checked as loading checks it.
pub fn read_manifest(dir: &Path) -> Result<Manifest, SessionError> {
    Package::read_manifest(dir).map_err(|e| ml_error("cannot read model package", e))
}

/// The display name of the package in `dir` (what classifications call it).
pub fn package_name(dir: &Path) -> Result<String, SessionError> {
    Ok(read_manifest(dir)?.name)
}

/// A 2-D segmentation model as AutoSegment uses it. `dafne_ml`'s `Segmenter` is one; tests use
/// small deterministic ones.
pub trait SliceModel: Send + Sync {
    /// The orientation the model's slices must be in ("axial", or "" for any).
    fn orientation(&self) -> String;
    fn segment(
        &self,
        image: &SliceImage,
        opts: &SegmentOptions,
    ) -> Result<SliceSegmentation, MlError>;
}

impl SliceModel for Segmenter {
    fn orientation(&self) -> String {
        self.manifest().preprocessing.orientation.clone()
    }

    fn segment(
        &self,
        image: &SliceImage,
        opts: &SegmentOptions,
    ) -> Result<SliceSegmentation, MlError> {
        self.segment_slice(image, opts)
    }
}

/// Where AutoSegment finds the model of a classification's base name.
pub trait ModelSource {
    fn model(&mut self, name: &str) -> Result<Arc<dyn SliceModel>, SessionError>;
}

/// Segmenters already built, by package folder (a new version is a new folder).
#[derive(Clone, Default)]
pub struct SegmenterCache(HashMap<PathBuf, Arc<Segmenter>>);

impl std::fmt::Debug for SegmenterCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.0.keys()).finish()
    }
}

/// Model packages by folder, each loaded once per run (the CLI's `--model PKG`, or a store's
/// entries). Names match case-insensitively.
#[derive(Default)]
pub struct PackageModels {
    dirs: Vec<(String, PathBuf)>,
    /// Used for every name when set (the CLI segments with the one package it was given).
    only: Option<PathBuf>,
    loaded: HashMap<PathBuf, Arc<Segmenter>>,
}

impl std::fmt::Debug for PackageModels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PackageModels")
            .field("dirs", &self.dirs)
            .field("only", &self.only)
            .finish_non_exhaustive()
    }
}

impl PackageModels {
    /// Every classification uses the package in `dir`.
    pub fn single(dir: &Path) -> PackageModels {
        PackageModels {
            only: Some(dir.to_path_buf()),
            ..PackageModels::default()
        }
    }

    /// Packages by model name.
    pub fn named(dirs: Vec<(String, PathBuf)>) -> PackageModels {
        PackageModels {
            dirs,
            ..PackageModels::default()
        }
    }

    /// The newest version of every model in `store`.
    pub fn from_store(store: &ModelStore) -> Result<PackageModels, SessionError> {
        Ok(PackageModels::named(store_dirs(store)?))
    }

    /// Packages by model name, reusing segmenters loaded before (by package folder).
    pub fn named_with_cache(dirs: Vec<(String, PathBuf)>, cache: SegmenterCache) -> PackageModels {
        PackageModels {
            dirs,
            only: None,
            loaded: cache.0,
        }
    }

    /// The segmenters loaded so far, for the next run.
    pub fn into_cache(self) -> SegmenterCache {
        SegmenterCache(self.loaded)
    }

    fn dir_of(&self, name: &str) -> Option<PathBuf> {
        self.only.clone().or_else(|| {
            self.dirs
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(name))
                .map(|(_, d)| d.clone())
        })
    }

    /// The loaded segmenter of `name`.
    pub fn segmenter(&mut self, name: &str) -> Result<Arc<Segmenter>, SessionError> {
        let dir = self.dir_of(name).ok_or_else(|| {
            SessionError::InvalidInput(format!(
                "no model named {name:?} is installed (see the model list)"
            ))
        })?;
        if let Some(s) = self.loaded.get(&dir) {
            return Ok(s.clone());
        }
        let device = candle_core::Device::Cpu;
        let package = Package::load(&dir, &device)
            .map_err(|e| ml_error(&format!("cannot load model {name:?}"), e))?;
        let segmenter = Arc::new(
            Segmenter::new(&package, &device)
                .map_err(|e| ml_error(&format!("cannot build model {name:?}"), e))?,
        );
        self.loaded.insert(dir, segmenter.clone());
        Ok(segmenter)
    }

    /// The package folder of `name`.
    pub fn package_dir(&self, name: &str) -> Option<PathBuf> {
        self.dir_of(name)
    }
}

impl ModelSource for PackageModels {
    fn model(&mut self, name: &str) -> Result<Arc<dyn SliceModel>, SessionError> {
        let s: Arc<dyn SliceModel> = self.segmenter(name)?;
        Ok(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_base_name_and_variant() {
        let (name, side) = parse_classification("Thigh, Left");
        assert_eq!(name, "Thigh");
        assert!(matches!(side, Side::Left));
        assert!(matches!(parse_classification("Leg,right").1, Side::Right));
        assert!(matches!(parse_classification("Thigh").1, Side::Both));
        let variants = vec![String::new(), "Left".into(), "Right".into()];
        assert_eq!(
            classification_choices([("Thigh", variants.as_slice())]),
            ["None", "Thigh", "Thigh, Left", "Thigh, Right"]
        );
    }
}
