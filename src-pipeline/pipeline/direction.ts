/**
 * Direction of travel of a track, from where it was first and last seen. With a reference
 * line configured, crossing it decides ("in" = from the left of the line to its right, looking
 * from its first point to its second); otherwise the dominant motion in the image says
 * approaching/receding (the box grows or shrinks: vehicles driving at or away from the camera)
 * or left/right/up/down.
 */
import type { TravelDirection } from '../common/plate-event.js';

export interface TrackSample {
  cx: number;
  cy: number;
  /** Box area in px². */
  area: number;
}

export type Line = readonly [readonly [number, number], readonly [number, number]];

/** Movements smaller than this share of the box size are standing still. */
const MIN_MOVE = 0.15;
/** An area ratio beyond this (either way) is movement toward or away from the camera. */
const AREA_RATIO = 1.5;

function side(line: Line, x: number, y: number): number {
  const [[x1, y1], [x2, y2]] = line;
  // Image y points down, so a positive cross product is the right-hand side seen from p1 to p2.
  return Math.sign((x2 - x1) * (y - y1) - (y2 - y1) * (x - x1));
}

export function travelDirection(first: TrackSample, last: TrackSample, line?: Line | null): TravelDirection {
  if (line) {
    const a = side(line, first.cx, first.cy);
    const b = side(line, last.cx, last.cy);
    if (a < 0 && b > 0) return 'in';
    if (a > 0 && b < 0) return 'out';
  }
  const ratio = first.area > 0 ? last.area / first.area : 1;
  if (ratio >= AREA_RATIO) return 'approaching';
  if (ratio <= 1 / AREA_RATIO) return 'receding';
  const dx = last.cx - first.cx;
  const dy = last.cy - first.cy;
  const size = Math.sqrt(Math.max(first.area, last.area));
  // (No movement at all is stationary even for a degenerate zero-area box.)
  if ((dx === 0 && dy === 0) || Math.hypot(dx, dy) < MIN_MOVE * size) return 'stationary';
  if (Math.abs(dx) >= Math.abs(dy)) return dx > 0 ? 'right' : 'left';
  return dy > 0 ? 'down' : 'up';
}
