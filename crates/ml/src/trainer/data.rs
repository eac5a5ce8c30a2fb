//! The data side of the trainer: the original's `.npz` bundles read into slices, the model's
//! common resolution, size and labels decided from them (dafne-models `create_model.py`
//! `get_model_info`), and each usable slice turned into network crops with the same
//! preprocessing the apply pipeline runs (`prepare_slice`), after the original's 4-pixel area
//! opening/closing of the image and masks.
//!
//! With the L/R split (what the original's Thigh and Leg models do, its trainer does not), the
//! classes are the ROI names without their `_R`/`_L` side, each slice gives two crops (one per
//! leg, the left one mirrored) cut from a canvas of the whole field of view, and the crop takes
//! the share of the canvas the Thigh model's does (250 of 432 px).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use dafne_core::SliceMask;
use dafne_roi::morphology::{despeckle, fill_small_holes};

use crate::apply::{prepare_slice, without_side, Side, SliceImage};
use crate::package::Preprocessing;
use crate::train::TrainCrop;
use crate::MlError;

/// A mask counts as present in a dataset (and on a slice) with more than this many pixels.
const MIN_MASK_PX: usize = 5;
/// The original's `area_threshold` for the opening/closing of training images and masks.
const AREA_PX: usize = 4;
/// With the L/R split, the crop's share of the canvas: the original Thigh model's 250 / 432.
pub const SPLIT_CROP_SHARE: f64 = 250.0 / 432.0;

/// The class an ROI name trains: the name itself, or without its `_R`/`_L` side when the
/// model splits the legs.
pub fn class_name(roi: &str, split: bool) -> &str {
    if !split {
        return roi;
    }
    without_side(roi).unwrap_or(roi)
}

#[derive(Debug)]
/// One bundle, read: its slices (row-major, first frame of 4-D data) and masks.
pub struct Dataset {
    /// File name (no folder): what provenance and reports name.
    pub name: String,
    pub rows: usize,
    pub cols: usize,
    /// [between rows, between columns].
    pub spacing_mm: [f64; 2],
    pub slices: Vec<Vec<f32>>,
    /// `(ROI name, one mask per slice)`.
    pub masks: Vec<(String, Vec<SliceMask>)>,
}

fn input_err(path: &Path, why: impl std::fmt::Display) -> MlError {
    MlError::Input {
        why: format!("{why}: {}", path.display()),
    }
}

/// Reads one bundle (`data`, `resolution`, `mask_*`; extra contrasts are ignored).
pub fn read_dataset(path: &Path) -> Result<Dataset, MlError> {
    let bundle = dafne_io::numpy::read_bundle(path)
        .map_err(|e| input_err(path, format!("cannot read the bundle ({e})")))?;
    let [cols, rows, depth, _frames] = bundle.volume.dims();
    let spacing_mm = match bundle.resolution_mm {
        Some([row_mm, col_mm, _]) => [row_mm, col_mm],
        None => {
            let [x, y, _] = bundle.volume.geometry.spacing_mm();
            [y, x]
        }
    };
    if !spacing_mm.iter().all(|s| s.is_finite() && *s > 0.0) {
        return Err(input_err(
            path,
            format!("the resolution {spacing_mm:?} is not positive"),
        ));
    }
    let plane = rows * cols;
    let values = bundle.volume.to_f32();
    let slices: Vec<Vec<f32>> = (0..depth)
        .map(|z| values[z * plane..(z + 1) * plane].to_vec())
        .collect();
    if slices.iter().flatten().any(|v| !v.is_finite()) {
        return Err(input_err(path, "the image has values that are not finite"));
    }
    let mut masks = Vec::with_capacity(bundle.masks.len());
    for mask in &bundle.masks {
        let name = dafne_io::masks::names::decode(&mask.name);
        let per_slice = (0..depth)
            .map(|z| SliceMask::from_u8(rows, cols, &mask.voxels[z * plane..(z + 1) * plane]))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| input_err(path, format!("mask {name:?} is not valid ({e})")))?;
        masks.push((name, per_slice));
    }
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Ok(Dataset {
        name,
        rows,
        cols,
        spacing_mm,
        slices,
        masks,
    })
}

