/**
 * Rules compiled once into closures over precomputed data (normalised patterns, Sets of
 * cameras, minute ranges, one RegExp per pattern), so evaluating an event is a handful of
 * comparisons per rule. `explain` mode walks the same checks and says why each held or failed,
 * for `alerts check` and the API's dry runs.
 */
import type { AlertAction, AlertConditions, AlertRule, Day, PlatePattern, RateLimit, RuleEvaluation } from '../common/alert-rules.js';
import { DAYS } from '../common/alert-rules.js';
import type { PlateEvent } from '../common/plate-event.js';
import { normalizePlate } from '../common/plate-text.js';
import { plateDistance } from './fuzzy.js';
import type { HotlistHit, HotlistIndex } from './hotlist-index.js';

/** Per-event facts computed at most once however many rules ask. */
export class EventFacts {
  readonly plate: string;
  readonly capturedMs: number;
  private hits: HotlistHit[] | undefined;
  private local: Map<string, { day: Day; minute: number }> | undefined;
  private lowered: Map<string, string | null> | undefined;

  constructor(
    readonly event: PlateEvent,
    private readonly hotlists: HotlistIndex,
    readonly nowMs: number,
  ) {
    this.plate = event.plate.normalized_text;
    this.capturedMs = Date.parse(event.captured_at);
  }

  hotlistHits(): HotlistHit[] {
    return (this.hits ??= this.hotlists.lookup(this.plate, this.nowMs));
  }

  localTime(tz: string): { day: Day; minute: number } {
    this.local ??= new Map();
    let t = this.local.get(tz);
    if (!t) {
      t = localDayMinute(this.capturedMs, tz);
      this.local.set(tz, t);
    }
    return t;
  }

  /** A free-text field lower-cased once per event, however many rules compare it. */
  lower(field: 'vehicle' | 'direction'): string | null {
    this.lowered ??= new Map();
    let v = this.lowered.get(field);
    if (v === undefined) {
      const raw = field === 'vehicle' ? this.event.vehicle.type : this.event.extras.direction;
      v = raw === null ? null : raw.toLowerCase();
      this.lowered.set(field, v);
    }
    return v;
  }
}

const formatters = new Map<string, Intl.DateTimeFormat>();
const WEEKDAY: Record<string, Day> = { Mon: 'mon', Tue: 'tue', Wed: 'wed', Thu: 'thu', Fri: 'fri', Sat: 'sat', Sun: 'sun' };

/**
 * Zone offsets only change on 15-minute UTC boundaries (every offset in the tz database since
 * 1970 is a multiple of 15 minutes), so one Intl lookup per zone and 15-minute bucket serves
 * every event in it: Intl.DateTimeFormat costs microseconds, the arithmetic nanoseconds.
 */
const BUCKET_MS = 15 * 60_000;
const bucketCache = new Map<string, { bucket: number; day: number; minute: number }>();

export function localDayMinute(ms: number, tz: string): { day: Day; minute: number } {
  if (tz === 'UTC') {
    const d = new Date(ms);
    return { day: DAYS[(d.getUTCDay() + 6) % 7], minute: d.getUTCHours() * 60 + d.getUTCMinutes() };
  }
  const bucket = Math.floor(ms / BUCKET_MS);
  let c = bucketCache.get(tz);
  if (!c || c.bucket !== bucket) {
    const start = intlDayMinute(bucket * BUCKET_MS, tz);
    c = { bucket, day: DAYS.indexOf(start.day), minute: start.minute };
    if (bucketCache.size > 512) bucketCache.clear();
    bucketCache.set(tz, c);
  }
  // Within a bucket local time advances with UTC; the bucket starts on a local quarter hour.
  const minute = c.minute + Math.floor((ms - bucket * BUCKET_MS) / 60_000);
  return minute < 1440 ? { day: DAYS[c.day], minute } : { day: DAYS[(c.day + 1) % 7], minute: minute - 1440 };
}

