/**
 * Best-shot selection: which frame of a track represents the vehicle (its JPEGs are saved and
 * its capture time becomes the event's `captured_at`). Pure; the sharpness helper works on the
 * pipeline's packed RGB images (or single-channel luma) without importing the image module, so
 * it stays free of native dependencies.
 */

/** Structurally the pipeline's RgbImage; `data` may also be 1 byte per pixel (luma). */
export interface ImageLike {
  width: number;
  height: number;
  data: ArrayLike<number>;
}

/**
 * Variance of the 4-neighbour Laplacian of the luma (the usual focus measure): edges of a
 * sharp plate give large second derivatives, blur flattens them. Returns 0 for crops too small
 * to have an interior.
 */
export function laplacianVariance(img: ImageLike): number {
  const { width: w, height: h, data } = img;
  if (w < 3 || h < 3) return 0;
  const channels = data.length >= w * h * 3 ? 3 : 1;
  const luma = new Float32Array(w * h);
  for (let p = 0; p < w * h; p++) {
    luma[p] = channels === 3 ? 0.299 * data[p * 3] + 0.587 * data[p * 3 + 1] + 0.114 * data[p * 3 + 2] : data[p];
  }
  let sum = 0;
  let sumSq = 0;
  let n = 0;
  for (let y = 1; y < h - 1; y++) {
    for (let x = 1; x < w - 1; x++) {
      const p = y * w + x;
      const lap = luma[p - 1] + luma[p + 1] + luma[p - w] + luma[p + w] - 4 * luma[p];
      sum += lap;
      sumSq += lap * lap;
      n++;
    }
  }
  const mean = sum / n;
  return Math.max(0, sumSq / n - mean * mean);
}

export interface ShotCandidate {
  frameIndex: number;
  /** Plate box size in frame pixels. */
  plateWidth: number;
  plateHeight: number;
  /** `laplacianVariance` of the plate crop. */
  sharpness: number;
  /** OCR confidence of this frame's read in [0, 1]; 0 when the frame was not read. */
  ocrConfidence: number;
}

export interface ShotScoreOptions {
  /**
   * Plate width in pixels at which more resolution stops helping: the OCR models read a plate
   * resized to ~100-200 px wide, so beyond that a bigger box is not a better picture.
   */
  fullWidth: number;
  /** Laplacian variance that counts as half-sharp (score 0.5); JPEG plates in focus are in the hundreds. */
  halfSharpness: number;
  weights: { size: number; sharpness: number; confidence: number };
}

export const DEFAULT_SHOT_SCORE: ShotScoreOptions = {
  fullWidth: 160,
  halfSharpness: 100,
  // Confidence weighs most since the best shot is also the one people check the read against;
  // size next (resolution bounds what anyone can read); sharpness separates near-equals.
  weights: { size: 0.35, sharpness: 0.25, confidence: 0.4 },
};

/**
 * Score in [0, 1]: a weighted sum of size (width / fullWidth, capped at 1), sharpness
 * (s / (s + halfSharpness), saturating so a noisy crop cannot win on noise alone) and OCR
 * confidence. Also used as the event's `quality_score`.
 */
export function shotScore(c: ShotCandidate, opts: ShotScoreOptions = DEFAULT_SHOT_SCORE): number {
  const size = Math.min(1, Math.max(0, c.plateWidth) / opts.fullWidth);
  const s = Math.max(0, c.sharpness);
  const sharp = s / (s + opts.halfSharpness);
  const conf = Math.min(1, Math.max(0, c.ocrConfidence));
  const { size: ws, sharpness: wh, confidence: wc } = opts.weights;
  const total = ws + wh + wc;
  return total > 0 ? (ws * size + wh * sharp + wc * conf) / total : 0;
}

/** The highest-scoring candidate (earliest on ties), or null for none. */
export function chooseBestShot<T extends ShotCandidate>(
  candidates: readonly T[],
  opts: ShotScoreOptions = DEFAULT_SHOT_SCORE,
): { shot: T; score: number } | null {
  let best: { shot: T; score: number } | null = null;
  for (const shot of candidates) {
    const score = shotScore(shot, opts);
    if (!best || score > best.score) best = { shot, score };
  }
  return best;
}

/**
 * Running best shot of one track: keeps a single candidate, so memory does not grow with the
 * track's length. `offer` says whether the candidate became the best, which is when the caller
 * should (re)encode the plate, vehicle and frame JPEGs.
 */
export class BestShot<T extends ShotCandidate = ShotCandidate> {
  private current: { shot: T; score: number } | null = null;

  constructor(private readonly opts: ShotScoreOptions = DEFAULT_SHOT_SCORE) {}

  offer(candidate: T): boolean {
    const score = shotScore(candidate, this.opts);
    if (this.current && score <= this.current.score) return false;
    this.current = { shot: candidate, score };
    return true;
  }

  get best(): { shot: T; score: number } | null {
    return this.current;
  }
}
