import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  convexHull,
  dbPostprocess,
  findComponents,
  minAreaRect,
  normaliseRect,
  rectCorners,
  unclipRect,
  type RotatedRect,
} from '../../src-pipeline/vision/db-postprocess.js';
import { ctcGreedyDecode, parseDictionary } from '../../src-pipeline/vision/plate-reader-ppocr.js';
import { detInputSize, sortReadingOrder, type TextBox } from '../../src-pipeline/vision/text-detector-ppocr.js';

const OPTS = { binaryThreshold: 0.3, boxThreshold: 0.5, unclipRatio: 1.6 };
const deg = (r: number) => (r * 180) / Math.PI;

function blankMap(w: number, h: number): Float32Array {
  return new Float32Array(w * h).fill(0.02);
}

/** Fills pixels x0..x1-1, y0..y1-1. */
function fillRect(m: Float32Array, w: number, x0: number, y0: number, x1: number, y1: number, p = 0.9): void {
  for (let y = y0; y < y1; y++) for (let x = x0; x < x1; x++) m[y * w + x] = p;
}

/** Fills every pixel whose centre lies inside the rotated rectangle. */
function fillRotated(m: Float32Array, w: number, h: number, r: RotatedRect, p = 0.9): void {
  const c = Math.cos(r.angle);
  const s = Math.sin(r.angle);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const dx = x + 0.5 - r.cx;
      const dy = y + 0.5 - r.cy;
      const u = dx * c + dy * s;
      const v = -dx * s + dy * c;
      if (Math.abs(u) <= r.w / 2 && Math.abs(v) <= r.h / 2) m[y * w + x] = p;
    }
  }
}

function near(actual: number, expected: number, tol: number, what: string): void {
  assert.ok(Math.abs(actual - expected) <= tol, `${what}: ${actual} not within ${tol} of ${expected}`);
}

