//! Masks in and out of files: one [`NamedMasks`] per ROI, in the layouts users exchange
//! (NumPy, NIfTI, compact label maps with a legend, DICOM series, DICOM SEG). Every writer is
//! atomic per file; every reader checks the shape against the dataset and aligns through the
//! affines when the mask volume was written on another grid.
//!
//! Overlapping ROIs in a label map are resolved by an explicit [`label_map::Overlap`] policy
//! and reported, never summed (the original's label aliasing, reference §7.3).
//!
//! Files (everything but DICOM):
//!
//! | export | files | read back by |
//! | --- | --- | --- |
//! | [`export_npy`] | `<folder>/<ROI>.npy`, uint8 (rows, cols, slices), no `orientation.npy` | [`import()`] of the folder or one file |
//! | [`export_npz`] | one `.npz`: a uint8 (rows, cols, slices) array per ROI, `affine` (RAS, array-axis order) and `orientation` (axcodes), as the original | [`import()`] |
//! | [`export_bundle`] | the original's training bundle: `data` float32 real values, `resolution`, `affine`, `comment`, `mask_<ROI>` | [`import()`], the original's Load data |
//! | [`export_nifti`] | `<folder>/<ROI>.nii.gz`, uint8, the dataset's affine | [`import()`] |
//! | [`export_compact_nifti`] | one uint16 label map, `<file>.csv` legend and `<file>_itk-snap.txt` | [`import()`] (names from the legend) |
//!
//! ROI names become file names, DICOM series folder names and `.npz` keys through [`names`]
//! (reversible escapes for names that are not valid file names). Every writer checks every ROI
//! against the dataset before it writes anything, and writes each file atomically; a folder
//! export that fails part-way leaves the files it finished, each whole.
//!
//! DICOM (the dataset must have been read from DICOM: [`dicom_source::DicomSource`]):
//! [`dicom_series`] writes one mask series per ROI or one label-map series with its legends,
//! and reads DICOM folders back (ours, the original's, a folder holding a SEG); [`seg`] writes
//! a DICOM SEG and [`seg_read`] reads one; [`dicom_source`] holds what those writers share
//! (the header of a new derived instance, references to the source instances, the image pixel
//! module); [`codes`] codes the segments and [`uid`] makes the new UIDs. [`legend`] reads and
//! writes the label-map legends (`.csv` and ITK-SNAP) of NIfTI and DICOM alike.

pub mod import;
pub mod label_map;
pub mod legend;
pub mod names;
mod nifti_masks;
mod numpy_masks;
pub mod realign;

pub mod codes;
pub mod dicom_series;
pub mod dicom_source;
pub mod seg;
pub mod seg_read;
pub mod uid;

use std::path::{Path, PathBuf};

pub use dafne_core::NamedMasks;
use dafne_core::{LinearMap, SliceMask, Volume, Voxels};

pub use import::{import, ImportedMasks};
pub use label_map::{LabelMap, Overlap, OverlapReport};
pub use nifti_masks::{export_compact_nifti, export_nifti};
pub use numpy_masks::{export_bundle, export_npy, export_npz};

/// Every failure of mask import and export.
#[derive(Debug, thiserror::Error)]
pub enum MaskIoError {
    #[error("cannot read masks ({source}): {}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write masks ({source}): {}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    /// The file is not what its name says, or is damaged.
    #[error("not a usable mask file ({reason}): {}", path.display())]
    Format { path: PathBuf, reason: String },
    /// The mask does not fit the dataset and cannot be aligned to it.
    #[error("mask of {got:?} does not fit the dataset of {expected:?} ({reason}): {}", path.display())]
    Shape {
        path: PathBuf,
        expected: Vec<usize>,
        got: Vec<usize>,
        reason: String,
    },
    /// What was asked cannot be done with this data (e.g. DICOM export of a NIfTI dataset).
    #[error("{reason}: {}", path.display())]
    Unsupported { path: PathBuf, reason: String },
    /// ROIs overlap and the policy says to refuse.
    #[error("ROIs overlap ({0}); choose which ROI wins")]
    Overlap(String),
    #[error(transparent)]
    Mask(#[from] dafne_core::MaskError),
    /// A ROI that does not fit the grid it is written on (a caller's mistake, never skipped).
    #[error("ROI {roi:?} does not fit a {rows} x {cols} x {slices} grid (slice {slice}, {mask_rows} x {mask_cols})")]
    RoiGrid {
        roi: String,
        rows: usize,
        cols: usize,
        slices: usize,
        slice: usize,
        mask_rows: usize,
        mask_cols: usize,
    },
    #[error("more ROIs ({0}) than a label map can hold (65535)")]
    TooManyLabels(usize),
}

/// How ROI names must differ in an export.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Unique {
    /// Label maps: the legend may repeat a name.
    No,
    /// Keys of one `.npz`.
    Exactly,
    /// File names, compared as Windows and macOS do.
    IgnoringCase,
}

