//! Masks as NumPy arrays: a folder of `<ROI>.npy`, one `.npz` with an array per ROI, and the
//! original's data + mask bundle. Arrays are (rows, cols, slices) in C order, as the original
//! writes them; NumPy files carry no usable geometry, so on import their shape must equal the
//! dataset's.

use std::path::{Path, PathBuf};

use dafne_core::{LinearMap, NamedMasks, Rescale, Volume, Voxels};

use super::{
    check_rois, dataset_dims, export_per_roi, names, slices_above_zero, MaskIoError, Unique,
};
use crate::numpy::{self, BundleMask, BundleParts, NpyArray, NumpyError};

/// Writes `<folder>/<ROI>.npy` (uint8 0/1, (rows, cols, slices)) for every ROI, creating the
/// folder; empty ROIs are written too. Returns the files written, in ROI order.
pub fn export_npy(
    folder: &Path,
    dataset: &Volume,
    rois: &[NamedMasks],
) -> Result<Vec<PathBuf>, MaskIoError> {
    export_per_roi(folder, dataset, rois, ".npy", |roi, dims, path| {
        numpy::write_npy(&c_order_array(roi, dims), path).map_err(|e| write_error(path, e))
    })
}

/// Writes one `.npz` as the original's npz export: a uint8 (rows, cols, slices) array per ROI
/// (keys from [`names::encode_npz_key`]), then `orientation` (the axcodes of the array axes,
/// `<U1`) and `affine` (float64 RAS, columns in array-axis order).
pub fn export_npz(path: &Path, dataset: &Volume, rois: &[NamedMasks]) -> Result<(), MaskIoError> {
    let dims = dataset_dims(path, dataset)?;
    check_rois(path, dims, rois, Unique::Exactly)?;
    let mut members: Vec<(String, Vec<u8>)> = rois
        .iter()
        .map(|roi| {
            (
                names::encode_npz_key(&roi.name),
                numpy::npy_bytes(&c_order_array(roi, dims)),
            )
        })
        .collect();
    let codes: Vec<char> = dataset.geometry.axcodes_ras().chars().collect();
    let orientation: Vec<String> = [1, 0, 2]
        .iter()
        .map(|&a| codes.get(a).map_or("?".to_string(), char::to_string))
        .collect();
    let orientation: Vec<&str> = orientation.iter().map(String::as_str).collect();
    members.push((
        "orientation".into(),
        numpy::unicode_npy_bytes(&orientation, &[3]),
    ));
    let mut ras = dataset.geometry.affine_ras();
    for row in ras.iter_mut() {
        row.swap(0, 1);
    }
    members.push((
        "affine".into(),
        numpy::npy_bytes(&NpyArray {
            shape: vec![4, 4],
            voxels: Voxels::F64(ras.as_flattened().to_vec()),
            fortran_order: false,
        }),
    ));
    numpy::write_npz(path, &members).map_err(|e| write_error(path, e))
}

