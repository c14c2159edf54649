/**
 * ImageUploadQueue: event pictures bound for S3, written to a local cache first. The cache IS
 * the upload queue: a picture is on disk (fsynced) before enqueue() resolves, so an S3 outage,
 * a crash or a restart loses nothing; uploads run in the background with bounded concurrency
 * and exponential backoff, and never block the caller.
 *
 *   <dir>/pending/<yyyy>/<mm>/<dd>/<eventId>-<kind>.jpg        waiting for upload
 *   <dir>/pending/<yyyy>/<mm>/<dd>/<eventId>-<kind>.jpg.json   its metadata (kind, event, capture time, S3 metadata)
 *   <dir>/uploaded/<yyyy>/<mm>/<dd>/<eventId>-<kind>.jpg       uploaded; mtime = upload time; kept for retention_hours
 *   <dir>/.tmp/                                                writes in progress (emptied at open)
 *
 * - URLs are assigned before the upload: enqueue() returns the `s3://bucket/key` the object
 *   will have (the key is the same day layout as every ImageStore), so the event carrying it
 *   can be stored and published at once. Until the upload lands the API serves the cached copy.
 * - Order and retries: pictures go up oldest first. A failed upload pauses the whole queue
 *   (an outage is almost always the server, not one picture) with capped exponential backoff,
 *   and the picture is tried again; nothing is ever dropped for failing. A retriable failure
 *   keeps the picture at the head; any other one (access denied…) moves it to the back, so one
 *   bad picture cannot stall the others.
 * - A picture enqueued again (an event update) while its older version uploads is uploaded
 *   again once that finishes (a generation number per key says which bytes went up).
 * - Crash between the upload and the move to uploaded/: the picture is uploaded again at the
 *   next open (a PUT of the same key is idempotent).
 * - Retention: uploaded pictures older than `retentionHours` are removed (a sweep every
 *   `sweepIntervalMs`); when the cache holds more than `maxCacheBytes` the oldest uploaded ones
 *   go early. Pending pictures are never removed: past the cap an alarm is logged (once per
 *   crossing) and reported in stats() instead.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, rmdir, stat, unlink, utimes } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AlprError } from '../common/errors.js';
import { Backoff } from '../ingest/backoff.js';
import { errorDetails, noLog, safeLog, type SinkLog } from '../sinks/log.js';
import { errno, renameInto, walkFiles, writeFileAtomic } from './image-files.js';
import { IMAGE_KINDS, imageKey, type ImageKind, type ImageMetadata } from './image-store.js';

/** What the queue needs of an S3ImageStore (an interface so the queue's logic stays testable without a server). */
export interface UploadTarget {
  readonly bucket: string;
  urlOfKey(key: string): string;
  put(kind: ImageKind, eventId: string, capturedAt: string, jpeg: Buffer, meta?: ImageMetadata): Promise<string>;
  ensureBucket(): Promise<void>;
}

export interface ImageUploadQueueOptions {
  /** The cache folder (created if missing). */
  dir: string;
  target: UploadTarget;
  /** Uploads at once (default 4). */
  concurrency?: number;
  /** Backoff after a failed upload (default 500 ms doubling to 60 s). */
  retryInitialMs?: number;
  retryMaxMs?: number;
  /** Uploaded pictures stay this long (default 24 h). */
  retentionHours?: number;
  /** Cache size above which uploaded pictures go early and an alarm is raised (default 2 GiB). */
  maxCacheBytes?: number;
  /** Retention sweep period (default 60 s). */
  sweepIntervalMs?: number;
  /** fsync each picture before enqueue() resolves (default true). */
  fsync?: boolean;
  log?: SinkLog;
}

