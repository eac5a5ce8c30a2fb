// The UI state the two windows share (tool, its parameters, the active ROI), passed as
// front-end events: the Toolbox owns it and broadcasts it; the Image Window asks for it when
// it starts.
import { emit, listen, type UnlistenFn } from "@tauri-apps/api/event";
import { DEFAULT_PARAMS, type ToolParams } from "./tools/registry";

export interface SharedState {
  tool: string;
  params: ToolParams;
  activeRoi: number | null;
}

export const INITIAL_STATE: SharedState = { tool: "paint", params: DEFAULT_PARAMS, activeRoi: null };

const STATE = "ui-state";
const STATE_REQUEST = "ui-state-request";
const COMMAND = "ui-command";

/** Commands one window asks the other to run (brush-size keys typed in the Image Window change the Toolbox's parameters). */
export type UiCommand = "brush:bigger" | "brush:smaller";

export const publishState = (s: SharedState) => emit(STATE, s);
export const requestState = () => emit(STATE_REQUEST);
export const onState = (f: (s: SharedState) => void): Promise<UnlistenFn> =>
  listen<SharedState>(STATE, (e) => f(e.payload));
export const onStateRequest = (f: () => void): Promise<UnlistenFn> => listen(STATE_REQUEST, () => f());
export const sendCommand = (c: UiCommand) => emit(COMMAND, c);
export const onCommand = (f: (c: UiCommand) => void): Promise<UnlistenFn> =>
  listen<UiCommand>(COMMAND, (e) => f(e.payload));
