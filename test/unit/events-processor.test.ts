/**
 * EventProcessor (src-pipeline/events/processor.ts) with validation, enrichment and the
 * events config: reasons are counted, duplicates collapse, and what comes out is a valid
 * PlateEvent.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { EventsConfig } from '../../src-pipeline/common/events-config.js';
import { PlateEvent } from '../../src-pipeline/common/plate-event.js';
import { EventProcessor, type TrackSummary } from '../../src-pipeline/events/processor.js';
import { buildPlateEvent } from '../../src-pipeline/events/enrich.js';
import { PlateVote } from '../../src-pipeline/events/plate-vote.js';
import { validatePlate } from '../../src-pipeline/events/validate.js';
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';

const T0 = Date.parse('2024-05-01T12:00:00.000Z');

function ids(): () => string {
  let n = 0;
  return () => `00000000-0000-4000-8000-${String(++n).padStart(12, '0')}`;
}

function track(text: string, confidence: number, atMs: number, over: Partial<TrackSummary> = {}): TrackSummary {
  const vote = new PlateVote();
  for (let i = 0; i < 3; i++) vote.add({ text, confidence, frameIndex: i });
  return { cameraId: 'gate', trackId: 7, consensus: vote.consensus(), bestShot: { capturedAtMs: atMs, frameNumber: 42, score: 0.8 }, ...over };
}

describe('events config', () => {
  it('has the documented defaults, matching config/events.yaml', () => {
    const d = EventsConfig.parse({});
    assert.equal(d.min_confidence, 0.7);
    assert.equal(d.min_length, 3);
    assert.equal(d.max_length, 10);
    assert.equal(d.dedup_similarity, 0.85);
    assert.equal(d.dedup_window_s, 300);
    assert.equal(d.plate_format, 'us');
    const file = new URL('../../config/events.yaml', import.meta.url);
    assert.deepEqual(EventsConfig.parse(parse(readFileSync(file, 'utf8'))), d);
  });

  it('is strict and checks the length bounds', () => {
    assert.equal(EventsConfig.safeParse({ min_confidense: 0.5 }).success, false);
    assert.equal(EventsConfig.safeParse({ min_length: 8, max_length: 4 }).success, false);
    assert.equal(EventsConfig.safeParse({ dedup_similarity: 1.5 }).success, false);
  });
});

describe('validatePlate', () => {
  const cfg = EventsConfig.parse({});
  it('normalises and names each rejection', () => {
    assert.deepEqual(validatePlate('jln-390', 0.9, cfg), { ok: true, normalized: 'JLN390', region: 'us' });
    assert.equal(validatePlate(' - ', 0.9, cfg).ok, false);
    const reason = (t: string, c: number, over = {}) => {
      const r = validatePlate(t, c, { ...cfg, ...over });
      return r.ok ? 'ok' : r.reason;
    };
    assert.equal(reason('', 0.9), 'empty');
    assert.equal(reason('A1', 0.9), 'too_short');
    assert.equal(reason('ABCDE123456', 0.9), 'too_long');
    assert.equal(reason('14B02819T', 0.9), 'bad_format', '9 characters is no US plate');
    assert.equal(reason('14B02819T', 0.9, { plate_format: 'eu' }), 'ok');
    assert.equal(reason('TEXAS', 0.9), 'not_a_plate_word');
    assert.equal(reason('ABCDEF', 0.9, { require_digit: true }), 'no_digit');
    assert.equal(reason('JLN390', 0.69), 'low_confidence');
    assert.equal(reason('JLN390', 0.7), 'ok');
  });
});

describe('buildPlateEvent', () => {
  it('produces an event that validates against PlateEvent', () => {
    const e = buildPlateEvent(
      {
        cameraId: 'gate',
        trackId: 3,
        text: 'LS15 EBC',
        normalized: 'LS15EBC',
        confidence: 0.91,
        region: 'eu',
        capturedAtMs: T0,
        emittedAtMs: T0 + 1234,
        qualityScore: 0.7,
        frameNumber: 99,
        direction: 'incoming',
        vehicleType: 'car',
        images: { plate_url: '/images/p.jpg' },
        site: 'depot',
        host: 'edge-1',
      },
      { newId: ids() },
    );
    assert.equal(e.event_id, '00000000-0000-4000-8000-000000000001');
    assert.equal(e.captured_at, '2024-05-01T12:00:00.000Z');
    assert.equal(e.track_id, '3');
    assert.equal(e.latency_ms, 1234);
    assert.deepEqual(e.extras, { roi: null, direction: 'incoming', quality_score: 0.7, frame_number: 99, char_confidences: null });
    assert.deepEqual(e.images, { plate_url: '/images/p.jpg', vehicle_url: null, frame_url: null });
    assert.deepEqual(e.node, { site: 'depot', host: 'edge-1' });
    assert.deepEqual(PlateEvent.parse(JSON.parse(JSON.stringify(e))), e);
  });

  it('refuses to build an invalid event', () => {
    assert.throws(
      () =>
        buildPlateEvent(
          {
            cameraId: '',
            trackId: null,
            text: 'A',
            normalized: 'a-1',
            confidence: 1,
            region: null,
            capturedAtMs: T0,
            emittedAtMs: T0,
            qualityScore: null,
            frameNumber: null,
          },
          { newId: () => 'not-a-uuid' },
        ),
      /invalid/,
    );
  });
});

describe('EventProcessor', () => {
  const make = (over = {}) => {
    let now = T0;
    const p = new EventProcessor(EventsConfig.parse(over), { newId: ids(), now: () => (now += 500), site: 'depot', host: 'edge-1' });
    return p;
  };

  it('emits a valid event with the best shot capture time and latency', () => {
    const p = make();
    const e = p.finalize(track('34A36837', 0.9, T0 - 2000, { direction: 'outgoing', vehicleType: 'car' }));
    assert.ok(e);
    assert.equal(PlateEvent.safeParse(e).success, true);
    assert.equal(e.plate.normalized_text, '34A36837');
    assert.equal(e.captured_at, new Date(T0 - 2000).toISOString());
    assert.equal(e.latency_ms, 2500);
    assert.equal(e.extras.frame_number, 42);
    assert.equal(e.extras.quality_score, 0.8);
    assert.equal(e.vehicle.type, 'car');
    assert.equal(e.node.site, 'depot');
    assert.deepEqual(p.stats(), { finalized: 1, emitted: 1, updated: 0, duplicates: 0, rejected: {} });
  });

  it('collapses duplicates, reports improvements as updates and counts rejections by reason', () => {
    const p = make();
    const first = p.finalize(track('89C20339', 0.8, T0));
    assert.ok(first);
    assert.equal(p.finalize(track('89C20339', 0.75, T0 + 5000)), null, 'a weaker duplicate');
    const better = p.finalizeDetailed(track('89C2O339', 0.95, T0 + 6000));
    assert.equal(better.kind, 'updated');
    if (better.kind === 'updated') {
      assert.equal(better.event.event_id, first.event_id);
      assert.equal(better.event.plate.confidence, 0.95);
      assert.equal(PlateEvent.safeParse(better.event).success, true);
    }
    assert.equal(p.finalize(track('89C20339', 0.95, T0 + 301_000 + 6000)) !== null, true, 'after the window it is new');

    assert.equal(p.finalize(track('JLN390', 0.5, T0)), null);
    assert.equal(p.finalize(track('14B02819T', 0.95, T0)), null);
    assert.equal(p.finalize(track('JMH552', 0.95, T0, { onVehicleOrRoi: false })), null);
    assert.equal(p.finalize({ cameraId: 'gate', trackId: 1, consensus: new PlateVote().consensus(), bestShot: null }), null);
    assert.deepEqual(p.stats(), {
      finalized: 8,
      emitted: 2,
      updated: 1,
      duplicates: 1,
      rejected: { low_confidence: 1, bad_format: 1, outside_vehicle_or_roi: 1, no_reads: 1 },
    });
  });

  it('applies configured thresholds', () => {
    const p = make({ min_confidence: 0.5, dedup_window_s: 1 });
    assert.ok(p.finalize(track('JLN390', 0.6, T0)));
    assert.ok(p.finalize(track('JLN390', 0.6, T0 + 2000)), 'outside a 1 s window');
  });
});
