/**
 * Plate candidates between detection and reading: where they sit relative to vehicles, how
 * duplicates from several detector passes collapse, and the results' shapes.
 */
import { containment, type Box, type Point, type Quad } from '../common/geometry.js';
import type { RejectReason } from '../common/plate-text.js';
import type { Detection } from './detection.js';
import type { RgbImage } from './image.js';

/** Plate class of candidates that came from the text detector rather than a plate detector. */
export const TEXT_CLASS = 'text';

export const VEHICLE_CLASSES: Readonly<Record<number, string>> = { 2: 'car', 3: 'motorcycle', 5: 'bus', 7: 'truck' };

export interface VehicleResult {
  type: string;
  score: number;
  box: Box;
}

export interface PlateResult {
  text: string;
  confidence: number;
  char_confidences: number[];
  box: Box;
  corners: Quad | null;
  detector_score: number;
  detector: string;
  /** Detector class, e.g. single-row or double-row for y5fu. */
  plate_class: string;
  region: string;
  strategy: string;
  vehicle: VehicleResult | null;
}

export interface RejectedRead {
  text: string;
  confidence: number;
  box: Box;
  reason: RejectReason;
}

export interface StageTimings {
  decode_ms?: number;
  vehicle_ms: number;
  plate_ms: number;
  ocr_ms: number;
  total_ms: number;
  /** Pure onnxruntime time, summed over every model run for this image. */
  inference_ms: number;
}

export interface RecognitionResult {
  width: number;
  height: number;
  plates: PlateResult[];
  vehicles: VehicleResult[];
  rejected: RejectedRead[];
  timings: StageTimings;
}

export interface PlateCandidate {
  det: Detection;
  detector: string;
  className: string;
  vehicle: VehicleResult | null;
}

/**
 * Whether a candidate is where a vehicle's plate would be: inside it and below its top third.
 * Fleet numbers on a truck's roof or a van's upper door are text, not the plate, and must not
 * stop the plate searches for that vehicle.
 */
export function holdsPlate(v: VehicleResult, c: PlateCandidate): boolean {
  const cy = (c.det.box.y1 + c.det.box.y2) / 2;
  return containment(c.det.box, v.box) > 0.6 && cy > v.box.y1 + (v.box.y2 - v.box.y1) / 3;
}

/** The vehicle that contains most of the plate (ties: the smaller, nearer vehicle). */
export function assignVehicle(plate: Box, vehicles: readonly VehicleResult[]): VehicleResult | null {
  let best: VehicleResult | null = null;
  let bestC = 0.5;
  for (const v of vehicles) {
    const c = containment(plate, v.box);
    const area = (v.box.x2 - v.box.x1) * (v.box.y2 - v.box.y1);
    const bestArea = best ? (best.box.x2 - best.box.x1) * (best.box.y2 - best.box.y1) : Infinity;
    if (c > bestC + 1e-6 || (Math.abs(c - bestC) <= 1e-6 && area < bestArea)) {
      best = v;
      bestC = c;
    }
  }
  return best;
}

/** Two detections of the same physical plate (full frame and crop search) keep the surer one. */
export function dedupePlates(plates: PlateResult[]): PlateResult[] {
  const out: PlateResult[] = [];
  // Equal confidence: the longer read is the fuller view of the plate.
  const order = [...plates].sort((a, b) => b.confidence - a.confidence || b.text.length - a.text.length);
  for (const p of order) {
    if (out.some((q) => q.text === p.text || containment(p.box, q.box) > 0.5 || containment(q.box, p.box) > 0.5)) continue;
    out.push(p);
  }
  return out;
}

export interface ScaledView {
  image: RgbImage;
  /** Multiply coordinates in `image` by this to get full-frame coordinates. */
  factor: number;
}

/** Moves a candidate's box and corners by a point transform (offsets, scale changes). */
export function mapDetection(c: PlateCandidate, f: (p: Point) => Point): PlateCandidate {
  const a = f({ x: c.det.box.x1, y: c.det.box.y1 });
  const b = f({ x: c.det.box.x2, y: c.det.box.y2 });
  return { ...c, det: { ...c.det, box: { x1: a.x, y1: a.y, x2: b.x, y2: b.y }, corners: c.det.corners?.map(f) as Quad | undefined } };
}

export function scaleBox(b: Box, f: number): Box {
  return { x1: b.x1 * f, y1: b.y1 * f, x2: b.x2 * f, y2: b.y2 * f };
}

export function shiftBox(b: Box, dx: number, dy: number): Box {
  return { x1: b.x1 + dx, y1: b.y1 + dy, x2: b.x2 + dx, y2: b.y2 + dy };
}

export function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
