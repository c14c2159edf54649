/**
 * PostgreSQL Storage (the backend store; TimescaleDB when the extension is there). Same
 * contract as the SQLite store (test/store/contract.ts), same plate search semantics: the
 * fuzzy index is built from the same deletionKeys(), so both stores return the same matches.
 *
 * Write path: every insert is one statement that unnests column arrays (`INSERT … SELECT *
 * FROM unnest($1::uuid[], …) ON CONFLICT (event_id, captured_at) DO NOTHING`), so a batch of
 * thousands of events is one round trip and one plan, and the statement text never changes
 * with the batch size. The same statement adds new plates to the fuzzy-search dictionary.
 * Day partitions the batch needs are created first, in their own transaction (see
 * postgres-schema.ts), so an insert for a brand-new day never fails and never holds DDL locks.
 *
 * Every value is a bind parameter; identifiers in SQL text are constants of this file.
 */
import pg from 'pg';
import { AlprError } from '../common/errors.js';
import type { PlateEvent, StoredEvent } from '../common/plate-event.js';
import { deletionKeys, foldConfusions, fuzzyScore, parsePlateQuery, patternPrefix, patternSuffix, PlateQueryError } from '../common/plate-search.js';
import { normalizePlate } from '../common/plate-text.js';
import { eventColumnValues, rowToEvent, storedPlate, type ColumnValue, type EventRow } from './event-row.js';
import { correctedPlate, rowToReview, withReviews, type ReviewRow } from './event-review.js';
import { PlatePrivacy, plateLookupForms, type PrivacyOptions } from './privacy.js';
import {
  PLATE_DICTIONARY_CTE,
  plateDictionaryArrays,
  POSTGRES_SCHEMA_VERSION,
  runMigrations,
  type MigrationResult,
  type TimePartitioning,
} from './postgres-schema.js';
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

export { POSTGRES_SCHEMA_VERSION } from './postgres-schema.js';

export interface PostgresStorageOptions {
  /** Most connections the pool opens (default 10). */
  poolSize?: number;
  /** Server-side statement_timeout in ms for every query (default 30 s; 0 disables). Migrations lift it. */
  statementTimeoutMs?: number;
  /** How long to wait for a connection, in ms (default 10 s). */
  connectTimeoutMs?: number;
  /** Rows per INSERT statement inside insertMany (default 5,000); bounds one statement's memory. */
  batchSize?: number;
  /** Day partitions created ahead of today by migrate()/maintainPartitions() (default 7). */
  partitionsAhead?: number;
  /** 'auto' (default) uses TimescaleDB when `CREATE EXTENSION timescaledb` succeeds; 'off' never tries. */
  timescale?: 'auto' | 'off';
  /** Store plates nobody keeps as a keyed hash (see privacy.ts). */
  privacy?: PrivacyOptions;
  /** Shown in pg_stat_activity. */
  applicationName?: string;
}

/** Columns in insert order; the unnest() casts below follow the same order. */
const INSERT_COLUMNS = [
  ['event_id', 'uuid'],
  ['captured_at', 'timestamptz'],
  ['camera_id', 'text'],
  ['track_id', 'text'],
  ['plate_text', 'text'],
  ['plate_normalized_text', 'text'],
  ['plate_confidence', 'float8'],
  ['plate_region', 'text'],
  ['vehicle_type', 'text'],
  ['vehicle_make', 'text'],
  ['vehicle_model', 'text'],
  ['vehicle_color', 'text'],
  ['plate_url', 'text'],
  ['vehicle_url', 'text'],
  ['frame_url', 'text'],
  ['latency_ms', 'float8'],
  ['quality_score', 'float8'],
  ['frame_number', 'int8'],
  ['site_id', 'text'],
  ['host_id', 'text'],
  ['roi', 'text'],
  ['direction', 'text'],
  ['char_confidences', 'text'],
] as const;

/** $1..$4 are the plate dictionary arrays (PLATE_DICTIONARY_CTE), $5.. the event columns. */
const INSERT_SQL = `
WITH ${PLATE_DICTIONARY_CTE},
inserted AS (
  INSERT INTO plate_events (${INSERT_COLUMNS.map(([c]) => c).join(', ')})
  SELECT * FROM unnest(${INSERT_COLUMNS.map(([, t], i) => `$${i + 5}::${t}[]`).join(', ')})
  ON CONFLICT (event_id, captured_at) DO NOTHING
  RETURNING 1
)
SELECT count(*)::int AS n FROM inserted`;

/**
 * Upsert of a known event whose capture time is unchanged: the row is updated in place (same
 * partition). $1..$4 plate dictionary arrays, $5 event_id, $6 captured_at, $7.. the columns
 * from camera_id on.
 */
const UPDATE_SQL = `
WITH ${PLATE_DICTIONARY_CTE}
UPDATE plate_events SET ${INSERT_COLUMNS.slice(2)
  .map(([c, t], i) => `${c} = $${i + 7}::${t}`)
  .join(', ')}
 WHERE event_id = $5::uuid AND captured_at = $6::timestamptz`;

/**
 * Upsert of a known event whose capture time moved: the old row(s) were deleted in the same
 * transaction (a new captured_at may belong to another day partition or TimescaleDB chunk,
 * where an UPDATE of the partition key is not portable), and the event goes back in with the
 * original created_at and seq, so recent() keeps its place. $1..$4 dictionary arrays, then the
 * INSERT_COLUMNS, then created_at and seq.
 */
const REINSERT_SQL = `
WITH ${PLATE_DICTIONARY_CTE}
INSERT INTO plate_events (${INSERT_COLUMNS.map(([c]) => c).join(', ')}, created_at, seq)
VALUES (${INSERT_COLUMNS.map(([, t], i) => `$${i + 5}::${t}`).join(', ')}, $${INSERT_COLUMNS.length + 5}::timestamptz, $${INSERT_COLUMNS.length + 6}::int8)`;

