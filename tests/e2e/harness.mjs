// What every end-to-end test of the real app shares: start the app through tauri-driver,
// find its two windows, run named steps that each save a screenshot of both windows under
// tests/e2e/artifacts/<test>/, call commands from the page, and load a dataset as a user does.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { WebDriver } from "./webdriver.mjs";

export const here = dirname(fileURLToPath(import.meta.url));
const app = process.env.DAFNE_APP ?? join(here, "../../target/debug/dafne-app");
const driverUrl = process.env.WEBDRIVER_URL ?? "http://127.0.0.1:4444";
export const series = process.env.DAFNE_E2E_SERIES ?? join(here, "../../samples/dicom/ge_pd_axial_oblique");

/** Script text that calls a command from the page and returns its reply (or throws its error). */
export const invoke = (cmd, args = {}) =>
  `return await window.__TAURI_INTERNALS__.invoke(${JSON.stringify(cmd)}, ${JSON.stringify(args)});`;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the app, runs `body(t)` and quits. `t` = { wd, windows, inToolbox, inImage, step,
 * call, artifacts }. Exits the process with 1 on failure.
 */
export async function runApp(testName, body) {
  const artifacts = join(here, "artifacts", testName);
  rmSync(artifacts, { recursive: true, force: true });
  mkdirSync(artifacts, { recursive: true });
  let wd;
  try {
    wd = await WebDriver.start(driverUrl, app);
    const windows = {};
    // Both windows open at start; tell them apart by their page.
    let handles = await wd.handles();
    for (const t0 = Date.now(); handles.length < 2 && Date.now() - t0 < 15000; handles = await wd.handles()) await sleep(200);
    assert.equal(handles.length, 2, "the app opens two windows (Toolbox and Image Window)");
    for (const h of handles) {
      await wd.switchTo(h);
      const kind = await wd.waitFor("a page", "return document.body && document.body.className", (v) => v);
      windows[kind.split(" ")[0]] = h;
    }
    assert.ok(windows.toolbox && windows.image, `windows found: ${Object.keys(windows)}`);
    const inToolbox = () => wd.switchTo(windows.toolbox);
    const inImage = () => wd.switchTo(windows.image);
    const shots = async (name) => {
      for (const kind of ["toolbox", "image"]) {
        await wd.switchTo(windows[kind]);
        writeFileSync(join(artifacts, `${name}-${kind}.png`), await wd.screenshotPng());
      }
    };
    let count = 0;
    const step = async (name, fn) => {
      const t0 = Date.now();
      try {
        await fn();
      } finally {
        await shots(name).catch((e) => console.error(`  (screenshot failed: ${e.message})`));
      }
      count++;
      console.log(`ok - ${testName}: ${name} (${Date.now() - t0} ms)`);
    };
    const call = (cmd, args) => wd.execAsync(invoke(cmd, args));
    await body({ wd, windows, inToolbox, inImage, step, call, artifacts, shots });
    // The whole virtual screen, both windows side by side as a user sees them.
    try {
      execFileSync("import", ["-window", "root", join(artifacts, "desktop.png")], { timeout: 10000 });
    } catch (e) {
      console.error(`  (desktop screenshot failed: ${e.message})`);
    }
    console.log(`${testName}: ${count} steps passed`);
  } catch (e) {
    console.error(`not ok - ${testName}: ${e.stack || e.message}`);
    process.exitCode = 1;
  } finally {
    if (wd) await wd.quit().catch(() => undefined);
  }
}

/** Loads a dataset through the Toolbox's path field, as a user typing it, and waits for it. */
export async function loadThroughToolbox(t, path) {
  await t.inToolbox();
  await t.wd.exec(
    "document.getElementById('data-path').value = arguments[0]; document.getElementById('open-data').click();",
    path,
  );
  await t.wd.waitFor("the dataset line", "return document.getElementById('data-status').textContent", (s) => /×/.test(s), 30000);
  // An earlier test's autosave of the same series is offered right after the load: decline it,
  // each test starts from an empty set of ROIs.
  for (const t0 = Date.now(); Date.now() - t0 < 1000; await sleep(100)) {
    const declined = await t.wd.exec(
      "const d = document.querySelector('dialog[open]'); if (!d || !/Recover the ROIs/.test(d.textContent)) return false; d.querySelector('button[data-answer=cancel]').click(); return true;",
    );
    if (declined) break;
  }
  return t.call("dataset_info");
}
