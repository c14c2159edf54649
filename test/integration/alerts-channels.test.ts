/**
 * The alert engine end to end against real receivers on 127.0.0.1: an SMTP server (smtp-server,
 * parsed with mailparser), HTTP receivers for Slack and a webhook target, and a local stand-in
 * for Twilio's REST API (Twilio's cloud cannot be reached from here).
 */
import assert from 'node:assert/strict';
import { createHmac, randomUUID } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { parseAlertsConfig } from '../../src-pipeline/alerts/config.js';
import { AlertEngine } from '../../src-pipeline/alerts/engine.js';
import { SqliteAlertStore } from '../../src-pipeline/alerts/sqlite-store.js';
import { PlateEvent, type PlateEventInput } from '../../src-pipeline/common/plate-event.js';
import { startReceiver, type HttpReceiver } from '../support/http-receiver.js';
import { startSmtp, type TestSmtp } from '../support/smtp.js';

const SECRET = 'hmac-secret-do-not-log-1234';
const AUTH = 'Bearer token-do-not-log-5678';
const TWILIO_TOKEN = 'twilio-token-do-not-log-9012';

function event(plate: string, over: Partial<PlateEventInput> = {}): PlateEvent {
  return PlateEvent.parse({
    event_id: randomUUID(),
    captured_at: new Date().toISOString(),
    camera_id: 'gate-1',
    plate: { text: plate, normalized_text: plate, confidence: 0.95, region: null },
    vehicle: { type: 'car' },
    node: { site: 'hq' },
    extras: { direction: 'in' },
    ...over,
  });
}

