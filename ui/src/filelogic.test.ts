import { describe, expect, it } from "vitest";
import {
  checkRanges,
  hexToRgba,
  isOverlapRefusal,
  loadableSeries,
  MASK_TARGETS,
  maskTargetEnabled,
  rgbaToHex,
  seriesLabel,
} from "./filelogic";

const series = (index: number, refused: string | null) => ({
  index,
  description: index === 0 ? "T1 axial" : "",
  modality: "MR",
  size: [256, 224, 30] as [number, number, number],
  files: 30,
  refused,
});

describe("series picker", () => {
  it("offers only the series the loader accepts", () => {
    expect(loadableSeries([series(0, null), series(1, "radial set"), series(2, null)]).map((s) => s.index)).toEqual([0, 2]);
  });
  it("labels a series by description, size and modality", () => {
    expect(seriesLabel(series(0, null))).toBe("T1 axial — 256 × 224 × 30, MR (30 files)");
    expect(seriesLabel(series(1, null))).toMatch(/^\(no description\)/);
  });
});

describe("save masks", () => {
  it("offers DICOM formats only for DICOM data", () => {
    const dicomOnly = Object.values(MASK_TARGETS).filter((t) => !maskTargetEnabled(t, false)).map((t) => t.format).sort();
    expect(dicomOnly).toEqual(["compactDicom", "dicom", "seg"]);
    expect(Object.values(MASK_TARGETS).every((t) => maskTargetEnabled(t, true))).toBe(true);
  });
  it("asks the overlap policy only for label maps", () => {
    expect(Object.values(MASK_TARGETS).filter((t) => t.labelMap).map((t) => t.format).sort()).toEqual(["compactDicom", "compactNifti"]);
    expect(isOverlapRefusal("ROIs overlap (a and b: 12 voxels); choose which ROI wins")).toBe(true);
    expect(isOverlapRefusal("cannot write x")).toBe(false);
  });
});

describe("preferences", () => {
  it("checks the original's ranges", () => {
    expect(checkRanges({ MASK_LAYER_ALPHA: 0.4, AUTOSAVE_INTERVAL: 30 })).toBeNull();
    expect(checkRanges({ MASK_LAYER_ALPHA: 1.2 })).toMatch(/MASK_LAYER_ALPHA/);
    expect(checkRanges({ AUTOSAVE_INTERVAL: 0 })).toMatch(/AUTOSAVE_INTERVAL/);
    expect(checkRanges({ IL_MIN_SLICES: Number.NaN })).toMatch(/IL_MIN_SLICES/);
  });
  it("turns colours into the colour picker's form and back", () => {
    expect(rgbaToHex([1, 0, 0, 0.5])).toBe("#ff0000");
    expect(hexToRgba("#0000ff", 0.4)).toEqual([0, 0, 1, 0.4]);
    expect(() => hexToRgba("blue", 1)).toThrow();
  });
});
