/**
 * The embedded image store: JPEG files in day folders under one root (`<data-dir>/images`),
 * served by the API's `/images/*` route.
 *
 *   <root>/<yyyy>/<mm>/<dd>/<eventId>-<kind>.jpg      URL /images/<yyyy>/<mm>/<dd>/<eventId>-<kind>.jpg
 *   <root>/.tmp/                                      writes in progress (emptied at open)
 *
 * - Atomic writes: a file is written (and fsynced) under `.tmp/`, then renamed into its day
 *   folder, so a reader or a crash never sees half an image. The file's mtime is set to the
 *   capture time, which is what "oldest" means for pruning and what a rescan reads back.
 * - Size index: the tree is scanned once at open; from then on puts and removals keep the
 *   totals and a min-heap by capture time up to date, so usage() is O(1) and a prune costs
 *   O(k log n) for k files removed, without walking the tree again. Files that another process
 *   writes into the folder are only seen after rescan().
 * - Paths: only relative URLs made of plain segments (letters, digits, `_`, `-`, `.`) with an
 *   image extension are accepted; `..`, absolute paths, backslashes, NUL bytes, other hosts
 *   and folders that resolve (through symlinks) outside the root are refused.
 * - Day, month and year folders left empty by a removal are removed.
 */
import { randomUUID } from 'node:crypto';
import { lstat, mkdir, realpath, rm, rmdir, unlink } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import { AlprError } from '../common/errors.js';
import { errno, walkFiles, writeFileAtomic } from './image-files.js';
import { imageKey, type ImageKind, type ImageMetadata, type ImageRemoval, type ImageStore, type ImageUsage } from './image-store.js';

export interface LocalImageStoreOptions {
  /** URL prefix the API serves the root under (default `/images/`). */
  urlPrefix?: string;
  /** fsync each file before it is renamed into place (default true). */
  fsync?: boolean;
}

const TMP_DIR = '.tmp';
const IMAGE_EXT = /\.(?:jpe?g|png|webp)$/i;
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** Event ids become file names: uuids and similar, no dots, no separators. */

interface Entry {
  bytes: number;
  /** Capture time, ms since the epoch (the file's mtime). */
  t: number;
}

interface HeapItem {
  t: number;
  rel: string;
}

function before(a: HeapItem, b: HeapItem): boolean {
  return a.t < b.t || (a.t === b.t && a.rel < b.rel);
}

/** A binary min-heap by (t, rel); removals from the index are lazy (stale items are skipped when popped). */
class TimeHeap {
  private items: HeapItem[] = [];

  get size(): number {
    return this.items.length;
  }

  push(item: HeapItem): void {
    const a = this.items;
    a.push(item);
    let i = a.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(a[i], a[p])) break;
      [a[i], a[p]] = [a[p], a[i]];
      i = p;
    }
  }

  peek(): HeapItem | undefined {
    return this.items[0];
  }

  pop(): HeapItem | undefined {
    const a = this.items;
    const top = a[0];
    const last = a.pop();
    if (a.length > 0 && last) {
      a[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < a.length && before(a[l], a[m])) m = l;
        if (r < a.length && before(a[r], a[m])) m = r;
        if (m === i) break;
        [a[i], a[m]] = [a[m], a[i]];
        i = m;
      }
    }
    return top;
  }

  /** Rebuilds from the live entries (drops stale items). */
  reset(entries: Map<string, Entry>): void {
    this.items = [...entries].map(([rel, e]) => ({ t: e.t, rel })).sort((x, y) => (before(x, y) ? -1 : before(y, x) ? 1 : 0));
  }
}

/** `yyyy/mm/dd` of an instant, in UTC. */

/** Relative path if `p` is strictly inside `base`, else null. */
function insideRel(base: string, p: string): string | null {
  const r = relative(base, p);
  if (r === '' || r === '..' || r.startsWith(`..${sep}`) || isAbsolute(r)) return null;
  return r;
}

export class LocalImageStore implements ImageStore {
  readonly kind = 'local' as const;
  private readonly entries = new Map<string, Entry>();
  private readonly heap = new TimeHeap();
  private bytes = 0;
  private readonly urlPrefix: string;
  private readonly fsync: boolean;

