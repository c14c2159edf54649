/**
 * ROI polygon (or, with shape="line", the in/out reference line) editor drawn over a snapshot:
 * click to add a point, right-click (or Backspace) to remove the last, Clear to start over. A line
 * has two points; a third click starts a new line. Its arrow points to the "in" side (the pipeline
 * calls a crossing from the left of point 1→2 to its right "in"). From the keyboard: arrows move a cursor (Shift for
 * bigger steps), Enter or Space adds a point there. Points are pixels of the frame as delivered, the
 * same coordinates the pipeline uses (the snapshot is taken at the camera's configured size).
 */
import { useRef, useState, type KeyboardEvent, type MouseEvent } from 'react';
import type { Point } from './camera-form';

export function RoiEditor({
  image,
  points,
  onChange,
  shape = 'polygon',
}: {
  image: string;
  points: Point[];
  onChange: (p: Point[]) => void;
  shape?: 'polygon' | 'line';
}) {
  const line = shape === 'line';
  const place = (p: Point) => onChange(line && points.length >= 2 ? [p] : [...points, p]);
  const imgRef = useRef<HTMLImageElement>(null);
  /** Keyboard cursor as a fraction of the frame; shown only while the editor has focus. */
  const [cursor, setCursor] = useState<{ x: number; y: number } | null>(null);
  const natural = () => ({ w: imgRef.current?.naturalWidth || 1, h: imgRef.current?.naturalHeight || 1 });

  const add = (e: MouseEvent<SVGSVGElement>) => {
    const rect = e.currentTarget.getBoundingClientRect();
    const { w, h } = natural();
    const x = Math.round(((e.clientX - rect.left) / rect.width) * w);
    const y = Math.round(((e.clientY - rect.top) / rect.height) * h);
    place([Math.min(w, Math.max(0, x)), Math.min(h, Math.max(0, y))]);
  };
  const undo = () => onChange(points.slice(0, -1));
  const onKey = (e: KeyboardEvent) => {
    const step = e.shiftKey ? 0.05 : 0.01;
    const c = cursor ?? { x: 0.5, y: 0.5 };
    const move: Record<string, [number, number]> = { ArrowLeft: [-step, 0], ArrowRight: [step, 0], ArrowUp: [0, -step], ArrowDown: [0, step] };
    if (e.key === 'Backspace' || e.key === 'Delete') {
      e.preventDefault();
      undo();
    } else if (move[e.key]) {
      e.preventDefault();
      const [dx, dy] = move[e.key];
      setCursor({ x: Math.min(1, Math.max(0, c.x + dx)), y: Math.min(1, Math.max(0, c.y + dy)) });
    } else if (e.key === 'Enter' || e.key === ' ') {
      e.preventDefault();
      const { w, h } = natural();
      place([Math.round(c.x * w), Math.round(c.y * h)]);
    }
  };
  const { w, h } = natural();

  return (
    <div className="roi-editor">
      <div className="roi-canvas">
        <img ref={imgRef} src={image} alt="Snapshot from the camera" onLoad={() => onChange([...points])} />
        <svg
          viewBox={`0 0 ${w} ${h}`}
          preserveAspectRatio="none"
          onClick={add}
          onContextMenu={(e) => (e.preventDefault(), undo())}
          onKeyDown={onKey}
          onFocus={() => setCursor((c) => c ?? { x: 0.5, y: 0.5 })}
          onBlur={() => setCursor(null)}
          tabIndex={0}
          role="application"
          aria-label={
            line
              ? 'Direction line: click its two points (or arrows and Enter), Backspace removes the last'
              : 'Region of interest: click to add a point (or arrows and Enter), Backspace removes the last'
          }
          data-testid={line ? 'direction-surface' : 'roi-surface'}
        >
          {!line && points.length > 0 && <polygon points={points.map((p) => p.join(',')).join(' ')} className="roi-polygon" />}
          {line && points.length === 2 && <DirectionLine a={points[0]} b={points[1]} size={Math.max(w, h)} />}
          {points.map(([x, y], i) => (
            <circle key={i} cx={x} cy={y} r={Math.max(4, w / 200)} className="roi-point" />
          ))}
          {cursor && <circle cx={cursor.x * w} cy={cursor.y * h} r={Math.max(8, w / 100)} className="roi-cursor" />}
        </svg>
      </div>
      <div className="actions">
        <span className="muted">
          {line
            ? points.length === 2
              ? 'Crossing toward the arrow is "in", the other way "out".'
              : points.length === 1
                ? 'Click the second point of the line.'
                : 'No line: direction comes from the motion in the picture.'
            : `${points.length} point${points.length === 1 ? '' : 's'}${points.length > 0 && points.length < 3 ? ' (an ROI needs at least 3)' : ''}`}
        </span>
        <button type="button" onClick={undo} disabled={points.length === 0}>
          Undo point
        </button>
        <button type="button" onClick={() => onChange([])} disabled={points.length === 0}>
          {line ? 'Clear line' : 'Clear ROI'}
        </button>
      </div>
    </div>
  );
}

/** The line from a to b with an arrow from its middle toward the "in" side (the right of a→b, y down). */
function DirectionLine({ a, b, size }: { a: Point; b: Point; size: number }) {
  const [x1, y1] = a;
  const [x2, y2] = b;
  const len = Math.hypot(x2 - x1, y2 - y1) || 1;
  // Right-hand normal of a→b in image coordinates (y points down).
  const nx = -(y2 - y1) / len;
  const ny = (x2 - x1) / len;
  const mx = (x1 + x2) / 2;
  const my = (y1 + y2) / 2;
  const arrow = size / 12;
  const head = size / 60;
  const tx = mx + nx * arrow;
  const ty = my + ny * arrow;
  // Arrow head: two short strokes back from the tip, 30° either side of the normal.
  const back = (angle: number) => {
    const c = Math.cos(angle);
    const s = Math.sin(angle);
    return `${tx - head * (nx * c - ny * s)},${ty - head * (nx * s + ny * c)}`;
  };
  return (
    <g className="direction-line">
      <line x1={x1} y1={y1} x2={x2} y2={y2} />
      <line x1={mx} y1={my} x2={tx} y2={ty} />
      <polyline points={`${back(Math.PI / 6)} ${tx},${ty} ${back(-Math.PI / 6)}`} />
    </g>
  );
}
