// The File and Tools menus' file actions. Each has a path-taking function (what the menu runs
// once a native dialog answered, and what end-to-end tests call through `window.dafneFiles`,
// since WebDriver cannot drive native dialogs) and a menu entry that asks the dialog first.
// Failures show a message dialog and leave the dataset and ROIs as they were (Rust refuses
// before changing anything); a command error of kind Internal goes to the emergency path.
import { open, save } from "@tauri-apps/plugin-dialog";
import { api, errorKind, errorMessage, type FileFacts, type MaskFormatDto, type OverlapDto } from "./api";
import { choose, confirmDialog, form, showMessage } from "./dialogs";
import { reportUnexpected } from "./errors";
import { isOverlapRefusal, loadableSeries, MASK_TARGETS, seriesLabel } from "./filelogic";
import { runJob } from "./progress";

/** What the last file action did (end-to-end tests wait on it). */
export interface LastAction {
  action: string;
  ok: boolean;
  message: string;
  seq: number;
}

let facts: FileFacts | null = null;
let last: LastAction = { action: "", ok: true, message: "", seq: 0 };

/** Facts of the open data (null when none): the menus enable on them. */
export const fileFacts = (): FileFacts | null => facts;

async function refreshFacts(): Promise<void> {
  facts = await api.fileFacts();
}

function record(action: string, ok: boolean, message: string): void {
  last = { action, ok, message, seq: last.seq + 1 };
}

/** The Toolbox's message line says it too, after the dialog is gone. */
function setMessage(text: string): void {
  const el = document.getElementById("message");
  if (el) el.textContent = text;
}

function setStatus(text: string): void {
  const el = document.getElementById("data-status");
  if (el) el.textContent = text;
}

/** Runs a file action: on failure, a dialog says what went wrong. True when it succeeded. */
async function act(action: string, title: string, f: () => Promise<string[] | void>): Promise<boolean> {
  try {
    setMessage("");
    const warnings = (await f()) ?? [];
    record(action, true, warnings.join("\n"));
    await refreshFacts().catch(() => undefined);
    if (warnings.length) await showMessage(title, warnings.join("\n"));
    return true;
  } catch (e) {
    const message = errorMessage(e);
    record(action, false, message);
    setMessage(message);
    if (errorKind(e) === "Internal") await reportUnexpected(e);
    else await showMessage(`${title} failed`, message, "error");
    return false;
  }
}

const SEVERAL_SERIES = /series found; choose one/;

/** Opens PATH (a DICOM file or folder, NIfTI, NumPy); asks the series when a folder holds several. */
export async function loadData(path: string, series: number | null = null): Promise<boolean> {
  if (!path) return false;
  await refreshFacts().catch(() => undefined);
  if (
    facts?.unsaved &&
    !(await confirmDialog(
      "Unsaved changes",
      "The ROIs have changes that were not saved or exported. Load new data and lose them?",
      "Load",
    ))
  ) {
    return false;
  }
  const before = document.getElementById("data-status")?.textContent ?? "";
  setStatus("loading…");
  let picked = series;
  const ok = await act("load", "Load data", async () => {
    try {
      return await load();
    } catch (e) {
      // Before the error dialog: the line keeps saying what is still open.
      setStatus(before);
      // Cancelled from the splash: what was open stays, and nothing went wrong.
      if (errorKind(e) === "Cancelled") return [];
      throw e;
    }
  });
  return ok;

  /** One load under the progress splash (Cancel stops it). */
  function loadUnderSplash(series: number | null) {
    return runJob("Loading data", (channel, jobId) => api.loadData(path, series, jobId, channel));
  }

  async function load(): Promise<string[]> {
    let reply;
    try {
      reply = await loadUnderSplash(picked);
    } catch (e) {
      if (picked !== null || !SEVERAL_SERIES.test(errorMessage(e))) throw e;
      picked = await pickSeries(path);
      if (picked === null) {
        return ["Loading cancelled: no series chosen."];
      }
      reply = await loadUnderSplash(picked);
    }
    const i = reply.info;
    setStatus(`${i.description || "dataset"}: ${i.cols} × ${i.rows} × ${i.slices}`);
    const input = document.getElementById("data-path");
    if (input instanceof HTMLInputElement) input.value = path;
    if (reply.recoverable) {
      const when = reply.recoverable.modifiedUnixS
        ? new Date(reply.recoverable.modifiedUnixS * 1000).toLocaleString()
        : "an unknown time";
      if (await confirmDialog("Recover ROIs", `Recover the ROIs autosaved at ${when}?`, "Recover")) {
        await api.recoverAutosave();
      }
    }
    return reply.warnings;
  }
}

