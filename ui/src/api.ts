// Typed wrappers over the app's commands (src-tauri/src/commands.rs). Written by hand for
// now: keep the shapes in step with the Rust DTOs until tauri-specta generates them.
import { invoke } from "@tauri-apps/api/core";

export type ErrorKind = "NotFound" | "InvalidInput" | "Unsupported" | "Io" | "Internal";
export interface CommandError {
  kind: ErrorKind;
  message: string;
}

export interface DatasetInfo {
  rows: number;
  cols: number;
  slices: number;
  spacingMm: [number, number, number];
  window: [number, number];
  description: string;
}
export interface OpenReply {
  info: DatasetInfo;
  warnings: string[];
}
export interface RoiInfo {
  id: number;
  name: string;
  voxels: number;
}
export type BrushShape = "square" | "circle";
export interface PaintStroke {
  roi: number;
  slice: number;
  shape: BrushShape;
  sizePx: number;
  erase: boolean;
  eraseAll: boolean;
  pointsIjk: [number, number][];
  intensityTolerance: number | null;
}
export interface Changed {
  masks: [number, number][];
  rois: number[];
}

export const EVENT_DATASET_OPENED = "dataset-opened";
export const EVENT_ROI_MODIFIED = "roi-modified";

/** A failed command's message, whatever was thrown. */
export function errorMessage(e: unknown): string {
  if (typeof e === "object" && e !== null && "message" in e) return String((e as CommandError).message);
  return String(e);
}

export const api = {
  openDataset: (path: string, series: number | null = null) =>
    invoke<OpenReply>("open_dataset", { path, series }),
  datasetInfo: () => invoke<DatasetInfo | null>("dataset_info"),
  slicePixels: async (slice: number) =>
    new Float32Array(await invoke<ArrayBuffer>("slice_pixels", { slice })),
  roiList: () => invoke<RoiInfo[]>("roi_list"),
  addRoi: (name: string) => invoke<number>("add_roi", { name }),
  paint: (stroke: PaintStroke) => invoke<Changed>("paint", { stroke }),
  roiMask: async (roi: number, slice: number) =>
    new Uint8Array(await invoke<ArrayBuffer>("roi_mask", { roi, slice })),
  sliceLabels: async (slice: number) =>
    new Uint16Array(await invoke<ArrayBuffer>("slice_labels", { slice })),
  undo: () => invoke<Changed | null>("undo"),
  redo: () => invoke<Changed | null>("redo"),
};
