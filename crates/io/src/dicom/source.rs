//! The source file of every slice of a loaded DICOM volume, for writers of derived objects
//! (masks, segmentations) that must reference the exact instance each slice came from.
//!
//! The loader sorts a series along the slice normal and may drop unreadable end slices, so
//! slice k is not "file k": the files of the volume's series are sorted the same way and the
//! run whose first position is the volume's origin is taken, checked slice by slice against
//! the volume's positions.

use std::path::{Path, PathBuf};

use dafne_core::Volume;
use dicom_object::DefaultDicomObject;

use super::header::{header_object, read_header, SliceHeader};
use super::{scan, DicomError};

/// Positions of a file and a volume slice closer than this (mm) are the same slice.
const SAME_POSITION_MM: f64 = 0.05;
/// Orientation cosines equal within this are the same plane.
const SAME_ORIENTATION: f64 = 1e-3;

/// One slice of a volume and the file it was read from.
#[derive(Clone, Debug)]
pub struct SourceSlice {
    pub header: SliceHeader,
    /// Every attribute of the file before PixelData.
    pub object: DefaultDicomObject,
}

/// Parses a file up to (not including) PixelData, with the same length checks as the loader.
pub fn read_header_object(path: &Path) -> Result<DefaultDicomObject, DicomError> {
    let bytes = std::fs::read(path).map_err(|e| DicomError::Parse {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    header_object(&bytes).map_err(|reason| DicomError::Parse {
        path: path.to_path_buf(),
        reason,
    })
}

/// Parses a whole file, pixel data included (for objects the volume loader does not take,
/// such as segmentations).
pub fn read_object(path: &Path) -> Result<DefaultDicomObject, DicomError> {
    let bytes = std::fs::read(path).map_err(|e| DicomError::Parse {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    super::parse::parse_object(&bytes, path)
}

fn dot(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    a[0] * b[0] + a[1] * b[1] + a[2] * b[2]
}

fn distance(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let d = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    dot(&d, &d).sqrt()
}

/// The source file of each slice of `volume` (a single-frame DICOM series loaded from
/// `source`, a file or folder), in slice order.
pub fn source_slices(volume: &Volume, source: &Path) -> Result<Vec<SourceSlice>, DicomError> {
    let refuse = |reason: &str| DicomError::Unsupported {
        path: source.to_path_buf(),
        reason: reason.to_string(),
    };
    if volume.info.format != "DICOM" {
        return Err(refuse("the dataset was not read from DICOM files"));
    }
    let Some(uid) = volume.info.series_uid.clone() else {
        return Err(refuse("the dataset has no SeriesInstanceUID"));
    };
    let [cols, rows, slices, frames] = volume.dims();
    if frames != 1 {
        return Err(refuse("time-resolved datasets are not supported"));
    }
    let scanned = scan(source)?;
    let mut files: Vec<PathBuf> = scanned
        .series
        .iter()
        .filter(|s| s.info.series_uid.as_deref() == Some(uid.as_str()))
        .flat_map(|s| s.files.iter().cloned())
        .collect();
    files.sort();
    files.dedup();
    let geometry = &volume.geometry;
    let row_dir = geometry.direction(0);
    let col_dir = geometry.direction(1);
    let mut headers: Vec<SliceHeader> = Vec::new();
    for f in &files {
        let h = read_header(f)?;
        if h.frames > 1 {
            return Err(refuse(
                "multi-frame (enhanced) source objects are not supported for mask export",
            ));
        }
        let same_plane = h.rows == rows
            && h.cols == cols
            && h.iop.is_some_and(|iop| {
                (0..3).all(|i| {
                    (iop[i] - row_dir[i]).abs() < SAME_ORIENTATION
                        && (iop[i + 3] - col_dir[i]).abs() < SAME_ORIENTATION
                })
            });
        // The loader keeps the first file (in path order) of a duplicated instance.
        let duplicate = headers
            .iter()
            .any(|o| o.sop_instance_uid.is_some() && o.sop_instance_uid == h.sop_instance_uid);
        if same_plane && h.ipp.is_some() && !duplicate {
            headers.push(h);
        }
    }
    let mut out = Vec::with_capacity(slices);
    for k in 0..slices {
        let expected = geometry.index_to_lps([0.0, 0.0, k as f64]);
        let near: Vec<&SliceHeader> = headers
            .iter()
            .filter(|h| {
                h.ipp
                    .is_some_and(|p| distance(&p, &expected) < slice_tolerance(volume))
            })
            .collect();
        let h = match near.as_slice() {
            [one] => (*one).clone(),
            [] => {
                return Err(DicomError::NotAnImage {
                    path: source.to_path_buf(),
                    reason: format!("no file of the series lies at the position of slice {k}"),
                })
            }
            _ => {
                return Err(DicomError::NotAnImage {
                    path: source.to_path_buf(),
                    reason: format!("several files of the series lie at slice {k}"),
                })
            }
        };
        let object = read_header_object(&h.path)?;
        out.push(SourceSlice { header: h, object });
    }
    Ok(out)
}

/// How far a file may lie from the position the volume's affine gives its slice: the affine
/// steps evenly between the first and last slice, so uneven series need up to half a step.
fn slice_tolerance(volume: &Volume) -> f64 {
    let step = volume.geometry.spacing_mm()[2];
    SAME_POSITION_MM.max(0.45 * step)
}
