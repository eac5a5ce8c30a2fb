//! DICOM Segmentation (SEG) output: one BINARY segment per ROI, one bit-packed frame per
//! non-empty (segment, slice), every frame referencing the source instance of its slice.
//!
//! Unlike the original (which deep-copied the source headers, reference §7.1), the SEG gets
//! new Series and SOP Instance UIDs and copies only the patient, study and frame-of-reference
//! modules; geometry comes from the source (PixelSpacing and SliceThickness, never
//! SpacingBetweenSlices). Empty frames are left out, as the standard allows and highdicom does:
//! a muscle covers a few slices of a long series, so this keeps files small. A segment with
//! no frame at all is still listed, so empty ROIs keep their names.

use std::path::Path;

use dafne_core::NamedMasks;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::codes::{coding_for, Code};
use super::dicom_source::{
    code_item, copy, copy_patient_study, ds, item, now_date_time, put_equipment, put_seq, put_str,
    put_strs, put_tags, put_us, uid, write_file, DicomSource, SEGMENTATION_STORAGE,
};
use super::MaskIoError;

/// Longest SegmentLabel (VR LO).
const LABEL_MAX_CHARS: usize = 64;

/// The SegmentLabel for an ROI name: the name itself when LO can hold it, else a cleaned,
/// shortened form (the exact name then goes to SegmentDescription).
pub fn segment_label(name: &str) -> String {
    let cleaned: String = name
        .chars()
        .map(|c| if c == '\\' { '/' } else { c })
        .filter(|c| !c.is_control())
        .take(LABEL_MAX_CHARS)
        .collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() {
        "_".into()
    } else {
        trimmed.to_string()
    }
}

/// Checks every mask fits the source's grid.
pub(crate) fn check_fit(
    rois: &[NamedMasks],
    source: &DicomSource,
    out: &Path,
) -> Result<(), MaskIoError> {
    let slices = source.slices.len();
    for roi in rois {
        for (&k, mask) in &roi.slices {
            if k >= slices || mask.rows() != source.rows || mask.cols() != source.cols {
                return Err(MaskIoError::Shape {
                    path: out.to_path_buf(),
                    expected: vec![source.rows, source.cols, slices],
                    got: vec![mask.rows(), mask.cols(), k + 1],
                    reason: format!("ROI {:?} does not fit the dataset", roi.name),
                });
            }
        }
    }
    Ok(())
}

