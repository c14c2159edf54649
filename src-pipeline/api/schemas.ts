/**
 * Zod schemas for every request and response of the query API. The same objects validate
 * requests (fastify-type-provider-zod's validator) and generate the OpenAPI document at
 * /docs/json, so the docs cannot drift from what the server accepts.
 *
 * Query strings arrive as text: numbers are coerced, and every rule carries a message that
 * names the reason, because the 400 envelope quotes it to the caller next to the field.
 */
import { z } from 'zod';
import { StoredEvent } from '../common/plate-event.js';
import { parsePlateQuery, PlateQueryError } from '../common/plate-search.js';

/** Hard caps: a single request may not ask the store for more than this. */
export const LIMITS = {
  list: 1000,
  fuzzy: 100,
  audit: 1000,
  csv: 100_000,
  /** Deep offsets are linear scans in both stores; past this, narrow the time range instead. */
  offset: 1_000_000,
} as const;

/** `limit`: positive integer, defaulted, silently capped at `max` (the response reports the limit used). */
export const limitParam = (def: number, max: number) =>
  z.coerce
    .number({ error: 'must be a positive integer' })
    .int({ error: 'must be a positive integer' })
    .min(1, { error: 'must be a positive integer' })
    .default(def)
    .transform((n) => Math.min(n, max))
    .describe(`page size; default ${def}, capped at ${max}`);

export const offsetParam = z.coerce
  .number({ error: 'must be a non-negative integer' })
  .int({ error: 'must be a non-negative integer' })
  .min(0, { error: 'must be a non-negative integer' })
  .max(LIMITS.offset, { error: `must be at most ${LIMITS.offset}; narrow the time range instead` })
  .default(0)
  .describe('rows to skip');

/** ISO-8601 with a zone (Z or ±hh:mm), normalised to UTC so both stores compare like with like. */
const isoTime = (what: string) =>
  z.iso
    .datetime({ offset: true, error: 'must be an ISO-8601 date-time with a zone, e.g. 2024-05-01T12:00:00Z' })
    .transform((s) => new Date(s).toISOString())
    .optional()
    .describe(what);

const timeRangeShape = {
  start_time: isoTime('captured at or after this time (inclusive)'),
  end_time: isoTime('captured before this time (exclusive)'),
};

/** Rejects ranges that cannot match anything, naming end_time as the field at fault. */
const orderedRange = <T extends { start_time?: string; end_time?: string }>(v: T, ctx: z.RefinementCtx) => {
  if (v.start_time && v.end_time && v.end_time <= v.start_time) {
    ctx.addIssue({ code: 'custom', path: ['end_time'], message: 'must be after start_time' });
  }
};

/**
 * Operator plate input: exact or a pattern (`AB*12`, `*123`, `?`). Normalised here (spaces,
 * dashes dropped, upper-cased) so the store gets `ABC123` or `AB*12`.
 */
export const plateQueryParam = z
  .string()
  .transform((s, ctx) => {
    try {
      const q = parsePlateQuery(s);
      return q.kind === 'exact' ? q.plate : q.pattern;
    } catch (err) {
      if (!(err instanceof PlateQueryError)) throw err;
      ctx.addIssue({ code: 'custom', message: err.message });
      return z.NEVER;
    }
  })
  .describe('plate, exact or a pattern: * any run of characters, ? exactly one');

const text = (max: number, what: string) =>
  z
    .string()
    .min(1, { error: 'must not be empty' })
    .max(max, { error: `must be at most ${max} characters` })
    .describe(what);

// ---- Requests ----------------------------------------------------------------------------

export const RecentQuery = z.object({ limit: limitParam(10, LIMITS.list) });

export const EventIdParams = z.object({ event_id: z.uuid({ error: 'must be a UUID' }).describe('event id') });

export const PlateParams = z.object({ plate: plateQueryParam });
export const PageQuery = z.object({ limit: limitParam(50, LIMITS.list), offset: offsetParam });

