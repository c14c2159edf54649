/**
 * The AlertStore contract on both backends: SQLite (embedded, a temp file) and a real
 * PostgreSQL server (test/support/postgres.ts). Rules CRUD with unique names, hotlists with
 * bulk upserts, search and cascade delete, history filters, and the revision counter.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { validateRule, type AlertRuleSpec } from '../../src-pipeline/common/alert-rules.js';
import { HotlistIndex } from '../../src-pipeline/alerts/hotlist-index.js';
import { openPostgresAlertStore } from '../../src-pipeline/alerts/postgres-store.js';
import { SqliteAlertStore } from '../../src-pipeline/alerts/sqlite-store.js';
import { AlertConflictError, type AlertStore } from '../../src-pipeline/alerts/store.js';
import { postgresSkip, startTestPostgres, type TestPostgres } from '../support/postgres.js';

function spec(name: string, extra: Record<string, unknown> = {}): AlertRuleSpec {
  const v = validateRule({
    name,
    conditions: { plates: [{ pattern: 'ABC', match: 'prefix' }] },
    actions: [{ channel: 'webhook', url: 'http://127.0.0.1:9/x' }],
    ...extra,
  });
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  return v.rule;
}

function contract(open: () => Promise<AlertStore>) {
  it('rules: create, read, update, unique names, delete, revision moves', async () => {
    const s = await open();
    try {
      const r0 = await s.revision();
      const a = await s.createRule(spec('alpha'));
      assert.equal(a.source, 'api');
      assert.equal(a.name, 'alpha');
      assert.equal(a.conditions.plates![0].pattern, 'ABC');
      assert.ok((await s.revision()) > r0);
      await assert.rejects(s.createRule(spec('alpha')), AlertConflictError);
      const b = await s.createRule(spec('beta', { enabled: false, rate_limit: { window_s: 30 } }));
      assert.deepEqual(
        (await s.listRules()).map((r) => r.name),
        ['alpha', 'beta'],
      );
      assert.equal((await s.getRule(b.id))!.rate_limit!.window_s, 30);
      const u = await s.updateRule(a.id, spec('alpha2', { description: 'changed' }));
      assert.equal(u!.description, 'changed');
      assert.equal((await s.getRuleByName('alpha2'))!.id, a.id);
      await assert.rejects(s.updateRule(a.id, spec('beta')), AlertConflictError);
      assert.equal(await s.updateRule('nope', spec('x')), null);
      assert.equal(await s.deleteRule(a.id), true);
      assert.equal(await s.deleteRule(a.id), false);
      assert.equal(await s.getRule(a.id), null);
    } finally {
      await s.close();
    }
  });

  it('hotlists: bulk upsert of 20k plates, search, page, expiry kept, delete cascades', async () => {
    const s = await open();
    try {
      await s.createHotlist({ name: 'stolen', priority: 'critical', reason: 'police report' });
      await assert.rejects(s.createHotlist({ name: 'stolen', priority: 'low' }), AlertConflictError);
      const rows = Array.from({ length: 20_000 }, (_, i) => ({ plate: `P${String(i).padStart(6, '0')}`, reason: i % 2 ? 'odd' : undefined }));
      rows[0].reason = 'first';
      assert.equal(await s.upsertEntries('stolen', rows), 20_000);
      await s.upsertEntries('stolen', [{ plate: 'P000000', reason: 'replaced', expires_at: '2030-01-01T00:00:00.000Z' }]);
      const h = await s.getHotlist('stolen');
      assert.equal(h!.size, 20_000);
      assert.equal(h!.priority, 'critical');
      const page = await s.listEntries('stolen', { q: 'P00001', limit: 5, offset: 0 });
      assert.equal(page.total, 10); // P000010 … P000019
      assert.equal(page.items.length, 5);
      const first = await s.listEntries('stolen', { q: 'P000000', limit: 5, offset: 0 });
      assert.equal(first.items[0].reason, 'replaced');
      assert.equal(first.items[0].expires_at, '2030-01-01T00:00:00.000Z');
      const updated = await s.updateHotlist('stolen', { priority: 'high', description: 'from the police feed' });
      assert.equal(updated!.priority, 'high');
      assert.equal(updated!.reason, 'police report');
      assert.equal(await s.deleteEntry('stolen', 'P000001'), true);
      assert.equal(await s.deleteEntry('stolen', 'P000001'), false);
      const all = await s.allEntries();
      assert.equal(all.length, 19_999);
      const index = new HotlistIndex(await s.listHotlists(), all);
      assert.equal(index.lookup('P000002', Date.now())[0].hotlist, 'stolen');
      assert.equal(await s.deleteHotlist('stolen'), true);
      assert.equal((await s.allEntries()).length, 0);
      assert.equal(await s.getHotlist('stolen'), null);
    } finally {
      await s.close();
    }
  });

  it('history: filters by rule, plate, channel, status and time; newest first; paged', async () => {
    const s = await open();
    try {
      const base = { rule_id: 'r1', rule_name: 'gate', event_id: 'e1', plate: 'ABC123', camera_id: 'cam-1', channel: 'email' as const, attempts: 1 };
      await s.addHistory({ ...base, status: 'delivered', created_at: '2024-05-01T10:00:00.000Z' });
      await s.addHistory({ ...base, status: 'failed', error: 'SMTP down', attempts: 3, created_at: '2024-05-01T11:00:00.000Z' });
      await s.addHistory({ ...base, channel: 'sms', plate: 'XYZ789', status: 'delivered', created_at: '2024-05-01T12:00:00.000Z' });
      await s.addHistory({ ...base, rule_name: 'other', rule_id: 'r2', status: 'delivered', created_at: '2024-05-02T12:00:00.000Z' });
      const all = await s.queryHistory({ limit: 10, offset: 0 });
      assert.equal(all.total, 4);
      assert.equal(all.items[0].rule_name, 'other');
      assert.equal((await s.queryHistory({ rule: 'gate', limit: 10, offset: 0 })).total, 3);
      assert.equal((await s.queryHistory({ rule: 'r2', limit: 10, offset: 0 })).total, 1);
      assert.equal((await s.queryHistory({ plate: 'XYZ789', limit: 10, offset: 0 })).total, 1);
      assert.equal((await s.queryHistory({ channel: 'sms', limit: 10, offset: 0 })).total, 1);
      const failed = await s.queryHistory({ status: 'failed', limit: 10, offset: 0 });
      assert.equal(failed.total, 1);
      assert.equal(failed.items[0].error, 'SMTP down');
      assert.equal(failed.items[0].attempts, 3);
      const day = await s.queryHistory({ start_time: '2024-05-01T10:30:00Z', end_time: '2024-05-02T00:00:00Z', limit: 10, offset: 0 });
      assert.equal(day.total, 2);
      const paged = await s.queryHistory({ limit: 1, offset: 1 });
      assert.equal(paged.items.length, 1);
      assert.equal(paged.items[0].created_at, '2024-05-01T12:00:00.000Z');
    } finally {
      await s.close();
    }
  });

  it('wasDelivered: only a delivered row for the same rule, event and channel counts', async () => {
    const s = await open();
    try {
      const base = { rule_id: 'r1', rule_name: 'gate', event_id: 'e1', plate: 'ABC123', camera_id: 'cam-1', channel: 'webhook' as const, attempts: 1 };
      await s.addHistory({ ...base, status: 'failed', error: 'HTTP 503' });
      assert.equal(await s.wasDelivered('r1', 'e1', 'webhook'), false, 'a failed attempt may be sent again');
      await s.addHistory({ ...base, status: 'delivered' });
      assert.equal(await s.wasDelivered('r1', 'e1', 'webhook'), true);
      assert.equal(await s.wasDelivered('r1', 'e1', 'email'), false);
      assert.equal(await s.wasDelivered('r2', 'e1', 'webhook'), false);
      assert.equal(await s.wasDelivered('r1', 'e2', 'webhook'), false);
    } finally {
      await s.close();
    }
  });
}

describe('SqliteAlertStore', () => {
  const dirs: string[] = [];
  after(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  contract(async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovr-alert-store-'));
    dirs.push(dir);
    return new SqliteAlertStore(join(dir, 'alerts.sqlite'));
  });

  it('a file from before the history event index gets it on open, rows kept', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovr-alert-store-'));
    dirs.push(dir);
    const path = join(dir, 'alerts.sqlite');
    const a = new SqliteAlertStore(path);
    await a.addHistory({ rule_id: 'r1', rule_name: 'gate', event_id: 'e1', plate: 'A1', camera_id: 'c', channel: 'webhook', status: 'delivered', attempts: 1 });
    await a.close();
    // Back to schema version 1, as a store written by the previous release.
    const raw = new Database(path);
    raw.exec('DROP INDEX alert_history_event; DELETE FROM alert_schema WHERE version > 1');
    raw.close();
    const b = new SqliteAlertStore(path);
    assert.equal(await b.wasDelivered('r1', 'e1', 'webhook'), true);
    await b.close();
    const check = new Database(path, { readonly: true });
    const idx = check.prepare(`SELECT name FROM sqlite_master WHERE type = 'index' AND name = 'alert_history_event'`).get();
    const versions = check.prepare('SELECT version FROM alert_schema ORDER BY version').all();
    check.close();
    assert.ok(idx);
    assert.deepEqual(versions, [{ version: 1 }, { version: 2 }]);
  });

  it('reopening a file keeps everything (migrations run once)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovr-alert-store-'));
    dirs.push(dir);
    const a = new SqliteAlertStore(join(dir, 'alerts.sqlite'));
    await a.createRule(spec('kept'));
    await a.close();
    const b = new SqliteAlertStore(join(dir, 'alerts.sqlite'));
    assert.deepEqual(
      (await b.listRules()).map((r) => r.name),
      ['kept'],
    );
    await b.close();
  });
});

describe('engine watching a store another process edits', () => {
  it('picks up new rules and hotlist plates through the revision counter', async () => {
    const { AlertEngine } = await import('../../src-pipeline/alerts/engine.js');
    const { parseAlertsConfig } = await import('../../src-pipeline/alerts/config.js');
    const { makeEvent } = await import('../api/support.js');
    const dir = mkdtempSync(join(tmpdir(), 'ovr-alert-watch-'));
    const file = join(dir, 'alerts.sqlite');
    const mine = new SqliteAlertStore(file);
    const theirs = new SqliteAlertStore(file);
    const engine = await AlertEngine.open({ config: parseAlertsConfig({}, 'test'), store: mine });
    try {
      engine.watch(50);
      await theirs.createHotlist({ name: 'stolen', priority: 'high' });
      await theirs.upsertEntries('stolen', [{ plate: 'HOT1' }]);
      await theirs.createRule(spec('from elsewhere', { conditions: { hotlists: ['stolen'] }, actions: [] }));
      for (let i = 0; i < 100 && engine.allRules().length === 0; i++) await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(engine.evaluate(makeEvent({ plate: 'HOT1' })).matched, ['from elsewhere']);
    } finally {
      await engine.close(0);
      await mine.close();
      await theirs.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

const skip = postgresSkip();
describe('PostgresAlertStore', { skip }, () => {
  let server: TestPostgres | undefined;
  after(async () => server?.stop());
  contract(async () => {
    server ??= await startTestPostgres();
    return openPostgresAlertStore(await server.createDatabase('ovr_alerts'));
  });
});
