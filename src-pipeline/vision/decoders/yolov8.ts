import type { Point, Quad } from '../../common/geometry.js';
import type { Detection } from '../detection.js';
import type { DecodeParams, RawOutput } from './types.js';

/**
 * YOLOv8 / YOLO11 output [1, 4 + C + K*kd, N] (channel-major, anchor-free, no objectness):
 * cx, cy, w, h in input pixels, C class scores (sigmoid), then K keypoints of kd values each
 * (x, y[, visibility]). Some exporters transpose to [1, N, rows]; both are accepted.
 */
export function decodeYolov8(out: RawOutput, p: DecodeParams): Detection[] {
  const [, a, b] = out.dims;
  const k = p.numKeypoints;
  const base = 4 + p.numClasses;
  // The row length is whichever dimension matches 4 + C + K*{2,3}; anchors are the other.
  const fits = (rows: number) => rows === base + 2 * k || rows === base + 3 * k;
  let rows: number;
  let n: number;
  let channelMajor: boolean;
  if (fits(a) && !(fits(b) && b < a)) {
    rows = a;
    n = b;
    channelMajor = true;
  } else if (fits(b)) {
    rows = b;
    n = a;
    channelMajor = false;
  } else {
    throw new Error(`yolov8: output ${JSON.stringify(out.dims)} does not match 4 + ${p.numClasses} classes + ${k} keypoints`);
  }
  const kd = k === 0 ? 0 : (rows - base) / k;
  const d = out.data;
  const at = channelMajor ? (i: number, r: number) => d[r * n + i] : (i: number, r: number) => d[i * rows + r];
  const dets: Detection[] = [];
  for (let i = 0; i < n; i++) {
    let best = -1;
    let bestScore = -1;
    for (let c = 0; c < p.numClasses; c++) {
      const s = at(i, 4 + c);
      if (s > bestScore) {
        bestScore = s;
        best = c;
      }
    }
    if (bestScore < p.scoreThreshold) continue;
    if (p.keepClasses && !p.keepClasses.includes(best)) continue;
    const cx = at(i, 0);
    const cy = at(i, 1);
    const w = at(i, 2);
    const h = at(i, 3);
    const det: Detection = { box: { x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 }, score: bestScore, classId: best };
    if (k === 4) {
      const pts: Point[] = [];
      for (let j = 0; j < 4; j++) pts.push({ x: at(i, base + j * kd), y: at(i, base + j * kd + 1) });
      det.corners = pts as Quad;
    }
    dets.push(det);
  }
  return dets;
}