/// The `.npz` files of a folder, sorted by name (a file is used as it is).
pub fn bundle_paths(dir: &Path) -> Result<Vec<PathBuf>, MlError> {
    if dir.is_file() {
        return Ok(vec![dir.to_path_buf()]);
    }
    let entries = std::fs::read_dir(dir).map_err(|source| MlError::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_file() && p.extension().is_some_and(|e| e.eq_ignore_ascii_case("npz")))
        .collect();
    paths.sort();
    Ok(paths)
}

/// What the bundles decide about the model (`get_model_info`).
#[derive(Clone, Debug, PartialEq)]
pub struct ModelInfo {
    /// Pixel size of the network's grid (mm).
    pub resolution_mm: f64,
    /// Rows = columns of the network input.
    pub size_px: usize,
    /// Rows = columns of the canvas the crops are cut from (the input itself without the split).
    pub canvas_px: usize,
    /// Whether the model splits the legs (two mirrored crops per slice).
    pub split_laterality: bool,
    /// Class names (ROI names, without their side when split), sorted; class `i + 1` is
    /// `labels[i]`.
    pub labels: Vec<String>,
    /// Datasets kept (indices into the input).
    pub kept: Vec<usize>,
    /// Datasets dropped, with why.
    pub dropped: Vec<(usize, String)>,
}

/// The median, as numpy's (the mean of the two middle values for an even count).
fn median(values: &mut [f64]) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

/// Common resolution = median in-plane resolution (per axis, then their mean: the package has
/// one pixel size); size = largest field of view at that resolution (with `split`: the canvas,
/// the input being [`SPLIT_CROP_SHARE`] of it), the input capped at `max_px` (the resolution
/// coarsened to fit); labels = sorted union of the masks' class names ([`class_name`]);
/// datasets where at most half the labels have more than 5 pixels are dropped.
pub fn model_info(datasets: &[Dataset], max_px: usize, split: bool) -> Result<ModelInfo, MlError> {
    if datasets.is_empty() {
        return Err(MlError::Input {
            why: "no bundles to train on".into(),
        });
    }
    let mut rows_mm: Vec<f64> = datasets.iter().map(|d| d.spacing_mm[0]).collect();
    let mut cols_mm: Vec<f64> = datasets.iter().map(|d| d.spacing_mm[1]).collect();
    let mut resolution_mm = (median(&mut rows_mm) + median(&mut cols_mm)) / 2.0;
    let fov_mm = datasets
        .iter()
        .map(|d| (d.rows as f64 * d.spacing_mm[0]).max(d.cols as f64 * d.spacing_mm[1]))
        .fold(0.0, f64::max);
    let share = if split { SPLIT_CROP_SHARE } else { 1.0 };
    let mut canvas_px = (fov_mm / resolution_mm).ceil() as usize;
    let mut size_px = (canvas_px as f64 * share).ceil() as usize;
    let max_px = max_px.max(1);
    if size_px > max_px {
        resolution_mm *= size_px as f64 / max_px as f64;
        size_px = max_px;
        canvas_px = if split {
            (fov_mm / resolution_mm).ceil() as usize
        } else {
            max_px
        };
    }

    let labels: Vec<String> = datasets
        .iter()
        .flat_map(|d| d.masks.iter().map(|(n, _)| class_name(n, split).to_owned()))
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if labels.is_empty() {
        return Err(MlError::Input {
            why: "the bundles have no masks (mask_<ROI> arrays) to learn".into(),
        });
    }
    if labels.len() > 254 {
        return Err(MlError::Input {
            why: format!("{} labels: at most 254 are supported", labels.len()),
        });
    }
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    for (i, d) in datasets.iter().enumerate() {
        let present = labels
            .iter()
            .filter(|l| {
                let voxels: usize = d
                    .masks
                    .iter()
                    .filter(|(n, _)| class_name(n, split) == l.as_str())
                    .flat_map(|(_, m)| m.iter().map(SliceMask::count))
                    .sum();
                voxels >= MIN_MASK_PX
            })
            .count();
        if present * 2 <= labels.len() {
            dropped.push((i, format!("has {present} of the {} labels", labels.len())));
        } else {
            kept.push(i);
        }
    }
    Ok(ModelInfo {
        resolution_mm,
        size_px,
        canvas_px,
        split_laterality: split,
        labels,
        kept,
        dropped,
    })
}

