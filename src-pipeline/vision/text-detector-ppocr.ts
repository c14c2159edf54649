/**
 * PP-OCRv4 text detection (DB): a permissively licensed way to find the text lines on a plate
 * crop (or a whole frame), independent of the y5fu plate detector.
 */
import { quadBounds, type Box, type Point, type Quad } from '../common/geometry.js';
import { dbPostprocess, rectCorners } from './db-postprocess.js';
import { resizeImage, type RgbImage } from './image.js';
import type { TextDetectionModelEntry } from './model-manifest.js';
import { getSession, ort, runSingle } from './session.js';
import { quadSize, warpQuad } from './warp.js';

export interface TextBox {
  /** TL, TR, BR, BL in source pixels. */
  quad: Quad;
  /** Axis-aligned bounds of `quad`, clamped to the image. */
  box: Box;
  /** Mean text probability over the region. */
  score: number;
}

/**
 * PaddleOCR's DetResizeForTest (limit_type "max"): shrink so the longer side fits `maxSide`,
 * round each side to a multiple of 32. PaddleOCR never upscales; `minSide` optionally does,
 * because text on small plate crops (under ~60 px high) is otherwise too thin to be found.
 */
export function detInputSize(width: number, height: number, maxSide: number, minSide = 0): { width: number; height: number } {
  const long = Math.max(width, height);
  const short = Math.min(width, height);
  const ratio = long > maxSide ? maxSide / long : short < minSide ? Math.min(minSide / short, maxSide / long) : 1;
  const to32 = (v: number) => Math.max(32, Math.round(Math.trunc(v * ratio) / 32) * 32);
  // Rounding to the nearest 32 can overshoot by 16 px; keep the documented cap.
  const cap = Math.max(32, Math.floor(maxSide / 32) * 32);
  return { width: Math.min(to32(width), cap), height: Math.min(to32(height), cap) };
}

export interface TextDetectorOptions {
  /** Upscale inputs whose shorter side is below this (0: never upscale, PaddleOCR's default). */
  minSide?: number;
  /** Cap on the longer input side; the manifest's `maxSide` when omitted. */
  maxSide?: number;
}

export class PpOcrTextDetector {
  readonly entry: TextDetectionModelEntry;
  readonly minSide: number;
  readonly maxSide: number;
  private session!: ort.InferenceSession;

  private constructor(entry: TextDetectionModelEntry, opts: TextDetectorOptions) {
    this.entry = entry;
    this.minSide = opts.minSide ?? 0;
    this.maxSide = opts.maxSide ?? entry.input.maxSide;
  }

  static async create(entry: TextDetectionModelEntry, opts: TextDetectorOptions = {}): Promise<PpOcrTextDetector> {
    const d = new PpOcrTextDetector(entry, opts);
    d.session = await getSession(entry);
    return d;
  }

  /** Text boxes sorted in reading order (top-to-bottom, then left-to-right within a line). */
  async detect(img: RgbImage): Promise<TextBox[]> {
    const { input, output } = this.entry;
    const { width: W, height: H } = detInputSize(img.width, img.height, this.maxSide, this.minSide);
    const resized = resizeImage(img, W, H);
    const plane = W * H;
    const tensor = new Float32Array(3 * plane);
    const srcCh = input.order === 'rgb' ? [0, 1, 2] : [2, 1, 0];
    for (let c = 0; c < 3; c++) {
      const k = input.scale / input.std[c];
      const b = -input.mean[c] / input.std[c];
      const d = resized.data;
      for (let i = 0, s = srcCh[c], o = c * plane; i < plane; i++, s += 3) tensor[o + i] = d[s] * k + b;
    }
    const out = await runSingle(this.session, input.name, new ort.Tensor('float32', tensor, [1, 3, H, W]));
    const [mh, mw] = out.dims.slice(-2);
    const boxes = dbPostprocess(out.data as Float32Array, mw, mh, output);
    const sx = img.width / mw;
    const sy = img.height / mh;
    const clampPt = (p: Point): Point => ({ x: Math.min(Math.max(p.x * sx, 0), img.width), y: Math.min(Math.max(p.y * sy, 0), img.height) });
    const result = boxes.map((b): TextBox => {
      const quad = rectCorners(b.rect).map(clampPt) as Quad;
      return { quad, box: quadBounds(quad), score: b.score };
    });
    return sortReadingOrder(result);
  }
}

/**
 * Sorts by top edge, then swaps neighbours on the same line into left-to-right order (as
 * PaddleOCR's sorted_boxes, but "same line" scales with box height instead of a fixed 10 px).
 */
export function sortReadingOrder(boxes: TextBox[]): TextBox[] {
  const b = [...boxes].sort((p, q) => p.box.y1 - q.box.y1 || p.box.x1 - q.box.x1);
  for (let i = 0; i < b.length - 1; i++) {
    for (let j = i; j >= 0; j--) {
      const tol = 0.5 * Math.min(b[j].box.y2 - b[j].box.y1, b[j + 1].box.y2 - b[j + 1].box.y1);
      if (Math.abs(b[j + 1].box.y1 - b[j].box.y1) < tol && b[j + 1].box.x1 < b[j].box.x1) [b[j], b[j + 1]] = [b[j + 1], b[j]];
      else break;
    }
  }
  return b;
}

/** Rectified crop of a text box for the recogniser (PaddleOCR's get_rotate_crop_image, without its 90° turn for tall boxes). */
export function cropTextBox(img: RgbImage, t: TextBox): RgbImage | null {
  const { width, height } = quadSize(t.quad);
  const w = Math.max(1, Math.round(width));
  const h = Math.max(1, Math.round(height));
  return warpQuad(img, t.quad, w, h);
}
