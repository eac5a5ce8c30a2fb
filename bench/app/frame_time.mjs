// Frame-time benchmark in the real app (issue 4): WebDriver drives the debug build under Xvfb
// (scripts/e2e.sh runs it); times are taken inside the page with performance.now().
// Input: DAFNE_BENCH_DATA, a 512 x 512 x 80 series (bench/app/run.sh makes a phantom), and
// DAFNE_BENCH_MASKS, its label map (the phantom's 24 muscles); they are imported and 6 more ROIs
// painted on every slice through the app's own commands, 30 ROIs in all, before timing.
// Measures, per event, the time from dispatching it to the frame that shows its effect
// (`dafneImage.frames` advancing; the draw itself is `dafneImage.lastFrameMs`):
//   scroll: one arrow-key step to the next slice (pixels and labels fetched over IPC, drawn);
//   window/level: one right-drag move;
//   brush: one left-drag move to its preview on screen, and the release to the stored
//          stroke drawn from the mask Rust sends back.
// For each event also the work it costs the page: the handlers (`dispatchEvent` runs them
// synchronously: for a cached slice that includes turning values into grey pixels) plus the
// draw of the frame. At 60 frames/s that sum must stay under 16.7 ms; the event-to-frame time
// adds the wait for the display's next frame.
// Prints one JSON object (medians, 95th percentiles) on the last line.
import assert from "node:assert/strict";
import { loadThroughToolbox, runApp } from "../../tests/e2e/harness.mjs";

const data = process.env.DAFNE_BENCH_DATA;
const masks = process.env.DAFNE_BENCH_MASKS;
const repeat = Number(process.env.DAFNE_BENCH_REPEAT ?? 60);
assert.ok(data, "DAFNE_BENCH_DATA: the 512 x 512 x 80 series to scroll");

// In the page: fire `fire()`, resolve with ms until a frame after it has been drawn.
const timeEvents = `
  const [kind, n, slices] = arguments;
  const c = document.getElementById('view');
  const r = c.getBoundingClientRect();
  const probe = window.dafneImage;
  const nextFrame = (f0) => new Promise((res, rej) => {
    const t0 = performance.now();
    const poll = () => {
      if (probe.frames > f0) res();
      else if (performance.now() - t0 > 5000) rej(new Error(kind + ': no frame within 5 s of an event'));
      else requestAnimationFrame(poll);
    };
    requestAnimationFrame(poll);
  });
  const ptr = (type, button, buttons, fx, fy) => c.dispatchEvent(new PointerEvent(type, { pointerId: button + 1, button, buttons,
    clientX: r.left + r.width * fx, clientY: r.top + r.height * fy, bubbles: true, cancelable: true }));
  const out = { latencyMs: [], drawMs: [], workMs: [] };
  const timed = async (fire) => {
    const f0 = probe.frames;
    const t0 = performance.now();
    fire();
    const handlers = performance.now() - t0;
    await nextFrame(f0);
    out.latencyMs.push(performance.now() - t0);
    out.drawMs.push(probe.lastFrameMs);
    out.workMs.push(handlers + probe.lastFrameMs);
  };
  if (kind === 'scroll') {
    let step = 100;
    for (let i = 0; i < n; i++) {
      // Back and forth through the series: turn at either end.
      const s = probe.slice;
      if (s <= 0) step = Math.abs(step);
      else if (s >= slices - 1) step = -Math.abs(step);
      // Arrow keys: the wheel is debounced (the original's 200 ms), the arrows are not.
      await timed(() => document.dispatchEvent(new KeyboardEvent('keydown', { key: step > 0 ? 'ArrowRight' : 'ArrowLeft', bubbles: true, cancelable: true })));
    }
  } else if (kind === 'window') {
    ptr('pointerdown', 2, 2, 0.5, 0.5);
    for (let i = 0; i < n; i++) await timed(() => ptr('pointermove', 2, 2, 0.5 + 0.002 * (i % 40), 0.5 - 0.002 * (i % 40)));
    ptr('pointerup', 2, 0, 0.5, 0.5);
  } else if (kind === 'brush') {
    ptr('pointerdown', 0, 1, 0.3, 0.3);
    for (let i = 0; i < n; i++) await timed(() => ptr('pointermove', 0, 1, 0.3 + 0.005 * i, 0.3 + 0.002 * i));
    // The release: Rust applies the stroke, emits RoiModified, the page fetches and draws.
    const f0 = probe.frames;
    const t0 = performance.now();
    const before = (await window.__TAURI_INTERNALS__.invoke('roi_list'))[0].voxels;
    ptr('pointerup', 0, 0, 0.3 + 0.005 * n, 0.3 + 0.002 * n);
    for (;;) {
      await nextFrame(probe.frames);
      const now = (await window.__TAURI_INTERNALS__.invoke('roi_list'))[0].voxels;
      if (now !== before && probe.frames > f0 + 1) break;
      if (performance.now() - t0 > 10000) throw new Error('the stroke never landed');
    }
    out.commitMs = performance.now() - t0;
  }
  return out;`;

