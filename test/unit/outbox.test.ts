/** The edge outbox on a real SQLite file: order, durability across reopen, marking, pruning, the disk bound. */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { Outbox } from '../../src-pipeline/bus/outbox.js';
import { assertAlprError } from '../support/assertions.js';
import { makeEvent } from '../api/support.js';

const tmp = mkdtempSync(join(tmpdir(), 'ovr-outbox-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

describe('Outbox', () => {
  it('hands rows out oldest first and keeps unsent ones across a reopen', () => {
    const path = join(tmp, 'a', 'outbox.sqlite');
    const box = new Outbox(path);
    const events = Array.from({ length: 10 }, (_, i) => makeEvent({ plate: `ORD${i}`, camera_id: `cam-${i % 3}` }));
    for (const e of events) box.enqueue(e);
    const first = box.pending(4);
    assert.deepEqual(
      first.map((r) => r.event.plate.normalized_text),
      ['ORD0', 'ORD1', 'ORD2', 'ORD3'],
    );
    assert.deepEqual(first[0].event, events[0], 'the event comes back whole');
    box.markSent(first.map((r) => r.seq));
    box.markFailed([box.pending(1)[0].seq], 'broker down');
    box.close();

    const again = new Outbox(path);
    const rest = again.pending(100);
    assert.deepEqual(
      rest.map((r) => r.event.plate.normalized_text),
      ['ORD4', 'ORD5', 'ORD6', 'ORD7', 'ORD8', 'ORD9'],
    );
    assert.equal(rest[0].attempts, 1);
    const s = again.stats();
    assert.equal(s.pending, 6);
    assert.equal(s.sent, 4);
    again.close();
  });

  it('prunes acknowledged rows after the grace period only', () => {
    let now = 1_000_000;
    const box = new Outbox(join(tmp, 'prune.sqlite'), { keepSentMs: 60_000, now: () => now });
    box.enqueue(makeEvent());
    box.enqueue(makeEvent());
    box.markSent([box.pending(1)[0].seq]);
    assert.equal(box.prune(), 0);
    now += 61_000;
    assert.equal(box.prune(), 1);
    assert.equal(box.stats().pending, 1, 'unsent rows are never pruned');
    box.close();
  });

  it('enqueueMany commits a batch in order, all or nothing', () => {
    const box = new Outbox(join(tmp, 'many.sqlite'), { maxBytes: 256 * 1024 });
    const events = Array.from({ length: 50 }, (_, i) => makeEvent({ plate: `MNY${i}`, camera_id: `cam-${i % 4}` }));
    const seqs = box.enqueueMany(events);
    assert.equal(seqs.length, 50);
    assert.deepEqual(
      seqs,
      [...seqs].sort((a, b) => a - b),
    );
    assert.deepEqual(
      box.pending(100).map((r) => r.eventId),
      events.map((e) => e.event_id),
    );
    assert.deepEqual(box.enqueueMany([]), []);
    // Fill to the bound: a batch that does not fit is refused whole.
    assertAlprError(() => {
      for (let i = 0; i < 1000; i++) box.enqueueMany(Array.from({ length: 20 }, (_, k) => makeEvent({ plate: `BIG${i}X${k}` })));
    }, 'OUTBOX_FULL');
    assert.equal(box.stats().pending % 10, 0, 'only whole batches (20 + the first 50) were taken');
    box.close();
  });

  it('refuses with OUTBOX_FULL at its disk bound instead of dropping anything', () => {
    const box = new Outbox(join(tmp, 'full.sqlite'), { maxBytes: 64 * 1024 });
    let stored = 0;
    assertAlprError(() => {
      for (let i = 0; i < 10_000; i++) {
        box.enqueue(makeEvent({ plate: `FULL${i}` }));
        stored++;
      }
    }, 'OUTBOX_FULL');
    assert.ok(stored > 10, `${stored} stored before the bound`);
    assert.equal(box.stats().full, true);
    assert.equal(box.stats().pending, stored, 'everything accepted is still there');
    box.close();
  });
});
