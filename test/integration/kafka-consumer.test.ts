/**
 * The storage consumer between a REAL Kafka broker (OVR_ALPR_KAFKA_BROKERS) and a REAL
 * PostgreSQL (test/support/postgres.ts): events published through the edge outbox land in the
 * store exactly once, a redelivered batch makes no duplicates, and a garbage message and an
 * Avro message with a schema id nobody registered go to the dead-letter topic with their
 * reasons while consumption carries on.
 *
 * The broker comes from scripts/services.sh (started by .ci/run); without it the file fails in
 * CI and skips loudly elsewhere.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { PlateEventCodec } from '../../src-pipeline/bus/codec.js';
import { Outbox } from '../../src-pipeline/bus/outbox.js';
import { createProducer, OutboxSender } from '../../src-pipeline/bus/outbox-sender.js';
import { StorageConsumer } from '../../src-pipeline/bus/storage-consumer.js';
import { encodeConfluent } from '../../src-pipeline/bus/wire-format.js';
import { openPostgresStorage, type PostgresStorage } from '../../src-pipeline/store/postgres.js';
import { consumerCmd } from '../../src-pipeline/cli/consumer.js';
import { runCmd } from '../../src-pipeline/cli/run.js';
import { serveCmd } from '../../src-pipeline/cli/serve.js';
import { makeEvent } from '../api/support.js';
import { sharedDataDir, sharedSkip } from '../support/shared.js';
import { createTopics, readTopic } from '../support/kafka.js';
import { kafkaBrokers, kafkaSkip } from '../support/services.js';
import { ffmpegSkip } from '../support/tools.js';
import { postgresSkip, startTestPostgres, type TestPostgres } from '../support/postgres.js';

const skip = kafkaSkip('test/integration/kafka-consumer.test.ts') || postgresSkip();
const brokers = kafkaBrokers();
const kafka = new Kafka({ clientId: 'ovr-alpr-test', brokers: brokers.length ? brokers : ['127.0.0.1:1'], logLevel: logLevel.NOTHING });
const tmp = mkdtempSync(join(tmpdir(), 'ovr-kafka-consumer-'));
const CLIP03 = sharedDataDir('video', '03_nz_highway_incar_qengineering.mp4');

async function waitFor(pred: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe('storage consumer: Kafka → PostgreSQL (real broker, real database)', { skip }, () => {
  let pg: TestPostgres;
  let storage: PostgresStorage;
  before(async () => {
    pg = await startTestPostgres();
    storage = await openPostgresStorage(await pg.createDatabase('consumer'));
  });
  after(async () => {
    await storage?.close();
    await pg?.stop();
    rmSync(tmp, { recursive: true, force: true });
  });

  it('stores every event once, dead-letters garbage and unknown schemas, and ignores redeliveries', async () => {
    const topic = `ovr-test-${randomUUID()}`;
    const dlqTopic = `${topic}-dlq`;
    await createTopics(brokers, [topic, dlqTopic]);

    // The edge: 500 events through the outbox.
    const events = Array.from({ length: 500 }, (_, i) =>
      makeEvent({ plate: `CNS${i}`, camera_id: `cam-${i % 5}`, at: new Date(Date.UTC(2026, 10, 29, 8, 0, i)).toISOString() }),
    );
    const outbox = new Outbox(join(tmp, 'edge.sqlite'));
    const sender = new OutboxSender({ outbox, producer: () => createProducer(brokers), codec: new PlateEventCodec({ format: 'json' }), topic });
    for (const e of events) outbox.enqueue(e);
    sender.start();
    await waitFor(() => outbox.stats().pending === 0, 60_000, 'the outbox to drain');
    await sender.stop();
    outbox.close();

    // Two messages no consumer can make an event of, and one redelivered event.
    const raw = kafka.producer();
    await raw.connect();
    await raw.send({
      topic,
      messages: [
        { key: 'cam-x', value: Buffer.from('this is not a plate event') },
        { key: 'cam-x', value: encodeConfluent(987_654, Buffer.from([1, 2, 3])) },
        { key: events[0].camera_id, value: Buffer.from(JSON.stringify(events[0])) },
      ],
    });
    await raw.disconnect();

    const consumer = new StorageConsumer({
      brokers,
      storage,
      codec: new PlateEventCodec({ format: 'json' }),
      topic,
      dlqTopic,
      groupId: `storage-${randomUUID()}`,
    });
    await consumer.start();
    try {
      await waitFor(() => consumer.stats().consumed >= 503, 90_000, 'the consumer to take every message');
    } finally {
      await consumer.stop();
    }
    const s = consumer.stats();
    assert.equal(s.stored, 500);
    assert.equal(s.duplicates, 1);
    assert.equal(s.deadLettered, 2);
    assert.equal((await storage.stats()).total_events, 500);
    const page = await storage.search({ camera_id: 'cam-3', limit: 1000, offset: 0 });
    assert.equal(page.length, 100);

    const dlq = await readTopic(brokers, dlqTopic, 2);
    assert.equal(dlq.length, 2);
    assert.ok(
      dlq.every((m) => m.headers.reason && m.headers.source_topic === topic),
      JSON.stringify(dlq.map((m) => m.headers)),
    );
    assert.ok(
      dlq.some((m) => /987654/.test(m.headers.reason)),
      JSON.stringify(dlq.map((m) => m.headers.reason)),
    );
  });

  it(
    "end to end: ovr-alpr run publishes a clip's events through the outbox, ovr-alpr consumer stores them",
    { skip: sharedSkip([CLIP03]) || ffmpegSkip() },
    async () => {
      const topic = `ovr-test-${randomUUID()}`;
      await createTopics(brokers, [topic, `${topic}-dlq`]);
      const cfg = join(tmp, 'e2e-config');
      mkdirSync(cfg, { recursive: true });
      writeFileSync(join(cfg, 'bus.yaml'), `enabled: true\nformat: json\ntopic: ${topic}\ndlq_topic: ${topic}-dlq\n`);
      const env = { ...process.env, OVR_ALPR_KAFKA_BROKERS: brokers.join(',') };
      const out: string[] = [];
      const code = await runCmd(['--source', CLIP03, '--config', cfg, '--data-dir', join(tmp, 'e2e-data'), '--json'], {
        out: (l) => out.push(l),
        err: () => {},
        env,
      });
      assert.equal(code, 0);
      const summary = JSON.parse(out[out.length - 1]) as { plates: string[] };
      assert.deepEqual([...summary.plates].sort(), ['JLN390', 'JMH552']);

      const dbUrl = await pg.createDatabase('e2e');
      const stop = new AbortController();
      const lines: string[] = [];
      const consuming = consumerCmd(['--database-url', dbUrl, '--config', cfg, '--metrics-port', '0', '--json'], {
        out: (l) => lines.push(l),
        err: () => {},
        env,
        signal: stop.signal,
      });
      const check = await openPostgresStorage(dbUrl);
      try {
        await waitFor(async () => (await check.stats()).total_events >= 2, 90_000, 'both events in PostgreSQL');
        const plates = (await check.recent({ limit: 10, offset: 0 })).map((e) => e.plate.normalized_text).sort();
        assert.deepEqual(plates, ['JLN390', 'JMH552']);
      } finally {
        stop.abort();
        assert.equal(await consuming, 0);
        await check.close();
      }
      const final = JSON.parse(lines[lines.length - 1]) as { stored: number; deadLettered: number };
      assert.equal(final.stored, 2);
      assert.equal(final.deadLettered, 0);
    },
  );

  it("serve publishes its cameras' events to Kafka as well as storing them", { skip: sharedSkip([CLIP03]) || ffmpegSkip() }, async () => {
    const topic = `ovr-test-${randomUUID()}`;
    await createTopics(brokers, [topic]);
    const cfg = join(tmp, 'serve-config');
    mkdirSync(cfg, { recursive: true });
    writeFileSync(join(cfg, 'bus.yaml'), `enabled: true\nformat: json\ntopic: ${topic}\n`);
    const stop = new AbortController();
    const err: string[] = [];
    const serving = serveCmd(['--data-dir', join(tmp, 'serve-data'), '--port', '0', '--source', CLIP03, '--config', cfg, '--log-level', 'warn'], {
      out: () => {},
      err: (l) => err.push(l),
      signal: stop.signal,
      env: { ...process.env, OVR_ALPR_KAFKA_BROKERS: brokers.join(',') },
    });
    try {
      const got = await readTopic(brokers, topic, 2, { timeoutMs: 120_000, settleMs: 1000 });
      const plates = got.map((m) => (JSON.parse(String(m.value)) as { plate: { normalized_text: string } }).plate.normalized_text).sort();
      assert.deepEqual(plates, ['JLN390', 'JMH552'], err.join('\n'));
    } finally {
      stop.abort();
    }
    assert.equal(await serving, 0);
  });
});
