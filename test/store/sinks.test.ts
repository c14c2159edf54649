/**
 * Event sinks against real things: a real SQLite store in a temp folder, a real
 * LocalImageStore, real files; failures are real too (a SQLite database locked by another
 * connection, a PostgreSQL server whose TCP path goes away and comes back). Only the FanoutSink
 * semantics use a deliberately failing test double.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { appendFileSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { AlprError } from '../../src-pipeline/common/errors.js';
import { PlateEvent, type StoredEvent } from '../../src-pipeline/common/plate-event.js';
import { openLocalImageStore, type LocalImageStore } from '../../src-pipeline/images/local-image-store.js';
import {
  createEmbeddedSink,
  FanoutSink,
  JsonlSink,
  SpoolSink,
  StoreSink,
  type CapturedEvent,
  type EventSink,
  type SinkLog,
} from '../../src-pipeline/sinks/index.js';
import { openPostgresStorage } from '../../src-pipeline/store/postgres.js';
import { openSqliteStorage, type SqliteStorage } from '../../src-pipeline/store/sqlite.js';
import { postgresSkip, startTestPostgres } from '../support/postgres.js';

const root = mkdtempSync(join(tmpdir(), 'ovr-sinks-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const fresh = (name: string) => join(root, `${name}-${n++}`);

const JPEG = (tag: string) => Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from(tag), Buffer.from([0xff, 0xd9])]);

function event(plate = 'AB123', over: { captured_at?: string; event_id?: string; confidence?: number } = {}): PlateEvent {
  return PlateEvent.parse({
    event_id: over.event_id ?? randomUUID(),
    captured_at: over.captured_at ?? '2024-05-01T10:00:00.000Z',
    camera_id: 'cam-1',
    plate: { text: plate, normalized_text: plate, confidence: over.confidence ?? 0.9 },
  });
}

function captured(
  e: PlateEvent,
  images: CapturedEvent['images'] = { plate: JPEG(`p-${e.event_id}`), frame: JPEG(`f-${e.event_id}`) },
  update = false,
): CapturedEvent {
  return { event: e, images, ...(update ? { update } : {}) };
}

function recorder(): { log: SinkLog; entries: { level: string; message: string; details?: object }[] } {
  const entries: { level: string; message: string; details?: object }[] = [];
  return { log: (level, message, details) => entries.push({ level, message, details }), entries };
}

async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** Holds SQLite's write lock from a second connection, as another process would. */
function lockDatabase(path: string): { release(): void } {
  const db = new Database(path);
  db.exec('BEGIN EXCLUSIVE');
  return {
    release() {
      db.exec('COMMIT');
      db.close();
    },
  };
}

