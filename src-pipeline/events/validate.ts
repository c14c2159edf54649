/**
 * Validation of a track's consensus read before it may become an event: normalised text,
 * length bounds from config/events.yaml, the regional format's rules (length, words that are
 * not plates, optional digit) and the minimum consensus confidence. Every rejection names its
 * reason so the processor can count them.
 */
import type { EventsConfig } from '../common/events-config.js';
import { guessRegion, judgePlate, normalizePlate, PLATE_FORMATS, type PlateFormatId, type RejectReason } from '../common/plate-text.js';

export type ValidationReason =
  | 'empty'
  | 'too_short'
  | 'too_long'
  /** Length allowed by config but not by the regional format (e.g. 9 characters for `us`). */
  | 'bad_format'
  | 'not_a_plate_word'
  | 'no_digit'
  | 'low_confidence';

export type ValidationResult = { ok: true; normalized: string; region: string } | { ok: false; normalized: string; reason: ValidationReason };

export type ValidationOptions = Pick<EventsConfig, 'min_confidence' | 'min_length' | 'max_length' | 'plate_format' | 'require_digit'>;

export function validatePlate(text: string, confidence: number, cfg: ValidationOptions): ValidationResult {
  const normalized = normalizePlate(text);
  if (!normalized) return { ok: false, normalized, reason: 'empty' };
  // Configured bounds first: they are what operators tune, so their reasons are reported as is.
  if (normalized.length < cfg.min_length) return { ok: false, normalized, reason: 'too_short' };
  if (normalized.length > cfg.max_length) return { ok: false, normalized, reason: 'too_long' };
  const format = PLATE_FORMATS[cfg.plate_format];
  const verdict = judgePlate(normalized, confidence, format, cfg.min_confidence, { requireDigit: cfg.require_digit });
  if (!verdict.ok) return { ok: false, normalized, reason: fromJudge(verdict.reason) };
  return { ok: true, normalized, region: guessRegion(normalized, cfg.plate_format as PlateFormatId) };
}

function fromJudge(reason: RejectReason | undefined): ValidationReason {
  switch (reason) {
    case 'too_short':
    case 'too_long':
      return 'bad_format';
    case 'empty':
    case 'not_a_plate_word':
    case 'no_digit':
    case 'low_confidence':
      return reason;
    default:
      return 'bad_format';
  }
}
