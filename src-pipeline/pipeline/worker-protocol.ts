/**
 * Messages between the supervisor (main thread) and a camera worker. Events are acknowledged:
 * the worker's emit resolves only once the main thread's sink holds the event, so a worker that
 * finishes a file has handed on every event before it says "done".
 */
import type { CameraConfig } from '../common/cameras-config.js';
import type { PlateEvent } from '../common/plate-event.js';
import type { FrameReport } from './camera-pipeline.js';
import type { CameraRunResult, PipelineConfigs } from './camera-runner.js';

export interface WorkerInit {
  camera: CameraConfig;
  configs: PipelineConfigs;
  host: string | null;
  /** Frame reports per second sent for live overlays (0 = none). */
  frameReportsPerSecond: number;
}

export interface WireImages {
  plate?: Uint8Array | null;
  vehicle?: Uint8Array | null;
  frame?: Uint8Array | null;
}

export type WorkerMessage =
  | { type: 'ready' }
  | { type: 'event'; seq: number; event: PlateEvent; images: WireImages; update: boolean }
  | { type: 'frame'; report: FrameReport }
  /** A downscaled JPEG of frame `index`, sent only while the supervisor asked for previews. */
  | { type: 'jpeg'; index: number; w: number; h: number; data: Uint8Array }
  | { type: 'stats'; result: Omit<CameraRunResult, 'wallMs'> }
  | { type: 'log'; level: 'debug' | 'info' | 'warn' | 'error'; message: string; details?: Record<string, unknown> }
  | { type: 'done'; result: CameraRunResult }
  | { type: 'failed'; error: string; code?: string };

export type SupervisorMessage =
  | { type: 'ack'; seq: number; error?: string }
  | { type: 'stop' }
  /** Turns JPEG previews on (someone watches this camera) or off. */
  | { type: 'preview'; on: boolean };
