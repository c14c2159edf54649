/**
 * Decoders on hand-built output tensors: every expected number is derived here from the
 * layout documented in each decoder, not copied from the decoder's own output.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { decodeYolox } from '../../src-pipeline/vision/decoders/yolox.js';
import { decodeYolov5 } from '../../src-pipeline/vision/decoders/yolov5.js';
import { decodeYolov8 } from '../../src-pipeline/vision/decoders/yolov8.js';
import { decoders, type DecodeParams, type RawOutput } from '../../src-pipeline/vision/decoders/index.js';
import type { Detection } from '../../src-pipeline/vision/detection.js';
import type { Box, Point } from '../../src-pipeline/common/geometry.js';

const f = Math.fround;

function closeTo(actual: number, expected: number, eps: number, what = 'value') {
  assert.ok(Math.abs(actual - expected) <= eps, `${what}: expected ${expected}, got ${actual}`);
}

function assertBox(actual: Box, expected: Box, eps = 1e-4) {
  for (const k of ['x1', 'y1', 'x2', 'y2'] as const) closeTo(actual[k], expected[k], eps, k);
}

function assertPoints(actual: readonly Point[] | undefined, expected: Point[], eps = 1e-4) {
  assert.ok(actual, 'corners missing');
  assert.equal(actual.length, expected.length);
  actual.forEach((p, i) => {
    closeTo(p.x, expected[i].x, eps, `corner ${i} x`);
    closeTo(p.y, expected[i].y, eps, `corner ${i} y`);
  });
}

/** Row-major [1, rows.length, rowLen] tensor. */
function rowTensor(rows: number[][], rowLen: number): RawOutput {
  const data = new Float32Array(rows.length * rowLen);
  rows.forEach((r, i) => {
    assert.equal(r.length, rowLen, 'test row has the wrong length');
    data.set(r, i * rowLen);
  });
  return { data, dims: [1, rows.length, rowLen] };
}

/** Channel-major [1, rowLen, rows.length] tensor (YOLOv8 native export). */
function channelMajorTensor(rows: number[][], rowLen: number): RawOutput {
  const n = rows.length;
  const data = new Float32Array(n * rowLen);
  rows.forEach((r, i) => {
    assert.equal(r.length, rowLen, 'test row has the wrong length');
    for (let c = 0; c < rowLen; c++) data[c * n + i] = r[c];
  });
  return { data, dims: [1, rowLen, n] };
}

describe('decoder registry', () => {
  it('maps each manifest decoder type to its function', () => {
    assert.equal(decoders.yolox, decodeYolox);
    assert.equal(decoders.yolov5, decodeYolov5);
    assert.equal(decoders.yolov8, decodeYolov8);
    assert.deepEqual(Object.keys(decoders).sort(), ['yolov5', 'yolov8', 'yolox']);
  });
});

