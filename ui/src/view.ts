// Pure view maths (no DOM): window/level to grey, the fit of a slice into the canvas with the
// aspect of its pixel spacing, and the one conversion between canvas CSS pixels (`*Canvas`)
// and voxel indices (`*Ijk`, x = column, y = row, pixel centres at integers, as the engine's
// brush takes them).

/** Display window: values at or below `low` are black, at or above `high` white. */
export type Window = readonly [low: number, high: number];

/** Grey level 0..255 of `value` under `window`. A degenerate window is a threshold. */
export function windowToGrey(value: number, window: Window): number {
  const [low, high] = window;
  if (!(high > low)) return value > low ? 255 : 0;
  const t = (value - low) / (high - low);
  if (!(t > 0)) return 0;
  if (t >= 1) return 255;
  return Math.round(t * 255);
}

/**
 * Fills `rgba` (4 bytes per pixel) with the grey image of `values` under `window`, exactly as
 * [`windowToGrey`], one 32-bit write per pixel (the W/L drag redraws every frame).
 */
export function renderGrey(values: Float32Array, window: Window, rgba: Uint8ClampedArray): void {
  const n = Math.min(values.length, rgba.length >> 2);
  if (rgba.byteOffset % 4 !== 0) {
    for (let i = 0; i < n; i++) rgba.fill(windowToGrey(values[i] ?? 0, window), i * 4, i * 4 + 3).fill(255, i * 4 + 3, i * 4 + 4);
    return;
  }
  // Little-endian words: alpha in the high byte (every platform the webviews run on).
  const out = new Uint32Array(rgba.buffer, rgba.byteOffset, n);
  const [low, high] = window;
  const width = high - low;
  for (let i = 0; i < n; i++) {
    const v = values[i] ?? 0;
    let g: number;
    if (!(width > 0)) g = v > low ? 255 : 0;
    else {
      const x = ((v - low) / width) * 255;
      // NaN fails both tests: black, as windowToGrey.
      g = x >= 255 ? 255 : x > 0 ? Math.round(x) : 0;
    }
    out[i] = (0xff000000 | (g << 16) | (g << 8) | g) >>> 0;
  }
}

/**
 * New window after a right-drag of (`dxCanvas`, `dyCanvas`) from `start`, as the original:
 * horizontal changes the width, vertical the centre, each by `dataRange / 100` per pixel
 * (right widens, down raises the centre), the width never below `dataRange / 1000`.
 */
export function dragWindow(start: Window, dxCanvas: number, dyCanvas: number, dataRange: number): Window {
  const range = dataRange > 0 ? dataRange : 1;
  const step = range / 100;
  const centre = (start[0] + start[1]) / 2 + dyCanvas * step;
  const width = Math.max(start[1] - start[0] + dxCanvas * step, range / 1000);
  return [centre - width / 2, centre + width / 2];
}

/** Smallest and largest finite value (the window/level drag scales with their difference). */
export function valueRange(values: Float32Array): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  return lo <= hi ? [lo, hi] : [0, 0];
}

/** Where the slice lies in the canvas: top-left corner and the size of one voxel, in CSS px. */
export interface ViewFit {
  readonly offsetXCanvas: number;
  readonly offsetYCanvas: number;
  readonly voxelWCanvas: number;
  readonly voxelHCanvas: number;
}

/**
 * Fits `cols x rows` voxels of `spacingMm` ([column, row] spacing) centred in the canvas,
 * keeping the physical aspect, then applies `zoom` about the centre and a pan in CSS px.
 */
export function fitSlice(
  cols: number,
  rows: number,
  spacingMm: readonly [number, number],
  widthCanvas: number,
  heightCanvas: number,
  zoom = 1,
  panCanvas: readonly [number, number] = [0, 0],
): ViewFit {
  const sx = spacingMm[0] > 0 ? spacingMm[0] : 1;
  const sy = spacingMm[1] > 0 ? spacingMm[1] : 1;
  const widthMm = cols * sx;
  const heightMm = rows * sy;
  const pxPerMm = Math.min(widthCanvas / widthMm, heightCanvas / heightMm) * zoom;
  const voxelWCanvas = sx * pxPerMm;
  const voxelHCanvas = sy * pxPerMm;
  return {
    offsetXCanvas: (widthCanvas - cols * voxelWCanvas) / 2 + panCanvas[0],
    offsetYCanvas: (heightCanvas - rows * voxelHCanvas) / 2 + panCanvas[1],
    voxelWCanvas,
    voxelHCanvas,
  };
}

