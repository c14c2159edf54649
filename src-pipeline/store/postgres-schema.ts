/**
 * PostgreSQL schema and versioned migrations for the plate event store.
 *
 * Migrations run in one transaction under a transaction-scoped advisory lock, so two
 * processes starting at once (an API and a consumer, say) serialise: the second waits, then
 * finds the versions already recorded in schema_migrations and does nothing. DDL in
 * PostgreSQL is transactional, so a failed migration leaves the previous version intact.
 *
 * Time partitioning is decided once, by the first migration, and recorded in storage_meta:
 * - TimescaleDB when `CREATE EXTENSION IF NOT EXISTS timescaledb` succeeds (hypertable on
 *   captured_at with one-day chunks, compression policy; age retention via drop_chunks).
 * - Otherwise native declarative partitioning: RANGE on captured_at, one partition per UTC
 *   day, created ahead and on demand by ovr_alpr_ensure_day_partition(), plus a DEFAULT
 *   partition so that an insert for a day nobody created yet can never fail.
 */
import type { PoolClient } from 'pg';
import { AlprError } from '../common/errors.js';
import { deletionKeys, foldConfusions } from '../common/plate-search.js';
import { isHashedPlate } from './privacy.js';

export type TimePartitioning = 'timescaledb' | 'native';

export interface MigrationContext {
  /** 'off' skips even trying CREATE EXTENSION timescaledb (tests, or a server where it must not be used). */
  timescale: 'auto' | 'off';
}

interface Migration {
  version: number;
  name: string;
  up(client: PoolClient, ctx: MigrationContext): Promise<void>;
}

/** Advisory lock key for migrations: any fixed 64-bit number private to this application. */
export const MIGRATION_LOCK_KEY = 0x0a1f_2d3c_4b5an;
/** First half of the two-int advisory lock used while creating one day partition. */
export const PARTITION_LOCK_CLASS = 0x0a1f_2d3c;

/**
 * Tries a statement that may legitimately fail (an extension that is not installed) without
 * aborting the migration transaction around it.
 */
async function tryInSavepoint(client: PoolClient, sql: string): Promise<boolean> {
  await client.query('SAVEPOINT ovr_try');
  try {
    await client.query(sql);
    await client.query('RELEASE SAVEPOINT ovr_try');
    return true;
  } catch {
    await client.query('ROLLBACK TO SAVEPOINT ovr_try');
    await client.query('RELEASE SAVEPOINT ovr_try');
    return false;
  }
}

/**
 * The seed's plate_events columns. plate_normalized_text uses the C collation: it only ever
 * holds A-Z0-9, and with C a plain btree serves `LIKE 'AB%'` prefix searches (no
 * text_pattern_ops twin index needed). `seq` is ours: a total insertion order, because
 * created_at (now()) is equal for every row of one batch and recent() must still follow
 * insertion order.
 */
const EVENT_COLUMNS = `
  event_id uuid NOT NULL,
  captured_at timestamptz NOT NULL,
  camera_id text NOT NULL,
  track_id text,
  plate_text text NOT NULL,
  plate_normalized_text text COLLATE "C" NOT NULL,
  plate_confidence double precision NOT NULL,
  plate_region text,
  vehicle_type text,
  vehicle_make text,
  vehicle_model text,
  vehicle_color text,
  plate_url text,
  vehicle_url text,
  frame_url text,
  latency_ms double precision,
  quality_score double precision,
  frame_number bigint,
  site_id text,
  host_id text,
  roi text,
  direction text,
  created_at timestamptz NOT NULL DEFAULT now(),
  seq bigserial NOT NULL,
  PRIMARY KEY (event_id, captured_at)`;

/**
 * Creates the partition for one UTC day if it is missing; true when it created it. Safe to
 * call from any number of sessions at once: creators of the same day serialise on an advisory
 * lock and re-check, and a duplicate_table from a creator that raced past is swallowed. The
 * table is built detached and then attached, because ATTACH PARTITION only needs SHARE UPDATE
 * EXCLUSIVE on the parent (concurrent inserts keep flowing) where CREATE TABLE … PARTITION OF
 * would take ACCESS EXCLUSIVE. Rows that landed in the default partition for that day (before
 * the day existed) are moved in first; otherwise ATTACH would refuse.
 */
