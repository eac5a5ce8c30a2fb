//! AutoSegment and Improve model on the workspace: orientation (the same slice stored in other
//! axis orders gives the same ROIs in patient space), classification → model, "None" skipped,
//! restrict boxes, ROIs of the same name replaced, one undo step, cancel, and the selection of
//! training slices.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use dafne_core::{
    permute_axes, AxisMap, Geometry, GeometrySource, LinearMap, Rescale, SeriesInfo, Volume, Voxels,
};
use dafne_ml::MlError;
use dafne_session::jobs::{CancelToken, JobControl};
use dafne_session::segmentation::autosegment::AutosegmentOptions;
use dafne_session::segmentation::improve::ImproveOutcome;
use dafne_session::segmentation::{
    ImproveReport, ModelSource, SegmentOptions, SliceImage, SliceModel, SliceSegmentation,
};
use dafne_session::workspace::Reorientation;
use dafne_session::{SessionError, Workspace};

const COLS: usize = 40;
const ROWS: usize = 32;
const SLICES: usize = 4;
/// LPS spacing (x = columns, y = rows, z = slices): anisotropic, so a swap shows.
const SPACING: [f64; 3] = [0.8, 1.2, 3.0];

/// An image with no symmetry, in the axial display convention (columns → patient left, rows
/// → posterior).
fn display_volume() -> Volume {
    let mut data = Vec::with_capacity(COLS * ROWS * SLICES);
    for z in 0..SLICES {
        for y in 0..ROWS {
            for x in 0..COLS {
                let h = (x * 7919 + y * 104_729 + z * 1_299_709) % 97;
                data.push(h as f32 / 96.0 + if x < 12 && y > 20 { 0.5 } else { 0.0 });
            }
        }
    }
    let mut affine = Geometry::from_spacing(SPACING, GeometrySource::NiftiSform).affine_lps;
    affine[0][3] = -15.0;
    affine[1][3] = 20.0;
    affine[2][3] = 5.0;
    Volume::new(
        [COLS, ROWS, SLICES, 1],
        Voxels::F32(data),
        Rescale::Uniform(LinearMap::IDENTITY),
        Geometry::new(affine, GeometrySource::NiftiSform),
        SeriesInfo::default(),
    )
    .unwrap()
}

/// The same voxels stored in another axis order (the affine follows them).
fn stored_as(map: &AxisMap) -> Volume {
    let v = display_volume();
    let dims = v.dims();
    let Voxels::F32(data) = v.voxels() else {
        unreachable!()
    };
    let (data, new_dims) = permute_axes(data, dims, map);
    let affine = map.apply_to_affine(&v.geometry.affine_lps, dims);
    Volume::new(
        new_dims,
        Voxels::F32(data),
        Rescale::Uniform(LinearMap::IDENTITY),
        Geometry::new(affine, GeometrySource::NiftiSform),
        SeriesInfo::default(),
    )
    .unwrap()
}

/// A model whose output depends on where pixels are in its frame: "Bright" (value > 0.6,
/// orientation-free) and "Corner" (bright pixels in the first rows and columns: anterior
/// right when the slice is in display convention). It checks the spacing it is given.
struct CornerModel {
    calls: AtomicUsize,
    cancel_after: Option<(usize, CancelToken)>,
    /// `[between rows, between columns]` the model must be given (None: any).
    spacing_mm: Option<[f64; 2]>,
}

impl CornerModel {
    fn new() -> CornerModel {
        CornerModel {
            calls: AtomicUsize::new(0),
            cancel_after: None,
            spacing_mm: Some([SPACING[1], SPACING[0]]),
        }
    }
}

impl SliceModel for CornerModel {
    fn orientation(&self) -> String {
        "axial".into()
    }

