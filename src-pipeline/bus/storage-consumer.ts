/**
 * The backend's storage consumer: reads `alpr.plates.detected` in batches (group
 * `alpr-storage-consumer`), decodes each message as JSON or Avro (told apart per message),
 * stores the valid events through the Storage interface (idempotent on event_id, so a
 * redelivered batch makes no duplicates) and commits the batch's offsets only after the rows
 * are committed. A message that can never become an event goes to `alpr.plates.dlq` with the
 * reason and its origin, so one bad producer cannot stop the topic. A failure that may pass
 * (database down, registry unreachable) fails the batch without committing: kafkajs retries
 * it, and after a restart consumption resumes at the last committed offset.
 */
import { CompressionTypes, Kafka, logLevel, type Consumer, type EachBatchPayload, type Producer } from 'kafkajs';
import type { PlateEvent } from '../common/plate-event.js';
import type { Storage } from '../store/storage.js';
import type { PlateEventCodec } from './codec.js';
import type { BusLog } from './outbox-sender.js';
import { PLATE_EVENTS_TOPIC } from './plate-event-avro.js';

export const DLQ_TOPIC = 'alpr.plates.dlq';
export const STORAGE_CONSUMER_GROUP = 'alpr-storage-consumer';

export interface StorageConsumerOptions {
  brokers: readonly string[];
  storage: Storage;
  codec: PlateEventCodec;
  topic?: string;
  dlqTopic?: string;
  groupId?: string;
  clientId?: string;
  /** Read the topic from its start when the group has no committed offset (default true: nothing captured is skipped). */
  fromBeginning?: boolean;
  log?: BusLog;
}

export interface StorageConsumerStats {
  consumed: number;
  stored: number;
  duplicates: number;
  deadLettered: number;
  batches: number;
  failedBatches: number;
  lastError: string | null;
  /** Events per second stored over the consumer's life. */
  storedPerSecond: number;
}

export class StorageConsumer {
  private readonly consumer: Consumer;
  private readonly dlq: Producer;
  private readonly topic: string;
  private readonly dlqTopic: string;
  private readonly log: BusLog;
  private readonly counts = { consumed: 0, stored: 0, duplicates: 0, deadLettered: 0, batches: 0, failedBatches: 0 };
  private lastError: string | null = null;
  private startedAt = 0;

  constructor(private readonly opts: StorageConsumerOptions) {
    const kafka = new Kafka({
      clientId: opts.clientId ?? 'ovr-alpr-consumer',
      brokers: [...opts.brokers],
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    this.consumer = kafka.consumer({ groupId: opts.groupId ?? STORAGE_CONSUMER_GROUP, allowAutoTopicCreation: false });
    this.dlq = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true });
    this.topic = opts.topic ?? PLATE_EVENTS_TOPIC;
    this.dlqTopic = opts.dlqTopic ?? DLQ_TOPIC;
    this.log = opts.log ?? (() => {});
  }

  async start(): Promise<void> {
    this.startedAt = Date.now();
    await this.dlq.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: this.opts.fromBeginning ?? true });
    await this.consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (b) => this.handle(b) });
  }

  /** Stops after the batch in hand (its offsets are committed only if it was stored). */
  async stop(): Promise<void> {
    await this.consumer.disconnect();
    await this.dlq.disconnect();
  }

  stats(): StorageConsumerStats {
    const secs = this.startedAt ? (Date.now() - this.startedAt) / 1000 : 0;
    return { ...this.counts, lastError: this.lastError, storedPerSecond: secs > 0 ? Math.round((this.counts.stored / secs) * 10) / 10 : 0 };
  }

  private async handle({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    if (!isRunning() || isStale() || batch.messages.length === 0) return;
    try {
      const events: PlateEvent[] = [];
      const dead: { value: Buffer | null; reason: string; offset: string; key: Buffer | null }[] = [];
      for (const m of batch.messages) {
        const r = await this.opts.codec.decode(m.value ?? Buffer.alloc(0));
        if (r.ok) events.push(r.event);
        // Registry outage or misconfiguration: not the message's fault. Fail the batch, commit nothing.
        else if (r.retriable) throw new Error(`cannot judge message at offset ${m.offset}: ${r.reason}`);
        else dead.push({ value: m.value, reason: r.reason, offset: m.offset, key: m.key });
      }
      if (dead.length) {
        await this.dlq.send({
          topic: this.dlqTopic,
          acks: -1,
          compression: CompressionTypes.GZIP,
          messages: dead.map((d) => ({
            key: d.key,
            value: d.value,
            headers: { reason: d.reason.slice(0, 2000), source_topic: batch.topic, source_partition: String(batch.partition), source_offset: d.offset },
          })),
        });
      }
      const stored = events.length ? await this.opts.storage.insertMany(events) : 0;
      const last = batch.messages[batch.messages.length - 1].offset;
      resolveOffset(last);
      await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() }]);
      await heartbeat();
      this.counts.consumed += batch.messages.length;
      this.counts.stored += stored;
      this.counts.duplicates += events.length - stored;
      this.counts.deadLettered += dead.length;
      this.counts.batches++;
      if (this.lastError !== null) this.log('info', 'storage consumer recovered', { topic: batch.topic, partition: batch.partition });
      this.lastError = null;
      if (dead.length) this.log('warn', 'messages sent to the dead-letter topic', { count: dead.length, first_reason: dead[0].reason, dlq: this.dlqTopic });
    } catch (err) {
      this.counts.failedBatches++;
      this.lastError = err instanceof Error ? err.message : String(err);
      this.log('warn', 'batch not stored; it will be retried and its offsets are not committed', {
        topic: batch.topic,
        partition: batch.partition,
        first_offset: batch.firstOffset(),
        error: this.lastError,
      });
      throw err;
    }
  }
}
