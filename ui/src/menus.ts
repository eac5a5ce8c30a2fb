// The Toolbox's menu bar (File, View, Tools, ROI, Help) laid out from the menu data.
import type { Menu, MenuItem } from "./menu-types";
import { roiMenu } from "./roiops";
import { viewMenu } from "./viewmenu";

let datasetOpen = false;

/** The menus enable their dataset actions once one is open. */
export function setDatasetOpen(open: boolean): void {
  datasetOpen = open;
}

function allMenus(): Menu[] {
  return [viewMenu, roiMenu];
}

function itemElement(item: MenuItem): HTMLElement {
  const li = document.createElement("li");
  if (item.kind === "separator") {
    li.className = "separator";
    return li;
  }
  li.id = `menu-${item.id}`;
  li.textContent = item.label;
  if (item.kind === "submenu") {
    const ul = document.createElement("ul");
    ul.append(...item.items.map(itemElement));
    li.append(ul);
  } else {
    li.onclick = () => {
      const enabled = item.enabled ? item.enabled() : datasetOpen;
      if (enabled) void item.run();
    };
  }
  return li;
}

/** Builds the menu bar into `#menubar`. */
export function mountMenus(): void {
  const bar = document.getElementById("menubar");
  if (!bar) return;
  const ul = document.createElement("ul");
  for (const m of allMenus()) {
    const li = document.createElement("li");
    li.id = `menu-${m.id}`;
    li.textContent = m.label;
    const sub = document.createElement("ul");
    sub.append(...m.items.map(itemElement));
    li.append(sub);
    ul.append(li);
  }
  bar.replaceChildren(ul);
}
