/**
 * Faults against the REAL servers: the edge outbox, a real Kafka broker, the storage consumer
 * and a real PostgreSQL, with one of them taken away mid-stream.
 *
 * - The broker is killed (SIGKILL) while 2,000 events are being produced, and started again:
 *   every event ends up in PostgreSQL exactly once and the outbox drains. That broker is a
 *   private one (test/support/kafka.ts, scripts/services.sh with an instance name and its own
 *   ports): the shared broker serves other tests at the same time and must stay up.
 * - PostgreSQL is stopped (immediate shutdown, like a crash) while the consumer runs: the
 *   group commits no offset past the stored rows, and once the server is back every event
 *   lands, none twice. The cluster is a throwaway of this file's own (pg_ctl), even when
 *   OVR_ALPR_TEST_DATABASE_URL names a shared server.
 * - A garbage message and an Avro message with a schema id nobody registered, between valid
 *   Avro events: both go to the dead-letter topic with their reasons, the events around them
 *   are stored.
 *
 * The shared broker and registry come from scripts/services.sh (started by .ci/run); without
 * them the file fails in CI and skips loudly elsewhere.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import pg from 'pg';
import { PlateEventCodec } from '../../src-pipeline/bus/codec.js';
import { Outbox } from '../../src-pipeline/bus/outbox.js';
import { createProducer, OutboxSender } from '../../src-pipeline/bus/outbox-sender.js';
import { SchemaRegistryClient } from '../../src-pipeline/bus/schema-registry.js';
import { StorageConsumer } from '../../src-pipeline/bus/storage-consumer.js';
import { encodeConfluent } from '../../src-pipeline/bus/wire-format.js';
import type { PlateEvent } from '../../src-pipeline/common/plate-event.js';
import { OutboxSink } from '../../src-pipeline/sinks/outbox-sink.js';
import { openPostgresStorage, type PostgresStorage } from '../../src-pipeline/store/postgres.js';
import { makeEvent } from '../api/support.js';
import { committedTotal, createTopics, readTopic, startPrivateBroker, type PrivateBroker } from '../support/kafka.js';
import { findPostgresBin, postgresSkip, startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { kafkaBrokers, kafkaSkip, registrySkip } from '../support/services.js';

const FILE = 'test/integration/kafka-faults.test.ts';
const skip = kafkaSkip(FILE) || registrySkip(FILE) || postgresSkip();
const brokers = kafkaBrokers();
const registryUrl = process.env.OVR_ALPR_SCHEMA_REGISTRY_URL ?? '';
const tmp = mkdtempSync(join(tmpdir(), 'ovr-kafka-faults-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(pred: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** Rows and distinct event ids in plate_events (a fresh connection: the server may have restarted). */
async function countRows(url: string): Promise<{ rows: number; distinct: number }> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    const { rows } = await c.query<{ rows: number; distinct: number }>(
      'SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS distinct FROM plate_events',
    );
    return rows[0];
  } finally {
    await c.end();
  }
}

const events = (n: number, prefix: string, cameras = 8): PlateEvent[] =>
  Array.from({ length: n }, (_, i) =>
    makeEvent({ plate: `${prefix}${i}`, camera_id: `cam-${i % cameras}`, at: new Date(Date.now() - 60_000 + i).toISOString() }),
  );

/**
 * A local cluster this file may stop and start: test/support/postgres.ts without the shared
 * server (the variable is set aside for the call), controlled with pg_ctl on its data folder.
 */
async function ownPostgres(): Promise<TestPostgres & { stop_server(): void; start_server(): void }> {
  const shared = process.env.OVR_ALPR_TEST_DATABASE_URL;
  delete process.env.OVR_ALPR_TEST_DATABASE_URL;
  let server: TestPostgres;
  try {
    server = await startTestPostgres();
  } finally {
    if (shared !== undefined) process.env.OVR_ALPR_TEST_DATABASE_URL = shared;
  }
  const c = new pg.Client({ connectionString: server.adminUrl });
  await c.connect();
  const dataDir = (await c.query<{ data_directory: string }>('SHOW data_directory')).rows[0].data_directory;
  // The harness runs without durability; a crash would then take back commits the consumer
  // was told about (and had committed offsets for). A real server keeps them: so must this one.
  await c.query('ALTER SYSTEM SET synchronous_commit = on');
  await c.query('SELECT pg_reload_conf()');
  await c.end();
  const bin = findPostgresBin()!;
  const asRoot = process.getuid?.() === 0;
  const pgCtl = (args: string[]) => {
    const cmd = asRoot ? ['runuser', '-u', 'postgres', '--', join(bin, 'pg_ctl'), ...args] : [join(bin, 'pg_ctl'), ...args];
    const r = spawnSync(cmd[0], cmd.slice(1), { cwd: dirname(dataDir), encoding: 'utf8' });
    if (r.status !== 0) throw new Error(`pg_ctl ${args.join(' ')}: ${r.stderr || r.stdout}`);
  };
  return {
    ...server,
    // Immediate: no checkpoint, connections cut, as when the server dies.
    stop_server: () => pgCtl(['-D', dataDir, '-m', 'immediate', '-w', 'stop']),
    start_server: () => pgCtl(['-D', dataDir, '-w', '-t', '60', '-l', join(dirname(dataDir), 'log'), 'start']),
  };
}

