//! Masks as ordinary DICOM image series: one series per ROI (uint16 0/1, a sub-folder each)
//! or one compact label-map series with `legend.csv` and `legend_itk-snap.txt`, as the
//! original lays them out (`image0001.dcm`, ...). Unlike the original (which deep-copied each
//! source header and kept its UIDs, reference §2.3/§7.1), every file is a new DERIVED\SECONDARY
//! instance of a new series that references its source slice; rescale and window are not
//! copied. Readers take these, the original's exports (placed by position) and a SEG.

use std::path::{Path, PathBuf};

use dafne_core::{NamedMasks, SliceMask};
use dicom_core::{DataElement, PrimitiveValue, VR};
use dicom_dictionary_std::tags;
use dicom_object::InMemDicomObject;

use super::dicom_source::{
    copy, dicom_error, put_image_pixel, put_new_instance, put_seq, put_str,
    segmentation_derivation, series_number, slice_at, source_reference, uid, write_file,
    DicomSource, NewInstance, MR_IMAGE_STORAGE, SECONDARY_CAPTURE_STORAGE,
};
use super::label_map::{LabelMap, Overlap, OverlapReport};
use super::seg::segment_label;
use super::seg_read::{read_seg, Target};
use super::{create_folder, legend, names, MaskIoError};
use crate::dicom::SliceHeader;

/// MR Image attributes a derived MR image keeps from its source (it shows the same
/// acquisition): (tag, VR, Type 2, value when a Type 1 attribute is missing).
const MR_ATTRIBUTES: &[(dicom_core::Tag, VR, bool, Option<&str>)] = &[
    (tags::SCANNING_SEQUENCE, VR::CS, false, Some("RM")),
    (tags::SEQUENCE_VARIANT, VR::CS, false, Some("NONE")),
    (tags::SCAN_OPTIONS, VR::CS, true, None),
    (tags::MR_ACQUISITION_TYPE, VR::CS, true, None),
    (tags::SEQUENCE_NAME, VR::SH, false, None),
    (tags::ANGIO_FLAG, VR::CS, false, None),
    (tags::REPETITION_TIME, VR::DS, false, None),
    (tags::ECHO_TIME, VR::DS, true, None),
    (tags::INVERSION_TIME, VR::DS, false, None),
    (tags::NUMBER_OF_AVERAGES, VR::DS, false, None),
    (tags::IMAGING_FREQUENCY, VR::DS, false, None),
    (tags::IMAGED_NUCLEUS, VR::SH, false, None),
    (tags::ECHO_NUMBERS, VR::IS, false, None),
    (tags::MAGNETIC_FIELD_STRENGTH, VR::DS, false, None),
    (tags::ECHO_TRAIN_LENGTH, VR::IS, true, None),
    (tags::FLIP_ANGLE, VR::DS, false, None),
];

