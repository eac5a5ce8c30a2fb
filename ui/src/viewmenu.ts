// The View menu (zoom, pan, ROI display): filled in by the Image Window work; menus.ts places it.
import type { Menu } from "./menu-types";

export const viewMenu: Menu = { id: "view", label: "View", items: [] };
