// End-to-end test of long jobs (opening a dataset): progress reaches the Toolbox's splash,
// the page stays responsive meanwhile, and Cancel on the splash stops the open and keeps the
// dataset that was open, ROIs and all. The large input is generated at test time (the kit's
// series copied under new UIDs and positions with pydicom) into a temporary folder.
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { here, loadThroughToolbox, runApp, series, sleep } from "./harness.mjs";

const python = process.env.DAFNE_PYTHON ?? join(here, "../../.venv/bin/python");

/** Writes `copies` copies of `source` as one series with consecutive positions into `out`. */
const MAKE_SERIES = `
import glob, os, sys
import numpy as np, pydicom
from pydicom.uid import generate_uid
src, out, copies = sys.argv[1], sys.argv[2], int(sys.argv[3])
ds = []
for f in sorted(glob.glob(os.path.join(src, "*"))):
    try:
        ds.append(pydicom.dcmread(f))
    except Exception:
        pass
for d in ds:
    for t in [t for t in d.keys() if t.group == 0]:
        del d[t]
ds.sort(key=lambda d: float(d.InstanceNumber))
pos = np.array([[float(x) for x in d.ImagePositionPatient] for d in ds])
step = (pos[-1] - pos[0]) / (len(ds) - 1)
uid = generate_uid()
for k in range(copies):
    for i, d in enumerate(ds):
        n = k * len(ds) + i
        d.SOPInstanceUID = generate_uid()
        d.file_meta.MediaStorageSOPInstanceUID = d.SOPInstanceUID
        d.SeriesInstanceUID = uid
        d.InstanceNumber = n + 1
        d.ImagePositionPatient = [round(float(v), 4) for v in pos[0] + step * n]
        if "SliceLocation" in d:
            del d.SliceLocation
        d.save_as(os.path.join(out, "s%05d.dcm" % n))
`;

const lastJob = (t) => t.wd.exec("return JSON.parse(document.body.dataset.lastJob || 'null')");

const big = mkdtempSync(join(tmpdir(), "dafne-e2e-jobs-"));
try {
  const copies = Number(process.env.DAFNE_E2E_BIG_COPIES ?? 100);
  const t0 = Date.now();
  execFileSync(python, ["-c", MAKE_SERIES, series, big, String(copies)], { stdio: "inherit" });
  console.log(`  large series: ${copies} copies of the kit's series in ${Date.now() - t0} ms`);

  await runApp("jobs", async (t) => {
    const { wd, inToolbox, step, call, shots } = t;
    let before;
    await step("01-open-with-progress", async () => {
      const info = await loadThroughToolbox(t, series);
      const job = await lastJob(t);
      assert.equal(job.outcome, "done", JSON.stringify(job));
      assert.equal(job.title, "Loading data");
      assert.ok(job.updates >= 2, `progress events arrived (${job.updates})`);
      assert.equal(job.last, `${info.slices}/${info.slices} decoding slices`, "the last update is the whole series");
      assert.equal(await wd.exec("return document.getElementById('job-splash')"), null, "the splash is gone");
      // Something to lose: a ROI with painted voxels.
      const roi = await call("add_roi", { name: "kept" });
      const stroke = { roi, slice: 5, shape: "circle", sizePx: 9, erase: false, eraseAll: false, pointsIjk: [[100, 100], [140, 110]] };
      await call("paint", { stroke });
      before = { info: await call("dataset_info"), rois: await call("roi_list"), status: await wd.exec("return document.getElementById('data-status').textContent") };
      assert.ok(before.rois[0].voxels > 0);
      console.log(`  ${job.updates} progress updates, last "${job.last}"`);
    });

    await step("02-cancel-large-open", async () => {
      await inToolbox();
      await wd.exec(
        "document.getElementById('data-path').value = arguments[0]; document.getElementById('open-data').click();",
        big,
      );
      // The painted ROI is unsaved work: loading asks first, and the user goes on.
      const asked = await wd.waitFor("the unsaved-work question", "const d = document.querySelector('dialog[open]'); return d ? d.textContent : null;");
      assert.match(asked, /Load new data and lose them/);
      await wd.exec("document.querySelector('dialog[open] button[data-answer=ok]').click();");
      const text = await wd.waitFor(
        "the splash with progress",
        "const s = document.getElementById('job-splash'); return s && Number(s.dataset.updates) >= 2 && s.querySelector('.job-text').textContent",
        (v) => typeof v === "string" && /\d+ \/ \d+/.test(v),
        20000,
      );
      assert.equal(await wd.exec("return document.getElementById('menubar').inert"), true, "the menus are disabled");
      assert.equal(await wd.exec("return document.getElementById('open-data').closest('[inert]') !== null"), true, "the controls are disabled");
      // Other commands answer while the open runs: the old dataset is still the open one.
      const t1 = Date.now();
      assert.deepEqual(await call("dataset_info"), before.info);
      const answerMs = Date.now() - t1;
      assert.ok(answerMs < 2000, `dataset_info answered during the open in ${answerMs} ms`);
      await sleep(300);
      await shots("progress");
      await inToolbox();
      console.log(`  splash: "${text}"; dataset_info answered in ${answerMs} ms meanwhile`);
      // Cancel as a user does, through the splash's button.
      await wd.exec("document.getElementById('job-cancel').click();");
      await wd.waitFor("the splash to close", "return document.getElementById('job-splash') === null", (v) => v === true, 30000);
      const job = await lastJob(t);
      assert.equal(job.outcome, "cancelled", JSON.stringify(job));
      const [done, total] = job.last.split(" ")[0].split("/").map(Number);
      assert.ok(!(job.last.includes("decoding") && done === total), `the open stopped early (${job.last})`);
      assert.deepEqual(await call("dataset_info"), before.info, "the dataset that was open stays open");
      assert.deepEqual(await call("roi_list"), before.rois, "its ROIs are unchanged");
      assert.equal(await wd.exec("return document.getElementById('data-status').textContent"), before.status);
      assert.equal(await wd.exec("return document.getElementById('message').textContent"), "", "a cancel is no error");
      assert.equal(await wd.exec("return document.getElementById('menubar').inert"), false, "the menus are back");
      console.log(`  cancelled at "${job.last}" of ${total}`);
    });

    await step("03-open-after-cancel", async () => {
      // The job id and the page are free again: a new open works (after the unsaved-work question).
      await inToolbox();
      await wd.exec("document.getElementById('data-path').value = arguments[0]; document.getElementById('open-data').click();", series);
      await wd.waitFor("the unsaved-work question", "return document.querySelector('dialog[open]') !== null");
      await wd.exec("document.querySelector('dialog[open] button[data-answer=ok]').click();");
      await wd.waitFor("the load done", "return document.body.dataset.lastJob", (j) => j && JSON.parse(j).outcome === "done", 30000);
      const info = await call("dataset_info");
      assert.equal(info.slices, before.info.slices);
      assert.deepEqual(await call("roi_list"), [], "a fresh dataset: the unsaved ROI was given up");
    });
  });
} finally {
  rmSync(big, { recursive: true, force: true });
}
