/**
 * The plate event: the one record every stage after recognition passes on (store, bus,
 * alerts, API, UI). Shape from the service overview; extend with care, since Kafka consumers
 * and stored rows depend on it.
 */
import { z } from 'zod';

const nullableString = (max = 256) => z.string().max(max).nullable().default(null);

/**
 * What `extras.direction` holds when the pipeline sets it: in/out across a camera's reference
 * line, otherwise the dominant motion in the picture (pipeline/direction.ts). Other producers
 * may write other words; the contract keeps the field free text.
 */
export const TRAVEL_DIRECTIONS = ['in', 'out', 'approaching', 'receding', 'left', 'right', 'up', 'down', 'stationary'] as const;
export type TravelDirection = (typeof TRAVEL_DIRECTIONS)[number];

export const PlateEvent = z.object({
  event_id: z.uuid(),
  captured_at: z.iso.datetime({ offset: true }),
  camera_id: z.string().min(1).max(128),
  /** Tracker id of the vehicle within its camera; numbers from older producers become strings. */
  track_id: z
    .union([z.string().max(128), z.number().int()])
    .nullable()
    .default(null)
    .transform((v) => (v === null ? null : String(v))),
  plate: z.object({
    text: z.string().min(1).max(32),
    normalized_text: z.string().regex(/^[A-Z0-9]{1,16}$/, 'upper-case letters and digits only'),
    confidence: z.number().min(0).max(1),
    region: nullableString(32),
  }),
  vehicle: z.object({ type: nullableString(32), make: nullableString(64), model: nullableString(64), color: nullableString(32) }).prefault({}),
  images: z.object({ plate_url: nullableString(2048), vehicle_url: nullableString(2048), frame_url: nullableString(2048) }).prefault({}),
  latency_ms: z.number().min(0).nullable().default(null),
  node: z.object({ site: nullableString(128), host: nullableString(128) }).prefault({}),
  extras: z
    .object({
      roi: nullableString(128),
      direction: nullableString(32),
      quality_score: z.number().min(0).max(1).nullable().default(null),
      frame_number: z.number().int().min(0).nullable().default(null),
      /** Confidence of each character of plate.normalized_text (from the multi-frame vote), for the operator's event page. */
      char_confidences: z.array(z.number().min(0).max(1)).max(16).nullable().default(null),
    })
    .prefault({}),
});

export type PlateEvent = z.infer<typeof PlateEvent>;
export type PlateEventInput = z.input<typeof PlateEvent>;

/**
 * A stored event: the event plus when the store received it. With the privacy switch on, a
 * plate that matches no hotlist comes back as its keyed hash (`#` + 64 hex digits).
 */
/**
 * An operator's review of a stored event: a corrected plate (beside the original read, which
 * is never overwritten) and whether the event was checked, each with who and when.
 */
export const EventReview = z.object({
  corrected_text: z.string().max(80).nullable(),
  corrected_normalized: z.string().max(80).nullable(),
  corrected_by: z.string().max(128).nullable(),
  corrected_at: z.iso.datetime({ offset: true }).nullable(),
  reviewed: z.boolean(),
  reviewed_by: z.string().max(128).nullable(),
  reviewed_at: z.iso.datetime({ offset: true }).nullable(),
});
export type EventReview = z.infer<typeof EventReview>;

export const StoredEvent = PlateEvent.extend({
  plate: PlateEvent.shape.plate.extend({
    text: z.string().min(1).max(80),
    normalized_text: z.string().regex(/^([A-Z0-9]{1,16}|#[0-9a-f]{64})$/, 'upper-case letters and digits, or a privacy hash'),
  }),
  created_at: z.iso.datetime({ offset: true }),
  /** Present once an operator corrected or reviewed the event. */
  review: EventReview.optional(),
});
export type StoredEvent = z.infer<typeof StoredEvent>;
