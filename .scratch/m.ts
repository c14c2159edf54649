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
let ok = 0, okBox = 0, tDet = 0, tRec = 0, noBox = 0;
for (const [file, , plate] of rows.slice(0, N)) {
  const img = await decodeImage(join(dir, file));
  let t0 = performance.now();
  const boxes = await det.detect(img);
  tDet += performance.now() - t0;
  if (!boxes.length) { noBox++; console.log(file, plate, 'NO BOX'); continue; }
  const best = boxes.reduce((a, b) => (b.box.y2 - b.box.y1 > a.box.y2 - a.box.y1 ? b : a));
  const c1 = cropTextBox(img, best)!;
  const c2 = cropImage(img, best.box);
  t0 = performance.now();
  const [r1, r2] = await rec.read([c1, c2]);
  tRec += performance.now() - t0;
  const n1 = r1.text.toUpperCase().replace(/[^A-Z0-9]/g, '');
  const n2 = r2.text.toUpperCase().replace(/[^A-Z0-9]/g, '');
  if (n1 === plate) ok++;
  if (n2 === plate) okBox++;
  if (process.env.V || n1 !== plate) console.log(file, plate, JSON.stringify(r1.text), JSON.stringify(r2.text), boxes.length, r1.confidence.toFixed(2), JSON.stringify(best.quad.map(p=>[+p.x.toFixed(0),+p.y.toFixed(0)])));
}
console.log({ N, ok: ok / N, okBox: okBox / N, noBox, detMs: tDet / N, recMs2: tRec / N });
