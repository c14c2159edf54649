import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Point, Quad } from '../../src-pipeline/common/geometry.js';
import { createImage, cropImage, type RgbImage } from '../../src-pipeline/vision/image.js';
import { applyHomography, expandQuad, homographyFromPoints, isConvexClockwise, quadSize, solveLinear, warpQuad } from '../../src-pipeline/vision/warp.js';

const P = (x: number, y: number): Point => ({ x, y });
const rectQuad = (x: number, y: number, w: number, h: number): Quad => [P(x, y), P(x + w, y), P(x + w, y + h), P(x, y + h)];

function closeTo(actual: number, expected: number, eps: number, what = 'value') {
  assert.ok(Math.abs(actual - expected) <= eps, `${what}: expected ${expected}, got ${actual}`);
}

function assertPoint(actual: Point, expected: Point, eps: number, what = 'point') {
  closeTo(actual.x, expected.x, eps, `${what}.x`);
  closeTo(actual.y, expected.y, eps, `${what}.y`);
}

/** Grey image whose pixel (x, y) holds fn(x + 0.5, y + 0.5) in all three channels. */
function renderImage(width: number, height: number, fn: (x: number, y: number) => number): RgbImage {
  const img = createImage(width, height);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const v = Math.max(0, Math.min(255, Math.round(fn(x + 0.5, y + 0.5))));
      img.data.fill(v, (y * width + x) * 3, (y * width + x) * 3 + 3);
    }
  }
  return img;
}

const grey = (img: RgbImage, x: number, y: number) => img.data[(y * img.width + x) * 3];

/** 3x3 row-major inverse via the adjugate (independent of the code under test). */
function invert3(m: number[]): number[] {
  const [a, b, c, d, e, f, g, h, i] = m;
  const A = e * i - f * h;
  const B = -(d * i - f * g);
  const C = d * h - e * g;
  const det = a * A + b * B + c * C;
  return [A, -(b * i - c * h), b * f - c * e, B, a * i - c * g, -(a * f - c * d), C, -(a * h - b * g), a * e - b * d].map((v) => v / det);
}

const apply3 = (m: number[], p: Point): Point => {
  const w = m[6] * p.x + m[7] * p.y + m[8];
  return P((m[0] * p.x + m[1] * p.y + m[2]) / w, (m[3] * p.x + m[4] * p.y + m[5]) / w);
};

describe('solveLinear', () => {
  it('solves a small system that needs pivoting', () => {
    // 0x + 2y + z = 7, x + y + z = 6, 2x + y - z = 1  →  (1, 2, 3)... check: 0+4+3=7, 1+2+3=6, 2+2-3=1
    const x = solveLinear(
      [
        [0, 2, 1],
        [1, 1, 1],
        [2, 1, -1],
      ],
      [7, 6, 1],
    );
    assert.ok(x);
    [1, 2, 3].forEach((v, i) => closeTo(x[i], v, 1e-12, `x${i}`));
  });

  it('returns null for a singular matrix', () => {
    assert.equal(
      solveLinear(
        [
          [1, 2],
          [2, 4],
        ],
        [3, 6],
      ),
      null,
    );
  });
});

