import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { describe, it } from 'node:test';
import { AlertRule, validateRule, type AlertRuleInput } from '../../src-pipeline/common/alert-rules.js';
import { PlateEvent, type PlateEventInput } from '../../src-pipeline/common/plate-event.js';
import { compileRule, EventFacts, localDayMinute } from '../../src-pipeline/alerts/compile.js';
import { parseAlertsConfig } from '../../src-pipeline/alerts/config.js';
import { plateDistance } from '../../src-pipeline/alerts/fuzzy.js';
import { HotlistIndex } from '../../src-pipeline/alerts/hotlist-index.js';
import { exportHotlistCsv, importHotlistCsv } from '../../src-pipeline/alerts/hotlist-csv.js';
import { RateLimiter } from '../../src-pipeline/alerts/rate-limit.js';
import { AlprError } from '../../src-pipeline/common/errors.js';

function event(plate: string, over: Partial<PlateEventInput> = {}): PlateEvent {
  return PlateEvent.parse({
    event_id: randomUUID(),
    captured_at: '2024-05-01T12:00:00Z', // a Wednesday
    camera_id: 'cam-1',
    plate: { text: plate, normalized_text: plate, confidence: 0.9, region: null },
    vehicle: { type: 'car' },
    node: { site: 'site-a' },
    extras: { direction: 'in' },
    ...over,
  });
}

function rule(input: AlertRuleInput): AlertRule {
  const v = validateRule(input);
  if (!v.ok) throw new Error(JSON.stringify(v.issues));
  const t = new Date().toISOString();
  return AlertRule.parse({ ...v.rule, id: 'r1', source: 'api', created_at: t, updated_at: t });
}

function matches(input: AlertRuleInput, e: PlateEvent, hotlists = new HotlistIndex(), nowMs = Date.parse('2024-05-01T12:00:00Z')): boolean {
  const c = compileRule(rule(input), hotlists);
  const f = new EventFacts(e, hotlists, nowMs);
  const explained = c.explain(f);
  const m = c.matches(f);
  assert.equal(explained.matched, m, `explain and matches agree: ${explained.reasons.join('; ')}`);
  return m;
}

const plates = (pattern: string, match: string, extra: Record<string, unknown> = {}): AlertRuleInput =>
  ({ name: 'r', conditions: { plates: [{ pattern, match, ...extra }] } }) as AlertRuleInput;

describe('alert rule validation', () => {
  it('reports a bad regex, an unknown field and an unknown channel with their paths', () => {
    const v = validateRule({
      name: 'bad',
      conditions: { plates: [{ pattern: '([A-Z', match: 'regex' }], colour: 'red' },
      actions: [{ channel: 'pager', to: ['x'] }],
    });
    assert.equal(v.ok, false);
    if (v.ok) return;
    const paths = v.issues.map((i) => i.path);
    assert.ok(paths.includes('conditions.plates.0.pattern'), paths.join());
    assert.ok(paths.includes('conditions.colour'), paths.join());
    assert.ok(paths.includes('actions.0.channel'), paths.join());
    assert.match(v.issues.find((i) => i.path === 'conditions.plates.0.pattern')!.message, /regular expression/);
    assert.match(v.issues.find((i) => i.path === 'conditions.colour')!.message, /unknown field/);
    assert.match(v.issues.find((i) => i.path === 'actions.0.channel')!.message, /unknown channel/);
  });

  it('rejects a bad time zone, a bad hour, an unknown match type and a distance on a non-fuzzy pattern', () => {
    const v = validateRule({
      name: 'bad',
      conditions: {
        timezone: 'Mars/Olympus',
        hours: { from: '24:00', to: '06:00' },
        plates: [
          { pattern: 'AB', match: 'soundex' },
          { pattern: 'AB', match: 'exact', max_distance: 1 },
        ],
      },
    });
    assert.equal(v.ok, false);
    if (v.ok) return;
    const paths = v.issues.map((i) => i.path);
    for (const p of ['conditions.timezone', 'conditions.hours.from', 'conditions.plates.0.match', 'conditions.plates.1.max_distance'])
      assert.ok(paths.includes(p), `${p} in ${paths.join()}`);
  });

  it('accepts a complete rule and fills defaults', () => {
    const v = validateRule({
      name: 'ok',
      conditions: { plates: [{ pattern: 'ABC123' }], cameras: ['cam-1'], days: ['mon'], hours: { from: '08:00', to: '18:00' }, timezone: 'Europe/Bucharest' },
      actions: [
        { channel: 'email', to: ['ops@example.com'] },
        { channel: 'slack', webhook_url_env: 'SLACK_URL' },
        { channel: 'webhook', url: 'https://example.com/hook', secret_env: 'HOOK_SECRET' },
        { channel: 'sms', to: ['+15555550100'] },
      ],
    });
    assert.ok(v.ok);
    if (v.ok) {
      assert.equal(v.rule.enabled, true);
      assert.equal(v.rule.conditions.plates![0].match, 'exact');
    }
  });

  it('config files name the rule index in every problem', () => {
    assert.throws(
      () => parseAlertsConfig({ rules: [{ name: 'a' }, { name: 'b', conditions: { plates: [{ pattern: '(', match: 'regex' }] } }] }, 'alert_rules.yaml'),
      (err: unknown) => err instanceof AlprError && err.code === 'CONFIG_INVALID' && /rules\.1\.conditions\.plates\.0\.pattern/.test(err.message),
    );
    assert.throws(() => parseAlertsConfig({ rules: [{ name: 'a' }, { name: 'a' }] }, 'f.yaml'), /duplicate rule name/);
    const cfg = parseAlertsConfig({ rules: [{ name: 'Gate Watch' }] }, 'f.yaml');
    assert.equal(cfg.rules[0].id, 'config:gate-watch');
    assert.equal(cfg.rules[0].source, 'config');
  });
});

