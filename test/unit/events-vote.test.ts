/**
 * Multi-frame voting (src-pipeline/events/plate-vote.ts) and best-shot selection
 * (src-pipeline/events/best-shot.ts).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { alignToReference, PlateVote } from '../../src-pipeline/events/plate-vote.js';
import { BestShot, chooseBestShot, laplacianVariance, shotScore, type ImageLike } from '../../src-pipeline/events/best-shot.js';

const read = (text: string, confidence: number, frameIndex = 0, charConfidences?: number[]) => ({ text, confidence, frameIndex, charConfidences });

describe('PlateVote', () => {
  it('is empty before any read', () => {
    const v = new PlateVote();
    assert.deepEqual(v.consensus(), { text: '', confidence: 0, charConfidences: [], support: 0 });
    assert.equal(v.isSettled(1, 0), false);
  });

  it('lets agreeing reads beat a single confident misread', () => {
    const v = new PlateVote();
    v.add(read('ABC123', 0.8, 1));
    v.add(read('A8C123', 0.99, 2));
    v.add(read('ABC123', 0.8, 3));
    v.add(read('abc-123', 0.8, 4)); // normalised before voting
    const c = v.consensus();
    assert.equal(c.text, 'ABC123');
    assert.equal(c.support, 3);
    // The disputed position is less certain than the ones every read agrees on.
    assert.ok(c.charConfidences[1] < c.charConfidences[0]);
    assert.ok(c.confidence > 0.7 && c.confidence < 0.9, String(c.confidence));
  });

  it('weighs characters by their own confidence, not the read count alone', () => {
    const v = new PlateVote();
    v.add(read('JLN390', 0.8, 1, [0.9, 0.9, 0.9, 0.9, 0.9, 0.2]));
    v.add(read('JLN398', 0.8, 2, [0.9, 0.9, 0.9, 0.9, 0.9, 0.3]));
    v.add(read('JLN390', 0.8, 3, [0.9, 0.9, 0.9, 0.9, 0.9, 0.95]));
    v.add(read('JLN398', 0.8, 4, [0.9, 0.9, 0.9, 0.9, 0.9, 0.3]));
    // 2 vs 2 reads, but 0 has 1.15 of evidence against 8's 0.6.
    assert.equal(v.consensus().text, 'JLN390');
  });

  it('decides the length by the most common one and aligns the others', () => {
    const v = new PlateVote();
    v.add(read('34A36837', 0.8, 1));
    v.add(read('34A36837', 0.8, 2));
    v.add(read('4A36837', 0.99, 3)); // dropped the first character
    v.add(read('34A368377', 0.99, 4)); // an extra character
    const c = v.consensus();
    assert.equal(c.text, '34A36837');
    assert.equal(c.support, 2);
    assert.equal(c.charConfidences.length, 8);
  });

  it('off-length reads still help at positions they align to', () => {
    const v = new PlateVote();
    v.add(read('LS15EBC', 0.6, 1, [0.9, 0.9, 0.9, 0.9, 0.9, 0.5, 0.9]));
    v.add(read('LS15E8C', 0.6, 2, [0.9, 0.9, 0.9, 0.9, 0.9, 0.6, 0.9]));
    // Missing the leading L; its B aligns to position 5 and tips the vote.
    v.add(read('S15EBC', 0.9, 3, [0.9, 0.9, 0.9, 0.9, 0.9, 0.9]));
    assert.equal(v.consensus().text, 'LS15EBC');
  });

  it('aligns by edit distance, preferring the diagonal', () => {
    assert.deepEqual(alignToReference('BC1', 'ABC1'), [1, 2, 3]);
    assert.deepEqual(alignToReference('ABXC1', 'ABC1'), [0, 1, -1, 2, 3]);
    assert.deepEqual(alignToReference('A8C1', 'ABC1'), [0, 1, 2, 3]);
  });

  it('settles once enough reads agree confidently, so OCR can stop', () => {
    const v = new PlateVote();
    v.add(read('JMH552', 0.95, 1));
    v.add(read('JMH552', 0.93, 2));
    assert.equal(v.isSettled(3, 0.9), false, 'two reads are not enough');
    v.add(read('JMH552', 0.94, 3));
    assert.equal(v.isSettled(3, 0.9), true);
    assert.equal(v.isSettled(3, 0.99), false, 'not confident enough');

    const shaky = new PlateVote();
    for (let i = 0; i < 5; i++) shaky.add(read('JMH552', 0.6, i));
    assert.equal(shaky.isSettled(3, 0.9), false);
  });

  it('keeps a bounded number of reads, forgetting the weakest', () => {
    const v = new PlateVote(8);
    for (let i = 0; i < 100; i++) v.add(read(i % 10 === 0 ? 'XYZ999' : 'ABC123', i % 10 === 0 ? 0.1 : 0.9, i));
    assert.equal(v.size, 8);
    assert.equal(v.consensus().text, 'ABC123');
    assert.equal(v.consensus().support, 8);
  });

  it('ignores reads that normalise to nothing and mismatched char confidences', () => {
    const v = new PlateVote();
    v.add(read(' - ', 0.9));
    assert.equal(v.size, 0);
    v.add(read('AB 12', 0.8, 1, [0.9, 0.9, 0.1, 0.9, 0.9])); // 5 confidences for 4 characters
    assert.deepEqual(v.consensus().charConfidences, [0.8, 0.8, 0.8, 0.8]);
  });
});

/** A w×h RGB crop of vertical stripes (sharp edges) or a smooth ramp between them. */
function stripes(w: number, h: number, blur: number): ImageLike {
  const data = new Uint8Array(w * h * 3);
  const sharp = (x: number) => (Math.floor(x / 4) % 2 ? 220 : 30);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let sum = 0;
      let n = 0;
      for (let k = -blur; k <= blur; k++) {
        const xx = Math.min(w - 1, Math.max(0, x + k));
        sum += sharp(xx);
        n++;
      }
      const v = Math.round(sum / n);
      data.set([v, v, v], (y * w + x) * 3);
    }
  }
  return { width: w, height: h, data };
}

