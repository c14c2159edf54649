/**
 * SQLite schema and its versioned migrations. Each step runs once, in its own transaction,
 * and records itself in `schema_migrations`; opening an older database with newer code
 * applies the missing steps (tested from a real v1 file in test/store/sqlite.test.ts).
 *
 * Times are integer milliseconds since the epoch (UTC): half the index size of ISO text and
 * plain integer comparisons; the store converts to ISO-8601 at its edge.
 *
 * Indexes are declared ascending: SQLite walks a B-tree backwards at the same cost, and a
 * backward walk of (x, captured_at) also yields rowid descending, which is the tie-break the
 * queries use, so `ORDER BY captured_at DESC, id DESC` needs no sort step.
 */
import type { Database } from 'better-sqlite3';
import { deletionKeys, foldConfusions } from '../common/plate-search.js';
import { AlprError } from '../common/errors.js';
import { isHashedPlate } from './privacy.js';

export interface Migration {
  version: number;
  description: string;
  up(db: Database): void;
}

/** The reversed text of a plate: a suffix query becomes a prefix range on this column. */
export function reversePlate(plate: string): string {
  return [...plate].reverse().join('');
}

/** Fuzzy-search keys of a distinct plate; hashed plates get none (they are not searchable). */
export function plateKeys(normalized: string): string[] {
  return isHashedPlate(normalized) ? [] : deletionKeys(foldConfusions(normalized));
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'plate_events with the seed columns and indexes',
    up(db) {
      db.exec(`
        CREATE TABLE plate_events (
          id INTEGER PRIMARY KEY,
          event_id TEXT NOT NULL UNIQUE,
          captured_at INTEGER NOT NULL,
          camera_id TEXT NOT NULL,
          track_id TEXT,
          plate_text TEXT NOT NULL,
          plate_normalized_text TEXT NOT NULL,
          plate_confidence REAL NOT NULL,
          plate_region TEXT,
          vehicle_type TEXT,
          vehicle_make TEXT,
          vehicle_model TEXT,
          vehicle_color TEXT,
          plate_url TEXT,
          vehicle_url TEXT,
          frame_url TEXT,
          latency_ms REAL,
          quality_score REAL,
          frame_number INTEGER,
          site_id TEXT,
          host_id TEXT,
          roi TEXT,
          direction TEXT,
          created_at INTEGER NOT NULL
        );
        CREATE INDEX idx_events_plate ON plate_events (plate_normalized_text, captured_at);
        CREATE INDEX idx_events_camera ON plate_events (camera_id, captured_at);
        CREATE INDEX idx_events_created ON plate_events (created_at);
        CREATE INDEX idx_events_captured ON plate_events (captured_at);
      `);
    },
  },
  {
    version: 2,
    description: 'distinct plates + deletion keys for indexed partial/fuzzy search; audit log; backfill from existing events',
    up(db) {
      db.exec(`
        CREATE TABLE plates (
          normalized TEXT PRIMARY KEY,
          reversed TEXT NOT NULL,
          events INTEGER NOT NULL,
          last_seen INTEGER NOT NULL
        ) WITHOUT ROWID;
        CREATE INDEX idx_plates_reversed ON plates (reversed);
        CREATE TABLE plate_keys (
          key TEXT NOT NULL,
          plate TEXT NOT NULL,
          PRIMARY KEY (key, plate)
        ) WITHOUT ROWID;
        -- No index on plate_keys(plate): removing a plate recomputes its keys and deletes
        -- them by primary key, which saves one random-key index on every insert.
        CREATE TABLE audit_log (
          id INTEGER PRIMARY KEY,
          at INTEGER NOT NULL,
          actor TEXT NOT NULL,
          action TEXT NOT NULL,
          details TEXT NOT NULL
        );
      `);
      // Backfill from whatever v1 stored. The reversal and keys are JS functions, so the
      // distinct plates are read back and their derived rows written with prepared statements.
      db.exec(`
        INSERT INTO plates (normalized, reversed, events, last_seen)
        SELECT plate_normalized_text, '', COUNT(*), MAX(captured_at) FROM plate_events GROUP BY plate_normalized_text
      `);
      const setReversed = db.prepare('UPDATE plates SET reversed = ? WHERE normalized = ?');
      const addKey = db.prepare('INSERT OR IGNORE INTO plate_keys (key, plate) VALUES (?, ?)');
      const all = db.prepare('SELECT normalized FROM plates').pluck().all() as string[];
      for (const plate of all) {
        setReversed.run(reversePlate(plate), plate);
        for (const key of plateKeys(plate)) addKey.run(key, plate);
      }
    },
  },
  {
    version: 3,
    description: 'event_reviews (operator corrections and review marks); per-character confidences of events',
    up(db) {
      // Its own table, not columns on plate_events: the pipeline's upsert rewrites event rows
      // and must never touch what an operator wrote.
      db.exec(`
        CREATE TABLE event_reviews (
          event_id TEXT PRIMARY KEY,
          corrected_text TEXT,
          corrected_normalized TEXT,
          corrected_by TEXT,
          corrected_at INTEGER,
          reviewed INTEGER NOT NULL DEFAULT 0,
          reviewed_by TEXT,
          reviewed_at INTEGER
        ) WITHOUT ROWID;
        CREATE INDEX idx_reviews_corrected ON event_reviews (corrected_normalized) WHERE corrected_normalized IS NOT NULL;
        ALTER TABLE plate_events ADD COLUMN char_confidences TEXT;
      `);
    },
  },
];

export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

export function schemaVersion(db: Database): number {
  db.exec('CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL)');
  const v = db.prepare('SELECT MAX(version) FROM schema_migrations').pluck().get() as number | null;
  return v ?? 0;
}

/**
 * Applies the steps above the database's version up to `target` (default: all). A database
 * written by newer code is refused rather than guessed at.
 */
export function migrateDatabase(db: Database, target = LATEST_VERSION): number {
  let current = schemaVersion(db);
  if (current > LATEST_VERSION) {
    throw new AlprError('STORAGE_FAILED', `database schema version ${current} is newer than this program supports (${LATEST_VERSION}); upgrade ovr-alpr`);
  }
  const record = db.prepare('INSERT INTO schema_migrations (version, description, applied_at) VALUES (?, ?, ?)');
  for (const step of MIGRATIONS) {
    if (step.version <= current || step.version > target) continue;
    // IMMEDIATE takes the write lock up front, so two processes opening one old file
    // cannot both run a step; the loser re-reads the version after waiting.
    db.transaction(() => {
      if (schemaVersion(db) >= step.version) return;
      step.up(db);
      record.run(step.version, step.description, new Date().toISOString());
    }).immediate();
    current = step.version;
  }
  return schemaVersion(db);
}
