/**
 * The edge outbox: every event bound for Kafka is committed here (SQLite, WAL, synchronous
 * FULL) before any send is attempted, so a crash, a dead broker or a power cut between capture
 * and acknowledgement loses nothing. Rows leave in insertion order and are marked sent only
 * when the broker acknowledged them; sent rows are pruned after a grace period.
 *
 * The outbox is bounded by disk, never by dropping: past `maxBytes` an enqueue fails with
 * OUTBOX_FULL (the caller's own spool keeps the event) and `full` says so for alarms.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { AlprError } from '../common/errors.js';
import type { PlateEvent } from '../common/plate-event.js';

export interface OutboxRow {
  seq: number;
  eventId: string;
  cameraId: string;
  event: PlateEvent;
  attempts: number;
}

export interface OutboxStats {
  pending: number;
  sent: number;
  bytes: number;
  full: boolean;
  oldestPendingMs: number | null;
}

export interface OutboxOptions {
  /** Database size (bytes) at which enqueue refuses; default 2 GiB. */
  maxBytes?: number;
  /** How long acknowledged rows are kept before pruning; default 1 h. */
  keepSentMs?: number;
  now?: () => number;
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS outbox (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  event_id TEXT NOT NULL,
  camera_id TEXT NOT NULL,
  payload TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  last_error TEXT,
  sent_at INTEGER
);
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (seq) WHERE sent_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_sent ON outbox (sent_at) WHERE sent_at IS NOT NULL;
`;

export class Outbox {
  private readonly db: Database.Database;
  private readonly maxBytes: number;
  private readonly keepSentMs: number;
  private readonly now: () => number;
  private readonly s: {
    insert: Database.Statement;
    pending: Database.Statement;
    markSent: Database.Statement;
    markFailed: Database.Statement;
    prune: Database.Statement;
    counts: Database.Statement;
  };
  private isFull = false;

  constructor(
    readonly path: string,
    opts: OutboxOptions = {},
  ) {
    mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    // FULL: an acknowledged enqueue survives a power cut, which is the point of the outbox.
    this.db.pragma('synchronous = FULL');
    this.db.pragma('busy_timeout = 5000');
    this.db.exec(SCHEMA);
    this.maxBytes = opts.maxBytes ?? 2 * 1024 ** 3;
    this.keepSentMs = opts.keepSentMs ?? 3_600_000;
    this.now = opts.now ?? Date.now;
    this.s = {
      insert: this.db.prepare('INSERT INTO outbox (event_id, camera_id, payload, created_at) VALUES (?, ?, ?, ?)'),
      pending: this.db.prepare('SELECT seq, event_id, camera_id, payload, attempts FROM outbox WHERE sent_at IS NULL ORDER BY seq LIMIT ?'),
      markSent: this.db.prepare('UPDATE outbox SET sent_at = ? WHERE seq = ?'),
      markFailed: this.db.prepare('UPDATE outbox SET attempts = attempts + 1, last_error = ? WHERE seq = ?'),
      prune: this.db.prepare('DELETE FROM outbox WHERE sent_at IS NOT NULL AND sent_at < ?'),
      counts: this.db.prepare(
        'SELECT SUM(sent_at IS NULL) AS pending, SUM(sent_at IS NOT NULL) AS sent, MIN(CASE WHEN sent_at IS NULL THEN created_at END) AS oldest FROM outbox',
      ),
    };
  }

  private bytes(): number {
    const pages = this.db.pragma('page_count', { simple: true }) as number;
    const size = this.db.pragma('page_size', { simple: true }) as number;
    return pages * size;
  }

  /** Commits the event; returns only once it is on disk. Throws OUTBOX_FULL past maxBytes. */
  enqueue(event: PlateEvent): number {
    this.checkRoom();
    const info = this.s.insert.run(event.event_id, event.camera_id, JSON.stringify(event), this.now());
    return Number(info.lastInsertRowid);
  }

  /**
   * Commits the events in one transaction (one disk sync instead of one each: a synchronous
   * commit costs ~2 ms here, which caps single enqueues near 500/s); all or none. Returns their seqs.
   */
  enqueueMany(events: readonly PlateEvent[]): number[] {
    if (events.length === 0) return [];
    this.checkRoom();
    const at = this.now();
    return this.db.transaction(() => events.map((e) => Number(this.s.insert.run(e.event_id, e.camera_id, JSON.stringify(e), at).lastInsertRowid)))();
  }

  private checkRoom(): void {
    if (this.bytes() >= this.maxBytes) {
      this.isFull = true;
      throw new AlprError(
        'OUTBOX_FULL',
        `outbox ${this.path} holds ${this.bytes()} bytes, at its limit of ${this.maxBytes}: the broker has not taken events for a while`,
        {
          retriable: true,
          details: { path: this.path, max_bytes: this.maxBytes },
        },
      );
    }
    this.isFull = false;
  }

  /** The oldest unsent rows, in order. */
  pending(limit: number): OutboxRow[] {
    return (this.s.pending.all(limit) as { seq: number; event_id: string; camera_id: string; payload: string; attempts: number }[]).map((r) => ({
      seq: r.seq,
      eventId: r.event_id,
      cameraId: r.camera_id,
      event: JSON.parse(r.payload) as PlateEvent,
      attempts: r.attempts,
    }));
  }

  markSent(seqs: readonly number[]): void {
    const at = this.now();
    this.db.transaction(() => {
      for (const seq of seqs) this.s.markSent.run(at, seq);
    })();
  }

  markFailed(seqs: readonly number[], error: string): void {
    this.db.transaction(() => {
      for (const seq of seqs) this.s.markFailed.run(error.slice(0, 1000), seq);
    })();
  }

  /** Drops acknowledged rows older than keepSentMs; returns how many went. */
  prune(): number {
    return this.s.prune.run(this.now() - this.keepSentMs).changes;
  }

  stats(): OutboxStats {
    const c = this.s.counts.get() as { pending: number | null; sent: number | null; oldest: number | null };
    return {
      pending: c.pending ?? 0,
      sent: c.sent ?? 0,
      bytes: this.bytes(),
      full: this.isFull,
      oldestPendingMs: c.oldest === null ? null : Math.max(0, this.now() - c.oldest),
    };
  }

  close(): void {
    if (this.db.open) this.db.close();
  }
}
