import { describe, expect, it } from "vitest";
import { fractionDone, newJobId, progressText } from "./progress";

describe("job progress", () => {
  it("says what is done, of how many, and the percentage", () => {
    expect(progressText({ done: 12, total: 80, what: "decoding slices" })).toBe("decoding slices: 12 / 80 (15%)");
    expect(progressText({ done: 80, total: 80, what: "decoding slices" })).toBe("decoding slices: 80 / 80 (100%)");
    expect(progressText(null)).toBe("starting…");
  });

  it("has no fraction while the total is unknown, and clamps a bad one", () => {
    expect(fractionDone({ done: 0, total: 0, what: "reading files" })).toBeNull();
    expect(progressText({ done: 0, total: 0, what: "reading files" })).toBe("reading files…");
    expect(fractionDone({ done: 5, total: 4, what: "x" })).toBe(1);
    expect(fractionDone({ done: 1, total: 4, what: "x" })).toBe(0.25);
  });

  it("gives every job its own id", () => {
    const a = newJobId("open");
    const b = newJobId("open");
    expect(a).not.toBe(b);
    expect(a.startsWith("open-")).toBe(true);
  });
});
