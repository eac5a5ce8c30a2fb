//! DICOM SEG input: ours, and those highdicom, dcmqi (and others) write. Segments become
//! [`NamedMasks`] named by SegmentLabel; each frame lands on the dataset slice whose SOP
//! Instance it references (DerivationImage/SourceImage), else on the slice at its
//! ImagePositionPatient. BINARY, FRACTIONAL (thresholded at half the maximum) and LABELMAP
//! segmentations in native (uncompressed) transfer syntaxes are read.

use std::collections::HashMap;
use std::path::Path;

use dafne_core::{Geometry, NamedMasks, SliceMask};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::dicom_source::{first_item, floats, slice_at, text, DicomSource, SEGMENTATION_STORAGE};
use super::seg::segment_label;
use super::MaskIoError;
use crate::dicom::source::read_object;

/// The dataset masks are read onto: its grid and, when known, the SOP Instance of each slice.
#[derive(Clone, Debug)]
pub struct Target {
    pub rows: usize,
    pub cols: usize,
    pub slices: usize,
    pub geometry: Geometry,
    pub sop_instance_uids: Vec<Option<String>>,
}

impl Target {
    /// A dataset known only by its grid and geometry (frames are placed by position).
    pub fn of_volume(volume: &dafne_core::Volume) -> Target {
        let [cols, rows, slices, _] = volume.dims();
        Target {
            rows,
            cols,
            slices,
            geometry: volume.geometry.clone(),
            sop_instance_uids: vec![None; slices],
        }
    }

    /// A dataset with its source instances (frames are placed by reference first).
    pub fn of_source(source: &DicomSource) -> Target {
        Target {
            rows: source.rows,
            cols: source.cols,
            slices: source.slices.len(),
            geometry: source.geometry.clone(),
            sop_instance_uids: source
                .slices
                .iter()
                .map(|s| s.header.sop_instance_uid.clone())
                .collect(),
        }
    }

    /// Whether the in-plane directions of `iop` are the dataset's.
    pub(crate) fn same_plane(&self, iop: &[f64; 6]) -> bool {
        let (r, c) = (self.geometry.direction(0), self.geometry.direction(1));
        (0..3).all(|i| (iop[i] - r[i]).abs() < 1e-3 && (iop[i + 3] - c[i]).abs() < 1e-3)
    }
}

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Binary,
    Fractional(u32),
    LabelMap,
}

