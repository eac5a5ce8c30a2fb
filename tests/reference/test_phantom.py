"""`dafne phantom` writes files other software reads as they should be: the original's bundle
layout for numpy, and NIfTI image + label map with legend for nibabel."""
import numpy as np
import nibabel as nib


def test_bundle_has_the_originals_layout(tmp_path, dafne):
    out = tmp_path / "p.npz"
    dafne("phantom", out, "--slices", "3", "--size", "128", "--seed", "4")
    z = np.load(out)
    assert z["data"].shape == (128, 128, 3) and z["data"].dtype == np.float32
    masks = [k for k in z.files if k.startswith("mask_")]
    assert len(masks) == 24 and "mask_Vastus Lateralis_R" in masks
    labels = sum(z[k].astype(int) for k in masks)
    assert labels.max() == 1  # never two labels on one voxel
    # The right leg is on the image's left (columns = axis 1 of the (rows, cols, slices) array).
    cols = np.nonzero(z["mask_Vastus Lateralis_R"])[1]
    assert cols.max() < 64
    # Muscle darker than the fat around it (T1-like domain A).
    muscle = z["data"][z["mask_Rectus Femoris_R"] > 0].mean()
    assert np.percentile(z["data"], 99.5) > 1.8 * muscle


def test_image_and_label_map_open_in_nibabel(tmp_path, dafne):
    img, lab = tmp_path / "p.nii.gz", tmp_path / "labels.nii.gz"
    dafne("phantom", img, "--masks", lab, "--slices", "2", "--size", "96", "--domain", "0.5")
    i, l = nib.load(img), nib.load(lab)
    assert i.shape == l.shape == (96, 96, 2)
    np.testing.assert_allclose(i.affine, l.affine)
    legend = (tmp_path / "labels.nii.gz.csv").read_text().splitlines()
    assert legend[0] == "Value,Label" and len(legend) == 25
    assert set(np.unique(np.asanyarray(l.dataobj))) == set(range(25))
