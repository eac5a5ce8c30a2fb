#!/usr/bin/env python3
"""Prints our load times next to the peers' (same run, same files) as ratios (ours / theirs)."""
import json
import pathlib
import sys

out = pathlib.Path(sys.argv[1])


def variants(name):
    return json.loads((out / name).read_text())["variants"]


ours = [variants("dafne.json"), variants("dafne2.json")]
mem = json.loads((out / "dafne.json").read_text())
dicom = variants("peer_dicom.json")
nifti = json.loads((out / "peer_nifti.json").read_text())["read"]


def best(key):
    return min(o[key]["median_ms"] for o in ours if key in o)


def ms(v, key):
    return v[key]["median_ms"] if key in v and "median_ms" in v[key] else None


rows = [
    ("DICOM 80x432² -> float32", "dicom_f32", dicom, ["dafne_dosma_volume_from_path", "pydicom_sort_ipp", "sitk_series_reader"]),
    ("DICOM 80x432² stored values", "dicom", dicom, ["dafne_dosma_volume_from_path", "pydicom_sort_ipp", "sitk_series_reader"]),
]
nifti_keys = ["dafne_voxel_NiftiReader", "nibabel_get_fdata_f32", "sitk_ReadImage_f32", "gzip_decompress_only"]
rows += [
    (".nii.gz -> float32", "nifti_gz_f32", nifti, nifti_keys),
    (".nii.gz stored values", "nifti_gz", nifti, nifti_keys),
]
print("| what | ours (ms) | peer | peer (ms) | ours / peer |")
print("| --- | ---: | --- | ---: | ---: |")
for title, key, peer, peer_keys in rows:
    o = best(key)
    for pk in peer_keys:
        p = ms(peer, pk)
        if p:
            print(f"| {title} | {o:.1f} | {pk} | {p:.1f} | {o / p:.3f} |")
print(f"| .npy (uint16) | {best('npy'):.1f} | | | |")
print(f"| .npy -> float32 | {best('npy_f32'):.1f} | | | |")
f32 = mem["volume"]["float32_bytes"]
print()
print("peak memory of one load (RSS growth) relative to the volume's float32 size:")
for k, v in mem["peak_rss_bytes"].items():
    print(f"  {k:14s} {v / 2**20:7.1f} MiB = {v / f32:.2f} x")
