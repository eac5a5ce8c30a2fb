// End-to-end test of the real Dafne app (viewing and editing): tauri-driver (with Debian's
// WebKitWebDriver) drives the debug build under Xvfb. Run through scripts/e2e.sh, which builds
// and starts everything. Every step saves a screenshot of both windows (see harness.mjs).
import assert from "node:assert/strict";
import { join } from "node:path";
import { here, runApp, series } from "./harness.mjs";

await runApp("app", async ({ wd, inToolbox, inImage, step, call }) => {
    await step("01-empty", async () => {
      await inImage();
      const text = await wd.exec("return document.getElementById('status-line').textContent");
      assert.match(text, /No data loaded/);
    });

    await step("02-bad-path", async () => {
      await inToolbox();
      await wd.exec(
        "document.getElementById('data-path').value = arguments[0]; document.getElementById('open-data').click();",
        join(here, "no-such-folder"),
      );
      const msg = await wd.waitFor("an error message", "return document.getElementById('message').textContent");
      assert.match(msg, /cannot open dataset/);
      assert.equal(await call("dataset_info"), null, "a failed open leaves no dataset");
    });

    let info;
    await step("03-loaded", async () => {
      await inToolbox();
      await wd.exec(
        "document.getElementById('data-path').value = arguments[0]; document.getElementById('open-data').click();",
        series,
      );
      await wd.waitFor("the dataset line", "return document.getElementById('data-status').textContent", (t) => /×/.test(t), 30000);
      info = await call("dataset_info");
      assert.ok(info.rows > 0 && info.cols > 0 && info.slices > 1, JSON.stringify(info));
      await inImage();
      await wd.waitFor("the slice drawn", "return window.dafneImage.frames > 0 && window.dafneImage.slice === arguments[0]", (v) => v, 15000, Math.floor(info.slices / 2));
      // The centre of the canvas shows the image: not the black background everywhere.
      const lit = await wd.waitFor(
        "non-black pixels on the canvas",
        `const c = document.getElementById('view'); const g = c.getContext('2d');
         const d = g.getImageData(0, 0, c.width, c.height).data; let n = 0;
         for (let i = 0; i < d.length; i += 4) if (d[i] > 20) n++; return n;`,
        (n) => n > 1000,
      );
      console.log(`  ${info.cols}×${info.rows}×${info.slices}, ${lit} lit canvas pixels`);
    });

    await step("04-window-level", async () => {
      await inImage();
      const wl = () => wd.exec("return document.getElementById('status-line').textContent.match(/W\\/L (\\S+)/)[1]");
      const before = await wl();
      const centre = () => wd.exec(`const c = document.getElementById('view'); const g = c.getContext('2d');
        return Array.from(g.getImageData(Math.round(c.width / 2), Math.round(c.height / 2), 1, 1).data);`);
      const greyBefore = await centre();
      // Right-drag a little left and up: a narrower, lower window (the image gets brighter).
      await wd.exec(`const c = document.getElementById('view'); const r = c.getBoundingClientRect();
        const at = (type, dx, dy, buttons) => c.dispatchEvent(new PointerEvent(type, { pointerId: 2, button: 2, buttons,
          clientX: r.left + r.width / 2 + dx, clientY: r.top + r.height / 2 + dy, bubbles: true, cancelable: true }));
        at('pointerdown', 0, 0, 2); at('pointermove', -3, -8, 2); at('pointerup', -3, -8, 0);`);
      const after = await wd.waitFor("a new window", "return document.getElementById('status-line').textContent", (t) => !t.includes(`W/L ${before}`));
      const greyAfter = await wd.waitFor("a brighter centre", `const c = document.getElementById('view'); const g = c.getContext('2d');
        return g.getImageData(Math.round(c.width / 2), Math.round(c.height / 2), 1, 1).data[0];`, (v) => v > greyBefore[0]);
      console.log(`  W/L ${before} -> ${after.match(/W\/L (\S+)/)[1]}, centre grey ${greyBefore[0]} -> ${greyAfter}`);
    });

    await step("05-scroll", async () => {
      await inImage();
      const before = await wd.exec("return window.dafneImage.slice");
      await wd.exec(`const c = document.getElementById('view'); const r = c.getBoundingClientRect();
        c.dispatchEvent(new WheelEvent('wheel', { deltaY: 100, clientX: r.left + r.width / 2, clientY: r.top + r.height / 2, bubbles: true, cancelable: true }));`);
      await wd.waitFor("the next slice", "return window.dafneImage.slice", (s) => s === before + 1);
      const status = await wd.exec("return document.getElementById('status-line').textContent");
      assert.match(status, new RegExp(`slice ${before + 2}/${info.slices}`));
    });

    let roi;
    await step("06-add-roi", async () => {
      await inToolbox();
      await wd.exec("document.getElementById('roi-name').value = 'quadriceps'; document.getElementById('add-roi').click();");
      await wd.waitFor("the ROI listed", "return document.querySelectorAll('#roi-list li.active').length", (n) => n === 1);
      const rois = await call("roi_list");
      assert.equal(rois.length, 1);
      assert.equal(rois[0].name, "quadriceps");
      assert.equal(rois[0].voxels, 0);
      roi = rois[0].id;
    });

    await step("07-paint", async () => {
      await inImage();
      // One left-drag across the middle of the canvas, as pointer events.
      await wd.exec(`const c = document.getElementById('view'); const r = c.getBoundingClientRect();
        const at = (type, fx, buttons) => c.dispatchEvent(new PointerEvent(type, { pointerId: 1, button: 0, buttons,
          clientX: r.left + r.width * fx, clientY: r.top + r.height / 2, bubbles: true, cancelable: true }));
        at('pointerdown', 0.4, 1); for (let i = 1; i <= 10; i++) at('pointermove', 0.4 + i * 0.02, 1); at('pointerup', 0.6, 0);`);
      const voxels = await (async () => {
        const t0 = Date.now();
        for (;;) {
          const list = await call("roi_list");
          if (list[0].voxels > 0 || Date.now() - t0 > 10000) return list[0].voxels;
          await new Promise((r) => setTimeout(r, 100));
        }
      })();
      assert.ok(voxels > 0, `the stroke painted voxels (${voxels})`);
      const slice = await wd.exec("return window.dafneImage.slice");
      const mask = await wd.execAsync(`const b = await window.__TAURI_INTERNALS__.invoke('roi_mask', arguments[0]);
        const m = new Uint8Array(b); let n = 0; for (const v of m) n += v; return [m.length, n];`, { roi, slice });
      assert.deepEqual(mask, [info.rows * info.cols, voxels], "the mask bytes hold the painted voxels");
      // The canvas shows the ROI in red at the middle of the stroke.
      await wd.waitFor(
        "red at the stroke",
        `const c = document.getElementById('view'); const g = c.getContext('2d');
         const [r, gr, b] = g.getImageData(Math.round(c.width / 2), Math.round(c.height / 2), 1, 1).data;
         return r > gr + 40 && r > b + 40;`,
      );
      console.log(`  ${voxels} voxels painted`);
    });

    await step("08-undo", async () => {
      await inToolbox();
      await wd.exec("document.getElementById('undo').click();");
      const voxels = await wd.waitFor(
        "the count back to 0",
        "return document.querySelector('#roi-list li .voxels').textContent",
        (t) => t === "0",
      );
      assert.equal(voxels, "0");
      const rois = await call("roi_list");
      assert.equal(rois[0].voxels, 0);
    });
});
