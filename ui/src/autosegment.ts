// AutoSegment and Improve model from the Toolbox: the AutoSegment button (a dialog for the
// slice range, the original's warning), the Restrict area controls (checkbox + set / reset /
// copy to all of the current slice's box) and Tools → Improve model…. Both jobs run through
// `runJob` (progress splash with Cancel); the ROIs redraw through `RoiModified` as for any edit.
import type { Channel } from "@tauri-apps/api/core";
import { api, errorMessage } from "./api";
import { confirmDialog, custom, form, showMessage } from "./dialogs";
import { runJob, type JobProgress } from "./progress";

/** Whether AutoSegment crops each slice to its restrict box ("Restrict area" checked). */
let restrictOn = false;

/** The 1-based slice numbers a user typed, as a 0-based inclusive range, or why not. */
export function sliceRange(start: number, end: number, slices: number): [number, number] | string {
  if (!Number.isInteger(start) || !Number.isInteger(end)) return "Start and end slice must be whole numbers.";
  if (start < 1 || end < 1 || start > slices || end > slices) return `Slices run from 1 to ${slices}.`;
  return [Math.min(start, end) - 1, Math.max(start, end) - 1];
}

/** A restrict box typed as (row, column, height, width), checked against the slice. */
export function restrictBox(b: [number, number, number, number], rows: number, cols: number): [number, number, number, number] | string {
  const [row, col, height, width] = b;
  if (!b.every((v) => Number.isInteger(v) && v >= 0)) return "The box needs whole numbers, 0 or more.";
  if (height < 1 || width < 1) return "The box must be at least 1 × 1 pixel.";
  if (row + height > rows || col + width > cols) return `The box must lie inside the ${rows} × ${cols} image.`;
  return b;
}

export interface OutcomeText {
  classification: string;
  accepted: boolean;
  summary: string;
  version: number | null;
}

/** What the user reads after Improve model. */
export function outcomesText(outcomes: OutcomeText[]): string {
  if (outcomes.length === 0) return "No model was trained.";
  return outcomes
    .map((o) => (o.accepted && o.version !== null ? `${o.summary}\nInstalled as version ${o.version}.` : `${o.summary}\nThe model was not changed.`))
    .join("\n\n");
}

function numberInput(id: string, label: string, value: number, max: number): [HTMLLabelElement, HTMLInputElement] {
  const l = document.createElement("label");
  l.append(label);
  const i = document.createElement("input");
  i.type = "number";
  i.id = id;
  i.min = "1";
  i.max = String(max);
  i.value = String(value);
  l.append(i);
  return [l, i];
}

/** The AutoSegment button: asks for the slice range (default: the current slice) and runs. */
export async function autosegmentDialog(current: number, slices: number): Promise<void> {
  const content = document.createElement("div");
  const warn = document.createElement("p");
  warn.className = "warning";
  warn.textContent = "This might replace the existing segmentation!";
  const [ls, start] = numberInput("autoseg-start", "Start slice", current + 1, slices);
  const [le, end] = numberInput("autoseg-end", "End slice", current + 1, slices);
  content.append(warn, ls, le);
  if ((await custom("AutoSegment", content, [["Cancel", "cancel"], ["Segment", "ok"]])) !== "ok") return;
  const range = sliceRange(Number(start.value), Number(end.value), slices);
  if (typeof range === "string") {
    await showMessage("AutoSegment", range, "error");
    return;
  }
  await runAutosegment(range[0], range[1]);
}

/** Runs AutoSegment on 0-based slices `first..=last` (also what the end-to-end test calls). */
export async function runAutosegment(first: number, last: number): Promise<boolean> {
  try {
    const reply = await runJob("AutoSegment", (channel: Channel<JobProgress>, jobId: string) =>
      api.autosegment(first, last, restrictOn, jobId, channel),
    );
    if (reply.segmented.length === 0) {
      await showMessage("AutoSegment", ["No slice was segmented: set a classification (the model) for the slices first.", ...reply.notes].join("\n"));
    } else if (reply.notes.length > 0) {
      await showMessage("AutoSegment", reply.notes.join("\n"));
    }
    return true;
  } catch (e) {
    if (errorMessage(e) !== "cancelled") await showMessage("AutoSegment failed", errorMessage(e), "error");
    return false;
  }
}