async function pickSeries(path: string): Promise<number | null> {
  const all = await api.scanSeries(path);
  const usable = loadableSeries(all);
  const first = usable[0];
  if (first === undefined) throw new Error("no series in this folder can be loaded");
  const answer = await form("Choose a series", [
    {
      key: "series",
      label: `${all.length} series found`,
      kind: "select",
      value: String(first.index),
      choices: usable.map((s) => [String(s.index), seriesLabel(s)]),
    },
  ], "Load");
  return answer === null ? null : Number(answer.series);
}

export const importRoiFile = (path: string) =>
  act("importRoiFile", "Import ROI file", () => api.importRoiFile(path));

export const exportRoiFile = (path: string) =>
  act("exportRoiFile", "Export ROI file", async () => {
    await api.exportRoiFile(path);
  });

export const importMasks = (path: string) => act("importMasks", "Import masks", () => api.importMasks(path));

/** Saves masks; a label map with overlapping ROIs asks which ROI wins (unless `overlap` is given). */
export const saveMasks = (format: MaskFormatDto, path: string, overlap: OverlapDto | null = null) =>
  act("saveMasks", "Save masks", async () => {
    const target = MASK_TARGETS[format];
    try {
      return await api.saveMasks(format, path, overlap ?? (target.labelMap ? "refuse" : "lastWins"));
    } catch (e) {
      if (overlap !== null || !isOverlapRefusal(errorMessage(e))) throw e;
      const policy = await choose("Overlapping ROIs", `${errorMessage(e)}.`, [
        ["Cancel", "cancel"],
        ["First ROI wins", "firstWins"],
        ["Last ROI wins", "lastWins"],
      ]);
      if (policy !== "firstWins" && policy !== "lastWins") return ["Nothing was saved."];
      return await api.saveMasks(format, path, policy);
    }
  });

export const saveStatistics = (path: string, slicewise: boolean) =>
  act("statistics", "Calculate statistics", async () => {
    await api.saveStatistics(path, slicewise);
  });

// The menu entries: a native dialog, then the path-taking function.

const picked = (p: string | string[] | null): string | null => (typeof p === "string" ? p : null);

export async function loadDataMenu(folder: boolean): Promise<void> {
  const path = picked(
    folder
      ? await open({ directory: true, title: "Load folder" })
      : await open({
          title: "Load data",
          filters: [
            { name: "Images", extensions: ["dcm", "ima", "nii", "nii.gz", "gz", "npy", "npz"] },
            { name: "All files (DICOM without extension)", extensions: ["*"] },
          ],
        }),
  );
  if (path) await loadData(path);
}

export async function importRoiFileMenu(): Promise<void> {
  const path = picked(
    await open({ title: "Import ROI file", filters: [{ name: "ROI files", extensions: ["p", "dafne", "dafne-autosave"] }] }),
  );
  if (path) await importRoiFile(path);
}

export async function exportRoiFileMenu(): Promise<void> {
  const path = await save({ title: "Export ROI file", defaultPath: "rois.dafne", filters: [{ name: "Dafne session", extensions: ["dafne"] }] });
  if (path) await exportRoiFile(path);
}

export async function importMasksMenu(multiple: boolean): Promise<void> {
  const path = picked(
    multiple
      ? await open({ directory: true, title: "Import multiple masks (a folder)" })
      : await open({
          title: "Import single mask",
          filters: [
            { name: "Masks", extensions: ["npy", "npz", "nii", "nii.gz", "gz", "dcm"] },
            { name: "All files", extensions: ["*"] },
          ],
        }),
  );
  if (path) await importMasks(path);
}

export async function saveMasksMenu(format: MaskFormatDto): Promise<void> {
  const t = MASK_TARGETS[format];
  const path = t.folder
    ? picked(await open({ directory: true, title: `Save masks: choose a folder (${t.label.replace("…", "")})` }))
    : await save({ title: "Save masks", defaultPath: `masks.${t.ext}`, filters: [{ name: t.label.replace("…", ""), extensions: [t.ext ?? "*"] }] });
  if (path) await saveMasks(format, path);
}

export async function statisticsMenu(slicewise: boolean): Promise<void> {
  const path = await save({
    title: slicewise ? "Slicewise statistics" : "Global statistics",
    defaultPath: slicewise ? "statistics_slicewise.csv" : "statistics.csv",
    filters: [{ name: "CSV", extensions: ["csv"] }],
  });
  if (path) await saveStatistics(path, slicewise);
}

declare global {
  interface Window {
    dafneFiles?: typeof hooks;
  }
}

const hooks = {
  loadData,
  importRoiFile,
  exportRoiFile,
  importMasks,
  saveMasks,
  saveStatistics,
  last: (): LastAction => last,
};

/** Exposes the path-taking functions to end-to-end tests. */
export function installFileHooks(): void {
  window.dafneFiles = hooks;
  void refreshFacts().catch(() => undefined);
}
