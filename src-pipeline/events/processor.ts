/**
 * EventProcessor: turns a finished track (its voted consensus and best shot) into at most one
 * PlateEvent: validate, fuzzy dedup per camera, enrich. Counts why tracks did not become
 * events so a run summary and /stats can say so. No I/O: the caller hands emitted events to
 * an EventSink.
 */
import type { EventsConfig } from '../common/events-config.js';
import type { PlateEvent } from '../common/plate-event.js';
import { PlateDeduper } from './dedup.js';
import { buildPlateEvent, type EnrichInput } from './enrich.js';
import type { Consensus } from './plate-vote.js';
import { validatePlate, type ValidationReason } from './validate.js';

export interface TrackSummary {
  cameraId: string;
  trackId: string | number | null;
  consensus: Consensus;
  /** Best shot of the track; null when no frame had a plate. */
  bestShot: { capturedAtMs: number; frameNumber: number | null; score: number | null } | null;
  /**
   * False when the read text lay neither on a tracked vehicle nor inside a configured ROI:
   * burned-in overlay text (clip 01's timestamp banner) must never become an event.
   */
  onVehicleOrRoi?: boolean;
  direction?: string | null;
  vehicleType?: string | null;
  roi?: string | null;
  images?: EnrichInput['images'];
}

export type RejectionReason = ValidationReason | 'no_reads' | 'outside_vehicle_or_roi';

export type FinalizeOutcome =
  | { kind: 'emitted'; event: PlateEvent }
  /** A better read of a plate already emitted: `event` carries the earlier event id. */
  | { kind: 'updated'; event: PlateEvent; previousEventId: string }
  | { kind: 'duplicate'; previousEventId: string }
  | { kind: 'rejected'; reason: RejectionReason };

export interface ProcessorStats {
  finalized: number;
  emitted: number;
  updated: number;
  duplicates: number;
  rejected: Partial<Record<RejectionReason, number>>;
}

export interface ProcessorDeps {
  newId: () => string;
  now: () => number;
  site?: string | null;
  host?: string | null;
}

export class EventProcessor {
  private readonly dedup: PlateDeduper;
  private readonly counts: ProcessorStats = { finalized: 0, emitted: 0, updated: 0, duplicates: 0, rejected: {} };

  constructor(
    private readonly cfg: EventsConfig,
    private readonly deps: ProcessorDeps,
  ) {
    this.dedup = new PlateDeduper({ similarity: cfg.dedup_similarity, windowMs: cfg.dedup_window_s * 1000, maxEntries: cfg.dedup_max_entries });
  }

  /**
   * The new event of a track, or null (rejected, duplicate, or an update of an earlier event).
   * Updates are not returned here so callers that count events count each plate once; use
   * `finalizeDetailed` to forward them to a sink that upserts by event_id.
   */
  finalize(track: TrackSummary): PlateEvent | null {
    const outcome = this.finalizeDetailed(track);
    return outcome.kind === 'emitted' ? outcome.event : null;
  }

  finalizeDetailed(track: TrackSummary): FinalizeOutcome {
    this.counts.finalized++;
    if (track.onVehicleOrRoi === false) return this.reject('outside_vehicle_or_roi');
    if (!track.bestShot || track.consensus.support === 0 || !track.consensus.text) return this.reject('no_reads');

    const { consensus, bestShot } = track;
    const verdict = validatePlate(consensus.text, consensus.confidence, this.cfg);
    if (!verdict.ok) return this.reject(verdict.reason);

    const eventId = this.deps.newId();
    const decision = this.dedup.observe(track.cameraId, eventId, verdict.normalized, consensus.confidence, bestShot.capturedAtMs);
    if (decision.kind === 'duplicate') {
      this.counts.duplicates++;
      return { kind: 'duplicate', previousEventId: decision.previousEventId };
    }

    const event = buildPlateEvent(
      {
        cameraId: track.cameraId,
        trackId: track.trackId,
        text: consensus.text,
        normalized: verdict.normalized,
        confidence: consensus.confidence,
        charConfidences: consensus.charConfidences,
        region: verdict.region,
        capturedAtMs: bestShot.capturedAtMs,
        emittedAtMs: this.deps.now(),
        qualityScore: bestShot.score,
        frameNumber: bestShot.frameNumber,
        direction: track.direction,
        vehicleType: track.vehicleType,
        roi: track.roi,
        images: track.images,
        site: this.deps.site,
        host: this.deps.host,
      },
      this.deps,
      decision.kind === 'improves' ? decision.previousEventId : eventId,
    );
    if (decision.kind === 'improves') {
      this.counts.updated++;
      return { kind: 'updated', event, previousEventId: decision.previousEventId };
    }
    this.counts.emitted++;
    return { kind: 'emitted', event };
  }

  /** A snapshot of the counters. */
  stats(): ProcessorStats {
    return { ...this.counts, rejected: { ...this.counts.rejected } };
  }

  /** Expires dedup entries of quiet cameras; call now and then (e.g. once a minute). */
  prune(nowMs: number): void {
    this.dedup.prune(nowMs);
  }

  private reject(reason: RejectionReason): FinalizeOutcome {
    this.counts.rejected[reason] = (this.counts.rejected[reason] ?? 0) + 1;
    return { kind: 'rejected', reason };
  }
}