/** First half of the two-int advisory lock that serialises upserts of one event_id. */
const UPSERT_LOCK_CLASS = 0x0a1f_2d3d;

const SELECT_COLUMNS = `event_id, captured_at, camera_id, track_id, plate_text, plate_normalized_text, plate_confidence, plate_region,
  vehicle_type, vehicle_make, vehicle_model, vehicle_color, plate_url, vehicle_url, frame_url, latency_ms, quality_score,
  frame_number, site_id, host_id, roi, direction, char_confidences, created_at`;

/** int8 frame_number arrives as a string (it may exceed 2^53 in general; frame numbers do not). */
type PgEventRow = EventRow<Date, string>;

interface UrlRow {
  plate_url: string | null;
  vehicle_url: string | null;
  frame_url: string | null;
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const DAY_MS = 86_400_000;
/**
 * Partitions are created on demand only for days this close to now; an event with a wildly
 * wrong clock lands in the default partition instead of creating a table of its own.
 */
const ON_DEMAND_PAST_DAYS = 366 * 20;
const ON_DEMAND_FUTURE_DAYS = 366;
/**
 * Infix patterns (`*X1*`, `?1?`: no literal end to anchor an index), and patterns with no
 * literal suffix and a prefix shorter than PLATES_FIRST_PREFIX_MAX (`A?C*`: the prefix range
 * would read a large share of the events), are resolved against the distinct-plates table
 * first; when few plates match, their events are fetched by plate
 * (`plate_normalized_text = ANY(…)` through the (plate_normalized_text, captured_at) index),
 * otherwise by the newest-first scan of captured_at with the LIKE as a filter, which stops
 * after offset + limit matching rows. Which is cheaper depends on density. Measured at 1M
 * events (258k plates, 40 partitions, 30 of them holding data): by plate costs ~0.11 ms per
 * plate (an index probe in every partition), so 46 plates took 6 ms and 276 plates 31 ms,
 * while the scan costs ~0.65 µs per row read and reads about (offset + limit) × plates /
 * matched plates rows: 276 plates took 33 ms, 1,119 plates 8 ms, 46 plates 130-170 ms and
 * none (a scan of everything) over 200 ms. Equating the two gives the cut-off below,
 * matched² ≤ (offset + limit) × plates / (INFIX_COST_RATIO × partitions), about 280 plates at
 * 1M events and a page of 50 (where both take ~30 ms); a filter other than time makes the scan
 * read more rows per match, hence INFIX_FILTER_BOOST. The plate list never exceeds
 * INFIX_PLATES_MAX (a bounded statement and plate lookup), and small stores (whose plans
 * cost little either way) always get at least INFIX_PLATES_MIN.
 */
const INFIX_PLATES_MAX = 2000;
const INFIX_PLATES_MIN = 64;
const INFIX_COST_RATIO = 4;
const INFIX_FILTER_BOOST = 8;
/** The plate and partition counts for the cut-off are re-read at most this often. */
const INFIX_STATS_TTL_MS = 60_000;
const PLATES_FIRST_PREFIX_MAX = 3;
/** Bound of the known-plates cache (about 100 bytes an entry). */
const KNOWN_PLATES_MAX = 500_000;

const iso = (d: Date): string => d.toISOString();
const utcDay = (ms: number): string => new Date(ms).toISOString().slice(0, 10);

/** SQLSTATE classes and Node socket errors that mean "the database is not reachable right now". */
function isUnavailable(err: unknown): boolean {
  const code = (err as { code?: unknown } | null)?.code;
  if (typeof code === 'string') {
    // 08 connection exception, 53 insufficient resources, 57P01-03 shutdown / cannot connect now.
    if (/^(08|53|57P0[1-3])/.test(code)) return true;
    if (['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH'].includes(code)) return true;
  }
  const message = err instanceof Error ? err.message : '';
  return /Connection terminated|timeout exceeded when trying to connect|Client has encountered a connection error|Connection refused/i.test(message);
}

/** Serialization failure, deadlock, statement timeout, lock timeout: trying again may work. */
const RETRIABLE_SQLSTATES = new Set(['40001', '40P01', '57014', '55P03']);

/**
 * Errors leave the store as AlprError with a code and whether a retry can help. Connection
 * failures are retriable (a consumer should back off and retry, not drop events).
 * TODO(lead): a dedicated 'STORAGE_UNAVAILABLE' code would let callers tell this apart
 * without details.reason; until it exists in errors.ts, INTERNAL + retriable + reason.
 */
export function toStorageError(op: string, err: unknown): Error {
  if (err instanceof AlprError || err instanceof PlateQueryError) return err;
  const sqlstate = typeof (err as { code?: unknown } | null)?.code === 'string' ? String((err as { code: string }).code) : undefined;
  const message = err instanceof Error ? err.message : String(err);
  if (isUnavailable(err)) {
    return new AlprError('STORAGE_UNAVAILABLE', `PostgreSQL is unavailable (${op}): ${message}`, {
      retriable: true,
      details: { op, ...(sqlstate ? { sqlstate } : {}) },
      cause: err,
    });
  }
  return new AlprError('STORAGE_FAILED', `PostgreSQL ${op} failed: ${message}`, {
    retriable: sqlstate !== undefined && RETRIABLE_SQLSTATES.has(sqlstate),
    details: { op, ...(sqlstate ? { sqlstate } : {}) },
    cause: err,
  });
}

function checkPage(page: PageRequest): void {
  if (!Number.isInteger(page.limit) || page.limit < 0 || !Number.isInteger(page.offset) || page.offset < 0) {
    throw new AlprError('USAGE', `limit and offset must be non-negative integers (got limit ${page.limit}, offset ${page.offset})`);
  }
}

function checkTime(value: string | undefined, field: string): void {
  if (value !== undefined && Number.isNaN(Date.parse(value))) throw new AlprError('USAGE', `${field} is not an ISO-8601 time: ${value}`);
}

/** Builds a WHERE clause with numbered parameters. */
class Where {
  readonly params: unknown[] = [];
  private readonly parts: string[] = [];

