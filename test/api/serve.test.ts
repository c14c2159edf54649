/**
 * `serve` and `api` commands in-process (cli.ts wiring is the lead's): they print the URL,
 * serve the store, refuse public binds without a token, and stop cleanly.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { apiCmd, serveCmd, type ServeIo } from '../../src-pipeline/cli/serve.js';
import { AlprError } from '../../src-pipeline/common/errors.js';
import { openSqliteStorage } from '../../src-pipeline/store/sqlite.js';
import { postgresSkip, startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { makeEvent } from './support.js';

interface Started {
  url: string;
  out: string[];
  err: string[];
  stop(): Promise<number>;
}

/** Runs a command until its "listening on" line, and returns a stop() that aborts it. */
async function start(cmd: (args: string[], io: ServeIo) => Promise<number>, args: string[], env: Record<string, string | undefined> = {}): Promise<Started> {
  const ac = new AbortController();
  const out: string[] = [];
  const err: string[] = [];
  let onUrl!: (u: string) => void;
  const urlP = new Promise<string>((r) => (onUrl = r));
  const io: ServeIo = {
    out: (l) => {
      out.push(l);
      const m = /^listening on (http:\/\/\S+)$/.exec(l);
      if (m) onUrl(m[1]);
    },
    err: (l) => err.push(l),
    signal: ac.signal,
    env,
  };
  const done = cmd(args, io);
  const url = await Promise.race([urlP, done.then((code) => Promise.reject(new Error(`exited ${code} before listening: ${err.join('\n')}`)))]);
  return {
    url,
    out,
    err,
    stop: async () => {
      ac.abort();
      return done;
    },
  };
}

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
    const s = await start(serveCmd, ['--data-dir', dir, '--port', '0', '--no-pipeline', '--log-level', 'silent']);
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

  it('says on stderr that the pipeline is not there yet when --no-pipeline is not given', async () => {
    const s = await start(serveCmd, ['--data-dir', dir, '--port', '0', '--log-level', 'silent']);
    assert.equal(await s.stop(), 0);
    assert.ok(
      s.err.some((l) => /pipeline is not built yet/.test(l)),
      s.err.join('\n'),
    );
  });

  it('refuses a public bind without a token, and takes a token file', async () => {
    await assert.rejects(
      serveCmd(['--data-dir', dir, '--host', '0.0.0.0', '--port', '0'], { out: () => undefined, err: () => undefined, env: {} }),
      (e: unknown) => e instanceof AlprError && e.code === 'CONFIG_INVALID' && /without a token/.test(e.message),
    );
    const tokenFile = join(dir, 'token');
    writeFileSync(tokenFile, 'file-token-0123456789\n');
    const s = await start(serveCmd, ['--data-dir', dir, '--port', '0', '--token-file', tokenFile, '--no-pipeline', '--log-level', 'silent']);
    try {
      assert.equal((await fetch(`${s.url}/stats`)).status, 401);
      assert.equal((await fetch(`${s.url}/stats`, { headers: { authorization: 'Bearer file-token-0123456789' } })).status, 200);
    } finally {
      await s.stop();
    }
  });

  it('takes the token from OVR_ALPR_API_TOKEN', async () => {
    const s = await start(serveCmd, ['--data-dir', dir, '--port', '0', '--no-pipeline', '--log-level', 'silent'], {
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
    await assert.rejects(serveCmd(['--data-dir', dir, '--source', 'cam.mp4'], io), (e: unknown) => e instanceof AlprError && e.code === 'USAGE');
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
    const s = await start(apiCmd, ['--port', '0', '--log-level', 'silent'], { OVR_ALPR_DATABASE_URL: url });
    try {
      const health = (await (await fetch(`${s.url}/health`)).json()) as { status: string; storage: string };
      assert.deepEqual([health.status, health.storage], ['ok', 'postgres']);
      const root = (await (await fetch(`${s.url}/`)).json()) as { storage: string };
      assert.equal(root.storage, 'postgres');
      assert.equal((await fetch(`${s.url}/events/search?plate=AB*`)).status, 200);
    } finally {
      assert.equal(await s.stop(), 0);
    }
    const s2 = await start(apiCmd, ['--database-url', url, '--port', '0', '--log-level', 'silent']);
    assert.equal(await s2.stop(), 0);
  });
});
