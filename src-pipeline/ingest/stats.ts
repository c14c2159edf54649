/** Per-camera counters and rates that the API, the CLI summary and the supervisor read. */
export const SOURCE_STATES = ['starting', 'running', 'reconnecting', 'error', 'stopped'] as const;
export type SourceState = (typeof SOURCE_STATES)[number];

export interface SourceStats {
  id: string;
  state: SourceState;
  /** Frames per second read from the decoder, over the last few seconds. */
  fpsIn: number;
  /** Frames per second taken by the consumer, over the last few seconds. */
  fpsOut: number;
  framesIn: number;
  framesOut: number;
  /** Frames thrown away because the consumer fell behind (drop-oldest). */
  drops: number;
  /** Decoder error lines and truncated frames. */
  decodeErrors: number;
  reconnects: number;
  width?: number;
  height?: number;
  /** Frame rate the stream declares (after any fps cap), once probed. */
  declaredFps?: number;
  /** Last failure, with the tail of the decoder's stderr; absent while healthy. */
  lastError?: string;
}

/**
 * Events per second over a sliding window. Timestamps live in a fixed ring so a 60 fps
 * camera running for days costs the same memory as one that just started.
 */
export class RateMeter {
  private readonly stamps: Float64Array;
  private head = 0;
  private count = 0;

  constructor(
    private readonly windowMs = 2000,
    maxEvents = 512,
  ) {
    this.stamps = new Float64Array(maxEvents);
  }

  mark(now: number): void {
    const cap = this.stamps.length;
    if (this.count === cap) {
      this.head = (this.head + 1) % cap;
      this.count--;
    }
    this.stamps[(this.head + this.count) % cap] = now;
    this.count++;
  }

  rate(now: number): number {
    const cap = this.stamps.length;
    while (this.count > 0 && now - this.stamps[this.head] > this.windowMs) {
      this.head = (this.head + 1) % cap;
      this.count--;
    }
    if (this.count === 0) return 0;
    if (this.count < 2) return this.count / (this.windowMs / 1000);
    // Over the span actually covered, so a source that started a moment ago is not
    // under-reported, and one that stalls decays towards 0 as `now` moves on.
    return ((this.count - 1) * 1000) / Math.max(now - this.stamps[this.head], 1);
  }

  reset(): void {
    this.head = 0;
    this.count = 0;
  }
}
