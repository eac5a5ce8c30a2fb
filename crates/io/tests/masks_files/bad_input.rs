//! Bad input and failed exports; timing of large exports.

use super::*;

// ---------------------------------------------------------------------------------------------
// (e) Bad input

fn write_npy_shape(path: &Path, shape: Vec<usize>) {
    let count = shape.iter().product();
    let array = dafne_io::numpy::NpyArray {
        shape,
        voxels: Voxels::U8(vec![1; count]),
        fortran_order: false,
    };
    dafne_io::numpy::write_npy(&array, path).unwrap();
}

#[test]
fn bad_input_gives_clear_errors() {
    let dataset = legacy_dataset();
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);

    write_npy_shape(&p("wide.npy"), vec![64, 63, 3]);
    let err = masks::import(&p("wide.npy"), &dataset).unwrap_err();
    assert!(matches!(err, MaskIoError::Shape { .. }), "{err}");
    let text = err.to_string();
    assert!(
        text.contains("64 x 63") && text.contains("64 x 64"),
        "{text}"
    );
    assert!(text.ends_with("wide.npy"), "{text}");

    write_npy_shape(&p("short.npy"), vec![64, 64, 2]);
    let err = masks::import(&p("short.npy"), &dataset).unwrap_err();
    assert!(
        err.to_string().contains("2 slices where the dataset has 3"),
        "{err}"
    );

    let good = exports().join("masks.npz");
    let bytes = std::fs::read(&good).unwrap();
    std::fs::write(p("cut.npz"), &bytes[..bytes.len() / 2]).unwrap();
    let err = masks::import(&p("cut.npz"), &dataset).unwrap_err();
    assert!(matches!(err, MaskIoError::Format { .. }), "{err}");

    let nii = std::fs::read(exports().join("clean_compact.nii.gz")).unwrap();
    std::fs::write(p("cut.nii.gz"), &nii[..nii.len() - 40]).unwrap();
    let err = masks::import(&p("cut.nii.gz"), &dataset).unwrap_err();
    assert!(matches!(err, MaskIoError::Format { .. }), "{err}");
    std::fs::write(p("junk.nii"), b"not a nifti file at all").unwrap();
    assert!(matches!(
        masks::import(&p("junk.nii"), &dataset),
        Err(MaskIoError::Format { .. })
    ));

    // A label map whose legend is garbage: the legend's error, not a silent rename.
    std::fs::copy(exports().join("clean_compact.nii.gz"), p("labels.nii.gz")).unwrap();
    std::fs::write(p("labels.nii.gz.csv"), "Value,Label\n1,a\nzwei,b\n").unwrap();
    let err = masks::import(&p("labels.nii.gz"), &dataset).unwrap_err();
    assert!(err.to_string().contains("line 3"), "{err}");
    assert!(err.to_string().ends_with("labels.nii.gz.csv"), "{err}");

    // DICOM is recognised and read by the DICOM reader (placed by position here).
    let imported = masks::import(&exports().join("masks_dicom"), &dataset).unwrap();
    assert_eq!(imported.rois.len(), 5);
}

#[test]
fn failed_exports_write_nothing_and_keep_old_files() {
    let dataset = legacy_dataset();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("masks.npz");
    let good = vec![roi("A", [64, 64, 3], |k, r, c| k == 1 && r < 10 && c < 20)];
    masks::export_npz(&out, &dataset, &good).unwrap();
    let before = std::fs::read(&out).unwrap();

    let mut wrong = good.clone();
    wrong.push(roi("B", [63, 64, 3], |_, _, _| true));
    let shape = |r: Result<_, MaskIoError>| match r {
        Err(e @ MaskIoError::Shape { .. }) => e.to_string(),
        other => panic!("expected a shape error, got {:?}", other.map(|_| ())),
    };
    assert!(shape(masks::export_npz(&out, &dataset, &wrong)).contains("ROI \"B\""));
    assert!(matches!(
        masks::export_bundle(&out, &dataset, &wrong, None),
        Err(MaskIoError::Shape { .. })
    ));
    assert!(matches!(
        masks::export_compact_nifti(&out, &dataset, &wrong, Overlap::LastWins),
        Err(MaskIoError::Shape { .. })
    ));
    assert!(matches!(
        masks::export_nifti(&dir.path().join("nifti"), &dataset, &wrong),
        Err(MaskIoError::Shape { .. })
    ));
    assert!(matches!(
        masks::export_npy(&dir.path().join("npy"), &dataset, &wrong),
        Err(MaskIoError::Shape { .. })
    ));
    // Two names that would share a file on Windows and macOS.
    let clash = vec![NamedMasks::new("Gracilis"), NamedMasks::new("gracilis")];
    assert!(matches!(
        masks::export_nifti(&dir.path().join("nifti"), &dataset, &clash),
        Err(MaskIoError::Unsupported { .. })
    ));
    assert_eq!(std::fs::read(&out).unwrap(), before);
    let left: Vec<PathBuf> = walk(dir.path());
    assert_eq!(left, vec![out], "only the first export's file exists");
}

// ---------------------------------------------------------------------------------------------
// Timing (run with `-- --ignored --nocapture`, ideally optimised)

#[test]
#[ignore]
fn timing_10_rois_over_432x432x80() {
    use std::time::Instant;
    let dims = [432, 432, 80];
    let dataset = volume_on(
        dims,
        Voxels::I16(vec![0; dims.iter().product()]),
        rotated(0.0, 0.0, [0.9, 0.9, 5.0], [-190.0, -190.0, 0.0]),
    );
    let rois: Vec<NamedMasks> = (0..10)
        .map(|i| {
            let (cx, cy) = (60 + 35 * i, 150 + 13 * i);
            roi(&format!("Muscle {i}"), dims, move |k, r, c| {
                (5..75).contains(&k)
                    && (r as i64 - cy as i64).pow(2) + (c as i64 - cx as i64).pow(2) < 40 * 40
            })
        })
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let compact = dir.path().join("c.nii.gz");
    let folder = dir.path().join("nifti");
    // The best of 5 runs of each step: the machine may be shared.
    let best = |f: &mut dyn FnMut()| {
        (0..5)
            .map(|_| {
                let t = Instant::now();
                f();
                t.elapsed()
            })
            .min()
            .unwrap()
    };
    let export_compact = best(&mut || {
        masks::export_compact_nifti(&compact, &dataset, &rois, Overlap::LastWins).unwrap();
    });
    let import_compact = best(&mut || {
        assert_eq!(masks::import(&compact, &dataset).unwrap().rois.len(), 10);
    });
    let export_folder = best(&mut || {
        masks::export_nifti(&folder, &dataset, &rois).unwrap();
    });
    let import_folder = best(&mut || {
        assert_eq!(masks::import(&folder, &dataset).unwrap().rois.len(), 10);
    });
    // The NIfTI reader alone on the same files, for comparison.
    let read_only = best(&mut || {
        for roi in &rois {
            dafne_io::nifti::read(&folder.join(format!("{}.nii.gz", roi.name))).unwrap();
        }
    });
    println!(
        "compact-nifti: export {export_compact:?}, import {import_compact:?}; \
         nifti folder: export {export_folder:?}, import {import_folder:?} \
         (nifti::read of the 10 files one by one: {read_only:?})"
    );
}
