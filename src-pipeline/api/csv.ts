/**
 * CSV export of a search (RFC 4180: comma separated, CRLF line ends, fields with a comma,
 * quote or line break quoted, quotes doubled). Streamed page by page, so a 100k-row export
 * holds one page in memory, not the whole result.
 */
import type { StoredEvent } from '../common/plate-event.js';
import type { EventFilters, Storage } from '../store/storage.js';

type Cell = string | number | null;

export const CSV_COLUMNS: ReadonlyArray<readonly [name: string, get: (e: StoredEvent) => Cell]> = [
  ['event_id', (e) => e.event_id],
  ['captured_at', (e) => e.captured_at],
  ['created_at', (e) => e.created_at],
  ['camera_id', (e) => e.camera_id],
  ['track_id', (e) => e.track_id],
  ['plate_text', (e) => e.plate.text],
  ['plate_normalized', (e) => e.plate.normalized_text],
  ['plate_confidence', (e) => e.plate.confidence],
  ['plate_region', (e) => e.plate.region],
  ['vehicle_type', (e) => e.vehicle.type],
  ['vehicle_make', (e) => e.vehicle.make],
  ['vehicle_model', (e) => e.vehicle.model],
  ['vehicle_color', (e) => e.vehicle.color],
  ['site', (e) => e.node.site],
  ['host', (e) => e.node.host],
  ['direction', (e) => e.extras.direction],
  ['roi', (e) => e.extras.roi],
  ['quality_score', (e) => e.extras.quality_score],
  ['frame_number', (e) => e.extras.frame_number],
  ['latency_ms', (e) => e.latency_ms],
  ['plate_url', (e) => e.images.plate_url],
  ['vehicle_url', (e) => e.images.vehicle_url],
  ['frame_url', (e) => e.images.frame_url],
];

/**
 * One field. Text starting with = + - @ (or a tab/CR) gets a leading apostrophe: spreadsheets
 * would otherwise run it as a formula, and camera ids or imported plate text are not trusted.
 */
export function csvField(value: Cell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return Number.isFinite(value) ? String(value) : '';
  let s = value;
  if (/^[=+\-@\t\r]/.test(s)) s = `'${s}`;
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

export const csvHeader = (): string => `${CSV_COLUMNS.map(([n]) => n).join(',')}\r\n`;

export const csvRow = (e: StoredEvent): string => `${CSV_COLUMNS.map(([, get]) => csvField(get(e))).join(',')}\r\n`;

/** Header, then every matching row up to `filters.limit`, fetched `pageSize` rows at a time. */
export async function* csvLines(storage: Storage, filters: EventFilters, pageSize = 1000): AsyncGenerator<string> {
  yield csvHeader();
  let remaining = filters.limit;
  let offset = filters.offset;
  while (remaining > 0) {
    const size = Math.min(pageSize, remaining);
    const page = await storage.search({ ...filters, limit: size, offset });
    if (page.length === 0) break;
    // One chunk per page: fewer, larger writes than one per row.
    yield page.map(csvRow).join('');
    remaining -= page.length;
    offset += page.length;
    if (page.length < size) break;
  }
}