describe('plate match types', () => {
  it('exact, prefix, suffix, contains and regex (on the normalised plate)', () => {
    const e = event('ABC1234');
    assert.equal(matches(plates('abc-1234', 'exact'), e), true);
    assert.equal(matches(plates('ABC123', 'exact'), e), false);
    assert.equal(matches(plates('ABC', 'prefix'), e), true);
    assert.equal(matches(plates('BC', 'prefix'), e), false);
    assert.equal(matches(plates('234', 'suffix'), e), true);
    assert.equal(matches(plates('123', 'suffix'), e), false);
    assert.equal(matches(plates('C12', 'contains'), e), true);
    assert.equal(matches(plates('XYZ', 'contains'), e), false);
    assert.equal(matches(plates('^[A-Z]{3}\\d{4}$', 'regex'), e), true);
    assert.equal(matches(plates('^\\d', 'regex'), e), false);
  });

  it('fuzzy: look-alike swaps are near-free, real misreads cost one edit each', () => {
    assert.equal(plateDistance('ABC1234', 'ABC1234', 1), 0);
    assert.equal(plateDistance('A8C1234', 'ABC1234', 1), 0.25);
    assert.equal(plateDistance('O8CI2S4', 'OBC1234', 2), 1.5); // 8/B and I/1 swaps (0.25 each) plus S for 3, a real misread (1)
    assert.equal(plateDistance('ABC1Z34', 'ABC1234', 1), 0.25);
    assert.equal(plateDistance('ABC12345', 'ABC1234', 1), 1); // one insertion
    assert.equal(plateDistance('ABD1234', 'ABC1234', 1), 1); // D/C is a real substitution
    assert.ok(plateDistance('XYZ9876', 'ABC1234', 1) > 1);
    assert.ok(plateDistance('ABC123456', 'ABC1234', 1) > 1); // outside the band: early exit

    const e = (p: string) => event(p);
    const r = plates('0BC1234', 'fuzzy', { max_distance: 0.5 });
    assert.equal(matches(r, e('OBC1234')), true);
    assert.equal(matches(r, e('O8C1234')), true); // two swaps = 0.5
    assert.equal(matches(r, e('O8CI234')), false); // three swaps = 0.75
    assert.equal(matches(r, e('XBC1234')), false);
    const one = plates('ABC1234', 'fuzzy'); // default max 1
    assert.equal(matches(one, e('ABC124')), true); // a dropped character
    assert.equal(matches(one, e('ABX1Z34')), false); // X for C (1) plus Z for 2 (0.25) is over 1
    assert.equal(matches(one, e('A8C1Z34')), true); // two swaps: 0.5
  });
});

