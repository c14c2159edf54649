/**
 * The Storage contract: one node:test suite every Storage implementation passes unchanged
 * (SQLite in test/store/sqlite.test.ts, PostgreSQL in test/store/postgres.test.ts). It is
 * written against src-pipeline/store/storage.ts only.
 *
 * Shared databases: `open()` may return a store that already holds rows from earlier runs or
 * other suites. Every test therefore makes its own data unique (fresh uuids, camera and site
 * ids carrying a per-run tag, plates carrying a per-run tag built from symbols that OCR
 * folding never touches) and only asserts on rows it can attribute to itself.
 *
 * Tests that need a store nobody else writes to (exact stats, the empty store, retention,
 * which deletes globally) use `opts.openEmpty`; without it they are skipped with a message.
 * `openEmpty()` must return a fresh, empty, private store each call (SQLite: a new temp
 * file; PostgreSQL: e.g. a new schema dropped on close).
 *
 * Conventions the suite pins down (both stores must agree, the API relies on them):
 * - Times come back as canonical UTC ISO strings (`new Date(x).toISOString() === x`).
 * - recent() orders by insertion; byPlate/byCamera/search by captured_at, newest first.
 * - byPlate and exact plate filters normalize their argument (case, spaces, dashes).
 * - Time ranges: start inclusive, end exclusive. min_confidence is inclusive.
 * - An invalid plate pattern (e.g. `*`) rejects.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { PlateEvent, type PlateEventInput, type StoredEvent } from '../../src-pipeline/common/plate-event.js';
import type { EventFilters, Storage } from '../../src-pipeline/store/storage.js';

export interface StorageContractOptions {
  /** A fresh, empty, private store per call; enables the tests that need exclusive data. */
  openEmpty?: () => Promise<Storage>;
  /** Size of the big insertMany batch (default 5,000). */
  bulkSize?: number;
}

/**
 * Symbols a per-run tag is built from: no letter that foldConfusions maps (O Q D I B S Z G),
 * no digit a letter folds onto, no L (an I/1 look-alike in some fonts). Two random 5-symbol
 * tags are almost always 3+ edits apart, so fuzzy and pattern queries of one run never match
 * another run's plates.
 */
const TAG_SYMBOLS = 'CEFHJKMNPRTUVWXY3479';

function randomTag(len = 5): string {
  let s = '';
  for (let i = 0; i < len; i++) s += TAG_SYMBOLS[Math.floor(Math.random() * TAG_SYMBOLS.length)];
  return s;
}

/** A per-test namespace: unique camera, site and plate tag. */
function scope() {
  const tag = randomTag();
  const id = randomUUID().slice(0, 8);
  return {
    tag,
    cam: (n: number | string = 0) => `cam-${id}-${n}`,
    site: (n: number | string = 0) => `site-${id}-${n}`,
  };
}

