// The contour-mode state tools (reference §1.6): Add/Move (a press near a knot of the active
// sub-ROI drags it, elsewhere adds a knot: the engine inserts it on the curve when within
// 2 px, else appends), Remove (the knot under the press), Translate and Rotate (drag the whole
// sub-ROI about its centre of mass). Each gesture is one `edit_contour` command.
import { api, type ContourOp } from "../api";
import { KNOT_RADIUS_VOXELS, roleColour } from "../colours";
import { ijkToCanvas, type ViewFit } from "../view";
import type { GestureContext, SubRoi, Tool } from "./types";

type Point = [number, number];

/** The index of the knot nearest `p` within `radius` voxels, or null. */
export function nearestKnot(knots: readonly Point[], p: Point, radius: number): number | null {
  let best: number | null = null;
  let bestD = radius * radius;
  knots.forEach(([x, y], i) => {
    const d = (x - p[0]) ** 2 + (y - p[1]) ** 2;
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  });
  return best;
}

/** The mean of the curve's pixels, as the engine's centre of mass (null without a curve). */
export function centreOfMass(sub: SubRoi): Point | null {
  if (sub.curve.length === 0) return null;
  let sx = 0;
  let sy = 0;
  for (const [x, y] of sub.curve) {
    sx += x;
    sy += y;
  }
  return [sx / sub.curve.length, sy / sub.curve.length];
}

/** `knots` turned by `angleRad` about `c` (positive: x towards y, as the engine). */
export function rotated(knots: readonly Point[], c: Point, angleRad: number): Point[] {
  const s = Math.sin(angleRad);
  const k = Math.cos(angleRad);
  return knots.map(([x, y]) => {
    const rx = x - c[0];
    const ry = y - c[1];
    return [k * rx - s * ry + c[0], s * rx + k * ry + c[1]];
  });
}

/** The active sub-ROI's index, clamped to "a new one" past the end. */
export function activeSub(ctx: GestureContext): number {
  return Math.min(Math.max(ctx.subRoi, 0), ctx.subRois.length);
}

function drawKnots(g: CanvasRenderingContext2D, fit: ViewFit, knots: readonly Point[], colour: string): void {
  g.save();
  g.strokeStyle = colour;
  g.fillStyle = colour;
  g.setLineDash([4, 3]);
  g.beginPath();
  knots.forEach(([x, y], i) => {
    const [cx, cy] = ijkToCanvas(fit, x, y);
    if (i === 0) g.moveTo(cx, cy);
    else g.lineTo(cx, cy);
  });
  if (knots.length > 2) g.closePath();
  g.stroke();
  g.setLineDash([]);
  const r = Math.max(KNOT_RADIUS_VOXELS * fit.voxelWCanvas, 3);
  for (const [x, y] of knots) {
    const [cx, cy] = ijkToCanvas(fit, x, y);
    g.beginPath();
    g.arc(cx, cy, r, 0, 2 * Math.PI);
    g.fill();
  }
  g.restore();
}

const addMove: Tool = {
  name: "addMove",
  title: "Add/Move",
  mode: "contour",
  heldKey: "Shift",
  options: [],
  begin(ctx, xIjk, yIjk) {
    const sub = activeSub(ctx);
    const knots = ctx.subRois[sub]?.knots ?? [];
    const picked = nearestKnot(knots, [xIjk, yIjk], ctx.pickRadiusVoxels);
    let to: Point = [xIjk, yIjk];
    let moved = false;
    return {
      move(x, y) {
        if (picked === null) return;
        to = [x, y];
        moved = true;
      },
      end: async () => {
        const from = picked === null ? null : knots[picked];
        if (from === undefined) return;
        if (from === null) await api.editContour(ctx.roi, ctx.slice, { kind: "addKnot", sub, at: to });
        else if (moved) await api.editContour(ctx.roi, ctx.slice, { kind: "moveKnot", sub, from, to });
      },
      renderOverlay(g, fit) {
        const preview = knots.map((k, i): Point => (i === picked ? to : k));
        if (picked === null) preview.push(to);
        drawKnots(g, fit, preview, roleColour("active"));
      },
    };
  },
};

const remove: Tool = {
  name: "remove",
  title: "Remove",
  mode: "contour",
  heldKey: "Control",
  options: [],
  begin(ctx, xIjk, yIjk) {
    const sub = activeSub(ctx);
    const knots = ctx.subRois[sub]?.knots ?? [];
    const picked = nearestKnot(knots, [xIjk, yIjk], ctx.pickRadiusVoxels);
    const at = picked === null ? undefined : knots[picked];
    if (at === undefined) return null;
    return {
      move() {},
      end: async () => {
        await api.editContour(ctx.roi, ctx.slice, { kind: "removeKnot", sub, at });
      },
      renderOverlay(g, fit) {
        drawKnots(g, fit, knots.filter((_, i) => i !== picked), roleColour("active"));
      },
    };
  },
};

/** Translate or Rotate: a drag of the whole active sub-ROI. */
function wholeDrag(name: string, title: string, rotate: boolean): Tool {
  return {
    name,
    title,
    mode: "contour",
    options: [],
    begin(ctx, xIjk, yIjk) {
      const sub = activeSub(ctx);
      const s = ctx.subRois[sub];
      const c = s ? centreOfMass(s) : null;
      if (!s || !c) return null;
      const start: Point = [xIjk, yIjk];
      let now: Point = start;
      const angle = () =>
        Math.atan2(now[1] - c[1], now[0] - c[0]) - Math.atan2(start[1] - c[1], start[0] - c[0]);
      return {
        move(x, y) {
          now = [x, y];
        },
        end: async () => {
          if (now === start) return;
          const op: ContourOp = rotate
            ? { kind: "rotate", sub, angleRad: angle() }
            : { kind: "translate", sub, by: [now[0] - start[0], now[1] - start[1]] };
          await api.editContour(ctx.roi, ctx.slice, op);
        },
        renderOverlay(g, fit) {
          const knots = rotate
            ? rotated(s.knots, c, angle())
            : s.knots.map(([x, y]): Point => [x + now[0] - start[0], y + now[1] - start[1]]);
          drawKnots(g, fit, knots, roleColour("active"));
        },
      };
    },
  };
}

export const CONTOUR_TOOLS: readonly Tool[] = [
  addMove,
  remove,
  wholeDrag("translate", "Translate", false),
  wholeDrag("rotate", "Rotate", true),
];