  private constructor(
    /** The root folder, with symlinks resolved. */
    readonly root: string,
    opts: LocalImageStoreOptions,
  ) {
    const prefix = opts.urlPrefix ?? '/images/';
    this.urlPrefix = prefix.endsWith('/') ? prefix : `${prefix}/`;
    this.fsync = opts.fsync ?? true;
  }

  /** Opens (creating if needed) the folder, clears leftover temp files and builds the size index. */
  static async open(root: string, opts: LocalImageStoreOptions = {}): Promise<LocalImageStore> {
    await mkdir(root, { recursive: true });
    const store = new LocalImageStore(await realpath(root), opts);
    await rm(join(store.root, TMP_DIR), { recursive: true, force: true });
    await mkdir(join(store.root, TMP_DIR), { recursive: true });
    await store.rescan();
    return store;
  }

  /** Rebuilds the size index from the tree (for files another process wrote or removed). */
  async rescan(): Promise<ImageUsage> {
    // SEGMENT also skips .tmp and other dot files.
    const found = await walkFiles(this.root, (name, isDir) => SEGMENT.test(name) && (isDir || IMAGE_EXT.test(name)));
    this.entries.clear();
    this.bytes = 0;
    for (const { rel, bytes, t } of found) {
      this.entries.set(rel, { bytes, t });
      this.bytes += bytes;
    }
    this.heap.reset(this.entries);
    return this.usage();
  }

  /** `_meta` (ImageStore's optional metadata) is not kept: files have no place for it. */
  async put(kind: ImageKind, eventId: string, capturedAt: string, jpeg: Buffer, _meta?: ImageMetadata): Promise<string> {
    const { key: rel, capturedAtMs: t } = imageKey(kind, eventId, capturedAt, jpeg);
    const target = join(this.root, rel);
    const tmp = join(this.root, TMP_DIR, `${randomUUID()}.tmp`);
    try {
      await writeFileAtomic(tmp, target, jpeg, { fsync: this.fsync, mtimeMs: t, ensureDir: (dir) => this.ensureDir(dir) });
    } catch (err) {
      if (err instanceof AlprError) throw err;
      throw new AlprError('STORAGE_FAILED', `cannot store image ${rel}: ${(err as Error).message}`, { retriable: true, cause: err });
    }
    this.forget(rel);
    this.entries.set(rel, { bytes: jpeg.length, t });
    this.bytes += jpeg.length;
    this.heap.push({ t, rel });
    this.compactHeap();
    return this.urlPrefix + rel;
  }

  /** The path inside the root a URL names, or null when it is not this store's or not safe. */
  relOf(url: string): string | null {
    if (typeof url !== 'string' || url.includes('\0') || url.includes('\\')) return null;
    let rel: string;
    if (url.startsWith(this.urlPrefix)) rel = url.slice(this.urlPrefix.length);
    else if (this.urlPrefix.startsWith('/') && url.startsWith(this.urlPrefix.slice(1))) rel = url.slice(this.urlPrefix.length - 1);
    else return null;
    const parts = rel.split('/');
    if (parts.length === 0 || !parts.every((p) => SEGMENT.test(p) && p !== '.' && p !== '..')) return null;
    if (!IMAGE_EXT.test(rel)) return null;
    return insideRel(this.root, resolve(this.root, rel)) === null ? null : parts.join('/');
  }

  async delete(urls: readonly string[]): Promise<number> {
    return (await this.remove(urls)).deleted;
  }

  async remove(urls: readonly string[]): Promise<ImageRemoval> {
    const victims: { rel: string; url: string; known: Entry | undefined }[] = [];
    const seen = new Set<string>();
    for (const url of urls) {
      const rel = this.relOf(url);
      if (rel === null || seen.has(rel)) continue;
      seen.add(rel);
      victims.push({ rel, url, known: this.forget(rel) });
    }
    return this.unlinkAll(victims);
  }

  async usage(): Promise<ImageUsage> {
    return { bytes: this.bytes, files: this.entries.size };
  }

