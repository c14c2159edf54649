/** Pure geometry shared by every runtime (pipeline, UI overlays). */
export interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}

export interface Point {
  x: number;
  y: number;
}

/** Four corners in the order top-left, top-right, bottom-right, bottom-left. */
export type Quad = [Point, Point, Point, Point];

export function boxArea(b: Box): number {
  return Math.max(0, b.x2 - b.x1) * Math.max(0, b.y2 - b.y1);
}

export function intersectionArea(a: Box, b: Box): number {
  const w = Math.min(a.x2, b.x2) - Math.max(a.x1, b.x1);
  const h = Math.min(a.y2, b.y2) - Math.max(a.y1, b.y1);
  return w > 0 && h > 0 ? w * h : 0;
}

export function iou(a: Box, b: Box): number {
  const inter = intersectionArea(a, b);
  if (inter === 0) return 0;
  return inter / (boxArea(a) + boxArea(b) - inter);
}

/** Share of `inner` that lies inside `outer` (1 when fully contained). */
export function containment(inner: Box, outer: Box): number {
  const area = boxArea(inner);
  return area === 0 ? 0 : intersectionArea(inner, outer) / area;
}

export function clampBox(b: Box, width: number, height: number): Box {
  return {
    x1: Math.min(Math.max(b.x1, 0), width),
    y1: Math.min(Math.max(b.y1, 0), height),
    x2: Math.min(Math.max(b.x2, 0), width),
    y2: Math.min(Math.max(b.y2, 0), height),
  };
}

/** Grows a box by fractions of its own width (each side) and height (top and bottom). */
export function padBox(b: Box, padX: number, padY: number): Box {
  const w = b.x2 - b.x1;
  const h = b.y2 - b.y1;
  return { x1: b.x1 - w * padX, y1: b.y1 - h * padY, x2: b.x2 + w * padX, y2: b.y2 + h * padY };
}

export function quadBounds(q: readonly Point[]): Box {
  const xs = q.map((p) => p.x);
  const ys = q.map((p) => p.y);
  return { x1: Math.min(...xs), y1: Math.min(...ys), x2: Math.max(...xs), y2: Math.max(...ys) };
}

export function boxFromXywh(x: number, y: number, w: number, h: number): Box {
  return { x1: x, y1: y, x2: x + w, y2: y + h };
}

export function roundBox(b: Box): Box {
  return { x1: Math.round(b.x1), y1: Math.round(b.y1), x2: Math.round(b.x2), y2: Math.round(b.y2) };
}

/** Even-odd rule; points on an edge may fall either way (fine for ROI tests on pixel centres). */
export function pointInPolygon(p: Point, polygon: readonly (readonly [number, number])[]): boolean {
  let inside = false;
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i];
    const [xj, yj] = polygon[j];
    if (yi > p.y !== yj > p.y && p.x < ((xj - xi) * (p.y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}