    fn segment(
        &self,
        image: &SliceImage,
        opts: &SegmentOptions,
    ) -> Result<SliceSegmentation, MlError> {
        let n = self.calls.fetch_add(1, Ordering::SeqCst) + 1;
        if let Some((after, token)) = &self.cancel_after {
            if n >= *after {
                token.cancel();
            }
        }
        let wrong = self
            .spacing_mm
            .is_some_and(|want| (0..2).any(|k| (image.spacing_mm[k] - want[k]).abs() > 1e-4));
        if wrong {
            return Err(MlError::Input {
                why: format!("spacing {:?} is not in the model's frame", image.spacing_mm),
            });
        }
        let (rows, cols) = (image.rows, image.cols);
        let bright: Vec<bool> = image.values.iter().map(|&v| v > 0.6).collect();
        let corner: Vec<bool> = (0..rows * cols)
            .map(|i| bright[i] && i / cols < rows / 2 && i % cols < cols / 3)
            .collect();
        let suffix = if opts.split_lr { "_R" } else { "" };
        Ok(SliceSegmentation {
            rows,
            cols,
            masks: vec![
                (format!("Bright{suffix}"), bright),
                (format!("Corner{suffix}"), corner),
            ],
        })
    }
}

struct OneModel(Arc<CornerModel>);

impl ModelSource for OneModel {
    fn model(&mut self, name: &str) -> Result<Arc<dyn SliceModel>, SessionError> {
        if name != "Thigh" {
            return Err(SessionError::InvalidInput(format!("no model {name}")));
        }
        let m: Arc<dyn SliceModel> = self.0.clone();
        Ok(m)
    }
}

fn open(dir: &Path, name: &str, volume: &Volume) -> Workspace {
    let path = dir.join(name);
    dafne_io::save(volume, &path).unwrap();
    Workspace::open(&path, None, None).unwrap().0
}

const OPTS: AutosegmentOptions = AutosegmentOptions {
    split_lr: false,
    restrict: false,
};

/// Every set voxel of every ROI as (ROI, LPS position in µm).
fn patient_positions(ws: &Workspace) -> BTreeSet<(String, [i64; 3])> {
    let g = &ws.dataset().volume.geometry;
    let mut out = BTreeSet::new();
    for roi in ws.rois().rois() {
        for (&slice, mask) in &roi.masks {
            for r in 0..mask.rows() {
                for c in 0..mask.cols() {
                    if mask.get(r, c) {
                        let p = g.index_to_lps([c as f64, r as f64, slice as f64]);
                        out.insert((roi.name.clone(), p.map(|x| (x * 1000.0).round() as i64)));
                    }
                }
            }
        }
    }
    out
}

fn segment_all(ws: &mut Workspace) {
    segment_all_with(ws, CornerModel::new());
}

fn segment_all_with(ws: &mut Workspace, model: CornerModel) {
    let slices = ws.dataset().mask_dims().2;
    ws.set_classification(None, Some("Thigh")).unwrap();
    let model = Arc::new(model);
    ws.autosegment(
        &mut OneModel(model),
        0,
        slices - 1,
        OPTS,
        &JobControl::silent(),
    )
    .unwrap();
}

#[test]
fn the_same_slices_in_any_axis_order_give_the_same_rois() {
    let dir = tempfile::tempdir().unwrap();
    let mut reference = open(dir.path(), "display.nii", &display_volume());
    segment_all(&mut reference);
    let expected = patient_positions(&reference);
    let corner = expected.iter().filter(|(n, _)| n == "Corner").count();
    assert!(corner > 20, "the corner ROI is not empty: {corner}");

    // NumPy has no geometry: taken as display convention, so the same pixels.
    let mut npy = open(dir.path(), "display.npy", &display_volume());
    let mut any_spacing = CornerModel::new();
    any_spacing.spacing_mm = None;
    segment_all_with(&mut npy, any_spacing);
    for slice in 0..SLICES {
        assert_eq!(
            npy.mask_by_name("Corner", slice),
            reference.mask_by_name("Corner", slice)
        );
    }

    let variants = [
        ("transposed", [1, 0, 2], [false, false, false]),
        ("rows flipped", [0, 1, 2], [false, true, false]),
        ("columns flipped", [0, 1, 2], [true, false, false]),
        ("transposed and flipped", [1, 0, 2], [true, true, true]),
    ];
    for (what, source, flip) in variants {
        let v = stored_as(&AxisMap { source, flip });
        let mut ws = open(dir.path(), &format!("{what}.nii.gz"), &v);
        segment_all(&mut ws);
        assert_eq!(patient_positions(&ws), expected, "{what}");
        // Ignoring the orientation would have put the corner elsewhere.
        if source[0] == 1 || flip[0] || flip[1] {
            let raw = ws.mask_by_name("Corner", 0).unwrap();
            let reference_pixels = reference.mask_by_name("Corner", 0).unwrap();
            assert!(
                raw.rows() != reference_pixels.rows() || raw != reference_pixels,
                "{what}: same pixels, so the test cannot see orientation"
            );
        }
    }

    // A sagittal stack (columns posterior, rows inferior, slices to the left) is refused,
    // and gives the same ROIs once reoriented to axial.
    let sagittal = stored_as(&AxisMap {
        source: [1, 2, 0],
        flip: [false, true, false],
    });
    let mut ws = open(dir.path(), "sagittal.nii", &sagittal);
    ws.set_classification(None, Some("Thigh")).unwrap();
    let e = ws
        .autosegment(
            &mut OneModel(Arc::new(CornerModel::new())),
            0,
            0,
            OPTS,
            &JobControl::silent(),
        )
        .unwrap_err()
        .to_string();
    assert!(e.contains("sagittal") && e.contains("Reorient"), "{e}");
    assert!(ws.rois().rois().is_empty());
    ws.reorient(Reorientation::Plane(dafne_core::PlaneOrientation::Axial));
    segment_all(&mut ws);
    assert_eq!(patient_positions(&ws), expected, "sagittal reoriented");
}