  async pruneToBytes(maxBytes: number): Promise<ImageRemoval> {
    if (!Number.isFinite(maxBytes) || maxBytes < 0) throw new AlprError('USAGE', `max image bytes must be a number >= 0, got ${maxBytes}`);
    const victims: { rel: string; url: string; known: Entry | undefined }[] = [];
    while (this.bytes > maxBytes) {
      const rel = this.popOldest();
      if (rel === null) break;
      victims.push({ rel, url: this.urlPrefix + rel, known: this.forget(rel) });
    }
    return this.unlinkAll(victims);
  }

  async pruneOlderThan(date: Date): Promise<ImageRemoval> {
    const cutoff = date.getTime();
    if (!Number.isFinite(cutoff)) throw new AlprError('USAGE', 'pruneOlderThan needs a valid date');
    const victims: { rel: string; url: string; known: Entry | undefined }[] = [];
    for (;;) {
      this.dropStaleTop();
      const top = this.heap.peek();
      if (!top || top.t >= cutoff) break;
      this.heap.pop();
      victims.push({ rel: top.rel, url: this.urlPrefix + top.rel, known: this.forget(top.rel) });
    }
    return this.unlinkAll(victims);
  }

  // ---- internals ----

  /** Removes `rel` from the index (the heap item goes stale); returns what it held. */
  private forget(rel: string): Entry | undefined {
    const e = this.entries.get(rel);
    if (e) {
      this.entries.delete(rel);
      this.bytes -= e.bytes;
    }
    return e;
  }

  private dropStaleTop(): void {
    for (;;) {
      const top = this.heap.peek();
      if (!top) return;
      const e = this.entries.get(top.rel);
      if (e && e.t === top.t) return;
      this.heap.pop();
    }
  }

  private popOldest(): string | null {
    this.dropStaleTop();
    return this.heap.pop()?.rel ?? null;
  }

  /** Stale heap items pile up when files are deleted by URL or replaced; rebuild when they dominate. */
  private compactHeap(): void {
    if (this.heap.size > 2 * this.entries.size + 1024) this.heap.reset(this.entries);
  }

  private async ensureDir(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true });
    const real = await realpath(dir);
    if (insideRel(this.root, real) === null) throw new AlprError('STORAGE_FAILED', `image folder ${dir} resolves outside ${this.root}`);
  }

  private async unlinkAll(victims: { rel: string; url: string; known: Entry | undefined }[]): Promise<ImageRemoval> {
    const out: ImageRemoval = { deleted: 0, freedBytes: 0, urls: [], failed: 0 };
    const dirs = new Set<string>();
    const realDirs = new Map<string, boolean>();
    for (const v of victims) {
      const file = join(this.root, v.rel);
      const dir = dirname(file);
      try {
        let safe = realDirs.get(dir);
        if (safe === undefined) {
          const real = await realpath(dir).catch(() => null);
          safe = real !== null && insideRel(this.root, real) !== null;
          realDirs.set(dir, safe);
        }
        if (!safe) continue; // missing folder (nothing to delete) or a symlink leading out
        let bytes = v.known?.bytes;
        if (bytes === undefined) {
          const st = await lstat(file).catch(() => null);
          if (!st?.isFile()) continue;
          bytes = st.size;
        }
        await unlink(file);
        out.deleted++;
        out.freedBytes += bytes;
        out.urls.push(v.url);
        dirs.add(dir);
      } catch (err) {
        if (errno(err) === 'ENOENT') continue; // already gone: the index no longer counts it either
        out.failed++;
        if (v.known) {
          // Still on disk: keep counting it.
          this.entries.set(v.rel, v.known);
          this.bytes += v.known.bytes;
          this.heap.push({ t: v.known.t, rel: v.rel });
        }
      }
    }
    this.compactHeap();
    for (const dir of dirs) await this.removeEmptyDirs(dir);
    return out;
  }

  /** Removes `dir` and its parents up to (not including) the root while they are empty. */
  private async removeEmptyDirs(dir: string): Promise<void> {
    for (let d = dir; insideRel(this.root, d) !== null && !d.endsWith(`${sep}${TMP_DIR}`); d = dirname(d)) {
      try {
        await rmdir(d);
      } catch {
        return; // ENOTEMPTY (the usual case), or gone already
      }
    }
  }
}

/** Opens a LocalImageStore on `root` (created if missing). */
export function openLocalImageStore(root: string, opts: LocalImageStoreOptions = {}): Promise<LocalImageStore> {
  return LocalImageStore.open(root, opts);
}
