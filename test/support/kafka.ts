/**
 * Kafka chores for the bus tests: fresh topics, reading a topic from its start, committed
 * offsets, and a private broker that a fault test may stop and start (the shared one from
 * scripts/services.sh serves other tests at the same time and must stay up).
 */
import { randomUUID } from 'node:crypto';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { servicesInstance } from './services-instance.js';
import { freePort } from './tools.js';

export interface ReadMessage {
  key: string;
  value: Buffer | null;
  headers: Record<string, string>;
}

function client(brokers: readonly string[]): Kafka {
  return new Kafka({ clientId: 'ovr-alpr-test', brokers: brokers.length ? [...brokers] : ['127.0.0.1:1'], logLevel: logLevel.NOTHING });
}

/** Creates the topics with several partitions, so per-key order is really at stake. */
export async function createTopics(brokers: readonly string[], names: readonly string[], numPartitions = 3): Promise<void> {
  const admin = client(brokers).admin();
  await admin.connect();
  try {
    await admin.createTopics({ topics: names.map((topic) => ({ topic, numPartitions, replicationFactor: 1 })), waitForLeaders: true });
  } finally {
    await admin.disconnect();
  }
}

/**
 * Reads `expected` messages from the start of `topic` with a fresh group (or fails after
 * timeoutMs), then listens `settleMs` longer so duplicates would show up.
 */
export async function readTopic(
  brokers: readonly string[],
  topic: string,
  expected: number,
  opts: { timeoutMs?: number; settleMs?: number } = {},
): Promise<ReadMessage[]> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const consumer = client(brokers).consumer({ groupId: `test-${randomUUID()}` });
  const got: ReadMessage[] = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    let done!: () => void;
    const finished = new Promise<void>((r) => (done = r));
    await consumer.run({
      eachMessage: async ({ message }) => {
        got.push({
          key: String(message.key),
          value: message.value,
          headers: Object.fromEntries(Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)])),
        });
        if (got.length >= expected) done();
      },
    });
    let timer: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        finished,
        new Promise((_, j) => (timer = setTimeout(() => j(new Error(`only ${got.length}/${expected} messages on ${topic} after ${timeoutMs} ms`)), timeoutMs))),
      ]);
    } finally {
      // A pending timer would keep the test process alive for the rest of timeoutMs.
      clearTimeout(timer);
    }
    if (opts.settleMs) await new Promise((r) => setTimeout(r, opts.settleMs));
  } finally {
    await consumer.disconnect();
  }
  return got;
}

/** Committed offset per partition of `groupId` on `topic` (-1: nothing committed yet). */
export async function committedOffsets(brokers: readonly string[], groupId: string, topic: string): Promise<Map<number, bigint>> {
  const admin = client(brokers).admin();
  await admin.connect();
  try {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return new Map((t?.partitions ?? []).map((p) => [p.partition, BigInt(p.offset)]));
  } finally {
    await admin.disconnect();
  }
}

/** Sum of the committed offsets (partitions with none count 0): messages the group has finished with. */
export async function committedTotal(brokers: readonly string[], groupId: string, topic: string): Promise<bigint> {
  let total = 0n;
  for (const o of (await committedOffsets(brokers, groupId, topic)).values()) if (o > 0n) total += o;
  return total;
}

export interface PrivateBroker {
  brokers: string[];
  /** Stops the broker: SIGTERM (`services.sh down`), or SIGKILL with `{ crash: true }`. */
  stop(opts?: { crash?: boolean }): Promise<void>;
  /** Starts it again on the same port and data (waits until it serves). */
  start(): Promise<void>;
  /** Stops it and removes its data, logs and config. */
  destroy(): Promise<void>;
}

/**
 * A single-node KRaft broker of our own, on free ports, from the installs scripts/services.sh
 * caches (OVR_ALPR_SERVICES_INSTANCE keeps its state apart from the shared broker's). The
 * first start takes ~20 s (JVM, storage format); a restart ~6 s. Commands run asynchronously,
 * so producers and consumers in this process keep working while the broker goes and comes.
 */
export async function startPrivateBroker(name = `fault-${process.pid}-${Date.now().toString(36)}`): Promise<PrivateBroker> {
  const port = await freePort();
  let controller = await freePort();
  while (controller === port) controller = await freePort();
  const { state, sh } = servicesInstance(name, {
    KAFKA_PORT: String(port),
    KAFKA_CONTROLLER_PORT: String(controller),
    // No default topics (each would start a JVM): tests create their own.
    KAFKA_TOPICS: ' ',
    KAFKA_HEAP: '-Xms128m -Xmx512m',
  });
  const pid = (): number | null => {
    try {
      const n = Number(readFileSync(join(state, 'run', 'kafka.pid'), 'utf8').trim());
      return Number.isInteger(n) && n > 0 ? n : null;
    } catch {
      return null;
    }
  };
  const up = async () => {
    await sh('up', 'kafka');
    // Listening is not serving yet: wait until metadata answers.
    const admin = client([`127.0.0.1:${port}`]).admin();
    const end = Date.now() + 60_000;
    for (;;) {
      try {
        await admin.connect();
        await admin.listTopics();
        break;
      } catch (err) {
        if (Date.now() > end) throw err;
        await new Promise((r) => setTimeout(r, 300));
      } finally {
        await admin.disconnect().catch(() => {});
      }
    }
  };
  const stop = async (opts: { crash?: boolean } = {}) => {
    const p = pid();
    if (opts.crash && p !== null) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // already gone
      }
      const end = Date.now() + 10_000;
      while (Date.now() < end) {
        try {
          process.kill(p, 0);
          await new Promise((r) => setTimeout(r, 100));
        } catch {
          break;
        }
      }
      rmSync(join(state, 'run', 'kafka.pid'), { force: true });
      return;
    }
    await sh('down', 'kafka');
  };
  try {
    await up();
  } catch (err) {
    await stop({ crash: true }).catch(() => {});
    rmSync(state, { recursive: true, force: true });
    throw err;
  }
  return {
    brokers: [`127.0.0.1:${port}`],
    stop,
    start: up,
    destroy: async () => {
      await stop({ crash: true });
      rmSync(state, { recursive: true, force: true });
    },
  };
}
