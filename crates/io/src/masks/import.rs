//! Reading masks for a loaded dataset, whatever file they come in (the original's "Load masks",
//! reference §2.4): `.npy` (ROI = file stem), `.npz` (ROI = key; a bundle's `mask_<ROI>` = ROI),
//! `.nii`/`.nii.gz` (one mask named by the stem, or a label map when its values go above 1 or a
//! legend `<file>.csv` lies beside it), or a folder of these.
//!
//! NIfTI masks on another grid are resampled onto the dataset's ([`super::realign`]); NumPy
//! arrays have no geometry and must match the dataset's (rows, cols, slices) exactly. Any value
//! above 0 is set. Slices without a set voxel get no entry.
//!
//! DICOM masks are recognised and refused with [`MaskIoError::Unsupported`] until their reader
//! is wired into [`import_file`].

use std::collections::BTreeSet;
use std::path::Path;

use dafne_core::{GeometrySource, LinearMap, NamedMasks, SliceMask, Volume, Voxels};

use super::dicom_series::import_dicom;
use super::nifti_masks::{legend_csv_path, read_nifti};
use super::numpy_masks::{read_npy, read_npz, strip_suffix_ignore_case};
use super::realign::{needs_realign, realign_nearest};
use super::seg_read::Target;
use super::{dataset_dims, legend, names, slices_above_zero, slices_where, MaskIoError};

/// ROIs read from a file or folder, with what the user should know about how.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ImportedMasks {
    pub rois: Vec<NamedMasks>,
    pub warnings: Vec<String>,
}

/// The kinds of mask file [`import`] tells apart by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskSource {
    Npy,
    Npz,
    Nifti,
    /// `.dcm`/`.ima` files, files without an extension and folders of them.
    Dicom,
}

impl MaskSource {
    /// The kind of a file from its name; `None` for files that are not masks (legends, notes).
    pub fn of_file(path: &Path) -> Option<MaskSource> {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().to_ascii_lowercase())
            .unwrap_or_default();
        if name.ends_with(".npy") {
            Some(MaskSource::Npy)
        } else if name.ends_with(".npz") {
            Some(MaskSource::Npz)
        } else if name.ends_with(".nii") || name.ends_with(".nii.gz") {
            Some(MaskSource::Nifti)
        } else if name.ends_with(".dcm") || name.ends_with(".ima") || !name.contains('.') {
            Some(MaskSource::Dicom)
        } else {
            None
        }
    }
}

/// Reads the masks at `path` (a file or a folder of mask files) onto `dataset`'s grid. DICOM
/// masks are placed by position; [`import_onto`] can place them by the source instances they
/// reference.
pub fn import(path: &Path, dataset: &Volume) -> Result<ImportedMasks, MaskIoError> {
    import_onto(path, dataset, &Target::of_volume(dataset))
}

