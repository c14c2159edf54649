/**
 * The messaging backend end to end, `npm run bench -- backend [--events N] [--format avro|json]
 * [--rate R] [--cameras C] [--partitions P] [--kill-broker] [--outage-s S] [--database-url URL] [--json]`:
 * C simulated cameras write N events through the edge outbox (OutboxSink: committed to SQLite
 * first), the OutboxSender publishes them to Kafka, the StorageConsumer (on a worker thread:
 * in production it is a process of its own) stores them in PostgreSQL and commits its offsets. Reports sustained events/s (first write to last row
 * committed), p50/p99 end-to-end latency (write() called → the row's transaction committed),
 * and then counts the rows in PostgreSQL: stored, duplicates, lost. --rate paces the cameras
 * (events/s in all; default 0: as fast as the outbox takes them, which measures capacity and
 * makes latency mostly queueing). --kill-broker SIGKILLs the broker halfway through and starts
 * it again after --outage-s seconds (default 5).
 *
 * Kafka: the shared broker (OVR_ALPR_KAFKA_BROKERS) on a fresh topic, or a private one
 * (test/support/kafka.ts) when there is none or the run kills it. Avro needs
 * OVR_ALPR_SCHEMA_REGISTRY_URL. PostgreSQL: --database-url, OVR_ALPR_TEST_DATABASE_URL (a new
 * database on it), or a throwaway local cluster (test/support/postgres.ts, durability off).
 * Also measures the Avro and JSON message sizes of the same events. With --json the last line
 * is one JSON object.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import pg from 'pg';
import { PlateEventCodec, type BusFormat } from '../src-pipeline/bus/codec.js';
import { Outbox } from '../src-pipeline/bus/outbox.js';
import { createProducer, OutboxSender } from '../src-pipeline/bus/outbox-sender.js';
import { SchemaRegistryClient } from '../src-pipeline/bus/schema-registry.js';
import type { StorageConsumerStats } from '../src-pipeline/bus/storage-consumer.js';
import type { PlateEvent } from '../src-pipeline/common/plate-event.js';
import { openPostgresStorage } from '../src-pipeline/store/postgres.js';
import { syntheticBatches } from '../src-pipeline/store/synthetic.js';
import { OutboxSink } from '../src-pipeline/sinks/outbox-sink.js';
import type { BackendWorkerData, BackendWorkerMessage } from './backend-worker.js';
import { createTopics, startPrivateBroker, type PrivateBroker } from '../test/support/kafka.js';
import type { TestPostgres } from '../test/support/postgres.js';

interface BackendReport {
  format: BusFormat;
  sent: number;
  stored: number;
  duplicates: number;
  lost: number;
  events_per_s: number;
  p50_ms: number;
  p99_ms: number;
  max_ms: number;
  rate_target: number;
  cameras: number;
  partitions: number;
  kill_broker: boolean;
  outage_ms: number | null;
  sender_batches: number;
  sender_failures: number;
  consumer_batches: number;
  consumer_failed_batches: number;
  redelivered: number;
  avro_bytes: number;
  json_bytes: number;
  avro_to_json_ratio: number;
  avro_smaller_pct: number;
  elapsed_s: number;
  /** Kafka → consumer → PostgreSQL alone: a fresh group storing the whole topic into an empty database (null: not measured). */
  consumer_drain_events_per_s: number | null;
}

/** Wall-clock ms, comparable with the consumer worker's stamps. */
const now = () => performance.timeOrigin + performance.now();

interface ConsumerWorker {
  started: Promise<void>;
  stop(): Promise<StorageConsumerStats>;
}

/** What stop() reports for a worker that exited before it could send its own numbers. */
function exitedStats(): StorageConsumerStats {
  return {
    consumed: 0,
    stored: 0,
    duplicates: 0,
    deadLettered: 0,
    batches: 0,
    failedBatches: 0,
    lastError: 'worker exited',
    storedPerSecond: 0,
    messagesPerSecond: 0,
    lag: null,
    crashes: 0,
  };
}