/// Writes `rois` as one DICOM SEG file referencing the slices of `source`.
pub fn export_seg(
    rois: &[NamedMasks],
    source: &DicomSource,
    out_file: &Path,
) -> Result<(), MaskIoError> {
    if rois.is_empty() {
        return Err(MaskIoError::Unsupported {
            path: out_file.to_path_buf(),
            reason: "a segmentation needs at least one ROI".into(),
        });
    }
    check_fit(rois, source, out_file)?;
    let first = &source.first()?.object;
    let (date, time) = now_date_time();
    let sop_uid = uid(out_file)?;
    let mut obj = InMemDicomObject::new_empty();
    put_str(&mut obj, tags::SPECIFIC_CHARACTER_SET, VR::CS, "ISO_IR 192");
    put_strs(&mut obj, tags::IMAGE_TYPE, VR::CS, &["DERIVED", "PRIMARY"]);
    put_str(&mut obj, tags::INSTANCE_CREATION_DATE, VR::DA, &date);
    put_str(&mut obj, tags::INSTANCE_CREATION_TIME, VR::TM, &time);
    put_str(&mut obj, tags::SOP_CLASS_UID, VR::UI, SEGMENTATION_STORAGE);
    put_str(&mut obj, tags::SOP_INSTANCE_UID, VR::UI, &sop_uid);
    put_str(&mut obj, tags::SERIES_DATE, VR::DA, &date);
    put_str(&mut obj, tags::SERIES_TIME, VR::TM, &time);
    put_str(&mut obj, tags::CONTENT_DATE, VR::DA, &date);
    put_str(&mut obj, tags::CONTENT_TIME, VR::TM, &time);
    put_str(&mut obj, tags::MODALITY, VR::CS, "SEG");
    put_str(&mut obj, tags::SERIES_DESCRIPTION, VR::LO, "Dafne ROIs");
    put_equipment(&mut obj);
    copy_patient_study(&mut obj, first);
    put_str(&mut obj, tags::SERIES_INSTANCE_UID, VR::UI, &uid(out_file)?);
    put_str(&mut obj, tags::SERIES_NUMBER, VR::IS, &series_number(first));
    put_str(&mut obj, tags::INSTANCE_NUMBER, VR::IS, "1");
    put_str(&mut obj, tags::CONTENT_LABEL, VR::CS, "ROIS");
    put_str(
        &mut obj,
        tags::CONTENT_DESCRIPTION,
        VR::LO,
        "ROIs drawn in Dafne",
    );
    obj.put(DataElement::new(
        tags::CONTENT_CREATOR_NAME,
        VR::PN,
        PrimitiveValue::Empty,
    ));
    put_str(&mut obj, tags::SEGMENTATION_TYPE, VR::CS, "BINARY");
    put_str(&mut obj, tags::LOSSY_IMAGE_COMPRESSION, VR::CS, "00");

    put_seq(&mut obj, tags::SEGMENT_SEQUENCE, segment_items(rois));
    put_seq(
        &mut obj,
        tags::REFERENCED_SERIES_SEQUENCE,
        vec![referenced_series(source)],
    );

    let dim_uid = uid(out_file)?;
    put_seq(
        &mut obj,
        tags::DIMENSION_ORGANIZATION_SEQUENCE,
        vec![item(|o| {
            put_str(o, tags::DIMENSION_ORGANIZATION_UID, VR::UI, &dim_uid)
        })],
    );
    put_seq(
        &mut obj,
        tags::DIMENSION_INDEX_SEQUENCE,
        vec![
            item(|o| {
                put_str(o, tags::DIMENSION_ORGANIZATION_UID, VR::UI, &dim_uid);
                put_tags(
                    o,
                    tags::DIMENSION_INDEX_POINTER,
                    &[tags::REFERENCED_SEGMENT_NUMBER],
                );
                put_tags(
                    o,
                    tags::FUNCTIONAL_GROUP_POINTER,
                    &[tags::SEGMENT_IDENTIFICATION_SEQUENCE],
                );
                put_str(
                    o,
                    tags::DIMENSION_DESCRIPTION_LABEL,
                    VR::LO,
                    "Segment Number",
                );
            }),
            item(|o| {
                put_str(o, tags::DIMENSION_ORGANIZATION_UID, VR::UI, &dim_uid);
                put_tags(
                    o,
                    tags::DIMENSION_INDEX_POINTER,
                    &[tags::IMAGE_POSITION_PATIENT],
                );
                put_tags(
                    o,
                    tags::FUNCTIONAL_GROUP_POINTER,
                    &[tags::PLANE_POSITION_SEQUENCE],
                );
                put_str(
                    o,
                    tags::DIMENSION_DESCRIPTION_LABEL,
                    VR::LO,
                    "Image Position Patient",
                );
            }),
        ],
    );
    put_seq(
        &mut obj,
        tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE,
        vec![shared_groups(source)],
    );

    // Frames: (segment number, slice) of every non-empty mask, segment-major.
    let mut frames: Vec<(u16, usize)> = Vec::new();
    for (i, roi) in rois.iter().enumerate() {
        for (&k, mask) in &roi.slices {
            if !mask.is_empty() {
                frames.push((i as u16 + 1, k));
            }
        }
    }
    let all_empty = frames.is_empty();
    if all_empty {
        // NumberOfFrames must be at least 1: one empty frame of segment 1 (adds no pixel).
        frames.push((1, 0));
    }
    let per_frame = frames
        .iter()
        .map(|&(segment, k)| frame_groups(source, segment, k))
        .collect();
    put_seq(
        &mut obj,
        tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE,
        per_frame,
    );

    put_str(
        &mut obj,
        tags::NUMBER_OF_FRAMES,
        VR::IS,
        &frames.len().to_string(),
    );
    put_us(&mut obj, tags::SAMPLES_PER_PIXEL, &[1]);
    put_str(
        &mut obj,
        tags::PHOTOMETRIC_INTERPRETATION,
        VR::CS,
        "MONOCHROME2",
    );
    put_us(&mut obj, tags::ROWS, &[source.rows as u16]);
    put_us(&mut obj, tags::COLUMNS, &[source.cols as u16]);
    put_us(&mut obj, tags::BITS_ALLOCATED, &[1]);
    put_us(&mut obj, tags::BITS_STORED, &[1]);
    put_us(&mut obj, tags::HIGH_BIT, &[0]);
    put_us(&mut obj, tags::PIXEL_REPRESENTATION, &[0]);
    let pixels = pack_frames(rois, &frames, source.rows * source.cols, all_empty);
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::U8(pixels.into()),
    ));
    write_file(obj, out_file)
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

