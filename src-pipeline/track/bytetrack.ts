/**
 * ByteTrack (Zhang et al., 2022) for vehicles, written from the paper's description.
 *
 * The idea that matters: low-score detections are not thrown away. They are mostly the same
 * vehicles, partly occluded or blurred, so after the confident detections have been matched
 * they are used to keep the remaining tracks alive instead of letting those tracks go lost
 * and come back later with a new id. Each read of a plate is attached to a track id, so id
 * switches directly become duplicate plate events.
 *
 * Additions to the reference:
 * - fragmented-track merging: a new track born where a lost track was predicted to be, or
 *   was last seen, takes over the lost id (catches re-appearances the first association,
 *   which only looks at predictions, missed);
 * - ids are handed out when a track is confirmed, so one-frame false positives use no id;
 * - frames may be skipped (adaptive sampling): the filter is predicted once per frame index.
 */
import { boxArea, iou, type Box } from '../common/geometry.js';
import { TrackingConfig, type TrackingConfigInput } from '../common/tracking-config.js';
import { linearAssignment } from './assignment.js';
import { boxToMeasurement, KalmanBoxFilter, stateToBox, type KalmanState } from './kalman.js';

export interface Detection {
  box: Box;
  score: number;
  classId: number;
}

export type TrackState = 'new' | 'tracked' | 'lost' | 'removed';

export interface TrackOutput {
  id: number;
  /** Kalman-filtered box (pixel xyxy); smoother than the raw detection. */
  box: Box;
  /** Score of the latest detection matched to the track. */
  score: number;
  /** Class with the highest score-weighted vote over the track's detections. */
  classId: number;
  /** Frames since the track started (inclusive). */
  age: number;
  /** Detections matched to the track so far. */
  hits: number;
  state: TrackState;
  /** Centre velocity in pixels per frame, from the filter. */
  velocity: { vx: number; vy: number };
}

/** The stage interface the pipeline's registry uses for trackers. */
export interface Tracker {
  update(detections: readonly Detection[], frameIndex: number): TrackOutput[];
  reset(): void;
}

class Track {
  /** Public id; 0 until the track is confirmed. */
  id = 0;
  state: TrackState = 'new';
  confirmed = false;
  hits = 1;
  /** Frame index of the latest matched detection. */
  lastFrame: number;
  readonly startFrame: number;
  score: number;
  /** The latest matched detection's box, kept for fragment merging. */
  lastBox: Box;
  private readonly classVotes = new Map<number, number>();

  constructor(
    public kf: KalmanState,
    det: Detection,
    frameIndex: number,
  ) {
    this.lastFrame = frameIndex;
    this.startFrame = frameIndex;
    this.score = det.score;
    this.lastBox = det.box;
    this.vote(det);
  }

  get box(): Box {
    return stateToBox(this.kf.mean);
  }

  get classId(): number {
    let best = -1;
    let bestVotes = -Infinity;
    for (const [cls, votes] of this.classVotes) {
      if (votes > bestVotes) {
        best = cls;
        bestVotes = votes;
      }
    }
    return best;
  }

  /** Detectors flip between car/truck/bus on the same vehicle; any class seen before is compatible. */
  compatibleWith(classId: number): boolean {
    return this.classVotes.has(classId);
  }

  vote(det: Detection): void {
    this.classVotes.set(det.classId, (this.classVotes.get(det.classId) ?? 0) + det.score);
  }
}

export class ByteTracker implements Tracker {
  readonly config: TrackingConfig;
  private readonly kf = new KalmanBoxFilter();
  private tracked: Track[] = [];
  private lost: Track[] = [];
  private nextId = 1;
  private lastFrameIndex: number | undefined;
  private removedIds: number[] = [];

  constructor(config: TrackingConfigInput = {}) {
    this.config = TrackingConfig.parse(config);
  }

  /** Frames a lost track survives: track_buffer is defined at 30 fps. */
  get maxTimeLost(): number {
    return Math.round((this.config.track_buffer * this.config.frame_rate) / 30);
  }

  reset(): void {
    this.tracked = [];
    this.lost = [];
    this.nextId = 1;
    this.lastFrameIndex = undefined;
    this.removedIds = [];
  }

  /** Ids of confirmed tracks dropped during the latest update (their vehicle is gone for good). */
  lastRemovedIds(): readonly number[] {
    return this.removedIds;
  }

