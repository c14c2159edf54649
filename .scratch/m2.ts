import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeImage, cropImage } from '../src-pipeline/vision/image.js';
import { findModel, loadManifest } from '../src-pipeline/vision/model-manifest.js';
import { PpOcrTextDetector, cropTextBox } from '../src-pipeline/vision/text-detector-ppocr.js';
import { PpOcrPlateReader } from '../src-pipeline/vision/plate-reader-ppocr.js';
const dir = '/work/shared/data/us-plate-crops-dev';
const m = loadManifest();
const det = await PpOcrTextDetector.create(findModel(m, 'ppocr-v4-det', 'text-detection'));
const rec = await PpOcrPlateReader.create(findModel(m, 'ppocr-v4-rec', 'plate-ocr') as never);
const rows = readFileSync(join(dir, 'groundtruth.csv'), 'utf8').trim().split('\n').map((l) => l.split(','));
const N = Number(process.env.N ?? 40);
let ok = 0, okLine = 0, tRec1 = 0;
const norm = (s: string) => s.toUpperCase().replace(/[^A-Z0-9]/g, '');
for (const [file, , plate] of rows.slice(0, N)) {
  const img = await decodeImage(join(dir, file));
  const boxes = await det.detect(img);
  if (!boxes.length) continue;
  const h = (b: typeof boxes[0]) => b.box.y2 - b.box.y1;
  const best = boxes.reduce((a, b) => (h(b) > h(a) ? b : a));
  const t0 = performance.now();
  const [r1] = await rec.read([cropTextBox(img, best)!]);
  tRec1 += performance.now() - t0;
  if (norm(r1.text) === plate) ok++;
  // same line: vertical centre within the tallest box, height >= 0.5 of it
  const line = boxes.filter((b) => h(b) >= 0.5 * h(best) && (b.box.y1 + b.box.y2) / 2 > best.box.y1 && (b.box.y1 + b.box.y2) / 2 < best.box.y2).sort((a, b) => a.box.x1 - b.box.x1);
  const reads = await rec.read(line.map((b) => cropTextBox(img, b)!));
  if (norm(reads.map((r) => r.text).join('')) === plate) okLine++;
}
console.log({ N, padmax: !!process.env.PADMAX, ok: ok / N, okLine: okLine / N, rec1Ms: tRec1 / N });