function intlDayMinute(ms: number, tz: string): { day: Day; minute: number } {
  if (tz === 'UTC') {
    const d = new Date(ms);
    return { day: DAYS[(d.getUTCDay() + 6) % 7], minute: d.getUTCHours() * 60 + d.getUTCMinutes() };
  }
  let f = formatters.get(tz);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', { timeZone: tz, weekday: 'short', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
    formatters.set(tz, f);
  }
  let day: Day = 'mon';
  let hour = 0;
  let minute = 0;
  for (const p of f.formatToParts(ms)) {
    if (p.type === 'weekday') day = WEEKDAY[p.value] ?? 'mon';
    else if (p.type === 'hour') hour = Number(p.value) % 24;
    else if (p.type === 'minute') minute = Number(p.value);
  }
  return { day, minute: hour * 60 + minute };
}

interface Check {
  test(f: EventFacts): boolean;
  /** Why it held (ok) or failed (!ok), in words. */
  describe(f: EventFacts, ok: boolean): string;
}

export interface CompiledRule {
  rule: AlertRule;
  actions: readonly AlertAction[];
  rateLimit: RateLimit | undefined;
  /** True when every condition holds. */
  matches(f: EventFacts): boolean;
  explain(f: EventFacts): RuleEvaluation;
  /** The plate pattern that matched (for notifications), if the rule has plate patterns. */
  matchedPattern(f: EventFacts): string | null;
}

type PlateTest = (plate: string) => boolean;

function plateTest(p: PlatePattern): PlateTest {
  if (p.match === 'regex') {
    // Regexes see the normalised plate (upper case, A-Z0-9) so `^AB\d+` means the same for every camera.
    const re = new RegExp(p.pattern);
    return (plate) => re.test(plate);
  }
  const pat = normalizePlate(p.pattern);
  switch (p.match) {
    case 'exact':
      return (plate) => plate === pat;
    case 'prefix':
      return (plate) => plate.startsWith(pat);
    case 'suffix':
      return (plate) => plate.endsWith(pat);
    case 'contains':
      return (plate) => plate.includes(pat);
    case 'fuzzy': {
      const max = p.max_distance ?? 1;
      return (plate) => plate === pat || plateDistance(plate, pat, max) <= max;
    }
  }
}

function describePattern(p: PlatePattern): string {
  return p.match === 'fuzzy' ? `fuzzy ${p.pattern} (max ${p.max_distance ?? 1})` : `${p.match} ${p.pattern}`;
}

function platesCheck(patterns: readonly PlatePattern[]): Check & { which(f: EventFacts): string | null } {
  // Exact patterns collapse into one Set lookup; the rest are tried in order.
  const exact = new Set(patterns.filter((p) => p.match === 'exact').map((p) => normalizePlate(p.pattern)));
  const others = patterns.filter((p) => p.match !== 'exact').map((p) => ({ p, test: plateTest(p) }));
  const which = (f: EventFacts): string | null => {
    if (exact.has(f.plate)) return `exact ${f.plate}`;
    for (const o of others) if (o.test(f.plate)) return describePattern(o.p);
    return null;
  };
  return {
    test: (f) => {
      if (exact.has(f.plate)) return true;
      for (let i = 0; i < others.length; i++) if (others[i].test(f.plate)) return true;
      return false;
    },
    which,
    describe: (f, ok) => {
      if (!ok) return `plate ${f.plate} matches none of ${patterns.map(describePattern).join(', ')}`;
      const w = which(f)!;
      if (w.startsWith('fuzzy')) {
        const o = others.find((x) => describePattern(x.p) === w)!;
        const d = plateDistance(f.plate, normalizePlate(o.p.pattern), o.p.max_distance ?? 1);
        return `plate ${f.plate} matches ${w}: distance ${d}`;
      }
      return `plate ${f.plate} matches ${w}`;
    },
  };
}

function setCheck(label: string, values: readonly string[], get: (f: EventFacts) => string | null, fold: boolean, lowerField?: 'vehicle' | 'direction'): Check {
  const set = new Set(fold ? values.map((v) => v.toLowerCase()) : values);
  const read = fold && lowerField ? (f: EventFacts) => f.lower(lowerField) : fold ? (f: EventFacts) => get(f)?.toLowerCase() ?? null : get;
  return {
    test: (f) => {
      const v = read(f);
      return v !== null && set.has(v);
    },
    describe: (f, ok) => `${label} ${get(f) ?? '(none)'} ${ok ? 'is' : 'is not'} in [${values.join(', ')}]`,
  };
}

function minutesOf(hhmm: string): number {
  return Number(hhmm.slice(0, 2)) * 60 + Number(hhmm.slice(3, 5));
}

