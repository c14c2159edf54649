/**
 * Runs every configured camera in its own worker thread and keeps them running: a camera
 * whose worker dies (a crash in native code, an uncaught error, a model that failed to load)
 * is restarted with capped backoff, up to a restart budget per time window; past it the
 * camera stays "failed" and says why, and the other cameras carry on. Events from all workers
 * go to one EventSink on this thread, and each is acknowledged only once the sink holds it.
 */
import type { Worker } from 'node:worker_threads';
import type { CameraConfig } from '../common/cameras-config.js';
import type { PlateEvent } from '../common/plate-event.js';
import { Backoff, type BackoffOptions } from '../ingest/backoff.js';
import type { EventSink } from '../sinks/event-sink.js';
import type { FrameReport, PipelineLog } from './camera-pipeline.js';
import type { CameraRunResult, PipelineConfigs } from './camera-runner.js';
import type { PreviewJpeg } from './preview-encoder.js';
import { spawnWorker } from './worker-spawn.js';
import type { SupervisorMessage, WireImages, WorkerInit, WorkerMessage } from './worker-protocol.js';

export type CameraState = 'starting' | 'running' | 'restarting' | 'finished' | 'failed' | 'stopped';

export interface CameraStatus {
  id: string;
  state: CameraState;
  restarts: number;
  lastError: string | null;
  /** Latest numbers from the worker (1 s cadence), or the final ones. */
  latest: Omit<CameraRunResult, 'wallMs'> | null;
  result: CameraRunResult | null;
}

export interface RestartPolicy {
  /** Restarts allowed within windowMs before the camera is given up on. */
  maxRestarts: number;
  windowMs: number;
  backoff?: BackoffOptions;
}

export interface SupervisorOptions {
  cameras: readonly CameraConfig[];
  configs: PipelineConfigs;
  sink: EventSink;
  restart?: RestartPolicy;
  host?: string | null;
  log?: PipelineLog;
  /** Called after the sink took an event. */
  onEvent?: (event: PlateEvent) => void;
  onFrame?: (cameraId: string, report: FrameReport) => void;
  frameReportsPerSecond?: number;
  /** Preview JPEGs of cameras someone watches (see setPreview). */
  onJpeg?: (cameraId: string, jpeg: PreviewJpeg) => void;
}

export const DEFAULT_RESTART: RestartPolicy = { maxRestarts: 5, windowMs: 10 * 60_000, backoff: { initialMs: 1000, maxMs: 30_000 } };

function newWorker(init: WorkerInit): Worker {
  return spawnWorker('camera-worker', init);
}

class CameraSlot {
  status: CameraStatus;
  worker: Worker | null = null;
  restartTimes: number[] = [];
  backoff: Backoff;
  timer: NodeJS.Timeout | null = null;
  /** Set when this one camera is being stopped (removed or replaced from the console). */
  stopRequested = false;
  /** Whether someone watches this camera's preview; survives worker restarts. */
  preview = false;
  finished!: Promise<void>;
  private resolveFinished!: () => void;

  constructor(
    readonly camera: CameraConfig,
    policy: RestartPolicy,
  ) {
    this.status = { id: camera.id, state: 'starting', restarts: 0, lastError: null, latest: null, result: null };
    this.backoff = new Backoff(policy.backoff);
    this.finished = new Promise((r) => (this.resolveFinished = r));
  }

  settle(state: CameraState): void {
    this.status.state = state;
    this.resolveFinished();
  }
}

export class Supervisor {
  private readonly slots: CameraSlot[];
  private readonly policy: RestartPolicy;
  private readonly log: PipelineLog;
  private stopping = false;
  private started = false;

  constructor(private readonly opts: SupervisorOptions) {
    this.policy = opts.restart ?? DEFAULT_RESTART;
    this.log = opts.log ?? (() => {});
    this.slots = opts.cameras.filter((c) => c.enabled).map((c) => new CameraSlot(c, this.policy));
  }

  start(): void {
    this.started = true;
    for (const slot of this.slots) this.spawn(slot);
  }

  /**
   * Applies an edited camera while running: the old worker (if any) is stopped (its tracks
   * finalized), then the new config starts, with a fresh restart budget. A disabled camera
   * is just stopped and dropped.
   */
  async upsertCamera(camera: CameraConfig, previousId = camera.id): Promise<void> {
    if (this.stopping) return;
    // Someone watching the old camera's preview keeps watching the edited one.
    const watched = this.slots.find((s) => s.camera.id === previousId)?.preview ?? false;
    await this.removeCamera(previousId);
    if (camera.id !== previousId) await this.removeCamera(camera.id);
    if (!camera.enabled || this.stopping) return;
    const slot = new CameraSlot(camera, this.policy);
    slot.preview = watched;
    this.slots.push(slot);
    if (this.started) this.spawn(slot);
  }

