/**
 * JPEG previews of a camera for the console's live view. Encoding costs CPU the pipeline
 * needs, so it only runs while someone watches, at most `fps` times a second, one encode at a
 * time (a frame arriving while the previous one is still encoding is skipped, never queued),
 * and downscaled to at most `maxWidth` pixels wide.
 */
import sharp from 'sharp';
import type { RgbImage } from '../vision/image.js';

export interface PreviewJpeg {
  index: number;
  w: number;
  h: number;
  data: Uint8Array;
}

export interface PreviewEncoderOptions {
  fps?: number;
  maxWidth?: number;
  quality?: number;
  onJpeg: (jpeg: PreviewJpeg) => void;
  onError?: (err: unknown) => void;
}

export class PreviewEncoder {
  private on = false;
  private busy = false;
  private last = -Infinity;
  private readonly minGapMs: number;
  private readonly maxWidth: number;
  private readonly quality: number;

  constructor(private readonly opts: PreviewEncoderOptions) {
    this.minGapMs = 1000 / (opts.fps ?? 5);
    this.maxWidth = opts.maxWidth ?? 960;
    this.quality = opts.quality ?? 70;
  }

  setWatched(on: boolean): void {
    this.on = on;
  }

  get watched(): boolean {
    return this.on;
  }

  offer(index: number, img: RgbImage): void {
    if (!this.on || this.busy) return;
    const now = performance.now();
    if (now - this.last < this.minGapMs) return;
    this.last = now;
    this.busy = true;
    const width = Math.min(this.maxWidth, img.width);
    const height = Math.max(1, Math.round((img.height * width) / img.width));
    sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), { raw: { width: img.width, height: img.height, channels: 3 } })
      .resize(width, height, { fit: 'fill' })
      .jpeg({ quality: this.quality })
      .toBuffer()
      .then(
        (buf) => this.opts.onJpeg({ index, w: width, h: height, data: new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength) }),
        (err: unknown) => this.opts.onError?.(err),
      )
      .finally(() => {
        this.busy = false;
      });
  }
}