  /** Lost (coasting) tracks, for overlays and debugging; not part of the main output. */
  lostTracks(): TrackOutput[] {
    return this.lost.filter((t) => t.confirmed).map((t) => this.output(t, this.lastFrameIndex ?? t.lastFrame));
  }

  update(detections: readonly Detection[], frameIndex: number): TrackOutput[] {
    const cfg = this.config;
    const firstFrame = this.lastFrameIndex === undefined;
    // Frames skipped by the sampler still moved the vehicles: predict once per elapsed frame.
    const steps = firstFrame || frameIndex <= (this.lastFrameIndex ?? 0) ? 1 : Math.min(frameIndex - (this.lastFrameIndex ?? 0), this.maxTimeLost + 1);
    this.lastFrameIndex = frameIndex;
    this.removedIds = [];

    const valid = detections.filter((d) => isUsableBox(d.box) && Number.isFinite(d.score));
    const high = valid.filter((d) => d.score >= cfg.track_thresh);
    const low = valid.filter((d) => d.score > cfg.low_thresh && d.score < cfg.track_thresh);

    const unconfirmed = this.tracked.filter((t) => !t.confirmed);
    const confirmed = this.tracked.filter((t) => t.confirmed);
    const pool = [...confirmed, ...this.lost];
    for (const t of pool) this.predict(t, steps);
    // The reference leaves unconfirmed tracks unpredicted; predicting them is more accurate.
    for (const t of unconfirmed) this.predict(t, steps);

    const nextTracked: Track[] = [];
    const newlyLost: Track[] = [];

    // 1) confident detections vs. every live track (tracked and lost).
    const first = linearAssignment(this.distances(pool, high, cfg.fuse_score), cfg.match_thresh, high.length);
    for (const [ti, di] of first.matches) this.absorb(pool[ti], high[di], frameIndex, nextTracked);

    // 2) weak detections only vs. tracks that were being tracked until now: a weak box is good
    //    evidence that a visible vehicle continues, but too weak to resurrect a lost one.
    const remaining = first.unmatchedRows.map((i) => pool[i]).filter((t) => t.state === 'tracked');
    const second = linearAssignment(this.distances(remaining, low, false), cfg.second_match_thresh, low.length);
    for (const [ti, di] of second.matches) this.absorb(remaining[ti], low[di], frameIndex, nextTracked);
    for (const ti of second.unmatchedRows) {
      const t = remaining[ti];
      t.state = 'lost';
      newlyLost.push(t);
    }

    // 3) tracks seen once so far vs. the leftover confident detections; a miss kills them,
    //    which is what keeps single-frame false positives from ever getting an id.
    const leftover = first.unmatchedCols.map((i) => high[i]);
    const third = linearAssignment(this.distances(unconfirmed, leftover, cfg.fuse_score), cfg.unconfirmed_match_thresh, leftover.length);
    for (const [ti, di] of third.matches) this.absorb(unconfirmed[ti], leftover[di], frameIndex, nextTracked);
    for (const ti of third.unmatchedRows) unconfirmed[ti].state = 'removed';

    // Lost tracks not matched this frame, including the ones that just went lost.
    let lost = [...this.lost.filter((t) => t.state === 'lost'), ...newlyLost];

    // 4) new tracks from confident leftovers, or a lost id taken back (fragment merging).
    for (const di of third.unmatchedCols) {
      const det = leftover[di];
      if (det.score < cfg.track_thresh + cfg.new_track_margin || boxArea(det.box) < cfg.min_box_area) continue;
      const heir = this.mergeCandidate(lost, det);
      if (heir) {
        this.absorb(heir, det, frameIndex, nextTracked);
        lost = lost.filter((t) => t !== heir);
        continue;
      }
      const t = new Track(this.kf.initiate(boxToMeasurement(det.box)), det, frameIndex);
      t.state = 'tracked';
      // Only on the very first frame is there no history to confirm against.
      if (firstFrame) this.confirm(t);
      nextTracked.push(t);
    }

    // 5) forget lost tracks that have coasted longer than the buffer.
    const keptLost: Track[] = [];
    for (const t of lost) {
      if (frameIndex - t.lastFrame > this.maxTimeLost) this.remove(t);
      else keptLost.push(t);
    }

    [this.tracked, this.lost] = this.removeDuplicates(nextTracked, keptLost, frameIndex);
    return this.tracked.filter((t) => t.confirmed && boxArea(t.box) >= cfg.min_box_area).map((t) => this.output(t, frameIndex));
  }

