import type { Point, Quad } from '../../common/geometry.js';
import type { Detection } from '../detection.js';
import type { DecodeParams, RawOutput } from './types.js';

/**
 * YOLOv5-style decoded output [1, N, 5 + 2K + C]: cx, cy, w, h (input pixels), objectness,
 * K keypoints as x, y (YOLOv5-face / y5fu layout), then C class scores. score = obj * max(cls).
 */
export function decodeYolov5(out: RawOutput, p: DecodeParams): Detection[] {
  const [, n, rowLen] = out.dims;
  const k = p.numKeypoints;
  if (rowLen !== 5 + 2 * k + p.numClasses) {
    throw new Error(`yolov5: expected rows of ${5 + 2 * k + p.numClasses} (5 + 2x${k} keypoints + ${p.numClasses} classes), got ${rowLen}`);
  }
  const d = out.data;
  const clsOff = 5 + 2 * k;
  const dets: Detection[] = [];
  for (let i = 0; i < n; i++) {
    const o = i * rowLen;
    const obj = d[o + 4];
    if (obj < p.scoreThreshold) continue;
    let best = 0;
    let bestScore = p.numClasses === 0 ? 1 : -1;
    for (let c = 0; c < p.numClasses; c++) {
      const s = d[o + clsOff + c];
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    if (p.keepClasses && !p.keepClasses.includes(best)) continue;
    const score = obj * bestScore;
    if (score < p.scoreThreshold) continue;
    const cx = d[o];
    const cy = d[o + 1];
    const w = d[o + 2];
    const h = d[o + 3];
    const det: Detection = { box: { x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 }, score, classId: best };
    if (k === 4) {
      const pts: Point[] = [];
      for (let j = 0; j < 4; j++) pts.push({ x: d[o + 5 + 2 * j], y: d[o + 6 + 2 * j] });
      det.corners = pts as Quad;
    }
    dets.push(det);
  }
  return dets;
}