describe('best shot', () => {
  it('scores a blurred crop as less sharp than the sharp one', () => {
    const sharp = laplacianVariance(stripes(64, 20, 0));
    const blurred = laplacianVariance(stripes(64, 20, 2));
    assert.ok(sharp > blurred * 2, `${sharp} vs ${blurred}`);
    assert.equal(laplacianVariance({ width: 10, height: 10, data: new Uint8Array(300).fill(128) }), 0);
    assert.equal(laplacianVariance({ width: 2, height: 2, data: new Uint8Array(12) }), 0);
  });

  it('reads single-channel luma as well', () => {
    const rgb = stripes(32, 8, 0);
    const luma = new Uint8Array(32 * 8);
    for (let p = 0; p < luma.length; p++) luma[p] = rgb.data[p * 3];
    assert.ok(Math.abs(laplacianVariance({ width: 32, height: 8, data: luma }) - laplacianVariance(rgb)) < 1);
  });

  it('prefers bigger, sharper, more confident plates and keeps one candidate', () => {
    const small = { frameIndex: 1, plateWidth: 40, plateHeight: 12, sharpness: 300, ocrConfidence: 0.8 };
    const big = { frameIndex: 2, plateWidth: 150, plateHeight: 40, sharpness: 300, ocrConfidence: 0.8 };
    const bigBlurry = { ...big, frameIndex: 3, sharpness: 5 };
    assert.ok(shotScore(big) > shotScore(small));
    assert.ok(shotScore(big) > shotScore(bigBlurry));
    assert.ok(shotScore(big) <= 1 && shotScore(small) >= 0);
    assert.equal(chooseBestShot([small, bigBlurry, big])?.shot.frameIndex, 2);
    assert.equal(chooseBestShot([]), null);

    const b = new BestShot();
    assert.equal(b.offer(small), true);
    assert.equal(b.offer(big), true);
    assert.equal(b.offer(bigBlurry), false);
    assert.equal(b.best?.shot.frameIndex, 2);
  });
});
