// The shapes every tool shares: parameters, option specs, gestures. A tool never writes mask
// memory: its gesture ends by sending one modifier to Rust (one undo step), which emits
// `roi-modified`; meanwhile the gesture draws a local preview.
import type { BrushShape } from "../api";
import type { ViewFit } from "../view";

export type EditMode = "mask" | "contour";

/** Tool parameters (units in the names); the Toolbox's controls set them. */
export interface ToolParams {
  shape: BrushShape;
  sizePx: number;
  intensityAware: boolean;
  /** Intensity-aware tolerance, 1–100 % of the intensity under the press. */
  thresholdPct: number;
  eraseAll: boolean;
  /** Despeckle / fill holes radius (area radius²), 1–30. */
  radiusPx: number;
  opacityPct: number;
  /** Auto threshold on every ROI of the slice. */
  applyToAll: boolean;
}

export type NumberParam = "sizePx" | "thresholdPct" | "radiusPx" | "opacityPct";
export type BoolParam = "intensityAware" | "eraseAll" | "applyToAll";

/** What the Toolbox shows for one parameter. */
export type OptionSpec =
  | { key: NumberParam; title: string; kind: "range"; min: number; max: number }
  | { key: "shape"; title: string; kind: "select"; choices: readonly BrushShape[] }
  | { key: BoolParam; title: string; kind: "checkbox" };

/** A sub-ROI as the Image Window has it: knots and the drawn curve, `[x, y]` voxels. */
export interface SubRoi {
  knots: [number, number][];
  curve: [number, number][];
}

/** Where a gesture happens. */
export interface GestureContext {
  readonly slice: number;
  readonly cols: number;
  readonly rows: number;
  readonly roi: number;
  readonly params: ToolParams;
  /** The active ROI's sub-ROIs on the slice and the active one's index. */
  readonly subRois: readonly SubRoi[];
  readonly subRoi: number;
  /** How near (voxels) a press must be to pick a knot. */
  readonly pickRadiusVoxels: number;
}

/** One press-drag-release. */
export interface Gesture {
  move(xIjk: number, yIjk: number): void;
  /** Sends the gesture's modifier to Rust (one undo step). */
  end(): Promise<void>;
  /** The local preview while the gesture runs. */
  renderOverlay(ctx: CanvasRenderingContext2D, fit: ViewFit): void;
}

/** A state button: what a left press in the image does. */
export interface Tool {
  readonly name: string;
  readonly title: string;
  readonly mode: EditMode | "both";
  /** Modifier that makes this the tool while held (the manual's Shift = paint/add, Ctrl = erase/remove). */
  readonly heldKey?: "Shift" | "Control";
  /** False for tools that edit no ROI (the restrict box); default true. */
  readonly needsRoi?: boolean;
  readonly options: readonly OptionSpec[];
  /** Null: the press does nothing (e.g. Remove away from every knot). */
  begin(ctx: GestureContext, xIjk: number, yIjk: number): Gesture | null;
  /** The cursor outline under the pointer. */
  renderCursor?(ctx: CanvasRenderingContext2D, fit: ViewFit, xIjk: number, yIjk: number, params: ToolParams): void;
}

/** Where a button's action applies. */
export interface ActionContext {
  readonly slice: number;
  readonly roi: number;
  readonly params: ToolParams;
  readonly subRoi: number;
}

/** A push button of the Toolbox (Grow, Snap to edges…): one command, one undo step. */
export interface Action {
  readonly name: string;
  readonly title: string;
  readonly mode: EditMode | "both";
  /** The Toolbox group it sits in. */
  readonly group: string;
  /** Asked before running (the original confirms Clear). */
  readonly confirm?: string;
  readonly options: readonly OptionSpec[];
  run(ctx: ActionContext): Promise<unknown>;
}
