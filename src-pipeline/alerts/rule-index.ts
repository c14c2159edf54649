/**
 * Which rules an event can possibly match, without visiting all of them. Each enabled rule is
 * filed under one gate, its most selective one: rules whose plate patterns are all exact under
 * those plates; all exact-or-prefix under the patterns' first characters; all exact-or-suffix
 * under their last characters; hotlist rules under "plate is on some hotlist"; camera rules
 * under their cameras; the rest are visited for every event. Disabled rules are never visited.
 * A rule sits in one gate family only and an event looks up one key per family, so no rule is
 * visited twice.
 */
import { normalizePlate } from '../common/plate-text.js';
import type { CompiledRule } from './compile.js';

const EMPTY: readonly number[] = [];

export class RuleIndex {
  private readonly always: number[] = [];
  private readonly byPlate = new Map<string, number[]>();
  private readonly byFirst = new Map<string, number[]>();
  private readonly byLast = new Map<string, number[]>();
  private readonly byCamera = new Map<string, number[]>();
  private readonly onHotlist: number[] = [];
  /** always ∪ byCamera[camera], merged once. */
  private readonly perCamera = new Map<string, number[]>();

  constructor(readonly rules: readonly CompiledRule[]) {
    const file = (m: Map<string, number[]>, key: string, i: number) => {
      const list = m.get(key);
      if (!list) m.set(key, [i]);
      else if (list[list.length - 1] !== i) list.push(i);
    };
    rules.forEach((c, i) => {
      const r = c.rule;
      if (!r.enabled) return;
      const plates = r.conditions.plates ?? [];
      const norm = plates.map((p) => normalizePlate(p.pattern));
      const all = (types: string[]) => plates.length > 0 && plates.every((p) => types.includes(p.match));
      if (all(['exact'])) for (const p of norm) file(this.byPlate, p, i);
      else if (all(['exact', 'prefix'])) for (const p of norm) file(this.byFirst, p[0], i);
      else if (all(['exact', 'suffix'])) for (const p of norm) file(this.byLast, p[p.length - 1], i);
      else if (r.conditions.hotlists?.length) this.onHotlist.push(i);
      else if (r.conditions.cameras?.length) for (const cam of r.conditions.cameras) file(this.byCamera, cam, i);
      else this.always.push(i);
    });
    for (const [cam, list] of this.byCamera)
      this.perCamera.set(
        cam,
        [...this.always, ...list].sort((a, b) => a - b),
      );
  }

  /** Groups of rule positions to evaluate for an event (each rule at most once overall). */
  candidates(plate: string, camera: string, onAnyHotlist: () => boolean): (readonly number[])[] {
    return [
      this.perCamera.get(camera) ?? this.always,
      this.byPlate.get(plate) ?? EMPTY,
      this.byFirst.get(plate[0]) ?? EMPTY,
      this.byLast.get(plate[plate.length - 1]) ?? EMPTY,
      this.onHotlist.length > 0 && onAnyHotlist() ? this.onHotlist : EMPTY,
    ];
  }
}