/// Writes the original's data + mask bundle: `data` (the dataset's real values as float32,
/// (rows, cols, slices[, frames])), `resolution`, `affine`, `comment` (when given) and
/// `mask_<ROI>` (uint8, name through [`names::encode`]).
pub fn export_bundle(
    path: &Path,
    dataset: &Volume,
    rois: &[NamedMasks],
    comment: Option<&str>,
) -> Result<(), MaskIoError> {
    let dims = dataset_dims(path, dataset)?;
    check_rois(path, dims, rois, Unique::Exactly)?;
    let real = Volume::new(
        dims,
        Voxels::F32(dataset.to_f32()),
        Rescale::Uniform(LinearMap::IDENTITY),
        dataset.geometry.clone(),
        dataset.info.clone(),
    )
    .map_err(|e| MaskIoError::Format {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let frame = [dims[0], dims[1], dims[2]];
    let masks: Vec<BundleMask> = rois
        .iter()
        .map(|roi| BundleMask {
            name: names::encode(&roi.name),
            dims: [dims[0], dims[1], dims[2], 1],
            voxels: super::roi_voxels(roi, frame),
        })
        .collect();
    let parts = BundleParts {
        volume: &real,
        contrasts: &[],
        masks: &masks,
        comment,
    };
    numpy::write_bundle_parts(&parts, path).map_err(|e| write_error(path, e))
}

/// The ROI of a `.npy` file, named by its stem.
pub(crate) fn read_npy(path: &Path, dataset: &Volume) -> Result<NamedMasks, MaskIoError> {
    let bytes = std::fs::read(path).map_err(|source| MaskIoError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let stem = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = strip_suffix_ignore_case(&stem, ".npy");
    array_roi(path, &names::decode(stem), &bytes, dataset)
}

/// The ROIs of a `.npz`: every array except the original's `affine`/`orientation` and a bundle's
/// data, `resolution`, `comment` and `contrast_names`; a bundle's `mask_<ROI>` is ROI `<ROI>`.
pub(crate) fn read_npz(
    path: &Path,
    dataset: &Volume,
) -> Result<(Vec<NamedMasks>, Vec<String>), MaskIoError> {
    let bytes = std::fs::read(path).map_err(|source| MaskIoError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let members = numpy::npz_members(&bytes, |key| {
        key == "affine" || key.starts_with("mask_") || !names::is_special_npz_key(key)
    })
    .map_err(|e| format_error(path, e))?;
    let mut rois = Vec::with_capacity(members.len());
    let mut warnings = Vec::new();
    for (key, member) in &members {
        if key == "affine" {
            if !same_affine(member, dataset) {
                warnings.push(format!(
                    "the affine stored in {} differs from the dataset's: NumPy masks are taken \
                     voxel for voxel",
                    path.file_name().unwrap_or_default().to_string_lossy()
                ));
            }
            continue;
        }
        let name = names::decode(key.strip_prefix("mask_").unwrap_or(key));
        rois.push(
            array_roi(path, &name, member, dataset).map_err(|e| match e {
                MaskIoError::Format { path, reason } => MaskIoError::Format {
                    path,
                    reason: format!("array {key:?}: {reason}"),
                },
                other => other,
            })?,
        );
    }
    if rois.is_empty() {
        warnings.push(format!(
            "no mask arrays in {}",
            path.file_name().unwrap_or_default().to_string_lossy()
        ));
    }
    Ok((rois, warnings))
}

/// Whether an `affine` member (RAS, array-axis order, as the original and our exports write it)
/// is close to the dataset's (the original's `np.isclose` test); an unreadable one is not.
fn same_affine(npy: &[u8], dataset: &Volume) -> bool {
    let Ok(array) = numpy::read_npy_bytes(npy) else {
        return false;
    };
    if array.shape != [4, 4] {
        return false;
    }
    let value = |r: usize, c: usize| {
        let at = if array.fortran_order {
            c * 4 + r
        } else {
            r * 4 + c
        };
        array.voxels.get_f64(at).unwrap_or(f64::NAN)
    };
    let stored: dafne_core::Affine = std::array::from_fn(|r| std::array::from_fn(|c| value(r, c)));
    let mut ours = dataset.geometry.affine_ras();
    for row in ours.iter_mut() {
        row.swap(0, 1);
    }
    super::realign::affines_close(&ours, &stored)
}

/// One (rows, cols, slices) array (any numeric dtype, C or Fortran order): voxels > 0 are set.
fn array_roi(
    path: &Path,
    name: &str,
    npy_bytes: &[u8],
    dataset: &Volume,
) -> Result<NamedMasks, MaskIoError> {
    let dims = dataset_dims(path, dataset)?;
    let (shape, layout_dims, voxels) =
        numpy::read_npy_layout(npy_bytes).map_err(|e| format_error(path, e))?;
    let expected = vec![dims[1], dims[0], dims[2]];
    let shape_error = |reason: String| MaskIoError::Shape {
        path: path.to_path_buf(),
        expected: expected.clone(),
        got: shape.clone(),
        reason,
    };
    if shape.len() > 3 && shape[3..].iter().any(|&n| n != 1) {
        return Err(shape_error(
            "time-resolved masks (4 axes) are not supported".into(),
        ));
    }
    if shape.len() >= 2 && (shape[0] != dims[1] || shape[1] != dims[0]) {
        return Err(shape_error(format!(
            "in-plane size {} x {} differs from the dataset's {} x {} (rows x columns)",
            shape[0], shape[1], dims[1], dims[0]
        )));
    }
    if layout_dims[2] != dims[2] {
        return Err(shape_error(format!(
            "{} slices where the dataset has {}",
            layout_dims[2], dims[2]
        )));
    }
    let grid = [layout_dims[0], layout_dims[1], layout_dims[2]];
    let slices = slices_above_zero(&voxels, grid, LinearMap::IDENTITY)?;
    Ok(NamedMasks {
        name: name.to_string(),
        slices,
    })
}

/// A ROI as a C-order uint8 (rows, cols, slices) array.
fn c_order_array(roi: &NamedMasks, dims: [usize; 4]) -> NpyArray {
    let [w, h, z, _] = dims;
    let mut values = vec![0u8; w * h * z];
    for (&slice, mask) in roi.slices.range(..z) {
        for (start, len) in mask.runs() {
            for pixel in start as usize..(start + len) as usize {
                values[pixel * z + slice] = 1;
            }
        }
    }
    NpyArray {
        shape: vec![h, w, z],
        voxels: Voxels::U8(values),
        fortran_order: false,
    }
}

pub(crate) fn strip_suffix_ignore_case<'a>(name: &'a str, suffix: &str) -> &'a str {
    let n = name.len();
    if n >= suffix.len()
        && name.is_char_boundary(n - suffix.len())
        && name[n - suffix.len()..].eq_ignore_ascii_case(suffix)
    {
        &name[..n - suffix.len()]
    } else {
        name
    }
}

fn write_error(path: &Path, e: NumpyError) -> MaskIoError {
    match e {
        NumpyError::Write { source, .. } | NumpyError::Io { source, .. } => MaskIoError::Write {
            path: path.to_path_buf(),
            source,
        },
        other => MaskIoError::Format {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    }
}

fn format_error(path: &Path, e: NumpyError) -> MaskIoError {
    MaskIoError::Format {
        path: path.to_path_buf(),
        reason: e.to_string(),
    }
}
