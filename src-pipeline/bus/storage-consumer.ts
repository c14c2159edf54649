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
import { CompressionTypes, Kafka, logLevel, type Admin, type Consumer, type EachBatchPayload, type Producer } from 'kafkajs';
import type { PlateEvent } from '../common/plate-event.js';
import type { Storage } from '../store/storage.js';
import type { PlateEventCodec } from './codec.js';
import type { ConsumerMetrics, PartitionLag } from './consumer-metrics.js';
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
  /**
   * Partitions whose batches are handled at once (default 1). More overlaps decoding with
   * inserts, but measured slower here (smaller transactions) and concurrent batch inserts hit
   * PostgreSQL deadlocks now and then (retried, so safe, but wasted). Order within a partition
   * is kept either way.
   */
  partitionsConsumedConcurrently?: number;
  /** Read the topic from its start when the group has no committed offset (default true: nothing captured is skipped). */
  fromBeginning?: boolean;
  log?: BusLog;
  /** Prometheus metrics to keep (lag, throughput, batch sizes, insert latency, DLQ count). */
  metrics?: ConsumerMetrics;
  /** How often lag is looked up from the broker and the message rate recomputed (default 5 s; 0: never). */
  lagIntervalMs?: number;
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
  /** Messages handled per second over the last lag interval. */
  messagesPerSecond: number;
  /** Sum of the partitions' lag at the last lookup (null before the first). */
  lag: number | null;
  /** Times kafkajs gave up on a batch after its retries and restarted the consumer. */
  crashes: number;
}