  add(sqlWithPlaceholder: (p: string) => string, value: unknown): this {
    this.params.push(value);
    this.parts.push(sqlWithPlaceholder(`$${this.params.length}`));
    return this;
  }

  raw(sql: string): this {
    this.parts.push(sql);
    return this;
  }

  /** How many conditions there are so far (for anyOf). */
  mark(): number {
    return this.parts.length;
  }

  /** Turns the conditions added since `from` into `((those) OR alt)`. */
  anyOf(from: number, alt: (p: string) => string, value: unknown): this {
    const group = this.parts.splice(from);
    const other = alt(this.param(value));
    this.parts.push(group.length ? `((${group.join(' AND ')}) OR ${other})` : other);
    return this;
  }

  param(value: unknown): string {
    this.params.push(value);
    return `$${this.params.length}`;
  }

  range(range: TimeRange): this {
    checkTime(range.start_time, 'start_time');
    checkTime(range.end_time, 'end_time');
    if (range.start_time !== undefined) this.add((p) => `captured_at >= ${p}::timestamptz`, range.start_time);
    if (range.end_time !== undefined) this.add((p) => `captured_at < ${p}::timestamptz`, range.end_time);
    return this;
  }

  toString(): string {
    return this.parts.length ? `WHERE ${this.parts.join(' AND ')}` : '';
  }
}

const toStored = (r: PgEventRow): StoredEvent => rowToEvent(r, iso);

function urlsOf(rows: readonly UrlRow[]): string[] {
  const out: string[] = [];
  for (const r of rows) for (const u of [r.plate_url, r.vehicle_url, r.frame_url]) if (u !== null) out.push(u);
  return out;
}

export class PostgresStorage implements Storage {
  readonly kind = 'postgres' as const;
  /** Exposed for tests and maintenance tools; callers should prefer the Storage methods. */
  readonly pool: pg.Pool;
  private readonly privacy: PlatePrivacy | null;
  private readonly batchSize: number;
  private readonly partitionsAhead: number;
  private readonly timescale: 'auto' | 'off';
  private partitioning: TimePartitioning | null = null;
  /** Day partitions known to exist (UTC 'YYYY-MM-DD'); a miss only costs one function call. */
  private readonly knownDays = new Set<string>();
  /**
   * Plates known to be in the fuzzy-search dictionary (committed). Dictionary rows are never
   * deleted, so the set cannot go stale; it only spares re-sending a recurring plate and its
   * deletion keys with every batch (that traffic cost half the batch insert rate). Bounded:
   * cleared when full, which merely costs some re-sends.
   */
  private readonly knownPlates = new Set<string>();
  private closed = false;
  /** Estimated distinct plates and time partitions (see INFIX_PLATES_MAX), with when they were read. */
  private infixStats: { plates: number; partitions: number; at: number } | null = null;

  constructor(url: string, opts: PostgresStorageOptions = {}) {
    this.pool = new pg.Pool({
      connectionString: url,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: opts.connectTimeoutMs ?? 10_000,
      idleTimeoutMillis: 30_000,
      statement_timeout: opts.statementTimeoutMs ?? 30_000,
      application_name: opts.applicationName ?? 'ovr-alpr',
    });
    // An idle connection that dies (server restart) emits here; without a listener Node would
    // crash the process. The next query gets a fresh connection or a retriable error.
    this.pool.on('error', () => {});
    this.privacy = opts.privacy ? new PlatePrivacy(opts.privacy) : null;
    this.batchSize = Math.max(1, opts.batchSize ?? 5000);
    this.partitionsAhead = Math.max(0, opts.partitionsAhead ?? 7);
    this.timescale = opts.timescale ?? 'auto';
  }

  private async run<T>(op: string, fn: () => Promise<T>): Promise<T> {
    if (this.closed) throw new AlprError('STORAGE_FAILED', `PostgreSQL store is closed (${op})`);
    try {
      return await fn();
    } catch (err) {
      throw toStorageError(op, err);
    }
  }

