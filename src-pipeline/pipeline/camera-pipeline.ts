/**
 * One camera's video pipeline: vehicles on every frame → ByteTrack → plate reads on the
 * tracks that still need them (within a per-frame budget) → multi-frame vote and best shot
 * per track → one event per vehicle through the EventProcessor, handed to `emit`.
 *
 * Throughput comes from overlap, not from skipping work: while the plate reads of frame N run,
 * the vehicle detector already works on frame N+1. onnxruntime-node infers on the calling
 * thread, so the two stages only use two cores when the reads run in a thread of their own
 * (ThreadedPlateReader, the default); inline they take turns. Tracker updates and track
 * finalization stay strictly in frame order.
 *
 * Plates are only ever looked for inside tracked vehicles (and the camera's ROI when one is
 * set), and a found plate must sit where a vehicle's plate would: burned-in overlay text and
 * signs never become events.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Box } from '../common/geometry.js';
import { clampBox, containment, padBox, pointInPolygon } from '../common/geometry.js';
import type { EventsConfig } from '../common/events-config.js';
import type { PipelineConfig } from '../common/pipeline-config.js';
import type { TrackingConfig } from '../common/tracking-config.js';
import { laplacianVariance } from '../events/best-shot.js';
import { EventProcessor, type FinalizeOutcome, type ProcessorStats } from '../events/processor.js';
import type { Frame } from '../ingest/frame-source.js';
import type { CapturedEvent } from '../sinks/event-sink.js';
import { ByteTracker, type TrackOutput } from '../track/bytetrack.js';
import { cropImage, type RgbImage } from '../vision/image.js';
import type { DetectTimings } from '../vision/object-detector.js';
import type { PlateResult, RejectedRead, VehicleResult } from '../vision/plate-candidates.js';
import { VEHICLE_CLASSES } from '../vision/plate-candidates.js';
import { travelDirection, type Line } from './direction.js';
import { encodeEventImages } from './event-images.js';
import { StageTimer } from './stage-timer.js';
import { TrackState, type Shot } from './track-state.js';

/** The recognition calls the pipeline needs (the Recognizer; tests may pass a recorded one). */
export interface FrameAnalyzer {
  findVehicles(img: RgbImage, t?: DetectTimings): Promise<VehicleResult[]>;
  readRegion(
    img: RgbImage,
    region: Box,
    opts?: { fullSize?: boolean; primaryOnly?: boolean },
    t?: DetectTimings,
  ): Promise<{ plates: PlateResult[]; rejected: RejectedRead[]; ocrMs: number }>;
}

export interface CameraSettings {
  id: string;
  roi?: readonly (readonly [number, number])[];
  direction_line?: Line;
}

export type PipelineLog = (level: 'debug' | 'info' | 'warn' | 'error', message: string, details?: Record<string, unknown>) => void;

export interface CameraPipelineOptions {
  camera: CameraSettings;
  analyzer: FrameAnalyzer;
  tracking: TrackingConfig;
  events: EventsConfig;
  pipeline: PipelineConfig;
  /** Where events go (a sink, or a message to the main thread). Awaited in the background; failures are logged and counted. */
  emit: (captured: CapturedEvent) => Promise<void>;
  /** Frame rate of the source, for the tracker's lost-track buffer; asked once, at the first frame (sources know it once probed). */
  frameRate?: () => number | undefined;
  log?: PipelineLog;
  newId?: () => string;
  now?: () => number;
  host?: string | null;
}

/** One frame's outcome, for live overlays. Boxes are in pixels of the `w`×`h` frame. */
export interface FrameReport {
  index: number;
  analyzed: boolean;
  w: number;
  h: number;
  tracks: { id: number; box: Box; type: string | null; plate: string | null; confidence: number }[];
  /** Plates found recently on the tracks in view, with that read (not the vote) and its confidence. */
  plates: { track_id: number; box: Box; text: string; confidence: number }[];
}

/** Frames a plate box stays on the overlay after its read: reads are sparse, and a flickering box helps nobody. */
const PLATE_OVERLAY_FRAMES = 15;

export interface PipelineStats {
  camera_id: string;
  frames: number;
  /** Frames the vehicle detector ran on (the rest were skipped by adaptive sampling). */
  analyzed: number;
  tracks: number;
  reads: number;
  read_attempts: number;
  blurry_skipped: number;
  events: number;
  updates: number;
  duplicates: number;
  rejected: ProcessorStats['rejected'];
  emit_failures: number;
  /** Normalized plate texts of the events, in the order they were emitted. */
  plates: string[];
  stage_ms: Record<string, number>;
}

const NO_TIMINGS = (): DetectTimings => ({ preMs: 0, inferMs: 0, postMs: 0 });

