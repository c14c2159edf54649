/** Per-stage timings for run summaries and benchmarks: the last N samples per stage, so a camera running for weeks keeps constant memory. */
export class StageTimer {
  private readonly samples = new Map<string, { buf: Float64Array; next: number; count: number }>();

  constructor(private readonly capacity = 2048) {}

  add(stage: string, ms: number): void {
    let s = this.samples.get(stage);
    if (!s) {
      s = { buf: new Float64Array(this.capacity), next: 0, count: 0 };
      this.samples.set(stage, s);
    }
    s.buf[s.next] = ms;
    s.next = (s.next + 1) % this.capacity;
    s.count = Math.min(this.capacity, s.count + 1);
  }

  /** Median ms per stage over the kept samples, rounded to 0.01 ms. */
  medians(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [stage, s] of this.samples) {
      const sorted = Array.from(s.buf.subarray(0, s.count)).sort((a, b) => a - b);
      const mid = sorted.length >> 1;
      const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
      out[stage] = Math.round(median * 100) / 100;
    }
    return out;
  }
}
