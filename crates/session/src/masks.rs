//! Masks in and out: the session's ROIs as [`NamedMasks`] for the writers of
//! `dafne_io::masks`, and imported masks back into a session.

use std::path::Path;

use dafne_core::NamedMasks;
use dafne_io::masks::dicom_source::DicomSource;
use dafne_io::masks::label_map::{Overlap, OverlapReport};
use dafne_io::masks::seg_read::Target;
use dafne_io::masks::{self as io_masks, dicom_series, import, seg};
use dafne_roi::{Roi, RoiSet};

use crate::{Dataset, Session, SessionError};

/// Every ROI of the session, in display order, with its non-empty slices.
pub fn named_masks(rois: &RoiSet) -> Vec<NamedMasks> {
    rois.rois()
        .iter()
        .map(|roi| NamedMasks {
            name: roi.name.clone(),
            slices: roi
                .masks
                .iter()
                .filter(|(_, m)| !m.is_empty())
                .map(|(k, m)| (*k, m.clone()))
                .collect(),
        })
        .collect()
}

/// Gives imported ROIs names the set does not use yet: a taken name gets a ` (2)`, ` (3)`...
/// suffix, reported in the returned warnings, so nothing the user drew is overwritten.
pub fn uniquely_named(
    rois: &RoiSet,
    mut imported: Vec<NamedMasks>,
) -> (Vec<NamedMasks>, Vec<String>) {
    let mut taken: Vec<String> = rois.rois().iter().map(|r| r.name.clone()).collect();
    let mut warnings = Vec::new();
    for named in &mut imported {
        let mut name = named.name.clone();
        let mut n = 2;
        while taken.contains(&name) {
            name = format!("{} ({n})", named.name);
            n += 1;
        }
        if name != named.name {
            warnings.push(format!(
                "a ROI named {:?} exists already; imported as {name:?}",
                named.name
            ));
            named.name = name.clone();
        }
        taken.push(name);
    }
    (imported, warnings)
}

/// Adds imported ROIs to a session, renamed by [`uniquely_named`].
pub fn add_imported(
    session: &mut Session,
    imported: Vec<NamedMasks>,
) -> Result<Vec<String>, SessionError> {
    let (imported, warnings) = uniquely_named(&session.rois, imported);
    let mut rois: Vec<Roi> = session.rois.rois().to_vec();
    let first_id = rois.iter().map(|r| r.id).max().unwrap_or(0) + 1;
    for (id, named) in (first_id..).zip(imported) {
        let mut roi = Roi::new(id, named.name);
        roi.masks = named.slices;
        rois.push(roi);
    }
    let r = &session.rois;
    session.rois = RoiSet::from_rois(r.rows(), r.cols(), r.slices(), rois)?;
    Ok(warnings)
}

/// The formats of File → Save masks (reference §2.3) plus DICOM SEG.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaskFormat {
    /// A folder of `<ROI>.npy`.
    Npy,
    /// One `.npz` with a key per ROI.
    Npz,
    /// The original's data + mask bundle (`.npz`).
    Bundle,
    /// A folder of `<ROI>.nii.gz`.
    Nifti,
    /// One label-map NIfTI with `<file>.csv` and `<file>_itk-snap.txt` legends.
    CompactNifti,
    /// One label-map DICOM series with `legend.csv` in the folder.
    CompactDicom,
    /// A folder with one DICOM mask series per ROI.
    Dicom,
    /// One DICOM Segmentation object.
    Seg,
}

/// Choices of an export beyond the format.
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// Which ROI keeps a voxel several ROIs claim in a label map.
    pub overlap: Overlap,
    /// Only these ROIs (by name, in this order); all when empty.
    pub rois: Vec<String>,
    /// Free text stored in a bundle.
    pub comment: Option<String>,
}

/// Writes the session's masks to `out`; returns warnings (e.g. overlaps a label map resolved).
pub fn export_masks(
    rois: &RoiSet,
    dataset: &Dataset,
    format: MaskFormat,
    out: &Path,
    options: &ExportOptions,
) -> Result<Vec<String>, SessionError> {
    let rois = selected(named_masks(rois), &options.rois)?;
    let volume = &dataset.volume;
    let dicom = || DicomSource::for_volume(volume, &dataset.path);
    let report = match format {
        MaskFormat::Npy => {
            io_masks::export_npy(out, volume, &rois)?;
            OverlapReport::default()
        }
        MaskFormat::Npz => {
            io_masks::export_npz(out, volume, &rois)?;
            OverlapReport::default()
        }
        MaskFormat::Bundle => {
            io_masks::export_bundle(out, volume, &rois, options.comment.as_deref())?;
            OverlapReport::default()
        }
        MaskFormat::Nifti => {
            io_masks::export_nifti(out, volume, &rois)?;
            OverlapReport::default()
        }
        MaskFormat::CompactNifti => {
            io_masks::export_compact_nifti(out, volume, &rois, options.overlap)?
        }
        MaskFormat::CompactDicom => {
            dicom_series::export_compact_dicom(&rois, &dicom()?, out, options.overlap)?
        }
        MaskFormat::Dicom => {
            dicom_series::export_dicom_series(&rois, &dicom()?, out)?;
            OverlapReport::default()
        }
        MaskFormat::Seg => {
            seg::export_seg(&rois, &dicom()?, out)?;
            OverlapReport::default()
        }
    };
    Ok(report.lines())
}

/// The ROIs named in `names` (in that order), or all of them.
fn selected(all: Vec<NamedMasks>, names: &[String]) -> Result<Vec<NamedMasks>, SessionError> {
    if names.is_empty() {
        return Ok(all);
    }
    names
        .iter()
        .map(|name| {
            all.iter()
                .find(|r| r.name == *name)
                .cloned()
                .ok_or_else(|| SessionError::InvalidInput(format!("no ROI named {name:?}")))
        })
        .collect()
}

/// Reads masks from `path` (any format [`export_masks`] writes, the original's exports, and
/// SEGs of other software), aligned to `dataset`. DICOM masks are placed by the source
/// instances they reference when the dataset came from DICOM, else by position.
pub fn import_masks(
    path: &Path,
    dataset: &Dataset,
) -> Result<(Vec<NamedMasks>, Vec<String>), SessionError> {
    let volume = &dataset.volume;
    let target = match DicomSource::for_volume(volume, &dataset.path) {
        Ok(source) => Target::of_source(&source),
        Err(_) => Target::of_volume(volume),
    };
    let imported = import::import_onto(path, volume, &target)?;
    Ok((imported.rois, imported.warnings))
}
