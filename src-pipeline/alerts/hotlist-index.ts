/**
 * In-memory hotlist membership: plate → the lists holding it. One Map lookup per event, shared
 * by every rule, so a 100k-plate list costs the same per event as a 10-plate one. Edits through
 * the API are applied in place (add, remove, drop a list, new list settings) so a one-plate
 * change never re-reads 100k rows.
 */
import type { Hotlist, HotlistEntry, HotlistPriority } from '../common/alert-rules.js';

export interface HotlistHit {
  hotlist: string;
  priority: HotlistPriority;
  reason: string | null;
  /** ms since the epoch, or Infinity. */
  expiresAt: number;
}

interface Held {
  hotlist: string;
  reason: string | null;
  expiresAt: number;
}

const RANK: Record<HotlistPriority, number> = { low: 0, medium: 1, high: 2, critical: 3 };
const NONE: HotlistHit[] = [];

export class HotlistIndex {
  private readonly byPlate = new Map<string, Held[]>();
  private lists = new Map<string, Hotlist>();

  constructor(hotlists: readonly Hotlist[] = [], entries: Iterable<HotlistEntry> = []) {
    this.setLists(hotlists);
    for (const e of entries) this.add(e);
  }

  /** New list settings (priority, reason); entries of lists that are gone stop matching. */
  setLists(hotlists: readonly Hotlist[]): void {
    this.lists = new Map(hotlists.map((h) => [h.name, h]));
  }

  add(e: { hotlist: string; plate: string; reason?: string; expires_at?: string }): void {
    const held: Held = { hotlist: e.hotlist, reason: e.reason ?? null, expiresAt: e.expires_at ? Date.parse(e.expires_at) : Infinity };
    const all = this.byPlate.get(e.plate);
    if (!all) this.byPlate.set(e.plate, [held]);
    else {
      const i = all.findIndex((h) => h.hotlist === e.hotlist);
      if (i >= 0) all[i] = held;
      else all.push(held);
    }
  }

  remove(hotlist: string, plate: string): void {
    const all = this.byPlate.get(plate);
    if (!all) return;
    const rest = all.filter((h) => h.hotlist !== hotlist);
    if (rest.length) this.byPlate.set(plate, rest);
    else this.byPlate.delete(plate);
  }

  /** Forgets every plate of a list (so a new list of the same name starts empty). */
  drop(hotlist: string): void {
    for (const [plate, all] of this.byPlate) {
      if (!all.some((h) => h.hotlist === hotlist)) continue;
      const rest = all.filter((h) => h.hotlist !== hotlist);
      if (rest.length) this.byPlate.set(plate, rest);
      else this.byPlate.delete(plate);
    }
  }

  /** Plates on at least one list. */
  get size(): number {
    return this.byPlate.size;
  }

  has(name: string): boolean {
    return this.lists.has(name);
  }

  /** Unexpired lists holding `plate` at `nowMs`, highest priority first. */
  lookup(plate: string, nowMs: number): HotlistHit[] {
    const all = this.byPlate.get(plate);
    if (!all) return NONE;
    const hits: HotlistHit[] = [];
    for (const h of all) {
      const list = this.lists.get(h.hotlist);
      if (!list || h.expiresAt <= nowMs) continue;
      hits.push({ hotlist: h.hotlist, priority: list.priority, reason: h.reason ?? list.reason ?? null, expiresAt: h.expiresAt });
    }
    if (hits.length > 1) hits.sort((a, b) => RANK[b.priority] - RANK[a.priority]);
    return hits;
  }
}