describe('homographyFromPoints / applyHomography', () => {
  it('maps each of the 4 source points exactly onto its destination', () => {
    const src = [P(0, 0), P(200, 0), P(200, 50), P(0, 50)];
    const dst = [P(103.5, 212.25), P(297, 190), P(305.75, 251), P(99, 270.5)];
    const h = homographyFromPoints(src, dst);
    assert.ok(h);
    assert.equal(h.length, 9);
    assert.equal(h[8], 1);
    src.forEach((p, i) => assertPoint(applyHomography(h, p), dst[i], 1e-9, `corner ${i}`));
  });

  it('is exact for a general (non-rectangular) source too', () => {
    const src = [P(12, 7), P(88, 15), P(95, 60), P(3, 49)];
    const dst = [P(-5, 2), P(40, -3), P(44, 30), P(1, 25)];
    const h = homographyFromPoints(src, dst);
    assert.ok(h);
    src.forEach((p, i) => assertPoint(applyHomography(h, p), dst[i], 1e-9, `corner ${i}`));
  });

  it('reproduces a known projective map at points other than the corners', () => {
    const M = [1.2, 0.1, 30, -0.05, 0.9, 40, 0.0004, -0.0002, 1];
    const src = [P(0, 0), P(100, 0), P(100, 30), P(0, 30)];
    const h = homographyFromPoints(
      src,
      src.map((p) => apply3(M, p)),
    );
    assert.ok(h);
    for (let i = 0; i < 9; i++) closeTo(h[i], M[i], 1e-9, `h[${i}]`);
    for (const p of [P(50, 15), P(7, 29), P(-20, 60)]) assertPoint(applyHomography(h, p), apply3(M, p), 1e-7);
  });

  it('gives the identity when source and destination agree', () => {
    const pts = [P(1, 2), P(30, 4), P(28, 20), P(3, 18)];
    const h = homographyFromPoints(pts, pts);
    assert.ok(h);
    const I = [1, 0, 0, 0, 1, 0, 0, 0, 1];
    for (let i = 0; i < 9; i++) closeTo(h[i], I[i], 1e-12, `h[${i}]`);
    assertPoint(applyHomography(h, P(17.25, -4)), P(17.25, -4), 1e-9);
  });

  it('returns null for degenerate point sets', () => {
    const sq = rectQuad(0, 0, 10, 10);
    const collinear = [P(0, 0), P(1, 1), P(2, 2), P(3, 3)];
    assert.equal(homographyFromPoints(collinear, sq), null);
    assert.equal(homographyFromPoints(sq, collinear), null);
    assert.equal(homographyFromPoints(sq, [P(0, 0), P(0, 0), P(0, 0), P(0, 0)]), null);
    assert.equal(homographyFromPoints([P(0, 0), P(10, 0), P(10, 0), P(0, 10)], sq), null);
  });

  it('returns null when three destination corners are collinear', () => {
    assert.equal(homographyFromPoints(rectQuad(0, 0, 10, 10), [P(0, 0), P(10, 0), P(20, 0), P(0, 10)]), null);
  });
});