describe('Kafka backend faults (real broker, registry and PostgreSQL)', { skip }, () => {
  it('broker killed (SIGKILL) while 2,000 events are produced, then restarted: every event in PostgreSQL exactly once, outbox drained', async () => {
    const broker: PrivateBroker = await startPrivateBroker();
    const server = await startTestPostgres();
    let storage: PostgresStorage | undefined;
    let consumer: StorageConsumer | undefined;
    let sink: OutboxSink | undefined;
    try {
      const topic = `ovr-fault-${randomUUID()}`;
      await createTopics(broker.brokers, [topic, `${topic}-dlq`], 3);
      const url = await server.createDatabase('fault_broker');
      storage = await openPostgresStorage(url);
      const outbox = new Outbox(join(tmp, 'broker-outbox.sqlite'));
      const senderLog: string[] = [];
      const sender = new OutboxSender({
        outbox,
        producer: () => createProducer(broker.brokers),
        codec: new PlateEventCodec({ format: 'json' }),
        topic,
        batchSize: 200,
        backoff: { initialMs: 100, maxMs: 1000 },
        log: (l, m, d) => senderLog.push(`${new Date().toISOString()} ${l} ${m} ${JSON.stringify(d)}`),
      });
      sink = new OutboxSink(outbox, sender, { drainMs: 30_000 });
      consumer = new StorageConsumer({
        brokers: broker.brokers,
        storage,
        codec: new PlateEventCodec({ format: 'json' }),
        topic,
        dlqTopic: `${topic}-dlq`,
        groupId: `fault-${randomUUID()}`,
        lagIntervalMs: 0,
      });
      await consumer.start();

      // 8 cameras writing 2,000 events over ~4 s; the broker dies after the first 500.
      const all = events(2000, 'BRK');
      let written = 0;
      let outage: Promise<void> | null = null;
      const w = sink;
      await Promise.all(
        Array.from({ length: 8 }, async (_, cam) => {
          for (let i = cam; i < all.length; i += 8) {
            await w.write({ event: all[i], images: {} });
            written++;
            if (written === 500) {
              outage = (async () => {
                await broker.stop({ crash: true });
                await sleep(2000);
                await broker.start();
              })();
            }
            await sleep(16);
          }
        }),
      );
      assert.ok(outage, 'the broker was killed mid-production');
      await outage;
      assert.ok(sender.stats().failures >= 1, 'the sender saw the outage');

      await waitFor(() => outbox.stats().pending === 0, 90_000, 'the outbox to drain').catch((err: Error) => {
        throw new Error(`${err.message}; pending ${outbox.stats().pending}, sender ${JSON.stringify(sender.stats())}; log:\n${senderLog.join('\n')}`);
      });
      await waitFor(async () => (await countRows(url)).distinct >= all.length, 90_000, 'all 2,000 events in PostgreSQL');
      // Redeliveries after the restart would show up now, if any could make a row.
      await sleep(1500);
      const { rows, distinct } = await countRows(url);
      assert.equal(distinct, 2000, 'every event stored');
      assert.equal(rows, 2000, 'none twice');
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      const missing = await c.query('SELECT count(*)::int AS n FROM unnest($1::uuid[]) AS id WHERE id NOT IN (SELECT event_id FROM plate_events)', [
        all.map((e) => e.event_id),
      ]);
      await c.end();
      assert.equal(missing.rows[0].n, 0, 'the stored rows are exactly the events written');
      assert.equal(outbox.stats().pending, 0);
    } finally {
      await sink?.close();
      await consumer?.stop().catch(() => {});
      await storage?.close();
      await server.stop();
      await broker.destroy();
    }
  });

  it('PostgreSQL stopped while the consumer runs: no offsets committed for unstored rows; after the restart everything lands, no duplicates', async () => {
    const server = await ownPostgres();
    const url = await server.createDatabase('fault_pg');
    const storage = await openPostgresStorage(url, { connectTimeoutMs: 2000 });
    const topic = `ovr-fault-${randomUUID()}`;
    const groupId = `fault-${randomUUID()}`;
    await createTopics(brokers, [topic, `${topic}-dlq`], 3);
    const codec = new PlateEventCodec({ format: 'json' });
    const producer = new Kafka({ clientId: 'ovr-alpr-test', brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const publish = async (batch: PlateEvent[]) =>
      producer.send({ topic, acks: -1, messages: await Promise.all(batch.map(async (e) => ({ key: e.camera_id, value: await codec.encode(e) }))) });
    const consumer = new StorageConsumer({ brokers, storage, codec, topic, dlqTopic: `${topic}-dlq`, groupId, lagIntervalMs: 0 });
    try {
      await consumer.start();
      const first = events(300, 'PGA');
      await publish(first);
      await waitFor(async () => (await committedTotal(brokers, groupId, topic)) === 300n, 60_000, 'the first 300 stored and committed');
      assert.equal((await countRows(url)).rows, 300);

      server.stop_server();
      const second = events(400, 'PGB');
      await publish(second);
      await waitFor(() => consumer.stats().failedBatches >= 2, 60_000, 'the consumer to fail on the stopped database');
      // The consumer has the 400 new messages in hand and cannot store them: the group's
      // offsets must still stand at the 300 stored rows, on every partition together.
      assert.equal(await committedTotal(brokers, groupId, topic), 300n, 'nothing committed past the stored rows');
      const lag = await consumer.refreshLag();
      assert.equal(
        lag?.reduce((t, p) => t + p.lag, 0n),
        400n,
        'lag counts the unstored messages',
      );
      assert.equal(consumer.stats().stored, 300);

      server.start_server();
      await waitFor(async () => (await committedTotal(brokers, groupId, topic)) === 700n, 90_000, 'the rest stored and committed after the restart');
      const { rows, distinct } = await countRows(url);
      assert.equal(distinct, 700, 'everything landed');
      assert.equal(rows, 700, 'no duplicates');
      assert.ok(consumer.stats().failedBatches >= 2);
    } finally {
      await consumer.stop().catch(() => {});
      await producer.disconnect();
      await storage.close();
      await server.stop();
    }
  });

  it('a garbage message and an Avro message with an unknown schema id go to the DLQ with their reasons; the consumer keeps going', async () => {
    const server = await startTestPostgres();
    const storage = await openPostgresStorage(await server.createDatabase('fault_dlq'));
    const topic = `ovr-fault-${randomUUID()}`;
    const dlqTopic = `${topic}-dlq`;
    await createTopics(brokers, [topic, dlqTopic], 1);
    const codec = new PlateEventCodec({ format: 'avro', registry: new SchemaRegistryClient({ url: registryUrl }), subject: `${topic}-value` });
    const before = events(50, 'DLA');
    const afterBad = events(50, 'DLB');
    const producer = new Kafka({ clientId: 'ovr-alpr-test', brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const avro = async (batch: PlateEvent[]) => Promise.all(batch.map(async (e) => ({ key: e.camera_id, value: await codec.encode(e) })));
    // One partition, so "after" really is after the bad messages in the log.
    await producer.send({
      topic,
      acks: -1,
      messages: [
        ...(await avro(before)),
        { key: 'cam-x', value: Buffer.from('\u0007 definitely not a plate event') },
        { key: 'cam-x', value: encodeConfluent(1_987_654_321, Buffer.from([2, 4, 6, 8])) },
        ...(await avro(afterBad)),
      ],
    });
    await producer.disconnect();
    const consumer = new StorageConsumer({ brokers, storage, codec, topic, dlqTopic, groupId: `fault-${randomUUID()}`, lagIntervalMs: 0 });
    try {
      await consumer.start();
      await waitFor(() => consumer.stats().consumed >= 102, 60_000, 'the consumer to take all 102 messages');
      const s = consumer.stats();
      assert.equal(s.stored, 100, 'the events before and after the bad messages are stored');
      assert.equal(s.deadLettered, 2);
      assert.equal((await storage.stats()).total_events, 100);
      const dlq = await readTopic(brokers, dlqTopic, 2);
      const reasons = dlq.map((m) => m.headers.reason);
      assert.ok(
        reasons.some((r) => /unknown message format: first byte 0x07/.test(r)),
        JSON.stringify(reasons),
      );
      assert.ok(
        reasons.some((r) => /unknown schema id 1987654321/.test(r)),
        JSON.stringify(reasons),
      );
      assert.ok(dlq.every((m) => m.headers.source_topic === topic && m.headers.source_offset !== undefined));
      assert.deepEqual(dlq.map((m) => m.headers.source_offset).sort(), ['50', '51']);
    } finally {
      await consumer.stop();
      await storage.close();
      await server.stop();
    }
  });
});
