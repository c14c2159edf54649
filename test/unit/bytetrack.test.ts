import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import type { Box } from '../../src-pipeline/common/geometry.js';
import { TrackingConfig } from '../../src-pipeline/common/tracking-config.js';
import { linearAssignment, solveSquare } from '../../src-pipeline/track/assignment.js';
import { ByteTracker, type Detection, type TrackOutput } from '../../src-pipeline/track/bytetrack.js';

/** Deterministic PRNG so failures reproduce. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

function gauss(random: () => number): number {
  return Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function rect(cx: number, cy: number, w: number, h: number): Box {
  return { x1: cx - w / 2, y1: cy - h / 2, x2: cx + w / 2, y2: cy + h / 2 };
}

function det(box: Box, score = 0.9, classId = 2): Detection {
  return { box, score, classId };
}

/** The output track whose box is closest to `box` (by centre distance). */
function nearest(tracks: readonly TrackOutput[], box: Box): TrackOutput | undefined {
  const c = (b: Box) => [(b.x1 + b.x2) / 2, (b.y1 + b.y2) / 2];
  const [x, y] = c(box);
  let best: TrackOutput | undefined;
  let bestD = Infinity;
  for (const t of tracks) {
    const [tx, ty] = c(t.box);
    const d = Math.hypot(tx - x, ty - y);
    if (d < bestD) {
      bestD = d;
      best = t;
    }
  }
  return best;
}

/** Minimum of Σ (c - thresh) over all partial matchings using only pairs with c ≤ thresh. */
function bruteForce(cost: number[][], thresh: number): number {
  const n = cost.length;
  const m = n === 0 ? 0 : cost[0].length;
  const usedCols = new Array<boolean>(m).fill(false);
  const go = (i: number): number => {
    if (i === n) return 0;
    let best = go(i + 1); // row i unmatched
    for (let j = 0; j < m; j++) {
      if (usedCols[j] || cost[i][j] > thresh) continue;
      usedCols[j] = true;
      best = Math.min(best, cost[i][j] - thresh + go(i + 1));
      usedCols[j] = false;
    }
    return best;
  };
  return go(0);
}

describe('track: linear assignment', () => {
  it('matches brute force on random rectangular matrices with a threshold', () => {
    const random = rng(42);
    for (let trial = 0; trial < 300; trial++) {
      const n = Math.floor(random() * 6);
      const m = Math.floor(random() * 6);
      const cost = Array.from({ length: n }, () => Array.from({ length: m }, () => Math.round(random() * 100) / 100));
      const thresh = 0.2 + random() * 0.8;
      const result = linearAssignment(cost, thresh, m);
      const value = result.matches.reduce((s, [i, j]) => s + cost[i][j] - thresh, 0);
      assert.ok(Math.abs(value - bruteForce(cost, thresh)) < 1e-9, `trial ${trial}: ${JSON.stringify({ cost, thresh })}`);
      // Every row and column appears exactly once across matches and unmatched lists.
      const rows = [...result.matches.map(([i]) => i), ...result.unmatchedRows].sort((a, b) => a - b);
      const cols = [...result.matches.map(([, j]) => j), ...result.unmatchedCols].sort((a, b) => a - b);
      assert.deepEqual(rows, [...Array(n).keys()]);
      assert.deepEqual(cols, [...Array(m).keys()]);
      for (const [i, j] of result.matches) assert.ok(cost[i][j] <= thresh);
    }
  });

  it('solves a square problem optimally', () => {
    const cost = [
      [4, 1, 3],
      [2, 0, 5],
      [3, 2, 2],
    ];
    const rowToCol = solveSquare(cost);
    assert.equal(
      rowToCol.reduce((s, j, i) => s + cost[i][j], 0),
      5,
    );
  });

  it('leaves everything unmatched for empty inputs or when all costs exceed the threshold', () => {
    assert.deepEqual(linearAssignment([], 0.5), { matches: [], unmatchedRows: [], unmatchedCols: [] });
    assert.deepEqual(linearAssignment([[], []], 0.5), { matches: [], unmatchedRows: [0, 1], unmatchedCols: [] });
    assert.deepEqual(linearAssignment([], 0.5, 3).unmatchedCols, [0, 1, 2]);
    const r = linearAssignment([[0.9, Infinity]], 0.5);
    assert.deepEqual(r.matches, []);
    assert.deepEqual(r.unmatchedCols, [0, 1]);
  });
});