describe('other conditions', () => {
  it('cameras, sites, confidence, vehicle types and directions (case-insensitive where free text)', () => {
    const e = event('ABC123', { vehicle: { type: 'Truck' }, extras: { direction: 'OUT' } });
    assert.equal(matches({ name: 'r', conditions: { cameras: ['cam-1', 'cam-2'] } }, e), true);
    assert.equal(matches({ name: 'r', conditions: { cameras: ['cam-2'] } }, e), false);
    assert.equal(matches({ name: 'r', conditions: { sites: ['site-a'] } }, e), true);
    assert.equal(matches({ name: 'r', conditions: { sites: ['site-b'] } }, e), false);
    assert.equal(matches({ name: 'r', conditions: { min_confidence: 0.9 } }, e), true);
    assert.equal(matches({ name: 'r', conditions: { min_confidence: 0.95 } }, e), false);
    assert.equal(matches({ name: 'r', conditions: { vehicle_types: ['truck', 'bus'] } }, e), true);
    assert.equal(matches({ name: 'r', conditions: { vehicle_types: ['car'] } }, e), false);
    assert.equal(matches({ name: 'r', conditions: { directions: ['out'] } }, e), true);
    assert.equal(matches({ name: 'r', conditions: { directions: ['in'] } }, e), false);
    assert.equal(matches({ name: 'r', enabled: false }, e), false);
  });

  it('days and hours in the rule time zone, including windows across midnight', () => {
    // 2024-05-01T21:30Z is Wednesday 21:30 UTC, Thursday 00:30 in Bucharest (UTC+3 in summer), Wednesday 17:30 in New York.
    const e = event('ABC123', { captured_at: '2024-05-01T21:30:00Z' });
    assert.deepEqual(localDayMinute(Date.parse(e.captured_at), 'Europe/Bucharest'), { day: 'thu', minute: 30 });
    assert.deepEqual(localDayMinute(Date.parse(e.captured_at), 'America/New_York'), { day: 'wed', minute: 17 * 60 + 30 });
    const night = { from: '22:00', to: '06:00' };
    assert.equal(matches({ name: 'r', conditions: { hours: night } }, e), false); // 21:30 UTC
    assert.equal(matches({ name: 'r', conditions: { hours: night, timezone: 'Europe/Bucharest' } }, e), true); // 00:30 local
    assert.equal(matches({ name: 'r', conditions: { hours: night, timezone: 'America/New_York' } }, e), false);
    assert.equal(matches({ name: 'r', conditions: { days: ['thu'], timezone: 'Europe/Bucharest' } }, e), true);
    assert.equal(matches({ name: 'r', conditions: { days: ['thu'] } }, e), false);
    assert.equal(matches({ name: 'r', conditions: { days: ['wed'], hours: { from: '17:00', to: '18:00' }, timezone: 'America/New_York' } }, e), true);
    // `to` is exclusive.
    assert.equal(matches({ name: 'r', conditions: { hours: { from: '20:00', to: '21:30' } } }, e), false);
    assert.equal(matches({ name: 'r', conditions: { hours: { from: '21:30', to: '21:31' } } }, e), true);
  });

  it('hotlist membership, with priorities, named lists, any list and expiry', () => {
    const t = '2024-01-01T00:00:00.000Z';
    const index = new HotlistIndex(
      [
        { name: 'stolen', priority: 'critical', reason: 'reported stolen', created_at: t, updated_at: t },
        { name: 'vip', priority: 'low', created_at: t, updated_at: t },
      ],
      [
        { hotlist: 'stolen', plate: 'ABC123', added_at: t },
        { hotlist: 'vip', plate: 'ABC123', added_at: t },
        { hotlist: 'vip', plate: 'OLD999', expires_at: '2024-04-01T00:00:00.000Z', added_at: t },
      ],
    );
    const now = Date.parse('2024-05-01T12:00:00Z');
    assert.equal(index.lookup('ABC123', now)[0].hotlist, 'stolen'); // highest priority first
    assert.equal(matches({ name: 'r', conditions: { hotlists: ['stolen'] } }, event('ABC123'), index, now), true);
    assert.equal(matches({ name: 'r', conditions: { hotlists: ['*'] } }, event('ABC123'), index, now), true);
    assert.equal(matches({ name: 'r', conditions: { hotlists: ['stolen'] } }, event('XYZ789'), index, now), false);
    assert.equal(matches({ name: 'r', conditions: { hotlists: ['vip'] } }, event('OLD999'), index, now), false); // expired
    assert.equal(matches({ name: 'r', conditions: { hotlists: ['vip'] } }, event('OLD999'), index, Date.parse('2024-03-01T00:00:00Z')), true);
  });

  it('every condition given must hold, and explain says which one failed', () => {
    const r = compileRule(
      rule({ name: 'r', conditions: { cameras: ['cam-1'], plates: [{ pattern: 'ABC', match: 'prefix' }], min_confidence: 0.95 } }),
      new HotlistIndex(),
    );
    const ex = r.explain(new EventFacts(event('ABC123'), new HotlistIndex(), Date.now()));
    assert.equal(ex.matched, false);
    assert.match(ex.reasons.at(-1)!, /confidence 0.9 < 0.95/);
    assert.ok(ex.reasons.some((x) => /camera cam-1 is in/.test(x)));
  });
});