export interface ImageUploadStats {
  /** Pictures waiting (or being uploaded) and their bytes. */
  pending: number;
  pendingBytes: number;
  uploading: number;
  /** Uploads that succeeded / attempts that failed, this run. */
  uploaded: number;
  failedAttempts: number;
  /** The queue is paused after a failure (S3 down or refusing) until `retryAt`. */
  retrying: boolean;
  retryAt: string | null;
  /** Uploaded pictures still cached, and their bytes. */
  cached: number;
  cachedBytes: number;
  /** Uploaded pictures removed by age or by the size cap, this run. */
  removed: number;
  maxCacheBytes: number;
  /** The cache is over maxCacheBytes even after removing every uploaded picture (the alarm). */
  overCap: boolean;
  lastError: string | null;
  lastErrorAt: string | null;
}

interface PendingItem {
  bytes: number;
  /** Bumped by each enqueue of the key. */
  gen: number;
  uploading: boolean;
  queued: boolean;
}

interface CachedItem {
  key: string;
  bytes: number;
  t: number;
}

interface Sidecar {
  v: 1;
  kind: ImageKind;
  event_id: string;
  captured_at: string;
  meta?: ImageMetadata;
}

const PENDING = 'pending';
const UPLOADED = 'uploaded';
const TMP = '.tmp';
const KEY_RE = /^(\d{4})\/(\d{2})\/(\d{2})\/([A-Za-z0-9][A-Za-z0-9_-]{0,127})-(plate|vehicle|frame)\.jpg$/;

/** FIFO with O(1) push/shift (an outage can leave hundreds of thousands of keys waiting; Array.shift would be O(n)). */
class KeyDeque {
  private items: string[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  push(key: string): void {
    this.items.push(key);
  }

  unshift(key: string): void {
    if (this.head > 0) this.items[--this.head] = key;
    else this.items.unshift(key);
  }

  shift(): string | undefined {
    if (this.head >= this.items.length) return undefined;
    const key = this.items[this.head++];
    if (this.head > 1024 && this.head * 2 > this.items.length) {
      this.items = this.items.slice(this.head);
      this.head = 0;
    }
    return key;
  }
}

export class ImageUploadQueue {
  private readonly target: UploadTarget;
  private readonly dir: string;
  private readonly concurrency: number;
  private readonly retentionMs: number;
  private readonly maxCacheBytes: number;
  private readonly sweepIntervalMs: number;
  private readonly fsync: boolean;
  private readonly log: SinkLog;
  private readonly backoff: Backoff;

  private readonly pending = new Map<string, PendingItem>();
  /** Keys ready to upload, oldest first (an item is in here at most once: `queued`). */
  private readonly ready = new KeyDeque();
  private pendingBytes = 0;
  /** Uploaded pictures in upload order (head index; entries removed lazily via `cachedByKey`). */
  private cachedList: CachedItem[] = [];
  private cachedHead = 0;
  private readonly cachedByKey = new Map<string, CachedItem>();
  private cachedBytes = 0;

  private active = 0;
  private pausedUntil = 0;
  private pauseTimer: NodeJS.Timeout | undefined;
  private sweepTimer: NodeJS.Timeout | undefined;
  private bucketReady = false;
  private closed = false;
  private overCap = false;
  private idleWaiters: (() => void)[] = [];
  private readonly inFlight = new Set<Promise<void>>();
  private readonly keyLocks = new Map<string, Promise<void>>();
  private readonly counters = { uploaded: 0, failedAttempts: 0, removed: 0 };
  private lastError: string | null = null;
  private lastErrorAt: string | null = null;

  private constructor(opts: ImageUploadQueueOptions) {
    this.target = opts.target;
    this.dir = opts.dir;
    this.concurrency = opts.concurrency ?? 4;
    this.retentionMs = (opts.retentionHours ?? 24) * 3_600_000;
    this.maxCacheBytes = opts.maxCacheBytes ?? 2 * 1024 ** 3;
    this.sweepIntervalMs = opts.sweepIntervalMs ?? 60_000;
    this.fsync = opts.fsync ?? true;
    this.log = opts.log ?? noLog;
    this.backoff = new Backoff({ initialMs: opts.retryInitialMs ?? 500, maxMs: opts.retryMaxMs ?? 60_000, resetAfterMs: Number.MAX_SAFE_INTEGER });
    if (!Number.isInteger(this.concurrency) || this.concurrency < 1)
      throw new AlprError('USAGE', `upload concurrency must be a whole number >= 1, got ${this.concurrency}`);
    if (!(this.retentionMs >= 0)) throw new AlprError('USAGE', 'retentionHours must be >= 0');
    if (!(this.maxCacheBytes > 0)) throw new AlprError('USAGE', 'maxCacheBytes must be > 0');
  }