describe('track: config', () => {
  it('fills the ByteTrack defaults and rejects unknown keys', () => {
    const cfg = TrackingConfig.parse({});
    assert.equal(cfg.track_thresh, 0.5);
    assert.equal(cfg.track_buffer, 30);
    assert.equal(cfg.match_thresh, 0.8);
    assert.equal(cfg.min_box_area, 100);
    assert.equal(cfg.frame_rate, 30);
    assert.throws(() => TrackingConfig.parse({ track_tresh: 0.4 }));
    assert.throws(() => TrackingConfig.parse({ track_thresh: 2 }));
  });

  it('config/tracking.yaml holds exactly the defaults', () => {
    const raw: unknown = parse(readFileSync(new URL('../../config/tracking.yaml', import.meta.url), 'utf8'));
    assert.deepEqual(TrackingConfig.parse(raw), TrackingConfig.parse({}));
  });
});

describe('track: ByteTracker', () => {
  it('keeps the ids of two objects that cross', () => {
    const tracker = new ByteTracker();
    const idsA = new Set<number>();
    const idsB = new Set<number>();
    for (let f = 0; f < 60; f++) {
      const a = rect(100 + 8 * f, 200, 80, 60);
      const b = rect(600 - 8 * f, 220, 80, 60);
      const out = tracker.update([det(a, 0.9), det(b, 0.85)], f);
      if (f < 2) continue; // tracks are confirmed on their second hit
      assert.equal(out.length, 2, `frame ${f}`);
      idsA.add(nearest(out, a)?.id ?? -1);
      idsB.add(nearest(out, b)?.id ?? -1);
    }
    assert.equal(idsA.size, 1, `A had ids ${[...idsA]}`);
    assert.equal(idsB.size, 1, `B had ids ${[...idsB]}`);
    assert.notDeepEqual([...idsA], [...idsB]);
  });

  it('keeps the id of an object occluded for 10 frames', () => {
    const tracker = new ByteTracker();
    const at = (f: number) => rect(200 + 5 * f, 300 + 1 * f, 90, 60);
    let before = -1;
    for (let f = 0; f < 20; f++) before = tracker.update([det(at(f))], f)[0]?.id ?? -1;
    for (let f = 20; f < 30; f++) assert.equal(tracker.update([], f).length, 0, 'a lost track is not reported');
    assert.equal(tracker.lostTracks().length, 1);
    const after = tracker.update([det(at(30))], 30);
    assert.equal(after.length, 1);
    assert.equal(after[0].id, before);
    assert.equal(after[0].state, 'tracked');
  });

  it('low-score detections keep a track alive where a high-threshold-only tracker loses it', () => {
    const scoreAt = (f: number) => (f >= 10 && f < 30 ? 0.3 : 0.9);
    const at = (f: number) => rect(100 + 4 * f, 400, 100, 70);
    const run = (tracker: ByteTracker) => {
      const ids = new Set<number>();
      let reportedWhileWeak = 0;
      for (let f = 0; f < 45; f++) {
        const out = tracker.update([det(at(f), scoreAt(f))], f);
        for (const t of out) ids.add(t.id);
        if (scoreAt(f) < 0.5 && out.length > 0) reportedWhileWeak++;
      }
      return { ids, reportedWhileWeak };
    };
    const byte = run(new ByteTracker({ track_buffer: 10 }));
    assert.equal(byte.ids.size, 1);
    assert.equal(byte.reportedWhileWeak, 20);
    // Same tracker with the weak band switched off: the track coasts, expires, comes back new.
    const plain = run(new ByteTracker({ track_buffer: 10, low_thresh: 0.5 }));
    assert.equal(plain.reportedWhileWeak, 0);
    assert.equal(plain.ids.size, 2);
  });

  it('never confirms a spurious single-frame detection', () => {
    const tracker = new ByteTracker();
    const real = (f: number) => rect(100 + 3 * f, 100, 80, 60);
    const seen = new Set<number>();
    for (let f = 0; f < 20; f++) {
      const dets = [det(real(f))];
      if (f === 7) dets.push(det(rect(900, 600, 80, 60), 0.95));
      for (const t of tracker.update(dets, f)) seen.add(t.id);
    }
    assert.deepEqual([...seen], [1]);
  });

  it('does not start tracks from detections below track_thresh + 0.1', () => {
    const tracker = new ByteTracker();
    for (let f = 0; f < 10; f++) assert.equal(tracker.update([det(rect(300, 300, 80, 60), 0.55)], f).length, 0);
  });

  it('removes lost tracks after the buffer, scaled by frame rate', () => {
    for (const [frameRate, buffer] of [
      [30, 30],
      [15, 15],
    ] as const) {
      const tracker = new ByteTracker({ frame_rate: frameRate });
      const at = (f: number) => rect(300 + 2 * f, 300, 80, 60);
      let id = -1;
      for (let f = 0; f < 5; f++) id = tracker.update([det(at(f))], f)[0]?.id ?? -1;
      const last = 4;
      for (let f = last + 1; f <= last + buffer; f++) {
        tracker.update([], f);
        assert.equal(tracker.lostTracks().length, 1, `fps ${frameRate}: kept at ${f}`);
      }
      tracker.update([], last + buffer + 1);
      assert.equal(tracker.lostTracks().length, 0, `fps ${frameRate}: removed after the buffer`);
      assert.deepEqual(tracker.lastRemovedIds(), [id]);
      // Coming back after removal means a new id.
      tracker.update([det(at(last + buffer + 2))], last + buffer + 2);
      const out = tracker.update([det(at(last + buffer + 3))], last + buffer + 3);
      assert.equal(out.length, 1);
      assert.notEqual(out[0].id, id);
    }
  });

  it('does not report tracks smaller than min_box_area', () => {
    const tracker = new ByteTracker({ min_box_area: 100 });
    for (let f = 0; f < 5; f++) {
      const out = tracker.update([det(rect(100, 100, 8, 8)), det(rect(300, 300, 20, 20))], f);
      assert.equal(out.length, 1);
      assert.ok(out[0].box.x2 - out[0].box.x1 > 15);
    }
  });

  it('predicts across skipped frames and reports velocity, age and hits', () => {
    const tracker = new ByteTracker();
    const at = (f: number) => rect(100 + 6 * f, 200, 80, 60);
    let out: TrackOutput[] = [];
    for (let f = 0; f < 30; f += 3) out = tracker.update([det(at(f))], f);
    assert.equal(out.length, 1);
    assert.equal(out[0].id, 1);
    assert.equal(out[0].hits, 10);
    assert.equal(out[0].age, 28);
    assert.ok(Math.abs(out[0].velocity.vx - 6) < 1, `vx ${out[0].velocity.vx}`);
  });

  it('gives a vehicle that stopped while hidden its lost id back (fragment merging)', () => {
    // Moving at 8 px/frame, hidden for 15 frames, re-appearing where it was last seen (it
    // stopped behind the obstacle). The filter's prediction has run ~120 px ahead, so the
    // first association finds no overlap; merging on the last observed box restores the id.
    const at = (f: number) => rect(200 + 8 * Math.min(f, 9), 300, 100, 80);
    const scene = (classAfter: number, mergeIou = 0.5) => {
      const tracker = new ByteTracker({ merge_iou: mergeIou });
      let id = -1;
      for (let f = 0; f < 10; f++) id = tracker.update([det(at(f))], f)[0]?.id ?? -1;
      for (let f = 10; f < 25; f++) tracker.update([], f);
      return { id, out: tracker.update([det(at(25), 0.8, classAfter)], 25) };
    };
    const same = scene(2);
    assert.equal(same.out.length, 1);
    assert.equal(same.out[0].id, same.id);
    assert.equal(same.out[0].hits, 11);
    // A detection of a class the lost track never had is another object: a new, unconfirmed track.
    assert.equal(scene(7).out.length, 0);
    // Without merging the first association alone does not re-find it.
    assert.equal(scene(2, 0).out.length, 0);
  });

  it('keeps the id count plausible on a noisy scene of 20 moving vehicles with 10% misses', () => {
    const random = rng(2024);
    const objects = Array.from({ length: 20 }, (_, k) => {
      const lane = k % 10;
      const dir = k < 10 ? 1 : -1;
      return {
        x0: dir > 0 ? 100 + random() * 300 : 1800 - random() * 300,
        y: 60 + lane * 100 + (dir > 0 ? 0 : 25),
        vx: dir * (3 + random() * 4),
        vy: (random() - 0.5) * 0.6,
        w: 70 + random() * 40,
        h: 50 + random() * 20,
      };
    });
    const tracker = new ByteTracker();
    const ids = new Set<number>();
    for (let f = 0; f < 150; f++) {
      const dets: Detection[] = [];
      for (const o of objects) {
        if (random() < 0.1) continue;
        const cx = o.x0 + o.vx * f + gauss(random) * 2;
        const cy = o.y + o.vy * f + gauss(random) * 2;
        dets.push(det(rect(cx, cy, o.w + gauss(random) * 2, o.h + gauss(random) * 2), 0.55 + random() * 0.4));
      }
      for (const t of tracker.update(dets, f)) ids.add(t.id);
    }
    assert.ok(ids.size >= 20, `ids ${ids.size}`);
    assert.ok(ids.size <= 26, `ids ${ids.size} > 1.3 × 20`);
  });
});
