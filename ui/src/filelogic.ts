// Pure decisions of the File and Tools menus, kept apart from the DOM so they can be tested:
// which series a folder offers, how masks are saved, and the preferences' ranges.

/** One series of a DICOM folder as `scan_series` lists it. */
export interface SeriesLike {
  index: number;
  description: string;
  modality: string;
  size: [number, number, number];
  files: number;
  refused: string | null;
}

/** The series a user can pick (those the loader refuses are shown but not offered). */
export function loadableSeries<T extends SeriesLike>(all: T[]): T[] {
  return all.filter((s) => s.refused === null);
}

/** A series picker line: description, size, modality. */
export function seriesLabel(s: SeriesLike): string {
  const [c, r, n] = s.size;
  const what = s.description || "(no description)";
  return `${what} — ${c} × ${r} × ${n}${s.modality ? `, ${s.modality}` : ""} (${s.files} files)`;
}

export type MaskFormat = "npy" | "npz" | "bundle" | "nifti" | "compactNifti" | "compactDicom" | "dicom" | "seg";

/** How each format is saved: into a folder or as one file (with its extension). */
export interface MaskTarget {
  format: MaskFormat;
  /** Menu label, as the original's. */
  label: string;
  folder: boolean;
  /** Extension of the file written (when not a folder). */
  ext?: string;
  /** Only for data loaded from DICOM. */
  dicomOnly: boolean;
  /** A label map: overlapping ROIs need a policy. */
  labelMap: boolean;
}

export const MASK_TARGETS: Record<MaskFormat, MaskTarget> = {
  npz: { format: "npz", label: "Single file (npz)…", folder: false, ext: "npz", dicomOnly: false, labelMap: false },
  npy: { format: "npy", label: "Multiple files (npy)…", folder: true, dicomOnly: false, labelMap: false },
  bundle: { format: "bundle", label: "Data and mask bundle…", folder: false, ext: "npz", dicomOnly: false, labelMap: false },
  dicom: { format: "dicom", label: "Save as Dicom…", folder: true, dicomOnly: true, labelMap: false },
  nifti: { format: "nifti", label: "Save as Nifti…", folder: true, dicomOnly: false, labelMap: false },
  compactDicom: { format: "compactDicom", label: "Dicom…", folder: true, dicomOnly: true, labelMap: true },
  compactNifti: { format: "compactNifti", label: "Nifti…", folder: false, ext: "nii.gz", dicomOnly: false, labelMap: true },
  seg: { format: "seg", label: "Save as DICOM SEG…", folder: false, ext: "dcm", dicomOnly: true, labelMap: false },
};

/** Whether a save-masks entry is enabled for the open data. */
export function maskTargetEnabled(t: MaskTarget, fromDicom: boolean): boolean {
  return !t.dicomOnly || fromDicom;
}

/** A command error saying overlapping ROIs stopped a label map (ask which ROI wins). */
export function isOverlapRefusal(message: string): boolean {
  return /ROIs overlap/.test(message);
}

/** A numeric preference's allowed range (as the original's config), for the dialog and checks. */
export const PREFERENCE_RANGES: Record<string, [number, number]> = {
  MOUSE_SCROLL_DEBOUNCE_TIME: [0, 1000],
  MASK_LAYER_ALPHA: [0, 1],
  AUTOSAVE_INTERVAL: [1, 1000],
  IL_MIN_SLICES: [1, 50],
};

/** The first out-of-range value, as a message; null when all are fine. */
export function checkRanges(values: Record<string, unknown>): string | null {
  for (const [key, [min, max]] of Object.entries(PREFERENCE_RANGES)) {
    const v = values[key];
    if (v === undefined) continue;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min || v > max) {
      return `${key} must be between ${min} and ${max}`;
    }
  }
  return null;
}

/** "#rrggbb" and alpha from an RGBA in 0..1 (the original's colour tuples), and back. */
export function rgbaToHex(c: [number, number, number, number]): string {
  const h = (v: number) => Math.round(Math.min(1, Math.max(0, v)) * 255).toString(16).padStart(2, "0");
  return `#${h(c[0])}${h(c[1])}${h(c[2])}`;
}

export function hexToRgba(hex: string, alpha: number): [number, number, number, number] {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  const [r, g, b] = [m?.[1], m?.[2], m?.[3]];
  if (r === undefined || g === undefined || b === undefined) throw new Error(`not a colour: ${hex}`);
  const ch = (s: string) => Math.round((parseInt(s, 16) / 255) * 1000) / 1000;
  return [ch(r), ch(g), ch(b), alpha];
}
