/**
 * SpoolSink: wraps a sink so that no event is lost when it fails (store file locked, disk
 * full, backend unreachable). An event the inner sink refuses is appended to a spool file and
 * re-sent in the background with capped exponential backoff; the spool left by a previous
 * run (a crash, or a close() while the backend was still down) is replayed at open.
 *
 * Files in `dir`:
 *   spool.jsonl           one line per spooled event, oldest first:
 *                         {"v":1,"spooled_at":ISO,"update":bool,"event":PlateEvent,
 *                          "images":{"plate":base64|null,"vehicle":base64|null,"frame":base64|null}}
 *                         appended with fsync before write() resolves; never rewritten.
 *   spool.offset          byte offset of the first line not yet delivered (absent: 0), replaced
 *                         atomically (write + rename) after each delivery. When everything is
 *                         delivered both files are emptied.
 *   spool.rejected.jsonl  lines that cannot be decoded (a torn last line after a crash,
 *                         foreign content): set aside, never deleted, never re-sent.
 *
 * Guarantees:
 * - Order: while anything is spooled, new events are spooled behind it (not sent directly),
 *   and the spool is delivered strictly in order, one event at a time.
 * - write() resolves once the inner sink took the event or it is fsynced into the spool; it
 *   rejects only when both failed (the caller still has the event).
 * - Delivery is at least once: a crash between the inner sink accepting an event and the
 *   offset update re-sends that one event at the next open (StoreSink is idempotent on
 *   event_id, so the store holds it once).
 * - close() waits for writes in progress, makes one last delivery attempt, leaves whatever
 *   still fails on disk, then closes the inner sink.
 * - Once the inner sink failed, new events go straight to the spool (fast) until the spool is
 *   delivered again: only the first event of an outage waits for the inner sink to fail.
 */
import { appendFile, mkdir, open, readFile, rename, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { AlprError } from '../common/errors.js';
import type { PlateEvent } from '../common/plate-event.js';
import { Backoff, type BackoffOptions } from '../ingest/backoff.js';
import type { CapturedEvent, EventImages, EventSink } from './event-sink.js';
import { errorDetails, noLog, safeLog, type SinkLog } from './log.js';

export interface SpoolSinkOptions {
  inner: EventSink;
  /** Folder of the spool files (created if missing). */
  dir: string;
  log?: SinkLog;
  /** Retry delays (default 500 ms doubling up to 30 s). */
  backoff?: BackoffOptions;
  /** fsync each spooled line before write() resolves (default true). */
  fsync?: boolean;
}

export interface SpoolSinkStats {
  /** Events the inner sink took directly. */
  direct: number;
  /** Events written to the spool. */
  spooled: number;
  /** Spooled events delivered later (this run, including ones from an earlier run). */
  delivered: number;
  /** Failed delivery attempts from the spool. */
  retryFailures: number;
  /** Undecodable spool lines set aside in spool.rejected.jsonl. */
  rejectedLines: number;
  /** Events in the spool now. */
  pending: number;
  lastError: string | null;
  lastErrorAt: string | null;
}

interface SpoolLine {
  v: 1;
  spooled_at: string;
  update: boolean;
  event: PlateEvent;
  images: { plate: string | null; vehicle: string | null; frame: string | null };
}

const READ_CHUNK = 256 * 1024;

function encode(c: CapturedEvent, now: Date): string {
  const b64 = (b: Buffer | null | undefined) => (b ? b.toString('base64') : null);
  const line: SpoolLine = {
    v: 1,
    spooled_at: now.toISOString(),
    update: c.update === true,
    event: c.event,
    images: { plate: b64(c.images.plate), vehicle: b64(c.images.vehicle), frame: b64(c.images.frame) },
  };
  return `${JSON.stringify(line)}\n`;
}

function decode(text: string): CapturedEvent {
  const line = JSON.parse(text) as Partial<SpoolLine> | null;
  if (!line || line.v !== 1 || typeof line.event !== 'object' || line.event === null || typeof line.event.event_id !== 'string') {
    throw new Error('not a spool line (v1)');
  }
  const images: EventImages = {};
  for (const kind of ['plate', 'vehicle', 'frame'] as const) {
    const b = line.images?.[kind];
    if (typeof b === 'string') images[kind] = Buffer.from(b, 'base64');
  }
  return { event: line.event, images, ...(line.update ? { update: true } : {}) };
}

function errno(err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | null)?.code;
}

