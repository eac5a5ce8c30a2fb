//! The trainer's data side on real bundle files: the original's legacy bundles read, the
//! model's resolution/size/labels as `get_model_info` decides them, datasets with too few
//! labels dropped, and refusals (bad options, no bundles, cancel) before any training.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use dafne_core::{NoProgress, Progress};
use dafne_io::masks::export_bundle;
use dafne_ml::trainer::data::{read_dataset, slice_crops};
use dafne_ml::trainer::{
    bundle_paths, model_info, train_from_bundles, trainer_preprocessing, TrainerOptions,
};
use dafne_ml::MlError;
use dafne_phantom::{generate, Domain, PhantomSpec};

fn kit(name: &str) -> PathBuf {
    let base = std::env::var("DAFNE_TEST_DATA").map_or_else(
        |_| PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/data"),
        PathBuf::from,
    );
    base.join("dafne-legacy/exports").join(name)
}

fn phantom_bundle(path: &Path, seed: u64, size: usize, mm: f64, keep: usize) {
    let mut spec = PhantomSpec::thigh(2, Domain::a(), seed);
    spec.rows = size;
    spec.cols = size;
    spec.spacing_mm = [mm, mm, 5.0];
    let mut p = generate(&spec).unwrap();
    p.masks.truncate(keep);
    export_bundle(path, &p.volume, &p.masks, None).unwrap();
}

#[test]
fn reads_the_originals_bundles() {
    let d = read_dataset(&kit("bundle_two_contrasts.npz")).unwrap();
    assert_eq!((d.rows, d.cols, d.slices.len()), (64, 64, 3));
    let names: Vec<&str> = d.masks.iter().map(|(n, _)| n.as_str()).collect();
    assert!(names.contains(&"Muscle é"), "{names:?}");
    assert!(names.contains(&"Vastus Lateralis_R"), "{names:?}");
    let info = model_info(&[d], 256, false).unwrap();
    // The union of mask names, sorted (byte order, as Python's sorted()).
    let mut sorted = info.labels.clone();
    sorted.sort();
    assert_eq!(info.labels, sorted);
    assert_eq!(info.labels.len(), 5);
}

#[test]
fn model_info_from_phantom_bundles() {
    let dir = tempfile::tempdir().unwrap();
    // Two at 4 mm (96 px = 384 mm), one at 2 mm (192 px): median 4 mm, largest FOV 96 px.
    phantom_bundle(&dir.path().join("a.npz"), 1, 96, 4.0, 24);
    phantom_bundle(&dir.path().join("b.npz"), 2, 96, 4.0, 24);
    phantom_bundle(&dir.path().join("c.npz"), 3, 192, 2.0, 24);
    // Only 6 of the 24 ROIs: dropped.
    phantom_bundle(&dir.path().join("d.npz"), 4, 96, 4.0, 6);
    let paths = bundle_paths(dir.path()).unwrap();
    assert_eq!(paths.len(), 4);
    let sets: Vec<_> = paths.iter().map(|p| read_dataset(p).unwrap()).collect();
    let info = model_info(&sets, 256, false).unwrap();
    assert!((info.resolution_mm - 4.0).abs() < 1e-9);
    assert_eq!(info.size_px, 96);
    assert_eq!(info.labels.len(), 24);
    assert_eq!(info.kept, [0, 1, 2]);
    assert_eq!(info.dropped.len(), 1);
    // The cap coarsens the resolution: 96 px → 64 px at 6 mm.
    let capped = model_info(&sets, 64, false).unwrap();
    assert_eq!(capped.size_px, 64);
    assert!((capped.resolution_mm - 6.0).abs() < 1e-9);

    // A slice becomes a crop of the model's size, labels within the classes.
    assert_eq!((info.canvas_px, info.split_laterality), (96, false));
    let pre = trainer_preprocessing(&info);
    let crops = slice_crops(&sets[2], 0, &info.labels, &pre).unwrap();
    assert_eq!(crops.len(), 1);
    let crop = &crops[0];
    assert_eq!(crop.image.len(), 96 * 96);
    assert_eq!(crop.labels.len(), 96 * 96);
    assert!(crop.labels.iter().all(|&c| c <= 24));
    let classes: std::collections::BTreeSet<u8> = crop.labels.iter().copied().collect();
    assert!(
        classes.len() > 20,
        "most muscles survive the resampling: {classes:?}"
    );
    // The 6-ROI dataset's slices are not used (6 of 25 classes).
    assert!(slice_crops(&sets[3], 0, &info.labels, &pre)
        .unwrap()
        .is_empty());
}

