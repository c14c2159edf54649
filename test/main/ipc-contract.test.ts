/**
 * The IPC contract: only allowlisted channels, only well-formed payloads, results as
 * envelopes (never a thrown error), answers checked against the contract too; and the
 * preload's copy of the channel list matches the contract.
 */
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { AlprError } from '../../src-pipeline/common/errors.js';
import { dispatch, EVENT_CHANNELS, checkEvent, INVOKE_CHANNELS, isInvokeChannel, type Handlers } from '../../src-main/ipc-contract.js';
import { Settings } from '../../src-main/settings.js';

const status = {
  state: 'running',
  pid: 42,
  url: 'http://127.0.0.1:4000',
  startedAt: '2026-01-01T00:00:00.000Z',
  lastHeartbeatAt: '2026-01-01T00:00:01.000Z',
  restarts: 0,
  restartsInWindow: 0,
  backoffLevel: 0,
  nextStartAt: null,
  lastExit: null,
  attention: null,
} as const;

const handlers: Partial<Handlers> = {
  'pipeline:status': () => ({ ...status }),
  'pipeline:logs': (r) => [{ seq: 1, at: '2026-01-01T00:00:00.000Z', stream: 'stdout', line: `limit ${r.limit ?? 'none'}` }],
  'settings:get': () => Settings.parse({}),
  'settings:update': () => {
    throw new AlprError('CONFIG_INVALID', 'cannot write settings: disk full');
  },
  'backend:check': () => ({ nonsense: true }) as never,
};

describe('ipc contract', () => {
  it('answers an allowlisted channel with { ok: true, value }', async () => {
    assert.deepEqual(await dispatch('pipeline:status', undefined, handlers), { ok: true, value: status });
    const logs = await dispatch('pipeline:logs', { limit: 5 }, handlers);
    assert.equal(logs.ok, true);
    assert.equal((logs as { value: { line: string }[] }).value[0]!.line, 'limit 5');
  });

  it('refuses unknown channels, including prototype names and non-strings', async () => {
    for (const ch of ['shell:exec', 'pipeline:status ', '__proto__', 'constructor', 'toString', 42, null, undefined, { toString: () => 'pipeline:status' }]) {
      const r = await dispatch(ch, undefined, handlers);
      assert.equal(r.ok, false, String(ch));
      assert.equal((r as { error: { code: string } }).error.code, 'UNKNOWN_CHANNEL');
    }
    assert.equal(isInvokeChannel('hasOwnProperty'), false);
  });

  it('refuses malformed payloads with the offending path', async () => {
    const cases: [string, unknown, RegExp][] = [
      ['pipeline:status', { sneaky: 1 }, /pipeline:status: \(payload\)/],
      ['pipeline:logs', { limit: 0 }, /limit/],
      ['pipeline:logs', { limit: 5000 }, /limit/],
      ['pipeline:logs', { limit: 5, extra: true }, /extra|Unrecognized/i],
      ['pipeline:logs', 'all of them', /payload/],
      ['settings:update', { window: { kiosk: 'yes' } }, /window\.kiosk/],
      ['settings:update', { pipeline: { port: 70000 } }, /pipeline\.port/],
      ['settings:update', { backend: { databaseUrl: 'postgres://u:secret@db:5432/alpr' } }, /must not carry a password/],
      ['settings:update', { unknownSection: {} }, /Unrecognized|unknownSection/i],
    ];
    for (const [ch, payload, msg] of cases) {
      const r = await dispatch(ch, payload, handlers);
      assert.equal(r.ok, false, `${ch} ${JSON.stringify(payload)}`);
      const e = (r as { error: { code: string; message: string } }).error;
      assert.equal(e.code, 'INVALID_PAYLOAD', `${ch} ${JSON.stringify(payload)}`);
      assert.match(e.message, msg);
    }
  });

  it('a handler that throws becomes an error envelope with the error code, and no stack', async () => {
    const r = await dispatch('settings:update', { startAtLogin: true }, handlers);
    assert.deepEqual(r, { ok: false, error: { code: 'CONFIG_INVALID', message: 'cannot write settings: disk full' } });
  });

  it('an answer out of contract is refused too (INVALID_RESPONSE), and a channel without a handler says so', async () => {
    const bad = await dispatch('backend:check', undefined, handlers);
    assert.equal((bad as { error: { code: string } }).error.code, 'INVALID_RESPONSE');
    const none = await dispatch('backend:up', undefined, handlers);
    assert.equal((none as { error: { code: string } }).error.code, 'UNKNOWN_CHANNEL');
  });

  it('events are validated before main sends them', () => {
    assert.deepEqual(checkEvent('pipeline:status-changed', status), status);
    assert.throws(() => checkEvent('pipeline:status-changed', { ...status, state: 'on fire' }));
    assert.throws(() => checkEvent('pipeline:log', { seq: 1 }));
  });

  it("the preload's channel lists are exactly the contract's", () => {
    const src = readFileSync(new URL('../../src-main/preload.cts', import.meta.url), 'utf8');
    const list = (name: string) => {
      const m = new RegExp(`const ${name} = \\[([^\\]]*)\\]`).exec(src);
      assert.ok(m, `${name} not found in preload.cts`);
      return [...m[1]!.matchAll(/'([^']+)'/g)].map((x) => x[1]);
    };
    assert.deepEqual(list('INVOKE_CHANNELS').sort(), [...INVOKE_CHANNELS].sort());
    assert.deepEqual(list('EVENT_CHANNELS').sort(), [...EVENT_CHANNELS].sort());
    // The preload exposes one object and nothing of ipcRenderer itself.
    assert.equal([...src.matchAll(/exposeInMainWorld\(/g)].length, 1);
    assert.doesNotMatch(src, /exposeInMainWorld\([^)]*ipcRenderer\s*\)/);
    assert.doesNotMatch(src, /\bsend(Sync)?\(/);
  });
});