export class CameraPipeline {
  private tracker: ByteTracker | undefined;
  private readonly processor: EventProcessor;
  private readonly tracks = new Map<number, TrackState>();
  private readonly timer = new StageTimer();
  private readonly pendingEmits = new Set<Promise<void>>();
  private readonly plates: string[] = [];
  private readonly log: PipelineLog;
  private counts = { frames: 0, analyzed: 0, tracks: 0, reads: 0, attempts: 0, blurry: 0, emitFailures: 0 };
  private idleFrames = 0;
  private readonly now: () => number;

  constructor(private readonly opts: CameraPipelineOptions) {
    this.now = opts.now ?? Date.now;
    this.processor = new EventProcessor(opts.events, {
      newId: opts.newId ?? randomUUID,
      now: this.now,
      site: opts.pipeline.site,
      host: opts.host === undefined ? hostname() : opts.host,
    });
    this.log = opts.log ?? (() => {});
  }

  /**
   * Runs until the source ends (or its iteration is stopped), then finalizes every track
   * still in view and waits for their events to be handed on.
   */
  async run(source: AsyncIterable<Frame>, onFrame?: (r: FrameReport, image: RgbImage) => void): Promise<PipelineStats> {
    let reading: Promise<void> = Promise.resolve();
    for await (const frame of source) {
      const t0 = performance.now();
      const analyze = this.shouldAnalyze(frame.index);
      const vt = NO_TIMINGS();
      // Started before the previous frame's reads are awaited: the two overlap. The executor
      // runs at once and turns a synchronous throw into a rejection handled like any other.
      const vehiclesP = analyze ? new Promise<VehicleResult[]>((resolve) => resolve(this.opts.analyzer.findVehicles(frame.image, vt))) : Promise.resolve(null);
      vehiclesP.catch(() => {}); // handled below; avoids an unhandled rejection while awaiting `reading`
      await reading;
      let vehicles: VehicleResult[] | null;
      try {
        vehicles = await vehiclesP;
      } catch (err) {
        // A frame the detector cannot take (corrupt data) costs that frame, not the camera.
        this.log('warn', 'vehicle detection failed on a frame; skipping it', { camera_id: this.opts.camera.id, frame: frame.index, error: String(err) });
        vehicles = null;
      }
      const t1 = performance.now();
      this.counts.frames++;
      if (vehicles) {
        this.counts.analyzed++;
        this.timer.add('vehicle_detect', t1 - t0);
      }
      const live = vehicles ? this.track(vehicles, frame) : [];
      this.timer.add('track', performance.now() - t1);
      reading = this.readTracks(frame, live);
      onFrame?.(this.report(frame, vehicles !== null, live), frame.image);
    }
    await reading;
    for (const state of this.tracks.values()) this.finalize(state);
    this.tracks.clear();
    await this.drain();
    return this.stats();
  }

  stats(): PipelineStats {
    const p = this.processor.stats();
    return {
      camera_id: this.opts.camera.id,
      frames: this.counts.frames,
      analyzed: this.counts.analyzed,
      tracks: this.counts.tracks,
      reads: this.counts.reads,
      read_attempts: this.counts.attempts,
      blurry_skipped: this.counts.blurry,
      events: p.emitted,
      updates: p.updated,
      duplicates: p.duplicates,
      rejected: p.rejected,
      emit_failures: this.counts.emitFailures,
      plates: [...this.plates],
      stage_ms: this.timer.medians(),
    };
  }

  /** Waits until every event handed to `emit` so far has been taken (or failed). */
  async drain(): Promise<void> {
    while (this.pendingEmits.size) await Promise.allSettled([...this.pendingEmits]);
  }

  /** Adaptive sampling: an empty scene is checked on every idle_stride-th frame only. */
  private shouldAnalyze(index: number): boolean {
    const { idle_after, idle_stride } = this.opts.pipeline;
    if (idle_stride <= 1 || this.idleFrames < idle_after) return true;
    return index % idle_stride === 0;
  }

  private track(vehicles: VehicleResult[], frame: Frame): TrackOutput[] {
    this.tracker ??= new ByteTracker({ ...this.opts.tracking, frame_rate: this.opts.frameRate?.() ?? this.opts.tracking.frame_rate });
    const dets = vehicles.map((v) => ({ box: v.box, score: v.score, classId: classIdOf(v.type) }));
    const out = this.tracker.update(dets, frame.index);
    // Any detection ends idle mode at once (a new track is only confirmed on its second sighting).
    this.idleFrames = dets.length === 0 && out.length === 0 && this.tracker.lostTracks().length === 0 ? this.idleFrames + 1 : 0;
    for (const t of out) {
      const s = this.tracks.get(t.id);
      if (s) s.seen(t.box, t.classId, frame.index);
      else {
        this.tracks.set(t.id, new TrackState(t.id, t.box, t.classId, frame.index));
        this.counts.tracks++;
      }
    }
    for (const id of this.tracker.lastRemovedIds()) {
      const s = this.tracks.get(id);
      if (!s) continue;
      this.finalize(s);
      this.tracks.delete(id);
    }
    return out.filter((t) => t.state === 'tracked');
  }

