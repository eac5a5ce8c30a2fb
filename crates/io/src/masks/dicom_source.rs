//! What every DICOM mask writer shares: the source slices of the dataset, the header of a new
//! derived instance (patient, study and frame-of-reference attributes copied from its source,
//! our equipment, new UIDs), references to source instances, the image pixel module, attribute
//! helpers and atomic file writing. Everything that identifies the new object (Series and SOP
//! Instance UIDs) is new; nothing is deep-copied.

use std::path::Path;

use dafne_core::{Geometry, NamedMasks, Volume};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, Tag, VR};
use dicom_dictionary_std::tags;
use dicom_object::meta::FileMetaTableBuilder;
use dicom_object::InMemDicomObject;

use super::MaskIoError;
use crate::dicom::source::{source_slices, SourceSlice};
use crate::dicom::DicomError;
use crate::fs::write_atomically;

pub(crate) const EXPLICIT_VR_LE: &str = "1.2.840.10008.1.2.1";
pub(crate) const MR_IMAGE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.4";
pub(crate) const SECONDARY_CAPTURE_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.7";
pub(crate) const SEGMENTATION_STORAGE: &str = "1.2.840.10008.5.1.4.1.1.66.4";
const MANUFACTURER: &str = "Dafne";
const MODEL_NAME: &str = "dafne-rs";

/// A dataset read from DICOM with the source file of each of its slices, in slice order.
#[derive(Clone, Debug)]
pub struct DicomSource {
    pub rows: usize,
    pub cols: usize,
    pub geometry: Geometry,
    pub slices: Vec<SourceSlice>,
}

impl DicomSource {
    /// Loads the dataset at `source` (as [`crate::load`] does) and finds its source files.
    pub fn load(source: &Path, series: Option<usize>) -> Result<DicomSource, MaskIoError> {
        let loaded = crate::load(source, series).map_err(|e| MaskIoError::Format {
            path: source.to_path_buf(),
            reason: e.to_string(),
        })?;
        DicomSource::for_volume(&loaded.volume, source)
    }

    /// The source files of an already loaded `volume` read from `source`.
    pub fn for_volume(volume: &Volume, source: &Path) -> Result<DicomSource, MaskIoError> {
        if volume.info.format != "DICOM" {
            return Err(MaskIoError::Unsupported {
                path: source.to_path_buf(),
                reason: format!(
                    "DICOM mask export needs a dataset read from DICOM files (this one is {}): there are no source instances to reference",
                    volume.info.format
                ),
            });
        }
        let slices = source_slices(volume, source).map_err(|e| dicom_error(e, source))?;
        let [cols, rows, _, _] = volume.dims();
        Ok(DicomSource {
            rows,
            cols,
            geometry: volume.geometry.clone(),
            slices,
        })
    }

    pub(crate) fn first(&self) -> Result<&SourceSlice, MaskIoError> {
        self.slices.first().ok_or_else(|| MaskIoError::Unsupported {
            path: Default::default(),
            reason: "the dataset has no slices".into(),
        })
    }

    /// Checks that every mask fits the source's grid.
    pub(crate) fn check_fit(&self, rois: &[NamedMasks], out: &Path) -> Result<(), MaskIoError> {
        let slices = self.slices.len();
        for roi in rois {
            for (&k, mask) in &roi.slices {
                if k >= slices || mask.rows() != self.rows || mask.cols() != self.cols {
                    return Err(MaskIoError::Shape {
                        path: out.to_path_buf(),
                        expected: vec![self.rows, self.cols, slices],
                        got: vec![mask.rows(), mask.cols(), k + 1],
                        reason: format!("ROI {:?} does not fit the dataset", roi.name),
                    });
                }
            }
        }
        Ok(())
    }
}

pub(crate) fn dicom_error(e: DicomError, path: &Path) -> MaskIoError {
    match e {
        DicomError::Unsupported { reason, path } => MaskIoError::Unsupported { path, reason },
        other => MaskIoError::Format {
            path: path.to_path_buf(),
            reason: other.to_string(),
        },
    }
}

pub(crate) fn uid(path: &Path) -> Result<String, MaskIoError> {
    super::uid::new_uid().map_err(|e| MaskIoError::Write {
        path: path.to_path_buf(),
        source: std::io::Error::other(format!("no randomness for a new UID: {e}")),
    })
}

