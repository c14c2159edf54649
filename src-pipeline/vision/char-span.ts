/**
 * Finds the span of a plate's main characters by connected components, the classic ALPR
 * segmentation step. Reading only that span drops what OCR otherwise reads as part of the
 * plate: stacked small letters at the edges (MA "RT", MN "HC"), county numbers, frame text.
 */
import type { Box } from '../common/geometry.js';
import type { RgbImage } from './image.js';
import { resizeImage } from './image.js';

export interface Component {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
  area: number;
}

/** 8-connected components of `mask` (1 = foreground), with bounding boxes. */
export function connectedComponents(mask: Uint8Array, w: number, h: number): Component[] {
  const labels = new Int32Array(w * h).fill(-1);
  const comps: Component[] = [];
  const stack: number[] = [];
  for (let start = 0; start < w * h; start++) {
    if (!mask[start] || labels[start] >= 0) continue;
    const id = comps.length;
    const c: Component = { x1: w, y1: h, x2: -1, y2: -1, area: 0 };
    labels[start] = id;
    stack.push(start);
    while (stack.length) {
      const p = stack.pop()!;
      const x = p % w;
      const y = (p - x) / w;
      c.area++;
      if (x < c.x1) c.x1 = x;
      if (x > c.x2) c.x2 = x;
      if (y < c.y1) c.y1 = y;
      if (y > c.y2) c.y2 = y;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = y + dy;
        if (ny < 0 || ny >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = x + dx;
          if (nx < 0 || nx >= w) continue;
          const q = ny * w + nx;
          if (mask[q] && labels[q] < 0) {
            labels[q] = id;
            stack.push(q);
          }
        }
      }
    }
    comps.push(c);
  }
  return comps;
}

/** Luma, with a local-mean threshold: strokes are darker (or lighter) than their surroundings. */
function binarize(gray: Float32Array, w: number, h: number, darkText: boolean, radius: number, offset: number): Uint8Array {
  // Integral image for O(1) box means.
  const integ = new Float64Array((w + 1) * (h + 1));
  for (let y = 0; y < h; y++) {
    let row = 0;
    for (let x = 0; x < w; x++) {
      row += gray[y * w + x];
      integ[(y + 1) * (w + 1) + x + 1] = integ[y * (w + 1) + x + 1] + row;
    }
  }
  const mask = new Uint8Array(w * h);
  for (let y = 0; y < h; y++) {
    const y0 = Math.max(0, y - radius);
    const y1 = Math.min(h, y + radius + 1);
    for (let x = 0; x < w; x++) {
      const x0 = Math.max(0, x - radius);
      const x1 = Math.min(w, x + radius + 1);
      const s = integ[y1 * (w + 1) + x1] - integ[y0 * (w + 1) + x1] - integ[y1 * (w + 1) + x0] + integ[y0 * (w + 1) + x0];
      const m = s / ((y1 - y0) * (x1 - x0));
      const v = gray[y * w + x];
      mask[y * w + x] = darkText ? (v < m - offset ? 1 : 0) : v > m + offset ? 1 : 0;
    }
  }
  return mask;
}

export interface CharSpan {
  /** Span of the main characters in source-image pixels. */
  box: Box;
  count: number;
  charHeight: number;
}

const WORK_HEIGHT = 64;

/**
 * The box spanning the row of same-height character blobs, or null when fewer than
 * `minChars` line up (then the caller keeps its other views).
 */
export function findCharSpan(img: RgbImage, minChars = 3): CharSpan | null {
  const scale = WORK_HEIGHT / img.height;
  const w = Math.max(8, Math.round(img.width * scale));
  const h = WORK_HEIGHT;
  const small = resizeImage(img, w, h);
  const gray = new Float32Array(w * h);
  for (let i = 0, j = 0; i < gray.length; i++, j += 3) gray[i] = 0.299 * small.data[j] + 0.587 * small.data[j + 1] + 0.114 * small.data[j + 2];
  let best: { comps: Component[]; height: number } | null = null;
  for (const darkText of [true, false]) {
    const mask = binarize(gray, w, h, darkText, Math.round(h / 3), 8);
    const comps = connectedComponents(mask, w, h).filter((c) => {
      const ch = c.y2 - c.y1 + 1;
      const cw = c.x2 - c.x1 + 1;
      return ch >= h * 0.3 && ch <= h * 0.95 && cw <= ch * 1.2 && cw >= 2 && c.area >= ch * 1.5;
    });
    const row = alignedRow(comps);
    if (row.comps.length >= minChars && (!best || row.comps.length > best.comps.length)) best = row;
  }
  if (!best) return null;
  const x1 = Math.min(...best.comps.map((c) => c.x1));
  const x2 = Math.max(...best.comps.map((c) => c.x2)) + 1;
  const y1 = Math.min(...best.comps.map((c) => c.y1));
  const y2 = Math.max(...best.comps.map((c) => c.y2)) + 1;
  return { box: { x1: x1 / scale, y1: y1 / scale, x2: x2 / scale, y2: y2 / scale }, count: best.comps.length, charHeight: best.height / scale };
}

/**
 * The row of main characters: the largest group of blobs sharing a height (±20%) and a
 * centre line fixes the character height, then every blob of nearly that height (≥ 75%) on
 * that line joins it. Stacked small letters (about half height) stay out; a character group
 * separated by a gap or a logo does not get cut off.
 */
export function alignedRow(comps: Component[]): { comps: Component[]; height: number } {
  let seed: { comps: Component[]; height: number; centre: number } = { comps: [], height: 0, centre: 0 };
  for (const ref of comps) {
    const rh = ref.y2 - ref.y1 + 1;
    const rc = (ref.y1 + ref.y2) / 2;
    const group = comps.filter((c) => {
      const ch = c.y2 - c.y1 + 1;
      return Math.abs(ch - rh) <= rh * 0.2 && Math.abs((c.y1 + c.y2) / 2 - rc) <= rh * 0.25;
    });
    if (group.length > seed.comps.length || (group.length === seed.comps.length && rh > seed.height)) seed = { comps: group, height: rh, centre: rc };
  }
  if (seed.comps.length === 0) return { comps: [], height: 0 };
  const height = median(seed.comps.map((c) => c.y2 - c.y1 + 1));
  const centre = median(seed.comps.map((c) => (c.y1 + c.y2) / 2));
  const row = comps.filter((c) => {
    const ch = c.y2 - c.y1 + 1;
    return ch >= height * 0.75 && ch <= height * 1.3 && Math.abs((c.y1 + c.y2) / 2 - centre) <= height * 0.3;
  });
  return { comps: row, height };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}
