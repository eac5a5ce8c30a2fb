// In-page modal dialogs (HTML <dialog>): the webview's alert/confirm/prompt do not work in a
// Tauri window, and native dialogs are only for picking files. Each returns a promise that
// settles when the user answers; Escape is "cancel".

export interface Field {
  /** Key of the answer in the returned record. */
  key: string;
  label: string;
  kind: "text" | "number" | "select" | "checkbox";
  value?: string | number | boolean;
  /** For "select": [value, label] pairs. */
  choices?: [string, string][];
  min?: number;
  max?: number;
}
export type Answers = Record<string, string | number | boolean>;

function build(title: string): { dialog: HTMLDialogElement; form: HTMLFormElement; body: HTMLDivElement; buttons: HTMLDivElement } {
  const dialog = document.createElement("dialog");
  dialog.className = "dafne-dialog";
  const form = document.createElement("form");
  form.method = "dialog";
  // Ranges are checked by the caller and by Rust, with messages that say which value is wrong.
  form.noValidate = true;
  const h = document.createElement("h3");
  h.textContent = title;
  const body = document.createElement("div");
  body.className = "dialog-body";
  const buttons = document.createElement("div");
  buttons.className = "dialog-buttons";
  form.append(h, body, buttons);
  dialog.append(form);
  document.body.append(dialog);
  return { dialog, form, body, buttons };
}

function button(label: string, value: string, primary = false): HTMLButtonElement {
  const b = document.createElement("button");
  b.textContent = label;
  b.value = value;
  b.className = primary ? "primary" : "";
  b.dataset.answer = value;
  return b;
}

function run(dialog: HTMLDialogElement): Promise<string> {
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      const answer = dialog.returnValue;
      dialog.remove();
      resolve(answer);
    });
    dialog.showModal();
  });
}

/** A form; resolves to the answers, or null when cancelled. */
export async function form(title: string, fields: Field[], ok = "OK"): Promise<Answers | null> {
  const { dialog, body, buttons } = build(title);
  const inputs = new Map<string, HTMLInputElement | HTMLSelectElement>();
  for (const f of fields) {
    const label = document.createElement("label");
    label.append(f.label);
    let input: HTMLInputElement | HTMLSelectElement;
    if (f.kind === "select") {
      const select = document.createElement("select");
      for (const [value, text] of f.choices ?? []) select.append(new Option(text, value, false, value === f.value));
      input = select;
    } else {
      const i = document.createElement("input");
      i.type = f.kind;
      if (f.kind === "checkbox") i.checked = Boolean(f.value);
      else i.value = f.value === undefined ? "" : String(f.value);
      if (f.min !== undefined) i.min = String(f.min);
      if (f.max !== undefined) i.max = String(f.max);
      input = i;
    }
    input.name = f.key;
    input.id = `dialog-${f.key}`;
    label.append(input);
    body.append(label);
    inputs.set(f.key, input);
  }
  buttons.append(button("Cancel", "cancel"), button(ok, "ok", true));
  const answer = await run(dialog);
  if (answer !== "ok") return null;
  const out: Answers = {};
  for (const f of fields) {
    const input = inputs.get(f.key);
    if (!input) continue;
    if (f.kind === "checkbox") out[f.key] = (input as HTMLInputElement).checked;
    else if (f.kind === "number") out[f.key] = Number(input.value);
    else out[f.key] = input.value;
  }
  return out;
}

/** One line of text; null when cancelled. */
export async function promptText(title: string, label: string, value = ""): Promise<string | null> {
  const a = await form(title, [{ key: "text", label, kind: "text", value }]);
  return a === null ? null : String(a.text);
}

/** Yes/no; resolves true on "OK". */
export async function confirmDialog(title: string, message: string, ok = "OK"): Promise<boolean> {
  const { dialog, body, buttons } = build(title);
  body.textContent = message;
  buttons.append(button("Cancel", "cancel"), button(ok, "ok", true));
  return (await run(dialog)) === "ok";
}

/** A message with one button. */
export async function showMessage(title: string, message: string, kind: "info" | "error" = "info"): Promise<void> {
  const { dialog, body, buttons } = build(title);
  dialog.classList.add(kind);
  body.textContent = message;
  buttons.append(button("OK", "ok", true));
  await run(dialog);
}

/** A dialog around any content: resolves to the value of the button pressed ("cancel" on Escape). */
export async function custom(
  title: string,
  content: HTMLElement,
  choices: [label: string, value: string][],
  onOpen?: (dialog: HTMLDialogElement) => void,
): Promise<string> {
  const { dialog, body, buttons } = build(title);
  body.append(content);
  choices.forEach(([label, value], i) => buttons.append(button(label, value, i === choices.length - 1)));
  onOpen?.(dialog);
  const answer = await run(dialog);
  return answer || "cancel";
}

/** One choice among several buttons; null when cancelled (Escape). */
export async function choose(title: string, message: string, choices: [label: string, value: string][]): Promise<string | null> {
  const p = document.createElement("p");
  p.textContent = message;
  const answer = await custom(title, p, choices);
  return choices.some(([, v]) => v === answer) && answer !== "cancel" ? answer : null;
}
