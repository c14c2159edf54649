/**
 * Settings routes on a real Fastify server over the real SQLite store: the cameras file is
 * edited on disk (comments kept, validated with the pipeline's schema), the connection test
 * and snapshot run the real ffprobe/ffmpeg on a shared clip, retention/privacy go to the data
 * dir's settings.yaml, bus.yaml is edited in a temp config folder and its connection test
 * talks to the real Kafka broker and schema registry from scripts/services.sh.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import sharp from 'sharp';
import { loadCamerasConfig } from '../../src-pipeline/ingest/cameras.js';
import { serveCmd } from '../../src-pipeline/cli/serve.js';
import { AlprError } from '../../src-pipeline/common/errors.js';
import { loadConsoleSettings, privacyKey } from '../../src-pipeline/settings/console-settings.js';
import { openSqliteStorage } from '../../src-pipeline/store/sqlite.js';
import type { LiveCameras, SettingsContext } from '../../src-pipeline/settings/context.js';
import { loadBusConfig } from '../../src-pipeline/config-loader.js';
import type { CameraConfig } from '../../src-pipeline/common/cameras-config.js';
import { kafkaBrokers, kafkaSkip } from '../support/services.js';
import { sharedDataDir, sharedSkip } from '../support/shared.js';
import { ffmpegSkip, freePort } from '../support/tools.js';
import { makeEvent, openTestStore, startServer, type Running, type TestStore } from './support.js';

const CLIP04 = sharedDataDir('video', '04_uk_roundabout_theaiguys_license_plate.mp4');
const TOKEN = 'settings-test-token';
const auth = { authorization: `Bearer ${TOKEN}` };

interface Body {
  error?: { code: string; message: string; field?: string };
  issues?: { path: string; message: string }[];
  [k: string]: unknown;
}

async function call(base: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: Body; type: string | null; raw: Buffer }> {
  const res = await fetch(base + path, {
    method,
    headers: { ...auth, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const raw = Buffer.from(await res.arrayBuffer());
  const type = res.headers.get('content-type');
  return { status: res.status, type, raw, body: type?.includes('json') ? (JSON.parse(raw.toString('utf8')) as Body) : {} };
}

describe('settings API', () => {
  let store: TestStore;
  let run: Running;
  let dir: string;
  let settings: SettingsContext;
  /** Test double of the supervisor's camera hooks: records what the route asked it to apply. */
  const applied: string[] = [];
  const live: LiveCameras = {
    upsert: async (cam: CameraConfig, previousId?: string) =>
      void applied.push(`upsert ${cam.id}${previousId && previousId !== cam.id ? ` (was ${previousId})` : ''}`),
    remove: async (id: string) => (applied.push(`remove ${id}`), true),
  };

  before(async () => {
    store = await openTestStore();
    dir = mkdtempSync(join(tmpdir(), 'ovr-settings-'));
    writeFileSync(join(dir, 'cameras.yaml'), '# site cameras\ncameras:\n  # the gate\n  - id: gate-1\n    source: /tmp/none.mp4\n');
    writeFileSync(join(dir, 'bus.yaml'), '# kafka settings\nenabled: false\ntopic: alpr.plates.detected # main topic\n');
    settings = { camerasFile: join(dir, 'cameras.yaml'), configDir: dir, dataDir: store.dir, env: {}, live };
    run = await startServer({ storage: store.storage, token: TOKEN, settings });
  });
  after(async () => {
    await run.server.close();
    await store.cleanup();
    rmSync(dir, { recursive: true, force: true });
  });

  it('needs the token like every other route', async () => {
    const res = await fetch(`${run.url}/settings/cameras`);
    assert.equal(res.status, 401);
  });

  it('lists the cameras as written in the file', async () => {
    const r = await call(run.url, 'GET', '/settings/cameras');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body.cameras, [{ id: 'gate-1', source: '/tmp/none.mp4' }]);
    assert.equal(r.body.editable, true);
    assert.equal(r.body.live_apply, true);
  });

  it('adds a camera: validated, written with the comments kept, applied live', async () => {
    const cam = {
      id: 'lane-2',
      source: CLIP04,
      region: 'eu',
      roi: [
        [0, 0],
        [100, 0],
        [100, 100],
      ],
      loop: true,
    };
    const r = await call(run.url, 'POST', '/settings/cameras', cam);
    assert.equal(r.status, 201, JSON.stringify(r.body));
    assert.equal(r.body.applied, 'live');
    assert.equal((r.body.camera as { type: string }).type, 'file');
    const text = readFileSync(settings.camerasFile!, 'utf8');
    assert.match(text, /# site cameras/);
    assert.match(text, /# the gate/);
    const loaded = loadCamerasConfig(settings.camerasFile!);
    assert.deepEqual(
      loaded.cameras.map((c) => c.id),
      ['gate-1', 'lane-2'],
    );
    assert.deepEqual(loaded.cameras[1].roi, cam.roi);
    assert.deepEqual(applied.splice(0), ['upsert lane-2']);
  });

  it('refuses an invalid camera with every issue named by field', async () => {
    const r = await call(run.url, 'POST', '/settings/cameras', {
      id: 'bad id!',
      source: '',
      roi: [
        [0, 0],
        [1, 1],
      ],
      width: 640,
    });
    assert.equal(r.status, 400);
    assert.equal(r.body.error?.code, 'BAD_REQUEST');
    const paths = (r.body.issues ?? []).map((i) => i.path).sort();
    assert.deepEqual(paths, ['height', 'id', 'roi', 'source']);
    assert.equal(r.body.error?.field, r.body.issues?.[0].path);
    // Inside the envelope too, where the console's API client reads them.
    assert.deepEqual((r.body.error as { issues?: unknown }).issues, r.body.issues);
    const unknown = await call(run.url, 'POST', '/settings/cameras', { id: 'x', source: 'a.mp4', colour: 'red' });
    assert.equal(unknown.status, 400);
    assert.match(unknown.body.error!.message, /colour/);
    const dup = await call(run.url, 'POST', '/settings/cameras', { id: 'gate-1', source: 'b.mp4' });
    assert.equal(dup.status, 400);
    assert.equal(dup.body.error?.field, 'id');
    assert.equal(loadCamerasConfig(settings.camerasFile!).cameras.length, 2, 'nothing written');
    assert.deepEqual(applied, []);
  });

  it('edits (including a rename) and removes cameras; 404 for an unknown id', async () => {
    const r = await call(run.url, 'PUT', '/settings/cameras/lane-2', { id: 'lane-3', source: CLIP04, region: 'us', enabled: false });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    let cams = loadCamerasConfig(settings.camerasFile!).cameras;
    assert.deepEqual(
      cams.map((c) => [c.id, c.region, c.enabled]),
      [
        ['gate-1', undefined, true],
        ['lane-3', 'us', false],
      ],
    );
    assert.equal((await call(run.url, 'PUT', '/settings/cameras/nope', { id: 'nope', source: 'x.mp4' })).status, 404);
    const del = await call(run.url, 'DELETE', '/settings/cameras/lane-3');
    assert.equal(del.status, 200);
    cams = loadCamerasConfig(settings.camerasFile!).cameras;
    assert.deepEqual(
      cams.map((c) => c.id),
      ['gate-1'],
    );
    assert.equal((await call(run.url, 'DELETE', '/settings/cameras/lane-3')).status, 404);
    assert.deepEqual(applied.splice(0), ['upsert lane-3 (was lane-2)', 'remove lane-3']);
  });

  describe('connection test and snapshot (real ffprobe/ffmpeg on clip 04)', { skip: sharedSkip() || ffmpegSkip() }, () => {
    it('reports codec, size and frame rate', async () => {
      const r = await call(run.url, 'POST', '/settings/cameras/test', { source: CLIP04 });
      assert.equal(r.status, 200);
      assert.equal(r.body.ok, true, JSON.stringify(r.body));
      assert.equal(r.body.codec, 'h264');
      assert.equal(r.body.width, 1280);
      assert.equal(r.body.height, 720);
      assert.equal(r.body.fps, 30);
    });

    it('says why an unreadable source fails', async () => {
      const r = await call(run.url, 'POST', '/settings/cameras/test', { source: join(dir, 'missing.mp4') });
      assert.equal(r.body.ok, false);
      assert.match(String(r.body.error), /No such file/);
      const port = await freePort();
      const rtsp = await call(run.url, 'POST', '/settings/cameras/test', { source: `rtsp://127.0.0.1:${port}/cam` });
      assert.equal(rtsp.body.ok, false);
      assert.ok(String(rtsp.body.error).length > 0);
    });

    it('returns one JPEG frame, scaled when the camera sets a size', async () => {
      const full = await call(run.url, 'POST', '/settings/cameras/snapshot', { source: CLIP04 });
      assert.equal(full.status, 200);
      assert.equal(full.type, 'image/jpeg');
      const meta = await sharp(full.raw).metadata();
      assert.deepEqual([meta.format, meta.width, meta.height], ['jpeg', 1280, 720]);
      const small = await call(run.url, 'POST', '/settings/cameras/snapshot', { source: CLIP04, width: 640, height: 360 });
      const m2 = await sharp(small.raw).metadata();
      assert.deepEqual([m2.width, m2.height], [640, 360]);
      const bad = await call(run.url, 'POST', '/settings/cameras/snapshot', { source: join(dir, 'missing.mp4') });
      assert.equal(bad.status, 400);
      assert.equal(bad.body.error?.field, 'source');
      assert.match(bad.body.error!.message, /snapshot failed/);
    });
  });

  it('saves retention and privacy to settings.yaml, refusing bad values by field', async () => {
    const r0 = await call(run.url, 'GET', '/settings/retention');
    assert.equal(r0.status, 200);
    assert.deepEqual(r0.body.settings, {
      retention: { max_age_days: null, max_events: null, max_image_mb: null, interval_min: 60 },
      privacy: { hash_plates: false },
    });
    const bad = await call(run.url, 'PUT', '/settings/retention', { retention: { max_events: 2.5, max_age_days: -1 }, privacy: { hash_plates: 'yes' } });
    assert.equal(bad.status, 400);
    assert.deepEqual((bad.body.issues ?? []).map((i) => i.path).sort(), ['privacy.hash_plates', 'retention.max_age_days', 'retention.max_events']);
    const next = { retention: { max_age_days: 30, max_events: 100000, max_image_mb: 512, interval_min: 15 }, privacy: { hash_plates: true } };
    const ok = await call(run.url, 'PUT', '/settings/retention', next);
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    assert.equal(ok.body.applied, 'restart_required');
    assert.deepEqual(loadConsoleSettings(store.dir), next);
    assert.deepEqual((await call(run.url, 'GET', '/settings/retention')).body.settings, next);
  });

  it('edits bus.yaml with the pipeline contract, keeping its comments', async () => {
    const r0 = await call(run.url, 'GET', '/settings/backend');
    assert.deepEqual(r0.body.config, { enabled: false, topic: 'alpr.plates.detected' });
    const bad = await call(run.url, 'PUT', '/settings/backend', { enabled: true, brokers: ['no port'], format: 'avro' });
    assert.equal(bad.status, 400);
    assert.deepEqual((bad.body.issues ?? []).map((i) => i.path).sort(), ['brokers.0', 'schema_registry_url']);
    const creds = await call(run.url, 'PUT', '/settings/backend', { enabled: true, format: 'avro', schema_registry_url: 'http://u:p@127.0.0.1:1/x' });
    assert.equal(creds.status, 400);
    assert.equal(creds.body.error?.field, 'schema_registry_url');
    const ok = await call(run.url, 'PUT', '/settings/backend', { enabled: true, brokers: ['127.0.0.1:9092'], format: 'json', topic: 'alpr.plates.detected' });
    assert.equal(ok.status, 200, JSON.stringify(ok.body));
    const text = readFileSync(join(dir, 'bus.yaml'), 'utf8');
    assert.match(text, /# kafka settings/);
    assert.match(text, /# main topic/);
    const bus = loadBusConfig(dir, {});
    assert.deepEqual([bus.enabled, bus.brokers, bus.format], [true, ['127.0.0.1:9092'], 'json']);
  });

  it('backend test: a closed port is reported in words', async () => {
    const port = await freePort();
    const r = await call(run.url, 'POST', '/settings/backend/test', {
      brokers: [`127.0.0.1:${port}`],
      schema_registry_url: `http://127.0.0.1:${port}/apis/ccompat/v7`,
    });
    assert.equal(r.status, 200);
    const b = r.body as { kafka: { ok: boolean; error: string }; registry: { ok: boolean; error: string } };
    assert.equal(b.kafka.ok, false);
    assert.match(b.kafka.error, new RegExp(`cannot reach Kafka at 127.0.0.1:${port}`));
    assert.equal(b.registry.ok, false);
    assert.match(b.registry.error, /cannot reach the schema registry/);
  });

  it('backend test against the real broker and registry', { skip: kafkaSkip('test/api/settings.test.ts') }, async () => {
    const r = await call(run.url, 'POST', '/settings/backend/test', {
      brokers: kafkaBrokers(),
      ...(process.env.OVR_ALPR_SCHEMA_REGISTRY_URL ? { schema_registry_url: process.env.OVR_ALPR_SCHEMA_REGISTRY_URL } : {}),
    });
    const b = r.body as { kafka: { ok: boolean; brokers: number; error?: string }; registry: { ok: boolean; error?: string } | null };
    assert.equal(b.kafka.ok, true, b.kafka.error);
    assert.ok(b.kafka.brokers >= 1);
    if (process.env.OVR_ALPR_SCHEMA_REGISTRY_URL) assert.equal(b.registry?.ok, true, b.registry?.error);
  });

  it('backend status for the Health screen: real broker when bus.yaml enables it', { skip: kafkaSkip('test/api/settings.test.ts') }, async () => {
    const put = await call(run.url, 'PUT', '/settings/backend', { enabled: true, brokers: kafkaBrokers(), format: 'json' });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const r = await call(run.url, 'GET', '/settings/backend/status');
    const b = r.body as { enabled: boolean; check: { kafka: { ok: boolean; error?: string; brokers: number } } };
    assert.equal(b.enabled, true);
    assert.equal(b.check.kafka.ok, true, b.check.kafka.error);
  });

  it('every settings change is in the audit log, and camera changes apply in request order', async () => {
    const [a, b] = await Promise.all([
      call(run.url, 'POST', '/settings/cameras', { id: 'cam-a', source: 'a.mp4' }),
      call(run.url, 'POST', '/settings/cameras', { id: 'cam-b', source: 'b.mp4' }),
    ]);
    assert.deepEqual([a.status, b.status], [201, 201]);
    assert.deepEqual(applied.splice(0).sort(), ['upsert cam-a', 'upsert cam-b']);
    assert.equal((await call(run.url, 'DELETE', '/settings/cameras/cam-a')).status, 200);
    assert.equal((await call(run.url, 'DELETE', '/settings/cameras/cam-b')).status, 200);
    applied.splice(0);
    const log = await call(run.url, 'GET', '/audit?limit=100');
    const actions = (log.body.entries as { action: string; actor: string; details: Record<string, unknown> }[]).filter((e) => e.action.startsWith('settings.'));
    const names = actions.map((e) => e.action);
    for (const want of ['settings.camera.add', 'settings.camera.update', 'settings.camera.remove', 'settings.retention.save', 'settings.backend.save'])
      assert.ok(names.includes(want), `${want} in ${JSON.stringify(names)}`);
    assert.ok(actions.every((e) => e.actor === 'token'));
    assert.ok(actions.some((e) => e.action === 'settings.camera.add' && e.details.camera_id === 'cam-a'));
  });

  it('a server started with --source has no cameras file to edit', async () => {
    const other = await startServer({ storage: store.storage, settings: { ...settings, camerasFile: null, live: undefined } });
    try {
      const list = await call(other.url, 'GET', '/settings/cameras');
      assert.deepEqual([list.body.editable, list.body.cameras], [false, []]);
      const add = await call(other.url, 'POST', '/settings/cameras', { id: 'x', source: 'a.mp4' });
      assert.equal(add.status, 400);
      assert.match(add.body.error!.message, /--source/);
    } finally {
      await other.server.close();
    }
  });
});

describe('serve applies settings.yaml at start', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ovr-settings-serve-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  async function runServe(until: (err: string[]) => boolean): Promise<string[]> {
    const ac = new AbortController();
    const err: string[] = [];
    let listening!: (u: string) => void;
    const url = new Promise<string>((r) => (listening = r));
    const done = serveCmd(['--data-dir', dir, '--port', '0', '--no-pipeline', '--log-level', 'silent'], {
      out: (l) => l.startsWith('listening on ') && listening(l.slice('listening on '.length)),
      err: (l) => err.push(l),
      signal: ac.signal,
      env: {},
    });
    const base = await url;
    const deadline = Date.now() + 5000;
    while (!until(err) && Date.now() < deadline) await sleep(20);
    // The retention settings the console shows are the ones this server runs with.
    const shown = await (await fetch(`${base}/settings/retention`)).json();
    ac.abort();
    assert.equal(await done, 0);
    err.push(`shown ${JSON.stringify(shown)}`);
    return err;
  }

  it('retention limits saved from the console are enforced', async () => {
    const storage = await openSqliteStorage(join(dir, 'events.sqlite'));
    await storage.insertMany(['A1', 'B2', 'C3'].map((p, i) => makeEvent({ plate: p, at: new Date(Date.now() - (3 - i) * 1000).toISOString() })));
    await storage.close();
    writeFileSync(join(dir, 'settings.yaml'), 'retention:\n  max_events: 1\n  interval_min: 5\n');
    const err = await runServe((e) => e.some((l) => l.startsWith('retention info')));
    assert.match(err.find((l) => l.startsWith('retention info')) ?? err.join('\n'), /"events_deleted":2/);
    assert.match(err.at(-1)!, /"max_events":1/);
    const after = await openSqliteStorage(join(dir, 'events.sqlite'));
    assert.equal((await after.stats()).total_events, 1);
    await after.close();
  });

  it('privacy: with hash_plates on, serve creates the HMAC key (privacy.key, 0600) the store hashes plates with', async () => {
    writeFileSync(join(dir, 'settings.yaml'), 'privacy:\n  hash_plates: true\n');
    await runServe(() => true);
    const keyFile = join(dir, 'privacy.key');
    assert.equal(statSync(keyFile).mode & 0o777, 0o600);
    // The store opened with the same key hashes new plates and still finds them by exact text.
    const key = privacyKey(dir);
    const storage = await openSqliteStorage(join(dir, 'events.sqlite'), { privacy: { key } });
    await storage.insertMany([makeEvent({ plate: 'ZZ9PLZ', at: new Date().toISOString() })]);
    const found = await storage.search({ plate: 'ZZ9PLZ', limit: 10, offset: 0 });
    assert.equal(found.length, 1);
    assert.match(found[0].plate.normalized_text, /^#[0-9a-f]{64}$/);
    await storage.close();
    const loaded = loadConsoleSettings(dir);
    assert.equal(loaded.privacy.hash_plates, true);
  });

  it('refuses to start on an invalid settings.yaml, naming the key', async () => {
    writeFileSync(join(dir, 'settings.yaml'), 'retention:\n  max_events: -3\n');
    await assert.rejects(
      serveCmd(['--data-dir', dir, '--port', '0', '--no-pipeline'], { out: () => {}, err: () => {}, env: {} }),
      (e: unknown) => e instanceof AlprError && e.code === 'CONFIG_INVALID' && /retention\.max_events/.test(e.message),
    );
  });
});