export const CameraParams = z.object({ camera_id: text(128, 'camera id') });
export const CameraQuery = z.object({ ...timeRangeShape, limit: limitParam(50, LIMITS.list), offset: offsetParam }).superRefine(orderedRange);

const searchShape = {
  plate: plateQueryParam.optional(),
  camera: text(128, 'camera id').optional(),
  site: text(128, 'site id').optional(),
  ...timeRangeShape,
  min_confidence: z.coerce
    .number({ error: 'must be a number from 0 to 1' })
    .min(0, { error: 'must be a number from 0 to 1' })
    .max(1, { error: 'must be a number from 0 to 1' })
    .optional()
    .describe('plate confidence at least this'),
  vehicle_type: text(32, 'vehicle type, e.g. car, truck').optional(),
  direction: text(32, 'direction of travel').optional(),
  reviewed: z
    .enum(['true', 'false'], { error: 'must be "true" or "false"' })
    .transform((v) => v === 'true')
    .optional()
    .describe('only events an operator marked reviewed (true) or not yet (false)'),
  sort: z
    .enum(['captured_at', 'confidence', 'plate', 'camera'], { error: 'must be captured_at, confidence, plate or camera' })
    .optional()
    .describe('result order; default captured_at (newest first)'),
  order: z
    .enum(['asc', 'desc'], { error: 'must be "asc" or "desc"' })
    .optional()
    .describe('default desc for captured_at and confidence, asc for plate and camera'),
};

export const SearchQuery = z.object({ ...searchShape, limit: limitParam(50, LIMITS.list), offset: offsetParam }).superRefine(orderedRange);
export const CsvQuery = z.object({ ...searchShape, limit: limitParam(LIMITS.csv, LIMITS.csv), offset: offsetParam }).superRefine(orderedRange);

export const FuzzyQuery = z.object({
  plate: z
    .string()
    .transform((s) => s.toUpperCase().replace(/[^A-Z0-9]/g, ''))
    .pipe(z.string().min(2, { error: 'needs at least 2 letters or digits' }).max(16, { error: 'must be at most 16 letters or digits' }))
    .describe('plate as read; look-alikes (O/0, I/1, B/8, S/5, Z/2) and one edit match'),
  limit: limitParam(20, LIMITS.fuzzy),
});

export const CountsQuery = z
  .object({ ...timeRangeShape, bucket: z.enum(['hour', 'day'], { error: 'must be "hour" or "day"' }).default('hour').describe('bucket width') })
  .superRefine(orderedRange);

/** PATCH /events/:event_id: an operator's correction and/or review mark. */
export const ReviewBody = z
  .object({
    corrected_text: z
      .string()
      .max(32, { error: 'must be at most 32 characters' })
      .refine((s) => /^[A-Za-z0-9][A-Za-z0-9 -]*$/.test(s.trim()) && s.replace(/[^A-Za-z0-9]/g, '').length <= 16, {
        error: 'must be 1 to 16 letters or digits (spaces and dashes allowed between them)',
      })
      .nullable()
      .optional()
      .describe('the plate as it really reads; null withdraws a correction; the original read is kept'),
    reviewed: z.boolean({ error: 'must be true or false' }).optional().describe('mark the event as checked by an operator'),
    operator: z.string().trim().min(1).max(64, { error: 'must be at most 64 characters' }).optional().describe('who makes the change (shown and audited)'),
  })
  .refine((b) => b.corrected_text !== undefined || b.reviewed !== undefined, { error: 'give corrected_text and/or reviewed', path: ['corrected_text'] });

export const AuditQuery = z.object({ limit: limitParam(50, LIMITS.audit), offset: offsetParam });

// ---- Responses (documented; validated in tests with `validateResponses`) ------------------

/** The stored event as sent: track_id is already a string here (the input transform ran at insert). */
export const EventOut = StoredEvent.extend({ track_id: z.string().nullable() });

