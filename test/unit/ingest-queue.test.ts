/** FrameQueue: drop-oldest when full, drop counting, waiting consumers, bounded memory. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FrameQueue } from '../../src-pipeline/ingest/frame-queue.js';
import { RateMeter } from '../../src-pipeline/ingest/stats.js';

describe('FrameQueue', () => {
  it('rejects a capacity that is not a positive integer', () => {
    assert.throws(() => new FrameQueue(0), RangeError);
    assert.throws(() => new FrameQueue(1.5), RangeError);
  });

  it('drops the oldest item when full and counts each drop', () => {
    const q = new FrameQueue<number>(3);
    for (let i = 0; i < 3; i++) assert.equal(q.push(i), undefined);
    assert.equal(q.push(3), 0);
    assert.equal(q.push(4), 1);
    assert.equal(q.drops, 2);
    assert.equal(q.size, 3);
    assert.deepEqual([q.tryShift(), q.tryShift(), q.tryShift(), q.tryShift()], [2, 3, 4, undefined]);
    assert.equal(q.drops, 2, 'shifting does not count as a drop');
  });

  it('hands a pushed item straight to a waiting consumer', async () => {
    const q = new FrameQueue<string>(2);
    const a = q.shift();
    const b = q.shift();
    q.push('x');
    q.push('y');
    assert.deepEqual(await Promise.all([a, b]), ['x', 'y']);
    assert.equal(q.size, 0);
    assert.equal(q.drops, 0);
  });

  it('close() releases waiting consumers with undefined, but queued items can still be drained', async () => {
    const q = new FrameQueue<number>(2);
    const waiting = q.shift();
    q.close();
    assert.equal(await waiting, undefined);
    const q2 = new FrameQueue<number>(2);
    q2.push(7);
    q2.close();
    assert.equal(q2.push(8), 8, 'a push after close is discarded');
    assert.equal(await q2.shift(), 7);
    assert.equal(await q2.shift(), undefined);
  });

  it('never holds more than its capacity however much is pushed', () => {
    const q = new FrameQueue<Uint8Array>(4);
    for (let i = 0; i < 10_000; i++) {
      q.push(new Uint8Array(16));
      assert.ok(q.size <= 4);
    }
    assert.equal(q.size, 4);
    assert.equal(q.drops, 10_000 - 4);
    q.clear();
    assert.equal(q.size, 0);
    assert.equal(q.tryShift(), undefined);
  });

  it('keeps FIFO order across wrap-around of the ring', () => {
    const q = new FrameQueue<number>(3);
    const out: number[] = [];
    for (let i = 0; i < 20; i++) {
      q.push(i);
      if (i % 2) out.push(q.tryShift() ?? -1);
    }
    while (q.size) out.push(q.tryShift() ?? -1);
    for (let i = 1; i < out.length; i++) assert.ok(out[i] > out[i - 1], `order broke at ${i}: ${out.join(',')}`);
  });
});

describe('RateMeter', () => {
  it('measures the rate over the sliding window and decays to 0 when events stop', () => {
    const m = new RateMeter(2000, 64);
    for (let t = 0; t <= 1000; t += 40) m.mark(t);
    assert.ok(Math.abs(m.rate(1000) - 25) < 0.5, `rate ${m.rate(1000)}`);
    assert.equal(m.rate(5000), 0);
  });

  it('is bounded by its ring size', () => {
    const m = new RateMeter(10_000, 8);
    for (let t = 0; t < 100; t++) m.mark(t);
    assert.ok(Number.isFinite(m.rate(100)));
  });
});
