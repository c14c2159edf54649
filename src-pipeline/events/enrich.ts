/**
 * Builds the PlateEvent of a finished track and checks it against the zod contract, so a bad
 * event fails here, with the track at hand, rather than in the store or a Kafka consumer. The
 * id source is injected so tests get stable ids; the pipeline passes node:crypto's randomUUID.
 */
import { AlprError } from '../common/errors.js';
import { PlateEvent, type PlateEventInput } from '../common/plate-event.js';

export interface EnrichInput {
  cameraId: string;
  trackId: string | number | null;
  /** Consensus text as read and its normalised form. */
  text: string;
  normalized: string;
  confidence: number;
  region: string | null;
  /** Capture time of the best shot (epoch ms). */
  capturedAtMs: number;
  /** When the event is emitted (epoch ms); latency_ms is emit minus capture. */
  emittedAtMs: number;
  qualityScore: number | null;
  frameNumber: number | null;
  /** Per-character confidences of `text` (the vote's); kept when they line up with `normalized`. */
  charConfidences?: readonly number[] | null;
  direction?: string | null;
  vehicleType?: string | null;
  roi?: string | null;
  images?: { plate_url?: string | null; vehicle_url?: string | null; frame_url?: string | null };
  site?: string | null;
  host?: string | null;
}

export interface EnrichDeps {
  newId: () => string;
}

const clamp01 = (x: number): number => Math.min(1, Math.max(0, x));

/**
 * The confidences of the characters that survive normalisation (spaces and dashes dropped),
 * rounded to 3 places; null when they do not line up one to one with `normalized`.
 */
function alignedConfidences(text: string, normalized: string, conf: readonly number[] | null | undefined): number[] | null {
  if (!conf || conf.length !== [...text].length) return null;
  const kept = [...text].flatMap((ch, i) => (/[A-Z0-9]/i.test(ch) ? [Math.round(clamp01(conf[i]) * 1000) / 1000] : []));
  return kept.length === normalized.length && kept.length <= 16 ? kept : null;
}

export function buildPlateEvent(input: EnrichInput, deps: EnrichDeps, eventId: string = deps.newId()): PlateEvent {
  const raw: PlateEventInput = {
    event_id: eventId,
    captured_at: new Date(input.capturedAtMs).toISOString(),
    camera_id: input.cameraId,
    track_id: input.trackId,
    plate: { text: input.text, normalized_text: input.normalized, confidence: clamp01(input.confidence), region: input.region },
    vehicle: { type: input.vehicleType ?? null },
    images: { plate_url: input.images?.plate_url ?? null, vehicle_url: input.images?.vehicle_url ?? null, frame_url: input.images?.frame_url ?? null },
    // A clock step backwards must not make a negative latency (the schema rejects it).
    latency_ms: Math.max(0, Math.round(input.emittedAtMs - input.capturedAtMs)),
    node: { site: input.site ?? null, host: input.host ?? null },
    extras: {
      roi: input.roi ?? null,
      direction: input.direction ?? null,
      quality_score: input.qualityScore === null ? null : clamp01(input.qualityScore),
      frame_number: input.frameNumber === null ? null : Math.max(0, Math.trunc(input.frameNumber)),
      char_confidences: alignedConfidences(input.text, input.normalized, input.charConfidences),
    },
  };
  const parsed = PlateEvent.safeParse(raw);
  if (!parsed.success) {
    const what = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new AlprError('INTERNAL', `plate event for camera ${input.cameraId} track ${String(input.trackId)} is invalid: ${what}`, {
      details: { camera_id: input.cameraId, track_id: input.trackId, issues: parsed.error.issues.map((i) => ({ key: i.path.join('.'), message: i.message })) },
    });
  }
  return parsed.data;
}