/// One derived image of slice `k` with `pixels` (row-major, uint16).
fn image(
    source: &DicomSource,
    k: usize,
    series_uid: &str,
    series_number: &str,
    description: &str,
    pixels: Vec<u16>,
    out: &Path,
) -> Result<InMemDicomObject, MaskIoError> {
    let s = &source.slices[k];
    let src = &s.object;
    let mr = s.header.sop_class_uid.as_deref() == Some(MR_IMAGE_STORAGE);
    let modality = if mr {
        "MR".to_string()
    } else {
        s.header.modality.clone().unwrap_or_else(|| "OT".into())
    };
    let mut obj = InMemDicomObject::new_empty();
    put_new_instance(
        &mut obj,
        &NewInstance {
            sop_class_uid: if mr {
                MR_IMAGE_STORAGE
            } else {
                SECONDARY_CAPTURE_STORAGE
            },
            // MR images need a third value (image identification characteristics).
            image_type: if mr {
                &["DERIVED", "SECONDARY", "OTHER"]
            } else {
                &["DERIVED", "SECONDARY"]
            },
            modality: &modality,
            series_description: description,
            series_uid,
            series_number,
            instance_number: k + 1,
        },
        src,
        out,
    )?;
    if !mr {
        put_str(&mut obj, tags::CONVERSION_TYPE, VR::CS, "WSD");
    }
    // General Series conditionals: laterality of a paired body part, patient position of MR.
    copy(&mut obj, src, tags::LATERALITY, VR::CS, true);
    copy(&mut obj, src, tags::BODY_PART_EXAMINED, VR::CS, false);
    if mr {
        copy(&mut obj, src, tags::PATIENT_POSITION, VR::CS, true);
    }
    put_str(
        &mut obj,
        tags::DERIVATION_DESCRIPTION,
        VR::ST,
        "ROI mask drawn in Dafne",
    );
    put_seq(
        &mut obj,
        tags::DERIVATION_CODE_SEQUENCE,
        vec![segmentation_derivation()],
    );
    put_seq(
        &mut obj,
        tags::REFERENCED_IMAGE_SEQUENCE,
        vec![source_reference(s, false)],
    );
    put_seq(
        &mut obj,
        tags::SOURCE_IMAGE_SEQUENCE,
        vec![source_reference(s, true)],
    );
    for tag in [
        tags::IMAGE_POSITION_PATIENT,
        tags::IMAGE_ORIENTATION_PATIENT,
        tags::PIXEL_SPACING,
        tags::SLICE_THICKNESS,
        tags::SLICE_LOCATION,
    ] {
        copy(
            &mut obj,
            src,
            tag,
            VR::DS,
            tag == tags::SLICE_THICKNESS && mr,
        );
    }
    if mr {
        for &(tag, vr, type2, fallback) in MR_ATTRIBUTES {
            match (src.get(tag), fallback) {
                (None, Some(v)) => put_str(&mut obj, tag, vr, v),
                _ => copy(&mut obj, src, tag, vr, type2),
            }
        }
    }
    put_image_pixel(&mut obj, source.rows, source.cols, 16);
    obj.put(DataElement::new(
        tags::PIXEL_DATA,
        VR::OW,
        PrimitiveValue::U16(pixels.into()),
    ));
    Ok(obj)
}

fn mask_pixels(mask: Option<&SliceMask>, plane: usize, value: u16) -> Vec<u16> {
    match mask {
        Some(m) => m
            .to_u8()
            .into_iter()
            .map(|v| if v != 0 { value } else { 0 })
            .collect(),
        None => vec![0; plane],
    }
}

/// One sub-folder per ROI (named by [`names::encode_folder`]) holding `image0001.dcm...`, one
/// uint16 0/1 image per dataset slice, each ROI a new series.
pub fn export_dicom_series(
    rois: &[NamedMasks],
    source: &DicomSource,
    out_dir: &Path,
) -> Result<(), MaskIoError> {
    source.check_fit(rois, out_dir)?;
    let first = &source.first()?.object;
    let base: i64 = series_number(first).parse().unwrap_or(1000);
    let plane = source.rows * source.cols;
    for (i, roi) in rois.iter().enumerate() {
        let dir = out_dir.join(names::encode_folder(&roi.name));
        create_folder(&dir)?;
        let series_uid = uid(&dir)?;
        let number = (base + 1 + i as i64).to_string();
        for k in 0..source.slices.len() {
            let path = dir.join(format!("image{:04}.dcm", k + 1));
            let pixels = mask_pixels(roi.slices.get(&k), plane, 1);
            let obj = image(
                source,
                k,
                &series_uid,
                &number,
                &segment_label(&roi.name),
                pixels,
                &path,
            )?;
            write_file(obj, &path)?;
        }
    }
    Ok(())
}

/// One label-map series in `out_dir` (label k = ROI k, 1-based; overlaps resolved by
/// `policy` and reported) with `legend.csv` and `legend_itk-snap.txt`.
pub fn export_compact_dicom(
    rois: &[NamedMasks],
    source: &DicomSource,
    out_dir: &Path,
    policy: Overlap,
) -> Result<OverlapReport, MaskIoError> {
    source.check_fit(rois, out_dir)?;
    let (map, report) =
        LabelMap::build(source.rows, source.cols, source.slices.len(), rois, policy)?;
    create_folder(out_dir)?;
    let first = &source.first()?.object;
    let series_uid = uid(out_dir)?;
    let number = series_number(first);
    let plane = source.rows * source.cols;
    for k in 0..source.slices.len() {
        let path = out_dir.join(format!("image{:04}.dcm", k + 1));
        let pixels = map.labels[k * plane..(k + 1) * plane].to_vec();
        let obj = image(
            source,
            k,
            &series_uid,
            &number,
            "Dafne label map",
            pixels,
            &path,
        )?;
        write_file(obj, &path)?;
    }
    legend::write_csv(&out_dir.join("legend.csv"), &map.names)?;
    legend::write_itksnap(&out_dir.join("legend_itk-snap.txt"), &map.names)?;
    Ok(report)
}

