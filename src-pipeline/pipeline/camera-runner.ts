/**
 * Everything one camera needs, put together from config: its frame source, a Recognizer for
 * its plate format, and the CameraPipeline. Thread-agnostic: the camera worker runs it, and so
 * can a test on the main thread.
 */
import type { CameraConfig } from '../common/cameras-config.js';
import type { EventsConfig } from '../common/events-config.js';
import type { PipelineConfig } from '../common/pipeline-config.js';
import type { RecognitionConfig } from '../common/recognition-config.js';
import type { TrackingConfig } from '../common/tracking-config.js';
import { cameraToSourceSpec } from '../ingest/cameras.js';
import { createFrameSource, type FrameSource } from '../ingest/index.js';
import type { SourceStats } from '../ingest/stats.js';
import type { CapturedEvent } from '../sinks/event-sink.js';
import type { RgbImage } from '../vision/image.js';
import { Recognizer } from '../vision/recognizer.js';
import { CameraPipeline, type FrameAnalyzer, type FrameReport, type PipelineLog, type PipelineStats } from './camera-pipeline.js';
import { ThreadedPlateReader } from './threaded-reader.js';

export interface PipelineConfigs {
  recognition: RecognitionConfig;
  tracking: TrackingConfig;
  events: EventsConfig;
  pipeline: PipelineConfig;
}

export interface CameraRunOptions {
  camera: CameraConfig;
  configs: PipelineConfigs;
  emit: (captured: CapturedEvent) => Promise<void>;
  /** Every frame's overlay report and its image (frames are never reused, so the image may be kept). */
  onFrame?: (report: FrameReport, image: RgbImage) => void;
  log?: PipelineLog;
  host?: string | null;
}

export interface CameraRunResult {
  pipeline: PipelineStats;
  source: SourceStats;
  wallMs: number;
}

/** A running camera: stop() ends it early (the result still comes, with the tracks in view finalized). */
export interface CameraRun {
  readonly source: FrameSource;
  readonly pipeline: CameraPipeline;
  readonly done: Promise<CameraRunResult>;
  stop(): Promise<void>;
}

/** The camera's region (plates.csv style us/eu/any) wins over the config files' plate_format. */
export function configsForCamera(camera: CameraConfig, configs: PipelineConfigs): PipelineConfigs {
  if (!camera.region) return configs;
  return {
    ...configs,
    recognition: { ...configs.recognition, plate_format: camera.region },
    events: { ...configs.events, plate_format: camera.region },
  };
}

export async function startCamera(opts: CameraRunOptions): Promise<CameraRun> {
  const cfg = configsForCamera(opts.camera, opts.configs);
  const recognizer = await Recognizer.create(cfg.recognition);
  const reader = cfg.pipeline.plate_reads_in_thread
    ? await ThreadedPlateReader.start(cfg.recognition, opts.log, { primaryOnly: cfg.pipeline.primary_views_only })
    : null;
  const analyzer: FrameAnalyzer = reader
    ? { findVehicles: (img, t) => recognizer.findVehicles(img, t), readRegion: (img, region, o, t) => reader.readRegion(img, region, o, t) }
    : recognizer;
  let source: FrameSource;
  try {
    source = createFrameSource(cameraToSourceSpec(opts.camera));
  } catch (err) {
    await reader?.close();
    throw err;
  }
  const pipeline = new CameraPipeline({
    camera: { id: opts.camera.id, roi: opts.camera.roi, direction_line: opts.camera.direction_line },
    analyzer,
    tracking: cfg.tracking,
    events: cfg.events,
    pipeline: cfg.pipeline,
    emit: opts.emit,
    frameRate: () => source.stats().declaredFps,
    log: opts.log,
    host: opts.host,
  });
  const t0 = performance.now();
  const done = pipeline
    .run(source, opts.onFrame)
    .finally(() => reader?.close())
    .then(
      (stats) => {
        const src = source.stats();
        // A source that failed before its first frame (a missing file, a bad URL without
        // reconnects) ends its iteration like a finished file; it is a failure, not a result.
        if (src.state === 'error' && src.framesOut === 0)
          throw new Error(`camera ${opts.camera.id}: source gave no frames: ${src.lastError ?? 'unknown error'}`);
        return { pipeline: stats, source: src, wallMs: performance.now() - t0 };
      },
      async (err: unknown) => {
        await source.stop();
        throw err;
      },
    );
  return { source, pipeline, done, stop: () => source.stop() };
}
