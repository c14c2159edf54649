/** How a plate event becomes a plate_events row: the part both stores write the same way. */
import type { PlateEvent, StoredEvent } from '../common/plate-event.js';
import type { PlatePrivacy, StoredPlate } from './privacy.js';

export type ColumnValue = string | number | null;

/** The plate as it is stored: clear, or its keyed hash when the privacy switch applies. */
export function storedPlate(e: PlateEvent, privacy: PlatePrivacy | null): StoredPlate {
  return privacy ? privacy.stored(e.plate.text, e.plate.normalized_text) : { text: e.plate.text, normalized: e.plate.normalized_text };
}

/**
 * Values of the plate_events columns from camera_id to char_confidences, in schema order. Each store
 * adds its own leading (event_id, captured_at in its time encoding) and trailing columns.
 */
export function eventColumnValues(e: PlateEvent, plate: StoredPlate): ColumnValue[] {
  return [
    e.camera_id,
    e.track_id,
    plate.text,
    plate.normalized,
    e.plate.confidence,
    e.plate.region,
    e.vehicle.type,
    e.vehicle.make,
    e.vehicle.model,
    e.vehicle.color,
    e.images.plate_url,
    e.images.vehicle_url,
    e.images.frame_url,
    e.latency_ms,
    e.extras.quality_score,
    e.extras.frame_number,
    e.node.site,
    e.node.host,
    e.extras.roi,
    e.extras.direction,
    // JSON text in both stores: read back whole, never queried by element.
    e.extras.char_confidences ? JSON.stringify(e.extras.char_confidences) : null,
  ];
}

/**
 * A plate_events row as a driver returns it. `T` is the driver's time type (SQLite: epoch ms,
 * pg: Date) and `F` its integer type for frame_number (pg returns int8 as a string).
 */
export interface EventRow<T, F = number> {
  event_id: string;
  captured_at: T;
  camera_id: string;
  track_id: string | null;
  plate_text: string;
  plate_normalized_text: string;
  plate_confidence: number;
  plate_region: string | null;
  vehicle_type: string | null;
  vehicle_make: string | null;
  vehicle_model: string | null;
  vehicle_color: string | null;
  plate_url: string | null;
  vehicle_url: string | null;
  frame_url: string | null;
  latency_ms: number | null;
  quality_score: number | null;
  frame_number: F | null;
  site_id: string | null;
  host_id: string | null;
  roi: string | null;
  direction: string | null;
  char_confidences: string | null;
  created_at: T;
}

/** The stored event a row holds; `iso` turns the driver's time type into ISO-8601 UTC. */
export function rowToEvent<T, F>(r: EventRow<T, F>, iso: (t: T) => string): StoredEvent {
  return {
    event_id: r.event_id,
    captured_at: iso(r.captured_at),
    camera_id: r.camera_id,
    track_id: r.track_id,
    plate: { text: r.plate_text, normalized_text: r.plate_normalized_text, confidence: r.plate_confidence, region: r.plate_region },
    vehicle: { type: r.vehicle_type, make: r.vehicle_make, model: r.vehicle_model, color: r.vehicle_color },
    images: { plate_url: r.plate_url, vehicle_url: r.vehicle_url, frame_url: r.frame_url },
    latency_ms: r.latency_ms,
    node: { site: r.site_id, host: r.host_id },
    extras: {
      roi: r.roi,
      direction: r.direction,
      quality_score: r.quality_score,
      frame_number: r.frame_number === null ? null : Number(r.frame_number),
      char_confidences: r.char_confidences === null ? null : (JSON.parse(r.char_confidences) as number[]),
    },
    created_at: iso(r.created_at),
  };
}
