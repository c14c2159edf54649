/**
 * Drains the outbox into Kafka: oldest first, in batches, with an idempotent producer
 * (acks=all, gzip), key camera_id so each camera's events stay in order on one partition.
 * Rows are marked sent only after the broker acknowledged the batch; on any failure the same
 * batch is tried again after a capped exponential backoff, so a broker outage delays events
 * and loses none. A restart resumes from whatever the outbox still holds.
 *
 * The producer is rebuilt (a new producer id) after a sequence or producer-id error and after
 * every third failed send in a row: an idempotent producer whose sequence numbers fell out of
 * step with a broker that crashed and recovered is refused forever (a known failure of kafkajs
 * and librdkafka alike), which would hold every later event in the outbox. A batch resent under
 * a new id may reach Kafka twice; the storage consumer and the alert engine are idempotent per
 * event_id.
 */
import { CompressionTypes, Kafka, logLevel, type Producer } from 'kafkajs';
import { AlprError } from '../common/errors.js';
import { Backoff, type BackoffOptions } from '../ingest/backoff.js';
import type { PlateEventCodec } from './codec.js';
import type { Outbox, OutboxRow } from './outbox.js';
import { PLATE_EVENTS_TOPIC } from './plate-event-avro.js';

export type BusLog = (level: 'info' | 'warn' | 'error', message: string, details?: Record<string, unknown>) => void;

export interface OutboxSenderOptions {
  outbox: Outbox;
  /** Makes the producer, at the start and whenever the old one has to be replaced (createProducer). */
  producer: () => Producer;
  codec: PlateEventCodec;
  topic?: string;
  /** Rows per send; default 2,000 (a send costs a broker round trip with acks=all: small batches cap throughput). */
  batchSize?: number;
  backoff?: BackoffOptions;
  /** How long an idle sender waits before looking at the outbox again (enqueues nudge it sooner). */
  idleMs?: number;
  /** How often acknowledged rows past the outbox's grace period are deleted; default 60 s. */
  pruneEveryMs?: number;
  log?: BusLog;
}

export interface OutboxSenderStats {
  sent: number;
  batches: number;
  failures: number;
  /** Events sent as JSON because the configured format could not carry them. */
  jsonFallbacks: number;
  /** Producers replaced after sequence errors or repeated failures. */
  producersRebuilt: number;
  lastError: string | null;
  running: boolean;
}

/** Errors after which this producer id can never send again. */
const FATAL_PRODUCER_ERRORS = new Set(['OUT_OF_ORDER_SEQUENCE_NUMBER', 'UNKNOWN_PRODUCER_ID', 'INVALID_PRODUCER_EPOCH', 'INVALID_PRODUCER_ID_MAPPING']);
/** Failed sends in a row after which the producer is replaced whatever the cause. */
const REBUILD_AFTER_FAILURES = 3;

/** An idempotent producer as the outbox needs it; connect() is left to the sender. */
export function createProducer(brokers: readonly string[], clientId = 'ovr-alpr-edge'): Producer {
  const kafka = new Kafka({ clientId, brokers: [...brokers], logLevel: logLevel.NOTHING, retry: { retries: 3, initialRetryTime: 200, maxRetryTime: 5000 } });
  // Idempotence needs one request in flight per connection; with it, a retried batch is
  // never written twice and never reordered.
  return kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true });
}

export class OutboxSender {
  private readonly topic: string;
  private readonly batchSize: number;
  private readonly backoff: Backoff;
  private readonly idleMs: number;
  private readonly log: BusLog;
  private readonly counts = { sent: 0, batches: 0, failures: 0, jsonFallbacks: 0, producersRebuilt: 0 };
  private producer: Producer;
  private failuresInRow = 0;
  private lastError: string | null = null;
  private loop: Promise<void> | null = null;
  private stopping = false;
  private connected = false;
  private wake: (() => void) | null = null;
  private readonly pruneEveryMs: number;
  private lastPrune = Date.now();