describe('alert channels against local receivers', () => {
  let smtp: TestSmtp;
  let slack: HttpReceiver;
  let hook: HttpReceiver;
  let twilio: HttpReceiver;
  let dir: string;
  let store: SqliteAlertStore;
  let engine: AlertEngine;
  const logs: string[] = [];
  const jpeg = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 1, 2, 3, 4, 5, 0xff, 0xd9]);

  before(async () => {
    smtp = await startSmtp();
    slack = await startReceiver();
    hook = await startReceiver();
    twilio = await startReceiver({ defaultStatus: 201, responseBody: '{"sid":"SM123"}' });
    dir = mkdtempSync(join(tmpdir(), 'ovr-alerts-'));
    mkdirSync(join(dir, 'images', '2024'), { recursive: true });
    writeFileSync(join(dir, 'images', '2024', 'crop-plate.jpg'), jpeg);
    store = new SqliteAlertStore(join(dir, 'alerts.sqlite'));
    const config = parseAlertsConfig(
      {
        rules: [
          {
            name: 'mail',
            conditions: { plates: [{ pattern: 'MAIL', match: 'prefix' }] },
            actions: [
              { channel: 'email', to: ['ops@example.com'], subject: 'Plate {{plate}} at {{camera_id}}', body: 'Rule {{rule}} saw {{plate}} ({{confidence}})' },
            ],
          },
          {
            name: 'slack',
            conditions: { plates: [{ pattern: 'SLACK1', match: 'exact' }] },
            actions: [{ channel: 'slack', webhook_url_env: 'TEST_SLACK_URL' }],
          },
          {
            name: 'hook',
            conditions: { plates: [{ pattern: 'H00K', match: 'fuzzy', max_distance: 0.5 }] },
            actions: [
              { channel: 'webhook', url: `${hook.url}/alpr`, headers: { 'X-Team': 'gate' }, secret_env: 'TEST_HOOK_SECRET', auth_env: 'TEST_HOOK_AUTH' },
            ],
            rate_limit: { window_s: 3600 },
          },
          {
            name: 'sms',
            conditions: { plates: [{ pattern: '^SMS\\d+$', match: 'regex' }] },
            actions: [{ channel: 'sms', to: ['+15555550100', '+15555550101'] }],
          },
          {
            name: 'slow',
            conditions: { plates: [{ pattern: 'SLOW', match: 'contains' }] },
            actions: [{ channel: 'webhook', url: `${hook.url}/slow`, timeout_ms: 200 }],
            rate_limit: { window_s: 0 },
          },
        ],
        channels: {
          email: { host: '127.0.0.1', port: smtp.port, from: 'alerts@test.local' },
          sms: { base_url: twilio.url, from: '+15555550199', account_sid_env: 'TEST_TWILIO_SID', auth_token_env: 'TEST_TWILIO_TOKEN' },
          delivery: { attempts: 3, backoff_ms: 20, timeout_ms: 2000, queue_size: 100, concurrency: 2 },
        },
      },
      'test',
    );
    engine = await AlertEngine.open({
      config,
      store,
      imagesDir: join(dir, 'images'),
      env: {
        TEST_SLACK_URL: `${slack.url}/services/T000/B000/XXX`,
        TEST_HOOK_SECRET: SECRET,
        TEST_HOOK_AUTH: AUTH,
        TEST_TWILIO_SID: 'AC123',
        TEST_TWILIO_TOKEN: TWILIO_TOKEN,
      },
      log: (level, message, details) => logs.push(JSON.stringify({ level, message, ...details })),
    });
  });

  after(async () => {
    await engine.close(1000);
    await store.close();
    await Promise.all([smtp.close(), slack.close(), hook.close(), twilio.close()]);
    rmSync(dir, { recursive: true, force: true });
  });

  it('emails a real SMTP server with the templated subject and the plate crop attached', async () => {
    const e = event('MAIL123', { images: { plate_url: '/images/2024/crop-plate.jpg' } });
    assert.deepEqual(engine.evaluate(e).fired, ['mail']);
    const [mail] = await smtp.waitFor(1);
    assert.equal(mail.subject, 'Plate MAIL123 at gate-1');
    assert.match(mail.text ?? '', /Rule mail saw MAIL123 \(0\.95\)/);
    assert.equal(mail.attachments.length, 1);
    assert.equal(mail.attachments[0].contentType, 'image/jpeg');
    assert.deepEqual(Buffer.from(mail.attachments[0].content), jpeg);
    await engine.idle();
    const h = await store.queryHistory({ rule: 'mail', limit: 10, offset: 0 });
    assert.equal(h.items[0].status, 'delivered');
    assert.equal(h.items[0].event_id, e.event_id);
    assert.equal(h.items[0].channel, 'email');
  });

  it('posts Slack blocks to the incoming webhook', async () => {
    engine.evaluate(event('SLACK1'));
    const [req] = await slack.waitFor(1);
    assert.equal(req.path, '/services/T000/B000/XXX');
    const body = JSON.parse(req.body) as { text: string; blocks: { type: string }[] };
    assert.match(body.text, /SLACK1/);
    assert.deepEqual(
      body.blocks.map((b) => b.type),
      ['header', 'section', 'section', 'context'],
    );
  });

  it('signs webhooks with HMAC-SHA256, sends the auth header, retries after a 500, and rate-limits per rule and plate', async () => {
    hook.requests.length = 0;
    hook.script([500, 200]);
    const e = event('HOOK'); // fuzzy: O/0 swaps cost 0.25 each
    assert.deepEqual(engine.evaluate(e).fired, ['hook']);
    assert.deepEqual(engine.evaluate(event('HOOK')).fired, [], 'same plate again within the window: suppressed');
    await hook.waitFor(2);
    await engine.idle();
    assert.equal(hook.requests.length, 2, 'one failed attempt, one retry, nothing for the suppressed match');
    const req = hook.requests[1];
    assert.equal(req.path, '/alpr');
    assert.equal(req.headers.authorization, AUTH);
    assert.equal(req.headers['x-team'], 'gate');
    const expected = `sha256=${createHmac('sha256', SECRET).update(req.body).digest('hex')}`;
    assert.equal(req.headers['x-alpr-signature'], expected);
    const body = JSON.parse(req.body) as { rule: { name: string }; event: { event_id: string }; matched: string };
    assert.equal(body.rule.name, 'hook');
    assert.equal(body.event.event_id, e.event_id);
    assert.match(body.matched, /fuzzy H00K/);
    const h = await store.queryHistory({ rule: 'hook', limit: 10, offset: 0 });
    assert.equal(h.total, 1);
    assert.equal(h.items[0].status, 'delivered');
    assert.equal(h.items[0].attempts, 2);
    const metrics = await engine.metrics.registry.getSingleMetricAsString('alpr_alert_suppressed_total');
    assert.match(metrics, /rule="hook"} 1/);
  });

  it("sends SMS through the Twilio REST API shape (local stand-in for Twilio's cloud)", async () => {
    engine.evaluate(event('SMS42'));
    const reqs = await twilio.waitFor(2);
    for (const r of reqs) {
      assert.equal(r.method, 'POST');
      assert.equal(r.path, '/2010-04-01/Accounts/AC123/Messages.json');
      assert.equal(r.headers.authorization, `Basic ${Buffer.from(`AC123:${TWILIO_TOKEN}`).toString('base64')}`);
      assert.equal(r.headers['content-type'], 'application/x-www-form-urlencoded');
    }
    const forms = reqs.map((r) => new URLSearchParams(r.body));
    assert.deepEqual(forms.map((f) => f.get('To')).sort(), ['+15555550100', '+15555550101']);
    assert.equal(forms[0].get('From'), '+15555550199');
    assert.match(forms[0].get('Body') ?? '', /SMS42/);
  });

  it('counts a failure after every retry, records why, and never logs a secret', async () => {
    hook.requests.length = 0;
    hook.delay(1000); // longer than the rule's 200 ms timeout
    engine.evaluate(event('SLOW1'));
    await engine.idle();
    hook.delay(0);
    const h = await store.queryHistory({ rule: 'slow', status: 'failed', limit: 10, offset: 0 });
    assert.equal(h.total, 1);
    assert.equal(h.items[0].attempts, 3);
    assert.match(h.items[0].error ?? '', /timed out/);
    const failed = await engine.metrics.registry.getSingleMetricAsString('alpr_notifications_failed_total');
    assert.match(failed, /channel="webhook"} 1/);
    const sent = await engine.metrics.registry.getSingleMetricAsString('alpr_notifications_sent_total');
    assert.match(sent, /channel="email"} 1/);
    const all = logs.join('\n') + JSON.stringify((await store.queryHistory({ limit: 100, offset: 0 })).items);
    for (const secret of [SECRET, AUTH, TWILIO_TOKEN, '/services/T000/B000/XXX']) assert.ok(!all.includes(secret), `${secret} leaked`);
  });

  it('a missing secret fails at once (no retries) with the variable named', async () => {
    const config = parseAlertsConfig(
      { rules: [{ name: 'nosecret', actions: [{ channel: 'slack', webhook_url_env: 'NOT_SET_ANYWHERE' }] }], channels: { delivery: { backoff_ms: 1 } } },
      'test',
    );
    const e2 = await AlertEngine.open({ config, store: null, env: {} });
    try {
      const [r] = await e2.testRule(e2.allRules()[0]);
      assert.equal(r.ok, false);
      assert.equal(r.attempts, 1);
      assert.match(r.error ?? '', /NOT_SET_ANYWHERE/);
    } finally {
      await e2.close(0);
    }
  });

  it('a full delivery queue drops (and counts) instead of growing, and submit never throws', async () => {
    const config = parseAlertsConfig(
      {
        rules: [{ name: 'burst', actions: [{ channel: 'webhook', url: `${hook.url}/burst` }], rate_limit: { window_s: 0 } }],
        channels: { delivery: { queue_size: 2, concurrency: 1, attempts: 1 } },
      },
      'test',
    );
    const e3 = await AlertEngine.open({ config, store: null });
    try {
      hook.delay(100);
      for (let i = 0; i < 10; i++) e3.submit(event(`BURST${i}`));
      await e3.idle();
      hook.delay(0);
      const s = e3.deliveryStats();
      assert.equal(s.delivered, 3); // one in flight + two queued
      assert.equal(s.dropped, 7);
      assert.match(await e3.metrics.registry.getSingleMetricAsString('alpr_notifications_dropped_total'), /channel="webhook"} 7/);
    } finally {
      await e3.close(0);
    }
  });
});
