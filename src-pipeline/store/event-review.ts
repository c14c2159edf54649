/** Operator reviews (corrections, review marks): the part both stores do the same way. */
import { AlprError } from '../common/errors.js';
import type { EventReview, StoredEvent } from '../common/plate-event.js';
import { normalizePlate } from '../common/plate-text.js';
import type { PlatePrivacy, StoredPlate } from './privacy.js';

/** An event_reviews row as a driver returns it; `T` is the driver's time type. */
export interface ReviewRow<T> {
  event_id: string;
  corrected_text: string | null;
  corrected_normalized: string | null;
  corrected_by: string | null;
  corrected_at: T | null;
  reviewed: boolean | number;
  reviewed_by: string | null;
  reviewed_at: T | null;
}

export function rowToReview<T>(r: ReviewRow<T>, iso: (t: T) => string): EventReview {
  return {
    corrected_text: r.corrected_text,
    corrected_normalized: r.corrected_normalized,
    corrected_by: r.corrected_by,
    corrected_at: r.corrected_at === null ? null : iso(r.corrected_at),
    reviewed: r.reviewed === true || r.reviewed === 1,
    reviewed_by: r.reviewed_by,
    reviewed_at: r.reviewed_at === null ? null : iso(r.reviewed_at),
  };
}

/**
 * A corrected plate as it is stored. It is a plate like any other, so the privacy switch
 * hashes it the same way (an exact search for it still finds the event).
 */
export function correctedPlate(text: string, privacy: PlatePrivacy | null): StoredPlate {
  const trimmed = text.trim();
  const normalized = normalizePlate(trimmed);
  if (normalized.length < 1 || normalized.length > 16 || trimmed.length > 32) {
    throw new AlprError('USAGE', 'corrected_text must hold 1 to 16 letters or digits (at most 32 characters)', { details: { field: 'corrected_text' } });
  }
  return privacy ? privacy.stored(trimmed, normalized) : { text: trimmed, normalized };
}

/** The events with their reviews attached (events without one are returned as they are). */
export function withReviews(events: StoredEvent[], reviews: ReadonlyMap<string, EventReview>): StoredEvent[] {
  if (reviews.size === 0) return events;
  return events.map((e) => {
    const r = reviews.get(e.event_id);
    return r ? { ...e, review: r } : e;
  });
}
