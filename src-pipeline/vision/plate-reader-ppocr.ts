/**
 * PP-OCRv4 text recognition (CTC) as a plate reader. The model is Chinese + Latin, so `text`
 * is whatever it decodes; reducing it to plate characters is the text rules' job.
 */
import { readFileSync } from 'node:fs';
import { resizeImage, type RgbImage } from './image.js';
import type { CtcOcrModelEntry } from './model-manifest.js';
import { resolveVerified } from './model-store.js';
import { getSession, ort, runSingle } from './session.js';

export interface CtcRead {
  /** Raw decoded text. */
  text: string;
  /** Mean of the chosen characters' probabilities (0 when nothing was read). */
  confidence: number;
  /** Probability of each character in `text`. */
  charConfidences: number[];
}

/**
 * Greedy CTC: argmax per time step, collapse repeats, drop blanks (index 0). Class k > 0 is
 * `dict[k - 1]`. A repeated character survives only with a blank between its runs. Reads
 * `probs[offset .. offset + T*C)` so one batch output can be decoded in place.
 */
export function ctcGreedyDecode(probs: Float32Array, T: number, C: number, dict: readonly string[], offset = 0): CtcRead {
  let text = '';
  const charConfidences: number[] = [];
  let prev = -1;
  for (let t = 0; t < T; t++) {
    const base = offset + t * C;
    let best = 0;
    let bestP = probs[base];
    for (let k = 1; k < C; k++) {
      if (probs[base + k] > bestP) {
        bestP = probs[base + k];
        best = k;
      }
    }
    if (best !== 0 && best !== prev) {
      text += dict[best - 1] ?? '';
      charConfidences.push(bestP);
    }
    prev = best;
  }
  const confidence = charConfidences.length ? charConfidences.reduce((a, b) => a + b, 0) / charConfidences.length : 0;
  return { text, confidence, charConfidences };
}

/** One entry per line; PaddleOCR appends a space as the last class (use_space_char). */
export function parseDictionary(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length && lines[lines.length - 1] === '') lines.pop();
  return [...lines, ' '];
}

const dictionaries = new Map<string, string[]>();

function loadDictionary(entry: CtcOcrModelEntry): string[] {
  const src = entry.output.dictionary;
  // A url-sourced dictionary is fetched into the model folder under its URL's file name.
  const file = (src.type === 'npm' ? src.path : new URL(src.url).pathname).split('/').pop() ?? '';
  const path = resolveVerified({ name: `${entry.name} dictionary`, file, sha256: src.sha256, source: src });
  let dict = dictionaries.get(path);
  if (!dict) {
    dict = parseDictionary(readFileSync(path, 'utf8'));
    dictionaries.set(path, dict);
  }
  return dict;
}

export class PpOcrPlateReader {
  readonly entry: CtcOcrModelEntry;
  readonly dictionary: readonly string[];
  private session!: ort.InferenceSession;

  private constructor(entry: CtcOcrModelEntry, dictionary: string[]) {
    this.entry = entry;
    this.dictionary = dictionary;
  }

  static async create(entry: CtcOcrModelEntry): Promise<PpOcrPlateReader> {
    const r = new PpOcrPlateReader(entry, loadDictionary(entry));
    r.session = await getSession(entry);
    return r;
  }

  async read(crops: readonly RgbImage[]): Promise<CtcRead[]> {
    if (crops.length === 0) return [];
    const { height: H, width: maxW, name } = this.entry.input;
    const widths = crops.map((c) => Math.max(1, Math.min(maxW, Math.ceil((H * c.width) / c.height))));
    // Pad only to the widest crop (PaddleOCR pads to 320): on the 376 US crops accuracy is the
    // same within one plate and a typical 2:1 plate crop runs about 2.5x faster. Multiples of
    // 32 keep the set of input shapes small.
    const W = Math.min(maxW, Math.ceil(Math.max(...widths) / 32) * 32);
    const plane = H * W;
    const batch = new Float32Array(crops.length * 3 * plane);
    crops.forEach((crop, n) => {
      const w = widths[n];
      const d = resizeImage(crop, w, H).data;
      for (let c = 0; c < 3; c++) {
        const base = (n * 3 + c) * plane;
        // BGR: tensor channel c reads source channel 2 - c.
        for (let y = 0; y < H; y++) {
          let i = y * w * 3 + (2 - c);
          const o = base + y * W;
          for (let x = 0; x < w; x++, i += 3) batch[o + x] = d[i] / 127.5 - 1;
        }
      }
    });
    const out = await runSingle(this.session, name, new ort.Tensor('float32', batch, [crops.length, 3, H, W]));
    const [N, T, C] = out.dims;
    if (C !== this.dictionary.length + 1) {
      throw new Error(
        `${this.entry.name}: model has ${C} classes but the dictionary gives ${this.dictionary.length - 1} characters + space + blank = ${this.dictionary.length + 1}; the dictionary does not belong to this model`,
      );
    }
    const data = out.data as Float32Array;
    const reads: CtcRead[] = [];
    for (let n = 0; n < N; n++) reads.push(ctcGreedyDecode(data, T, C, this.dictionary, n * T * C));
    return reads;
  }
}
