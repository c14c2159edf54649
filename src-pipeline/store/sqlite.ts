/**
 * The embedded store: SQLite through better-sqlite3 (WAL, synchronous=NORMAL).
 *
 * better-sqlite3 is synchronous, so "off the caller's event loop" here means: every read is
 * an indexed query that finishes in milliseconds, and the only long operations (big batch
 * inserts, retention deletes) run in chunks of `chunkSize` rows per transaction with a
 * setImmediate yield between chunks, so timers, sockets and the API keep running while
 * 100k events load. A worker thread would add copying of every row across threads for no
 * gain at these per-query costs.
 *
 * Plate search without scanning events:
 * - exact: the (plate_normalized_text, captured_at) index;
 * - prefix patterns (`AB*12`): an index range on the same column plus GLOB on the rows in it;
 * - suffix patterns (`*123`): an index range on `plates.reversed` (the distinct plates,
 *   reversed), then the events of those plates by index;
 * - other patterns: a scan of the distinct `plates` table (far smaller than events);
 *   a pattern so broad that it matches thousands of plates is answered by walking events
 *   newest first with GLOB instead, which stops after `limit` hits;
 * - fuzzy: `plate_keys` holds deletionKeys(folded plate) per distinct plate; a query looks up
 *   its own deletion keys by index and fuzzyScore verifies and ranks the candidates.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database, { type Database as Db, type Statement } from 'better-sqlite3';
import type { PlateEvent, StoredEvent } from '../common/plate-event.js';
import { deletionKeys, foldConfusions, fuzzyScore, parsePlateQuery, patternPrefix, patternSuffix } from '../common/plate-search.js';
import { normalizePlate } from '../common/plate-text.js';
import { AlprError } from '../common/errors.js';
import { eventColumnValues, rowToEvent, storedPlate, type EventRow } from './event-row.js';
import { correctedPlate, rowToReview, withReviews, type ReviewRow } from './event-review.js';
import { PlatePrivacy, plateLookupForms, type PrivacyOptions } from './privacy.js';
import { LATEST_VERSION, migrateDatabase, plateKeys, reversePlate } from './sqlite-schema.js';
import type {
  AuditEntry,
  CountBucket,
  EventFilters,
  FuzzyMatch,
  PageRequest,
  RetentionPolicy,
  RetentionResult,
  ReviewUpdate,
  Stats,
  Storage,
  TimeRange,
} from './storage.js';
import { searchOrder } from './storage.js';

export interface SqliteStorageOptions {
  privacy?: PrivacyOptions;
  /**
   * Most rows per insert transaction (default 10,000; retention deletes take at most 2,000). Random-key
   * indexes (event_id, plate, plate keys) dirty about one page per row each, and a commit
   * writes every dirty page to the WAL, so big transactions load much faster than small ones.
   */
  chunkSize?: number;
  /**
   * Statement time after which an insert transaction commits early (default 35 ms); with its
   * plate bookkeeping and commit (about twice that again, WAL checkpoints included) a chunk
   * holds the event loop for ~120 ms at most on this 2-core machine while loading ~20k/s.
   */
  chunkBudgetMs?: number;
  /** Milliseconds a writer waits for another connection's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

/** Above this many matching distinct plates, a pattern query walks events by time instead. */
const MAX_PATTERN_PLATES = 2000;

const COLUMNS = [
  'event_id',
  'captured_at',
  'camera_id',
  'track_id',
  'plate_text',
  'plate_normalized_text',
  'plate_confidence',
  'plate_region',
  'vehicle_type',
  'vehicle_make',
  'vehicle_model',
  'vehicle_color',
  'plate_url',
  'vehicle_url',
  'frame_url',
  'latency_ms',
  'quality_score',
  'frame_number',
  'site_id',
  'host_id',
  'roi',
  'direction',
  'char_confidences',
  'created_at',
] as const;

type Row = EventRow<number>;