describe('decodeYolox', () => {
  // 64x64 input: strides 8, 16, 32 → 8x8 + 4x4 + 2x2 = 84 anchors.
  const INPUT = 64;
  const N = 84;
  const C = 3;
  const ROW = 5 + C;
  const params = (over: Partial<DecodeParams> = {}): DecodeParams => ({ inputSize: INPUT, scoreThreshold: 0.1, numClasses: C, numKeypoints: 0, ...over });
  /** Index of the anchor for (stride, gx, gy), laid out stride by stride, row-major. */
  const anchorIndex = (stride: number, gx: number, gy: number) => {
    const offsets: Record<number, number> = { 8: 0, 16: 64, 32: 64 + 16 };
    const g = INPUT / stride;
    return offsets[stride] + gy * g + gx;
  };
  const emptyRows = () => Array.from({ length: N }, () => new Array<number>(ROW).fill(0));
  const expectBox = (px: number, py: number, pw: number, ph: number, gx: number, gy: number, stride: number): Box => {
    const cx = (f(px) + gx) * stride;
    const cy = (f(py) + gy) * stride;
    const w = Math.exp(f(pw)) * stride;
    const h = Math.exp(f(ph)) * stride;
    return { x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 };
  };

  it('decodes one anchor: xy = (p + grid) * stride, wh = exp(p) * stride, score = obj * cls', () => {
    const rows = emptyRows();
    // stride 16, grid (2, 1): index 64 + 1*4 + 2 = 70
    assert.equal(anchorIndex(16, 2, 1), 70);
    rows[70] = [0.25, 0.5, Math.log(2), 0, 0.8, 0.1, 0.9, 0.3];
    const dets = decodeYolox(rowTensor(rows, ROW), params());
    assert.equal(dets.length, 1);
    const [d] = dets;
    assert.equal(d.classId, 1);
    closeTo(d.score, f(0.8) * f(0.9), 1e-7, 'score');
    // cx = 2.25 * 16 = 36, cy = 1.5 * 16 = 24, w = 2 * 16 = 32, h = 16
    assertBox(d.box, { x1: 20, y1: 16, x2: 52, y2: 32 });
    assertBox(d.box, expectBox(0.25, 0.5, Math.log(2), 0, 2, 1, 16), 1e-9);
    assert.equal(d.corners, undefined);
  });

  it('walks the grids stride by stride, x fastest', () => {
    const rows = emptyRows();
    const cases = [
      { stride: 8, gx: 0, gy: 0, raw: [0.5, 0.5, 0, 0] },
      { stride: 8, gx: 3, gy: 5, raw: [0.1, 0.9, 0.5, -0.5] },
      { stride: 16, gx: 3, gy: 0, raw: [0, 0, 1, 1] },
      { stride: 32, gx: 1, gy: 1, raw: [0.75, 0.25, -1, 0.2] },
    ];
    cases.forEach((c, k) => {
      rows[anchorIndex(c.stride, c.gx, c.gy)] = [...c.raw, 0.9, 0, 0, 0];
      rows[anchorIndex(c.stride, c.gx, c.gy)][5 + (k % C)] = 0.5 + k * 0.1; // distinct score per case
    });
    assert.deepEqual(
      cases.map((c) => anchorIndex(c.stride, c.gx, c.gy)),
      [0, 43, 67, 83],
    );
    const dets = decodeYolox(rowTensor(rows, ROW), params());
    assert.equal(dets.length, cases.length);
    cases.forEach((c, k) => {
      const d = dets.find((x) => Math.abs(x.score - f(0.9) * f(0.5 + k * 0.1)) < 1e-6);
      assert.ok(d, `detection for case ${k} missing`);
      assert.equal(d.classId, k % C);
      assertBox(d.box, expectBox(c.raw[0], c.raw[1], c.raw[2], c.raw[3], c.gx, c.gy, c.stride), 1e-9);
    });
  });

  it('applies the threshold to objectness and to obj * cls (inclusive)', () => {
    const rows = emptyRows();
    rows[0] = [0, 0, 0, 0, 0.05, 1, 0, 0]; // obj below threshold although obj*cls = 0.05
    rows[1] = [0, 0, 0, 0, 0.5, 0.1, 0, 0]; // obj passes, obj*cls = 0.05 fails
    rows[2] = [0, 0, 0, 0, 0.5, 0.5, 0, 0]; // exactly 0.25
    rows[3] = [0, 0, 0, 0, 0.5, 0, 0, 0]; // no class score at all
    const at = (t: number) => decodeYolox(rowTensor(rows, ROW), params({ scoreThreshold: t }));
    assert.deepEqual(
      at(0.1).map((d) => d.score),
      [0.25],
    );
    assert.equal(at(0.25).length, 1, 'score equal to the threshold is kept');
    assert.equal(at(0.2500001).length, 0);
    // a low threshold lets row 0 and 1 through; row 3 still has no class
    assert.deepEqual(
      at(0.01).map((d) => d.score),
      [f(0.05), f(0.5) * f(0.1), 0.25],
    );
  });

  it('keepClasses picks the best class among the kept ones', () => {
    const rows = emptyRows();
    rows[10] = [0, 0, 0, 0, 0.8, 0.1, 0.9, 0.3];
    const dets = decodeYolox(rowTensor(rows, ROW), params({ keepClasses: [0, 2] }));
    assert.equal(dets.length, 1);
    assert.equal(dets[0].classId, 2);
    closeTo(dets[0].score, f(0.8) * f(0.3), 1e-7, 'score');
    // only class 0 kept: 0.8 * 0.1 = 0.08 < 0.1
    assert.equal(decodeYolox(rowTensor(rows, ROW), params({ keepClasses: [0] })).length, 0);
    assert.equal(decodeYolox(rowTensor(rows, ROW), params({ keepClasses: [1] }))[0].classId, 1);
  });

  it('rejects the wrong number of anchors or the wrong row length', () => {
    const rows = emptyRows();
    assert.throws(() => decodeYolox(rowTensor(rows.slice(1), ROW), params()), /yolox: expected 84 anchors for input 64, got 83/);
    assert.throws(() => decodeYolox(rowTensor(rows, ROW), params({ inputSize: 128 })), /expected 336 anchors/);
    assert.throws(
      () =>
        decodeYolox(
          rowTensor(
            rows.map((r) => r.slice(1)),
            ROW - 1,
          ),
          params(),
        ),
      /yolox: expected rows of 8, got 7/,
    );
  });

  it('returns nothing for an all-zero output', () => {
    assert.deepEqual(decodeYolox(rowTensor(emptyRows(), ROW), params({ scoreThreshold: 0 })), []);
  });
});