/** The storage consumer on a worker thread (bench/backend-worker.ts); onStored gets each committed batch. */
function startConsumerWorker(data: BackendWorkerData, onStored: (ids: string[], at: number) => void, onWarning: (text: string) => void): ConsumerWorker {
  // Module hooks are per thread: the worker registers tsx itself before loading the TypeScript.
  const entry = JSON.stringify(new URL('./backend-worker.ts', import.meta.url).href);
  const worker = new Worker(`import('tsx/esm/api').then((t) => { t.register(); return import(${entry}); })`, { eval: true, workerData: data });
  let stopped: (s: StorageConsumerStats) => void = () => {};
  let exited = false;
  worker.once('exit', () => {
    exited = true;
    stopped(exitedStats());
  });
  const started = new Promise<void>((resolve, reject) => {
    worker.once('error', reject);
    worker.on('message', (m: BackendWorkerMessage) => {
      if (m.type === 'started') resolve();
      else if (m.type === 'stored') onStored(m.ids, m.at);
      else if (m.type === 'warning') onWarning(m.text);
      else if (m.type === 'stopped') stopped(m.stats);
    });
  });
  let stopping: Promise<StorageConsumerStats> | null = null;
  return {
    started,
    stop: () =>
      (stopping ??= new Promise<StorageConsumerStats>((resolve) => {
        stopped = resolve;
        if (exited) resolve(exitedStats());
        else worker.postMessage({ type: 'stop' });
      })),
  };
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(sorted: number[], q: number): number {
  return sorted.length ? sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] : 0;
}

/** Synthetic plates and cameras, each with a fresh id and a capture time of now (today's partition). */
function makeEvents(n: number, cameras: number): PlateEvent[] {
  const out: PlateEvent[] = [];
  const at = new Date().toISOString();
  for (const batch of syntheticBatches(n, 7, 10_000)) {
    for (const e of batch) out.push({ ...e, event_id: randomUUID(), captured_at: at, camera_id: `cam-${String(out.length % cameras).padStart(2, '0')}` });
  }
  return out;
}

/** Mean message size of the same events as Avro (with the 5-byte header) and as JSON. */
async function messageSizes(events: PlateEvent[], registryUrl: string | undefined): Promise<{ avro: number; json: number }> {
  const json = new PlateEventCodec({ format: 'json' });
  // The schema id only changes the header's value, not its size: no registry needed to measure.
  const avro = registryUrl
    ? new PlateEventCodec({ format: 'avro', registry: new SchemaRegistryClient({ url: registryUrl }) })
    : new PlateEventCodec({ format: 'avro', schemaId: 1 });
  let a = 0;
  let j = 0;
  const sample = events.slice(0, 2000);
  for (const e of sample) {
    a += (await avro.encode(e)).length;
    j += (await json.encode(e)).length;
  }
  return { avro: a / sample.length, json: j / sample.length };
}