const SELECT = `SELECT ${COLUMNS.join(', ')} FROM plate_events`;
const iso = (ms: number) => new Date(ms).toISOString();

const toEvent = (r: Row): StoredEvent => rowToEvent(r, iso);

function timeMs(value: string, field: string): number {
  const ms = Date.parse(value);
  if (Number.isNaN(ms)) throw new AlprError('USAGE', `${field} is not an ISO-8601 time: ${value}`, { details: { field } });
  return ms;
}

const yieldToLoop = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Statements {
  insert: Statement;
  findForUpsert: Statement;
  update: Statement;
  plateDec: Statement;
  plateEvents: Statement;
  plateDrop: Statement;
  keyDrop: Statement;
  plateLastSeen: Statement;
  plateNew: Statement;
  plateBump: Statement;
  keyAdd: Statement;
  get: Statement;
  recent: Statement;
  fuzzy: Statement;
  audit: Statement;
  auditLog: Statement;
  reviewsOf: Statement;
  reviewGet: Statement;
  reviewUpsert: Statement;
  reviewOrphans: Statement;
}

/** One SQL condition with its parameters, ANDed into a WHERE clause. */
interface Clause {
  sql: string;
  params: unknown[];
}

export class SqliteStorage implements Storage {
  readonly kind = 'sqlite' as const;
  readonly path: string;
  private readonly db: Db;
  private readonly privacy: PlatePrivacy | null;
  private readonly chunkSize: number;
  private readonly chunkBudgetMs: number;
  private stmts: Statements | null = null;

  constructor(path: string, opts: SqliteStorageOptions = {}) {
    this.path = path;
    if (path !== ':memory:' && !opts.readonly) mkdirSync(dirname(path), { recursive: true });
    this.db = new Database(path, { readonly: opts.readonly ?? false });
    // WAL: readers never block the writer and commits are sequential appends; NORMAL sync is
    // durable across application crashes in WAL mode (only an OS crash can lose the last
    // commits), which suits an event log whose producers retry idempotently.
    if (!opts.readonly) this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('foreign_keys = ON');
    // 64 MiB page cache: the five event indexes of a million-row table stay hot, so batch
    // inserts touch memory instead of re-reading index pages (the 2 MiB default thrashes).
    this.db.pragma('cache_size = -65536');
    // Checkpoint every ~16 MiB of WAL instead of 4 MiB: fewer copy-backs during bulk loads.
    this.db.pragma('wal_autocheckpoint = 4000');
    this.db.pragma(`busy_timeout = ${Math.max(0, Math.floor(opts.busyTimeoutMs ?? 5000))}`);
    this.privacy = opts.privacy ? new PlatePrivacy(opts.privacy) : null;
    this.chunkSize = Math.max(1, opts.chunkSize ?? 10_000);
    this.chunkBudgetMs = Math.max(1, opts.chunkBudgetMs ?? 35);
  }

  /** The underlying handle, for tests and maintenance tools. */
  get handle(): Db {
    return this.db;
  }

  async migrate(): Promise<number> {
    return this.migrateSync();
  }

  private migrateSync(): number {
    const v = migrateDatabase(this.db);
    if (!this.stmts) this.stmts = this.prepare();
    return v;
  }

  /** Statements are prepared once the tables exist; any call before migrate() migrates. */
  private get s(): Statements {
    return this.ready();
  }

  private ready(): Statements {
    if (!this.stmts) this.migrateSync();
    return this.stmts!;
  }

