/**
 * OutboxSink: hands events to Kafka through the durable outbox. write() resolves once the
 * event is committed to the outbox on disk; the OutboxSender publishes it in the background.
 * Combine with the embedded store in a FanoutSink to keep the console's local history too.
 *
 * Writes that arrive together (many cameras, one process) share one outbox transaction: each
 * synchronous commit costs a disk sync, so committing them one by one would cap the edge at a
 * few hundred events a second. Nobody's write() resolves before its own event is on disk.
 */
import type { Outbox } from '../bus/outbox.js';
import type { OutboxSender } from '../bus/outbox-sender.js';
import type { PlateEvent } from '../common/plate-event.js';
import type { CapturedEvent, EventSink } from './event-sink.js';

interface Waiting {
  event: PlateEvent;
  resolve: () => void;
  reject: (err: unknown) => void;
}

export class OutboxSink implements EventSink {
  readonly name = 'kafka-outbox';
  private closed = false;
  private waiting: Waiting[] = [];

  constructor(
    private readonly outbox: Outbox,
    private readonly sender: OutboxSender,
    private readonly opts: { drainMs?: number } = {},
  ) {
    sender.start();
  }

  write(captured: CapturedEvent): Promise<void> {
    return new Promise((resolve, reject) => {
      this.waiting.push({ event: captured.event, resolve, reject });
      // setImmediate, not a microtask: writers woken by the same I/O round join the batch.
      if (this.waiting.length === 1) setImmediate(() => this.flush());
    });
  }

  private flush(): void {
    const batch = this.waiting;
    if (batch.length === 0) return;
    this.waiting = [];
    try {
      this.outbox.enqueueMany(batch.map((w) => w.event));
    } catch (err) {
      // All or nothing (one transaction): every writer keeps its event (OUTBOX_FULL: its spool).
      for (const w of batch) w.reject(err);
      return;
    }
    for (const w of batch) w.resolve();
    this.sender.nudge();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.flush();
    await this.sender.stop(this.opts.drainMs ?? 5000);
    this.outbox.close();
  }
}
