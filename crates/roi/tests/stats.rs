//! ROI statistics against NumPy: an int16 volume with a different rescale on every slice (so the
//! real values are floats, some slopes negative) under an oblique affine, and ROIs of every kind
//! (blobs on some slices, an empty one, one on every slice, single voxels and full rows, noise with
//! many ties, a name that needs CSV quoting) are written as .npy; `tests/reference/stats.py`
//! computes the same table with NumPy using the Python of `../../.venv` (or `$DAFNE_PYTHON`) and
//! reads our CSV back with Python's csv module. Counts and percentiles must be identical, mean,
//! standard deviation and volume equal to 1e-9 relative. A missing interpreter or NumPy fails the
//! test: the reference is the point.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::path::Path;

use dafne_core::{Geometry, GeometrySource, LinearMap, Rescale, SeriesInfo, Volume, Voxels};
use dafne_roi::stats::{self, RoiStats};
use dafne_roi::{Edit, Editor, Mode, RoiSet, SliceMask};

mod common;
use common::{read_npy_2d, run_reference, write_npy, Rng};

const ROWS: usize = 45;
const COLS: usize = 130; // three words per row, the last one partial
const SLICES: usize = 9;

/// Reads the C-order float64 2-D array the reference script writes.
fn read_npy_f64(path: &Path) -> (usize, usize, Vec<f64>) {
    let (rows, cols, voxels) = read_npy_2d(path);
    let Voxels::F64(values) = voxels else {
        panic!("not float64: {}", path.display())
    };
    assert_eq!(values.len(), rows * cols);
    (rows, cols, values)
}

fn disc(mask: &mut SliceMask, (cy, cx): (i64, i64), radius: i64) {
    for dy in -radius..=radius {
        for dx in -radius..=radius {
            if dy * dy + dx * dx <= radius * radius && cy + dy >= 0 && cx + dx >= 0 {
                mask.set((cy + dy) as usize, (cx + dx) as usize, true);
            }
        }
    }
}

/// The volume: stored int16 over most of the range, per-slice slope (some negative, one tiny)
/// and intercept, an oblique and sheared affine.
fn volume(rng: &mut Rng) -> Volume {
    let stored: Vec<i16> = (0..ROWS * COLS * SLICES)
        .map(|_| (rng.below(6001) as i32 - 3000) as i16)
        .collect();
    let slopes = [0.37, -1.5, 2.0, 1.0, 0.001, -0.25, 3.3, 1.1, 0.75];
    let maps = slopes
        .iter()
        .map(|&slope| LinearMap {
            slope,
            intercept: (rng.unit() - 0.5) * 2000.0,
        })
        .collect();
    let (c, s) = (0.3f64.cos(), 0.3f64.sin());
    let affine = [
        [0.8 * c, -0.9 * s, 0.0, -100.0],
        [0.8 * s, 0.9 * c, 0.4, 20.5],
        [0.0, 0.0, 2.5, 7.0],
        [0.0, 0.0, 0.0, 1.0],
    ];
    Volume::new(
        [COLS, ROWS, SLICES, 1],
        Voxels::I16(stored),
        Rescale::PerPlane(maps),
        Geometry::new(affine, GeometrySource::Missing),
        SeriesInfo::default(),
    )
    .unwrap()
}

const NAMES: [&str; 6] = [
    "blobs",
    "empty",
    "every slice",
    "thigh, \"left\"",
    "noise",
    "one voxel",
];

/// The ROIs, through the editor as the app makes them.
fn rois(rng: &mut Rng) -> RoiSet {
    let mut ed = Editor::new(RoiSet::new(ROWS, COLS, SLICES));
    let ids: Vec<_> = NAMES
        .iter()
        .map(|n| {
            let name = n.to_string();
            ed.apply(Edit::AddRoi { name }).unwrap().1.unwrap()
        })
        .collect();
    let mut paint = |roi: usize, slice: usize, patch: SliceMask| {
        let edit = Edit::Mask {
            roi: ids[roi],
            slice,
            patch,
            mode: Mode::Add,
        };
        ed.apply(edit).unwrap();
    };
    let empty = || SliceMask::new(ROWS, COLS).unwrap();
    // blobs: discs (some cut by the edge) on slices 1, 3, 4, 8.
    for slice in [1, 3, 4, 8] {
        let mut m = empty();
        for _ in 0..3 {
            let centre = (
                rng.below(ROWS + 10) as i64 - 5,
                rng.below(COLS + 10) as i64 - 5,
            );
            disc(&mut m, centre, 2 + rng.below(12) as i64);
        }
        paint(0, slice, m);
    }
    // empty: a mask painted empty on slice 2 must not count as a slice.
    paint(1, 2, empty());
    // every slice: a disc and some stray pixels on each slice.
    for slice in 0..SLICES {
        let mut m = empty();
        disc(&mut m, (rng.below(ROWS) as i64, rng.below(COLS) as i64), 5);
        for _ in 0..20 {
            m.set(rng.below(ROWS), rng.below(COLS), true);
        }
        paint(2, slice, m);
    }
    // thigh: full rows (whole words and the partial last one) on slice 2, one voxel on 5, two on 7.
    let mut m = empty();
    for row in 10..30 {
        for col in 0..COLS {
            m.set(row, col, true);
        }
    }
    paint(3, 2, m);
    let mut m = empty();
    m.set(44, 129, true);
    paint(3, 5, m);
    let mut m = empty();
    m.set(0, 0, true);
    m.set(0, 64, true);
    paint(3, 7, m);
    // noise: 30 % of all voxels; thousands of values over 6001 levels, so many ties.
    for slice in 0..SLICES {
        let pixels: Vec<bool> = (0..ROWS * COLS).map(|_| rng.unit() < 0.3).collect();
        paint(
            4,
            slice,
            SliceMask::from_bools(ROWS, COLS, &pixels).unwrap(),
        );
    }
    // one voxel in the whole volume.
    let mut m = empty();
    m.set(22, 63, true);
    paint(5, 6, m);
    ed.rois().clone()
}