  /** Opens the cache, picks up what an earlier run left pending (uploaded first, oldest first) and starts uploading. */
  static async open(opts: ImageUploadQueueOptions): Promise<ImageUploadQueue> {
    const q = new ImageUploadQueue(opts);
    await mkdir(join(q.dir, PENDING), { recursive: true });
    await mkdir(join(q.dir, UPLOADED), { recursive: true });
    await rm(join(q.dir, TMP), { recursive: true, force: true });
    await mkdir(join(q.dir, TMP), { recursive: true });
    await q.scan();
    q.sweepTimer = setInterval(
      () => void q.sweep().catch((err: unknown) => safeLog(q.log, 'warn', 'image cache sweep failed', errorDetails(err))),
      q.sweepIntervalMs,
    );
    q.sweepTimer.unref?.();
    await q.sweep();
    q.pump();
    return q;
  }

  get bucket(): string {
    return this.target.bucket;
  }

  /**
   * Writes one picture to the cache (durably) and queues its upload; returns the `s3://` URL
   * it will have. Throws (STORAGE_FAILED) only when the local write fails, e.g. a full disk.
   */
  async enqueue(kind: ImageKind, eventId: string, capturedAt: string, jpeg: Buffer, meta?: ImageMetadata): Promise<string> {
    if (this.closed) throw new AlprError('USAGE', 'image upload queue is closed');
    const { key } = imageKey(kind, eventId, capturedAt, jpeg);
    const sidecar: Sidecar = { v: 1, kind, event_id: eventId, captured_at: capturedAt, ...(meta ? { meta } : {}) };
    const target = join(this.dir, PENDING, key);
    await this.withKey(key, async () => {
      try {
        await this.writeAtomic(`${target}.json`, Buffer.from(JSON.stringify(sidecar)));
        await this.writeAtomic(target, jpeg);
      } catch (err) {
        throw new AlprError('STORAGE_FAILED', `cannot cache image ${key} for upload: ${(err as Error).message}`, { retriable: true, cause: err });
      }
      this.track(key, jpeg.length);
      // A newer version replaces an uploaded copy: that copy is stale now.
      if (this.cachedByKey.has(key)) {
        this.forgetCached(key);
        await unlink(join(this.dir, UPLOADED, key)).catch(() => undefined);
      }
    });
    this.checkCap();
    this.pump();
    return this.target.urlOfKey(key);
  }

  /** Runs `fn` with the key's lock: an enqueue and the move after an upload never interleave. */
  private async withKey<T>(key: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.keyLocks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.keyLocks.set(key, tail);
    void tail.then(() => {
      if (this.keyLocks.get(key) === tail) this.keyLocks.delete(key);
    });
    return run;
  }

  /** Records a (re)written pending picture and queues it. */
  private track(key: string, bytes: number): void {
    const had = this.pending.get(key);
    if (had) {
      this.pendingBytes += bytes - had.bytes;
      had.bytes = bytes;
      had.gen++;
      if (!had.queued && !had.uploading) this.queue(key, had);
    } else {
      const item: PendingItem = { bytes, gen: 1, uploading: false, queued: false };
      this.pending.set(key, item);
      this.pendingBytes += bytes;
      this.queue(key, item);
    }
  }

