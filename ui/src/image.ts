// The Image Window: draws the current slice with window/level and the ROIs over it, routes
// left-drag gestures to the active tool, right-drag to window/level (ROIs hidden meanwhile,
// double right-click resets), middle-drag to pan, Alt/Shift+wheel to zoom, wheel and arrows
// to the slice, and shows slice / voxel / LPS mm / intensity / W/L in the status line. View
// state (slice, window, zoom, pan) lives here. Slices and labels are cached, so scrolling back
// and dragging the window draw from memory; the ROIs are fetched again after each change.
import { api, errorMessage, events, type DatasetInfo, type RoiInfo, type RoiModified, type SliceMeta } from "./api";
import { applyPreferences, display, labelLut } from "./colours";
import { form } from "./dialogs";
import { drawContours, drawRestrictBox, paintLabels, paintMask, statusText } from "./imagedraw";
import { INITIAL_STATE, onCommand, onState, publishSlice, requestState, sendCommand, type SharedState, type UiCommand } from "./shared";
import { shortcutFor } from "./shortcuts";
import { SliceCache, type ActiveMask } from "./slicecache";
import { heldTool as heldToolOf, toolByName, type Gesture, type SubRoi } from "./tools/registry";
import {
  canvasToIjk,
  dragWindow,
  fitSlice,
  IDENTITY_VIEW,
  parseSliceNumber,
  renderGrey,
  stepSlice,
  valueRange,
  zoomAt,
  type ViewFit,
  type ViewTransform,
  type Window,
} from "./view";

const canvas = document.getElementById("view") as HTMLCanvasElement;
const statusLine = document.getElementById("status-line") as HTMLDivElement;
const ctx2d = canvas.getContext("2d") as CanvasRenderingContext2D;

interface Loaded {
  info: DatasetInfo;
  slice: number;
  window: Window;
  values: Float32Array | null;
  /** Value range of the first slice shown: the scale of window/level drags. */
  range: number;
  labels: Uint16Array | null;
  /** The active ROI's mask on the slice, drawn on top (null until fetched). */
  active: ActiveMask | null;
  rois: RoiInfo[];
  image: HTMLCanvasElement;
  overlay: HTMLCanvasElement;
  /** Contour mode: every ROI's sub-ROIs on the slice. */
  contours: Map<number, SubRoi[]>;
  meta: SliceMeta | null;
  cache: SliceCache;
}

let data: Loaded | null = null;
let shared: SharedState = INITIAL_STATE;
let view: ViewTransform = IDENTITY_VIEW;
let gesture: Gesture | null = null;
let pointerIjk: [number, number] | null = null;
let windowDrag: { x: number; y: number; start: Window } | null = null;
let panDrag: { x: number; y: number; start: ViewTransform } | null = null;
let frameQueued = false;
let held: "Shift" | "Control" | null = null;
let lastRightPress = -Infinity;
let lastWheelStep = -Infinity;

/** What the end-to-end tests read: slice, draw count, frame time, view, knots drawn. */
const probe = { slice: 0, frames: 0, lastFrameMs: 0, zoom: 1, panCanvas: [0, 0] as readonly [number, number], knotsDrawn: 0, mode: "mask", warmSlices: 0 };
(window as unknown as { dafneImage: typeof probe }).dafneImage = probe;

function canvasSize(): [number, number] {
  const r = canvas.getBoundingClientRect();
  return [r.width, r.height];
}

function baseOf(d: Loaded) {
  const [widthCanvas, heightCanvas] = canvasSize();
  return { cols: d.info.cols, rows: d.info.rows, spacingMm: [d.info.spacingMm[0], d.info.spacingMm[1]] as const, widthCanvas, heightCanvas };
}

function currentFit(d: Loaded): ViewFit {
  const b = baseOf(d);
  return fitSlice(b.cols, b.rows, b.spacingMm, b.widthCanvas, b.heightCanvas, view.zoom, view.panCanvas);
}

function requestFrame(): void {
  if (frameQueued) return;
  frameQueued = true;
  requestAnimationFrame(draw);
}

let imageDirty = false;
let greyBuffer: ImageData | null = null;

/** Marks the grey image for redrawing in the next frame (many W/L moves, one repaint). */
function paintImage(d: Loaded): void {
  if (!d.values) return;
  imageDirty = true;
  requestFrame();
}

