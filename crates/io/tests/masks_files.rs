//! Mask files (everything but DICOM): the original Dafne's exports read back as the masks they
//! were made from (`dafne-legacy/exports`, reference_masks_*.npz), lossless round trips through
//! every export, our files checked by nibabel/numpy/scipy (run through the reference Python),
//! realignment against `scipy.ndimage.map_coordinates(order=0)`, and bad input.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

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

// ---------------------------------------------------------------------------------------------
// (a) Round trips

/// A 7 x 5 x 4 dataset (cols x rows x slices) on an oblique grid, with a rescale.
fn oblique_dataset() -> Volume {
    let (w, h, z) = (7, 5, 4);
    let (a, b) = (0.35f64, 0.12f64);
    let affine_lps: Affine = [
        [0.8 * a.cos(), -0.9 * a.sin(), 2.5 * 0.0, -41.3],
        [
            0.8 * a.sin() * b.cos(),
            0.9 * a.cos() * b.cos(),
            -2.5 * b.sin(),
            12.7,
        ],
        [
            0.8 * a.sin() * b.sin(),
            0.9 * a.cos() * b.sin(),
            2.5 * b.cos(),
            88.1,
        ],
        [0.0, 0.0, 0.0, 1.0],
    ];
    let voxels: Vec<i16> = (0..w * h * z)
        .map(|i| (i as i16 * 37) % 501 - 100)
        .collect();
    Volume::new(
        [w, h, z, 1],
        Voxels::I16(voxels),
        Rescale::Uniform(LinearMap {
            slope: 0.5,
            intercept: -3.0,
        }),
        Geometry::new(affine_lps, GeometrySource::Dicom),
        SeriesInfo::default(),
    )
    .unwrap()
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

/// Non-overlapping ROIs with awkward names (and one empty ROI).
fn awkward_rois(dims: [usize; 3]) -> Vec<NamedMasks> {
    let names = [
        "Vastus Lateralis_R",
        "Muscle é 🦴",
        "a/b\\c",
        "",
        ".hidden",
        "CON",
        "affine",
        "mask_x",
        "comma, \"quoted\"",
        "line\nbreak",
        "50%",
    ];
    let mut rois: Vec<NamedMasks> = names
        .iter()
        .enumerate()
        .map(|(i, name)| {
            roi(name, dims, move |k, r, c| {
                (k * 31 + r * 7 + c * 3) % names.len() == i && (r + c + k) % 3 != 0
            })
        })
        .collect();
    rois.insert(3, NamedMasks::new("Empty ROI"));
    rois
}

#[test]
fn every_export_round_trips_losslessly() {
    let dataset = oblique_dataset();
    let d = dataset.dims();
    let dims = [d[0], d[1], d[2]];
    let rois = awkward_rois(dims);
    assert!(rois.iter().filter(|r| r.count() > 0).count() >= 10);
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);

    let written = masks::export_npy(&p("npy"), &dataset, &rois).unwrap();
    assert_eq!(written.len(), rois.len());
    masks::export_npz(&p("masks.npz"), &dataset, &rois).unwrap();
    masks::export_bundle(&p("bundle.npz"), &dataset, &rois, Some("round trip")).unwrap();
    masks::export_nifti(&p("nifti"), &dataset, &rois).unwrap();
    let report =
        masks::export_compact_nifti(&p("compact.nii.gz"), &dataset, &rois, Overlap::Refuse)
            .unwrap();
    assert!(report.is_empty());

    for what in ["npy", "masks.npz", "bundle.npz", "nifti", "compact.nii.gz"] {
        let imported = masks::import(&p(what), &dataset).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            imported.warnings.is_empty(),
            "{what}: {:?}",
            imported.warnings
        );
        assert_same_rois(&imported.rois, &rois, what);
        if !what.ends_with('/') && what.contains('.') {
            // Single files keep the ROI order.
            let order: Vec<&str> = imported.rois.iter().map(|r| r.name.as_str()).collect();
            let want: Vec<&str> = rois.iter().map(|r| r.name.as_str()).collect();
            assert_eq!(order, want, "{what}");
        }
    }
    // The bundle is also a dataset: real values as float32, the dataset's geometry.
    let bundle = dafne_io::numpy::read_bundle(&p("bundle.npz")).unwrap();
    assert_eq!(bundle.volume.voxels(), &Voxels::F32(dataset.to_f32()));
    assert_eq!(bundle.comment.as_deref(), Some("round trip"));
    for (row, want) in bundle
        .volume
        .geometry
        .affine_lps
        .iter()
        .zip(&dataset.geometry.affine_lps)
    {
        for (g, w) in row.iter().zip(want) {
            assert!((g - w).abs() < 1e-9);
        }
    }
    // No temporary files are left behind.
    for entry in walk(dir.path()) {
        let name = entry.file_name().unwrap().to_string_lossy().into_owned();
        assert!(!name.ends_with(".tmp"), "{name}");
    }
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

