import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { nms, type Detection } from '../../src-pipeline/vision/detection.js';
import { iou } from '../../src-pipeline/common/geometry.js';

const det = (x1: number, y1: number, x2: number, y2: number, score: number, classId = 0): Detection => ({
  box: { x1, y1, x2, y2 },
  score,
  classId,
});
const scores = (ds: Detection[]) => ds.map((d) => d.score);

describe('nms', () => {
  it('returns an empty list for no detections', () => {
    assert.deepEqual(nms([], 0.5), []);
  });

  it('keeps the highest-scoring box of an overlapping cluster and sorts by score', () => {
    const input = [
      det(0, 0, 10, 10, 0.6),
      det(100, 100, 120, 120, 0.7), // separate
      det(1, 0, 11, 10, 0.9), // overlaps the first (iou 90/110)
      det(0, 1, 10, 11, 0.8), // overlaps both
    ];
    const out = nms(input, 0.5);
    assert.deepEqual(scores(out), [0.9, 0.7]);
    assert.deepEqual(out[0].box, { x1: 1, y1: 0, x2: 11, y2: 10 });
  });

  it('does not mutate or reorder its input', () => {
    const input = [det(0, 0, 10, 10, 0.1), det(0, 0, 10, 10, 0.9), det(50, 50, 60, 60, 0.5)];
    const copy = structuredClone(input);
    const out = nms(input, 0.5);
    assert.deepEqual(input, copy);
    assert.deepEqual(scores(out), [0.9, 0.5]);
    assert.equal(out[0], input[1]); // the very same object
  });

  it('returns non-overlapping detections sorted by descending score', () => {
    const input = [det(0, 0, 1, 1, 0.2), det(10, 10, 11, 11, 0.9), det(20, 20, 21, 21, 0.5), det(30, 30, 31, 31, 0.7)];
    assert.deepEqual(scores(nms(input, 0.1)), [0.9, 0.7, 0.5, 0.2]);
  });

  it('suppresses only when iou is strictly greater than the threshold', () => {
    // iou = 50 / 150 = 1/3 exactly
    const a = det(0, 0, 10, 10, 0.9);
    const b = det(5, 0, 15, 10, 0.8);
    const t = iou(a.box, b.box);
    assert.equal(t, 1 / 3);
    assert.equal(nms([a, b], t).length, 2, 'iou == threshold keeps both');
    assert.equal(nms([a, b], t - 1e-9).length, 1, 'iou just above threshold suppresses');
    assert.equal(nms([a, b], 0).length, 1);
    assert.equal(nms([a, b], 1).length, 2);
  });

  it('keeps identical boxes apart when the threshold is 1', () => {
    assert.equal(nms([det(0, 0, 10, 10, 0.9), det(0, 0, 10, 10, 0.8)], 1).length, 2);
    assert.equal(nms([det(0, 0, 10, 10, 0.9), det(0, 0, 10, 10, 0.8)], 0.99).length, 1);
  });

  it('is class-agnostic by default: overlapping boxes of different classes suppress each other', () => {
    const input = [det(0, 0, 10, 10, 0.9, 0), det(0, 0, 10, 10, 0.8, 1)];
    const out = nms(input, 0.5);
    assert.equal(out.length, 1);
    assert.equal(out[0].classId, 0);
  });

  it('class-aware: suppresses only within a class', () => {
    const input = [
      det(0, 0, 10, 10, 0.9, 0),
      det(0, 0, 10, 10, 0.8, 1),
      det(1, 1, 10, 10, 0.7, 0), // suppressed by the 0.9 box (same class)
      det(1, 1, 10, 10, 0.6, 1), // suppressed by the 0.8 box (same class)
      det(1, 1, 10, 10, 0.5, 2), // only one of class 2
    ];
    const out = nms(input, 0.5, true);
    assert.deepEqual(
      out.map((d) => [d.score, d.classId]),
      [
        [0.9, 0],
        [0.8, 1],
        [0.5, 2],
      ],
    );
  });

  it('does not let a suppressed box suppress others (greedy, chain case)', () => {
    // A overlaps B, B overlaps C, A does not overlap C: A suppresses B, so C survives.
    const a = det(0, 0, 10, 10, 0.9);
    const b = det(5, 0, 15, 10, 0.8);
    const c = det(10, 0, 20, 10, 0.7);
    assert.ok(iou(a.box, b.box) > 0.25 && iou(b.box, c.box) > 0.25 && iou(a.box, c.box) === 0);
    assert.deepEqual(scores(nms([c, b, a], 0.25)), [0.9, 0.7]);
  });

  it('stops at maxDetections, keeping the best ones', () => {
    const input = Array.from({ length: 10 }, (_, i) => det(i * 20, 0, i * 20 + 10, 10, i / 10));
    assert.deepEqual(scores(nms(input, 0.5, false, 3)), [0.9, 0.8, 0.7]);
    assert.equal(nms(input, 0.5, false, 0).length, 0);
    assert.equal(nms(input, 0.5).length, 10);
  });

  it('applies maxDetections after suppression', () => {
    const input = [det(0, 0, 10, 10, 0.9), det(0, 0, 10, 10, 0.85), det(50, 0, 60, 10, 0.8), det(100, 0, 110, 10, 0.7)];
    assert.deepEqual(scores(nms(input, 0.5, false, 2)), [0.9, 0.8]);
  });

  it('defaults to at most 300 detections', () => {
    const input = Array.from({ length: 350 }, (_, i) => det(i * 20, 0, i * 20 + 10, 10, 1 - i / 1000));
    const out = nms(input, 0.5);
    assert.equal(out.length, 300);
    assert.equal(out[299].score, input[299].score);
  });

  it('keeps corners attached to the surviving detection', () => {
    const withCorners: Detection = {
      ...det(0, 0, 10, 5, 0.9),
      corners: [
        { x: 0, y: 0 },
        { x: 10, y: 0 },
        { x: 10, y: 5 },
        { x: 0, y: 5 },
      ],
    };
    const out = nms([det(0, 0, 10, 5, 0.5), withCorners], 0.5);
    assert.equal(out.length, 1);
    assert.deepEqual(out[0].corners, withCorners.corners);
  });
});
