// The Image Window: draws the current slice with window/level and the ROIs over it, routes
// left-drag gestures to the active tool, right-drag to window/level, wheel and arrow keys to
// the slice, and shows slice / position / intensity in the status line. View state (slice,
// window, zoom, pan) lives here; ROI pixels are fetched from Rust after each change.
import { api, errorMessage, events, type DatasetInfo, type RoiInfo } from "./api";
import { roiRgb } from "./colours";
import { INITIAL_STATE, onState, requestState, sendCommand, type SharedState } from "./shared";
import { brushSizeStep, toolByName, type Gesture } from "./tools/registry";
import {
  canvasToIjk,
  dragWindow,
  fitSlice,
  renderGrey,
  stepSlice,
  valueRange,
  voxelAt,
  type ViewFit,
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
  rois: RoiInfo[];
  image: HTMLCanvasElement;
  overlay: HTMLCanvasElement;
}

let data: Loaded | null = null;
let shared: SharedState = INITIAL_STATE;
let gesture: Gesture | null = null;
let pointerIjk: [number, number] | null = null;
let windowDrag: { x: number; y: number; start: Window } | null = null;
let frameQueued = false;
let heldTool: string | null = null;
let lastRightPress = -Infinity;

/** Slice index, draw count and last frame time: read by the end-to-end tests. */
const probe = { slice: 0, frames: 0, lastFrameMs: 0 };
(window as unknown as { dafneImage: typeof probe }).dafneImage = probe;

function currentFit(d: Loaded): ViewFit {
  const r = canvas.getBoundingClientRect();
  return fitSlice(d.info.cols, d.info.rows, [d.info.spacingMm[0], d.info.spacingMm[1]], r.width, r.height);
}

function requestFrame(): void {
  if (frameQueued) return;
  frameQueued = true;
  requestAnimationFrame(draw);
}

function paintImage(d: Loaded): void {
  if (!d.values) return;
  const g = d.image.getContext("2d");
  if (!g) return;
  const img = g.createImageData(d.info.cols, d.info.rows);
  renderGrey(d.values, d.window, img.data);
  g.putImageData(img, 0, 0);
}

function paintOverlay(d: Loaded): void {
  const g = d.overlay.getContext("2d");
  if (!g) return;
  const img = g.createImageData(d.info.cols, d.info.rows);
  const labels = d.labels;
  if (labels) {
    const active = d.rois.findIndex((r) => r.id === shared.activeRoi) + 1;
    for (let i = 0; i < labels.length; i++) {
      const l = labels[i] ?? 0;
      if (l === 0) continue;
      const [r, gr, b] = l === active ? [255, 0, 0] : roiRgb(l);
      const o = i * 4;
      img.data[o] = r;
      img.data[o + 1] = gr;
      img.data[o + 2] = b;
      img.data[o + 3] = 110;
    }
  }
  g.putImageData(img, 0, 0);
}

/** Keeps the canvas's backing store at its laid-out size (else the slice is stretched). */
function fitBackingStore(r: DOMRect): void {
  const dpr = window.devicePixelRatio || 1;
  const w = Math.max(1, Math.round(r.width * dpr));
  const h = Math.max(1, Math.round(r.height * dpr));
  if (canvas.width !== w || canvas.height !== h) {
    canvas.width = w;
    canvas.height = h;
  }
  ctx2d.setTransform(dpr, 0, 0, dpr, 0, 0);
}

function draw(): void {
  frameQueued = false;
  const t0 = performance.now();
  const r = canvas.getBoundingClientRect();
  fitBackingStore(r);
  ctx2d.fillStyle = "#000";
  ctx2d.fillRect(0, 0, r.width, r.height);
  const d = data;
  if (d) {
    const fit = currentFit(d);
    const w = d.info.cols * fit.voxelWCanvas;
    const h = d.info.rows * fit.voxelHCanvas;
    ctx2d.imageSmoothingEnabled = false;
    ctx2d.drawImage(d.image, fit.offsetXCanvas, fit.offsetYCanvas, w, h);
    // The original hides the ROIs while the right button adjusts the window.
    if (!windowDrag) ctx2d.drawImage(d.overlay, fit.offsetXCanvas, fit.offsetYCanvas, w, h);
    gesture?.renderOverlay(ctx2d, fit);
    const tool = toolByName(heldTool ?? shared.tool);
    if (pointerIjk && tool && !windowDrag) tool.renderCursor(ctx2d, fit, pointerIjk[0], pointerIjk[1], shared.params);
  }
  probe.frames++;
  probe.lastFrameMs = performance.now() - t0;
}

