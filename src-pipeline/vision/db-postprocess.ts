/**
 * DB (Differentiable Binarization) post-processing for PP-OCR text detectors, written as pure
 * functions over a probability map so it is testable without a model. It follows PaddleOCR's
 * `DBPostProcess` (threshold, regions, min-area rect, score, unclip) with two deliberate
 * differences: regions are 8-connected components rather than OpenCV contours (same pixels,
 * no native dependency), and pixels are unit squares, so a region covering columns 10..19
 * spans x = 10..20 in map coordinates (OpenCV's contour-of-centres gives one pixel less).
 */
import type { Point, Quad } from '../common/geometry.js';

/** A rectangle of `w` x `h` centred at (cx, cy); `angle` (radians, in (-π/4, π/4]) turns the w axis from +x towards +y. */
export interface RotatedRect {
  cx: number;
  cy: number;
  w: number;
  h: number;
  angle: number;
}

export interface Component {
  /** Number of pixels above the threshold. */
  size: number;
  /** Mean probability over the component's pixels. */
  score: number;
  /** Corners of the outermost pixel squares of each row: enough to span the region's convex hull. */
  points: Point[];
}

export interface DbOptions {
  binaryThreshold: number;
  boxThreshold: number;
  unclipRatio: number;
  /** Boxes whose short side is below this (map pixels) before unclipping are noise. */
  minSize?: number;
  /** Caps work on pathological maps (PaddleOCR's max_candidates). */
  maxCandidates?: number;
}

export interface DbBox {
  /** In map coordinates, after unclipping. */
  rect: RotatedRect;
  score: number;
}

/** 8-connected components of `prob > threshold`, largest first. */
export function findComponents(prob: Float32Array, width: number, height: number, threshold: number): Component[] {
  const n = width * height;
  if (prob.length < n) throw new Error(`probability map has ${prob.length} values, expected ${n}`);
  const seen = new Uint8Array(n);
  const stack = new Int32Array(n);
  const comps: Component[] = [];
  // Per-row extremes of the current component, indexed by y; reset after each component.
  const rowMin = new Int32Array(height).fill(width);
  const rowMax = new Int32Array(height).fill(-1);
  for (let start = 0; start < n; start++) {
    if (seen[start] || !(prob[start] > threshold)) continue;
    let top = 0;
    stack[top++] = start;
    seen[start] = 1;
    let size = 0;
    let sum = 0;
    let yMin = height;
    let yMax = -1;
    while (top > 0) {
      const i = stack[--top];
      const x = i % width;
      const y = (i - x) / width;
      size++;
      sum += prob[i];
      if (y < yMin) yMin = y;
      if (y > yMax) yMax = y;
      if (x < rowMin[y]) rowMin[y] = x;
      if (x > rowMax[y]) rowMax[y] = x;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = y + dy;
        if (yy < 0 || yy >= height) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const xx = x + dx;
          if (xx < 0 || xx >= width) continue;
          const j = yy * width + xx;
          if (!seen[j] && prob[j] > threshold) {
            seen[j] = 1;
            stack[top++] = j;
          }
        }
      }
    }
    const points: Point[] = [];
    for (let y = yMin; y <= yMax; y++) {
      if (rowMax[y] < 0) continue;
      points.push({ x: rowMin[y], y }, { x: rowMin[y], y: y + 1 }, { x: rowMax[y] + 1, y }, { x: rowMax[y] + 1, y: y + 1 });
      rowMin[y] = width;
      rowMax[y] = -1;
    }
    comps.push({ size, score: sum / size, points });
  }
  return comps.sort((a, b) => b.size - a.size);
}

/** Andrew's monotone chain; counter-clockwise in a y-up frame, collinear points dropped. */
export function convexHull(points: readonly Point[]): Point[] {
  const p = [...points].sort((a, b) => a.x - b.x || a.y - b.y);
  if (p.length < 3) return p;
  const cross = (o: Point, a: Point, b: Point) => (a.x - o.x) * (b.y - o.y) - (a.y - o.y) * (b.x - o.x);
  const lower: Point[] = [];
  for (const q of p) {
    while (lower.length >= 2 && cross(lower[lower.length - 2], lower[lower.length - 1], q) <= 0) lower.pop();
    lower.push(q);
  }
  const upper: Point[] = [];
  for (let i = p.length - 1; i >= 0; i--) {
    const q = p[i];
    while (upper.length >= 2 && cross(upper[upper.length - 2], upper[upper.length - 1], q) <= 0) upper.pop();
    upper.push(q);
  }
  return lower.slice(0, -1).concat(upper.slice(0, -1));
}

