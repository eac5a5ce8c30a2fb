// The mask-mode brushes, Paint and Erase: a press-drag sends one stroke (every dab centre)
// to Rust; the preview is drawn with the same dab shape the engine uses. Intensity aware and
// erase-from-all-ROIs come from the parameters.
import { api, type BrushShape } from "../api";
import { ijkToCanvas } from "../view";
import type { OptionSpec, Tool } from "./types";

export const MAX_BRUSH_SIZE_PX = 20;

/**
 * Voxels of one dab centred on the nearest voxel, as the engine's brush draws it: a square of
 * side `sizePx`, or a disc of radius `sizePx` filled as the original's midpoint circle.
 */
export function dabVoxels(shape: BrushShape, sizePx: number, xIjk: number, yIjk: number): [number, number][] {
  const cx = roundHalfEven(xIjk);
  const cy = roundHalfEven(yIjk);
  const out: [number, number][] = [];
  if (shape === "square") {
    const lo = -Math.floor((sizePx - 1) / 2);
    const hi = lo + Math.max(sizePx, 1) - 1;
    for (let dy = lo; dy <= hi; dy++) for (let dx = lo; dx <= hi; dx++) out.push([cx + dx, cy + dy]);
  } else {
    const half = discHalfWidths(Math.max(sizePx, 0));
    half.forEach((h, dy) => {
      for (const row of dy === 0 ? [cy] : [cy - dy, cy + dy])
        for (let dx = -h; dx <= h; dx++) out.push([cx + dx, row]);
    });
  }
  return out;
}

/**
 * Half-width of the disc on each row from the centre row outwards: the midpoint circle, each
 * step (x, y) covering columns ±x on rows ±y and ±y on rows ±x (as dafne-roi's brush).
 */
export function discHalfWidths(radiusPx: number): number[] {
  const half = new Array<number>(radiusPx + 1).fill(0);
  const mark = (a: number, b: number) => {
    if (b < half.length) half[b] = Math.max(half[b] ?? 0, a);
  };
  let x = radiusPx;
  let y = 0;
  let p = 1 - radiusPx;
  mark(x, y);
  mark(y, x);
  while (x > y) {
    y += 1;
    if (p <= 0) p += 2 * y + 1;
    else {
      x -= 1;
      p += 2 * y - 2 * x + 1;
    }
    mark(x, y);
    mark(y, x);
    if (x < y) break;
  }
  return half;
}

/** Rounds half to even, as the engine's brush does (`f64::round_ties_even`). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return Math.abs(v % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

const BRUSH_OPTIONS: readonly OptionSpec[] = [
  { key: "intensityAware", title: "Intensity aware", kind: "checkbox" },
  { key: "thresholdPct", title: "Threshold %", kind: "range", min: 1, max: 100 },
  { key: "shape", title: "Brush shape", kind: "select", choices: ["circle", "square"] },
  { key: "sizePx", title: "Brush size", kind: "range", min: 0, max: MAX_BRUSH_SIZE_PX },
];

export function brushTool(name: string, title: string, heldKey: Tool["heldKey"], erase: boolean): Tool {
  return {
    name,
    title,
    mode: "mask",
    heldKey,
    options: erase ? [...BRUSH_OPTIONS, { key: "eraseAll", title: "Erase from all ROIs", kind: "checkbox" }] : BRUSH_OPTIONS,
    begin(ctx, xIjk, yIjk) {
      const points: [number, number][] = [];
      // The preview is a voxel-sized image scaled like the ROI overlay, so dabs join seamlessly.
      const preview = document.createElement("canvas");
      preview.width = ctx.cols;
      preview.height = ctx.rows;
      const pg = preview.getContext("2d");
      // The original's BRUSH_PAINT_COLOR red and BRUSH_ERASE_COLOR blue.
      if (pg) pg.fillStyle = erase ? "rgb(0, 0, 255)" : "rgb(255, 0, 0)";
      const add = (x: number, y: number) => {
        points.push([x, y]);
        for (const [c, r] of dabVoxels(ctx.params.shape, ctx.params.sizePx, x, y)) pg?.fillRect(c, r, 1, 1);
      };
      add(xIjk, yIjk);
      const p = ctx.params;
      return {
        move: add,
        end: async () => {
          await api.paint({
            roi: ctx.roi,
            slice: ctx.slice,
            shape: p.shape,
            sizePx: p.sizePx,
            erase,
            eraseAll: erase && p.eraseAll,
            pointsIjk: points,
            intensityTolerance: p.intensityAware ? p.thresholdPct / 100 : null,
          });
        },
        renderOverlay(g, fit) {
          const [x, y] = ijkToCanvas(fit, -0.5, -0.5);
          g.save();
          g.globalAlpha = 0.6;
          g.imageSmoothingEnabled = false;
          g.drawImage(preview, x, y, ctx.cols * fit.voxelWCanvas, ctx.rows * fit.voxelHCanvas);
          g.restore();
        },
      };
    },
    renderCursor(g, fit, xIjk, yIjk, params) {
      const cx = Math.round(xIjk);
      const cy = Math.round(yIjk);
      const half = params.shape === "square" ? params.sizePx / 2 : params.sizePx + 0.5;
      const [x0, y0] = ijkToCanvas(fit, cx - half, cy - half);
      const [x1, y1] = ijkToCanvas(fit, cx + half, cy + half);
      g.strokeStyle = erase ? "#48f" : "#f44";
      g.lineWidth = 1;
      g.beginPath();
      if (params.shape === "square") g.rect(x0, y0, x1 - x0, y1 - y0);
      else g.ellipse((x0 + x1) / 2, (y0 + y1) / 2, (x1 - x0) / 2, (y1 - y0) / 2, 0, 0, 2 * Math.PI);
      g.stroke();
    },
  };
}

/** The manual's brush-size keys: `-`, `y`, `z` smaller; `+`, `x` bigger (0 when not one). */
export function brushSizeStep(key: string): -1 | 0 | 1 {
  if (key === "-" || key === "y" || key === "z") return -1;
  if (key === "+" || key === "x") return 1;
  return 0;
}

export function clampBrushSize(sizePx: number): number {
  return Math.min(Math.max(Math.round(sizePx), 0), MAX_BRUSH_SIZE_PX);
}