function repaintImage(d: Loaded): void {
  imageDirty = false;
  if (!d.values) return;
  const g = d.image.getContext("2d");
  if (!g) return;
  if (!greyBuffer || greyBuffer.width !== d.info.cols || greyBuffer.height !== d.info.rows) {
    greyBuffer = g.createImageData(d.info.cols, d.info.rows);
  }
  renderGrey(d.values, d.window, greyBuffer.data);
  g.putImageData(greyBuffer, 0, 0);
}

function paintOverlay(d: Loaded): void {
  const g = d.overlay.getContext("2d");
  if (!g) return;
  const img = g.createImageData(d.info.cols, d.info.rows);
  if (d.labels) {
    const active = d.rois.findIndex((r) => r.id === shared.activeRoi) + 1;
    const lut = labelLut(d.rois.length, active, shared.params.opacityPct);
    paintLabels(d.labels, lut, img.data);
    if (d.active && d.active.roi === shared.activeRoi) paintMask(d.active.mask, lut.subarray(active * 4, active * 4 + 4), img.data);
  }
  g.putImageData(img, 0, 0);
}

/** Fetches the active ROI's mask of the slice when it is not at hand, then redraws. */
async function loadActive(d: Loaded, slice: number): Promise<void> {
  const roi = shared.activeRoi;
  if (roi === null || !d.rois.some((r) => r.id === roi)) return;
  const cached = d.cache.get(slice)?.active;
  if (cached && cached.roi === roi) {
    d.active = cached;
    return;
  }
  const mask = await api.roiMask(roi, slice);
  if (data !== d || d.slice !== slice || shared.activeRoi !== roi) return;
  d.active = { roi, mask };
  d.cache.putActive(slice, d.active);
  paintOverlay(d);
  requestFrame();
}

/** Keeps the canvas's backing store at its laid-out size (else the slice is stretched). */
function fitBackingStore(w: number, h: number): void {
  const dpr = window.devicePixelRatio || 1;
  const bw = Math.max(1, Math.round(w * dpr));
  const bh = Math.max(1, Math.round(h * dpr));
  if (canvas.width !== bw || canvas.height !== bh) {
    canvas.width = bw;
    canvas.height = bh;
  }
  ctx2d.setTransform(dpr, 0, 0, dpr, 0, 0);
}

function draw(): void {
  frameQueued = false;
  const t0 = performance.now();
  const [w, h] = canvasSize();
  fitBackingStore(w, h);
  ctx2d.fillStyle = "#000";
  ctx2d.fillRect(0, 0, w, h);
  const d = data;
  if (d) {
    if (imageDirty) repaintImage(d);
    const fit = currentFit(d);
    const sw = d.info.cols * fit.voxelWCanvas;
    const sh = d.info.rows * fit.voxelHCanvas;
    ctx2d.imageSmoothingEnabled = display.smoothImage;
    ctx2d.drawImage(d.image, fit.offsetXCanvas, fit.offsetYCanvas, sw, sh);
    ctx2d.imageSmoothingEnabled = false;
    const hidden = display.hideRoisOnRightClick && windowDrag !== null;
    if (!hidden) {
      if (shared.mode === "mask") ctx2d.drawImage(d.overlay, fit.offsetXCanvas, fit.offsetYCanvas, sw, sh);
      else probe.knotsDrawn = drawContours(ctx2d, fit, d.contours, shared.activeRoi, shared.subRoi);
      if (d.meta?.restrictBox) drawRestrictBox(ctx2d, fit, d.meta.restrictBox);
    }
    gesture?.renderOverlay(ctx2d, fit);
    const tool = currentTool();
    if (pointerIjk && tool?.renderCursor && !windowDrag && !panDrag) tool.renderCursor(ctx2d, fit, pointerIjk[0], pointerIjk[1], shared.params);
  }
  probe.frames++;
  probe.lastFrameMs = performance.now() - t0;
}

function currentTool() {
  const h = held ? heldToolOf(shared.mode, held) : undefined;
  return h ?? toolByName(shared.tool);
}

function updateStatus(): void {
  const d = data;
  statusLine.textContent = d ? statusText(d.info, d.slice, d.window, view.zoom, pointerIjk, d.values) : "No data loaded";
}

function showError(e: unknown): void {
  statusLine.textContent = `error: ${errorMessage(e)}`;
}

function setView(next: ViewTransform): void {
  view = next;
  probe.zoom = view.zoom;
  probe.panCanvas = view.panCanvas;
  updateStatus();
  requestFrame();
}

