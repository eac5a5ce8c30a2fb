// What the Image Window draws over the slice, each a plain loop or a few canvas paths: the ROI
// labels through a colour lookup (one putImageData), the contour-mode curves and knots, the
// restrict-area box, and the status line's text.
import type { DatasetInfo } from "./api";
import { KNOT_RADIUS_VOXELS, RESTRICT_BOX, roleColour } from "./colours";
import type { SubRoi } from "./tools/registry";
import { ijkToCanvas, voxelAt, voxelToLps, type ViewFit, type Window } from "./view";

/** Fills `rgba` with each label's colour from `lut` (4 bytes per label; label 0 clear). */
export function paintLabels(labels: Uint16Array, lut: Uint8ClampedArray, rgba: Uint8ClampedArray): void {
  const n = Math.min(labels.length, rgba.length >> 2);
  // One 32-bit word per pixel and per label: the overlay is redrawn on every slice change.
  const words = new Uint32Array(lut.length >> 2);
  for (let l = 1; l < words.length; l++) {
    const o = l * 4;
    words[l] = ((lut[o + 3] ?? 0) * 0x1000000 + ((lut[o + 2] ?? 0) << 16) + ((lut[o + 1] ?? 0) << 8) + (lut[o] ?? 0)) >>> 0;
  }
  if (rgba.byteOffset % 4 !== 0) {
    for (let i = 0; i < n; i++) {
      const w = words[labels[i] ?? 0] ?? 0;
      rgba.set([w & 0xff, (w >>> 8) & 0xff, (w >>> 16) & 0xff, w >>> 24], i * 4);
    }
    return;
  }
  const out = new Uint32Array(rgba.buffer, rgba.byteOffset, n);
  for (let i = 0; i < n; i++) out[i] = words[labels[i] ?? 0] ?? 0;
}

/** Paints the set pixels of `mask` in `rgba` with `colour` (RGBA), over whatever is there. */
export function paintMask(mask: Uint8Array, colour: ArrayLike<number>, rgba: Uint8ClampedArray): void {
  const n = Math.min(mask.length, rgba.length >> 2);
  const [r, g, b, a] = [colour[0] ?? 255, colour[1] ?? 0, colour[2] ?? 0, colour[3] ?? 255];
  for (let i = 0; i < n; i++) {
    if (mask[i] === 0) continue;
    const o = i * 4;
    rgba[o] = r;
    rgba[o + 1] = g;
    rgba[o + 2] = b;
    rgba[o + 3] = a;
  }
}

/** The colour of a sub-ROI's knots (§1.6): active sub-ROI red, same ROI yellow, others blue. */
export function knotColour(isActiveRoi: boolean, sub: number, activeSub: number): string {
  if (!isActiveRoi) return roleColour("other");
  return roleColour(sub === activeSub ? "active" : "same");
}

/** Curves and knots of every ROI's sub-ROIs; returns how many knots were drawn. */
export function drawContours(
  g: CanvasRenderingContext2D,
  fit: ViewFit,
  contours: ReadonlyMap<number, readonly SubRoi[]>,
  activeRoi: number | null,
  activeSub: number,
): number {
  let drawn = 0;
  const r = Math.max(KNOT_RADIUS_VOXELS * Math.min(fit.voxelWCanvas, 4), 2.5);
  g.save();
  g.lineWidth = 1.5;
  for (const [roi, subs] of contours) {
    subs.forEach((s, i) => {
      const colour = knotColour(roi === activeRoi, i, activeSub);
      g.strokeStyle = colour;
      g.fillStyle = colour;
      if (s.curve.length > 1) {
        g.beginPath();
        s.curve.forEach(([x, y], k) => {
          const [cx, cy] = ijkToCanvas(fit, x, y);
          if (k === 0) g.moveTo(cx, cy);
          else g.lineTo(cx, cy);
        });
        g.closePath();
        g.stroke();
      }
      for (const [x, y] of s.knots) {
        const [cx, cy] = ijkToCanvas(fit, x, y);
        g.beginPath();
        g.arc(cx, cy, r, 0, 2 * Math.PI);
        g.fill();
        drawn++;
      }
    });
  }
  g.restore();
  return drawn;
}

/** The restrict-area box, (row, col, height, width) in voxels. */
export function drawRestrictBox(g: CanvasRenderingContext2D, fit: ViewFit, box: readonly number[]): void {
  const [row = 0, col = 0, height = 0, width = 0] = box;
  const [x0, y0] = ijkToCanvas(fit, col - 0.5, row - 0.5);
  const [x1, y1] = ijkToCanvas(fit, col + width - 0.5, row + height - 0.5);
  g.save();
  g.strokeStyle = RESTRICT_BOX;
  g.setLineDash([6, 4]);
  g.lineWidth = 1.5;
  g.strokeRect(x0, y0, x1 - x0, y1 - y0);
  g.restore();
}

/**
 * The status line: slice i/N, window, zoom, and under the pointer the voxel, its position in
 * patient LPS mm and its intensity.
 */
export function statusText(
  info: DatasetInfo,
  slice: number,
  window: Window,
  zoom: number,
  pointerIjk: readonly [number, number] | null,
  values: Float32Array | null,
): string {
  const w = (v: number) => (Math.abs(v) >= 100 ? v.toFixed(0) : v.toPrecision(3));
  let text = `slice ${slice + 1}/${info.slices}  W/L ${w(window[0])}..${w(window[1])}  zoom ${Math.round(zoom * 100)}%`;
  const v = pointerIjk ? voxelAt(pointerIjk[0], pointerIjk[1], info.cols, info.rows) : null;
  if (v && pointerIjk) {
    const [c, r] = v;
    const [l, p, s] = voxelToLps(info.affineLps, pointerIjk[0], pointerIjk[1], slice);
    const value = values?.[r * info.cols + c];
    text += `  [${c}, ${r}]  L ${l.toFixed(1)} P ${p.toFixed(1)} S ${s.toFixed(1)} mm`;
    if (value !== undefined) text += `  I ${Number.isInteger(value) ? value : value.toFixed(2)}`;
  }
  return text;
}
