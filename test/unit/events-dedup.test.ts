/**
 * Fuzzy per-camera dedup (src-pipeline/events/dedup.ts): similarity threshold, OCR look-alikes,
 * the sliding time window, the entry cap and "improves" decisions.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PlateDeduper, plateSimilarity } from '../../src-pipeline/events/dedup.js';

const S = 1000;
const make = (over: Partial<{ similarity: number; windowMs: number; maxEntries: number }> = {}) =>
  new PlateDeduper({ similarity: 0.85, windowMs: 300 * S, maxEntries: 512, ...over });

describe('plateSimilarity', () => {
  it('is 1 - distance / longer length', () => {
    assert.equal(plateSimilarity('34A36837', '34A36837'), 1);
    assert.equal(plateSimilarity('34A36837', '34A36887'), 0.875);
    assert.equal(plateSimilarity('ABC123', 'ABC124'), 1 - 1 / 6);
    assert.equal(plateSimilarity('', ''), 1);
  });
});

describe('PlateDeduper', () => {
  it('treats a one-character misread of a long plate as the same plate', () => {
    const d = make();
    assert.deepEqual(d.observe('cam1', 'e1', '34A36837', 0.9, 0), { kind: 'new' });
    assert.deepEqual(d.observe('cam1', 'e2', '34A36887', 0.8, 10 * S), { kind: 'duplicate', previousEventId: 'e1' });
  });

  it('keeps plates below the similarity apart', () => {
    const d = make();
    d.observe('cam1', 'e1', 'ABC123', 0.9, 0);
    // 1 edit in 6 characters is 0.833 < 0.85: a different car.
    assert.deepEqual(d.observe('cam1', 'e2', 'ABC124', 0.9, S), { kind: 'new' });
    assert.deepEqual(d.observe('cam1', 'e3', 'XYZ789', 0.9, S), { kind: 'new' });
  });

  it('treats OCR look-alike reads as duplicates even when edit distance would not', () => {
    const d = make();
    d.observe('cam1', 'e1', 'JLN390', 0.9, 0);
    // Two look-alike swaps: similarity 0.67, but equal once folded.
    assert.deepEqual(d.observe('cam1', 'e2', 'JLN39O', 0.8, S), { kind: 'duplicate', previousEventId: 'e1' });
    assert.deepEqual(d.observe('cam1', 'e3', '5B0', 0.8, S), { kind: 'new' });
    assert.deepEqual(d.observe('cam1', 'e4', 'S8O', 0.8, S), { kind: 'duplicate', previousEventId: 'e3' });
  });

  it('is per camera', () => {
    const d = make();
    d.observe('cam1', 'e1', 'LS15EBC', 0.9, 0);
    assert.deepEqual(d.observe('cam2', 'e2', 'LS15EBC', 0.9, 0), { kind: 'new' });
  });

  it('forgets a plate once the window since its last sighting has passed', () => {
    const d = make();
    d.observe('cam1', 'e1', 'LS15EBC', 0.9, 0);
    assert.equal(d.observe('cam1', 'e2', 'LS15EBC', 0.9, 200 * S).kind, 'duplicate');
    // The window slides with each sighting: 450 s is within 300 s of the one at 200 s.
    assert.equal(d.observe('cam1', 'e3', 'LS15EBC', 0.9, 450 * S).kind, 'duplicate');
    assert.deepEqual(d.observe('cam1', 'e4', 'LS15EBC', 0.9, 751 * S), { kind: 'new' });
    assert.equal(d.size, 1);
  });

  it('expires by time and by the entry cap, so memory does not grow with input', () => {
    const d = make({ maxEntries: 50 });
    for (let i = 0; i < 10_000; i++) d.observe('cam1', `e${i}`, `P${String(i).padStart(6, '0')}`, 0.9, i);
    assert.equal(d.size, 50);
    // The most recent plates are the ones kept.
    assert.equal(d.observe('cam1', 'x', 'P009999', 0.9, 10_000).kind, 'duplicate');
    assert.equal(d.observe('cam1', 'y', 'P000001', 0.9, 10_000).kind, 'new');

    const t = make({ windowMs: 10 * S });
    for (let i = 0; i < 1000; i++) t.observe(`cam${i % 4}`, `e${i}`, `Q${String(i).padStart(6, '0')}`, 0.9, i * S);
    // Only the last ~10 s of plates survive on each camera.
    assert.ok(t.size <= 4 * 4, String(t.size));
    t.prune(2000 * S);
    assert.equal(t.size, 0);
  });

  it('reports a better read of a known plate as an update of the first event', () => {
    const d = make();
    d.observe('cam1', 'e1', '89C20339', 0.75, 0);
    assert.deepEqual(d.observe('cam1', 'e2', '89C20389', 0.9, S), { kind: 'improves', previousEventId: 'e1' });
    // Later matches compare with the improved read and still point at the first event.
    assert.deepEqual(d.observe('cam1', 'e3', '89C20389', 0.85, 2 * S), { kind: 'duplicate', previousEventId: 'e1' });
    assert.deepEqual(d.observe('cam1', 'e4', '89C20389', 0.95, 3 * S), { kind: 'improves', previousEventId: 'e1' });
  });
});