/// [`import`], with DICOM masks placed on the slices of `target`.
pub fn import_onto(
    path: &Path,
    dataset: &Volume,
    target: &Target,
) -> Result<ImportedMasks, MaskIoError> {
    let meta = std::fs::metadata(path).map_err(|source| MaskIoError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    if meta.is_dir() {
        return import_folder(path, dataset, target);
    }
    match MaskSource::of_file(path) {
        Some(source) => import_file(path, dataset, source, target),
        None => Err(MaskIoError::Unsupported {
            path: path.to_path_buf(),
            reason: "not a mask file (expected .npy, .npz, .nii, .nii.gz or DICOM)".into(),
        }),
    }
}

/// Reads one mask file of a known kind.
pub fn import_file(
    path: &Path,
    dataset: &Volume,
    source: MaskSource,
    target: &Target,
) -> Result<ImportedMasks, MaskIoError> {
    match source {
        MaskSource::Npy => Ok(ImportedMasks {
            rois: vec![read_npy(path, dataset)?],
            warnings: Vec::new(),
        }),
        MaskSource::Npz => {
            let (rois, warnings) = read_npz(path, dataset)?;
            Ok(ImportedMasks { rois, warnings })
        }
        MaskSource::Nifti => import_nifti(path, dataset),
        MaskSource::Dicom => {
            let (rois, warnings) = import_dicom(path, target)?;
            Ok(ImportedMasks { rois, warnings })
        }
    }
}

/// Every mask file in a folder, in name order. Hidden files and legends are passed over; a file
/// that cannot be read is skipped with a warning (the whole import fails only when nothing
/// could be read). A folder of DICOM files or sub-folders is a DICOM import.
fn import_folder(
    folder: &Path,
    dataset: &Volume,
    target: &Target,
) -> Result<ImportedMasks, MaskIoError> {
    let read_error = |source| MaskIoError::Read {
        path: folder.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    let mut dicom = false;
    let mut warnings = Vec::new();
    for entry in std::fs::read_dir(folder).map_err(read_error)? {
        let entry = entry.map_err(read_error)?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.starts_with('.') {
            continue;
        }
        let path = entry.path();
        if path.is_dir() {
            dicom = true;
            continue;
        }
        match MaskSource::of_file(&path) {
            Some(MaskSource::Dicom) => dicom = true,
            Some(source) => files.push((name, path, source)),
            None => {
                let lower = name.to_ascii_lowercase();
                if !(lower.ends_with(".csv") || lower.ends_with(".txt")) {
                    warnings.push(format!("{name} skipped: not a mask file"));
                }
            }
        }
    }
    if files.is_empty() {
        return if dicom {
            import_file(folder, dataset, MaskSource::Dicom, target)
        } else {
            Err(MaskIoError::Unsupported {
                path: folder.to_path_buf(),
                reason: "the folder holds no mask files".into(),
            })
        };
    }
    if dicom {
        warnings.push("DICOM files and sub-folders in the folder were not read".into());
    }
    files.sort_by(|a, b| a.0.cmp(&b.0));
    use rayon::prelude::*;
    let results: Vec<Result<ImportedMasks, MaskIoError>> = files
        .par_iter()
        .map(|(_, path, source)| import_file(path, dataset, *source, target))
        .collect();
    let mut out = ImportedMasks::default();
    let mut first_error = None;
    let mut names_seen = BTreeSet::new();
    for ((name, _, _), result) in files.iter().zip(results) {
        match result {
            Ok(found) => {
                for roi in &found.rois {
                    if !names_seen.insert(roi.name.clone()) {
                        out.warnings.push(format!(
                            "two ROIs are named {:?} (one from {name})",
                            roi.name
                        ));
                    }
                }
                out.rois.extend(found.rois);
                out.warnings.extend(found.warnings);
            }
            Err(e) => {
                out.warnings.push(format!("{name} skipped: {e}"));
                first_error.get_or_insert(e);
            }
        }
    }
    if out.rois.is_empty() {
        if let Some(e) = first_error {
            return Err(e);
        }
    }
    out.warnings.extend(warnings);
    Ok(out)
}

/// One NIfTI mask or label map, aligned to the dataset.
fn import_nifti(path: &Path, dataset: &Volume) -> Result<ImportedMasks, MaskIoError> {
    let dims = dataset_dims(path, dataset)?;
    let target = [dims[0], dims[1], dims[2]];
    let mask = read_nifti(path)?;
    let mut warnings = Vec::new();
    let legend_path = legend_csv_path(path);
    let legend = if legend_path.is_file() {
        Some(legend::read_csv(&legend_path)?)
    } else {
        None
    };
    // Without a real geometry on either side, the voxels are taken as they are (the original
    // would resample a NIfTI without sform/qform onto nibabel's made-up grid and lose it).
    let mask_unplaced = mask.volume.geometry.source == GeometrySource::NiftiFallback;
    let no_geometry = dataset.geometry.source == GeometrySource::Missing || mask_unplaced;
    if no_geometry && mask.dims != target {
        return Err(MaskIoError::Shape {
            path: path.to_path_buf(),
            expected: target.to_vec(),
            got: mask.dims.to_vec(),
            reason: if mask_unplaced {
                "the mask has no sform or qform to align it with".into()
            } else {
                "the dataset has no geometry to align the mask with".into()
            },
        });
    }
    if mask_unplaced {
        warnings.push(format!(
            "{} has no sform or qform: its voxels are taken as the dataset's",
            path.file_name().unwrap_or_default().to_string_lossy()
        ));
    }
    let realign = !no_geometry
        && needs_realign(
            mask.dims,
            &mask.affine_lps,
            target,
            &dataset.geometry.affine_lps,
        );
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let stem = strip_suffix_ignore_case(&file_name, ".gz");
    let stem = names::decode(strip_suffix_ignore_case(stem, ".nii"));

    // The common case, one 0/1 mask on the dataset's grid: straight from the stored values.
    if let (None, false, Some(map)) = (&legend, realign, mask.volume.rescale().uniform()) {
        if real_max(mask.volume.voxels(), map).is_some_and(|max| max <= 1.0) {
            let slices = slices_above_zero(mask.volume.voxels(), target, map)?;
            return Ok(ImportedMasks {
                rois: vec![NamedMasks { name: stem, slices }],
                warnings,
            });
        }
    }

    let (values, max) = label_values(path, &mask.volume)?;
    let is_label_map = max > 1.0 || legend.is_some();
    let values = if realign {
        realign_nearest(
            &values,
            mask.dims,
            &mask.affine_lps,
            target,
            &dataset.geometry.affine_lps,
        )
        .map(std::borrow::Cow::Owned)
        .ok_or_else(|| MaskIoError::Format {
            path: path.to_path_buf(),
            reason: "the mask's affine cannot be inverted".into(),
        })?
    } else {
        values
    };

    if !is_label_map {
        return Ok(ImportedMasks {
            rois: vec![NamedMasks {
                name: stem,
                slices: slices_where(&values, target, |&v| v > 0)?,
            }],
            warnings,
        });
    }

    let mut present = vec![false; usize::from(u16::MAX) + 1];
    for &v in values.iter() {
        present[usize::from(v)] = true;
    }
    let mut rois: Vec<(u16, String)> = Vec::new();
    match &legend {
        Some(rows) => {
            for (value, name) in rows {
                match u16::try_from(*value) {
                    Ok(0) | Err(_) => warnings.push(format!(
                        "legend value {value} ({name:?}) cannot be a label and was ignored"
                    )),
                    Ok(v) => rois.push((v, name.clone())),
                }
            }
        }
        None => warnings.push(format!(
            "no legend {} beside the label map: ROIs are named by their label value",
            legend_path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
        )),
    }
    let named: BTreeSet<u16> = rois.iter().map(|(v, _)| *v).collect();
    let unnamed: Vec<u16> = (1..=u16::MAX)
        .filter(|v| present[usize::from(*v)] && !named.contains(v))
        .collect();
    if legend.is_some() && !unnamed.is_empty() {
        let list: Vec<String> = unnamed.iter().map(u16::to_string).collect();
        warnings.push(format!(
            "label values {} are not in the legend (overlapping ROIs summed by the original?): \
             imported as ROIs named by their value",
            list.join(", ")
        ));
    }
    rois.extend(unnamed.iter().map(|v| (*v, v.to_string())));
    let split = split_labels(&values, target, &rois)?;
    Ok(ImportedMasks {
        rois: rois
            .into_iter()
            .zip(split)
            .map(|((_, name), slices)| NamedMasks { name, slices })
            .collect(),
        warnings,
    })
}

/// The largest real value (NaN ignored); integer bytes and words without a detour through f64.
fn real_max(voxels: &Voxels, map: LinearMap) -> Option<f64> {
    let (lo, hi) = match voxels {
        // Folds over values vectorise; `Iterator::min`/`max` (which track the element) do not.
        Voxels::U8(v) if !v.is_empty() => (
            f64::from(v.iter().fold(u8::MAX, |a, &b| a.min(b))),
            f64::from(v.iter().fold(0, |a, &b| a.max(b))),
        ),
        Voxels::U16(v) if !v.is_empty() => (
            f64::from(v.iter().fold(u16::MAX, |a, &b| a.min(b))),
            f64::from(v.iter().fold(0, |a, &b| a.max(b))),
        ),
        other => other.min_max()?,
    };
    Some(map.apply(lo).max(map.apply(hi)))
}

/// The volume's real values as labels (values truncated like NumPy's `astype(uint16)`; 0 and
/// below, and NaN, are background) and the largest real value.
fn label_values<'a>(
    path: &Path,
    volume: &'a Volume,
) -> Result<(std::borrow::Cow<'a, [u16]>, f64), MaskIoError> {
    // Label maps as we and the original write them: uint16 labels, used as they are.
    if let (Voxels::U16(v), Some(map)) = (volume.voxels(), volume.rescale().uniform()) {
        if map.is_identity() {
            let max = v.iter().fold(0, |a, &b| a.max(b));
            return Ok((std::borrow::Cow::Borrowed(v), f64::from(max)));
        }
    }
    let d = volume.dims();
    let plane = d[0] * d[1];
    let rescale = volume.rescale();
    #[allow(clippy::unnecessary_cast)]
    let (values, max, too_large) = dafne_core::with_voxels!(volume.voxels(), v => {
        label_scan(v, plane, rescale, |x| x as f64)
    });
    if let Some(real) = too_large {
        return Err(MaskIoError::Format {
            path: path.to_path_buf(),
            reason: format!("label value {real} is above 65535"),
        });
    }
    Ok((std::borrow::Cow::Owned(values), max))
}

/// Labels, the largest real value and the first value too large for a label.
fn label_scan<T: Copy>(
    stored: &[T],
    plane: usize,
    rescale: &dafne_core::Rescale,
    to_f64: impl Fn(T) -> f64,
) -> (Vec<u16>, f64, Option<f64>) {
    let mut max = f64::NEG_INFINITY;
    let mut too_large = None;
    let mut values = Vec::with_capacity(stored.len());
    for (p, chunk) in stored.chunks(plane.max(1)).enumerate() {
        let map = rescale.for_plane(p);
        for &x in chunk {
            let real = map.apply(to_f64(x));
            if real > max {
                max = real;
            }
            let label = if real >= 1.0 {
                if real >= 65536.0 {
                    too_large.get_or_insert(real);
                }
                real as u16
            } else {
                u16::from(real > 0.0)
            };
            values.push(label);
        }
    }
    (values, max, too_large)
}

/// Per ROI (`(label, name)` in order) the slices where the volume holds its label, in one pass.
fn split_labels(
    values: &[u16],
    dims: [usize; 3],
    rois: &[(u16, String)],
) -> Result<Vec<std::collections::BTreeMap<usize, SliceMask>>, MaskIoError> {
    use rayon::prelude::*;
    let mut index_of = vec![usize::MAX; usize::from(u16::MAX) + 1];
    for (i, (v, _)) in rois.iter().enumerate() {
        index_of[usize::from(*v)] = i;
    }
    let plane = dims[0] * dims[1];
    let mut out = vec![std::collections::BTreeMap::new(); rois.len()];
    if plane == 0 {
        return Ok(out);
    }
    let per_slice: Vec<Vec<(usize, SliceMask)>> = values
        .par_chunks_exact(plane)
        .map(|pixels| {
            let mut masks: Vec<(usize, SliceMask)> = Vec::new();
            for (row, line) in pixels.chunks_exact(dims[0]).enumerate() {
                let mut col = 0;
                while col < line.len() {
                    let label = line[col];
                    let start = col;
                    while col < line.len() && line[col] == label {
                        col += 1;
                    }
                    let roi = index_of[usize::from(label)];
                    if label == 0 || roi == usize::MAX {
                        continue;
                    }
                    let at = match masks.iter().position(|(i, _)| *i == roi) {
                        Some(at) => at,
                        None => {
                            masks.push((roi, SliceMask::new(dims[1], dims[0])?));
                            masks.len() - 1
                        }
                    };
                    masks[at].1.set_run(row, start, col);
                }
            }
            Ok(masks)
        })
        .collect::<Result<_, MaskIoError>>()?;
    for (slice, masks) in per_slice.into_iter().enumerate() {
        for (roi, mask) in masks {
            out[roi].insert(slice, mask);
        }
    }
    Ok(out)
}
