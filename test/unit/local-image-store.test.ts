/**
 * LocalImageStore on temp folders: layout and URLs, atomic writes, the size index (kept
 * incrementally and rebuilt on reopen), pruning by size and age, and path safety.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { resolveImage } from '../../src-pipeline/api/routes/images.js';
import { openLocalImageStore } from '../../src-pipeline/images/local-image-store.js';

const base = mkdtempSync(join(tmpdir(), 'ovr-images-'));
let n = 0;
const freshRoot = () => join(base, `root-${n++}`);
after(() => rmSync(base, { recursive: true, force: true }));

const jpeg = (size: number, fill = 0xff) => Buffer.alloc(size, fill);

/** Every file under `dir`, relative, sorted. */
function tree(dir: string): string[] {
  return (readdirSync(dir, { recursive: true, withFileTypes: true }) as import('node:fs').Dirent[])
    .filter((d) => d.isFile())
    .map((d) => join(d.parentPath, d.name).slice(dir.length + 1))
    .sort();
}

describe('LocalImageStore', () => {
  it('puts files in UTC day folders named by event id and kind, and the API route serves them', async () => {
    const root = freshRoot();
    const store = await openLocalImageStore(root);
    const url = await store.put('plate', 'ev-1', '2024-05-01T23:30:00.000-02:00', jpeg(100));
    assert.equal(url, '/images/2024/05/02/ev-1-plate.jpg');
    const file = join(root, '2024/05/02/ev-1-plate.jpg');
    assert.equal(readFileSync(file).length, 100);
    // mtime carries the capture time (what "oldest" means, and what a rescan reads back)
    assert.equal(statSync(file).mtimeMs, Date.parse('2024-05-02T01:30:00.000Z'));
    assert.equal(await resolveImage(root, url.slice('/images/'.length)), file);
    assert.deepEqual(await store.usage(), { bytes: 100, files: 1 });
  });

  it('never puts the plate text in a name: only event ids are accepted', async () => {
    const store = await openLocalImageStore(freshRoot());
    for (const bad of ['', '../x', 'a/b', 'a.b', '.hidden', 'x'.repeat(129), 'a\0b', 'AB 123']) {
      await assert.rejects(store.put('plate', bad, '2024-05-01T00:00:00Z', jpeg(1)), /event id/, bad);
    }
    await assert.rejects(store.put('plate', 'ok', 'yesterday', jpeg(1)), /captured_at/);
    await assert.rejects(store.put('thumb' as 'plate', 'ok', '2024-05-01T00:00:00Z', jpeg(1)), /kind/);
    assert.deepEqual(await store.usage(), { bytes: 0, files: 0 });
  });

  it('writes atomically: no temp file is left, replacing a file keeps the totals right', async () => {
    const root = freshRoot();
    const store = await openLocalImageStore(root);
    await Promise.all(Array.from({ length: 20 }, (_, i) => store.put('vehicle', `ev-${i}`, '2024-05-01T10:00:00Z', jpeg(10 + i))));
    await store.put('vehicle', 'ev-0', '2024-05-01T10:00:00Z', jpeg(500));
    const files = tree(root);
    assert.equal(files.length, 20);
    assert.ok(
      files.every((f) => /^2024\/05\/01\/ev-\d+-vehicle\.jpg$/.test(f)),
      files.join(','),
    );
    assert.deepEqual(readdirSync(join(root, '.tmp')), []);
    const expected = 500 + Array.from({ length: 19 }, (_, i) => 11 + i).reduce((a, b) => a + b, 0);
    assert.deepEqual(await store.usage(), { bytes: expected, files: 20 });
  });

  it('a failed write leaves neither a temp file nor a half image', async () => {
    const root = freshRoot();
    const store = await openLocalImageStore(root);
    // A file where the day folder should be makes mkdir fail after the temp file is written.
    mkdirSync(join(root, '2024/05'), { recursive: true });
    writeFileSync(join(root, '2024/05/01'), 'not a folder');
    await assert.rejects(store.put('plate', 'ev-1', '2024-05-01T10:00:00Z', jpeg(10)), (err: Error & { code?: string }) => err.code === 'STORAGE_FAILED');
    assert.deepEqual(readdirSync(join(root, '.tmp')), []);
    assert.deepEqual(await store.usage(), { bytes: 0, files: 0 });
  });

  it('clears leftover temp files at open', async () => {
    const root = freshRoot();
    mkdirSync(join(root, '.tmp'), { recursive: true });
    writeFileSync(join(root, '.tmp', 'crashed.tmp'), 'half');
    const store = await openLocalImageStore(root);
    assert.deepEqual(readdirSync(join(root, '.tmp')), []);
    assert.deepEqual(await store.usage(), { bytes: 0, files: 0 });
  });

  it('deletes by URL, ignores unknown or foreign URLs, and removes emptied day folders', async () => {
    const root = freshRoot();
    const store = await openLocalImageStore(root);
    const a = await store.put('plate', 'a', '2024-05-01T10:00:00Z', jpeg(10));
    const b = await store.put('vehicle', 'a', '2024-05-01T10:00:00Z', jpeg(20));
    const c = await store.put('plate', 'c', '2024-05-02T10:00:00Z', jpeg(30));
    const removal = await store.remove([a, 'images/2024/05/01/a-vehicle.jpg', a, '/images/2024/05/01/missing.jpg', 'https://s3.example/x.jpg', '']);
    assert.deepEqual(removal, { deleted: 2, freedBytes: 30, urls: [a, 'images/2024/05/01/a-vehicle.jpg'], failed: 0 });
    assert.equal(existsSync(join(root, '2024/05/01')), false, 'empty day folder removed');
    assert.equal(existsSync(join(root, '2024/05/02')), true);
    assert.deepEqual(await store.usage(), { bytes: 30, files: 1 });
    assert.equal(await store.delete([b, c]), 1);
    assert.deepEqual(readdirSync(root), ['.tmp'], 'year and month folders go too; the root stays');
    assert.deepEqual(await store.usage(), { bytes: 0, files: 0 });
  });

  it('prunes to a byte budget, oldest capture first', async () => {
    const root = freshRoot();
    const store = await openLocalImageStore(root);
    // Written out of order: capture time, not write order, decides.
    const urls: Record<string, string> = {};
    for (const [id, at] of [
      ['d', '2024-05-04T00:00:00Z'],
      ['a', '2024-05-01T00:00:00Z'],
      ['c', '2024-05-03T00:00:00Z'],
      ['b', '2024-05-02T00:00:00Z'],
    ] as const)
      urls[id] = await store.put('plate', id, at, jpeg(100));
    const noop = await store.pruneToBytes(400);
    assert.equal(noop.deleted, 0);
    const r = await store.pruneToBytes(250);
    assert.deepEqual(r, { deleted: 2, freedBytes: 200, urls: [urls.a, urls.b], failed: 0 });
    assert.deepEqual(tree(root), ['2024/05/03/c-plate.jpg', '2024/05/04/d-plate.jpg']);
    assert.deepEqual(await store.usage(), { bytes: 200, files: 2 });
    const all = await store.pruneToBytes(0);
    assert.deepEqual(all.urls, [urls.c, urls.d]);
    assert.deepEqual(tree(root), []);
    await assert.rejects(store.pruneToBytes(-1), /max image bytes/);
  });

  it('prunes by age (capture time before the cut-off)', async () => {
    const root = freshRoot();
    const store = await openLocalImageStore(root);
    await store.put('plate', 'old', '2024-01-01T00:00:00Z', jpeg(5));
    await store.put('frame', 'old', '2024-01-01T00:00:00Z', jpeg(7));
    const keep = await store.put('plate', 'new', '2024-03-01T00:00:00Z', jpeg(11));
    const r = await store.pruneOlderThan(new Date('2024-02-01T00:00:00Z'));
    assert.equal(r.deleted, 2);
    assert.equal(r.freedBytes, 12);
    assert.deepEqual(tree(root), [keep.slice('/images/'.length)]);
    assert.equal(existsSync(join(root, '2024/01')), false);
    assert.equal((await store.pruneOlderThan(new Date('2024-02-01T00:00:00Z'))).deleted, 0);
  });

  it('rejects path traversal, absolute paths and symlinks leading out of the root', async () => {
    const root = freshRoot();
    const store = await openLocalImageStore(root);
    const outside = join(base, `outside-${n++}`);
    mkdirSync(join(outside, '05', '01'), { recursive: true });
    const victim = join(outside, 'victim.jpg');
    writeFileSync(victim, 'keep me');
    writeFileSync(join(outside, '05', '01', 'x.jpg'), 'keep me too');
    symlinkSync(outside, join(root, '2030'));
    const evil = [
      '/images/../' + `outside-${n - 1}/victim.jpg`,
      '/images/2024/../../victim.jpg',
      `/images/${victim}`,
      victim,
      '/images//etc/passwd.jpg',
      '/images/..%2fvictim.jpg',
      '/images/a\\..\\victim.jpg',
      '/images/a\0.jpg',
      '/images/2030/05/01/x.jpg', // inside by name, outside through the symlink
    ];
    for (const url of evil) assert.equal(await store.delete([url]), 0, url);
    assert.equal(readFileSync(victim, 'utf8'), 'keep me');
    assert.equal(readFileSync(join(outside, '05', '01', 'x.jpg'), 'utf8'), 'keep me too');
    // put refuses to write through the symlinked year folder
    await assert.rejects(store.put('plate', 'ev', '2030-05-01T00:00:00Z', jpeg(3)), /outside/);
    assert.deepEqual(readdirSync(join(outside, '05', '01')), ['x.jpg']);
    // the scan at open does not follow the symlink either
    const reopened = await openLocalImageStore(root);
    assert.deepEqual(await reopened.usage(), { bytes: 0, files: 0 });
  });

  it('the size index survives reopening (scan at open), oldest-first order included', async () => {
    const root = freshRoot();
    const first = await openLocalImageStore(root);
    await first.put('plate', 'b', '2024-05-02T12:00:00Z', jpeg(40));
    await first.put('plate', 'a', '2024-05-02T08:00:00Z', jpeg(30));
    await first.put('vehicle', 'c', '2024-06-01T00:00:00Z', jpeg(50));
    writeFileSync(join(root, 'notes.txt'), 'not an image');
    const again = await openLocalImageStore(root);
    assert.deepEqual(await again.usage(), { bytes: 120, files: 3 });
    const r = await again.pruneToBytes(60);
    assert.deepEqual(r.urls, ['/images/2024/05/02/a-plate.jpg', '/images/2024/05/02/b-plate.jpg']);
    assert.deepEqual(await again.usage(), { bytes: 50, files: 1 });
    // files another process adds show up after rescan()
    mkdirSync(join(root, '2024/07/01'), { recursive: true });
    writeFileSync(join(root, '2024/07/01/x-frame.jpg'), jpeg(5));
    assert.deepEqual(await again.rescan(), { bytes: 55, files: 2 });
  });

  it('keeps usage right after many puts, deletes and replacements (no rescans needed)', async () => {
    const root = freshRoot();
    const store = await openLocalImageStore(root, { fsync: false });
    const urls: string[] = [];
    for (let i = 0; i < 300; i++)
      urls.push(await store.put('plate', `e${i}`, new Date(Date.UTC(2024, 0, 1 + (i % 40), i % 24)).toISOString(), jpeg(1 + (i % 7))));
    await store.delete(urls.filter((_, i) => i % 3 === 0));
    for (let i = 1; i < 300; i += 9) await store.put('plate', `e${i}`, new Date(Date.UTC(2024, 0, 1 + (i % 40), i % 24)).toISOString(), jpeg(13));
    await store.pruneToBytes(600);
    const live = await store.usage();
    const scanned = await (await openLocalImageStore(root)).usage();
    assert.deepEqual(live, scanned);
    assert.ok(live.bytes <= 600);
  });
});