describe('rate limiter', () => {
  it('one alert per rule and plate per window, other plates and rules unaffected', () => {
    const rl = new RateLimiter();
    const t = 1_000_000;
    assert.equal(rl.allow('r1', 'ABC', 60, t), true);
    assert.equal(rl.allow('r1', 'ABC', 60, t + 59_000), false);
    assert.equal(rl.allow('r1', 'XYZ', 60, t + 1), true);
    assert.equal(rl.allow('r2', 'ABC', 60, t + 1), true);
    assert.equal(rl.allow('r1', 'ABC', 60, t + 60_000), true);
    assert.equal(rl.allow('r1', 'ABC', 0, t + 60_001), true); // window 0: no limit
  });

  it('stays bounded', () => {
    const rl = new RateLimiter(1000);
    for (let i = 0; i < 5000; i++) rl.allow('r', `P${i}`, 3600, i);
    assert.ok(rl.size <= 1000);
  });
});

describe('hotlist CSV', () => {
  it('imports with a header, quoting, normalisation, duplicates and per-line errors', () => {
    const csv = 'plate,reason,expires_at\r\nabc-123,"stolen, red car",2030-01-01T00:00:00Z\nXYZ789,,\n\nABC123,dup,\n---,bad plate,\nDEF456,x,not-a-date\n';
    const r = importHotlistCsv(csv);
    assert.deepEqual(
      r.rows.map((x) => x.plate),
      ['ABC123', 'XYZ789'],
    );
    assert.equal(r.rows[0].reason, 'stolen, red car');
    assert.equal(r.rows[0].expires_at, '2030-01-01T00:00:00.000Z');
    assert.equal(r.skipped, 2); // blank line and duplicate
    assert.deepEqual(
      r.errors.map((e) => e.line),
      [6, 7],
    );
  });

  it('exports what it imports, with formulas defused', () => {
    const out = exportHotlistCsv([
      { hotlist: 'h', plate: 'ABC123', reason: '=HYPERLINK("x")', added_at: '2024-01-01T00:00:00.000Z' },
      { hotlist: 'h', plate: 'XYZ789', reason: 'plain', expires_at: '2030-01-01T00:00:00.000Z', added_at: '2024-01-01T00:00:00.000Z' },
    ]);
    assert.match(out, /^plate,reason,expires_at\r\n/);
    assert.match(out, /ABC123,"'=HYPERLINK\(""x""\)",/);
    const back = importHotlistCsv(out);
    assert.deepEqual(
      back.rows.map((x) => x.plate),
      ['ABC123', 'XYZ789'],
    );
    assert.equal(back.rows[1].expires_at, '2030-01-01T00:00:00.000Z');
  });
});