export class SpoolSink implements EventSink {
  readonly name: string;
  readonly dir: string;
  readonly file: string;
  private readonly offsetFile: string;
  private readonly rejectedFile: string;
  private readonly inner: EventSink;
  private readonly log: SinkLog;
  private readonly backoff: Backoff;
  private readonly fsync: boolean;
  /** Byte offset of the first undelivered line, and how many lines follow it. */
  private offset = 0;
  private count = 0;
  /** Serialises file operations (append, read head, advance). */
  private fileLock: Promise<unknown> = Promise.resolve();
  /** Serialises write() calls: events reach the inner sink or the spool in call order. */
  private writeChain: Promise<unknown> = Promise.resolve();
  private draining: Promise<boolean> | null = null;
  private timer: NodeJS.Timeout | null = null;
  private closed = false;
  private closing: Promise<void> | null = null;
  private readonly ready: Promise<void>;
  private loadError: unknown = null;
  private readonly counters = { direct: 0, spooled: 0, delivered: 0, retryFailures: 0, rejectedLines: 0 };
  private lastError: { message: string; at: string } | null = null;

  /** Starts loading the spool (replay begins as soon as it is read); await open() before relying on it. */
  constructor(opts: SpoolSinkOptions) {
    this.inner = opts.inner;
    this.dir = opts.dir;
    this.file = join(opts.dir, 'spool.jsonl');
    this.offsetFile = join(opts.dir, 'spool.offset');
    this.rejectedFile = join(opts.dir, 'spool.rejected.jsonl');
    this.log = opts.log ?? noLog;
    this.backoff = new Backoff({ initialMs: 500, maxMs: 30_000, ...opts.backoff });
    this.fsync = opts.fsync ?? true;
    this.name = `spool(${opts.inner.name})`;
    this.ready = this.load().catch((err: unknown) => {
      this.loadError = err;
      safeLog(this.log, 'error', 'spool cannot be read; events the inner sink refuses will be rejected', {
        sink: this.name,
        dir: this.dir,
        ...errorDetails(err),
      });
      throw err;
    });
    this.ready.catch(() => {});
  }

  /** Opens a spool sink: reads (and starts replaying) what a previous run left. */
  static async open(opts: SpoolSinkOptions): Promise<SpoolSink> {
    const sink = new SpoolSink(opts);
    await sink.open();
    return sink;
  }

  /** Resolves once the spool on disk is read (replay then runs in the background); rejects when it cannot be. */
  open(): Promise<void> {
    return this.ready;
  }

  /** Events waiting in the spool. */
  pending(): number {
    return this.count;
  }

  stats(): SpoolSinkStats {
    return { ...this.counters, pending: this.count, lastError: this.lastError?.message ?? null, lastErrorAt: this.lastError?.at ?? null };
  }

  write(captured: CapturedEvent): Promise<void> {
    if (this.closed) return Promise.reject(new AlprError('USAGE', `${this.name} is closed`));
    const p = this.writeChain.then(() => this.writeOne(captured));
    this.writeChain = p.catch(() => {});
    return p;
  }