  /** Stops one camera and forgets it; false when no camera has that id. */
  async removeCamera(id: string, graceMs = 15_000): Promise<boolean> {
    const slot = this.slots.find((s) => s.camera.id === id);
    if (!slot) return false;
    slot.stopRequested = true;
    if (slot.timer) {
      clearTimeout(slot.timer);
      slot.timer = null;
      slot.settle('stopped');
    }
    if (!slot.worker && slot.status.state !== 'finished' && slot.status.state !== 'failed') slot.settle('stopped');
    slot.worker?.postMessage({ type: 'stop' } satisfies SupervisorMessage);
    const grace = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([slot.finished, grace])) === 'timeout') await slot.worker?.terminate();
    await slot.finished;
    const index = this.slots.indexOf(slot);
    if (index >= 0) this.slots.splice(index, 1);
    return true;
  }

  /** Turns JPEG previews of one camera on or off; false when no camera has that id. */
  setPreview(id: string, on: boolean): boolean {
    const slot = this.slots.find((s) => s.camera.id === id);
    if (!slot) return false;
    slot.preview = on;
    slot.worker?.postMessage({ type: 'preview', on } satisfies SupervisorMessage);
    return true;
  }

  status(): CameraStatus[] {
    return this.slots.map((s) => ({ ...s.status }));
  }

  /** Resolves when every camera has finished (files), failed for good, or been stopped. */
  async done(): Promise<CameraStatus[]> {
    await Promise.all(this.slots.map((s) => s.finished));
    return this.status();
  }

  /** Asks every worker to stop (tracks in view are finalized and their events handed on), then waits. */
  async stop(graceMs = 15_000): Promise<CameraStatus[]> {
    this.stopping = true;
    for (const slot of this.slots) {
      if (slot.timer) {
        clearTimeout(slot.timer);
        slot.timer = null;
        slot.settle('stopped');
      }
      slot.worker?.postMessage({ type: 'stop' } satisfies SupervisorMessage);
    }
    const grace = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), graceMs).unref());
    if ((await Promise.race([this.done(), grace])) === 'timeout') {
      this.log('warn', 'cameras did not stop in time; terminating their workers', { grace_ms: graceMs });
      await Promise.all(this.slots.map((s) => s.worker?.terminate()));
    }
    return this.done();
  }

  private spawn(slot: CameraSlot): void {
    const init: WorkerInit = {
      camera: slot.camera,
      configs: this.opts.configs,
      host: this.opts.host ?? null,
      frameReportsPerSecond: this.opts.onFrame ? (this.opts.frameReportsPerSecond ?? 5) : 0,
    };
    const worker = newWorker(init);
    slot.worker = worker;
    slot.status.state = slot.status.restarts > 0 ? 'restarting' : 'starting';
    let result: CameraRunResult | null = null;
    let failure: string | null = null;
    worker.on('message', (m: WorkerMessage) => {
      switch (m.type) {
        case 'ready':
          slot.status.state = 'running';
          slot.backoff.connected(Date.now());
          if (slot.preview) worker.postMessage({ type: 'preview', on: true } satisfies SupervisorMessage);
          break;
        case 'event':
          void this.take(worker, slot.camera.id, m.seq, m.event, m.images, m.update);
          break;
        case 'frame':
          this.opts.onFrame?.(slot.camera.id, m.report);
          break;
        case 'jpeg':
          this.opts.onJpeg?.(slot.camera.id, { index: m.index, w: m.w, h: m.h, data: m.data });
          break;
        case 'stats':
          slot.status.latest = m.result;
          break;
        case 'log':
          this.log(m.level, m.message, { camera_id: slot.camera.id, ...m.details });
          break;
        case 'done':
          result = m.result;
          break;
        case 'failed':
          failure = m.code ? `${m.code}: ${m.error}` : m.error;
          break;
      }
    });
    worker.on('error', (err) => {
      failure = err.message;
    });
    worker.on('exit', (code) => {
      slot.worker = null;
      if (result) {
        slot.status.result = result;
        slot.status.latest = { pipeline: result.pipeline, source: result.source };
        slot.settle(this.stopping || slot.stopRequested ? 'stopped' : 'finished');
        return;
      }
      slot.status.lastError = failure ?? `worker exited with code ${code}`;
      if (this.stopping || slot.stopRequested) return slot.settle('stopped');
      this.restartOrGiveUp(slot);
    });
  }

  private restartOrGiveUp(slot: CameraSlot): void {
    const now = Date.now();
    slot.restartTimes = slot.restartTimes.filter((t) => now - t < this.policy.windowMs);
    if (slot.restartTimes.length >= this.policy.maxRestarts) {
      this.log('error', 'camera failed too often; giving up on it', {
        camera_id: slot.camera.id,
        restarts: slot.status.restarts,
        window_ms: this.policy.windowMs,
        error: slot.status.lastError,
      });
      slot.settle('failed');
      return;
    }
    const delay = slot.backoff.failed(now);
    slot.restartTimes.push(now);
    slot.status.restarts++;
    slot.status.state = 'restarting';
    this.log('warn', 'camera worker died; restarting', {
      camera_id: slot.camera.id,
      in_ms: delay,
      error: slot.status.lastError,
      restarts: slot.status.restarts,
    });
    slot.timer = setTimeout(() => {
      slot.timer = null;
      if (!this.stopping) this.spawn(slot);
    }, delay);
  }

  private async take(worker: Worker, cameraId: string, seq: number, event: PlateEvent, images: WireImages, update: boolean): Promise<void> {
    let error: string | undefined;
    try {
      await this.opts.sink.write({
        event,
        images: { plate: toBuffer(images.plate), vehicle: toBuffer(images.vehicle), frame: toBuffer(images.frame) },
        update,
      });
      this.opts.onEvent?.(event);
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
      this.log('error', 'sink refused an event', { camera_id: cameraId, event_id: event.event_id, error });
    }
    // The worker may be gone (terminated at shutdown); the event is in the sink either way.
    try {
      worker.postMessage({ type: 'ack', seq, error } satisfies SupervisorMessage);
    } catch {
      /* worker already exited */
    }
  }
}

function toBuffer(u: Uint8Array | null | undefined): Buffer | null {
  return u ? Buffer.from(u.buffer, u.byteOffset, u.byteLength) : null;
}