#[test]
fn autosegment_replaces_by_name_skips_none_and_is_one_undo_step() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = open(dir.path(), "display.nii", &display_volume());
    // A "Corner" the user drew on slices 0 and 3 before.
    let corner = ws.add_roi("Corner").unwrap();
    for slice in [0, 3] {
        ws.paint(dafne_session::workspace::PaintStroke {
            roi: corner,
            slice,
            shape: dafne_roi::BrushShape::Square,
            size_px: 5,
            erase: false,
            erase_all: false,
            points: vec![[30.0, 5.0]],
            intensity_tolerance: None,
        })
        .unwrap();
    }
    let painted_3 = ws.mask_by_name("Corner", 3).unwrap();
    ws.set_classification(None, Some("Thigh, Left")).unwrap();
    ws.set_classification(Some(1), Some("None")).unwrap();
    let model = Arc::new(CornerModel::new());
    let job = JobControl::silent();
    let (report, changed) = ws
        .autosegment(&mut OneModel(model.clone()), 0, 2, OPTS, &job)
        .unwrap();
    assert_eq!(report.segmented, [0, 2]);
    assert_eq!(report.skipped, [1]);
    assert!(report.notes[0].contains("None"), "{:?}", report.notes);
    assert_eq!(report.rois, ["Bright", "Corner"]);
    assert_eq!(model.calls.load(Ordering::SeqCst), 2);
    assert!(!changed.masks.is_empty());
    let names: Vec<String> = ws.roi_list().into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["Corner", "Bright"]);
    // Slice 0's painted square replaced by the model's corner; slice 3 untouched.
    let c0 = ws.mask_by_name("Corner", 0).unwrap();
    assert!(!c0.get(5, 30), "the painted pixel was replaced");
    assert!(c0.count() > 0);
    assert_eq!(ws.mask_by_name("Corner", 3).unwrap(), painted_3);
    assert_eq!(ws.mask_by_name("Bright", 1).unwrap().count(), 0);

    // One undo takes the whole run back.
    ws.undo().unwrap();
    let names: Vec<String> = ws.roi_list().into_iter().map(|r| r.name).collect();
    assert_eq!(names, ["Corner"]);
    assert!(ws.mask_by_name("Corner", 0).unwrap().get(5, 30));

    // Restrict area: only the box is read and written.
    ws.set_restrict_box(2, Some([4, 6, 20, 18])).unwrap();
    let opts = AutosegmentOptions {
        split_lr: true,
        restrict: true,
    };
    ws.autosegment(&mut OneModel(model), 2, 2, opts, &job)
        .unwrap();
    let bright = ws.mask_by_name("Bright_R", 2).unwrap();
    assert!(bright.count() > 0);
    for r in 0..ROWS {
        for c in 0..COLS {
            if bright.get(r, c) {
                assert!((4..24).contains(&r) && (6..24).contains(&c), "({r}, {c})");
            }
        }
    }
    let values = ws.slice_f32_le(2).unwrap();
    let v = |r: usize, c: usize| {
        let i = (r * COLS + c) * 4;
        f32::from_le_bytes(values[i..i + 4].try_into().unwrap())
    };
    for r in 4..24 {
        for c in 6..24 {
            assert_eq!(bright.get(r, c), v(r, c) > 0.6);
        }
    }
}