  private prepare(): Statements {
    const db = this.db;
    return {
      insert: db.prepare(`INSERT OR IGNORE INTO plate_events (${COLUMNS.join(', ')}) VALUES (${COLUMNS.map(() => '?').join(', ')})`),
      findForUpsert: db.prepare('SELECT id, plate_normalized_text AS plate, captured_at FROM plate_events WHERE event_id = ?'),
      // Everything but id, event_id and created_at: the row keeps its place in insertion order.
      update: db.prepare(
        `UPDATE plate_events SET ${COLUMNS.filter((c) => c !== 'event_id' && c !== 'created_at')
          .map((c) => `${c} = ?`)
          .join(', ')} WHERE id = ?`,
      ),
      plateDec: db.prepare('UPDATE plates SET events = events - 1 WHERE normalized = ?'),
      plateEvents: db.prepare('SELECT events FROM plates WHERE normalized = ?').pluck(),
      plateDrop: db.prepare('DELETE FROM plates WHERE normalized = ?'),
      keyDrop: db.prepare('DELETE FROM plate_keys WHERE key = ? AND plate = ?'),
      plateLastSeen: db.prepare(
        'UPDATE plates SET last_seen = (SELECT MAX(captured_at) FROM plate_events WHERE plate_normalized_text = ?) WHERE normalized = ?',
      ),
      plateNew: db.prepare('INSERT OR IGNORE INTO plates (normalized, reversed, events, last_seen) VALUES (?, ?, ?, ?)'),
      plateBump: db.prepare('UPDATE plates SET events = events + ?, last_seen = MAX(last_seen, ?) WHERE normalized = ?'),
      keyAdd: db.prepare('INSERT OR IGNORE INTO plate_keys (key, plate) VALUES (?, ?)'),
      get: db.prepare(`${SELECT} WHERE event_id = ?`),
      recent: db.prepare(`${SELECT} ORDER BY created_at DESC, id DESC LIMIT ? OFFSET ?`),
      fuzzy: db.prepare(
        `SELECT p.normalized, p.events, p.last_seen FROM plates p
         WHERE p.normalized IN (SELECT plate FROM plate_keys WHERE key IN (SELECT value FROM json_each(?)))`,
      ),
      audit: db.prepare('INSERT INTO audit_log (at, actor, action, details) VALUES (?, ?, ?, ?)'),
      auditLog: db.prepare('SELECT at, actor, action, details FROM audit_log ORDER BY id DESC LIMIT ? OFFSET ?'),
      reviewsOf: db.prepare('SELECT * FROM event_reviews WHERE event_id IN (SELECT value FROM json_each(?))'),
      reviewGet: db.prepare('SELECT * FROM event_reviews WHERE event_id = ?'),
      reviewUpsert: db.prepare(
        `INSERT INTO event_reviews (event_id, corrected_text, corrected_normalized, corrected_by, corrected_at, reviewed, reviewed_by, reviewed_at)
         VALUES (@event_id, @corrected_text, @corrected_normalized, @corrected_by, @corrected_at, @reviewed, @reviewed_by, @reviewed_at)
         ON CONFLICT (event_id) DO UPDATE SET corrected_text = excluded.corrected_text, corrected_normalized = excluded.corrected_normalized,
           corrected_by = excluded.corrected_by, corrected_at = excluded.corrected_at, reviewed = excluded.reviewed,
           reviewed_by = excluded.reviewed_by, reviewed_at = excluded.reviewed_at`,
      ),
      reviewOrphans: db.prepare('DELETE FROM event_reviews WHERE event_id NOT IN (SELECT event_id FROM plate_events)'),
    };
  }

