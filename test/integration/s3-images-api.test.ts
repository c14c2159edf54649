/**
 * The API and pictures in S3, against the real S3 server from `scripts/services.sh up s3`:
 * an event written through the S3 image sink carries s3:// URLs; the API serves the cached copy
 * while there is one and otherwise redirects (302) to a presigned GET URL that S3 honours;
 * local /images/ URLs keep working; upload numbers show in /health and /metrics.
 * Also `serve` end to end: a clip through the pipeline with config/images.yaml enabling S3.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { copyFileSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { serveCmd } from '../../src-pipeline/cli/serve.js';
import { imageFetchPath } from '../../src-pipeline/common/image-urls.js';
import { loadImagesConfig } from '../../src-pipeline/images/images-config-loader.js';
import { openLocalImageStore } from '../../src-pipeline/images/local-image-store.js';
import { openS3Images, type S3Images } from '../../src-pipeline/images/s3-images.js';
import { ImageUploadSink } from '../../src-pipeline/sinks/image-upload-sink.js';
import { StoreSink } from '../../src-pipeline/sinks/store-sink.js';
import { defaultConfigDir } from '../../src-pipeline/config-loader.js';
import { s3Settings, s3Skip } from '../support/services.js';
import { jpegBytes, removeBuckets, s3Admin, s3Env } from '../support/s3.js';
import { sharedDataDir, sharedSkip } from '../support/shared.js';
import { getJson, makeEvent, openTestStore, startCommand, startServer, type Running, type StartedCommand, type TestStore } from '../api/support.js';

const skip = s3Skip('test/integration/s3-images-api.test.ts');
const buckets: string[] = [];

function configWith(imagesYaml: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'ovr-s3api-cfg-'));
  for (const f of readdirSync(defaultConfigDir())) if (f.endsWith('.yaml')) copyFileSync(join(defaultConfigDir(), f), join(dir, f));
  writeFileSync(join(dir, 'images.yaml'), imagesYaml);
  return dir;
}

after(async () => {
  await removeBuckets(buckets);
});

describe('API image routes with S3 (real S3 server)', { skip }, () => {
  let store: TestStore;
  let s3: S3Images;
  let srv: Running;
  let plain: Running;
  let cfg: string;
  let cacheDir: string;
  const bucket = `alpr-api-${randomUUID().slice(0, 12)}`;
  buckets.push(bucket);

  before(async () => {
    store = await openTestStore();
    cfg = configWith(`s3:\n  enabled: true\n  bucket: ${bucket}\n  presign_expiry_s: 120\ncache:\n  retention_hours: 0\n`);
    cacheDir = mkdtempSync(join(tmpdir(), 'ovr-s3api-cache-'));
    s3 = (await openS3Images(loadImagesConfig(cfg, s3Env()), { cacheDir })) as S3Images;
    assert.ok(s3?.queue);
    srv = await startServer({ storage: store.storage, s3Images: s3.access, imagesDir: join(store.dir, 'images') });
    plain = await startServer({ storage: store.storage, imagesDir: join(store.dir, 'images') });
  });
  after(async () => {
    await srv.server.close();
    await plain.server.close();
    await s3.close();
    await store.cleanup();
    rmSync(cfg, { recursive: true, force: true });
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('serves the cached copy, then redirects to a presigned URL once the cache let it go; /health and /metrics show the queue', async () => {
    const sink = new ImageUploadSink({ inner: new StoreSink({ storage: store.storage }), queue: s3.queue!, includePlateText: false });
    const event = makeEvent();
    const plate = jpegBytes(1500, 0x31);
    await sink.write({ event, images: { plate, vehicle: null, frame: jpegBytes(6000, 0x32) } });
    const stored = await store.storage.get(event.event_id);
    const key = `2024/05/01/${event.event_id}-plate.jpg`;
    assert.equal(stored?.images.plate_url, `s3://${bucket}/${key}`);
    assert.equal(stored?.images.vehicle_url, null);

    // Before or right after its upload: the edge's copy (also where a client maps the s3:// URL to).
    assert.equal(imageFetchPath(stored?.images.plate_url), `/images/s3/${bucket}/${key}`);
    const cached = await fetch(`${srv.url}/events/${event.event_id}/images/plate`, { redirect: 'manual' });
    assert.equal(cached.status, 200);
    assert.equal(cached.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual(Buffer.from(await cached.arrayBuffer()), plate);

    assert.equal(await s3.queue!.drained(20_000), true);
    const st = await s3Admin().statObject(bucket, key);
    assert.equal(st.metaData['plate-text'], undefined, 'includePlateText off keeps the plate out of metadata');
    assert.equal(st.metaData['camera-id'], event.camera_id);
    const health = (await getJson(`${srv.url}/health`)).body as { components: Record<string, { status: string }>; image_uploads?: { pending: number } };
    assert.equal(health.components.s3.status, 'ok');
    assert.equal(health.image_uploads?.pending, 0);
    const metrics = await (await fetch(`${srv.url}/metrics`)).text();
    assert.match(metrics, /^ovr_alpr_image_uploads_pending 0$/m);
    assert.match(metrics, /^ovr_alpr_image_uploads_done 2$/m);
    assert.match(metrics, /^ovr_alpr_image_cache_over_cap 0$/m);

    // retention_hours 0: the sweep lets the uploaded copies go; from now on the API redirects.
    assert.equal(await s3.queue!.sweep(), 2);
    for (const path of [`/events/${event.event_id}/images/plate`, `/images/s3/${bucket}/${key}`]) {
      const res = await fetch(`${srv.url}${path}`, { redirect: 'manual' });
      assert.equal(res.status, 302, path);
      const location = res.headers.get('location') as string;
      assert.ok(location.startsWith(`${s3Settings().endpoint}/${bucket}/${key}?`), location);
      assert.match(location, /X-Amz-Signature=/);
      assert.match(location, /X-Amz-Expires=120/);
      assert.ok(!location.includes(s3Settings().secretKey));
      const img = await fetch(location);
      assert.equal(img.status, 200);
      assert.deepEqual(Buffer.from(await img.arrayBuffer()), plate);
    }
    // The console asks for the bytes through the API (its CSP allows no other image origin).
    const proxied = await fetch(`${srv.url}/images/s3/${bucket}/${key}?proxy=true`, { redirect: 'manual' });
    assert.equal(proxied.status, 200);
    assert.equal(proxied.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual(Buffer.from(await proxied.arrayBuffer()), plate);
    assert.equal((await fetch(`${srv.url}/images/s3/${bucket}/2024/01/01/missing-plate.jpg?proxy=true`)).status, 404);
    // A tampered signature is refused by S3 (it really checks them).
    const loc = (await fetch(`${srv.url}/images/s3/${bucket}/${key}`, { redirect: 'manual' })).headers.get('location') as string;
    assert.equal((await fetch(loc.replace(/X-Amz-Signature=[0-9a-f]{4}/, 'X-Amz-Signature=0000'))).status, 403);
  });

  it('404s: other bucket, unsafe or foreign keys, missing kinds, S3 not configured', async () => {
    const event = makeEvent({ images: { plate_url: `s3://${bucket}/2024/05/01/x-plate.jpg`, vehicle_url: null, frame_url: null } });
    await store.storage.insert(event);
    for (const path of [
      `/images/s3/other-bucket/2024/05/01/x-plate.jpg`,
      `/images/s3/${bucket}/notes/readme.txt`,
      `/images/s3/${bucket}/2024/05/01/..%2F..%2Fx-plate.jpg`,
      `/events/${event.event_id}/images/vehicle`,
      `/events/${randomUUID()}/images/plate`,
    ]) {
      const r = await getJson(`${srv.url}${path}`);
      assert.equal(r.status, 404, path);
      assert.equal(r.body.error?.code, 'NOT_FOUND');
    }
    assert.equal((await getJson(`${srv.url}/events/${event.event_id}/images/thumb`)).status, 400);
    const off = await getJson(`${plain.url}/events/${event.event_id}/images/plate`);
    assert.equal(off.status, 404);
    assert.match(String(off.body.error?.message), /S3, which is not configured/);
    assert.equal((await getJson(`${plain.url}/images/s3/${bucket}/2024/05/01/x-plate.jpg`)).status, 404);
  });

  it('local pictures keep their /images/ route; the event route redirects to it', async () => {
    const local = await openLocalImageStore(join(store.dir, 'images'));
    const sink = new StoreSink({ storage: store.storage, images: local });
    const event = makeEvent();
    await sink.write({ event, images: { plate: jpegBytes(700, 0x44) } });
    const res = await fetch(`${srv.url}/events/${event.event_id}/images/plate`, { redirect: 'manual' });
    assert.equal(res.status, 302);
    const location = res.headers.get('location') as string;
    assert.equal(location, `/images/2024/05/01/${event.event_id}-plate.jpg`);
    const img = await fetch(`${srv.url}${location}`);
    assert.equal(img.status, 200);
    assert.deepEqual(Buffer.from(await img.arrayBuffer()), jpegBytes(700, 0x44));
  });
});

const CLIP03 = sharedDataDir('video', '03_nz_highway_incar_qengineering.mp4');

describe('serve with config/images.yaml enabling S3 (real S3 server, real pipeline)', { skip: skip || sharedSkip([CLIP03]) }, () => {
  it('events carry s3:// URLs at once and every picture lands in the bucket', { timeout: 180_000 }, async () => {
    const bucket = `alpr-serve-${randomUUID().slice(0, 12)}`;
    buckets.push(bucket);
    const cfg = configWith(`s3:\n  enabled: true\n  bucket: ${bucket}\n`);
    const data = mkdtempSync(join(tmpdir(), 'ovr-s3serve-'));
    let cmd: StartedCommand | undefined;
    try {
      cmd = await startCommand(serveCmd, ['--data-dir', data, '--port', '0', '--source', CLIP03, '--config', cfg, '--log-level', 'warn'], s3Env());
      const url = cmd.url;
      const deadline = Date.now() + 150_000;
      let cams: { cameras: { state: string; events: number }[] } = { cameras: [] };
      while (Date.now() < deadline) {
        cams = (await (await fetch(`${url}/cameras`)).json()) as typeof cams;
        if (cams.cameras[0]?.state === 'finished') break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(cams.cameras[0]?.state, 'finished', JSON.stringify(cams));
      const recent = (await getJson(`${url}/events/recent?limit=10`)).body as unknown as {
        events: { event_id: string; images: Record<string, string | null> }[];
      };
      assert.ok(recent.events.length >= 1, JSON.stringify(recent));
      let pending = -1;
      while (Date.now() < deadline) {
        pending = ((await getJson(`${url}/health`)).body as { image_uploads?: { pending: number } }).image_uploads?.pending ?? -1;
        if (pending === 0) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.equal(pending, 0, 'uploads drained');
      for (const e of recent.events) {
        for (const field of ['plate_url', 'vehicle_url', 'frame_url']) {
          const u = e.images[field];
          if (u === null) continue;
          assert.match(u, new RegExp(`^s3://${bucket}/\\d{4}/\\d{2}/\\d{2}/${e.event_id}-(plate|vehicle|frame)\\.jpg$`));
          const st = await s3Admin().statObject(bucket, u.slice(`s3://${bucket}/`.length));
          assert.ok(st.size > 0);
          assert.equal(st.metaData['camera-id'], '03_nz_highway_incar_qengineering');
        }
        assert.ok(e.images.plate_url, 'the plate picture is saved');
        const img = await fetch(`${url}/events/${e.event_id}/images/plate`);
        assert.equal(img.status, 200);
        assert.equal(img.headers.get('content-type'), 'image/jpeg');
      }
    } finally {
      if (cmd) assert.equal(await cmd.stop(), 0);
      rmSync(data, { recursive: true, force: true });
      rmSync(cfg, { recursive: true, force: true });
    }
  });
});
