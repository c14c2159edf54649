/**
 * The still-image recogniser on real photos and crops from ../shared/data, with the models in
 * models/ (npm run models). Floors are measured numbers minus a margin for onnxruntime and
 * platform noise; the measured values are printed with t.diagnostic.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { containment, iou, type Box } from '../../src-pipeline/common/geometry.js';
import { loadDataset } from '../../src-pipeline/eval/datasets.js';
import { cropImage, decodeImage } from '../../src-pipeline/vision/image.js';
import { Recognizer, type RecognitionResult } from '../../src-pipeline/vision/recognizer.js';
import { sharedDataDir, sharedSkip } from '../support/shared.js';

const US = sharedDataDir('openalpr-us-dev');
const CROPS = sharedDataDir('us-plate-crops-dev');

/**
 * Twelve labelled photos: close-ups, several cars in frame, two plates in frame (car9,
 * wts-lg-000138), a portrait phone photo, and one hard plate (wts-lg-000089: read VF2U6B
 * for YF2U68 by the first recogniser, YF2U68 since). Measured: 12 of 12 exact at their
 * labelled box (IoU 0.66 to 0.90).
 */
const PHOTOS = [
  '0b86cecf-67d1-4fc0-87c9-b36b0ee228bb',
  'car1',
  'car6',
  'car8',
  'car9',
  'car9-1',
  'car12',
  'car21',
  'us2',
  'wts-lg-000035',
  'wts-lg-000089',
  'wts-lg-000138',
];
const MIN_EXACT_PHOTOS = 10;
const MIN_IOU = 0.3;

/** Every 12th row of the crops ground truth (30 rows, 26 states). Measured 27/30 = 0.90. */
const CROP_STEP = 12;
const CROP_COUNT = 30;
const CROP_FLOOR = 0.8;

