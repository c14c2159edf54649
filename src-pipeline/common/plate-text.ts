/**
 * Plate text rules: normalisation, regional formats, format-aware decoding of per-slot OCR
 * probabilities, and rejection of text that is not a plate. Pure and runtime-free so the
 * pipeline, the API and the UI all agree on what a plate string is.
 */

export function normalizePlate(text: string): string {
  return text.toUpperCase().replace(/[^A-Z0-9]/g, '');
}

/**
 * Pairs that plate fonts draw (nearly) alike: the letters a region may down-weight in favour of
 * their digit twin (decodeSlots), and the folding that fuzzy plate search treats as equal.
 */
export const CONFUSABLES: ReadonlyArray<readonly [letter: string, digit: string]> = [
  ['O', '0'],
  ['Q', '0'],
  ['D', '0'],
  ['I', '1'],
  ['B', '8'],
  ['S', '5'],
  ['Z', '2'],
  ['G', '6'],
];

/** O/0 and I/1 folded together: the comparison the benchmarks call `folded`. */
export function foldPlate(text: string): string {
  return normalizePlate(text).replace(/O/g, '0').replace(/I/g, '1');
}

/** Slot classes in a format pattern: L letter, D digit, A either. */
type SlotClass = 'L' | 'D' | 'A';

export interface PlateFormat {
  id: string;
  description: string;
  minLength: number;
  maxLength: number;
  /**
   * Per-letter weights applied to OCR probabilities before choosing a character: where a
   * region never (or rarely) issues a letter, its look-alike digit wins instead.
   */
  charWeights: Readonly<Record<string, number>>;
  /** Optional strict layouts (e.g. UK `LLDDLLL`); a read that fits one is preferred. */
  layouts: readonly string[];
}

const DIGITS = '0123456789';
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

export const PLATE_FORMATS: Readonly<Record<string, PlateFormat>> = {
  any: { id: 'any', description: 'any alphanumeric plate of 2 to 10 characters', minLength: 2, maxLength: 10, charWeights: {}, layouts: [] },
  us: {
    id: 'us',
    description: 'US generic: 2 to 8 characters; O, Q and I lose close calls to 0 and 1 (most US series skip them and plates draw O and 0 alike)',
    minLength: 2,
    maxLength: 8,
    charWeights: { O: 0.01, Q: 0.01, I: 0.3 },
    layouts: [],
  },
  eu: {
    id: 'eu',
    description: 'EU generic: 4 to 10 characters, letters and digits in groups; common national layouts preferred',
    minLength: 4,
    maxLength: 10,
    charWeights: {},
    // UK, RO (county + digits + letters), DE/FR/IT/ES/NL-style groups.
    layouts: [
      'LLDDLLL',
      'LDDLLL',
      'LLDDLLL',
      'LDDDLLL',
      'LLDDDLLL',
      'LLDDDL',
      'DDDDLLL',
      'LLDDDLL',
      'LLDDDDL',
      'LLLDDD',
      'DLLLDDD',
      'LLLDDDD',
      'DDLLLD',
      'LLDDLL',
    ],
  },
};

export type PlateFormatId = keyof typeof PLATE_FORMATS;

export interface SlotDistribution {
  /** Probability per alphabet symbol. */
  probs: ArrayLike<number>;
}

export interface DecodedText {
  text: string;
  charConfidences: number[];
  confidence: number;
  /** Layout the text was forced into, when one applied. */
  layout?: string;
}

function classAllows(cls: SlotClass, ch: string): boolean {
  if (cls === 'A') return true;
  return cls === 'D' ? DIGITS.includes(ch) : LETTERS.includes(ch);
}

/**
 * Chooses one character per slot under a format. Unconstrained it is argmax of weighted
 * probabilities; with layouts it also tries each layout of the read's length and takes the
 * layout read when its joint probability is within `layoutSlack` of the free read, which is
 * how `B` in a digit group becomes `8` only when the model itself half-believed it.
 */
export function decodeSlots(slots: readonly ArrayLike<number>[], alphabet: string, pad: string, format: PlateFormat, layoutSlack = 0.05): DecodedText {
  const w = new Float64Array(alphabet.length);
  for (let k = 0; k < alphabet.length; k++) w[k] = format.charWeights[alphabet[k]] ?? 1;
  const padIdx = alphabet.indexOf(pad);
  const chosen: number[] = [];
  const probs: number[] = [];
  // A down-weighted letter's probability counts for its digit twin when the twin wins, so
  // the confidence of a corrected character still reflects what the model saw.
  const twin = new Map<number, number>();
  for (const [l, d] of CONFUSABLES) {
    const li = alphabet.indexOf(l);
    const di = alphabet.indexOf(d);
    if (li >= 0 && di >= 0 && (format.charWeights[l] ?? 1) < 1 && !twin.has(li)) twin.set(li, di);
  }
  const kept: ArrayLike<number>[] = [];
  for (const p of slots) {
    let best = 0;
    let bestScore = -1;
    for (let k = 0; k < alphabet.length; k++) {
      const s = p[k] * w[k];
      if (s > bestScore) {
        bestScore = s;
        best = k;
      }
    }
    if (best === padIdx) continue;
    let prob = p[best];
    // Mass of letters that were folded into this digit counts for it.
    for (const [li, di] of twin) if (di === best) prob += p[li];
    chosen.push(best);
    probs.push(Math.min(1, prob));
    kept.push(p);
  }
  const free: DecodedText = { text: chosen.map((k) => alphabet[k]).join(''), charConfidences: probs, confidence: mean(probs) };
  const layouts = format.layouts.filter((l) => l.length === kept.length);
  if (layouts.length === 0 || layouts.some((l) => [...free.text].every((ch, i) => classAllows(l[i] as SlotClass, ch)))) return free;
  const freeJoint = probs.reduce((a, b) => a * b, 1);
  let bestLayout: DecodedText | undefined;
  let bestJoint = 0;
  for (const layout of layouts) {
    let joint = 1;
    const text: string[] = [];
    const cc: number[] = [];
    kept.forEach((p, i) => {
      let bi = -1;
      let bp = -1;
      for (let k = 0; k < alphabet.length; k++) {
        if (k === padIdx || !classAllows(layout[i] as SlotClass, alphabet[k])) continue;
        const s = p[k] * w[k];
        if (s > bp) {
          bp = s;
          bi = k;
        }
      }
      text.push(alphabet[bi]);
      cc.push(p[bi]);
      joint *= p[bi];
    });
    if (joint > bestJoint) {
      bestJoint = joint;
      bestLayout = { text: text.join(''), charConfidences: cc, confidence: mean(cc), layout };
    }
  }
  return bestLayout && bestJoint >= freeJoint * layoutSlack ? bestLayout : free;
}

