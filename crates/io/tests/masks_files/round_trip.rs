//! Export -> import round trips, and our files as numpy, nibabel and the original read them.

use super::*;

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

#[test]
fn numpy_masks_on_a_moved_dataset_are_taken_as_they_are_with_a_warning() {
    let dataset = oblique_dataset();
    let d = dataset.dims();
    let rois = vec![
        roi("A", [d[0], d[1], d[2]], |k, r, c| k == 2 && r > 1 && c < 4),
        roi("a", [d[0], d[1], d[2]], |k, _, c| k == 0 && c == 6),
    ];
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("m.npz");
    // One key per ROI: names differing in case are fine in an npz.
    masks::export_npz(&path, &dataset, &rois).unwrap();
    let same = masks::import(&path, &dataset).unwrap();
    assert!(same.warnings.is_empty(), "{:?}", same.warnings);
    let mut moved = dataset.clone();
    moved.geometry.affine_lps[2][3] += 10.0;
    let imported = masks::import(&path, &moved).unwrap();
    assert_same_rois(&imported.rois, &rois, "moved dataset");
    assert_eq!(imported.warnings.len(), 1);
    assert!(imported.warnings[0].contains("differs from the dataset's"));
}

#[test]
fn a_nifti_without_sform_or_qform_is_taken_voxel_for_voxel_with_a_warning() {
    let dataset = oblique_dataset();
    let d = dataset.dims();
    let want = roi("Unplaced", [d[0], d[1], d[2]], |k, r, c| {
        (k + r + c) % 4 == 1
    });
    let dir = tempfile::tempdir().unwrap();
    masks::export_nifti(dir.path(), &dataset, std::slice::from_ref(&want)).unwrap();
    // Unzip it and clear qform_code and sform_code (bytes 252..256 of the NIfTI-1 header).
    let mut raw = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(dir.path().join("Unplaced.nii.gz")).unwrap())
        .read_to_end(&mut raw)
        .unwrap();
    raw[252..256].fill(0);
    let path = dir.path().join("Unplaced.nii");
    std::fs::write(&path, raw).unwrap();
    let imported = masks::import(&path, &dataset).unwrap();
    assert_same_rois(
        &imported.rois,
        std::slice::from_ref(&want),
        "unplaced NIfTI",
    );
    assert!(
        imported.warnings[0].contains("no sform or qform"),
        "{:?}",
        imported.warnings
    );
}