  /**
   * Writes events[from…] in one transaction until chunkSize events or chunkBudgetMs of
   * statement time, whichever comes first (the commit then costs about as much again).
   * Returns how many events it took and how many of them were new.
   */
  private writeChunk(events: readonly PlateEvent[], from = 0): { taken: number; added: number } {
    const s = this.s;
    const run = this.db.transaction(() => {
      const now = Date.now();
      const t0 = performance.now();
      const end = Math.min(events.length, from + this.chunkSize);
      // Distinct-plate bookkeeping is aggregated per chunk: one upsert per plate, not per event.
      const perPlate = new Map<string, { n: number; last: number }>();
      let added = 0;
      let i = from;
      for (; i < end; i++) {
        // Checked every 256 rows: performance.now() per row would cost more than it saves.
        if ((i - from) % 256 === 255 && performance.now() - t0 > this.chunkBudgetMs) break;
        const e = events[i];
        const captured = timeMs(e.captured_at, 'captured_at');
        const p = storedPlate(e, this.privacy);
        const info = s.insert.run(e.event_id, captured, ...eventColumnValues(e, p), now);
        if (info.changes === 0) continue;
        added++;
        const agg = perPlate.get(p.normalized);
        if (agg) {
          agg.n++;
          agg.last = Math.max(agg.last, captured);
        } else perPlate.set(p.normalized, { n: 1, last: captured });
      }
      for (const [plate, { n, last }] of perPlate) {
        if (s.plateNew.run(plate, reversePlate(plate), n, last).changes === 1) {
          for (const key of plateKeys(plate)) s.keyAdd.run(key, plate);
        } else s.plateBump.run(n, last, plate);
      }
      return { taken: i - from, added };
    });
    return run();
  }

  async insert(event: PlateEvent): Promise<boolean> {
    return this.writeChunk([event]).added === 1;
  }

  /**
   * One transaction: a new event_id goes the insert path; a known one has its row updated in
   * place (same id, same created_at, so recent() keeps its position) and the distinct-plate
   * bookkeeping follows: the old plate loses an event (and its keys when it has none left),
   * the new plate gains one, and last_seen is recomputed where a capture time moved.
   */
  async upsert(event: PlateEvent): Promise<'inserted' | 'updated'> {
    const s = this.s;
    const captured = timeMs(event.captured_at, 'captured_at');
    const run = this.db.transaction((): 'inserted' | 'updated' => {
      const old = s.findForUpsert.get(event.event_id) as { id: number; plate: string; captured_at: number } | undefined;
      if (!old) {
        this.writeChunk([event]);
        return 'inserted';
      }
      const p = storedPlate(event, this.privacy);
      s.update.run(captured, ...eventColumnValues(event, p), old.id);
      if (old.plate !== p.normalized) {
        s.plateDec.run(old.plate);
        const left = s.plateEvents.get(old.plate) as number | undefined;
        if (left !== undefined && left <= 0) {
          for (const key of plateKeys(old.plate)) s.keyDrop.run(key, old.plate);
          s.plateDrop.run(old.plate);
        } else if (left !== undefined) s.plateLastSeen.run(old.plate, old.plate);
        if (s.plateNew.run(p.normalized, reversePlate(p.normalized), 1, captured).changes === 1) {
          for (const key of plateKeys(p.normalized)) s.keyAdd.run(key, p.normalized);
        } else s.plateBump.run(1, captured, p.normalized);
      } else if (old.captured_at !== captured) s.plateLastSeen.run(p.normalized, p.normalized);
      return 'updated';
    });
    // IMMEDIATE: the read and the write happen under one write lock (no lost update between two connections).
    return run.immediate();
  }

  /**
   * Batches up to chunkSize are one transaction. Bigger batches are split into chunk
   * transactions with an event-loop yield between them (see the file comment): a crash
   * mid-batch keeps the chunks already committed, and since inserts are idempotent on
   * event_id the producer simply retries the whole batch.
   */
  async insertMany(events: readonly PlateEvent[]): Promise<number> {
    let added = 0;
    for (let i = 0; i < events.length;) {
      if (i > 0) await yieldToLoop();
      const r = this.writeChunk(events, i);
      i += r.taken;
      added += r.added;
    }
    return added;
  }

  async get(eventId: string): Promise<StoredEvent | null> {
    const r = this.s.get.get(eventId) as Row | undefined;
    return r ? this.reviewed([toEvent(r)])[0] : null;
  }

  async recent(page: PageRequest): Promise<StoredEvent[]> {
    return this.reviewed((this.s.recent.all(page.limit, page.offset) as Row[]).map(toEvent));
  }

