/**
 * The Avro form of the PlateEvent contract (src-pipeline/common/plate-event.ts) for Kafka topic
 * `alpr.plates.detected`, registered under subject `alpr.plates.detected-value` (Confluent's
 * TopicNameStrategy) with BACKWARD compatibility.
 *
 * Schema decisions:
 * - One record per zod object (`PlateEvent` with nested `PlateRead`, `VehicleInfo`, `ImageUrls`,
 *   `NodeInfo`, `Extras`), namespace `io.ovralpr.events`; field names are the contract's.
 * - Every nullable field is the union `["null", T]` with default `null` (null first: an Avro
 *   union default must match the first branch), and the four optional sub-records default to
 *   all-null. A field added later must follow the same pattern, so a reader with the new schema
 *   can still decode messages written with the old one (BACKWARD).
 * - `captured_at` stays an ISO-8601 string with offset, verbatim. `timestamp-millis` would drop
 *   the offset and any digits below the millisecond, so events would not round-trip exactly and
 *   the key `(event_id, captured_at)` could change on the way through Kafka. Consumers parse it.
 * - `event_id` is a string with the standard `uuid` logical type (documentation only in avsc).
 * - `track_id` is a nullable string (the contract turns numbers from old producers into strings);
 *   `frame_number` a nullable long (the contract allows any safe integer; see safeLongType); the other numbers
 *   are doubles, which round-trip JS numbers bit for bit.
 * - Avro strings are UTF-8, so a string holding a lone UTF-16 surrogate cannot round-trip:
 *   `toAvro` refuses such an event (EVENT_INVALID) instead of silently altering it.
 */
import avro from 'avsc';
import { AlprError } from '../common/errors.js';
import { PlateEvent, type PlateEventInput } from '../common/plate-event.js';

export const PLATE_EVENTS_TOPIC = 'alpr.plates.detected';
/** Subject under Confluent's default TopicNameStrategy. */
export const PLATE_EVENT_SUBJECT = `${PLATE_EVENTS_TOPIC}-value`;
export const PLATE_EVENT_NAMESPACE = 'io.ovralpr.events';

const nullable = (name: string, type: string | Record<string, unknown>, doc?: string) => ({
  name,
  type: ['null', type],
  default: null,
  ...(doc ? { doc } : {}),
});

/** The schema as plain JSON (what goes to the registry). */
export const PLATE_EVENT_AVRO_SCHEMA = {
  type: 'record',
  name: 'PlateEvent',
  namespace: PLATE_EVENT_NAMESPACE,
  doc: 'A licence-plate read, published by an OVR-ALPR edge node. Add fields only as nullable unions with default null.',
  fields: [
    { name: 'event_id', type: { type: 'string', logicalType: 'uuid' } },
    { name: 'captured_at', type: 'string', doc: 'ISO-8601 date-time with offset, verbatim (not timestamp-millis, to keep offset and precision).' },
    { name: 'camera_id', type: 'string' },
    nullable('track_id', 'string', 'Tracker id of the vehicle within its camera.'),
    {
      name: 'plate',
      type: {
        type: 'record',
        name: 'PlateRead',
        fields: [
          { name: 'text', type: 'string' },
          { name: 'normalized_text', type: 'string' },
          { name: 'confidence', type: 'double' },
          nullable('region', 'string'),
        ],
      },
    },
    {
      name: 'vehicle',
      type: {
        type: 'record',
        name: 'VehicleInfo',
        fields: [nullable('type', 'string'), nullable('make', 'string'), nullable('model', 'string'), nullable('color', 'string')],
      },
      default: { type: null, make: null, model: null, color: null },
    },
    {
      name: 'images',
      type: {
        type: 'record',
        name: 'ImageUrls',
        fields: [nullable('plate_url', 'string'), nullable('vehicle_url', 'string'), nullable('frame_url', 'string')],
      },
      default: { plate_url: null, vehicle_url: null, frame_url: null },
    },
    nullable('latency_ms', 'double'),
    {
      name: 'node',
      type: { type: 'record', name: 'NodeInfo', fields: [nullable('site', 'string'), nullable('host', 'string')] },
      default: { site: null, host: null },
    },
    {
      name: 'extras',
      type: {
        type: 'record',
        name: 'Extras',
        fields: [
          nullable('roi', 'string'),
          nullable('direction', 'string'),
          nullable('quality_score', 'double'),
          nullable('frame_number', 'long'),
          // Added after the first release: a nullable union with default null keeps it BACKWARD compatible.
          nullable('char_confidences', { type: 'array', items: 'double' }, 'Confidence of each character of plate.normalized_text.'),
        ],
      },
      default: { roi: null, direction: null, quality_score: null, frame_number: null, char_confidences: null },
    },
  ],
} as const;

/**
 * avsc's built-in `long` stops at ±2^52; the contract allows any safe integer (±(2^53 - 1)).
 * This `long` reads and writes all 64 bits through BigInt and hands out numbers: values a Java
 * producer might write beyond the safe range come out imprecise, and the zod `int()` check on
 * decode then rejects them instead of passing a wrong frame number on.
 */
const safeLongType = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => Number(buf.readBigInt64LE(0)),
  toBuffer: (n: number) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(n), 0);
    return buf;
  },
  fromJSON: (v: unknown) => Number(v),
  toJSON: (n: number) => n,
  isValid: (n: unknown) => typeof n === 'number' && Number.isSafeInteger(n),
  compare: (a: number, b: number) => (a === b ? 0 : a < b ? -1 : 1),
});