  /**
   * Tries to deliver everything spooled now (ignoring the backoff timer); true when the spool
   * is empty afterwards. Failures reschedule the background retry as usual.
   */
  async flush(): Promise<boolean> {
    await this.ready.catch(() => {});
    if (this.loadError) return false;
    this.clearTimer();
    let ok = await this.drain();
    if (ok && this.count > 0) ok = await this.drain();
    return ok && this.count === 0;
  }

  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      await this.writeChain;
      this.clearTimer();
      if (this.draining) await this.draining;
      await this.ready.catch(() => {});
      // One last attempt; what still fails stays on disk for the next open.
      if (!this.loadError && this.count > 0) await this.drain();
      if (this.count > 0) safeLog(this.log, 'warn', 'closing with events left in the spool', { sink: this.name, pending: this.count, file: this.file });
      try {
        await this.inner.close();
      } catch (err) {
        safeLog(this.log, 'error', 'inner sink close failed', { sink: this.name, ...errorDetails(err) });
      }
    })();
    return this.closing;
  }

  // ---- internals ----

  private noteError(err: unknown): void {
    this.lastError = { message: err instanceof Error ? err.message : String(err), at: new Date().toISOString() };
  }

  private async writeOne(captured: CapturedEvent): Promise<void> {
    await this.ready.catch(() => {});
    let innerFailed = false;
    if (this.count === 0 && !this.draining) {
      try {
        await this.inner.write(captured);
        this.counters.direct++;
        this.backoff.reset();
        return;
      } catch (err) {
        innerFailed = true;
        this.noteError(err);
        safeLog(this.log, 'warn', 'inner sink failed; spooling the event', { sink: this.name, event_id: captured.event.event_id, ...errorDetails(err) });
      }
    }
    if (this.loadError) {
      throw new AlprError('STORAGE_FAILED', `event ${captured.event.event_id} neither delivered nor spooled: the spool in ${this.dir} is unusable`, {
        retriable: true,
        cause: this.loadError,
      });
    }
    try {
      const line = encode(captured, new Date());
      await this.locked(() => this.append(line));
    } catch (err) {
      safeLog(this.log, 'error', 'event neither delivered nor spooled', {
        sink: this.name,
        event_id: captured.event.event_id,
        file: this.file,
        ...errorDetails(err),
      });
      throw new AlprError('STORAGE_FAILED', `event ${captured.event.event_id} neither delivered nor spooled: ${(err as Error).message}`, {
        retriable: true,
        cause: err,
      });
    }
    this.counters.spooled++;
    this.schedule(innerFailed ? this.backoff.failed(Date.now()) : 0);
  }

  private locked<T>(fn: () => Promise<T>): Promise<T> {
    const p = this.fileLock.then(fn);
    this.fileLock = p.catch(() => {});
    return p;
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Starts a delivery run after `delayMs` unless one is running or already scheduled. */
  private schedule(delayMs: number): void {
    if (this.closed || this.timer || this.draining || this.count === 0) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      void this.drain();
    }, delayMs);
    // Spooled events are on disk: a pending retry must not keep the process alive.
    this.timer.unref();
  }

  /** Delivers spooled events in order until the spool is empty (true) or the inner sink fails (false). */
  private drain(): Promise<boolean> {
    this.draining ??= (async () => {
      let ok = false;
      try {
        while (this.count > 0) {
          const head = await this.locked(() => this.readHead());
          if (!head) break;
          let captured: CapturedEvent;
          try {
            captured = decode(head.text);
          } catch (err) {
            await this.locked(() => this.setAside(head.text, head.next));
            safeLog(this.log, 'error', 'undecodable spool line set aside', { sink: this.name, file: this.rejectedFile, ...errorDetails(err) });
            continue;
          }
          try {
            await this.inner.write(captured);
          } catch (err) {
            this.counters.retryFailures++;
            this.noteError(err);
            safeLog(this.log, 'warn', 'spool delivery failed; will retry', {
              sink: this.name,
              pending: this.count,
              event_id: captured.event.event_id,
              ...errorDetails(err),
            });
            return false;
          }
          await this.locked(() => this.advance(head.next));
          this.counters.delivered++;
        }
        ok = true;
        this.backoff.reset();
        return true;
      } catch (err) {
        // A spool file operation failed (I/O): keep the events, retry later.
        this.noteError(err);
        safeLog(this.log, 'error', 'spool file operation failed; will retry', { sink: this.name, file: this.file, ...errorDetails(err) });
        return false;
      } finally {
        this.draining = null;
        if (this.count > 0) this.schedule(ok ? 0 : this.backoff.failed(Date.now()));
      }
    })();
    return this.draining;
  }

  private async load(): Promise<void> {
    await mkdir(this.dir, { recursive: true });
    let offset = 0;
    try {
      offset = Number.parseInt((await readFile(this.offsetFile, 'utf8')).trim(), 10);
      if (!Number.isSafeInteger(offset) || offset < 0) offset = 0;
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
    }
    let size = 0;
    try {
      size = (await stat(this.file)).size;
    } catch (err) {
      if (errno(err) !== 'ENOENT') throw err;
    }
    if (offset > size) {
      safeLog(this.log, 'warn', 'spool offset beyond the file; replaying the whole spool', { sink: this.name, offset, size });
      offset = 0;
    }
    // Count the complete lines after the offset and find a torn last line (a crash mid-append).
    let count = 0;
    let end = offset;
    if (size > offset) {
      const fh = await open(this.file, 'r');
      try {
        const buf = Buffer.alloc(READ_CHUNK);
        for (let pos = offset; pos < size;) {
          const { bytesRead } = await fh.read(buf, 0, Math.min(buf.length, size - pos), pos);
          if (bytesRead === 0) break;
          for (let i = buf.indexOf(10); i !== -1 && i < bytesRead; i = buf.indexOf(10, i + 1)) {
            count++;
            end = pos + i + 1;
          }
          pos += bytesRead;
        }
        if (end < size) {
          const torn = Buffer.alloc(size - end);
          await fh.read(torn, 0, torn.length, end);
          await appendFile(this.rejectedFile, Buffer.concat([torn, Buffer.from('\n')]));
          this.counters.rejectedLines++;
          safeLog(this.log, 'warn', 'torn last spool line set aside', { sink: this.name, bytes: torn.length, file: this.rejectedFile });
        }
      } finally {
        await fh.close();
      }
      if (end < size) await truncate(this.file, end);
    }
    this.offset = offset;
    this.count = count;
    if (count === 0 && size > 0) await this.reset();
    if (count > 0) {
      safeLog(this.log, 'info', 'replaying spooled events', { sink: this.name, pending: count, file: this.file });
      this.schedule(0);
    }
  }

  private async append(line: string): Promise<void> {
    const fh = await open(this.file, 'a', 0o600);
    try {
      await fh.write(line);
      if (this.fsync) await fh.datasync();
    } finally {
      await fh.close();
    }
    this.count++;
  }

  private async readHead(): Promise<{ text: string; next: number } | null> {
    if (this.count === 0) return null;
    const fh = await open(this.file, 'r');
    try {
      const parts: Buffer[] = [];
      for (let pos = this.offset; ;) {
        const chunk = Buffer.alloc(READ_CHUNK);
        const { bytesRead } = await fh.read(chunk, 0, chunk.length, pos);
        if (bytesRead === 0) throw new AlprError('INTERNAL', `spool ${this.file} ends before the ${this.count} lines it should hold`);
        const nl = chunk.subarray(0, bytesRead).indexOf(10);
        if (nl !== -1) {
          parts.push(chunk.subarray(0, nl));
          return { text: Buffer.concat(parts).toString('utf8'), next: pos + nl + 1 };
        }
        parts.push(chunk.subarray(0, bytesRead));
        pos += bytesRead;
      }
    } finally {
      await fh.close();
    }
  }

  /** The head line was delivered (or set aside): move past it; empty both files once all are. */
  private async advance(next: number): Promise<void> {
    this.offset = next;
    this.count--;
    if (this.count === 0) await this.reset();
    else {
      const tmp = `${this.offsetFile}.tmp`;
      await writeFile(tmp, String(next));
      await rename(tmp, this.offsetFile);
    }
  }

  private async setAside(text: string, next: number): Promise<void> {
    await appendFile(this.rejectedFile, `${text}\n`);
    this.counters.rejectedLines++;
    await this.advance(next);
  }

  /** Everything delivered: truncate the spool first, then drop the offset (a crash in between replays nothing). */
  private async reset(): Promise<void> {
    await truncate(this.file, 0).catch((err: unknown) => {
      if (errno(err) !== 'ENOENT') throw err;
    });
    await rm(this.offsetFile, { force: true });
    this.offset = 0;
  }
}
