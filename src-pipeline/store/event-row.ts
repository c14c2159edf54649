/** How a plate event becomes a plate_events row: the part both stores write the same way. */
import type { PlateEvent } from '../common/plate-event.js';
import type { PlatePrivacy, StoredPlate } from './privacy.js';

export type ColumnValue = string | number | null;

/** The plate as it is stored: clear, or its keyed hash when the privacy switch applies. */
export function storedPlate(e: PlateEvent, privacy: PlatePrivacy | null): StoredPlate {
  return privacy ? privacy.stored(e.plate.text, e.plate.normalized_text) : { text: e.plate.text, normalized: e.plate.normalized_text };
}

/**
 * Values of the plate_events columns from camera_id to direction, in schema order. Each store
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
  ];
}
