// The shape of the Toolbox's menu bar: each area contributes its menus as data (menus.ts
// lays them out), so labels, shortcuts and enabling live next to the action they run.

export interface MenuAction {
  kind: "action";
  /** Stable id: the element gets `menu-<id>` (end-to-end tests click by it). */
  id: string;
  label: string;
  /** Shown at the right of the label, e.g. "Ctrl+G". */
  shortcut?: string;
  /** Disabled unless this returns true; default: enabled once a dataset is open. */
  enabled?: () => boolean;
  run: () => Promise<void> | void;
}
export interface SubMenu {
  kind: "submenu";
  id: string;
  label: string;
  items: MenuItem[];
}
export type MenuItem = MenuAction | SubMenu | { kind: "separator" };

export interface Menu {
  id: string;
  label: string;
  items: MenuItem[];
}
