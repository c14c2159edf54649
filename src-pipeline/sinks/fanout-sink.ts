/**
 * FanoutSink: hands every event to several sinks at once.
 *
 * Semantics: all sinks get the event in parallel and one failing never stops the others.
 * write() resolves when at least one sink took it, and rejects (AlprError, details per sink)
 * only when every sink failed, so the caller knows nothing holds the event. A sink that
 * failed while others succeeded is logged (warn) and counted, not retried: re-sending the
 * whole event would duplicate it in the sinks that took it. A sink that must not miss events
 * goes in wrapped in its own SpoolSink, which only fails when it cannot even spool.
 * close() closes every sink; it rejects after all were closed if any close failed.
 */
import { AlprError } from '../common/errors.js';
import type { CapturedEvent, EventSink } from './event-sink.js';
import { errorDetails, noLog, safeLog, type SinkLog } from './log.js';

export interface FanoutSinkStats {
  written: number;
  /** Per sink name: events that sink failed while another took them. */
  partialFailures: Record<string, number>;
  /** Events no sink took (write rejected). */
  failed: number;
}

export class FanoutSink implements EventSink {
  readonly name: string;
  private readonly sinks: readonly EventSink[];
  private readonly log: SinkLog;
  private closing: Promise<void> | null = null;
  private readonly counters: FanoutSinkStats = { written: 0, partialFailures: {}, failed: 0 };

  constructor(sinks: readonly EventSink[], opts: { log?: SinkLog; name?: string } = {}) {
    if (sinks.length === 0) throw new AlprError('USAGE', 'FanoutSink needs at least one sink');
    this.sinks = [...sinks];
    this.log = opts.log ?? noLog;
    this.name = opts.name ?? `fanout(${sinks.map((s) => s.name).join(',')})`;
  }

  stats(): FanoutSinkStats {
    return { ...this.counters, partialFailures: { ...this.counters.partialFailures } };
  }

  async write(captured: CapturedEvent): Promise<void> {
    if (this.closing) throw new AlprError('USAGE', `${this.name} is closed`);
    // Promise.resolve().then: a sink whose write() throws synchronously counts as a failure.
    const results = await Promise.allSettled(this.sinks.map((s) => Promise.resolve().then(() => s.write(captured))));
    const failures = results.flatMap((r, i) => (r.status === 'rejected' ? [{ sink: this.sinks[i].name, reason: r.reason as unknown }] : []));
    if (failures.length === 0) {
      this.counters.written++;
      return;
    }
    const event_id = captured.event.event_id;
    if (failures.length < this.sinks.length) {
      this.counters.written++;
      for (const f of failures) {
        this.counters.partialFailures[f.sink] = (this.counters.partialFailures[f.sink] ?? 0) + 1;
        safeLog(this.log, 'warn', 'sink failed; the others took the event', { sink: f.sink, event_id, ...errorDetails(f.reason) });
      }
      return;
    }
    this.counters.failed++;
    safeLog(this.log, 'error', 'every sink failed', {
      sink: this.name,
      event_id,
      failures: failures.map((f) => ({ sink: f.sink, ...errorDetails(f.reason) })),
    });
    throw new AlprError(
      'STORAGE_FAILED',
      `no sink took event ${event_id}: ${failures.map((f) => `${f.sink}: ${errorDetails(f.reason).error as string}`).join('; ')}`,
      {
        retriable: failures.some((f) => (f.reason as { retriable?: unknown } | null)?.retriable === true),
        details: { event_id, sinks: failures.map((f) => ({ sink: f.sink, ...errorDetails(f.reason) })) },
      },
    );
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      const results = await Promise.allSettled(this.sinks.map((s) => Promise.resolve().then(() => s.close())));
      const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [{ sink: this.sinks[i].name, ...errorDetails(r.reason) }] : []));
      if (failed.length) {
        safeLog(this.log, 'error', 'sink close failed', { sink: this.name, failed });
        throw new AlprError('STORAGE_FAILED', `closing ${failed.map((f) => f.sink).join(', ')} failed`, { details: { failed } });
      }
    })();
    return this.closing;
  }
}
