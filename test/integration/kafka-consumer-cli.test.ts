/**
 * `ovr-alpr consumer` as its own process against the REAL broker (OVR_ALPR_KAFKA_BROKERS) and a
 * real PostgreSQL: it serves Prometheus metrics on 127.0.0.1 (per-partition lag, messages/s,
 * batch sizes, insert latency, DLQ count), logs its status periodically, and on SIGTERM stops
 * after the batch in hand with every stored row's offset committed, exit code 0 and a summary.
 *
 * The process runs the TypeScript sources through tsx (no `npm run build` needed).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { after, describe, it } from 'node:test';
import { Kafka, logLevel } from 'kafkajs';
import { makeEvent } from '../api/support.js';
import { committedTotal, createTopics } from '../support/kafka.js';
import { postgresSkip, startTestPostgres } from '../support/postgres.js';
import { kafkaBrokers, kafkaSkip } from '../support/services.js';

const skip = kafkaSkip('test/integration/kafka-consumer-cli.test.ts') || postgresSkip();
const brokers = kafkaBrokers();
const tmp = mkdtempSync(join(tmpdir(), 'ovr-consumer-cli-'));
after(() => rmSync(tmp, { recursive: true, force: true }));
const CLI = pathToFileURL(join(import.meta.dirname, '..', '..', 'src-pipeline', 'cli.ts')).href;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Value of the sample `name{labels}` (labels as written in the exposition text), summed over matches of a prefix. */
function sample(text: string, prefix: string): number[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith(prefix))
    .map((l) => Number(l.slice(l.lastIndexOf(' ') + 1)));
}

describe('ovr-alpr consumer (process, real broker and database)', { skip }, () => {
  it('serves /metrics with lag and throughput, logs status, and shuts down cleanly on SIGTERM', async () => {
    const pg = await startTestPostgres();
    const dbUrl = await pg.createDatabase('consumer_cli');
    const topic = `ovr-test-${randomUUID()}`;
    const group = `cli-${randomUUID()}`;
    await createTopics(brokers, [topic, `${topic}-dlq`], 3);
    const cfg = join(tmp, 'config');
    mkdirSync(cfg, { recursive: true });
    writeFileSync(join(cfg, 'bus.yaml'), `enabled: true\nformat: json\ntopic: ${topic}\ndlq_topic: ${topic}-dlq\n`);

    const producer = new Kafka({ clientId: 'ovr-alpr-test', brokers, logLevel: logLevel.NOTHING }).producer();
    await producer.connect();
    const events = Array.from({ length: 300 }, (_, i) => makeEvent({ plate: `CLI${i}`, camera_id: `cam-${i % 6}` }));
    await producer.send({
      topic,
      messages: [...events.map((e) => ({ key: e.camera_id, value: JSON.stringify(e) })), { key: 'cam-x', value: 'garbage' }],
    });
    await producer.disconnect();

    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '--input-type=module',
        '-e',
        `const { main } = await import(${JSON.stringify(CLI)}); process.exitCode = await main(process.argv.slice(1));`,
        'consumer',
        '--database-url',
        dbUrl,
        '--config',
        cfg,
        '--group',
        group,
        '--metrics-port',
        '0',
        '--status-interval',
        '1',
        '--log-level',
        'info',
        '--json',
      ],
      { env: { ...process.env, OVR_ALPR_KAFKA_BROKERS: brokers.join(',') }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      const end = Date.now() + 60_000;
      let port = 0;
      while (!port) {
        const m = /metrics on http:\/\/127\.0\.0\.1:(\d+)\/metrics/.exec(err);
        if (m) port = Number(m[1]);
        else if (Date.now() > end || child.exitCode !== null) throw new Error(`no metrics address from the consumer:\n${err}`);
        else await sleep(100);
      }
      let text = '';
      for (;;) {
        text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const stored = sample(text, 'ovr_alpr_consumer_messages_total{outcome="stored"}')[0] ?? 0;
        const lag = sample(text, 'ovr_alpr_consumer_lag{');
        if (stored === 300 && lag.length === 3 && lag.every((l) => l === 0)) break;
        if (Date.now() > end) throw new Error(`consumer did not store the 300 events in time:\n${text}\n${err}`);
        await sleep(250);
      }
      assert.deepEqual(sample(text, 'ovr_alpr_consumer_dead_lettered_total'), [1]);
      assert.ok(sample(text, 'ovr_alpr_consumer_batch_size_count')[0] >= 1);
      assert.ok(sample(text, 'ovr_alpr_consumer_insert_seconds_count')[0] >= 1);
      assert.equal(
        sample(text, 'ovr_alpr_consumer_high_watermark{').reduce((a, b) => a + b, 0),
        301,
        'high watermarks cover every message',
      );
      assert.equal(
        sample(text, 'ovr_alpr_consumer_committed_offset{').reduce((a, b) => a + b, 0),
        301,
      );
      assert.match(text, /# TYPE ovr_alpr_consumer_messages_per_second gauge/);
      assert.equal((await fetch(`http://127.0.0.1:${port}/other`)).status, 404);
      // The periodic status lines carry the numbers too (rate, and lag from the broker once looked up).
      type Status = { stored: number; lag: number | null; messagesPerSecond: number };
      const statusLines = (): Status[] =>
        err
          .split('\n')
          .filter((l) => l.includes('"consumer status"'))
          .map((l) => JSON.parse(l) as Status);
      while (!statusLines().some((l) => l.lag === 0)) {
        if (Date.now() > end) throw new Error(`no status line with the lag:\n${err}`);
        await sleep(200);
      }
      const last = statusLines().pop()!;
      assert.equal(last.stored, 300);
      assert.equal(last.lag, 0);
      assert.equal(typeof last.messagesPerSecond, 'number');

      child.kill('SIGTERM');
      assert.equal(await exited, 0, err);
      const summary = JSON.parse(out.trim().split('\n').pop()!) as { stored: number; deadLettered: number; consumed: number };
      assert.equal(summary.stored, 300);
      assert.equal(summary.deadLettered, 1);
      assert.equal(summary.consumed, 301);
      assert.equal(await committedTotal(brokers, group, topic), 301n, 'every handled message committed before exit');
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await pg.stop();
    }
  });
});
