/**
 * `ovr-alpr alerts` (the backend alert engine) against the REAL Kafka broker from
 * scripts/services.sh and a real PostgreSQL: JSON and Avro plate events published to a fresh
 * topic are evaluated as group alpr-alert-engine; a config rule and a hotlist stored in
 * PostgreSQL both fire webhooks to a local receiver; an undecodable message is skipped;
 * /metrics carries the seed's metric names; offsets are committed.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { PlateEventCodec } from '../../src-pipeline/bus/codec.js';
import { SchemaRegistryClient } from '../../src-pipeline/bus/schema-registry.js';
import { ALERT_CONSUMER_GROUP } from '../../src-pipeline/alerts/kafka-consumer.js';
import { openPostgresAlertStore } from '../../src-pipeline/alerts/postgres-store.js';
import { alertsCmd } from '../../src-pipeline/cli/alerts.js';
import { makeEvent } from '../api/support.js';
import { createTopics } from '../support/kafka.js';
import { startReceiver, type HttpReceiver } from '../support/http-receiver.js';
import { postgresSkip, startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { kafkaBrokers, kafkaSkip, registrySkip } from '../support/services.js';

const FILE = 'test/integration/alerts-kafka.test.ts';
const skip = kafkaSkip(FILE) || registrySkip(FILE) || postgresSkip();
const brokers = kafkaBrokers();

describe('ovr-alpr alerts: Kafka → rules → webhook (real broker, registry and database)', { skip }, () => {
  let pg: TestPostgres;
  let dbUrl: string;
  let hook: HttpReceiver;
  let dir: string;
  const topic = `alpr.alerts.test.${randomUUID()}`;

  before(async () => {
    pg = await startTestPostgres();
    dbUrl = await pg.createDatabase('alerts_kafka');
    hook = await startReceiver();
    dir = mkdtempSync(join(tmpdir(), 'ovr-alerts-kafka-'));
    await createTopics(brokers, [topic], 2);
    writeFileSync(join(dir, 'bus.yaml'), `format: json\ntopic: "${topic}"\n`);
    writeFileSync(
      join(dir, 'alert_rules.yaml'),
      [
        'rules:',
        '  - name: Gate prefix',
        '    conditions: { plates: [{ pattern: GATE, match: prefix }], cameras: [cam-1] }',
        `    actions: [{ channel: webhook, url: "${hook.url}/config" }]`,
        '  - name: Stolen',
        '    conditions: { hotlists: [stolen] }',
        `    actions: [{ channel: webhook, url: "${hook.url}/hotlist" }]`,
        'channels: { delivery: { backoff_ms: 10 } }',
      ].join('\n'),
    );
    const store = await openPostgresAlertStore(dbUrl);
    await store.createHotlist({ name: 'stolen', priority: 'critical' });
    await store.upsertEntries('stolen', [{ plate: 'HOT123', reason: 'stolen car' }]);
    await store.close();
  });

  /** Offsets the alert engine's group has committed on the topic, summed over its partitions. */
  const committedOffsets = async () => {
    const admin = new Kafka({ clientId: 'ovr-alpr-test', brokers, logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchOffsets({ groupId: ALERT_CONSUMER_GROUP, topics: [topic] });
      return offsets[0].partitions.reduce((n, p) => n + Math.max(0, Number(p.offset)), 0);
    } finally {
      await admin.disconnect();
    }
  };

  after(async () => {
    await hook?.close();
    await pg?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('evaluates JSON and Avro events from the topic and commits its offsets', async () => {
    const kafka = new Kafka({ clientId: 'ovr-alpr-test', brokers, logLevel: logLevel.NOTHING });
    const producer = kafka.producer();
    await producer.connect();
    const json = new PlateEventCodec({ format: 'json' });
    const avro = new PlateEventCodec({
      format: 'avro',
      registry: new SchemaRegistryClient({ url: process.env.OVR_ALPR_SCHEMA_REGISTRY_URL! }),
      subject: `${topic}-value`,
    });
    const gate = makeEvent({ plate: 'GATE42' });
    const hot = makeEvent({ plate: 'HOT123', camera_id: 'cam-9' });
    const miss = makeEvent({ plate: 'NOPE99' });
    await producer.send({
      topic,
      messages: [
        { key: 'cam-1', value: await json.encode(gate) },
        { key: 'cam-9', value: await avro.encode(hot) },
        { key: 'cam-1', value: Buffer.from('not a plate event') },
        { key: 'cam-1', value: await json.encode(miss) },
      ],
    });
    await producer.disconnect();

    const out: string[] = [];
    const err: string[] = [];
    const ac = new AbortController();
    const env = { ...process.env, OVR_ALPR_KAFKA_BROKERS: brokers.join(',') };
    const done = alertsCmd(['--config', dir, '--database-url', dbUrl, '--from-beginning', '--metrics-port', '0', '--json', '--log-level', 'warn'], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      signal: ac.signal,
      env,
    });
    try {
      const reqs = await hook.waitFor(2, 60_000);
      assert.deepEqual(reqs.map((r) => r.path).sort(), ['/config', '/hotlist']);
      const bodies = Object.fromEntries(reqs.map((r) => [r.path, JSON.parse(r.body) as { event: { event_id: string }; hotlist: { name: string } | null }]));
      assert.equal(bodies['/config'].event.event_id, gate.event_id);
      assert.equal(bodies['/hotlist'].event.event_id, hot.event_id);
      assert.equal(bodies['/hotlist'].hotlist?.name, 'stolen');

      const line = err.find((l) => l.startsWith('metrics on '));
      assert.ok(line, err.join('\n'));
      // The consumer may still be on the last message; wait until all four were counted.
      const metricsUrl = line.slice('metrics on '.length);
      let text = '';
      for (let i = 0; i < 100; i++) {
        text = await (await fetch(metricsUrl)).text();
        if (/alpr_alert_events_processed_total 3/.test(text)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(text, /alpr_alert_events_processed_total 3/);
      assert.match(text, /alpr_alert_triggered_total\{rule="Stolen"\} 1/);
      assert.match(text, /alpr_notifications_sent_total\{channel="webhook"\} 2/);
      assert.match(text, /alpr_rule_evaluation_duration_seconds_count 3/);
    } finally {
      ac.abort();
      assert.equal(await done, 0);
    }
    const stats = JSON.parse(out.at(-1)!) as { consumed: number; evaluated: number; undecodable: number; fired: number; delivered: number };
    assert.equal(stats.consumed, 4);
    assert.equal(stats.evaluated, 3);
    assert.equal(stats.undecodable, 1);
    assert.equal(stats.fired, 2);
    assert.equal(stats.delivered, 2);

    const admin = kafka.admin();
    await admin.connect();
    try {
      const offsets = await admin.fetchOffsets({ groupId: ALERT_CONSUMER_GROUP, topics: [topic] });
      const committed = offsets[0].partitions.reduce((n, p) => n + Number(p.offset), 0);
      assert.equal(committed, 4);
    } finally {
      await admin.disconnect();
    }

    const store = await openPostgresAlertStore(dbUrl);
    try {
      const h = await store.queryHistory({ limit: 10, offset: 0 });
      assert.deepEqual(h.items.map((i) => `${i.rule_name}:${i.status}`).sort(), ['Gate prefix:delivered', 'Stolen:delivered']);
    } finally {
      await store.close();
    }
  });

  it('commits a batch only after its notifications are delivered (a crash mid-delivery re-evaluates, never loses)', async () => {
    const before = await committedOffsets();
    const producer = new Kafka({ clientId: 'ovr-alpr-test', brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const slow = makeEvent({ plate: 'GATE77' });
    await producer.send({ topic, messages: [{ key: 'cam-1', value: await new PlateEventCodec({ format: 'json' }).encode(slow) }] });
    await producer.disconnect();

    // The webhook target takes its time: the request arrives, the answer does not yet.
    hook.delay(4000);
    const seen = hook.requests.length;
    const ac = new AbortController();
    const env = { ...process.env, OVR_ALPR_KAFKA_BROKERS: brokers.join(',') };
    const done = alertsCmd(['--config', dir, '--database-url', dbUrl, '--json', '--log-level', 'warn'], {
      out: () => undefined,
      err: () => undefined,
      signal: ac.signal,
      env,
    });
    try {
      // requests records a request on arrival; waitFor would only resolve once it is answered.
      for (let i = 0; i < 300 && hook.requests.length === seen; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(JSON.parse(hook.requests[seen]?.body ?? '{}').event?.event_id, slow.event_id);
      assert.equal(await committedOffsets(), before, 'nothing is committed while the notification is still in flight');
      let now = before;
      for (let i = 0; i < 100 && now === before; i++) {
        await new Promise((r) => setTimeout(r, 200));
        now = await committedOffsets();
      }
      assert.equal(now, before + 1, 'the batch is committed once the webhook answered');
    } finally {
      hook.delay(0);
      ac.abort();
      assert.equal(await done, 0);
    }
  });

  it('a stop while a notification is in flight waits for it and commits, so the next engine does not send it again', async () => {
    const before = await committedOffsets();
    const producer = new Kafka({ clientId: 'ovr-alpr-test', brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const late = makeEvent({ plate: 'GATE88' });
    await producer.send({ topic, messages: [{ key: 'cam-1', value: await new PlateEventCodec({ format: 'json' }).encode(late) }] });
    await producer.disconnect();

    hook.delay(2000);
    const seen = hook.requests.length;
    const ac = new AbortController();
    const env = { ...process.env, OVR_ALPR_KAFKA_BROKERS: brokers.join(',') };
    const out: string[] = [];
    const done = alertsCmd(['--config', dir, '--database-url', dbUrl, '--json', '--log-level', 'warn'], {
      out: (l) => out.push(l),
      err: () => undefined,
      signal: ac.signal,
      env,
    });
    try {
      for (let i = 0; i < 300 && hook.requests.length === seen; i++) await new Promise((r) => setTimeout(r, 100));
      assert.equal(JSON.parse(hook.requests[seen]?.body ?? '{}').event?.event_id, late.event_id);
    } finally {
      // Stop at once, with the webhook's answer still two seconds away.
      ac.abort();
      assert.equal(await done, 0);
      hook.delay(0);
    }
    const stats = JSON.parse(out.at(-1)!) as { delivered: number };
    assert.equal(stats.delivered, 1);
    assert.equal(await committedOffsets(), before + 1, 'the delivered batch was committed before the engine left the group');
  });

  it('a replay of the topic (a new group from the beginning) evaluates every event again but sends nothing already delivered', async () => {
    const seen = hook.requests.length;
    const store = await openPostgresAlertStore(dbUrl);
    const historyBefore = (await store.queryHistory({ limit: 1, offset: 0 })).total;
    await store.close();
    const ac = new AbortController();
    const env = { ...process.env, OVR_ALPR_KAFKA_BROKERS: brokers.join(',') };
    const out: string[] = [];
    const err: string[] = [];
    const group = `alpr-alert-replay-${randomUUID()}`;
    const done = alertsCmd(
      ['--config', dir, '--database-url', dbUrl, '--group', group, '--from-beginning', '--metrics-port', '0', '--json', '--log-level', 'warn'],
      {
        out: (l) => out.push(l),
        err: (l) => err.push(l),
        signal: ac.signal,
        env,
      },
    );
    try {
      let text = '';
      for (let i = 0; i < 150; i++) {
        // The metrics line comes once the engine has opened the store.
        const url = err.find((l) => l.startsWith('metrics on '))?.slice('metrics on '.length);
        if (url) text = await (await fetch(url)).text();
        // The three earlier tests put six messages on the topic, five of them plate events that fire four alerts.
        if (/alpr_notifications_replay_skipped_total\{channel="webhook"\} 4/.test(text)) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      assert.match(text, /alpr_alert_events_processed_total 5/);
      assert.match(text, /alpr_notifications_replay_skipped_total\{channel="webhook"\} 4/);
    } finally {
      ac.abort();
      assert.equal(await done, 0);
    }
    const stats = JSON.parse(out.at(-1)!) as { consumed: number; fired: number; delivered: number; already_delivered: number };
    assert.deepEqual([stats.consumed, stats.fired, stats.delivered, stats.already_delivered], [6, 4, 0, 4]);
    assert.equal(hook.requests.length, seen, 'the webhook heard nothing new');
    const after = await openPostgresAlertStore(dbUrl);
    try {
      assert.equal((await after.queryHistory({ limit: 1, offset: 0 })).total, historyBefore, 'skipped notifications add no history rows');
    } finally {
      await after.close();
    }
  });
});