/** Contours of every ROI on the slice (contour mode only: tracing costs). */
async function loadContours(d: Loaded, slice: number): Promise<void> {
  if (shared.mode !== "contour") return;
  const all = await Promise.all(d.rois.map(async (r) => [r.id, await api.roiContours(r.id, slice)] as const));
  if (data !== d || d.slice !== slice) return;
  d.contours = new Map(all.filter(([, s]) => s.length > 0));
  requestFrame();
}

async function loadMeta(d: Loaded, slice: number): Promise<void> {
  const meta = await api.sliceMeta(slice);
  if (data !== d || d.slice !== slice) return;
  d.meta = meta;
  requestFrame();
}

/** Shows `d.slice`: from the cache at once when it is there, else after fetching it. */
async function loadSlice(): Promise<void> {
  const d = data;
  if (!d) return;
  const slice = d.slice;
  probe.slice = slice;
  void publishSlice(slice);
  const cached = d.cache.get(slice);
  if (cached) show(d, cached.values, cached.labels);
  const [values, labels] = await Promise.all([
    cached ? cached.values : api.slicePixels(slice),
    cached?.labels ?? api.sliceLabels(slice),
  ]);
  d.cache.put(slice, values, labels);
  if (data !== d || d.slice !== slice) return; // a newer request superseded this one
  if (!cached?.labels) show(d, values, labels);
  void Promise.all([loadActive(d, slice), loadContours(d, slice), loadMeta(d, slice)]).catch(showError);
  prefetch(d, slice);
}

function show(d: Loaded, values: Float32Array, labels: Uint16Array | null): void {
  d.values = values;
  d.labels = labels;
  const active = d.cache.get(d.slice)?.active ?? null;
  d.active = active && active.roi === shared.activeRoi ? active : null;
  if (d.range <= 0) {
    const [lo, hi] = valueRange(values);
    d.range = hi - lo;
  }
  paintImage(d);
  paintOverlay(d);
  updateStatus();
  requestFrame();
}

/** The neighbouring slices' pixels, so the next scroll step draws from memory. */
function prefetch(d: Loaded, slice: number): void {
  for (const s of [slice + 1, slice - 1]) {
    if (s < 0 || s >= d.info.slices || d.cache.get(s)) continue;
    void Promise.all([api.slicePixels(s), api.sliceLabels(s)])
      .then(([v, l]) => data === d && d.cache.put(s, v, l))
      .catch(() => undefined);
  }
  warmCache(d);
}

let warming = false;
let warmAgain = false;

/**
 * Fills the cache in the background, nearest slices first and one request at a time (IPC of a
 * 512² slice takes tens of ms here: scrolling must not wait for it), until every slice is held
 * or the budget is reached. Slices whose labels an edit dropped are fetched again.
 */
function warmCache(d: Loaded): void {
  if (warming) {
    warmAgain = true;
    return;
  }
  warming = true;
  void (async () => {
    try {
      do {
        warmAgain = false;
        for (let step = 1; step < 2 * d.info.slices; step++) {
          const s = d.slice + (step % 2 === 1 ? (step + 1) / 2 : -step / 2);
          if (s < 0 || s >= d.info.slices) continue;
          if (data !== d || warmAgain) break;
          const e = d.cache.peek(s);
          if (e?.labels) continue;
          if (!e && d.cache.full) break;
          const [values, labels] = await Promise.all([e ? e.values : api.slicePixels(s), api.sliceLabels(s)]);
          if (data !== d) return;
          if (e) d.cache.putLabels(s, labels);
          else d.cache.put(s, values, labels);
          probe.warmSlices = d.cache.size;
        }
      } while (warmAgain && data === d);
    } catch {
      // A failed background fetch is retried when the slice is shown.
    } finally {
      warming = false;
    }
  })();
}

async function refreshRois(changed?: RoiModified): Promise<void> {
  const d = data;
  if (!d) return;
  if (!changed || changed.rois.length > 0) d.cache.dropLabels();
  else for (const [, s] of changed.masks) d.cache.dropLabels(s);
  const slice = d.slice;
  const [rois, labels] = await Promise.all([api.roiList(), api.sliceLabels(slice)]);
  if (data !== d || d.slice !== slice) return;
  d.rois = rois;
  d.labels = labels;
  d.active = null;
  d.cache.putLabels(slice, labels);
  paintOverlay(d);
  requestFrame();
  warmCache(d);
  await Promise.all([loadActive(d, slice), loadContours(d, slice), loadMeta(d, slice)]);
}