export class StorageConsumer {
  private readonly consumer: Consumer;
  private readonly dlq: Producer;
  private readonly admin: Admin;
  private readonly groupId: string;
  private lagTimer: NodeJS.Timeout | null = null;
  private lastLag: PartitionLag[] | null = null;
  private rate = { at: 0, consumed: 0, perSecond: 0 };
  private crashes = 0;
  private lagFailing = false;
  private stopped = false;
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
    this.groupId = opts.groupId ?? STORAGE_CONSUMER_GROUP;
    this.consumer = kafka.consumer({ groupId: this.groupId, allowAutoTopicCreation: false });
    this.admin = kafka.admin();
    this.dlq = kafka.producer({ idempotent: true, maxInFlightRequests: 1, allowAutoTopicCreation: true });
    this.topic = opts.topic ?? PLATE_EVENTS_TOPIC;
    this.dlqTopic = opts.dlqTopic ?? DLQ_TOPIC;
    this.log = opts.log ?? (() => {});
  }

  async start(): Promise<void> {
    this.startedAt = Date.now();
    this.rate = { at: this.startedAt, consumed: 0, perSecond: 0 };
    // A batch that still fails after kafkajs' retries crashes the consumer, which kafkajs then
    // restarts from the last committed offset: worth a line, since it means the store or the
    // broker has been down for a while.
    this.consumer.on(this.consumer.events.CRASH, (e) => {
      this.crashes++;
      this.log('warn', 'consumer restarting after repeated failures', { error: e.payload.error?.message, restart: e.payload.restart });
    });
    await this.dlq.connect();
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.topic, fromBeginning: this.opts.fromBeginning ?? true });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: this.opts.partitionsConsumedConcurrently ?? 1,
      eachBatch: (b) => this.handle(b),
    });
    const every = this.opts.lagIntervalMs ?? 5000;
    if (every > 0) {
      this.lagTimer = setInterval(() => void this.refreshLag(), every);
      this.lagTimer.unref();
    }
  }

  /** Stops after the batch in hand (its offsets are committed only if it was stored). */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.lagTimer) clearInterval(this.lagTimer);
    this.lagTimer = null;
    await this.consumer.disconnect();
    await this.dlq.disconnect();
    await this.admin.disconnect().catch(() => {});
  }

  stats(): StorageConsumerStats {
    const secs = this.startedAt ? (Date.now() - this.startedAt) / 1000 : 0;
    return {
      ...this.counts,
      lastError: this.lastError,
      storedPerSecond: secs > 0 ? Math.round((this.counts.stored / secs) * 10) / 10 : 0,
      messagesPerSecond: this.rate.perSecond,
      lag: this.lastLag === null ? null : Number(this.lastLag.reduce((t, p) => t + p.lag, 0n)),
      crashes: this.crashes,
    };
  }

  /**
   * Per-partition lag from the broker (high watermarks and the group's committed offsets), so
   * a stalled consumer (database down) shows a growing lag, not the last batch's. Also
   * recomputes the message rate and updates the metrics. Null when the broker cannot be asked.
   */
  async refreshLag(): Promise<PartitionLag[] | null> {
    const now = Date.now();
    const dt = (now - this.rate.at) / 1000;
    if (dt > 0) this.rate = { at: now, consumed: this.counts.consumed, perSecond: Math.round(((this.counts.consumed - this.rate.consumed) / dt) * 10) / 10 };
    this.opts.metrics?.messagesPerSecond.set(this.rate.perSecond);
    try {
      await this.admin.connect();
      const [highs, groups] = await Promise.all([
        this.admin.fetchTopicOffsets(this.topic),
        this.admin.fetchOffsets({ groupId: this.groupId, topics: [this.topic] }),
      ]);
      const committed = new Map((groups[0]?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
      const rows = highs.map((h): PartitionLag => {
        const high = BigInt(h.high);
        const c = committed.get(h.partition) ?? -1n;
        // Nothing committed yet: everything from the log start is still to do.
        const from = c >= 0n ? c : BigInt(h.low);
        return { topic: this.topic, partition: h.partition, high, committed: c, lag: high > from ? high - from : 0n };
      });
      this.lastLag = rows;
      this.lagFailing = false;
      this.opts.metrics?.setLag(rows);
      return rows;
    } catch (err) {
      this.opts.metrics?.lagRefreshErrors.inc();
      if (!this.lagFailing) this.log('warn', 'cannot look up consumer lag', { error: err instanceof Error ? err.message : String(err) });
      this.lagFailing = true;
      return null;
    }
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
      const t0 = performance.now();
      const stored = events.length ? await this.opts.storage.insertMany(events) : 0;
      const insertS = (performance.now() - t0) / 1000;
      const last = batch.messages[batch.messages.length - 1].offset;
      const next = BigInt(last) + 1n;
      resolveOffset(last);
      await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: next.toString() }]);
      await heartbeat();
      this.counts.consumed += batch.messages.length;
      this.counts.stored += stored;
      this.counts.duplicates += events.length - stored;
      this.counts.deadLettered += dead.length;
      this.counts.batches++;
      const m = this.opts.metrics;
      if (m) {
        m.batches.inc({ result: 'ok' });
        m.batchSize.observe(batch.messages.length);
        if (events.length) m.insertSeconds.observe(insertS);
        m.messages.inc({ outcome: 'stored' }, stored);
        m.messages.inc({ outcome: 'duplicate' }, events.length - stored);
        m.messages.inc({ outcome: 'dead_lettered' }, dead.length);
        m.deadLettered.inc(dead.length);
        const high = BigInt(batch.highWatermark);
        m.setLag([{ topic: batch.topic, partition: batch.partition, high, committed: next, lag: high > next ? high - next : 0n }]);
      }
      if (this.lastError !== null) this.log('info', 'storage consumer recovered', { topic: batch.topic, partition: batch.partition });
      this.lastError = null;
      if (dead.length) this.log('warn', 'messages sent to the dead-letter topic', { count: dead.length, first_reason: dead[0].reason, dlq: this.dlqTopic });
    } catch (err) {
      this.counts.failedBatches++;
      this.opts.metrics?.batches.inc({ result: 'failed' });
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