fn code_seq(o: &mut InMemDicomObject, tag: dicom_core::Tag, code: Code) {
    put_seq(
        o,
        tag,
        vec![code_item(code.value, code.scheme, code.meaning)],
    );
}

fn segment_items(rois: &[NamedMasks]) -> Vec<InMemDicomObject> {
    rois.iter()
        .enumerate()
        .map(|(i, roi)| {
            item(|o| {
                let label = segment_label(&roi.name);
                put_us(o, tags::SEGMENT_NUMBER, &[i as u16 + 1]);
                put_str(o, tags::SEGMENT_LABEL, VR::LO, &label);
                if label != roi.name {
                    put_str(o, tags::SEGMENT_DESCRIPTION, VR::ST, &roi.name);
                }
                put_str(o, tags::SEGMENT_ALGORITHM_TYPE, VR::CS, "MANUAL");
                let coding = coding_for(&roi.name);
                code_seq(
                    o,
                    tags::SEGMENTED_PROPERTY_CATEGORY_CODE_SEQUENCE,
                    coding.category,
                );
                let kind = item(|k| {
                    put_str(k, tags::CODE_VALUE, VR::SH, coding.kind.value);
                    put_str(
                        k,
                        tags::CODING_SCHEME_DESIGNATOR,
                        VR::SH,
                        coding.kind.scheme,
                    );
                    put_str(k, tags::CODE_MEANING, VR::LO, coding.kind.meaning);
                    if let Some(side) = coding.laterality {
                        code_seq(
                            k,
                            tags::SEGMENTED_PROPERTY_TYPE_MODIFIER_CODE_SEQUENCE,
                            side,
                        );
                    }
                });
                put_seq(o, tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE, vec![kind]);
                if let Some(region) = coding.region {
                    let r = item(|r| {
                        put_str(r, tags::CODE_VALUE, VR::SH, region.value);
                        put_str(r, tags::CODING_SCHEME_DESIGNATOR, VR::SH, region.scheme);
                        put_str(r, tags::CODE_MEANING, VR::LO, region.meaning);
                        if let Some(side) = coding.laterality {
                            code_seq(r, tags::ANATOMIC_REGION_MODIFIER_SEQUENCE, side);
                        }
                    });
                    put_seq(o, tags::ANATOMIC_REGION_SEQUENCE, vec![r]);
                }
                put_us(
                    o,
                    tags::RECOMMENDED_DISPLAY_CIE_LAB_VALUE,
                    &dicom_lab(hue_rgb(i, rois.len())),
                );
            })
        })
        .collect()
}