describe('Recognizer on real data', { skip: sharedSkip([US, CROPS]) }, () => {
  let rec: Recognizer;
  const results = new Map<string, { res: RecognitionResult; label: { text: string; box?: Box } }>();

  before(async () => {
    rec = await Recognizer.create();
    const samples = loadDataset(US);
    for (const name of PHOTOS) {
      const s = samples.find((x) => x.file === join(US, `${name}.jpg`));
      assert.ok(s, `${name}.jpg has a label in ${US}`);
      assert.equal(s.plates.length, 1, `${name}: one labelled plate`);
      results.set(name, { res: await rec.recognize(await decodeImage(s.file)), label: s.plates[0] });
    }
  });

  it(`reads ≥ ${MIN_EXACT_PHOTOS} of ${PHOTOS.length} photos exactly, at the labelled box (IoU ≥ ${MIN_IOU})`, (t) => {
    let exact = 0;
    const report: string[] = [];
    for (const [name, { res, label }] of results) {
      const hits = res.plates.filter((p) => p.text === label.text);
      const best = Math.max(0, ...hits.map((p) => iou(p.box, label.box!)));
      const ok = best >= MIN_IOU;
      if (ok) exact++;
      report.push(`${ok ? 'ok  ' : 'MISS'} ${name}: label ${label.text}, read ${res.plates.map((p) => p.text).join(' ') || '(none)'}, IoU ${best.toFixed(2)}`);
    }
    t.diagnostic(`photos exact at box: ${exact}/${PHOTOS.length}`);
    for (const l of report) t.diagnostic(l);
    assert.ok(exact >= MIN_EXACT_PHOTOS, report.join('\n'));
  });

  it('plates are well-formed: normalised text, confident, inside the image, corners near the box', (t) => {
    let worst = 0;
    for (const [name, { res }] of results) {
      for (const p of res.plates) {
        assert.match(p.text, /^[A-Z0-9]+$/, `${name}: ${p.text}`);
        assert.ok(p.confidence >= rec.config.min_plate_confidence && p.confidence <= 1, `${name} ${p.text}: confidence ${p.confidence}`);
        assert.equal(p.char_confidences.length, p.text.length, `${name} ${p.text}: one confidence per character`);
        const { box } = p;
        assert.ok(
          box.x1 >= 0 && box.y1 >= 0 && box.x2 <= res.width && box.y2 <= res.height && box.x2 > box.x1 && box.y2 > box.y1,
          `${name}: box ${JSON.stringify(box)}`,
        );
        assert.ok(p.corners, `${name} ${p.text}: the plate detectors predict corners`);
        // Corners may stick out of the axis-aligned box a little (tilted plates, separate heads):
        // allow 25% of the box's height / width.
        const w = box.x2 - box.x1;
        const h = box.y2 - box.y1;
        for (const c of p.corners) {
          const dx = Math.max(0, box.x1 - c.x, c.x - box.x2) / w;
          const dy = Math.max(0, box.y1 - c.y, c.y - box.y2) / h;
          worst = Math.max(worst, dx, dy);
          assert.ok(dx <= 0.25 && dy <= 0.25, `${name} ${p.text}: corner ${JSON.stringify(c)} far from box ${JSON.stringify(box)}`);
        }
      }
    }
    t.diagnostic(`worst corner overshoot: ${(worst * 100).toFixed(1)}% of box size`);
  });

  it('plates are assigned to a detected vehicle whose box contains them', (t) => {
    let assigned = 0;
    let labelled = 0;
    for (const [name, { res, label }] of results) {
      for (const p of res.plates) {
        if (p.text === label.text) labelled++;
        if (!p.vehicle) continue;
        if (p.text === label.text) assigned++;
        assert.ok(
          res.vehicles.some((v) => JSON.stringify(v) === JSON.stringify(p.vehicle)),
          `${name} ${p.text}: its vehicle is one of the image's vehicles`,
        );
        assert.ok(['car', 'motorcycle', 'bus', 'truck'].includes(p.vehicle.type), `${name}: vehicle type ${p.vehicle.type}`);
        const c = containment(p.box, p.vehicle.box);
        assert.ok(c > 0.5, `${name} ${p.text}: only ${c.toFixed(2)} of the plate lies in its vehicle`);
      }
    }
    t.diagnostic(`correct plates with a vehicle: ${assigned}/${labelled}`);
    // Measured: all but car1, where yolox-nano misses a car that fills the frame.
    assert.ok(assigned >= labelled - 2, `only ${assigned}/${labelled} correct plates have a vehicle`);
  });

  it(`readCrop reads ≥ ${CROP_FLOOR * 100}% of ${CROP_COUNT} US plate crops exactly`, async (t) => {
    const rows = readFileSync(join(CROPS, 'groundtruth.csv'), 'utf8')
      .split(/\r?\n/)
      .filter(Boolean)
      .filter((_, i) => i % CROP_STEP === 0)
      .slice(0, CROP_COUNT);
    assert.equal(rows.length, CROP_COUNT);
    let exact = 0;
    const misses: string[] = [];
    const t0 = performance.now();
    for (const row of rows) {
      const [file, , plate] = row.split(',');
      const r = await rec.readCrop(await decodeImage(join(CROPS, file)));
      assert.equal(r.charConfidences.length, r.text.length);
      if (r.text === plate) exact++;
      else misses.push(`${file}: ${plate} read ${r.text || '(none)'} (${r.confidence.toFixed(2)}, ${r.strategy})`);
    }
    const rate = exact / rows.length;
    t.diagnostic(`crops exact: ${exact}/${rows.length} = ${rate.toFixed(3)}, ${((performance.now() - t0) / rows.length).toFixed(0)} ms/crop`);
    for (const m of misses) t.diagnostic(`MISS ${m}`);
    assert.ok(rate >= CROP_FLOOR, misses.join('\n'));
  });

  it('a photo with no vehicle (the sky above a car) has no plates', async (t) => {
    const img = await decodeImage(join(US, 'wts-lg-000035.jpg'));
    const sky = cropImage(img, { x1: 0, y1: 0, x2: img.width, y2: 100 });
    assert.equal(sky.height, 100);
    const res = await rec.recognize(sky);
    t.diagnostic(`sky ${sky.width}x${sky.height}: ${res.vehicles.length} vehicle(s), ${res.plates.length} plate(s), ${res.rejected.length} rejected`);
    assert.deepEqual(res.plates, []);
    assert.equal(res.width, sky.width);
    assert.equal(res.height, 100);
  });
});

describe('Recognizer with PP-OCRv4 rec as the primary OCR (the alternative to CCT)', { skip: sharedSkip([US]) }, () => {
  it('reads close-up plates with the CTC model alone', async (t) => {
    const alt = await Recognizer.create({ models: { ocr: 'ppocr-v4-rec', ocr_second: null } });
    const expected: Record<string, string> = { car1: '627WWI', car6: '', car12: '' };
    for (const name of Object.keys(expected)) {
      expected[name] = loadDataset(US).find((s) => s.file.endsWith(`/${name}.jpg`))!.plates[0].text;
    }
    let exact = 0;
    for (const [name, plate] of Object.entries(expected)) {
      const res = await alt.recognize(await decodeImage(join(US, `${name}.jpg`)));
      const texts = res.plates.map((p) => p.text);
      t.diagnostic(`${name}: expected ${plate}, read ${texts.join(' ') || '(nothing)'}`);
      if (texts.includes(plate)) exact++;
      for (const p of res.plates) assert.match(p.text, /^[A-Z0-9]+$/, 'free-text reads are reduced to the plate alphabet');
    }
    assert.ok(exact >= 2, `PP-OCRv4 rec read ${exact} of 3`);
  });
});
