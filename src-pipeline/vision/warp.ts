/**
 * Perspective rectification of a plate from its four corners. The homography is solved
 * directly (8x8 linear system) so no native image library is needed on the hot path.
 */
import type { Point, Quad } from '../common/geometry.js';
import { createImage, type RgbImage } from './image.js';

/** 3x3 row-major homography mapping (x, y, 1) → (u, v, w). */
export type Homography = Float64Array;

/** Solves A x = b in place by Gaussian elimination with partial pivoting. */
export function solveLinear(a: number[][], b: number[]): number[] | null {
  const n = b.length;
  for (let col = 0; col < n; col++) {
    let piv = col;
    for (let r = col + 1; r < n; r++) if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) piv = r;
    if (Math.abs(a[piv][col]) < 1e-12) return null;
    [a[col], a[piv]] = [a[piv], a[col]];
    [b[col], b[piv]] = [b[piv], b[col]];
    for (let r = col + 1; r < n; r++) {
      const f = a[r][col] / a[col][col];
      if (f === 0) continue;
      for (let c = col; c < n; c++) a[r][c] -= f * a[col][c];
      b[r] -= f * b[col];
    }
  }
  const x = new Array<number>(n).fill(0);
  for (let r = n - 1; r >= 0; r--) {
    let s = b[r];
    for (let c = r + 1; c < n; c++) s -= a[r][c] * x[c];
    x[r] = s / a[r][r];
  }
  return x;
}

/** Homography taking each src[i] to dst[i]; null when the points are degenerate. */
export function homographyFromPoints(src: readonly Point[], dst: readonly Point[]): Homography | null {
  const a: number[][] = [];
  const b: number[] = [];
  for (let i = 0; i < 4; i++) {
    const { x, y } = src[i];
    const { x: u, y: v } = dst[i];
    a.push([x, y, 1, 0, 0, 0, -u * x, -u * y]);
    b.push(u);
    a.push([0, 0, 0, x, y, 1, -v * x, -v * y]);
    b.push(v);
  }
  const h = solveLinear(a, b);
  if (!h || h.some((v) => !Number.isFinite(v))) return null;
  const m = Float64Array.from([...h, 1]);
  // Three collinear corners still give a solvable system but a singular (useless) matrix.
  const det = m[0] * (m[4] * m[8] - m[5] * m[7]) - m[1] * (m[3] * m[8] - m[5] * m[6]) + m[2] * (m[3] * m[7] - m[4] * m[6]);
  return Math.abs(det) < 1e-9 ? null : m;
}

export function applyHomography(h: Homography, p: Point): Point {
  const w = h[6] * p.x + h[7] * p.y + h[8];
  return { x: (h[0] * p.x + h[1] * p.y + h[2]) / w, y: (h[3] * p.x + h[4] * p.y + h[5]) / w };
}

/**
 * Warps the quadrilateral `quad` (TL, TR, BR, BL) of `img` to an upright width x height image.
 * Samples bilinearly; pixels mapping outside the source replicate the border.
 */
export function warpQuad(img: RgbImage, quad: Quad, width: number, height: number): RgbImage | null {
  const dst: Point[] = [
    { x: 0, y: 0 },
    { x: width, y: 0 },
    { x: width, y: height },
    { x: 0, y: height },
  ];
  // Map output pixels back into the source: homography from the output rectangle to the quad.
  const h = homographyFromPoints(dst, quad);
  if (!h) return null;
  const out = createImage(width, height);
  const s = img.data;
  const W = img.width;
  const H = img.height;
  let o = 0;
  for (let y = 0; y < height; y++) {
    const oy = y + 0.5;
    for (let x = 0; x < width; x++) {
      const ox = x + 0.5;
      const w = h[6] * ox + h[7] * oy + h[8];
      let sx = (h[0] * ox + h[1] * oy + h[2]) / w - 0.5;
      let sy = (h[3] * ox + h[4] * oy + h[5]) / w - 0.5;
      if (sx < 0) sx = 0;
      else if (sx > W - 1) sx = W - 1;
      if (sy < 0) sy = 0;
      else if (sy > H - 1) sy = H - 1;
      const x0 = sx | 0;
      const y0 = sy | 0;
      const x1 = x0 + 1 < W ? x0 + 1 : x0;
      const y1 = y0 + 1 < H ? y0 + 1 : y0;
      const fx = sx - x0;
      const fy = sy - y0;
      const i00 = (y0 * W + x0) * 3;
      const i01 = (y0 * W + x1) * 3;
      const i10 = (y1 * W + x0) * 3;
      const i11 = (y1 * W + x1) * 3;
      for (let c = 0; c < 3; c++) {
        const top = s[i00 + c] + (s[i01 + c] - s[i00 + c]) * fx;
        const bot = s[i10 + c] + (s[i11 + c] - s[i10 + c]) * fx;
        out.data[o++] = (top + (bot - top) * fy + 0.5) | 0;
      }
    }
  }
  return out;
}

/** Expands a quad about its centre: `px` of its width on each side, `py` of its height. */
export function expandQuad(q: Quad, px: number, py: number): Quad {
  // Work in the quad's own axes so a tilted plate grows along its tilt.
  const [tl, tr, br, bl] = q;
  const ux = { x: (tr.x - tl.x + br.x - bl.x) / 2, y: (tr.y - tl.y + br.y - bl.y) / 2 };
  const uy = { x: (bl.x - tl.x + br.x - tr.x) / 2, y: (bl.y - tl.y + br.y - tr.y) / 2 };
  const mv = (p: Point, sx: number, sy: number): Point => ({ x: p.x + ux.x * sx * px + uy.x * sy * py, y: p.y + ux.y * sx * px + uy.y * sy * py });
  return [mv(tl, -1, -1), mv(tr, 1, -1), mv(br, 1, 1), mv(bl, -1, 1)];
}

/** Mean edge lengths: a natural output size for a rectified plate. */
export function quadSize(q: Quad): { width: number; height: number } {
  const d = (a: Point, b: Point) => Math.hypot(a.x - b.x, a.y - b.y);
  return { width: (d(q[0], q[1]) + d(q[3], q[2])) / 2, height: (d(q[0], q[3]) + d(q[1], q[2])) / 2 };
}

/** True when the four points form a convex quad in TL, TR, BR, BL (clockwise on screen) order. */
export function isConvexClockwise(q: readonly Point[]): boolean {
  for (let i = 0; i < 4; i++) {
    const a = q[i];
    const b = q[(i + 1) % 4];
    const c = q[(i + 2) % 4];
    const cross = (b.x - a.x) * (c.y - b.y) - (b.y - a.y) * (c.x - b.x);
    if (cross <= 0) return false;
  }
  return true;
}