fn referenced_series(source: &DicomSource) -> InMemDicomObject {
    let series_uid = source
        .slices
        .first()
        .and_then(|s| s.header.series_uid.clone())
        .unwrap_or_default();
    item(|o| {
        put_str(o, tags::SERIES_INSTANCE_UID, VR::UI, &series_uid);
        let instances = source
            .slices
            .iter()
            .map(|s| {
                item(|r| {
                    put_str(
                        r,
                        tags::REFERENCED_SOP_CLASS_UID,
                        VR::UI,
                        s.header.sop_class_uid.as_deref().unwrap_or_default(),
                    );
                    put_str(
                        r,
                        tags::REFERENCED_SOP_INSTANCE_UID,
                        VR::UI,
                        s.header.sop_instance_uid.as_deref().unwrap_or_default(),
                    );
                })
            })
            .collect();
        put_seq(o, tags::REFERENCED_INSTANCE_SEQUENCE, instances);
    })
}

fn shared_groups(source: &DicomSource) -> InMemDicomObject {
    let first = &source.slices[0].object;
    item(|o| {
        put_seq(
            o,
            tags::PLANE_ORIENTATION_SEQUENCE,
            vec![item(|p| {
                copy(p, first, tags::IMAGE_ORIENTATION_PATIENT, VR::DS, true)
            })],
        );
        put_seq(
            o,
            tags::PIXEL_MEASURES_SEQUENCE,
            vec![item(|p| {
                copy(p, first, tags::PIXEL_SPACING, VR::DS, true);
                if first.get(tags::SLICE_THICKNESS).is_some() {
                    copy(p, first, tags::SLICE_THICKNESS, VR::DS, true);
                } else {
                    put_str(
                        p,
                        tags::SLICE_THICKNESS,
                        VR::DS,
                        &ds(source.geometry.spacing_mm()[2]),
                    );
                }
            })],
        );
    })
}

fn frame_groups(source: &DicomSource, segment: u16, k: usize) -> InMemDicomObject {
    let s = &source.slices[k];
    item(|o| {
        let derivation = item(|d| {
            put_seq(
                d,
                tags::DERIVATION_CODE_SEQUENCE,
                vec![code_item("113076", "DCM", "Segmentation")],
            );
            let src = item(|r| {
                put_str(
                    r,
                    tags::REFERENCED_SOP_CLASS_UID,
                    VR::UI,
                    s.header.sop_class_uid.as_deref().unwrap_or_default(),
                );
                put_str(
                    r,
                    tags::REFERENCED_SOP_INSTANCE_UID,
                    VR::UI,
                    s.header.sop_instance_uid.as_deref().unwrap_or_default(),
                );
                put_seq(
                    r,
                    tags::PURPOSE_OF_REFERENCE_CODE_SEQUENCE,
                    vec![code_item(
                        "121322",
                        "DCM",
                        "Source image for image processing operation",
                    )],
                );
            });
            put_seq(d, tags::SOURCE_IMAGE_SEQUENCE, vec![src]);
        });
        put_seq(o, tags::DERIVATION_IMAGE_SEQUENCE, vec![derivation]);
        put_seq(
            o,
            tags::FRAME_CONTENT_SEQUENCE,
            vec![item(|f| {
                f.put(DataElement::new(
                    tags::DIMENSION_INDEX_VALUES,
                    VR::UL,
                    PrimitiveValue::U32([u32::from(segment), k as u32 + 1].into_iter().collect()),
                ));
            })],
        );
        put_seq(
            o,
            tags::PLANE_POSITION_SEQUENCE,
            vec![item(|p| {
                copy(p, &s.object, tags::IMAGE_POSITION_PATIENT, VR::DS, true)
            })],
        );
        put_seq(
            o,
            tags::SEGMENT_IDENTIFICATION_SEQUENCE,
            vec![item(|i| {
                put_us(i, tags::REFERENCED_SEGMENT_NUMBER, &[segment])
            })],
        );
    })
}