  /** The cached file (pending or uploaded) behind one of this queue's `s3://` URLs, or null. */
  async localFile(url: string): Promise<string | null> {
    const prefix = this.target.urlOfKey('');
    if (typeof url !== 'string' || !url.startsWith(prefix)) return null;
    const key = url.slice(prefix.length);
    if (!KEY_RE.test(key)) return null;
    for (const sub of [PENDING, UPLOADED]) {
      const p = join(this.dir, sub, key);
      const st = await stat(p).catch(() => null);
      if (st?.isFile()) return p;
    }
    return null;
  }

  stats(): ImageUploadStats {
    const retrying = this.pausedUntil > Date.now();
    return {
      pending: this.pending.size,
      pendingBytes: this.pendingBytes,
      uploading: this.active,
      uploaded: this.counters.uploaded,
      failedAttempts: this.counters.failedAttempts,
      retrying,
      retryAt: retrying ? new Date(this.pausedUntil).toISOString() : null,
      cached: this.cachedByKey.size,
      cachedBytes: this.cachedBytes,
      removed: this.counters.removed,
      maxCacheBytes: this.maxCacheBytes,
      overCap: this.overCap,
      lastError: this.lastError,
      lastErrorAt: this.lastErrorAt,
    };
  }

  /** Resolves once nothing is pending (or after `timeoutMs`, resolving false). */
  async drained(timeoutMs: number): Promise<boolean> {
    if (this.pending.size === 0) return true;
    let timer: NodeJS.Timeout | undefined;
    const done = await Promise.race([
      new Promise<boolean>((resolve) => this.idleWaiters.push(() => resolve(true))),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      }),
    ]);
    clearTimeout(timer);
    return done;
  }

  /** Removes uploaded pictures past retention or over the size cap; updates the alarm. */
  async sweep(): Promise<number> {
    const cutoff = Date.now() - this.retentionMs;
    const victims: CachedItem[] = [];
    for (;;) {
      const head = this.peekCached();
      if (!head) break;
      const overCap = this.pendingBytes + this.cachedBytes > this.maxCacheBytes;
      if (head.t > cutoff && !overCap) break;
      this.forgetCached(head.key);
      victims.push(head);
    }
    const dirs = new Set<string>();
    for (const v of victims) {
      await unlink(join(this.dir, UPLOADED, v.key)).catch(() => undefined);
      dirs.add(dirname(v.key));
    }
    this.counters.removed += victims.length;
    // Day folders emptied by the sweep go (ENOTEMPTY when they still hold pictures: fine).
    for (const d of dirs) {
      let rel = d;
      for (let i = 0; i < 3 && rel !== '.'; i++, rel = dirname(rel)) {
        try {
          await rmdir(join(this.dir, UPLOADED, rel));
        } catch {
          break;
        }
      }
    }
    this.checkCap();
    return victims.length;
  }

  /** Stops taking pictures, waits up to `drainMs` for uploads in flight; what is pending stays on disk for the next open. */
  async close(drainMs = 5_000): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.sweepTimer);
    clearTimeout(this.pauseTimer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, drainMs);
      }),
    ]);
    clearTimeout(timer);
  }

  // ---- internals ----

  private queue(key: string, item: PendingItem): void {
    item.queued = true;
    this.ready.push(key);
  }

  private async writeAtomic(path: string, data: Buffer): Promise<void> {
    await writeFileAtomic(join(this.dir, TMP, `${randomUUID()}.tmp`), path, data, { fsync: this.fsync });
  }

  private async scan(): Promise<void> {
    const pendingFiles = await walkFiles(join(this.dir, PENDING));
    const jpegs = new Set(pendingFiles.filter((f) => KEY_RE.test(f.rel)).map((f) => f.rel));
    const found: { key: string; bytes: number; t: number }[] = [];
    for (const f of pendingFiles) {
      if (KEY_RE.test(f.rel)) found.push({ key: f.rel, bytes: f.bytes, t: f.t });
      else if (f.rel.endsWith('.json') && jpegs.has(f.rel.slice(0, -5))) continue;
      else {
        // A sidecar whose picture never landed (a crash mid-enqueue: that enqueue never
        // returned, so no event names it) or a foreign file.
        safeLog(this.log, 'warn', 'image upload cache: removing a stray file', { file: `${PENDING}/${f.rel}` });
        await unlink(join(this.dir, PENDING, f.rel)).catch(() => undefined);
      }
    }
    found.sort((a, b) => a.t - b.t || (a.key < b.key ? -1 : 1));
    for (const f of found) {
      const item: PendingItem = { bytes: f.bytes, gen: 1, uploading: false, queued: false };
      this.pending.set(f.key, item);
      this.pendingBytes += f.bytes;
      this.queue(f.key, item);
    }
    const uploaded = (await walkFiles(join(this.dir, UPLOADED))).filter((f) => KEY_RE.test(f.rel));
    uploaded.sort((a, b) => a.t - b.t || (a.rel < b.rel ? -1 : 1));
    for (const f of uploaded) {
      if (this.pending.has(f.rel)) {
        // Replaced by a newer version that is pending: the uploaded copy is stale.
        await unlink(join(this.dir, UPLOADED, f.rel)).catch(() => undefined);
        continue;
      }
      this.addCached({ key: f.rel, bytes: f.bytes, t: f.t });
    }
    if (found.length)
      safeLog(this.log, 'info', 'image upload cache: resuming uploads left by an earlier run', { pending: found.length, bytes: this.pendingBytes });
  }

  private addCached(item: CachedItem): void {
    this.cachedList.push(item);
    this.cachedByKey.set(item.key, item);
    this.cachedBytes += item.bytes;
  }

  private forgetCached(key: string): void {
    const item = this.cachedByKey.get(key);
    if (!item) return;
    this.cachedByKey.delete(key);
    this.cachedBytes -= item.bytes;
  }

  private peekCached(): CachedItem | undefined {
    // Compact once the consumed head dominates the array, so it does not grow with every upload ever made.
    if (this.cachedHead > 1024 && this.cachedHead * 2 > this.cachedList.length) {
      this.cachedList = this.cachedList.slice(this.cachedHead);
      this.cachedHead = 0;
    }
    while (this.cachedHead < this.cachedList.length) {
      const item = this.cachedList[this.cachedHead];
      if (this.cachedByKey.get(item.key) === item) return item;
      this.cachedHead++;
    }
    return undefined;
  }

  private checkCap(): void {
    const total = this.pendingBytes + this.cachedBytes;
    if (total > this.maxCacheBytes && this.cachedByKey.size > 0) {
      // Uploaded pictures are safe in S3: make room now rather than at the next sweep.
      void this.sweep().catch(() => undefined);
      return;
    }
    const over = total > this.maxCacheBytes;
    if (over && !this.overCap)
      safeLog(this.log, 'error', 'ALARM: image upload cache is over its size cap with pictures not yet uploaded; none are removed until uploaded', {
        pending: this.pending.size,
        pending_bytes: this.pendingBytes,
        max_bytes: this.maxCacheBytes,
        last_error: this.lastError,
      });
    else if (!over && this.overCap) safeLog(this.log, 'info', 'image upload cache back under its size cap', { pending: this.pending.size });
    this.overCap = over;
  }

  private pump(): void {
    if (this.closed) return;
    const now = Date.now();
    if (this.pausedUntil > now) {
      if (!this.pauseTimer) {
        this.pauseTimer = setTimeout(() => {
          this.pauseTimer = undefined;
          this.pump();
        }, this.pausedUntil - now);
        this.pauseTimer.unref?.();
      }
      return;
    }
    while (this.active < this.concurrency && this.ready.length > 0) {
      const key = this.ready.shift() as string;
      const item = this.pending.get(key);
      if (!item) continue;
      item.queued = false;
      if (item.uploading) continue;
      this.active++;
      item.uploading = true;
      const p = this.uploadOne(key, item).finally(() => {
        this.active--;
        item.uploading = false;
        this.inFlight.delete(p);
        this.pump();
        if (this.pending.size === 0) for (const w of this.idleWaiters.splice(0)) w();
      });
      this.inFlight.add(p);
    }
  }

  private async uploadOne(key: string, item: PendingItem): Promise<void> {
    const gen = item.gen;
    const file = join(this.dir, PENDING, key);
    const startedAt = Date.now();
    try {
      if (!this.bucketReady) {
        await this.target.ensureBucket();
        this.bucketReady = true;
      }
      let jpeg: Buffer;
      try {
        jpeg = await readFile(file);
      } catch (err) {
        if (errno(err) !== 'ENOENT') throw err;
        // Someone removed the cached file: nothing left to upload (logged, not retried forever).
        safeLog(this.log, 'error', 'cached image vanished before its upload', { key });
        this.dropPending(key, item);
        return;
      }
      const side = await readFile(`${file}.json`, 'utf8')
        .then((t) => JSON.parse(t) as Sidecar)
        .catch(() => null);
      const m = KEY_RE.exec(key) as RegExpExecArray;
      const kind = side && IMAGE_KINDS.includes(side.kind) ? side.kind : (m[5] as ImageKind);
      const eventId = side?.event_id ?? m[4];
      // Without a sidecar the day of the key is all that is known: it gives the same key.
      const capturedAt = side?.captured_at ?? `${m[1]}-${m[2]}-${m[3]}T00:00:00.000Z`;
      await this.target.put(kind, eventId, capturedAt, jpeg, side?.meta);
    } catch (err) {
      this.failed(key, item, err, startedAt);
      return;
    }
    this.counters.uploaded++;
    this.backoff.reset();
    this.pausedUntil = 0;
    await this.withKey(key, async () => {
      if (item.gen !== gen) {
        // Replaced while uploading: the newer bytes go up next.
        if (!item.queued) this.queue(key, item);
        return;
      }
      try {
        const dest = join(this.dir, UPLOADED, key);
        await renameInto(file, dest);
        const now = new Date();
        await utimes(dest, now, now).catch(() => undefined);
        await unlink(`${file}.json`).catch(() => undefined);
        this.dropPending(key, item);
        this.addCached({ key, bytes: item.bytes, t: now.getTime() });
      } catch (err) {
        // Uploaded, but the file could not be moved: it stays pending and is uploaded again later.
        safeLog(this.log, 'warn', 'uploaded image could not be moved out of the pending folder', { key, ...errorDetails(err) });
        if (!item.queued) this.queue(key, item);
      }
    });
    this.checkCap();
  }

  private dropPending(key: string, item: PendingItem): void {
    if (this.pending.get(key) !== item) return;
    this.pending.delete(key);
    this.pendingBytes -= item.bytes;
  }

  private failed(key: string, item: PendingItem, err: unknown, startedAt: number): void {
    this.counters.failedAttempts++;
    const details = errorDetails(err);
    this.lastError = String(details.error);
    this.lastErrorAt = new Date().toISOString();
    const retriable = (err as { retriable?: unknown } | null)?.retriable !== false;
    if (!retriable) this.bucketReady = false;
    // Uploads that were already running when the first one failed do not escalate the delay again.
    const alreadyPaused = this.pausedUntil > startedAt;
    if (!alreadyPaused) {
      const delay = this.backoff.failed(Date.now());
      this.pausedUntil = Date.now() + delay;
      safeLog(this.log, 'warn', 'image upload failed; retrying later', {
        key,
        retry_in_ms: delay,
        pending: this.pending.size,
        ...details,
      });
    }
    if (!item.queued) {
      item.queued = true;
      if (retriable) this.ready.unshift(key);
      else this.ready.push(key);
    }
  }
}

export function openImageUploadQueue(opts: ImageUploadQueueOptions): Promise<ImageUploadQueue> {
  return ImageUploadQueue.open(opts);
}
