#!/usr/bin/env python3
"""Reference results for crates/roi/tests/morphology.rs, computed with the libraries the original
Dafne calls (dafne/ui/MuscleSegmentation.py: maskGrow, maskShrink, maskDespeckle, maskFillHoles)
and with the peer benchmark's remove_small (../shared/bench/peer/bench_morphology.py).

    morphology.py DIR --areas 2,4,25 --min-sizes 2,25

Reads every DIR/<case>.in.npy (uint8 0/1, C order, rows x cols) and writes DIR/<case>.<op>.npy:
masks as uint8 0/1, labels as little-endian uint32. Area opening/closing are skipped for images
with fewer than 3 rows or columns, where skimage's max_tree raises.
"""
import argparse
import pathlib
import sys

try:
    import numpy as np
    from scipy import ndimage as ndi
    from skimage import morphology as skmo
except ImportError as e:  # the Rust test shows this line
    sys.exit(f"reference libraries missing ({e}); install them with "
             "`.venv/bin/pip install -r tests/reference/requirements.txt` (scripts/setup.sh --test)")

CROSS = ndi.generate_binary_structure(2, 1)
BLOCK = ndi.generate_binary_structure(2, 2)


def remove_small(mask, min_size, structure=None):
    lab, n = ndi.label(mask, structure=structure)
    if n == 0:
        return mask.copy()
    sizes = np.bincount(lab.ravel())
    keep = sizes >= min_size
    keep[0] = False
    return keep[lab]


def save(path, array, dtype):
    np.save(path, np.ascontiguousarray(array.astype(dtype)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("dir")
    ap.add_argument("--areas", required=True)
    ap.add_argument("--min-sizes", required=True)
    a = ap.parse_args()
    areas = [int(x) for x in a.areas.split(",")]
    min_sizes = [int(x) for x in a.min_sizes.split(",")]
    d = pathlib.Path(a.dir)
    inputs = sorted(d.glob("*.in.npy"))
    if not inputs:
        sys.exit(f"no *.in.npy inputs in {d}")
    for path in inputs:
        case = path.name[: -len(".in.npy")]
        m = np.load(path).astype(bool)
        out = lambda op: d / f"{case}.{op}.npy"  # noqa: E731
        save(out("grow"), ndi.binary_dilation(m), np.uint8)
        save(out("shrink"), ndi.binary_erosion(m), np.uint8)
        save(out("fill_holes"), ndi.binary_fill_holes(m), np.uint8)
        save(out("label4"), ndi.label(m, structure=CROSS)[0], "<u4")
        save(out("label8"), ndi.label(m, structure=BLOCK)[0], "<u4")
        for n in min_sizes:
            save(out(f"remove_small{n}_4"), remove_small(m, n, CROSS), np.uint8)
            save(out(f"remove_small{n}_8"), remove_small(m, n, BLOCK), np.uint8)
        if min(m.shape) >= 3:
            for n in areas:
                save(out(f"area_opening{n}"), skmo.area_opening(m, area_threshold=n), np.uint8)
                save(out(f"area_closing{n}"), skmo.area_closing(m, area_threshold=n), np.uint8)


if __name__ == "__main__":
    main()
