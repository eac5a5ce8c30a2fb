import { describe, expect, it } from "vitest";
import { boxBetween } from "./tools/restrict";

describe("restrict box by dragging", () => {
  it("spans the two voxels whichever way the drag goes", () => {
    expect(boxBetween([10.2, 20.4], [49.6, 60], 100, 80)).toEqual([20, 10, 41, 41]);
    expect(boxBetween([49.6, 60], [10.2, 20.4], 100, 80)).toEqual([20, 10, 41, 41]);
  });
  it("is clamped to the slice", () => {
    expect(boxBetween([-5, -5], [500, 500], 100, 80)).toEqual([0, 0, 100, 80]);
  });
  it("is nothing for a click", () => {
    expect(boxBetween([5, 5], [5.3, 5.2], 100, 80)).toBeNull();
    expect(boxBetween([5, 5], [40, 5.2], 100, 80)).toBeNull();
  });
});
