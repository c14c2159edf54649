/**
 * One camera on a canvas: the latest JPEG of its MJPEG stream (decoded off the main thread
 * with createImageBitmap) with the overlay boxes drawn over it. Drawing happens in
 * requestAnimationFrame, only when a new frame or overlay arrived; overlays are read from the
 * zustand store's transient state. React renders this component once per camera, never per frame.
 */
import { useEffect, useRef, useState } from 'react';
import { readMjpeg } from '../../api/mjpeg';
import { useLiveStore } from '../../state/live-store';
import { drawOverlay, readStyle } from './draw-overlay';

/** An overlay older than this is stale (the camera stalled, or nothing moves): the boxes go. */
const STALE_MS = 1500;

export function CameraView({ cameraId, aspect, large }: { cameraId: string; aspect: number; large?: boolean }) {
  const canvasRef = useRef<HTMLCanvasElement>(null);
  const [video, setVideo] = useState<'connecting' | 'playing' | 'lost'>('connecting');

  useEffect(() => {
    const canvas = canvasRef.current;
    if (!canvas) return;
    const style = readStyle(canvas);
    const ctl = new AbortController();
    let bitmap: ImageBitmap | null = null;
    let newBitmap = false;
    let decoding = false;
    let frames = 0;

    // The stream: each JPEG becomes the current bitmap; one decode at a time (a frame that
    // arrives while the last is still decoding is skipped: only the newest matters).
    const connect = async () => {
      while (!ctl.signal.aborted) {
        try {
          await readMjpeg(
            `/cameras/${encodeURIComponent(cameraId)}/stream.mjpeg`,
            (jpeg) => {
              if (decoding) return;
              decoding = true;
              createImageBitmap(jpeg)
                .then((b) => {
                  bitmap?.close();
                  bitmap = b;
                  newBitmap = true;
                  if (frames++ === 0) setVideo('playing');
                })
                .catch(() => {})
                .finally(() => (decoding = false));
            },
            ctl.signal,
          );
        } catch {
          if (ctl.signal.aborted) return;
        }
        if (ctl.signal.aborted) return;
        setVideo('lost');
        frames = 0;
        await new Promise((r) => setTimeout(r, 3000));
      }
    };
    void connect();

    let raf = 0;
    let lastIndex = -1;
    let lastW = 0;
    let lastH = 0;
    let draws = 0;
    let overlayShown = false;
    const frame = () => {
      raf = requestAnimationFrame(frame);
      const dpr = window.devicePixelRatio || 1;
      const w = Math.round(canvas.clientWidth * dpr);
      const h = Math.round(canvas.clientHeight * dpr);
      const resized = w !== lastW || h !== lastH;
      if (resized) {
        canvas.width = w;
        canvas.height = h;
        lastW = w;
        lastH = h;
      }
      const o = useLiveStore.getState().overlays[cameraId];
      const fresh = o !== undefined && performance.now() - o.at < STALE_MS;
      const overlayChanged = fresh ? o.index !== lastIndex : overlayShown;
      if (!resized && !newBitmap && !overlayChanged) return;
      newBitmap = false;
      drawOverlay(canvas, fresh ? o : undefined, style, bitmap);
      overlayShown = fresh;
      if (fresh) {
        lastIndex = o.index;
        draws++;
        // For tests and for a person inspecting the page: overlays drawn, boxes in the last one.
        canvas.dataset.draws = String(draws);
        canvas.dataset.boxes = String(o.tracks.length + o.plates.length);
      }
      canvas.dataset.frames = String(frames);
    };
    raf = requestAnimationFrame(frame);
    return () => {
      ctl.abort();
      cancelAnimationFrame(raf);
      bitmap?.close();
    };
  }, [cameraId]);

  return (
    <div className={large ? 'camera-view camera-view-large' : 'camera-view'} style={{ aspectRatio: String(aspect) }}>
      <canvas ref={canvasRef} data-camera={cameraId} role="img" aria-label={`Live video of camera ${cameraId} with tracked vehicles and plates`} />
      {video !== 'playing' && <div className="camera-view-msg">{video === 'connecting' ? 'Waiting for video…' : 'Video interrupted; reconnecting…'}</div>}
    </div>
  );
}