#[test]
fn compact_nifti_resolves_overlaps_by_policy_and_reports_every_pair() {
    let dataset = oblique_dataset();
    let d = dataset.dims();
    let dims = [d[0], d[1], d[2]];
    let rois = vec![
        roi("A", dims, |k, r, c| k < 3 && r < 4 && c < 5),
        roi("B", dims, |k, r, c| k > 0 && r > 1 && c > 2),
        roi("C", dims, |_, r, c| (r + c) % 2 == 0),
        NamedMasks::new("Empty"),
    ];
    // Pairwise intersections counted voxel by voxel.
    let mut pairs = Vec::new();
    for i in 0..rois.len() {
        for j in i + 1..rois.len() {
            let mut n = 0u64;
            for k in 0..dims[2] {
                for r in 0..dims[1] {
                    for c in 0..dims[0] {
                        n += u64::from(rois[i].get(k, r, c) && rois[j].get(k, r, c));
                    }
                }
            }
            if n > 0 {
                pairs.push((rois[i].name.clone(), rois[j].name.clone(), n));
            }
        }
    }
    assert_eq!(pairs.len(), 3);
    let dir = tempfile::tempdir().unwrap();
    for policy in [Overlap::LastWins, Overlap::FirstWins] {
        let path = dir.path().join(format!("{policy:?}.nii.gz"));
        let report = masks::export_compact_nifti(&path, &dataset, &rois, policy).unwrap();
        let got: Vec<(String, String, u64)> = report
            .pairs
            .iter()
            .map(|p| (p.first.clone(), p.second.clone(), p.voxels))
            .collect();
        assert_eq!(got, pairs, "{policy:?}");
        let winner = |k: usize, r: usize, c: usize| {
            let claim = rois.iter().position(|x| x.get(k, r, c));
            match policy {
                Overlap::FirstWins => claim,
                _ => rois.iter().rposition(|x| x.get(k, r, c)),
            }
        };
        let want: Vec<NamedMasks> = rois
            .iter()
            .enumerate()
            .map(|(i, x)| roi(&x.name, dims, |k, r, c| winner(k, r, c) == Some(i)))
            .collect();
        let imported = masks::import(&path, &dataset).unwrap();
        assert_same_rois(&imported.rois, &want, &format!("{policy:?}"));
    }
    let refused = dir.path().join("refused.nii.gz");
    let err = masks::export_compact_nifti(&refused, &dataset, &rois, Overlap::Refuse).unwrap_err();
    assert!(matches!(err, MaskIoError::Overlap(_)), "{err}");
    assert!(err.to_string().contains("\"A\" and \"B\""), "{err}");
    assert!(!refused.exists());
    assert!(!dir.path().join("refused.nii.gz.csv").exists());
    assert!(!dir.path().join("refused.nii.gz_itk-snap.txt").exists());
}

