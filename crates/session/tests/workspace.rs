//! The app's document over a real DICOM series: open, paint, contours, undo, import, autosave
//! and recovery — what the Tauri commands call.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use dafne_roi::{contours_to_mask, BrushShape, Contour};
use dafne_session::workspace::PaintStroke;
use dafne_session::Workspace;

fn kit() -> PathBuf {
    std::env::var_os("DAFNE_TEST_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
        .join("dafne-legacy")
}

fn copy_series(dir: &Path) -> PathBuf {
    let data = dir.join("series");
    std::fs::create_dir_all(&data).unwrap();
    for e in std::fs::read_dir(kit().join("input/dicom_mr_small_3slices")).unwrap() {
        let e = e.unwrap();
        std::fs::copy(e.path(), data.join(e.file_name())).unwrap();
    }
    data
}

fn stroke(roi: u32, points: Vec<[f64; 2]>, erase: bool) -> PaintStroke {
    PaintStroke {
        roi,
        slice: 1,
        shape: BrushShape::Circle,
        size_px: 3,
        erase,
        erase_all: false,
        points,
        intensity_tolerance: None,
    }
}

fn voxels(ws: &Workspace, id: u32) -> usize {
    ws.roi_list().iter().find(|r| r.id == id).unwrap().voxels
}

#[test]
fn painting_contours_and_undo_through_the_workspace() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut ws, _) = Workspace::open(&copy_series(tmp.path()), None, None).unwrap();
    let info = ws.info();
    assert_eq!((info.rows, info.cols, info.slices), (64, 64, 3));
    assert!(info.window[1] > 0.0);
    assert_eq!(ws.slice_f32_le(2).unwrap().len(), 64 * 64 * 4);
    assert!(ws.slice_f32_le(3).is_err());

    let id = ws.add_roi("VL").unwrap();
    ws.paint(stroke(id, vec![[20.0, 20.0], [21.0, 20.0]], false))
        .unwrap();
    // A radius-3 midpoint disc has 37 pixels; one pixel to the right adds a column of 7.
    assert_eq!(voxels(&ws, id), 37 + 7);
    ws.paint(stroke(id, vec![[20.0, 20.0]], true)).unwrap();
    assert_eq!(voxels(&ws, id), 7);
    ws.undo().unwrap();
    assert_eq!(voxels(&ws, id), 44);
    let mask = ws.mask_u8(id, 1).unwrap();
    assert_eq!(mask.iter().map(|&v| usize::from(v)).sum::<usize>(), 44);
    let labels = ws.labels_u16_le(1).unwrap();
    assert_eq!(labels.len(), 64 * 64 * 2);
    assert_eq!(labels.chunks(2).filter(|l| l == &[1, 0]).count(), 44);

    // Intensity-aware: fewer pixels than the plain brush, never more.
    let other = ws.add_roi("aware").unwrap();
    let mut aware = stroke(other, vec![[32.0, 32.0]], false);
    aware.size_px = 10;
    aware.intensity_tolerance = Some(0.1);
    ws.paint(aware).unwrap();
    assert!(voxels(&ws, other) < 317, "{}", voxels(&ws, other));

    // Contours: the mask becomes the XOR fill, exactly as the contour module rasterises it.
    let outer = vec![[10.0, 10.0], [40.0, 12.0], [42.0, 40.0], [12.0, 38.0]];
    let inner = vec![[20.0, 20.0], [30.0, 20.0], [30.0, 30.0], [20.0, 30.0]];
    ws.set_contours(id, 1, vec![outer.clone(), inner.clone()])
        .unwrap();
    let expected = contours_to_mask(&[Contour::new(outer), Contour::new(inner)], 64, 64).unwrap();
    assert_eq!(ws.mask_u8(id, 1).unwrap(), expected.to_u8());
    assert_eq!(ws.rois().contours(id, 1).unwrap().len(), 2);
    ws.undo().unwrap();
    assert_eq!(voxels(&ws, id), 44);
}

#[test]
fn an_import_is_one_undo_step_and_names_never_clash() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut ws, _) = Workspace::open(&copy_series(tmp.path()), None, None).unwrap();
    ws.add_roi("Sartorius_R").unwrap();
    let warnings = ws.import_masks(&kit().join("exports/clean_nifti")).unwrap();
    let names: Vec<String> = ws.roi_list().into_iter().map(|r| r.name).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names
        .iter()
        .all(|n| n != "Sartorius_R" || names.iter().filter(|m| *m == n).count() == 1));
    let _ = warnings;
    ws.undo().unwrap();
    assert_eq!(ws.roi_list().len(), 1);
    ws.redo().unwrap();
    assert_eq!(ws.roi_list().len(), 4);
    assert!(ws.roi_list().iter().skip(1).all(|r| r.voxels > 0));
}

#[test]
fn autosave_then_reopen_offers_the_autosave_and_recovers_it() {
    let tmp = tempfile::tempdir().unwrap();
    let data = copy_series(tmp.path());
    let (mut ws, _) = Workspace::open(&data, None, None).unwrap();
    // Nothing to save yet.
    ws.set_autosave_interval(Duration::ZERO);
    assert_eq!(ws.autosave_if_due().unwrap(), None);
    let id = ws.add_roi("VL").unwrap();
    ws.paint(stroke(id, vec![[30.0, 30.0]], false)).unwrap();
    let written = ws.autosave_if_due().unwrap().expect("autosave written");
    // Unchanged since: not again.
    assert_eq!(ws.autosave_if_due().unwrap(), None);
    drop(ws);

    let (mut again, _) = Workspace::open(&data, None, None).unwrap();
    assert_eq!(again.recoverable().unwrap().path, written);
    assert!(again.roi_list().is_empty());
    assert!(again.recover().unwrap());
    assert_eq!(again.roi_list()[0].voxels, 37);
    assert!(again.recoverable().is_none());

    // Save and load a session explicitly.
    let path = tmp.path().join("s.dafne");
    again.save(&path).unwrap();
    let (session, _) = dafne_session::sessions::open_session(&path, again.dataset()).unwrap();
    assert_eq!(session.rois.normalized(), again.rois().normalized());
}
