/**
 * PostgreSQL store against a real server: the shared Storage contract, then what only
 * PostgreSQL has (day partitions, migrations under concurrency, partition-drop retention).
 * test/support/postgres.ts starts a throwaway cluster on 127.0.0.1 (or uses
 * OVR_ALPR_TEST_DATABASE_URL); every store below gets a database of its own.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { AlprError } from '../../src-pipeline/common/errors.js';
import { PlateEvent } from '../../src-pipeline/common/plate-event.js';
import { openPostgresStorage, PostgresStorage, POSTGRES_SCHEMA_VERSION, type PostgresStorageOptions } from '../../src-pipeline/store/postgres.js';
import { runStorageContract } from './contract.js';
import { postgresSkip, startTestPostgres, type TestPostgres } from '../support/postgres.js';

const skip = postgresSkip();
let server: TestPostgres | undefined;
const opened: PostgresStorage[] = [];
/** Database URL of each store opened here (for second handles on the same database). */
const urls = new WeakMap<PostgresStorage, string>();

async function serverReady(): Promise<TestPostgres> {
  server ??= await startTestPostgres();
  return server;
}

/** A migrated store on a database nobody else uses. */
async function freshStore(opts: PostgresStorageOptions = {}): Promise<PostgresStorage> {
  const url = await (await serverReady()).createDatabase();
  const store = await openPostgresStorage(url, { timescale: 'auto', ...opts });
  opened.push(store);
  urls.set(store, url);
  return store;
}

const DAY = 86_400_000;
const iso = (ms: number) => new Date(ms).toISOString();

function event(cameraId: string, plate: string, capturedMs: number, images: { plate_url?: string; frame_url?: string } = {}): PlateEvent {
  return PlateEvent.parse({
    event_id: randomUUID(),
    captured_at: iso(capturedMs),
    camera_id: cameraId,
    plate: { text: plate, normalized_text: plate, confidence: 0.9 },
    images,
  });
}

async function query<T extends pg.QueryResultRow>(store: PostgresStorage, sql: string, params: unknown[] = []): Promise<T[]> {
  return (await store.pool.query<T>(sql, params)).rows;
}

async function partitions(store: PostgresStorage): Promise<string[]> {
  const rows = await query<{ name: string }>(
    store,
    `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'plate_events'::regclass ORDER BY 1`,
  );
  return rows.map((r) => r.name);
}

