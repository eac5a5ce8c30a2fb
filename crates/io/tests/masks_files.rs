//! Mask files (everything but DICOM): the original Dafne's exports read back as the masks they
//! were made from (`dafne-legacy/exports`, reference_masks_*.npz), lossless round trips through
//! every export, our files checked by nibabel/numpy/scipy (run through the reference Python),
//! realignment against `scipy.ndimage.map_coordinates(order=0)`, and bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "masks_files/bad_input.rs"]
mod bad_input;
mod common;
#[path = "masks_files/realign.rs"]
mod realign;
#[path = "masks_files/round_trip.rs"]
mod round_trip;

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;

use dafne_core::{
    Affine, Geometry, GeometrySource, LinearMap, NamedMasks, Rescale, SeriesInfo, SliceMask,
    Volume, Voxels,
};
use dafne_io::masks::{self, legend, names, MaskIoError, Overlap};

fn exports() -> PathBuf {
    common::data_dir().join("dafne-legacy/exports")
}

fn legacy_dataset() -> Volume {
    let path = common::data_dir().join("dafne-legacy/input/dicom_mr_small_3slices");
    dafne_io::load(&path, None).unwrap().volume
}

fn python() -> PathBuf {
    match std::env::var_os("DAFNE_PYTHON") {
        Some(p) => PathBuf::from(p),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.venv/bin/python"),
    }
}