/**
 * Builds an avsc type from a schema (object or JSON text) the way every bus type is built
 * (writer schemas from the registry too): unwrapped unions, the safe-integer `long`. The
 * options object is fresh per call: avsc keeps its name registry in it, and a shared one
 * would make a second schema with the same record names a "duplicate type name".
 */
export function avroType(schema: avro.Schema | string): avro.Type {
  const parsed: avro.Schema = typeof schema === 'string' ? (JSON.parse(schema) as avro.Schema) : schema;
  return avro.Type.forSchema(parsed, { wrapUnions: false, registry: { long: safeLongType } });
}

/** The reader (and writer) type of this build. */
export const plateEventAvroType: avro.Type = avroType(PLATE_EVENT_AVRO_SCHEMA as unknown as avro.Schema);

/** The canonical JSON text of our schema, as registered. */
export const PLATE_EVENT_AVRO_SCHEMA_TEXT = JSON.stringify(PLATE_EVENT_AVRO_SCHEMA);

/** The Avro-shaped value of an event (plain objects, nulls for absent values). */
export interface PlateEventAvro {
  event_id: string;
  captured_at: string;
  camera_id: string;
  track_id: string | null;
  plate: { text: string; normalized_text: string; confidence: number; region: string | null };
  vehicle: { type: string | null; make: string | null; model: string | null; color: string | null };
  images: { plate_url: string | null; vehicle_url: string | null; frame_url: string | null };
  latency_ms: number | null;
  node: { site: string | null; host: string | null };
  extras: { roi: string | null; direction: string | null; quality_score: number | null; frame_number: number | null; char_confidences: number[] | null };
}

// With the `u` flag, a surrogate pair is one code point, so this matches only lone surrogates.
const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

function checkStrings(value: unknown, path: string): void {
  if (typeof value === 'string') {
    if (LONE_SURROGATE.test(value)) {
      throw new AlprError('EVENT_INVALID', `plate event field ${path} holds a lone UTF-16 surrogate, which Avro (UTF-8) cannot carry`);
    }
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) checkStrings(v, path ? `${path}.${k}` : k);
  }
}

/**
 * Maps a validated event to its Avro value. Validates first (an invalid event is EVENT_INVALID,
 * never written), so what is published always decodes.
 */
export function toAvro(input: PlateEventInput): PlateEventAvro {
  const parsed = PlateEvent.safeParse(input);
  if (!parsed.success) {
    throw new AlprError('EVENT_INVALID', `plate event does not match the contract: ${describeZodError(parsed.error)}`);
  }
  const e = parsed.data;
  checkStrings(e, '');
  return {
    event_id: e.event_id,
    captured_at: e.captured_at,
    camera_id: e.camera_id,
    track_id: e.track_id,
    plate: { text: e.plate.text, normalized_text: e.plate.normalized_text, confidence: e.plate.confidence, region: e.plate.region },
    vehicle: { type: e.vehicle.type, make: e.vehicle.make, model: e.vehicle.model, color: e.vehicle.color },
    images: { plate_url: e.images.plate_url, vehicle_url: e.images.vehicle_url, frame_url: e.images.frame_url },
    latency_ms: e.latency_ms,
    node: { site: e.node.site, host: e.node.host },
    extras: {
      roi: e.extras.roi,
      direction: e.extras.direction,
      quality_score: e.extras.quality_score,
      frame_number: e.extras.frame_number,
      char_confidences: e.extras.char_confidences,
    },
  };
}

export type FromAvroResult = { ok: true; event: PlateEvent } | { ok: false; reason: string };

/**
 * Maps a decoded Avro value (from our reader type, so every field is present) back to an event
 * and re-validates it against the zod contract: a record that Avro accepts but the contract does
 * not (too long, bad uuid, lower-case normalized text) is rejected with a reason.
 */
export function fromAvro(value: unknown): FromAvroResult {
  if (value === null || typeof value !== 'object') return { ok: false, reason: 'decoded Avro value is not a record' };
  const v = value as PlateEventAvro;
  const plain = {
    event_id: v.event_id,
    captured_at: v.captured_at,
    camera_id: v.camera_id,
    track_id: v.track_id,
    plate: v.plate && { text: v.plate.text, normalized_text: v.plate.normalized_text, confidence: v.plate.confidence, region: v.plate.region },
    vehicle: v.vehicle && { type: v.vehicle.type, make: v.vehicle.make, model: v.vehicle.model, color: v.vehicle.color },
    images: v.images && { plate_url: v.images.plate_url, vehicle_url: v.images.vehicle_url, frame_url: v.images.frame_url },
    latency_ms: v.latency_ms,
    node: v.node && { site: v.node.site, host: v.node.host },
    extras: v.extras && {
      roi: v.extras.roi,
      direction: v.extras.direction,
      quality_score: v.extras.quality_score,
      frame_number: v.extras.frame_number,
      // Absent in events written with the first schema version (the reader's default fills null).
      char_confidences: v.extras.char_confidences ?? null,
    },
  };
  const parsed = PlateEvent.safeParse(plain);
  if (!parsed.success) return { ok: false, reason: `event violates the PlateEvent contract: ${describeZodError(parsed.error)}` };
  return { ok: true, event: parsed.data };
}

/** A one-line summary of zod issues: `path: message; …` (first five). */
export function describeZodError(err: { issues: ReadonlyArray<{ path: ReadonlyArray<PropertyKey>; message: string }> }): string {
  const parts = err.issues.slice(0, 5).map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`);
  if (err.issues.length > 5) parts.push(`… ${err.issues.length - 5} more`);
  return parts.join('; ');
}
