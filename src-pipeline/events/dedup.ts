/**
 * Fuzzy dedup of plate events per camera. One vehicle often yields several tracks (occlusion,
 * a tracker losing it at a barrier) and their reads differ by a character or an OCR look-alike;
 * within the window they are one plate. Memory is bounded: entries expire by time and each
 * camera keeps at most `maxEntries`, forgetting the least recently seen first.
 */
import { editDistance } from '../common/plate-text.js';
import { foldConfusions } from '../common/plate-search.js';

export interface DedupOptions {
  /** Levenshtein similarity (1 - dist / longer length) at or above which two reads match. */
  similarity: number;
  windowMs: number;
  maxEntries: number;
}

export type DedupDecision = { kind: 'new' } | { kind: 'duplicate'; previousEventId: string } | { kind: 'improves'; previousEventId: string };

interface Entry {
  eventId: string;
  text: string;
  folded: string;
  confidence: number;
  lastSeenMs: number;
}

export function plateSimilarity(a: string, b: string): number {
  const maxLen = Math.max(a.length, b.length);
  return maxLen === 0 ? 1 : 1 - editDistance(a, b) / maxLen;
}

export class PlateDeduper {
  /** Per camera, entries in least-recently-seen-first order (a Map keeps insertion order). */
  private readonly cameras = new Map<string, Map<string, Entry>>();

  constructor(private readonly opts: DedupOptions) {}

  /**
   * Decides whether `text` (normalised) on `cameraId` at `atMs` is a new plate, and records it.
   * `eventId` is the id the caller will use if it is new. A match refreshes the entry's
   * last-seen time: the window slides, so a car parked in view does not re-emit every
   * `windowMs`. A match with a higher confidence reports `improves` and takes over the entry's
   * text and confidence, keeping the first event id so every later update points at it.
   */
  observe(cameraId: string, eventId: string, text: string, confidence: number, atMs: number): DedupDecision {
    const entries = this.cameras.get(cameraId) ?? new Map<string, Entry>();
    this.cameras.set(cameraId, entries);
    this.expire(entries, atMs);

    const folded = foldConfusions(text);
    let match: Entry | null = null;
    let matchSim = -1;
    for (const e of entries.values()) {
      const sim = e.folded === folded ? 1 : plateSimilarity(e.text, text);
      if (sim >= this.opts.similarity && sim > matchSim) {
        match = e;
        matchSim = sim;
      }
    }

    if (match) {
      // Re-insert to move it to the most-recently-seen end.
      entries.delete(match.eventId);
      match.lastSeenMs = Math.max(match.lastSeenMs, atMs);
      const improves = confidence > match.confidence;
      if (improves) {
        match.text = text;
        match.folded = folded;
        match.confidence = confidence;
      }
      entries.set(match.eventId, match);
      return { kind: improves ? 'improves' : 'duplicate', previousEventId: match.eventId };
    }

    entries.set(eventId, { eventId, text, folded, confidence, lastSeenMs: atMs });
    while (entries.size > this.opts.maxEntries) {
      const oldest = entries.keys().next();
      if (oldest.done) break;
      entries.delete(oldest.value);
    }
    return { kind: 'new' };
  }

  /** Plates remembered in total, for stats and the memory-bound tests. */
  get size(): number {
    let n = 0;
    for (const e of this.cameras.values()) n += e.size;
    return n;
  }

  /** Drops expired entries of every camera (e.g. on a timer for cameras that went quiet). */
  prune(nowMs: number): void {
    for (const [camera, entries] of this.cameras) {
      this.expire(entries, nowMs);
      if (!entries.size) this.cameras.delete(camera);
    }
  }

  private expire(entries: Map<string, Entry>, nowMs: number): void {
    // Entries are in last-seen order, so expiry stops at the first one still inside the window.
    // A track finalized out of capture order can leave an older entry behind a newer one; it
    // then outlives its window briefly, but the entry cap still bounds memory.
    for (const [id, e] of entries) {
      if (nowMs - e.lastSeenMs <= this.opts.windowMs) break;
      entries.delete(id);
    }
  }
}
