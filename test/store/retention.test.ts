/**
 * Retention on a real SQLite store and a real image folder: rows by age and count take their
 * images with them, images are pruned by age and to a byte budget, and the scheduler runs
 * periodically without overlapping runs and without throwing into its timer.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PlateEvent } from '../../src-pipeline/common/plate-event.js';
import type { ImageStore } from '../../src-pipeline/images/image-store.js';
import { openLocalImageStore, type LocalImageStore } from '../../src-pipeline/images/local-image-store.js';
import { applyRetention, RetentionScheduler, type RetentionLogger } from '../../src-pipeline/store/retention.js';
import { openSqliteStorage, type SqliteStorage } from '../../src-pipeline/store/sqlite.js';

const base = mkdtempSync(join(tmpdir(), 'ovr-retention-'));
let n = 0;
after(() => rmSync(base, { recursive: true, force: true }));

const NOW = new Date('2024-06-30T12:00:00.000Z');
const DAY = 86_400_000;
const daysAgo = (d: number) => new Date(NOW.getTime() - d * DAY).toISOString();

interface Fixture {
  storage: SqliteStorage;
  images: LocalImageStore;
  imagesDir: string;
  close(): Promise<void>;
}

async function fixture(): Promise<Fixture> {
  const dir = join(base, `case-${n++}`);
  const storage = await openSqliteStorage(join(dir, 'events.sqlite'));
  const imagesDir = join(dir, 'images');
  const images = await openLocalImageStore(imagesDir, { fsync: false });
  return { storage, images, imagesDir, close: () => storage.close() };
}

/** Stores an event with a plate crop and a vehicle shot; returns its id and image URLs. */
async function addEvent(f: Fixture, capturedAt: string, bytes = 100): Promise<{ id: string; urls: string[] }> {
  const id = randomUUID();
  const plate_url = await f.images.put('plate', id, capturedAt, Buffer.alloc(bytes, 1));
  const vehicle_url = await f.images.put('vehicle', id, capturedAt, Buffer.alloc(bytes * 2, 2));
  const ok = await f.storage.insert(
    PlateEvent.parse({
      event_id: id,
      captured_at: capturedAt,
      camera_id: 'cam-1',
      plate: { text: 'AB 123', normalized_text: 'AB123', confidence: 0.9 },
      images: { plate_url, vehicle_url },
    }),
  );
  assert.ok(ok);
  return { id, urls: [plate_url, vehicle_url] };
}

/** Polls until `ok()` or 5 s pass (timing-tolerant on a loaded machine). */
async function waitFor(ok: () => boolean): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!ok() && Date.now() < deadline) await sleep(5);
  assert.ok(ok(), 'condition not reached within 5 s');
}

const onDisk = (f: Fixture, url: string) => existsSync(join(f.imagesDir, url.slice('/images/'.length)));

describe('applyRetention', () => {
  it('deletes events older than max_age_days together with their image files', async () => {
    const f = await fixture();
    const old = await Promise.all([40, 35, 31].map((d) => addEvent(f, daysAgo(d))));
    const fresh = await Promise.all([29, 1, 0].map((d) => addEvent(f, daysAgo(d))));
    // A crop without a row (the row never got written) older than the limit goes too.
    const stray = await f.images.put('frame', 'stray', daysAgo(50), Buffer.alloc(10));

    const summary = await applyRetention({ storage: f.storage, images: f.images, policy: { max_age_days: 30 }, now: NOW });
    assert.deepEqual(summary, { events_deleted: 3, images_deleted: 7, image_bytes_freed: 3 * 300 + 10, images_failed: 0 });
    for (const e of old) {
      assert.equal(await f.storage.get(e.id), null);
      for (const u of e.urls) assert.equal(onDisk(f, u), false, u);
    }
    for (const e of fresh) {
      assert.ok(await f.storage.get(e.id));
      for (const u of e.urls) assert.equal(onDisk(f, u), true, u);
    }
    assert.equal(onDisk(f, stray), false);
    assert.deepEqual(await f.images.usage(), { bytes: 3 * 300, files: 6 });
    // Nothing left to do: a second run is a no-op.
    assert.deepEqual(await applyRetention({ storage: f.storage, images: f.images, policy: { max_age_days: 30 }, now: NOW }), {
      events_deleted: 0,
      images_deleted: 0,
      image_bytes_freed: 0,
      images_failed: 0,
    });
    await f.close();
  });

  it('max_events keeps the newest events (and their images)', async () => {
    const f = await fixture();
    const events = [];
    for (const d of [9, 3, 7, 1, 5, 2]) events.push({ d, ...(await addEvent(f, daysAgo(d))) });
    const summary = await applyRetention({ storage: f.storage, images: f.images, policy: { max_events: 2 }, now: NOW });
    assert.equal(summary.events_deleted, 4);
    assert.equal(summary.images_deleted, 8);
    assert.equal(summary.image_bytes_freed, 4 * 300);
    for (const e of events) {
      const kept = e.d <= 2;
      assert.equal((await f.storage.get(e.id)) !== null, kept, `event ${e.d} days old`);
      for (const u of e.urls) assert.equal(onDisk(f, u), kept, u);
    }
    assert.equal((await f.storage.stats()).total_events, 2);
    await f.close();
  });

  it('max_image_bytes prunes the oldest images and keeps the rows', async () => {
    const f = await fixture();
    const events = [];
    for (const d of [4, 1, 3, 2]) events.push({ d, ...(await addEvent(f, daysAgo(d))) });
    assert.deepEqual(await f.images.usage(), { bytes: 1200, files: 8 });
    const summary = await applyRetention({ storage: f.storage, images: f.images, policy: { max_image_bytes: 700 }, now: NOW });
    // Oldest capture first: the 4-day plate and vehicle (1200 → 900), then the 3-day pair (→ 600 <= 700).
    assert.deepEqual(summary, { events_deleted: 0, images_deleted: 4, image_bytes_freed: 600, images_failed: 0 });
    assert.ok((await f.images.usage()).bytes <= 700);
    for (const e of events) {
      assert.ok(await f.storage.get(e.id), 'rows stay');
      for (const u of e.urls) assert.equal(onDisk(f, u), e.d <= 2, `${e.d} days: ${u}`);
    }
    await f.close();
  });

  it('combines the limits and works without an image store', async () => {
    const f = await fixture();
    for (const d of [100, 50, 20, 10, 5]) await addEvent(f, daysAgo(d));
    const rowsOnly = await applyRetention({ storage: f.storage, policy: { max_age_days: 60, max_events: 3 }, now: NOW });
    assert.deepEqual(rowsOnly, { events_deleted: 2, images_deleted: 0, image_bytes_freed: 0, images_failed: 0 });
    // The files of those rows are still there; an age prune of the store catches them later.
    assert.equal((await f.images.usage()).files, 10);
    const both = await applyRetention({ storage: f.storage, images: f.images, policy: { max_age_days: 60, max_image_bytes: 300 }, now: NOW });
    assert.equal(both.events_deleted, 0);
    assert.equal(both.images_deleted, 8); // 2 by age (100 days) + 2 by age (50 days) + 4 oldest left over the budget
    assert.deepEqual(await f.images.usage(), { bytes: 300, files: 2 });
    await assert.rejects(applyRetention({ storage: f.storage, policy: { max_events: -1 } }), /max_events/);
    await assert.rejects(applyRetention({ storage: f.storage, policy: { max_image_bytes: 1.5 } }), /whole number/);
    await f.close();
  });
});

