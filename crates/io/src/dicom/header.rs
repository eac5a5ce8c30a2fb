//! What the series builder needs from each file, read from the header only.

use std::path::{Path, PathBuf};

use dicom_dictionary_std::tags;
use std::io::Read;

use dicom_object::file::ReadPreamble;
use dicom_object::{DefaultDicomObject, InMemDicomObject, OpenFileOptions};

use super::DicomError;

/// SOP classes that hold no image volume (DICOMDIR, structure sets, segmentations, reports...).
const NON_VOLUME_CLASSES: &[(&str, &str)] = &[
    ("1.2.840.10008.1.3.10", "a DICOMDIR index, not an image"),
    (
        "1.2.840.10008.5.1.4.1.1.66.4",
        "a segmentation object (load it as a mask)",
    ),
    (
        "1.2.840.10008.5.1.4.1.1.481.3",
        "an RT structure set (contours, not an image)",
    ),
];

/// Header facts of one image file (or of one frame of a multi-frame file).
#[derive(Clone, Debug)]
pub struct SliceHeader {
    pub path: PathBuf,
    pub sop_instance_uid: Option<String>,
    pub sop_class_uid: Option<String>,
    pub transfer_syntax: String,
    pub series_uid: Option<String>,
    pub series_number: Option<i64>,
    pub series_description: Option<String>,
    pub series_date: Option<String>,
    pub modality: Option<String>,
    pub instance_number: Option<i64>,
    pub echo_number: Option<i64>,
    pub image_type: Option<String>,
    pub rows: usize,
    pub cols: usize,
    pub frames: usize,
    pub samples_per_pixel: usize,
    pub bits_allocated: u16,
    pub bits_stored: u16,
    pub signed: bool,
    pub photometric: String,
    /// Colour samples stored plane by plane (PlanarConfiguration 1) instead of interleaved.
    pub planar: bool,
    pub rescale: Option<(f64, f64)>,
    pub ipp: Option<[f64; 3]>,
    pub iop: Option<[f64; 6]>,
    pub pixel_spacing: Option<[f64; 2]>,
    pub slice_thickness: Option<f64>,
    /// Per-frame geometry of an enhanced (multi-frame) object, when its functional groups carry it.
    pub frame_geometry: Vec<FrameGeometry>,
}

/// Geometry and rescale of one frame, from the functional groups.
#[derive(Clone, Copy, Debug, Default)]
pub struct FrameGeometry {
    pub ipp: Option<[f64; 3]>,
    pub iop: Option<[f64; 6]>,
    pub pixel_spacing: Option<[f64; 2]>,
    pub rescale: Option<(f64, f64)>,
}

pub(crate) fn text(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<String> {
    let s = obj.get(tag)?.to_str().ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_string())
}