/// 1-bit pixels of every frame, packed without padding between frames, first pixel in the
/// least significant bit (PS3.5 §8.1.1), padded to an even length.
fn pack_frames(
    rois: &[NamedMasks],
    frames: &[(u16, usize)],
    plane: usize,
    all_empty: bool,
) -> Vec<u8> {
    let bits = frames.len() * plane;
    let mut out = vec![0u8; bits.div_ceil(8)];
    if !all_empty {
        for (f, &(segment, k)) in frames.iter().enumerate() {
            let Some(mask) = rois[usize::from(segment) - 1].slices.get(&k) else {
                continue;
            };
            for (p, v) in mask.to_u8().into_iter().enumerate() {
                if v != 0 {
                    let bit = f * plane + p;
                    out[bit / 8] |= 1 << (bit % 8);
                }
            }
        }
    }
    if out.len() % 2 == 1 {
        out.push(0);
    }
    out
}

/// Colour k of n around the hue circle (as the legend colours go).
pub(crate) fn hue_rgb(k: usize, n: usize) -> [f64; 3] {
    let h = k as f64 / n.max(1) as f64 * 6.0;
    let x = 1.0 - (h % 2.0 - 1.0).abs();
    match h as u32 {
        0 => [1.0, x, 0.0],
        1 => [x, 1.0, 0.0],
        2 => [0.0, 1.0, x],
        3 => [0.0, x, 1.0],
        4 => [x, 0.0, 1.0],
        _ => [1.0, 0.0, x],
    }
}

/// sRGB (0..1) to DICOM's scaled CIELab (PS3.3 C.10.7.1.1: L 0..100 and a, b -128..127
/// mapped linearly onto 0..65535), D65 white.
pub(crate) fn dicom_lab(rgb: [f64; 3]) -> [u16; 3] {
    let lin = rgb.map(|c| {
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    });
    let x = 0.4124 * lin[0] + 0.3576 * lin[1] + 0.1805 * lin[2];
    let y = 0.2126 * lin[0] + 0.7152 * lin[1] + 0.0722 * lin[2];
    let z = 0.0193 * lin[0] + 0.1192 * lin[1] + 0.9505 * lin[2];
    let f = |t: f64| {
        if t > 216.0 / 24389.0 {
            t.cbrt()
        } else {
            (24389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    let (fx, fy, fz) = (f(x / 0.95047), f(y), f(z / 1.08883));
    let l = 116.0 * fy - 16.0;
    let a = 500.0 * (fx - fy);
    let b = 200.0 * (fy - fz);
    let scale = |v: f64, lo: f64, hi: f64| {
        ((v - lo) / (hi - lo) * 65535.0).round().clamp(0.0, 65535.0) as u16
    };
    [
        scale(l, 0.0, 100.0),
        scale(a, -128.0, 127.0),
        scale(b, -128.0, 127.0),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_keep_names_lo_can_hold() {
        assert_eq!(segment_label("Vastus Lateralis_R"), "Vastus Lateralis_R");
        assert_eq!(segment_label("Muscle é"), "Muscle é");
        assert_eq!(segment_label("a\\b"), "a/b");
        assert_eq!(segment_label(&"x".repeat(70)).chars().count(), 64);
    }

    #[test]
    fn cielab_of_white_and_red() {
        assert_eq!(dicom_lab([1.0, 1.0, 1.0])[0], 65535);
        let red = dicom_lab([1.0, 0.0, 0.0]);
        // L* 53.2, a* 80.1, b* 67.2 for sRGB red.
        assert!((f64::from(red[0]) / 65535.0 * 100.0 - 53.2).abs() < 0.2);
        assert!((f64::from(red[1]) / 65535.0 * 255.0 - 128.0 - 80.1).abs() < 0.3);
    }
}
