/**
 * Storage speed, `npm run bench -- storage [--events N] [--single N] [--queries N]
 * [--database-url URL] [--pg-events N] [--stores sqlite,postgres]`: inserts/s single and
 * batched, then with N events loaded (default 1,000,000) p50/p99 latency of the queries the
 * console runs: recent, by plate, partial plate (prefix `AB*`, suffix `*123`, infix `*X12*`
 * and `*X1*`), fuzzy plate and camera + time range. Both stores by default. PostgreSQL uses
 * --database-url (or OVR_ALPR_DATABASE_URL); without one it starts a throwaway local server
 * with test/support/postgres.ts (Debian's binaries, durability off: the numbers are the
 * store's, not the disk's) and stops it at the end; it says so on stderr. Prints a table and
 * one JSON line. Events are the deterministic synthetic set, so runs compare like with like.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { PlateEvent } from '../src-pipeline/common/plate-event.js';
import { openSqliteStorage } from '../src-pipeline/store/sqlite.js';
import type { Storage } from '../src-pipeline/store/storage.js';
import type { TestPostgres } from '../test/support/postgres.js';
import { prng, SYNTHETIC_CAMERAS, SYNTHETIC_END, SYNTHETIC_SPAN_MS, syntheticBatches } from '../src-pipeline/store/synthetic.js';

interface QueryStats {
  p50_ms: number;
  p99_ms: number;
  mean_rows: number;
}

interface StoreReport {
  store: string;
  single_inserts_per_s: number;
  batched_inserts_per_s: number;
  load_events: number;
  load_s: number;
  queries: Record<string, QueryStats>;
}

function pct(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] : 0;
}

const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;
const LOOKALIKE: Record<string, string> = { O: '0', '0': 'O', I: '1', '1': 'I', B: '8', '8': 'B', S: '5', '5': 'S', Z: '2', '2': 'Z' };

/** Loads the synthetic set in batches of 20,000; returns the seconds spent inside insertMany. */
async function load(store: Storage, n: number, seed: number, freshIds: boolean, plates: string[], log: (s: string) => void): Promise<number> {
  let busy = 0;
  let done = 0;
  for (const batch of syntheticBatches(n, seed, 20_000)) {
    const events = freshIds ? batch.map((e) => ({ ...e, event_id: randomUUID() })) : batch;
    // Only the store's time counts: generating the synthetic events is not storage work.
    const t = performance.now();
    await store.insertMany(events);
    busy += performance.now() - t;
    for (let i = 0; i < events.length; i += 97) plates.push(events[i].plate.normalized_text);
    done += events.length;
    if (done % 200_000 === 0) log(`  loaded ${done} (${Math.round(done / (busy / 1000))}/s)`);
  }
  return busy / 1000;
}

async function timeQueries(store: Storage, plates: string[], count: number): Promise<Record<string, QueryStats>> {
  const rand = prng(99);
  const pick = () => plates[Math.floor(rand() * plates.length)];
  const page = { limit: 50, offset: 0 };
  const kinds: Record<string, () => Promise<unknown[]>> = {
    recent: () => store.recent({ limit: 10, offset: 0 }),
    by_plate: () => store.byPlate(pick(), page),
    prefix: () => store.search({ plate: `${pick().slice(0, 2)}*`, ...page }),
    suffix: () => store.search({ plate: `*${pick().slice(-3)}`, ...page }),
    // No literal end to anchor an index: three middle characters of a stored plate (trigram
    // index on the distinct plates), and two (too short for trigrams: a scan of the plates).
    infix: () => store.search({ plate: `*${pick().slice(2, 5)}*`, ...page }),
    infix_short: () => store.search({ plate: `*${pick().slice(2, 4)}*`, ...page }),
    fuzzy: () => {
      // A misread of a stored plate: one look-alike swap, or one dropped character.
      const p = pick();
      const k = Math.floor(rand() * p.length);
      const q = LOOKALIKE[p[k]] ? p.slice(0, k) + LOOKALIKE[p[k]] + p.slice(k + 1) : p.slice(0, k) + p.slice(k + 1);
      return store.fuzzyPlates(q, 20);
    },
    camera_range: () => {
      const start = SYNTHETIC_END - SYNTHETIC_SPAN_MS + Math.floor(rand() * (SYNTHETIC_SPAN_MS - 86_400_000));
      const cam = SYNTHETIC_CAMERAS[Math.floor(rand() * SYNTHETIC_CAMERAS.length)];
      return store.byCamera(cam, { start_time: new Date(start).toISOString(), end_time: new Date(start + 86_400_000).toISOString() }, page);
    },
  };
  const out: Record<string, QueryStats> = {};
  for (const [name, run] of Object.entries(kinds)) {
    for (let i = 0; i < 10; i++) await run(); // warm caches and statement plans
    const times: number[] = [];
    let rows = 0;
    for (let i = 0; i < count; i++) {
      const t = performance.now();
      rows += (await run()).length;
      times.push(performance.now() - t);
    }
    out[name] = { p50_ms: round(pct(times, 0.5), 3), p99_ms: round(pct(times, 0.99), 3), mean_rows: round(rows / count, 1) };
  }
  return out;
}

