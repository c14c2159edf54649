/**
 * Plate search an operator can type: partial patterns (`AB*12`, `*123`, `?` for exactly one
 * character) and fuzzy matching that tolerates OCR confusions and one edit. Pure functions;
 * the stores turn them into indexed queries.
 */
import { CONFUSABLES, editDistance, normalizePlate } from './plate-text.js';

export type PlateQuery = { kind: 'exact'; plate: string } | { kind: 'pattern'; pattern: string; like: string; regex: RegExp };

export class PlateQueryError extends Error {}

/**
 * Parses what an operator typed. Spaces and dashes are dropped, letters upper-cased; `*` is
 * any run of characters, `?` exactly one. Anything else is an error the API reports as 400.
 */
export function parsePlateQuery(input: string): PlateQuery {
  const cleaned = input.toUpperCase().replace(/[\s-]/g, '');
  if (!cleaned) throw new PlateQueryError('plate query is empty');
  if (cleaned.length > 32) throw new PlateQueryError('plate query is longer than 32 characters');
  const bad = cleaned.match(/[^A-Z0-9*?]/);
  if (bad) throw new PlateQueryError(`plate query may hold only letters, digits, * and ?; found "${bad[0]}"`);
  if (!/[*?]/.test(cleaned)) return { kind: 'exact', plate: cleaned };
  const pattern = cleaned.replace(/\*+/g, '*');
  if (pattern === '*') throw new PlateQueryError('plate query "*" matches everything: add at least one character');
  const like = pattern.replace(/\*/g, '%').replace(/\?/g, '_');
  const regex = new RegExp(`^${pattern.replace(/\*/g, '.*').replace(/\?/g, '.')}$`);
  return { kind: 'pattern', pattern, like, regex };
}

/** The literal prefix of a pattern (before the first wildcard): what an index range can use. */
export function patternPrefix(pattern: string): string {
  const i = pattern.search(/[*?]/);
  return i < 0 ? pattern : pattern.slice(0, i);
}

/** The literal suffix of a pattern (after the last wildcard): indexable on reversed text. */
export function patternSuffix(pattern: string): string {
  const m = pattern.match(/[*?]([^*?]*)$/);
  return m ? m[1] : pattern;
}

/** OCR look-alikes folded onto one symbol: reads differing only by these are the same plate. */
const FOLD: Readonly<Record<string, string>> = Object.fromEntries(CONFUSABLES);

export function foldConfusions(text: string): string {
  let out = '';
  for (const ch of normalizePlate(text)) out += FOLD[ch] ?? ch;
  return out;
}

/**
 * The folded text and every string one deletion away from it. Two strings within one edit
 * (substitution, insertion or deletion) always share a member of these sets, which lets a
 * store find fuzzy matches with an index lookup instead of a scan (symmetric delete).
 */
export function deletionKeys(folded: string): string[] {
  const keys = new Set<string>([folded]);
  for (let i = 0; i < folded.length; i++) keys.add(folded.slice(0, i) + folded.slice(i + 1));
  return [...keys];
}

export interface FuzzyScore {
  /** 0 identical, 1 only OCR look-alikes differ, 2 one edit after folding. */
  rank: 0 | 1 | 2;
  distance: number;
}

/** How close a stored plate is to the query; null when it is not a fuzzy match. */
export function fuzzyScore(query: string, candidate: string): FuzzyScore | null {
  const q = normalizePlate(query);
  const c = normalizePlate(candidate);
  if (q === c) return { rank: 0, distance: 0 };
  const fq = foldConfusions(q);
  const fc = foldConfusions(c);
  if (fq === fc) return { rank: 1, distance: editDistance(q, c) };
  const d = editDistance(fq, fc);
  return d <= 1 ? { rank: 2, distance: editDistance(q, c) } : null;
}
