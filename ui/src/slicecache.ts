// The Image Window's memory of recent slices: pixel values (which never change) and ROI
// labels (dropped when an edit touches the slice), least recently used first out, so
// scrolling back and forth draws without waiting for IPC.

/** The active ROI's own mask: drawn over the labels, where later ROIs would hide it. */
export interface ActiveMask {
  roi: number;
  mask: Uint8Array;
}

interface Entry {
  values: Float32Array;
  labels: Uint16Array | null;
  active: ActiveMask | null;
}

/** About 256 MB of slices at most, and never fewer than 8. */
const BUDGET_BYTES = 256 * 1024 * 1024;

export class SliceCache {
  private readonly entries = new Map<number, Entry>();
  private readonly capacity: number;

  constructor(pixelsPerSlice: number) {
    this.capacity = Math.max(8, Math.floor(BUDGET_BYTES / Math.max(pixelsPerSlice * 6, 1)));
  }

  get(slice: number): Entry | undefined {
    const e = this.entries.get(slice);
    if (e) {
      // Map iteration order is insertion order: re-inserting marks it most recent.
      this.entries.delete(slice);
      this.entries.set(slice, e);
    }
    return e;
  }

  put(slice: number, values: Float32Array, labels: Uint16Array | null): void {
    this.entries.delete(slice);
    this.entries.set(slice, { values, labels, active: null });
    while (this.entries.size > this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.entries.delete(oldest.value);
    }
  }

  putLabels(slice: number, labels: Uint16Array): void {
    const e = this.entries.get(slice);
    if (e) e.labels = labels;
  }

  putActive(slice: number, active: ActiveMask): void {
    const e = this.entries.get(slice);
    if (e) e.active = active;
  }

  /** Forgets the labels of one slice, or of all. */
  dropLabels(slice?: number): void {
    const drop = (e: Entry | undefined) => {
      if (e) {
        e.labels = null;
        e.active = null;
      }
    };
    if (slice === undefined) for (const e of this.entries.values()) drop(e);
    else drop(this.entries.get(slice));
  }

  get size(): number {
    return this.entries.size;
  }

  /** Whether another slice would push one out. */
  get full(): boolean {
    return this.entries.size >= this.capacity;
  }

  /** The entry without marking it recently used (background filling must not reorder). */
  peek(slice: number): Entry | undefined {
    return this.entries.get(slice);
  }
}
