/**
 * The API routes the operator console needs, on a real SQLite store and a real server: the
 * console's static files at /ui/ (CSP header, no token for the files, 503 when not built),
 * corrections and review marks (PATCH /events/:id, validated and audited), the evidence zip,
 * and live previews (MJPEG, frame.jpg, the overlay socket) fed the way serve feeds them.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { unzipSync } from 'fflate';
import sharp from 'sharp';
import WebSocket from 'ws';
import type { CameraOut } from '../../src-pipeline/api/schemas.js';
import type { StoredEvent } from '../../src-pipeline/common/plate-event.js';
import type { FrameReport } from '../../src-pipeline/pipeline/camera-pipeline.js';
import { getJson, makeEvent, openTestStore, startServer, type Running, type TestStore } from './support.js';

const TOKEN = 'console-routes-token';
const auth = { authorization: `Bearer ${TOKEN}` };

function camera(id: string): CameraOut {
  return {
    id,
    state: 'running',
    source_state: 'running',
    restarts: 0,
    last_error: null,
    frames: 10,
    fps_in: 5,
    fps_out: 5,
    dropped: 0,
    decode_errors: 0,
    reconnects: 0,
    tracks: 1,
    events: 0,
    width: 64,
    height: 48,
  };
}

describe('console routes', () => {
  let store: TestStore;
  let api: Running;
  const uiDir = mkdtempSync(join(tmpdir(), 'ovr-ui-'));
  const watched: [string, boolean][] = [];
  let jpeg: Buffer;

  before(async () => {
    store = await openTestStore();
    mkdirSync(join(store.dir, 'images', 'p'), { recursive: true });
    jpeg = await sharp({ create: { width: 64, height: 48, channels: 3, background: { r: 200, g: 30, b: 30 } } })
      .jpeg()
      .toBuffer();
    writeFileSync(join(store.dir, 'images', 'p', 'plate.jpg'), jpeg);
    writeFileSync(
      join(uiDir, 'index.html'),
      `<!doctype html><html><head><meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self'" /></head><body><div id="root"></div></body></html>`,
    );
    mkdirSync(join(uiDir, 'assets'));
    writeFileSync(join(uiDir, 'assets', 'app-1234.js'), 'console.log(1)');
    api = await startServer({
      storage: store.storage,
      token: TOKEN,
      uiDir,
      imagesDir: join(store.dir, 'images'),
      cameras: () => [camera('cam-1')],
      previewWatch: (id, on) => watched.push([id, on]),
    });
  });

  after(async () => {
    await api?.server.close();
    await store?.cleanup();
    rmSync(uiDir, { recursive: true, force: true });
  });

  describe('/ui/', () => {
    it('serves index.html and assets without a token, with the page CSP as a header; the API still needs the token', async () => {
      const index = await fetch(`${api.url}/ui/`);
      assert.equal(index.status, 200);
      assert.equal(index.headers.get('content-security-policy'), "default-src 'self'; script-src 'self'");
      assert.equal(index.headers.get('cache-control'), 'no-cache');
      const asset = await fetch(`${api.url}/ui/assets/app-1234.js`);
      assert.equal(asset.status, 200);
      assert.match(asset.headers.get('cache-control') ?? '', /immutable/);
      assert.equal((await fetch(`${api.url}/events/recent`)).status, 401);
    });

    it('/ui keeps the query when it adds the slash; unknown routes get index.html, missing assets 404', async () => {
      const r = await fetch(`${api.url}/ui?token=abc`, { redirect: 'manual' });
      assert.equal(r.status, 302);
      assert.equal(r.headers.get('location'), '/ui/?token=abc');
      assert.match(await (await fetch(`${api.url}/ui/events/xyz`)).text(), /id="root"/);
      const missing = await getJson(`${api.url}/ui/assets/nope.js`);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.error?.code, 'NOT_FOUND');
    });

    it('GET / links to the console', async () => {
      const { body } = await getJson(`${api.url}/`, { headers: auth });
      assert.equal((body.links as Record<string, string>).ui, '/ui/');
    });

    it('answers 503 with what to run when the console is not built', async () => {
      const other = await startServer({ storage: store.storage, uiDir: join(uiDir, 'missing') });
      try {
        const { status, body } = await getJson(`${other.url}/ui/`);
        assert.equal(status, 503);
        assert.equal(body.error?.code, 'UNAVAILABLE');
        assert.match(body.error?.message ?? '', /npm run build:renderer/);
      } finally {
        await other.server.close();
      }
    });
  });

  describe('PATCH /events/:event_id', () => {
    let e: ReturnType<typeof makeEvent>;
    before(async () => {
      e = makeEvent({ plate: 'KLM456', images: { plate_url: '/images/p/plate.jpg', vehicle_url: '/images/p/gone.jpg', frame_url: null } });
      await store.storage.insert(e);
    });
    const patch = (id: string, body: unknown) =>
      getJson(`${api.url}/events/${id}`, { method: 'PATCH', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify(body) });

    it('saves a correction beside the read and a review mark, with the operator, and audits both', async () => {
      const { status, body } = await patch(e.event_id, { corrected_text: 'KLM 458', reviewed: true, operator: 'Dana' });
      assert.equal(status, 200, JSON.stringify(body));
      const got = body as unknown as StoredEvent;
      assert.equal(got.plate.normalized_text, 'KLM456');
      assert.equal(got.review?.corrected_text, 'KLM 458');
      assert.equal(got.review?.corrected_normalized, 'KLM458');
      assert.equal(got.review?.corrected_by, 'Dana (token)');
      assert.equal(got.review?.reviewed, true);
      const search = await getJson(`${api.url}/events/search?plate=KLM45*`, { headers: auth });
      assert.deepEqual(
        (search.body.events as StoredEvent[]).map((x) => x.event_id),
        [e.event_id],
      );
      const exact = await getJson(`${api.url}/events/search?plate=KLM458&reviewed=true`, { headers: auth });
      assert.equal((exact.body.events as StoredEvent[]).length, 1);
      const audit = await getJson(`${api.url}/audit?limit=10`, { headers: auth });
      const actions = (audit.body.entries as { action: string; details: Record<string, unknown> }[]).filter((a) => a.details.event_id === e.event_id);
      assert.deepEqual(actions.map((a) => a.action).sort(), ['events.correct', 'events.review']);
      assert.equal(actions.find((a) => a.action === 'events.correct')!.details.corrected_text, 'KLM 458');
    });

    it('refuses bad bodies with 400 naming the field, and unknown events with 404', async () => {
      const empty = await patch(e.event_id, {});
      assert.equal(empty.status, 400);
      assert.equal(empty.body.error?.field, 'corrected_text');
      const bad = await patch(e.event_id, { corrected_text: '--' });
      assert.equal(bad.status, 400);
      assert.match(bad.body.error?.message ?? '', /letters or digits/);
      const badReview = await patch(e.event_id, { reviewed: 'yes' });
      assert.equal(badReview.status, 400);
      assert.equal(badReview.body.error?.field, 'reviewed');
      const unknown = await patch('6f1c7c1e-4b7a-4c55-9d55-2a4c3f0f0a11', { reviewed: true });
      assert.equal(unknown.status, 404);
    });

    it('evidence.zip holds event.json and the images, with their sha256 in the manifest; a missing image is listed', async () => {
      const res = await fetch(`${api.url}/events/${e.event_id}/evidence.zip`, { headers: auth });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-disposition') ?? '', /evidence-.*\.zip/);
      const files = unzipSync(new Uint8Array(await res.arrayBuffer()));
      assert.deepEqual(Object.keys(files).sort(), ['event.json', 'manifest.json', 'plate.jpg']);
      assert.deepEqual(Buffer.from(files['plate.jpg']), jpeg);
      const manifest = JSON.parse(new TextDecoder().decode(files['manifest.json'])) as {
        files: { name: string; sha256: string; bytes: number }[];
        missing: { name: string }[];
      };
      for (const f of manifest.files) assert.equal(createHash('sha256').update(files[f.name]).digest('hex'), f.sha256);
      assert.deepEqual(
        manifest.missing.map((m) => m.name),
        ['vehicle'],
      );
      const event = JSON.parse(new TextDecoder().decode(files['event.json'])) as StoredEvent;
      assert.equal(event.review?.corrected_normalized, 'KLM458', 'the export carries the correction');
      assert.equal((await fetch(`${api.url}/events/6f1c7c1e-4b7a-4c55-9d55-2a4c3f0f0a11/evidence.zip`, { headers: auth })).status, 404);
    });
  });

  describe('live previews', () => {
    const report: FrameReport = {
      index: 12,
      analyzed: true,
      w: 64,
      h: 48,
      tracks: [{ id: 3, box: { x1: 1.4, y1: 2, x2: 30.6, y2: 40 }, type: 'car', plate: 'ABC123', confidence: 0.91234 }],
      plates: [{ track_id: 3, box: { x1: 10, y1: 30, x2: 20, y2: 35 }, text: 'ABC123', confidence: 0.8 }],
    };

    it('the overlay socket gets small overlay messages for analysed frames', async () => {
      const ws = new WebSocket(`${api.url.replace('http', 'ws')}/live/overlays?token=${TOKEN}`);
      const messages: Record<string, unknown>[] = [];
      await new Promise<void>((resolve, reject) => {
        ws.on('message', (m) => {
          messages.push(JSON.parse(String(m)) as Record<string, unknown>);
          if (messages.length === 1) api.server.preview.overlay('cam-1', report);
          if (messages.length === 2) resolve();
        });
        ws.on('error', reject);
      });
      ws.close();
      assert.equal(messages[0].type, 'hello');
      assert.deepEqual(messages[1], {
        type: 'overlay',
        camera_id: 'cam-1',
        index: 12,
        w: 64,
        h: 48,
        tracks: [{ id: '3', type: 'car', box: [1, 2, 31, 40], plate: 'ABC123', confidence: 0.912 }],
        plates: [{ track_id: '3', box: [10, 30, 20, 35], text: 'ABC123', confidence: 0.8 }],
      });
    });

    it('MJPEG: watching turns the camera preview on, each JPEG goes out as a part, and a client that leaves is dropped', async () => {
      watched.length = 0;
      const ctl = new AbortController();
      const res = await fetch(`${api.url}/cameras/cam-1/stream.mjpeg`, { headers: auth, signal: ctl.signal });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^multipart\/x-mixed-replace; boundary=/);
      assert.deepEqual(watched, [['cam-1', true]]);
      api.server.preview.jpeg('cam-1', { index: 5, w: 64, h: 48, data: new Uint8Array(jpeg) });
      const reader = res.body!.getReader();
      let got = Buffer.alloc(0);
      while (!got.includes(jpeg)) got = Buffer.concat([got, Buffer.from((await reader.read()).value!)]);
      assert.match(got.toString('latin1'), new RegExp(`Content-Type: image/jpeg\\r\\nContent-Length: ${jpeg.length}\\r\\nX-Frame-Index: 5`));
      ctl.abort();
      // The server notices the closed connection and drops the watcher (the encoder itself
      // lingers 10 s after the last one, so a page reload does not flap it).
      for (let i = 0; i < 100 && api.server.preview.stats().watched.length > 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(api.server.preview.stats().watched, []);
    });

    it('frame.jpg gives the latest frame; unknown cameras 404; a server without a pipeline 503', async () => {
      const res = await fetch(`${api.url}/cameras/cam-1/frame.jpg`, { headers: auth });
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'image/jpeg');
      assert.deepEqual(Buffer.from(await res.arrayBuffer()), jpeg);
      assert.equal((await fetch(`${api.url}/cameras/nope/frame.jpg`, { headers: auth })).status, 404);
      const bare = await startServer({ storage: store.storage });
      try {
        const r = await getJson(`${bare.url}/cameras/cam-1/stream.mjpeg`);
        assert.equal(r.status, 503);
        assert.match(r.body.error?.message ?? '', /no camera pipeline/);
      } finally {
        await bare.server.close();
      }
    });
  });
});

describe('PreviewHub and PreviewEncoder', () => {
  it('the first watcher turns a camera on, the last one off after the linger; a quick return does not flap', async () => {
    const { PreviewHub } = await import('../../src-pipeline/api/preview.js');
    const calls: [string, boolean][] = [];
    const hub = new PreviewHub({ setWatched: (id, on) => calls.push([id, on]), lingerMs: 30 });
    const a = hub.watch('c', () => {});
    const b = hub.watch('c', () => {});
    a();
    b();
    const again = hub.watch('c', () => {});
    again();
    assert.deepEqual(calls, [['c', true]]);
    await new Promise((r) => setTimeout(r, 80));
    assert.deepEqual(calls, [
      ['c', true],
      ['c', false],
    ]);
    hub.close();
  });

  it('encodes only while watched, downscaled to at most 960 px, one encode at a time', async () => {
    const { PreviewEncoder } = await import('../../src-pipeline/pipeline/preview-encoder.js');
    const out: { index: number; w: number; h: number; data: Uint8Array }[] = [];
    const enc = new PreviewEncoder({ fps: 1000, onJpeg: (j) => out.push(j) });
    const img = { width: 1920, height: 1080, data: new Uint8Array(1920 * 1080 * 3).fill(90) };
    enc.offer(1, img);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(out.length, 0, 'nothing while nobody watches');
    enc.setWatched(true);
    enc.offer(2, img);
    enc.offer(3, img); // still encoding frame 2: skipped, not queued
    for (let i = 0; i < 100 && out.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(
      out.map((j) => [j.index, j.w, j.h]),
      [[2, 960, 540]],
    );
    assert.deepEqual([...out[0].data.subarray(0, 2)], [0xff, 0xd8], 'a JPEG');
  });
});
