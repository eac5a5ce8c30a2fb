//! The app's document over a real DICOM series: open, paint, contours, undo, import, autosave
//! and recovery — what the Tauri commands call.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use dafne_roi::{contours_to_mask, BrushShape, Contour};
use dafne_session::workspace::{BoolOp, ContourOp, Morphology, Output, PaintStroke};
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
    let (warnings, changed) = ws.import_masks(&kit().join("exports/clean_nifti")).unwrap();
    let names: Vec<String> = ws.roi_list().into_iter().map(|r| r.name).collect();
    assert_eq!(names.len(), 4, "{names:?}");
    assert!(names
        .iter()
        .all(|n| n != "Sartorius_R" || names.iter().filter(|m| *m == n).count() == 1));
    assert!(warnings.is_empty(), "no name was taken: {warnings:?}");
    let new_ids: Vec<u32> = ws.roi_list().iter().skip(1).map(|r| r.id).collect();
    assert_eq!(changed.rois, new_ids, "the change names the imported ROIs");
    ws.undo().unwrap();
    assert_eq!(ws.roi_list().len(), 1);
    ws.redo().unwrap();
    assert_eq!(ws.roi_list().len(), 4);
    assert!(ws.roi_list().iter().skip(1).all(|r| r.voxels > 0));
    // The same files again: every name is taken, so each gets a suffix and a warning says so.
    let (warnings, _) = ws.import_masks(&kit().join("exports/clean_nifti")).unwrap();
    assert_eq!(warnings.len(), 3, "{warnings:?}");
    assert!(ws.roi_list().iter().any(|r| r.name == "Gracilis_L (2)"));
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

fn mask_of(ws: &Workspace, id: u32, slice: usize) -> Vec<u8> {
    ws.mask_u8(id, slice).unwrap()
}

fn count(m: &[u8]) -> usize {
    m.iter().filter(|&&v| v != 0).count()
}

#[test]
fn roi_operations_are_one_undo_step_each() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut ws, _) = Workspace::open(&copy_series(tmp.path()), None, None).unwrap();
    let a = ws.add_roi("A").unwrap();
    let b = ws.add_roi("B").unwrap();
    ws.paint(stroke(a, vec![[20.0, 20.0]], false)).unwrap();
    ws.paint(stroke(b, vec![[23.0, 20.0]], false)).unwrap();
    let (ma, mb) = (mask_of(&ws, a, 1), mask_of(&ws, b, 1));
    let union = ma.iter().zip(&mb).filter(|(x, y)| **x + **y > 0).count();
    let both = ma.iter().zip(&mb).filter(|(x, y)| **x + **y == 2).count();
    assert!(both > 0 && union < count(&ma) + count(&mb));

    // Combine into a new ROI, then into an existing one.
    let (_, c) = ws
        .combine(vec![a, b], BoolOp::Union, Output::New("A+B".into()))
        .unwrap();
    let c = c.unwrap();
    assert_eq!(voxels(&ws, c), union);
    ws.combine(vec![a, b], BoolOp::Intersection, Output::Existing(c))
        .unwrap();
    assert_eq!(voxels(&ws, c), both);
    ws.undo().unwrap();
    assert_eq!(voxels(&ws, c), union);
    ws.combine(vec![a, b, c], BoolOp::Exclusion, Output::New("x".into()))
        .unwrap();
    // A ^ B ^ (A | B) = A & B
    assert_eq!(voxels(&ws, ws.rois().by_name("x").unwrap().id), both);
    assert!(ws
        .combine(vec![a], BoolOp::Union, Output::New("y".into()))
        .is_err());
    assert!(ws
        .combine(vec![a, b], BoolOp::Union, Output::New("A".into()))
        .is_err());

    // Remove overlap: A subtracted from B on the slice.
    ws.remove_overlap(a, 1).unwrap();
    assert_eq!(voxels(&ws, b), count(&mb) - both);
    ws.undo().unwrap();
    assert_eq!(voxels(&ws, b), count(&mb));

    // Copy, rename, delete.
    let (_, copy) = ws.copy_roi(a, "A copy").unwrap();
    assert_eq!(mask_of(&ws, copy, 1), ma);
    ws.rename_roi(copy, "  Vastus  ").unwrap();
    assert!(ws.rois().by_name("Vastus").is_some());
    assert!(ws.rename_roi(copy, " ").is_err());
    assert!(ws.rename_roi(copy, "B").is_err());
    ws.delete_roi(copy).unwrap();
    assert!(ws.rois().get(copy).is_none());
    ws.undo().unwrap();
    assert_eq!(mask_of(&ws, copy, 1), ma);
    assert!(ws.delete_roi(999).is_err());

    // Clear: the ROI on one slice only.
    ws.clear_slice(a, 1).unwrap();
    assert_eq!(voxels(&ws, a), 0);
    ws.undo().unwrap();
    assert_eq!(voxels(&ws, a), 37);
    assert!(ws.clear_slice(a, 3).is_err());
}