#[test]
fn split_laterality_trains_one_class_per_muscle_on_two_crops_per_slice() {
    let dir = tempfile::tempdir().unwrap();
    // 192 px at 2.5 mm = 480 mm: the canvas; the crop 250/432 of it.
    phantom_bundle(&dir.path().join("a.npz"), 1, 192, 2.5, 24);
    let sets = vec![read_dataset(&dir.path().join("a.npz")).unwrap()];
    let info = model_info(&sets, 256, true).unwrap();
    assert!(info.split_laterality);
    assert_eq!(info.canvas_px, 192);
    assert_eq!(info.size_px, 112); // ceil(192 · 250 / 432)
                                   // `Vastus Lateralis_R` and `_L` are one class.
    assert_eq!(info.labels.len(), 12, "{:?}", info.labels);
    assert!(info
        .labels
        .iter()
        .all(|l| !l.ends_with("_R") && !l.ends_with("_L")));
    assert!(info.labels.contains(&"Vastus Lateralis".to_string()));

    let pre = trainer_preprocessing(&info);
    assert!(pre.split_laterality);
    assert_eq!((pre.canvas_px, pre.crop_px), (192, [112, 112]));
    let crops = slice_crops(&sets[0], 0, &info.labels, &pre).unwrap();
    assert_eq!(crops.len(), 2, "one crop per leg");
    for crop in &crops {
        assert_eq!(crop.labels.len(), 112 * 112);
        let classes: std::collections::BTreeSet<u8> = crop.labels.iter().copied().collect();
        // Each leg's crop holds (nearly) all 12 muscles of that leg and the background.
        assert!(classes.len() >= 11, "{classes:?}");
        assert!(classes.iter().all(|&c| c <= 12));
    }
    // The two crops are the two legs, the left one mirrored: the phantom's anatomy is
    // symmetric, so their labels agree, while the images (noise, bias field) differ.
    let same = crops[0]
        .labels
        .iter()
        .zip(&crops[1].labels)
        .filter(|(a, b)| a == b)
        .count();
    assert!(
        same * 10 > crops[0].labels.len() * 9,
        "mirrored legs agree: {same}"
    );
    assert_ne!(crops[0].image, crops[1].image, "two legs, not one twice");

    // The cap applies to the input (the crop), the canvas follows at the coarser resolution.
    let capped = model_info(&sets, 64, true).unwrap();
    assert_eq!(capped.size_px, 64);
    assert!((capped.resolution_mm - 2.5 * 112.0 / 64.0).abs() < 1e-9);
    assert_eq!(capped.canvas_px, 110); // ceil(480 mm / 4.375 mm)
}

struct CancelNow;
impl Progress for CancelNow {
    fn report(&self, _: u64, _: u64, _: &'static str) {}
    fn cancelled(&self) -> bool {
        true
    }
}

#[test]
fn refuses_before_training() {
    let dir = tempfile::tempdir().unwrap();
    phantom_bundle(&dir.path().join("a.npz"), 1, 64, 7.0, 24);
    let paths = bundle_paths(dir.path()).unwrap();
    let bad = TrainerOptions {
        validation_fraction: Some(1.5),
        ..TrainerOptions::default()
    };
    let err = train_from_bundles(&paths, &bad, &NoProgress).unwrap_err();
    assert!(err.to_string().contains("validation fraction"), "{err}");
    let err = train_from_bundles(&[], &TrainerOptions::default(), &NoProgress).unwrap_err();
    assert!(err.to_string().contains("no bundles"), "{err}");
    let err = train_from_bundles(&paths, &TrainerOptions::default(), &CancelNow).unwrap_err();
    assert!(matches!(err, MlError::Cancelled), "{err}");
    let missing = [dir.path().join("missing.npz")];
    let err = train_from_bundles(&missing, &TrainerOptions::default(), &NoProgress).unwrap_err();
    assert!(err.to_string().contains("missing.npz"), "{err}");
}