const urlPath = (images: LocalImageStore, url: string) => join(images.root, url.replace(/^\/images\//, ''));

async function openStore(dir: string): Promise<{ storage: SqliteStorage; images: LocalImageStore; dbPath: string }> {
  const dbPath = join(dir, 'events.sqlite');
  // A short busy timeout: a locked database fails fast, like a real contended file would.
  const storage = await openSqliteStorage(dbPath, { busyTimeoutMs: 50 });
  const images = await openLocalImageStore(join(dir, 'images'), { fsync: false });
  return { storage, images, dbPath };
}

describe('StoreSink', () => {
  it('stores the JPEGs, the event with their URLs, and publishes the stored event', async () => {
    const { storage, images } = await openStore(fresh('store'));
    const published: StoredEvent[] = [];
    const sink = new StoreSink({ storage, images, onStored: (e) => void published.push(e) });
    const e = event();
    await sink.write(captured(e));
    const got = await storage.get(e.event_id);
    assert.ok(got);
    assert.match(got.images.plate_url!, new RegExp(`^/images/2024/05/01/${e.event_id}-plate\\.jpg$`));
    assert.equal(got.images.vehicle_url, null);
    assert.deepEqual(readFileSync(urlPath(images, got.images.plate_url!)), JPEG(`p-${e.event_id}`));
    assert.deepEqual(readFileSync(urlPath(images, got.images.frame_url!)), JPEG(`f-${e.event_id}`));
    assert.deepEqual(published, [got]);
    assert.equal(e.images.plate_url, null, "the caller's event is not mutated");
    // The same event again is a duplicate: stored once, published once.
    await sink.write(captured(e));
    assert.equal(published.length, 1);
    assert.deepEqual(sink.stats(), { inserted: 1, updated: 0, duplicates: 1, imageFailures: 0, callbackFailures: 0 });
    await sink.close();
    await storage.close();
  });

  it('a throwing or rejecting onStored never makes write() fail', async () => {
    const { storage, images } = await openStore(fresh('store'));
    const rec = recorder();
    for (const onStored of [
      () => {
        throw new Error('boom');
      },
      () => Promise.reject(new Error('async boom')),
    ]) {
      const sink = new StoreSink({ storage, images, onStored, log: rec.log });
      const e = event();
      await sink.write(captured(e));
      assert.ok(await storage.get(e.event_id));
      assert.equal(sink.stats().callbackFailures, 1);
    }
    assert.equal(rec.entries.filter((x) => x.level === 'error').length, 2);
    await storage.close();
  });

  it('stores the event without URLs (and warns) when the images cannot be stored', async () => {
    const { storage, images } = await openStore(fresh('store'));
    // The image store writes through <root>/.tmp: without it every put fails for real (ENOENT).
    rmSync(join(images.root, '.tmp'), { recursive: true, force: true });
    const rec = recorder();
    const sink = new StoreSink({ storage, images, log: rec.log });
    const e = event();
    await sink.write(captured(e));
    const got = await storage.get(e.event_id);
    assert.deepEqual(got!.images, { plate_url: null, vehicle_url: null, frame_url: null });
    assert.equal(sink.stats().imageFailures, 2);
    const warns = rec.entries.filter((x) => x.level === 'warn');
    assert.equal(warns.length, 2);
    assert.equal((warns[0].details as { code?: string }).code, 'STORAGE_FAILED');
    await storage.close();
  });

  it('an update replaces the stored event and its pictures, keeping pictures it brings no new bytes for', async () => {
    const { storage, images } = await openStore(fresh('store'));
    const published: StoredEvent[] = [];
    const sink = new StoreSink({ storage, images, onStored: (e) => void published.push(e) });
    const e = event('AB123', { confidence: 0.6 });
    await sink.write(captured(e, { plate: JPEG('p1'), vehicle: JPEG('v1'), frame: JPEG('f1') }));
    const first = (await storage.get(e.event_id))!;
    // A better read, captured the next day (another image folder), with a new plate crop and frame only.
    const better = event('AB128', { event_id: e.event_id, captured_at: '2024-05-02T00:00:01.000Z', confidence: 0.95 });
    await sink.write(captured(better, { plate: JPEG('p2'), frame: JPEG('f2') }, true));
    const got = (await storage.get(e.event_id))!;
    assert.equal(got.plate.normalized_text, 'AB128');
    assert.equal(got.captured_at, '2024-05-02T00:00:01.000Z');
    assert.equal(got.created_at, first.created_at);
    assert.match(got.images.plate_url!, /\/2024\/05\/02\//);
    assert.deepEqual(readFileSync(urlPath(images, got.images.plate_url!)), JPEG('p2'));
    assert.equal(got.images.vehicle_url, first.images.vehicle_url, 'no new vehicle shot: the old one stays');
    assert.ok(existsSync(urlPath(images, got.images.vehicle_url!)));
    assert.ok(!existsSync(urlPath(images, first.images.plate_url!)), 'the replaced plate crop is removed');
    assert.ok(!existsSync(urlPath(images, first.images.frame_url!)), 'the replaced frame is removed');
    assert.equal((await storage.search({ plate: 'AB12*', limit: 10, offset: 0 })).length, 1);
    assert.deepEqual(
      published.map((p) => p.plate.normalized_text),
      ['AB123', 'AB128'],
    );
    assert.deepEqual(sink.stats(), { inserted: 1, updated: 1, duplicates: 0, imageFailures: 0, callbackFailures: 0 });
    await storage.close();
  });
});

describe('JsonlSink', () => {
  it('appends one PlateEvent line per event, in call order, creating folders; concurrent writes do not interleave', async () => {
    const path = join(fresh('jsonl'), 'a', 'b', 'events.jsonl');
    const sink = new JsonlSink({ path });
    const events = Array.from({ length: 200 }, (_, i) => event(`AB${i}`));
    await Promise.all(events.map((e) => sink.write(captured(e))));
    await sink.close();
    await sink.close(); // idempotent
    const lines = readFileSync(path, 'utf8').split('\n');
    assert.equal(lines.pop(), '', 'ends with a newline');
    assert.deepEqual(
      lines.map((l) => PlateEvent.parse(JSON.parse(l)).event_id),
      events.map((e) => e.event_id),
    );
    assert.ok(!lines[0].includes('/9j/') && !lines[0].includes('images":{"plate":'), 'no image bytes');
    await assert.rejects(sink.write(captured(event())), (err: unknown) => err instanceof AlprError && err.code === 'USAGE');
    // A new sink on the same file appends.
    const again = new JsonlSink({ path });
    await again.write(captured(event('CD1')));
    await again.close();
    assert.equal(readFileSync(path, 'utf8').trim().split('\n').length, 201);
  });

  it('rejects with a coded error when the file cannot be written', async () => {
    const dir = fresh('jsonl');
    appendFileSync(join(root, `blocker-${n}`), 'x');
    // The parent "folder" is a regular file: mkdir fails for real (ENOTDIR/EEXIST).
    const sink = new JsonlSink({ path: join(root, `blocker-${n}`, 'events.jsonl') });
    await assert.rejects(sink.write(captured(event())), (err: unknown) => err instanceof AlprError && err.code === 'STORAGE_FAILED' && err.retriable);
    await sink.close();
    assert.ok(!existsSync(join(dir, 'events.jsonl')));
  });
});

/** Test double: a sink that always fails (FanoutSink semantics only). */
class AlwaysFailingSinkDouble implements EventSink {
  readonly name: string;
  constructor(name = 'failing-double') {
    this.name = name;
  }
  async write(): Promise<void> {
    throw new AlprError('STORAGE_UNAVAILABLE', `${this.name} is down`, { retriable: true });
  }
  async close(): Promise<void> {}
}

describe('FanoutSink', () => {
  it('one failing sink does not stop the others; write resolves when at least one took the event', async () => {
    const dir = fresh('fanout');
    const { storage, images } = await openStore(dir);
    const jsonl = new JsonlSink({ path: join(dir, 'events.jsonl') });
    const rec = recorder();
    const fan = new FanoutSink([new AlwaysFailingSinkDouble(), new StoreSink({ storage, images }), jsonl], { log: rec.log });
    const e = event();
    await fan.write(captured(e));
    assert.ok(await storage.get(e.event_id));
    await fan.close();
    assert.equal(readFileSync(join(dir, 'events.jsonl'), 'utf8').trim().split('\n').length, 1);
    assert.deepEqual(fan.stats(), { written: 1, partialFailures: { 'failing-double': 1 }, failed: 0 });
    assert.equal(rec.entries.filter((x) => x.level === 'warn').length, 1);
    await storage.close();
  });

  it('rejects with every sink’s error when all failed', async () => {
    const fan = new FanoutSink([new AlwaysFailingSinkDouble('a'), new AlwaysFailingSinkDouble('b')]);
    await assert.rejects(fan.write(captured(event())), (err: unknown) => {
      assert.ok(err instanceof AlprError);
      assert.equal(err.code, 'STORAGE_FAILED');
      assert.equal(err.retriable, true);
      assert.deepEqual(
        (err.details!.sinks as { sink: string }[]).map((s) => s.sink),
        ['a', 'b'],
      );
      return true;
    });
    await fan.close();
  });
});

const spoolLines = (dir: string) => {
  const file = join(dir, 'spool.jsonl');
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').filter(Boolean) : [];
};

describe('SpoolSink', () => {
  it('spools events while the SQLite file is locked, then delivers them in order, each exactly once', async () => {
    const dir = fresh('spool');
    const { storage, images, dbPath } = await openStore(dir);
    const published: StoredEvent[] = [];
    const rec = recorder();
    const sink = await SpoolSink.open({
      inner: new StoreSink({ storage, images, onStored: (e) => void published.push(e), log: rec.log }),
      dir: join(dir, 'spool'),
      backoff: { initialMs: 20, maxMs: 100 },
      log: rec.log,
    });
    const before = event('AA1');
    await sink.write(captured(before));
    assert.equal(sink.stats().direct, 1);

    const lock = lockDatabase(dbPath);
    const events = ['BB1', 'BB2', 'BB3'].map((p) => event(p));
    for (const e of events) await sink.write(captured(e));
    assert.equal(sink.pending(), 3);
    const lines = spoolLines(join(dir, 'spool'));
    assert.equal(lines.length, 3);
    const first = JSON.parse(lines[0]) as { v: number; event: PlateEvent; images: { plate: string } };
    assert.equal(first.v, 1);
    assert.equal(first.event.event_id, events[0].event_id);
    assert.deepEqual(Buffer.from(first.images.plate, 'base64'), JPEG(`p-${events[0].event_id}`));
    // Retries keep failing while the lock is held.
    await until('a failed retry', () => sink.stats().retryFailures >= 2);
    assert.equal(sink.pending(), 3);

    lock.release();
    await until('the spool drained', () => sink.pending() === 0);
    const stored = await storage.recent({ limit: 10, offset: 0 });
    assert.deepEqual(
      stored.map((s) => s.event_id).reverse(),
      [before, ...events].map((e) => e.event_id),
      'stored once each, in order',
    );
    assert.deepEqual(
      published.map((p) => p.event_id),
      [before, ...events].map((e) => e.event_id),
    );
    assert.ok(stored.every((s) => s.images.plate_url !== null));
    assert.equal(statSync(join(dir, 'spool', 'spool.jsonl')).size, 0, 'delivered spool is emptied');
    assert.ok(!existsSync(join(dir, 'spool', 'spool.offset')));
    const st = sink.stats();
    assert.equal(st.spooled, 3);
    assert.equal(st.delivered, 3);
    assert.match(st.lastError ?? '', /locked|busy/i);
    // Back to direct delivery.
    const later = event('CC1');
    await sink.write(captured(later));
    assert.equal(sink.stats().direct, 2);
    await sink.close();
    await storage.close();
    assert.ok(rec.entries.some((x) => x.level === 'warn' && x.message.includes('spooling')));
  });

  it('close() leaves undelivered events on disk; the next open replays them (torn and duplicate lines handled)', async () => {
    const dir = fresh('spool');
    const spoolDir = join(dir, 'spool');
    const opened = await openStore(dir);
    let { storage, images } = opened;
    const lock = lockDatabase(opened.dbPath);
    const sink = await SpoolSink.open({ inner: new StoreSink({ storage, images }), dir: spoolDir, backoff: { initialMs: 10_000 } });
    const events = ['DD1', 'DD2'].map((p) => event(p));
    for (const e of events) await sink.write(captured(e));
    await sink.close();
    lock.release();
    await storage.close();
    assert.equal(spoolLines(spoolDir).length, 2, 'nothing unsent was deleted');

    // A crash mid-append leaves a torn last line; a crash after delivery but before the offset
    // update leaves a line for an event the store already holds.
    ({ storage, images } = await openStore(dir));
    const already = event('EE1');
    await storage.insert(already);
    const dup = JSON.stringify({
      v: 1,
      spooled_at: new Date().toISOString(),
      update: false,
      event: already,
      images: { plate: null, vehicle: null, frame: null },
    });
    appendFileSync(join(spoolDir, 'spool.jsonl'), `${dup}\n{"v":1,"event":{"event_`);

    const rec = recorder();
    const reopened = await SpoolSink.open({ inner: new StoreSink({ storage, images }), dir: spoolDir, log: rec.log });
    await until('replay', () => reopened.pending() === 0);
    for (const e of events) assert.equal((await storage.byPlate(e.plate.normalized_text, { limit: 10, offset: 0 })).length, 1);
    assert.equal((await storage.byPlate('EE1', { limit: 10, offset: 0 })).length, 1, 'the duplicate is stored once');
    assert.equal(readFileSync(join(spoolDir, 'spool.rejected.jsonl'), 'utf8'), '{"v":1,"event":{"event_\n');
    assert.equal(reopened.stats().rejectedLines, 1);
    assert.ok(rec.entries.some((x) => x.message === 'replaying spooled events'));
    await reopened.close();
    await storage.close();
  });

  it('an update waiting in the spool is applied as an update', async () => {
    const dir = fresh('spool');
    const { storage, images, dbPath } = await openStore(dir);
    const sink = await SpoolSink.open({ inner: new StoreSink({ storage, images }), dir: join(dir, 'spool'), backoff: { initialMs: 10, maxMs: 50 } });
    const e = event('FF1', { confidence: 0.5 });
    await sink.write(captured(e));
    const lock = lockDatabase(dbPath);
    await sink.write(captured(event('FF7', { event_id: e.event_id, confidence: 0.99 }), {}, true));
    assert.equal(sink.pending(), 1);
    lock.release();
    assert.equal(await sink.flush(), true);
    const got = await storage.get(e.event_id);
    assert.equal(got!.plate.normalized_text, 'FF7');
    assert.notEqual(got!.images.plate_url, null, 'the first shot is kept when the update brings none');
    await sink.close();
    await storage.close();
  });

  it('rejects only when the event can be neither delivered nor spooled', async () => {
    const dir = fresh('spool');
    const { storage, images, dbPath } = await openStore(dir);
    appendFileSync(join(dir, 'not-a-folder'), 'x');
    const sink = new SpoolSink({ inner: new StoreSink({ storage, images }), dir: join(dir, 'not-a-folder', 'spool') });
    await assert.rejects(sink.open());
    // The inner sink still works.
    await sink.write(captured(event('GG1')));
    const lock = lockDatabase(dbPath);
    await assert.rejects(sink.write(captured(event('GG2'))), (err: unknown) => err instanceof AlprError && err.code === 'STORAGE_FAILED');
    lock.release();
    await sink.close();
    await storage.close();
  });
});

describe('SpoolSink over PostgreSQL through an outage', { skip: postgresSkip() }, () => {
  it('spools while the server is unreachable and delivers once it is back', async () => {
    const server = await startTestPostgres();
    const target = new URL(server.adminUrl);
    const dbUrl = new URL(await server.createDatabase('ovr_sinks'));
    // A real TCP path between the store and the server that can go away and come back.
    const sockets = new Set<net.Socket>();
    const proxy = net.createServer((client) => {
      const upstream = net.connect(Number(target.port), target.hostname);
      for (const s of [client, upstream]) {
        sockets.add(s);
        s.on('close', () => sockets.delete(s));
        s.on('error', () => {});
      }
      client.pipe(upstream).pipe(client);
    });
    const listen = (port = 0) => new Promise<number>((resolve) => proxy.listen(port, '127.0.0.1', () => resolve((proxy.address() as net.AddressInfo).port)));
    const port = await listen();
    const goDown = async () => {
      // server.close() only calls back once every connection ended: cut them first.
      const closed = new Promise<void>((resolve) => proxy.close(() => resolve()));
      for (const s of sockets) s.destroy();
      await closed;
    };
    dbUrl.port = String(port);
    const storage = await openPostgresStorage(dbUrl.toString(), { timescale: 'off', connectTimeoutMs: 1000 });
    const dir = fresh('pg');
    const images = await openLocalImageStore(join(dir, 'images'), { fsync: false });
    const rec = recorder();
    const sink = await SpoolSink.open({
      inner: new StoreSink({ storage, images }),
      dir: join(dir, 'spool'),
      backoff: { initialMs: 50, maxMs: 200 },
      log: rec.log,
    });
    try {
      const a = event('PG1');
      await sink.write(captured(a));
      assert.equal(sink.stats().direct, 1);
      await goDown();
      const events = ['PG2', 'PG3'].map((p) => event(p));
      for (const e of events) await sink.write(captured(e));
      assert.equal(sink.pending(), 2);
      assert.ok(
        rec.entries.some((x) => (x.details as { code?: string } | undefined)?.code === 'STORAGE_UNAVAILABLE'),
        'unreachable server is a coded, retriable error',
      );
      await until('a failed retry', () => sink.stats().retryFailures >= 1);
      await listen(port);
      await until('the spool drained', () => sink.pending() === 0, 20_000);
      for (const e of [a, ...events]) {
        const rows = await storage.byPlate(e.plate.normalized_text, { limit: 10, offset: 0 });
        assert.deepEqual(
          rows.map((r) => r.event_id),
          [e.event_id],
        );
      }
    } finally {
      await sink.close();
      await storage.close();
      if (proxy.listening) await goDown();
      await server.stop();
    }
  });
});

describe('createEmbeddedSink', () => {
  it('stores into <dataDir>/events.sqlite and <dataDir>/images behind a spool at <dataDir>/spool', async () => {
    const dataDir = fresh('embedded');
    const published: string[] = [];
    const { sink, storage } = await createEmbeddedSink({ dataDir, onStored: (e) => void published.push(e.event_id) });
    const e = event();
    await sink.write(captured(e));
    assert.deepEqual(published, [e.event_id]);
    const got = await storage.get(e.event_id);
    assert.ok(existsSync(join(dataDir, 'images', got!.images.plate_url!.replace(/^\/images\//, ''))));
    assert.ok(existsSync(join(dataDir, 'events.sqlite')));
    assert.ok(existsSync(join(dataDir, 'spool')));
    await sink.close();
    await storage.close();
  });
});
