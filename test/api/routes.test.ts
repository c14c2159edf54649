/** Every REST endpoint through a real loopback socket: shapes, filters, bad input, 404s, caps. */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { PlateEvent } from '../../src-pipeline/common/plate-event.js';
import { getJson, makeEvent, openTestStore, startServer, type Running, type TestStore } from './support.js';

let store: TestStore;
let run: Running;
let events: PlateEvent[];

before(async () => {
  store = await openTestStore();
  const imagesDir = join(store.dir, 'images');
  mkdirSync(join(imagesDir, 'cam-1'), { recursive: true });
  writeFileSync(join(imagesDir, 'cam-1', 'a.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0xd9]));
  writeFileSync(join(store.dir, 'secret.jpg'), 'outside');
  symlinkSync(join(store.dir, 'secret.jpg'), join(imagesDir, 'link.jpg'));
  events = [
    makeEvent({ plate: 'ABC123', at: '2024-05-01T10:15:00.000Z', camera_id: 'cam-1' }),
    makeEvent({ plate: 'ABC123', at: '2024-05-01T11:15:00.000Z', camera_id: 'cam-2', confidence: 0.5 }),
    makeEvent({ plate: 'AB0912', at: '2024-05-01T11:30:00.000Z', camera_id: 'cam-1' }),
    makeEvent({ plate: 'XYZ123', at: '2024-05-02T09:00:00.000Z', camera_id: 'cam-2', vehicle: { type: 'truck' } }),
    makeEvent({ plate: '8BC123', at: '2024-05-02T09:30:00.000Z', camera_id: 'cam-1', node: { site: 'site-b', host: 'edge-2' } }),
    makeEvent({ plate: 'A8C123', at: '2024-04-20T09:30:00.000Z', camera_id: 'cam-3' }),
  ];
  for (let i = 0; i < 30; i++)
    events.push(makeEvent({ plate: `QQ${String(i).padStart(3, '0')}`, at: `2024-04-0${1 + (i % 9)}T08:00:00.000Z`, camera_id: 'cam-3' }));
  for (const e of events) await store.storage.insert(e);
  run = await startServer({ storage: store.storage, imagesDir });
});

after(async () => {
  await run.server.close();
  await store.cleanup();
});

const get = (path: string) => getJson(`${run.url}${path}`);
type ListBody = { events: Array<{ event_id: string; plate: { normalized_text: string }; camera_id: string }>; count: number; limit: number; offset: number };

function assertBadRequest(r: Awaited<ReturnType<typeof get>>, field: string, reason: RegExp) {
  assert.equal(r.status, 400, JSON.stringify(r.body));
  assert.equal(r.body.error?.code, 'BAD_REQUEST');
  assert.equal(r.body.error?.field, field);
  assert.match(r.body.error?.message ?? '', reason);
}

describe('service routes', () => {
  it('GET / names the service, version and links', async () => {
    const r = await get('/');
    assert.equal(r.status, 200);
    assert.equal(r.body.service, 'ovr-alpr-api');
    assert.match(String(r.body.version), /^\d+\.\d+\.\d+/);
    assert.equal((r.body.links as Record<string, string>).docs, '/docs');
  });

  it('GET /health is ok with a live database', async () => {
    const r = await get('/health');
    assert.equal(r.status, 200);
    assert.equal(r.body.status, 'ok');
    assert.equal(r.body.database, 'ok');
  });

  it('GET /stats reports totals', async () => {
    const r = await get('/stats');
    assert.equal(r.status, 200);
    assert.equal(r.body.total_events, events.length);
    assert.equal(r.body.active_cameras, 3);
    assert.equal(r.body.unique_plates, 35);
  });

  it('unknown routes answer 404 with the envelope', async () => {
    const r = await get('/nope');
    assert.equal(r.status, 404);
    assert.equal(r.body.error?.code, 'NOT_FOUND');
  });
});

describe('events', () => {
  it('GET /events/recent defaults to 10, newest inserted first', async () => {
    const r = await get('/events/recent');
    assert.equal(r.status, 200);
    const b = r.body as unknown as ListBody;
    assert.equal(b.count, 10);
    assert.equal(b.limit, 10);
    assert.equal(b.events[0].event_id, events.at(-1)!.event_id);
  });

  it('GET /events/recent caps limit at 1000 and rejects bad limits', async () => {
    const r = await get('/events/recent?limit=999999');
    assert.equal(r.status, 200);
    assert.equal((r.body as unknown as ListBody).limit, 1000);
    assert.equal((r.body as unknown as ListBody).count, events.length);
    assertBadRequest(await get('/events/recent?limit=abc'), 'limit', /positive integer/);
    assertBadRequest(await get('/events/recent?limit=0'), 'limit', /positive integer/);
    assertBadRequest(await get('/events/recent?limit=1.5'), 'limit', /positive integer/);
  });

  it('GET /events/{id} returns the event, 400 for a non-uuid, 404 for an unknown id', async () => {
    const e = events[0];
    const r = await get(`/events/${e.event_id}`);
    assert.equal(r.status, 200);
    assert.equal(r.body.event_id, e.event_id);
    assert.equal(r.body.track_id, '7');
    assert.ok(typeof r.body.created_at === 'string');
    assertBadRequest(await get('/events/not-a-uuid'), 'event_id', /UUID/);
    const missing = await get('/events/00000000-0000-4000-8000-000000000000');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error?.code, 'NOT_FOUND');
  });

  it('GET /events/plate/{plate} normalises input and pages', async () => {
    const r = await get('/events/plate/abc-123');
    assert.equal(r.status, 200);
    const b = r.body as unknown as ListBody;
    assert.equal(b.count, 2);
    assert.ok(b.events.every((e) => e.plate.normalized_text === 'ABC123'));
    const p2 = (await get('/events/plate/ABC123?limit=1&offset=1')).body as unknown as ListBody;
    assert.equal(p2.count, 1);
    assert.equal(p2.offset, 1);
    assert.equal(p2.events[0].event_id, events[0].event_id, 'newest captured first');
    assertBadRequest(await get('/events/plate/AB%24'), 'plate', /letters, digits/);
    assertBadRequest(await get('/events/plate/ABC123?offset=-1'), 'offset', /non-negative/);
  });

  it('GET /events/plate/{pattern} treats * and ? as a partial search', async () => {
    const b = (await get('/events/plate/AB*12')).body as unknown as ListBody;
    assert.deepEqual(b.events.map((e) => e.plate.normalized_text).sort(), ['AB0912']);
  });

  it('GET /events/camera/{id} filters by time range and validates it', async () => {
    const r = await get('/events/camera/cam-1?start_time=2024-05-01T00:00:00Z&end_time=2024-05-02T00:00:00Z');
    assert.equal(r.status, 200);
    const b = r.body as unknown as ListBody;
    assert.deepEqual(
      b.events.map((e) => e.plate.normalized_text),
      ['AB0912', 'ABC123'],
    );
    assertBadRequest(await get('/events/camera/cam-1?start_time=yesterday'), 'start_time', /ISO-8601/);
    assertBadRequest(await get('/events/camera/cam-1?start_time=2024-05-02T00:00:00Z&end_time=2024-05-01T00:00:00Z'), 'end_time', /after start_time/);
  });

  it('a time with an offset is understood as that instant', async () => {
    const b = (await get('/events/camera/cam-1?start_time=2024-05-01T13:20:00%2B02:00&end_time=2024-05-01T13:40:00%2B02:00')).body as unknown as ListBody;
    assert.deepEqual(
      b.events.map((e) => e.plate.normalized_text),
      ['AB0912'],
    );
  });

  it('GET /events/search combines filters and patterns', async () => {
    const s = async (q: string) => ((await get(`/events/search?${q}`)).body as unknown as ListBody).events.map((e) => e.plate.normalized_text).sort();
    assert.deepEqual(await s('plate=ABC123'), ['ABC123', 'ABC123']);
    assert.deepEqual(await s('plate=*123'), ['8BC123', 'A8C123', 'ABC123', 'ABC123', 'XYZ123']);
    assert.deepEqual(await s('plate=AB*2?'), ['ABC123', 'ABC123']);
    assert.deepEqual(await s('plate=AB*12'), ['AB0912']);
    assert.deepEqual(await s('plate=?BC123'), ['8BC123', 'ABC123', 'ABC123']);
    assert.deepEqual(await s('plate=ABC123&camera=cam-2'), ['ABC123']);
    assert.deepEqual(await s('plate=ABC123&min_confidence=0.8'), ['ABC123']);
    assert.deepEqual(await s('vehicle_type=truck'), ['XYZ123']);
    assert.deepEqual(await s('site=site-b'), ['8BC123']);
    assert.deepEqual(await s('direction=in&camera=cam-2'), ['ABC123', 'XYZ123']);
    assert.deepEqual(await s('start_time=2024-05-02T00:00:00Z'), ['8BC123', 'XYZ123']);
  });

  it('GET /events/search rejects bad input naming the field', async () => {
    assertBadRequest(await get('/events/search?plate=*'), 'plate', /matches everything/);
    assertBadRequest(await get('/events/search?plate=A%26B'), 'plate', /letters, digits/);
    assertBadRequest(await get('/events/search?min_confidence=2'), 'min_confidence', /0 to 1/);
    assertBadRequest(await get('/events/search?min_confidence=high'), 'min_confidence', /0 to 1/);
    assertBadRequest(await get('/events/search?end_time=2024-13-01T00:00:00Z'), 'end_time', /ISO-8601/);
    assertBadRequest(await get('/events/search?limit=-5'), 'limit', /positive integer/);
    assertBadRequest(await get('/events/search?offset=5000000'), 'offset', /at most/);
    assertBadRequest(await get('/events/search?camera='), 'camera', /empty/);
  });

  it('GET /events/search caps limit at 1000', async () => {
    const b = (await get('/events/search?plate=QQ*&limit=5000')).body as unknown as ListBody;
    assert.equal(b.limit, 1000);
    assert.equal(b.count, 30);
  });

  it('GET /events/counts buckets per hour or day and validates bucket', async () => {
    const r = await get('/events/counts?start_time=2024-05-01T00:00:00Z&end_time=2024-05-03T00:00:00Z&bucket=day');
    assert.equal(r.status, 200);
    const counts = r.body.counts as Array<{ bucket: string; camera_id: string; count: number }>;
    const total = counts.reduce((s, c) => s + c.count, 0);
    assert.equal(total, 5);
    const cam1day1 = counts.find((c) => c.camera_id === 'cam-1' && c.bucket.startsWith('2024-05-01'));
    assert.equal(cam1day1?.count, 2);
    assert.equal((await get('/events/counts')).body.bucket, 'hour');
    assertBadRequest(await get('/events/counts?bucket=week'), 'bucket', /hour.*day/);
  });
});

describe('plates', () => {
  it('GET /plates/fuzzy ranks exact, look-alike, then one edit', async () => {
    const r = await get('/plates/fuzzy?plate=ABC123');
    assert.equal(r.status, 200);
    const m = r.body.matches as Array<{ plate: string; rank: number; events: number }>;
    assert.equal(m[0].plate, 'ABC123');
    assert.equal(m[0].rank, 0);
    assert.equal(m[0].events, 2);
    assert.equal(m.find((x) => x.plate === 'A8C123')?.rank, 1, 'B/8 look-alike');
    assert.equal(m.find((x) => x.plate === '8BC123')?.rank, 2, 'one substitution');
    assert.deepEqual(
      m.map((x) => x.rank),
      [...m.map((x) => x.rank)].sort(),
      'ranked best first',
    );
    assert.ok(!m.some((x) => x.plate === 'XYZ123'), 'three edits away is not a match');
    assertBadRequest(await get('/plates/fuzzy'), 'plate', /required/);
    assertBadRequest(await get('/plates/fuzzy?plate=A'), 'plate', /at least 2/);
    assertBadRequest(await get('/plates/fuzzy?plate=ABC123&limit=x'), 'limit', /positive integer/);
  });
});

describe('audit', () => {
  it('searches and plate lookups are audited with actor, action and query', async () => {
    await get('/events/search?plate=XYZ123&camera=cam-2');
    await get('/plates/fuzzy?plate=XYZ12');
    const r = await get('/audit?limit=2');
    assert.equal(r.status, 200);
    const entries = r.body.entries as Array<{ actor: string; action: string; details: Record<string, unknown> }>;
    assert.equal(entries.length, 2);
    assert.equal(entries[0].action, 'plates.fuzzy');
    assert.equal(entries[0].actor, 'local');
    assert.equal(entries[0].details.plate, 'XYZ12');
    assert.equal(entries[1].action, 'events.search');
    assert.equal(entries[1].details.plate, 'XYZ123');
    assert.equal(entries[1].details.camera_id, 'cam-2');
    assertBadRequest(await get('/audit?limit=none'), 'limit', /positive integer/);
  });
});

describe('images', () => {
  it('serves a file from the images folder with its type', async () => {
    const res = await fetch(`${run.url}/images/cam-1/a.jpg`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual([...new Uint8Array(await res.arrayBuffer())], [0xff, 0xd8, 0xff, 0xd9]);
  });

  /** Raw request so the client does not normalise `..` away before it reaches the server. */
  const rawStatus = (path: string) =>
    new Promise<number>((resolve, reject) => {
      const req = request(`${run.url}${path}`, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.end();
    });

  it('answers 404 for missing files, traversal, encoded traversal, symlinks out and non-images', async () => {
    for (const p of [
      '/images/cam-1/missing.jpg',
      '/images/../secret.jpg',
      '/images/cam-1/../../secret.jpg',
      '/images/..%2Fsecret.jpg',
      '/images/%2e%2e/secret.jpg',
      '/images/link.jpg',
      '/images/cam-1',
      '/images/%00.jpg',
    ]) {
      assert.equal(await rawStatus(p), 404, p);
    }
  });
});

describe('docs and metrics', () => {
  it('GET /docs/json is an OpenAPI document with every route and the query schemas', async () => {
    const r = await get('/docs/json');
    assert.equal(r.status, 200);
    const paths = r.body.paths as Record<string, { get: { parameters?: Array<{ name: string; in: string; schema: { type?: string } }> } }>;
    for (const p of [
      '/',
      '/health',
      '/stats',
      '/events/recent',
      '/events/{event_id}',
      '/events/plate/{plate}',
      '/events/camera/{camera_id}',
      '/events/search',
      '/events/search.csv',
      '/events/counts',
      '/plates/fuzzy',
      '/audit',
      '/metrics',
    ]) {
      assert.ok(paths[p], `${p} in the OpenAPI doc`);
    }
    const limit = paths['/events/recent'].get.parameters?.find((x) => x.name === 'limit');
    assert.equal(limit?.in, 'query');
    assert.equal(limit?.schema.type, 'integer');
    const names = paths['/events/search'].get.parameters?.map((x) => x.name);
    assert.deepEqual(names?.sort(), [
      'camera',
      'direction',
      'end_time',
      'limit',
      'min_confidence',
      'offset',
      'order',
      'plate',
      'reviewed',
      'site',
      'sort',
      'start_time',
      'vehicle_type',
    ]);
  });

  it('GET /docs serves the Swagger UI', async () => {
    const res = await fetch(`${run.url}/docs`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /swagger/i);
  });

  it('GET /metrics counts requests by route pattern and status', async () => {
    await get('/events/recent');
    await get(`/events/${events[1].event_id}`);
    const res = await fetch(`${run.url}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/plain/);
    const text = await res.text();
    assert.match(text, /ovr_alpr_http_requests_total\{method="GET",route="\/events\/recent",status="200"\} \d+/);
    assert.match(text, /ovr_alpr_http_requests_total\{method="GET",route="\/events\/:event_id",status="200"\} \d+/);
    assert.match(text, /ovr_alpr_http_requests_total\{method="GET",route="\/events\/recent",status="400"\} \d+/);
    assert.match(text, /ovr_alpr_http_request_duration_seconds_bucket\{/);
    assert.match(text, /ovr_alpr_live_clients 0/);
    assert.ok(!text.includes(events[1].event_id), 'ids never become labels');
  });
});

describe('health when the database is down', () => {
  it('answers 503 degraded', async () => {
    const broken = await openTestStore();
    const srv = await startServer({ storage: broken.storage });
    try {
      broken.breakPing();
      const r = await getJson(`${srv.url}/health`);
      assert.equal(r.status, 503);
      assert.equal(r.body.status, 'degraded');
      assert.equal(r.body.database, 'down');
    } finally {
      await srv.server.close();
      await broken.cleanup();
    }
  });
});

describe('server errors', () => {
  it('answer 500 with the envelope and no stack or driver detail', async () => {
    const s = await openTestStore();
    s.storage.stats = async () => {
      throw new Error('SQLITE_CORRUPT: database disk image is malformed at /secret/path');
    };
    const srv = await startServer({ storage: s.storage });
    try {
      const r = await getJson(`${srv.url}/stats`);
      assert.equal(r.status, 500);
      assert.equal(r.body.error?.code, 'INTERNAL');
      const raw = JSON.stringify(r.body);
      assert.ok(!raw.includes('/secret/path') && !raw.includes('stack') && !raw.includes('    at '), raw);
    } finally {
      await srv.server.close();
      await s.cleanup();
    }
  });
});
