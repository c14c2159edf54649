/** Kafka chores for the bus tests: fresh topics, and reading a topic from its start. */
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';

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
    await Promise.race([
      finished,
      new Promise((_, j) => setTimeout(() => j(new Error(`only ${got.length}/${expected} messages on ${topic} after ${timeoutMs} ms`)), timeoutMs)),
    ]);
    if (opts.settleMs) await new Promise((r) => setTimeout(r, opts.settleMs));
  } finally {
    await consumer.disconnect();
  }
  return got;
}
