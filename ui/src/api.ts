// The page's view of the app's commands: the generated bindings (bindings.ts, from
// src-tauri/src/ipc.rs), with raw-byte replies wrapped in the typed arrays they hold. A failed
// command rejects with a `CommandError` ({ kind, message }).
import type { Channel } from "@tauri-apps/api/core";
import { commands, events } from "./bindings";
import type {
  BrushShapeDto,
  CommandError,
  ContourOpDto,
  DatasetInfoDto,
  ErrorKind,
  JobProgress,
  PaintStrokeDto_Deserialize,
  RoiInfoDto,
  RoiModified,
  SliceMetaDto_Serialize,
  SubRoiDto,
  AppFolder,
  FileFacts,
  LoadReply_Serialize,
  MaskFormatDto,
  OverlapDto,
  PreferencesDto,
  SeriesDto_Serialize,
} from "./bindings";

export { events };
export type { CommandError, ErrorKind, RoiModified };
export type DatasetInfo = DatasetInfoDto;
export type RoiInfo = RoiInfoDto;
export type BrushShape = BrushShapeDto;
export type PaintStroke = PaintStrokeDto_Deserialize;
export type ContourOp = ContourOpDto;
export type SubRoiKnots = SubRoiDto;
export type SliceMeta = SliceMetaDto_Serialize;
/** What changed after an edit (the same shape as the `RoiModified` event). */
export type Changed = RoiModified;
export type { AppFolder, FileFacts, MaskFormatDto, OverlapDto };
export type Preferences = PreferencesDto;
export type LoadReply = LoadReply_Serialize;
export type SeriesInfo = SeriesDto_Serialize;

/** A failed command's message, whatever was thrown. */
export function errorMessage(e: unknown): string {
  if (typeof e === "object" && e !== null && "message" in e) return String((e as CommandError).message);
  return String(e);
}

/** The error's kind when it is a command's, else null (a bug in the page, say). */
export function errorKind(e: unknown): ErrorKind | null {
  if (typeof e === "object" && e !== null && "kind" in e) return (e as CommandError).kind;
  return null;
}

export const api = {
  ...commands,
  slicePixels: async (slice: number) => new Float32Array(await commands.slicePixels(slice)),
  roiMask: async (roi: number, slice: number) => new Uint8Array(await commands.roiMask(roi, slice)),
  /** A long job: run it under `runJob` (progress.ts), which gives the channel and job id. */
  loadData: (path: string, series: number | null, jobId: string, onProgress: Channel<JobProgress>) =>
    commands.loadData(path, series, jobId, onProgress),
  sliceLabels: async (slice: number) => new Uint16Array(await commands.sliceLabels(slice)),
};
