// End-to-end test of AutoSegment in the real app: a phantom opened through the Toolbox, the
// classification set through its select and "All", AutoSegment of 3 slices through the button
// and its dialog (progress splash), the ROIs checked against the masks and against `dafne
// segment` on the same slices (the same pipeline through the CLI), one undo taking the whole
// run back, the restrict area drawn on the image, a cancelled run leaving the ROIs as they
// were, Tools → Improve model, and incremental learning after a mask export.
// The model: the legacy kit's thigh_narrow8 (`dafne models import-dafne --install`) in the
// test's own store ($XDG_DATA_HOME, set per run by scripts/e2e.sh), until a demo model exists.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { here, loadThroughToolbox, runApp, sleep } from "./harness.mjs";

const dafne = process.env.DAFNE_CLI ?? join(here, "../../target/debug/dafne");
const kit = process.env.DAFNE_TEST_DATA ?? join(here, "../../../shared/data");
const modelFile = join(kit, "dafne-legacy/models/thigh_narrow8/Thigh_1610001000.model");

const python = process.env.DAFNE_PYTHON ?? join(here, "../../.venv/bin/python");
/** Voxels per ROI of a folder of `<ROI>.nii.gz`, as JSON sorted by name (nibabel reads them). */
const COUNT_NIFTI = `
import json, os, sys
import nibabel, numpy as np
d = sys.argv[1]
print(json.dumps({f[:-7]: int(np.count_nonzero(np.asanyarray(nibabel.load(os.path.join(d, f)).dataobj))) for f in sorted(os.listdir(d)) if f.endswith(".nii.gz")}))
`;

const lastJob = (t) => t.wd.exec("return JSON.parse(document.body.dataset.lastJob || 'null')");
const clickDialog = (t, answer) =>
  t.wd.waitFor(
    `the dialog's ${answer}`,
    `const b = document.querySelector('dialog[open] button[data-answer=${answer}]'); if (!b) return false; b.click(); return true;`,
    (v) => v === true,
  );