describe('rule index', () => {
  it('visits exactly the rules that can match: same outcome as checking every rule', async () => {
    const { AlertEngine } = await import('../../src-pipeline/alerts/engine.js');
    const { RuleIndex } = await import('../../src-pipeline/alerts/rule-index.js');
    const cfg = parseAlertsConfig(
      {
        rules: [
          { name: 'exact', conditions: { plates: [{ pattern: 'AAA111' }, { pattern: 'BBB222' }] } },
          { name: 'exact+camera', conditions: { plates: [{ pattern: 'AAA111' }], cameras: ['cam-2'] } },
          { name: 'camera', conditions: { cameras: ['cam-1'] } },
          { name: 'prefix', conditions: { plates: [{ pattern: 'AA', match: 'prefix' }, { pattern: 'CCC333' }] } },
          { name: 'any', conditions: {} },
          { name: 'disabled', enabled: false },
          { name: 'camera2', conditions: { cameras: ['cam-1', 'cam-2'], min_confidence: 0.5 } },
          { name: 'prefixes', conditions: { plates: [{ pattern: 'A', match: 'prefix' }, { pattern: 'B', match: 'prefix' }, { pattern: 'ZZZ000' }] } },
          {
            name: 'suffixes',
            conditions: {
              plates: [
                { pattern: '1', match: 'suffix' },
                { pattern: '000', match: 'suffix' },
              ],
            },
          },
          {
            name: 'mixed ends',
            conditions: {
              plates: [
                { pattern: 'A', match: 'prefix' },
                { pattern: '3', match: 'suffix' },
              ],
            },
          },
        ],
      },
      'test',
    );
    const engine = await AlertEngine.open({ config: cfg, store: null });
    try {
      const hotlists = new HotlistIndex();
      const compiled = engine.allRules().map((r) => compileRule(r, hotlists));
      const index = new RuleIndex(compiled);
      for (const plate of ['AAA111', 'BBB222', 'CCC333', 'AAX999', 'ZZZ000']) {
        for (const camera of ['cam-1', 'cam-2', 'cam-3']) {
          const e = event(plate, { camera_id: camera });
          const f = new EventFacts(e, hotlists, Date.now());
          const brute = compiled.filter((c) => c.matches(f)).map((c) => c.rule.name);
          assert.deepEqual(engine.evaluate(e).matched, brute, `${plate} on ${camera}`);
          const cands = index.candidates(plate, camera, () => false).flat();
          assert.equal(new Set(cands).size, cands.length, 'no rule visited twice');
          assert.ok(!cands.includes(5), 'disabled rules are never visited');
        }
      }
    } finally {
      await engine.close(0);
    }
  });
});

describe('hotlist index edits in place', () => {
  it('adds, replaces, removes, drops a list and follows new list settings', () => {
    const t = '2024-01-01T00:00:00.000Z';
    const list = (name: string, priority: 'low' | 'high') => ({ name, priority, created_at: t, updated_at: t });
    const index = new HotlistIndex([list('a', 'low'), list('b', 'high')]);
    index.add({ hotlist: 'a', plate: 'P1', reason: 'first' });
    index.add({ hotlist: 'b', plate: 'P1' });
    index.add({ hotlist: 'a', plate: 'P2' });
    assert.deepEqual(
      index.lookup('P1', 0).map((h) => h.hotlist),
      ['b', 'a'],
    );
    index.add({ hotlist: 'a', plate: 'P1', reason: 'replaced', expires_at: '1970-01-01T00:00:01.000Z' });
    assert.deepEqual(index.lookup('P1', 0).find((h) => h.hotlist === 'a')?.reason, 'replaced');
    assert.deepEqual(
      index.lookup('P1', 5000).map((h) => h.hotlist),
      ['b'],
    );
    index.remove('b', 'P1');
    assert.equal(index.lookup('P1', 5000).length, 0);
    index.setLists([{ ...list('a', 'high') }]);
    assert.equal(index.lookup('P2', 0)[0].priority, 'high');
    index.drop('a');
    assert.equal(index.lookup('P2', 0).length, 0);
    assert.equal(index.size, 0);
  });
});