pub(crate) fn put_str(obj: &mut InMemDicomObject, tag: Tag, vr: VR, value: &str) {
    obj.put(DataElement::new(tag, vr, PrimitiveValue::from(value)));
}

fn put_strs(obj: &mut InMemDicomObject, tag: Tag, vr: VR, values: &[&str]) {
    let v = values.iter().map(|s| s.to_string()).collect();
    obj.put(DataElement::new(tag, vr, PrimitiveValue::Strs(v)));
}

pub(crate) fn put_us(obj: &mut InMemDicomObject, tag: Tag, values: &[u16]) {
    let v = values.iter().copied().collect();
    obj.put(DataElement::new(tag, VR::US, PrimitiveValue::U16(v)));
}

pub(crate) fn put_tags(obj: &mut InMemDicomObject, tag: Tag, values: &[Tag]) {
    let v = values.iter().copied().collect();
    obj.put(DataElement::new(tag, VR::AT, PrimitiveValue::Tags(v)));
}

pub(crate) fn put_seq(obj: &mut InMemDicomObject, tag: Tag, items: Vec<InMemDicomObject>) {
    obj.put(DataElement::new(tag, VR::SQ, DataSetSequence::from(items)));
}

pub(crate) fn item(build: impl FnOnce(&mut InMemDicomObject)) -> InMemDicomObject {
    let mut o = InMemDicomObject::new_empty();
    build(&mut o);
    o
}

/// A code sequence item (CodeValue, CodingSchemeDesignator, CodeMeaning).
pub(crate) fn code_item(value: &str, scheme: &str, meaning: &str) -> InMemDicomObject {
    item(|o| {
        put_str(o, tags::CODE_VALUE, VR::SH, value);
        put_str(o, tags::CODING_SCHEME_DESIGNATOR, VR::SH, scheme);
        put_str(o, tags::CODE_MEANING, VR::LO, meaning);
    })
}

/// Copies `tag` from `from` verbatim when present; a Type 2 attribute absent from the source
/// is written empty, a Type 3 one is left out.
pub(crate) fn copy(
    to: &mut InMemDicomObject,
    from: &InMemDicomObject,
    tag: Tag,
    vr: VR,
    type2: bool,
) {
    match from.get(tag) {
        Some(e) => {
            to.put(e.clone());
        }
        None if type2 => {
            to.put(DataElement::new(tag, vr, PrimitiveValue::Empty));
        }
        None => {}
    }
}

/// Patient, General Study, Patient Study and Frame of Reference modules, from the source:
/// the derived object belongs to the same patient, study and frame of reference.
fn copy_patient_study(to: &mut InMemDicomObject, from: &InMemDicomObject) {
    for (tag, vr, type2) in [
        (tags::PATIENT_NAME, VR::PN, true),
        (tags::PATIENT_ID, VR::LO, true),
        (tags::ISSUER_OF_PATIENT_ID, VR::LO, false),
        (tags::PATIENT_BIRTH_DATE, VR::DA, true),
        (tags::PATIENT_SEX, VR::CS, true),
        (tags::PATIENT_IDENTITY_REMOVED, VR::CS, false),
        (tags::DEIDENTIFICATION_METHOD, VR::LO, false),
        (tags::STUDY_INSTANCE_UID, VR::UI, true),
        (tags::STUDY_DATE, VR::DA, true),
        (tags::STUDY_TIME, VR::TM, true),
        (tags::REFERRING_PHYSICIAN_NAME, VR::PN, true),
        (tags::STUDY_ID, VR::SH, true),
        (tags::ACCESSION_NUMBER, VR::SH, true),
        (tags::STUDY_DESCRIPTION, VR::LO, false),
        (tags::PATIENT_AGE, VR::AS, false),
        (tags::PATIENT_SIZE, VR::DS, false),
        (tags::PATIENT_WEIGHT, VR::DS, false),
        (tags::FRAME_OF_REFERENCE_UID, VR::UI, false),
        (tags::POSITION_REFERENCE_INDICATOR, VR::LO, true),
    ] {
        copy(to, from, tag, vr, type2);
    }
}

/// General and Enhanced General Equipment: who made this object (us), not the scanner.
fn put_equipment(to: &mut InMemDicomObject) {
    put_str(to, tags::MANUFACTURER, VR::LO, MANUFACTURER);
    put_str(to, tags::MANUFACTURER_MODEL_NAME, VR::LO, MODEL_NAME);
    put_str(to, tags::DEVICE_SERIAL_NUMBER, VR::LO, "1");
    put_str(
        to,
        tags::SOFTWARE_VERSIONS,
        VR::LO,
        env!("CARGO_PKG_VERSION"),
    );
}

