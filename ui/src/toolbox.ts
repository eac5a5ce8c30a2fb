// The Toolbox window: data loading, the ROI list, the tool buttons and options (generated
// from the tool registry), undo/redo. It owns the shared UI state and broadcasts it.
import { api, errorMessage, events, type RoiInfo } from "./api";
import { roiColour } from "./colours";
import { loadData, loadDataMenu } from "./data";
import { mountMenus, setDatasetOpen } from "./menus";
import { INITIAL_STATE, onCommand, onStateRequest, publishState, type SharedState } from "./shared";
import { clampBrushSize, TOOLS, toolByName } from "./tools/registry";

const $ = <T extends HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`toolbox: missing #${id}`);
  return el as T;
};

let state: SharedState = { ...INITIAL_STATE, params: { ...INITIAL_STATE.params } };
let rois: RoiInfo[] = [];

function setState(next: Partial<SharedState>): void {
  state = { ...state, ...next };
  renderTools();
  renderRois();
  void publishState(state);
}

function showMessage(text: string): void {
  $("message").textContent = text;
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
  list.replaceChildren(
    ...rois.map((r, i) => {
      const li = document.createElement("li");
      li.dataset.roiId = String(r.id);
      li.className = r.id === state.activeRoi ? "active" : "";
      const name = document.createElement("span");
      const swatch = document.createElement("span");
      swatch.className = "swatch";
      swatch.style.background = r.id === state.activeRoi ? "rgb(255,0,0)" : roiColour(i + 1, 1);
      name.append(swatch, r.name);
      const count = document.createElement("span");
      count.className = "voxels";
      count.textContent = String(r.voxels);
      li.append(name, count);
      li.onclick = () => setState({ activeRoi: r.id });
      return li;
    }),
  );
}

async function refreshRois(): Promise<void> {
  rois = await api.roiList();
  if (state.activeRoi !== null && !rois.some((r) => r.id === state.activeRoi)) {
    setState({ activeRoi: rois[0]?.id ?? null });
  } else renderRois();
}

function renderTools(): void {
  const buttons = $("tool-buttons");
  buttons.replaceChildren(
    ...TOOLS.map((t) => {
      const b = document.createElement("button");
      b.id = `tool-${t.name}`;
      b.textContent = t.title;
      b.title = `hold ${t.heldKey} in the image`;
      b.className = t.name === state.tool ? "active" : "";
      b.onclick = () => setState({ tool: t.name });
      return b;
    }),
  );
  const options = $("tool-options");
  const tool = toolByName(state.tool);
  options.replaceChildren(
    ...(tool?.options ?? []).map((o) => {
      const label = document.createElement("label");
      label.append(o.title);
      if (o.kind === "range") {
        const input = document.createElement("input");
        input.type = "range";
        input.id = `option-${o.key}`;
        input.min = String(o.min);
        input.max = String(o.max);
        input.value = String(state.params.sizePx);
        const value = document.createElement("span");
        value.textContent = String(state.params.sizePx);
        input.onchange = () => setState({ params: { ...state.params, sizePx: clampBrushSize(Number(input.value)) } });
        label.append(input, value);
      } else {
        const select = document.createElement("select");
        select.id = `option-${o.key}`;
        for (const c of o.choices) select.append(new Option(c, c, false, c === state.params.shape));
        select.onchange = () => {
          const shape = o.choices.find((c) => c === select.value) ?? state.params.shape;
          setState({ params: { ...state.params, shape } });
        };
        label.append(select);
      }
      return label;
    }),
  );
}

function undoRedoKeys(e: KeyboardEvent): void {
  if (!(e.ctrlKey || e.metaKey)) return;
  if (e.key === "z") void guarded(api.undo);
  else if (e.key === "y") void guarded(api.redo);
}

function main(): void {
  $("open-data").onclick = () => void loadData($<HTMLInputElement>("data-path").value.trim());
  $("browse-data").onclick = () => void loadDataMenu(true);
  $("add-roi").onclick = () =>
    guarded(async () => {
      const input = $<HTMLInputElement>("roi-name");
      const name = input.value.trim() || `roi${rois.length + 1}`;
      const id = await api.addRoi(name);
      input.value = "";
      await refreshRois();
      setState({ activeRoi: id });
    });
  $("undo").onclick = () => guarded(api.undo);
  $("redo").onclick = () => guarded(api.redo);
  document.addEventListener("keydown", undoRedoKeys);

  void events.roiModified.listen(() => guarded(refreshRois));
  void events.datasetOpened.listen(() => {
    setDatasetOpen(true);
    state.activeRoi = null;
    return guarded(refreshRois);
  });
  void onStateRequest(() => publishState(state));
  void onCommand((c) => {
    const step = c === "brush:bigger" ? 1 : -1;
    setState({ params: { ...state.params, sizePx: clampBrushSize(state.params.sizePx + step) } });
  });
  mountMenus();
  renderTools();
  void guarded(refreshRois).catch(() => undefined);
  void publishState(state);
}

main();
