// Every keyboard and mouse shortcut, in one list: the windows bind keys from it (through
// `shortcutFor`) and Help → Shortcuts shows `SHORTCUTS`, so the two never disagree. The keys
// are the original's (manual, "Keyboard shortcuts"); zoom and pan, which the original did
// with matplotlib's toolbar, use keys the manual leaves free.

export interface Shortcut {
  /** As shown to the user, e.g. "Ctrl+Z". */
  keys: string;
  action: string;
}

export type ShortcutId =
  | "prevSlice"
  | "nextSlice"
  | "brushSmaller"
  | "brushBigger"
  | "removeOverlap"
  | "undo"
  | "redo"
  | "goTo"
  | "propagateForward"
  | "propagateBack"
  | "zoomIn"
  | "zoomOut"
  | "zoomFit";

interface Binding extends Shortcut {
  /** Keyboard shortcuts have an id and a matcher; mouse ones are listed only. */
  id?: ShortcutId;
  match?: (e: KeyboardEvent) => boolean;
  /** Listed but not bound until its feature comes. */
  pending?: string;
}

const ctrl = (e: KeyboardEvent) => e.ctrlKey || e.metaKey;
const plain = (e: KeyboardEvent) => !e.ctrlKey && !e.metaKey && !e.altKey;
const key = (...keys: string[]) => (e: KeyboardEvent) => keys.includes(e.key);

const BINDINGS: Binding[] = [
  { keys: "Left / Up arrow, mouse wheel", action: "Previous slice", id: "prevSlice", match: (e) => plain(e) && !e.shiftKey && key("ArrowLeft", "ArrowUp")(e) },
  { keys: "Right / Down arrow, mouse wheel", action: "Next slice", id: "nextSlice", match: (e) => plain(e) && !e.shiftKey && key("ArrowRight", "ArrowDown")(e) },
  { keys: "Hold Shift", action: "Temporary Paint / Add-Move" },
  { keys: "Hold Ctrl (Cmd)", action: "Temporary Erase / Remove" },
  { keys: "n", action: "Propagate forward (registration)", id: "propagateForward", pending: "registration", match: (e) => plain(e) && e.key === "n" },
  { keys: "b", action: "Propagate back (registration)", id: "propagateBack", pending: "registration", match: (e) => plain(e) && e.key === "b" },
  { keys: "-, y, z", action: "Brush smaller", id: "brushSmaller", match: (e) => plain(e) && key("-", "y", "z")(e) },
  { keys: "+, x", action: "Brush larger", id: "brushBigger", match: (e) => plain(e) && key("+", "x")(e) },
  { keys: "Ctrl+wheel", action: "Brush smaller / larger" },
  { keys: "r", action: "Remove ROI overlap", id: "removeOverlap", match: (e) => plain(e) && e.key === "r" },
  { keys: "Ctrl+Z", action: "Undo", id: "undo", match: (e) => ctrl(e) && !e.shiftKey && key("z", "Z")(e) },
  { keys: "Ctrl+Y", action: "Redo", id: "redo", match: (e) => ctrl(e) && key("y", "Y")(e) },
  { keys: "Ctrl+G", action: "Go to image", id: "goTo", match: (e) => ctrl(e) && key("g", "G")(e) },
  { keys: "Right-drag", action: "Window / level (horizontal: width, vertical: centre)" },
  { keys: "Double right-click", action: "Reset window / level" },
  { keys: "Hold right button", action: "Hide ROIs" },
  { keys: "Ctrl+= / Alt+wheel up / Shift+wheel up", action: "Zoom in", id: "zoomIn", match: (e) => ctrl(e) && key("=", "+")(e) },
  { keys: "Ctrl+- / Alt+wheel down / Shift+wheel down", action: "Zoom out", id: "zoomOut", match: (e) => ctrl(e) && e.key === "-" },
  { keys: "Ctrl+0", action: "Zoom to fit", id: "zoomFit", match: (e) => ctrl(e) && e.key === "0" },
  { keys: "Middle-drag", action: "Pan" },
];

export const SHORTCUTS: Shortcut[] = BINDINGS.map((b) => ({
  keys: b.keys,
  action: b.pending ? `${b.action} — comes with ${b.pending}` : b.action,
}));

/** Whether the event was typed into a text field (shortcuts must not fire there). */
function typing(e: KeyboardEvent): boolean {
  const t = e.target;
  return typeof HTMLElement !== "undefined" && t instanceof HTMLElement && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
}

/** The shortcut a key press means, or null (pending ones and typing in fields: null). */
export function shortcutFor(e: KeyboardEvent): ShortcutId | null {
  if (typing(e)) return null;
  const b = BINDINGS.find((x) => x.id && !x.pending && x.match?.(e));
  return b?.id ?? null;
}