  private predict(t: Track, steps: number): void {
    let kf = t.kf;
    if (t.state !== 'tracked') {
      // A coasting box should not keep growing or shrinking (reference behaviour).
      kf = { mean: [...kf.mean], covariance: kf.covariance };
      kf.mean[7] = 0;
    }
    for (let i = 0; i < steps; i++) kf = this.kf.predict(kf);
    t.kf = kf;
  }

  /** Matched: correct the filter, count the hit and (re)enter the tracked list. */
  private absorb(t: Track, det: Detection, frameIndex: number, nextTracked: Track[]): void {
    t.kf = this.kf.correct(t.kf, boxToMeasurement(det.box));
    t.score = det.score;
    t.lastBox = det.box;
    t.vote(det);
    t.lastFrame = frameIndex;
    t.hits += 1;
    t.state = 'tracked';
    if (!t.confirmed) this.confirm(t);
    nextTracked.push(t);
  }

  private confirm(t: Track): void {
    t.confirmed = true;
    t.id = this.nextId++;
  }

  private remove(t: Track): void {
    t.state = 'removed';
    if (t.confirmed) this.removedIds.push(t.id);
  }

  /**
   * The lost track that overlaps the detection most, when that overlap reaches merge_iou and
   * the classes are compatible. Overlap is taken with the lost track's predicted box and with
   * its last observed box: the first association only sees the prediction, which keeps moving
   * at the old velocity while the vehicle is hidden, so a vehicle that stopped behind an
   * obstacle (a toll barrier, a queue) re-appears where it was last seen, not where the filter
   * expects it. With the default thresholds a match on the predicted box alone is usually
   * already made by the first association; the check still catches it when match_thresh is
   * tightened or another track won the detection's neighbour.
   */
  private mergeCandidate(lost: readonly Track[], det: Detection): Track | undefined {
    const minIou = this.config.merge_iou;
    if (minIou <= 0) return undefined;
    let best: Track | undefined;
    let bestIou = minIou;
    for (const t of lost) {
      if (!t.confirmed || !t.compatibleWith(det.classId)) continue;
      const overlap = Math.max(iou(t.box, det.box), iou(t.lastBox, det.box));
      if (overlap >= bestIou) {
        best = t;
        bestIou = overlap;
      }
    }
    return best;
  }

  /** 1 - IoU between predicted track boxes and detections, optionally weighted by detection score. */
  private distances(tracks: readonly Track[], dets: readonly Detection[], fuse: boolean): number[][] {
    const boxes = tracks.map((t) => t.box);
    return boxes.map((b) => dets.map((d) => 1 - iou(b, d.box) * (fuse ? d.score : 1)));
  }

  /**
   * A lost track that overlaps a tracked one almost completely is the same vehicle twice
   * (the tracked copy was born while the other coasted). Keep whichever has lived longer so
   * the older id, and the reads attached to it, survive.
   */
  private removeDuplicates(tracked: Track[], lost: Track[], frameIndex: number): [Track[], Track[]] {
    const dropTracked = new Set<Track>();
    const dropLost = new Set<Track>();
    for (const a of tracked) {
      for (const b of lost) {
        if (dropLost.has(b) || iou(a.box, b.box) <= this.config.duplicate_iou) continue;
        const ageA = frameIndex - a.startFrame;
        const ageB = frameIndex - b.startFrame;
        if (ageA > ageB) dropLost.add(b);
        else dropTracked.add(a);
      }
    }
    for (const t of dropLost) this.remove(t);
    for (const t of dropTracked) this.remove(t);
    return [tracked.filter((t) => !dropTracked.has(t)), lost.filter((t) => !dropLost.has(t))];
  }

  private output(t: Track, frameIndex: number): TrackOutput {
    return {
      id: t.id,
      box: t.box,
      score: t.score,
      classId: t.classId,
      age: frameIndex - t.startFrame + 1,
      hits: t.hits,
      state: t.state,
      velocity: { vx: t.kf.mean[4], vy: t.kf.mean[5] },
    };
  }
}

function isUsableBox(b: Box): boolean {
  return [b.x1, b.y1, b.x2, b.y2].every(Number.isFinite) && b.x2 > b.x1 && b.y2 > b.y1;
}
