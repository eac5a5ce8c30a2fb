// The Toolbox window: data loading, the per-slice classification, the edit mode, the ROI list
// (+ / −) and, in contour mode, the sub-ROI row, the state tools, buttons and option controls
// (all generated from the tool registry), undo/redo. It owns the shared UI state and
// broadcasts it; the Image Window tells it which slice is shown.
import { api, errorMessage, events, type Preferences, type RoiInfo } from "./api";
import { autosegmentControls, outcomesText } from "./autosegment";
import { applyPreferences, roiColour } from "./colours";
import { loadData, loadDataMenu } from "./data";
import { confirmDialog, promptText } from "./dialogs";
import { mountMenus, setDatasetOpen } from "./menus";
import { setRoiContext } from "./roiops";
import { INITIAL_STATE, onCommand, onSlice, onStateRequest, publishState, sendCommand, type SharedState } from "./shared";
import { shortcutFor } from "./shortcuts";
import {
  ACTIONS,
  clampBrushSize,
  clampParam,
  defaultTool,
  GROUP_OPTIONS,
  PENDING,
  toolByName,
  toolsOf,
  type Action,
  type EditMode,
  type OptionSpec,
} from "./tools/registry";

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`toolbox: missing #${id}`);
  return el as T;
};

let state: SharedState = { ...INITIAL_STATE, params: { ...INITIAL_STATE.params } };
let rois: RoiInfo[] = [];
let slice: number | null = null;
let subRoiCount = 0;

function setState(next: Partial<SharedState>): void {
  state = { ...state, ...next };
  renderTools();
  renderRois();
  renderSubRois();
  void publishState(state);
}

function showMessage(text: string, kind: "error" | "info" = "error"): void {
  const line = $("message");
  line.textContent = text;
  line.classList.toggle("info", kind === "info");
}

async function guarded(f: () => Promise<unknown>): Promise<void> {
  try {
    showMessage("");
    await f();
  } catch (e) {
    showMessage(errorMessage(e));
  }
}

function renderRois(): void {
  const list = $<HTMLUListElement>("roi-list");
  const active = rois.findIndex((r) => r.id === state.activeRoi) + 1;
  list.replaceChildren(
    ...rois.map((r, i) => {
      const li = document.createElement("li");
      li.dataset.roiId = String(r.id);
      li.className = r.id === state.activeRoi ? "active" : "";
      const name = document.createElement("span");
      name.className = "name";
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = roiColour(i + 1, rois.length, active);
      name.append(swatch, r.name);
      const count = document.createElement("span");
      count.className = "voxels";
      count.textContent = String(r.voxels);
      li.append(name, count);
      li.onclick = () => setState({ activeRoi: r.id, subRoi: 0 });
      return li;
    }),
  );
}

function renderSubRois(): void {
  $("subroi-row").classList.toggle("hidden", state.mode !== "contour");
  const select = $<HTMLSelectElement>("subroi");
  const n = Math.max(subRoiCount, state.subRoi + 1);
  const options = Array.from({ length: n }, (_, i) =>
    new Option(i < subRoiCount ? `Sub-ROI ${i + 1}` : `Sub-ROI ${i + 1} (new)`, String(i), false, i === state.subRoi),
  );
  select.replaceChildren(...options);
}

async function refreshSubRois(): Promise<void> {
  if (state.mode !== "contour" || state.activeRoi === null || slice === null) {
    subRoiCount = 0;
  } else {
    subRoiCount = (await api.roiContours(state.activeRoi, slice)).length;
  }
  if (state.subRoi > subRoiCount) state.subRoi = subRoiCount;
  renderSubRois();
}

async function refreshRois(): Promise<void> {
  rois = await api.roiList();
  if (!rois.some((r) => r.id === state.activeRoi)) setState({ activeRoi: rois[rois.length - 1]?.id ?? null });
  else renderRois();
  await refreshSubRois();
}

async function refreshClassification(): Promise<void> {
  const select = $<HTMLSelectElement>("classification");
  if (slice === null) return;
  const [meta, models] = await Promise.all([api.sliceMeta(slice), api.modelList()]);
  // The installed models' choices first, then any other name the session uses.
  const names = [...new Set([...models.classifications, ...meta.classificationNames, ...(meta.classification ? [meta.classification] : [])])];
  select.replaceChildren(...names.map((n) => new Option(n, n, false, n === (meta.classification ?? "None"))));
}

