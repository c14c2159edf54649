/**
 * Plate distance for fuzzy alert patterns: Levenshtein where swapping a letter for the digit a
 * plate font draws alike (O/0, I/1, B/8, S/5, Z/2) costs a quarter edit, so `0BC123` is 0.25
 * from `OBC123` while a real different character costs 1.
 *
 * Costs are kept in quarters (integers) so the DP runs on an Int32Array. The band is limited to
 * `max` insertions/deletions either side of the diagonal and a row whose minimum already exceeds
 * `max` ends the walk: a 100-rule set with fuzzy patterns stays far under a microsecond per check.
 */
const QUARTER = 4;
const NEAR = 1;

const CONFUSABLE_PAIRS: ReadonlyArray<readonly [string, string]> = [
  ['O', '0'],
  ['I', '1'],
  ['B', '8'],
  ['S', '5'],
  ['Z', '2'],
];

/** twin[charCode] = char code of its look-alike, or -1. */
const twin = new Int32Array(128).fill(-1);
for (const [a, b] of CONFUSABLE_PAIRS) {
  twin[a.charCodeAt(0)] = b.charCodeAt(0);
  twin[b.charCodeAt(0)] = a.charCodeAt(0);
}

function subCost(a: number, b: number): number {
  if (a === b) return 0;
  return a < 128 && twin[a] === b ? NEAR : QUARTER;
}

let prev = new Int32Array(32);
let cur = new Int32Array(32);

/**
 * The confusion-weighted distance between two normalised plates when it is at most `max`,
 * otherwise any number above `max` (the walk stops early). Edits count 1, look-alike swaps 0.25.
 */
export function plateDistance(a: string, b: string, max: number): number {
  const limit = Math.floor(max * QUARTER + 1e-9);
  const n = a.length;
  const m = b.length;
  const band = Math.floor(max + 1e-9);
  if (Math.abs(n - m) > band) return max + 1;
  if (m + 1 > prev.length) {
    prev = new Int32Array(m + 33);
    cur = new Int32Array(m + 33);
  }
  const BIG = 1 << 28;
  for (let j = 0; j <= m; j++) prev[j] = j <= band ? j * QUARTER : BIG;
  for (let i = 1; i <= n; i++) {
    const lo = Math.max(1, i - band);
    const hi = Math.min(m, i + band);
    cur[0] = i <= band ? i * QUARTER : BIG;
    if (lo > 1) cur[lo - 1] = BIG;
    const ca = a.charCodeAt(i - 1);
    let rowMin = cur[0];
    for (let j = lo; j <= hi; j++) {
      let v = prev[j - 1] + subCost(ca, b.charCodeAt(j - 1));
      const del = prev[j] + QUARTER;
      if (del < v) v = del;
      const ins = cur[j - 1] + QUARTER;
      if (ins < v) v = ins;
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (hi < m) cur[hi + 1] = BIG;
    if (rowMin > limit) return max + 1;
    const t = prev;
    prev = cur;
    cur = t;
  }
  const d = prev[m];
  return d > limit ? max + 1 : d / QUARTER;
}