const ENSURE_PARTITION_FN = `
CREATE OR REPLACE FUNCTION ovr_alpr_ensure_day_partition(day date) RETURNS boolean
LANGUAGE plpgsql AS $fn$
DECLARE
  part text := 'plate_events_p' || to_char(day, 'YYYYMMDD');
  lo timestamptz := day::timestamp AT TIME ZONE 'UTC';
  hi timestamptz := (day + 1)::timestamp AT TIME ZONE 'UTC';
BEGIN
  IF to_regclass(quote_ident(part)) IS NOT NULL THEN
    RETURN false;
  END IF;
  PERFORM pg_advisory_xact_lock(${PARTITION_LOCK_CLASS}, hashtext(part));
  -- Whoever held the lock may just have created it.
  IF to_regclass(quote_ident(part)) IS NOT NULL THEN
    RETURN false;
  END IF;
  BEGIN
    EXECUTE format('CREATE TABLE %I (LIKE plate_events INCLUDING DEFAULTS)', part);
  EXCEPTION WHEN duplicate_table OR unique_violation THEN
    RETURN false;
  END;
  -- A matching CHECK lets ATTACH skip its validation scan.
  EXECUTE format('ALTER TABLE %I ADD CONSTRAINT %I CHECK (captured_at >= %L AND captured_at < %L)', part, part || '_day', lo, hi);
  EXECUTE format(
    'WITH moved AS (DELETE FROM plate_events_default WHERE captured_at >= %L AND captured_at < %L RETURNING *) INSERT INTO %I SELECT * FROM moved',
    lo, hi, part);
  EXECUTE format('ALTER TABLE plate_events ATTACH PARTITION %I FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
  EXECUTE format('ALTER TABLE %I DROP CONSTRAINT %I', part, part || '_day');
  RETURN true;
END
$fn$`;

