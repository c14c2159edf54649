import { iou, type Box, type Quad } from '../common/geometry.js';

export interface Detection {
  box: Box;
  score: number;
  classId: number;
  /** Plate corners TL, TR, BR, BL when the model predicts them. */
  corners?: Quad;
}

/**
 * Greedy NMS. With `classAware` boxes only suppress boxes of their own class (vehicle
 * detector); plates use class-agnostic NMS because single/double-row classes overlap.
 */
export function nms(dets: Detection[], iouThreshold: number, classAware = false, maxDetections = 300): Detection[] {
  const sorted = [...dets].sort((a, b) => b.score - a.score);
  const kept: Detection[] = [];
  const removed = new Uint8Array(sorted.length);
  for (let i = 0; i < sorted.length && kept.length < maxDetections; i++) {
    if (removed[i]) continue;
    const a = sorted[i];
    kept.push(a);
    for (let j = i + 1; j < sorted.length; j++) {
      if (removed[j]) continue;
      const b = sorted[j];
      if (classAware && a.classId !== b.classId) continue;
      if (iou(a.box, b.box) > iouThreshold) removed[j] = 1;
    }
  }
  return kept;
}