  constructor(private readonly opts: OutboxSenderOptions) {
    this.topic = opts.topic ?? PLATE_EVENTS_TOPIC;
    this.batchSize = opts.batchSize ?? 2000;
    this.backoff = new Backoff(opts.backoff ?? { initialMs: 250, maxMs: 10_000 });
    this.idleMs = opts.idleMs ?? 1000;
    this.pruneEveryMs = opts.pruneEveryMs ?? 60_000;
    this.log = opts.log ?? (() => {});
    this.producer = opts.producer();
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Something was enqueued: look now instead of after the idle wait. */
  nudge(): void {
    this.wake?.();
  }

  stats(): OutboxSenderStats {
    return { ...this.counts, lastError: this.lastError, running: this.loop !== null && !this.stopping };
  }

  /**
   * Sends what it can within `drainMs`, then stops and disconnects. Whatever is left stays in
   * the outbox for the next start.
   */
  async stop(drainMs = 5000): Promise<void> {
    const deadline = Date.now() + drainMs;
    while (this.loop && this.opts.outbox.stats().pending > 0 && Date.now() < deadline && this.lastError === null) {
      this.nudge();
      await new Promise((r) => setTimeout(r, 50));
    }
    this.stopping = true;
    this.nudge();
    await this.loop;
    this.loop = null;
    if (this.connected) await this.producer.disconnect().catch(() => {});
    this.connected = false;
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      // Without pruning, acknowledged rows would fill the outbox to its bound and stop the edge.
      if (Date.now() - this.lastPrune >= this.pruneEveryMs) {
        this.lastPrune = Date.now();
        this.opts.outbox.prune();
      }
      const rows = this.opts.outbox.pending(this.batchSize);
      if (rows.length === 0) {
        await this.sleep(this.idleMs);
        continue;
      }
      try {
        await this.send(rows);
        this.opts.outbox.markSent(rows.map((r) => r.seq));
        this.counts.sent += rows.length;
        this.counts.batches++;
        if (this.lastError !== null) this.log('info', 'kafka reachable again; outbox draining', { pending: this.opts.outbox.stats().pending });
        this.lastError = null;
        this.failuresInRow = 0;
        this.backoff.reset();
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        this.counts.failures++;
        this.failuresInRow++;
        if (this.lastError === null) this.log('warn', 'kafka send failed; events stay in the outbox and are retried', { error: message, batch: rows.length });
        this.lastError = message;
        this.opts.outbox.markFailed(
          rows.map((r) => r.seq),
          message,
        );
        // A broken connection is rebuilt on the next try.
        if (this.connected) await this.producer.disconnect().catch(() => {});
        this.connected = false;
        const fatal = errorTypes(err).find((t) => FATAL_PRODUCER_ERRORS.has(t));
        if (fatal || this.failuresInRow % REBUILD_AFTER_FAILURES === 0) {
          this.producer = this.opts.producer();
          this.counts.producersRebuilt++;
          this.log('warn', 'kafka producer replaced; the next send starts a new producer id', {
            reason: fatal ?? `${this.failuresInRow} failed sends in a row`,
          });
        }
        await this.sleep(this.backoff.failed(Date.now()));
      }
    }
  }

  private async send(rows: OutboxRow[]): Promise<void> {
    if (!this.connected) {
      await this.producer.connect();
      this.connected = true;
    }
    const messages = await Promise.all(rows.map(async (r) => ({ key: r.cameraId, value: await this.encode(r), headers: { event_id: r.eventId } })));
    await this.producer.send({ topic: this.topic, acks: -1, compression: CompressionTypes.GZIP, messages });
  }

  /**
   * An event the configured format cannot carry (Avro cannot hold a lone UTF-16 surrogate)
   * goes as JSON, which the consumer also reads: skipping it would block the outbox forever,
   * dropping it would lose it.
   */
  private async encode(r: OutboxRow): Promise<Buffer> {
    try {
      return await this.opts.codec.encode(r.event);
    } catch (err) {
      if (err instanceof AlprError && err.code === 'EVENT_INVALID') {
        this.counts.jsonFallbacks++;
        return Buffer.from(JSON.stringify(r.event));
      }
      throw err;
    }
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(done, ms);
      function done() {
        clearTimeout(t);
        resolve();
      }
      this.wake = () => {
        this.wake = null;
        done();
      };
    });
  }
}

/** The kafkajs error types along an error's cause chain (a retry wrapper hides the protocol error). */
function errorTypes(err: unknown): string[] {
  const out: string[] = [];
  for (let e = err as { type?: unknown; cause?: unknown } | undefined, i = 0; e && i < 8; e = e.cause as typeof e, i++) {
    if (typeof e.type === 'string') out.push(e.type);
  }
  return out;
}
