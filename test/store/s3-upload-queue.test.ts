/**
 * ImageUploadQueue (the local cache that is the durable S3 upload queue) against the real S3
 * server from `scripts/services.sh up s3`. Each test uses a bucket of its own; "S3 down" is a
 * store pointed at a loopback port nothing listens on (the fault test with a real server
 * stopped and restarted is test/integration/s3-upload-fault.test.ts).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlprError } from '../../src-pipeline/common/errors.js';
import { openS3ImageStore, type S3ImageStore } from '../../src-pipeline/images/s3-image-store.js';
import { openImageUploadQueue, type ImageUploadQueueOptions, type UploadTarget } from '../../src-pipeline/images/upload-queue.js';
import { openLocalImageStore } from '../../src-pipeline/images/local-image-store.js';
import { ImageUploadSink } from '../../src-pipeline/sinks/image-upload-sink.js';
import { StoreSink } from '../../src-pipeline/sinks/store-sink.js';
import { openSqliteStorage } from '../../src-pipeline/store/sqlite.js';
import { makeEvent } from '../api/support.js';
import { freePort } from '../support/tools.js';
import { s3Settings, s3Skip } from '../support/services.js';
import { jpegBytes, keyOf, objectBytes, objectNames, removeBuckets, s3Admin } from '../support/s3.js';

const skip = s3Skip('test/store/s3-upload-queue.test.ts');
const buckets: string[] = [];
const dirs: string[] = [];

async function store(bucket: string, endpoint = s3Settings().endpoint): Promise<S3ImageStore> {
  const s = s3Settings();
  return openS3ImageStore({
    endpoint,
    region: s.region,
    accessKey: s.accessKey,
    secretKey: s.secretKey,
    bucket,
    checkBucket: false,
    requestTimeoutMs: 5_000,
    retry: { attempts: 1, initialMs: 10, maxMs: 10 },
  });
}

function newBucket(): string {
  const b = `alpr-queue-${randomUUID().slice(0, 12)}`;
  buckets.push(b);
  return b;
}

async function tempDir(): Promise<string> {
  const d = await mkdtemp(join(tmpdir(), 'ovr-upq-'));
  dirs.push(d);
  return d;
}

const fast: Partial<ImageUploadQueueOptions> = { retryInitialMs: 50, retryMaxMs: 200, fsync: false };

describe('ImageUploadQueue (real S3 server)', { skip }, () => {
  after(async () => {
    await removeBuckets(buckets);
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });

  it('returns the s3:// URL at once, uploads with metadata (creating the bucket), then keeps the picture cached as uploaded', async () => {
    const bucket = newBucket();
    const dir = await tempDir();
    const q = await openImageUploadQueue({ dir, target: await store(bucket), ...fast });
    const id = randomUUID();
    const bytes = jpegBytes(4096, 0x21);
    const url = await q.enqueue('plate', id, '2024-05-01T10:11:12.000Z', bytes, {
      camera_id: 'cam-1',
      track_id: '42',
      plate_text: 'AB123CD',
      quality_score: 0.9,
      frame_number: 77,
    });
    assert.equal(url, `s3://${bucket}/2024/05/01/${id}-plate.jpg`);
    assert.ok(existsSync(join(dir, 'pending', keyOf(url))) || existsSync(join(dir, 'uploaded', keyOf(url))), 'on local disk before enqueue resolves');
    assert.equal(await q.drained(20_000), true);

    const st = await s3Admin().statObject(bucket, keyOf(url));
    assert.equal(st.size, bytes.length);
    assert.equal(st.metaData['camera-id'], 'cam-1');
    assert.equal(st.metaData['track-id'], '42');
    assert.equal(st.metaData['plate-text'], 'AB123CD');
    assert.equal(st.metaData['quality-score'], '0.9');
    assert.equal(st.metaData['frame-number'], '77');
    assert.equal(st.metaData['captured-at'], '2024-05-01T10:11:12.000Z');
    assert.deepEqual(await objectBytes(bucket, keyOf(url)), bytes);

    assert.equal(existsSync(join(dir, 'pending', keyOf(url))), false);
    assert.equal(existsSync(join(dir, 'pending', `${keyOf(url)}.json`)), false);
    const cached = await q.localFile(url);
    assert.equal(cached, join(dir, 'uploaded', keyOf(url)));
    assert.deepEqual(await readFile(cached), bytes);
    const s = q.stats();
    assert.equal(s.pending, 0);
    assert.equal(s.uploaded, 1);
    assert.equal(s.cached, 1);
    assert.equal(s.cachedBytes, bytes.length);
    assert.equal(await q.localFile(`s3://other-bucket/${keyOf(url)}`), null);
    assert.equal(await q.localFile(`s3://${bucket}/../../etc/passwd`), null);
    await q.close();
  });

  it('runs at most `concurrency` uploads at once and uploads every picture', async () => {
    const bucket = newBucket();
    const real = await store(bucket);
    let active = 0;
    let peak = 0;
    // The real store, wrapped only to count how many of its puts overlap.
    const counting: UploadTarget = {
      bucket: real.bucket,
      urlOfKey: (k) => real.urlOfKey(k),
      ensureBucket: () => real.ensureBucket(),
      put: async (...args) => {
        active++;
        peak = Math.max(peak, active);
        try {
          return await real.put(...args);
        } finally {
          active--;
        }
      },
    };
    const q = await openImageUploadQueue({ dir: await tempDir(), target: counting, concurrency: 4, ...fast });
    const urls = await Promise.all(
      Array.from({ length: 40 }, (_, i) => q.enqueue(i % 2 ? 'frame' : 'vehicle', randomUUID(), '2024-06-01T00:00:00Z', jpegBytes(20_000, i))),
    );
    assert.equal(await q.drained(60_000), true);
    assert.ok(peak <= 4, `peak concurrency ${peak}`);
    assert.ok(peak >= 2, `uploads overlapped (peak ${peak})`);
    assert.equal((await objectNames(bucket)).length, urls.length);
    await q.close();
  });

  it('S3 unreachable: enqueue still succeeds, uploads are retried with backoff and resume after a restart with nothing lost', async () => {
    const bucket = newBucket();
    const dir = await tempDir();
    const deadPort = await freePort();
    const logs: { level: string; message: string; details?: object }[] = [];
    const down = await openImageUploadQueue({
      dir,
      target: await store(bucket, `http://127.0.0.1:${deadPort}`),
      ...fast,
      log: (level, message, details) => logs.push({ level, message, details }),
    });
    const items = Array.from({ length: 12 }, (_, i) => ({ id: randomUUID(), bytes: jpegBytes(1000 + i, i + 1) }));
    const urls = [];
    for (const it of items) urls.push(await down.enqueue('plate', it.id, '2024-07-01T12:00:00Z', it.bytes, { camera_id: 'cam-x' }));
    await new Promise((r) => setTimeout(r, 600));
    const s = down.stats();
    assert.equal(s.pending, items.length, 'nothing is dropped while S3 is unreachable');
    assert.ok(s.failedAttempts >= 2, `retried (${s.failedAttempts} failed attempts)`);
    assert.ok(s.failedAttempts < 40, `with backoff, not in a tight loop (${s.failedAttempts})`);
    assert.ok(s.lastError && /ECONNREFUSED|unavailable/i.test(s.lastError), String(s.lastError));
    assert.ok(!JSON.stringify(logs).includes(s3Settings().secretKey), 'logs never carry the secret');
    assert.ok(logs.some((l) => l.message.includes('retrying')));
    await down.close();

    // A restart with S3 back: everything the first run cached goes up, same keys.
    const up = await openImageUploadQueue({ dir, target: await store(bucket), ...fast });
    assert.equal(up.stats().pending, items.length);
    assert.equal(await up.drained(30_000), true);
    for (const [i, url] of urls.entries()) {
      assert.deepEqual(await objectBytes(bucket, keyOf(url)), items[i].bytes);
      assert.equal((await s3Admin().statObject(bucket, keyOf(url))).metaData['camera-id'], 'cam-x', 'metadata survives the restart (sidecar)');
    }
    await up.close();
  });

  it('an enqueue of the same picture again replaces it (the newer bytes end up in S3 and in the cache)', async () => {
    const bucket = newBucket();
    const q = await openImageUploadQueue({ dir: await tempDir(), target: await store(bucket), ...fast });
    const id = randomUUID();
    const first = await q.enqueue('frame', id, '2024-05-05T05:05:05Z', jpegBytes(3000, 1));
    const second = await q.enqueue('frame', id, '2024-05-05T05:05:05Z', jpegBytes(5000, 2));
    assert.equal(first, second);
    assert.equal(await q.drained(20_000), true);
    // An update after the first upload landed replaces the uploaded copy too.
    const third = await q.enqueue('frame', id, '2024-05-05T05:05:05Z', jpegBytes(7000, 3));
    assert.equal(await q.drained(20_000), true);
    assert.deepEqual(await objectBytes(bucket, keyOf(third)), jpegBytes(7000, 3));
    assert.deepEqual(await readFile((await q.localFile(third)) as string), jpegBytes(7000, 3));
    assert.equal(q.stats().cached, 1);
    await q.close();
  });

  it('retention removes uploaded pictures only; over the size cap with pictures not uploaded it raises the alarm and keeps them', async () => {
    const bucket = newBucket();
    const dir = await tempDir();
    const q = await openImageUploadQueue({ dir, target: await store(bucket), retentionHours: 0, ...fast });
    const url = await q.enqueue('plate', randomUUID(), '2024-05-01T00:00:00Z', jpegBytes(500, 9));
    assert.equal(await q.drained(20_000), true);
    assert.equal(await q.sweep(), 1);
    assert.equal(existsSync(join(dir, 'uploaded', keyOf(url))), false);
    assert.equal(existsSync(join(dir, 'uploaded', '2024')), false, 'emptied day folders go');
    assert.equal(q.stats().removed, 1);
    assert.equal((await s3Admin().statObject(bucket, keyOf(url))).size, 500, 'the S3 copy stays');
    await q.close();

    const logs: { level: string; message: string }[] = [];
    const dead = await openImageUploadQueue({
      dir: await tempDir(),
      target: await store(newBucket(), `http://127.0.0.1:${await freePort()}`),
      maxCacheBytes: 3000,
      retentionHours: 0,
      ...fast,
      log: (level, message) => logs.push({ level, message }),
    });
    const pending = [];
    for (let i = 0; i < 5; i++) pending.push(await dead.enqueue('plate', randomUUID(), '2024-05-01T00:00:00Z', jpegBytes(1000, i)));
    assert.equal(await dead.sweep(), 0, 'pending pictures are never removed');
    const s = dead.stats();
    assert.equal(s.overCap, true);
    assert.equal(s.pending, 5);
    assert.equal(s.pendingBytes, 5000);
    assert.equal(logs.filter((l) => l.level === 'error' && l.message.startsWith('ALARM')).length, 1, 'one alarm per crossing');
    for (const u of pending) assert.ok(await dead.localFile(u));
    await dead.close();
  });

  it('at open: stray sidecars are removed, pictures without a sidecar still upload (key from the file name)', async () => {
    const bucket = newBucket();
    const dir = await tempDir();
    const id = randomUUID();
    const { mkdir } = await import('node:fs/promises');
    await mkdir(join(dir, 'pending', '2024', '03', '04'), { recursive: true });
    await writeFile(join(dir, 'pending', '2024', '03', '04', `${id}-vehicle.jpg`), jpegBytes(321, 4));
    await writeFile(join(dir, 'pending', '2024', '03', '04', `${randomUUID()}-plate.jpg.json`), '{}');
    const q = await openImageUploadQueue({ dir, target: await store(bucket), ...fast });
    assert.equal(await q.drained(20_000), true);
    assert.equal((await s3Admin().statObject(bucket, `2024/03/04/${id}-vehicle.jpg`)).size, 321);
    assert.equal((await stat(join(dir, 'uploaded', '2024', '03', '04', `${id}-vehicle.jpg`))).size, 321);
    await q.close();
    await assert.rejects(q.enqueue('plate', id, '2024-01-01T00:00:00Z', jpegBytes(1, 1)), (e: unknown) => e instanceof AlprError && e.code === 'USAGE');
  });
  it('ImageUploadSink: events get s3:// URLs with metadata; a picture the cache refuses is handed on and stored locally', async () => {
    const bucket = newBucket();
    const dir = await tempDir();
    const storage = await openSqliteStorage(join(dir, 'events.sqlite'));
    const local = await openLocalImageStore(join(dir, 'images'));
    const q = await openImageUploadQueue({ dir: join(dir, 'uploads'), target: await store(bucket), ...fast });
    const logs: string[] = [];
    const sink = new ImageUploadSink({ inner: new StoreSink({ storage, images: local }), queue: q, log: (_l, m) => logs.push(m) });
    const event = makeEvent({ plate: 'XY98765' });
    await sink.write({ event, images: { plate: jpegBytes(800, 5), vehicle: jpegBytes(900, 6), frame: null } });
    const stored = await storage.get(event.event_id);
    assert.equal(stored?.images.plate_url, `s3://${bucket}/2024/05/01/${event.event_id}-plate.jpg`);
    assert.equal(stored?.images.vehicle_url, `s3://${bucket}/2024/05/01/${event.event_id}-vehicle.jpg`);
    assert.equal(stored?.images.frame_url, null);
    assert.equal(await q.drained(20_000), true);
    const st = await s3Admin().statObject(bucket, `2024/05/01/${event.event_id}-vehicle.jpg`);
    assert.equal(st.metaData['camera-id'], 'cam-1');
    assert.equal(st.metaData['track-id'], '7');
    assert.equal(st.metaData['plate-text'], 'XY98765');
    assert.equal(st.metaData['quality-score'], '0.8');
    assert.equal(st.metaData['frame-number'], '10');

    // The cache refuses (closed here; a full disk in practice): the bytes go on to the inner sink.
    await q.close();
    const second = makeEvent();
    await sink.write({ event: second, images: { plate: jpegBytes(400, 7) } });
    assert.equal((await storage.get(second.event_id))?.images.plate_url, `/images/2024/05/01/${second.event_id}-plate.jpg`);
    assert.deepEqual(sink.stats(), { queued: 2, cacheFailures: 1 });
    assert.ok(logs.some((m) => m.includes('handing it on')));
    await sink.close();
    await storage.close();
  });
});
