import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  boxArea,
  boxFromXywh,
  clampBox,
  containment,
  intersectionArea,
  iou,
  padBox,
  quadBounds,
  roundBox,
  type Box,
} from '../../src-pipeline/common/geometry.js';

const box = (x1: number, y1: number, x2: number, y2: number): Box => ({ x1, y1, x2, y2 });
const close = (actual: number, expected: number, eps = 1e-12) => assert.ok(Math.abs(actual - expected) <= eps, `expected ${expected}, got ${actual}`);

describe('boxArea / intersectionArea', () => {
  it('computes areas and treats inverted boxes as empty', () => {
    assert.equal(boxArea(box(0, 0, 10, 5)), 50);
    assert.equal(boxArea(box(10, 0, 0, 5)), 0);
    assert.equal(boxArea(box(0, 5, 10, 0)), 0);
  });

  it('intersects overlapping, touching and disjoint boxes', () => {
    assert.equal(intersectionArea(box(0, 0, 10, 10), box(5, 5, 15, 15)), 25);
    assert.equal(intersectionArea(box(0, 0, 10, 10), box(10, 0, 20, 10)), 0); // shared edge
    assert.equal(intersectionArea(box(0, 0, 10, 10), box(20, 20, 30, 30)), 0);
    assert.equal(intersectionArea(box(0, 0, 10, 10), box(2, 3, 4, 7)), 8);
  });
});

describe('iou', () => {
  it('is 1 for identical boxes and 0 for disjoint or touching ones', () => {
    assert.equal(iou(box(1, 2, 3, 4), box(1, 2, 3, 4)), 1);
    assert.equal(iou(box(0, 0, 1, 1), box(2, 2, 3, 3)), 0);
    assert.equal(iou(box(0, 0, 10, 10), box(10, 0, 20, 10)), 0);
  });

  it('matches the hand-computed value for a partial overlap', () => {
    // inter 25, union 100 + 100 - 25 = 175
    close(iou(box(0, 0, 10, 10), box(5, 5, 15, 15)), 25 / 175);
    // half-shifted horizontally: inter 50, union 150
    close(iou(box(0, 0, 10, 10), box(5, 0, 15, 10)), 1 / 3);
  });

  it('is symmetric', () => {
    const a = box(3, 1, 17, 9);
    const b = box(8, -2, 20, 6);
    assert.equal(iou(a, b), iou(b, a));
    assert.ok(iou(a, b) > 0 && iou(a, b) < 1);
  });

  it('gives inner/outer area ratio for a nested box', () => {
    close(iou(box(0, 0, 10, 10), box(2, 2, 7, 7)), 25 / 100);
  });

  it('is 0 (not NaN) for degenerate boxes', () => {
    assert.equal(iou(box(5, 5, 5, 5), box(5, 5, 5, 5)), 0);
    assert.equal(iou(box(0, 0, 0, 10), box(0, 0, 10, 10)), 0);
  });
});

describe('containment', () => {
  it('is 1 when inner is inside outer, and asymmetric', () => {
    assert.equal(containment(box(2, 2, 4, 4), box(0, 0, 10, 10)), 1);
    close(containment(box(0, 0, 10, 10), box(2, 2, 4, 4)), 4 / 100);
  });

  it('is the covered share for a partial overlap', () => {
    // inner 10x10, the right half lies inside outer
    assert.equal(containment(box(0, 0, 10, 10), box(5, -5, 30, 30)), 0.5);
    close(containment(box(0, 0, 4, 4), box(1, 1, 10, 10)), 9 / 16);
  });

  it('is 0 when disjoint or when inner is empty', () => {
    assert.equal(containment(box(0, 0, 1, 1), box(5, 5, 6, 6)), 0);
    assert.equal(containment(box(3, 3, 3, 8), box(0, 0, 10, 10)), 0);
  });
});

describe('padBox', () => {
  it('grows each side by a fraction of the width/height', () => {
    assert.deepEqual(padBox(box(10, 20, 30, 60), 0.1, 0.25), box(8, 10, 32, 70));
  });

  it('is the identity with zero padding and shrinks with negative padding', () => {
    assert.deepEqual(padBox(box(1, 2, 3, 4), 0, 0), box(1, 2, 3, 4));
    assert.deepEqual(padBox(box(0, 0, 100, 40), -0.25, -0.25), box(25, 10, 75, 30));
  });

  it('keeps the centre', () => {
    const p = padBox(box(3, 7, 11, 12), 0.37, 0.6);
    close((p.x1 + p.x2) / 2, 7);
    close((p.y1 + p.y2) / 2, 9.5);
    close(p.x2 - p.x1, 8 * (1 + 2 * 0.37));
    close(p.y2 - p.y1, 5 * (1 + 2 * 0.6));
  });
});

describe('clampBox', () => {
  it('leaves a box inside the image untouched', () => {
    assert.deepEqual(clampBox(box(1, 2, 30, 40), 100, 50), box(1, 2, 30, 40));
  });

  it('clamps every coordinate to [0, width] x [0, height]', () => {
    assert.deepEqual(clampBox(box(-5, -3, 120, 80), 100, 50), box(0, 0, 100, 50));
    assert.deepEqual(clampBox(box(90, 40, 130, 70), 100, 50), box(90, 40, 100, 50));
  });

  it('collapses a box entirely outside onto the border', () => {
    assert.deepEqual(clampBox(box(150, 60, 200, 90), 100, 50), box(100, 50, 100, 50));
    assert.deepEqual(clampBox(box(-20, -20, -10, -10), 100, 50), box(0, 0, 0, 0));
    assert.equal(boxArea(clampBox(box(150, 60, 200, 90), 100, 50)), 0);
  });
});

describe('quadBounds', () => {
  it('bounds an axis-aligned quad', () => {
    assert.deepEqual(
      quadBounds([
        { x: 1, y: 2 },
        { x: 9, y: 2 },
        { x: 9, y: 7 },
        { x: 1, y: 7 },
      ]),
      box(1, 2, 9, 7),
    );
  });

  it('bounds a tilted quad by its extreme points', () => {
    assert.deepEqual(
      quadBounds([
        { x: 10, y: 5 },
        { x: 50, y: -3 },
        { x: 55, y: 20 },
        { x: 8, y: 30.5 },
      ]),
      box(8, -3, 55, 30.5),
    );
  });

  it('works for any number of points', () => {
    assert.deepEqual(quadBounds([{ x: 4, y: -1 }]), box(4, -1, 4, -1));
    assert.deepEqual(
      quadBounds([
        { x: 0, y: 0 },
        { x: -2, y: 3 },
        { x: 5, y: 1 },
      ]),
      box(-2, 0, 5, 3),
    );
  });
});

describe('boxFromXywh / roundBox', () => {
  it('converts xywh and rounds', () => {
    assert.deepEqual(boxFromXywh(10, 20, 30, 40), box(10, 20, 40, 60));
    assert.deepEqual(roundBox(box(1.4, 1.5, 2.49, -0.6)), box(1, 2, 2, -1));
  });
});
