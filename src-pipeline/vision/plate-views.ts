/**
 * Views of a plate for OCR and the vote between their reads. A plate is read from several
 * views (rectified, character span, contrast-stretched, padded box); cheap ones first, the
 * rest only when the first reads leave doubt.
 */
import { clampBox, padBox, type Quad } from '../common/geometry.js';
import type { ReadStrategy } from '../common/recognition-config.js';
import { findCharSpan } from './char-span.js';
import type { Detection } from './detection.js';
import { padConstant, stretchContrast } from './enhance.js';
import { cropImage, meanLuma, type RgbImage } from './image.js';
import { expandQuad, isConvexClockwise, quadSize, warpQuad } from './warp.js';

/** One view's decoded read. */
export interface Vote {
  text: string;
  confidence: number;
  charConfidences: number[];
  strategy: string;
}

/** Views of one plate: always read, and read only when the first ones leave doubt. */
export interface ViewPlan {
  primary: View[];
  extra: () => View[];
}

/** OCR view of one plate: an image plus the name of the strategy that made it. */
export interface View {
  strategy: string;
  image: RgbImage;
}

/**
 * Votes between the views of one plate: identical decoded texts pool their confidence, so two
 * agreeing views beat one slightly more confident outlier.
 */
export function voteReads(reads: readonly Vote[]): Vote | null {
  const pool = new Map<string, { score: number; best: Vote }>();
  for (const r of reads) {
    if (!r.text) continue;
    const e = pool.get(r.text);
    if (!e) pool.set(r.text, { score: r.confidence, best: { ...r } });
    else {
      e.score += r.confidence;
      if (r.confidence > e.best.confidence) e.best = { ...r };
    }
  }
  let winner: { score: number; best: Vote } | undefined;
  for (const e of pool.values()) if (!winner || e.score > winner.score) winner = e;
  return winner ? winner.best : null;
}

/**
 * The views of one detected plate. Primary views (rectified and the character span) are
 * read for every plate; the rest only for plates the primary views do not settle.
 */
export function plateViewPlan(img: RgbImage, det: Detection, strategies: readonly ReadStrategy[]): ViewPlan {
  const box = clampBox(det.box, img.width, img.height);
  const quad = det.corners && isConvexClockwise(det.corners) ? det.corners : null;
  const primary: View[] = [];
  const extraMakers: (() => View[])[] = [];
  if (strategies.includes('rectified') && quad) {
    const warped = warpPlate(img, expandQuad(quad, 0.1, 0.2));
    if (warped) {
      primary.push({ strategy: 'rectified', image: warped });
      if (strategies.includes('enhanced')) extraMakers.push(() => [{ strategy: 'rectified+enhanced', image: stretchContrast(warped) }]);
    }
    if (strategies.includes('chars')) {
      const tight = warpPlate(img, quad);
      const chars = tight ? charSpanViews(tight) : [];
      primary.push(...chars.slice(0, 1));
      extraMakers.push(() => chars.slice(1));
    }
  }
  const padded = (): View[] => {
    const crop = cropImage(img, clampBox(padBox(box, 0.1, 0.2), img.width, img.height));
    const views: View[] = [{ strategy: 'padded', image: crop }];
    if (strategies.includes('enhanced') && (primary.length === 0 || meanLuma(crop) < 70))
      views.push({ strategy: 'padded+enhanced', image: stretchContrast(crop) });
    return views;
  };
  // Without corners the padded box is all there is, so it becomes primary.
  if (primary.length === 0) primary.push(...padded());
  else if (strategies.includes('padded')) extraMakers.push(padded);
  if (strategies.includes('tight')) extraMakers.push(() => [{ strategy: 'tight', image: cropImage(img, box) }]);
  return { primary, extra: () => extraMakers.flatMap((m) => m()) };
}

/** The views of an image that is already a plate crop (the crops benchmark, manual reads). */
export function cropViewPlan(img: RgbImage, strategies: readonly ReadStrategy[]): ViewPlan {
  const chars = strategies.includes('chars') ? charSpanViews(img) : [];
  return {
    primary: [{ strategy: 'padded', image: padConstant(img, 0.1, 0.2) }, ...chars.slice(0, 1)],
    extra: () => [
      { strategy: 'padded-tall', image: padConstant(img, 0.1, 0.3) },
      ...(strategies.includes('enhanced') ? [{ strategy: 'enhanced', image: padConstant(stretchContrast(img), 0.1, 0.2) }] : []),
      ...chars.slice(1),
    ],
  };
}

/** Two or more views agreeing with confidence at least `settle_confidence` each. */
export function settled(votes: readonly Vote[], threshold: number): boolean {
  return votes.length >= 2 && votes.every((v) => v.text && v.text === votes[0].text && v.confidence >= threshold);
}

/** Warps a quad to an upright image of its own size, within sane OCR input bounds. */
function warpPlate(img: RgbImage, q: Quad): RgbImage | null {
  const { width, height } = quadSize(q);
  return warpQuad(img, q, Math.max(16, Math.min(512, Math.round(width))), Math.max(8, Math.min(256, Math.round(height))));
}

/**
 * Views cut to the span of the plate's main characters (see char-span.ts). Two paddings, so
 * when segmentation succeeds its reading carries the weight of two votes against the whole
 * plate views that also see stacked letters and frame text.
 */
export function charSpanViews(plate: RgbImage): View[] {
  const span = findCharSpan(plate);
  if (!span) return [];
  const cw = span.charHeight * 0.5;
  const b = clampBox(
    { x1: span.box.x1 - cw * 0.6, y1: span.box.y1 - span.charHeight * 0.4, x2: span.box.x2 + cw * 0.6, y2: span.box.y2 + span.charHeight * 0.4 },
    plate.width,
    plate.height,
  );
  const c = cropImage(plate, b);
  return [
    { strategy: 'chars', image: padConstant(c, 0.1, 0.2) },
    { strategy: 'chars-tall', image: padConstant(c, 0.1, 0.3) },
  ];
}