// ---------------------------------------------------------------------------------------------
// (c) Our files as nibabel, numpy and the original's importer read them

/// A 6 x 5 x 3 axis-aligned dataset whose affine float32 holds exactly (so the original's
/// realignment of our NIfTI, a pure axis swap, is exact in numpy too).
fn exact_dataset() -> Volume {
    let (w, h, z) = (6, 5, 3);
    let affine_lps: Affine = [
        [0.5, 0.0, 0.0, -10.25],
        [0.0, 0.75, 0.0, 20.5],
        [0.0, 0.0, 2.5, 3.0],
        [0.0, 0.0, 0.0, 1.0],
    ];
    let voxels: Vec<u16> = (0..w * h * z).map(|i| (i * 13 % 97) as u16).collect();
    Volume::new(
        [w, h, z, 1],
        Voxels::U16(voxels),
        Rescale::Uniform(LinearMap {
            slope: 1.5,
            intercept: 2.0,
        }),
        Geometry::new(affine_lps, GeometrySource::Dicom),
        SeriesInfo::default(),
    )
    .unwrap()
}

/// C-order (rows, cols, slices) values of a volume in our layout.
fn c_order<T: Copy>(ours: &[T], dims: [usize; 3]) -> Vec<T> {
    let [w, h, z] = dims;
    let mut out = Vec::with_capacity(ours.len());
    for r in 0..h {
        for c in 0..w {
            for k in 0..z {
                out.push(ours[c + w * (r + h * k)]);
            }
        }
    }
    out
}

fn write_c_order(path: &Path, voxels: Voxels, dims: [usize; 3]) {
    let array = dafne_io::numpy::NpyArray {
        shape: vec![dims[1], dims[0], dims[2]],
        voxels,
        fortran_order: false,
    };
    dafne_io::numpy::write_npy(&array, path).unwrap();
}

const CHECK_OUR_FILES: &str = r#"
import csv, json, sys
import numpy as np, nibabel as nib
from scipy.ndimage import map_coordinates
d = sys.argv[1]
m = json.load(open(f"{d}/manifest.json", encoding="utf-8"))
exp = [np.load(f"{d}/expected_{i}.npy") for i in range(len(m["names"]))]
H, W, Z = exp[0].shape
aff = np.array(m["affine_ras"])        # our axes (col, row, slice)
arr_aff = aff[:, [1, 0, 2, 3]]         # the original's array axes (row, col, slice)
fails = []
def check(ok, what):
    if not ok:
        fails.append(what)
for i, stem in enumerate(m["stems"]):
    a = np.load(f"{d}/npy/{stem}.npy")
    check(a.dtype == np.uint8 and np.array_equal(a, exp[i]), f"npy {stem!r}")
# The original's save_npz_masks layout: ROI keys, then orientation, then affine.
z = np.load(f"{d}/masks.npz")
check(list(z.keys()) == m["npz_keys"] + ["orientation", "affine"], f"npz keys {list(z.keys())}")
check(np.allclose(z["affine"], arr_aff, rtol=0, atol=1e-12), "npz affine")
check(tuple(z["orientation"]) == nib.aff2axcodes(z["affine"]), f"npz orientation {z['orientation']}")
for i, k in enumerate(m["npz_keys"]):
    # The original's loadMask: every array (rows, cols, slices) like the image.
    check(z[k].dtype == np.uint8 and np.array_equal(z[k], exp[i]), f"npz {k!r}")
b = np.load(f"{d}/bundle.npz")
check(b["data"].dtype == np.float32 and np.array_equal(b["data"], np.load(f"{d}/expected_data.npy")), "bundle data")
check(np.allclose(b["resolution"], m["resolution"], rtol=0, atol=1e-12), f"bundle resolution {b['resolution']}")
check(np.allclose(b["affine"], arr_aff, rtol=0, atol=1e-12), "bundle affine")
check(str(b["comment"]) == m["comment"], "bundle comment")
check(sorted(k for k in b.keys() if k.startswith("mask_")) == sorted("mask_" + s for s in m["stems"]), "bundle mask keys")
for i, stem in enumerate(m["stems"]):
    check(np.array_equal(b["mask_" + stem], exp[i]), f"bundle mask {stem!r}")