/** Tools → Improve model…: confirms, trains, says what happened. */
export async function improveModelMenu(): Promise<void> {
  const prefs = await api.getPreferences();
  const ok = await confirmDialog(
    "Improve model",
    `Train the models on the slices you segmented (classification other than None, not used before). At least ${prefs.IL_MIN_SLICES} slices are required per model. This can take a while.`,
    "Improve",
  );
  if (!ok) return;
  try {
    const outcomes = await runJob("Improving model", (channel, jobId) => api.improveModel(jobId, channel));
    await showMessage("Improve model", outcomesText(outcomes));
  } catch (e) {
    if (errorMessage(e) !== "cancelled") await showMessage("Improve model", errorMessage(e), "error");
  }
}

/** The ROI group's AutoSegment and Restrict area controls. */
export function autosegmentControls(slice: () => number | null, onError: (message: string) => void): HTMLElement {
  const dims = () => api.datasetInfo();
  const row = document.createElement("div");
  row.className = "row wrap";
  const guard = (f: () => Promise<unknown>) => () => void f().catch((e: unknown) => onError(errorMessage(e)));
  const auto = document.createElement("button");
  auto.id = "autosegment";
  auto.textContent = "AutoSegment";
  auto.title = "Segment slices with the model of their classification";
  auto.onclick = guard(async () => {
    const s = slice();
    const d = await dims();
    if (s !== null && d) await autosegmentDialog(s, d.slices);
  });
  const label = document.createElement("label");
  const check = document.createElement("input");
  check.type = "checkbox";
  check.id = "restrict-area";
  check.checked = restrictOn;
  check.onchange = () => {
    restrictOn = check.checked;
  };
  label.append(check, "Restrict area");
  label.title = "AutoSegment only inside each slice's box";
  const set = document.createElement("button");
  set.id = "restrict-set";
  set.textContent = "Set…";
  set.title = "Set the restrict box of this slice";
  set.onclick = guard(async () => {
    const s = slice();
    const d = await dims();
    if (s === null || !d) return;
    const meta = await api.sliceMeta(s);
    const [r, c, h, w] = meta.restrictBox ?? [0, 0, d.rows, d.cols];
    const a = await form("Restrict area", [
      { key: "row", label: "Top row", kind: "number", value: r, min: 0 },
      { key: "col", label: "Left column", kind: "number", value: c, min: 0 },
      { key: "height", label: "Height", kind: "number", value: h, min: 1 },
      { key: "width", label: "Width", kind: "number", value: w, min: 1 },
    ]);
    if (!a) return;
    const b = restrictBox([Number(a.row), Number(a.col), Number(a.height), Number(a.width)], d.rows, d.cols);
    if (typeof b === "string") return showMessage("Restrict area", b, "error");
    await api.setRestrictBox(s, b);
  });
  const reset = document.createElement("button");
  reset.id = "restrict-reset";
  reset.textContent = "Reset";
  reset.title = "The whole image on this slice";
  reset.onclick = guard(async () => {
    const s = slice();
    if (s !== null) await api.setRestrictBox(s, null);
  });
  const all = document.createElement("button");
  all.id = "restrict-all";
  all.textContent = "Copy to all";
  all.title = "This slice's box on every slice";
  all.onclick = guard(async () => {
    const s = slice();
    if (s !== null && (await confirmDialog("Restrict area", "Use this slice's box on every slice?"))) await api.restrictBoxToAll(s, false);
  });
  row.append(auto, label, set, reset, all);
  return row;
}