#[test]
fn a_cancelled_run_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut ws = open(dir.path(), "display.nii", &display_volume());
    ws.set_classification(None, Some("Thigh")).unwrap();
    let token = CancelToken::new();
    let model = Arc::new(CornerModel {
        cancel_after: Some((2, token.clone())),
        ..CornerModel::new()
    });
    let job = JobControl::new(token, |_| {});
    let e = ws
        .autosegment(&mut OneModel(model.clone()), 0, 3, OPTS, &job)
        .unwrap_err();
    assert!(matches!(e, SessionError::Cancelled), "{e}");
    assert_eq!(
        model.calls.load(Ordering::SeqCst),
        2,
        "stopped between slices"
    );
    assert!(ws.rois().rois().is_empty());
    assert!(ws.undo().is_none(), "no step was recorded");
    // An unknown model is a clear error, nothing changed.
    ws.set_classification(Some(0), Some("Calf")).unwrap();
    let e = ws
        .autosegment(&mut OneModel(model), 0, 0, OPTS, &JobControl::silent())
        .unwrap_err()
        .to_string();
    assert!(e.contains("Calf"), "{e}");
    assert!(ws.rois().rois().is_empty());
}

#[test]
fn training_slices_are_the_new_segmented_ones_grouped_by_classification() {
    let dir = tempfile::tempdir().unwrap();
    let big = stored_as(&AxisMap {
        source: [0, 1, 2],
        flip: [false, false, false],
    });
    let mut ws = open(dir.path(), "display.nii", &big);
    ws.set_classification(None, Some("Thigh")).unwrap();
    ws.autosegment(
        &mut OneModel(Arc::new(CornerModel::new())),
        0,
        3,
        OPTS,
        &JobControl::silent(),
    )
    .unwrap();
    // 4 segmented slices: too few for 5.
    let plan = ws.plan_improve(None, 5, true).unwrap();
    assert!(plan.groups.is_empty());
    let why = plan.nothing_to_do().unwrap();
    assert!(
        why.contains("at least 5") && why.contains("Thigh: 4"),
        "{why}"
    );
    let plan = ws.plan_improve(None, 3, true).unwrap();
    assert_eq!(plan.groups.len(), 1);
    assert_eq!(plan.groups[0].slices(), [0, 1, 2, 3]);
    assert_eq!(plan.groups[0].model, "Thigh");
    let names: Vec<&str> = plan.groups[0].corrections[0]
        .masks
        .iter()
        .map(|(n, _)| n.as_str())
        .collect();
    assert_eq!(names, ["Bright", "Corner"]);
    // A slice classed None, or of another classification, is not in the group.
    ws.set_classification(Some(3), Some("None")).unwrap();
    ws.set_classification(Some(2), Some("Leg")).unwrap();
    let plan = ws.plan_improve(Some("Thigh"), 1, true).unwrap();
    assert_eq!(plan.groups.len(), 1);
    assert_eq!(plan.groups[0].slices(), [0, 1]);
    assert!(!ws.used_for_training(0).unwrap());

    // Slices that trained a model are not offered again in this session; a run that trained
    // nothing (too few usable slices) does not use them up.
    let outcome = |trained: usize| ImproveOutcome {
        classification: "Thigh".into(),
        model: "Thigh".into(),
        slices: vec![0, 1],
        report: ImproveReport {
            accepted: false,
            reason: "test".into(),
            slices_trained: trained,
            slices_held_out: 0,
            training_images: 0,
            dice_before: 0.0,
            dice_after: 0.0,
            reference_dice: None,
            losses: vec![],
            seconds: 0.0,
        },
        package: None,
    };
    ws.finish_improve(&plan.dataset_id, &[outcome(0)]);
    assert!(!ws.used_for_training(0).unwrap());
    ws.finish_improve("another dataset", &[outcome(2)]);
    assert!(!ws.used_for_training(0).unwrap());
    ws.finish_improve(&plan.dataset_id, &[outcome(2)]);
    assert!(ws.used_for_training(0).unwrap() && ws.used_for_training(1).unwrap());
    let plan = ws.plan_improve(None, 1, true).unwrap();
    let slices: Vec<Vec<usize>> = plan.groups.iter().map(|g| g.slices()).collect();
    assert_eq!(slices, [vec![2]], "Leg's slice 2 only");
}

