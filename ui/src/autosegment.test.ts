import { describe, expect, it } from "vitest";
import { outcomesText, restrictBox, sliceRange } from "./autosegment";

describe("AutoSegment dialog", () => {
  it("turns the 1-based slices typed into a 0-based range, in order", () => {
    expect(sliceRange(3, 3, 10)).toEqual([2, 2]);
    expect(sliceRange(7, 4, 10)).toEqual([3, 6]);
    expect(sliceRange(1, 10, 10)).toEqual([0, 9]);
  });

  it("refuses slices outside the dataset or not whole", () => {
    expect(sliceRange(0, 3, 10)).toBe("Slices run from 1 to 10.");
    expect(sliceRange(2, 11, 10)).toBe("Slices run from 1 to 10.");
    expect(sliceRange(2.5, 3, 10)).toBe("Start and end slice must be whole numbers.");
    expect(sliceRange(Number.NaN, 3, 10)).toBe("Start and end slice must be whole numbers.");
  });

  it("checks a restrict box against the image", () => {
    expect(restrictBox([10, 20, 30, 40], 64, 64)).toEqual([10, 20, 30, 40]);
    expect(restrictBox([40, 0, 30, 10], 64, 64)).toBe("The box must lie inside the 64 × 64 image.");
    expect(restrictBox([0, 0, 0, 10], 64, 64)).toBe("The box must be at least 1 × 1 pixel.");
    expect(restrictBox([-1, 0, 5, 5], 64, 64)).toBe("The box needs whole numbers, 0 or more.");
  });
});

describe("Improve model report", () => {
  it("says which models changed and which did not", () => {
    const text = outcomesText([
      { classification: "Thigh", accepted: true, summary: "Thigh: accepted", version: 1700000000 },
      { classification: "Leg", accepted: false, summary: "Leg: not accepted", version: null },
    ]);
    expect(text).toBe("Thigh: accepted\nInstalled as version 1700000000.\n\nLeg: not accepted\nThe model was not changed.");
    expect(outcomesText([])).toBe("No model was trained.");
  });
});
