#!/usr/bin/env python3
"""Reference statistics for crates/roi/tests/stats.rs, computed with NumPy as the original Dafne's
'Calculate statistics' export does (dafne/ui/MuscleSegmentation.py saveStats): per ROI the
values under the mask, voxel count, number of slices holding the ROI, mean, std (population),
min, max and np.percentile(v, [25, 50, 75]) ('linear'), and the same per slice.

    stats.py DIR

Reads DIR/volume.npy (int16, slices x rows x cols), DIR/rescale.npy (float64, slices x 2:
slope, intercept), DIR/affine.npy (4 x 4) and DIR/roi_<i>.npy (uint8, slices x rows x cols),
i = 0, 1, ...; real = stored * slope + intercept of the slice, in float64. Writes
DIR/reference.npy, float64, one line per output row:
    roi index, slice (-1 for the global row), slices, voxels, volume (mm^3), mean, std,
    perc_0, perc_25, perc_50, perc_75, perc_100
global rows first (every ROI, NaN statistics when empty), then slicewise rows (ROI order, then
slice order, non-empty slices only).

When DIR/global.csv and DIR/slicewise.csv exist (written by the Rust side) they are read back
with Python's csv module and checked against the reference: header, quoted names (DIR/names.txt,
one per line), counts exactly and numbers to 1e-9 relative.
"""
import csv
import math
import pathlib
import sys

try:
    import numpy as np
except ImportError as e:  # the Rust test shows this line
    sys.exit(f"numpy missing ({e}); install it with "
             "`.venv/bin/pip install -r tests/reference/requirements.txt` (scripts/setup.sh --test)")

GLOBAL = ("roi_name,slices,voxels,volume,mean,standard_deviation,"
          "perc_0,perc_25,perc_50,perc_75,perc_100")
SLICEWISE = GLOBAL.replace("slices,", "slice,", 1)


def row(i, z, slices, values, voxel_mm3):
    n = values.size
    if n == 0:
        return [i, z, slices, 0, 0.0] + [math.nan] * 7
    return [i, z, slices, n, n * voxel_mm3, values.mean(), values.std(),
            values.min(), *np.percentile(values, [25, 50, 75]), values.max()]


def close(ours, ref):
    if math.isnan(ref):
        return ours == ""
    a = float(ours)
    return a == ref or abs(a - ref) <= 1e-9 * max(abs(a), abs(ref))


def check_csv(path, header, expected, names, slicewise):
    with open(path, newline="") as f:
        lines = list(csv.reader(f))
    problems = []
    if ",".join(lines[0]) != header:
        problems.append(f"{path.name}: header {lines[0]}")
    if len(lines) - 1 != len(expected):
        problems.append(f"{path.name}: {len(lines) - 1} rows, expected {len(expected)}")
    for fields, ref in zip(lines[1:], expected):
        i, z, slices, n = (int(x) for x in ref[:4])
        where = f"{path.name} {names[i]!r} slice {z}"
        if fields[0] != names[i]:
            problems.append(f"{where}: name read back as {fields[0]!r}")
        if int(fields[1]) != (z if slicewise else slices) or int(fields[2]) != n:
            problems.append(f"{where}: slice(s)/voxels {fields[1:3]}")
        for col, (ours, r) in enumerate(zip(fields[3:], ref[4:]), start=3):
            if not close(ours, r):
                problems.append(f"{where}: column {col} {ours!r} vs {r!r}")
    return problems


def main():
    d = pathlib.Path(sys.argv[1])
    stored = np.load(d / "volume.npy")
    rescale = np.load(d / "rescale.npy")
    affine = np.load(d / "affine.npy")
    real = stored.astype(np.float64) * rescale[:, 0, None, None] + rescale[:, 1, None, None]
    voxel_mm3 = abs(np.linalg.det(affine[:3, :3]))
    masks = []
    while (d / f"roi_{len(masks)}.npy").exists():
        masks.append(np.load(d / f"roi_{len(masks)}.npy").astype(bool))
    if not masks:
        sys.exit(f"no roi_0.npy in {d}")
    out = []
    for i, m in enumerate(masks):
        out.append(row(i, -1, int(np.sum(m.any(axis=(1, 2)))), real[m], voxel_mm3))
    for i, m in enumerate(masks):
        for z in range(m.shape[0]):
            if m[z].any():
                out.append(row(i, z, 1, real[z][m[z]], voxel_mm3))
    out = np.array(out, np.float64)
    np.save(d / "reference.npy", out)

    if (d / "global.csv").exists():
        names = (d / "names.txt").read_text(encoding="utf-8").split("\n")
        glob = out[out[:, 1] < 0]
        slic = out[out[:, 1] >= 0]
        problems = check_csv(d / "global.csv", GLOBAL, glob, names, False)
        problems += check_csv(d / "slicewise.csv", SLICEWISE, slic, names, True)
        if problems:
            sys.exit("CSV read back by Python's csv differs:\n" + "\n".join(problems[:20]))


if __name__ == "__main__":
    main()
