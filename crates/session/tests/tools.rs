//! Auto Threshold through the session: the mask of a real DICOM slice applied to the current
//! ROI as one undoable step.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use dafne_core::SliceMask;
use dafne_roi::{Edit, Editor, Mode};
use dafne_session::sessions::new_session;
use dafne_session::tools::{auto_threshold_mask, slice_values};
use dafne_session::Dataset;

fn series() -> PathBuf {
    std::env::var_os("DAFNE_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
        .join("dafne-legacy/input/dicom_mr_small_3slices")
}

#[test]
fn auto_threshold_keeps_only_the_bright_part_of_the_roi_in_one_undo_step() {
    let dataset = Dataset::open(&series(), None).unwrap();
    let (rows, cols, _) = dataset.mask_dims();
    let values = slice_values(&dataset, 1).unwrap();
    let threshold = auto_threshold_mask(&dataset, 1).unwrap();
    let set = threshold.count();
    assert!(set > 0 && set < rows * cols, "{set}");
    // Every kept pixel is brighter than every dropped one by more than nothing on average.
    let mean = |keep: bool| {
        let v: Vec<f32> = (0..rows * cols)
            .filter(|&i| threshold.get(i / cols, i % cols) == keep)
            .map(|i| values[i])
            .collect();
        v.iter().sum::<f32>() / v.len() as f32
    };
    assert!(mean(true) > mean(false));

    let mut editor = Editor::new(new_session(&dataset).rois);
    let (_, id) = editor.apply(Edit::AddRoi { name: "VL".into() }).unwrap();
    let id = id.unwrap();
    let full = SliceMask::full(rows, cols).unwrap();
    editor
        .apply(Edit::Mask {
            roi: id,
            slice: 1,
            patch: full.clone(),
            mode: Mode::Set,
        })
        .unwrap();
    editor
        .apply(Edit::KeepOnly {
            rois: vec![id],
            slice: 1,
            patch: threshold.clone(),
        })
        .unwrap();
    assert_eq!(editor.rois().get(id).unwrap().masks[&1], threshold);
    editor.undo().unwrap();
    assert_eq!(editor.rois().get(id).unwrap().masks[&1], full);
    assert!(slice_values(&dataset, 3).is_err());
}