  /** Plate reads for this frame's due tracks, neediest first, within the budget. */
  private async readTracks(frame: Frame, live: TrackOutput[]): Promise<void> {
    const cfg = this.opts.pipeline;
    const due = live
      .map((t) => ({ t, s: this.tracks.get(t.id)! }))
      .filter(({ t, s }) => s && !s.done && this.needsReads(s) && frame.index - s.lastReadFrame >= readInterval(s, cfg) && this.readable(t.box, frame.image))
      .sort((a, b) => a.s.lastReadFrame - b.s.lastReadFrame || area(b.t.box) - area(a.t.box))
      .slice(0, cfg.reads_per_frame);
    if (due.length === 0) return;
    const t0 = performance.now();
    for (const { t, s } of due) {
      try {
        await this.readTrack(frame, t, s);
      } catch (err) {
        this.log('warn', 'plate read failed; the track is read again on a later frame', { camera_id: this.opts.camera.id, track_id: t.id, error: String(err) });
      }
    }
    this.timer.add('plate_reads', performance.now() - t0);
  }

  private needsReads(s: TrackState): boolean {
    const e = this.opts.events;
    return !s.vote.isSettled(e.settle_min_reads, e.settle_confidence);
  }

  /** Big enough to hold a readable plate, and (with an ROI) its lower half inside the ROI. */
  private readable(box: Box, img: RgbImage): boolean {
    if (box.x2 - box.x1 < this.opts.pipeline.min_vehicle_width) return false;
    const c = clampBox(box, img.width, img.height);
    if (c.x2 - c.x1 < 8 || c.y2 - c.y1 < 8) return false;
    const roi = this.opts.camera.roi;
    return !roi || pointInPolygon({ x: (c.x1 + c.x2) / 2, y: c.y1 + (c.y2 - c.y1) * 0.75 }, roi);
  }

  private async readTrack(frame: Frame, t: TrackOutput, s: TrackState): Promise<void> {
    const cfg = this.opts.pipeline;
    s.lastReadFrame = frame.index;
    s.lastReadArea = s.last.area;
    s.attempts++;
    this.counts.attempts++;
    const region = clampBox(padBox(t.box, 0.06, 0.06), frame.image.width, frame.image.height);
    const fullSize = cfg.full_size_every > 0 && s.misses > 0 && s.misses % cfg.full_size_every === 0;
    const { plates } = await this.opts.analyzer.readRegion(frame.image, region, { fullSize, primaryOnly: cfg.primary_views_only });
    const plate = plates.filter((p) => this.onVehicle(p.box, t.box)).sort((a, b) => b.confidence - a.confidence)[0];
    if (!plate) {
      s.misses++;
      if (plates.length)
        this.log('debug', 'plate off the vehicle ignored', {
          camera_id: this.opts.camera.id,
          track_id: t.id,
          frame: frame.index,
          plates: plates.map((p) => p.text),
        });
      return;
    }
    s.misses = 0;
    s.lastPlate = { box: plate.box, text: plate.text, confidence: plate.confidence, frameIndex: frame.index };
    const sharpness = laplacianVariance(cropImage(frame.image, plate.box));
    if (sharpness < cfg.min_plate_sharpness) {
      // Blurred frames read wrong more often than they read right; a sharper one will come.
      this.counts.blurry++;
      return;
    }
    this.counts.reads++;
    s.reads++;
    // Small plates misread far more often (clip 01's truck reads as anything below ~45 px wide
    // and right above it), so a read counts in the vote by the cube of its plate's width.
    const quality = Math.min(1, (plate.box.x2 - plate.box.x1) / cfg.vote_full_plate_width) ** 3;
    s.vote.add({ text: plate.text, charConfidences: plate.char_confidences, confidence: plate.confidence, frameIndex: frame.index, quality });
    s.best.offer({
      frameIndex: frame.index,
      plateWidth: plate.box.x2 - plate.box.x1,
      plateHeight: plate.box.y2 - plate.box.y1,
      sharpness,
      ocrConfidence: plate.confidence,
      frame: frame.image,
      plateBox: plate.box,
      vehicleBox: t.box,
      capturedAtMs: Date.parse(frame.capturedAt),
    });
    const e = this.opts.events;
    if (cfg.emit_on_settle && s.vote.isSettled(e.settle_min_reads, e.settle_confidence)) this.finalize(s);
  }

