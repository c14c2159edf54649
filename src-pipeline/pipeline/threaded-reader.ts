/**
 * Plate reads (plate detector + OCR on one vehicle's region) in a worker thread of their own.
 *
 * onnxruntime-node runs a session's inference synchronously on the thread that calls it, so
 * inline reads and the vehicle detector take turns on one core. In a thread of their own, the
 * reads of frame N run on a second core while the vehicle detector works on frame N+1.
 *
 * Only the region crosses the thread boundary, with a margin for the plate views' padding, as
 * a transferred copy: a few hundred KB instead of the 2.7 MB frame. The results are the ones
 * an inline read of the whole frame gives (test/integration/threaded-reader.test.ts).
 */
import type { Worker } from 'node:worker_threads';
import type { Box } from '../common/geometry.js';
import { clampBox } from '../common/geometry.js';
import { AlprError, type ErrorCode } from '../common/errors.js';
import type { RecognitionConfig } from '../common/recognition-config.js';
import { cropImage, type RgbImage } from '../vision/image.js';
import type { DetectTimings } from '../vision/object-detector.js';
import type { PlateResult, RejectedRead } from '../vision/plate-candidates.js';
import type { FrameAnalyzer, PipelineLog } from './camera-pipeline.js';
import { spawnWorker } from './worker-spawn.js';

export type ReadOptions = NonNullable<Parameters<FrameAnalyzer['readRegion']>[2]>;
export type RegionRead = Awaited<ReturnType<FrameAnalyzer['readRegion']>>;

export interface ReaderInit {
  recognition: RecognitionConfig;
  /** Every read is primaryOnly (the thread has no second OCR model to consult). */
  primaryOnly: boolean;
}
export interface ReadRequest {
  type: 'read';
  id: number;
  image: RgbImage;
  region: Box;
  opts: ReadOptions;
}
export type ReaderReply =
  | { type: 'ready' }
  | { type: 'init-error'; code: string; message: string }
  | ({ type: 'result'; id: number; t: DetectTimings } & RegionRead)
  | { type: 'error'; id: number; message: string };

/** A failed (re)start is not retried for this long: every frame would otherwise pay a model load. */
const RESPAWN_PAUSE_MS = 5000;

/**
 * The part of `img` a read of `region` can touch: the region plus 10% of its size on each side
 * (plate views pad a plate by up to 20% of its height, and a plate is a fraction of its vehicle),
 * clamped to the frame. `inner` is the region in the crop's pixels.
 */
export function regionCrop(img: RgbImage, region: Box): { image: RgbImage; ox: number; oy: number; inner: Box } {
  const r = clampBox(region, img.width, img.height);
  const mx = Math.ceil((r.x2 - r.x1) * 0.1) + 4;
  const my = Math.ceil((r.y2 - r.y1) * 0.1) + 4;
  const ox = Math.max(0, Math.floor(r.x1) - mx);
  const oy = Math.max(0, Math.floor(r.y1) - my);
  const image = cropImage(img, { x1: ox, y1: oy, x2: Math.min(img.width, Math.ceil(r.x2) + mx), y2: Math.min(img.height, Math.ceil(r.y2) + my) });
  return { image, ox, oy, inner: { x1: r.x1 - ox, y1: r.y1 - oy, x2: r.x2 - ox, y2: r.y2 - oy } };
}

const shift = (b: Box, dx: number, dy: number): Box => ({ x1: b.x1 + dx, y1: b.y1 + dy, x2: b.x2 + dx, y2: b.y2 + dy });

/** A crop's read in the frame's pixels. */
export function offsetRead(r: RegionRead, dx: number, dy: number): RegionRead {
  const plates = r.plates.map((p): PlateResult => ({
    ...p,
    box: shift(p.box, dx, dy),
    corners: p.corners ? (p.corners.map((c) => ({ x: c.x + dx, y: c.y + dy })) as PlateResult['corners']) : null,
    vehicle: p.vehicle ? { ...p.vehicle, box: shift(p.vehicle.box, dx, dy) } : null,
  }));
  const rejected = r.rejected.map((x): RejectedRead => ({ ...x, box: shift(x.box, dx, dy) }));
  return { plates, rejected, ocrMs: r.ocrMs };
}

export class ThreadedPlateReader {
  private ready: Promise<Worker> | null = null;
  private worker: Worker | null = null;
  private readonly pending = new Map<number, { resolve: (r: RegionRead & { t: DetectTimings }) => void; reject: (e: Error) => void }>();
  private seq = 0;
  private closed = false;
  private lastSpawnFailure: { at: number; error: Error } | null = null;
  private crashes = 0;

