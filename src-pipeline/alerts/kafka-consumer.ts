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
/**
 * How long a stop waits for the notifications of the batch in hand: a shutdown right after
 * a delivery should commit it, not have the next engine send the same alert again.
 */
const STOP_GRACE_MS = 10_000;

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
  private stopDeadline: number | null = null;
  private readonly inFlight = new Set<Promise<void>>();

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

  /**
   * Finishes the batch in hand first: its notifications get up to STOP_GRACE_MS to settle and
   * its offsets are committed while the consumer still runs (kafkajs ignores commits once its
   * stop has begun), then the group is left.
   */
  async stop(): Promise<void> {
    this.stopDeadline = Date.now() + STOP_GRACE_MS;
    try {
      this.consumer.pause([{ topic: this.opts.topic }]);
    } catch {
      // Not running (it never started or kafkajs gave up on it): nothing to pause.
    }
    await Promise.all([...this.inFlight]);
    await this.consumer.disconnect();
  }

  stats(): AlertConsumerStats {
    return { ...this.counts, lastError: this.lastError };
  }

  private async handle(payload: EachBatchPayload): Promise<void> {
    const work = this.process(payload);
    this.inFlight.add(work);
    try {
      await work;
    } finally {
      this.inFlight.delete(work);
    }
  }

  private async process({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    // Offset of the last message evaluated; everything up to it is committed once its alerts settle.
    let through: string | null = null;
    const commitThrough = async () => {
      // Notifications retry with backoff and end delivered or failed, so idle() comes; heartbeats
      // meanwhile keep the group from handing the partition to someone else. Past a stop's grace
      // the batch stays uncommitted and the next run evaluates it again (at least once).
      if (through === null || !(await this.settled(heartbeat)) || !isRunning() || isStale()) return;
      await this.consumer.commitOffsets([{ topic: batch.topic, partition: batch.partition, offset: (BigInt(through) + 1n).toString() }]);
    };
    for (const m of batch.messages) {
      if (this.stopDeadline !== null || !isRunning() || isStale()) break;
      const r = await this.opts.codec.decode(m.value ?? Buffer.alloc(0));
      if (!r.ok && r.retriable) {
        // Registry outage: not the message's fault. Keep what was evaluated, then let kafkajs
        // retry the batch from this message.
        this.lastError = r.reason;
        await commitThrough();
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
      through = m.offset;
    }
    await commitThrough();
    if (through !== null && this.stopDeadline === null) {
      this.lastError = null;
      await heartbeat();
    }
  }

  /** True once every notification settled; false if a stop's grace ran out first. */
  private async settled(heartbeat: () => Promise<void>): Promise<boolean> {
    let done = false;
    const idle = this.opts.engine.idle().then(() => (done = true));
    while (!done) {
      const left = this.stopDeadline === null ? HEARTBEAT_EVERY_MS : Math.min(HEARTBEAT_EVERY_MS, this.stopDeadline - Date.now());
      if (left <= 0) return false;
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([idle, new Promise<void>((r) => (timer = setTimeout(r, left)))]);
      clearTimeout(timer);
      if (!done) await heartbeat();
    }
    return true;
  }
}
