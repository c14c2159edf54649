/**
 * Retention for the embedded default: event rows by age and count, images by age and total
 * size, run once (applyRetention) or periodically (RetentionScheduler).
 *
 * Order of one run:
 *  1. Storage.applyRetention deletes rows captured before now - max_age_days, then the oldest
 *     rows beyond max_events, and hands back their image URLs;
 *  2. those images are removed from the image store;
 *  3. images captured before the age cut-off are removed (crops whose rows were already gone,
 *     or that were written without a row);
 *  4. the oldest images are removed until at most max_image_bytes remain. Their rows stay (the
 *     event is still worth keeping without its picture); the API answers 404 for such a URL.
 */
import { AlprError } from '../common/errors.js';
import type { ImageStore } from '../images/image-store.js';
import type { Storage } from './storage.js';

export interface RetentionSettings {
  /** Delete events and images captured more than this many days ago. */
  max_age_days?: number;
  /** Keep at most this many events (oldest captured go first). */
  max_events?: number;
  /** Keep at most this many bytes of images (oldest captured go first). */
  max_image_bytes?: number;
}

export interface RetentionSummary {
  events_deleted: number;
  images_deleted: number;
  image_bytes_freed: number;
  /** Images that could not be removed this run (they are retried next run). */
  images_failed: number;
}

export interface ApplyRetentionOptions {
  storage: Storage;
  images?: ImageStore;
  policy: RetentionSettings;
  now?: Date;
}

/** Throws CONFIG_INVALID unless every limit given is a finite number >= 0 (max_events a whole number). */
export function validateRetention(policy: RetentionSettings): RetentionSettings {
  for (const key of ['max_age_days', 'max_events', 'max_image_bytes'] as const) {
    const v = policy[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0)
      throw new AlprError('CONFIG_INVALID', `retention ${key} must be a number >= 0, got ${String(v)}`);
    if (key !== 'max_age_days' && !Number.isInteger(v)) throw new AlprError('CONFIG_INVALID', `retention ${key} must be a whole number, got ${v}`);
  }
  return policy;
}

/** True when the policy limits anything at all. */
export function retentionEnabled(policy: RetentionSettings): boolean {
  return policy.max_age_days !== undefined || policy.max_events !== undefined || policy.max_image_bytes !== undefined;
}

export async function applyRetention(opts: ApplyRetentionOptions): Promise<RetentionSummary> {
  const { storage, images, policy } = opts;
  validateRetention(policy);
  const now = opts.now ?? new Date();
  const summary: RetentionSummary = { events_deleted: 0, images_deleted: 0, image_bytes_freed: 0, images_failed: 0 };
  const add = (r: { deleted: number; freedBytes: number; failed: number }) => {
    summary.images_deleted += r.deleted;
    summary.image_bytes_freed += r.freedBytes;
    summary.images_failed += r.failed;
  };

  if (policy.max_age_days !== undefined || policy.max_events !== undefined) {
    const rows = await storage.applyRetention({ max_age_days: policy.max_age_days, max_events: policy.max_events }, now);
    summary.events_deleted = rows.deleted;
    if (images && rows.image_urls.length > 0) add(await images.remove(rows.image_urls));
  }
  if (images && policy.max_age_days !== undefined) add(await images.pruneOlderThan(new Date(now.getTime() - policy.max_age_days * 86_400_000)));
  if (images && policy.max_image_bytes !== undefined) add(await images.pruneToBytes(policy.max_image_bytes));
  return summary;
}

export type RetentionLogger = (level: 'info' | 'error', message: string, details?: Record<string, unknown>) => void;

export interface RetentionSchedulerOptions {
  storage: Storage;
  images?: ImageStore;
  policy: RetentionSettings;
  /** Where run summaries (when something was deleted) and errors go. */
  log: RetentionLogger;
  /** Clock, for tests. */
  now?: () => Date;
}

/**
 * Runs applyRetention every `intervalMs`. Runs never overlap: the next one is scheduled when
 * the previous one has finished, and runNow() during a run returns that run. Errors are logged,
 * never thrown into the timer. The timer is unref'd, so it never keeps a process alive alone.
 */
export class RetentionScheduler {
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<RetentionSummary | null> | null = null;
  private intervalMs = 0;
  private stopped = true;
  /** Completed runs (successful or not), for health pages and tests. */
  runs = 0;
  lastSummary: RetentionSummary | null = null;
  lastError: unknown = null;

  constructor(private readonly opts: RetentionSchedulerOptions) {
    validateRetention(opts.policy);
  }

  /** Starts periodic runs; the first runs right away unless `immediate` is false. */
  start(intervalMs: number, { immediate = true }: { immediate?: boolean } = {}): void {
    if (!Number.isFinite(intervalMs) || intervalMs <= 0) throw new AlprError('CONFIG_INVALID', `retention interval must be > 0 ms, got ${intervalMs}`);
    if (!this.stopped) return;
    this.stopped = false;
    this.intervalMs = intervalMs;
    if (immediate) void this.tick();
    else this.schedule();
  }

  /** Stops the timer and waits for a run in progress to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
  }

  /** One run now (or the run already in progress); null when it failed (the error is logged). */
  runNow(): Promise<RetentionSummary | null> {
    if (this.running) return this.running;
    const run = (async () => {
      try {
        const summary = await applyRetention({ storage: this.opts.storage, images: this.opts.images, policy: this.opts.policy, now: this.opts.now?.() });
        this.lastSummary = summary;
        this.lastError = null;
        if (summary.events_deleted > 0 || summary.images_deleted > 0 || summary.images_failed > 0)
          this.safeLog('info', 'retention removed old events and images', { ...summary });
        return summary;
      } catch (err) {
        this.lastError = err;
        this.safeLog('error', `retention run failed: ${err instanceof Error ? err.message : String(err)}`, {
          code: err instanceof AlprError ? err.code : undefined,
        });
        return null;
      } finally {
        this.runs++;
        this.running = null;
      }
    })();
    this.running = run;
    return run;
  }

  private async tick(): Promise<void> {
    this.timer = null;
    await this.runNow();
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => void this.tick(), this.intervalMs);
    this.timer.unref();
  }

  private safeLog(level: 'info' | 'error', message: string, details?: Record<string, unknown>): void {
    try {
      this.opts.log(level, message, details);
    } catch {
      // A broken logger must not take the timer down either.
    }
  }
}
