import { describe, expect, it } from "vitest";
import { applyPreferences, display, hueCompass, labelLut } from "./colours";
import type { PreferencesDto } from "./bindings";
import { knotColour, paintLabels, paintMask, statusText } from "./imagedraw";
import { outputOf } from "./roiops";
import { SHORTCUTS, shortcutFor } from "./shortcuts";
import { SliceCache } from "./slicecache";
import { centreOfMass, nearestKnot, rotated } from "./tools/contour";
import { ACTIONS, DEFAULT_PARAMS, heldTool, TOOLS, toolsOf } from "./tools/registry";
import { fitSlice, canvasToIjk, parseSliceNumber, voxelToLps, zoomAt, IDENTITY_VIEW } from "./view";

const key = (k: string, mods: Partial<KeyboardEvent> = {}) => ({ key: k, ctrlKey: false, metaKey: false, altKey: false, shiftKey: false, target: null, ...mods }) as KeyboardEvent;

describe("zoom and pan", () => {
  const base = { cols: 100, rows: 50, spacingMm: [1, 2] as const, widthCanvas: 400, heightCanvas: 400 };
  it("keeps the voxel under the cursor in place", () => {
    const at: [number, number] = [130, 170];
    const fit0 = fitSlice(100, 50, [1, 2], 400, 400);
    const before = canvasToIjk(fit0, ...at);
    const v = zoomAt(IDENTITY_VIEW, 2, at, base);
    expect(v.zoom).toBe(2);
    const after = canvasToIjk(fitSlice(100, 50, [1, 2], 400, 400, v.zoom, v.panCanvas), ...at);
    expect(after[0]).toBeCloseTo(before[0]);
    expect(after[1]).toBeCloseTo(before[1]);
    // Voxels twice as large on screen.
    expect(fitSlice(100, 50, [1, 2], 400, 400, v.zoom, v.panCanvas).voxelWCanvas).toBeCloseTo(fit0.voxelWCanvas * 2);
  });
  it("clamps the zoom", () => {
    expect(zoomAt(IDENTITY_VIEW, 1000, [0, 0], base).zoom).toBe(32);
    expect(zoomAt(IDENTITY_VIEW, 0.001, [0, 0], base).zoom).toBe(0.25);
  });
});

describe("status line", () => {
  const affine = [
    [-0.5, 0, 0, 10],
    [0, 0.5, 0, -20],
    [0, 0, 3, 5],
    [0, 0, 0, 1],
  ];
  it("maps voxels to LPS mm through the affine", () => {
    expect(voxelToLps(affine, 2, 4, 1)).toEqual([9, -18, 8]);
  });
  it("shows slice, window, position and intensity", () => {
    const info = { rows: 2, cols: 2, slices: 3, spacingMm: [0.5, 0.5, 3] as [number, number, number], window: [0, 100] as [number, number], description: "", affineLps: affine as never };
    const t = statusText(info, 1, [0, 250], 1.5, [1, 1], new Float32Array([1, 2, 3, 4]));
    expect(t).toBe("slice 2/3  W/L 0.00..250  zoom 150%  [1, 1]  L 9.5 P -19.5 S 8.0 mm  I 4");
    expect(statusText(info, 0, [0, 1], 1, [5, 5], null)).not.toMatch(/mm/);
  });
  it("parses go-to numbers as 1-based", () => {
    expect(parseSliceNumber("3", 3)).toBe(2);
    expect(parseSliceNumber("0", 3)).toBeNull();
    expect(parseSliceNumber("4", 3)).toBeNull();
    expect(parseSliceNumber("1.5", 3)).toBeNull();
    expect(parseSliceNumber("x", 3)).toBeNull();
  });
});

