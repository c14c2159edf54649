/**
 * The command line: `ovr-alpr alerts check` (dry run: which rules match and why, JSON last line)
 * and the embedded engine in `ovr-alpr run`, where every stored event of a real clip is
 * evaluated in-process and a webhook goes to a local receiver.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { main } from '../../src-pipeline/cli.js';
import { SqliteAlertStore } from '../../src-pipeline/alerts/sqlite-store.js';
import { runCmd } from '../../src-pipeline/cli/run.js';
import { makeEvent } from '../api/support.js';
import { startReceiver } from '../support/http-receiver.js';
import { sharedDataDir, sharedSkip } from '../support/shared.js';
import { ffmpegSkip } from '../support/tools.js';

const tmp = mkdtempSync(join(tmpdir(), 'ovr-alerts-cli-'));
const CLIP03 = sharedDataDir('video', '03_nz_highway_incar_qengineering.mp4');

async function cli(args: string[]): Promise<{ code: number; out: string[]; err: string[] }> {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(args, { out: (l) => out.push(l), err: (l) => err.push(l) });
  return { code, out, err };
}

describe('ovr-alpr alerts check', () => {
  after(() => rmSync(tmp, { recursive: true, force: true }));
  const rules = join(tmp, 'rules.yaml');
  writeFileSync(
    rules,
    [
      'rules:',
      '  - name: Fuzzy watch',
      '    conditions: { plates: [{ pattern: ABC1234, match: fuzzy, max_distance: 1 }] }',
      '  - name: Night gate',
      '    conditions: { cameras: [gate], hours: { from: "22:00", to: "06:00" }, timezone: Europe/Bucharest }',
      '  - name: Trucks only',
      '    conditions: { vehicle_types: [truck] }',
      '  - name: Disabled',
      '    enabled: false',
    ].join('\n'),
  );
  // 21:30 UTC on 2024-05-01 is 00:30 on the 2nd in Bucharest.
  const event = makeEvent({ plate: 'A8C1Z34', camera_id: 'gate', at: '2024-05-01T21:30:00.000Z' });

  it('prints a line per rule and a JSON summary last', async () => {
    const r = await cli(['alerts', 'check', '--rules', rules, '--event', JSON.stringify(event), '--json']);
    assert.equal(r.code, 0, r.err.join('\n'));
    const last = JSON.parse(r.out.at(-1)!) as { matched: string[]; reasons: Record<string, string[]> };
    assert.deepEqual(last.matched, ['Fuzzy watch', 'Night gate']);
    assert.deepEqual(Object.keys(last.reasons), ['Fuzzy watch', 'Night gate', 'Trucks only', 'Disabled']);
    assert.match(last.reasons['Fuzzy watch'].join(), /distance 0.5/);
    assert.match(last.reasons['Night gate'].join(), /00:30 \(Europe\/Bucharest\) is within 22:00-06:00/);
    assert.match(last.reasons['Trucks only'].join(), /vehicle type car is not in \[truck\]/);
    assert.deepEqual(last.reasons.Disabled, ['rule is disabled']);
    assert.match(r.out[0], /^MATCH Fuzzy watch/);
  });

  it('reads the event from a file and prints a plain summary without --json', async () => {
    const file = join(tmp, 'event.json');
    writeFileSync(file, JSON.stringify({ ...event, plate: { ...event.plate, normalized_text: 'ZZZ999', text: 'ZZZ999' } }));
    const r = await cli(['alerts', 'check', '--rules', rules, '--event', `@${file}`]);
    assert.equal(r.code, 0);
    assert.equal(r.out.at(-1), '1 of 4 rule(s) match: Night gate');
  });

  it('refuses bad input with a coded error', async () => {
    const bad = join(tmp, 'bad.yaml');
    writeFileSync(bad, 'rules:\n  - name: x\n    conditions: { plates: [{ pattern: "(", match: regex }] }\n');
    const r1 = await cli(['alerts', 'check', '--rules', bad, '--event', JSON.stringify(event)]);
    assert.equal(r1.code, 1);
    assert.match(r1.err.join('\n'), /CONFIG_INVALID.*rules\.0\.conditions\.plates\.0\.pattern/s);
    const r2 = await cli(['alerts', 'check', '--rules', rules, '--event', '{"plate":1}']);
    assert.notEqual(r2.code, 0);
    assert.match(r2.err.join('\n'), /EVENT_INVALID/);
    const r3 = await cli(['alerts', 'check', '--rules', rules]);
    assert.equal(r3.code, 2);
    assert.match(r3.err.join('\n'), /USAGE/);
  });
});

describe('embedded engine in ovr-alpr run', { skip: sharedSkip([CLIP03]) || ffmpegSkip() }, () => {
  it('evaluates every stored event of a clip in-process and delivers a webhook per plate', async () => {
    const hook = await startReceiver();
    const dir = mkdtempSync(join(tmpdir(), 'ovr-alerts-run-'));
    try {
      const cfg = join(dir, 'config');
      const data = join(dir, 'data');
      await import('node:fs').then((fs) => fs.mkdirSync(cfg, { recursive: true }));
      writeFileSync(join(cfg, 'alert_rules.yaml'), `rules:\n  - name: Every plate\n    actions: [{ channel: webhook, url: "${hook.url}/every" }]\n`);
      const out: string[] = [];
      const code = await runCmd(['--source', CLIP03, '--config', cfg, '--data-dir', data, '--json'], { out: (l) => out.push(l), err: () => {} });
      assert.equal(code, 0);
      const summary = JSON.parse(out.at(-1)!) as { plates: string[]; events: number };
      assert.ok(summary.events > 0);
      // run closes the engine after the sink: every notification was sent before it returned.
      const plates = hook.requests.map((r) => (JSON.parse(r.body) as { event: { plate: { normalized_text: string } } }).event.plate.normalized_text);
      assert.deepEqual([...new Set(plates)].sort(), [...new Set(summary.plates)].sort());
      const store = new SqliteAlertStore(join(data, 'alerts.sqlite'));
      try {
        const h = await store.queryHistory({ rule: 'Every plate', limit: 100, offset: 0 });
        assert.equal(h.total, hook.requests.length);
        assert.ok(h.items.every((i) => i.status === 'delivered'));
      } finally {
        await store.close();
      }
    } finally {
      await hook.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