function mean(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : 0;
}

/** Words printed on plates and frames that OCR reads fluently but are never the plate. */
const NOT_PLATES = new Set([
  // US state and territory names and common abbreviations seen on frames
  'ALABAMA',
  'ALASKA',
  'ARIZONA',
  'ARKANSAS',
  'CALIFORNIA',
  'COLORADO',
  'CONNECTICUT',
  'DELAWARE',
  'FLORIDA',
  'GEORGIA',
  'HAWAII',
  'IDAHO',
  'ILLINOIS',
  'INDIANA',
  'IOWA',
  'KANSAS',
  'KENTUCKY',
  'LOUISIANA',
  'MAINE',
  'MARYLAND',
  'MASSACHUSETTS',
  'MICHIGAN',
  'MINNESOTA',
  'MISSISSIPPI',
  'MISSOURI',
  'MONTANA',
  'NEBRASKA',
  'NEVADA',
  'NEWHAMPSHIRE',
  'NEWJERSEY',
  'NEWMEXICO',
  'NEWYORK',
  'NORTHCAROLINA',
  'NORTHDAKOTA',
  'OHIO',
  'OKLAHOMA',
  'OREGON',
  'PENNSYLVANIA',
  'RHODEISLAND',
  'SOUTHCAROLINA',
  'SOUTHDAKOTA',
  'TENNESSEE',
  'TEXAS',
  'UTAH',
  'VERMONT',
  'VIRGINIA',
  'WASHINGTON',
  'WESTVIRGINIA',
  'WISCONSIN',
  'WYOMING',
  'PUERTORICO',
  'CALIF',
  'PENNA',
  // slogans, frames and dealer text
  'DEALER',
  'SUNSHINESTATE',
  'LANDOFLINCOLN',
  'EMPIRESTATE',
  'GARDENSTATE',
  'LONESTARSTATE',
  'EXPLORE',
  'AMERICA',
  'TOYOTA',
  'HONDA',
  'FORD',
  'NISSAN',
  'CHEVROLET',
  'CHEVY',
  'DODGE',
  'LEXUS',
  'ACURA',
  'MAZDA',
  'SUBARU',
  'KIA',
  'HYUNDAI',
  'BMW',
  'AUDI',
  'VOLKSWAGEN',
  'MERCEDES',
  'JEEP',
  'TESLA',
  'VOLVO',
  'SPORT',
  'SPORTS',
]);

export type RejectReason = 'empty' | 'too_short' | 'too_long' | 'not_a_plate_word' | 'no_digit' | 'low_confidence';

export interface PlateVerdict {
  ok: boolean;
  reason?: RejectReason;
}

/**
 * Whether a decoded read should be reported as a plate. Dictionary words are matched on the
 * whole read and on reads that are a prefix of a state name, since OCR often clips them.
 */
export function judgePlate(text: string, confidence: number, format: PlateFormat, minConfidence: number, opts: { requireDigit?: boolean } = {}): PlateVerdict {
  const t = normalizePlate(text);
  if (!t) return { ok: false, reason: 'empty' };
  if (t.length < format.minLength) return { ok: false, reason: 'too_short' };
  if (t.length > format.maxLength) return { ok: false, reason: 'too_long' };
  const clippedWord = /^[A-Z]{5,}$/.test(t) && [...NOT_PLATES].some((w) => w.length > t.length && w.startsWith(t));
  if (NOT_PLATES.has(t) || clippedWord) return { ok: false, reason: 'not_a_plate_word' };
  if (opts.requireDigit && !/[0-9]/.test(t)) return { ok: false, reason: 'no_digit' };
  if (confidence < minConfidence) return { ok: false, reason: 'low_confidence' };
  return { ok: true };
}

/** Character-level Levenshtein distance; used by eval's char accuracy and fuzzy matching. */
export function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  if (!a.length) return b.length;
  if (!b.length) return a.length;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length];
}

/**
 * The `region` reported with a read: the configured format when the read is valid under it,
 * otherwise the first format whose layouts it fits, otherwise `any`.
 */
export function guessRegion(text: string, configured: PlateFormatId): string {
  const t = normalizePlate(text);
  const fmt = PLATE_FORMATS[configured];
  if (configured !== 'any' && t.length >= fmt.minLength && t.length <= fmt.maxLength) return configured;
  for (const f of Object.values(PLATE_FORMATS)) {
    if (f.layouts.some((l) => l.length === t.length && [...t].every((ch, i) => classAllows(l[i] as SlotClass, ch)))) return f.id;
  }
  return 'any';
}