describe('DB post-processing', () => {
  it('finds one axis-aligned rectangle and unclips it by area * ratio / perimeter', () => {
    const W = 100,
      H = 60;
    const m = blankMap(W, H);
    fillRect(m, W, 20, 10, 60, 30);
    const comps = findComponents(m, W, H, OPTS.binaryThreshold);
    assert.equal(comps.length, 1);
    assert.equal(comps[0].size, 800);
    near(comps[0].score, 0.9, 1e-6, 'score');
    const raw = minAreaRect(comps[0].points);
    near(raw.cx, 40, 1e-9, 'cx');
    near(raw.cy, 20, 1e-9, 'cy');
    near(raw.w, 40, 1e-9, 'w');
    near(raw.h, 20, 1e-9, 'h');
    near(raw.angle, 0, 1e-9, 'angle');

    const boxes = dbPostprocess(m, W, H, OPTS);
    assert.equal(boxes.length, 1);
    const d = (40 * 20 * 1.6) / (2 * (40 + 20));
    near(boxes[0].rect.w, 40 + 2 * d, 1e-9, 'unclipped w');
    near(boxes[0].rect.h, 20 + 2 * d, 1e-9, 'unclipped h');
    const [tl, tr, br, bl] = rectCorners(boxes[0].rect);
    near(tl.x, 20 - d, 1e-9, 'TL x');
    near(tl.y, 10 - d, 1e-9, 'TL y');
    near(tr.x, 60 + d, 1e-9, 'TR x');
    near(br.y, 30 + d, 1e-9, 'BR y');
    near(bl.x, 20 - d, 1e-9, 'BL x');
  });

  it('keeps two separate rectangles apart', () => {
    const W = 120,
      H = 80;
    const m = blankMap(W, H);
    fillRect(m, W, 5, 5, 45, 20);
    fillRect(m, W, 60, 40, 110, 70);
    const boxes = dbPostprocess(m, W, H, OPTS);
    assert.equal(boxes.length, 2);
    const centres = boxes.map((b) => [b.rect.cx, b.rect.cy]).sort((a, b) => a[0] - b[0]);
    near(centres[0][0], 25, 1e-9, 'first cx');
    near(centres[0][1], 12.5, 1e-9, 'first cy');
    near(centres[1][0], 85, 1e-9, 'second cx');
    near(centres[1][1], 55, 1e-9, 'second cy');
  });

  it('treats diagonal neighbours as connected (8-connectivity)', () => {
    const W = 10,
      H = 10;
    const m = blankMap(W, H);
    m[2 * W + 2] = 0.9;
    m[3 * W + 3] = 0.9;
    assert.equal(findComponents(m, W, H, 0.3).length, 1);
  });

  it('recovers the angle and size of a rotated rectangle', () => {
    const W = 200,
      H = 160;
    const truth: RotatedRect = { cx: 100, cy: 80, w: 90, h: 24, angle: (20 * Math.PI) / 180 };
    const m = blankMap(W, H);
    fillRotated(m, W, H, truth);
    const comps = findComponents(m, W, H, OPTS.binaryThreshold);
    assert.equal(comps.length, 1);
    const r = minAreaRect(comps[0].points);
    near(deg(r.angle), 20, 1.5, 'angle (deg)');
    near(r.cx, 100, 1, 'cx');
    near(r.cy, 80, 1, 'cy');
    // Pixel squares overshoot the analytic edge by up to one pixel diagonal.
    near(r.w, 90, 2, 'w');
    near(r.h, 24, 2, 'h');

    const boxes = dbPostprocess(m, W, H, OPTS);
    assert.equal(boxes.length, 1);
    const d = (r.w * r.h * 1.6) / (2 * (r.w + r.h));
    near(boxes[0].rect.h - r.h, 2 * d, 1e-9, 'unclip growth');
    near(deg(boxes[0].rect.angle), 20, 1.5, 'angle kept by unclip');
    // TL is the upper-left corner on screen even when tilted.
    const [tl, tr, br, bl] = rectCorners(boxes[0].rect);
    assert.ok(tl.x < tr.x && bl.x < br.x && tl.y < bl.y && tr.y < br.y);
  });

  it('reports a steep rectangle with its most horizontal side as width', () => {
    const r = normaliseRect({ cx: 0, cy: 0, w: 10, h: 40, angle: (80 * Math.PI) / 180 });
    near(deg(r.angle), -10, 1e-9, 'angle');
    assert.equal(r.w, 40);
    assert.equal(r.h, 10);
    const diamond = minAreaRect([
      { x: 0, y: 5 },
      { x: 5, y: 0 },
      { x: 10, y: 5 },
      { x: 5, y: 10 },
    ]);
    near(Math.abs(deg(diamond.angle)), 45, 1e-9, 'diamond angle');
    near(diamond.w * diamond.h, 50, 1e-9, 'diamond area');
  });

  it('drops a region whose mean probability is under boxThreshold', () => {
    const W = 80,
      H = 40;
    const m = blankMap(W, H);
    fillRect(m, W, 10, 10, 50, 25, 0.4);
    assert.equal(findComponents(m, W, H, OPTS.binaryThreshold).length, 1);
    assert.equal(dbPostprocess(m, W, H, OPTS).length, 0);
  });

  it('drops slivers thinner than minSize', () => {
    const W = 80,
      H = 40;
    const m = blankMap(W, H);
    fillRect(m, W, 10, 10, 60, 12);
    assert.equal(dbPostprocess(m, W, H, OPTS).length, 0);
    assert.equal(dbPostprocess(m, W, H, { ...OPTS, minSize: 2 }).length, 1);
  });

  it('computes unclip distance from area and perimeter', () => {
    const r = unclipRect({ cx: 5, cy: 5, w: 30, h: 10, angle: 0.1 }, 1.5);
    const d = (300 * 1.5) / 80;
    near(r.w, 30 + 2 * d, 1e-12, 'w');
    near(r.h, 10 + 2 * d, 1e-12, 'h');
    assert.equal(r.angle, 0.1);
  });

  it('builds a convex hull without interior or collinear points', () => {
    const hull = convexHull([
      { x: 0, y: 0 },
      { x: 2, y: 0 },
      { x: 4, y: 0 },
      { x: 4, y: 4 },
      { x: 0, y: 4 },
      { x: 2, y: 2 },
    ]);
    assert.equal(hull.length, 4);
  });
});