export async function benchBackend(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      events: { type: 'string', default: '30000' },
      format: { type: 'string', default: 'avro' },
      rate: { type: 'string', default: '0' },
      cameras: { type: 'string', default: '64' },
      partitions: { type: 'string', default: '3' },
      'kill-broker': { type: 'boolean', default: false },
      'outage-s': { type: 'string', default: '5' },
      'database-url': { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
    allowPositionals: false,
  });
  const n = Number(values.events);
  const rate = Number(values.rate);
  const cameras = Number(values.cameras);
  const partitions = Number(values.partitions);
  const outageMs = Number(values['outage-s']) * 1000;
  const format = values.format as BusFormat;
  if (!(Number.isInteger(n) && n >= 100)) throw new Error(`--events must be an integer >= 100, got ${values.events}`);
  if (!(rate >= 0)) throw new Error(`--rate must be >= 0, got ${values.rate}`);
  if (!(Number.isInteger(cameras) && cameras >= 1)) throw new Error(`--cameras must be a positive integer, got ${values.cameras}`);
  if (!(Number.isInteger(partitions) && partitions >= 1)) throw new Error(`--partitions must be a positive integer, got ${values.partitions}`);
  if (!(outageMs >= 0)) throw new Error(`--outage-s must be >= 0, got ${values['outage-s']}`);
  if (format !== 'avro' && format !== 'json') throw new Error(`--format must be avro or json, got ${values.format}`);
  const registryUrl = process.env.OVR_ALPR_SCHEMA_REGISTRY_URL;
  if (format === 'avro' && !registryUrl)
    throw new Error('--format avro needs OVR_ALPR_SCHEMA_REGISTRY_URL (scripts/services.sh up registry), or use --format json');
  const killBroker = values['kill-broker'];
  const say = (line: string) => process.stdout.write(`${line}\n`);
  const note = (line: string) => process.stderr.write(`${line}\n`);

  const cleanups: (() => Promise<void>)[] = [];
  const tmp = mkdtempSync(join(tmpdir(), 'ovr-bench-backend-'));
  cleanups.push(async () => rmSync(tmp, { recursive: true, force: true }));
  try {
    // ---- services
    let brokers = (process.env.OVR_ALPR_KAFKA_BROKERS ?? '').split(',').filter(Boolean);
    let broker: PrivateBroker | null = null;
    if (killBroker || brokers.length === 0) {
      note(killBroker ? 'starting a private Kafka broker (this run kills it)' : 'OVR_ALPR_KAFKA_BROKERS not set: starting a private Kafka broker');
      broker = await startPrivateBroker(`bench-${process.pid}`);
      const b = broker;
      cleanups.push(() => b.destroy());
      brokers = broker.brokers;
    }
    let dbUrl = values['database-url'];
    let server: TestPostgres | null = null;
    if (!dbUrl) {
      const { startTestPostgres } = await import('../test/support/postgres.js');
      if (!process.env.OVR_ALPR_TEST_DATABASE_URL) note('no --database-url: a throwaway local PostgreSQL (durability off)');
      const s = await startTestPostgres();
      server = s;
      cleanups.push(() => s.stop());
      dbUrl = await s.createDatabase('bench_backend');
    }
    const storage = await openPostgresStorage(dbUrl);
    cleanups.push(() => storage.close());

    const topic = `ovr-bench-${randomUUID()}`;
    await createTopics(brokers, [topic, `${topic}-dlq`], partitions);
    const codec = () =>
      format === 'avro'
        ? new PlateEventCodec({ format, registry: new SchemaRegistryClient({ url: registryUrl! }), subject: `${topic}-value` })
        : new PlateEventCodec({ format });

    const events = makeEvents(n, cameras);
    const sizes = await messageSizes(events, registryUrl);
    const index = new Map(events.map((e, i) => [e.event_id, i]));
    const writtenAt = new Float64Array(n);
    const committedAt = new Float64Array(n);
    let insertCalls = 0;
    let redelivered = 0;
    let stamped = 0;
    let warmedUp = false;
    const onStored = (ids: string[], at: number) => {
      insertCalls++;
      for (const id of ids) {
        const i = index.get(id);
        if (i === undefined) warmedUp = true;
        else if (committedAt[i] === 0) {
          committedAt[i] = at;
          stamped++;
        } else redelivered++;
      }
    };

    const outbox = new Outbox(join(tmp, 'outbox.sqlite'));
    const sender = new OutboxSender({
      outbox,
      producer: () => createProducer(brokers, 'ovr-alpr-bench-edge'),
      codec: codec(),
      topic,
      backoff: { initialMs: 200, maxMs: 2000 },
    });
    const sink = new OutboxSink(outbox, sender, { drainMs: 60_000 });
    const warnings = new Map<string, number>();
    const warn = (text: string) => warnings.set(text, (warnings.get(text) ?? 0) + 1);
    const consumer = startConsumerWorker({ brokers, dbUrl, topic, groupId: `bench-${randomUUID()}`, format, registryUrl }, onStored, warn);
    cleanups.unshift(async () => void (await consumer.stop()));
    await consumer.started;
    // Warm-up: registry registration, producer connect and the first partition assignment are start-up costs, not throughput.
    await sink.write({ event: { ...events[0], event_id: randomUUID() }, images: {} });
    while (!warmedUp) await sleep(20);

    // ---- the run
    note(
      `${n} events, ${format}, ${cameras} cameras, ${partitions} partitions, rate ${rate || 'unlimited'}${killBroker ? `, broker killed halfway for ${outageMs / 1000}s` : ''}`,
    );
    const t0 = now();
    let written = 0;
    let outage: Promise<number> | null = null;
    const camera = async (c: number) => {
      for (let i = c; i < n; i += cameras) {
        if (rate > 0) {
          const due = t0 + (i * 1000) / rate;
          const wait = due - now();
          if (wait > 1) await sleep(wait);
        }
        writtenAt[i] = now();
        await sink.write({ event: events[i], images: {} });
        written++;
        if (killBroker && broker && outage === null && written >= n / 2) {
          const b = broker;
          outage = (async () => {
            const down = performance.now();
            note(`  killing the broker (SIGKILL) after ${written} events`);
            await b.stop({ crash: true });
            await sleep(outageMs);
            await b.start();
            note(`  broker back after ${round((performance.now() - down) / 1000)} s`);
            return performance.now() - down;
          })();
        }
      }
    };
    const progress = setInterval(() => {
      note(`  ${round((now() - t0) / 1000)} s: written ${written}, outbox pending ${outbox.stats().pending}, stored ${stamped}`);
    }, 2000);
    await Promise.all(Array.from({ length: cameras }, (_, c) => camera(c)));
    const writeS = (now() - t0) / 1000;
    const outageTook = outage ? await outage : null;
    // Done when every event has its row; give up after 120 s without progress.
    let last = -1;
    let lastMove = performance.now();
    for (;;) {
      if (stamped >= n) break;
      if (stamped !== last) {
        last = stamped;
        lastMove = performance.now();
      } else if (performance.now() - lastMove > 120_000) {
        note(`  no progress for 120 s at ${stamped}/${n}: counting what arrived`);
        break;
      }
      await sleep(50);
    }
    clearInterval(progress);
    await sink.close();

    // ---- the verdict, from PostgreSQL itself
    const db = new pg.Client({ connectionString: dbUrl });
    await db.connect();
    const ids = events.map((e) => e.event_id);
    const { rows } = await db.query<{ rows: number; distinct_ids: number }>(
      'SELECT count(*)::int AS rows, count(DISTINCT event_id)::int AS distinct_ids FROM plate_events WHERE event_id = ANY($1::uuid[])',
      [ids],
    );
    await db.end();
    const lat: number[] = [];
    let end = t0;
    for (let i = 0; i < n; i++) {
      if (committedAt[i] > 0) {
        lat.push(committedAt[i] - writtenAt[i]);
        if (committedAt[i] > end) end = committedAt[i];
      }
    }
    lat.sort((a, b) => a - b);
    // The backend alone: a second group reads the whole topic (already on the broker) into an
    // empty database, with the edge idle. Needs a server this run may create databases on.
    let drainPerS: number | null = null;
    if (server) {
      const drainUrl = await server.createDatabase('bench_drain');
      let drained = 0;
      let firstAt = 0;
      let firstCount = 0;
      let lastAt = 0;
      const td = now();
      const drain = startConsumerWorker(
        { brokers, dbUrl: drainUrl, topic, groupId: `bench-drain-${randomUUID()}`, format, registryUrl },
        (ids, at) => {
          if (!firstAt) {
            firstAt = at;
            firstCount = ids.length;
          }
          lastAt = at;
          drained += ids.length;
        },
        warn,
      );
      await drain.started;
      const target = n + 1; // + the warm-up event
      const until = now() + 120_000;
      while (drained < target && now() < until) await sleep(20);
      // From the first batch committed: group join and the first fetch are start-up, not throughput
      // (the first batch's own rows are left out of the count for the same reason).
      if (drained >= target && lastAt > firstAt) drainPerS = Math.round((drained - firstCount) / ((lastAt - firstAt) / 1000));
      note(`  drain: ${drained} stored by a fresh group in ${round((lastAt - td) / 1000, 2)} s (incl. group join)`);
      await drain.stop();
    }
    const s = sender.stats();
    const c = await consumer.stop();
    const elapsed = (end - t0) / 1000;
    const report: BackendReport = {
      format,
      sent: n,
      stored: rows[0].distinct_ids,
      duplicates: rows[0].rows - rows[0].distinct_ids,
      lost: n - rows[0].distinct_ids,
      events_per_s: Math.round(rows[0].distinct_ids / elapsed),
      p50_ms: round(pct(lat, 0.5)),
      p99_ms: round(pct(lat, 0.99)),
      max_ms: round(lat[lat.length - 1] ?? 0),
      rate_target: rate,
      cameras,
      partitions,
      kill_broker: killBroker,
      outage_ms: outageTook === null ? null : Math.round(outageTook),
      sender_batches: s.batches,
      sender_failures: s.failures,
      consumer_batches: c.batches,
      consumer_failed_batches: c.failedBatches,
      redelivered,
      avro_bytes: round(sizes.avro),
      json_bytes: round(sizes.json),
      avro_to_json_ratio: round(sizes.avro / sizes.json, 3),
      avro_smaller_pct: round((1 - sizes.avro / sizes.json) * 100),
      elapsed_s: round(elapsed, 2),
      consumer_drain_events_per_s: drainPerS,
    };
    say(
      `backend: ${n} events edge outbox → Kafka (${format}) → consumer → PostgreSQL${killBroker ? `, broker killed for ${round((outageTook ?? 0) / 1000)} s` : ''}`,
    );
    say(`  written in ${round(writeS, 2)} s (${Math.round(n / writeS)}/s into the outbox); all stored after ${report.elapsed_s} s`);
    say(`  sustained ${report.events_per_s} events/s; latency write→row committed p50 ${report.p50_ms} ms, p99 ${report.p99_ms} ms, max ${report.max_ms} ms`);
    say(
      `  stored ${report.stored}, duplicates ${report.duplicates}, lost ${report.lost} (redelivered to the consumer: ${redelivered}, insert calls ${insertCalls})`,
    );
    say(`  sender: ${s.batches} batches, ${s.failures} failures; consumer: ${c.batches} batches, ${c.failedBatches} failed`);
    if (drainPerS !== null) say(`  backend alone (a fresh group drains the topic into an empty database): ${drainPerS} events/s`);
    say(`  message size: Avro ${report.avro_bytes} B, JSON ${report.json_bytes} B (Avro ${report.avro_smaller_pct}% smaller)`);
    for (const [w, k] of warnings) note(`  consumer warning (${k}x): ${w}`);
    if (values.json) say(JSON.stringify(report));
  } finally {
    for (const c of cleanups) await c().catch((err: unknown) => note(`cleanup: ${(err as Error).message}`));
  }
}