function optionControl(o: OptionSpec): HTMLElement {
  const label = document.createElement("label");
  label.append(o.title);
  const p = state.params;
  if (o.kind === "range") {
    const input = document.createElement("input");
    input.type = "range";
    input.id = `option-${o.key}`;
    input.min = String(o.min);
    input.max = String(o.max);
    input.value = String(p[o.key]);
    const value = document.createElement("span");
    value.className = "value";
    value.textContent = String(p[o.key]);
    input.oninput = () => {
      value.textContent = input.value;
    };
    input.onchange = () => setState({ params: { ...state.params, [o.key]: clampParam(o, Number(input.value)) } });
    label.append(input, value);
  } else if (o.kind === "checkbox") {
    const input = document.createElement("input");
    input.type = "checkbox";
    input.id = `option-${o.key}`;
    input.checked = p[o.key];
    input.onchange = () => setState({ params: { ...state.params, [o.key]: input.checked } });
    label.prepend(input);
  } else {
    const select = document.createElement("select");
    select.id = `option-${o.key}`;
    for (const c of o.choices) select.append(new Option(c, c, false, c === p.shape));
    select.onchange = () => {
      const shape = o.choices.find((c) => c === select.value) ?? p.shape;
      setState({ params: { ...state.params, shape } });
    };
    label.append(select);
  }
  return label;
}

async function runAction(a: Action): Promise<void> {
  if (state.activeRoi === null || slice === null) throw new Error("add a ROI and open a dataset first");
  if (a.confirm && !(await confirmDialog(a.title, a.confirm))) return;
  await a.run({ slice, roi: state.activeRoi, params: state.params, subRoi: state.subRoi });
}

function renderTools(): void {
  const buttons = $("tool-buttons");
  buttons.replaceChildren(
    ...toolsOf(state.mode).map((t) => {
      const b = document.createElement("button");
      b.id = `tool-${t.name}`;
      b.textContent = t.title;
      if (t.heldKey) b.title = `hold ${t.heldKey} in the image`;
      b.className = t.name === state.tool ? "active" : "";
      b.onclick = () => setState({ tool: t.name });
      return b;
    }),
  );
  $("tool-options").replaceChildren(...(toolByName(state.tool)?.options ?? []).map(optionControl));
  const groups = new Map<string, Action[]>();
  for (const a of ACTIONS) {
    if (a.mode !== "both" && a.mode !== state.mode) continue;
    groups.set(a.group, [...(groups.get(a.group) ?? []), a]);
  }
  $("tool-groups").replaceChildren(
    ...[...groups].map(([title, actions]) => {
      const div = document.createElement("div");
      div.className = "group";
      const h = document.createElement("h3");
      h.textContent = title;
      const row = document.createElement("div");
      row.className = "row wrap";
      row.append(
        ...actions.map((a) => {
          const b = document.createElement("button");
          b.id = `action-${a.name}`;
          b.textContent = a.title;
          b.onclick = () => guarded(() => runAction(a));
          return b;
        }),
      );
      const seen = new Set<string>();
      const options = [...(GROUP_OPTIONS[title] ?? []), ...actions.flatMap((a) => a.options)].filter((o) =>
        seen.has(o.key) ? false : (seen.add(o.key), true),
      );
      div.append(h, ...options.filter((o) => o.key === "opacityPct").map(optionControl), row, ...options.filter((o) => o.key !== "opacityPct").map(optionControl));
      return div;
    }),
  );
}

/** The controls whose feature has not come yet: shown, disabled, saying which brings them. */
function renderPending(): void {
  const disabled = (p: (typeof PENDING)[number]) => {
    const b = document.createElement("button");
    b.id = `pending-${p.name}`;
    b.textContent = p.title;
    b.disabled = true;
    b.title = `Not yet: ${p.why}`;
    return b;
  };
  $("roi-pending").replaceChildren(
    autosegmentControls(() => slice, showMessage),
    ...PENDING.filter((p) => p.group === "ROI").map(disabled),
  );
  const shown = PENDING.filter((p) => p.group !== "ROI" && (p.mode ?? state.mode) === state.mode);
  const groups = [...new Set(shown.map((p) => p.group))];
  $("pending").replaceChildren(
    ...groups.map((g) => {
      const div = document.createElement("div");
      div.className = "group";
      const h = document.createElement("h3");
      h.textContent = g;
      const row = document.createElement("div");
      row.className = "row wrap";
      row.append(...shown.filter((p) => p.group === g).map(disabled));
      div.append(h, row);
      return div;
    }),
  );
}