/**
 * Minimum-area enclosing rectangle: one of its sides lies on a hull edge, so trying every
 * edge direction is exact. Hulls of text regions have tens of vertices, so O(h²) is cheap.
 */
export function minAreaRect(points: readonly Point[]): RotatedRect {
  const hull = convexHull(points);
  if (hull.length === 0) return { cx: 0, cy: 0, w: 0, h: 0, angle: 0 };
  let best: RotatedRect | null = null;
  let bestArea = Infinity;
  const edges = hull.length >= 2 ? hull.length : 1;
  for (let i = 0; i < edges; i++) {
    const a = hull[i];
    const b = hull[(i + 1) % hull.length];
    let ux = b.x - a.x;
    let uy = b.y - a.y;
    const len = Math.hypot(ux, uy);
    if (len === 0) {
      ux = 1;
      uy = 0;
    } else {
      ux /= len;
      uy /= len;
    }
    let minU = Infinity,
      maxU = -Infinity,
      minV = Infinity,
      maxV = -Infinity;
    for (const p of hull) {
      const u = p.x * ux + p.y * uy;
      const v = -p.x * uy + p.y * ux;
      if (u < minU) minU = u;
      if (u > maxU) maxU = u;
      if (v < minV) minV = v;
      if (v > maxV) maxV = v;
    }
    const area = (maxU - minU) * (maxV - minV);
    if (area < bestArea - 1e-9) {
      bestArea = area;
      const cu = (minU + maxU) / 2;
      const cv = (minV + maxV) / 2;
      best = { cx: cu * ux - cv * uy, cy: cu * uy + cv * ux, w: maxU - minU, h: maxV - minV, angle: Math.atan2(uy, ux) };
    }
  }
  return normaliseRect(best!);
}

/** Turns the rect by multiples of 90° (swapping sides) until its w axis is the most horizontal one. */
export function normaliseRect(r: RotatedRect): RotatedRect {
  let { w, h, angle } = r;
  const q = Math.PI / 2;
  while (angle > Math.PI / 4 + 1e-12) {
    angle -= q;
    [w, h] = [h, w];
  }
  while (angle <= -Math.PI / 4 + 1e-12) {
    angle += q;
    [w, h] = [h, w];
  }
  return { cx: r.cx, cy: r.cy, w, h, angle };
}

/** Corners TL, TR, BR, BL on screen (y down). */
export function rectCorners(r: RotatedRect): Quad {
  const c = Math.cos(r.angle);
  const s = Math.sin(r.angle);
  const hw = r.w / 2;
  const hh = r.h / 2;
  const at = (du: number, dv: number): Point => ({ x: r.cx + du * c - dv * s, y: r.cy + du * s + dv * c });
  return [at(-hw, -hh), at(hw, -hh), at(hw, hh), at(-hw, hh)];
}

/**
 * DB's inverse of the training-time shrink: grow by d = area * ratio / perimeter on every
 * side. For a rectangle this is exactly what PaddleOCR's pyclipper offset followed by
 * minAreaRect produces (the rounded joins never widen the bounding rectangle).
 */
export function unclipRect(r: RotatedRect, ratio: number): RotatedRect {
  const perimeter = 2 * (r.w + r.h);
  if (perimeter === 0) return r;
  const d = (r.w * r.h * ratio) / perimeter;
  return { ...r, w: r.w + 2 * d, h: r.h + 2 * d };
}

/** Probability map → scored, unclipped rectangles in map coordinates. */
export function dbPostprocess(prob: Float32Array, width: number, height: number, o: DbOptions): DbBox[] {
  const minSize = o.minSize ?? 3;
  const comps = findComponents(prob, width, height, o.binaryThreshold).slice(0, o.maxCandidates ?? 1000);
  const out: DbBox[] = [];
  for (const c of comps) {
    if (c.score < o.boxThreshold) continue;
    const rect = minAreaRect(c.points);
    if (Math.min(rect.w, rect.h) < minSize) continue;
    const grown = unclipRect(rect, o.unclipRatio);
    // PaddleOCR's second size gate after unclipping (min_size + 2).
    if (Math.min(grown.w, grown.h) < minSize + 2) continue;
    out.push({ rect: grown, score: c.score });
  }
  return out;
}