  private async withClient<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      return await fn(client);
    } finally {
      client.release();
    }
  }

  private async transaction<T>(fn: (c: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(async (c) => {
      await c.query('BEGIN');
      try {
        const out = await fn(c);
        await c.query('COMMIT');
        return out;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      }
    });
  }

  /** Time partitioning in use ('native' or 'timescaledb'); known after migrate(). */
  get timePartitioning(): TimePartitioning | null {
    return this.partitioning;
  }

  async migrate(target = POSTGRES_SCHEMA_VERSION): Promise<number> {
    return (await this.migrateDetailed(target)).version;
  }

  /** migrate() with what it did; `target` below the newest version is for migration tests. */
  async migrateDetailed(target = POSTGRES_SCHEMA_VERSION): Promise<MigrationResult> {
    return this.run('migrate', async () => {
      const result = await this.withClient((c) => runMigrations(c, { timescale: this.timescale }, target));
      this.partitioning = result.partitioning;
      if (result.partitioning === 'native') await this.maintainPartitionsInner(new Date());
      return result;
    });
  }

  private async mode(): Promise<TimePartitioning> {
    if (this.partitioning) return this.partitioning;
    const { rows } = await this.pool.query<{ value: string }>(`SELECT value FROM storage_meta WHERE key = 'time_partitioning'`);
    this.partitioning = rows[0]?.value === 'timescaledb' ? 'timescaledb' : 'native';
    return this.partitioning;
  }

  /**
   * Creates day partitions from yesterday to `partitionsAhead` days after `now` (native
   * partitioning only). migrate() calls it; a long-running service should call it daily, although
   * inserts create any day they need on demand anyway.
   */
  async maintainPartitions(now = new Date()): Promise<void> {
    return this.run('maintainPartitions', () => this.maintainPartitionsInner(now));
  }

  private async maintainPartitionsInner(now: Date): Promise<void> {
    if ((await this.mode()) !== 'native') return;
    const days: string[] = [];
    for (let d = -1; d <= this.partitionsAhead; d++) days.push(utcDay(now.getTime() + d * DAY_MS));
    await this.ensureDays(days);
  }

  private async ensureDays(days: readonly string[]): Promise<void> {
    const missing = [...new Set(days)].filter((d) => !this.knownDays.has(d)).sort();
    if (missing.length === 0) return;
    // Own statement, own transaction: the DDL is committed before the insert runs, and the
    // insert transaction never holds partition locks.
    await this.pool.query('SELECT ovr_alpr_ensure_day_partition(d::date) FROM unnest($1::text[]) AS d', [missing]);
    for (const d of missing) this.knownDays.add(d);
  }

  private async ensurePartitionsFor(events: readonly PlateEvent[]): Promise<void> {
    if ((await this.mode()) !== 'native') return;
    const now = Date.now();
    const days = new Set<string>();
    for (const e of events) {
      const t = Date.parse(e.captured_at);
      if (t >= now - ON_DEMAND_PAST_DAYS * DAY_MS && t <= now + ON_DEMAND_FUTURE_DAYS * DAY_MS) days.add(utcDay(t));
    }
    await this.ensureDays([...days]);
  }

  /** The parameter arrays of INSERT_SQL for a chunk of events, and the plates it adds to the dictionary. */
  private insertParams(events: readonly PlateEvent[]): { params: unknown[]; plates: string[] } {
    const cols: ColumnValue[][] = INSERT_COLUMNS.map(() => new Array<ColumnValue>(events.length));
    const plates: string[] = [];
    for (let i = 0; i < events.length; i++) {
      const e = events[i];
      const stored = storedPlate(e, this.privacy);
      if (!this.knownPlates.has(stored.normalized)) plates.push(stored.normalized);
      const row: ColumnValue[] = [e.event_id, e.captured_at, ...eventColumnValues(e, stored)];
      for (let c = 0; c < row.length; c++) cols[c][i] = row[c];
    }
    const d = plateDictionaryArrays(plates);
    return { params: [d.plates, d.folded, d.keys, d.keyPlates, ...cols], plates: d.plates };
  }

  /** Call only once the statements that sent `plates` are committed. */
  private rememberPlates(plates: readonly string[]): void {
    if (this.knownPlates.size + plates.length > KNOWN_PLATES_MAX) this.knownPlates.clear();
    for (const p of plates) this.knownPlates.add(p);
  }

  /** One INSERT_SQL statement; returns how many events were new. */
  private async insertChunk(c: pg.Pool | pg.PoolClient, events: readonly PlateEvent[], sent: string[][]): Promise<number> {
    const { params, plates } = this.insertParams(events);
    // Named: parsed and planned once per connection (the text never changes with batch size).
    const { rows } = await c.query<{ n: number }>({ name: 'ovr_alpr_insert_events', text: INSERT_SQL, values: params });
    sent.push(plates);
    return rows[0].n;
  }

  async insert(event: PlateEvent): Promise<boolean> {
    return this.run('insert', async () => {
      await this.ensurePartitionsFor([event]);
      const sent: string[][] = [];
      const n = await this.insertChunk(this.pool, [event], sent);
      this.rememberPlates(sent.flat());
      return n === 1;
    });
  }

  /**
   * One transaction under an advisory lock on the event_id (two upserts of one event cannot
   * both see "absent" and insert twice): absent → the insert path; same captured_at → UPDATE in
   * place; captured_at moved → DELETE every row of the event_id and INSERT the new one with the
   * first row's created_at and seq. The day partition for the new time is made beforehand,
   * like insert(). The fuzzy-search dictionary gains the new plate; dictionary rows are never
   * removed (fuzzy counts come from plate_events), so the old plate needs no bookkeeping.
   */
  async upsert(event: PlateEvent): Promise<'inserted' | 'updated'> {
    return this.run('upsert', async () => {
      await this.ensurePartitionsFor([event]);
      const sent: string[][] = [];
      const outcome = await this.transaction(async (c) => {
        await c.query('SELECT pg_advisory_xact_lock($1::int4, hashtext($2::text))', [UPSERT_LOCK_CLASS, event.event_id]);
        const { rows } = await c.query<{ captured_at: Date; created_at: Date; seq: string }>(
          'SELECT captured_at, created_at, seq FROM plate_events WHERE event_id = $1::uuid ORDER BY seq',
          [event.event_id],
        );
        if (rows.length === 0) {
          await this.insertChunk(c, [event], sent);
          return 'inserted' as const;
        }
        const { params, plates } = this.insertParams([event]);
        // insertParams gives one-element column arrays: unwrap them for the single-row statements.
        const dict = params.slice(0, 4);
        const cols = params.slice(4).map((a) => (a as ColumnValue[])[0]);
        const first = rows[0];
        if (rows.length === 1 && first.captured_at.getTime() === Date.parse(event.captured_at)) {
          await c.query(UPDATE_SQL, [...dict, ...cols]);
        } else {
          await c.query('DELETE FROM plate_events WHERE event_id = $1::uuid', [event.event_id]);
          await c.query(REINSERT_SQL, [...dict, ...cols, first.created_at, first.seq]);
        }
        sent.push(plates);
        return 'updated' as const;
      });
      this.rememberPlates(sent.flat());
      return outcome;
    });
  }

  async insertMany(events: readonly PlateEvent[]): Promise<number> {
    if (events.length === 0) return 0;
    return this.run('insertMany', async () => {
      await this.ensurePartitionsFor(events);
      const sent: string[][] = [];
      let n = 0;
      if (events.length <= this.batchSize) n = await this.insertChunk(this.pool, events, sent);
      else {
        // One transaction for the whole batch (the contract), one statement per chunk.
        n = await this.transaction(async (c) => {
          let total = 0;
          for (let i = 0; i < events.length; i += this.batchSize) total += await this.insertChunk(c, events.slice(i, i + this.batchSize), sent);
          return total;
        });
      }
      this.rememberPlates(sent.flat());
      return n;
    });
  }

  async get(eventId: string): Promise<StoredEvent | null> {
    if (!UUID_RE.test(eventId)) return null;
    return this.run('get', async () => {
      // The same event_id under two capture times would be two rows (the key includes
      // captured_at); the first one stored is the event.
      const { rows } = await this.pool.query<PgEventRow>(`SELECT ${SELECT_COLUMNS} FROM plate_events WHERE event_id = $1 ORDER BY seq LIMIT 1`, [eventId]);
      return rows.length ? (await this.reviewed([toStored(rows[0])]))[0] : null;
    });
  }

  async recent(page: PageRequest): Promise<StoredEvent[]> {
    checkPage(page);
    return this.run('recent', async () => {
      const { rows } = await this.pool.query<PgEventRow>(`SELECT ${SELECT_COLUMNS} FROM plate_events ORDER BY created_at DESC, seq DESC LIMIT $1 OFFSET $2`, [
        page.limit,
        page.offset,
      ]);
      return this.reviewed(rows.map(toStored));
    });
  }

  /** Attaches operator reviews to a page of events (one primary-key lookup per page). */
  private async reviewed(events: StoredEvent[], db: pg.Pool | pg.PoolClient = this.pool): Promise<StoredEvent[]> {
    if (events.length === 0) return events;
    const { rows } = await db.query<ReviewRow<Date>>('SELECT * FROM event_reviews WHERE event_id = ANY($1::uuid[])', [events.map((e) => e.event_id)]);
    return withReviews(events, new Map(rows.map((r) => [r.event_id, rowToReview(r, iso)])));
  }

  async review(eventId: string, update: ReviewUpdate): Promise<StoredEvent | null> {
    if (!UUID_RE.test(eventId)) return null;
    const corrected = update.corrected_text ? correctedPlate(update.corrected_text, this.privacy) : null;
    const at = update.at ?? new Date();
    const found = await this.run('review', () =>
      this.transaction(async (c) => {
        const { rows } = await c.query('SELECT 1 FROM plate_events WHERE event_id = $1 LIMIT 1', [eventId]);
        if (rows.length === 0) return false;
        // One statement per field group, so a correction never resets the review mark or the reverse.
        await c.query('INSERT INTO event_reviews (event_id) VALUES ($1) ON CONFLICT (event_id) DO NOTHING', [eventId]);
        if (update.corrected_text !== undefined) {
          await c.query('UPDATE event_reviews SET corrected_text = $2, corrected_normalized = $3, corrected_by = $4, corrected_at = $5 WHERE event_id = $1', [
            eventId,
            corrected?.text ?? null,
            corrected?.normalized ?? null,
            corrected ? update.actor : null,
            corrected ? at : null,
          ]);
        }
        if (update.reviewed !== undefined) {
          await c.query('UPDATE event_reviews SET reviewed = $2, reviewed_by = $3, reviewed_at = $4 WHERE event_id = $1', [
            eventId,
            update.reviewed,
            update.reviewed ? update.actor : null,
            update.reviewed ? at : null,
          ]);
        }
        return true;
      }),
    );
    return found ? this.get(eventId) : null;
  }

  private async page(where: Where, page: PageRequest & Pick<EventFilters, 'sort' | 'order'>, db: pg.Pool | pg.PoolClient = this.pool): Promise<StoredEvent[]> {
    const limit = where.param(page.limit);
    const offset = where.param(page.offset);
    const { rows } = await db.query<PgEventRow>(
      `SELECT ${SELECT_COLUMNS} FROM plate_events ${where} ORDER BY ${searchOrder(page, 'seq')} LIMIT ${limit} OFFSET ${offset}`,
      where.params,
    );
    return this.reviewed(rows.map(toStored), db);
  }

  async byPlate(plate: string, page: PageRequest): Promise<StoredEvent[]> {
    checkPage(page);
    return this.run('byPlate', () => this.page(this.exactPlate(new Where(), plate), page));
  }

  private exactPlate(where: Where, plate: string): Where {
    const forms = plateLookupForms(plate, this.privacy);
    return forms.length === 1
      ? where.add((p) => `plate_normalized_text = ${p}`, forms[0])
      : where.add((p) => `plate_normalized_text = ANY(${p}::text[])`, forms);
  }

  async byCamera(cameraId: string, range: TimeRange, page: PageRequest): Promise<StoredEvent[]> {
    checkPage(page);
    return this.run('byCamera', () => this.page(new Where().add((p) => `camera_id = ${p}`, cameraId).range(range), page));
  }

  async search(filters: EventFilters): Promise<StoredEvent[]> {
    checkPage(filters);
    const where = new Where();
    /** Set when the pattern is resolved against the plates table first (see INFIX_PLATES_MAX). */
    let platesFirst: { like: string; infix: boolean } | undefined;
    const plateFrom = where.mark();
    if (filters.plate !== undefined) {
      const q = parsePlateQuery(filters.plate); // throws PlateQueryError (→ 400) on bad input
      if (q.kind === 'exact') this.exactPlate(where, q.plate);
      else {
        // Hashed plates (privacy switch) start with '#' and must never match a pattern.
        where.raw(`plate_normalized_text NOT LIKE '#%'`).add((p) => `plate_normalized_text LIKE ${p}`, q.like);
        const prefix = patternPrefix(q.pattern);
        const suffix = patternSuffix(q.pattern);
        if (!suffix && prefix.length < PLATES_FIRST_PREFIX_MAX) {
          // Infix (`*X1*`, `?1?`), or a prefix too short to narrow much (`A?C*`): match the
          // distinct plates first (search() below).
          platesFirst = { like: q.like, infix: !prefix };
        } else if (prefix) {
          // Served by the (plate_normalized_text, captured_at) btree: the column is COLLATE "C".
        } else {
          // Redundant with the LIKE above, but lets the planner use the reversed-text index.
          where.add((p) => `reverse(plate_normalized_text) LIKE ${p}`, `${[...suffix].reverse().join('')}%`);
        }
      }
    }
    if (filters.plate !== undefined) {
      const corrected = await this.correctedMatches(filters.plate);
      if (corrected.length > 0) {
        // Corrected plates match too; the plates-first shortcut would leave them out.
        platesFirst = undefined;
        where.anyOf(plateFrom, (p) => `event_id = ANY(${p}::uuid[])`, corrected);
      }
    }
    if (filters.camera_id !== undefined) where.add((p) => `camera_id = ${p}`, filters.camera_id);
    if (filters.site !== undefined) where.add((p) => `site_id = ${p}`, filters.site);
    if (filters.reviewed !== undefined) {
      where.raw(`event_id ${filters.reviewed ? '' : 'NOT '}IN (SELECT event_id FROM event_reviews WHERE reviewed)`);
    }
    if (filters.min_confidence !== undefined) where.add((p) => `plate_confidence >= ${p}::float8`, filters.min_confidence);
    if (filters.vehicle_type !== undefined) where.add((p) => `vehicle_type = ${p}`, filters.vehicle_type);
    if (filters.direction !== undefined) where.add((p) => `direction = ${p}`, filters.direction);
    where.range(filters);
    const hasOtherFilters = [filters.camera_id, filters.site, filters.min_confidence, filters.vehicle_type, filters.direction].some((v) => v !== undefined);
    return this.run('search', async () => {
      if (platesFirst) {
        const max = await this.infixPlatesLimit(filters.offset + filters.limit, hasOtherFilters);
        // Infixes with a run of 3+ literal characters use the trigram index, a short prefix the
        // primary key; other patterns scan the plates table, which holds each distinct plate
        // once (a quarter of the events or fewer). LIMIT max + 1 stops that scan early when the
        // pattern is common.
        const { rows } = await this.pool.query<{ plate: string }>('SELECT plate FROM plates WHERE plate LIKE $1 LIMIT $2', [platesFirst.like, max + 1]);
        if (rows.length <= max) {
          // The LIKE above stays in the WHERE clause: same rows, same order, same paging. The
          // list goes through a sub-select so that the planner does not estimate every element
          // against every partition's statistics: with a literal array, planning 46 plates over
          // 40 partitions took 14-40 ms, more than running the query (6 ms).
          where.add(
            (p) => `plate_normalized_text = ANY(ARRAY(SELECT unnest(${p}::text[])))`,
            rows.map((r) => r.plate),
          );
          return this.page(where, filters);
        }
        // More matching plates than that. A short prefix keeps its btree range (the planner
        // estimates a prefix well). An infix reads newest first (captured_at, or camera_id then
        // captured_at) and stops after offset + limit matches: the planner cannot estimate an
        // infix LIKE (it guessed 45 rows for `%577%`, which has ~1,200 at 1M) and picked a
        // full scan plus sort (270 ms there) over that; we know better from the plates count,
        // so its alternatives are switched off for this one statement (SET LOCAL semantics).
        if (platesFirst.infix) {
          return this.transaction(async (c) => {
            await c.query(
              `SELECT set_config('enable_seqscan', 'off', true), set_config('enable_bitmapscan', 'off', true),
                      set_config('max_parallel_workers_per_gather', '0', true)`,
            );
            return this.page(where, filters, c);
          });
        }
      }
      return this.page(where, filters);
    });
  }

  /** Events whose corrected plate matches `plate` (exact or pattern): a lookup in the small event_reviews table. */
  private async correctedMatches(plate: string): Promise<string[]> {
    const q = parsePlateQuery(plate);
    const { rows } =
      q.kind === 'exact'
        ? await this.pool.query<{ event_id: string }>('SELECT event_id FROM event_reviews WHERE corrected_normalized = ANY($1::text[])', [
            plateLookupForms(q.plate, this.privacy),
          ])
        : await this.pool.query<{ event_id: string }>(
            `SELECT event_id FROM event_reviews WHERE corrected_normalized NOT LIKE '#%' AND corrected_normalized LIKE $1`,
            [q.like],
          );
    return rows.map((r) => r.event_id);
  }

  /** How many matched plates a plates-first search may still fetch plate by plate (see INFIX_PLATES_MAX). */
  private async infixPlatesLimit(rowsWanted: number, hasOtherFilters: boolean): Promise<number> {
    const now = Date.now();
    if (!this.infixStats || now - this.infixStats.at > INFIX_STATS_TTL_MS) {
      // Planner estimates, not counts: free to read. reltuples is -1 before the first ANALYZE
      // or VACUUM: then the table size over ~48 bytes a row. pg_inherits lists day partitions,
      // or TimescaleDB chunks.
      const { rows } = await this.pool.query<{ plates: number; partitions: number }>(
        `SELECT (SELECT (CASE WHEN reltuples >= 0 THEN reltuples ELSE pg_relation_size(oid) / 48.0 END)::float8
                   FROM pg_class WHERE oid = 'plates'::regclass) AS plates,
                (SELECT count(*)::int FROM pg_inherits WHERE inhparent = 'plate_events'::regclass) AS partitions`,
      );
      this.infixStats = { plates: rows[0].plates, partitions: Math.max(1, rows[0].partitions), at: now };
    }
    const { plates, partitions } = this.infixStats;
    const boost = hasOtherFilters ? INFIX_FILTER_BOOST : 1;
    const cut = Math.floor(Math.sqrt((Math.max(1, rowsWanted) * plates * boost) / (INFIX_COST_RATIO * partitions)));
    return Math.min(INFIX_PLATES_MAX, Math.max(INFIX_PLATES_MIN, cut));
  }

  async fuzzyPlates(plate: string, limit: number): Promise<FuzzyMatch[]> {
    const q = normalizePlate(plate);
    if (!q || limit <= 0) return [];
    return this.run('fuzzyPlates', async () => {
      const keys = deletionKeys(foldConfusions(q));
      const cand = await this.pool.query<{ plate: string }>('SELECT DISTINCT plate FROM plate_keys WHERE key = ANY($1::text[])', [keys]);
      const scored = new Map<string, { rank: 0 | 1 | 2; distance: number }>();
      for (const { plate: c } of cand.rows) {
        const s = fuzzyScore(q, c);
        if (s) scored.set(c, s);
      }
      if (scored.size === 0) return [];
      // Counts come from the events themselves, so retention never leaves them stale; plates
      // whose events are all gone simply drop out here.
      const counts = await this.pool.query<{ plate: string; events: number; last_seen: Date }>(
        `SELECT plate_normalized_text AS plate, count(*)::int AS events, max(captured_at) AS last_seen
           FROM plate_events WHERE plate_normalized_text = ANY($1::text[]) GROUP BY plate_normalized_text`,
        [[...scored.keys()]],
      );
      const out: FuzzyMatch[] = counts.rows.map((r) => ({ plate: r.plate, ...scored.get(r.plate)!, events: r.events, last_seen: iso(r.last_seen) }));
      // The SQLite store's order exactly: both stores must return the same list.
      out.sort((a, b) => a.rank - b.rank || a.distance - b.distance || b.events - a.events || (a.plate < b.plate ? -1 : a.plate > b.plate ? 1 : 0));
      return out.slice(0, limit);
    });
  }

  async stats(): Promise<Stats> {
    return this.run('stats', async () => {
      const { rows } = await this.pool.query<{
        total_events: number;
        unique_plates: number;
        active_cameras: number;
        earliest_event: Date | null;
        latest_event: Date | null;
        avg_confidence: number | null;
        avg_latency_ms: number | null;
      }>(
        `SELECT count(*)::int AS total_events,
                count(DISTINCT plate_normalized_text)::int AS unique_plates,
                count(DISTINCT camera_id)::int AS active_cameras,
                min(captured_at) AS earliest_event,
                max(captured_at) AS latest_event,
                avg(plate_confidence)::float8 AS avg_confidence,
                avg(latency_ms)::float8 AS avg_latency_ms
           FROM plate_events`,
      );
      const r = rows[0];
      return {
        total_events: r.total_events,
        unique_plates: r.unique_plates,
        active_cameras: r.active_cameras,
        earliest_event: r.earliest_event ? iso(r.earliest_event) : null,
        latest_event: r.latest_event ? iso(r.latest_event) : null,
        avg_confidence: r.avg_confidence,
        avg_latency_ms: r.avg_latency_ms,
      };
    });
  }

  async counts(range: TimeRange, bucket: 'hour' | 'day'): Promise<CountBucket[]> {
    const where = new Where().range(range);
    return this.run('counts', async () => {
      const width = where.param(bucket === 'hour' ? '1 hour' : '1 day');
      // date_bin with a UTC-midnight origin: buckets are UTC whatever the session time zone
      // (TimescaleDB's time_bucket is the same thing). Cameras in byte order, like SQLite.
      const { rows } = await this.pool.query<{ bucket: Date; camera_id: string; count: number }>(
        `SELECT date_bin(${width}::interval, captured_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') AS bucket, camera_id, count(*)::int AS count
           FROM plate_events ${where}
          GROUP BY 1, 2 ORDER BY 1, camera_id COLLATE "C"`,
        where.params,
      );
      return rows.map((r) => ({ bucket: iso(r.bucket), camera_id: r.camera_id, count: r.count }));
    });
  }

  async applyRetention(policy: RetentionPolicy, now = new Date()): Promise<RetentionResult> {
    return this.run('applyRetention', async () => {
      const result: RetentionResult = { deleted: 0, image_urls: [] };
      if (policy.max_age_days !== undefined) {
        if (!(policy.max_age_days >= 0)) throw new AlprError('USAGE', `max_age_days must be >= 0 (got ${policy.max_age_days})`);
        const cutoff = new Date(now.getTime() - policy.max_age_days * DAY_MS);
        const r = (await this.mode()) === 'native' ? await this.retainByAgeNative(cutoff) : await this.retainByAgeTimescale(cutoff);
        result.deleted += r.deleted;
        result.image_urls.push(...r.image_urls);
      }
      if (policy.max_events !== undefined) {
        if (!Number.isInteger(policy.max_events) || policy.max_events < 0) {
          throw new AlprError('USAGE', `max_events must be a non-negative integer (got ${policy.max_events})`);
        }
        const r = await this.retainByCount(policy.max_events);
        result.deleted += r.deleted;
        result.image_urls.push(...r.image_urls);
      }
      // Reviews of deleted events go with them: a correction is a plate too.
      if (result.deleted > 0) {
        await this.pool.query('DELETE FROM event_reviews r WHERE NOT EXISTS (SELECT 1 FROM plate_events e WHERE e.event_id = r.event_id)');
      }
      return result;
    });
  }

  /** Whole day partitions older than the cutoff are detached and dropped; the partial day (and the default partition) lose rows. */
  private async retainByAgeNative(cutoff: Date): Promise<RetentionResult> {
    const result: RetentionResult = { deleted: 0, image_urls: [] };
    const { rows: parts } = await this.pool.query<{ name: string }>(
      `SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
        WHERE i.inhparent = 'plate_events'::regclass AND c.relname ~ '^plate_events_p[0-9]{8}$' ORDER BY 1`,
    );
    for (const { name } of parts) {
      const ymd = name.slice('plate_events_p'.length);
      const day = `${ymd.slice(0, 4)}-${ymd.slice(4, 6)}-${ymd.slice(6, 8)}`;
      if (Date.parse(`${day}T00:00:00Z`) + DAY_MS > cutoff.getTime()) continue;
      // DETACH first (it locks parent then partition, the order inserts use: no deadlock),
      // then read what the images were and drop: nothing can write to the detached table.
      // `name` comes from pg_class and matched the strict pattern above; quoted anyway.
      const ident = `"${name}"`;
      const urls = await this.transaction(async (c) => {
        await c.query(`ALTER TABLE plate_events DETACH PARTITION ${ident}`);
        const { rows } = await c.query<UrlRow>(
          `SELECT plate_url, vehicle_url, frame_url FROM ${ident} WHERE plate_url IS NOT NULL OR vehicle_url IS NOT NULL OR frame_url IS NOT NULL`,
        );
        const { rows: cnt } = await c.query<{ n: number }>(`SELECT count(*)::int AS n FROM ${ident}`);
        await c.query(`DROP TABLE ${ident}`);
        return { urls: urlsOf(rows), n: cnt[0].n };
      });
      this.knownDays.delete(day);
      result.deleted += urls.n;
      result.image_urls.push(...urls.urls);
    }
    const { rows } = await this.pool.query<UrlRow>('DELETE FROM plate_events WHERE captured_at < $1 RETURNING plate_url, vehicle_url, frame_url', [cutoff]);
    result.deleted += rows.length;
    result.image_urls.push(...urlsOf(rows));
    return result;
  }

  /** TimescaleDB: drop_chunks for whole chunks, row delete for the rest (not testable here: no TimescaleDB package). */
  private async retainByAgeTimescale(cutoff: Date): Promise<RetentionResult> {
    return this.transaction(async (c) => {
      const { rows } = await c.query<UrlRow>('SELECT plate_url, vehicle_url, frame_url FROM plate_events WHERE captured_at < $1', [cutoff]);
      await c.query(`SELECT drop_chunks('plate_events', older_than => $1::timestamptz)`, [cutoff]);
      await c.query('DELETE FROM plate_events WHERE captured_at < $1', [cutoff]);
      return { deleted: rows.length, image_urls: urlsOf(rows) };
    });
  }

  /** Keeps the newest `max` events by capture time (insertion order breaks ties). */
  private async retainByCount(max: number): Promise<RetentionResult> {
    return this.transaction(async (c) => {
      const { rows: cnt } = await c.query<{ n: string }>('SELECT count(*) AS n FROM plate_events');
      const excess = Number(cnt[0].n) - max;
      if (excess <= 0) return { deleted: 0, image_urls: [] };
      const { rows } = await c.query<UrlRow>(
        `WITH victims AS (SELECT event_id, captured_at FROM plate_events ORDER BY captured_at ASC, seq ASC LIMIT $1)
         DELETE FROM plate_events e USING victims v WHERE e.event_id = v.event_id AND e.captured_at = v.captured_at
         RETURNING e.plate_url, e.vehicle_url, e.frame_url`,
        [excess],
      );
      return { deleted: rows.length, image_urls: urlsOf(rows) };
    });
  }

  async audit(entry: Omit<AuditEntry, 'at'>): Promise<void> {
    return this.run('audit', async () => {
      await this.pool.query('INSERT INTO audit_log (actor, action, details) VALUES ($1, $2, $3::jsonb)', [
        entry.actor,
        entry.action,
        JSON.stringify(entry.details),
      ]);
    });
  }

  async auditLog(page: PageRequest): Promise<AuditEntry[]> {
    checkPage(page);
    return this.run('auditLog', async () => {
      const { rows } = await this.pool.query<{ at: Date; actor: string; action: string; details: Record<string, unknown> }>(
        'SELECT at, actor, action, details FROM audit_log ORDER BY id DESC LIMIT $1 OFFSET $2',
        [page.limit, page.offset],
      );
      return rows.map((r) => ({ at: iso(r.at), actor: r.actor, action: r.action, details: r.details }));
    });
  }

  async ping(): Promise<boolean> {
    if (this.closed) return false;
    try {
      await this.pool.query('SELECT 1');
      return true;
    } catch {
      return false;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.pool.end();
  }
}

/**
 * Connects to `url`, brings the schema up to date and returns the store. A server that
 * cannot be reached rejects with a retriable AlprError STORAGE_UNAVAILABLE.
 */
export async function openPostgresStorage(url: string, opts: PostgresStorageOptions = {}): Promise<PostgresStorage> {
  const store = new PostgresStorage(url, opts);
  try {
    await store.migrate();
    return store;
  } catch (err) {
    await store.close().catch(() => {});
    throw toStorageError('open', err);
  }
}
