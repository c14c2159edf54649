/**
 * OutboxSink: hands events to Kafka through the durable outbox. write() resolves once the
 * event is committed to the outbox on disk; the OutboxSender publishes it in the background.
 * Combine with the embedded store in a FanoutSink to keep the console's local history too.
 */
import type { Outbox } from '../bus/outbox.js';
import type { OutboxSender } from '../bus/outbox-sender.js';
import type { CapturedEvent, EventSink } from './event-sink.js';

export class OutboxSink implements EventSink {
  readonly name = 'kafka-outbox';
  private closed = false;

  constructor(
    private readonly outbox: Outbox,
    private readonly sender: OutboxSender,
    private readonly opts: { drainMs?: number } = {},
  ) {
    sender.start();
  }

  async write(captured: CapturedEvent): Promise<void> {
    this.outbox.enqueue(captured.event);
    this.sender.nudge();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.sender.stop(this.opts.drainMs ?? 5000);
    this.outbox.close();
  }
}
