/**
 * Live preview of the cameras for the console: the latest JPEG of each camera (MJPEG streams
 * and frame.jpg) and the overlay boxes of analysed frames (the /live/overlays WebSocket).
 *
 * JPEGs cost the camera worker CPU, so they are only made while someone watches: the first
 * watcher of a camera turns its encoder on through `setWatched`, and the last one to leave turns
 * it off (after a short linger, so a page reload does not flap the encoder). Both kinds of
 * client are lossy by design: a slow reader gets the newest frame or overlay, never a backlog.
 */
import type { WebSocket } from 'ws';
import type { FrameReport } from '../pipeline/camera-pipeline.js';
import type { OverlayMessage } from '../common/live-overlay.js';

const OPEN = 1;

export interface PreviewFrame {
  index: number;
  w: number;
  h: number;
  jpeg: Buffer;
  /** Date.now() when it arrived. */
  at: number;
}

export type { OverlayMessage };

interface Watcher {
  frame: (f: PreviewFrame) => void;
  end: () => void;
}

export interface PreviewHubOptions {
  /** Turns a camera's JPEG encoder on or off (the supervisor's setPreview). Absent: no pipeline, so no frames. */
  setWatched?: (cameraId: string, on: boolean) => void;
  /** How long a camera stays watched after its last watcher left. */
  lingerMs?: number;
  /** Unsent bytes an overlay socket may hold before overlays for it are skipped. */
  overlayHighWaterBytes?: number;
}

const round = (n: number) => Math.round(n);
const box = (b: { x1: number; y1: number; x2: number; y2: number }): [number, number, number, number] => [round(b.x1), round(b.y1), round(b.x2), round(b.y2)];

/** The wire form of a frame report: small, rounded, ids as strings like the plate event's track_id. */
export function overlayMessage(cameraId: string, r: FrameReport): OverlayMessage {
  return {
    type: 'overlay',
    camera_id: cameraId,
    index: r.index,
    w: r.w,
    h: r.h,
    tracks: r.tracks.map((t) => ({
      id: String(t.id),
      type: t.type,
      box: box(t.box),
      plate: t.plate,
      confidence: t.plate ? Math.round(t.confidence * 1000) / 1000 : null,
    })),
    plates: r.plates.map((p) => ({ track_id: String(p.track_id), box: box(p.box), text: p.text, confidence: Math.round(p.confidence * 1000) / 1000 })),
  };
}

export class PreviewHub {
  private readonly latest = new Map<string, PreviewFrame>();
  private readonly watchers = new Map<string, Set<Watcher>>();
  private readonly lingering = new Map<string, NodeJS.Timeout>();
  private readonly overlayClients = new Set<WebSocket>();
  private overlaysSent = 0;

  constructor(private readonly opts: PreviewHubOptions = {}) {}

  /** True when this server runs a pipeline that can make frames. */
  get enabled(): boolean {
    return this.opts.setWatched !== undefined;
  }

  /** A new JPEG from a camera worker. */
  jpeg(cameraId: string, j: { index: number; w: number; h: number; data: Uint8Array }): void {
    const frame: PreviewFrame = { index: j.index, w: j.w, h: j.h, jpeg: Buffer.from(j.data.buffer, j.data.byteOffset, j.data.byteLength), at: Date.now() };
    this.latest.set(cameraId, frame);
    for (const w of this.watchers.get(cameraId) ?? []) w.frame(frame);
  }

  /** A frame report from a camera worker; sent on to overlay sockets, if any. */
  overlay(cameraId: string, report: FrameReport): void {
    if (this.overlayClients.size === 0) return;
    const message = JSON.stringify(overlayMessage(cameraId, report));
    const high = this.opts.overlayHighWaterBytes ?? 64 * 1024;
    for (const socket of this.overlayClients) {
      // Overlays are only worth anything fresh: a client behind skips them rather than queueing.
      if (socket.readyState !== OPEN || socket.bufferedAmount > high) continue;
      socket.send(message);
      this.overlaysSent++;
    }
  }

  latestFrame(cameraId: string): PreviewFrame | undefined {
    return this.latest.get(cameraId);
  }

  /** Receives every new JPEG of a camera until the returned function is called. */
  watch(cameraId: string, frame: (f: PreviewFrame) => void, end: () => void = () => {}): () => void {
    let set = this.watchers.get(cameraId);
    if (!set) this.watchers.set(cameraId, (set = new Set()));
    const w: Watcher = { frame, end };
    set.add(w);
    const linger = this.lingering.get(cameraId);
    if (linger) {
      clearTimeout(linger);
      this.lingering.delete(cameraId);
    } else if (set.size === 1) this.opts.setWatched?.(cameraId, true);
    return () => {
      if (!set.delete(w) || set.size > 0) return;
      // Lingers so a reload, or the next frame.jpg poll, finds the encoder still running.
      const t = setTimeout(() => {
        this.lingering.delete(cameraId);
        if ((this.watchers.get(cameraId)?.size ?? 0) === 0) this.opts.setWatched?.(cameraId, false);
      }, this.opts.lingerMs ?? 10_000);
      t.unref();
      this.lingering.set(cameraId, t);
    };
  }

  /**
   * The newest frame of a camera: the held one if it is under `freshMs` old, else the next one
   * to arrive within `timeoutMs` (turning the encoder on for it), else whatever is held, or null.
   */
  async nextFrame(cameraId: string, timeoutMs = 5000, freshMs = 1000): Promise<PreviewFrame | null> {
    const held = this.latest.get(cameraId);
    if (held && Date.now() - held.at < freshMs) return held;
    if (!this.enabled) return held ?? null;
    return new Promise((resolve) => {
      let stop = () => {};
      const timer = setTimeout(() => {
        stop();
        resolve(this.latest.get(cameraId) ?? null);
      }, timeoutMs);
      stop = this.watch(
        cameraId,
        (f) => {
          clearTimeout(timer);
          stop();
          resolve(f);
        },
        () => {
          clearTimeout(timer);
          resolve(this.latest.get(cameraId) ?? null);
        },
      );
    });
  }

  addOverlayClient(socket: WebSocket): void {
    this.overlayClients.add(socket);
    const remove = () => this.overlayClients.delete(socket);
    socket.on('close', remove);
    socket.on('error', remove);
    socket.send(JSON.stringify({ type: 'hello', kind: 'overlays' }));
  }

  stats(): { overlay_clients: number; overlays_sent: number; watched: string[] } {
    return {
      overlay_clients: this.overlayClients.size,
      overlays_sent: this.overlaysSent,
      watched: [...this.watchers].filter(([, s]) => s.size > 0).map(([id]) => id),
    };
  }

  /** Ends every stream and socket (server shutdown: open MJPEG responses would hold close() forever). */
  close(): void {
    for (const t of this.lingering.values()) clearTimeout(t);
    this.lingering.clear();
    for (const set of this.watchers.values()) for (const w of [...set]) w.end();
    this.watchers.clear();
    for (const s of this.overlayClients) s.close(1001, 'server shutting down');
    this.overlayClients.clear();
  }
}
