// Tools → Preferences… and Restore factory settings…: one dialog generated from the list of
// entries below (the original's labels; entries it showed without a label appear only with
// "Show advanced configuration"). Rust validates and stores them and tells both windows
// (`PreferencesChanged`).
import { api, errorMessage, type Preferences } from "./api";
import { custom, form, showMessage } from "./dialogs";
import { checkRanges, hexToRgba, PREFERENCE_RANGES, rgbaToHex } from "./filelogic";

type Key = keyof Preferences;
type Rgba = [number, number, number, number];

interface Entry {
  key: Key;
  label: string;
  kind: "bool" | "number" | "choice" | "colour" | "text";
  choices?: string[];
  step?: number;
  advanced?: boolean;
}

const ENTRIES: Entry[] = [
  { key: "MODEL_PROVIDER", label: "Model source", kind: "choice", choices: ["Local", "Remote", "Mixed"] },
  { key: "SPLIT_LATERALITY", label: "Separate L/R in autosegment", kind: "bool" },
  { key: "MOUSE_SCROLL_DEBOUNCE_TIME", label: "Debounce time for mouse scrollwheel (ms)", kind: "number", step: 10 },
  { key: "HIDE_ROIS_RIGHTCLICK", label: "Hide ROIs with right click", kind: "bool" },
  {
    key: "INTERPOLATION",
    label: "Image interpolation method",
    kind: "choice",
    choices: ["none", "nearest", "bilinear", "bicubic", "spline36", "catrom", "lanczos"],
  },
  { key: "COLORMAP", label: "Image colormap", kind: "choice", choices: ["gray", "viridis", "magma", "gist_yarg", "hsv"] },
  { key: "MASK_LAYER_ALPHA", label: "Alpha channel of masks", kind: "number", step: 0.05 },
  { key: "AUTOSAVE_INTERVAL", label: "Autosave interval (s)", kind: "number", step: 1, advanced: true },
  { key: "ROI_COLOR", label: "Active sub-ROI colour", kind: "colour", advanced: true },
  { key: "ROI_SAME_COLOR", label: "Inactive sub-ROIs colour", kind: "colour", advanced: true },
  { key: "ROI_OTHER_COLOR", label: "Inactive ROIs colour", kind: "colour", advanced: true },
  { key: "USE_MULTIPLE_OTHER_COLORS", label: "One colour per inactive ROI", kind: "bool", advanced: true },
  { key: "BRUSH_PAINT_COLOR", label: "Brush colour (paint)", kind: "colour", advanced: true },
  { key: "BRUSH_ERASE_COLOR", label: "Brush colour (erase)", kind: "colour", advanced: true },
  { key: "SERVER_URL", label: "Server URL", kind: "text", advanced: true },
  { key: "IL_MIN_SLICES", label: "Minimum slices for incremental learning", kind: "number", step: 1, advanced: true },
  { key: "DO_INCREMENTAL_LEARNING", label: "Incremental learning on mask export", kind: "bool", advanced: true },
  { key: "ADVANCED_CONFIG", label: "Show advanced configuration", kind: "bool" },
];

interface Row {
  entry: Entry;
  element: HTMLElement;
  read: () => Preferences[Key];
}

function row(entry: Entry, value: Preferences[Key]): Row {
  const label = document.createElement("label");
  label.className = "pref-row";
  label.dataset.key = entry.key;
  const text = document.createElement("span");
  text.textContent = entry.label;
  label.append(text);
  const id = `pref-${entry.key}`;
  switch (entry.kind) {
    case "bool": {
      const i = document.createElement("input");
      i.type = "checkbox";
      i.id = id;
      i.checked = Boolean(value);
      label.append(i);
      return { entry, element: label, read: () => i.checked };
    }
    case "number": {
      const i = document.createElement("input");
      i.type = "number";
      i.id = id;
      const range = PREFERENCE_RANGES[entry.key];
      if (range) {
        i.min = String(range[0]);
        i.max = String(range[1]);
      }
      i.step = String(entry.step ?? 1);
      i.value = String(value);
      label.append(i);
      return { entry, element: label, read: () => Number(i.value) };
    }
    case "choice": {
      const s = document.createElement("select");
      s.id = id;
      for (const c of entry.choices ?? []) s.append(new Option(c, c, false, c === value));
      label.append(s);
      return { entry, element: label, read: () => s.value };
    }
    case "text": {
      const i = document.createElement("input");
      i.type = "text";
      i.id = id;
      i.value = String(value);
      label.append(i);
      return { entry, element: label, read: () => i.value };
    }
    case "colour": {
      const rgba = value as Rgba;
      const c = document.createElement("input");
      c.type = "color";
      c.id = id;
      c.value = rgbaToHex(rgba);
      const a = document.createElement("input");
      a.type = "number";
      a.id = `${id}-alpha`;
      a.min = "0";
      a.max = "1";
      a.step = "0.05";
      a.value = String(rgba[3]);
      a.title = "opacity";
      label.append(c, a);
      return { entry, element: label, read: () => hexToRgba(c.value, Number(a.value)) };
    }
  }
}

/** Shows the Preferences dialog; saves on OK. Resolves to what was saved, or null. */
export async function preferencesDialog(): Promise<Preferences | null> {
  const current = await api.getPreferences();
  const box = document.createElement("div");
  box.className = "preferences";
  const rows = ENTRIES.map((e) => row(e, current[e.key]));
  box.append(...rows.map((r) => r.element));
  const advancedBox = rows.find((r) => r.entry.key === "ADVANCED_CONFIG")?.element.querySelector("input");
  const showAdvanced = () => {
    for (const r of rows) if (r.entry.advanced) r.element.hidden = !advancedBox?.checked;
  };
  advancedBox?.addEventListener("change", showAdvanced);
  showAdvanced();
  const answer = await custom("Preferences", box, [
    ["Cancel", "cancel"],
    ["Save", "save"],
  ]);
  if (answer !== "save") return null;
  const next: Preferences = { ...current };
  for (const r of rows) (next as Record<Key, Preferences[Key]>)[r.entry.key] = r.read();
  const bad = checkRanges(next as unknown as Record<string, unknown>);
  try {
    if (bad) throw new Error(bad);
    return await api.setPreferences(next);
  } catch (e) {
    await showMessage("Preferences not saved", errorMessage(e), "error");
    return null;
  }
}

/** Tools → Restore factory settings… (option "Keep the API key", on by default). */
export async function restoreFactoryDialog(): Promise<void> {
  const a = await form(
    "Restore factory settings",
    [{ key: "keep", label: "Keep the API key", kind: "checkbox", value: true }],
    "Restore",
  );
  if (a === null) return;
  try {
    await api.resetPreferences(Boolean(a.keep));
    await showMessage("Restore factory settings", "The factory settings were restored.");
  } catch (e) {
    await showMessage("Restore factory settings failed", errorMessage(e), "error");
  }
}
