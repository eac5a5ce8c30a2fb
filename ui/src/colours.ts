// ROI colours: the active ROI is drawn red; the others take distinct hues by their 1-based
// position in the ROI list (the label value the engine's label bytes carry).
const HUES = [210, 120, 50, 280, 180, 30, 330, 90, 240, 150];

export function roiRgb(label: number): [number, number, number] {
  const h = HUES[(label - 1) % HUES.length] ?? 210;
  const s = 0.8;
  const l = 0.55;
  const f = (n: number) => {
    const k = (n + h / 30) % 12;
    return Math.round(255 * (l - s * Math.min(l, 1 - l) * Math.max(-1, Math.min(k - 3, 9 - k, 1))));
  };
  return [f(0), f(8), f(4)];
}

export function roiColour(label: number, alpha: number): string {
  const [r, g, b] = roiRgb(label);
  return `rgba(${r}, ${g}, ${b}, ${alpha})`;
}