  /** Attaches operator reviews to a page of events (one indexed query per page). */
  private reviewed(events: StoredEvent[]): StoredEvent[] {
    if (events.length === 0) return events;
    const rows = this.s.reviewsOf.all(JSON.stringify(events.map((e) => e.event_id))) as ReviewRow<number>[];
    return withReviews(events, new Map(rows.map((r) => [r.event_id, rowToReview(r, iso)])));
  }

  async review(eventId: string, update: ReviewUpdate): Promise<StoredEvent | null> {
    const s = this.s;
    const at = (update.at ?? new Date()).getTime();
    const corrected = update.corrected_text ? correctedPlate(update.corrected_text, this.privacy) : null;
    const run = this.db.transaction((): boolean => {
      if (!s.get.get(eventId)) return false;
      const old = s.reviewGet.get(eventId) as ReviewRow<number> | undefined;
      const row: ReviewRow<number> = old ?? {
        event_id: eventId,
        corrected_text: null,
        corrected_normalized: null,
        corrected_by: null,
        corrected_at: null,
        reviewed: 0,
        reviewed_by: null,
        reviewed_at: null,
      };
      if (update.corrected_text !== undefined) {
        row.corrected_text = corrected?.text ?? null;
        row.corrected_normalized = corrected?.normalized ?? null;
        row.corrected_by = corrected ? update.actor : null;
        row.corrected_at = corrected ? at : null;
      }
      if (update.reviewed !== undefined) {
        row.reviewed = update.reviewed ? 1 : 0;
        row.reviewed_by = update.reviewed ? update.actor : null;
        row.reviewed_at = update.reviewed ? at : null;
      }
      s.reviewUpsert.run({ ...row, reviewed: row.reviewed ? 1 : 0 });
      return true;
    });
    return run.immediate() ? this.get(eventId) : null;
  }

  /** Events whose corrected plate matches `plate` (exact or pattern); corrections are few, so this is a small indexed lookup. */
  private correctedMatches(plate: string): string[] {
    const q = parsePlateQuery(plate);
    if (q.kind === 'exact') {
      const forms = plateLookupForms(q.plate, this.privacy);
      return this.db
        .prepare(`SELECT event_id FROM event_reviews WHERE corrected_normalized IN (${forms.map(() => '?').join(', ')})`)
        .pluck()
        .all(...forms) as string[];
    }
    return this.db
      .prepare(
        `SELECT event_id FROM event_reviews WHERE corrected_normalized IS NOT NULL AND corrected_normalized NOT GLOB '#*' AND corrected_normalized GLOB ?`,
      )
      .pluck()
      .all(q.pattern) as string[];
  }

  async byPlate(plate: string, page: PageRequest): Promise<StoredEvent[]> {
    return this.search({ plate: normalizePlate(plate) || plate, ...page });
  }

  async byCamera(cameraId: string, range: TimeRange, page: PageRequest): Promise<StoredEvent[]> {
    return this.search({ camera_id: cameraId, ...range, ...page });
  }

