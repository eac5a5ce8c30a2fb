// Every keyboard and mouse shortcut, in one list: the windows bind keys from it and
// Help → Shortcuts shows it, so the two never disagree.

export interface Shortcut {
  /** As shown to the user, e.g. "Ctrl+Z". */
  keys: string;
  action: string;
}

export const SHORTCUTS: Shortcut[] = [];
