// How ROIs are drawn (and the wheel's debounce), with the original's defaults in one place (the preferences will set
// them): the active ROI red, the others from a hue compass that spreads them over the colour
// wheel away from ±60° around red, the mask opacity, knot colours and sizes.

/** `ROI_COLOR`: the active ROI. */
export const ACTIVE_RGB: readonly [number, number, number] = [255, 0, 0];
/** `MASK_LAYER_ALPHA` × 100: the Opacity slider's default. */
export const DEFAULT_OPACITY_PCT = 40;
/** `HIDE_ROIS_RIGHTCLICK`: the ROIs disappear while the right button is held. */
export const HIDE_ROIS_ON_RIGHT_CLICK = true;
/** `MOUSE_SCROLL_DEBOUNCE_TIME`: wheel events closer than this to the last slice step are
 * ignored (a trackpad's burst is one step). Arrow keys are not debounced. */
export const SCROLL_DEBOUNCE_MS = 200;
/** `ROI_CIRCLE_SIZE`: knot radius in voxels. */
export const KNOT_RADIUS_VOXELS = 2;
/** Knots of the active sub-ROI, other sub-ROIs of the active ROI, other ROIs (§1.6). */
export const KNOT_ACTIVE = "#ff0000";
export const KNOT_SAME_ROI = "#ffff00";
export const KNOT_OTHER_ROI = "#4080ff";
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
  const others = hueCompass(Math.max(roiCount - (activeLabel > 0 ? 1 : 0), 0));
  const alpha = Math.round((Math.min(Math.max(opacityPct, 0), 100) / 100) * 255);
  let k = 0;
  for (let label = 1; label <= roiCount; label++) {
    const rgb = label === activeLabel ? ACTIVE_RGB : (others[k++] ?? ACTIVE_RGB);
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