  /**
   * The plate part of a search: a clause and the index to drive the query with, or null
   * when no stored plate can match (the search returns nothing without touching events).
   */
  private plateClause(plate: string): { clause: Clause; index: string | null } | null {
    const q = parsePlateQuery(plate);
    if (q.kind === 'exact') {
      const forms = plateLookupForms(q.plate, this.privacy);
      return { clause: { sql: `plate_normalized_text IN (${forms.map(() => '?').join(', ')})`, params: forms }, index: 'idx_events_plate' };
    }
    const prefix = patternPrefix(q.pattern);
    if (prefix) {
      // '[' sorts right after 'Z' and after every digit, so [prefix, prefix + '[') is exactly
      // the plates starting with prefix; GLOB (same `*`/`?` syntax) then checks the rest.
      return {
        clause: { sql: 'plate_normalized_text >= ? AND plate_normalized_text < ? AND plate_normalized_text GLOB ?', params: [prefix, `${prefix}[`, q.pattern] },
        index: 'idx_events_plate',
      };
    }
    const suffix = patternSuffix(q.pattern);
    let candidates: string[];
    if (suffix) {
      const rev = reversePlate(suffix);
      candidates = this.db
        .prepare('SELECT normalized FROM plates WHERE reversed >= ? AND reversed < ? AND normalized GLOB ? LIMIT ?')
        .pluck()
        .all(rev, `${rev}[`, q.pattern, MAX_PATTERN_PLATES + 1) as string[];
    } else {
      candidates = this.db
        .prepare('SELECT normalized FROM plates WHERE normalized GLOB ? LIMIT ?')
        .pluck()
        .all(q.pattern, MAX_PATTERN_PLATES + 1) as string[];
    }
    if (candidates.length === 0) return null;
    if (candidates.length > MAX_PATTERN_PLATES) return { clause: { sql: 'plate_normalized_text GLOB ?', params: [q.pattern] }, index: null };
    return { clause: { sql: 'plate_normalized_text IN (SELECT value FROM json_each(?))', params: [JSON.stringify(candidates)] }, index: 'idx_events_plate' };
  }

  async search(f: EventFilters): Promise<StoredEvent[]> {
    const clauses: Clause[] = [];
    let index: string | null = null;
    if (f.plate !== undefined) {
      const pc = this.plateClause(f.plate);
      const corrected = this.correctedMatches(f.plate);
      if (corrected.length > 0) {
        // Corrected plates match too. The OR leaves the choice of index to SQLite.
        const byId = { sql: 'event_id IN (SELECT value FROM json_each(?))', params: [JSON.stringify(corrected)] };
        clauses.push(pc ? { sql: `(${pc.clause.sql} OR ${byId.sql})`, params: [...pc.clause.params, ...byId.params] } : byId);
      } else {
        if (!pc) return [];
        clauses.push(pc.clause);
        index = pc.index;
      }
    }
    if (f.camera_id !== undefined) {
      clauses.push({ sql: 'camera_id = ?', params: [f.camera_id] });
      // A camera is a good driver unless an exact plate is narrower still.
      if (index === null || clauses[0].sql.includes('json_each') || clauses[0].sql.includes('GLOB')) index = 'idx_events_camera';
    }
    if (f.site !== undefined) clauses.push({ sql: 'site_id = ?', params: [f.site] });
    if (f.start_time !== undefined) clauses.push({ sql: 'captured_at >= ?', params: [timeMs(f.start_time, 'start_time')] });
    if (f.end_time !== undefined) clauses.push({ sql: 'captured_at < ?', params: [timeMs(f.end_time, 'end_time')] });
    if (f.min_confidence !== undefined) clauses.push({ sql: 'plate_confidence >= ?', params: [f.min_confidence] });
    if (f.vehicle_type !== undefined) clauses.push({ sql: 'vehicle_type = ?', params: [f.vehicle_type] });
    if (f.direction !== undefined) clauses.push({ sql: 'direction = ?', params: [f.direction] });
    if (f.reviewed !== undefined) {
      clauses.push({ sql: `event_id ${f.reviewed ? '' : 'NOT '}IN (SELECT event_id FROM event_reviews WHERE reviewed = 1)`, params: [] });
    }
    // Without an exact driver, let SQLite walk events newest first and stop at the limit.
    const indexed = index ? ` INDEXED BY ${index}` : '';
    const where = clauses.length ? ` WHERE ${clauses.map((c) => c.sql).join(' AND ')}` : '';
    const sql = `SELECT ${COLUMNS.join(', ')} FROM plate_events${indexed}${where} ORDER BY ${searchOrder(f, 'id')} LIMIT ? OFFSET ?`;
    const params = clauses.flatMap((c) => c.params);
    return this.reviewed((this.db.prepare(sql).all(...params, f.limit, f.offset) as Row[]).map(toEvent));
  }