function openInfo(info: DatasetInfo): void {
  const make = () => {
    const c = document.createElement("canvas");
    c.width = info.cols;
    c.height = info.rows;
    return c;
  };
  data = {
    info,
    slice: Math.floor(info.slices / 2),
    window: info.window,
    values: null,
    range: 0,
    labels: null,
    active: null,
    rois: [],
    image: make(),
    overlay: make(),
    contours: new Map(),
    meta: null,
    cache: new SliceCache(info.rows * info.cols),
  };
  view = IDENTITY_VIEW;
  void Promise.all([loadSlice(), refreshRois()]).catch(showError);
}

function goToSlice(slice: number): void {
  const d = data;
  if (!d) return;
  const next = stepSlice(slice, 0, d.info.slices);
  if (next === d.slice) return;
  d.slice = next;
  d.contours = new Map();
  void loadSlice().catch(showError);
}

const stepBy = (delta: number) => data && goToSlice(data.slice + delta);

async function goToDialog(): Promise<void> {
  const d = data;
  if (!d) return;
  const a = await form("Go to image", [
    { key: "slice", label: `Image (1–${d.info.slices})`, kind: "number", value: d.slice + 1, min: 1, max: d.info.slices },
  ]);
  if (!a) return;
  const s = parseSliceNumber(String(a.slice), d.info.slices);
  if (s === null) statusLine.textContent = `there is no image ${String(a.slice)} (1–${d.info.slices})`;
  else goToSlice(s);
}

function zoomBy(factor: number, atCanvas?: readonly [number, number]): void {
  const d = data;
  if (!d) return;
  const [w, h] = canvasSize();
  setView(zoomAt(view, factor, atCanvas ?? [w / 2, h / 2], baseOf(d)));
}

function runCommand(c: UiCommand): void {
  const d = data;
  if (c === "view:zoomIn") zoomBy(1.25);
  else if (c === "view:zoomOut") zoomBy(0.8);
  else if (c === "view:fit") setView(IDENTITY_VIEW);
  else if (c === "view:resetWindow" && d) resetWindow(d);
  else if (c === "view:goTo") void goToDialog().catch(showError);
  else if (c === "roi:removeOverlap") removeOverlap();
}

function resetWindow(d: Loaded): void {
  d.window = d.info.window;
  paintImage(d);
  updateStatus();
  requestFrame();
}

function removeOverlap(): void {
  if (!data || shared.activeRoi === null) return;
  void api.removeOverlap(shared.activeRoi, data.slice).catch(showError);
}

function pointerPos(e: PointerEvent | WheelEvent): [number, number] {
  const r = canvas.getBoundingClientRect();
  return [e.clientX - r.left, e.clientY - r.top];
}

canvas.addEventListener("contextmenu", (e) => e.preventDefault());

canvas.addEventListener("pointerdown", (e) => {
  const d = data;
  if (!d) return;
  canvas.focus();
  try {
    canvas.setPointerCapture(e.pointerId);
  } catch {
    // synthetic events (tests) have no capturable pointer
  }
  const [x, y] = pointerPos(e);
  if (e.button === 2) {
    // A second right press within 300 ms resets the window, as the original's double click.
    if (e.timeStamp - lastRightPress < 300) resetWindow(d);
    lastRightPress = e.timeStamp;
    windowDrag = { x, y, start: d.window };
    requestFrame();
    return;
  }
  if (e.button === 1) {
    e.preventDefault();
    panDrag = { x, y, start: view };
    return;
  }
  if (e.button !== 0) return;
  const tool = currentTool();
  if (!tool) return;
  const roi = shared.activeRoi;
  if (roi === null && tool.needsRoi !== false) {
    statusLine.textContent = "add a ROI in the Toolbox before editing";
    return;
  }
  const fit = currentFit(d);
  const [xi, yi] = canvasToIjk(fit, x, y);
  gesture = tool.begin(
    {
      slice: d.slice,
      cols: d.info.cols,
      rows: d.info.rows,
      // -1: a tool that edits no ROI (needsRoi false) never reads it.
      roi: roi ?? -1,
      params: shared.params,
      subRois: roi === null ? [] : (d.contours.get(roi) ?? []),
      subRoi: shared.subRoi,
      // 2 voxels as the original, or 6 CSS px when zoomed out.
      pickRadiusVoxels: Math.max(2, 6 / fit.voxelWCanvas),
    },
    xi,
    yi,
  );
  requestFrame();
});