/// Runs `script` with the reference Python and returns its stdout; fails the test on error.
fn run_python(script: &str, args: &[&Path]) -> String {
    let python = python();
    assert!(
        python.exists(),
        "reference Python not found at {}: run `scripts/setup.sh --test` or set DAFNE_PYTHON",
        python.display()
    );
    let output = Command::new(&python)
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", python.display()));
    assert!(
        output.status.success(),
        "reference script failed ({}):\n{}\n{}",
        output.status,
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

/// Masks of a (rows, cols, slices) array of any dtype: set where > 0 (or == `value`).
fn masks_of_array(
    array: &dafne_io::numpy::NpyArray,
    value: Option<f64>,
) -> BTreeMap<usize, SliceMask> {
    let [h, w, z] = array.shape[..] else {
        panic!("not 3-D: {:?}", array.shape)
    };
    let mut out = BTreeMap::new();
    for k in 0..z {
        let mut mask = SliceMask::new(h, w).unwrap();
        for r in 0..h {
            for c in 0..w {
                let index = if array.fortran_order {
                    r + h * (c + w * k)
                } else {
                    (r * w + c) * z + k
                };
                let v = array.voxels.get_f64(index).unwrap();
                if value.map_or(v > 0.0, |x| v == x) {
                    mask.set(r, c, true);
                }
            }
        }
        if !mask.is_empty() {
            out.insert(k, mask);
        }
    }
    out
}

/// The `mask_<ROI>` arrays of a reference npz, in file order (read with the zip crate and the
/// plain `.npy` parser, not the importer under test).
fn reference_masks(file: &str) -> Vec<NamedMasks> {
    let bytes = std::fs::read(exports().join(file)).unwrap();
    let mut zip = zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap();
    let mut out = Vec::new();
    for i in 0..zip.len() {
        let mut member = zip.by_index(i).unwrap();
        let key = member
            .name()
            .unwrap()
            .strip_suffix(".npy")
            .unwrap()
            .to_string();
        let mut npy = Vec::new();
        member.read_to_end(&mut npy).unwrap();
        let array = dafne_io::numpy::read_npy_bytes(&npy).unwrap();
        out.push(NamedMasks {
            name: key.strip_prefix("mask_").unwrap().to_string(),
            slices: masks_of_array(&array, None),
        });
    }
    out
}

/// ROIs without empty slice entries, sorted by name.
fn normalized(rois: &[NamedMasks]) -> Vec<NamedMasks> {
    let mut out: Vec<NamedMasks> = rois
        .iter()
        .map(|r| NamedMasks {
            name: r.name.clone(),
            slices: r
                .slices
                .iter()
                .filter(|(_, m)| !m.is_empty())
                .map(|(k, m)| (*k, m.clone()))
                .collect(),
        })
        .collect();
    out.sort_by(|a, b| a.name.cmp(&b.name));
    out
}

fn assert_same_rois(got: &[NamedMasks], want: &[NamedMasks], what: &str) {
    let (got, want) = (normalized(got), normalized(want));
    let names = |r: &[NamedMasks]| r.iter().map(|x| x.name.clone()).collect::<Vec<_>>();
    assert_eq!(names(&got), names(&want), "{what}: ROI names");
    for (g, w) in got.iter().zip(&want) {
        let gs: Vec<usize> = g.slices.keys().copied().collect();
        let ws: Vec<usize> = w.slices.keys().copied().collect();
        assert_eq!(gs, ws, "{what}: slices of ROI {:?}", g.name);
        for (k, m) in &w.slices {
            assert!(
                g.slices[k] == *m,
                "{what}: ROI {:?} slice {k}: {} voxels vs {} in the reference",
                g.name,
                g.slices[k].count(),
                m.count()
            );
        }
    }
}

/// A ROI of `rows x cols` masks where `f(slice, row, col)`.
fn roi(name: &str, dims: [usize; 3], f: impl Fn(usize, usize, usize) -> bool) -> NamedMasks {
    let mut out = NamedMasks::new(name);
    for k in 0..dims[2] {
        let mut mask = SliceMask::new(dims[1], dims[0]).unwrap();
        for r in 0..dims[1] {
            for c in 0..dims[0] {
                mask.set(r, c, f(k, r, c));
            }
        }
        if !mask.is_empty() {
            out.slices.insert(k, mask);
        }
    }
    out
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// Rotation by `a` about z then `b` about x, columns scaled by `spacing`.
fn rotated(a: f64, b: f64, spacing: [f64; 3], origin: [f64; 3]) -> Affine {
    let rz = [
        [a.cos(), -a.sin(), 0.0],
        [a.sin(), a.cos(), 0.0],
        [0.0, 0.0, 1.0],
    ];
    let rx = [
        [1.0, 0.0, 0.0],
        [0.0, b.cos(), -b.sin()],
        [0.0, b.sin(), b.cos()],
    ];
    let mut out = [[0.0; 4]; 4];
    for r in 0..3 {
        for c in 0..3 {
            out[r][c] = (0..3).map(|k| rx[r][k] * rz[k][c]).sum::<f64>() * spacing[c];
        }
        out[r][3] = origin[r];
    }
    out[3][3] = 1.0;
    out
}

fn volume_on(dims: [usize; 3], voxels: Voxels, affine_lps: Affine) -> Volume {
    Volume::new(
        [dims[0], dims[1], dims[2], 1],
        voxels,
        Rescale::Uniform(LinearMap::IDENTITY),
        Geometry::new(affine_lps, GeometrySource::NiftiSform),
        SeriesInfo::default(),
    )
    .unwrap()
}

// ---------------------------------------------------------------------------------------------
// (b) The original's exports

#[test]
fn original_exports_read_back_as_the_masks_they_were_made_from() {
    let dataset = legacy_dataset();
    let all = reference_masks("reference_masks_calcOutputData.npz");
    let clean = reference_masks("reference_masks_clean.npz");
    assert_eq!(all.len(), 5);
    assert!(all.iter().map(NamedMasks::count).sum::<usize>() > 3000);
    for (path, want) in [
        ("masks_npy", &all),
        ("masks.npz", &all),
        ("bundle_single_contrast.npz", &all),
        ("bundle_two_contrasts.npz", &all),
        ("masks_nifti", &all),
        ("clean_nifti", &clean),
        ("clean_compact.nii.gz", &clean),
    ] {
        let imported = masks::import(&exports().join(path), &dataset)
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_same_rois(&imported.rois, want, path);
        if path == "masks_npy" {
            // The original's spurious orientation.npy (a string array) is skipped, and said so.
            assert_eq!(imported.warnings.len(), 1, "{:?}", imported.warnings);
            assert!(imported.warnings[0].starts_with("orientation.npy skipped"));
        } else {
            assert!(
                imported.warnings.is_empty(),
                "{path}: {:?}",
                imported.warnings
            );
        }
    }
    // A single file of the folder export, named by its stem.
    let one = masks::import(&exports().join("masks_nifti/Muscle é.nii.gz"), &dataset).unwrap();
    assert_same_rois(&one.rois, &all[1..2], "one NIfTI file");
    let one = masks::import(&exports().join("masks_npy/Sartorius_R.npy"), &dataset).unwrap();
    assert_same_rois(&one.rois, &all[2..3], "one npy file");
}

#[test]
fn the_originals_aliased_label_map_reads_per_value_with_a_warning() {
    let dataset = legacy_dataset();
    let imported = masks::import(&exports().join("masks_compact.nii.gz"), &dataset).unwrap();
    let bytes = std::fs::read(exports().join("reference_compact_labels.npy")).unwrap();
    let labels = dafne_io::numpy::read_npy_bytes(&bytes).unwrap();
    let legend = [
        "Vastus Lateralis_R",
        "Muscle é",
        "Sartorius_R",
        "Empty ROI",
        "VL or Muscle (union)",
    ];
    let mut want: Vec<NamedMasks> = Vec::new();
    for (value, name) in (1..=10).zip(
        legend
            .iter()
            .map(|s| s.to_string())
            .chain((6..=10).map(|v: i32| v.to_string())),
    ) {
        want.push(NamedMasks {
            name,
            slices: masks_of_array(&labels, Some(f64::from(value))),
        });
    }
    // Legend rows first in legend order, then the unknown sums by value.
    let got_names: Vec<&str> = imported.rois.iter().map(|r| r.name.as_str()).collect();
    let want_names: Vec<&str> = want.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(got_names, want_names);
    assert_same_rois(&imported.rois, &want, "masks_compact.nii.gz");
    assert_eq!(
        imported.rois[2].count(),
        820,
        "value 3 = Sartorius_R or VL + Muscle é"
    );
    assert_eq!(imported.warnings.len(), 1);
    assert!(
        imported.warnings[0].contains("6, 7, 8, 9, 10"),
        "{:?}",
        imported.warnings
    );
}

#[test]
fn legends_are_byte_identical_to_the_originals_and_read_back() {
    for (file, count) in [("clean_compact.nii.gz", 3), ("masks_compact.nii.gz", 5)] {
        let csv_path = exports().join(format!("{file}.csv"));
        let rows = legend::read_csv(&csv_path).unwrap();
        assert_eq!(rows.len(), count);
        assert!(rows
            .iter()
            .enumerate()
            .all(|(i, (v, _))| *v as usize == i + 1));
        let names: Vec<String> = rows.into_iter().map(|(_, n)| n).collect();
        assert_eq!(
            legend::csv_text(&names).as_bytes(),
            std::fs::read(&csv_path).unwrap(),
            "{file}.csv"
        );
        let snap_path = exports().join(format!("{file}_itk-snap.txt"));
        assert_eq!(
            legend::itksnap_text(&names).as_bytes(),
            std::fs::read(&snap_path).unwrap(),
            "{file}_itk-snap.txt"
        );
        let labels = legend::read_itksnap(&snap_path).unwrap();
        assert_eq!(labels.len(), count + 1);
        assert_eq!(labels[0].name, "Clear Label");
        assert!(!labels[0].visible && labels[1].visible && labels[1].alpha == 1.0);
        for (k, label) in labels.iter().enumerate().skip(1) {
            assert_eq!(label.value as usize, k);
            assert_eq!(label.name, names[k - 1]);
            assert_eq!(label.rgb, legend::label_colour(k - 1, count));
        }
    }
}

#[test]
fn legend_readers_tolerate_bom_crlf_and_quotes_and_refuse_garbage() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("l.csv");
    std::fs::write(
        &path,
        "\u{feff}Value,Label\r\n1,\"a, \"\"b\"\"\"\r\n\r\n 3 ,c,d\r\n",
    )
    .unwrap();
    assert_eq!(
        legend::read_csv(&path).unwrap(),
        vec![(1, "a, \"b\"".to_string()), (3, "c,d".to_string())]
    );
    for (text, needle) in [
        ("Value,Label\n1,a\n1,b\n", "appears twice"),
        ("Value,Label\n1,a\nx,b\n", "line 3"),
        ("Value,Label\n-2,a\n", "not a non-negative integer"),
        ("Value,Label\n2\n", "has no name"),
        ("Value,Label\n2,\"open\n", "not closed"),
    ] {
        std::fs::write(&path, text).unwrap();
        let err = legend::read_csv(&path).unwrap_err();
        assert!(matches!(err, MaskIoError::Format { .. }), "{err}");
        assert!(err.to_string().contains(needle), "{text:?}: {err}");
        assert!(err.to_string().ends_with(&path.display().to_string()));
    }
    let snap = dir.path().join("s.txt");
    for text in [
        "    1   255    0    0        1  1  1    no quotes\n",
        "    1   300    0    0        1  1  1    \"x\"\n",
        "    1   25    0    0        1  1    \"x\"\n",
        "    1   2    0    0        1  1  1    \"x\"\n    1   2    0    0        1  1  1    \"y\"\n",
    ] {
        std::fs::write(&snap, text).unwrap();
        assert!(matches!(legend::read_itksnap(&snap), Err(MaskIoError::Format { .. })), "{text:?}");
    }
}
