/** CSV export (content, quoting, caps, streaming headers) and the WebSocket live feed. */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { csvField, csvRow } from '../../src-pipeline/api/csv.js';
import { LIMITS } from '../../src-pipeline/api/schemas.js';
import { getJson, makeEvent, openTestStore, startServer, stored, type Running, type TestStore } from './support.js';

/** Minimal RFC 4180 parser, independent of the writer, to read back what the server sent. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        field += '"';
        i++;
      } else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      row.push(field);
      rows.push(row);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  if (field || row.length) throw new Error('CSV does not end with CRLF');
  return rows;
}

describe('csv fields', () => {
  it('quotes commas, quotes and line breaks; neutralises formulas; empty for null', () => {
    assert.equal(csvField('plain'), 'plain');
    assert.equal(csvField('a,b'), '"a,b"');
    assert.equal(csvField('say "hi"'), '"say ""hi"""');
    assert.equal(csvField('two\nlines'), '"two\nlines"');
    assert.equal(csvField('=SUM(A1)'), "'=SUM(A1)");
    assert.equal(csvField('-cam'), "'-cam");
    assert.equal(csvField(null), '');
    assert.equal(csvField(0.5), '0.5');
    assert.ok(csvRow(stored(makeEvent())).endsWith('\r\n'));
  });
});

describe('GET /events/search.csv', () => {
  let store: TestStore;
  let run: Running;
  before(async () => {
    store = await openTestStore();
    const batch = [
      makeEvent({ plate: 'CSV001', camera_id: 'gate, "north"\nlane 1', at: '2024-05-01T10:00:00.000Z', vehicle: { type: 'car', make: '=HYPERLINK("x")' } }),
    ];
    for (let i = 0; i < 2500; i++)
      batch.push(
        makeEvent({ plate: `BULK${String(i).padStart(4, '0')}`, at: new Date(Date.UTC(2024, 3, 1) + i * 60_000).toISOString(), camera_id: 'cam-bulk' }),
      );
    await store.storage.insertMany(batch);
    run = await startServer({ storage: store.storage });
  });
  after(async () => {
    await run.server.close();
    await store.cleanup();
  });

  it('exports matching rows with a header, attachment disposition and proper quoting', async () => {
    const res = await fetch(`${run.url}/events/search.csv?plate=CSV001`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
    assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="plate-events-.*\.csv"$/);
    const rows = parseCsv(await res.text());
    assert.equal(rows.length, 2);
    const [header, row] = rows;
    assert.equal(header[0], 'event_id');
    const col = (name: string) => row[header.indexOf(name)];
    assert.equal(col('camera_id'), 'gate, "north"\nlane 1');
    assert.equal(col('vehicle_make'), '\'=HYPERLINK("x")');
    assert.equal(col('plate_normalized'), 'CSV001');
    assert.equal(col('plate_confidence'), '0.9');
    assert.equal(col('vehicle_model'), '');
    assert.equal(row.length, header.length);
  });

  it('pages through the store past one page, in search order, honouring limit and offset', async () => {
    const all = parseCsv(await (await fetch(`${run.url}/events/search.csv?camera=cam-bulk`)).text());
    assert.equal(all.length, 2501);
    assert.equal(new Set(all.slice(1).map((r) => r[0])).size, 2500, 'no row twice across pages');
    assert.equal(all[1][5], 'BULK2499', 'newest captured first');
    const some = parseCsv(await (await fetch(`${run.url}/events/search.csv?camera=cam-bulk&limit=1200&offset=100`)).text());
    assert.equal(some.length, 1201);
    assert.equal(some[1][5], 'BULK2399');
  });

  it('caps the row count and validates like the JSON search', async () => {
    const r = await getJson(`${run.url}/events/search.csv?start_time=bad`);
    assert.equal(r.status, 400);
    assert.equal(r.body.error?.field, 'start_time');
    assert.equal(LIMITS.csv, 100_000);
    const capped = await fetch(`${run.url}/events/search.csv?camera=cam-bulk&limit=${LIMITS.csv * 10}`);
    assert.equal(capped.status, 200, 'over the cap is capped, not refused');
    await capped.text();
  });

  it('is audited', async () => {
    await (await fetch(`${run.url}/events/search.csv?plate=CSV*`)).text();
    const a = await getJson(`${run.url}/audit?limit=1`);
    const e = (a.body.entries as Array<{ action: string; details: Record<string, unknown> }>)[0];
    assert.equal(e.action, 'events.export_csv');
    assert.equal(e.details.plate, 'CSV*');
  });
});

/** Opens /live and resolves once the hello arrived (the server has registered the client). */
function connect(url: string): Promise<{ ws: WebSocket; messages: Array<{ type: string; event?: { event_id: string } }> }> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url.replace(/^http/, 'ws')}/live`);
    const messages: Array<{ type: string; event?: { event_id: string } }> = [];
    ws.on('message', (data) => {
      const m = JSON.parse(String(data)) as { type: string };
      if (m.type === 'hello') resolve({ ws, messages });
      else messages.push(m);
    });
    ws.on('error', reject);
  });
}

async function until(cond: () => boolean, ms = 5000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('GET /live WebSocket feed', () => {
  let store: TestStore;
  let run: Running;
  before(async () => {
    store = await openTestStore();
    run = await startServer({ storage: store.storage, liveQueue: 50 });
  });
  after(async () => {
    await run.server.close();
    await store.cleanup();
  });

  it('sends every published event to every client, in order', async () => {
    const a = await connect(run.url);
    const b = await connect(run.url);
    const sent = [makeEvent({ plate: 'LIVE1' }), makeEvent({ plate: 'LIVE2' })];
    for (const e of sent) run.server.publish(stored(e));
    await until(() => a.messages.length === 2 && b.messages.length === 2);
    for (const c of [a, b]) {
      assert.deepEqual(
        c.messages.map((m) => [m.type, m.event?.event_id]),
        sent.map((e) => ['event', e.event_id]),
      );
    }
    const metrics = await (await fetch(`${run.url}/metrics`)).text();
    assert.match(metrics, /ovr_alpr_live_clients 2/);
    assert.match(metrics, /ovr_alpr_live_events_published_total 2/);
    a.ws.close();
    b.ws.close();
    await until(() => run.server.hub.size === 0);
  });

  it('a client that stops reading has a bounded queue: oldest dropped and counted, others unaffected', async () => {
    const slow = await connect(run.url);
    const fast = await connect(run.url);
    // Stop reading: TCP buffers fill, ws send callbacks stop, and the server-side queue is all that grows.
    slow.ws.pause();
    const big = 'x'.repeat(16 * 1024);
    const total = 2000; // ~32 MB in all, well past the socket buffers
    for (let i = 0; i < total; i++) {
      run.server.publish({
        ...stored(makeEvent({ plate: `SLOW${i}` })),
        extras: { roi: null, direction: big.slice(0, 32), quality_score: null, frame_number: i, char_confidences: null },
        images: { plate_url: big, vehicle_url: null, frame_url: null },
      });
      // Paced by the fast client, which must keep up and lose nothing while the slow one falls behind.
      if (i % 10 === 9) await until(() => fast.messages.length >= i - 20, 20_000);
    }
    await until(() => fast.messages.length === total, 20_000);
    const stats = run.server.hub.clientStats();
    const slowStats = stats.find((s) => s.dropped > 0);
    assert.ok(slowStats, `a client dropped messages: ${JSON.stringify(stats)}`);
    assert.ok(slowStats.queued <= 50, `queue stays bounded: ${slowStats.queued}`);
    assert.ok(stats.every((s) => s.queued <= 50));
    const metrics = await (await fetch(`${run.url}/metrics`)).text();
    const dropped = Number(/ovr_alpr_live_messages_dropped_total (\d+)/.exec(metrics)?.[1]);
    assert.equal(dropped, slowStats.dropped);
    const frames = fast.messages.map((m) => (m.event as unknown as { extras: { frame_number: number } }).extras.frame_number);
    assert.deepEqual(frames, [...Array(total).keys()], 'the fast client got every event, in order');
    slow.ws.terminate();
    fast.ws.close();
    await until(() => run.server.hub.size === 0);
  });

  it('closes clients when the server shuts down', async () => {
    const s = await openTestStore();
    const srv = await startServer({ storage: s.storage });
    const c = await connect(srv.url);
    const closed = new Promise<number>((r) => c.ws.on('close', (code) => r(code)));
    await srv.server.close();
    assert.equal(await closed, 1001);
    await s.cleanup();
  });
});