fn kit() -> std::path::PathBuf {
    std::env::var_os("DAFNE_TEST_DATA")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"))
        .join("dafne-legacy")
}

/// The kit's T1 slice as a one-slice volume in the axial display convention, 1 mm pixels.
fn t1_volume() -> Volume {
    let loaded = dafne_io::load(&kit().join("models/inputs/t1_coronal_0_1000.npy"), None).unwrap();
    let v = loaded.volume;
    let mut affine = Geometry::from_spacing([1.0, 1.0, 4.0], GeometrySource::NiftiSform).affine_lps;
    affine[0][3] = -100.0;
    affine[1][3] = -80.0;
    Volume::new(
        v.dims(),
        Voxels::F32(v.to_f32()),
        Rescale::Uniform(LinearMap::IDENTITY),
        Geometry::new(affine, GeometrySource::NiftiSform),
        SeriesInfo::default(),
    )
    .unwrap()
}

fn permuted(v: &Volume, map: &AxisMap) -> Volume {
    let Voxels::F32(data) = v.voxels() else {
        unreachable!()
    };
    let (data, dims) = permute_axes(data, v.dims(), map);
    Volume::new(
        dims,
        Voxels::F32(data),
        Rescale::Uniform(LinearMap::IDENTITY),
        Geometry::new(
            map.apply_to_affine(&v.geometry.affine_lps, v.dims()),
            GeometrySource::NiftiSform,
        ),
        SeriesInfo::default(),
    )
    .unwrap()
}

/// The original's thigh network (the kit's thigh_narrow8, imported from its `.model` file)
/// through the whole apply pipeline: its output depends on orientation (a left/right split,
/// a network never trained to be symmetric), and the same slice stored transposed, flipped,
/// as a sagittal stack reoriented to axial, or as NumPy gives the same ROIs in patient space.
#[test]
fn the_thigh_model_segments_the_same_slice_in_any_axis_order_alike() {
    use dafne_session::segmentation::{save_package, PackageModels};
    let dir = tempfile::tempdir().unwrap();
    let mut package = dafne_session::models::import_dafne_file(
        &kit().join("models/thigh_narrow8/Thigh_1610001000.model"),
    )
    .unwrap();
    let pkg = dir.path().join("thigh");
    save_package(&mut package, &pkg).unwrap();
    let opts = AutosegmentOptions {
        split_lr: true,
        restrict: false,
    };
    let segment = |ws: &mut Workspace| {
        ws.set_classification(None, Some("Thigh")).unwrap();
        let mut models = PackageModels::single(&pkg);
        ws.autosegment(&mut models, 0, 0, opts, &JobControl::silent())
            .unwrap();
    };
    let display = t1_volume();
    let mut reference = open(dir.path(), "t1.nii", &display);
    segment(&mut reference);
    let expected = patient_positions(&reference);
    let rois: BTreeSet<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    assert!(rois.len() >= 4, "{rois:?}");

    // Mirrored left-right, the slice must give different ROIs: the model sees orientation.
    let mut lying = permuted(
        &display,
        &AxisMap {
            source: [0, 1, 2],
            flip: [true, false, false],
        },
    );
    lying.geometry = display.geometry.clone();
    let mut ws = open(dir.path(), "mirrored.nii", &lying);
    segment(&mut ws);
    assert_ne!(
        patient_positions(&ws),
        expected,
        "the model is orientation-free"
    );

    for (what, source, flip) in [
        ("transposed", [1, 0, 2], [false, false, false]),
        ("flipped", [0, 1, 2], [true, true, false]),
        ("sagittal", [1, 2, 0], [false, true, false]),
    ] {
        let v = permuted(&display, &AxisMap { source, flip });
        let mut ws = open(dir.path(), &format!("{what}.nii.gz"), &v);
        if what == "sagittal" {
            ws.reorient(Reorientation::Plane(dafne_core::PlaneOrientation::Axial));
        }
        segment(&mut ws);
        assert_eq!(patient_positions(&ws), expected, "{what}");
    }
    let mut npy = open(dir.path(), "t1.npy", &display);
    segment(&mut npy);
    for roi in &rois {
        assert_eq!(
            npy.mask_by_name(roi, 0),
            reference.mask_by_name(roi, 0),
            "{roi}"
        );
    }
}
