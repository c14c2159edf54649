/**
 * Images in the pipeline are packed 8-bit RGB, row-major, no padding. Everything downstream
 * (letterbox, crops, warps) works on this one shape so frames from ffmpeg and decoded photos
 * are interchangeable.
 */
import sharp from 'sharp';
import { AlprError } from '../common/errors.js';
import type { Box } from '../common/geometry.js';

export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

export function createImage(width: number, height: number): RgbImage {
  return { width, height, data: new Uint8Array(width * height * 3) };
}

/** Decodes JPEG/PNG/WebP/etc. from a path or buffer, applying EXIF orientation. */
export async function decodeImage(input: string | Buffer): Promise<RgbImage> {
  try {
    const { data, info } = await sharp(input, { failOn: 'error' }).rotate().removeAlpha().toColourspace('srgb').raw().toBuffer({ resolveWithObject: true });
    if (info.channels !== 3) throw new Error(`expected 3 channels, got ${info.channels}`);
    return { width: info.width, height: info.height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
  } catch (err) {
    const what = typeof input === 'string' ? input : 'buffer';
    throw new AlprError('IMAGE_UNREADABLE', `cannot decode image ${what}: ${(err as Error).message}`, { cause: err, details: { file: what } });
  }
}

export async function encodeJpeg(img: RgbImage, quality = 90): Promise<Buffer> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .jpeg({ quality })
    .toBuffer();
}

export async function encodePng(img: RgbImage): Promise<Buffer> {
  return sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .png()
    .toBuffer();
}

/** Integer crop, clamped to the image; a crop entirely outside yields 1x1 of the nearest edge pixel. */
export function cropImage(img: RgbImage, box: Box): RgbImage {
  const x1 = Math.max(0, Math.min(img.width - 1, Math.floor(box.x1)));
  const y1 = Math.max(0, Math.min(img.height - 1, Math.floor(box.y1)));
  const x2 = Math.max(x1 + 1, Math.min(img.width, Math.ceil(box.x2)));
  const y2 = Math.max(y1 + 1, Math.min(img.height, Math.ceil(box.y2)));
  const w = x2 - x1;
  const h = y2 - y1;
  const out = createImage(w, h);
  const rowBytes = w * 3;
  for (let y = 0; y < h; y++) {
    const src = ((y1 + y) * img.width + x1) * 3;
    out.data.set(img.data.subarray(src, src + rowBytes), y * rowBytes);
  }
  return out;
}

/**
 * Bilinear resize, sampling pixel centres (same convention as OpenCV's INTER_LINEAR). When
 * shrinking by more than 2x it first box-averages so thin plate strokes are not aliased away.
 */
export function resizeImage(img: RgbImage, width: number, height: number): RgbImage {
  let src = img;
  while (width > 0 && height > 0 && src.width >= width * 2 && src.height >= height * 2) src = halve(src);
  if (src.width === width && src.height === height) return src === img ? { ...img, data: img.data.slice() } : src;
  return bilinear(src, width, height);
}

/** Bilinear resampling in 8-bit fixed point: weights are 0..256, so rows stay in int32 range. */
function bilinear(src: RgbImage, width: number, height: number): RgbImage {
  const out = createImage(width, height);
  const sx = src.width / width;
  const sy = src.height / height;
  const sw = src.width;
  const xs0 = new Int32Array(width);
  const xs1 = new Int32Array(width);
  const wx = new Int32Array(width);
  for (let x = 0; x < width; x++) {
    let f = (x + 0.5) * sx - 0.5;
    if (f < 0) f = 0;
    const x0 = Math.min(Math.floor(f), src.width - 1);
    xs0[x] = x0 * 3;
    xs1[x] = Math.min(x0 + 1, src.width - 1) * 3;
    wx[x] = Math.round((f - x0) * 256);
  }
  const s = src.data;
  const d = out.data;
  let o = 0;
  for (let y = 0; y < height; y++) {
    let f = (y + 0.5) * sy - 0.5;
    if (f < 0) f = 0;
    const y0 = Math.min(Math.floor(f), src.height - 1);
    const y1 = Math.min(y0 + 1, src.height - 1);
    const wy = Math.round((f - y0) * 256);
    const iy = 256 - wy;
    const r0 = y0 * sw * 3;
    const r1 = y1 * sw * 3;
    for (let x = 0; x < width; x++) {
      const a = r0 + xs0[x];
      const b = r0 + xs1[x];
      const c = r1 + xs0[x];
      const e = r1 + xs1[x];
      const fx = wx[x];
      const ix = 256 - fx;
      d[o] = ((s[a] * ix + s[b] * fx) * iy + (s[c] * ix + s[e] * fx) * wy + 32768) >> 16;
      d[o + 1] = ((s[a + 1] * ix + s[b + 1] * fx) * iy + (s[c + 1] * ix + s[e + 1] * fx) * wy + 32768) >> 16;
      d[o + 2] = ((s[a + 2] * ix + s[b + 2] * fx) * iy + (s[c + 2] * ix + s[e + 2] * fx) * wy + 32768) >> 16;
      o += 3;
    }
  }
  return out;
}