#[test]
fn morphology_and_auto_threshold_rework_one_slice() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut ws, _) = Workspace::open(&copy_series(tmp.path()), None, None).unwrap();
    let a = ws.add_roi("A").unwrap();
    ws.paint(stroke(a, vec![[20.0, 20.0]], false)).unwrap();
    assert_eq!(voxels(&ws, a), 37);
    // The radius-3 disc's outline: rows of half-width 3,3,2,1 → grow adds one pixel around.
    ws.morphology(a, 1, Morphology::Grow, 5).unwrap();
    let grown = voxels(&ws, a);
    assert!(grown > 37, "{grown}");
    ws.undo().unwrap();
    ws.morphology(a, 1, Morphology::Shrink, 5).unwrap();
    assert!(voxels(&ws, a) < 37);
    ws.undo().unwrap();
    // Despeckle at radius 6 (36 px) keeps the 37-px disc, at radius 7 (49 px) drops it.
    ws.morphology(a, 1, Morphology::Despeckle, 6).unwrap();
    assert_eq!(voxels(&ws, a), 37);
    ws.morphology(a, 1, Morphology::Despeckle, 7).unwrap();
    assert_eq!(voxels(&ws, a), 0);
    ws.undo().unwrap();
    // A one-pixel hole is filled.
    ws.paint(PaintStroke {
        size_px: 0,
        ..stroke(a, vec![[20.0, 20.0]], true)
    })
    .unwrap();
    assert_eq!(voxels(&ws, a), 36);
    ws.morphology(a, 1, Morphology::FillHoles, 1).unwrap();
    assert_eq!(voxels(&ws, a), 36, "radius 1: area 1, nothing smaller");
    ws.morphology(a, 1, Morphology::FillHoles, 2).unwrap();
    assert_eq!(voxels(&ws, a), 37);
    assert!(ws.morphology(a, 1, Morphology::Grow, 0).is_err());
    assert!(ws.morphology(a, 1, Morphology::Grow, 31).is_err());

    // Auto threshold keeps a subset of the ROI's pixels, on the current ROI or all ROIs.
    let b = ws.add_roi("B").unwrap();
    let mut big = stroke(b, vec![[32.0, 32.0]], false);
    big.size_px = 20;
    ws.paint(big).unwrap();
    let before = voxels(&ws, b);
    ws.auto_threshold(Some(b), 1).unwrap();
    let after = voxels(&ws, b);
    assert!(after < before && after > 0, "{before} -> {after}");
    ws.undo().unwrap();
    ws.auto_threshold(None, 1).unwrap();
    assert_eq!(voxels(&ws, b), after);
    assert!(voxels(&ws, a) <= 37);
}