export const EventList = z.object({ events: z.array(EventOut), count: z.number().int(), limit: z.number().int(), offset: z.number().int() });

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string(), retriable: z.boolean(), field: z.string().optional() }),
});

export const RootOut = z.object({
  service: z.string(),
  version: z.string(),
  storage: z.string(),
  links: z.record(z.string(), z.string()),
});

const HealthComponent = z.object({
  status: z.enum(['ok', 'down', 'not_configured']),
  /** A required component that is down makes /health answer 503. */
  required: z.boolean(),
  latency_ms: z.number().nullable(),
  /** Why it is down (never carries credentials). */
  error: z.string().nullable(),
  /** What was checked: host:port, URL without credentials, bucket. */
  target: z.string().nullable(),
  checked_at: z.string().nullable(),
});

export const HealthOut = z.object({
  status: z.enum(['ok', 'degraded']),
  database: z.enum(['ok', 'down']),
  storage: z.string(),
  version: z.string(),
  uptime_s: z.number(),
  live_clients: z.number().int(),
  components: z
    .object({ database: HealthComponent, kafka: HealthComponent, schema_registry: HealthComponent, s3: HealthComponent })
    .describe('Per-component status; results are cached for a couple of seconds'),
  /** The edge's S3 upload queue (absent when this server uploads nothing). */
  image_uploads: z
    .object({
      pending: z.number().int(),
      pending_bytes: z.number().int(),
      failed_attempts: z.number().int(),
      retrying: z.boolean(),
      over_cap: z.boolean(),
      last_error: z.string().nullable(),
    })
    .optional(),
});

export const StatsOut = z.object({
  total_events: z.number().int(),
  unique_plates: z.number().int(),
  active_cameras: z.number().int(),
  earliest_event: z.string().nullable(),
  latest_event: z.string().nullable(),
  avg_confidence: z.number().nullable(),
  avg_latency_ms: z.number().nullable(),
});

export const FuzzyOut = z.object({
  plate: z.string(),
  matches: z.array(z.object({ plate: z.string(), rank: z.number().int(), distance: z.number().int(), events: z.number().int(), last_seen: z.string() })),
});

export const CountsOut = z.object({
  bucket: z.enum(['hour', 'day']),
  start_time: z.string().nullable(),
  end_time: z.string().nullable(),
  counts: z.array(z.object({ bucket: z.string(), camera_id: z.string(), count: z.number().int() })),
});

export const AuditOut = z.object({
  entries: z.array(z.object({ at: z.string(), actor: z.string(), action: z.string(), details: z.record(z.string(), z.unknown()) })),
  limit: z.number().int(),
  offset: z.number().int(),
});

/** Error responses every route may give, for the OpenAPI doc. */
export const errorResponses = { 400: ErrorBody, 401: ErrorBody, 500: ErrorBody } as const;

/** One camera of the pipeline this server supervises (`ovr-alpr serve`). */
export const CameraOut = z.object({
  id: z.string(),
  state: z.enum(['starting', 'running', 'restarting', 'finished', 'failed', 'stopped']),
  source_state: z.string().nullable(),
  restarts: z.number().int(),
  last_error: z.string().nullable(),
  frames: z.number().int(),
  fps_in: z.number(),
  fps_out: z.number(),
  dropped: z.number().int(),
  decode_errors: z.number().int(),
  reconnects: z.number().int(),
  tracks: z.number().int(),
  events: z.number().int(),
  width: z.number().int().nullable(),
  height: z.number().int().nullable(),
  /** Median milliseconds per pipeline stage (decode, detect, ocr, …) over recent frames. */
  stage_ms: z.record(z.string(), z.number()).optional(),
  /** Frames decoded and waiting for the pipeline. */
  queue_depth: z.number().int().optional(),
});
export type CameraOut = z.infer<typeof CameraOut>;
export const CamerasOut = z.object({ pipeline: z.boolean(), cameras: z.array(CameraOut) });
