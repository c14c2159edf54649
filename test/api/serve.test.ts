/**
 * `serve` and `api` commands in-process (cli.ts wiring is the lead's): they print the URL,
 * serve the store, refuse public binds without a token, and stop cleanly.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { apiCmd, serveCmd } from '../../src-pipeline/cli/serve.js';
import { AlprError } from '../../src-pipeline/common/errors.js';
import { openSqliteStorage } from '../../src-pipeline/store/sqlite.js';
import { postgresSkip, startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { WebSocket } from 'ws';
import { sharedDataDir, sharedSkip } from '../support/shared.js';
import { makeEvent, startCommand } from './support.js';

const CLIP03 = sharedDataDir('video', '03_nz_highway_incar_qengineering.mp4');

describe('ovr-alpr serve', () => {
  let dir: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ovr-serve-'));
    const s = await openSqliteStorage(join(dir, 'events.sqlite'));
    await s.insertMany([makeEvent({ plate: 'SERVE1' }), makeEvent({ plate: 'SERVE2' })]);
    await s.close();
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('prints the URL, serves D/events.sqlite and stops with 0', async () => {
    const s = await startCommand(serveCmd, ['--data-dir', dir, '--port', '0', '--no-pipeline', '--log-level', 'silent']);
    try {
      assert.match(s.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      const body = (await (await fetch(`${s.url}/events/recent`)).json()) as { count: number };
      assert.equal(body.count, 2);
      assert.equal((await fetch(`${s.url}/health`)).status, 200);
    } finally {
      assert.equal(await s.stop(), 0);
    }
    await assert.rejects(fetch(`${s.url}/health`), 'the port is closed after stop');
  });

  it('runs the pipeline on a --source: events reach the live feed, the store, /cameras and /metrics', { skip: sharedSkip([CLIP03]) }, async () => {
    const data = mkdtempSync(join(tmpdir(), 'ovr-serve-pipeline-'));
    try {
      const s = await startCommand(serveCmd, ['--data-dir', data, '--port', '0', '--source', CLIP03, '--log-level', 'warn']);
      const live: string[] = [];
      const ws = new WebSocket(`${s.url.replace(/^http/, 'ws')}/live`);
      ws.on('message', (m) => {
        const msg = JSON.parse(String(m)) as { type: string; event?: { plate: { normalized_text: string }; images: { plate_url: string | null } } };
        if (msg.type === 'event' && msg.event?.images.plate_url) live.push(msg.event.plate.normalized_text);
      });
      await new Promise((r, j) => ws.once('open', r).once('error', j));
      try {
        const deadline = Date.now() + 120_000;
        let cams: { pipeline: boolean; cameras: { id: string; state: string; events: number; frames: number }[] } = { pipeline: false, cameras: [] };
        while (Date.now() < deadline) {
          cams = (await (await fetch(`${s.url}/cameras`)).json()) as typeof cams;
          if (cams.cameras[0]?.state === 'finished') break;
          await new Promise((r) => setTimeout(r, 250));
        }
        assert.equal(cams.pipeline, true);
        assert.equal(cams.cameras[0].id, '03_nz_highway_incar_qengineering');
        assert.equal(cams.cameras[0].state, 'finished', JSON.stringify(cams));
        assert.equal(cams.cameras[0].events, 2);
        assert.ok(cams.cameras[0].frames >= 79);
        const deadlineLive = Date.now() + 5000;
        while (live.length < 2 && Date.now() < deadlineLive) await new Promise((r) => setTimeout(r, 50));
        assert.deepEqual([...live].sort(), ['JLN390', 'JMH552']);
        const recent = (await (await fetch(`${s.url}/events/recent?limit=10`)).json()) as { items?: { plate: { normalized_text: string } }[] };
        assert.deepEqual(
          JSON.stringify(recent)
            .match(/JLN390|JMH552/g)
            ?.sort()
            .filter((x, i, a) => a.indexOf(x) === i),
          ['JLN390', 'JMH552'],
        );
        const metrics = await (await fetch(`${s.url}/metrics`)).text();
        assert.match(metrics, /ovr_alpr_camera_events\{camera="03_nz_highway_incar_qengineering"\} 2/);
      } finally {
        ws.close();
        assert.equal(await s.stop(), 0);
      }
    } finally {
      rmSync(data, { recursive: true, force: true });
    }
  });

  it('serves the stored events with an empty pipeline when no camera is configured', async () => {
    const cfg = mkdtempSync(join(tmpdir(), 'ovr-serve-cfg-'));
    try {
      const s = await startCommand(serveCmd, ['--data-dir', dir, '--port', '0', '--config', cfg, '--log-level', 'silent']);
      const cams = (await (await fetch(`${s.url}/cameras`)).json()) as { pipeline: boolean; cameras: unknown[] };
      assert.deepEqual(cams, { pipeline: true, cameras: [] });
      assert.equal(await s.stop(), 0);
      assert.ok(
        s.err.some((l) => /0 camera\(s\)/.test(l)),
        s.err.join('\n'),
      );
    } finally {
      rmSync(cfg, { recursive: true, force: true });
    }
  });

  it('refuses a public bind without a token, and takes a token file', async () => {
    await assert.rejects(
      serveCmd(['--data-dir', dir, '--host', '0.0.0.0', '--port', '0'], { out: () => undefined, err: () => undefined, env: {} }),
      (e: unknown) => e instanceof AlprError && e.code === 'CONFIG_INVALID' && /without a token/.test(e.message),
    );
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'file-token-0123456789\n');
    const s = await startCommand(serveCmd, ['--data-dir', dir, '--port', '0', '--token-file', tokenFile, '--no-pipeline', '--log-level', 'silent']);
    try {
      assert.equal((await fetch(`${s.url}/stats`)).status, 401);
      assert.equal((await fetch(`${s.url}/stats`, { headers: { authorization: 'Bearer file-token-0123456789' } })).status, 200);
    } finally {
      await s.stop();
    }
  });

  it('takes the token from OVR_ALPR_API_TOKEN', async () => {
    const s = await startCommand(serveCmd, ['--data-dir', dir, '--port', '0', '--no-pipeline', '--log-level', 'silent'], {
      OVR_ALPR_API_TOKEN: 'env-token-0123456789',
    });
    try {
      assert.equal((await fetch(`${s.url}/stats`)).status, 401);
      assert.equal((await fetch(`${s.url}/stats?token=env-token-0123456789`)).status, 200);
    } finally {
      await s.stop();
    }
  });

  it('reports usage errors', async () => {
    const io = { out: () => undefined, err: () => undefined, env: {} };
    await assert.rejects(serveCmd([], io), (e: unknown) => e instanceof AlprError && e.code === 'USAGE' && /--data-dir/.test(e.message));
    await assert.rejects(serveCmd(['--data-dir', dir, '--port', 'x'], io), (e: unknown) => e instanceof AlprError && e.code === 'USAGE');
    await assert.rejects(serveCmd(['--data-dir', dir, '--bogus'], io), (e: unknown) => e instanceof AlprError && e.code === 'USAGE');
    await assert.rejects(
      serveCmd(['--data-dir', dir, '--source', 'cam.mp4', '--cameras', 'cams.yaml'], io),
      (e: unknown) => e instanceof AlprError && e.code === 'USAGE' && /not both/.test(e.message),
    );
    await assert.rejects(apiCmd([], io), (e: unknown) => e instanceof AlprError && /database-url/.test(e.message));
  });
});

describe('ovr-alpr api (PostgreSQL)', { skip: postgresSkip() }, () => {
  let pg: TestPostgres;
  let url: string;
  before(async () => {
    pg = await startTestPostgres();
    url = await pg.createDatabase('ovr_api');
  });
  after(async () => pg?.stop());

  it('serves the PostgreSQL store from --database-url or OVR_ALPR_DATABASE_URL', async () => {
    const s = await startCommand(apiCmd, ['--port', '0', '--log-level', 'silent'], { OVR_ALPR_DATABASE_URL: url });
    try {
      const health = (await (await fetch(`${s.url}/health`)).json()) as { status: string; storage: string };
      assert.deepEqual([health.status, health.storage], ['ok', 'postgres']);
      const root = (await (await fetch(`${s.url}/`)).json()) as { storage: string };
      assert.equal(root.storage, 'postgres');
      assert.equal((await fetch(`${s.url}/events/search?plate=AB*`)).status, 200);
    } finally {
      assert.equal(await s.stop(), 0);
    }
    const s2 = await startCommand(apiCmd, ['--database-url', url, '--port', '0', '--log-level', 'silent']);
    assert.equal(await s2.stop(), 0);
  });
});
