/**
 * JsonlSink: one JSON line per event (the PlateEvent; no image bytes) appended to a file.
 * Writes are serialised (lines never interleave and keep the order write() was called in);
 * each line is one write(2) on an O_APPEND descriptor, so it reaches the OS when write()
 * resolves (no fsync: an OS crash may lose the last lines, a process crash does not). An
 * update is appended as another line with the same event_id: readers keep the last one.
 */
import { mkdir, open, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import { AlprError } from '../common/errors.js';
import type { CapturedEvent, EventSink } from './event-sink.js';
import { errorDetails, noLog, safeLog, type SinkLog } from './log.js';

export interface JsonlSinkOptions {
  path: string;
  log?: SinkLog;
}

export class JsonlSink implements EventSink {
  readonly name = 'jsonl';
  readonly path: string;
  private readonly log: SinkLog;
  private handle: Promise<FileHandle> | null = null;
  private chain: Promise<unknown> = Promise.resolve();
  private closed = false;
  private written = 0;

  constructor(opts: JsonlSinkOptions) {
    this.path = opts.path;
    this.log = opts.log ?? noLog;
  }

  /** Lines written since construction. */
  get lines(): number {
    return this.written;
  }

  private file(): Promise<FileHandle> {
    this.handle ??= (async () => {
      await mkdir(dirname(this.path), { recursive: true });
      return open(this.path, 'a', 0o644);
    })();
    // A failed open is retried by the next write.
    this.handle.catch(() => (this.handle = null));
    return this.handle;
  }

  write(captured: CapturedEvent): Promise<void> {
    if (this.closed) return Promise.reject(new AlprError('USAGE', `JSONL sink ${this.path} is closed`));
    const line = `${JSON.stringify(captured.event)}\n`;
    const p = this.chain.then(async () => {
      try {
        const fh = await this.file();
        await fh.write(line);
        this.written++;
      } catch (err) {
        safeLog(this.log, 'warn', 'JSONL write failed', { sink: this.name, path: this.path, event_id: captured.event.event_id, ...errorDetails(err) });
        throw new AlprError('STORAGE_FAILED', `cannot append to ${this.path}: ${(err as Error).message}`, { retriable: true, cause: err });
      }
    });
    this.chain = p.catch(() => {});
    return p;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.chain;
    if (this.handle) {
      const fh = await this.handle.catch(() => null);
      this.handle = null;
      await fh?.close();
    }
  }
}