fn write_inputs(dir: &Path, volume: &Volume, set: &RoiSet) {
    write_npy(
        &dir.join("volume.npy"),
        &[SLICES, ROWS, COLS],
        volume.voxels().clone(),
    );
    let rescale: Vec<f64> = (0..SLICES)
        .flat_map(|k| {
            let m = volume.rescale().for_plane(k);
            [m.slope, m.intercept]
        })
        .collect();
    write_npy(&dir.join("rescale.npy"), &[SLICES, 2], Voxels::F64(rescale));
    let affine: Vec<f64> = volume
        .geometry
        .affine_lps
        .iter()
        .flatten()
        .copied()
        .collect();
    write_npy(&dir.join("affine.npy"), &[4, 4], Voxels::F64(affine));
    for (i, roi) in set.rois().iter().enumerate() {
        let mut bytes = vec![0u8; SLICES * ROWS * COLS];
        for (&k, mask) in &roi.masks {
            bytes[k * ROWS * COLS..(k + 1) * ROWS * COLS].copy_from_slice(&mask.to_u8());
        }
        write_npy(
            &dir.join(format!("roi_{i}.npy")),
            &[SLICES, ROWS, COLS],
            Voxels::U8(bytes),
        );
    }
}

/// Our row in the reference's layout.
fn as_reference(roi: usize, row: &RoiStats) -> Vec<f64> {
    let mut v = vec![
        roi as f64,
        row.slice.map_or(-1.0, |k| k as f64),
        row.slices as f64,
        row.voxels as f64,
        row.volume_mm3,
    ];
    match &row.values {
        Some(s) => {
            v.extend([s.mean, s.standard_deviation]);
            v.extend(s.percentiles);
        }
        None => v.extend([f64::NAN; 7]),
    }
    v
}

const COLUMNS: [&str; 12] = [
    "roi",
    "slice",
    "slices",
    "voxels",
    "volume",
    "mean",
    "standard_deviation",
    "perc_0",
    "perc_25",
    "perc_50",
    "perc_75",
    "perc_100",
];

#[test]
fn statistics_match_numpy() {
    let mut rng = Rng(20_260_427);
    let volume = volume(&mut rng);
    let set = rois(&mut rng);
    let global = stats::global(&volume, &set).unwrap();
    let slicewise = stats::slicewise(&volume, &set).unwrap();

    let dir = tempfile::tempdir().unwrap();
    write_inputs(dir.path(), &volume, &set);
    std::fs::write(dir.path().join("names.txt"), NAMES.join("\n")).unwrap();
    std::fs::write(dir.path().join("global.csv"), stats::to_csv(&global, false)).unwrap();
    std::fs::write(
        dir.path().join("slicewise.csv"),
        stats::to_csv(&slicewise, true),
    )
    .unwrap();
    run_reference("stats.py", [dir.path()]);

    let (n, width, reference) = read_npy_f64(&dir.path().join("reference.npy"));
    assert_eq!(width, COLUMNS.len());
    let index = |name: &str| set.rois().iter().position(|r| r.name == name).unwrap();
    let ours: Vec<Vec<f64>> = global
        .iter()
        .chain(&slicewise)
        .map(|r| as_reference(index(&r.roi_name), r))
        .collect();
    assert_eq!(ours.len(), n, "rows: ours {} numpy {n}", ours.len());

    let mut failures = Vec::new();
    let mut bit_equal = 0;
    for (a, b) in ours.iter().zip(reference.chunks_exact(width)) {
        for (col, (&x, &y)) in COLUMNS.iter().zip(a.iter().zip(b)) {
            let exact = matches!(
                *col,
                "roi"
                    | "slice"
                    | "slices"
                    | "voxels"
                    | "perc_0"
                    | "perc_25"
                    | "perc_50"
                    | "perc_75"
                    | "perc_100"
            );
            let ok = (x.is_nan() && y.is_nan())
                || x == y
                || (!exact && (x - y).abs() <= 1e-9 * x.abs().max(y.abs()));
            bit_equal += usize::from(x.to_bits() == y.to_bits());
            if !ok {
                failures.push(format!(
                    "{:?} slice {}: {col} ours {x:?} numpy {y:?}",
                    NAMES[a[0] as usize], a[1]
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} values differ from numpy:\n{}",
        failures.len(),
        failures.join("\n")
    );
    eprintln!(
        "{} rows, {bit_equal} of {} values bit-identical to numpy",
        n,
        n * width
    );

    // The inputs exercise what they should.
    let by_name = |name: &str| global.iter().find(|r| r.roi_name == name).unwrap();
    assert_eq!(by_name("empty").voxels, 0);
    assert_eq!(by_name("empty").values, None);
    assert_eq!(by_name("every slice").slices, SLICES);
    assert_eq!(by_name("blobs").slices, 4);
    assert_eq!(by_name("one voxel").voxels, 1);
    assert!(by_name("noise").voxels > 10_000);
    let thigh: Vec<_> = slicewise
        .iter()
        .filter(|r| r.roi_name == NAMES[3])
        .map(|r| (r.slice, r.voxels))
        .collect();
    // 1 value, 2 values (percentiles between them) and whole words.
    assert_eq!(thigh, [(Some(2), 20 * COLS), (Some(5), 1), (Some(7), 2)]);
}
