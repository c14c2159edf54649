/**
 * Plate OCR with fast-plate-ocr's CCT models: a fixed number of character slots, each a
 * softmax over the alphabet plus a pad symbol. Crops are batched into one run.
 */
import { resizeImage, type RgbImage } from './image.js';
import type { SlotOcrModelEntry } from './model-manifest.js';
import { getSession, ort, runSingle } from './session.js';

export interface SlotRead {
  /** Raw text, pad symbols removed. */
  text: string;
  /** Mean of the chosen characters' probabilities (pad slots excluded). */
  confidence: number;
  /** Probability of each character in `text`. */
  charConfidences: number[];
  /** Full distribution per slot (alphabet order, pad included), for format-aware decoding. */
  slots: Float32Array[];
  alphabet: string;
  pad: string;
}

export class CctPlateReader {
  readonly entry: SlotOcrModelEntry;
  private session!: ort.InferenceSession;

  private constructor(entry: SlotOcrModelEntry) {
    this.entry = entry;
  }

  static async create(entry: SlotOcrModelEntry): Promise<CctPlateReader> {
    const r = new CctPlateReader(entry);
    r.session = await getSession(entry);
    return r;
  }

  async read(crops: readonly RgbImage[]): Promise<SlotRead[]> {
    if (crops.length === 0) return [];
    const { width: W, height: H, name } = this.entry.input;
    const per = W * H * 3;
    const batch = new Uint8Array(per * crops.length);
    crops.forEach((c, i) => batch.set(resizeImage(c, W, H).data, i * per));
    const out = await runSingle(this.session, name, new ort.Tensor('uint8', batch, [crops.length, H, W, 3]));
    return decodeSlots(out.data as Float32Array, crops.length, this.entry.output.slots, this.entry.output.alphabet, this.entry.output.pad);
  }
}

/** Argmax per slot; pad slots are dropped wherever they fall. */
export function decodeSlots(data: Float32Array, n: number, slots: number, alphabet: string, pad: string): SlotRead[] {
  const a = alphabet.length;
  const padIdx = alphabet.indexOf(pad);
  const reads: SlotRead[] = [];
  for (let i = 0; i < n; i++) {
    let text = '';
    const charConfidences: number[] = [];
    const dist: Float32Array[] = [];
    for (let s = 0; s < slots; s++) {
      const off = (i * slots + s) * a;
      const p = data.slice(off, off + a);
      dist.push(p);
      let best = 0;
      for (let k = 1; k < a; k++) if (p[k] > p[best]) best = k;
      if (best === padIdx) continue;
      text += alphabet[best];
      charConfidences.push(p[best]);
    }
    const confidence = charConfidences.length ? charConfidences.reduce((x, y) => x + y, 0) / charConfidences.length : 0;
    reads.push({ text, confidence, charConfidences, slots: dist, alphabet, pad });
  }
  return reads;
}
