//! Realignment of masks written on another grid, against scipy.

use super::*;

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