  private constructor(
    private readonly init: ReaderInit,
    private readonly log: PipelineLog,
  ) {}

  /**
   * Starts the thread and waits for its models, so a model that cannot load fails here, not on
   * the first plate. The thread loads only what region reads use: no text-line detector, and no
   * second OCR model when every read is `primaryOnly` (measured before any read: about 90 MB of
   * RSS per thread instead of 126 MB with every model).
   */
  static async start(recognition: RecognitionConfig, log: PipelineLog = () => {}, opts: { primaryOnly?: boolean } = {}): Promise<ThreadedPlateReader> {
    const regionOnly: RecognitionConfig = {
      ...recognition,
      text_fallback: false,
      models: { ...recognition.models, ocr_second: opts.primaryOnly ? null : recognition.models.ocr_second },
    };
    const r = new ThreadedPlateReader({ recognition: regionOnly, primaryOnly: opts.primaryOnly ?? false }, log);
    await r.thread();
    return r;
  }

  /** Threads that died under it and were replaced (a crashed read costs that read, not the camera). */
  get restarts(): number {
    return this.crashes;
  }

  async readRegion(img: RgbImage, region: Box, opts: ReadOptions = {}, t?: DetectTimings): Promise<RegionRead> {
    if (this.closed) throw new AlprError('INTERNAL', 'plate reader thread is closed');
    const crop = regionCrop(img, region);
    const worker = await this.thread();
    if (this.closed) throw new AlprError('INTERNAL', 'plate reader thread is closed');
    const id = ++this.seq;
    const reply = new Promise<RegionRead & { t: DetectTimings }>((resolve, reject) => this.pending.set(id, { resolve, reject }));
    const req: ReadRequest = { type: 'read', id, image: crop.image, region: crop.inner, opts: this.init.primaryOnly ? { ...opts, primaryOnly: true } : opts };
    worker.postMessage(req, [crop.image.data.buffer as ArrayBuffer]);
    const r = await reply;
    if (t) {
      t.preMs += r.t.preMs;
      t.inferMs += r.t.inferMs;
      t.postMs += r.t.postMs;
    }
    return offsetRead(r, crop.ox, crop.oy);
  }

  async close(): Promise<void> {
    this.closed = true;
    const w = this.worker;
    this.worker = null;
    this.ready = null;
    this.failPending(new AlprError('INTERNAL', 'plate reader thread closed'));
    await w?.terminate();
  }

  private thread(): Promise<Worker> {
    if (this.ready) return this.ready;
    const f = this.lastSpawnFailure;
    if (f && Date.now() - f.at < RESPAWN_PAUSE_MS) return Promise.reject(f.error);
    const ready = new Promise<Worker>((resolve, reject) => {
      const w = spawnWorker('plate-reader-worker', this.init);
      let up = false;
      w.on('message', (m: ReaderReply) => {
        if (m.type === 'ready') {
          if (this.closed) {
            // close() came while the models loaded: this thread is nobody's now.
            void w.terminate();
            reject(new AlprError('INTERNAL', 'plate reader thread closed'));
            return;
          }
          up = true;
          this.worker = w;
          this.lastSpawnFailure = null;
          resolve(w);
        } else if (m.type === 'init-error') {
          reject(new AlprError(m.code as ErrorCode, m.message));
        } else if (m.type === 'result') {
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          p?.resolve(m);
        } else if (m.type === 'error') {
          const p = this.pending.get(m.id);
          this.pending.delete(m.id);
          p?.reject(new Error(m.message));
        }
      });
      w.on('error', (err) => {
        if (!up) reject(err);
        else this.log('error', 'plate reader thread failed', { error: String(err) });
      });
      w.on('exit', (code) => {
        if (this.worker === w) this.worker = null;
        if (this.ready === ready) this.ready = null;
        if (!up) reject(new AlprError('INTERNAL', `plate reader thread exited (code ${code}) before its models loaded`));
        else if (!this.closed) {
          this.crashes++;
          this.log('warn', 'plate reader thread exited; the next read starts a new one', { code });
        }
        // Reads sent to this thread get no answer now; they fail and are retried on a later frame.
        this.failPending(new AlprError('INTERNAL', `plate reader thread exited (code ${code})`));
      });
    });
    ready.catch((error: Error) => {
      if (this.ready === ready) this.ready = null;
      this.lastSpawnFailure = { at: Date.now(), error };
    });
    this.ready = ready;
    return ready;
  }

  private failPending(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