async function benchOne(
  name: string,
  open: () => Promise<Storage>,
  opts: { events: number; single: number; queries: number; freshIds: boolean },
  log: (s: string) => void,
): Promise<StoreReport> {
  log(`${name}: ${opts.single} single inserts`);
  const single = await open();
  const singles: PlateEvent[] = [];
  for (const b of syntheticBatches(opts.single, 4242, opts.single)) singles.push(...b);
  const ts = performance.now();
  for (const e of singles) await single.insert(opts.freshIds ? { ...e, event_id: randomUUID() } : e);
  const singleRate = opts.single / ((performance.now() - ts) / 1000);
  await single.close();

  log(`${name}: loading ${opts.events} events in batches`);
  const store = await open();
  const plates: string[] = [];
  // The batched figure is the whole load's rate, index growth included (random-key indexes
  // get slower as they outgrow the page cache, so a small load would flatter it).
  const loadS = await load(store, opts.events, 1, opts.freshIds, plates, log);
  const batchedRate = opts.events / loadS;
  log(`${name}: ${opts.queries} queries of each kind`);
  const queries = await timeQueries(store, plates, opts.queries);
  await store.close();
  return {
    store: name,
    single_inserts_per_s: Math.round(singleRate),
    batched_inserts_per_s: Math.round(batchedRate),
    load_events: opts.events,
    load_s: round(loadS, 1),
    queries,
  };
}

function printTable(reports: StoreReport[]): void {
  const lines: string[] = [];
  for (const r of reports) {
    lines.push(
      `${r.store}: single ${r.single_inserts_per_s} inserts/s, batched ${r.batched_inserts_per_s} inserts/s (${r.load_events} events in ${r.load_s} s)`,
    );
    lines.push(`  ${'query'.padEnd(14)} ${'p50 ms'.padStart(9)} ${'p99 ms'.padStart(9)} ${'rows'.padStart(7)}`);
    for (const [q, s] of Object.entries(r.queries)) {
      lines.push(`  ${q.padEnd(14)} ${s.p50_ms.toFixed(3).padStart(9)} ${s.p99_ms.toFixed(3).padStart(9)} ${s.mean_rows.toFixed(1).padStart(7)}`);
    }
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

export async function benchStorage(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      events: { type: 'string', default: '1000000' },
      single: { type: 'string', default: '2000' },
      queries: { type: 'string', default: '200' },
      'database-url': { type: 'string' },
      'pg-events': { type: 'string' },
      stores: { type: 'string', default: 'sqlite,postgres' },
    },
  });
  const events = Number(values.events);
  const single = Number(values.single);
  const queries = Number(values.queries);
  for (const [k, v] of Object.entries({ events, single, queries })) {
    if (!Number.isInteger(v) || v < 1) throw new Error(`--${k} must be a positive integer`);
  }
  const stores = new Set(values.stores.split(',').map((s) => s.trim()));
  for (const s of stores) if (s !== 'sqlite' && s !== 'postgres') throw new Error(`--stores takes sqlite and/or postgres (got ${s})`);
  const log = (s: string) => process.stderr.write(`${s}\n`);
  const reports: StoreReport[] = [];

  if (stores.has('sqlite')) {
    const dir = mkdtempSync(join(tmpdir(), 'ovr-bench-storage-'));
    let k = 0;
    try {
      reports.push(await benchOne('sqlite', () => openSqliteStorage(join(dir, `bench-${k++}.sqlite`)), { events, single, queries, freshIds: false }, log));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }

  let url = values['database-url'] ?? process.env.OVR_ALPR_DATABASE_URL;
  let server: TestPostgres | undefined;
  if (stores.has('postgres') && !url) {
    // Imported lazily: test support code, only needed for this fallback.
    const { findPostgresBin, startTestPostgres } = await import('../test/support/postgres.js');
    if (!findPostgresBin() && !process.env.OVR_ALPR_TEST_DATABASE_URL) {
      log('postgres: skipped (no --database-url or OVR_ALPR_DATABASE_URL, and no PostgreSQL server binaries under /usr/lib/postgresql to start one)');
    } else {
      server = await startTestPostgres();
      url = await server.createDatabase('ovr_bench');
      log(`postgres: no --database-url given: started a throwaway server (${server.adminUrl}); it is stopped at the end`);
    }
  }
  try {
    if (stores.has('postgres') && url) await benchPostgres(url, values['pg-events'] ? Number(values['pg-events']) : events, single, queries, log, reports);
  } finally {
    if (server) {
      await server.stop();
      log('postgres: throwaway server stopped');
    }
  }

  printTable(reports);
  process.stdout.write(`${JSON.stringify({ bench: 'storage', events, reports })}\n`);
}

/** The PostgreSQL half; the store module is imported lazily: it is optional for an SQLite-only bench. */
async function benchPostgres(url: string, pgEvents: number, single: number, queries: number, log: (s: string) => void, reports: StoreReport[]): Promise<void> {
  let openPg: ((u: string) => Promise<Storage>) | undefined;
  let why = 'src-pipeline/store/postgres.js exports no openPostgresStorage';
  try {
    const mod = (await import('../src-pipeline/store/postgres.js')) as { openPostgresStorage?: (u: string) => Promise<Storage> };
    openPg = mod.openPostgresStorage;
  } catch (err) {
    why = `cannot load src-pipeline/store/postgres.js: ${(err as Error).message}`;
  }
  if (!openPg) {
    log(`postgres: skipped (${why})`);
    return;
  }
  // Fresh event ids: the database may be shared and already hold an earlier run's set.
  reports.push(await benchOne('postgres', () => openPg(url), { events: pgEvents, single, queries, freshIds: true }, log));
}
