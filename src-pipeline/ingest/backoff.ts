/**
 * Reconnect delays for live sources: capped exponential backoff. A camera that flaps should
 * not be hammered, but one that was healthy for a while and then drops should retry quickly
 * again, so the attempt counter resets once a connection has stayed up for `resetAfterMs`.
 * Pure (the caller passes the clock) so it is unit-tested without timers.
 */
export interface BackoffOptions {
  /** First delay. */
  initialMs?: number;
  /** Upper bound for any delay. */
  maxMs?: number;
  factor?: number;
  /** A connection that lasted at least this long counts as healthy and resets the delays. */
  resetAfterMs?: number;
}

export class Backoff {
  readonly initialMs: number;
  readonly maxMs: number;
  readonly factor: number;
  readonly resetAfterMs: number;
  private attemptCount = 0;
  private connectedAt: number | undefined;

  constructor(opts: BackoffOptions = {}) {
    this.initialMs = opts.initialMs ?? 500;
    this.maxMs = opts.maxMs ?? 30_000;
    this.factor = opts.factor ?? 2;
    this.resetAfterMs = opts.resetAfterMs ?? 60_000;
    if (!(this.initialMs > 0) || !(this.maxMs >= this.initialMs) || !(this.factor >= 1)) {
      throw new RangeError(`invalid backoff: initialMs ${this.initialMs}, maxMs ${this.maxMs}, factor ${this.factor}`);
    }
  }

  /** Failures since the last reset. */
  get attempts(): number {
    return this.attemptCount;
  }

  /** The source delivered data (connected) at `now`. */
  connected(now: number): void {
    this.connectedAt ??= now;
  }

  /**
   * The source failed at `now`: returns how long to wait before the next try. When the
   * connection that just ended had been healthy long enough, the sequence starts over.
   */
  failed(now: number): number {
    if (this.connectedAt !== undefined && now - this.connectedAt >= this.resetAfterMs) this.attemptCount = 0;
    this.connectedAt = undefined;
    const delay = Math.min(this.maxMs, this.initialMs * this.factor ** this.attemptCount);
    // Stop growing the exponent once capped so it can never overflow to Infinity/NaN.
    if (delay < this.maxMs) this.attemptCount++;
    else this.attemptCount = Math.max(this.attemptCount, 1);
    return delay;
  }

  reset(): void {
    this.attemptCount = 0;
    this.connectedAt = undefined;
  }
}
