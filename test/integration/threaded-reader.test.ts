/**
 * ThreadedPlateReader against the inline Recognizer, real models on real frames: every vehicle
 * region of every 16th frame of the tollbooth clip is read both ways and the results must be
 * identical (boxes, corners, texts, confidences), so moving reads to a thread and sending only
 * the region changes nothing but the core they run on. Also: a thread that dies is replaced on
 * the next read, and a read after close() is refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { clampBox, padBox, type Box } from '../../src-pipeline/common/geometry.js';
import { RecognitionConfig } from '../../src-pipeline/common/recognition-config.js';
import { createFrameSource } from '../../src-pipeline/ingest/index.js';
import { regionCrop, ThreadedPlateReader } from '../../src-pipeline/pipeline/threaded-reader.js';
import { createImage, type RgbImage } from '../../src-pipeline/vision/image.js';
import { Recognizer } from '../../src-pipeline/vision/recognizer.js';
import { sharedDataDir, sharedSkip } from '../support/shared.js';

/** Three plates: 34A36837, 34A23126 and the truck's 89C20339 late in the clip. */
const CLIP = sharedDataDir('video', '01_vn_tollbooth_parkpow_cars.mp4');

describe('regionCrop', () => {
  it('keeps a margin around the region, clamped to the frame, with the region in crop pixels', () => {
    const img = createImage(200, 100);
    for (let i = 0; i < img.data.length; i++) img.data[i] = i % 251;
    const c = regionCrop(img, { x1: 50.5, y1: 20.25, x2: 150.5, y2: 60.25 });
    assert.deepEqual([c.ox, c.oy], [36, 12]);
    assert.deepEqual(c.inner, { x1: 14.5, y1: 8.25, x2: 114.5, y2: 48.25 });
    // The crop's pixel (0, 0) is the frame's (ox, oy).
    assert.deepEqual([...c.image.data.subarray(0, 3)], [...img.data.subarray((12 * 200 + 36) * 3, (12 * 200 + 36) * 3 + 3)]);
    const edge = regionCrop(img, { x1: -10, y1: 0, x2: 190, y2: 100 });
    assert.deepEqual([edge.ox, edge.oy, edge.image.width, edge.image.height], [0, 0, 200, 100]);
  });
});

describe('ThreadedPlateReader (real models, real frames)', { skip: sharedSkip([CLIP]) }, () => {
  const recognition = RecognitionConfig.parse({});
  let inline: Recognizer;
  let threaded: ThreadedPlateReader;
  const frames: RgbImage[] = [];
  const logs: string[] = [];

  before(async () => {
    inline = await Recognizer.create(recognition);
    // As the pipeline starts it by default: primary views only, so without the second OCR model.
    threaded = await ThreadedPlateReader.start(recognition, (level, message) => logs.push(`${level} ${message}`), { primaryOnly: true });
    const src = createFrameSource({ id: 'reader-test', type: 'file', source: CLIP });
    for await (const f of src) if (f.index % 16 === 0) frames.push(f.image);
    await src.stop();
  });
  after(() => threaded?.close());

  it('reads every vehicle region exactly as the inline recognizer does', async () => {
    let regions = 0;
    const texts = new Set<string>();
    for (const img of frames) {
      for (const v of await inline.findVehicles(img)) {
        if (v.box.x2 - v.box.x1 < 110) continue;
        // The pipeline's region: the vehicle box padded by 6%.
        const region: Box = clampBox(padBox(v.box, 0.06, 0.06), img.width, img.height);
        for (const opts of [{ primaryOnly: true }, { fullSize: true, primaryOnly: true }]) {
          const t = { preMs: 0, inferMs: 0, postMs: 0 };
          const [a, b] = [await inline.readRegion(img, region, opts), await threaded.readRegion(img, region, opts, t)];
          assert.deepEqual(b.plates, a.plates);
          assert.deepEqual(b.rejected, a.rejected);
          assert.ok(t.inferMs > 0, 'the thread reports its inference time');
          regions++;
          for (const p of a.plates) texts.add(p.text);
        }
      }
    }
    assert.ok(regions >= 100, `only ${regions} regions were compared`);
    for (const p of ['34A36837', '34A23126']) assert.ok(texts.has(p), `${p} read in ${JSON.stringify([...texts])}`);
  });

  it('replaces a thread that died, and the next read works', async () => {
    const img = frames[Math.floor(frames.length / 2)];
    const region = { x1: 0, y1: 0, x2: img.width, y2: img.height };
    const before = await threaded.readRegion(img, region);
    // The thread dies between two reads (as an out-of-memory kill of the thread would end it).
    await (threaded as unknown as { worker: { terminate(): Promise<number> } }).worker.terminate();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(threaded.restarts, 1);
    assert.ok(
      logs.some((l) => l.startsWith('warn plate reader thread exited')),
      logs.join('\n'),
    );
    assert.deepEqual(await threaded.readRegion(img, region), before);
  });

  it('refuses reads once closed', async () => {
    const r = await ThreadedPlateReader.start(recognition);
    await r.close();
    await assert.rejects(r.readRegion(frames[0], { x1: 0, y1: 0, x2: 100, y2: 100 }), /closed/);
  });
});
