/**
 * Dedup per rule and plate: after an alert, the same rule stays quiet for the same plate for
 * `window_s`. Bounded: past `maxKeys` remembered pairs, expired ones are swept, and if none
 * have expired the oldest go (an alert too many beats memory growing with traffic).
 */
export class RateLimiter {
  private readonly last = new Map<string, number>();

  constructor(private readonly maxKeys = 100_000) {}

  /** True (and remembered) when an alert may fire now; false while the window is open. */
  allow(ruleId: string, plate: string, windowS: number, nowMs: number): boolean {
    if (windowS <= 0) return true;
    const key = `${ruleId}\u0000${plate}`;
    const until = this.last.get(key);
    if (until !== undefined && until > nowMs) return false;
    this.last.delete(key);
    this.last.set(key, nowMs + windowS * 1000);
    if (this.last.size > this.maxKeys) this.sweep(nowMs);
    return true;
  }

  private sweep(nowMs: number): void {
    for (const [k, until] of this.last) if (until <= nowMs) this.last.delete(k);
    // Map iteration is insertion order: the first keys are the oldest alerts.
    for (const k of this.last.keys()) {
      if (this.last.size <= this.maxKeys * 0.9) break;
      this.last.delete(k);
    }
  }

  clear(): void {
    this.last.clear();
  }

  get size(): number {
    return this.last.size;
  }
}