/** Canvas CSS px → voxel coordinates (pixel centres at integers). */
export function canvasToIjk(fit: ViewFit, xCanvas: number, yCanvas: number): [number, number] {
  return [
    (xCanvas - fit.offsetXCanvas) / fit.voxelWCanvas - 0.5,
    (yCanvas - fit.offsetYCanvas) / fit.voxelHCanvas - 0.5,
  ];
}

/** Voxel coordinates → canvas CSS px (the inverse of [`canvasToIjk`]). */
export function ijkToCanvas(fit: ViewFit, xIjk: number, yIjk: number): [number, number] {
  return [
    (xIjk + 0.5) * fit.voxelWCanvas + fit.offsetXCanvas,
    (yIjk + 0.5) * fit.voxelHCanvas + fit.offsetYCanvas,
  ];
}

/** The voxel (column, row) under voxel coordinates, or null outside `cols x rows`. */
export function voxelAt(xIjk: number, yIjk: number, cols: number, rows: number): [number, number] | null {
  const c = Math.round(xIjk);
  const r = Math.round(yIjk);
  return c >= 0 && r >= 0 && c < cols && r < rows ? [c, r] : null;
}

/** Next slice index after a step of `delta`, clamped to the series. */
export function stepSlice(slice: number, delta: number, slices: number): number {
  return Math.min(Math.max(slice + delta, 0), Math.max(slices - 1, 0));
}

/** Zoom and pan of the Image Window on top of the fit (1 and [0, 0]: the whole slice). */
export interface ViewTransform {
  readonly zoom: number;
  readonly panCanvas: readonly [number, number];
}

export const IDENTITY_VIEW: ViewTransform = { zoom: 1, panCanvas: [0, 0] };
export const MIN_ZOOM = 0.25;
export const MAX_ZOOM = 32;

/**
 * The view after zooming by `factor` about the canvas point `atCanvas`: the voxel under that
 * point stays under it. `base` gives the slice and canvas as [`fitSlice`] takes them.
 */
export function zoomAt(
  view: ViewTransform,
  factor: number,
  atCanvas: readonly [number, number],
  base: { cols: number; rows: number; spacingMm: readonly [number, number]; widthCanvas: number; heightCanvas: number },
): ViewTransform {
  const zoom = Math.min(Math.max(view.zoom * factor, MIN_ZOOM), MAX_ZOOM);
  const fit = (z: number, pan: readonly [number, number]) =>
    fitSlice(base.cols, base.rows, base.spacingMm, base.widthCanvas, base.heightCanvas, z, pan);
  const before = fit(view.zoom, view.panCanvas);
  const [u, v] = canvasToIjk(before, atCanvas[0], atCanvas[1]);
  const after = fit(zoom, [0, 0]);
  const [x, y] = ijkToCanvas(after, u, v);
  return { zoom, panCanvas: [atCanvas[0] - x, atCanvas[1] - y] };
}

/** Voxel (column, row, slice) → patient LPS mm through a row-major 4 x 4 affine. */
export function voxelToLps(affine: readonly (readonly number[])[], col: number, row: number, slice: number): [number, number, number] {
  const r = (i: number) => {
    const a = affine[i] ?? [];
    return (a[0] ?? 0) * col + (a[1] ?? 0) * row + (a[2] ?? 0) * slice + (a[3] ?? 0);
  };
  return [r(0), r(1), r(2)];
}

/** Slice index typed by the user (1-based, as shown) → 0-based, or null when not one. */
export function parseSliceNumber(text: string, slices: number): number | null {
  const n = Number(text.trim());
  if (!Number.isInteger(n) || n < 1 || n > slices) return null;
  return n - 1;
}