function updateStatus(): void {
  const d = data;
  if (!d) {
    statusLine.textContent = "No data loaded";
    return;
  }
  let text = `slice ${d.slice + 1}/${d.info.slices}  W/L ${d.window[0].toFixed(0)}..${d.window[1].toFixed(0)}`;
  const v = pointerIjk ? voxelAt(pointerIjk[0], pointerIjk[1], d.info.cols, d.info.rows) : null;
  if (v && d.values) {
    const [c, rw] = v;
    const [sx, sy] = d.info.spacingMm;
    const value = d.values[rw * d.info.cols + c] ?? NaN;
    text += `  x ${c} y ${rw} (${(c * sx).toFixed(1)}, ${(rw * sy).toFixed(1)} mm)  intensity ${value.toFixed(1)}`;
  }
  statusLine.textContent = text;
}

function showError(e: unknown): void {
  statusLine.textContent = `error: ${errorMessage(e)}`;
}

async function loadSlice(): Promise<void> {
  const d = data;
  if (!d) return;
  const slice = d.slice;
  const [values, labels] = await Promise.all([api.slicePixels(slice), api.sliceLabels(slice)]);
  if (data !== d || d.slice !== slice) return; // a newer request superseded this one
  d.values = values;
  d.labels = labels;
  if (d.range <= 0) {
    const [lo, hi] = valueRange(values);
    d.range = hi - lo;
  }
  probe.slice = slice;
  paintImage(d);
  paintOverlay(d);
  updateStatus();
  requestFrame();
}

async function refreshRois(): Promise<void> {
  const d = data;
  if (!d) return;
  const [rois, labels] = await Promise.all([api.roiList(), api.sliceLabels(d.slice)]);
  if (data !== d) return;
  d.rois = rois;
  d.labels = labels;
  paintOverlay(d);
  requestFrame();
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
    rois: [],
    image: make(),
    overlay: make(),
  };
  void Promise.all([loadSlice(), refreshRois()]).catch(showError);
}

function goToSlice(delta: number): void {
  const d = data;
  if (!d) return;
  const next = stepSlice(d.slice, delta, d.info.slices);
  if (next === d.slice) return;
  d.slice = next;
  void loadSlice().catch(showError);
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
    if (e.timeStamp - lastRightPress < 300) {
      d.window = d.info.window;
      paintImage(d);
    }
    lastRightPress = e.timeStamp;
    windowDrag = { x, y, start: d.window };
    requestFrame();
    return;
  }
  if (e.button !== 0) return;
  const tool = toolByName(heldTool ?? shared.tool);
  if (!tool) return;
  if (shared.activeRoi === null) {
    statusLine.textContent = "add a ROI in the Toolbox before painting";
    return;
  }
  const [xi, yi] = canvasToIjk(currentFit(d), x, y);
  gesture = tool.begin(
    { slice: d.slice, cols: d.info.cols, rows: d.info.rows, roi: shared.activeRoi, params: shared.params },
    xi,
    yi,
  );
  requestFrame();
});

canvas.addEventListener("pointermove", (e) => {
  const d = data;
  if (!d) return;
  const [x, y] = pointerPos(e);
  const fit = currentFit(d);
  pointerIjk = canvasToIjk(fit, x, y);
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
  if (windowDrag) {
    windowDrag = null;
    requestFrame();
  }
  const g = gesture;
  if (!g) return;
  // Keep the preview on screen until the real mask has arrived.
  void g
    .end()
    .then(refreshRois)
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
    if (e.ctrlKey || e.metaKey) void sendCommand(e.deltaY < 0 ? "brush:bigger" : "brush:smaller");
    else goToSlice(e.deltaY > 0 ? 1 : -1);
  },
  { passive: false },
);

document.addEventListener("keydown", (e) => {
  if (e.key === "ArrowLeft" || e.key === "ArrowUp") goToSlice(-1);
  else if (e.key === "ArrowRight" || e.key === "ArrowDown") goToSlice(1);
  else if ((e.ctrlKey || e.metaKey) && e.key === "z") void api.undo().catch(showError);
  else if ((e.ctrlKey || e.metaKey) && e.key === "y") void api.redo().catch(showError);
  else if (e.key === "Shift") heldTool = "paint";
  else if (e.key === "Control") heldTool = "erase";
  else {
    const step = brushSizeStep(e.key);
    if (step !== 0) void sendCommand(step > 0 ? "brush:bigger" : "brush:smaller");
    return;
  }
  requestFrame();
});
document.addEventListener("keyup", (e) => {
  if (e.key === "Shift" || e.key === "Control") {
    heldTool = null;
    requestFrame();
  }
});

new ResizeObserver(requestFrame).observe(canvas);
void events.datasetOpened.listen((e) => openInfo(e.payload.info));
void events.roiModified.listen(() => refreshRois().catch(showError));
void onState((s) => {
  shared = s;
  if (data) paintOverlay(data);
  requestFrame();
});
void requestState();
void api
  .datasetInfo()
  .then((info) => info && openInfo(info))
  .catch(showError);
requestFrame();
