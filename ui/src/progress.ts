// Long jobs (opening a dataset; later exports and deep-learning runs) as the original shows
// them: a splash over the Toolbox with an animated logo, what is being done, a progress bar
// and a Cancel button. While it is up, the menus and controls underneath are inert and the
// keyboard shortcuts are held back (Escape cancels). Progress comes from Rust through a
// `Channel<JobProgress>`; Cancel calls `cancel_job`, and the job then fails with `Cancelled`.
import { Channel } from "@tauri-apps/api/core";
import { api } from "./api";
import type { JobProgress } from "./bindings";

export type { JobProgress };

let jobCount = 0;

/** A fresh id for a job of this page (unique across windows: it carries the page's start). */
export function newJobId(kind = "job"): string {
  jobCount += 1;
  return `${kind}-${PAGE_STAMP}-${jobCount}`;
}
const PAGE_STAMP = `${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

/** Fraction done in [0, 1], or null while the total is unknown (an indeterminate bar). */
export function fractionDone(p: JobProgress | null): number | null {
  if (!p || !(p.total > 0)) return null;
  return Math.min(1, Math.max(0, p.done / p.total));
}

/** The splash's line under the title: "decoding slices: 12 / 80 (15%)". */
export function progressText(p: JobProgress | null): string {
  if (!p) return "starting…";
  const f = fractionDone(p);
  if (f === null) return `${p.what}…`;
  return `${p.what}: ${p.done} / ${p.total} (${Math.floor(f * 100)}%)`;
}

interface Splash {
  root: HTMLDivElement;
  text: HTMLDivElement;
  bar: HTMLDivElement;
  cancel: HTMLButtonElement;
}

function buildSplash(title: string): Splash {
  const root = document.createElement("div");
  root.id = "job-splash";
  root.setAttribute("role", "dialog");
  root.setAttribute("aria-label", title);
  const logo = document.createElement("div");
  logo.className = "job-logo";
  logo.textContent = "Dafne";
  const heading = document.createElement("div");
  heading.className = "job-title";
  heading.textContent = title;
  const text = document.createElement("div");
  text.className = "job-text";
  const track = document.createElement("div");
  track.className = "job-track";
  const bar = document.createElement("div");
  bar.className = "job-bar";
  track.append(bar);
  const cancel = document.createElement("button");
  cancel.id = "job-cancel";
  cancel.textContent = "Cancel";
  root.append(logo, heading, text, track, cancel);
  return { root, text, bar, cancel };
}

function show(s: Splash, p: JobProgress | null): void {
  s.text.textContent = progressText(p);
  const f = fractionDone(p);
  s.bar.classList.toggle("indeterminate", f === null);
  s.bar.style.width = f === null ? "" : `${(f * 100).toFixed(1)}%`;
}

let running = false;

/** True while a job's splash is up (one job at a time, as in the original). */
export function jobRunning(): boolean {
  return running;
}

/**
 * Runs `work` as a long job under the splash and returns its result (or rethrows its error:
 * `errorKind(e) === "Cancelled"` when the user cancelled). `work` gets the channel to pass to
 * the command and the job id to give it.
 */
export async function runJob<T>(title: string, work: (channel: Channel<JobProgress>, jobId: string) => Promise<T>): Promise<T> {
  if (running) throw new Error("another job is running");
  running = true;
  const jobId = newJobId();
  const splash = buildSplash(title);
  let updates = 0;
  const channel = new Channel<JobProgress>();
  channel.onmessage = (p) => {
    updates += 1;
    show(splash, p);
    // What the end-to-end test (and a curious developer) can read back.
    splash.root.dataset.updates = String(updates);
    splash.root.dataset.last = `${p.done}/${p.total} ${p.what}`;
  };
  const cancel = (): void => {
    if (splash.cancel.disabled) return;
    splash.cancel.disabled = true;
    splash.cancel.textContent = "Cancelling…";
    void api.cancelJob(jobId).catch(() => undefined);
  };
  splash.cancel.onclick = cancel;
  const holdKeys = (e: KeyboardEvent): void => {
    if (e.key === "Escape") cancel();
    e.stopImmediatePropagation();
    e.preventDefault();
  };
  const others = [...document.body.children].filter((el): el is HTMLElement => el instanceof HTMLElement);
  for (const el of others) el.inert = true;
  document.body.classList.add("job-running");
  window.addEventListener("keydown", holdKeys, true);
  show(splash, null);
  document.body.append(splash.root);
  const finished = (outcome: string): void => {
    window.removeEventListener("keydown", holdKeys, true);
    for (const el of others) el.inert = false;
    document.body.classList.remove("job-running");
    splash.root.remove();
    running = false;
    // The last job's title, update count, last update and outcome, for the end-to-end test.
    document.body.dataset.lastJob = JSON.stringify({ title, updates, last: splash.root.dataset.last ?? "", outcome });
  };
  try {
    const result = await work(channel, jobId);
    finished("done");
    return result;
  } catch (e) {
    finished(splash.cancel.disabled ? "cancelled" : "failed");
    throw e;
  }
}
