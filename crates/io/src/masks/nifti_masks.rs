//! Masks as NIfTI: a folder of `<ROI>.nii.gz` (uint8 0/1) and the compact label map (uint16,
//! label k = k-th ROI) with its legends, both on the dataset's grid and affine (sform and qform).
//! Reading gives the raw volume; [`super::import`] aligns it and splits labels.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use dafne_core::{Affine, LinearMap, NamedMasks, Rescale, SeriesInfo, Volume, Voxels};

use super::label_map::{LabelMap, Overlap, OverlapReport};
use super::{check_rois, dataset_dims, export_per_roi, legend, roi_voxels, MaskIoError, Unique};
use crate::nifti::{self, NiftiError};

/// Writes `<folder>/<ROI>.nii.gz` (uint8 0/1, the dataset's affine) for every ROI, creating the
/// folder; empty ROIs are written too. Returns the files written, in ROI order.
pub fn export_nifti(
    folder: &Path,
    dataset: &Volume,
    rois: &[NamedMasks],
) -> Result<Vec<PathBuf>, MaskIoError> {
    export_per_roi(folder, dataset, rois, ".nii.gz", |roi, dims, path| {
        let grid = [dims[0], dims[1], dims[2]];
        let volume = mask_volume(dataset, grid, Voxels::U8(roi_voxels(roi, grid)))
            .map_err(|e| write_error(path, e))?;
        nifti::write(&volume, path).map_err(|e| write_error(path, e))
    })
}

/// Writes one uint16 label map (label k = `rois[k - 1]`, overlaps resolved by `policy`) on the
/// dataset's affine, then the legends as the original names them: `<path>.csv` and
/// `<path>_itk-snap.txt`. With [`Overlap::Refuse`] and overlapping ROIs nothing is written.
pub fn export_compact_nifti(
    path: &Path,
    dataset: &Volume,
    rois: &[NamedMasks],
    policy: Overlap,
) -> Result<OverlapReport, MaskIoError> {
    let dims = dataset_dims(path, dataset)?;
    check_rois(path, dims, rois, Unique::No)?;
    let (map, report) = LabelMap::build(dims[1], dims[0], dims[2], rois, policy)?;
    let volume = mask_volume(
        dataset,
        [dims[0], dims[1], dims[2]],
        Voxels::U16(map.labels),
    )
    .map_err(|e| write_error(path, e))?;
    nifti::write(&volume, path).map_err(|e| write_error(path, e))?;
    legend::write_csv(&legend_csv_path(path), &map.names)?;
    legend::write_itksnap(&sibling(path, "_itk-snap.txt"), &map.names)?;
    Ok(report)
}

/// `<path>.csv`: where the original looks for a label map's legend.
pub(crate) fn legend_csv_path(path: &Path) -> PathBuf {
    sibling(path, ".csv")
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = OsString::from(path.as_os_str());
    name.push(suffix);
    PathBuf::from(name)
}

/// A NIfTI volume as read, before alignment: real values (scaling applied) and the affine
/// nibabel would use.
pub(crate) struct NiftiMask {
    pub dims: [usize; 3],
    pub affine_lps: Affine,
    pub volume: Volume,
}

pub(crate) fn read_nifti(path: &Path) -> Result<NiftiMask, MaskIoError> {
    let volume = nifti::read(path).map_err(|e| match e {
        NiftiError::Io { source, .. } => MaskIoError::Read {
            path: path.to_path_buf(),
            source,
        },
        other => MaskIoError::Format {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    })?;
    let d = volume.dims();
    if d[3] != 1 {
        return Err(MaskIoError::Shape {
            path: path.to_path_buf(),
            expected: vec![d[0], d[1], d[2]],
            got: d.to_vec(),
            reason: "time-resolved masks (4 axes) are not supported".into(),
        });
    }
    Ok(NiftiMask {
        dims: [d[0], d[1], d[2]],
        affine_lps: volume.geometry.affine_lps,
        volume,
    })
}

fn mask_volume(dataset: &Volume, dims: [usize; 3], voxels: Voxels) -> Result<Volume, NiftiError> {
    Volume::new(
        [dims[0], dims[1], dims[2], 1],
        voxels,
        Rescale::Uniform(LinearMap::IDENTITY),
        dataset.geometry.clone(),
        SeriesInfo {
            format: "NIfTI-1".into(),
            ..SeriesInfo::default()
        },
    )
    .map_err(|source| NiftiError::Volume { source })
}

fn write_error(path: &Path, e: NiftiError) -> MaskIoError {
    match e {
        NiftiError::Write { source, .. } | NiftiError::Io { source, .. } => MaskIoError::Write {
            path: path.to_path_buf(),
            source,
        },
        other => MaskIoError::Format {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    }
}
