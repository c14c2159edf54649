import type { Detection } from '../detection.js';
import type { DecodeParams, RawOutput } from './types.js';

const STRIDES = [8, 16, 32];

/**
 * YOLOX head output [1, N, 5 + C] with raw grid offsets: xy = (p + grid) * stride,
 * wh = exp(p) * stride; objectness and class scores already sigmoid. Anchors are laid out
 * stride by stride, row-major within each grid, exactly as YOLOX's `decode_outputs`.
 */
export function decodeYolox(out: RawOutput, p: DecodeParams): Detection[] {
  const [, n, rowLen] = out.dims;
  const expected = STRIDES.reduce((s, st) => s + (p.inputSize / st) ** 2, 0);
  if (n !== expected) throw new Error(`yolox: expected ${expected} anchors for input ${p.inputSize}, got ${n}`);
  if (rowLen !== 5 + p.numClasses) throw new Error(`yolox: expected rows of ${5 + p.numClasses}, got ${rowLen}`);
  const d = out.data;
  const dets: Detection[] = [];
  let idx = 0;
  for (const stride of STRIDES) {
    const g = p.inputSize / stride;
    for (let gy = 0; gy < g; gy++) {
      for (let gx = 0; gx < g; gx++, idx++) {
        const o = idx * rowLen;
        const obj = d[o + 4];
        if (obj < p.scoreThreshold) continue;
        let best = -1;
        let bestScore = 0;
        const classes = p.keepClasses ?? null;
        if (classes) {
          for (const c of classes) {
            const s = d[o + 5 + c];
            if (s > bestScore) {
              bestScore = s;
              best = c;
            }
          }
        } else {
          for (let c = 0; c < p.numClasses; c++) {
            const s = d[o + 5 + c];
            if (s > bestScore) {
              bestScore = s;
              best = c;
            }
          }
        }
        const score = obj * bestScore;
        if (best < 0 || score < p.scoreThreshold) continue;
        const cx = (d[o] + gx) * stride;
        const cy = (d[o + 1] + gy) * stride;
        const w = Math.exp(d[o + 2]) * stride;
        const h = Math.exp(d[o + 3]) * stride;
        dets.push({ box: { x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 }, score, classId: best });
      }
    }
  }
  return dets;
}