/// The crops of slice `z` of `d` (one; two with the L/R split), none when the slice is not
/// used: a slice is used when at least half the classes (labels + background, the original's
/// `nlabels / 2`) have a mask of more than 5 pixels on it, and, with the split, when
/// `split_mirror` finds the two legs (the original stops with an error there). Overlapping
/// masks: the lower class wins (as `improve` does).
pub fn slice_crops(
    d: &Dataset,
    z: usize,
    labels: &[String],
    pre: &Preprocessing,
) -> Result<Vec<TrainCrop>, MlError> {
    let Some(image) = d.slices.get(z) else {
        return Ok(Vec::new());
    };
    let split = pre.split_laterality;
    let classes = labels.len() + 1;
    // Per class, the union of its ROIs' masks on this slice (both sides with the split).
    let mut on_slice: Vec<(usize, SliceMask)> = Vec::new();
    for (i, l) in labels.iter().enumerate() {
        let mut union: Option<SliceMask> = None;
        for (_, masks) in d.masks.iter().filter(|(n, _)| class_name(n, split) == l) {
            let Some(m) = masks.get(z) else { continue };
            match union.as_mut() {
                None => union = Some(m.clone()),
                // Every mask of a bundle has the slice's shape (read_dataset checks it).
                Some(u) => {
                    u.combine(m, |a, b| a | b);
                }
            }
        }
        if let Some(m) = union.filter(|m| m.count() > MIN_MASK_PX) {
            on_slice.push((i, m));
        }
    }
    if (on_slice.len() as f64) < classes as f64 / 2.0 {
        return Ok(Vec::new());
    }
    let mut class_map = vec![0u8; d.rows * d.cols];
    for (i, m) in on_slice.iter().rev() {
        let cleaned = fill_small_holes(&despeckle(m, AREA_PX), AREA_PX);
        for (px, set) in class_map.iter_mut().zip(cleaned.to_bools()) {
            if set {
                *px = (i + 1) as u8;
            }
        }
    }
    let slice = SliceImage {
        values: super::area::open_close(image, d.rows, d.cols, AREA_PX),
        rows: d.rows,
        cols: d.cols,
        spacing_mm: d.spacing_mm,
    };
    let prepared = match prepare_slice(pre, &slice, Side::Both) {
        Ok(p) => p,
        Err(MlError::Input { .. }) if split => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let crop_labels = prepared.crop_labels(&class_map)?;
    if crop_labels.len() != prepared.crops().len() || crop_labels.is_empty() {
        return Err(MlError::Training {
            why: "the preprocessing gave no crop".into(),
        });
    }
    Ok(prepared
        .crops()
        .iter()
        .zip(crop_labels)
        .map(|(image, labels)| TrainCrop {
            image: image.clone(),
            labels,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dataset(name: &str, size: usize, mm: f64, masks: &[&str]) -> Dataset {
        let full = SliceMask::full(size, size).unwrap_or_else(|_| unreachable!());
        Dataset {
            name: name.into(),
            rows: size,
            cols: size,
            spacing_mm: [mm, mm],
            slices: vec![vec![1.0; size * size]],
            masks: masks
                .iter()
                .map(|m| (m.to_string(), vec![full.clone()]))
                .collect(),
        }
    }

    #[test]
    fn info_follows_the_original() {
        let d = vec![
            dataset("a", 100, 1.0, &["B", "A", "C"]),
            dataset("b", 100, 2.0, &["A", "B"]),
            dataset("c", 300, 3.0, &["A"]),
        ];
        let info = model_info(&d, 256, false).unwrap_or_else(|e| panic!("{e}"));
        // Median of 1, 2, 3 = 2 mm; largest FOV 900 mm = 450 px > 256: coarsened.
        assert_eq!(info.size_px, 256);
        assert!((info.resolution_mm - 2.0 * 450.0 / 256.0).abs() < 1e-12);
        assert_eq!(info.labels, ["A", "B", "C"]);
        // "c" has 1 of 3 labels (not more than half): dropped.
        assert_eq!(info.kept, [0, 1]);
        assert_eq!(info.dropped.len(), 1);
        assert_eq!(info.dropped[0].0, 2);
    }

    #[test]
    fn even_median_is_the_mean() {
        assert_eq!(median(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
    }
}