  async fuzzyPlates(plate: string, limit: number): Promise<FuzzyMatch[]> {
    const q = normalizePlate(plate);
    if (!q) return [];
    const rows = this.s.fuzzy.all(JSON.stringify(deletionKeys(foldConfusions(q)))) as { normalized: string; events: number; last_seen: number }[];
    const matches: FuzzyMatch[] = [];
    for (const r of rows) {
      const score = fuzzyScore(q, r.normalized);
      if (score) matches.push({ plate: r.normalized, rank: score.rank, distance: score.distance, events: r.events, last_seen: iso(r.last_seen) });
    }
    matches.sort((a, b) => a.rank - b.rank || a.distance - b.distance || b.events - a.events || (a.plate < b.plate ? -1 : a.plate > b.plate ? 1 : 0));
    return matches.slice(0, Math.max(0, limit));
  }

  async stats(): Promise<Stats> {
    this.ready();
    const r = this.db
      .prepare(
        `SELECT COUNT(*) AS total, MIN(captured_at) AS earliest, MAX(captured_at) AS latest,
                AVG(plate_confidence) AS conf, AVG(latency_ms) AS latency FROM plate_events`,
      )
      .get() as { total: number; earliest: number | null; latest: number | null; conf: number | null; latency: number | null };
    const plates = this.db.prepare('SELECT COUNT(*) FROM plates').pluck().get() as number;
    // DISTINCT on the camera index's leading column: SQLite skips through the index.
    const cameras = this.db.prepare('SELECT COUNT(*) FROM (SELECT DISTINCT camera_id FROM plate_events)').pluck().get() as number;
    return {
      total_events: r.total,
      unique_plates: plates,
      active_cameras: cameras,
      earliest_event: r.earliest === null ? null : iso(r.earliest),
      latest_event: r.latest === null ? null : iso(r.latest),
      avg_confidence: r.conf,
      avg_latency_ms: r.latency,
    };
  }

  async counts(range: TimeRange, bucket: 'hour' | 'day'): Promise<CountBucket[]> {
    this.ready();
    const size = bucket === 'hour' ? 3_600_000 : 86_400_000;
    const clauses: Clause[] = [];
    if (range.start_time !== undefined) clauses.push({ sql: 'captured_at >= ?', params: [timeMs(range.start_time, 'start_time')] });
    if (range.end_time !== undefined) clauses.push({ sql: 'captured_at < ?', params: [timeMs(range.end_time, 'end_time')] });
    const where = clauses.length ? `WHERE ${clauses.map((c) => c.sql).join(' AND ')}` : '';
    const rows = this.db
      .prepare(
        `SELECT captured_at - captured_at % CAST(? AS INTEGER) AS b, camera_id, COUNT(*) AS n FROM plate_events ${where} GROUP BY b, camera_id ORDER BY b, camera_id`,
      )
      // The bucket size is bound as an integer: a float would make the modulo inexact.
      .all(size, ...clauses.flatMap((c) => c.params)) as { b: number; camera_id: string; n: number }[];
    return rows.map((r) => ({ bucket: iso(r.b), camera_id: r.camera_id, count: r.n }));
  }

