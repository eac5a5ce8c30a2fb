// The Toolbox's menu bar (File, View, Tools, ROI, Help) laid out from the menu data, with the
// original's labels (reference §1.2). File, Tools and Help are defined here; View and ROI come
// from their areas. Also what the shell does at start: the close prompt, a damaged
// preferences warning, and opening the path given on the command line.
import { api, errorMessage, events, type MaskFormatDto } from "./api";
import type { ReorientDto } from "./bindings";
import { confirmDialog, custom, showMessage } from "./dialogs";
import { improveModelMenu } from "./autosegment";
import { installErrorHandlers } from "./errors";
import {
  exportRoiFileMenu,
  fileFacts,
  importMasksMenu,
  importRoiFileMenu,
  installFileHooks,
  loadData,
  loadDataMenu,
  saveMasksMenu,
  statisticsMenu,
} from "./data";
import { MASK_TARGETS, maskTargetEnabled } from "./filelogic";
import type { Menu, MenuAction, MenuItem } from "./menu-types";
import { preferencesDialog, restoreFactoryDialog } from "./preferences";
import { roiMenu } from "./roiops";
import { SHORTCUTS } from "./shortcuts";
import { viewMenu } from "./viewmenu";

let datasetOpen = false;

/** The menus enable their dataset actions once one is open. */
export function setDatasetOpen(open: boolean): void {
  datasetOpen = open;
  refreshEnabled();
}

const always = () => true;
const never = () => false;

const action = (id: string, label: string, run: () => Promise<void> | void, enabled?: () => boolean): MenuAction => ({
  kind: "action",
  id,
  label,
  run,
  enabled,
});

function saveMask(format: MaskFormatDto): MenuAction {
  const t = MASK_TARGETS[format];
  return action(`save-masks-${format}`, t.label, () => saveMasksMenu(format), () => datasetOpen && maskTargetEnabled(t, fileFacts()?.fromDicom ?? false));
}

/** File → Reorient data: asks first (the ROIs and settings go with the old grid). */
const reorient = (how: ReorientDto, label: string) => async () => {
  if (!(await confirmDialog(`Reorient data: ${label}`, "This will delete all the ROIs and settings!", "Reorient"))) return;
  try {
    await api.reorientData(how);
  } catch (e) {
    await showMessage("Reorient data failed", errorMessage(e), "error");
  }
};

export const fileMenu: Menu = {
  id: "file",
  label: "File",
  items: [
    action("load-data", "Load data…", () => loadDataMenu(false), always),
    action("load-folder", "Load folder…", () => loadDataMenu(true), always),
    { kind: "separator" },
    {
      kind: "submenu",
      id: "reorient",
      label: "Reorient data",
      items: [
        action("reorient-axial", "Axial…", reorient("axial", "axial")),
        action("reorient-sagittal", "Sagittal…", reorient("sagittal", "sagittal")),
        action("reorient-coronal", "Coronal…", reorient("coronal", "coronal")),
        action("reorient-invert", "Invert slices…", reorient("invertSlices", "invert slices")),
      ],
    },
    { kind: "separator" },
    action("import-roi-file", "Import ROI file…", importRoiFileMenu),
    action("export-roi-file", "Export ROI file…", exportRoiFileMenu),
    {
      kind: "submenu",
      id: "import-masks",
      label: "Import masks…",
      items: [
        action("import-mask-single", "Import single mask…", () => importMasksMenu(false)),
        action("import-mask-multiple", "Import multiple masks…", () => importMasksMenu(true)),
      ],
    },
    {
      kind: "submenu",
      id: "save-masks",
      label: "Save masks…",
      items: [
        { kind: "submenu", id: "save-numpy", label: "Save as Numpy…", items: [saveMask("npz"), saveMask("npy"), saveMask("bundle")] },
        saveMask("dicom"),
        saveMask("nifti"),
        { kind: "submenu", id: "save-compact", label: "Save as compact…", items: [saveMask("compactDicom"), saveMask("compactNifti")] },
        saveMask("seg"),
      ],
    },
    { kind: "separator" },
    action("quit", "Quit", quit, always),
  ],
};

const DEEP_LEARNING = "comes with the deep-learning issue";

export const toolsMenu: Menu = {
  id: "tools",
  label: "Tools",
  items: [
    action("improve-model", "Improve model…", improveModelMenu),
    {
      kind: "submenu",
      id: "statistics",
      label: "Calculate statistics",
      items: [action("stats-global", "Global…", () => statisticsMenu(false)), action("stats-slicewise", "Slicewise…", () => statisticsMenu(true))],
    },
    { ...action("model-browser", "Model browser…", () => undefined, never), shortcut: DEEP_LEARNING },
    { kind: "separator" },
    action("preferences", "Preferences…", async () => void (await preferencesDialog()), always),
    action("restore-factory", "Restore factory settings…", restoreFactoryDialog, always),
    {
      kind: "submenu",
      id: "open-folder",
      label: "Open folder",
      items: [
        action("open-models-folder", "Models folder…", () => openFolder("models"), always),
        action("open-logs-folder", "Logs folder…", () => openFolder("logs"), always),
      ],
    },
  ],
};

export const helpMenu: Menu = {
  id: "help",
  label: "Help",
  items: [
    action("shortcuts", "Shortcuts…", showShortcuts, always),
    action("about", "About…", showAbout, always),
    action("show-logs", "Show logs…", showLogs, always),
  ],
};

async function openFolder(folder: "logs" | "models"): Promise<void> {
  try {
    await api.openFolder(folder);
  } catch (e) {
    await showMessage("Open folder failed", errorMessage(e), "error");
  }
}

