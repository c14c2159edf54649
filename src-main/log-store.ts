/**
 * Where the supervised pipeline's output goes: a bounded in-memory ring (what the operator
 * sees in the app, never growing with uptime) and a size-rotated file (what survives a
 * restart of the app and can be attached to a bug report).
 */
import { closeSync, existsSync, fstatSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

export type LogStream = 'stdout' | 'stderr' | 'supervisor';

export interface LogEntry {
  /** Sequence number, increasing across the ring's life, so a viewer can ask for "after N". */
  seq: number;
  at: string;
  stream: LogStream;
  line: string;
}

export class LogRing {
  private readonly entries: LogEntry[] = [];
  private next = 1;

  constructor(readonly capacity = 2000) {
    if (!Number.isInteger(capacity) || capacity < 1) throw new RangeError(`log ring capacity must be a whole number >= 1, got ${capacity}`);
  }

  push(stream: LogStream, line: string, at = new Date()): LogEntry {
    const entry = { seq: this.next++, at: at.toISOString(), stream, line };
    this.entries.push(entry);
    if (this.entries.length > this.capacity) this.entries.splice(0, this.entries.length - this.capacity);
    return entry;
  }

  /** Entries with seq > afterSeq, oldest first, at most `limit` (the newest ones). */
  tail(limit = this.capacity, afterSeq = 0): LogEntry[] {
    const newer = afterSeq > 0 ? this.entries.filter((e) => e.seq > afterSeq) : this.entries;
    return newer.slice(Math.max(0, newer.length - limit));
  }

  get size(): number {
    return this.entries.length;
  }
}

export interface RotatingFileOptions {
  /** Rotate once the current file would pass this many bytes. */
  maxBytes?: number;
  /** Rotated files kept besides the current one (file.1 … file.N). */
  maxFiles?: number;
}

/**
 * An append-only log file that rotates by size (file → file.1 → … → file.N, oldest dropped).
 * Writes are synchronous: lines are small, and a crash of the app must not lose the lines
 * that explain it.
 */
export class RotatingFile {
  readonly maxBytes: number;
  readonly maxFiles: number;
  private fd: number | null = null;
  private size = 0;

  constructor(
    readonly path: string,
    opts: RotatingFileOptions = {},
  ) {
    this.maxBytes = opts.maxBytes ?? 5 * 1024 * 1024;
    this.maxFiles = opts.maxFiles ?? 3;
    if (!(this.maxBytes > 0) || !Number.isInteger(this.maxFiles) || this.maxFiles < 0) {
      throw new RangeError(`invalid log rotation: maxBytes ${this.maxBytes}, maxFiles ${this.maxFiles}`);
    }
  }

  write(line: string): void {
    const data = Buffer.from(line.endsWith('\n') ? line : `${line}\n`, 'utf8');
    if (this.fd === null) this.open();
    if (this.size > 0 && this.size + data.length > this.maxBytes) {
      this.rotate();
      this.open();
    }
    writeSync(this.fd!, data);
    this.size += data.length;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }

  private open(): void {
    mkdirSync(dirname(this.path), { recursive: true });
    this.fd = openSync(this.path, 'a', 0o600);
    this.size = fstatSync(this.fd).size;
  }

  private rotate(): void {
    this.close();
    if (this.maxFiles === 0) {
      rmSync(this.path, { force: true });
      return;
    }
    rmSync(`${this.path}.${this.maxFiles}`, { force: true });
    for (let i = this.maxFiles - 1; i >= 1; i--) {
      if (existsSync(`${this.path}.${i}`)) renameSync(`${this.path}.${i}`, `${this.path}.${i + 1}`);
    }
    renameSync(this.path, `${this.path}.1`);
  }
}

/**
 * Splits a byte stream into lines. A line longer than maxLine is cut (and the rest of it
 * dropped) so one runaway write cannot grow memory.
 */
export class LineSplitter {
  private buf = '';
  private dropping = false;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly maxLine = 8192,
  ) {}

  push(chunk: Buffer | string): void {
    let text = this.buf + chunk.toString();
    let nl: number;
    while ((nl = text.indexOf('\n')) >= 0) {
      const line = text.slice(0, nl).replace(/\r$/, '');
      text = text.slice(nl + 1);
      if (this.dropping) this.dropping = false;
      else this.onLine(line);
    }
    if (text.length > this.maxLine) {
      if (!this.dropping) this.onLine(`${text.slice(0, this.maxLine)} …[cut]`);
      this.dropping = true;
      text = '';
    }
    this.buf = text;
  }

  flush(): void {
    if (this.buf && !this.dropping) this.onLine(this.buf);
    this.buf = '';
    this.dropping = false;
  }
}
