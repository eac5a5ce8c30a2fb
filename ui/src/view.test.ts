import { describe, expect, it } from "vitest";
import { canvasToIjk, dragWindow, valueRange, fitSlice, ijkToCanvas, renderGrey, stepSlice, voxelAt, windowToGrey } from "./view";
import { brushSizeStep, clampBrushSize, dabVoxels } from "./tools/registry";

describe("window/level", () => {
  it("maps the window linearly onto 0..255 and clips outside it", () => {
    expect(windowToGrey(0, [0, 100])).toBe(0);
    expect(windowToGrey(50, [0, 100])).toBe(128); // 127.5 rounds up
    expect(windowToGrey(100, [0, 100])).toBe(255);
    expect(windowToGrey(-5, [0, 100])).toBe(0);
    expect(windowToGrey(1e9, [0, 100])).toBe(255);
    expect(windowToGrey(25, [20, 30])).toBe(128);
  });
  it("treats a degenerate window as a threshold and NaN as black", () => {
    expect(windowToGrey(5, [5, 5])).toBe(0);
    expect(windowToGrey(6, [5, 5])).toBe(255);
    expect(windowToGrey(Number.NaN, [0, 1])).toBe(0);
  });
  it("renders every value as windowToGrey does", () => {
    const values = new Float32Array([-1e12, -3, 0, 0.5, 12.7, 50, 99.99, 100, 1e12, Number.NaN, 37.5]);
    for (const w of [[0, 100], [20, 30], [5, 5], [-10, 10]] as const) {
      const rgba = new Uint8ClampedArray(values.length * 4);
      renderGrey(values, w, rgba);
      values.forEach((v, i) => {
        expect(rgba[i * 4]).toBe(windowToGrey(v, w));
        expect(rgba[i * 4 + 2]).toBe(windowToGrey(v, w));
        expect(rgba[i * 4 + 3]).toBe(255);
      });
    }
  });
  it("renders opaque grey pixels", () => {
    const rgba = new Uint8ClampedArray(8);
    renderGrey(new Float32Array([0, 200]), [0, 100], rgba);
    expect(Array.from(rgba)).toEqual([0, 0, 0, 255, 255, 255, 255, 255]);
  });
  it("moves width and centre by a hundredth of the data range per pixel, as the original", () => {
    const wider = dragWindow([0, 100], 40, 0, 1000); // 10 per pixel
    expect(wider[1] - wider[0]).toBeCloseTo(500);
    expect((wider[0] + wider[1]) / 2).toBeCloseTo(50);
    const up = dragWindow([0, 100], 0, -10, 1000);
    expect((up[0] + up[1]) / 2).toBeCloseTo(-50);
    expect(up[1] - up[0]).toBeCloseTo(100);
    const narrow = dragWindow([0, 100], -10000, 0, 1000);
    expect(narrow[1] - narrow[0]).toBeCloseTo(1); // range / 1000
  });
  it("finds the value range, ignoring NaN", () => {
    expect(valueRange(new Float32Array([3, -2, Number.NaN, 7]))).toEqual([-2, 7]);
    expect(valueRange(new Float32Array([]))).toEqual([0, 0]);
  });
});