/// Checks that every ROI fits a dataset of `dims` (slice masks of (dims[1], dims[0]), slices
/// below dims[2]) and that no two ROIs would share a file name or key.
pub(crate) fn check_rois(
    path: &Path,
    dims: [usize; 4],
    rois: &[NamedMasks],
    unique: Unique,
) -> Result<(), MaskIoError> {
    let mut seen = std::collections::BTreeMap::new();
    for roi in rois {
        for (&slice, mask) in &roi.slices {
            if mask.rows() != dims[1] || mask.cols() != dims[0] || slice >= dims[2] {
                return Err(MaskIoError::Shape {
                    path: path.to_path_buf(),
                    expected: vec![dims[1], dims[0], dims[2]],
                    got: vec![mask.rows(), mask.cols(), slice + 1],
                    reason: format!(
                        "ROI {:?} has a {} x {} mask on slice {slice}",
                        roi.name,
                        mask.rows(),
                        mask.cols()
                    ),
                });
            }
        }
        if unique != Unique::No {
            let key = names::encode(&roi.name);
            let key = match unique {
                Unique::IgnoringCase => key.to_lowercase(),
                _ => key,
            };
            if let Some(other) = seen.insert(key, &roi.name) {
                return Err(MaskIoError::Unsupported {
                    path: path.to_path_buf(),
                    reason: format!(
                        "ROIs {other:?} and {:?} would be written to the same file",
                        roi.name
                    ),
                });
            }
        }
    }
    Ok(())
}

/// Creates `folder` (and its parents) for an export.
pub(crate) fn create_folder(folder: &Path) -> Result<(), MaskIoError> {
    std::fs::create_dir_all(folder).map_err(|source| MaskIoError::Write {
        path: folder.to_path_buf(),
        source,
    })
}

/// A folder export of one file per ROI, `<folder>/<name><extension>` (names through
/// [`names::encode`]): every ROI checked against the dataset first, the folder created, then
/// `write(roi, dataset dims, path)` for each ROI in parallel. Returns the files in ROI order.
pub(crate) fn export_per_roi(
    folder: &Path,
    dataset: &Volume,
    rois: &[NamedMasks],
    extension: &str,
    write: impl Fn(&NamedMasks, [usize; 4], &Path) -> Result<(), MaskIoError> + Sync,
) -> Result<Vec<PathBuf>, MaskIoError> {
    use rayon::prelude::*;
    let dims = dataset_dims(folder, dataset)?;
    check_rois(folder, dims, rois, Unique::IgnoringCase)?;
    create_folder(folder)?;
    rois.par_iter()
        .map(|roi| {
            let path = folder.join(format!("{}{extension}", names::encode(&roi.name)));
            write(roi, dims, &path)?;
            Ok(path)
        })
        .collect()
}

/// A ROI as a 0/1 volume of `dims` [W, H, Z] in the project's layout (axis 0 fastest).
pub(crate) fn roi_voxels(roi: &NamedMasks, dims: [usize; 3]) -> Vec<u8> {
    let plane = dims[0] * dims[1];
    let mut out = vec![0u8; plane * dims[2]];
    for (&slice, mask) in roi.slices.range(..dims[2]) {
        let dst = &mut out[slice * plane..(slice + 1) * plane];
        for (start, len) in mask.runs() {
            let start = start as usize;
            dst[start..start + len as usize].fill(1);
        }
    }
    out
}

