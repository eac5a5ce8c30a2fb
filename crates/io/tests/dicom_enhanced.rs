//! Enhanced (multi-frame) MR: geometry only in the functional groups. The kit's `emri_small`
//! has none, so these objects are built here with dicom-object and written as real files.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use dafne_core::{GeometrySource, Rescale};
use dicom_core::value::DataSetSequence;
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::{tags, uids};
use dicom_object::{FileMetaTableBuilder, InMemDicomObject};

fn item(elements: Vec<DataElement<InMemDicomObject>>) -> InMemDicomObject {
    InMemDicomObject::from_element_iter(elements)
}

fn seq(tag: dicom_core::Tag, items: Vec<InMemDicomObject>) -> DataElement<InMemDicomObject> {
    DataElement::new(tag, VR::SQ, DataSetSequence::from(items))
}

fn ds(tag: dicom_core::Tag, values: &[f64]) -> DataElement<InMemDicomObject> {
    let text = values
        .iter()
        .map(|v| v.to_string())
        .collect::<Vec<_>>()
        .join("\\");
    DataElement::new(tag, VR::DS, PrimitiveValue::from(text))
}

/// Three 4x5 frames stored out of position order (z = 10, 0, 5), each with its own rescale.
fn write_enhanced(path: &std::path::Path, same_position: bool) {
    let z = if same_position {
        [0.0, 0.0, 5.0]
    } else {
        [10.0, 0.0, 5.0]
    };
    let per_frame: Vec<InMemDicomObject> = (0..3)
        .map(|f| {
            item(vec![
                seq(
                    tags::PLANE_POSITION_SEQUENCE,
                    vec![item(vec![ds(
                        tags::IMAGE_POSITION_PATIENT,
                        &[-20.0, -30.0, z[f]],
                    )])],
                ),
                seq(
                    tags::PIXEL_VALUE_TRANSFORMATION_SEQUENCE,
                    vec![item(vec![
                        ds(tags::RESCALE_SLOPE, &[f as f64 + 1.0]),
                        ds(tags::RESCALE_INTERCEPT, &[0.0]),
                    ])],
                ),
            ])
        })
        .collect();
    let shared = item(vec![
        seq(
            tags::PLANE_ORIENTATION_SEQUENCE,
            vec![item(vec![ds(
                tags::IMAGE_ORIENTATION_PATIENT,
                &[1.0, 0.0, 0.0, 0.0, 1.0, 0.0],
            )])],
        ),
        seq(
            tags::PIXEL_MEASURES_SEQUENCE,
            vec![item(vec![ds(tags::PIXEL_SPACING, &[0.5, 0.25])])],
        ),
    ]);
    let pixels: Vec<u16> = (0..3u16)
        .flat_map(|f| (0..20u16).map(move |i| f * 100 + i))
        .collect();
    let obj = InMemDicomObject::from_element_iter([
        DataElement::new(
            tags::SOP_CLASS_UID,
            VR::UI,
            PrimitiveValue::from(uids::ENHANCED_MR_IMAGE_STORAGE),
        ),
        DataElement::new(
            tags::SOP_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("2.25.1234"),
        ),
        DataElement::new(tags::MODALITY, VR::CS, PrimitiveValue::from("MR")),
        DataElement::new(
            tags::SERIES_INSTANCE_UID,
            VR::UI,
            PrimitiveValue::from("2.25.5678"),
        ),
        DataElement::new(tags::SAMPLES_PER_PIXEL, VR::US, PrimitiveValue::from(1u16)),
        DataElement::new(
            tags::PHOTOMETRIC_INTERPRETATION,
            VR::CS,
            PrimitiveValue::from("MONOCHROME2"),
        ),
        DataElement::new(tags::NUMBER_OF_FRAMES, VR::IS, PrimitiveValue::from("3")),
        DataElement::new(tags::ROWS, VR::US, PrimitiveValue::from(5u16)),
        DataElement::new(tags::COLUMNS, VR::US, PrimitiveValue::from(4u16)),
        DataElement::new(tags::BITS_ALLOCATED, VR::US, PrimitiveValue::from(16u16)),
        DataElement::new(tags::BITS_STORED, VR::US, PrimitiveValue::from(16u16)),
        DataElement::new(tags::HIGH_BIT, VR::US, PrimitiveValue::from(15u16)),
        DataElement::new(
            tags::PIXEL_REPRESENTATION,
            VR::US,
            PrimitiveValue::from(0u16),
        ),
        seq(tags::SHARED_FUNCTIONAL_GROUPS_SEQUENCE, vec![shared]),
        seq(tags::PER_FRAME_FUNCTIONAL_GROUPS_SEQUENCE, per_frame),
        DataElement::new(tags::PIXEL_DATA, VR::OW, PrimitiveValue::U16(pixels.into())),
    ]);
    let meta = FileMetaTableBuilder::new()
        .transfer_syntax(uids::EXPLICIT_VR_LITTLE_ENDIAN)
        .media_storage_sop_class_uid(uids::ENHANCED_MR_IMAGE_STORAGE)
        .media_storage_sop_instance_uid("2.25.1234");
    obj.with_meta(meta).unwrap().write_to_file(path).unwrap();
}

#[test]
fn frames_are_sorted_by_position_with_their_own_rescale() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("enhanced.dcm");
    write_enhanced(&path, false);
    let loaded = dafne_io::load(&path, None).unwrap();
    let v = &loaded.volume;
    assert_eq!(v.dims(), [4, 5, 3, 1]);
    assert_eq!(v.geometry.source, GeometrySource::DicomFunctionalGroups);
    // Position order z = 0, 5, 10 is file frame order 1, 2, 0.
    assert_eq!(v.voxels().get_f64(0), Some(100.0));
    assert_eq!(v.voxels().get_f64(20), Some(200.0));
    assert_eq!(v.voxels().get_f64(40), Some(0.0));
    let Rescale::PerPlane(maps) = v.rescale() else {
        panic!("per-frame rescale expected")
    };
    assert_eq!(
        maps.iter().map(|m| m.slope).collect::<Vec<_>>(),
        vec![2.0, 3.0, 1.0]
    );
    let a = v.geometry.affine_lps;
    assert_eq!([a[0][0], a[1][1], a[2][2]], [0.25, 0.5, 5.0]);
    assert_eq!([a[0][3], a[1][3], a[2][3]], [-20.0, -30.0, 0.0]);
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
}

#[test]
fn frames_sharing_a_position_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("enhanced.dcm");
    write_enhanced(&path, true);
    let err = dafne_io::load(&path, None).unwrap_err().to_string();
    assert!(err.contains("share a position"), "{err}");
}
