/**
 * `serve --retention-days/--max-events/--max-image-mb`: the scheduler runs once the server
 * listens, removes old rows and their images, and is stopped before the store closes.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { serveCmd } from '../../src-pipeline/cli/serve.js';
import { AlprError } from '../../src-pipeline/common/errors.js';
import { PlateEvent } from '../../src-pipeline/common/plate-event.js';
import { openLocalImageStore } from '../../src-pipeline/images/local-image-store.js';
import { openSqliteStorage } from '../../src-pipeline/store/sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'ovr-serve-ret-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('ovr-alpr serve retention', () => {
  it('deletes events older than --retention-days with their images, and stops cleanly', async () => {
    const old = new Date(Date.now() - 10 * 86_400_000).toISOString();
    const fresh = new Date().toISOString();
    const storage = await openSqliteStorage(join(dir, 'events.sqlite'));
    const images = await openLocalImageStore(join(dir, 'images'));
    const oldUrl = await images.put('plate', 'old-1', old, Buffer.alloc(10));
    const freshUrl = await images.put('plate', 'fresh-1', fresh, Buffer.alloc(10));
    await storage.insertMany([
      PlateEvent.parse({
        event_id: '00000000-0000-4000-8000-000000000001',
        captured_at: old,
        camera_id: 'c',
        plate: { text: 'A1', normalized_text: 'A1', confidence: 0.9 },
        images: { plate_url: oldUrl },
      }),
      PlateEvent.parse({
        event_id: '00000000-0000-4000-8000-000000000002',
        captured_at: fresh,
        camera_id: 'c',
        plate: { text: 'B2', normalized_text: 'B2', confidence: 0.9 },
        images: { plate_url: freshUrl },
      }),
    ]);
    await storage.close();

    const ac = new AbortController();
    const out: string[] = [];
    const err: string[] = [];
    const done = serveCmd(['--data-dir', dir, '--port', '0', '--no-pipeline', '--log-level', 'silent', '--retention-days', '7'], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      signal: ac.signal,
      env: {},
    });
    const deadline = Date.now() + 5000;
    while (!err.some((l) => l.startsWith('retention info')) && Date.now() < deadline) await sleep(10);
    ac.abort();
    assert.equal(await done, 0);
    assert.match(err.find((l) => l.startsWith('retention info')) ?? '', /"events_deleted":1/);
    assert.equal(existsSync(join(dir, 'images', oldUrl.slice(8))), false);
    assert.equal(existsSync(join(dir, 'images', freshUrl.slice(8))), true);
    const after = await openSqliteStorage(join(dir, 'events.sqlite'));
    assert.equal((await after.stats()).total_events, 1);
    await after.close();
  });

  it('rejects bad retention flags', async () => {
    const io = { out: () => undefined, err: () => undefined, env: {} };
    for (const flag of [
      ['--retention-days', '-1'],
      ['--max-events', '1.5'],
      ['--max-image-mb', 'x'],
      ['--retention-interval-min', '0'],
    ])
      await assert.rejects(serveCmd(['--data-dir', dir, ...flag], io), (e: unknown) => e instanceof AlprError && e.code === 'USAGE', flag.join(' '));
  });
});