  /**
   * Deletes the oldest captured events first, in chunks (one transaction each, yielding in
   * between), keeping `plates`/`plate_keys` consistent: counts go down, plates with no events
   * left are removed with their keys, last_seen is recomputed for plates that lost rows.
   */
  async applyRetention(policy: RetentionPolicy, now: Date = new Date()): Promise<RetentionResult> {
    this.ready();
    const result: RetentionResult = { deleted: 0, image_urls: [] };
    const pick = this.db.prepare(
      'SELECT id, plate_normalized_text AS plate, plate_url, vehicle_url, frame_url FROM plate_events WHERE captured_at < ? ORDER BY captured_at, id LIMIT ?',
    );
    const pickOldest = this.db.prepare(
      'SELECT id, plate_normalized_text AS plate, plate_url, vehicle_url, frame_url FROM plate_events ORDER BY captured_at, id LIMIT ?',
    );
    const del = this.db.prepare('DELETE FROM plate_events WHERE id = ?');
    const dec = this.db.prepare('UPDATE plates SET events = events - ? WHERE normalized = ?');
    const orphan = this.db.prepare('SELECT events FROM plates WHERE normalized = ?').pluck();
    const dropPlate = this.db.prepare('DELETE FROM plates WHERE normalized = ?');
    const dropKey = this.db.prepare('DELETE FROM plate_keys WHERE key = ? AND plate = ?');
    const lastSeen = this.db.prepare(
      'UPDATE plates SET last_seen = (SELECT MAX(captured_at) FROM plate_events WHERE plate_normalized_text = ?) WHERE normalized = ?',
    );
    type Victim = { id: number; plate: string; plate_url: string | null; vehicle_url: string | null; frame_url: string | null };

    const deleteChunk = this.db.transaction((victims: Victim[]) => {
      const perPlate = new Map<string, number>();
      for (const v of victims) {
        del.run(v.id);
        perPlate.set(v.plate, (perPlate.get(v.plate) ?? 0) + 1);
        for (const url of [v.plate_url, v.vehicle_url, v.frame_url]) if (url) result.image_urls.push(url);
      }
      for (const [plate, n] of perPlate) {
        dec.run(n, plate);
        const left = orphan.get(plate) as number | undefined;
        if (left !== undefined && left <= 0) {
          for (const key of plateKeys(plate)) dropKey.run(key, plate);
          dropPlate.run(plate);
        } else if (left !== undefined) lastSeen.run(plate, plate);
      }
      result.deleted += victims.length;
    });

    if (policy.max_age_days !== undefined) {
      const cutoff = now.getTime() - policy.max_age_days * 86_400_000;
      for (;;) {
        const victims = pick.all(cutoff, Math.min(this.chunkSize, 2000)) as Victim[];
        if (victims.length === 0) break;
        deleteChunk(victims);
        await yieldToLoop();
      }
    }
    if (policy.max_events !== undefined) {
      const total = this.db.prepare('SELECT COUNT(*) FROM plate_events').pluck().get() as number;
      let excess = total - Math.max(0, policy.max_events);
      while (excess > 0) {
        const victims = pickOldest.all(Math.min(excess, this.chunkSize, 2000)) as Victim[];
        if (victims.length === 0) break;
        deleteChunk(victims);
        excess -= victims.length;
        await yieldToLoop();
      }
    }
    // Reviews of deleted events go with them: a correction is a plate too.
    if (result.deleted > 0) this.s.reviewOrphans.run();
    return result;
  }

  async audit(entry: Omit<AuditEntry, 'at'>): Promise<void> {
    this.s.audit.run(Date.now(), entry.actor, entry.action, JSON.stringify(entry.details ?? {}));
  }

  async auditLog(page: PageRequest): Promise<AuditEntry[]> {
    const rows = this.s.auditLog.all(page.limit, page.offset) as { at: number; actor: string; action: string; details: string }[];
    return rows.map((r) => ({ at: iso(r.at), actor: r.actor, action: r.action, details: JSON.parse(r.details) as Record<string, unknown> }));
  }

  async ping(): Promise<boolean> {
    try {
      return this.db.prepare('SELECT 1').pluck().get() === 1;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (!this.db.open) return;
    // Lets SQLite refresh planner statistics on tables that changed a lot (cheap when not).
    if (!this.db.readonly && this.stmts) this.db.pragma('optimize');
    this.db.close();
  }
}

/** Opens (creating if needed) and migrates an SQLite store. */
export async function openSqliteStorage(path: string, opts: SqliteStorageOptions = {}): Promise<SqliteStorage> {
  const store = new SqliteStorage(path, opts);
  try {
    await store.migrate();
  } catch (err) {
    await store.close();
    throw err;
  }
  return store;
}

export { LATEST_VERSION as SQLITE_SCHEMA_VERSION };