/// What sets a new derived instance apart; the rest of its header comes from its source.
pub(crate) struct NewInstance<'a> {
    pub sop_class_uid: &'a str,
    pub image_type: &'a [&'a str],
    pub modality: &'a str,
    pub series_description: &'a str,
    pub series_uid: &'a str,
    pub series_number: &'a str,
    pub instance_number: usize,
}

/// SOP Common, General Series, General Image and Equipment attributes of a new instance (a new
/// SOP Instance UID, dates and times now) with the patient, study and frame of reference of
/// `source`. `out` is the file being written (named in a UID error).
pub(crate) fn put_new_instance(
    obj: &mut InMemDicomObject,
    new: &NewInstance,
    source: &InMemDicomObject,
    out: &Path,
) -> Result<(), MaskIoError> {
    let (date, time) = now_date_time();
    put_str(obj, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    put_strs(obj, tags::IMAGE_TYPE, VR::CS, new.image_type);
    put_str(obj, tags::INSTANCE_CREATION_DATE, VR::DA, &date);
    put_str(obj, tags::INSTANCE_CREATION_TIME, VR::TM, &time);
    put_str(obj, tags::SOP_CLASS_UID, VR::UI, new.sop_class_uid);
    put_str(obj, tags::SOP_INSTANCE_UID, VR::UI, &uid(out)?);
    put_str(obj, tags::SERIES_DATE, VR::DA, &date);
    put_str(obj, tags::SERIES_TIME, VR::TM, &time);
    put_str(obj, tags::CONTENT_DATE, VR::DA, &date);
    put_str(obj, tags::CONTENT_TIME, VR::TM, &time);
    put_str(obj, tags::MODALITY, VR::CS, new.modality);
    put_str(
        obj,
        tags::SERIES_DESCRIPTION,
        VR::LO,
        new.series_description,
    );
    put_equipment(obj);
    copy_patient_study(obj, source);
    put_str(obj, tags::SERIES_INSTANCE_UID, VR::UI, new.series_uid);
    put_str(obj, tags::SERIES_NUMBER, VR::IS, new.series_number);
    put_str(
        obj,
        tags::INSTANCE_NUMBER,
        VR::IS,
        &new.instance_number.to_string(),
    );
    Ok(())
}

/// A series number unlikely to clash with the source's: 1000 + its number.
pub(crate) fn series_number(first: &InMemDicomObject) -> String {
    let n = first
        .get(tags::SERIES_NUMBER)
        .and_then(|e| e.to_int::<i64>().ok())
        .filter(|n| (0..1_000_000).contains(n))
        .unwrap_or(0);
    (1000 + n).to_string()
}

/// A reference to the source instance of `slice`; with `purpose`, marked as the source image of
/// the derivation (Source Image Sequence items).
pub(crate) fn source_reference(slice: &SourceSlice, purpose: bool) -> InMemDicomObject {
    item(|r| {
        put_str(
            r,
            tags::REFERENCED_SOP_CLASS_UID,
            VR::UI,
            slice.header.sop_class_uid.as_deref().unwrap_or_default(),
        );
        put_str(
            r,
            tags::REFERENCED_SOP_INSTANCE_UID,
            VR::UI,
            slice.header.sop_instance_uid.as_deref().unwrap_or_default(),
        );
        if purpose {
            put_seq(
                r,
                tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE,
                vec![code_item(
                    "121322",
                    "DCM",
                    "Source image for image processing operation",
                )],
            );
        }
    })
}

/// The derivation code of every mask we write.
pub(crate) fn segmentation_derivation() -> InMemDicomObject {
    code_item("113076", "DCM", "Segmentation")
}

/// Image Pixel attributes of single-sample MONOCHROME2 unsigned pixels of `bits` bits (the
/// pixel data itself is the caller's).
pub(crate) fn put_image_pixel(obj: &mut InMemDicomObject, rows: usize, cols: usize, bits: u16) {
    put_us(obj, tags::SAMPLES_PER_PIXEL, &[1]);
    put_str(obj, tags::PHOTOMETRIC_INTERPRETATION, VR::CS, "MONOCHROME2");
    put_us(obj, tags::ROWS, &[rows as u16]);
    put_us(obj, tags::COLUMNS, &[cols as u16]);
    put_us(obj, tags::BITS_ALLOCATED, &[bits]);
    put_us(obj, tags::BITS_STORED, &[bits]);
    put_us(obj, tags::HIGH_BIT, &[bits - 1]);
    put_us(obj, tags::PIXEL_REPRESENTATION, &[0]);
}

/// Date (YYYYMMDD) and time (HHMMSS) now, UTC.
fn now_date_time() -> (String, String) {
    let (t, _) = dafne_core::UtcTime::now();
    (
        format!("{:04}{:02}{:02}", t.year, t.month, t.day),
        format!("{:02}{:02}{:02}", t.hour, t.minute, t.second),
    )
}

/// A decimal string (DS) of at most 16 characters.
pub(crate) fn ds(x: f64) -> String {
    let s = format!("{x}");
    if s.len() <= 16 {
        return s;
    }
    for p in (0..=15).rev() {
        let s = format!("{x:.p$}");
        if s.len() <= 16 {
            return s;
        }
    }
    format!("{x:.6e}")
}

/// Writes `obj` as a Part 10 file in Explicit VR Little Endian, atomically.
pub(crate) fn write_file(obj: InMemDicomObject, path: &Path) -> Result<(), MaskIoError> {
    let file = obj
        .with_meta(FileMetaTableBuilder::new().transfer_syntax(EXPLICIT_VR_LE))
        .map_err(|e| MaskIoError::Write {
            path: path.to_path_buf(),
            source: std::io::Error::other(e.to_string()),
        })?;
    write_atomically(path, |out| {
        file.write_all(out)
            .map_err(|e| std::io::Error::other(e.to_string()))
    })
    .map_err(|source| MaskIoError::Write {
        path: path.to_path_buf(),
        source,
    })
}

/// A readable text attribute (trimmed, never empty).
pub(crate) fn text(obj: &InMemDicomObject, tag: Tag) -> Option<String> {
    let s = obj.get(tag)?.to_str().ok()?;
    let s = s.trim_matches(|c: char| c == '\0' || c.is_whitespace());
    (!s.is_empty()).then(|| s.to_string())
}

/// The `[f64; N]` value of a decimal attribute.
pub(crate) fn floats<const N: usize>(obj: &InMemDicomObject, tag: Tag) -> Option<[f64; N]> {
    let v = obj.get(tag)?.to_multi_float64().ok()?;
    (v.len() >= N && v.iter().all(|x| x.is_finite())).then(|| std::array::from_fn(|i| v[i]))
}

pub(crate) fn first_item(obj: &InMemDicomObject, seq: Tag) -> Option<&InMemDicomObject> {
    obj.get(seq)?.items()?.first()
}

/// The slice at patient position `ipp`: within a fifth of the slice step along the normal
/// and a fifth of a pixel in plane (the loader's affine steps evenly between the first and
/// last slice, and scanners round positions, so real series stray by a few hundredths of a
/// millimetre), or None.
pub(crate) fn slice_at(geometry: &Geometry, slices: usize, ipp: [f64; 3]) -> Option<usize> {
    let a = &geometry.affine_lps;
    let d = [0, 1, 2].map(|r| ipp[r] - a[r][3]);
    let spacing = geometry.spacing_mm();
    let normal = cross(geometry.direction(0), geometry.direction(1));
    let step_normal = (0..3).map(|r| a[r][2] * normal[r]).sum::<f64>();
    if step_normal.abs() < 1e-9 {
        return None;
    }
    // The slice step may be oblique to the plane (gantry tilt): count steps along the normal.
    let k = (0..3).map(|r| d[r] * normal[r]).sum::<f64>() / step_normal;
    let kr = k.round();
    if (k - kr).abs() > 0.2 || kr < 0.0 || kr as usize >= slices {
        return None;
    }
    let in_plane = [0usize, 1].iter().all(|&axis| {
        let dir = geometry.direction(axis);
        let offset: f64 = (0..3).map(|r| (d[r] - kr * a[r][2]) * dir[r]).sum();
        offset.abs() < 0.2 * spacing[axis]
    });
    in_plane.then_some(kr as usize)
}

fn cross(a: [f64; 3], b: [f64; 3]) -> [f64; 3] {
    [
        a[1] * b[2] - a[2] * b[1],
        a[2] * b[0] - a[0] * b[2],
        a[0] * b[1] - a[1] * b[0],
    ]
}