canvas.addEventListener("pointermove", (e) => {
  const d = data;
  if (!d) return;
  const [x, y] = pointerPos(e);
  if (panDrag) {
    const s = panDrag.start;
    setView({ zoom: s.zoom, panCanvas: [s.panCanvas[0] + x - panDrag.x, s.panCanvas[1] + y - panDrag.y] });
  }
  pointerIjk = canvasToIjk(currentFit(d), x, y);
  if (windowDrag) {
    d.window = dragWindow(windowDrag.start, x - windowDrag.x, y - windowDrag.y, d.range);
    paintImage(d);
  } else if (gesture) {
    gesture.move(pointerIjk[0], pointerIjk[1]);
  }
  updateStatus();
  requestFrame();
});

function endPointer(): void {
  panDrag = null;
  if (windowDrag) {
    windowDrag = null;
    requestFrame();
  }
  const g = gesture;
  if (!g) return;
  // Keep the preview on screen until the real mask has arrived.
  void g
    .end()
    .then(() => refreshRois())
    .catch(showError)
    .finally(() => {
      if (gesture === g) gesture = null;
      requestFrame();
    });
}
canvas.addEventListener("pointerup", endPointer);
canvas.addEventListener("pointercancel", endPointer);
canvas.addEventListener("pointerleave", () => {
  pointerIjk = null;
  updateStatus();
  requestFrame();
});

canvas.addEventListener(
  "wheel",
  (e) => {
    e.preventDefault();
    const up = e.deltaY < 0 || (e.deltaY === 0 && e.deltaX < 0);
    if (e.ctrlKey || e.metaKey) void sendCommand(up ? "brush:bigger" : "brush:smaller");
    else if (e.altKey || e.shiftKey) zoomBy(up ? 1.25 : 0.8, pointerPos(e));
    else if (e.timeStamp - lastWheelStep >= display.scrollDebounceMs) {
      lastWheelStep = e.timeStamp;
      stepBy(up ? -1 : 1);
    }
  },
  { passive: false },
);

document.addEventListener("keydown", (e) => {
  if (e.key === "Shift" || e.key === "Control" || e.key === "Meta") {
    held = e.key === "Shift" ? "Shift" : "Control";
    requestFrame();
    return;
  }
  const id = shortcutFor(e);
  if (!id) return;
  e.preventDefault();
  if (id === "prevSlice") stepBy(-1);
  else if (id === "nextSlice") stepBy(1);
  else if (id === "undo") void api.undo().catch(showError);
  else if (id === "redo") void api.redo().catch(showError);
  else if (id === "brushSmaller") void sendCommand("brush:smaller");
  else if (id === "brushBigger") void sendCommand("brush:bigger");
  else if (id === "removeOverlap") removeOverlap();
  else if (id === "goTo") void goToDialog().catch(showError);
  else if (id === "zoomIn") zoomBy(1.25);
  else if (id === "zoomOut") zoomBy(0.8);
  else if (id === "zoomFit") setView(IDENTITY_VIEW);
});
document.addEventListener("keyup", (e) => {
  if (e.key === "Shift" || e.key === "Control" || e.key === "Meta") {
    held = null;
    requestFrame();
  }
});
window.addEventListener("blur", () => {
  held = null;
});

new ResizeObserver(requestFrame).observe(canvas);
void events.datasetOpened.listen((e) => openInfo(e.payload.info));
// The user's display preferences (colours, hiding ROIs, scroll debounce, smoothing); the
// opacity comes through the Toolbox's Opacity slider.
void api.getPreferences().then((p) => {
  applyPreferences(p);
  requestFrame();
}, showError);
void events.preferencesChanged.listen((e) => {
  applyPreferences(e.payload.preferences);
  if (data) paintOverlay(data);
  requestFrame();
});
void events.roiModified.listen((e) => refreshRois(e.payload).catch(showError));
void onCommand(runCommand);
void onState((s) => {
  const reload = s.mode !== shared.mode || s.activeRoi !== shared.activeRoi;
  shared = s;
  probe.mode = s.mode;
  if (data) {
    paintOverlay(data);
    if (reload) void Promise.all([loadActive(data, data.slice), loadContours(data, data.slice)]).catch(showError);
  }
  requestFrame();
});
void requestState();
void api
  .datasetInfo()
  .then((info) => info && openInfo(info))
  .catch(showError);
requestFrame();