function fmtMinute(m: number): string {
  return `${String(Math.floor(m / 60)).padStart(2, '0')}:${String(m % 60).padStart(2, '0')}`;
}

function compileConditions(c: AlertConditions, hotlists: HotlistIndex): { checks: Check[]; plates: ReturnType<typeof platesCheck> | null } {
  const checks: Check[] = [];
  // Cheapest and most selective first: most events fail on camera or plate.
  if (c.cameras?.length) checks.push(setCheck('camera', c.cameras, (f) => f.event.camera_id, false));
  if (c.sites?.length) checks.push(setCheck('site', c.sites, (f) => f.event.node.site, false));
  if (c.min_confidence !== undefined) {
    const min = c.min_confidence;
    checks.push({
      test: (f) => f.event.plate.confidence >= min,
      describe: (f, ok) => `confidence ${f.event.plate.confidence} ${ok ? '>=' : '<'} ${min}`,
    });
  }
  const plates = c.plates?.length ? platesCheck(c.plates) : null;
  if (plates) checks.push(plates);
  if (c.hotlists?.length) {
    const any = c.hotlists.includes('*');
    const names = new Set(c.hotlists);
    const hit = (f: EventFacts) => f.hotlistHits().find((h) => any || names.has(h.hotlist));
    checks.push({
      test: (f) => {
        const hits = f.hotlistHits();
        return hits.length > 0 && (any || hits.some((h) => names.has(h.hotlist)));
      },
      describe: (f, ok) => {
        if (ok) {
          const h = hit(f)!;
          return `plate ${f.plate} is on hotlist ${h.hotlist} (${h.priority}${h.reason ? `: ${h.reason}` : ''})`;
        }
        const missing = c.hotlists!.filter((n) => n !== '*' && !hotlists.has(n));
        return `plate ${f.plate} is on none of the hotlists [${c.hotlists!.join(', ')}]${missing.length ? ` (unknown: ${missing.join(', ')})` : ''}`;
      },
    });
  }
  if (c.vehicle_types?.length) checks.push(setCheck('vehicle type', c.vehicle_types, (f) => f.event.vehicle.type, true, 'vehicle'));
  if (c.directions?.length) checks.push(setCheck('direction', c.directions, (f) => f.event.extras.direction, true, 'direction'));
  const tz = c.timezone ?? 'UTC';
  if (c.days?.length) {
    const days = new Set(c.days);
    checks.push({
      test: (f) => days.has(f.localTime(tz).day),
      describe: (f, ok) => `day ${f.localTime(tz).day} (${tz}) ${ok ? 'is' : 'is not'} in [${c.days!.join(', ')}]`,
    });
  }
  if (c.hours) {
    const from = minutesOf(c.hours.from);
    const to = minutesOf(c.hours.to);
    // from > to wraps midnight; from == to means the whole day.
    const inside = (m: number) => (from === to ? true : from < to ? m >= from && m < to : m >= from || m < to);
    checks.push({
      test: (f) => inside(f.localTime(tz).minute),
      describe: (f, ok) => `local time ${fmtMinute(f.localTime(tz).minute)} (${tz}) ${ok ? 'is' : 'is not'} within ${c.hours!.from}-${c.hours!.to}`,
    });
  }
  return { checks, plates };
}

export function compileRule(rule: AlertRule, hotlists: HotlistIndex): CompiledRule {
  const { checks, plates } = compileConditions(rule.conditions, hotlists);
  const n = checks.length;
  return {
    rule,
    actions: rule.actions,
    rateLimit: rule.rate_limit,
    matches: (f) => {
      if (!rule.enabled) return false;
      for (let i = 0; i < n; i++) if (!checks[i].test(f)) return false;
      return true;
    },
    explain: (f) => {
      if (!rule.enabled) return { rule: rule.name, matched: false, reasons: ['rule is disabled'] };
      const reasons: string[] = [];
      for (const c of checks) {
        const ok = c.test(f);
        reasons.push(c.describe(f, ok));
        if (!ok) return { rule: rule.name, matched: false, reasons };
      }
      if (n === 0) reasons.push('rule has no conditions: every event matches');
      return { rule: rule.name, matched: true, reasons };
    },
    matchedPattern: (f) => plates?.which(f) ?? null,
  };
}