describe('RetentionScheduler', () => {
  it('runs periodically, logs what it removed and stops', async () => {
    const f = await fixture();
    const logs: { level: string; message: string }[] = [];
    const log: RetentionLogger = (level, message) => logs.push({ level, message });
    await addEvent(f, daysAgo(10));
    const scheduler = new RetentionScheduler({ storage: f.storage, images: f.images, policy: { max_age_days: 7 }, log, now: () => NOW });
    scheduler.start(20);
    await waitFor(() => scheduler.runs >= 3);
    assert.equal((await f.storage.stats()).total_events, 0);
    assert.deepEqual(await f.images.usage(), { bytes: 0, files: 0 });
    assert.deepEqual(
      logs.map((l) => l.level),
      ['info'],
      'one info line for the run that removed something, none for empty runs',
    );
    await scheduler.stop();
    const stoppedAt = scheduler.runs;
    await addEvent(f, daysAgo(10));
    await sleep(80);
    assert.equal(scheduler.runs, stoppedAt, 'no run after stop()');
    assert.equal((await f.storage.stats()).total_events, 1);
    await f.close();
  });

  it('never overlaps runs, even when a run takes longer than the interval', async () => {
    const f = await fixture();
    let active = 0;
    let maxActive = 0;
    let calls = 0;
    const slowImages: ImageStore = {
      kind: 'local',
      put: (...a) => f.images.put(...a),
      delete: (u) => f.images.delete(u),
      remove: (u) => f.images.remove(u),
      usage: () => f.images.usage(),
      pruneOlderThan: (d) => f.images.pruneOlderThan(d),
      pruneToBytes: async (b) => {
        active++;
        calls++;
        maxActive = Math.max(maxActive, active);
        await sleep(60);
        active--;
        return f.images.pruneToBytes(b);
      },
    };
    const scheduler = new RetentionScheduler({ storage: f.storage, images: slowImages, policy: { max_image_bytes: 1000 }, log: () => undefined });
    const started = Date.now();
    scheduler.start(5);
    const manual = scheduler.runNow(); // joins the run in progress instead of starting another
    await waitFor(() => calls >= 3);
    await manual;
    await scheduler.stop();
    const elapsed = Date.now() - started;
    assert.equal(maxActive, 1);
    // Back to back at most: each run holds 60 ms, so overlapping or doubled runs would show here.
    assert.ok(calls <= Math.ceil(elapsed / 60) + 1, `calls: ${calls} in ${elapsed} ms`);
    assert.equal(active, 0, 'stop() waited for the run in progress');
    await f.close();
  });

  it('logs errors instead of throwing them into the timer, and keeps going', async () => {
    const f = await fixture();
    const logs: { level: string; message: string }[] = [];
    let failures = 2;
    const flaky = new Proxy(f.storage, {
      get(target, prop, receiver) {
        if (prop === 'applyRetention')
          return async (...args: Parameters<SqliteStorage['applyRetention']>) => {
            if (failures-- > 0) throw new Error('disk I/O error');
            return target.applyRetention(...args);
          };
        const v = Reflect.get(target, prop, receiver) as unknown;
        return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
      },
    });
    await addEvent(f, daysAgo(10));
    const scheduler = new RetentionScheduler({
      storage: flaky,
      images: f.images,
      policy: { max_age_days: 1 },
      log: (level, message) => {
        logs.push({ level, message });
        throw new Error('a broken logger must not break the scheduler either');
      },
      now: () => NOW,
    });
    scheduler.start(10);
    await waitFor(() => logs.length >= 3);
    await scheduler.stop();
    assert.deepEqual(
      logs.slice(0, 3).map((l) => l.level),
      ['error', 'error', 'info'],
    );
    assert.match(logs[0].message, /disk I\/O error/);
    assert.equal((await f.storage.stats()).total_events, 0, 'the run after the failures did the work');
    assert.equal(scheduler.lastError, null);
    assert.throws(() => scheduler.start(0), /interval/);
    await f.close();
  });
});