def original_realign(img):
    # dicomUtils.misc.realign_medical_volume(mask, dataset, interpolation_order=0)
    grid = np.array(np.meshgrid(np.arange(H), np.arange(W), np.arange(Z), indexing="ij")).astype(float).reshape(3, -1)
    coords = np.linalg.inv(img.affine) @ arr_aff @ np.vstack([grid, np.ones(grid.shape[1])])
    return map_coordinates(np.asanyarray(img.dataobj), coords[:3], order=0).reshape(H, W, Z)
for i, stem in enumerate(m["stems"]):
    img = nib.load(f"{d}/nifti/{stem}.nii.gz")
    data = np.asanyarray(img.dataobj)
    check(data.shape == (W, H, Z) and np.array_equal(data.transpose(1, 0, 2), exp[i]), f"nifti voxels {stem!r}")
    check(np.allclose(img.affine, aff, rtol=0, atol=1e-5), f"nifti affine {stem!r}")
    check(np.array_equal(original_realign(img), exp[i]), f"nifti through the original's realignment {stem!r}")
img = nib.load(f"{d}/compact.nii.gz")
lab = np.asanyarray(img.dataobj)
check(lab.dtype == np.uint16 and np.array_equal(lab.transpose(1, 0, 2), np.load(f"{d}/expected_compact.npy")), "compact labels")
check(np.allclose(img.affine, aff, rtol=0, atol=1e-5), "compact affine")
with open(f"{d}/compact.nii.gz.csv", newline="", encoding="utf-8") as f:
    rows = list(csv.reader(f))
check(rows == [["Value", "Label"]] + [[str(k + 1), n] for k, n in enumerate(m["compact_names"])], f"legend {rows}")
print("\n".join(fails))
sys.exit(1 if fails else 0)
"#;

#[test]
fn our_files_read_in_numpy_and_nibabel_as_the_original_reads_its_own() {
    let dataset = exact_dataset();
    let d = dataset.dims();
    let dims = [d[0], d[1], d[2]];
    let rois = awkward_rois(dims);
    let mut compact_rois = rois.clone();
    compact_rois.push(roi("Overlap", dims, |k, r, c| k == 1 && r < 3 && c < 4));
    let dir = tempfile::tempdir().unwrap();
    let p = |name: &str| dir.path().join(name);
    masks::export_npy(&p("npy"), &dataset, &rois).unwrap();
    masks::export_npz(&p("masks.npz"), &dataset, &rois).unwrap();
    masks::export_bundle(&p("bundle.npz"), &dataset, &rois, Some("ünï comment")).unwrap();
    masks::export_nifti(&p("nifti"), &dataset, &rois).unwrap();
    let report = masks::export_compact_nifti(
        &p("compact.nii.gz"),
        &dataset,
        &compact_rois,
        Overlap::LastWins,
    )
    .unwrap();
    assert!(!report.is_empty());

    for (i, roi) in rois.iter().enumerate() {
        let ours = masks_in_layout(roi, dims);
        write_c_order(
            &p(&format!("expected_{i}.npy")),
            Voxels::U8(c_order(&ours, dims)),
            dims,
        );
    }
    write_c_order(
        &p("expected_data.npy"),
        Voxels::F32(c_order(&dataset.to_f32(), dims)),
        dims,
    );
    let mut labels = vec![0u16; dims.iter().product()];
    for (i, roi) in compact_rois.iter().enumerate() {
        for (at, v) in masks_in_layout(roi, dims).into_iter().enumerate() {
            if v != 0 {
                labels[at] = i as u16 + 1;
            }
        }
    }
    write_c_order(
        &p("expected_compact.npy"),
        Voxels::U16(c_order(&labels, dims)),
        dims,
    );
    let spacing = dataset.geometry.spacing_mm();
    let manifest = serde_json::json!({
        "names": rois.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
        "stems": rois.iter().map(|r| names::encode(&r.name)).collect::<Vec<_>>(),
        "npz_keys": rois.iter().map(|r| names::encode_npz_key(&r.name)).collect::<Vec<_>>(),
        "compact_names": compact_rois.iter().map(|r| r.name.clone()).collect::<Vec<_>>(),
        "affine_ras": dataset.geometry.affine_ras(),
        "resolution": [spacing[1], spacing[0], spacing[2]],
        "comment": "ünï comment",
    });
    std::fs::write(p("manifest.json"), manifest.to_string()).unwrap();
    run_python(CHECK_OUR_FILES, &[dir.path()]);
}