const BASE = Date.parse('2024-05-01T00:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

/** A full plate event (every field set); `over` replaces top-level parts. */
function fullEvent(over: Omit<Partial<PlateEventInput>, 'plate'> & { plate?: Partial<PlateEventInput['plate']> } = {}): PlateEvent {
  const { plate, ...rest } = over;
  return PlateEvent.parse({
    event_id: randomUUID(),
    captured_at: iso(BASE),
    camera_id: 'cam-unset',
    track_id: 'trk-17',
    plate: { text: 'AB 123 CD', normalized_text: 'AB123CD', confidence: 0.93, region: 'eu', ...plate },
    vehicle: { type: 'car', make: 'Skoda', model: 'Octavia', color: 'blue' },
    images: { plate_url: 'images/p.jpg', vehicle_url: 'images/v.jpg', frame_url: 'images/f.jpg' },
    latency_ms: 42.5,
    node: { site: 'site-unset', host: 'edge-1' },
    extras: { roi: 'lane-1', direction: 'in', quality_score: 0.81, frame_number: 1234, char_confidences: [0.99, 0.98, 0.5, 0.97, 0.96, 0.95, 0.9] },
    ...rest,
  });
}

/** A plate event with only the required fields; every nullable field stays null. */
function minimalEvent(cameraId: string, plateText: string, capturedMs: number, confidence = 0.9): PlateEvent {
  return PlateEvent.parse({
    event_id: randomUUID(),
    captured_at: iso(capturedMs),
    camera_id: cameraId,
    plate: { text: plateText, normalized_text: plateText, confidence },
  });
}

const ids = (rows: readonly { event_id: string }[]) => rows.map((r) => r.event_id);

function assertCanonicalIso(value: string | null, what: string): void {
  assert.ok(value !== null, `${what} is null`);
  assert.equal(new Date(value).toISOString(), value, `${what} is not a canonical UTC ISO string: ${value}`);
}

/** Stored event equals the input event (times compared as instants, floats approximately). */
function assertSameEvent(got: StoredEvent | null, want: PlateEvent): void {
  assert.ok(got, `event ${want.event_id} not found`);
  const { captured_at: gotAt, created_at, ...gotRest } = got;
  const { captured_at: wantAt, ...wantRest } = want;
  assertCanonicalIso(gotAt, 'captured_at');
  assertCanonicalIso(created_at, 'created_at');
  assert.equal(Date.parse(gotAt), Date.parse(wantAt), 'captured_at instant');
  const approx = (a: number | null, b: number | null, what: string) => {
    if (a === null || b === null) return assert.equal(a, b, what);
    assert.ok(Math.abs(a - b) < 1e-6, `${what}: ${a} != ${b}`);
  };
  approx(gotRest.plate.confidence, wantRest.plate.confidence, 'plate.confidence');
  approx(gotRest.latency_ms, wantRest.latency_ms, 'latency_ms');
  approx(gotRest.extras.quality_score, wantRest.extras.quality_score, 'extras.quality_score');
  const strip = (e: typeof gotRest) => ({
    ...e,
    plate: { ...e.plate, confidence: 0 },
    latency_ms: 0,
    extras: { ...e.extras, quality_score: 0 },
  });
  assert.deepEqual(strip(gotRest), strip(wantRest));
}

export function runStorageContract(name: string, open: () => Promise<Storage>, opts: StorageContractOptions = {}): void {
  const bulkSize = opts.bulkSize ?? 5000;
  const needsEmpty = opts.openEmpty ? false : 'needs opts.openEmpty (a private, empty store)';
  /** A fresh private store for the describe block that calls it: opened before, closed after. */
  const useEmptyStore = (): (() => Storage) => {
    let store: Storage | undefined;
    before(async () => {
      store = await opts.openEmpty!();
      await store.migrate();
    });
    after(async () => {
      await store?.close();
    });
    return () => store!;
  };

  describe(`Storage contract: ${name}`, () => {
    let store: Storage;
    before(async () => {
      store = await open();
      await store.migrate();
    });
    after(async () => {
      await store?.close();
    });

    it('migrate is idempotent and returns the schema version', async () => {
      const v1 = await store.migrate();
      const v2 = await store.migrate();
      assert.ok(Number.isInteger(v1) && v1 >= 1, `version ${v1}`);
      assert.equal(v2, v1);
    });

    it('ping answers true', async () => {
      assert.equal(await store.ping(), true);
    });

    it('insert + get round-trips every field of a full event', async () => {
      const s = scope();
      const e = fullEvent({ camera_id: s.cam(), node: { site: s.site(), host: 'edge-7' }, captured_at: '2024-05-01T12:34:56.789+02:00' });
      const before = Date.now();
      assert.equal(await store.insert(e), true);
      const got = await store.get(e.event_id);
      assertSameEvent(got, e);
      assert.equal(got!.captured_at, '2024-05-01T10:34:56.789Z', 'offset times are stored as UTC');
      const created = Date.parse(got!.created_at);
      assert.ok(created >= before - 5000 && created <= Date.now() + 5000, `created_at ${got!.created_at} is not about now`);
    });

    it('insert + get preserves nulls of a minimal event', async () => {
      const s = scope();
      const e = minimalEvent(s.cam(), `${s.tag}1`, BASE);
      assert.equal(await store.insert(e), true);
      const got = await store.get(e.event_id);
      assertSameEvent(got, e);
      assert.equal(got!.track_id, null);
      assert.equal(got!.plate.region, null);
      assert.deepEqual(got!.vehicle, { type: null, make: null, model: null, color: null });
      assert.deepEqual(got!.images, { plate_url: null, vehicle_url: null, frame_url: null });
      assert.deepEqual(got!.node, { site: null, host: null });
      assert.deepEqual(got!.extras, { roi: null, direction: null, quality_score: null, frame_number: null, char_confidences: null });
      assert.equal(got!.latency_ms, null);
    });

    it('get of an unknown id is null', async () => {
      assert.equal(await store.get(randomUUID()), null);
    });

    it('insert is idempotent on event_id; insertMany counts only new events', async () => {
      const s = scope();
      const a = minimalEvent(s.cam(), `${s.tag}A`, BASE);
      const b = minimalEvent(s.cam(), `${s.tag}B`, BASE + 1000);
      const c = minimalEvent(s.cam(), `${s.tag}C`, BASE + 2000);
      assert.equal(await store.insert(a), true);
      assert.equal(await store.insert(a), false);
      // A changed copy with the same id does not overwrite the stored row.
      assert.equal(await store.insert({ ...a, camera_id: s.cam(9) }), false);
      assert.equal((await store.get(a.event_id))!.camera_id, s.cam());
      assert.equal(await store.insertMany([a, b, c]), 2);
      assert.equal(await store.insertMany([a, b, c]), 0);
      const d = minimalEvent(s.cam(), `${s.tag}D`, BASE + 3000);
      assert.equal(await store.insertMany([d, d]), 1, 'duplicates inside one batch count once');
      assert.equal(await store.insertMany([]), 0);
      const rows = await store.byCamera(s.cam(), {}, { limit: 10, offset: 0 });
      assert.deepEqual(ids(rows), ids([d, c, b, a]));
    });

    describe('upsert', () => {
      it('inserts an unknown event_id and answers "inserted"', async () => {
        const s = scope();
        const e = fullEvent({ camera_id: s.cam(), node: { site: s.site(), host: 'edge-7' }, plate: { text: `${s.tag} 1`, normalized_text: `${s.tag}1` } });
        assert.equal(await store.upsert(e), 'inserted');
        assertSameEvent(await store.get(e.event_id), e);
        assert.equal(await store.insert(e), false, 'insert after upsert is still idempotent');
      });

      it('replaces every field of a known event (same capture time), keeping created_at and insertion order', async () => {
        const s = scope();
        const first = fullEvent({
          camera_id: s.cam(),
          captured_at: iso(BASE + 5000),
          plate: { text: `${s.tag} 1`, normalized_text: `${s.tag}1`, confidence: 0.6 },
        });
        const other = minimalEvent(s.cam(), `${s.tag}2`, BASE + 6000);
        assert.equal(await store.insert(first), true);
        assert.equal(await store.insert(other), true);
        const before = await store.get(first.event_id);
        await new Promise((r) => setTimeout(r, 20));
        const better = PlateEvent.parse({
          event_id: first.event_id,
          captured_at: first.captured_at,
          camera_id: s.cam(1),
          track_id: 'trk-99',
          plate: { text: `${s.tag}-7`, normalized_text: `${s.tag}7`, confidence: 0.97, region: 'us' },
          vehicle: { type: 'truck', make: null, model: 'X', color: 'red' },
          images: { plate_url: 'images/p2.jpg', vehicle_url: null, frame_url: 'images/f2.jpg' },
          latency_ms: 7,
          node: { site: s.site(1), host: null },
          extras: { roi: null, direction: 'out', quality_score: 0.99, frame_number: 99 },
        });
        assert.equal(await store.upsert(better), 'updated');
        const got = await store.get(first.event_id);
        assertSameEvent(got, better);
        assert.equal(got!.created_at, before!.created_at, 'created_at is the original one');
        // One row for the event, under the new plate only.
        assert.deepEqual(ids(await store.byPlate(`${s.tag}7`, { limit: 10, offset: 0 })), [first.event_id]);
        assert.deepEqual(await store.byPlate(`${s.tag}1`, { limit: 10, offset: 0 }), []);
        assert.deepEqual(ids(await store.search({ plate: `${s.tag}*`, limit: 10, offset: 0 })), ids([other, better]));
        // Insertion order is unchanged: the other event was inserted later and stays first.
        assert.deepEqual(ids(await store.recent({ limit: 2, offset: 0 })), ids([other, first]));
      });

      it('moves a known event to another capture day (another partition) and keeps derived indexes consistent', async () => {
        const s = scope();
        const day0 = BASE - 40 * DAY;
        const e = minimalEvent(s.cam(), `${s.tag}K`, day0, 0.5);
        const keep = minimalEvent(s.cam(), `${s.tag}K`, day0 + HOUR);
        assert.equal(await store.insert(e), true);
        assert.equal(await store.insert(keep), true);
        const created = (await store.get(e.event_id))!.created_at;
        const moved = PlateEvent.parse({
          ...e,
          captured_at: iso(day0 + 3 * DAY),
          plate: { ...e.plate, text: `${s.tag}M`, normalized_text: `${s.tag}M`, confidence: 0.95 },
        });
        assert.equal(await store.upsert(moved), 'updated');
        const got = await store.get(e.event_id);
        assertSameEvent(got, moved);
        assert.equal(got!.created_at, created);
        assert.deepEqual(ids(await store.byCamera(s.cam(), { start_time: iso(day0), end_time: iso(day0 + DAY) }, { limit: 10, offset: 0 })), [keep.event_id]);
        assert.deepEqual(ids(await store.byCamera(s.cam(), { start_time: iso(day0 + 3 * DAY), end_time: iso(day0 + 4 * DAY) }, { limit: 10, offset: 0 })), [
          e.event_id,
        ]);
        // The old plate keeps one event (last_seen from the remaining one); the new plate is searchable, fuzzily too.
        const oldMatch = (await store.fuzzyPlates(`${s.tag}K`, 10)).find((m) => m.plate === `${s.tag}K`);
        assert.ok(oldMatch, 'old plate still has an event');
        assert.equal(oldMatch.events, 1);
        assert.equal(oldMatch.last_seen, iso(day0 + HOUR));
        const newMatch = (await store.fuzzyPlates(`${s.tag}M`, 10)).find((m) => m.plate === `${s.tag}M`);
        assert.ok(newMatch, 'new plate is in the fuzzy index');
        assert.equal(newMatch.events, 1);
        assert.equal(newMatch.last_seen, iso(day0 + 3 * DAY));
        // Moving back in time within the same plate recomputes last_seen.
        const back = PlateEvent.parse({ ...moved, captured_at: iso(day0 - DAY) });
        assert.equal(await store.upsert(back), 'updated');
        assert.equal((await store.fuzzyPlates(`${s.tag}M`, 10)).find((m) => m.plate === `${s.tag}M`)?.last_seen, iso(day0 - DAY));
        assert.equal((await store.get(e.event_id))!.captured_at, iso(day0 - DAY));
        // The second upsert of an identical event is still an update, and changes nothing.
        assert.equal(await store.upsert(back), 'updated');
        assertSameEvent(await store.get(e.event_id), back);
      });

      it('a plate that loses its only event drops out of fuzzy search', async () => {
        const s = scope();
        const e = minimalEvent(s.cam(), `${s.tag}W`, BASE);
        await store.insert(e);
        assert.equal(await store.upsert(PlateEvent.parse({ ...e, plate: { ...e.plate, text: `${s.tag}V`, normalized_text: `${s.tag}V` } })), 'updated');
        assert.deepEqual(
          (await store.fuzzyPlates(`${s.tag}W`, 10)).map((m) => m.plate),
          [`${s.tag}V`],
        );
      });

      it('concurrent upserts of one new event_id store it once', async () => {
        const s = scope();
        const e = minimalEvent(s.cam(), `${s.tag}C`, BASE);
        const results = await Promise.all([0, 1, 2, 3].map((i) => store.upsert({ ...e, plate: { ...e.plate, confidence: 0.5 + i / 10 } })));
        assert.equal(results.filter((r) => r === 'inserted').length, 1, results.join(','));
        assert.equal((await store.byCamera(s.cam(), {}, { limit: 10, offset: 0 })).length, 1);
      });
    });

    it(`insertMany stores ${bulkSize} events in one call`, async () => {
      const s = scope();
      const events = Array.from({ length: bulkSize }, (_, i) => minimalEvent(s.cam(i % 3), `${s.tag}${i}`, BASE + i * 1000));
      assert.equal(await store.insertMany(events), bulkSize);
      let total = 0;
      for (let k = 0; k < 3; k++) total += (await store.search({ camera_id: s.cam(k), limit: bulkSize, offset: 0 })).length;
      assert.equal(total, bulkSize);
      const sample = events[Math.floor(bulkSize / 2)];
      assertSameEvent(await store.get(sample.event_id), sample);
    });

    it('recent is newest inserted first with limit and offset', async () => {
      const s = scope();
      // Captured order is the reverse of insertion order: recent must follow insertion.
      const evs = [0, 1, 2, 3].map((i) => minimalEvent(s.cam(), `${s.tag}R${i}`, BASE - i * DAY));
      for (const e of evs) assert.equal(await store.insert(e), true);
      assert.deepEqual(ids(await store.recent({ limit: 4, offset: 0 })), ids([...evs].reverse()));
      assert.deepEqual(ids(await store.recent({ limit: 2, offset: 1 })), ids([evs[2], evs[1]]));
      const one = await store.recent({ limit: 1, offset: 0 });
      assertSameEvent(one[0], evs[3]);
    });

    it('byPlate matches the normalized plate exactly, newest captured first, paged', async () => {
      const s = scope();
      const plate = `AB${s.tag}12`;
      const mine = [3, 1, 2].map((h) => minimalEvent(s.cam(h), plate, BASE + h * HOUR));
      const others = [minimalEvent(s.cam(), `${plate}3`, BASE), minimalEvent(s.cam(), `X${plate}`, BASE)];
      assert.equal(await store.insertMany([...mine, ...others]), 5);
      const byTime = [...mine].sort((x, y) => Date.parse(y.captured_at) - Date.parse(x.captured_at));
      assert.deepEqual(ids(await store.byPlate(plate, { limit: 10, offset: 0 })), ids(byTime));
      assert.deepEqual(ids(await store.byPlate(plate, { limit: 1, offset: 1 })), ids([byTime[1]]));
      // Operator input: lower case, spaces and dashes normalize to the stored form.
      const typed = `ab-${s.tag.toLowerCase()} 12`;
      assert.deepEqual(ids(await store.byPlate(typed, { limit: 10, offset: 0 })), ids(byTime));
      assert.deepEqual(await store.byPlate(`${s.tag}NONE`, { limit: 10, offset: 0 }), []);
    });

    it('byCamera filters by camera and [start, end) time range, newest first', async () => {
      const s = scope();
      const t = (h: number) => BASE + h * HOUR;
      const evs = [0, 1, 2, 3].map((h) => minimalEvent(s.cam(), `${s.tag}${h}`, t(h)));
      const other = minimalEvent(s.cam(2), `${s.tag}9`, t(1));
      await store.insertMany([...evs, other]);
      const page = { limit: 10, offset: 0 };
      assert.deepEqual(ids(await store.byCamera(s.cam(), {}, page)), ids([evs[3], evs[2], evs[1], evs[0]]));
      assert.deepEqual(ids(await store.byCamera(s.cam(), { start_time: iso(t(1)), end_time: iso(t(3)) }, page)), ids([evs[2], evs[1]]));
      assert.deepEqual(ids(await store.byCamera(s.cam(), { start_time: iso(t(2)) }, page)), ids([evs[3], evs[2]]));
      assert.deepEqual(ids(await store.byCamera(s.cam(), { end_time: iso(t(1)) }, page)), ids([evs[0]]));
      // Offsets in other zones are the same instants.
      const zoned = new Date(t(1)).toISOString().replace('Z', '+00:00');
      assert.deepEqual(ids(await store.byCamera(s.cam(), { start_time: zoned, end_time: iso(t(2)) }, page)), ids([evs[1]]));
      assert.deepEqual(ids(await store.byCamera(s.cam(), {}, { limit: 2, offset: 1 })), ids([evs[2], evs[1]]));
      assert.deepEqual(await store.byCamera(s.cam('none'), {}, page), []);
    });

    describe('search', () => {
      const s = scope();
      const T = s.tag;
      // Plates chosen so each pattern shape (prefix, suffix, infix, `?`) has hits and misses.
      const plates = [`AB${T}12`, `AB${T}912`, `AC${T}123`, `X${T}123`, `${T}ABC7`, `AXC${T}12`, `ZZ${T}99`];
      const cams = [s.cam(0), s.cam(1), s.cam(2)];
      const sites = [s.site(0), s.site(1)];
      const types = ['car', 'truck', 'bus', null];
      const dirs = ['in', 'out', null];
      const events: PlateEvent[] = [];
      for (let i = 0; i < 84; i++) {
        events.push(
          PlateEvent.parse({
            event_id: randomUUID(),
            captured_at: iso(BASE + i * 17 * 60_000),
            camera_id: cams[i % 3],
            plate: { text: plates[i % 7], normalized_text: plates[i % 7], confidence: Math.round((0.5 + ((i * 37) % 50) / 100) * 100) / 100 },
            vehicle: { type: types[i % 4] },
            node: { site: sites[i % 2] },
            extras: { direction: dirs[i % 3] },
          }),
        );
      }

      before(async () => {
        assert.equal(await store.insertMany(events), events.length);
      });

      /** What the store must return for `f`, computed in JS over this test's rows. */
      function expected(f: EventFilters): string[] {
        const start = f.start_time ? Date.parse(f.start_time) : -Infinity;
        const end = f.end_time ? Date.parse(f.end_time) : Infinity;
        let plateOk: (p: string) => boolean = () => true;
        if (f.plate !== undefined) {
          const q = f.plate.toUpperCase().replace(/[\s-]/g, '');
          if (/[*?]/.test(q)) {
            const re = new RegExp(`^${q.replace(/\*+/g, '.*').replace(/\?/g, '.')}$`);
            plateOk = (p) => re.test(p);
          } else plateOk = (p) => p === q;
        }
        return events
          .filter((e) => {
            const t = Date.parse(e.captured_at);
            return (
              plateOk(e.plate.normalized_text) &&
              (f.camera_id === undefined || e.camera_id === f.camera_id) &&
              (f.site === undefined || e.node.site === f.site) &&
              t >= start &&
              t < end &&
              (f.min_confidence === undefined || e.plate.confidence >= f.min_confidence) &&
              (f.vehicle_type === undefined || e.vehicle.type === f.vehicle_type) &&
              (f.direction === undefined || e.extras.direction === f.direction)
            );
          })
          .sort((a, b) => Date.parse(b.captured_at) - Date.parse(a.captured_at))
          .slice(f.offset, f.offset + f.limit)
          .map((e) => e.event_id);
      }

      const page = { limit: 1000, offset: 0 };
      const range = { start_time: iso(BASE + 5 * HOUR), end_time: iso(BASE + 17 * HOUR) };
      // Every query holds at least one run-unique restrictor (tagged plate, camera or site).
      const cases: Array<[string, EventFilters]> = [
        ['exact plate', { plate: `AB${T}12`, ...page }],
        ['exact plate typed loosely', { plate: `ab ${T.toLowerCase()}-12`, ...page }],
        ['prefix+suffix pattern AB*12', { plate: `AB${T}*12`, ...page }],
        ['suffix pattern *123', { plate: `*${T}123`, ...page }],
        ['? pattern A?T*', { plate: `A?${T}*`, ...page }],
        ['infix pattern', { plate: `*${T}A*`, ...page }],
        ['pattern ending in ?', { plate: `AB${T}9?2`, ...page }],
        ['literal AB*12 within a camera', { plate: 'AB*12', camera_id: cams[1], ...page }],
        ['literal *123 within a site', { plate: '*123', site: sites[0], ...page }],
        ['literal A?C* within a camera', { plate: 'A?C*', camera_id: cams[2], ...page }],
        ['camera', { camera_id: cams[0], ...page }],
        ['site', { site: sites[1], ...page }],
        ['camera + time range', { camera_id: cams[1], ...range, ...page }],
        ['site + min_confidence', { site: sites[0], min_confidence: 0.8, ...page }],
        ['camera + vehicle_type', { camera_id: cams[2], vehicle_type: 'truck', ...page }],
        ['site + direction', { site: sites[1], direction: 'out', ...page }],
        [
          'everything combined',
          { plate: `*${T}*`, camera_id: cams[0], site: sites[0], ...range, min_confidence: 0.6, vehicle_type: 'car', direction: 'in', ...page },
        ],
        ['pattern + range + confidence', { plate: `AB${T}*`, ...range, min_confidence: 0.7, ...page }],
        ['paged', { camera_id: cams[0], limit: 5, offset: 3 }],
        ['no match', { plate: `${T}NOPE`, ...page }],
      ];
      for (const [label, f] of cases) {
        it(`search: ${label}`, async () => {
          const want = expected(f);
          if (label !== 'no match') assert.ok(want.length > 0, 'test data must produce hits');
          assert.deepEqual(ids(await store.search(f)), want);
        });
      }

      it('search: an invalid plate pattern rejects', async () => {
        await assert.rejects(store.search({ plate: '*', ...page }));
        await assert.rejects(store.search({ plate: 'AB#1', ...page }));
      });
    });

    describe('fuzzyPlates', () => {
      const s = scope();
      const T = s.tag;
      const q = `${T}OIB5`;
      // [plate, events, expected rank, expected distance]
      const table: Array<[string, number, 0 | 1 | 2 | null, number]> = [
        [`${T}OIB5`, 1, 0, 0], // identical
        [`${T}OI85`, 2, 1, 1], // B/8
        [`${T}OIBS`, 1, 1, 1], // S/5 (fewer events than the B/8 one at equal rank and distance)
        [`${T}01B5`, 4, 1, 2], // O/0 and I/1
        [`${T}OIB57`, 2, 2, 1], // one insertion
        [`${T}OIB`, 1, 2, 1], // one deletion
        [`${T}0IB7`, 3, 2, 2], // O/0 plus one substitution
        [`${T}XY99`, 5, null, 0], // unrelated
        [`${T}OIB5XX`, 5, null, 0], // two edits
        [`${T}K2`, 1, null, 0], // short and unrelated
      ];
      const events: PlateEvent[] = [];
      table.forEach(([plate, n], k) => {
        for (let i = 0; i < n; i++) events.push(minimalEvent(s.cam(), plate, BASE + k * DAY + i * HOUR));
      });

      before(async () => {
        assert.equal(await store.insertMany(events), events.length);
      });

      it('ranks look-alikes, then one edit; by distance then events; excludes unrelated', async () => {
        const got = await store.fuzzyPlates(q, 50);
        const want = table.filter(([, , rank]) => rank !== null);
        assert.deepEqual(
          got.map((m) => [m.plate, m.events, m.rank, m.distance]),
          want.map(([p, n, r, d]) => [p, n, r, d]),
        );
      });

      it('reports last_seen as the newest capture of each plate', async () => {
        const got = await store.fuzzyPlates(q, 50);
        for (const m of got) {
          assertCanonicalIso(m.last_seen, 'last_seen');
          const newest = Math.max(...events.filter((e) => e.plate.normalized_text === m.plate).map((e) => Date.parse(e.captured_at)));
          assert.equal(Date.parse(m.last_seen), newest, m.plate);
        }
      });

      it('honours the limit and normalizes the query', async () => {
        const got = await store.fuzzyPlates(`${T.toLowerCase()}-oib 5`, 3);
        assert.deepEqual(
          got.map((m) => m.plate),
          [`${T}OIB5`, `${T}OI85`, `${T}OIBS`],
        );
      });

      it('finds Z/2 look-alikes at rank 1 and nothing for an unknown plate', async () => {
        const z = minimalEvent(s.cam(), `${T}Z7`, BASE);
        await store.insert(z);
        const got = await store.fuzzyPlates(`${T}27`, 10);
        assert.deepEqual(
          got.map((m) => [m.plate, m.rank]),
          [[`${T}Z7`, 1]],
        );
        assert.deepEqual(await store.fuzzyPlates(`${randomTag(8)}`, 10), []);
      });
    });

    it('counts per hour and per day, per camera, within [start, end)', async () => {
      const s = scope();
      // A time span only this test uses, far from the other tests' data.
      const t0 = Date.parse('2031-03-04T00:00:00.000Z') + Math.floor(Math.random() * 1000) * DAY;
      const evs = [
        minimalEvent(s.cam('a'), `${s.tag}1`, t0 + 10 * 60_000),
        minimalEvent(s.cam('a'), `${s.tag}2`, t0 + 50 * 60_000),
        minimalEvent(s.cam('b'), `${s.tag}3`, t0 + 20 * 60_000),
        minimalEvent(s.cam('a'), `${s.tag}4`, t0 + 2 * HOUR + 1),
        minimalEvent(s.cam('b'), `${s.tag}5`, t0 + DAY + HOUR),
        minimalEvent(s.cam('a'), `${s.tag}6`, t0 + 3 * DAY), // outside the range
      ];
      await store.insertMany(evs);
      const range = { start_time: iso(t0), end_time: iso(t0 + 3 * DAY) };
      const mine = (rows: Awaited<ReturnType<Storage['counts']>>) => rows.filter((r) => r.camera_id.startsWith(s.cam('')));
      const hourly = mine(await store.counts(range, 'hour'));
      assert.deepEqual(hourly, [
        { bucket: iso(t0), camera_id: s.cam('a'), count: 2 },
        { bucket: iso(t0), camera_id: s.cam('b'), count: 1 },
        { bucket: iso(t0 + 2 * HOUR), camera_id: s.cam('a'), count: 1 },
        { bucket: iso(t0 + DAY + HOUR), camera_id: s.cam('b'), count: 1 },
      ]);
      const daily = mine(await store.counts(range, 'day'));
      assert.deepEqual(daily, [
        { bucket: iso(t0), camera_id: s.cam('a'), count: 3 },
        { bucket: iso(t0), camera_id: s.cam('b'), count: 1 },
        { bucket: iso(t0 + DAY), camera_id: s.cam('b'), count: 1 },
      ]);
    });

    it('stats grow with inserted events (shared-store safe)', async () => {
      const s = scope();
      const before = await store.stats();
      const evs = [0, 1, 2].map((i) => minimalEvent(s.cam(i), `${s.tag}S${i}`, BASE + i * HOUR));
      await store.insertMany(evs);
      const after = await store.stats();
      assert.equal(after.total_events, before.total_events + 3);
      assert.equal(after.unique_plates, before.unique_plates + 3);
      assert.equal(after.active_cameras, before.active_cameras + 3);
      assertCanonicalIso(after.earliest_event, 'earliest_event');
      assertCanonicalIso(after.latest_event, 'latest_event');
      assert.ok(typeof after.avg_confidence === 'number');
    });

    it('audit entries come back newest first, paged', async () => {
      const actor = `op-${randomUUID()}`;
      await store.audit({ actor, action: 'search', details: { plate: 'AB*12', camera: null, n: 3 } });
      await store.audit({ actor, action: 'fuzzy', details: { plate: 'AB123' } });
      await store.audit({ actor, action: 'export', details: {} });
      const log = await store.auditLog({ limit: 3, offset: 0 });
      assert.deepEqual(
        log.map((e) => [e.actor, e.action, e.details]),
        [
          [actor, 'export', {}],
          [actor, 'fuzzy', { plate: 'AB123' }],
          [actor, 'search', { plate: 'AB*12', camera: null, n: 3 }],
        ],
      );
      for (const e of log) assertCanonicalIso(e.at, 'audit at');
      assert.ok(Date.parse(log[0].at) >= Date.parse(log[2].at));
      const paged = await store.auditLog({ limit: 1, offset: 1 });
      assert.deepEqual([paged[0].actor, paged[0].action], [actor, 'fuzzy']);
    });

    describe('review (operator corrections and review marks)', () => {
      it('stores a correction beside the original read, with who and when, and withdraws it', async () => {
        const s = scope();
        const e = minimalEvent(s.cam(), `${s.tag}R1`, BASE + 5 * HOUR);
        await store.insert(e);
        assert.equal((await store.get(e.event_id))!.review, undefined, 'no review before one is made');
        const at = new Date('2024-05-02T08:00:00.000Z');
        const got = await store.review(e.event_id, { corrected_text: `${s.tag}-R7`, actor: 'alice', at });
        assert.ok(got);
        assert.equal(got.plate.normalized_text, `${s.tag}R1`, 'the original read is kept');
        assert.deepEqual(got.review, {
          corrected_text: `${s.tag}-R7`,
          corrected_normalized: `${s.tag}R7`,
          corrected_by: 'alice',
          corrected_at: at.toISOString(),
          reviewed: false,
          reviewed_by: null,
          reviewed_at: null,
        });
        // A review mark leaves the correction alone, and the reverse.
        const marked = await store.review(e.event_id, { reviewed: true, actor: 'bob', at });
        assert.equal(marked!.review!.corrected_normalized, `${s.tag}R7`);
        assert.equal(marked!.review!.reviewed, true);
        assert.equal(marked!.review!.reviewed_by, 'bob');
        const withdrawn = await store.review(e.event_id, { corrected_text: null, actor: 'bob' });
        assert.equal(withdrawn!.review!.corrected_text, null);
        assert.equal(withdrawn!.review!.corrected_by, null);
        assert.equal(withdrawn!.review!.reviewed, true);
      });

      it('unknown events give null; a correction without letters or digits is refused', async () => {
        assert.equal(await store.review(randomUUID(), { reviewed: true, actor: 'x' }), null);
        const s = scope();
        const e = minimalEvent(s.cam(), `${s.tag}R2`, BASE);
        await store.insert(e);
        await assert.rejects(store.review(e.event_id, { corrected_text: ' -- ', actor: 'x' }), /corrected_text/);
      });

      it('plate searches find the corrected text (exact and pattern) as well as the original; reviewed filters', async () => {
        const s = scope();
        const cam = s.cam();
        const wrong = minimalEvent(cam, `${s.tag}8X1`, BASE + 2 * HOUR);
        const other = minimalEvent(cam, `${s.tag}9Y2`, BASE + HOUR);
        await store.insertMany([wrong, other]);
        await store.review(wrong.event_id, { corrected_text: `Q${s.tag}BX1`, actor: 'op' });
        const page = { limit: 10, offset: 0 };
        assert.deepEqual(ids(await store.search({ plate: `Q${s.tag}BX1`, ...page })), [wrong.event_id], 'exact corrected text');
        assert.deepEqual(ids(await store.search({ plate: `Q${s.tag}B*`, ...page })), [wrong.event_id], 'prefix pattern on the correction');
        assert.deepEqual(ids(await store.search({ plate: `*${s.tag}BX?`, ...page })), [wrong.event_id], 'suffix pattern on the correction');
        assert.deepEqual(ids(await store.search({ plate: `${s.tag}8X1`, ...page })), [wrong.event_id], 'the original read still matches');
        // The OR with corrections keeps the other filters and the order.
        assert.deepEqual(ids(await store.search({ plate: `*${s.tag}*`, camera_id: cam, ...page })), [wrong.event_id, other.event_id]);
        const found = await store.search({ plate: `Q${s.tag}BX1`, camera_id: cam, ...page });
        assert.equal(found[0].review?.corrected_normalized, `Q${s.tag}BX1`, 'search results carry their review');
        assert.deepEqual(await store.search({ plate: `Q${s.tag}BX1`, camera_id: s.cam(9), ...page }), []);

        await store.review(other.event_id, { reviewed: true, actor: 'op' });
        assert.deepEqual(ids(await store.search({ camera_id: cam, reviewed: true, ...page })), [other.event_id]);
        assert.deepEqual(ids(await store.search({ camera_id: cam, reviewed: false, ...page })), [wrong.event_id]);
      });
    });

    it('search sorts by confidence, plate or camera (ties newest captured first), either way', async () => {
      const s = scope();
      const site = s.site();
      const mk = (cam: string, plate: string, at: number, conf: number) => {
        const e = minimalEvent(cam, plate, at, conf);
        return PlateEvent.parse({ ...e, node: { site, host: null } });
      };
      const a = mk(s.cam('b'), `${s.tag}A1`, BASE + 1000, 0.7);
      const b = mk(s.cam('a'), `${s.tag}C3`, BASE + 2000, 0.95);
      const c = mk(s.cam('a'), `${s.tag}B2`, BASE + 3000, 0.8);
      await store.insertMany([a, b, c]);
      const page = { site, limit: 10, offset: 0 };
      assert.deepEqual(ids(await store.search(page)), ids([c, b, a]), 'default: newest captured first');
      assert.deepEqual(ids(await store.search({ ...page, order: 'asc' })), ids([a, b, c]));
      assert.deepEqual(ids(await store.search({ ...page, sort: 'confidence' })), ids([b, c, a]));
      assert.deepEqual(ids(await store.search({ ...page, sort: 'confidence', order: 'asc' })), ids([a, c, b]));
      assert.deepEqual(ids(await store.search({ ...page, sort: 'plate' })), ids([a, c, b]));
      assert.deepEqual(ids(await store.search({ ...page, sort: 'camera' })), ids([c, b, a]), 'same camera: newest first');
      assert.deepEqual(ids(await store.search({ ...page, sort: 'plate', plate: `${s.tag}*`, limit: 2 })), ids([a, c]));
      assert.deepEqual(ids(await store.search({ ...page, sort: 'plate', plate: `${s.tag}*`, limit: 2, offset: 2 })), ids([b]));
    });

    describe('on an empty private store', { skip: needsEmpty }, () => {
      const empty = useEmptyStore();

      it('stats of an empty store are zeros and nulls; recent is empty', async () => {
        assert.deepEqual(await empty().stats(), {
          total_events: 0,
          unique_plates: 0,
          active_cameras: 0,
          earliest_event: null,
          latest_event: null,
          avg_confidence: null,
          avg_latency_ms: null,
        });
        assert.deepEqual(await empty().recent({ limit: 10, offset: 0 }), []);
        assert.deepEqual(await empty().auditLog({ limit: 10, offset: 0 }), []);
        assert.deepEqual(await empty().fuzzyPlates('AB123', 10), []);
      });

      it('stats match the seed fields exactly', async () => {
        const a = fullEvent({ camera_id: 'c1', captured_at: iso(BASE + HOUR), latency_ms: 40, plate: { normalized_text: 'P1', text: 'P1', confidence: 0.9 } });
        const b = fullEvent({ camera_id: 'c2', captured_at: iso(BASE), latency_ms: 20, plate: { normalized_text: 'P2', text: 'P2', confidence: 0.7 } });
        const c = fullEvent({
          camera_id: 'c1',
          captured_at: iso(BASE + 2 * HOUR),
          latency_ms: null,
          plate: { normalized_text: 'P1', text: 'P1', confidence: 0.8 },
        });
        await empty().insertMany([a, b, c]);
        const st = await empty().stats();
        assert.equal(st.total_events, 3);
        assert.equal(st.unique_plates, 2);
        assert.equal(st.active_cameras, 2);
        assert.equal(st.earliest_event, iso(BASE));
        assert.equal(st.latest_event, iso(BASE + 2 * HOUR));
        assert.ok(Math.abs(st.avg_confidence! - 0.8) < 1e-9, `avg_confidence ${st.avg_confidence}`);
        assert.ok(Math.abs(st.avg_latency_ms! - 30) < 1e-9, `avg_latency_ms ${st.avg_latency_ms} (nulls are not zeros)`);
      });
    });

    describe('upsert on an empty private store', { skip: needsEmpty }, () => {
      const empty = useEmptyStore();

      it('stats follow replaced events: one event, the new plate, the new times', async () => {
        const a = fullEvent({ camera_id: 'c1', captured_at: iso(BASE), plate: { normalized_text: 'P1', text: 'P1', confidence: 0.5 } });
        assert.equal(await empty().upsert(a), 'inserted');
        const b = PlateEvent.parse({ ...a, captured_at: iso(BASE + 2 * DAY), plate: { ...a.plate, normalized_text: 'P2', text: 'P2', confidence: 0.9 } });
        assert.equal(await empty().upsert(b), 'updated');
        const st = await empty().stats();
        assert.equal(st.total_events, 1);
        assert.equal(st.unique_plates, 1, 'the replaced plate is gone from the distinct plates');
        assert.equal(st.earliest_event, iso(BASE + 2 * DAY));
        assert.ok(Math.abs(st.avg_confidence! - 0.9) < 1e-9);
        assert.deepEqual(ids(await empty().recent({ limit: 10, offset: 0 })), [a.event_id]);
      });
    });

    describe('retention on an empty private store', { skip: needsEmpty }, () => {
      const empty = useEmptyStore();

      it('deletes by age, then by max_events (oldest first), returning image URLs; plates stay consistent', async () => {
        const now = new Date('2024-06-01T00:00:00.000Z');
        const at = (daysAgo: number) => iso(now.getTime() - daysAgo * DAY);
        const img = (n: string) => ({ plate_url: `p/${n}.jpg`, vehicle_url: null, frame_url: `f/${n}.jpg` });
        const old1 = fullEvent({ camera_id: 'c1', captured_at: at(40), images: img('old1'), plate: { normalized_text: 'OLD1', text: 'OLD1' } });
        const old2 = fullEvent({ camera_id: 'c1', captured_at: at(31), images: img('old2'), plate: { normalized_text: 'KEEP1', text: 'KEEP1' } });
        const mid = fullEvent({ camera_id: 'c1', captured_at: at(20), images: img('mid'), plate: { normalized_text: 'KEEP1', text: 'KEEP1' } });
        const young = fullEvent({ camera_id: 'c2', captured_at: at(2), images: img('young'), plate: { normalized_text: 'NEW1', text: 'NEW1' } });
        const newest = fullEvent({ camera_id: 'c2', captured_at: at(1), images: img('newest'), plate: { normalized_text: 'NEW2', text: 'NEW2' } });
        await empty().insertMany([young, old1, newest, mid, old2]);

        assert.deepEqual(await empty().applyRetention({}, now), { deleted: 0, image_urls: [] });

        const byAge = await empty().applyRetention({ max_age_days: 30 }, now);
        assert.equal(byAge.deleted, 2);
        assert.deepEqual([...byAge.image_urls].sort(), ['f/old1.jpg', 'f/old2.jpg', 'p/old1.jpg', 'p/old2.jpg']);
        assert.equal(await empty().get(old1.event_id), null);
        assert.ok(await empty().get(mid.event_id));
        // OLD1 is gone from the distinct plates; KEEP1 lost one of its two events.
        assert.deepEqual(await empty().fuzzyPlates('OLD1', 10), []);
        assert.deepEqual(
          (await empty().fuzzyPlates('KEEP1', 10)).map((m) => [m.plate, m.events]),
          [['KEEP1', 1]],
        );
        assert.equal((await empty().stats()).unique_plates, 3);

        const bySize = await empty().applyRetention({ max_events: 2 }, now);
        assert.equal(bySize.deleted, 1);
        assert.deepEqual([...bySize.image_urls].sort(), ['f/mid.jpg', 'p/mid.jpg']);
        assert.deepEqual(ids(await empty().recent({ limit: 10, offset: 0 })).sort(), ids([young, newest]).sort());
        assert.deepEqual(await empty().fuzzyPlates('KEEP1', 10), []);
        const st = await empty().stats();
        assert.equal(st.total_events, 2);
        assert.equal(st.unique_plates, 2);
        assert.equal(st.earliest_event, young.captured_at);

        assert.deepEqual(await empty().applyRetention({ max_age_days: 30, max_events: 2 }, now), { deleted: 0, image_urls: [] });
        assert.deepEqual(
          await empty()
            .applyRetention({ max_events: 0 }, now)
            .then((r) => r.deleted),
          2,
        );
        assert.equal((await empty().stats()).total_events, 0);
      });
    });
  });
}