  /**
   * Where a vehicle's plate is: mostly inside the vehicle box and below its top third (roof
   * numbers, livery and overlay text that happens to overlap a vehicle are not plates), and
   * inside the ROI when there is one.
   */
  private onVehicle(plate: Box, vehicle: Box): boolean {
    const cy = (plate.y1 + plate.y2) / 2;
    if (containment(plate, vehicle) < 0.6 || cy < vehicle.y1 + (vehicle.y2 - vehicle.y1) / 3) return false;
    const roi = this.opts.camera.roi;
    return !roi || pointInPolygon({ x: (plate.x1 + plate.x2) / 2, y: cy }, roi);
  }

  /** Turns a track into at most one event; idempotent per track. */
  private finalize(s: TrackState): void {
    if (s.done) return;
    s.done = true;
    const best = s.best.best;
    const outcome = this.processor.finalizeDetailed({
      cameraId: this.opts.camera.id,
      trackId: s.id,
      consensus: s.vote.consensus(),
      bestShot: best ? { capturedAtMs: best.shot.capturedAtMs, frameNumber: best.shot.frameIndex, score: best.score } : null,
      direction: travelDirection(s.first, s.last, this.opts.camera.direction_line),
      vehicleType: VEHICLE_CLASSES[s.classId] ?? null,
    });
    if (outcome.kind !== 'emitted' && outcome.kind !== 'updated') {
      if (s.reads > 0) this.log('debug', 'track made no event', { camera_id: this.opts.camera.id, track_id: s.id, outcome: describe(outcome) });
      return;
    }
    s.eventId = outcome.event.event_id;
    if (outcome.kind === 'emitted') this.plates.push(outcome.event.plate.normalized_text);
    const p = this.handOn(outcome.event, best!.shot, outcome.kind === 'updated');
    this.pendingEmits.add(p);
    void p.finally(() => this.pendingEmits.delete(p));
  }

  private async handOn(event: CapturedEvent['event'], shot: Shot, update: boolean): Promise<void> {
    try {
      const images = await encodeEventImages(shot, this.opts.pipeline);
      await this.opts.emit({ event, images, update });
    } catch (err) {
      this.counts.emitFailures++;
      this.log('error', 'event could not be handed on', { camera_id: this.opts.camera.id, event_id: event.event_id, error: String(err) });
    }
  }

  private report(frame: Frame, analyzed: boolean, live: TrackOutput[]): FrameReport {
    const plates: FrameReport['plates'] = [];
    for (const t of live) {
      const p = this.tracks.get(t.id)?.lastPlate;
      if (p && frame.index - p.frameIndex <= PLATE_OVERLAY_FRAMES) plates.push({ track_id: t.id, box: p.box, text: p.text, confidence: p.confidence });
    }
    return {
      index: frame.index,
      analyzed,
      w: frame.image.width,
      h: frame.image.height,
      tracks: live.map((t) => {
        const c = this.tracks.get(t.id)?.vote.consensus();
        return { id: t.id, box: t.box, type: VEHICLE_CLASSES[t.classId] ?? null, plate: c?.text || null, confidence: c?.confidence ?? 0 };
      }),
      plates,
    };
  }
}

const CLASS_IDS: Record<string, number> = Object.fromEntries(Object.entries(VEHICLE_CLASSES).map(([id, name]) => [name, Number(id)]));

function classIdOf(type: string): number {
  return CLASS_IDS[type] ?? -1;
}

/**
 * Frames until a track's next read: vehicles where no plate turns up (side views, plates out
 * of sight) are looked at less and less often, up to 8x the base interval, and so is a track
 * past its read budget (a parked car). Neither stops: a vehicle that comes closer can still
 * show a readable plate late (clip 01's truck is readable only in its last second and a half).
 */
function readInterval(s: TrackState, cfg: PipelineConfig): number {
  // Grown by half since the last look: its plate has more pixels now, worth reading at once.
  if (s.last.area >= s.lastReadArea * 1.5) return cfg.read_interval;
  if (s.attempts >= cfg.max_reads_per_track) return cfg.read_interval * 8;
  return cfg.read_interval * Math.min(8, 2 ** Math.floor(s.misses / 2));
}

function area(b: Box): number {
  return (b.x2 - b.x1) * (b.y2 - b.y1);
}

function describe(o: FinalizeOutcome): string {
  return o.kind === 'rejected' ? `rejected: ${o.reason}` : o.kind;
}
