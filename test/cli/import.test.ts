/**
 * `ovr-alpr import` in-process: a JSONL file with valid, duplicate, malformed-JSON and
 * schema-invalid lines loads every valid event, reports each bad line with its number and
 * reason, and prints a summary; usage errors exit 2, a missing file exits 1.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventsDbPath, importCmd } from '../../src-pipeline/cli/import.js';
import { openSqliteStorage } from '../../src-pipeline/store/sqlite.js';
import { syntheticEvents } from '../../src-pipeline/store/synthetic.js';

const dir = mkdtempSync(join(tmpdir(), 'ovr-import-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function capture() {
  const out: string[] = [];
  const err: string[] = [];
  return { io: { out: (l: string) => out.push(l), err: (l: string) => err.push(l) }, out, err };
}

describe('ovr-alpr import', () => {
  const events = syntheticEvents(5, 3);
  const bad = { ...events[0], event_id: 'not-a-uuid', plate: { ...events[0].plate, confidence: 7 } };
  const lines = [
    JSON.stringify(events[0]),
    JSON.stringify(events[1]),
    '{"event_id": "broken',
    JSON.stringify(events[0]), // duplicate
    '',
    JSON.stringify(bad),
    JSON.stringify(events[2]),
    // The seed's numeric track ids and missing optional parts are accepted.
    JSON.stringify({ event_id: events[3].event_id, captured_at: events[3].captured_at, camera_id: 'cam-x', track_id: 12, plate: events[3].plate }),
    JSON.stringify(events[4]),
  ];
  const file = join(dir, 'events.jsonl');
  writeFileSync(file, lines.join('\n') + '\n');

  it('loads valid lines, skips bad ones with line number and reason, prints a summary', async () => {
    const dataDir = join(dir, 'data', 'nested');
    const c = capture();
    assert.equal(await importCmd(['--events-jsonl', file, '--data-dir', dataDir, '--batch', '2'], c.io), 0);
    assert.equal(c.err.length, 2, c.err.join('\n'));
    assert.match(c.err[0], /:3: invalid JSON: /);
    assert.match(c.err[1], /:6: invalid event: event_id: .*; plate\.confidence: /);
    assert.equal(c.out.length, 1);
    assert.match(c.out[0], /read 8, inserted 5, duplicates 1, invalid 2/);
    assert.ok(existsSync(eventsDbPath(dataDir)));

    const store = await openSqliteStorage(eventsDbPath(dataDir));
    assert.equal((await store.stats()).total_events, 5);
    const seedShaped = await store.get(events[3].event_id);
    assert.equal(seedShaped?.track_id, '12');
    assert.equal(seedShaped?.camera_id, 'cam-x');
    assert.deepEqual(await store.get(events[4].event_id).then((e) => e?.plate), events[4].plate);
    await store.close();
  });

  it('re-importing the same file inserts nothing new', async () => {
    const dataDir = join(dir, 'again');
    assert.equal(await importCmd(['--events-jsonl', file, '--data-dir', dataDir], capture().io), 0);
    const c = capture();
    assert.equal(await importCmd(['--events-jsonl', file, '--data-dir', dataDir], c.io), 0);
    assert.match(c.out[0], /inserted 0, duplicates 6, invalid 2/);
  });

  it('a missing file exits 1', async () => {
    const c = capture();
    assert.equal(await importCmd(['--events-jsonl', join(dir, 'nope.jsonl'), '--data-dir', dir], c.io), 1);
    assert.match(c.err.join('\n'), /not found/);
  });

  it('usage errors exit 2 with the usage text', async () => {
    for (const args of [
      [],
      ['--events-jsonl', file],
      ['--data-dir', dir],
      ['--events-jsonl', file, '--data-dir', dir, '--bogus'],
      ['--events-jsonl', file, '--data-dir', dir, '--batch', '0'],
    ]) {
      const c = capture();
      assert.equal(await importCmd(args, c.io), 2, args.join(' '));
      assert.match(c.err.join('\n'), /usage: ovr-alpr import/);
    }
  });
});
