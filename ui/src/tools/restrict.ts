// The restrict-area box drawn by dragging on the image (the manual: "a green box will appear
// on the images, which can be set or moved"): the release sends the slice's new box to Rust;
// a click without a drag leaves the box as it is. Needs no ROI.
import { api } from "../api";
import { drawRestrictBox } from "../imagedraw";
import type { Tool } from "./types";

/** The box (row, col, height, width) spanned by two voxel positions, clamped to the slice; null when it is under one voxel. */
export function boxBetween(a: [number, number], b: [number, number], rows: number, cols: number): [number, number, number, number] | null {
  const clamp = (v: number, n: number) => Math.min(Math.max(Math.round(v), 0), n - 1);
  const [c0, c1] = [clamp(a[0], cols), clamp(b[0], cols)].sort((x, y) => x - y) as [number, number];
  const [r0, r1] = [clamp(a[1], rows), clamp(b[1], rows)].sort((x, y) => x - y) as [number, number];
  if (c1 === c0 || r1 === r0) return null;
  return [r0, c0, r1 - r0 + 1, c1 - c0 + 1];
}

export const RESTRICT_TOOL: Tool = {
  name: "restrict",
  title: "Restrict box",
  mode: "both",
  needsRoi: false,
  options: [],
  begin(ctx, xIjk, yIjk) {
    const start: [number, number] = [xIjk, yIjk];
    let end: [number, number] = [xIjk, yIjk];
    const box = () => boxBetween(start, end, ctx.rows, ctx.cols);
    return {
      move(x, y) {
        end = [x, y];
      },
      async end() {
        const b = box();
        if (b) await api.setRestrictBox(ctx.slice, b);
      },
      renderOverlay(g, fit) {
        const b = box();
        if (b) drawRestrictBox(g, fit, b);
      },
    };
  },
};
