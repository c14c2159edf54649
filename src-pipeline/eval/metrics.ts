/** Accuracy bookkeeping for `ovr-alpr eval`; pure so the maths has its own tests. */
import { iou, type Box } from '../common/geometry.js';
import { editDistance, foldPlate } from '../common/plate-text.js';
import type { LabelledPlate } from './datasets.js';

export interface PredictedPlate {
  text: string;
  confidence: number;
  box?: Box;
}

export interface SampleOutcome {
  file: string;
  expected: string[];
  read: string[];
  /** Per expected plate: the matched read ('' when missed). */
  matched: string[];
  exact: number;
  folded: number;
  detected: number;
  boxesLabelled: number;
  falseReads: number;
  charsCorrect: number;
  charsTotal: number;
  ms: number;
  error?: string;
}

export const IOU_MATCH = 0.3;

/**
 * Matches reads to labels. With boxes, a read belongs to the label whose box it overlaps
 * (IoU ≥ 0.3); without (crops), the single read is the answer. A read that matches no label
 * is a false read.
 */
export function scoreSample(file: string, labels: readonly LabelledPlate[], preds: readonly PredictedPlate[], ms: number): SampleOutcome {
  const used = new Set<number>();
  const matched: string[] = [];
  let exact = 0;
  let folded = 0;
  let detected = 0;
  let boxesLabelled = 0;
  let charsCorrect = 0;
  let charsTotal = 0;
  for (const label of labels) {
    let pick = -1;
    if (label.box) {
      boxesLabelled++;
      let bestIou = IOU_MATCH;
      preds.forEach((p, i) => {
        if (used.has(i) || !p.box) return;
        const v = iou(label.box!, p.box);
        if (v >= bestIou) {
          bestIou = v;
          pick = i;
        }
      });
      if (pick >= 0) detected++;
      // A read elsewhere with the right text still counts as read (boxes can be loose labels).
      if (pick < 0 || preds[pick].text !== label.text) {
        const same = preds.findIndex((p, i) => !used.has(i) && p.text === label.text);
        if (same >= 0) pick = same;
      }
    } else {
      preds.forEach((p, i) => {
        if (!used.has(i) && (pick < 0 || p.confidence > preds[pick].confidence)) pick = i;
      });
    }
    const got = pick >= 0 ? preds[pick].text : '';
    if (pick >= 0) used.add(pick);
    matched.push(got);
    if (got === label.text) exact++;
    if (foldPlate(got) === foldPlate(label.text)) folded++;
    charsTotal += label.text.length;
    charsCorrect += Math.max(0, label.text.length - editDistance(got, label.text));
  }
  return {
    file,
    expected: labels.map((l) => l.text),
    read: preds.map((p) => p.text),
    matched,
    exact,
    folded,
    detected,
    boxesLabelled,
    falseReads: preds.length - used.size,
    charsCorrect,
    charsTotal,
    ms,
  };
}

export interface EvalSummary {
  dataset: string;
  images: number;
  total: number;
  exact: number;
  exact_rate: number;
  folded: number;
  folded_rate: number;
  char_accuracy: number;
  detection_recall: number | null;
  false_reads: number;
  false_reads_per_image: number;
  errors: number;
  median_ms: number;
  p95_ms: number;
}

export function median(xs: readonly number[]): number {
  return percentile(xs, 0.5);
}

export function percentile(xs: readonly number[], q: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  const pos = (s.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo] + (s[hi] - s[lo]) * (pos - lo);
}

const r4 = (x: number) => Math.round(x * 10000) / 10000;

export function summarize(dataset: string, outcomes: readonly SampleOutcome[]): EvalSummary {
  const sum = (f: (o: SampleOutcome) => number) => outcomes.reduce((a, o) => a + f(o), 0);
  const total = sum((o) => o.expected.length);
  const boxes = sum((o) => o.boxesLabelled);
  const images = outcomes.length;
  const ms = outcomes.filter((o) => !o.error).map((o) => o.ms);
  return {
    dataset,
    images,
    total,
    exact: sum((o) => o.exact),
    exact_rate: total ? r4(sum((o) => o.exact) / total) : 0,
    folded: sum((o) => o.folded),
    folded_rate: total ? r4(sum((o) => o.folded) / total) : 0,
    char_accuracy: r4(
      sum((o) => o.charsCorrect) /
        Math.max(
          1,
          sum((o) => o.charsTotal),
        ),
    ),
    detection_recall: boxes ? r4(sum((o) => o.detected) / boxes) : null,
    false_reads: sum((o) => o.falseReads),
    false_reads_per_image: images ? r4(sum((o) => o.falseReads) / images) : 0,
    errors: outcomes.filter((o) => o.error).length,
    median_ms: Math.round(median(ms) * 10) / 10,
    p95_ms: Math.round(percentile(ms, 0.95) * 10) / 10,
  };
}