fn format_err(path: &Path, reason: impl Into<String>) -> MaskIoError {
    MaskIoError::Format {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

fn int(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<i64> {
    obj.get(tag)?.to_int::<i64>().ok()
}

/// Reads the SEG at `path` onto `target`. Returns the ROIs (segment order, empty segments
/// kept) and warnings for frames that could not be placed.
pub fn read_seg(
    path: &Path,
    target: &Target,
) -> Result<(Vec<NamedMasks>, Vec<String>), MaskIoError> {
    let file = read_object(path).map_err(|e| format_err(path, e.to_string()))?;
    let ts = file
        .meta()
        .transfer_syntax()
        .trim_end_matches('\0')
        .to_string();
    let obj: &InMemDicomObject = &file;
    let class = text(obj, tags::SOP_CLASS_UID).unwrap_or_default();
    if class != SEGMENTATION_STORAGE {
        return Err(format_err(
            path,
            format!("not a DICOM segmentation (SOP class {class})"),
        ));
    }
    if !matches!(
        ts.as_str(),
        "1.2.840.10008.1.2" | "1.2.840.10008.1.2.1" | "1.2.840.10008.1.2.1.99"
    ) {
        return Err(MaskIoError::Unsupported {
            path: path.to_path_buf(),
            reason: format!("compressed segmentation pixel data (transfer syntax {ts})"),
        });
    }
    let rows = int(obj, tags::ROWS).unwrap_or(0) as usize;
    let cols = int(obj, tags::COLUMNS).unwrap_or(0) as usize;
    if rows != target.rows || cols != target.cols {
        return Err(MaskIoError::Shape {
            path: path.to_path_buf(),
            expected: vec![target.rows, target.cols],
            got: vec![rows, cols],
            reason: "the segmentation frames differ in size from the dataset's slices".into(),
        });
    }
    let kind = match text(obj, tags::SEGMENTATION_TYPE).as_deref() {
        Some("BINARY") => Kind::Binary,
        Some("FRACTIONAL") => Kind::Fractional(
            int(obj, tags::MAXIMUM_FRACTIONAL_VALUE)
                .unwrap_or(255)
                .max(1) as u32,
        ),
        Some("LABELMAP") => Kind::LabelMap,
        other => {
            return Err(format_err(
                path,
                format!("unknown SegmentationType {other:?}"),
            ))
        }
    };
    let bits = int(obj, tags::BITS_ALLOCATED).unwrap_or(0);
    let frames = int(obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1) as usize;
    let plane = rows * cols;
    let pixel_bytes = obj
        .get(tags::PIXEL_DATA)
        .and_then(|e| e.to_bytes().ok())
        .ok_or_else(|| format_err(path, "no native pixel data"))?;
    let needed_bits = frames * plane * bits.max(0) as usize;
    if !matches!(bits, 1 | 8 | 16) || pixel_bytes.len() * 8 < needed_bits {
        return Err(format_err(
            path,
            format!("pixel data of {} bytes does not hold {frames} frames of {rows}x{cols} at {bits} bits", pixel_bytes.len()),
        ));
    }
    let value = |frame: usize, p: usize| -> u32 {
        let i = frame * plane + p;
        match bits {
            1 => u32::from((pixel_bytes[i / 8] >> (i % 8)) & 1),
            8 => u32::from(pixel_bytes[i]),
            _ => u32::from(u16::from_le_bytes([
                pixel_bytes[2 * i],
                pixel_bytes[2 * i + 1],
            ])),
        }
    };

    // Segments, in SegmentNumber order.
    let mut segments: Vec<(u16, NamedMasks)> = obj
        .get(tags::SEGMENT_SEQUENCE)
        .and_then(|e| e.items())
        .map(|items| {
            items
                .iter()
                .map(|s| {
                    let number = int(s, tags::SEGMENT_NUMBER).unwrap_or(0) as u16;
                    (number, NamedMasks::new(segment_name(s, number)))
                })
                .collect()
        })
        .unwrap_or_default();
    if segments.is_empty() {
        return Err(format_err(path, "no SegmentSequence"));
    }
    segments.sort_by_key(|(n, _)| *n);
    let index_of: HashMap<u16, usize> = segments
        .iter()
        .enumerate()
        .map(|(i, (n, _))| (*n, i))
        .collect();

    let shared = first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE);
    let per_frame: Vec<&InMemDicomObject> = obj
        .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|e| e.items())
        .map(|v| v.iter().collect())
        .unwrap_or_default();
    let group = |f: usize, seq| {
        per_frame
            .get(f)
            .and_then(|g| first_item(g, seq))
            .or_else(|| shared.and_then(|g| first_item(g, seq)))
    };
    if let Some(iop) = group(0, tags::PLANE_ORIENTATION_SEQUENCE)
        .and_then(|p| floats::<6>(p, tags::IMAGE_ORIENTATION_PATIENT))
    {
        if !target.same_plane(&iop) {
            return Err(MaskIoError::Shape {
                path: path.to_path_buf(),
                expected: vec![target.rows, target.cols, target.slices],
                got: vec![rows, cols, frames],
                reason: "the segmentation lies in another plane than the dataset".into(),
            });
        }
    }
    let by_uid: HashMap<&str, usize> = target
        .sop_instance_uids
        .iter()
        .enumerate()
        .filter_map(|(k, u)| u.as_deref().map(|u| (u, k)))
        .collect();

    let mut unplaced = 0usize;
    let mut warnings = Vec::new();
    for f in 0..frames {
        let slice = referenced_uids(per_frame.get(f).copied(), shared)
            .iter()
            .find_map(|u| by_uid.get(u.as_str()).copied())
            .or_else(|| {
                group(f, tags::PLANE_POSITION_SEQUENCE)
                    .and_then(|p| floats::<3>(p, tags::IMAGE_POSITION_PATIENT))
                    .and_then(|ipp| slice_at(&target.geometry, target.slices, ipp))
            });
        let Some(k) = slice else {
            unplaced += 1;
            continue;
        };
        let owners: Vec<usize> = if kind == Kind::LabelMap {
            Vec::new()
        } else {
            let number = group(f, tags::SEGMENT_IDENTIFICATION_SEQUENCE)
                .and_then(|s| int(s, tags::REFERENCED_SEGMENT_NUMBER))
                .unwrap_or(-1);
            match u16::try_from(number).ok().and_then(|n| index_of.get(&n)) {
                Some(&i) => vec![i],
                None => {
                    return Err(format_err(
                        path,
                        format!("frame {} names no listed segment", f + 1),
                    ))
                }
            }
        };
        for p in 0..plane {
            let v = value(f, p);
            let owner = match kind {
                Kind::Binary if v != 0 => owners.first().copied(),
                Kind::Fractional(max) if 2 * v > max => owners.first().copied(),
                Kind::LabelMap if v != 0 => u16::try_from(v)
                    .ok()
                    .and_then(|n| index_of.get(&n).copied()),
                _ => None,
            };
            if let Some(i) = owner {
                let roi = &mut segments[i].1;
                let mask = match roi.slices.entry(k) {
                    std::collections::btree_map::Entry::Occupied(e) => e.into_mut(),
                    std::collections::btree_map::Entry::Vacant(e) => {
                        e.insert(SliceMask::new(rows, cols)?)
                    }
                };
                mask.set(p / cols, p % cols, true);
            }
        }
    }
    if unplaced > 0 {
        warnings.push(format!(
            "{unplaced} of {frames} segmentation frames match no slice of the dataset (by reference or position) and were left out"
        ));
    }
    if let Kind::Fractional(max) = kind {
        warnings.push(format!(
            "fractional segmentation: voxels above {} of {max} taken as inside",
            max / 2
        ));
    }
    Ok((segments.into_iter().map(|(_, r)| r).collect(), warnings))
}

/// SegmentLabel, or the exact ROI name our writer put in SegmentDescription when the label
/// had to be shortened or cleaned.
fn segment_name(item: &InMemDicomObject, number: u16) -> String {
    let label = text(item, tags::SEGMENT_LABEL);
    let description = item
        .get(tags::SEGMENT_DESCRIPTION)
        .and_then(|e| e.to_str().ok())
        .map(|s| s.trim_end_matches(['\0', ' ']).to_string());
    match (label, description) {
        (Some(l), Some(d)) if !d.is_empty() && segment_label(&d) == l => d,
        (Some(l), _) => l,
        (None, _) => format!("Segment {number}"),
    }
}

/// SOP Instance UIDs a frame was derived from.
fn referenced_uids(
    frame: Option<&InMemDicomObject>,
    shared: Option<&InMemDicomObject>,
) -> Vec<String> {
    let mut out = Vec::new();
    for g in [frame, shared].into_iter().flatten() {
        let Some(derivations) = g
            .get(tags::DERIVATION_IMAGE_SEQUENCE)
            .and_then(|e| e.items())
        else {
            continue;
        };
        for d in derivations {
            for s in d
                .get(tags::SOURCE_IMAGE_SEQUENCE)
                .and_then(|e| e.items())
                .into_iter()
                .flatten()
            {
                if let Some(uid) = text(s, tags::REFERENCED_SOP_INSTANCE_UID) {
                    out.push(uid);
                }
            }
        }
        if !out.is_empty() {
            break;
        }
    }
    out
}
