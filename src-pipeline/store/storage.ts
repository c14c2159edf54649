/**
 * The Storage stage: where plate events live. Two implementations (SQLite, the embedded
 * default; PostgreSQL/TimescaleDB for the backend) pass one contract suite
 * (test/store/contract.ts), so everything above this interface works on either.
 */
import type { PlateEvent, StoredEvent } from '../common/plate-event.js';

export interface TimeRange {
  /** ISO-8601, inclusive. */
  start_time?: string;
  /** ISO-8601, exclusive. */
  end_time?: string;
}

export interface PageRequest {
  limit: number;
  offset: number;
}

/** Multi-filter search. `plate` is exact (normalized) or a pattern with `*` and `?`. */
export interface EventFilters extends TimeRange, PageRequest {
  plate?: string;
  camera_id?: string;
  site?: string;
  min_confidence?: number;
  vehicle_type?: string;
  direction?: string;
  /** Only events an operator marked reviewed (true) or not yet (false). */
  reviewed?: boolean;
  /** Order of the results: capture time (default), plate confidence, plate or camera; ties newest captured first. */
  sort?: EventSort;
  /** Default: descending for time and confidence, ascending for plate and camera. */
  order?: 'asc' | 'desc';
}

export type EventSort = 'captured_at' | 'confidence' | 'plate' | 'camera';

/** The ORDER BY of a search in either store; `tie` is the store's insertion-order column. Only fixed column names go in. */
export function searchOrder(f: Pick<EventFilters, 'sort' | 'order'>, tie: string): string {
  const sort = f.sort ?? 'captured_at';
  const col = { captured_at: 'captured_at', confidence: 'plate_confidence', plate: 'plate_normalized_text', camera: 'camera_id' }[sort];
  const dir = (f.order ?? (sort === 'plate' || sort === 'camera' ? 'asc' : 'desc')) === 'asc' ? 'ASC' : 'DESC';
  return sort === 'captured_at' ? `captured_at ${dir}, ${tie} ${dir}` : `${col} ${dir}, captured_at DESC, ${tie} DESC`;
}

/**
 * An operator's change to an event: a corrected plate text (kept beside the read, which stays
 * as it was) and/or the reviewed mark. Absent fields stay as they are; `corrected_text: null`
 * withdraws a correction.
 */
export interface ReviewUpdate {
  corrected_text?: string | null;
  reviewed?: boolean;
  /** Who made the change (the audit identity). */
  actor: string;
  /** When; now unless given (tests). */
  at?: Date;
}

export interface FuzzyMatch {
  plate: string;
  /** 0 identical, 1 OCR look-alikes only (O/0, I/1, B/8, S/5, Z/2…), 2 one edit. */
  rank: 0 | 1 | 2;
  distance: number;
  events: number;
  last_seen: string;
}

export interface Stats {
  total_events: number;
  unique_plates: number;
  active_cameras: number;
  earliest_event: string | null;
  latest_event: string | null;
  avg_confidence: number | null;
  avg_latency_ms: number | null;
}

export interface CountBucket {
  /** Start of the bucket, ISO-8601 UTC. */
  bucket: string;
  camera_id: string;
  count: number;
}

export interface RetentionPolicy {
  /** Delete events captured more than this many days ago. */
  max_age_days?: number;
  /** Keep at most this many events (oldest captured go first). */
  max_events?: number;
}

export interface RetentionResult {
  deleted: number;
  /** Image URLs of the deleted events, for the image store to remove. */
  image_urls: string[];
}

export interface AuditEntry {
  at: string;
  actor: string;
  action: string;
  details: Record<string, unknown>;
}

export interface Storage {
  readonly kind: 'sqlite' | 'postgres';
  /** Creates or upgrades the schema; returns the schema version now in place. */
  migrate(): Promise<number>;
  /** True when stored, false when an event with this event_id already exists. */
  insert(event: PlateEvent): Promise<boolean>;
  /**
   * Stores the event, or replaces the stored event with the same event_id (a later, better read
   * of the same plate): every field the event carries (plate, confidence, images, extras,
   * captured_at…) is taken from `event`; created_at and the insertion order (recent()) stay
   * those of the original. Derived plate indexes follow the new plate and capture time.
   */
  upsert(event: PlateEvent): Promise<'inserted' | 'updated'>;
  /** Stores a batch in one transaction; returns how many were new. */
  insertMany(events: readonly PlateEvent[]): Promise<number>;
  get(eventId: string): Promise<StoredEvent | null>;
  /**
   * Saves an operator's correction or review mark; returns the event as now stored (with its
   * `review`), or null when no event has that id. A corrected plate is found by plate searches
   * as well as the original read.
   */
  review(eventId: string, update: ReviewUpdate): Promise<StoredEvent | null>;
  /** Newest first by insertion time. */
  recent(page: PageRequest): Promise<StoredEvent[]>;
  /** Exact normalized plate, newest captured first. */
  byPlate(plate: string, page: PageRequest): Promise<StoredEvent[]>;
  byCamera(cameraId: string, range: TimeRange, page: PageRequest): Promise<StoredEvent[]>;
  search(filters: EventFilters): Promise<StoredEvent[]>;
  /** Distinct plates close to `plate` (look-alikes or one edit), best first. */
  fuzzyPlates(plate: string, limit: number): Promise<FuzzyMatch[]>;
  stats(): Promise<Stats>;
  /** Events per camera per hour (or day) in a range, for charts. */
  counts(range: TimeRange, bucket: 'hour' | 'day'): Promise<CountBucket[]>;
  applyRetention(policy: RetentionPolicy, now?: Date): Promise<RetentionResult>;
  audit(entry: Omit<AuditEntry, 'at'>): Promise<void>;
  auditLog(page: PageRequest): Promise<AuditEntry[]>;
  /** Cheap liveness check for /health. */
  ping(): Promise<boolean>;
  close(): Promise<void>;
}
