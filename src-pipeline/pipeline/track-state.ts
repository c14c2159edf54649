/**
 * What the pipeline remembers about one tracked vehicle between frames: its plate reads and
 * their vote, the best shot so far (a reference to that frame, encoded to JPEG only if the
 * track becomes an event), where it was first and last seen, and its read budget.
 */
import type { Box } from '../common/geometry.js';
import { BestShot, type ShotCandidate } from '../events/best-shot.js';
import { PlateVote } from '../events/plate-vote.js';
import type { RgbImage } from '../vision/image.js';
import type { TrackSample } from './direction.js';

export interface Shot extends ShotCandidate {
  frame: RgbImage;
  plateBox: Box;
  vehicleBox: Box;
  capturedAtMs: number;
}

export class TrackState {
  readonly vote = new PlateVote();
  readonly best = new BestShot<Shot>();
  readonly first: TrackSample;
  last: TrackSample;
  lastSeenFrame: number;
  /** Frame of the latest read attempt; -Infinity before the first. */
  lastReadFrame = -Infinity;
  /** Box area at the latest read attempt (px²); Infinity before the first. */
  lastReadArea = Infinity;
  /** Read attempts (plate detection on the vehicle), found or not. */
  attempts = 0;
  /** Attempts that found no plate in a row (decides when the large detector gets a look). */
  misses = 0;
  reads = 0;
  classId: number;
  /** Set once the track's event went out (early, on settle); later finalization skips it. */
  eventId: string | null = null;
  /** Set once the track was finalized (emitted, rejected or duplicate). */
  done = false;
  /** The latest plate found on this vehicle, for live overlays (not used for the event). */
  lastPlate: { box: Box; text: string; confidence: number; frameIndex: number } | null = null;

  constructor(
    readonly id: number,
    box: Box,
    classId: number,
    frameIndex: number,
  ) {
    this.first = sample(box);
    this.last = this.first;
    this.lastSeenFrame = frameIndex;
    this.classId = classId;
  }

  seen(box: Box, classId: number, frameIndex: number): void {
    this.last = sample(box);
    this.classId = classId;
    this.lastSeenFrame = frameIndex;
  }
}

function sample(b: Box): TrackSample {
  return { cx: (b.x1 + b.x2) / 2, cy: (b.y1 + b.y2) / 2, area: Math.max(0, b.x2 - b.x1) * Math.max(0, b.y2 - b.y1) };
}