// In the page: ROI number k (of `rois`), a brush stroke on every slice, through the app's command.
const paintRoi = `
  const [k, rois, slices, rows, cols] = arguments;
  const invoke = window.__TAURI_INTERNALS__.invoke;
  const t0 = performance.now();
  {
    const roi = await invoke('add_roi', { name: 'muscle_' + String(k + 1).padStart(2, '0') });
    const a = (2 * Math.PI * k) / rois;
    for (let s = 0; s < slices; s++) {
      const cx = cols / 2 + Math.cos(a) * cols * (0.18 + 0.1 * (k % 3)) + 6 * Math.sin(s / 9);
      const cy = rows / 2 + Math.sin(a) * rows * (0.18 + 0.1 * (k % 3));
      await invoke('paint', { stroke: { roi, slice: s, shape: 'circle', sizePx: 14, erase: false, eraseAll: false,
        pointsIjk: [[cx - 8, cy], [cx, cy + 6], [cx + 8, cy]], intensityTolerance: null } });
    }
  }
  return performance.now() - t0;`;

const stats = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * (s.length - 1) + 0.5))];
  return { n: s.length, median: +at(0.5).toFixed(2), p95: +at(0.95).toFixed(2), max: +s[s.length - 1].toFixed(2) };
};

await runApp("bench", async (t) => {
  const { wd, inImage, call } = t;
  await wd.setScriptTimeout(600000);
  const info = await loadThroughToolbox(t, data);
  await inImage();
  const rois = 30;
  const imported = masks ? (await call("import_masks", { path: masks }), (await call("roi_list")).length) : 0;
  let paintMs = 0;
  for (let k = imported; k < rois; k++) paintMs += await wd.execAsync(paintRoi, k, rois, info.slices, info.rows, info.cols);
  const list = await call("roi_list");
  assert.equal(list.length, rois);
  console.log(`  ${info.cols}x${info.rows}x${info.slices}: ${imported} ROIs imported, ${rois - imported} painted on every slice (${(paintMs / Math.max(rois - imported, 1) / info.slices).toFixed(1)} ms per stroke)`);
  await wd.waitFor("a drawn slice", "return window.dafneImage.frames > 0");
  // The brush paints into the active ROI: pick the first, as a user clicks it in the Toolbox.
  await t.inToolbox();
  await wd.exec("document.querySelector('#roi-list li').click();");
  await inImage();
  // The Image Window fills its slice cache in the background after a load or an edit: what a
  // user who scrolls a few seconds later meets.
  const t0 = Date.now();
  await wd.waitFor("the cache filled", "return window.dafneImage.warmSlices", (n) => n >= info.slices, 120000);
  console.log(`  cache filled ${((Date.now() - t0) / 1000).toFixed(1)} s after the last edit`);
  // Warm-up: one pass over a few slices (first IPC calls, JIT).
  await wd.execAsync(timeEvents, "scroll", 5, info.slices);
  const result = { series: [info.cols, info.rows, info.slices], rois };
  for (const kind of ["scroll", "window", "brush"]) {
    const r = await wd.execAsync(timeEvents, kind, kind === "brush" ? Math.min(repeat, 40) : repeat, info.slices);
    result[kind] = { workPerFrameMs: stats(r.workMs), drawMs: stats(r.drawMs), eventToFrameMs: stats(r.latencyMs) };
    if (r.commitMs !== undefined) result[kind].releaseToStoredStrokeOnScreenMs = +r.commitMs.toFixed(1);
  }
  console.log(JSON.stringify(result));
});
