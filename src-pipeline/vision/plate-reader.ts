/**
 * The PlateReader stage: any OCR model in the manifest, chosen by its output decoder, behind
 * one interface so `models.ocr` and `models.ocr_second` can name either family.
 */
import { AlprError } from '../common/errors.js';
import type { RgbImage } from './image.js';
import type { CtcOcrModelEntry, SlotOcrModelEntry } from './model-manifest.js';
import { CctPlateReader } from './plate-reader-cct.js';
import { PpOcrPlateReader } from './plate-reader-ppocr.js';

export interface PlateRead {
  text: string;
  confidence: number;
  charConfidences: number[];
  /** Per-slot distributions, when the model has fixed slots (format-aware decoding uses them). */
  slots?: Float32Array[];
  alphabet?: string;
  pad?: string;
}

export interface PlateReader {
  readonly name: string;
  read(crops: readonly RgbImage[]): Promise<PlateRead[]>;
}

export async function createPlateReader(entry: SlotOcrModelEntry | CtcOcrModelEntry): Promise<PlateReader> {
  switch (entry.output.decoder) {
    case 'slots': {
      const r = await CctPlateReader.create(entry as SlotOcrModelEntry);
      return { name: entry.name, read: (crops) => r.read(crops) };
    }
    case 'ctc': {
      const r = await PpOcrPlateReader.create(entry as CtcOcrModelEntry);
      return { name: entry.name, read: (crops) => r.read(crops) };
    }
    default:
      throw new AlprError('MODEL_MANIFEST_INVALID', `model "${(entry as { name: string }).name}" has no plate reader for its decoder`);
  }
}

/**
 * Keeps the plate alphabet of a free-text read (upper-cased A-Z and 0-9) together with the
 * confidences of the characters kept, so a general OCR model's read compares with plate reads.
 */
export function plateCharsOf(text: string, charConfidences: readonly number[]): { text: string; charConfidences: number[] } {
  const chars = [...text.toUpperCase()];
  let out = '';
  const conf: number[] = [];
  chars.forEach((ch, i) => {
    if (/[A-Z0-9]/.test(ch)) {
      out += ch;
      conf.push(charConfidences[i] ?? 0);
    }
  });
  return { text: out, charConfidences: conf };
}