const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    name: 'plate_events, time partitioning, seed indexes',
    async up(client, ctx) {
      await client.query('CREATE TABLE storage_meta (key text PRIMARY KEY, value text NOT NULL)');
      const timescale = ctx.timescale === 'auto' && (await tryInSavepoint(client, 'CREATE EXTENSION IF NOT EXISTS timescaledb'));
      const mode: TimePartitioning = timescale ? 'timescaledb' : 'native';
      if (mode === 'timescaledb') {
        // Not testable on this workplace (no TimescaleDB package); kept to the documented API.
        await client.query(`CREATE TABLE plate_events (${EVENT_COLUMNS})`);
        await client.query(`SELECT create_hypertable('plate_events', 'captured_at', chunk_time_interval => interval '1 day')`);
        await client.query(
          `ALTER TABLE plate_events SET (timescaledb.compress, timescaledb.compress_segmentby = 'camera_id', timescaledb.compress_orderby = 'captured_at DESC')`,
        );
        await client.query(`SELECT add_compression_policy('plate_events', interval '7 days')`);
      } else {
        await client.query(`CREATE TABLE plate_events (${EVENT_COLUMNS}) PARTITION BY RANGE (captured_at)`);
        await client.query('CREATE TABLE plate_events_default PARTITION OF plate_events DEFAULT');
        // Day partitions are small and time-ordered: BRIN prunes ranges inside a day at almost
        // no insert cost.
        await client.query('CREATE INDEX plate_events_captured_brin ON plate_events USING brin (captured_at)');
        await client.query(ENSURE_PARTITION_FN);
      }
      // The seed's indexes (created on the parent, so every partition/chunk gets them).
      await client.query('CREATE INDEX plate_events_plate_idx ON plate_events (plate_normalized_text, captured_at DESC)');
      await client.query('CREATE INDEX plate_events_camera_idx ON plate_events (camera_id, captured_at DESC)');
      // seq breaks created_at ties within one batch (see EVENT_COLUMNS).
      await client.query('CREATE INDEX plate_events_created_idx ON plate_events (created_at DESC, seq DESC)');
      // Newest-captured-first pages with unselective filters (a site, a common prefix) read
      // partitions newest first and stop after `limit` rows: that needs a btree, BRIN cannot order.
      await client.query('CREATE INDEX plate_events_captured_idx ON plate_events (captured_at DESC, seq DESC)');
      await client.query(`INSERT INTO storage_meta (key, value) VALUES ('time_partitioning', $1)`, [mode]);
    },
  },
  {
    version: 2,
    name: 'plate search (suffix index, plates + plate_keys for fuzzy search), audit log',
    async up(client) {
      // Suffix patterns (`*123`): LIKE '321%' on the reversed text is a btree range scan.
      await client.query('CREATE INDEX plate_events_plate_rev_idx ON plate_events (reverse(plate_normalized_text))');
      // Distinct plates with their OCR-folded form, and the symmetric-delete keys of the folded
      // form (deletionKeys, exactly as the SQLite store): fuzzy search is an index lookup.
      await client.query('CREATE TABLE plates (plate text COLLATE "C" PRIMARY KEY, folded text COLLATE "C" NOT NULL)');
      // No foreign key to plates: keys are only ever written by the statement that adds their
      // plate, and plates are never deleted (a plate whose events retention removed simply
      // stops matching, since fuzzy counts come from plate_events). A per-row RI trigger here
      // halved batch insert throughput.
      await client.query('CREATE TABLE plate_keys (key text COLLATE "C" NOT NULL, plate text COLLATE "C" NOT NULL, PRIMARY KEY (key, plate))');
      // Infix-only patterns (`*12*`, `?1?`) have no literal end to anchor an index: they are
      // matched against the (much smaller) plates table, with a trigram index when pg_trgm can
      // be created (a trusted extension in Debian's postgresql-contrib).
      if (await tryInSavepoint(client, 'CREATE EXTENSION IF NOT EXISTS pg_trgm')) {
        await client.query('CREATE INDEX plates_trgm_idx ON plates USING gin (plate gin_trgm_ops)');
      }
      await client.query(
        `CREATE TABLE audit_log (
           id bigserial PRIMARY KEY,
           at timestamptz NOT NULL DEFAULT now(),
           actor text NOT NULL,
           action text NOT NULL,
           details jsonb NOT NULL DEFAULT '{}'::jsonb)`,
      );
      // Backfill the plate dictionary from events stored by version 1, in chunks so memory
      // stays flat on a large table.
      const cursorSql = 'SELECT DISTINCT plate_normalized_text AS plate FROM plate_events WHERE plate_normalized_text > $1 ORDER BY 1 LIMIT 5000';
      let last = '';
      for (;;) {
        const { rows } = await client.query<{ plate: string }>(cursorSql, [last]);
        if (rows.length === 0) break;
        await insertPlateDictionary(
          client,
          rows.map((r) => r.plate),
        );
        last = rows[rows.length - 1].plate;
      }
    },
  },
  {
    version: 3,
    name: 'event_reviews (operator corrections and review marks); per-character confidences of events',
    async up(client) {
      // Its own small table: plate_events rows are partitioned (or compressed chunks) and the
      // pipeline's upsert rewrites them; what an operator wrote must survive both.
      await client.query(
        `CREATE TABLE event_reviews (
           event_id uuid PRIMARY KEY,
           corrected_text text,
           corrected_normalized text COLLATE "C",
           corrected_by text,
           corrected_at timestamptz,
           reviewed boolean NOT NULL DEFAULT false,
           reviewed_by text,
           reviewed_at timestamptz)`,
      );
      await client.query('CREATE INDEX event_reviews_corrected_idx ON event_reviews (corrected_normalized) WHERE corrected_normalized IS NOT NULL');
      // Nullable, no default: a catalog-only change, whatever the table's size (and allowed on compressed hypertables).
      await client.query('ALTER TABLE plate_events ADD COLUMN char_confidences text');
    },
  },
];

export const POSTGRES_SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

export interface PlateDictionaryArrays {
  plates: string[];
  folded: string[];
  keys: string[];
  keyPlates: string[];
}

