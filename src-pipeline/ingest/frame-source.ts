/**
 * The one shape every camera/file reader has, so the pipeline does not care whether frames
 * come from ffmpeg, GStreamer or a test double: an async iterable of frames plus live stats
 * and stop(). Implementations register a factory per source type here.
 */
import type { RgbImage } from '../vision/image.js';
import type { BackoffOptions } from './backoff.js';
import type { SourceStats } from './stats.js';

export type { SourceState, SourceStats } from './stats.js';

export interface Frame {
  image: RgbImage;
  /** 0-based, monotonic for the life of the source (it keeps counting across loops and reconnects). */
  index: number;
  /** Presentation time in ms: from the stream's frame rate where known, else time since the stream started. */
  ptsMs: number;
  /** Wall-clock time the frame left the decoder (ISO 8601); events use it as captured_at. */
  capturedAt: string;
}

export interface FrameSource extends AsyncIterable<Frame> {
  readonly id: string;
  /** Starts decoding; iterating starts it too. Idempotent. */
  start(): void;
  stats(): SourceStats;
  /** Stops the child and ends iteration; resolves once the child has exited. */
  stop(): Promise<void>;
}

export const SOURCE_TYPES = ['file', 'rtsp', 'v4l2', 'custom'] as const;
export type SourceType = (typeof SOURCE_TYPES)[number];

export interface SourceSpec {
  id: string;
  type: SourceType;
  /** File path, rtsp:// URL, /dev/videoN, or the value substituted for {source} in a custom command. */
  source: string;
  /** RTSP lower transport. */
  transport?: 'tcp' | 'udp';
  /** Files: start over at the end instead of stopping. */
  loop?: boolean;
  /** Files: deliver at the clip's frame rate instead of as fast as possible. */
  realtime?: boolean;
  /** Drop decoded frames above this rate (ffmpeg fps filter). */
  fpsCap?: number;
  /** Output size; both or neither. Required for custom sources, whose size cannot be probed. */
  width?: number;
  height?: number;
  /**
   * Custom sources: argv (or a command line split on spaces, quotes respected) whose stdout is
   * raw rgb24 frames of width x height. {source}, {width}, {height} and {fps} are substituted.
   */
  command?: string | readonly string[];
  /** Frames held for a slow consumer before the oldest is dropped (default 4). */
  queueCapacity?: number;
  /**
   * Restart the child after it dies. Default: true for rtsp, v4l2 and custom (live), false
   * for files (a file that fails will fail again the same way).
   */
  reconnect?: boolean;
  backoff?: BackoffOptions;
  /** Live sources: no frame for this long means the camera is gone; kill and reconnect (default 10 s). */
  stallTimeoutMs?: number;
  ffmpegPath?: string;
  ffprobePath?: string;
}

export type FrameSourceFactory = (spec: SourceSpec) => FrameSource;

const registry = new Map<SourceType, FrameSourceFactory>();

export function registerFrameSource(type: SourceType, factory: FrameSourceFactory): void {
  registry.set(type, factory);
}

export function registeredSourceTypes(): SourceType[] {
  return [...registry.keys()];
}

export function createFrameSource(spec: SourceSpec): FrameSource {
  const factory = registry.get(spec.type);
  if (!factory) {
    throw new Error(
      `no frame source registered for type "${spec.type}" (registered: ${registeredSourceTypes().join(', ') || 'none'}); import src-pipeline/ingest/index.js`,
    );
  }
  return factory(spec);
}

/** The type a bare --source string implies: rtsp:// URL, /dev/video device, else a file. */
export function inferSourceType(source: string): SourceType {
  if (/^rtsps?:\/\//i.test(source)) return 'rtsp';
  if (/^\/dev\/video\d+$/.test(source)) return 'v4l2';
  return 'file';
}
