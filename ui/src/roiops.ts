// The ROI menu (reference §1.12): Copy/Rename…, Combine…, Multiple combine…, Remove overlap
// (`r`), Delete ROI…, each through the in-page dialogs and one command (one undo step).
// menus.ts places it in the menu bar; the Toolbox tells it the ROIs, the active one and the
// slice.
import { api, type RoiInfo } from "./api";
import type { BoolOpDto } from "./bindings";
import { confirmDialog, form, showMessage } from "./dialogs";
import type { Menu } from "./menu-types";

export interface RoiContext {
  rois: RoiInfo[];
  activeRoi: number | null;
  slice: number | null;
}

let context: () => RoiContext = () => ({ rois: [], activeRoi: null, slice: null });

/** The Toolbox's ROIs, active ROI and slice, read when a menu item runs. */
export function setRoiContext(get: () => RoiContext): void {
  context = get;
}

export const OPERATIONS: [BoolOpDto, string][] = [
  ["union", "Union"],
  ["subtraction", "Subtraction (A and not B)"],
  ["intersection", "Intersection"],
  ["exclusion", "Exclusion (XOR)"],
];

const NEW = "__new__";

function roiChoices(rois: RoiInfo[]): [string, string][] {
  return rois.map((r) => [String(r.id), r.name]);
}

/** The output field's answer as the command wants it. */
export function outputOf(choice: string, newName: string): { existing: number | null; newName: string | null } {
  return choice === NEW ? { existing: null, newName: newName.trim() } : { existing: Number(choice), newName: null };
}

async function guarded(f: () => Promise<unknown>): Promise<void> {
  try {
    await f();
  } catch (e) {
    const message = typeof e === "object" && e !== null && "message" in e ? String(e.message) : String(e);
    await showMessage("ROI", message, "error");
  }
}

async function copyRename(): Promise<void> {
  const c = context();
  const active = String(c.activeRoi ?? c.rois[0]?.id ?? "");
  const a = await form("Copy/Rename ROI", [
    { key: "roi", label: "ROI", kind: "select", choices: roiChoices(c.rois), value: active },
    { key: "name", label: "New name", kind: "text", value: "" },
    { key: "op", label: "Operation", kind: "select", choices: [["copy", "Copy"], ["rename", "Rename"]], value: "copy" },
  ]);
  if (!a) return;
  const roi = Number(a.roi);
  if (a.op === "rename") await api.renameRoi(roi, String(a.name));
  else await api.copyRoi(roi, String(a.name));
}

async function combine(): Promise<void> {
  const c = context();
  const choices = roiChoices(c.rois);
  const a = await form("Combine ROIs", [
    { key: "first", label: "First ROI", kind: "select", choices, value: choices[0]?.[0] },
    { key: "second", label: "Second ROI", kind: "select", choices, value: choices[1]?.[0] },
    { key: "op", label: "Operation", kind: "select", choices: OPERATIONS, value: "union" },
    { key: "output", label: "Output", kind: "select", choices: [[NEW, "New ROI"], ...choices], value: NEW },
    { key: "name", label: "New ROI name", kind: "text", value: "combined" },
  ]);
  if (!a) return;
  const op = OPERATIONS.find(([o]) => o === a.op)?.[0] ?? "union";
  await api.combineRois([Number(a.first), Number(a.second)], op, outputOf(String(a.output), String(a.name)));
}

async function multipleCombine(): Promise<void> {
  const c = context();
  const choices = roiChoices(c.rois);
  const a = await form("Multiple combine", [
    ...c.rois.map((r) => ({ key: `roi-${r.id}`, label: r.name, kind: "checkbox" as const, value: false })),
    { key: "op", label: "Operation (left to right)", kind: "select", choices: OPERATIONS, value: "union" },
    { key: "output", label: "Output", kind: "select", choices: [[NEW, "New ROI"], ...choices], value: NEW },
    { key: "name", label: "New ROI name", kind: "text", value: "combined" },
  ]);
  if (!a) return;
  const picked = c.rois.filter((r) => a[`roi-${r.id}`] === true).map((r) => r.id);
  const op = OPERATIONS.find(([o]) => o === a.op)?.[0] ?? "union";
  await api.combineRois(picked, op, outputOf(String(a.output), String(a.name)));
}

async function removeOverlap(): Promise<void> {
  const c = context();
  if (c.activeRoi === null || c.slice === null) return;
  await api.removeOverlap(c.activeRoi, c.slice);
}

async function deleteRoi(): Promise<void> {
  const c = context();
  const roi = c.rois.find((r) => r.id === c.activeRoi);
  if (roi && (await confirmDialog("Delete ROI", `Delete the ROI "${roi.name}" on every slice?`, "Delete"))) await api.deleteRoi(roi.id);
}

const hasRois = (n: number) => () => context().rois.length >= n;

export const roiMenu: Menu = {
  id: "roi",
  label: "ROI",
  items: [
    { kind: "action", id: "roi-copy-rename", label: "Copy/Rename…", enabled: hasRois(1), run: () => guarded(copyRename) },
    { kind: "action", id: "roi-combine", label: "Combine…", enabled: hasRois(2), run: () => guarded(combine) },
    { kind: "action", id: "roi-multiple-combine", label: "Multiple combine…", enabled: hasRois(2), run: () => guarded(multipleCombine) },
    { kind: "action", id: "roi-remove-overlap", label: "Remove overlap", shortcut: "r", enabled: hasRois(1), run: () => guarded(removeOverlap) },
    { kind: "separator" },
    { kind: "action", id: "roi-delete", label: "Delete ROI…", enabled: hasRois(1), run: () => guarded(deleteRoi) },
  ],
};