/// Per dataset slice, the values of the mask image placed there (row-major), if any.
type Planes = Vec<Option<Vec<u32>>>;

/// Label planes of the DICOM images in `dir` placed on the dataset's slices (by position,
/// else by InstanceNumber when the folder has one file per slice), and warnings.
fn read_planes(dir: &Path, target: &Target) -> Result<(Planes, Vec<String>), MaskIoError> {
    let mut warnings = Vec::new();
    let mut planes: Vec<Option<Vec<u32>>> = vec![None; target.slices];
    let files = dicom_files(dir)?;
    let plane = target.rows * target.cols;
    let mut decoded: Vec<(SliceHeader, Vec<u32>)> = Vec::new();
    for f in &files {
        let (h, frames) = crate::dicom::decode_file(f).map_err(|e| dicom_error(e, f))?;
        if h.rows != target.rows || h.cols != target.cols || frames.frames != 1 {
            return Err(MaskIoError::Shape {
                path: f.clone(),
                expected: vec![target.rows, target.cols, 1],
                got: vec![h.rows, h.cols, frames.frames],
                reason: "mask image does not match the dataset's slices".into(),
            });
        }
        let values = (0..plane)
            .map(|i| {
                frames
                    .voxels
                    .get_f64(i)
                    .map(|v| if v > 0.0 { v as u32 } else { 0 })
                    .unwrap_or(0)
            })
            .collect();
        decoded.push((h, values));
    }
    let by_number = decoded.len() == target.slices && decoded.iter().all(|(h, _)| h.ipp.is_none());
    let mut unplaced = 0;
    for (h, values) in decoded {
        if let Some(iop) = h.iop {
            if !target.same_plane(&iop) {
                return Err(MaskIoError::Shape {
                    path: h.path.clone(),
                    expected: vec![target.rows, target.cols, target.slices],
                    got: vec![h.rows, h.cols, 1],
                    reason: "the mask lies in another plane than the dataset".into(),
                });
            }
        }
        let k = match h.ipp {
            Some(ipp) => slice_at(&target.geometry, target.slices, ipp),
            None if by_number => h
                .instance_number
                .and_then(|n| usize::try_from(n - 1).ok())
                .filter(|k| *k < target.slices),
            None => None,
        };
        match k {
            Some(k) => planes[k] = Some(values),
            None => unplaced += 1,
        }
    }
    if unplaced > 0 {
        warnings.push(format!(
            "{unplaced} mask image(s) in {} match no slice of the dataset and were left out",
            dir.display()
        ));
    }
    Ok((planes, warnings))
}

/// The entries of `dir` that `keep` accepts, sorted; hidden ones (a leading `.`) left out.
fn entries(dir: &Path, keep: impl Fn(&Path, &str) -> bool) -> Result<Vec<PathBuf>, MaskIoError> {
    let entries = std::fs::read_dir(dir).map_err(|source| MaskIoError::Read {
        path: dir.to_path_buf(),
        source,
    })?;
    let mut paths: Vec<PathBuf> = entries
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p
                .file_name()
                .map(|n| n.to_string_lossy().to_lowercase())
                .unwrap_or_default();
            !name.starts_with('.') && keep(p, &name)
        })
        .collect();
    paths.sort();
    Ok(paths)
}

/// The files of `dir` that may be DICOM images (legends and other text left out).
fn dicom_files(dir: &Path) -> Result<Vec<PathBuf>, MaskIoError> {
    entries(dir, |p, name| {
        p.is_file() && !name.ends_with(".csv") && !name.ends_with(".txt")
    })
}

fn subfolders(dir: &Path) -> Result<Vec<PathBuf>, MaskIoError> {
    entries(dir, |p, _| p.is_dir())
}

fn binary_roi(
    name: String,
    planes: &[Option<Vec<u32>>],
    rows: usize,
    cols: usize,
) -> Result<NamedMasks, MaskIoError> {
    let mut roi = NamedMasks::new(name);
    for (k, p) in planes.iter().enumerate() {
        if let Some(values) = p {
            if values.iter().any(|v| *v != 0) {
                let bytes: Vec<u8> = values.iter().map(|v| u8::from(*v != 0)).collect();
                roi.slices
                    .insert(k, SliceMask::from_u8(rows, cols, &bytes)?);
            }
        }
    }
    Ok(roi)
}

