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
    code_item, copy, ds, item, put_image_pixel, put_new_instance, put_seq, put_str, put_tags,
    put_us, segmentation_derivation, series_number, source_reference, uid, write_file, DicomSource,
    NewInstance, SEGMENTATION_STORAGE,
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
    source.check_fit(rois, out_file)?;
    let first = &source.first()?.object;
    let mut obj = InMemDicomObject::new_empty();
    put_new_instance(
        &mut obj,
        &NewInstance {
            sop_class_uid: SEGMENTATION_STORAGE,
            image_type: &["DERIVED", "PRIMARY"],
            modality: "SEG",
            series_description: "Dafne ROIs",
            series_uid: &uid(out_file)?,
            series_number: &series_number(first),
            instance_number: 1,
        },
        first,
        out_file,
    )?;
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
            dimension_index(
                &dim_uid,
                tags::REFERENCED_SEGMENT_NUMBER,
                tags::SEGMENT_IDENTIFICATION_SEQUENCE,
                "Segment Number",
            ),
            dimension_index(
                &dim_uid,
                tags::IMAGE_POSITION_PATIENT,
                tags::PLANE_POSITION_SEQUENCE,
                "Image Position Patient",
            ),
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
    put_image_pixel(&mut obj, source.rows, source.cols, 1);
    let pixels = pack_frames(rois, &frames, source.rows * source.cols, all_empty);
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OB,
        PrimitiveValue::U8(pixels.into()),
    ));
    write_file(obj, out_file)
}

/// An item of the Dimension Index Sequence: the frames are indexed by `pointer`, found in the
/// functional group `group`.
fn dimension_index(
    dim_uid: &str,
    pointer: dicom_core::Tag,
    group: dicom_core::Tag,
    label: &str,
) -> InMemDicomObject {
    item(|o| {
        put_str(o, tags::DIMENSION_ORGANIZATION_UID, VR::UI, dim_uid);
        put_tags(o, tags::DIMENSION_INDEX_POINTER, &[pointer]);
        put_tags(o, tags::FUNCTIONAL_GROUP_POINTER, &[group]);
        put_str(o, tags::DIMENSION_DESCRIPTION_LABEL, VR::LO, label);
    })
}

fn code_seq(o: &mut InMemDicomObject, tag: dicom_core::Tag, code: Code) {
    put_seq(o, tag, vec![coded(code)]);
}

fn coded(code: Code) -> InMemDicomObject {
    code_item(code.value, code.scheme, code.meaning)
}

/// A code item with its laterality, when it has one, as `modifier_tag`.
fn coded_with_side(
    code: Code,
    modifier_tag: dicom_core::Tag,
    side: Option<Code>,
) -> InMemDicomObject {
    let mut o = coded(code);
    if let Some(side) = side {
        code_seq(&mut o, modifier_tag, side);
    }
    o
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
                let kind = coded_with_side(
                    coding.kind,
                    tags::SEGMENTED_PROPERTY_TYPE_MODIFIER_CODE_SEQUENCE,
                    coding.laterality,
                );
                put_seq(o, tags::SEGMENTED_PROPERTY_TYPE_CODE_SEQUENCE, vec![kind]);
                if let Some(region) = coding.region {
                    let r = coded_with_side(
                        region,
                        tags::ANATOMIC_REGION_MODIFIER_SEQUENCE,
                        coding.laterality,
                    );
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
            .map(|s| source_reference(s, false))
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
                vec![segmentation_derivation()],
            );
            put_seq(
                d,
                tags::SOURCE_IMAGE_SEQUENCE,
                vec![source_reference(s, true)],
            );
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
