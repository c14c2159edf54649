/**
 * Draws one camera's frame and overlay (vehicle boxes with track id and type, plate boxes with the read
 * and its confidence) on a canvas laid over the video. Pure drawing: no React, no state.
 */
import type { OverlayMessage } from '../../api/live';

export interface DrawStyle {
  vehicle: string;
  plate: string;
  text: string;
}

export function readStyle(el: Element): DrawStyle {
  const css = getComputedStyle(el);
  return {
    vehicle: css.getPropertyValue('--overlay-vehicle').trim() || '#4ea1ff',
    plate: css.getPropertyValue('--overlay-plate').trim() || '#ffd166',
    text: '#06121f',
  };
}

function label(ctx: CanvasRenderingContext2D, text: string, x: number, y: number, h: number, bg: string, fg: string): void {
  const w = ctx.measureText(text).width + h * 0.5;
  const top = y - h < 0 ? y : y - h;
  ctx.fillStyle = bg;
  ctx.fillRect(x, top, w, h);
  ctx.fillStyle = fg;
  ctx.fillText(text, x + h * 0.25, top + h * 0.76);
}

/** Draws the video frame (when there is one), then `o` scaled to the canvas's pixel size. */
export function drawOverlay(canvas: HTMLCanvasElement, o: OverlayMessage | undefined, style: DrawStyle, frame?: ImageBitmap | null): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  if (frame) ctx.drawImage(frame, 0, 0, canvas.width, canvas.height);
  else ctx.clearRect(0, 0, canvas.width, canvas.height);
  if (!o || o.w <= 0 || o.h <= 0) return;
  const sx = canvas.width / o.w;
  const sy = canvas.height / o.h;
  const dpr = window.devicePixelRatio || 1;
  const fontPx = Math.round(13 * dpr);
  const labelH = Math.round(fontPx * 1.35);
  ctx.font = `600 ${fontPx}px system-ui, sans-serif`;
  ctx.lineWidth = 2 * dpr;
  for (const t of o.tracks) {
    const [x1, y1, x2, y2] = t.box;
    ctx.strokeStyle = style.vehicle;
    ctx.strokeRect(x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy);
    label(ctx, `#${t.id} ${t.type ?? 'vehicle'}`, x1 * sx, y1 * sy, labelH, style.vehicle, style.text);
  }
  for (const p of o.plates) {
    const [x1, y1, x2, y2] = p.box;
    ctx.strokeStyle = style.plate;
    ctx.strokeRect(x1 * sx, y1 * sy, (x2 - x1) * sx, (y2 - y1) * sy);
    const conf = p.confidence === null ? '' : ` ${Math.round(p.confidence * 100)}%`;
    label(ctx, `${p.text ?? '?'}${conf}`, x1 * sx, y2 * sy + labelH, labelH, style.plate, style.text);
  }
}
