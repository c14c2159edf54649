/**
 * /alerts/* through the real Fastify server (response validation on): rule CRUD with path-level
 * validation errors, read-only config rules, hotlists with CSV import/export, history, a test
 * send to a local webhook receiver, and the alert metrics in /metrics.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAlertsConfig } from '../../src-pipeline/alerts/config.js';
import { AlertEngine } from '../../src-pipeline/alerts/engine.js';
import { SqliteAlertStore } from '../../src-pipeline/alerts/sqlite-store.js';
import { startReceiver, type HttpReceiver } from '../support/http-receiver.js';
import { getJson, makeEvent, openTestStore, startServer, type Running, type TestStore } from './support.js';

const json = (method: string, body: unknown): RequestInit => ({ method, headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

describe('alerts API', () => {
  let ts: TestStore;
  let store: SqliteAlertStore;
  let engine: AlertEngine;
  let running: Running;
  let url: string;
  let hook: HttpReceiver;

  before(async () => {
    ts = await openTestStore();
    hook = await startReceiver();
    store = new SqliteAlertStore(join(ts.dir, 'alerts.sqlite'));
    const config = parseAlertsConfig(
      { rules: [{ name: 'From config', conditions: { cameras: ['gate'] } }], channels: { delivery: { backoff_ms: 1, attempts: 1 } } },
      'alert_rules.yaml',
    );
    engine = await AlertEngine.open({ config, store });
    running = await startServer({ storage: ts.storage, alerts: engine });
    url = running.url;
  });

  after(async () => {
    await running.server.close();
    await engine.close(0);
    await store.close();
    await hook.close();
    await ts.cleanup();
  });

  it('rejects invalid rules with 400 and every issue with its path', async () => {
    const r = await getJson(
      `${url}/alerts/rules`,
      json('POST', { name: 'bad', conditions: { plates: [{ pattern: '[', match: 'regex' }], colour: 'red' }, actions: [{ channel: 'carrier-pigeon' }] }),
    );
    assert.equal(r.status, 400);
    assert.equal(r.body.error!.code, 'BAD_REQUEST');
    const issues = r.body.issues as { path: string; message: string }[];
    assert.deepEqual(issues.map((i) => i.path).sort(), ['actions.0.channel', 'conditions.colour', 'conditions.plates.0.pattern']);
    assert.equal(r.body.error!.field, issues[0].path);
    const v = await getJson(`${url}/alerts/rules/validate`, json('POST', { name: 'x', enabled: 'yes' }));
    assert.equal(v.status, 200);
    assert.equal(v.body.ok, false);
    assert.deepEqual(
      (v.body.issues as { path: string }[]).map((i) => i.path),
      ['enabled'],
    );
    assert.deepEqual((await getJson(`${url}/alerts/rules/validate`, json('POST', { name: 'x' }))).body, { ok: true, issues: [] });
  });

  it('creates, reads, replaces, toggles and deletes a rule; the engine sees each change', async () => {
    const created = await getJson(`${url}/alerts/rules`, json('POST', { name: 'Stolen', conditions: { plates: [{ pattern: 'ABC123' }] } }));
    assert.equal(created.status, 201);
    const id = created.body.id as string;
    assert.equal(created.body.source, 'api');
    assert.equal(created.body.enabled, true);
    const list = await getJson(`${url}/alerts/rules`);
    assert.deepEqual(
      (list.body.rules as { name: string; source: string }[]).map((r) => `${r.source}:${r.name}`),
      ['config:From config', 'api:Stolen'],
    );
    assert.deepEqual(engine.evaluate(makeEvent({ plate: 'ABC123' })).matched, ['Stolen']);

    const dup = await getJson(`${url}/alerts/rules`, json('POST', { name: 'Stolen' }));
    assert.equal(dup.status, 400);
    assert.equal(dup.body.error!.field, 'name');
    const clash = await getJson(`${url}/alerts/rules`, json('POST', { name: 'From config' }));
    assert.equal(clash.status, 400);

    const put = await getJson(`${url}/alerts/rules/${id}`, json('PUT', { name: 'Stolen', conditions: { plates: [{ pattern: 'XYZ', match: 'prefix' }] } }));
    assert.equal(put.status, 200);
    assert.deepEqual(engine.evaluate(makeEvent({ plate: 'XYZ999' })).matched, ['Stolen']);
    const badPut = await getJson(`${url}/alerts/rules/${id}`, json('PUT', { name: 'Stolen', conditions: { hours: { from: '8am', to: '9' } } }));
    assert.equal(badPut.status, 400);
    assert.deepEqual(
      (badPut.body.issues as { path: string }[]).map((i) => i.path),
      ['conditions.hours.from', 'conditions.hours.to'],
    );

    const off = await getJson(`${url}/alerts/rules/${id}`, json('PATCH', { enabled: false }));
    assert.equal(off.body.enabled, false);
    assert.deepEqual(engine.evaluate(makeEvent({ plate: 'XYZ999' })).matched, []);
    assert.equal((await getJson(`${url}/alerts/rules/${id}`)).body.enabled, false);

    const del = await fetch(`${url}/alerts/rules/${id}`, { method: 'DELETE' });
    assert.equal(del.status, 204);
    assert.equal((await getJson(`${url}/alerts/rules/${id}`)).status, 404);
    assert.equal((await fetch(`${url}/alerts/rules/${id}`, { method: 'DELETE' })).status, 404);
  });

  it('config rules are listed but read-only', async () => {
    const put = await getJson(`${url}/alerts/rules/config:from-config`, json('PUT', { name: 'From config' }));
    assert.equal(put.status, 400);
    assert.match(put.body.error!.message, /read-only/);
    assert.equal((await fetch(`${url}/alerts/rules/config:from-config`, { method: 'DELETE' })).status, 400);
    assert.equal((await getJson(`${url}/alerts/rules/config:from-config`)).body.name, 'From config');
  });

  it('hotlists: create, entries, CSV import (dry run, then for real), export, match, delete', async () => {
    const bad = await getJson(`${url}/alerts/hotlists`, json('POST', { name: 'has space', priority: 'urgent' }));
    assert.equal(bad.status, 400);
    const c = await getJson(`${url}/alerts/hotlists`, json('POST', { name: 'stolen', priority: 'critical', reason: 'police' }));
    assert.equal(c.status, 201);
    assert.equal((await getJson(`${url}/alerts/hotlists`, json('POST', { name: 'stolen' }))).status, 400);

    const e = await getJson(`${url}/alerts/hotlists/stolen/entries`, json('POST', { plate: 'abc-123', reason: 'red car' }));
    assert.equal(e.status, 201);
    assert.equal(e.body.plate, 'ABC123');

    const csv = 'plate,reason,expires_at\nDEF456,blue van,\nGHI789,,2030-01-01T00:00:00Z\n???,junk,\n';
    const post = (dry: boolean) =>
      getJson(`${url}/alerts/hotlists/stolen/import?dry_run=${dry}`, { method: 'POST', headers: { 'content-type': 'text/csv' }, body: csv });
    const dry = await post(true);
    assert.equal(dry.status, 200);
    assert.equal(dry.body.imported, 0);
    assert.equal((dry.body.preview as unknown[]).length, 2);
    assert.deepEqual(dry.body.errors, [{ line: 4, message: 'plate: must contain a letter or digit' }]);
    assert.equal((await getJson(`${url}/alerts/hotlists/stolen`)).body.size, 1);
    const real = await post(false);
    assert.equal(real.body.imported, 2);
    assert.equal((await getJson(`${url}/alerts/hotlists/stolen`)).body.size, 3);

    const page = await getJson(`${url}/alerts/hotlists/stolen/entries?q=def&limit=10`);
    assert.equal(page.body.total, 1);
    const exp = await fetch(`${url}/alerts/hotlists/stolen/export.csv`);
    assert.match(exp.headers.get('content-type') ?? '', /text\/csv/);
    const text = await exp.text();
    assert.match(text, /^plate,reason,expires_at\r\nABC123,red car,\r\nDEF456,blue van,\r\nGHI789,,2030-01-01T00:00:00.000Z\r\n$/);

    await getJson(`${url}/alerts/rules`, json('POST', { name: 'Hotlist hit', conditions: { hotlists: ['stolen'] } }));
    assert.deepEqual(engine.evaluate(makeEvent({ plate: 'DEF456' })).matched, ['Hotlist hit']);
    assert.equal((await fetch(`${url}/alerts/hotlists/stolen/entries/DEF456`, { method: 'DELETE' })).status, 204);
    assert.deepEqual(engine.evaluate(makeEvent({ plate: 'DEF456' })).matched, []);

    const upd = await getJson(`${url}/alerts/hotlists/stolen`, json('PUT', { priority: 'high' }));
    assert.equal(upd.body.priority, 'high');
    const lists = await getJson(`${url}/alerts/hotlists`);
    assert.deepEqual(lists.body.hotlists, [{ ...(upd.body as object), size: 2 }]);
    assert.equal((await fetch(`${url}/alerts/hotlists/stolen`, { method: 'DELETE' })).status, 204);
    assert.equal((await getJson(`${url}/alerts/hotlists/stolen`)).status, 404);
    assert.deepEqual(engine.evaluate(makeEvent({ plate: 'ABC123' })).matched, []);
    // A new list of the same name starts empty.
    await getJson(`${url}/alerts/hotlists`, json('POST', { name: 'stolen', priority: 'low' }));
    assert.deepEqual(engine.evaluate(makeEvent({ plate: 'ABC123' })).matched, []);
    await getJson(`${url}/alerts/hotlists/stolen/entries`, json('POST', { plate: 'ABC123' }));
    assert.deepEqual(engine.evaluate(makeEvent({ plate: 'ABC123' })).matched, ['Hotlist hit']);
  });

  it('test-sends through the rule actions and keeps history queryable', async () => {
    hook.script([200]);
    const r = await getJson(
      `${url}/alerts/rules`,
      json('POST', {
        name: 'Hook',
        conditions: { plates: [{ pattern: 'HK1' }] },
        actions: [
          { channel: 'webhook', url: `${hook.url}/x` },
          { channel: 'sms', to: ['+15555550100'] },
        ],
      }),
    );
    const t = await getJson(`${url}/alerts/rules/${r.body.id as string}/test`, { method: 'POST' });
    assert.equal(t.status, 200);
    const results = t.body.results as { channel: string; ok: boolean; error?: string }[];
    assert.deepEqual(results[0], { channel: 'webhook', ok: true });
    assert.equal(results[1].ok, false);
    assert.match(results[1].error!, /TWILIO_ACCOUNT_SID/);

    engine.evaluate(makeEvent({ plate: 'HK1' }));
    await engine.idle();
    const h = await getJson(`${url}/alerts/history?rule=Hook&limit=10`);
    assert.equal(h.status, 200);
    assert.equal(h.body.total, 2);
    const items = h.body.items as { channel: string; status: string; plate: string }[];
    assert.deepEqual(items.map((i) => `${i.channel}:${i.status}`).sort(), ['sms:failed', 'webhook:delivered']);
    assert.equal((await getJson(`${url}/alerts/history?status=failed&channel=sms`)).body.total, 1);
    assert.equal((await getJson(`${url}/alerts/history?plate=hk-1`)).body.total, 2);
    const bad = await getJson(`${url}/alerts/history?start_time=yesterday`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error!.field, 'start_time');

    const metrics = await (await fetch(`${url}/metrics`)).text();
    for (const name of [
      'alpr_alert_events_processed_total',
      'alpr_alert_triggered_total{rule="Hook"}',
      'alpr_notifications_sent_total{channel="webhook"}',
      'alpr_notifications_failed_total{channel="sms"}',
      'alpr_rule_evaluation_duration_seconds_bucket',
    ]) {
      assert.ok(metrics.includes(name), `${name} in /metrics`);
    }
  });
});