function halve(img: RgbImage): RgbImage {
  const w = img.width >> 1;
  const h = img.height >> 1;
  const out = createImage(w, h);
  const s = img.data;
  const d = out.data;
  const stride = img.width * 3;
  let o = 0;
  for (let y = 0; y < h; y++) {
    let i0 = 2 * y * stride;
    let i1 = i0 + stride;
    for (let x = 0; x < w; x++) {
      d[o] = (s[i0] + s[i0 + 3] + s[i1] + s[i1 + 3] + 2) >> 2;
      d[o + 1] = (s[i0 + 1] + s[i0 + 4] + s[i1 + 1] + s[i1 + 4] + 2) >> 2;
      d[o + 2] = (s[i0 + 2] + s[i0 + 5] + s[i1 + 2] + s[i1 + 5] + 2) >> 2;
      o += 3;
      i0 += 6;
      i1 += 6;
    }
  }
  return out;
}

/**
 * Downscale through libvips (SIMD, off the JS thread): the detectors' inputs are a fraction
 * of a 1080p frame, and shrinking that in JS costs more than the inference it feeds.
 */
export async function shrinkImage(img: RgbImage, width: number, height: number): Promise<RgbImage> {
  const data = await sharp(Buffer.from(img.data.buffer, img.data.byteOffset, img.data.byteLength), {
    raw: { width: img.width, height: img.height, channels: 3 },
  })
    .resize(width, height, { fit: 'fill' })
    .raw()
    .toBuffer();
  return { width, height, data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) };
}

export interface Letterbox {
  /** Scale applied to the source image. */
  scale: number;
  /** Offset of the scaled image inside the square canvas. */
  padX: number;
  padY: number;
  size: number;
}

/**
 * Fits an image into size x size keeping aspect. `centre` pads on both sides (YOLOv5 style),
 * otherwise the image sits in the top-left corner (YOLOX style).
 */
export function letterboxParams(width: number, height: number, size: number, centre: boolean): Letterbox {
  const scale = Math.min(size / width, size / height);
  const nw = Math.round(width * scale);
  const nh = Math.round(height * scale);
  return { scale, size, padX: centre ? Math.floor((size - nw) / 2) : 0, padY: centre ? Math.floor((size - nh) / 2) : 0 };
}

export type ChannelOrder = 'rgb' | 'bgr';

export interface TensorSpec {
  size: number;
  centre: boolean;
  order: ChannelOrder;
  /** value = (pixel * scale - mean[c]) / std[c] */
  scale: number;
  mean?: [number, number, number];
  std?: [number, number, number];
  padValue: number;
}

/** Letterboxes and converts to a planar float32 CHW tensor in one pass. */
export function letterboxToTensor(img: RgbImage, spec: TensorSpec): { tensor: Float32Array; lb: Letterbox } {
  const lb = letterboxParams(img.width, img.height, spec.size, spec.centre);
  const nw = Math.round(img.width * lb.scale);
  const nh = Math.round(img.height * lb.scale);
  const resized = nw === img.width && nh === img.height ? img : resizeImage(img, nw, nh);
  const S = spec.size;
  const plane = S * S;
  const tensor = new Float32Array(3 * plane);
  const mean = spec.mean ?? [0, 0, 0];
  const std = spec.std ?? [1, 1, 1];
  // Channel c of the tensor reads source channel srcCh[c].
  const srcCh = spec.order === 'rgb' ? [0, 1, 2] : [2, 1, 0];
  for (let c = 0; c < 3; c++) {
    const pad = (spec.padValue * spec.scale - mean[c]) / std[c];
    tensor.fill(pad, c * plane, (c + 1) * plane);
  }
  const d = resized.data;
  for (let c = 0; c < 3; c++) {
    const k = spec.scale / std[c];
    const b = -mean[c] / std[c];
    const sc = srcCh[c];
    const base = c * plane;
    for (let y = 0; y < nh; y++) {
      let o = base + (y + lb.padY) * S + lb.padX;
      let i = y * nw * 3 + sc;
      for (let x = 0; x < nw; x++, i += 3) tensor[o++] = d[i] * k + b;
    }
  }
  return { tensor, lb };
}

/** Maps a box from letterboxed tensor coordinates back to the source image. */
export function unletterboxBox(b: Box, lb: Letterbox): Box {
  return {
    x1: (b.x1 - lb.padX) / lb.scale,
    y1: (b.y1 - lb.padY) / lb.scale,
    x2: (b.x2 - lb.padX) / lb.scale,
    y2: (b.y2 - lb.padY) / lb.scale,
  };
}

export function unletterboxPoint(x: number, y: number, lb: Letterbox): { x: number; y: number } {
  return { x: (x - lb.padX) / lb.scale, y: (y - lb.padY) / lb.scale };
}

/** Mean luma, handy for picking enhancement strategies on dark (night) crops. */
export function meanLuma(img: RgbImage): number {
  const d = img.data;
  let sum = 0;
  for (let i = 0; i < d.length; i += 3) sum += 0.299 * d[i] + 0.587 * d[i + 1] + 0.114 * d[i + 2];
  return sum / (d.length / 3);
}