describe('decodeYolov5', () => {
  // [1, N, 5 + 2K + C] with K = 4 corners and C = 2 classes: rows of 15.
  const K = 4;
  const C = 2;
  const ROW = 5 + 2 * K + C;
  const params = (over: Partial<DecodeParams> = {}): DecodeParams => ({ inputSize: 640, scoreThreshold: 0.3, numClasses: C, numKeypoints: K, ...over });
  const corners = [100, 200, 180, 205, 178, 240, 98, 236];
  const row = (cx: number, cy: number, w: number, h: number, obj: number, cls: [number, number], kp = corners) => [cx, cy, w, h, obj, ...kp, ...cls];

  it('decodes box, score = obj * max(cls), class and corners TL, TR, BR, BL', () => {
    const out = rowTensor([row(140, 220, 80, 40, 0.9, [0.2, 0.7]), row(10, 10, 4, 4, 0.1, [0.9, 0.9])], ROW);
    const dets = decodeYolov5(out, params());
    assert.equal(dets.length, 1);
    const [d] = dets;
    assertBox(d.box, { x1: 100, y1: 200, x2: 180, y2: 240 }, 0);
    assert.equal(d.classId, 1);
    closeTo(d.score, f(0.9) * f(0.7), 1e-7, 'score');
    assertPoints(d.corners, [
      { x: 100, y: 200 },
      { x: 180, y: 205 },
      { x: 178, y: 240 },
      { x: 98, y: 236 },
    ]);
  });

  it('picks class 0 when it is the best', () => {
    const dets = decodeYolov5(rowTensor([row(50, 60, 10, 20, 0.8, [0.6, 0.5])], ROW), params());
    assert.equal(dets[0].classId, 0);
    assertBox(dets[0].box, { x1: 45, y1: 50, x2: 55, y2: 70 }, 0);
  });

  it('thresholds objectness and the final score, inclusively', () => {
    const rows = [
      row(0, 0, 2, 2, 0.25, [1, 0]), // obj below 0.3
      row(0, 0, 2, 2, 0.5, [0.5, 0.1]), // 0.25 below 0.3
      row(0, 0, 2, 2, 0.5, [0.75, 0]), // 0.375 passes
    ];
    const out = rowTensor(rows, ROW);
    assert.deepEqual(
      decodeYolov5(out, params()).map((d) => d.score),
      [0.375],
    );
    assert.equal(decodeYolov5(out, params({ scoreThreshold: 0.375 })).length, 1);
    assert.equal(decodeYolov5(out, params({ scoreThreshold: 0.3751 })).length, 0);
    assert.equal(decodeYolov5(out, params({ scoreThreshold: 0.2 })).length, 3);
  });

  it('keepClasses drops detections whose best class is not kept', () => {
    const out = rowTensor([row(0, 0, 2, 2, 0.9, [0.8, 0.6]), row(5, 5, 2, 2, 0.9, [0.1, 0.6])], ROW);
    const dets = decodeYolov5(out, params({ keepClasses: [1] }));
    assert.equal(dets.length, 1);
    assert.equal(dets[0].classId, 1);
    assertBox(dets[0].box, { x1: 4, y1: 4, x2: 6, y2: 6 }, 0);
  });

  it('without keypoints or classes: rows of 5, score = objectness, class 0', () => {
    const out = rowTensor(
      [
        [20, 30, 10, 6, 0.6],
        [0, 0, 1, 1, 0.2],
      ],
      5,
    );
    const dets = decodeYolov5(out, params({ numKeypoints: 0, numClasses: 0 }));
    assert.equal(dets.length, 1);
    assert.equal(dets[0].classId, 0);
    closeTo(dets[0].score, f(0.6), 0, 'score');
    assertBox(dets[0].box, { x1: 15, y1: 27, x2: 25, y2: 33 }, 0);
    assert.equal(dets[0].corners, undefined);
  });

  it('without keypoints: classes follow the objectness directly', () => {
    const out = rowTensor([[20, 30, 10, 6, 0.8, 0.1, 0.9, 0.4]], 8);
    const dets = decodeYolov5(out, params({ numKeypoints: 0, numClasses: 3 }));
    assert.equal(dets[0].classId, 1);
    closeTo(dets[0].score, f(0.8) * f(0.9), 1e-7, 'score');
    assert.equal(dets[0].corners, undefined);
  });

  it('rejects rows of the wrong length', () => {
    assert.throws(
      () => decodeYolov5(rowTensor([new Array(14).fill(0)], 14), params()),
      /yolov5: expected rows of 15 \(5 \+ 2x4 keypoints \+ 2 classes\), got 14/,
    );
    assert.throws(() => decodeYolov5(rowTensor([new Array(15).fill(0)], 15), params({ numClasses: 1 })), /expected rows of 14/);
  });
});

