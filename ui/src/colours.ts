// How ROIs are drawn (and the wheel's debounce), in one place: the original's defaults, replaced
// by the user's preferences when they arrive (`applyPreferences`). The active ROI red, the others
// from a hue compass that spreads them over the colour wheel away from ±60° around the active
// colour (or one colour when USE_MULTIPLE_OTHER_COLORS is off), the mask opacity, knot colours.
import type { PreferencesDto } from "./bindings";

type Rgb = [number, number, number];

/** What the drawing reads; the preferences' keys in the comments. */
export const display = {
  /** `ROI_COLOR`: the active ROI and the knots of its active sub-ROI. */
  activeRgb: [255, 0, 0] as Rgb,
  /** `ROI_SAME_COLOR`: the other sub-ROIs of the active ROI (knots). */
  sameRgb: [255, 255, 0] as Rgb,
  /** `ROI_OTHER_COLOR`: the other ROIs when they share one colour, and their knots. */
  otherRgb: [0, 0, 255] as Rgb,
  /** `USE_MULTIPLE_OTHER_COLORS`. */
  multipleOtherColours: true,
  /** `HIDE_ROIS_RIGHTCLICK`: the ROIs disappear while the right button is held. */
  hideRoisOnRightClick: true,
  /** `MOUSE_SCROLL_DEBOUNCE_TIME`: wheel events closer than this to the last slice step are
   * ignored (a trackpad's burst is one step). Arrow keys are not debounced. */
  scrollDebounceMs: 200,
  /** `INTERPOLATION` other than none/nearest: the slice is smoothed when magnified. */
  smoothImage: true,
};

/** `MASK_LAYER_ALPHA` × 100: the Opacity slider's default. */
export const DEFAULT_OPACITY_PCT = 40;
/** `ROI_CIRCLE_SIZE`: knot radius in voxels. */
export const KNOT_RADIUS_VOXELS = 2;

const css = (rgb: Rgb) => `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
const rgbOf = (rgba: [number, number, number, number]): Rgb => [
  Math.round(rgba[0] * 255),
  Math.round(rgba[1] * 255),
  Math.round(rgba[2] * 255),
];

/** Knot colours (§1.6): active sub-ROI, other sub-ROIs of the active ROI, other ROIs. */
export const roleColour = (which: "active" | "same" | "other"): string =>
  css(which === "active" ? display.activeRgb : which === "same" ? display.sameRgb : display.otherRgb);

/** Takes the user's preferences; returns the mask opacity they ask for, in percent. */
export function applyPreferences(p: PreferencesDto): number {
  display.activeRgb = rgbOf(p.ROI_COLOR);
  display.sameRgb = rgbOf(p.ROI_SAME_COLOR);
  display.otherRgb = rgbOf(p.ROI_OTHER_COLOR);
  display.multipleOtherColours = p.USE_MULTIPLE_OTHER_COLORS;
  display.hideRoisOnRightClick = p.HIDE_ROIS_RIGHTCLICK;
  display.scrollDebounceMs = p.MOUSE_SCROLL_DEBOUNCE_TIME;
  display.smoothImage = !["none", "nearest"].includes(p.INTERPOLATION);
  return Math.round(p.MASK_LAYER_ALPHA * 100);
}
/** Restrict-area boxes. */
export const RESTRICT_BOX = "#00ff80";

function hslToRgb(hueDeg: number, s: number, l: number): [number, number, number] {
  const f = (n: number) => {
    const k = (n + hueDeg / 30) % 12;
    return Math.round(255 * (l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

/**
 * The hue compass: `count` colours spread evenly over the wheel leaving out ±60° around the
 * active colour's hue (red, 0°), so no other ROI looks like the active one.
 */
export function hueCompass(count: number): [number, number, number][] {
  const out: [number, number, number][] = [];
  for (let i = 0; i < count; i++) {
    const hue = 60 + (240 * (i + 0.5)) / Math.max(count, 1);
    out.push(hslToRgb(hue, 0.85, 0.55));
  }
  return out;
}

/**
 * Colour lookup by label (1-based position in the ROI list, 0 = none): RGBA bytes, 4 per
 * label, the active label red and the others from the compass in list order.
 */
export function labelLut(roiCount: number, activeLabel: number, opacityPct: number): Uint8ClampedArray {
  const lut = new Uint8ClampedArray((roiCount + 1) * 4);
  const others = display.multipleOtherColours
    ? hueCompass(Math.max(roiCount - (activeLabel > 0 ? 1 : 0), 0))
    : new Array<Rgb>(roiCount).fill(display.otherRgb);
  const alpha = Math.round((Math.min(Math.max(opacityPct, 0), 100) / 100) * 255);
  let k = 0;
  for (let label = 1; label <= roiCount; label++) {
    const rgb = label === activeLabel ? display.activeRgb : (others[k++] ?? display.otherRgb);
    lut.set([rgb[0], rgb[1], rgb[2], alpha], label * 4);
  }
  return lut;
}

/** The CSS colour of a ROI in lists (the same as on the image). */
export function roiColour(label: number, roiCount: number, activeLabel: number): string {
  const lut = labelLut(roiCount, activeLabel, 100);
  const o = label * 4;
  return `rgb(${lut[o] ?? 255}, ${lut[o + 1] ?? 0}, ${lut[o + 2] ?? 0})`;
}
