//! Every morphology operation against the real scipy.ndimage / skimage.morphology, bit-exact:
//! masks are generated here (blobs with holes and specks, noise, odd widths, objects on the
//! edge), written as .npy, `tests/reference/morphology.py` computes the references with the
//! Python of `../../.venv` (or `$DAFNE_PYTHON`), and every result is compared pixel by pixel.
//! A missing interpreter or library fails the test: the references are the point.

#![allow(clippy::unwrap_used, clippy::expect_used)] // tests fail loudly on purpose

use std::path::Path;

use dafne_core::Voxels;
use dafne_io::numpy::NpyArray;
use dafne_roi::morphology::{
    despeckle, fill_holes, fill_small_holes, grow, label, remove_small, shrink,
};
use dafne_roi::{Connectivity, SliceMask};

mod common;
use common::{read_npy_2d, run_reference, Rng};

const AREAS: [usize; 4] = [2, 4, 25, 100];
const MIN_SIZES: [usize; 2] = [2, 25];

fn disc(mask: &mut SliceMask, centre: (i64, i64), radius: i64, value: bool) {
    for dr in -radius..=radius {
        for dc in -radius..=radius {
            if dr * dr + dc * dc <= radius * radius {
                let (r, c) = (centre.0 + dr, centre.1 + dc);
                if r >= 0 && c >= 0 {
                    mask.set(r as usize, c as usize, value);
                }
            }
        }
    }
}

/// Discs (some cut by the edge), holes carved into them, pepper inside, specks outside.
fn blobs(rows: usize, cols: usize, seed: u64) -> SliceMask {
    let mut rng = Rng(seed);
    let mut m = SliceMask::new(rows, cols).unwrap();
    let scale = rows.min(cols).max(4) as i64;
    let at = |rng: &mut Rng| {
        (
            rng.below(rows + 6) as i64 - 3,
            rng.below(cols + 6) as i64 - 3,
        )
    };
    for _ in 0..6 {
        let centre = at(&mut rng);
        disc(
            &mut m,
            centre,
            1 + rng.below(scale as usize / 4) as i64,
            true,
        );
    }
    for _ in 0..8 {
        let centre = at(&mut rng);
        disc(
            &mut m,
            centre,
            rng.below(scale as usize / 12 + 2) as i64,
            false,
        );
    }
    for _ in 0..(rows * cols / 40) {
        let (r, c) = (rng.below(rows), rng.below(cols));
        if m.get(r, c) {
            m.set(r, c, false);
        }
    }
    for _ in 0..(rows * cols / 200 + 3) {
        let (r, c) = (rng.below(rows), rng.below(cols));
        m.set(r, c, true);
        if rng.chance(0.3) {
            m.set(r, c + 1, true);
            m.set(r + 1, c, true);
        }
    }
    m
}

fn noise(rows: usize, cols: usize, p: f64, seed: u64) -> SliceMask {
    let mut rng = Rng(seed);
    let pixels: Vec<bool> = (0..rows * cols).map(|_| rng.chance(p)).collect();
    SliceMask::from_bools(rows, cols, &pixels).unwrap()
}

fn pattern(rows: usize, cols: usize, f: impl Fn(usize, usize) -> bool) -> SliceMask {
    let pixels: Vec<bool> = (0..rows * cols).map(|i| f(i / cols, i % cols)).collect();
    SliceMask::from_bools(rows, cols, &pixels).unwrap()
}

fn cases() -> Vec<(String, SliceMask)> {
    let mut cases = Vec::new();
    for (i, (rows, cols)) in [
        (61, 97),
        (432, 432),
        (432, 432),
        (64, 64),
        (65, 129),
        (128, 200),
        (3, 64),
        (40, 7),
    ]
    .into_iter()
    .enumerate()
    {
        cases.push((
            format!("blobs{i}_{rows}x{cols}"),
            blobs(rows, cols, 17 + i as u64),
        ));
    }
    for (i, (rows, cols, p)) in [
        (61, 97, 0.3),
        (61, 97, 0.5),
        (100, 130, 0.6),
        (64, 192, 0.7),
        (432, 432, 0.45),
        (1, 70, 0.5),
        (70, 1, 0.5),
        (2, 5, 0.5),
        (5, 2, 0.6),
        (3, 3, 0.5),
    ]
    .into_iter()
    .enumerate()
    {
        cases.push((
            format!("noise{i}_{rows}x{cols}"),
            noise(rows, cols, p, 1000 + i as u64),
        ));
    }
    cases.push(("empty_9x11".into(), SliceMask::new(9, 11).unwrap()));
    cases.push(("full_10x70".into(), SliceMask::full(10, 70).unwrap()));
    cases.push(("full_4x4".into(), SliceMask::full(4, 4).unwrap()));
    cases.push(("one_1x1".into(), SliceMask::full(1, 1).unwrap()));
    cases.push((
        "checker_33x65".into(),
        pattern(33, 65, |r, c| (r + c) % 2 == 0),
    ));
    cases.push((
        "frames_50x129".into(),
        pattern(50, 129, |r, c| {
            let ring = r.min(c).min(49 - r).min(128 - c);
            ring % 4 == 1 || (ring % 4 == 3 && c % 17 == 0)
        }),
    ));
    cases.push((
        "stripes_20x128".into(),
        pattern(20, 128, |r, c| r % 3 == 0 || c == 64),
    ));
    cases
}

