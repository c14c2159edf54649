/**
 * Deterministic synthetic plate events for benchmarks and tests: the same (n, seed) always
 * gives the same events, so runs compare like with like. Shapes follow real traffic: a pool
 * of vehicles seen repeatedly (a few very often), plates in several national layouts, some
 * OCR look-alike misreads, ~20 cameras on 3 sites, 30 days of captures in time order.
 */
import type { PlateEvent } from '../common/plate-event.js';

/** mulberry32: tiny, fast, good enough for test data (not for anything secret). */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const LETTERS = 'ABCDEFGHJKLMNPRSTUVWXYZ';
const DIGITS = '0123456789';
/** L letter, D digit: UK, US-style, EU-style and short layouts. */
const LAYOUTS = ['LLDDLLL', 'DLLLDDD', 'LLLDDDD', 'LLDDDLL', 'LLDDDD', 'LDDDLL'];
const REGIONS: Record<string, string> = { LLDDLLL: 'eu', DLLLDDD: 'us', LLLDDDD: 'us', LLDDDLL: 'eu', LLDDDD: 'eu', LDDDLL: 'eu' };
const LOOKALIKE: Record<string, string> = { O: '0', '0': 'O', I: '1', '1': 'I', B: '8', '8': 'B', S: '5', '5': 'S', Z: '2', '2': 'Z' };
const TYPES = ['car', 'car', 'car', 'car', 'truck', 'bus', 'motorcycle', 'van'];
const MAKES = ['Toyota', 'Ford', 'Skoda', 'Volkswagen', 'Renault', null];
const COLORS = ['white', 'black', 'silver', 'blue', 'red', null];
const DIRECTIONS = ['in', 'out', null];

export const SYNTHETIC_END = Date.parse('2024-06-01T00:00:00.000Z');
export const SYNTHETIC_SPAN_MS = 30 * 24 * 3_600_000;
export const SYNTHETIC_CAMERAS = Array.from({ length: 20 }, (_, i) => `cam-${String(i + 1).padStart(2, '0')}`);
export const SYNTHETIC_SITES = ['site-north', 'site-south', 'site-depot'];

/** A version-4-shaped uuid from the generator (32 random bits per 8 hex digits). */
function uuidFrom(rand: () => number): string {
  const h8 = () =>
    Math.floor(rand() * 4294967296)
      .toString(16)
      .padStart(8, '0');
  const a = h8();
  const b = h8();
  const c = h8();
  const d = h8();
  const variant = '89ab'[Math.floor(rand() * 4)];
  return `${a}-${b.slice(0, 4)}-4${b.slice(5)}-${variant}${c.slice(1, 4)}-${c.slice(4)}${d}`;
}

function makePlate(rand: () => number): string {
  const layout = LAYOUTS[Math.floor(rand() * LAYOUTS.length)];
  let s = '';
  for (const c of layout) s += c === 'L' ? LETTERS[Math.floor(rand() * LETTERS.length)] : DIGITS[Math.floor(rand() * DIGITS.length)];
  return s;
}

function layoutOf(plate: string): string {
  return [...plate].map((c) => (c >= '0' && c <= '9' ? 'D' : 'L')).join('');
}

/**
 * `n` events, deterministic in (n, seed). About one distinct vehicle per three events, with a
 * skewed (squared-uniform) choice so some plates recur hundreds of times; 3% of reads swap one
 * character for its OCR look-alike.
 */
export function syntheticEvents(n: number, seed = 1): PlateEvent[] {
  const out: PlateEvent[] = [];
  for (const batch of syntheticBatches(n, seed, 10_000)) out.push(...batch);
  return out;
}

/** The same events as syntheticEvents(n, seed), in batches, so a million need not sit in memory. */
export function* syntheticBatches(n: number, seed = 1, batchSize = 10_000): Generator<PlateEvent[]> {
  const rand = prng(seed);
  const pool = Array.from({ length: Math.max(10, Math.ceil(n / 3)) }, () => makePlate(rand));
  const step = SYNTHETIC_SPAN_MS / Math.max(1, n);
  const start = SYNTHETIC_END - SYNTHETIC_SPAN_MS;
  let events: PlateEvent[] = [];
  for (let i = 0; i < n; i++) {
    let plate = pool[Math.floor(rand() * rand() * pool.length)];
    if (rand() < 0.03) {
      const k = Math.floor(rand() * plate.length);
      const swap = LOOKALIKE[plate[k]];
      if (swap) plate = plate.slice(0, k) + swap + plate.slice(k + 1);
    }
    const cam = Math.floor(rand() * SYNTHETIC_CAMERAS.length);
    const captured = Math.floor(start + i * step + rand() * step);
    const hasImages = rand() < 0.9;
    events.push({
      event_id: uuidFrom(rand),
      captured_at: new Date(captured).toISOString(),
      camera_id: SYNTHETIC_CAMERAS[cam],
      track_id: String(Math.floor(rand() * 100_000)),
      plate: {
        text: plate.length === 7 ? `${plate.slice(0, 3)} ${plate.slice(3)}` : plate,
        normalized_text: plate,
        confidence: Math.round((0.55 + rand() * 0.45) * 1000) / 1000,
        region: REGIONS[layoutOf(plate)] ?? null,
      },
      vehicle: {
        type: TYPES[Math.floor(rand() * TYPES.length)],
        make: MAKES[Math.floor(rand() * MAKES.length)],
        model: null,
        color: COLORS[Math.floor(rand() * COLORS.length)],
      },
      images: hasImages
        ? { plate_url: `images/${i}-plate.jpg`, vehicle_url: `images/${i}-vehicle.jpg`, frame_url: null }
        : { plate_url: null, vehicle_url: null, frame_url: null },
      latency_ms: Math.round((20 + rand() * 120) * 10) / 10,
      node: { site: SYNTHETIC_SITES[cam % SYNTHETIC_SITES.length], host: `edge-${(cam % 7) + 1}` },
      extras: {
        roi: `lane-${(cam % 3) + 1}`,
        direction: DIRECTIONS[Math.floor(rand() * DIRECTIONS.length)],
        quality_score: Math.round(rand() * 1000) / 1000,
        frame_number: Math.floor(rand() * 1_000_000),
        char_confidences: null,
      },
    });
    if (events.length >= batchSize) {
      yield events;
      events = [];
    }
  }
  if (events.length) yield events;
}