describe('text detector helpers', () => {
  it('sizes the detector input in multiples of 32 within maxSide', () => {
    assert.deepEqual(detInputSize(320, 157, 960), { width: 320, height: 160 });
    assert.deepEqual(detInputSize(1920, 1080, 960), { width: 960, height: 544 });
    assert.deepEqual(detInputSize(20, 10, 960), { width: 32, height: 32 });
    assert.deepEqual(detInputSize(103, 46, 960, 64), { width: 128, height: 64 });
  });

  it('sorts boxes top-to-bottom, left-to-right within a line', () => {
    const tb = (x1: number, y1: number, x2: number, y2: number): TextBox => ({
      quad: [
        { x: x1, y: y1 },
        { x: x2, y: y1 },
        { x: x2, y: y2 },
        { x: x1, y: y2 },
      ],
      box: { x1, y1, x2, y2 },
      score: 1,
    });
    const sorted = sortReadingOrder([tb(200, 52, 300, 100), tb(10, 120, 300, 140), tb(10, 50, 150, 100), tb(20, 5, 280, 30)]);
    assert.deepEqual(
      sorted.map((b) => [b.box.x1, b.box.y1]),
      [
        [20, 5],
        [10, 50],
        [200, 52],
        [10, 120],
      ],
    );
  });
});

describe('CTC greedy decode', () => {
  // Classes: 0 blank, 1 'A', 2 '7', 3 ' '.
  const dict = ['A', '7', ' '];
  const C = 4;
  function steps(seq: number[], p = 0.9): Float32Array {
    const out = new Float32Array(seq.length * C);
    seq.forEach((k, t) => {
      out.fill((1 - p) / (C - 1), t * C, (t + 1) * C);
      out[t * C + k] = p;
    });
    return out;
  }

  it('collapses repeats and drops blanks, keeping repeats separated by a blank', () => {
    const r = ctcGreedyDecode(steps([0, 1, 1, 0, 1, 2, 2, 2, 0, 0, 3, 2]), 12, C, dict);
    assert.equal(r.text, 'AA7 7');
    assert.equal(r.charConfidences.length, 5);
    near(r.confidence, 0.9, 1e-6, 'confidence');
  });

  it('reads nothing from all-blank output', () => {
    const r = ctcGreedyDecode(steps([0, 0, 0]), 3, C, dict);
    assert.equal(r.text, '');
    assert.equal(r.confidence, 0);
    assert.deepEqual(r.charConfidences, []);
  });

  it('uses the first step of a run for confidence and decodes at an offset in a batch', () => {
    const a = steps([1, 1, 0, 2]);
    a[1 * C + 1] = 0.99; // second step of the 'A' run does not count
    const batch = new Float32Array(2 * a.length);
    batch.set(steps([2, 2, 2, 2]), 0);
    batch.set(a, a.length);
    const r = ctcGreedyDecode(batch, 4, C, dict, 4 * C);
    assert.equal(r.text, 'A7');
    near(r.charConfidences[0], 0.9, 1e-6, 'first-of-run confidence');
    assert.equal(ctcGreedyDecode(batch, 4, C, dict, 0).text, '7');
  });

  it('parses the dictionary one entry per line and appends the space class', () => {
    assert.deepEqual(parseDictionary('a\nb\r\nc\n'), ['a', 'b', 'c', ' ']);
    assert.deepEqual(parseDictionary('a\nb'), ['a', 'b', ' ']);
  });
});
