/**
 * The delivery queue between rule evaluation and the channels. Evaluation only enqueues (never
 * awaits a network call), so the pipeline is never held up by a slow SMTP server; the queue
 * is bounded (a dead receiver drops the newest notifications, counted and written to history
 * as failed) and `concurrency` workers send with retries and exponential backoff.
 */
import type { Channel } from '../common/alert-rules.js';
import { DeliveryError, type AlertChannel, type Notification } from './channels/channel.js';
import type { AlertMetrics } from './metrics.js';
import type { AlertStore } from './store.js';

export type AlertLog = (level: 'info' | 'warn' | 'error', message: string, details?: Record<string, unknown>) => void;

export interface DeliveryOptions {
  channels: Partial<Record<Channel, AlertChannel>>;
  store: AlertStore | null;
  metrics: AlertMetrics;
  attempts: number;
  backoffMs: number;
  timeoutMs: number;
  queueSize: number;
  concurrency: number;
  /**
   * Look each notification up in history first and skip one already delivered: a consumer
   * that crashed before committing evaluates its last batch again, and the receiver should not
   * hear about the same event twice. A history that cannot be read means send (a duplicate
   * beats a loss).
   */
  skipDelivered?: boolean;
  log?: AlertLog;
}

export interface DeliveryResult {
  channel: Channel;
  ok: boolean;
  attempts: number;
  error?: string;
}

export class DeliveryQueue {
  private readonly queue: Notification[] = [];
  private active = 0;
  private idleWaiters: (() => void)[] = [];
  private closed = false;
  private readonly abort = new AbortController();
  private readonly counts = { queued: 0, delivered: 0, failed: 0, dropped: 0, already_delivered: 0 };

  constructor(private readonly opts: DeliveryOptions) {}

  stats() {
    return { ...this.counts, pending: this.queue.length, active: this.active };
  }

  /** Never throws and never waits. */
  enqueue(n: Notification): void {
    if (this.closed || this.queue.length >= this.opts.queueSize) {
      this.counts.dropped++;
      this.opts.metrics.dropped.inc({ channel: n.action.channel });
      void this.record(n, {
        channel: n.action.channel,
        ok: false,
        attempts: 0,
        error: this.closed ? 'engine stopped' : 'delivery queue full; notification dropped',
      });
      return;
    }
    this.counts.queued++;
    this.queue.push(n);
    this.pump();
  }

  private pump(): void {
    while (this.active < this.opts.concurrency && this.queue.length > 0) {
      const n = this.queue.shift()!;
      this.active++;
      void this.deliverOnce(n).finally(() => {
        this.active--;
        this.pump();
        if (this.active === 0 && this.queue.length === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
    }
  }

  private async deliverOnce(n: Notification): Promise<void> {
    const store = this.opts.store;
    if (this.opts.skipDelivered && store) {
      const sent = await store.wasDelivered(n.rule.id, n.event.event_id, n.action.channel).catch((err: unknown) => {
        this.opts.log?.('warn', 'alert history not readable; sending without the replay check', { error: (err as Error).message });
        return false;
      });
      if (sent) {
        this.counts.already_delivered++;
        this.opts.metrics.replayed.inc({ channel: n.action.channel });
        this.opts.log?.('info', 'alert already delivered for this event; not sent again', {
          rule: n.rule.name,
          channel: n.action.channel,
          event_id: n.event.event_id,
        });
        return;
      }
    }
    await this.record(n, await this.deliver(n));
  }

  /** Sends one notification with retries; resolves with the outcome (never rejects). */
  async deliver(n: Notification): Promise<DeliveryResult> {
    const channel = n.action.channel;
    const impl = this.opts.channels[channel];
    let attempts = 0;
    let error = `channel ${channel} is not configured`;
    if (impl) {
      for (;;) {
        attempts++;
        try {
          await impl.send(n, AbortSignal.any([this.abort.signal, AbortSignal.timeout(this.opts.timeoutMs * 2)]));
          this.counts.delivered++;
          this.opts.metrics.sent.inc({ channel });
          return { channel, ok: true, attempts };
        } catch (err) {
          error = err instanceof DeliveryError ? err.message : `${channel} failed: ${(err as Error)?.message ?? String(err)}`;
          const retriable = !(err instanceof DeliveryError) || err.retriable;
          if (!retriable || attempts >= this.opts.attempts || this.abort.signal.aborted) break;
          await sleep(this.opts.backoffMs * 2 ** (attempts - 1), this.abort.signal);
        }
      }
    }
    this.counts.failed++;
    this.opts.metrics.failed.inc({ channel });
    this.opts.log?.('warn', 'alert notification failed', { rule: n.rule.name, channel, attempts, error });
    return { channel, ok: false, attempts, error };
  }

  private async record(n: Notification, r: DeliveryResult): Promise<void> {
    if (!this.opts.store) return;
    try {
      await this.opts.store.addHistory({
        rule_id: n.rule.id,
        rule_name: n.rule.name,
        event_id: n.event.event_id,
        plate: n.event.plate.normalized_text,
        camera_id: n.event.camera_id,
        channel: r.channel,
        status: r.ok ? 'delivered' : 'failed',
        error: r.error,
        attempts: r.attempts,
      });
    } catch (err) {
      this.opts.log?.('warn', 'alert history not written', { error: (err as Error).message });
    }
  }

  /** Resolves when nothing is queued or in flight (tests, shutdown). */
  idle(): Promise<void> {
    if (this.active === 0 && this.queue.length === 0) return Promise.resolve();
    return new Promise((r) => this.idleWaiters.push(r));
  }

  /** Finishes what is queued within `graceMs`, then aborts the rest. */
  async close(graceMs = 5000): Promise<void> {
    this.closed = true;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([this.idle(), new Promise<void>((r) => (timer = setTimeout(r, graceMs)))]);
    clearTimeout(timer);
    this.abort.abort();
    await this.idle();
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}
