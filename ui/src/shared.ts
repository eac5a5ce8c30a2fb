// The UI state the two windows share (edit mode, tool, its parameters, the active ROI and
// sub-ROI), passed as front-end events: the Toolbox owns it and broadcasts it; the Image
// Window asks for it when it starts, tells the Toolbox which slice it shows, and receives the
// commands typed or clicked in the other window (brush size keys, View menu).
import { emit, listen, type UnlistenFn } from "@tauri-apps/api/event";
import { DEFAULT_PARAMS, type EditMode, type ToolParams } from "./tools/registry";

export interface SharedState {
  mode: EditMode;
  tool: string;
  params: ToolParams;
  activeRoi: number | null;
  /** Index of the active sub-ROI (contour mode); one past the last: a new one. */
  subRoi: number;
}

export const INITIAL_STATE: SharedState = {
  mode: "mask",
  tool: "paint",
  params: DEFAULT_PARAMS,
  activeRoi: null,
  subRoi: 0,
};

const STATE = "ui-state";
const STATE_REQUEST = "ui-state-request";
const COMMAND = "ui-command";
const SLICE = "ui-slice";

/** Commands one window asks the other to run. */
export type UiCommand =
  | "brush:bigger"
  | "brush:smaller"
  | "view:zoomIn"
  | "view:zoomOut"
  | "view:fit"
  | "view:resetWindow"
  | "view:goTo"
  | "roi:removeOverlap";

export const publishState = (s: SharedState) => emit(STATE, s);
export const requestState = () => emit(STATE_REQUEST);
export const onState = (f: (s: SharedState) => void): Promise<UnlistenFn> =>
  listen<SharedState>(STATE, (e) => f(e.payload));
export const onStateRequest = (f: () => void): Promise<UnlistenFn> => listen(STATE_REQUEST, () => f());
export const sendCommand = (c: UiCommand) => emit(COMMAND, c);
export const onCommand = (f: (c: UiCommand) => void): Promise<UnlistenFn> =>
  listen<UiCommand>(COMMAND, (e) => f(e.payload));
/** The Image Window's current slice (0-based), for the Toolbox's per-slice controls. */
export const publishSlice = (slice: number) => emit(SLICE, slice);
export const onSlice = (f: (slice: number) => void): Promise<UnlistenFn> =>
  listen<number>(SLICE, (e) => f(e.payload));
