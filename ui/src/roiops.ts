// The ROI menu (Copy/Rename, Combine, Multiple combine, Remove overlap): filled in by the
// editing work; menus.ts places it in the menu bar.
import type { Menu } from "./menu-types";

export const roiMenu: Menu = { id: "roi", label: "ROI", items: [] };
