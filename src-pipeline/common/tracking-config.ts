/** Contract for config/tracking.yaml: the ByteTrack parameters (defaults from the reference implementation). */
import { z } from 'zod';

const unit = z.number().min(0).max(1);

export const TrackingConfig = z
  .object({
    /** Detections at or above this score take part in the first (high-confidence) association. */
    track_thresh: unit.default(0.5),
    /** Detections between this and track_thresh are only used to keep existing tracks alive (the BYTE idea). */
    low_thresh: unit.default(0.1),
    /** Frames (at 30 fps; scaled by frame_rate) a lost track is kept for re-identification. */
    track_buffer: z.number().int().min(0).default(30),
    /** Largest 1 - IoU distance accepted in the first association. */
    match_thresh: unit.default(0.8),
    /** Largest distance accepted when low-score detections are matched to remaining tracks. */
    second_match_thresh: unit.default(0.5),
    /** Largest distance accepted when unconfirmed (one-hit) tracks are matched. */
    unconfirmed_match_thresh: unit.default(0.7),
    /** A new track needs score ≥ track_thresh + new_track_margin, so borderline detections do not spawn ids. */
    new_track_margin: unit.default(0.1),
    /** Tracks whose box is smaller than this (px²) are not reported, and such detections start no track. */
    min_box_area: z.number().min(0).default(100),
    /** Source frame rate; the lost-track buffer is track_buffer × frame_rate / 30 frames. */
    frame_rate: z.number().positive().default(30),
    /** Multiply IoU by the detection score in the high and unconfirmed associations (ByteTrack's fuse_score). */
    fuse_score: z.boolean().default(true),
    /** Tracked and lost tracks overlapping more than this IoU are duplicates; the longer-lived one is kept. */
    duplicate_iou: unit.default(0.85),
    /** A new track whose box overlaps a lost track's prediction at least this much takes over the lost id (0 disables). */
    merge_iou: unit.default(0.5),
  })
  .strict();

export type TrackingConfig = z.infer<typeof TrackingConfig>;
/** What a caller may pass: every key optional, defaults filled in by parsing. */
export type TrackingConfigInput = z.input<typeof TrackingConfig>;
