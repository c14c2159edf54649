/** Reconnect backoff: doubling from 0.5 s, capped at 30 s, reset after a healthy connection. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff } from '../../src-pipeline/ingest/backoff.js';

describe('Backoff', () => {
  it('doubles from the initial delay up to the cap and stays there', () => {
    const b = new Backoff();
    const delays = Array.from({ length: 12 }, (_, i) => b.failed(i));
    assert.deepEqual(delays, [500, 1000, 2000, 4000, 8000, 16000, 30000, 30000, 30000, 30000, 30000, 30000]);
  });

  it('never overflows however many failures there are', () => {
    const b = new Backoff({ initialMs: 100, maxMs: 1000 });
    let last = 0;
    for (let i = 0; i < 5000; i++) last = b.failed(i);
    assert.equal(last, 1000);
  });

  it('resets after a connection that stayed healthy long enough', () => {
    const b = new Backoff({ initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 });
    b.failed(0);
    b.failed(1);
    assert.equal(b.failed(2), 2000);
    b.connected(10_000);
    assert.equal(b.failed(80_000), 500, 'up for 70 s: start over');
  });

  it('keeps growing when connections are short-lived (flapping)', () => {
    const b = new Backoff({ initialMs: 500, maxMs: 30_000, resetAfterMs: 60_000 });
    assert.equal(b.failed(0), 500);
    b.connected(1000);
    assert.equal(b.failed(3000), 1000, 'up only 2 s: keep backing off');
    b.connected(5000);
    assert.equal(b.failed(6000), 2000);
  });

  it('reset() starts the sequence over', () => {
    const b = new Backoff();
    b.failed(0);
    b.failed(0);
    b.reset();
    assert.equal(b.attempts, 0);
    assert.equal(b.failed(0), 500);
  });

  it('rejects nonsensical options', () => {
    assert.throws(() => new Backoff({ initialMs: 0 }), RangeError);
    assert.throws(() => new Backoff({ initialMs: 1000, maxMs: 10 }), RangeError);
  });
});
