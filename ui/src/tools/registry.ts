// Every editing tool and button, in one list: the Toolbox builds its state buttons, push
// buttons and option controls from it, and the Image Window routes pointer gestures to the
// active tool. Tools and actions only send modifiers to Rust (one undo step each).
import { api } from "../api";
import { DEFAULT_OPACITY_PCT } from "../colours";
import { brushTool } from "./brush";
import { CONTOUR_TOOLS } from "./contour";
import { RESTRICT_TOOL } from "./restrict";
import type { Action, EditMode, OptionSpec, Tool, ToolParams } from "./types";

export type { Action, EditMode, Gesture, GestureContext, OptionSpec, SubRoi, Tool, ToolParams } from "./types";
export { brushSizeStep, clampBrushSize, dabVoxels, discHalfWidths, MAX_BRUSH_SIZE_PX, roundHalfEven } from "./brush";

export const MAX_RADIUS_PX = 30;

/** The original's defaults (reference §1.3). */
export const DEFAULT_PARAMS: ToolParams = {
  shape: "circle",
  sizePx: 5,
  intensityAware: false,
  thresholdPct: 50,
  eraseAll: false,
  radiusPx: 5,
  opacityPct: DEFAULT_OPACITY_PCT,
  applyToAll: true,
};

export const TOOLS: readonly Tool[] = [
  brushTool("paint", "Paint", "Shift", false),
  brushTool("erase", "Erase", "Control", true),
  ...CONTOUR_TOOLS,
  RESTRICT_TOOL,
];

export function toolByName(name: string): Tool | undefined {
  return TOOLS.find((t) => t.name === name);
}

/** The tools of an edit mode. */
export function toolsOf(mode: EditMode): Tool[] {
  return TOOLS.filter((t) => t.mode === mode || t.mode === "both");
}

/** The tool a held modifier selects in `mode` (Shift: paint / add; Ctrl: erase / remove). */
export function heldTool(mode: EditMode, key: "Shift" | "Control"): Tool | undefined {
  return TOOLS.find((t) => t.mode === mode && t.heldKey === key);
}

/** The first tool of a mode: what switching mode selects. */
export function defaultTool(mode: EditMode): string {
  return toolsOf(mode)[0]?.name ?? "paint";
}

const RADIUS: OptionSpec = { key: "radiusPx", title: "Radius", kind: "range", min: 1, max: MAX_RADIUS_PX };

function morphology(name: string, title: string, op: "grow" | "shrink" | "despeckle" | "fillHoles"): Action {
  return {
    name,
    title,
    mode: "mask",
    group: "Mask",
    options: [RADIUS],
    run: (c) => api.morphology(c.roi, c.slice, op, c.params.radiusPx),
  };
}

export const ACTIONS: readonly Action[] = [
  {
    name: "clear",
    title: "Clear",
    mode: "both",
    group: "Edit",
    confirm: "Clear the current ROI on this slice?",
    options: [],
    run: (c) => api.clearSlice(c.roi, c.slice),
  },
  morphology("grow", "Grow", "grow"),
  morphology("shrink", "Shrink", "shrink"),
  morphology("despeckle", "Despeckle", "despeckle"),
  morphology("fillHoles", "Fill Holes", "fillHoles"),
  {
    name: "autoThreshold",
    title: "Auto Threshold",
    mode: "mask",
    group: "Mask",
    options: [{ key: "applyToAll", title: "Apply to all masks", kind: "checkbox" }],
    run: (c) => api.autoThreshold(c.params.applyToAll ? null : c.roi, c.slice),
  },
  {
    name: "snap",
    title: "Snap to edges",
    mode: "contour",
    group: "Contour",
    options: [],
    run: (c) => api.editContour(c.roi, c.slice, { kind: "snap", sub: c.subRoi }),
  },
  {
    name: "simplify",
    title: "Simplify",
    mode: "contour",
    group: "Contour",
    options: [],
    run: (c) => api.editContour(c.roi, c.slice, { kind: "simplify", sub: c.subRoi }),
  },
];

/** Options of a whole group, shown before its buttons. */
export const GROUP_OPTIONS: Readonly<Record<string, readonly OptionSpec[]>> = {
  Mask: [{ key: "opacityPct", title: "Opacity", kind: "range", min: 0, max: 100 }],
};

/** Controls laid out as the original's, waiting for the feature that brings them. */
export const PENDING: readonly { name: string; title: string; group: string; why: string; mode?: EditMode }[] = [
  { name: "samRefine", title: "SAM Autorefine", group: "Mask", why: "comes with the SAM integration", mode: "mask" },
  { name: "interpolate", title: "Interpolate", group: "Mask interpolation", why: "comes with mask interpolation" },
  { name: "interpolateBlock", title: "Interpolate Block", group: "Mask interpolation", why: "comes with mask interpolation" },
  { name: "propagateBack", title: "Propagate back", group: "Registration", why: "comes with registration-based propagation" },
  { name: "propagateForward", title: "Propagate forward", group: "Registration", why: "comes with registration-based propagation" },
  { name: "calcTransforms", title: "Calculate transforms", group: "Registration", why: "comes with registration-based propagation" },
];

/** A parameter value clamped to its control's range (numbers) or as is. */
export function clampParam(spec: OptionSpec, value: number): number {
  if (spec.kind !== "range") return value;
  return Math.min(Math.max(Math.round(value), spec.min), spec.max);
}