#[test]
fn contour_edits_work_on_the_traced_or_stored_sub_rois() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut ws, _) = Workspace::open(&copy_series(tmp.path()), None, None).unwrap();
    let a = ws.add_roi("A").unwrap();
    assert!(ws.contours(a, 1).unwrap().is_empty());
    // Four clicks make the first sub-ROI; the mask is its fill only from the 4th knot.
    let knots = [[10.0, 10.0], [40.0, 10.0], [40.0, 40.0], [10.0, 40.0]];
    for (i, k) in knots.iter().enumerate() {
        ws.edit_contour(a, 1, ContourOp::AddKnot { sub: 0, at: *k })
            .unwrap();
        assert_eq!(ws.contours(a, 1).unwrap()[0].knots.len(), i + 1);
    }
    let square = Contour::new(knots.to_vec());
    let filled = square.to_mask(64, 64).unwrap();
    assert_eq!(ws.mask_u8(a, 1).unwrap(), filled.to_u8());
    // A click on the curve is inserted between two knots, not appended.
    let curve = square.curve();
    let on = curve[curve.len() / 8];
    ws.edit_contour(a, 1, ContourOp::AddKnot { sub: 0, at: on })
        .unwrap();
    let k = ws.contours(a, 1).unwrap()[0].knots.clone();
    assert_eq!(k.len(), 5);
    assert!(k.contains(&on) && k[4] != on, "{on:?} in {k:?}");
    ws.undo().unwrap();
    // Move a knot (found within 2 px), then remove it.
    ws.edit_contour(
        a,
        1,
        ContourOp::MoveKnot {
            sub: 0,
            from: [41.0, 41.0],
            to: [50.0, 50.0],
        },
    )
    .unwrap();
    assert_eq!(ws.contours(a, 1).unwrap()[0].knots[2], [50.0, 50.0]);
    assert!(voxels(&ws, a) > filled.count());
    ws.edit_contour(
        a,
        1,
        ContourOp::RemoveKnot {
            sub: 0,
            at: [50.0, 50.0],
        },
    )
    .unwrap();
    assert_eq!(ws.contours(a, 1).unwrap()[0].knots.len(), 3);
    assert_eq!(voxels(&ws, a), 0, "3 knots make no curve");
    // A click far from every knot removes nothing and makes no undo step.
    let changed = ws
        .edit_contour(
            a,
            1,
            ContourOp::RemoveKnot {
                sub: 0,
                at: [60.0, 2.0],
            },
        )
        .unwrap();
    assert!(changed.masks.is_empty() && changed.rois.is_empty());
    ws.undo().unwrap();
    ws.undo().unwrap();
    assert_eq!(ws.mask_u8(a, 1).unwrap(), filled.to_u8());

    // Translate and rotate move the knots; a quarter turn of a square keeps its area.
    ws.edit_contour(
        a,
        1,
        ContourOp::Translate {
            sub: 0,
            by: [3.0, -2.0],
        },
    )
    .unwrap();
    assert_eq!(ws.contours(a, 1).unwrap()[0].knots[0], [13.0, 8.0]);
    let area = voxels(&ws, a);
    ws.edit_contour(
        a,
        1,
        ContourOp::Rotate {
            sub: 0,
            angle_rad: std::f64::consts::FRAC_PI_2,
        },
    )
    .unwrap();
    assert_eq!(voxels(&ws, a), area);
    assert!(ws
        .edit_contour(
            a,
            1,
            ContourOp::Rotate {
                sub: 0,
                angle_rad: f64::NAN
            }
        )
        .is_err());
    ws.edit_contour(a, 1, ContourOp::Snap { sub: 0 }).unwrap();
    ws.edit_contour(a, 1, ContourOp::Simplify { sub: 0 })
        .unwrap();
    assert!(ws.contours(a, 1).unwrap()[0].knots.len() >= 4);

    // A second sub-ROI inside the first makes a hole; deleting it fills it back.
    let before = voxels(&ws, a);
    for k in [[25.0, 25.0], [30.0, 25.0], [30.0, 30.0], [25.0, 30.0]] {
        ws.edit_contour(a, 1, ContourOp::AddKnot { sub: 1, at: k })
            .unwrap();
    }
    assert!(voxels(&ws, a) < before);
    ws.edit_contour(a, 1, ContourOp::DeleteSubRoi { sub: 1 })
        .unwrap();
    assert_eq!(voxels(&ws, a), before);
    assert!(ws.edit_contour(a, 1, ContourOp::Snap { sub: 5 }).is_err());
    assert!(ws
        .edit_contour(
            a,
            1,
            ContourOp::AddKnot {
                sub: 0,
                at: [f64::NAN, 1.0]
            }
        )
        .is_err());

    // A painted mask is traced into sub-ROIs on demand.
    let b = ws.add_roi("B").unwrap();
    let mut big = stroke(b, vec![[32.0, 32.0]], false);
    big.size_px = 8;
    ws.paint(big).unwrap();
    let traced = ws.contours(b, 1).unwrap();
    assert_eq!(traced.len(), 1);
    assert!(traced[0].knots.len() >= 4);
}

#[test]
fn classifications_and_restrict_boxes_per_slice() {
    let tmp = tempfile::tempdir().unwrap();
    let (mut ws, _) = Workspace::open(&copy_series(tmp.path()), None, None).unwrap();
    ws.set_classification(Some(1), Some("Thigh")).unwrap();
    assert_eq!(ws.classification(1), Some("Thigh"));
    assert_eq!(ws.classification(0), None);
    ws.set_classification(None, Some("Leg")).unwrap();
    assert_eq!(
        (0..3).map(|s| ws.classification(s)).collect::<Vec<_>>(),
        [Some("Leg"); 3]
    );
    assert_eq!(ws.classification_names(), ["Leg"]);
    ws.set_classification(Some(2), Some("None")).unwrap();
    assert_eq!(ws.classification(2), None);
    assert!(ws.set_classification(Some(3), Some("Leg")).is_err());
    assert!(ws.has_unsaved_changes());

    ws.set_restrict_box(1, Some([2, 3, 10, 20])).unwrap();
    assert_eq!(ws.restrict_box(1), Some([2, 3, 10, 20]));
    assert!(ws.set_restrict_box(1, Some([60, 0, 10, 10])).is_err());
    assert_eq!(
        ws.restrict_box(1),
        Some([2, 3, 10, 20]),
        "a refused box changes nothing"
    );
    ws.copy_restrict_box_to_all(1).unwrap();
    assert_eq!(ws.restrict_box(0), Some([2, 3, 10, 20]));
    ws.set_restrict_box(0, None).unwrap();
    assert_eq!(ws.restrict_box(0), None);
    ws.reset_all_restrict_boxes();
    assert_eq!(ws.restrict_box(2), None);
    assert_eq!(ws.session().classifications.len(), 2);
}

