// The View menu: zoom in / out / to fit, reset window/level, go to image. The view lives in
// the Image Window, so each item sends it a command.
import type { Menu } from "./menu-types";
import { sendCommand, type UiCommand } from "./shared";

const item = (id: string, label: string, command: UiCommand, shortcut?: string) =>
  ({ kind: "action", id, label, shortcut, run: () => sendCommand(command) }) as const;

export const viewMenu: Menu = {
  id: "view",
  label: "View",
  items: [
    item("view-zoom-in", "Zoom in", "view:zoomIn", "Ctrl+="),
    item("view-zoom-out", "Zoom out", "view:zoomOut", "Ctrl+-"),
    item("view-zoom-fit", "Zoom to fit", "view:fit", "Ctrl+0"),
    { kind: "separator" },
    item("view-reset-window", "Reset window/level", "view:resetWindow"),
    item("view-go-to", "Go to image…", "view:goTo", "Ctrl+G"),
  ],
};