function onKey(e: KeyboardEvent): void {
  const id = shortcutFor(e);
  if (!id) return;
  e.preventDefault();
  if (id === "undo") void guarded(api.undo);
  else if (id === "redo") void guarded(api.redo);
  else if (id === "brushSmaller" || id === "brushBigger") changeBrush(id === "brushBigger" ? 1 : -1);
  else if (id === "removeOverlap") void sendCommand("roi:removeOverlap");
  else if (id === "goTo") void sendCommand("view:goTo");
  else if (id === "zoomIn") void sendCommand("view:zoomIn");
  else if (id === "zoomOut") void sendCommand("view:zoomOut");
  else if (id === "zoomFit") void sendCommand("view:fit");
}

function changeBrush(step: number): void {
  setState({ params: { ...state.params, sizePx: clampBrushSize(state.params.sizePx + step) } });
}

function setMode(mode: EditMode): void {
  setState({ mode, tool: defaultTool(mode), subRoi: 0 });
  renderPending();
  void guarded(refreshSubRois);
}

function main(): void {
  $("open-data").onclick = () => void loadData($<HTMLInputElement>("data-path").value.trim());
  $("browse-data").onclick = () => void loadDataMenu(true);
  $("add-roi").onclick = () =>
    guarded(async () => {
      const input = $<HTMLInputElement>("roi-name");
      // As the original: "+" asks for the name (the field is a shortcut for typing it first).
      const typed = input.value.trim();
      const name = typed || (await promptText("New ROI", "ROI name", `roi${rois.length + 1}`))?.trim();
      if (!name) return;
      const id = await api.addRoi(name);
      input.value = "";
      await refreshRois();
      setState({ activeRoi: id, subRoi: 0 });
    });
  $("delete-roi").onclick = () =>
    guarded(async () => {
      const roi = rois.find((r) => r.id === state.activeRoi);
      if (!roi) return;
      if (await confirmDialog("Delete ROI", `Delete the ROI "${roi.name}" on every slice?`, "Delete")) await api.deleteRoi(roi.id);
    });
  $<HTMLSelectElement>("edit-mode").onchange = (e) => setMode((e.target as HTMLSelectElement).value === "contour" ? "contour" : "mask");
  $<HTMLSelectElement>("subroi").onchange = (e) => setState({ subRoi: Number((e.target as HTMLSelectElement).value) });
  $("subroi-add").onclick = () => setState({ subRoi: subRoiCount });
  $("subroi-delete").onclick = () =>
    guarded(async () => {
      if (state.activeRoi === null || slice === null || state.subRoi >= subRoiCount) return;
      await api.editContour(state.activeRoi, slice, { kind: "deleteSubRoi", sub: state.subRoi });
      setState({ subRoi: Math.max(state.subRoi - 1, 0) });
    });
  $<HTMLSelectElement>("classification").onchange = (e) =>
    guarded(async () => {
      if (slice !== null) await api.setClassification(slice, (e.target as HTMLSelectElement).value);
    });
  $("classification-all").onclick = () =>
    guarded(async () => {
      const c = $<HTMLSelectElement>("classification").value;
      if (await confirmDialog("Classification", `Use "${c}" on every slice?`)) await api.setClassification(null, c);
    });
  $("undo").onclick = () => guarded(api.undo);
  $("redo").onclick = () => guarded(api.redo);
  document.addEventListener("keydown", onKey);

  void events.roiModified.listen(() => guarded(() => Promise.all([refreshRois(), refreshClassification()])));
  // Incremental learning after a mask export runs in the background: say how it ended.
  void events.modelImproved.listen((e) => showMessage(`Incremental learning: ${outcomesText(e.payload.outcomes)}`, "info"));
  void events.datasetOpened.listen(() => {
    setDatasetOpen(true);
    state.activeRoi = null;
    return guarded(refreshRois);
  });
  void onSlice((s) => {
    slice = s;
    void guarded(() => Promise.all([refreshSubRois(), refreshClassification()]));
  });
  void onStateRequest(() => publishState(state));
  // MASK_LAYER_ALPHA is the Opacity slider's value (the ROI colours apply to the list's swatches).
  const takePreferences = (p: Preferences) => setState({ params: { ...state.params, opacityPct: applyPreferences(p) } });
  void api.getPreferences().then(takePreferences, (e: unknown) => showMessage(errorMessage(e)));
  void events.preferencesChanged.listen((e) => takePreferences(e.payload.preferences));
  void onCommand((c) => {
    if (c === "brush:bigger" || c === "brush:smaller") changeBrush(c === "brush:bigger" ? 1 : -1);
  });
  setRoiContext(() => ({ rois, activeRoi: state.activeRoi, slice }));
  mountMenus();
  renderTools();
  renderPending();
  renderSubRois();
  void guarded(refreshRois).catch(() => undefined);
  void publishState(state);
}

main();