#[test]
fn the_affine_maps_voxels_to_lps_mm() {
    let tmp = tempfile::tempdir().unwrap();
    let (ws, _) = Workspace::open(&copy_series(tmp.path()), None, None).unwrap();
    let info = ws.info();
    let a = info.affine_lps;
    // Column direction scaled by the column spacing.
    let col_step = (a[0][0].powi(2) + a[1][0].powi(2) + a[2][0].powi(2)).sqrt();
    assert!((col_step - info.spacing_mm[0]).abs() < 1e-6, "{a:?}");
    assert_eq!(a[3], [0.0, 0.0, 0.0, 1.0]);
}

/// Every voxel of a slice as (column, row) → value.
fn values(ws: &Workspace, slice: usize) -> Vec<f32> {
    ws.slice_f32_le(slice)
        .unwrap()
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]]))
        .collect()
}

/// (column, row, slice) of the voxel at `lps` under `affine` (voxel → LPS mm).
fn voxel_at(affine: &[[f64; 4]; 4], lps: [f64; 3]) -> [i64; 3] {
    let m = |r: usize, c: usize| affine[r][c];
    let det = m(0, 0) * (m(1, 1) * m(2, 2) - m(1, 2) * m(2, 1))
        - m(0, 1) * (m(1, 0) * m(2, 2) - m(1, 2) * m(2, 0))
        + m(0, 2) * (m(1, 0) * m(2, 1) - m(1, 1) * m(2, 0));
    let d = [lps[0] - m(0, 3), lps[1] - m(1, 3), lps[2] - m(2, 3)];
    // Cramer's rule, column by column.
    let solve = |col: usize| {
        let mut a = [[0.0; 3]; 3];
        for (r, row) in a.iter_mut().enumerate() {
            for (c, v) in row.iter_mut().enumerate() {
                *v = if c == col { d[r] } else { m(r, c) };
            }
        }
        let det_c = a[0][0] * (a[1][1] * a[2][2] - a[1][2] * a[2][1])
            - a[0][1] * (a[1][0] * a[2][2] - a[1][2] * a[2][0])
            + a[0][2] * (a[1][0] * a[2][1] - a[1][1] * a[2][0]);
        (det_c / det).round() as i64
    };
    [solve(0), solve(1), solve(2)]
}

#[test]
fn reorienting_keeps_every_voxel_where_it_is_in_the_patient_and_drops_the_rois() {
    use dafne_core::PlaneOrientation;
    use dafne_session::workspace::Reorientation;
    let tmp = tempfile::tempdir().unwrap();
    let (mut ws, _) = Workspace::open(&copy_series(tmp.path()), None, None).unwrap();
    let before = ws.info();
    let old: Vec<Vec<f32>> = (0..before.slices).map(|k| values(&ws, k)).collect();
    let id = ws.add_roi("VL").unwrap();
    ws.paint(stroke(id, vec![[20.0, 20.0]], false)).unwrap();

    for how in [
        Reorientation::Plane(PlaneOrientation::Sagittal),
        Reorientation::Plane(PlaneOrientation::Coronal),
        Reorientation::InvertSlices,
        Reorientation::Plane(PlaneOrientation::Axial),
    ] {
        ws.reorient(how);
        assert!(
            ws.roi_list().is_empty(),
            "{how:?}: the ROIs go with the old grid"
        );
        assert!(!ws.has_unsaved_changes());
        assert!(ws.undo().is_none(), "{how:?}: a new history");
        let now = ws.info();
        assert_eq!(now.rows * now.cols * now.slices, 64 * 64 * 3, "{how:?}");
        let mut checked = 0;
        for k in 0..now.slices {
            let slice = values(&ws, k);
            for row in 0..now.rows {
                for col in 0..now.cols {
                    let a = now.affine_lps;
                    let lps: [f64; 3] = std::array::from_fn(|r| {
                        a[r][0] * col as f64 + a[r][1] * row as f64 + a[r][2] * k as f64 + a[r][3]
                    });
                    let [c0, r0, k0] = voxel_at(&before.affine_lps, lps);
                    let old_value = old[k0 as usize][r0 as usize * before.cols + c0 as usize];
                    assert_eq!(
                        slice[row * now.cols + col],
                        old_value,
                        "{how:?} at {col},{row},{k}"
                    );
                    checked += 1;
                }
            }
        }
        assert_eq!(checked, 64 * 64 * 3);
    }
    // Sagittal then coronal then inverted then axial again: the original's grid.
    assert_eq!(ws.info().affine_lps, before.affine_lps);
}