const tmp = mkdtempSync(join(tmpdir(), "dafne-e2e-ml-"));
try {
  const phantom = join(tmp, "phantom.nii.gz");
  const truth = join(tmp, "truth");
  execFileSync(dafne, ["phantom", phantom, "--masks", truth, "--slices", "8", "--size", "256", "--seed", "5"], { stdio: "inherit" });
  const phantom2 = join(tmp, "phantom2.nii.gz");
  const truth2 = join(tmp, "truth2");
  execFileSync(dafne, ["phantom", phantom2, "--masks", truth2, "--slices", "8", "--size", "256", "--seed", "6"], { stdio: "inherit" });
  // Installed where the app's store looks ($XDG_DATA_HOME/dafne/models, same env as the app).
  execFileSync(dafne, ["models", "import-dafne", modelFile, "--install"], { stdio: "inherit" });

  await runApp("ml", async (t) => {
    const { wd, inToolbox, step, call, shots } = t;
    let info;
    const first = 3;
    const last = 5;
    let counts;

    await step("01-open-phantom-models-listed", async () => {
      info = await loadThroughToolbox(t, phantom);
      assert.equal(info.slices, 8);
      const models = await call("model_list");
      assert.ok(models.classifications.includes("Thigh"), JSON.stringify(models));
      assert.deepEqual(await call("roi_list"), []);
    });

    await step("02-classification-all-slices", async () => {
      await inToolbox();
      await wd.waitFor(
        "Thigh in the classification list",
        "return [...document.getElementById('classification').options].map((o) => o.value).join('|')",
        (v) => v.split("|").includes("Thigh"),
      );
      await wd.exec("const s = document.getElementById('classification'); s.value = 'Thigh'; s.dispatchEvent(new Event('change'));");
      await wd.exec("document.getElementById('classification-all').click();");
      await clickDialog(t, "ok");
      for (const s of [0, first, 7]) {
        await wd.waitFor(`slice ${s} classed Thigh`, invokeMeta(s), (m) => m && m.classification === "Thigh");
      }
    });

    await step("03-autosegment-3-slices", async () => {
      await inToolbox();
      await wd.exec("document.getElementById('autosegment').click();");
      await wd.waitFor("the AutoSegment dialog", "return document.querySelector('dialog[open]')?.textContent ?? ''", (s) => s.includes("This might replace the existing segmentation!"));
      await wd.exec(
        "document.getElementById('autoseg-start').value = arguments[0]; document.getElementById('autoseg-end').value = arguments[1];",
        String(first + 1),
        String(last + 1),
      );
      await clickDialog(t, "ok");
      const job = await wd.waitFor("the AutoSegment job", "return document.body.dataset.lastJob || ''", (s) => s.includes('"AutoSegment"'), 300000);
      const parsed = JSON.parse(job);
      assert.equal(parsed.outcome, "done", job);
      assert.equal(parsed.last, "3/3 segmenting slices", job);
      const rois = await call("roi_list");
      assert.ok(rois.length >= 2, JSON.stringify(rois));
      assert.ok(rois.every((r) => /_[RL]$/.test(r.name)), `split laterality: ${rois.map((r) => r.name)}`);
      // Voxel counts = the masks' bytes, and only on the three slices.
      counts = {};
      for (const r of rois) {
        let sum = 0;
        for (let s = 0; s < info.slices; s++) {
          const bytes = await wd.execAsync(
            `const b = await window.__TAURI_INTERNALS__.invoke('roi_mask', ${JSON.stringify({ roi: r.id, slice: s })}); return Array.from(new Uint8Array(b)).reduce((a, v) => a + v, 0);`,
          );
          if (s < first || s > last) assert.equal(bytes, 0, `${r.name} on slice ${s} outside the range`);
          sum += bytes;
        }
        assert.equal(r.voxels, sum, r.name);
        counts[r.name] = r.voxels;
      }
      const total = Object.values(counts).reduce((a, v) => a + v, 0);
      assert.ok(total > 0, "the model segmented something");
      // The same slices through `dafne segment`: the same ROIs, voxel for voxel in count.
      const out = join(tmp, "cli-masks");
      execFileSync(dafne, ["segment", phantom, "--model", "Thigh", "--slices", `${first}:${last + 1}`, "--out", out], { stdio: "inherit" });
      const files = readdirSync(out).filter((f) => f.endsWith(".nii.gz"));
      assert.deepEqual(files.map((f) => f.replace(/\.nii\.gz$/, "")).sort(), Object.keys(counts).sort());
      const cliCounts = JSON.parse(
        execFileSync(python, ["-c", COUNT_NIFTI, out], { encoding: "utf8" }),
      );
      assert.deepEqual(cliCounts, Object.fromEntries(Object.entries(counts).sort()), "voxel counts per ROI, app vs CLI");
      console.log(`  ${rois.length} ROIs, ${total} voxels on slices ${first + 1}-${last + 1}; CLI wrote the same ${files.length} ROIs`);
    });

    await step("04-undo-removes-the-whole-run", async () => {
      await inToolbox();
      await wd.exec("document.getElementById('undo').click();");
      await wd.waitFor("no ROIs", "return document.querySelectorAll('#roi-list li').length", (n) => n === 0);
      assert.deepEqual(await call("roi_list"), []);
      await wd.exec("document.getElementById('redo').click();");
      await wd.waitFor("the ROIs back", "return document.querySelectorAll('#roi-list li').length", (n) => n === Object.keys(counts).length);
      const again = Object.fromEntries((await call("roi_list")).map((r) => [r.name, r.voxels]));
      assert.deepEqual(again, counts);
      await wd.exec("document.getElementById('undo').click();");
      await wd.waitFor("no ROIs", "return document.querySelectorAll('#roi-list li').length", (n) => n === 0);
    });

    await step("05-cancel-leaves-rois", async () => {
      await inToolbox();
      await wd.exec("document.getElementById('autosegment').click();");
      await wd.waitFor("the AutoSegment dialog", "return !!document.getElementById('autoseg-start')", (v) => v);
      await wd.exec("document.getElementById('autoseg-start').value = '1'; document.getElementById('autoseg-end').value = '8';");
      await clickDialog(t, "ok");
      await wd.waitFor("the splash", "return !!document.getElementById('job-splash')", (v) => v, 30000);
      await wd.exec("document.getElementById('job-cancel').click();");
      await wd.waitFor("the splash to close", "return document.getElementById('job-splash') === null", (v) => v === true, 300000);
      const job = await lastJob(t);
      assert.equal(job.outcome, "cancelled", JSON.stringify(job));
      assert.deepEqual(await call("roi_list"), [], "a cancelled run adds nothing");
      assert.equal(await wd.exec("return document.querySelector('dialog[open]')"), null, "a cancel is no error");
      console.log(`  cancelled at "${job.last}"`);
    });

    await step("06-restrict-area", async () => {
      // The slice on screen (the Image Window opens on the middle one), the dialog's default.
      const shown = 4;
      // The box drawn as a user does: the Restrict box tool, a drag on the image (no ROI needed).
      await inToolbox();
      await wd.exec("document.getElementById('tool-restrict').click();");
      await t.inImage();
      await wd.exec(`const c = document.getElementById('view'); const r = c.getBoundingClientRect();
        const at = (type, fx, fy, buttons) => c.dispatchEvent(new PointerEvent(type, { pointerId: 1, button: 0, buttons,
          clientX: r.left + r.width * fx, clientY: r.top + r.height * fy, bubbles: true, cancelable: true }));
        at('pointerdown', 0.2, 0.25, 1); for (let i = 1; i <= 5; i++) at('pointermove', 0.2 + i * 0.05, 0.25 + i * 0.08, 1);
        at('pointerup', 0.45, 0.65, 0);`);
      const meta = await wd.waitFor("the dragged box", invokeMeta(shown), (m) => m && m.restrictBox);
      const [top, left, height, width] = meta.restrictBox;
      assert.ok(height > 40 && width > 20 && top + height <= info.rows && left + width <= info.cols, JSON.stringify(meta.restrictBox));
      console.log(`  dragged box: rows ${top}..${top + height}, columns ${left}..${left + width}`);
      await inToolbox();
      await wd.exec("document.getElementById('tool-paint').click();");
      await wd.exec("const c = document.getElementById('restrict-area'); c.checked = true; c.dispatchEvent(new Event('change'));");
      await wd.exec("document.getElementById('autosegment').click();");
      await wd.waitFor("the AutoSegment dialog", "return !!document.getElementById('autoseg-start')", (v) => v);
      assert.deepEqual(
        await wd.exec("return [document.getElementById('autoseg-start').value, document.getElementById('autoseg-end').value]"),
        [String(shown + 1), String(shown + 1)],
        "start and end default to the slice shown",
      );
      await clickDialog(t, "ok");
      await wd.waitFor("the AutoSegment job", "return JSON.parse(document.body.dataset.lastJob || '{}').outcome", (o) => o === "done", 300000);
      // Every voxel lies in the box.
      const outside = await wd.execAsync(`
        const rois = await window.__TAURI_INTERNALS__.invoke('roi_list');
        const info = await window.__TAURI_INTERNALS__.invoke('dataset_info');
        let outside = 0, inside = 0;
        for (const r of rois) {
          const m = new Uint8Array(await window.__TAURI_INTERNALS__.invoke('roi_mask', { roi: r.id, slice: ${shown} }));
          m.forEach((v, i) => {
            if (!v) return;
            const row = Math.floor(i / info.cols), col = i % info.cols;
            if (row >= ${top} && row < ${top + height} && col >= ${left} && col < ${left + width}) inside++; else outside++;
          });
        }
        return { outside, inside };`);
      assert.equal(outside.outside, 0, JSON.stringify(outside));
      console.log(`  ${outside.inside} voxels, all inside the box`);
      await wd.exec("const c = document.getElementById('restrict-area'); c.checked = false; c.dispatchEvent(new Event('change'));");
      await sleep(300);
    });

    await step("07-improve-model", async () => {
      await inToolbox();
      // The phantom's exact muscles as the user's corrections of all 8 slices.
      await call("undo");
      await call("import_masks", { path: truth });
      const before = (await call("model_list")).models.find((m) => m.name === "Thigh");
      await wd.exec("document.getElementById('menu-improve-model').click();");
      await wd.waitFor("the confirmation", "return document.querySelector('dialog[open]')?.textContent ?? ''", (s) => s.includes("At least 5 slices"));
      await clickDialog(t, "ok");
      const report = await wd.waitFor(
        "the Improve model report",
        "const d = document.querySelector('dialog[open]'); return d && !document.getElementById('job-splash') ? d.textContent : ''",
        (s) => s.includes("Dice"),
        480000,
      );
      const job = await lastJob(t);
      assert.equal(job.title, "Improving model");
      assert.equal(job.outcome, "done", JSON.stringify(job));
      const after = (await call("model_list")).models.find((m) => m.name === "Thigh");
      if (report.includes("Installed as version")) assert.ok(after.version > before.version, `${before.version} -> ${after.version}`);
      else assert.equal(after.version, before.version);
      console.log(`  ${report.replace(/\s+/g, " ").slice(0, 300)}`);
      await shots("07-improve-model-report");
      await inToolbox();
      await clickDialog(t, "ok");
      // The same slices are not used twice in a session.
      await wd.exec("document.getElementById('menu-improve-model').click();");
      await clickDialog(t, "ok");
      const again = await wd.waitFor("the refusal", "return document.querySelector('dialog[open]')?.textContent ?? ''", (s) => s.includes("not used"), 60000);
      assert.ok(/at least|not used/.test(again), again);
      await clickDialog(t, "ok");
    });

    await step("08-export-runs-incremental-learning", async () => {
      // A new dataset (its slices unused), corrected and exported: with DO_INCREMENTAL_LEARNING
      // on (the default) the model trains in the background and the Toolbox says how it ended.
      await inToolbox();
      await wd.exec("document.getElementById('data-path').value = arguments[0]; document.getElementById('open-data').click();", phantom2);
      // Step 07's imported masks are unsaved: the Toolbox asks first.
      await wd.waitFor("the unsaved-changes question", "return document.querySelector('dialog[open]')?.textContent ?? ''", (s) => s.includes("Unsaved changes"));
      await clickDialog(t, "ok");
      await wd.waitFor("the second phantom", "return document.getElementById('data-status').textContent", (s) => s.includes("seed 6"), 30000);
      await call("set_classification", { slice: null, classification: "Thigh" });
      await call("import_masks", { path: truth2 });
      await call("save_masks", { format: "nifti", path: join(tmp, "exported"), overlap: "lastWins" });
      const said = await wd.waitFor(
        "the Toolbox's message about incremental learning",
        "return document.getElementById('message').textContent",
        (s) => s.startsWith("Incremental learning:"),
        480000,
      );
      assert.ok(/Thigh: (accepted|not accepted)/.test(said), said);
      assert.ok(await wd.exec("return document.getElementById('message').classList.contains('info')"), "shown as information, not as an error");
      console.log(`  ${said.replace(/\s+/g, " ").slice(0, 300)}`);
    });
  });
} finally {
  rmSync(tmp, { recursive: true, force: true });
}

function invokeMeta(slice) {
  return `return window.__TAURI_INTERNALS__.invoke('slice_meta', { slice: ${slice} }).then((m) => m).catch(() => null);`;
}