describe('decodeYolov8', () => {
  const C = 2;
  const K = 4;
  const params = (over: Partial<DecodeParams> = {}): DecodeParams => ({ inputSize: 640, scoreThreshold: 0.25, numClasses: C, numKeypoints: K, ...over });

  // Five anchors with 4 corners of (x, y, visibility): rows of 4 + 2 + 12 = 18.
  const kp3 = (pts: number[][]) => pts.flatMap(([x, y]) => [x, y, 0.99]);
  const plateCorners = [
    [300, 400],
    [420, 410],
    [418, 450],
    [298, 442],
  ];
  const rows18 = [
    [360, 425, 124, 52, 0.1, 0.88, ...kp3(plateCorners)], // class 1, kept
    [
      50,
      50,
      10,
      10,
      0.2,
      0.1,
      ...kp3([
        [0, 0],
        [1, 0],
        [1, 1],
        [0, 1],
      ]),
    ], // below threshold
    [
      100,
      80,
      40,
      20,
      0.6,
      0.3,
      ...kp3([
        [80, 70],
        [120, 70],
        [120, 90],
        [80, 90],
      ]),
    ], // class 0, kept
    [0, 0, 0, 0, 0, 0, ...new Array(12).fill(0)],
    [200, 200, 20, 20, 0.25, 0.25, ...new Array(12).fill(0)], // exactly at threshold, class 0 (first max)
  ];

  const checkPlates = (dets: Detection[]) => {
    assert.equal(dets.length, 3);
    const [a, b, c] = dets;
    assert.equal(a.classId, 1);
    closeTo(a.score, f(0.88), 0, 'score');
    assertBox(a.box, { x1: 298, y1: 399, x2: 422, y2: 451 }, 0);
    assertPoints(
      a.corners,
      plateCorners.map(([x, y]) => ({ x, y })),
      0,
    );
    assert.equal(b.classId, 0);
    closeTo(b.score, f(0.6), 0, 'score');
    assertBox(b.box, { x1: 80, y1: 70, x2: 120, y2: 90 }, 0);
    assertPoints(
      b.corners,
      [
        { x: 80, y: 70 },
        { x: 120, y: 70 },
        { x: 120, y: 90 },
        { x: 80, y: 90 },
      ],
      0,
    );
    assert.equal(c.classId, 0);
    assert.equal(c.score, 0.25);
  };

  it('decodes the channel-major layout [1, 4 + C + K*3, N] with corners', () => {
    const out = channelMajorTensor(rows18, 18);
    assert.deepEqual(out.dims, [1, 18, 5]);
    checkPlates(decodeYolov8(out, params()));
  });

  it('decodes the transposed layout [1, N, rows] identically', () => {
    const out = rowTensor(rows18, 18);
    assert.deepEqual(out.dims, [1, 5, 18]);
    checkPlates(decodeYolov8(out, params()));
    assert.deepEqual(decodeYolov8(out, params()), decodeYolov8(channelMajorTensor(rows18, 18), params()));
  });

  it('accepts keypoints of (x, y) without visibility: rows of 4 + C + K*2', () => {
    const rows14 = rows18.map((r) => [...r.slice(0, 6), ...[0, 1, 2, 3].flatMap((j) => r.slice(6 + 3 * j, 8 + 3 * j))]);
    assert.equal(rows14[0].length, 14);
    checkPlates(decodeYolov8(channelMajorTensor(rows14, 14), params()));
    checkPlates(decodeYolov8(rowTensor(rows14, 14), params()));
  });

  it('decodes a detector without keypoints in both layouts', () => {
    // 3 classes, no keypoints: rows of 7; 9 anchors so neither dimension is ambiguous.
    const rows = Array.from({ length: 9 }, () => new Array<number>(7).fill(0));
    rows[4] = [320, 240, 64, 32, 0.05, 0.2, 0.95];
    rows[7] = [10, 20, 4, 8, 0.5, 0.45, 0.1];
    const p = params({ numClasses: 3, numKeypoints: 0 });
    for (const out of [channelMajorTensor(rows, 7), rowTensor(rows, 7)]) {
      const dets = decodeYolov8(out, p);
      assert.equal(dets.length, 2, `layout ${JSON.stringify(out.dims)}`);
      assert.equal(dets[0].classId, 2);
      closeTo(dets[0].score, f(0.95), 0, 'score');
      assertBox(dets[0].box, { x1: 288, y1: 224, x2: 352, y2: 256 }, 0);
      assert.equal(dets[0].corners, undefined);
      assert.equal(dets[1].classId, 0);
      assertBox(dets[1].box, { x1: 8, y1: 16, x2: 12, y2: 24 }, 0);
    }
  });

  it('keepClasses drops detections whose best class is not kept', () => {
    const out = channelMajorTensor(rows18, 18);
    const only1 = decodeYolov8(out, params({ keepClasses: [1] }));
    assert.deepEqual(
      only1.map((d) => d.classId),
      [1],
    );
    const only0 = decodeYolov8(out, params({ keepClasses: [0] }));
    assert.deepEqual(
      only0.map((d) => d.score),
      [f(0.6), 0.25],
    );
  });

  it('applies the score threshold to the best class score', () => {
    const out = channelMajorTensor(rows18, 18);
    assert.equal(decodeYolov8(out, params({ scoreThreshold: 0.2500001 })).length, 2);
    assert.equal(decodeYolov8(out, params({ scoreThreshold: 0.9 })).length, 0);
    assert.equal(decodeYolov8(out, params({ scoreThreshold: 0.15 })).length, 4);
  });

  it('rejects an output whose dimensions do not match the classes and keypoints', () => {
    const bad: RawOutput = { data: new Float32Array(10 * 100), dims: [1, 10, 100] };
    assert.throws(() => decodeYolov8(bad, params({ numKeypoints: 0 })), /yolov8: output \[1,10,100\] does not match 4 \+ 2 classes \+ 0 keypoints/);
    assert.throws(() => decodeYolov8(channelMajorTensor(rows18, 18), params({ numClasses: 3 })), /does not match 4 \+ 3 classes \+ 4 keypoints/);
  });
});