describe("ROI colours", () => {
  it("follow the preferences: one other colour, the active colour, the opacity", () => {
    const saved = { ...display };
    const prefs = {
      ROI_COLOR: [0, 1, 0, 0.5], ROI_SAME_COLOR: [1, 1, 0, 0.5], ROI_OTHER_COLOR: [0, 0, 1, 0.4],
      USE_MULTIPLE_OTHER_COLORS: false, HIDE_ROIS_RIGHTCLICK: false, MOUSE_SCROLL_DEBOUNCE_TIME: 0,
      INTERPOLATION: "nearest", MASK_LAYER_ALPHA: 0.65,
    } as unknown as PreferencesDto;
    expect(applyPreferences(prefs)).toBe(65);
    const lut = labelLut(3, 2, 100);
    expect(Array.from(lut.subarray(4, 16))).toEqual([0, 0, 255, 255, 0, 255, 0, 255, 0, 0, 255, 255]);
    expect(display.hideRoisOnRightClick).toBe(false);
    expect(display.scrollDebounceMs).toBe(0);
    expect(display.smoothImage).toBe(false);
    Object.assign(display, saved);
  });

  it("spreads other ROIs away from red and paints the active one red", () => {
    const hues = hueCompass(6);
    for (const [r, g, b] of hues) expect(r > g + 40 && r > b + 40).toBe(false);
    expect(new Set(hues.map((c) => c.join())).size).toBe(6);
    const lut = labelLut(3, 2, 40);
    expect(Array.from(lut.slice(8, 12))).toEqual([255, 0, 0, 102]);
    expect(lut[3]).toBe(0);
  });
  it("paints labels through the lookup and leaves 0 and unknown labels clear", () => {
    const lut = labelLut(2, 1, 100);
    const rgba = new Uint8ClampedArray(12).fill(9);
    paintLabels(new Uint16Array([0, 1, 7]), lut, rgba);
    // Label 0 and unknown labels are fully clear.
    expect(Array.from(rgba)).toEqual([0, 0, 0, 0, 255, 0, 0, 255, 0, 0, 0, 0]);
  });
  it("draws the active ROI's own mask over the labels", () => {
    const rgba = new Uint8ClampedArray(8);
    paintMask(new Uint8Array([0, 1]), [255, 0, 0, 102], rgba);
    expect(Array.from(rgba)).toEqual([0, 0, 0, 0, 255, 0, 0, 102]);
  });
  it("colours knots as the original", () => {
    expect(knotColour(true, 0, 0)).toBe("rgb(255,0,0)");
    expect(knotColour(true, 1, 0)).toBe("rgb(255,255,0)");
    expect(knotColour(false, 0, 0)).toBe("rgb(0,0,255)");
  });
});

describe("shortcuts", () => {
  it("binds the manual's keys", () => {
    expect(shortcutFor(key("ArrowLeft"))).toBe("prevSlice");
    expect(shortcutFor(key("ArrowDown"))).toBe("nextSlice");
    expect(shortcutFor(key("z"))).toBe("brushSmaller");
    expect(shortcutFor(key("z", { ctrlKey: true }))).toBe("undo");
    expect(shortcutFor(key("y", { ctrlKey: true }))).toBe("redo");
    expect(shortcutFor(key("+", { shiftKey: true }))).toBe("brushBigger");
    expect(shortcutFor(key("g", { ctrlKey: true }))).toBe("goTo");
    expect(shortcutFor(key("r"))).toBe("removeOverlap");
    expect(shortcutFor(key("-", { ctrlKey: true }))).toBe("zoomOut");
    // Registration is listed but not bound yet.
    expect(shortcutFor(key("n"))).toBeNull();
    expect(SHORTCUTS.some((s) => s.keys === "n" && /registration/.test(s.action))).toBe(true);
  });
});

describe("tool registry", () => {
  it("has the original's tools and defaults", () => {
    expect(toolsOf("mask").map((t) => t.name)).toEqual(["paint", "erase", "restrict"]);
    expect(toolsOf("contour").map((t) => t.name)).toEqual(["addMove", "remove", "translate", "rotate", "restrict"]);
    expect(heldTool("contour", "Control")?.name).toBe("remove");
    expect(heldTool("mask", "Shift")?.name).toBe("paint");
    expect(DEFAULT_PARAMS).toMatchObject({ sizePx: 5, thresholdPct: 50, radiusPx: 5, opacityPct: 40, applyToAll: true });
    expect(ACTIONS.map((a) => a.name)).toEqual(["clear", "grow", "shrink", "despeckle", "fillHoles", "autoThreshold", "snap", "simplify"]);
    expect(new Set(TOOLS.map((t) => t.name)).size).toBe(TOOLS.length);
  });
  it("picks the nearest knot within the radius", () => {
    const knots: [number, number][] = [[0, 0], [10, 0], [10.5, 1]];
    expect(nearestKnot(knots, [10.4, 0.8], 2)).toBe(2);
    expect(nearestKnot(knots, [5, 5], 2)).toBeNull();
  });
  it("rotates knots about the centre as the engine (x towards y)", () => {
    const r = rotated([[1, 0]], [0, 0], Math.PI / 2);
    expect(r[0]?.[0]).toBeCloseTo(0);
    expect(r[0]?.[1]).toBeCloseTo(1);
    expect(centreOfMass({ knots: [], curve: [[0, 0], [2, 4]] })).toEqual([1, 2]);
    expect(centreOfMass({ knots: [], curve: [] })).toBeNull();
  });
});

describe("slice cache and ROI menu", () => {
  it("forgets the least recently used slice and drops labels on edits", () => {
    const c = new SliceCache(512 * 512 * 1000); // over budget: the minimum of 8
    for (let s = 0; s < 9; s++) c.put(s, new Float32Array(1), new Uint16Array(1));
    expect(c.size).toBe(8);
    expect(c.get(0)).toBeUndefined();
    c.dropLabels(3);
    expect(c.get(3)?.labels).toBeNull();
    expect(c.get(4)?.labels).not.toBeNull();
    c.dropLabels();
    expect(c.get(4)?.labels).toBeNull();
  });
  it("sends the combination's output as one of existing or new", () => {
    expect(outputOf("__new__", " sum ")).toEqual({ existing: null, newName: "sum" });
    expect(outputOf("7", "x")).toEqual({ existing: 7, newName: null });
  });
});