describe('warpQuad', () => {
  // 40x30 checkerboard of 4-pixel squares, with channels made distinct.
  const checker = createImage(40, 30);
  for (let y = 0; y < 30; y++) {
    for (let x = 0; x < 40; x++) {
      const on = ((x >> 2) + (y >> 2)) % 2 === 1;
      checker.data.set([on ? 230 : 20, on ? 200 : 40 + x, y * 3], (y * 40 + x) * 3);
    }
  }

  it('an axis-aligned quad at integer corners is exactly the crop', () => {
    for (const [x, y, w, h] of [
      [6, 5, 20, 12],
      [0, 0, 40, 30],
      [13, 9, 7, 3],
    ]) {
      const out = warpQuad(checker, rectQuad(x, y, w, h), w, h);
      assert.ok(out);
      assert.deepEqual(out, cropImage(checker, { x1: x, y1: y, x2: x + w, y2: y + h }), `quad ${x},${y},${w}x${h}`);
    }
  });

  it('an axis-aligned quad twice the output size samples between source pixels', () => {
    // output pixel (x, y) → source centre (2x + 1, 2y + 1) → bilinear mean of the 2x2 block
    const src = createImage(8, 4);
    for (let i = 0; i < src.data.length; i++) src.data[i] = (i * 37) % 256;
    const out = warpQuad(src, rectQuad(0, 0, 8, 4), 4, 2);
    assert.ok(out);
    for (let y = 0; y < 2; y++) {
      for (let x = 0; x < 4; x++) {
        for (let c = 0; c < 3; c++) {
          const v = (sx: number, sy: number) => src.data[(sy * 8 + sx) * 3 + c];
          const mean = (v(2 * x, 2 * y) + v(2 * x + 1, 2 * y) + v(2 * x, 2 * y + 1) + v(2 * x + 1, 2 * y + 1)) / 4;
          assert.equal(out.data[(y * 4 + x) * 3 + c], Math.floor(mean + 0.5), `(${x},${y}) c${c}`);
        }
      }
    }
  });

  it('replicates the border outside the source', () => {
    const src = createImage(4, 4);
    for (let y = 0; y < 4; y++) for (let x = 0; x < 4; x++) src.data.fill(10 * x + 60 * y, (y * 4 + x) * 3, (y * 4 + x) * 3 + 3);
    const out = warpQuad(src, rectQuad(-4, -4, 12, 12), 12, 12);
    assert.ok(out);
    assert.equal(out.data[0], 0); // far top-left → pixel (0, 0)
    assert.equal(out.data[(11 * 12 + 11) * 3], 30 + 180); // far bottom-right → pixel (3, 3)
    assert.equal(out.data[(0 * 12 + 6) * 3], 20); // above the image, column 2
  });

  it('recovers a smooth pattern from a rotated quad', () => {
    const W = 120;
    const H = 40;
    const theta = (25 * Math.PI) / 180;
    const O = P(60, 20);
    const ux = P(Math.cos(theta), Math.sin(theta));
    const uy = P(-Math.sin(theta), Math.cos(theta));
    // plate-frame pattern: smooth so bilinear interpolation error stays tiny
    const g = (u: number, v: number) => 128 + 90 * Math.sin((2 * Math.PI * u) / 48) * Math.cos((2 * Math.PI * v) / 64);
    const img = renderImage(200, 140, (x, y) => {
      const dx = x - O.x;
      const dy = y - O.y;
      return g(dx * ux.x + dy * ux.y, dx * uy.x + dy * uy.y);
    });
    const corner = (u: number, v: number) => P(O.x + u * ux.x + v * uy.x, O.y + u * ux.y + v * uy.y);
    const quad: Quad = [corner(0, 0), corner(W, 0), corner(W, H), corner(0, H)];
    assert.ok(isConvexClockwise(quad));
    const out = warpQuad(img, quad, W, H);
    assert.ok(out);
    let worst = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const err = Math.abs(grey(out, x, y) - g(x + 0.5, y + 0.5));
        worst = Math.max(worst, err);
      }
    }
    assert.ok(worst <= 3, `largest error ${worst.toFixed(2)} grey levels`);
  });

  it('recovers a coarse checker through a perspective (non-affine) quad', () => {
    const W = 96;
    const H = 32;
    const cell = 8;
    const checkerValue = (u: number, v: number) => ((Math.floor(u / cell) + Math.floor(v / cell)) % 2 === 0 ? 40 : 210);
    // plate → image, with real perspective terms
    const M = [1.1, 0.25, 40, -0.15, 1.3, 60, 0.0012, 0.0008, 1];
    const Minv = invert3(M);
    const img = renderImage(220, 160, (x, y) => {
      const q = apply3(Minv, P(x, y));
      return q.x >= 0 && q.x < W && q.y >= 0 && q.y < H ? checkerValue(q.x, q.y) : 128;
    });
    const quad = [P(0, 0), P(W, 0), P(W, H), P(0, H)].map((p) => apply3(M, p)) as Quad;
    assert.ok(isConvexClockwise(quad));
    const out = warpQuad(img, quad, W, H);
    assert.ok(out);
    let checked = 0;
    let wrong = 0;
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const u = x + 0.5;
        const v = y + 0.5;
        // skip pixels within 1.5 px of a cell edge, where interpolation blends both colours
        const du = Math.min(u % cell, cell - (u % cell));
        const dv = Math.min(v % cell, cell - (v % cell));
        if (du < 1.5 || dv < 1.5) continue;
        checked++;
        if (Math.abs(grey(out, x, y) - checkerValue(u, v)) > 10) wrong++;
      }
    }
    assert.ok(checked > 1000);
    assert.equal(wrong, 0, `${wrong} of ${checked} interior pixels differ`);
  });

  it('returns null for a collapsed quad', () => {
    assert.equal(warpQuad(checker, [P(5, 5), P(5, 5), P(5, 5), P(5, 5)], 8, 4), null);
  });
});

