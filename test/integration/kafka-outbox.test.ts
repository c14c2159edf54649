/**
 * The edge outbox publishing to a REAL Kafka broker named by OVR_ALPR_KAFKA_BROKERS
 * (scripts/services.sh starts a single-node KRaft broker from the Maven Central jars): every
 * event arrives once, in order per camera; a broker that cannot be reached leaves the events
 * in the outbox, and a sender started later (a restart) delivers them all.
 *
 * The broker comes from scripts/services.sh (started by .ci/run); without it the file fails in
 * CI and skips loudly elsewhere.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { Producer } from 'kafkajs';
import { PlateEventCodec } from '../../src-pipeline/bus/codec.js';
import { Outbox } from '../../src-pipeline/bus/outbox.js';
import { createProducer, OutboxSender } from '../../src-pipeline/bus/outbox-sender.js';
import { parseMessage } from '../../src-pipeline/bus/wire-format.js';
import { OutboxSink } from '../../src-pipeline/sinks/outbox-sink.js';
import { makeEvent } from '../api/support.js';
import { createTopics, readTopic } from '../support/kafka.js';
import { kafkaBrokers, kafkaSkip } from '../support/services.js';
import { freePort } from '../support/tools.js';

const skip = kafkaSkip('test/integration/kafka-outbox.test.ts');
const brokers = kafkaBrokers();

const tmp = mkdtempSync(join(tmpdir(), 'ovr-kafka-outbox-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('outbox → Kafka (real broker)', { skip }, () => {
  it('publishes every event once, in order per camera, JSON-encoded', async () => {
    const topic = `ovr-test-${randomUUID()}`;
    await createTopics(brokers, [topic], 4);
    const outbox = new Outbox(join(tmp, 'ok.sqlite'));
    const sender = new OutboxSender({ outbox, producer: () => createProducer(brokers), codec: new PlateEventCodec({ format: 'json' }), topic, batchSize: 200 });
    const sink = new OutboxSink(outbox, sender, { drainMs: 30_000 });
    const events = Array.from({ length: 2000 }, (_, i) => makeEvent({ plate: `KFK${i}`, camera_id: `cam-${i % 4}` }));
    // Four cameras writing at once: their writes share outbox transactions, each camera's order stays.
    await Promise.all(
      [0, 1, 2, 3].map(async (cam) => {
        for (let i = cam; i < events.length; i += 4) await sink.write({ event: events[i], images: {} });
      }),
    );
    const got = (await readTopic(brokers, topic, events.length, { settleMs: 1000 })).map((m) => ({ key: m.key, value: m.value! }));
    await sink.close();
    assert.equal(got.length, events.length);
    const ids = got.map((m) => (parseMessage(m.value) as { kind: 'json'; value: { event_id: string } }).value.event_id);
    assert.equal(new Set(ids).size, events.length, 'no duplicates');
    for (const cam of ['cam-0', 'cam-1', 'cam-2', 'cam-3']) {
      const sent = events.filter((e) => e.camera_id === cam).map((e) => e.event_id);
      const seen = got.filter((m) => m.key === cam).map((m) => (parseMessage(m.value) as { kind: 'json'; value: { event_id: string } }).value.event_id);
      assert.deepEqual(seen, sent, `order kept for ${cam}`);
    }
  });

  it('keeps events in the outbox while the broker is unreachable; a later sender delivers them all', async () => {
    const topic = `ovr-test-${randomUUID()}`;
    await createTopics(brokers, [topic], 4);
    const path = join(tmp, 'down.sqlite');
    const outbox = new Outbox(path);
    // Nothing listens on this port: the producer cannot connect.
    const deadPort = await freePort();
    const dead = new OutboxSender({
      outbox,
      producer: () => createProducer([`127.0.0.1:${deadPort}`]),
      codec: new PlateEventCodec({ format: 'json' }),
      topic,
      backoff: { initialMs: 100, maxMs: 300 },
    });
    const sink = new OutboxSink(outbox, dead, { drainMs: 500 });
    const events = Array.from({ length: 300 }, (_, i) => makeEvent({ plate: `DWN${i}` }));
    for (const e of events) await sink.write({ event: e, images: {} });
    const until = Date.now() + 30_000;
    while (dead.stats().failures < 2 && Date.now() < until) await new Promise((r) => setTimeout(r, 100));
    assert.ok(dead.stats().failures >= 2, 'the sender kept retrying');
    assert.equal(dead.stats().sent, 0);
    await sink.close();

    // The edge restarts with the broker back: the same outbox file, a new sender.
    const reopened = new Outbox(path);
    assert.equal(reopened.stats().pending, events.length, 'nothing lost while the broker was away');
    const live = new OutboxSender({ outbox: reopened, producer: () => createProducer(brokers), codec: new PlateEventCodec({ format: 'json' }), topic });
    live.start();
    const got = (await readTopic(brokers, topic, events.length, { settleMs: 1000 })).map((m) => ({ key: m.key, value: m.value! }));
    await live.stop(10_000);
    assert.equal(reopened.stats().pending, 0);
    reopened.close();
    const ids = got.map((m) => (parseMessage(m.value) as { kind: 'json'; value: { event_id: string } }).value.event_id);
    assert.deepEqual(
      ids,
      events.map((e) => e.event_id),
    );
  });

  it('a producer refused for good (injected OUT_OF_ORDER_SEQUENCE_NUMBER) is replaced and the outbox drains in order', async () => {
    const topic = `ovr-test-${randomUUID()}`;
    await createTopics(brokers, [topic], 2);
    const outbox = new Outbox(join(tmp, 'desync.sqlite'));
    // The first producer behaves as kafkajs does after its sequence numbers fell out of step
    // with a recovered broker: it connects, and every send is refused, wrapped in the retry error.
    let made = 0;
    const producer = (): Producer => {
      const real = createProducer(brokers);
      if (made++ > 0) return real;
      const refused = Object.assign(new Error('The broker received an out of order sequence number'), {
        type: 'OUT_OF_ORDER_SEQUENCE_NUMBER',
        retriable: false,
      });
      return new Proxy(real, {
        get: (target, key, receiver) =>
          key === 'send'
            ? () => Promise.reject(Object.assign(new Error(`Number of retries exceeded: ${refused.message}`), { cause: refused }))
            : Reflect.get(target, key, receiver),
      });
    };
    const logs: string[] = [];
    const sender = new OutboxSender({
      outbox,
      producer,
      codec: new PlateEventCodec({ format: 'json' }),
      topic,
      backoff: { initialMs: 50, maxMs: 200 },
      log: (_l, m, d) => logs.push(`${m} ${JSON.stringify(d)}`),
    });
    const sink = new OutboxSink(outbox, sender, { drainMs: 30_000 });
    const events = Array.from({ length: 200 }, (_, i) => makeEvent({ plate: `SEQ${i}`, camera_id: 'cam-1' }));
    for (const e of events) await sink.write({ event: e, images: {} });
    const got = await readTopic(brokers, topic, events.length, { settleMs: 500 });
    // Rows are marked sent just after the broker's answer, which may come after the consumer saw them.
    for (let i = 0; i < 50 && outbox.stats().pending > 0; i++) await new Promise((r) => setTimeout(r, 100));
    const stats = sender.stats();
    const pending = outbox.stats().pending;
    await sink.close();
    assert.equal(stats.producersRebuilt, 1, logs.join('\n'));
    assert.equal(made, 2);
    assert.ok(
      logs.some((l) => l.includes('producer replaced') && l.includes('OUT_OF_ORDER_SEQUENCE_NUMBER')),
      logs.join('\n'),
    );
    assert.equal(pending, 0);
    assert.deepEqual(
      got.map((m) => (parseMessage(m.value!) as { kind: 'json'; value: { event_id: string } }).value.event_id),
      events.map((e) => e.event_id),
    );
  });

  it('a producer that keeps failing for any reason (injected) is replaced after three failed sends in a row', async () => {
    const topic = `ovr-test-${randomUUID()}`;
    await createTopics(brokers, [topic], 1);
    const outbox = new Outbox(join(tmp, 'stuck.sqlite'));
    let made = 0;
    const producer = (): Producer => {
      const real = createProducer(brokers);
      if (made++ > 0) return real;
      return new Proxy(real, {
        get: (target, key, receiver) => (key === 'send' ? () => Promise.reject(new Error('Request Produce timed out')) : Reflect.get(target, key, receiver)),
      });
    };
    const sender = new OutboxSender({ outbox, producer, codec: new PlateEventCodec({ format: 'json' }), topic, backoff: { initialMs: 50, maxMs: 200 } });
    const sink = new OutboxSink(outbox, sender, { drainMs: 30_000 });
    const events = Array.from({ length: 20 }, (_, i) => makeEvent({ plate: `STK${i}` }));
    for (const e of events) await sink.write({ event: e, images: {} });
    const got = await readTopic(brokers, topic, events.length, { settleMs: 500 });
    const stats = sender.stats();
    await sink.close();
    assert.equal(got.length, events.length);
    assert.equal(stats.producersRebuilt, 1);
    assert.ok(stats.failures >= 3 && stats.failures < 6, `failures ${stats.failures}`);
  });
});
