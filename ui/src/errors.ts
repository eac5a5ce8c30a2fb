// Unexpected errors (a command error of kind Internal, an uncaught exception, an unhandled
// rejection): the ROIs are saved beside the autosave (`emergency_save`) and the user is told
// where, as the original's "An error occurred… The current ROIs will be saved". Both pages
// install the handlers (the Image Window through its own <script> tag).
import { commands } from "./bindings";
import { showMessage } from "./dialogs";

const page = document.body?.className.split(" ")[0] || "page";
let reporting = false;
let installed = false;

function describe(e: unknown): string {
  if (e instanceof Error) return `${e.name}: ${e.message}`;
  if (typeof e === "object" && e !== null && "message" in e) return String((e as { message: unknown }).message);
  return String(e);
}

/** Saves the ROIs and tells the user; one dialog at a time. */
export async function reportUnexpected(e: unknown): Promise<void> {
  const what = describe(e);
  await commands.logPageError(page, what).catch(() => undefined);
  if (reporting) return;
  reporting = true;
  try {
    let saved: string | null = null;
    let saveError = "";
    try {
      saved = await commands.emergencySave();
    } catch (err) {
      saveError = describe(err);
    }
    const where = saved
      ? `The current ROIs were saved to ${saved}.`
      : saveError
        ? `The current ROIs could not be saved: ${saveError}`
        : "No dataset was open: nothing to save.";
    await showMessage("An error occurred", `An error occurred: ${what}\n\n${where}`, "error");
  } finally {
    reporting = false;
  }
}

/** Listens for what nothing else caught in this page. */
export function installErrorHandlers(): void {
  if (installed) return;
  installed = true;
  window.addEventListener("error", (ev) => void reportUnexpected(ev.error ?? ev.message));
  window.addEventListener("unhandledrejection", (ev) => void reportUnexpected(ev.reason));
}

// Loaded on its own by image.html: install at once. toolbox.ts reaches it through menus.ts.
installErrorHandlers();