/// A ROI as 0/1 in our layout (axis 0 = column fastest).
fn masks_in_layout(roi: &NamedMasks, dims: [usize; 3]) -> Vec<u8> {
    let [w, h, z] = dims;
    let mut out = vec![0u8; w * h * z];
    for k in 0..z {
        for r in 0..h {
            for c in 0..w {
                out[c + w * (r + h * k)] = u8::from(roi.get(k, r, c));
            }
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// (d) Realignment against scipy.ndimage.map_coordinates(order=0)

const SCIPY_REALIGN: &str = r#"
import json, sys
import numpy as np, nibabel as nib
from scipy.ndimage import map_coordinates
d = sys.argv[1]
m = json.load(open(f"{d}/manifest.json"))
img = nib.load(f"{d}/mask.nii.gz")
src = np.asanyarray(img.dataobj)
W, H, Z = m["dims"]
grid = np.array(np.meshgrid(np.arange(W), np.arange(H), np.arange(Z), indexing="ij")).astype(float).reshape(3, -1)
c = (np.linalg.inv(img.affine) @ np.array(m["affine_ras"]) @ np.vstack([grid, np.ones(grid.shape[1])]))[:3]
out = map_coordinates(src, c, order=0)
# Within 1e-3 voxel outside the first or last voxel we take that voxel (scipy would give 0).
n = np.array(src.shape)[:, None] - 1.0
band = (((c < 0) & (c >= -1e-3)) | ((c > n) & (c <= n + 1e-3))).any(0) & ~((c < -1e-3) | (c > n + 1e-3)).any(0)
out[band] = map_coordinates(src, c[:, band], order=0, mode="nearest")
np.save(f"{d}/expected.npy", out.reshape(W, H, Z).transpose(1, 0, 2).astype(np.uint16))
ties = int((np.abs(c - np.floor(c) - 0.5) < 1e-9).any(0).sum())
print(json.dumps({"band": int(band.sum()), "ties": ties, "set": int((out > 0).sum())}))
"#;

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

/// Writes a label volume (0..=3) on `mask_affine`, imports it onto `dataset` and compares every
/// voxel with scipy; returns scipy's (band, ties, set) counts.
fn realign_case(dataset: &Volume, mask_dims: [usize; 3], mask_affine: Affine) -> (u64, u64, u64) {
    let dir = tempfile::tempdir().unwrap();
    let count = mask_dims.iter().product::<usize>();
    let mut state = 12345u32;
    let labels: Vec<u8> = (0..count)
        .map(|i| {
            state = state.wrapping_mul(1_103_515_245).wrapping_add(12345);
            let blob = (i / 3) % 4;
            if (state >> 16).is_multiple_of(5) {
                0
            } else {
                blob as u8
            }
        })
        .collect();
    let mask = volume_on(mask_dims, Voxels::U8(labels), mask_affine);
    dafne_io::nifti::write(&mask, &dir.path().join("mask.nii.gz")).unwrap();
    let d = dataset.dims();
    let dims = [d[0], d[1], d[2]];
    let manifest = serde_json::json!({"dims": dims, "affine_ras": dataset.geometry.affine_ras()});
    std::fs::write(dir.path().join("manifest.json"), manifest.to_string()).unwrap();
    let stats: serde_json::Value =
        serde_json::from_str(run_python(SCIPY_REALIGN, &[dir.path()]).trim()).unwrap();

    let imported = masks::import(&dir.path().join("mask.nii.gz"), dataset).unwrap();
    let expected = std::fs::read(dir.path().join("expected.npy")).unwrap();
    let expected = dafne_io::numpy::read_npy_bytes(&expected).unwrap();
    let want: Vec<NamedMasks> = (1..=3)
        .map(|v| NamedMasks {
            name: v.to_string(),
            slices: masks_of_array(&expected, Some(f64::from(v))),
        })
        .filter(|r| r.count() > 0)
        .collect();
    let got: Vec<NamedMasks> = imported
        .rois
        .into_iter()
        .filter(|r| r.count() > 0)
        .collect();
    assert_same_rois(&got, &want, "realigned label map");
    assert!(
        imported.warnings[0].contains("no legend"),
        "{:?}",
        imported.warnings
    );
    let n = |k: &str| stats[k].as_u64().unwrap();
    (n("band"), n("ties"), n("set"))
}

#[test]
fn realignment_matches_scipy_map_coordinates_order_0() {
    // Oblique dataset; mask coarser, rotated differently and shifted.
    let dataset = volume_on(
        [23, 19, 6],
        Voxels::U8(vec![0; 23 * 19 * 6]),
        rotated(0.31, 0.07, [0.8, 0.9, 2.5], [-40.0, 12.0, 80.0]),
    );
    let (band, _, set) = realign_case(
        &dataset,
        [15, 13, 5],
        rotated(0.12, -0.05, [1.3, 1.25, 3.1], [-39.0, 10.5, 79.0]),
    );
    assert!(set > 500, "{set} voxels set: the grids hardly overlap");
    assert!(band <= 2, "{band} samples in the edge band");

    // A 2x coarser grid on the same axes: half the samples fall exactly half-way (ties round up).
    let fine = volume_on(
        [12, 10, 4],
        Voxels::U8(vec![0; 480]),
        rotated(0.0, 0.0, [1.0, 1.0, 2.0], [5.0, -3.0, 1.0]),
    );
    let (_, ties, set) = realign_case(
        &fine,
        [6, 5, 4],
        rotated(0.0, 0.0, [2.0, 2.0, 2.0], [4.0, -4.0, 1.0]),
    );
    assert!(ties > 100 && set > 100, "{ties} ties, {set} set");
}

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

    // DICOM is recognised and left to the DICOM reader.
    let err = masks::import(&exports().join("masks_dicom"), &dataset).unwrap_err();
    assert!(matches!(err, MaskIoError::Unsupported { .. }), "{err}");
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
    for _ in 0..2 {
        let t = Instant::now();
        masks::export_compact_nifti(
            &dir.path().join("c.nii.gz"),
            &dataset,
            &rois,
            Overlap::LastWins,
        )
        .unwrap();
        let export_compact = t.elapsed();
        let t = Instant::now();
        let back = masks::import(&dir.path().join("c.nii.gz"), &dataset).unwrap();
        let import_compact = t.elapsed();
        assert_eq!(back.rois.len(), 10);
        let t = Instant::now();
        masks::export_nifti(&dir.path().join("nifti"), &dataset, &rois).unwrap();
        let export_folder = t.elapsed();
        let t = Instant::now();
        let back = masks::import(&dir.path().join("nifti"), &dataset).unwrap();
        let import_folder = t.elapsed();
        assert_eq!(back.rois.len(), 10);
        println!(
            "compact-nifti: export {export_compact:?}, import {import_compact:?}; \
             nifti folder: export {export_folder:?}, import {import_folder:?}"
        );
    }
}