fn label_rois(
    planes: &[Option<Vec<u32>>],
    legend: Option<Vec<(u32, String)>>,
    target: &Target,
    dir: &Path,
    warnings: &mut Vec<String>,
) -> Result<Vec<NamedMasks>, MaskIoError> {
    let plane = target.rows * target.cols;
    let mut labels = vec![0u16; plane * target.slices];
    for (k, p) in planes.iter().enumerate() {
        if let Some(values) = p {
            for (i, v) in values.iter().enumerate() {
                labels[k * plane + i] = u16::try_from(*v).map_err(|_| MaskIoError::Format {
                    path: dir.to_path_buf(),
                    reason: format!("label {v} is beyond 65535"),
                })?;
            }
        }
    }
    let mut names: Vec<String> = Vec::new();
    match &legend {
        Some(rows) => {
            for (value, name) in rows {
                let at = *value as usize;
                if at == 0 || at > usize::from(u16::MAX) {
                    continue;
                }
                if names.len() < at {
                    names.resize_with(at, String::new);
                }
                names[at - 1] = name.clone();
            }
            for (i, n) in names.iter_mut().enumerate() {
                if n.is_empty() {
                    *n = (i + 1).to_string();
                }
            }
        }
        None => warnings.push(format!(
            "no legend.csv in {}: ROIs are named by their label value",
            dir.display()
        )),
    }
    let known = names.len();
    let map = LabelMap {
        rows: target.rows,
        cols: target.cols,
        slices: target.slices,
        labels,
        names,
    };
    let mut rois = map.split()?;
    if legend.is_some() {
        let unknown: Vec<String> = rois[known..]
            .iter()
            .filter(|r| !r.slices.is_empty())
            .map(|r| r.name.clone())
            .collect();
        if !unknown.is_empty() {
            warnings.push(format!(
                "labels {} are not in the legend (overlapping ROIs summed by the original Dafne?): kept as ROIs named by value",
                unknown.join(", ")
            ));
        }
    }
    // Label values that never occur and are not in the legend are not ROIs.
    let mut k = 0;
    rois.retain(|r| {
        k += 1;
        k <= known || !r.slices.is_empty()
    });
    Ok(rois)
}

/// Masks from a DICOM path onto the dataset `target`: a SEG file, a folder of per-ROI
/// sub-folders (one mask series each, named by the folder), a label-map folder (names from
/// its `legend.csv`), or a folder holding one mask series (named by the folder). Returns the
/// ROIs and warnings.
pub fn import_dicom(
    path: &Path,
    target: &Target,
) -> Result<(Vec<NamedMasks>, Vec<String>), MaskIoError> {
    if path.is_file() {
        return read_seg(path, target);
    }
    let subs = subfolders(path)?;
    let files = dicom_files(path)?;
    if files.is_empty() && !subs.is_empty() {
        let mut rois = Vec::new();
        let mut warnings = Vec::new();
        for dir in subs {
            let name = names::decode(
                &dir.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default(),
            );
            let (planes, w) = read_planes(&dir, target)?;
            warnings.extend(w);
            if planes.iter().flatten().any(|p| p.iter().any(|v| *v > 1)) {
                warnings.push(format!(
                    "mask {name:?} holds values above 1: every non-zero voxel taken as inside"
                ));
            }
            rois.push(binary_roi(name, &planes, target.rows, target.cols)?);
        }
        return Ok((rois, warnings));
    }
    // A SEG among the files wins (a folder holding one segmentation).
    let segs: Vec<&PathBuf> = files
        .iter()
        .filter(|f| {
            crate::dicom::read_header(f).is_err_and(|e| e.to_string().contains("segmentation"))
        })
        .collect();
    if let [seg] = segs.as_slice() {
        return read_seg(seg, target);
    }
    let (planes, mut warnings) = read_planes(path, target)?;
    let legend_path = path.join("legend.csv");
    let is_label_map =
        legend_path.is_file() || planes.iter().flatten().any(|p| p.iter().any(|v| *v > 1));
    if is_label_map {
        let legend = legend_path
            .is_file()
            .then(|| legend::read_csv(&legend_path))
            .transpose()?;
        let rois = label_rois(&planes, legend, target, path, &mut warnings)?;
        return Ok((rois, warnings));
    }
    let name = path
        .file_name()
        .map(|n| names::decode(&n.to_string_lossy()))
        .unwrap_or_else(|| "ROI".into());
    Ok((
        vec![binary_roi(name, &planes, target.rows, target.cols)?],
        warnings,
    ))
}