/**
 * The plates, folded forms and deletion keys to send for a set of plates. Sorted, so that
 * concurrent batches lock dictionary rows in one order (no deadlocks). Hashed plates (the
 * privacy switch) stay out: they must not be found by partial or fuzzy search.
 */
export function plateDictionaryArrays(plates: Iterable<string>): PlateDictionaryArrays {
  const out: PlateDictionaryArrays = { plates: [], folded: [], keys: [], keyPlates: [] };
  for (const plate of [...new Set(plates)].sort()) {
    if (isHashedPlate(plate)) continue;
    const folded = foldConfusions(plate);
    out.plates.push(plate);
    out.folded.push(folded);
    for (const key of deletionKeys(folded)) {
      out.keys.push(key);
      out.keyPlates.push(plate);
    }
  }
  return out;
}

/**
 * SQL that adds plates to the dictionary: keys are inserted only for plates this statement
 * added, so a known plate costs one primary-key probe. $1..$4 are PlateDictionaryArrays.
 */
export const PLATE_DICTIONARY_CTE = `
  new_plates AS (
    INSERT INTO plates (plate, folded) SELECT * FROM unnest($1::text[], $2::text[])
    ON CONFLICT (plate) DO NOTHING RETURNING plate
  ),
  new_keys AS (
    INSERT INTO plate_keys (key, plate)
    SELECT k.key, k.plate FROM unnest($3::text[], $4::text[]) AS k(key, plate) JOIN new_plates USING (plate)
    ON CONFLICT DO NOTHING
  )`;

async function insertPlateDictionary(client: PoolClient, plates: readonly string[]): Promise<void> {
  const d = plateDictionaryArrays(plates);
  await client.query(`WITH ${PLATE_DICTIONARY_CTE} SELECT 1`, [d.plates, d.folded, d.keys, d.keyPlates]);
}

export interface MigrationResult {
  version: number;
  applied: number[];
  partitioning: TimePartitioning;
}

/**
 * Brings the schema to `target` (default: the newest version). Returns the version in place
 * afterwards, which is higher than `target` when the database is already newer.
 */
export async function runMigrations(client: PoolClient, ctx: MigrationContext, target = POSTGRES_SCHEMA_VERSION): Promise<MigrationResult> {
  await client.query('BEGIN');
  try {
    // Backfills on a big table may outlast the pool's statement timeout.
    await client.query('SET LOCAL statement_timeout = 0');
    // Taken before anything else (even CREATE TABLE IF NOT EXISTS, which itself races on
    // the catalog when two sessions run it at once).
    await client.query('SELECT pg_advisory_xact_lock($1)', [MIGRATION_LOCK_KEY.toString()]);
    await client.query(
      'CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())',
    );
    const { rows } = await client.query<{ version: number }>('SELECT version FROM schema_migrations');
    const done = new Set(rows.map((r) => r.version));
    const newest = Math.max(0, ...done);
    if (newest > POSTGRES_SCHEMA_VERSION) {
      // A database written by newer code is refused rather than guessed at.
      throw new AlprError(
        'STORAGE_FAILED',
        `database schema version ${newest} is newer than this program supports (${POSTGRES_SCHEMA_VERSION}); upgrade ovr-alpr`,
      );
    }
    const applied: number[] = [];
    for (const m of MIGRATIONS) {
      if (m.version > target || done.has(m.version)) continue;
      await m.up(client, ctx);
      await client.query('INSERT INTO schema_migrations (version, name) VALUES ($1, $2)', [m.version, m.name]);
      applied.push(m.version);
      done.add(m.version);
    }
    const meta = await client.query<{ value: string }>(`SELECT value FROM storage_meta WHERE key = 'time_partitioning'`);
    await client.query('COMMIT');
    return {
      version: Math.max(0, ...done),
      applied,
      partitioning: meta.rows[0]?.value === 'timescaledb' ? 'timescaledb' : 'native',
    };
  } catch (err) {
    await client.query('ROLLBACK').catch(() => {});
    throw err;
  }
}
