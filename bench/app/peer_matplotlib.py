"""The original's redraw path, timed on the same series as bench/app/frame_time.mjs.

The original Dafne draws the Image Window with matplotlib (Qt5Agg: Agg renders, Qt shows the
buffer): the slice with imshow (interpolation "spline36", its default), the other ROIs as a
label image and the active ROI as a mask on top (§1.5 of the reference), then
`canvas.draw()` on every slice change and window/level step; brush moves blit a patch over a
saved background. This script repeats those calls with the Agg backend (the Qt hand-over is not
counted, which favours the peer) on a figure the size of our canvas, with 30 ROIs as in our
benchmark, and prints medians and 95th percentiles as JSON.
Usage: peer_matplotlib.py SERIES.nii [--repeat N]
"""

import argparse
import json
import time

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import nibabel as nib  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.patches import Circle  # noqa: E402


def labels_for(rows, cols, slices, rois=30):
    """30 disc-shaped ROIs on every slice, placed as frame_time.mjs paints them."""
    yy, xx = np.mgrid[0:rows, 0:cols]
    out = np.zeros((slices, rows, cols), np.uint16)
    for k in range(rois):
        a = 2 * np.pi * k / rois
        for s in range(slices):
            cx = cols / 2 + np.cos(a) * cols * (0.18 + 0.1 * (k % 3)) + 6 * np.sin(s / 9)
            cy = rows / 2 + np.sin(a) * rows * (0.18 + 0.1 * (k % 3))
            out[s][(xx - cx) ** 2 + (yy - cy) ** 2 <= 14**2] = k + 1
    return out


def stats(xs):
    s = np.sort(np.asarray(xs) * 1000.0)
    at = lambda q: float(s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))])  # noqa: E731
    return {"n": len(s), "median": round(at(0.5), 2), "p95": round(at(0.95), 2), "max": round(float(s[-1]), 2)}


def main():
    p = argparse.ArgumentParser()
    p.add_argument("series")
    p.add_argument("--repeat", type=int, default=60)
    a = p.parse_args()
    vol = np.asarray(nib.load(a.series).dataobj, dtype=np.float32)  # (cols, rows, slices)
    cols, rows, slices = vol.shape[:3]
    slices_img = [np.ascontiguousarray(vol[:, :, s].T) for s in range(slices)]
    labels = labels_for(rows, cols, slices)
    hi = float(np.percentile(vol, 90))

    fig = plt.figure(figsize=(8.0, 8.0), dpi=100)
    ax = fig.add_axes([0, 0, 1, 1])
    ax.set_axis_off()
    im = ax.imshow(slices_img[0], cmap="gray", vmin=0, vmax=hi, interpolation="spline36")
    others = ax.imshow(np.ma.masked_equal(labels[0], 0), cmap="hsv", alpha=0.4, vmin=0, vmax=31, interpolation="none")
    active = ax.imshow(np.ma.masked_equal((labels[0] == 1).astype(np.uint8), 0), cmap="autumn", alpha=0.4, interpolation="none")
    fig.canvas.draw()

    scroll = []
    for i in range(a.repeat):
        s = (i % 70) if (i // 70) % 2 == 0 else 69 - (i % 70)
        t0 = time.perf_counter()
        im.set_data(slices_img[s])
        others.set_data(np.ma.masked_equal(labels[s], 0))
        active.set_data(np.ma.masked_equal((labels[s] == 1).astype(np.uint8), 0))
        fig.canvas.draw()
        scroll.append(time.perf_counter() - t0)

    window = []
    for i in range(a.repeat):
        t0 = time.perf_counter()
        im.set_clim(0 + i, hi - 2 * i)
        fig.canvas.draw()
        window.append(time.perf_counter() - t0)

    # Brush moves: the original blits the brush patch over the saved background.
    bg = fig.canvas.copy_from_bbox(ax.bbox)
    patch = Circle((cols * 0.3, rows * 0.3), 5, color=(1, 0, 0, 0.6), animated=True)
    ax.add_patch(patch)
    brush = []
    for i in range(min(a.repeat, 40)):
        t0 = time.perf_counter()
        fig.canvas.restore_region(bg)
        patch.center = (cols * (0.3 + 0.005 * i), rows * (0.3 + 0.002 * i))
        ax.draw_artist(patch)
        fig.canvas.blit(ax.bbox)
        brush.append(time.perf_counter() - t0)
    # On release the original stores the mask and redraws the whole figure.
    t0 = time.perf_counter()
    active.set_data(np.ma.masked_equal((labels[0] == 1).astype(np.uint8), 0))
    fig.canvas.draw()
    release = time.perf_counter() - t0

    print(json.dumps({
        "peer": "matplotlib " + matplotlib.__version__ + " (Agg), the original's redraw calls",
        "series": [cols, rows, slices],
        "scroll": {"redrawMs": stats(scroll)},
        "window": {"redrawMs": stats(window)},
        "brush": {"blitMs": stats(brush), "releaseRedrawMs": round(release * 1000, 1)},
    }))


if __name__ == "__main__":
    main()