/// Per-slice masks of a volume in the project's layout where `is_set`; empty slices are left out.
pub(crate) fn slices_where<T>(
    values: &[T],
    dims: [usize; 3],
    is_set: impl Fn(&T) -> bool + Sync,
) -> Result<std::collections::BTreeMap<usize, SliceMask>, MaskIoError>
where
    T: Sync,
{
    use rayon::prelude::*;
    let plane = dims[0] * dims[1];
    if plane == 0 {
        return Ok(Default::default());
    }
    let slices: Vec<Option<(usize, SliceMask)>> = values
        .par_chunks_exact(plane)
        .enumerate()
        .map(|(z, pixels)| {
            if !pixels.iter().any(&is_set) {
                return Ok(None);
            }
            let mut mask = SliceMask::new(dims[1], dims[0])?;
            for (row, line) in pixels.chunks_exact(dims[0]).enumerate() {
                let mut col = 0;
                while col < line.len() {
                    if is_set(&line[col]) {
                        let start = col;
                        while col < line.len() && is_set(&line[col]) {
                            col += 1;
                        }
                        mask.set_run(row, start, col);
                    } else {
                        col += 1;
                    }
                }
            }
            Ok(Some((z, mask)))
        })
        .collect::<Result<_, MaskIoError>>()?;
    Ok(slices.into_iter().flatten().collect())
}

/// Per-slice masks where the real value (`map` applied to the stored value) is above 0.
pub(crate) fn slices_above_zero(
    voxels: &Voxels,
    dims: [usize; 3],
    map: LinearMap,
) -> Result<std::collections::BTreeMap<usize, SliceMask>, MaskIoError> {
    use rayon::prelude::*;
    let plane = dims[0] * dims[1];
    match voxels {
        // Our own and the original's usual masks: runs found by byte scans (mostly zeros).
        Voxels::U8(v) if map.is_identity() && plane > 0 => {
            let slices: Vec<Option<(usize, SliceMask)>> = v
                .par_chunks_exact(plane)
                .enumerate()
                .map(|(z, pixels)| {
                    let mut mask = SliceMask::new(dims[1], dims[0])?;
                    for (row, line) in pixels.chunks_exact(dims[0]).enumerate() {
                        byte_runs(line, |start, end| mask.set_run(row, start, end));
                    }
                    Ok((!mask.is_empty()).then_some((z, mask)))
                })
                .collect::<Result<_, MaskIoError>>()?;
            Ok(slices.into_iter().flatten().collect())
        }
        #[allow(clippy::unnecessary_cast)]
        _ => dafne_core::with_voxels!(voxels, v => {
            slices_where(v, dims, |&x| map.apply(x as f64) > 0.0)
        }),
    }
}

/// Calls `f(start, end)` for each run of non-zero bytes. Blocks of 32 bytes that are all zero
/// (or all non-zero inside a run) are passed over whole: folds without early exit vectorise, a
/// byte-by-byte search does not.
fn byte_runs(line: &[u8], mut f: impl FnMut(usize, usize)) {
    const BLOCK: usize = 32;
    let n = line.len();
    let mut col = 0;
    let mut start = None;
    while col < n {
        while col + BLOCK <= n {
            let block = &line[col..col + BLOCK];
            let uniform = match start {
                None => block.iter().fold(0u8, |a, &b| a | b) == 0,
                Some(_) => block.iter().fold(u8::MAX, |a, &b| a.min(b)) != 0,
            };
            if !uniform {
                break;
            }
            col += BLOCK;
        }
        let end = (col + BLOCK).min(n);
        for (at, &b) in line[col..end].iter().enumerate() {
            match (b != 0, start) {
                (true, None) => start = Some(col + at),
                (false, Some(s)) => {
                    f(s, col + at);
                    start = None;
                }
                _ => {}
            }
        }
        col = end;
    }
    if let Some(s) = start {
        f(s, n);
    }
}

/// The dataset's in-plane and slice dims, refusing datasets that have none.
pub(crate) fn dataset_dims(path: &Path, dataset: &Volume) -> Result<[usize; 4], MaskIoError> {
    let dims = dataset.dims();
    if dims[..3].contains(&0) {
        return Err(MaskIoError::Unsupported {
            path: path.to_path_buf(),
            reason: format!("the dataset of {:?} voxels is empty", dims),
        });
    }
    Ok(dims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_runs_find_every_run_across_blocks() {
        let mut line = vec![0u8; 200];
        let runs = [(0, 1), (31, 33), (40, 110), (150, 151), (170, 200)];
        for &(s, e) in &runs {
            line[s..e].fill(7);
        }
        let mut found = Vec::new();
        byte_runs(&line, |s, e| found.push((s, e)));
        assert_eq!(found, runs);
        found.clear();
        byte_runs(&[], |s, e| found.push((s, e)));
        assert!(found.is_empty());
    }
}