fn floats(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<Vec<f64>> {
    obj.get(tag)?
        .to_multi_float64()
        .ok()
        .filter(|v| v.iter().all(|x| x.is_finite()))
}

fn float(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<f64> {
    floats(obj, tag)?.first().copied()
}

fn int(obj: &InMemDicomObject, tag: dicom_core::Tag) -> Option<i64> {
    obj.get(tag)?.to_int::<i64>().ok()
}

fn fixed<const N: usize>(v: Option<Vec<f64>>) -> Option<[f64; N]> {
    let v = v?;
    (v.len() >= N).then(|| std::array::from_fn(|i| v[i]))
}

fn rescale_of(obj: &InMemDicomObject) -> Option<(f64, f64)> {
    let slope = float(obj, tags::RESCALE_SLOPE);
    let intercept = float(obj, tags::RESCALE_INTERCEPT);
    match (slope, intercept) {
        (None, None) => None,
        (s, i) => Some((s.filter(|s| *s != 0.0).unwrap_or(1.0), i.unwrap_or(0.0))),
    }
}

/// The first item of sequence `seq` inside `item`.
fn first_item(item: &InMemDicomObject, seq: dicom_core::Tag) -> Option<&InMemDicomObject> {
    item.get(seq)?.items()?.first()
}

/// Geometry of one functional-group item (shared or per-frame).
fn group_geometry(item: &InMemDicomObject) -> FrameGeometry {
    let ipp = first_item(item, tags::PLANE_POSITION_SEQUENCE)
        .and_then(|p| fixed(floats(p, tags::IMAGE_POSITION_PATIENT)));
    let iop = first_item(item, tags::PLANE_ORIENTATION_SEQUENCE)
        .and_then(|p| fixed(floats(p, tags::IMAGE_ORIENTATION_PATIENT)));
    let pixel_spacing = first_item(item, tags::PIXEL_MEASURES_SEQUENCE)
        .and_then(|p| fixed(floats(p, tags::PIXEL_SPACING)));
    let rescale = first_item(item, tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE).and_then(rescale_of);
    FrameGeometry {
        ipp,
        iop,
        pixel_spacing,
        rescale,
    }
}

fn frame_geometry(obj: &InMemDicomObject, frames: usize) -> Vec<FrameGeometry> {
    let shared = first_item(obj, tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE)
        .map(group_geometry)
        .unwrap_or_default();
    let per_frame = obj
        .get(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE)
        .and_then(|e| e.items());
    let Some(items) = per_frame else {
        return if shared.ipp.is_some() {
            vec![shared; frames]
        } else {
            Vec::new()
        };
    };
    items
        .iter()
        .take(frames)
        .map(|item| {
            let own = group_geometry(item);
            FrameGeometry {
                ipp: own.ipp.or(shared.ipp),
                iop: own.iop.or(shared.iop),
                pixel_spacing: own.pixel_spacing.or(shared.pixel_spacing),
                rescale: own.rescale.or(shared.rescale),
            }
        })
        .collect()
}

/// Bytes read for a header: enough for nearly every file; longer headers are read whole.
const HEADER_PREFIX: u64 = 64 * 1024;

/// Reads everything but the pixel data. Err with a reason when the file is not a usable image.
pub fn read_header(path: &Path) -> Result<SliceHeader, DicomError> {
    let parse_err = |reason: String| DicomError::Parse {
        path: path.to_path_buf(),
        reason,
    };
    let mut bytes = Vec::new();
    std::fs::File::open(path)
        .and_then(|f| f.take(HEADER_PREFIX).read_to_end(&mut bytes))
        .map_err(|e| parse_err(e.to_string()))?;
    let obj = match header_object(&bytes) {
        Ok(obj) => obj,
        Err(_) if bytes.len() as u64 == HEADER_PREFIX => {
            let whole = std::fs::read(path).map_err(|e| parse_err(e.to_string()))?;
            header_object(&whole).map_err(parse_err)?
        }
        Err(reason) => return Err(parse_err(reason)),
    };
    let class = obj
        .meta()
        .media_storage_sop_class_uid
        .trim_end_matches('\0');
    if let Some((_, why)) = NON_VOLUME_CLASSES.iter().find(|(uid, _)| *uid == class) {
        return Err(DicomError::NotAnImage {
            path: path.to_path_buf(),
            reason: why.to_string(),
        });
    }
    header_of(&obj, path)
}

/// Parses up to PixelData, after checking every declared length (see `lengths`).
pub(super) fn header_object(bytes: &[u8]) -> Result<DefaultDicomObject, String> {
    let body = match bytes.get(128..132) {
        Some(b"DICM") => &bytes[128..],
        _ => bytes,
    };
    super::lengths::check_header(body)?;
    OpenFileOptions::new()
        .read_preamble(ReadPreamble::Never)
        .read_until(tags::PIXEL_DATA)
        .from_reader(body)
        .map_err(|e| e.to_string())
}

pub fn header_of(obj: &DefaultDicomObject, path: &Path) -> Result<SliceHeader, DicomError> {
    let meta = obj.meta();
    let class = meta
        .media_storage_sop_class_uid
        .trim_end_matches('\0')
        .to_string();
    let not_image = |reason: &str| DicomError::NotAnImage {
        path: path.to_path_buf(),
        reason: reason.to_string(),
    };
    let rows = int(obj, tags::ROWS).filter(|r| *r > 0);
    let cols = int(obj, tags::COLUMNS).filter(|c| *c > 0);
    let (Some(rows), Some(cols)) = (rows, cols) else {
        return Err(not_image("no Rows/Columns: the file holds no image"));
    };
    let frames = int(obj, tags::NUMBER_OF_FRAMES).unwrap_or(1).max(1) as usize;
    let bits_allocated = int(obj, tags::BITS_ALLOCATED).unwrap_or(16) as u16;
    Ok(SliceHeader {
        path: path.to_path_buf(),
        sop_instance_uid: text(obj, tags::SOP_INSTANCE_UID),
        sop_class_uid: text(obj, tags::SOP_CLASS_UID).or(Some(class).filter(|c| !c.is_empty())),
        transfer_syntax: meta.transfer_syntax().trim_end_matches('\0').to_string(),
        series_uid: text(obj, tags::SERIES_INSTANCE_UID),
        series_number: int(obj, tags::SERIES_NUMBER),
        series_description: text(obj, tags::SERIES_DESCRIPTION),
        series_date: text(obj, tags::SERIES_DATE).or_else(|| text(obj, tags::STUDY_DATE)),
        modality: text(obj, tags::MODALITY),
        instance_number: int(obj, tags::INSTANCE_NUMBER),
        echo_number: int(obj, tags::ECHO_NUMBERS),
        image_type: text(obj, tags::IMAGE_TYPE),
        rows: rows as usize,
        cols: cols as usize,
        frames,
        samples_per_pixel: int(obj, tags::SAMPLES_PER_PIXEL).unwrap_or(1).max(1) as usize,
        bits_allocated,
        bits_stored: int(obj, tags::BITS_STORED)
            .map(|b| b as u16)
            .unwrap_or(bits_allocated),
        signed: int(obj, tags::PIXEL_REPRESENTATION) == Some(1),
        photometric: text(obj, tags::PHOTOMETRIC_INTERPRETATION)
            .unwrap_or_else(|| "MONOCHROME2".into()),
        planar: int(obj, tags::PLANAR_CONFIGURATION) == Some(1),
        rescale: rescale_of(obj),
        ipp: fixed(floats(obj, tags::IMAGE_POSITION_PATIENT)),
        iop: fixed(floats(obj, tags::IMAGE_ORIENTATION_PATIENT)),
        pixel_spacing: fixed(floats(obj, tags::PIXEL_SPACING)),
        slice_thickness: float(obj, tags::SLICE_THICKNESS),
        frame_geometry: if frames > 1 {
            frame_geometry(obj, frames)
        } else {
            Vec::new()
        },
    })
}