describe('PostgreSQL store', { skip }, () => {
  before(async () => {
    await serverReady();
  });
  after(async () => {
    for (const s of opened) await s.close();
    await server?.stop();
  });

  // One database for the shared-store part of the contract, a new one per openEmpty().
  let shared: Promise<PostgresStorage> | undefined;
  runStorageContract(
    'postgres',
    async () => {
      shared ??= freshStore();
      // The contract closes what open() returns: hand it a second handle on the same database.
      const s = await shared;
      const store = new PostgresStorage(urls.get(s)!);
      opened.push(store);
      return store;
    },
    { openEmpty: () => freshStore() },
  );

  it('uses native partitioning when TimescaleDB is absent (TimescaleDB itself cannot be installed here)', async () => {
    const store = await freshStore({ timescale: 'auto' });
    // 'auto' really tried CREATE EXTENSION timescaledb; on this machine it fails and the store
    // falls back. The TimescaleDB branch (hypertable, compression, drop_chunks) is untested.
    const available = await query<{ n: number }>(store, `SELECT count(*)::int AS n FROM pg_available_extensions WHERE name = 'timescaledb'`);
    if (available[0].n > 0) {
      assert.equal(store.timePartitioning, 'timescaledb');
      return;
    }
    assert.equal(store.timePartitioning, 'native');
    const kind = await query<{ relkind: string }>(store, `SELECT relkind FROM pg_class WHERE relname = 'plate_events'`);
    assert.equal(kind[0].relkind, 'p', 'plate_events is a partitioned table');
    const meta = await query<{ value: string }>(store, `SELECT value FROM storage_meta WHERE key = 'time_partitioning'`);
    assert.equal(meta[0].value, 'native');
  });

  it('has one partition per UTC day ahead of now, a default partition and a BRIN index on captured_at', async () => {
    const store = await freshStore({ partitionsAhead: 3 });
    const names = await partitions(store);
    assert.ok(names.includes('plate_events_default'), names.join(','));
    for (let d = -1; d <= 3; d++) {
      const ymd = iso(Date.now() + d * DAY)
        .slice(0, 10)
        .replaceAll('-', '');
      assert.ok(names.includes(`plate_events_p${ymd}`), `partition for ${ymd} in ${names.join(',')}`);
    }
    const brin = await query<{ n: number }>(
      store,
      `SELECT count(*)::int AS n FROM pg_indexes WHERE tablename = 'plate_events' AND indexdef ILIKE '%USING brin (captured_at)%'`,
    );
    assert.equal(brin[0].n, 1);
    // The seed's indexes exist on the parent (so on every partition).
    const idx = await query<{ indexdef: string }>(store, `SELECT indexdef FROM pg_indexes WHERE tablename = 'plate_events'`);
    const defs = idx.map((r) => r.indexdef).join('\n');
    assert.match(defs, /\(plate_normalized_text, captured_at DESC\)/);
    assert.match(defs, /\(camera_id, captured_at DESC\)/);
    assert.match(defs, /\(created_at DESC/);
    assert.match(defs, /PRIMARY KEY|\(event_id, captured_at\)/);
  });

  it('creates the partition of a brand-new day on insert, and moves rows out of the default partition', async () => {
    const store = await freshStore();
    const day = Date.parse('2023-02-03T05:06:07.000Z');
    assert.ok(!(await partitions(store)).includes('plate_events_p20230203'));
    const a = event('c1', 'NEWDAY1', day);
    assert.equal(await store.insert(a), true);
    assert.ok((await partitions(store)).includes('plate_events_p20230203'));
    const where = await query<{ part: string }>(store, `SELECT tableoid::regclass::text AS part FROM plate_events WHERE event_id = $1`, [a.event_id]);
    assert.equal(where[0].part, 'plate_events_p20230203');

    // A far-off date stays in the default partition (no table per wild clock) and still inserts.
    const far = event('c1', 'FAR1', Date.parse('2090-01-01T00:00:00Z'));
    assert.equal(await store.insert(far), true);
    const farPart = await query<{ part: string }>(store, `SELECT tableoid::regclass::text AS part FROM plate_events WHERE event_id = $1`, [far.event_id]);
    assert.equal(farPart[0].part, 'plate_events_default');
    // Creating that day later moves the row into its partition (ATTACH would refuse otherwise).
    const created = await query<{ created: boolean }>(store, `SELECT ovr_alpr_ensure_day_partition('2090-01-01') AS created`);
    assert.equal(created[0].created, true);
    const moved = await query<{ part: string }>(store, `SELECT tableoid::regclass::text AS part FROM plate_events WHERE event_id = $1`, [far.event_id]);
    assert.equal(moved[0].part, 'plate_events_p20900101');
    assert.equal((await store.get(far.event_id))?.plate.normalized_text, 'FAR1');
  });

  it('creates the same new day from many sessions at once without failing', async () => {
    const store = await freshStore({ poolSize: 12 });
    const others = Array.from({ length: 6 }, () => new PostgresStorage(urls.get(store)!, { poolSize: 2 }));
    opened.push(...others);
    const day = Date.parse('2022-07-08T12:00:00.000Z');
    const results = await Promise.all(others.map((s, i) => s.insertMany([event(`c${i}`, `RACE${i}`, day + i), event(`c${i}`, `RACE${i}X`, day + DAY + i)])));
    assert.deepEqual(results, [2, 2, 2, 2, 2, 2]);
    const names = await partitions(store);
    assert.ok(names.includes('plate_events_p20220708') && names.includes('plate_events_p20220709'), names.join(','));
    const inDefault = await query<{ n: number }>(store, 'SELECT count(*)::int AS n FROM plate_events_default');
    assert.equal(inDefault[0].n, 0);
  });

  it('ON CONFLICT (event_id, captured_at) DO NOTHING: re-sent events are no-ops, in single and batch inserts', async () => {
    const store = await freshStore();
    const e = event('c1', 'DUP1', Date.parse('2024-03-03T03:03:03.000Z'));
    assert.equal(await store.insert(e), true);
    assert.equal(await store.insert(e), false);
    const batch = [e, event('c1', 'DUP2', Date.parse('2024-03-03T04:00:00Z')), event('c1', 'DUP3', Date.parse('2024-03-04T04:00:00Z'))];
    assert.equal(await store.insertMany(batch), 2);
    assert.equal(await store.insertMany(batch), 0);
    // Bigger than one statement (batchSize) but still one transaction: all or nothing.
    const small = await freshStore({ batchSize: 2 });
    const many = Array.from({ length: 7 }, (_, i) => event('c2', `B${i}`, Date.parse('2024-03-05T00:00:00Z') + i * 1000));
    assert.equal(await small.insertMany([...many, many[0]]), 7);
    assert.equal(await small.insertMany(many), 0);
    const rows = await query<{ n: number }>(small, 'SELECT count(*)::int AS n FROM plate_events');
    assert.equal(rows[0].n, 7);
  });

  it('migrates a version-1 database: data kept, plate dictionary backfilled, fuzzy and partial search work', async () => {
    const url = await (await serverReady()).createDatabase();
    const old = new PostgresStorage(url);
    opened.push(old);
    assert.equal(await old.migrate(1), 1);
    const v1Tables = await query<{ t: string }>(old, `SELECT tablename AS t FROM pg_tables WHERE tablename IN ('plates', 'plate_keys', 'audit_log')`);
    assert.deepEqual(v1Tables, [], 'version 1 has no search or audit tables');
    // Rows written by version-1 code (plain SQL: v1 had no dictionary to maintain).
    const t0 = Date.parse('2024-04-01T10:00:00.000Z');
    await query(old, `SELECT ovr_alpr_ensure_day_partition('2024-04-01')`);
    for (const [i, plate] of ['OLD8123', 'OLD8123', 'XYZ999'].entries()) {
      await query(
        old,
        `INSERT INTO plate_events (event_id, captured_at, camera_id, plate_text, plate_normalized_text, plate_confidence) VALUES ($1, $2, 'c1', $3, $3, 0.8)`,
        [randomUUID(), iso(t0 + i * 60_000), plate],
      );
    }
    await old.close();

    const store = await freshStoreAt(url);
    assert.equal(store.timePartitioning, 'native');
    const versions = await query<{ version: number }>(store, 'SELECT version FROM schema_migrations ORDER BY version');
    assert.deepEqual(
      versions.map((r) => r.version),
      Array.from({ length: POSTGRES_SCHEMA_VERSION }, (_, i) => i + 1),
    );
    assert.equal((await store.stats()).total_events, 3);
    const plates = await query<{ plate: string; folded: string }>(store, 'SELECT plate, folded FROM plates ORDER BY plate');
    assert.deepEqual(plates, [
      { plate: 'OLD8123', folded: '0L08123' },
      { plate: 'XYZ999', folded: 'XY2999' },
    ]);
    const fuzzy = await store.fuzzyPlates('0LD8I23', 5);
    assert.deepEqual(
      fuzzy.map((m) => [m.plate, m.rank, m.events]),
      [['OLD8123', 1, 2]],
    );
    assert.equal((await store.search({ plate: '*999', limit: 10, offset: 0 })).length, 1);
    assert.equal((await store.search({ plate: '*D8*', limit: 10, offset: 0 })).length, 2);
  });

  it('two pools migrating one empty database at once both succeed, once', async () => {
    const url = await (await serverReady()).createDatabase();
    const a = new PostgresStorage(url);
    const b = new PostgresStorage(url);
    const c = new PostgresStorage(url);
    opened.push(a, b, c);
    const versions = await Promise.all([a.migrateDetailed(), b.migrateDetailed(), c.migrateDetailed()]);
    assert.deepEqual(
      versions.map((v) => v.version),
      [POSTGRES_SCHEMA_VERSION, POSTGRES_SCHEMA_VERSION, POSTGRES_SCHEMA_VERSION],
    );
    // Exactly one of them applied the steps.
    assert.equal(versions.filter((v) => v.applied.length > 0).length, 1);
    const rows = await query<{ n: number }>(a, 'SELECT count(*)::int AS n FROM schema_migrations');
    assert.equal(rows[0].n, POSTGRES_SCHEMA_VERSION);
  });

  it('refuses a database written by a newer schema version', async () => {
    const store = await freshStore();
    await query(store, `INSERT INTO schema_migrations (version, name) VALUES ($1, 'from the future')`, [POSTGRES_SCHEMA_VERSION + 1]);
    await assert.rejects(store.migrate(), (err: unknown) => err instanceof AlprError && /newer than this program supports/.test(err.message));
  });

  it('age retention drops whole old day partitions and row-deletes the partial day, returning image URLs', async () => {
    const store = await freshStore();
    const now = new Date('2024-06-10T12:00:00.000Z');
    const at = (s: string) => Date.parse(s);
    const evs = [
      event('c1', 'R1', at('2024-05-01T01:00:00Z'), { plate_url: 'p/1.jpg' }),
      event('c1', 'R2', at('2024-05-01T23:00:00Z'), { frame_url: 'f/2.jpg' }),
      event('c1', 'R3', at('2024-05-02T10:00:00Z'), { plate_url: 'p/3.jpg' }),
      // The cutoff (30 days before now) is 2024-05-11T12:00Z: this day is split.
      event('c1', 'R4', at('2024-05-11T06:00:00Z'), { plate_url: 'p/4.jpg' }),
      event('c1', 'R5', at('2024-05-11T18:00:00Z'), { plate_url: 'p/5.jpg' }),
      event('c1', 'R6', at('2024-06-09T18:00:00Z')),
    ];
    assert.equal(await store.insertMany(evs), 6);
    const before = await partitions(store);
    for (const p of ['plate_events_p20240501', 'plate_events_p20240502', 'plate_events_p20240511']) assert.ok(before.includes(p), p);

    const r = await store.applyRetention({ max_age_days: 30 }, now);
    assert.equal(r.deleted, 4);
    assert.deepEqual([...r.image_urls].sort(), ['f/2.jpg', 'p/1.jpg', 'p/3.jpg', 'p/4.jpg']);
    const afterNames = await partitions(store);
    assert.ok(!afterNames.includes('plate_events_p20240501') && !afterNames.includes('plate_events_p20240502'), afterNames.join(','));
    assert.ok(afterNames.includes('plate_events_p20240511'), 'the partial day stays');
    const dropped = await query<{ n: number }>(
      store,
      `SELECT count(*)::int AS n FROM pg_class WHERE relname IN ('plate_events_p20240501', 'plate_events_p20240502')`,
    );
    assert.equal(dropped[0].n, 0, 'old partitions are dropped, not just detached');
    assert.deepEqual((await store.recent({ limit: 10, offset: 0 })).map((e) => e.plate.normalized_text).sort(), ['R5', 'R6']);
    // An insert for a dropped day still works (the partition is created again).
    assert.equal(await store.insert(event('c1', 'LATE', at('2024-05-01T02:00:00Z'))), true);
  });

  it('stores only a keyed hash of plates not kept (privacy); exact lookup works, partial/fuzzy do not match', async () => {
    const store = await freshStore({ privacy: { key: 'test-key', keep: (p) => p === 'KEEP123' } });
    const t = Date.parse('2024-05-05T05:00:00Z');
    await store.insertMany([event('c1', 'SECRET123', t), event('c1', 'KEEP123', t + 1000)]);
    const rows = await query<{ plate_text: string; plate_normalized_text: string }>(
      store,
      'SELECT plate_text, plate_normalized_text FROM plate_events ORDER BY seq',
    );
    assert.match(rows[0].plate_normalized_text, /^#[0-9a-f]{64}$/);
    assert.equal(rows[0].plate_text, rows[0].plate_normalized_text);
    assert.equal(rows[1].plate_normalized_text, 'KEEP123');
    assert.equal((await store.byPlate('secret 123', { limit: 5, offset: 0 })).length, 1);
    assert.deepEqual(
      (await store.search({ plate: '*123', limit: 5, offset: 0 })).map((e) => e.plate.normalized_text),
      ['KEEP123'],
    );
    assert.deepEqual(await store.fuzzyPlates('SECRET123', 5), []);
    const dict = await query<{ plate: string }>(store, 'SELECT plate FROM plates');
    assert.deepEqual(dict, [{ plate: 'KEEP123' }]);
  });

  it('partial and fuzzy plate search use indexes, not scans of plate_events', async () => {
    const store = await freshStore();
    const t = Date.parse('2024-05-06T00:00:00Z');
    const evs = Array.from({ length: 3000 }, (_, i) => event(`c${i % 5}`, `P${(i * 7919) % 100000}X${i % 13}`, t + i * 1000));
    await store.insertMany(evs);
    await query(store, 'ANALYZE');
    const plan = async (sql: string, params: unknown[]) =>
      (await query<{ 'QUERY PLAN': string }>(store, `EXPLAIN ${sql}`, params)).map((r) => r['QUERY PLAN']).join('\n');
    const suffix = await plan(`SELECT * FROM plate_events WHERE plate_normalized_text LIKE $1 AND reverse(plate_normalized_text) LIKE $2`, ['%X12', '21X%']);
    // Empty partitions (days ahead) are "scanned" at cost 0; the one holding the rows must not be.
    assert.match(suffix, /Index Scan (?:using|on) plate_events_p20240506_reverse_idx/, suffix);
    assert.doesNotMatch(suffix, /Seq Scan on plate_events_p20240506/, suffix);
    const prefix = await plan(`SELECT * FROM plate_events WHERE plate_normalized_text LIKE $1`, ['P123%']);
    assert.match(prefix, /Index Scan (?:using|on) plate_events_p20240506_plate_normalized_text/, prefix);
    assert.doesNotMatch(prefix, /Seq Scan on plate_events_p20240506/, prefix);
    const keys = await plan(`SELECT DISTINCT plate FROM plate_keys WHERE key = ANY($1::text[])`, [['P123X1', 'P12X1']]);
    assert.doesNotMatch(keys, /Seq Scan/, keys);
  });

  it('infix and short-prefix patterns match the plates table first: by-plate path without a Seq Scan of plate_events, same rows as the scan path', async () => {
    const store = await freshStore();
    const t = Date.parse('2024-05-07T00:00:00Z');
    // 3,000 distinct plates (7919 is prime to 100,000) over three days, one a minute.
    const evs = Array.from({ length: 3000 }, (_, i) => event(`c${i % 5}`, `P${(i * 7919) % 100000}X${i % 13}`, t + i * 86_400));
    await store.insertMany(evs);
    await query(store, 'ANALYZE');
    // What the store sends, to EXPLAIN the very statement it ran.
    const sent: Array<{ sql: string; params: unknown[] }> = [];
    const pool = store.pool as unknown as { query: (...args: unknown[]) => unknown };
    const original = pool.query.bind(store.pool);
    pool.query = (...args: unknown[]) => {
      if (typeof args[0] === 'string') sent.push({ sql: args[0], params: (args[1] as unknown[] | undefined) ?? [] });
      return original(...args);
    };
    try {
      const expected = (f: { plate: string; camera_id?: string; start_time?: string; limit: number; offset: number }) => {
        const re = new RegExp(`^${f.plate.replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
        return evs
          .filter((e) => re.test(e.plate.normalized_text) && (f.camera_id === undefined || e.camera_id === f.camera_id))
          .filter((e) => f.start_time === undefined || Date.parse(e.captured_at) >= Date.parse(f.start_time))
          .sort((a, b) => Date.parse(b.captured_at) - Date.parse(a.captured_at))
          .slice(f.offset, f.offset + f.limit)
          .map((e) => e.event_id);
      };
      const cases = [
        // Few plates: fetched by plate.
        { plate: '*919X*', limit: 10, offset: 0 },
        { plate: '*919X*', limit: 2, offset: 1 },
        { plate: '?1?', limit: 10, offset: 0 },
        { plate: 'P1?3*', limit: 20, offset: 3 },
        { plate: '*NOPE*', limit: 10, offset: 0 },
        // Hundreds of plates: the newest-first scan (an infix) or the prefix range.
        { plate: '*X1*', limit: 7, offset: 5 },
        { plate: '*X1*', camera_id: 'c2', start_time: iso(t + DAY), limit: 30, offset: 0 },
        { plate: 'P*', limit: 5, offset: 0 },
      ];
      for (const f of cases) {
        const want = expected(f);
        assert.deepEqual(
          (await store.search(f)).map((e) => e.event_id),
          want,
          JSON.stringify(f),
        );
        if (f.plate === '*919X*') assert.ok(want.length > 0 && want.length <= 10, 'the case has matches');
      }

      sent.length = 0;
      await store.search({ plate: '*919X*', limit: 10, offset: 0 });
      const last = sent.filter((s) => /FROM plate_events /.test(s.sql)).at(-1);
      assert.ok(last, sent.map((s) => s.sql).join('\n'));
      assert.match(last.sql, /plate_normalized_text = ANY\(ARRAY\(SELECT unnest/, 'the infix took the by-plate path');
      const plan = (await query<{ 'QUERY PLAN': string }>(store, `EXPLAIN ${last.sql}`, last.params)).map((r) => r['QUERY PLAN']).join('\n');
      // Empty partitions (days ahead) may be "scanned" at cost 0; the ones holding the rows must not be.
      assert.doesNotMatch(plan, /Seq Scan on plate_events_p2024050[789]/, plan);
      assert.match(plan, /plate_events_p2024050[789]_plate_normalized_text_captured_at_idx/, plan);
    } finally {
      pool.query = original;
    }
  });

  it('connection failures reject with a retriable AlprError', async () => {
    await assert.rejects(openPostgresStorage('postgres://postgres@127.0.0.1:1/none', { connectTimeoutMs: 2000 }), (err: unknown) => {
      assert.ok(err instanceof AlprError, String(err));
      assert.equal(err.retriable, true);
      assert.equal(err.code, 'STORAGE_UNAVAILABLE');
      return true;
    });
    const store = new PostgresStorage('postgres://postgres@127.0.0.1:1/none', { connectTimeoutMs: 2000 });
    assert.equal(await store.ping(), false);
    await store.close();
  });
});

async function freshStoreAt(url: string): Promise<PostgresStorage> {
  const store = await openPostgresStorage(url);
  opened.push(store);
  return store;
}