async function showShortcuts(): Promise<void> {
  const table = document.createElement("table");
  table.className = "shortcuts";
  if (SHORTCUTS.length === 0) {
    const p = document.createElement("p");
    p.textContent = "No shortcuts are defined yet.";
    await custom("Shortcuts", p, [["Close", "ok"]]);
    return;
  }
  for (const s of SHORTCUTS) {
    const tr = table.insertRow();
    tr.insertCell().textContent = s.keys;
    tr.insertCell().textContent = s.action;
  }
  await custom("Shortcuts", table, [["Close", "ok"]]);
}

async function showAbout(): Promise<void> {
  const a = await api.about();
  const box = document.createElement("div");
  box.className = "about";
  const h = document.createElement("p");
  h.innerHTML = "";
  h.append(Object.assign(document.createElement("strong"), { textContent: `${a.name} ${a.version}` }));
  const d = document.createElement("p");
  d.textContent = a.description;
  const l = document.createElement("p");
  l.textContent = `Licence: ${a.licence}`;
  box.append(h, d, l);
  await custom("About Dafne", box, [["Close", "ok"]]);
}

async function showLogs(): Promise<void> {
  const box = document.createElement("div");
  box.className = "logs";
  const folder = document.createElement("p");
  const out = document.createElement("pre");
  out.id = "log-output";
  const err = document.createElement("pre");
  err.id = "log-error";
  const refresh = document.createElement("button");
  refresh.type = "button";
  refresh.id = "log-refresh";
  refresh.textContent = "Refresh";
  const load = async () => {
    const logs = await api.readLogs();
    folder.textContent = `In ${logs.folder}`;
    out.textContent = logs.outputLog || "(empty)";
    err.textContent = logs.errorLog || "(empty)";
    out.scrollTop = out.scrollHeight;
  };
  refresh.onclick = () => void load();
  const h1 = Object.assign(document.createElement("h4"), { textContent: "dafne_output.log" });
  const h2 = Object.assign(document.createElement("h4"), { textContent: "dafne_error.log" });
  box.append(folder, refresh, h1, out, h2, err);
  await load();
  // Live-ish: refreshed every 2 s while open.
  const timer = window.setInterval(() => void load().catch(() => undefined), 2000);
  try {
    await custom("Logs", box, [["Close", "ok"]]);
  } finally {
    window.clearInterval(timer);
  }
}

/** Quits, asking first when edits would be lost. */
async function quit(): Promise<void> {
  const facts = await api.fileFacts().catch(() => null);
  if (facts?.unsaved && !(await askLoseEdits())) return;
  await api.quitApp();
}

function askLoseEdits(): Promise<boolean> {
  return confirmDialog(
    "Unsaved changes",
    "The ROIs have changes that were not saved or exported. Quit and lose them?",
    "Quit without saving",
  );
}

function allMenus(): Menu[] {
  return [fileMenu, viewMenu, toolsMenu, roiMenu, helpMenu];
}

const actions = new Map<string, MenuAction>();

function isEnabled(item: MenuAction): boolean {
  return item.enabled ? item.enabled() : datasetOpen;
}

/** Greys out what cannot run now (called when a menu opens and when the data change). */
function refreshEnabled(): void {
  for (const [id, item] of actions) {
    document.getElementById(`menu-${id}`)?.classList.toggle("disabled", !isEnabled(item));
  }
}

function itemElement(item: MenuItem): HTMLElement {
  const li = document.createElement("li");
  if (item.kind === "separator") {
    li.className = "separator";
    return li;
  }
  li.id = `menu-${item.id}`;
  const label = document.createElement("span");
  label.className = "label";
  label.textContent = item.label;
  li.append(label);
  if (item.kind === "submenu") {
    li.classList.add("submenu");
    const ul = document.createElement("ul");
    ul.append(...item.items.map(itemElement));
    li.append(ul);
  } else {
    actions.set(item.id, item);
    if (item.shortcut) {
      const s = document.createElement("span");
      s.className = "shortcut";
      s.textContent = item.shortcut;
      li.append(s);
    }
    li.onclick = (ev) => {
      ev.stopPropagation();
      if (!isEnabled(item)) return;
      closeMenus();
      void Promise.resolve(item.run());
    };
  }
  return li;
}

function closeMenus(): void {
  document.querySelectorAll("#menubar .open").forEach((el) => el.classList.remove("open"));
}

/** Builds the menu bar into `#menubar` and starts the shell's page side. */
export function mountMenus(): void {
  installErrorHandlers();
  installFileHooks();
  const bar = document.getElementById("menubar");
  if (bar) {
    const ul = document.createElement("ul");
    for (const m of allMenus()) {
      const li = document.createElement("li");
      li.id = `menu-${m.id}`;
      li.className = "top";
      const label = document.createElement("span");
      label.className = "label";
      label.textContent = m.label;
      const sub = document.createElement("ul");
      sub.append(...m.items.map(itemElement));
      li.append(label, sub);
      label.onclick = (ev) => {
        ev.stopPropagation();
        const wasOpen = li.classList.contains("open");
        closeMenus();
        if (!wasOpen) {
          refreshEnabled();
          li.classList.add("open");
        }
      };
      ul.append(li);
    }
    bar.replaceChildren(ul);
    document.addEventListener("click", closeMenus);
  }
  refreshEnabled();
  void events.closeRequested.listen(async () => {
    if (await askLoseEdits()) await api.quitApp();
  });
  void events.datasetOpened.listen(() => setDatasetOpen(true));
  void startup();
}

async function startup(): Promise<void> {
  const warning = await api.startupWarning().catch(() => null);
  if (warning) await showMessage("Preferences", warning, "error");
  const path = await api.startupPath().catch(() => null);
  if (path) await loadData(path);
}
