/**
 * Multi-frame voting of OCR reads within one track. A single frame's read is fragile (motion
 * blur, glare, a partial plate); the same plate read over many frames is not, so the event
 * text is a per-character-position vote weighted by the OCR's own per-character confidence.
 * Pure: no runtime dependencies, bounded memory per track.
 */
import { normalizePlate } from '../common/plate-text.js';

export interface PlateRead {
  /** OCR text as read; normalised before voting. */
  text: string;
  /** Per-character confidences of `text` after normalisation; falls back to `confidence`. */
  charConfidences?: readonly number[];
  /** Whole-read confidence in [0, 1]. */
  confidence: number;
  frameIndex: number;
  /**
   * Optional frame/crop quality in [0, 1] (e.g. from the plate's size in pixels); scales how
   * much the read counts in the vote, not the confidence reported for the winning text.
   */
  quality?: number;
}

export interface Consensus {
  text: string;
  /** Mean of `charConfidences` (the same measure single-image recognition judges by). */
  confidence: number;
  charConfidences: number[];
  /** Reads whose normalised text equals the consensus. */
  support: number;
}

interface StoredRead {
  text: string;
  confs: number[];
  quality: number;
  /** Weight of the whole read, used to choose which read to forget when the buffer is full. */
  weight: number;
  frameIndex: number;
}

/**
 * Reads of a length other than the winning one still vote through an edit-distance alignment
 * to the provisional consensus (a read that dropped one character carries good evidence for
 * the others), but at this fraction of their weight: an alignment can be ambiguous when a
 * substitution and an insertion cost the same, and such reads never decide the length.
 */
const OFF_LENGTH_WEIGHT = 0.5;

const EMPTY: Consensus = { text: '', confidence: 0, charConfidences: [], support: 0 };

function clamp01(x: number): number {
  return Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0;
}

/**
 * For each character of `read`, the index of the `ref` position it is aligned to (or -1 for an
 * insertion), from a Levenshtein backtrace that prefers the diagonal on ties so equal-length
 * stretches stay position-aligned.
 */