describe('expandQuad', () => {
  it('grows an axis-aligned quad by fractions of its width and height', () => {
    const q = expandQuad(rectQuad(10, 10, 100, 20), 0.1, 0.25);
    [P(0, 5), P(120, 5), P(120, 35), P(0, 35)].forEach((p, i) => assertPoint(q[i], p, 1e-12, `corner ${i}`));
  });

  it('is the identity with zero expansion and shrinks with negative', () => {
    const q0 = rectQuad(3, 4, 50, 10);
    assert.deepEqual(expandQuad(q0, 0, 0), q0);
    const s = expandQuad(q0, -0.1, -0.2);
    [P(8, 6), P(48, 6), P(48, 12), P(8, 12)].forEach((p, i) => assertPoint(s[i], p, 1e-12, `corner ${i}`));
  });

  it('grows a tilted quad along its own axes', () => {
    const theta = Math.PI / 6;
    const ux = P(Math.cos(theta), Math.sin(theta));
    const uy = P(-Math.sin(theta), Math.cos(theta));
    const at = (u: number, v: number) => P(100 + u * ux.x + v * uy.x, 50 + u * ux.y + v * uy.y);
    const q: Quad = [at(0, 0), at(80, 0), at(80, 20), at(0, 20)];
    const e = expandQuad(q, 0.05, 0.5);
    // in the plate's frame: 4 px more on each side, 10 px above and below
    [at(-4, -10), at(84, -10), at(84, 30), at(-4, 30)].forEach((p, i) => assertPoint(e[i], p, 1e-9, `corner ${i}`));
    const size = quadSize(e);
    closeTo(size.width, 88, 1e-9, 'width');
    closeTo(size.height, 40, 1e-9, 'height');
  });
});

describe('quadSize', () => {
  it('averages opposite edges', () => {
    assert.deepEqual(quadSize(rectQuad(0, 0, 30, 10)), { width: 30, height: 10 });
    // top 40, bottom 20 (a trapezoid); left and right 3-4-5 triangles of length 5
    const q: Quad = [P(0, 0), P(40, 0), P(33, 4), P(13, 4)];
    const s = quadSize(q);
    closeTo(s.width, 30, 1e-12);
    closeTo(s.height, (Math.hypot(13, 4) + Math.hypot(7, 4)) / 2, 1e-12);
  });
});

describe('isConvexClockwise', () => {
  const rect = rectQuad(0, 0, 10, 5);

  it('accepts TL, TR, BR, BL on screen (y down), starting at any corner', () => {
    assert.equal(isConvexClockwise(rect), true);
    assert.equal(isConvexClockwise([rect[1], rect[2], rect[3], rect[0]]), true);
    assert.equal(isConvexClockwise([P(2, 1), P(30, -2), P(31, 12), P(0, 9)]), true);
  });

  it('rejects the reverse (counter-clockwise) order', () => {
    assert.equal(isConvexClockwise([rect[0], rect[3], rect[2], rect[1]]), false);
  });

  it('rejects a self-intersecting (bow-tie) order', () => {
    assert.equal(isConvexClockwise([rect[0], rect[1], rect[3], rect[2]]), false);
  });

  it('rejects a concave quad', () => {
    assert.equal(isConvexClockwise([P(0, 0), P(10, 0), P(3, 3), P(0, 10)]), false);
  });

  it('rejects degenerate quads (collinear or repeated corners)', () => {
    assert.equal(isConvexClockwise([P(0, 0), P(5, 0), P(10, 0), P(0, 5)]), false);
    assert.equal(isConvexClockwise([P(0, 0), P(10, 0), P(10, 0), P(0, 5)]), false);
  });
});
