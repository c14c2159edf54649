/**
 * The backend alert consumer: plate events from Kafka (JSON or Avro, decoded by the bus codec)
 * into the engine, as group `alpr-alert-engine` (its own offsets, independent of the storage
 * consumer). A batch's offsets are committed only once every notification it fired has been
 * delivered or, after its retries, recorded as failed in the history: a crash mid-delivery means
 * the batch is evaluated again (at least once), never that an alert silently disappears. A
 * message that does not decode is skipped (the storage consumer dead-letters it) and counted.
 */
import { Kafka, logLevel, type Consumer, type EachBatchPayload } from 'kafkajs';
import type { PlateEventCodec } from '../bus/codec.js';
import type { AlertLog } from './delivery.js';
import type { AlertEngine } from './engine.js';

export const ALERT_CONSUMER_GROUP = 'alpr-alert-engine';

/** Well inside kafkajs's default 30 s session timeout. */
const HEARTBEAT_EVERY_MS = 3000;

export interface AlertConsumerOptions {
  brokers: readonly string[];
  topic: string;
  codec: PlateEventCodec;
  engine: AlertEngine;
  groupId?: string;
  clientId?: string;
  /** Where a new group starts: the topic's beginning, or only new events (default). */
  fromBeginning?: boolean;
  log?: AlertLog;
}

export interface AlertConsumerStats {
  consumed: number;
  evaluated: number;
  undecodable: number;
  fired: number;
  lastError: string | null;
}

export class AlertConsumer {
  private readonly consumer: Consumer;
  private readonly counts = { consumed: 0, evaluated: 0, undecodable: 0, fired: 0 };
  private lastError: string | null = null;

  constructor(private readonly opts: AlertConsumerOptions) {
    const kafka = new Kafka({
      clientId: opts.clientId ?? 'ovr-alpr-alerts',
      brokers: [...opts.brokers],
      logLevel: logLevel.NOTHING,
      retry: { retries: 8, initialRetryTime: 300, maxRetryTime: 10_000 },
    });
    this.consumer = kafka.consumer({ groupId: opts.groupId ?? ALERT_CONSUMER_GROUP, allowAutoTopicCreation: false });
  }

  async start(): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic: this.opts.topic, fromBeginning: this.opts.fromBeginning ?? false });
    await this.consumer.run({ autoCommit: false, eachBatchAutoResolve: false, eachBatch: (b) => this.handle(b) });
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect();
  }

  stats(): AlertConsumerStats {
    return { ...this.counts, lastError: this.lastError };
  }

  private async handle({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    for (const m of batch.messages) {
      if (!isRunning() || isStale()) return;
      const r = await this.opts.codec.decode(m.value ?? Buffer.alloc(0));
      if (!r.ok && r.retriable) {
        // Registry outage: not the message's fault. Commit nothing; kafkajs retries the batch.
        this.lastError = r.reason;
        throw new Error(`cannot decode message at offset ${m.offset}: ${r.reason}`);
      }
      this.counts.consumed++;
      if (r.ok) {
        const out = this.opts.engine.evaluate(r.event);
        this.counts.evaluated++;
        this.counts.fired += out.fired.length;
      } else {
        this.counts.undecodable++;
        this.opts.log?.('warn', 'undecodable plate event skipped', { offset: m.offset, partition: batch.partition, reason: r.reason });
      }
      resolveOffset(m.offset);
    }
    // Notifications retry with backoff and end delivered or failed, so idle() comes; heartbeats
    // meanwhile keep the group from handing the partition to someone else.
    await this.settled(heartbeat, isRunning);
    if (!isRunning()) return;
    const last = batch.messages[batch.messages.length - 1];
    if (last) await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(last.offset) + 1n).toString() }]);
    this.lastError = null;
    await heartbeat();
  }

  private async settled(heartbeat: () => Promise<void>, isRunning: () => boolean): Promise<void> {
    let done = false;
    const idle = this.opts.engine.idle().then(() => (done = true));
    while (!done && isRunning()) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([idle, new Promise<void>((r) => (timer = setTimeout(r, HEARTBEAT_EVERY_MS)))]);
      clearTimeout(timer);
      if (!done) await heartbeat();
    }
  }
}