export function alignToReference(read: string, ref: string): number[] {
  const n = read.length;
  const m = ref.length;
  const d: number[][] = Array.from({ length: n + 1 }, (_, i) => Array.from({ length: m + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= n; i++) {
    for (let j = 1; j <= m; j++) {
      d[i][j] = Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + (read[i - 1] === ref[j - 1] ? 0 : 1));
    }
  }
  const out = new Array<number>(n).fill(-1);
  let i = n;
  let j = m;
  while (i > 0 && j > 0) {
    if (d[i][j] === d[i - 1][j - 1] + (read[i - 1] === ref[j - 1] ? 0 : 1)) {
      out[i - 1] = j - 1;
      i--;
      j--;
    } else if (d[i][j] === d[i - 1][j] + 1) {
      i--; // extra character in the read: votes nowhere
    } else {
      j--; // character missing from the read
    }
  }
  return out;
}

export class PlateVote {
  private readonly reads: StoredRead[] = [];
  private cached: Consensus | null = null;

  /**
   * @param maxReads reads kept per track; beyond it the weakest read is forgotten, so a car
   *   parked in view for an hour costs no more memory than one driving through.
   */
  constructor(private readonly maxReads = 64) {}

  get size(): number {
    return this.reads.length;
  }

  add(read: PlateRead): void {
    const text = normalizePlate(read.text);
    if (!text) return;
    const conf = clamp01(read.confidence);
    const given = read.charConfidences;
    // Per-character confidences only make sense when they line up with the normalised text;
    // otherwise (separators stripped, mismatched arrays) every character gets the read's.
    const confs = given && given.length === text.length ? given.map(clamp01) : new Array<number>(text.length).fill(conf);
    const quality = read.quality === undefined ? 1 : clamp01(read.quality);
    const weight = (quality * confs.reduce((a, b) => a + b, 0)) / confs.length;
    this.reads.push({ text, confs, quality, weight, frameIndex: read.frameIndex });
    if (this.reads.length > this.maxReads) {
      let weakest = 0;
      for (let k = 1; k < this.reads.length; k++) if (this.reads[k].weight < this.reads[weakest].weight) weakest = k;
      this.reads.splice(weakest, 1);
    }
    this.cached = null;
  }

  consensus(): Consensus {
    if (this.cached) return this.cached;
    if (!this.reads.length) return EMPTY;
    const length = this.winningLength();
    const same = this.reads.filter((r) => r.text.length === length);
    const others = this.reads.filter((r) => r.text.length !== length);

    const first = this.votePositions(length, same, []);
    // Second pass: off-length reads aligned to the first-pass text add their (halved) votes.
    const tallies = others.length ? this.votePositions(length, same, others, first.text) : first;

    const support = this.reads.filter((r) => r.text === tallies.text).length;
    const confidence = tallies.charConfidences.reduce((a, b) => a + b, 0) / length;
    this.cached = { text: tallies.text, confidence, charConfidences: tallies.charConfidences, support };
    return this.cached;
  }

  /** True once enough reads agree with a confident consensus: OCR on this track can stop. */
  isSettled(minReads: number, minConfidence: number): boolean {
    const c = this.consensus();
    return c.support >= minReads && c.confidence >= minConfidence;
  }

  /**
   * Length by number of reads (how often each length was seen), ties broken by summed weight:
   * counting first keeps one very confident read with a dropped character from deciding it.
   */
  private winningLength(): number {
    const byLength = new Map<number, { count: number; weight: number }>();
    for (const r of this.reads) {
      const e = byLength.get(r.text.length) ?? { count: 0, weight: 0 };
      // Counted by quality: ten reads of a distant, 30-pixel plate are not ten good reads.
      e.count += r.quality;
      e.weight += r.weight;
      byLength.set(r.text.length, e);
    }
    let best = -1;
    let bestE = { count: -1, weight: -1 };
    for (const [len, e] of byLength) {
      if (e.count > bestE.count || (e.count === bestE.count && e.weight > bestE.weight)) {
        best = len;
        bestE = e;
      }
    }
    return best;
  }

  private votePositions(
    length: number,
    same: readonly StoredRead[],
    others: readonly StoredRead[],
    reference = '',
  ): { text: string; charConfidences: number[] } {
    // weight: the vote; conf/n: the OCR's own confidence in the character, unscaled by alignment.
    const tallies = Array.from({ length }, () => new Map<string, { weight: number; conf: number; n: number }>());
    const vote = (pos: number, ch: string, conf: number, scale: number): void => {
      const e = tallies[pos].get(ch) ?? { weight: 0, conf: 0, n: 0 };
      e.weight += conf * scale;
      e.conf += conf;
      e.n++;
      tallies[pos].set(ch, e);
    };
    for (const r of same) for (let k = 0; k < length; k++) vote(k, r.text[k], r.confs[k], r.quality);
    for (const r of others) {
      const map = alignToReference(r.text, reference);
      map.forEach((pos, k) => {
        if (pos >= 0) vote(pos, r.text[k], r.confs[k], OFF_LENGTH_WEIGHT * r.quality);
      });
    }
    let text = '';
    const charConfidences: number[] = [];
    for (const t of tallies) {
      let bestCh = '';
      let best = { weight: -1, conf: 0, n: 0 };
      let total = 0;
      for (const [ch, e] of t) {
        total += e.weight;
        if (e.weight > best.weight) {
          bestCh = ch;
          best = e;
        }
      }
      text += bestCh;
      // Share of the evidence for the winner: agreement at 0.9 stays 0.9, a 2:1 split at 0.9
      // drops to 0.6. No bonus for many agreeing frames, so a blurry plate read the same wrong
      // way many times is not promoted above what the OCR itself believed.
      charConfidences.push(total > 0 && best.n > 0 ? (best.weight / total) * (best.conf / best.n) : 0);
    }
    return { text, charConfidences };
  }
}