fn write_npy_u8(path: &Path, rows: usize, cols: usize, data: &[u8]) {
    let array = NpyArray {
        shape: vec![rows, cols],
        voxels: Voxels::U8(data.to_vec()),
        fortran_order: false,
    };
    dafne_io::numpy::write_npy(&array, path).unwrap();
}

/// Reads the C-order uint8 or uint32 2-D arrays the reference script writes.
fn read_npy(path: &Path) -> (usize, usize, Vec<u32>) {
    let (rows, cols, voxels) = read_npy_2d(path);
    let values = match voxels {
        Voxels::U8(v) => v.into_iter().map(u32::from).collect(),
        Voxels::U32(v) => v,
        other => panic!("unexpected dtype {:?}: {}", other.dtype(), path.display()),
    };
    (rows, cols, values)
}

/// A description of the first difference, or `None` when equal.
fn difference(cols: usize, ours: &[u32], reference: &[u32]) -> Option<String> {
    if ours.len() != reference.len() {
        return Some(format!("{} vs {} pixels", ours.len(), reference.len()));
    }
    let differing = ours.iter().zip(reference).filter(|(a, b)| a != b).count();
    let first = ours.iter().zip(reference).position(|(a, b)| a != b)?;
    Some(format!(
        "{differing} pixels differ, first at (row {}, col {}): ours {} reference {}",
        first / cols.max(1),
        first % cols.max(1),
        ours[first],
        reference[first]
    ))
}

#[test]
fn morphology_matches_scipy_and_skimage_bit_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let cases = cases();
    for (name, mask) in &cases {
        let path = dir.path().join(format!("{name}.in.npy"));
        write_npy_u8(&path, mask.rows(), mask.cols(), &mask.to_u8());
    }
    let join = |v: &[usize]| {
        v.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(",")
    };
    let areas = join(&AREAS);
    let min_sizes = join(&MIN_SIZES);
    let dir_arg = dir.path().as_os_str().to_owned();
    run_reference(
        "morphology.py",
        [
            dir_arg.as_os_str(),
            "--areas".as_ref(),
            areas.as_ref(),
            "--min-sizes".as_ref(),
            min_sizes.as_ref(),
        ],
    );

    let mut failures = Vec::new();
    let mut compared = 0;
    for (name, mask) in &cases {
        let as_u32 = |m: &SliceMask| m.to_u8().into_iter().map(u32::from).collect::<Vec<_>>();
        let mut ops: Vec<(String, Vec<u32>)> = vec![
            ("grow".into(), as_u32(&grow(mask))),
            ("shrink".into(), as_u32(&shrink(mask))),
            ("fill_holes".into(), as_u32(&fill_holes(mask))),
            ("label4".into(), label(mask, Connectivity::Four).into_vec()),
            ("label8".into(), label(mask, Connectivity::Eight).into_vec()),
        ];
        for n in MIN_SIZES {
            for (suffix, conn) in [("4", Connectivity::Four), ("8", Connectivity::Eight)] {
                ops.push((
                    format!("remove_small{n}_{suffix}"),
                    as_u32(&remove_small(mask, n, conn)),
                ));
            }
        }
        // skimage's max_tree raises on images narrower than 3 pixels.
        if mask.rows() >= 3 && mask.cols() >= 3 {
            for n in AREAS {
                ops.push((format!("area_opening{n}"), as_u32(&despeckle(mask, n))));
                ops.push((
                    format!("area_closing{n}"),
                    as_u32(&fill_small_holes(mask, n)),
                ));
            }
        }
        for (op, ours) in ops {
            let path = dir.path().join(format!("{name}.{op}.npy"));
            let (rows, cols, reference) = read_npy(&path);
            assert_eq!((rows, cols), (mask.rows(), mask.cols()), "{name}.{op}");
            compared += 1;
            if let Some(why) = difference(cols, &ours, &reference) {
                failures.push(format!("{name} {op}: {why}"));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {compared} comparisons differ from scipy/skimage:\n{}",
        failures.len(),
        failures.join("\n")
    );
    let wide = cases
        .iter()
        .filter(|(_, m)| m.rows() >= 3 && m.cols() >= 3)
        .count();
    assert_eq!(compared, cases.len() * 9 + wide * 8);
    assert!(wide >= 20, "{wide}");
}

/// The inputs must exercise what the operations are about, or bit-exactness proves little.
#[test]
fn generated_masks_have_holes_specks_and_edge_contact() {
    let blob = blobs(432, 432, 17 + 1);
    let holes = fill_holes(&blob).count() - blob.count();
    let specks = blob.count() - despeckle(&blob, 25).count();
    assert!(holes > 50, "holes {holes}");
    assert!(specks > 50, "specks {specks}");
    let edge =
        (0..432).any(|i| blob.get(0, i) || blob.get(431, i) || blob.get(i, 0) || blob.get(i, 431));
    assert!(edge);
    assert!(label(&blob, Connectivity::Four).count() > label(&blob, Connectivity::Eight).count());
}
