#!/usr/bin/env python3
"""Prints our times next to the peers' (same run, same files) as ratios (ours / theirs).

    compare.py OUT [all|load|morphology|stats]
"""
import json
import pathlib
import sys

out = pathlib.Path(sys.argv[1])
part = sys.argv[2] if len(sys.argv) > 2 else "all"


def load_section():
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


def morphology_section():
    ours = [json.loads((out / n).read_text()) for n in ("dafne_morphology.json", "dafne_morphology2.json")]
    peer = json.loads((out / "peer_morphology.json").read_text())
    theirs = {**peer["slice"], **peer["volume"]}

    def best(key):
        return min(o["variants"][key]["median_ms"] for o in ours if key in o["variants"])

    # (title, our variant, peer variant): same inputs, same operation, bit-identical results.
    rows = [
        ("grow (dilate 1 px), 432² slice", "dilate_1px", "dilate_1px"),
        ("shrink (erode 1 px), 432² slice", "erode_1px", "erode_1px"),
        ("fill holes, 432² slice", "fill_holes_scipy", "fill_holes_scipy"),
        ("fill small holes (area closing 25), 432² slice", "dafne_fill_holes_area_closing",
         "dafne_fill_holes_area_closing"),
        ("despeckle (area opening 25), 432² slice", "dafne_despeckle_area_opening",
         "dafne_despeckle_area_opening"),
        ("remove small components, 432² slice", "remove_small_components", "remove_small_components"),
        ("label only (ours) vs label+bincount (peer), 432² slice", "label_4", "remove_small_components"),
        ("grow, 80 slices one by one", "dilate_1px_per_slice_loop", "dilate_1px_per_slice_loop"),
        ("fill holes, 80 slices one by one", "fill_holes_scipy_per_slice_loop", "fill_holes_scipy_per_slice_loop"),
        ("despeckle, 80 slices one by one", "dafne_despeckle_area_opening_per_slice_loop",
         "dafne_despeckle_area_opening_per_slice_loop"),
        ("fill small holes, 80 slices one by one", "dafne_fill_holes_area_closing_per_slice_loop",
         "dafne_fill_holes_area_closing_per_slice_loop"),
    ]
    print(f"morphology (peer: scipy {peer['versions'].get('scipy')}, skimage {peer['versions'].get('skimage')})")
    print("| what | ours (ms) | peer (ms) | ours / peer |")
    print("| --- | ---: | ---: | ---: |")
    for title, key, pk in rows:
        if pk in theirs and "median_ms" in theirs[pk]:
            o, p = best(key), theirs[pk]["median_ms"]
            print(f"| {title} | {o:.4f} | {p:.3f} | {o / p:.5f} |")
    mine, their_checks = ours[0]["checks"], peer.get("checks", {})
    common = sorted(set(mine) & set(their_checks))
    differ = [k for k in common if mine[k] != their_checks[k]]
    print()
    if differ:
        for k in differ:
            print(f"RESULT DIFFERS {k}: ours {mine[k]} peer {their_checks[k]}")
    else:
        print(f"pixel counts of the slice results equal the peer's ({len(common)} checks)")
    return not differ


def stats_section():
    ours = [json.loads((out / n).read_text()) for n in ("dafne_stats.json", "dafne_stats2.json")]
    peer = json.loads((out / "peer_stats.json").read_text())
    theirs = peer["timings"]

    def best(key):
        return min(o["variants"][key]["median_ms"] for o in ours if key in o["variants"])

    print(f"ROI statistics, 10 ROIs over {peer['shape']} (peer: numpy {peer['versions'].get('numpy')}; "
          f"ours on {ours[0]['threads']} threads, and on 1)")
    print("| ours | ours (ms) | peer | peer (ms) | ours / peer |")
    print("| --- | ---: | --- | ---: | ---: |")
    for key in ("stats_global", "stats_global_1thread"):
        for pk in ("dafne_saveStats", "numpy_bool_index", "numpy_label_sort", "numpy_histogram_u16"):
            if pk in theirs and "median_ms" in theirs[pk]:
                o, p = best(key), theirs[pk]["median_ms"]
                print(f"| {key} | {o:.2f} | {pk} | {p:.1f} | {o / p:.3f} |")
    print(f"| stats_slicewise ({ours[0]['slicewise_rows']} rows) | {best('stats_slicewise'):.2f} | | | |")
    print(f"| stats_global + to_csv | {best('stats_global_csv'):.2f} | | | |")

    # The peer computes on float32 (np.ma / ndarray reductions accumulate in float32): counts
    # and percentiles of the integer-valued data are exact there, mean and std only to float32.
    mine, their = ours[0]["checks"], peer["checks"]
    problems = []
    for k, v in their["roi_01"].items():
        o = mine["roi_01"].get(k)
        tol = 1e-6 * abs(v) if k in ("mean", "std") else 0.0
        if o is None or abs(o - v) > tol:
            problems.append(f"roi_01 {k}: ours {o} peer {v}")
    if mine["slices_per_roi"] != their["slices_per_roi"]:
        problems.append(f"slices per ROI: ours {mine['slices_per_roi']} peer {their['slices_per_roi']}")
    if mine["voxels_per_roi"] != list(peer["roi_voxels"].values()):
        problems.append(f"voxels per ROI: ours {mine['voxels_per_roi']} peer {list(peer['roi_voxels'].values())}")
    print()
    for p in problems:
        print(f"RESULT DIFFERS {p}")
    if not problems:
        r = mine["roi_01"]
        print(f"roi_01 equals the peer's (voxels, percentiles exactly; mean {r['mean']!r} vs "
              f"{their['roi_01']['mean']!r} and std {r['std']!r} vs {their['roi_01']['std']!r} "
              "to float32 precision); slices and voxels of all 10 ROIs equal")
    return not problems


ok = True
if part in ("all", "load"):
    load_section()
if part in ("all", "morphology"):
    if part == "all":
        print()
    ok = morphology_section() and ok
if part in ("all", "stats"):
    if part == "all":
        print()
    ok = stats_section() and ok
sys.exit(0 if ok else 1)