describe("canvas <-> voxel coordinates", () => {
  it("fits with the physical aspect, centred", () => {
    // 100 x 50 voxels of 1 x 2 mm: a 100 x 100 mm square in a 400 x 200 canvas.
    const fit = fitSlice(100, 50, [1, 2], 400, 200);
    expect(fit.voxelWCanvas).toBeCloseTo(2);
    expect(fit.voxelHCanvas).toBeCloseTo(4);
    expect(fit.offsetXCanvas).toBeCloseTo(100);
    expect(fit.offsetYCanvas).toBeCloseTo(0);
  });
  it("puts voxel centres at integers and round-trips", () => {
    const fit = fitSlice(10, 10, [1, 1], 100, 100);
    expect(canvasToIjk(fit, 0, 0)).toEqual([-0.5, -0.5]);
    expect(canvasToIjk(fit, 5, 5)).toEqual([0, 0]);
    expect(canvasToIjk(fit, 95, 15)).toEqual([9, 1]);
    const zoomed = fitSlice(64, 48, [0.7, 1.3], 333, 250, 2.5, [12, -7]);
    const [x, y] = ijkToCanvas(zoomed, 13.25, 40.5);
    const [xi, yi] = canvasToIjk(zoomed, x, y);
    expect(xi).toBeCloseTo(13.25, 9);
    expect(yi).toBeCloseTo(40.5, 9);
  });
  it("finds the voxel under a point only inside the slice", () => {
    expect(voxelAt(0.4, 2.6, 10, 10)).toEqual([0, 3]);
    expect(voxelAt(-0.6, 0, 10, 10)).toBeNull();
    expect(voxelAt(9.4, 9.4, 10, 10)).toEqual([9, 9]);
    expect(voxelAt(9.6, 0, 10, 10)).toBeNull();
  });
  it("clamps slice steps to the series", () => {
    expect(stepSlice(0, -1, 5)).toBe(0);
    expect(stepSlice(4, 1, 5)).toBe(4);
    expect(stepSlice(2, 1, 5)).toBe(3);
  });
});

describe("brush", () => {
  // Half-widths per row, top row to centre, of the original's `PixelatedCircleBrush` discs for
  // radius 0..20 (the table dafne-roi's brush tests check the engine against).
  const ORIGINAL_DISCS: number[][] = [[0],[1, 1],[1, 2, 2],[1, 2, 3, 3],[2, 3, 4, 4, 4],[2, 3, 4, 5, 5, 5],[2, 4, 5, 5, 6, 6, 6],[2, 4, 5, 6, 6, 7, 7, 7],[2, 4, 5, 6, 7, 7, 8, 8, 8],[3, 5, 6, 7, 8, 8, 9, 9, 9, 9],[3, 5, 6, 7, 8, 9, 9, 10, 10, 10, 10],[3, 5, 7, 8, 9, 9, 10, 10, 11, 11, 11, 11],[3, 5, 7, 8, 9, 10, 10, 11, 11, 12, 12, 12, 12],[3, 6, 7, 8, 9, 10, 11, 12, 12, 12, 13, 13, 13, 13],[3, 6, 8, 9, 10, 11, 12, 12, 13, 13, 13, 14, 14, 14, 14],[3, 6, 8, 9, 10, 11, 12, 13, 13, 14, 14, 14, 15, 15, 15, 15]];
  it("previews the original's discs for every radius", () => {
    ORIGINAL_DISCS.forEach((halves, r) => {
      const dab = dabVoxels("circle", r, 30, 30);
      for (let dy = -r; dy <= r; dy++) {
        const row = dab.filter(([, y]) => y === 30 + dy).map(([x]) => x - 30);
        const half = halves[r - Math.abs(dy)] ?? -1;
        expect([r, dy, Math.min(...row) + 0, Math.max(...row), row.length]).toEqual([r, dy, 0 - half, half, 2 * half + 1]);
      }
      expect(dab.every(([, y]) => Math.abs(y - 30) <= r)).toBe(true);
    });
  });
  it("places squares and rounds pointer positions as the engine does", () => {
    // Engine: rows floor(y - s/2) + 1 .. + s - 1 after rounding half to even.
    const rows = (s: number, y: number) => [...new Set(dabVoxels("square", s, 0, y).map(([, r]) => r))];
    expect(rows(3, 5)).toEqual([4, 5, 6]);
    expect(rows(4, 5)).toEqual([4, 5, 6, 7]);
    expect(rows(1, 2.5)).toEqual([2]);
    expect(rows(1, 3.5)).toEqual([4]);
  });
  it("reads the manual's size keys and clamps the size", () => {
    expect(["-", "y", "z"].map(brushSizeStep)).toEqual([-1, -1, -1]);
    expect(["+", "x"].map(brushSizeStep)).toEqual([1, 1]);
    expect(brushSizeStep("a")).toBe(0);
    expect(clampBrushSize(25)).toBe(20);
    expect(clampBrushSize(-3)).toBe(0);
  });
});
