/**
 * The service-free Kafka layer (src-pipeline/bus): the PlateEvent Avro schema and its mapping,
 * Confluent wire framing, and PlateEventCodec's decode paths (JSON, Avro, writer-schema
 * evolution, dead-letter reasons). The registry here is an in-memory SchemaLookup; the real
 * REST client is tested against a real registry in test/integration/schema-registry.test.ts.
 */
import { prng as rng } from '../../src-pipeline/store/synthetic.js';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import avro from 'avsc';
import { AlprError } from '../../src-pipeline/common/errors.js';
import { PlateEvent, type PlateEventInput } from '../../src-pipeline/common/plate-event.js';
import { PlateEventCodec } from '../../src-pipeline/bus/codec.js';
import {
  PLATE_EVENT_AVRO_SCHEMA,
  PLATE_EVENT_AVRO_SCHEMA_TEXT,
  PLATE_EVENT_SUBJECT,
  avroType,
  fromAvro,
  plateEventAvroType,
  toAvro,
} from '../../src-pipeline/bus/plate-event-avro.js';
import type { RegisteredSchema, SchemaLookup } from '../../src-pipeline/bus/schema-registry.js';
import { encodeConfluent, parseMessage } from '../../src-pipeline/bus/wire-format.js';

/** An in-memory registry with the client's error behaviour (404 + error code 40403). */
class MemoryRegistry implements SchemaLookup {
  readonly schemas = new Map<number, RegisteredSchema>();
  readonly subjects = new Map<string, number[]>();
  lookups = 0;
  registrations = 0;
  failWith: Error | undefined;
  #next = 1;

  async register(subject: string, schema: string | object): Promise<number> {
    this.registrations++;
    if (this.failWith) throw this.failWith;
    const text = typeof schema === 'string' ? schema : JSON.stringify(schema);
    let id = [...this.schemas.values()].find((s) => s.schema === text)?.id;
    if (id === undefined) {
      id = this.#next++;
      this.schemas.set(id, { id, schema: text, schemaType: 'AVRO' });
    }
    this.subjects.set(subject, [...(this.subjects.get(subject) ?? []), id]);
    return id;
  }

  add(schema: object | string, schemaType = 'AVRO'): number {
    const id = this.#next++;
    this.schemas.set(id, { id, schema: typeof schema === 'string' ? schema : JSON.stringify(schema), schemaType });
    return id;
  }

  async getSchemaById(id: number): Promise<RegisteredSchema> {
    this.lookups++;
    if (this.failWith) throw this.failWith;
    const s = this.schemas.get(id);
    if (!s)
      throw new AlprError('SCHEMA_NOT_FOUND', `schema registry GET /schemas/ids/${id} answered 404: Schema ${id} not found`, {
        details: { status: 404, errorCode: 40403 },
      });
    return s;
  }
}

// ---- Events ---------------------------------------------------------------------------------

const UNICODE = [
  'İstanbul Köprüsü',
  '東京駅 北口',
  'Zürich–Nord',
  'مدخل الرياض',
  '🚗 Gate 🅿️ 3',
  'e\u0301cole',
  'Ωmega ѮѰ',
  'שער ראשי',
  '\u0000nul\u0000',
  'tab\tand\nnewline',
  '"quoted" \\ back',
];
const ALNUM = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

function uuidFrom(r: () => number): string {
  const h = Array.from({ length: 32 }, () => '0123456789abcdef'[Math.floor(r() * 16)]).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-${'89ab'[Math.floor(r() * 4)]}${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

/** A string of exactly `len` UTF-16 units made of code points that round-trip (no lone surrogates). */
function fill(r: () => number, len: number): string {
  let s = '';
  while (s.length < len) {
    const pick = UNICODE[Math.floor(r() * UNICODE.length)];
    s += pick;
  }
  s = s.slice(0, len);
  // Do not cut a surrogate pair in half.
  if (/[\uD800-\uDBFF]$/.test(s)) s = s.slice(0, -1) + 'x';
  return s;
}

function randomEvent(seed: number): PlateEventInput {
  const r = rng(seed);
  const maybe = <T>(v: () => T): T | null => (r() < 0.35 ? null : v());
  const max = r() < 0.2;
  const str = (limit: number) => (max ? fill(r, limit) : fill(r, 1 + Math.floor(r() * Math.min(limit, 40))));
  const plateLen = max ? 16 : 1 + Math.floor(r() * 10);
  const normalized = Array.from({ length: plateLen }, () => ALNUM[Math.floor(r() * ALNUM.length)]).join('');
  const offsets = ['Z', '+00:00', '+05:45', '-09:30', '+14:00'];
  const frac = ['', '.1', '.123', '.123456', '.123456789'];
  const date = new Date(
    Date.UTC(1990 + Math.floor(r() * 60), Math.floor(r() * 12), 1 + Math.floor(r() * 28), Math.floor(r() * 24), Math.floor(r() * 60), Math.floor(r() * 60)),
  );
  const captured = date.toISOString().slice(0, 19) + frac[Math.floor(r() * frac.length)] + offsets[Math.floor(r() * offsets.length)];
  const url = (limit: number) =>
    max ? 'https://minio.example/' + 'a'.repeat(limit - 'https://minio.example/'.length) : `https://minio.example/crops/${uuidFrom(r)}.jpg`;
  return {
    event_id: uuidFrom(r),
    captured_at: captured,
    camera_id: max ? fill(r, 128) : `cam-${Math.floor(r() * 100)}`,
    track_id: r() < 0.3 ? null : r() < 0.5 ? Math.floor(r() * 1e6) : str(128),
    plate: {
      text: max ? fill(r, 32) : normalized.slice(0, 3) + ' ' + normalized.slice(3),
      normalized_text: normalized,
      confidence: [0, 1, r(), 0.1 + 0.2][Math.floor(r() * 4)],
      region: maybe(() => str(32)),
    },
    vehicle: r() < 0.2 ? undefined : { type: maybe(() => str(32)), make: maybe(() => str(64)), model: maybe(() => str(64)), color: maybe(() => str(32)) },
    images: r() < 0.2 ? undefined : { plate_url: maybe(() => url(2048)), vehicle_url: maybe(() => url(2048)), frame_url: maybe(() => url(2048)) },
    latency_ms: maybe(() => [0, r() * 1000, 1e-9, 1e15, Number.MIN_VALUE][Math.floor(r() * 5)]),
    node: r() < 0.2 ? undefined : { site: maybe(() => str(128)), host: maybe(() => str(128)) },
    extras:
      r() < 0.2
        ? undefined
        : {
            roi: maybe(() => str(128)),
            direction: maybe(() => (max ? fill(r, 32) : r() < 0.5 ? 'in' : 'out')),
            quality_score: maybe(() => [0, 1, r()][Math.floor(r() * 3)]),
            frame_number: maybe(() => [0, Math.floor(r() * 1e6), Number.MAX_SAFE_INTEGER][Math.floor(r() * 3)]),
          },
  };
}

/** Every field filled with realistic values: what an edge node usually publishes. */
const TYPICAL: PlateEventInput = {
  event_id: '3f1c2a9e-7b4d-4e21-9a6f-0c8d5e2b1a47',
  captured_at: '2026-11-29T14:03:27.412+01:00',
  camera_id: 'gate-north-01',
  track_id: '1734',
  plate: { text: '34 ABC 123', normalized_text: '34ABC123', confidence: 0.9731, region: 'TR' },
  vehicle: { type: 'car', make: 'Renault', model: 'Clio', color: 'white' },
  images: {
    plate_url: 'http://minio:9000/alpr/2026/11/29/3f1c2a9e-plate.jpg',
    vehicle_url: 'http://minio:9000/alpr/2026/11/29/3f1c2a9e-vehicle.jpg',
    frame_url: 'http://minio:9000/alpr/2026/11/29/3f1c2a9e-frame.jpg',
  },
  latency_ms: 84.6,
  node: { site: 'Depot Istanbul', host: 'edge-07' },
  extras: { roi: 'lane-1', direction: 'in', quality_score: 0.82, frame_number: 120455, char_confidences: [0.99, 0.97, 0.91, 0.88, 0.95, 0.99] },
};

/** Only the required fields: everything else null. */
const MINIMAL: PlateEventInput = {
  event_id: '00000000-0000-4000-8000-000000000000',
  captured_at: '2026-01-01T00:00:00Z',
  camera_id: 'c',
  plate: { text: 'A', normalized_text: 'A', confidence: 0.5 },
};

const MANY = Array.from({ length: 500 }, (_, i) => randomEvent(i + 1));

// ---- Schema and mapping ----------------------------------------------------------------------

describe('PlateEvent Avro schema', () => {
  it('is record io.ovralpr.events.PlateEvent with every contract field, in order', () => {
    assert.equal(plateEventAvroType.name, 'io.ovralpr.events.PlateEvent');
    const fields = PLATE_EVENT_AVRO_SCHEMA.fields.map((f) => f.name);
    assert.deepEqual(fields, Object.keys(PlateEvent.shape));
    const nested = (name: string) => {
      const f = PLATE_EVENT_AVRO_SCHEMA.fields.find((x) => x.name === name) as unknown as { type: { fields: { name: string }[] } };
      return f.type.fields.map((x) => x.name);
    };
    assert.deepEqual(nested('plate'), Object.keys(PlateEvent.shape.plate.shape));
    assert.deepEqual(nested('extras'), Object.keys(PlateEvent.shape.extras.unwrap().shape));
  });

  it('gives every nullable field a ["null", T] union with default null', () => {
    const check = (fields: readonly { name: string; type: unknown; default?: unknown }[], path: string) => {
      for (const f of fields) {
        if (Array.isArray(f.type)) {
          assert.equal(f.type[0], 'null', `${path}${f.name}: null must come first`);
          assert.equal(f.default, null, `${path}${f.name}: default null`);
        } else if (typeof f.type === 'object' && f.type && (f.type as { type: string }).type === 'record') {
          check((f.type as { fields: { name: string; type: unknown; default?: unknown }[] }).fields, `${path}${f.name}.`);
        }
      }
    };
    check(PLATE_EVENT_AVRO_SCHEMA.fields, '');
    // Sub-records other than plate default to all-null.
    const defaults = Object.fromEntries(PLATE_EVENT_AVRO_SCHEMA.fields.filter((f) => 'default' in f).map((f) => [f.name, (f as { default: unknown }).default]));
    assert.deepEqual(Object.keys(defaults).sort(), ['extras', 'images', 'latency_ms', 'node', 'track_id', 'vehicle']);
  });

  it('is valid JSON text that avsc parses back to the same canonical schema', () => {
    assert.equal(avro.Type.forSchema(JSON.parse(PLATE_EVENT_AVRO_SCHEMA_TEXT)).fingerprint().toString('hex'), plateEventAvroType.fingerprint().toString('hex'));
  });

  it('round-trips many events exactly through toAvro/fromAvro and the binary encoding', () => {
    for (const input of [TYPICAL, MINIMAL, ...MANY]) {
      const expected = PlateEvent.parse(input);
      const buf = plateEventAvroType.toBuffer(toAvro(input));
      const back = fromAvro(plateEventAvroType.fromBuffer(buf));
      assert.ok(back.ok, back.ok ? '' : back.reason);
      assert.deepEqual(back.event, expected);
    }
  });

  it('keeps -0, subnormals, MAX_SAFE_INTEGER and sub-millisecond timestamps bit for bit', () => {
    const input = {
      ...MINIMAL,
      captured_at: '2026-03-31T23:59:59.987654321-03:30',
      latency_ms: -0,
      extras: { quality_score: Number.MIN_VALUE, frame_number: Number.MAX_SAFE_INTEGER },
    };
    const back = fromAvro(plateEventAvroType.fromBuffer(plateEventAvroType.toBuffer(toAvro(input))));
    assert.ok(back.ok);
    assert.ok(Object.is(back.event.latency_ms, -0));
    assert.equal(back.event.extras.quality_score, Number.MIN_VALUE);
    assert.equal(back.event.extras.frame_number, Number.MAX_SAFE_INTEGER);
    assert.equal(back.event.captured_at, '2026-03-31T23:59:59.987654321-03:30');
  });

  it('turns numeric track ids of old producers into strings', () => {
    const back = fromAvro(plateEventAvroType.fromBuffer(plateEventAvroType.toBuffer(toAvro({ ...MINIMAL, track_id: 42 }))));
    assert.ok(back.ok);
    assert.equal(back.event.track_id, '42');
  });

  it('refuses invalid events and strings Avro cannot carry with EVENT_INVALID', () => {
    const bad = (e: unknown, needle: string) =>
      assert.throws(
        () => toAvro(e as PlateEventInput),
        (err: unknown) => err instanceof AlprError && err.code === 'EVENT_INVALID' && err.message.includes(needle),
      );
    bad({ ...MINIMAL, event_id: 'nope' }, 'event_id');
    bad({ ...MINIMAL, plate: { ...MINIMAL.plate, normalized_text: 'abc' } }, 'plate.normalized_text');
    bad({ ...MINIMAL, camera_id: 'x'.repeat(129) }, 'camera_id');
    bad({ ...MINIMAL, node: { site: 'broken \uD83D site' } }, 'node.site');
  });

  it('fromAvro re-validates: a value Avro accepts but the contract does not is a reason', () => {
    const value = { ...toAvro(MINIMAL), plate: { text: 'A', normalized_text: 'lower', confidence: 2, region: null } };
    const res = fromAvro(value);
    assert.equal(res.ok, false);
    assert.match(res.ok ? '' : res.reason, /plate\.normalized_text.*plate\.confidence/);
    assert.equal(fromAvro(null).ok, false);
  });
});

// ---- Wire format -----------------------------------------------------------------------------

describe('wire format', () => {
  it('frames magic byte 0, the big-endian schema id and the payload', () => {
    const buf = encodeConfluent(0x01020304, Buffer.from([0xaa, 0xbb]));
    assert.deepEqual([...buf], [0, 1, 2, 3, 4, 0xaa, 0xbb]);
    assert.deepEqual(parseMessage(buf), { kind: 'avro', schemaId: 0x01020304, payload: Buffer.from([0xaa, 0xbb]) });
    assert.deepEqual(parseMessage(encodeConfluent(0x7fffffff, Buffer.alloc(0))), { kind: 'avro', schemaId: 0x7fffffff, payload: Buffer.alloc(0) });
    assert.deepEqual(parseMessage(new Uint8Array([0, 0, 0, 0, 7, 9])), { kind: 'avro', schemaId: 7, payload: Buffer.from([9]) });
  });

  it('refuses schema ids that are not non-negative 31-bit integers', () => {
    for (const id of [-1, 0x80000000, 1.5, Number.NaN]) assert.throws(() => encodeConfluent(id, Buffer.alloc(0)), RangeError);
    const r = parseMessage(Buffer.from([0, 0xff, 0xff, 0xff, 0xff, 1]));
    assert.equal(r.kind, 'invalid');
    assert.match(r.kind === 'invalid' ? r.reason : '', /out of range/);
  });

  it('calls empty, null and 1-4 byte Avro messages invalid with a reason', () => {
    assert.deepEqual(parseMessage(Buffer.alloc(0)), { kind: 'invalid', reason: 'empty message (0 bytes)' });
    assert.match((parseMessage(null) as { reason: string }).reason, /tombstone/);
    for (let n = 1; n <= 4; n++) {
      const r = parseMessage(Buffer.alloc(n));
      assert.equal(r.kind, 'invalid');
      assert.match(r.kind === 'invalid' ? r.reason : '', new RegExp(`truncated Confluent Avro header: ${n} byte`));
    }
  });

  it('detects JSON after whitespace and a UTF-8 BOM', () => {
    for (const prefix of ['', ' ', '\t\r\n  ', '\uFEFF', '\uFEFF \n']) {
      assert.deepEqual(parseMessage(Buffer.from(`${prefix}{"a":1}`, 'utf8')), { kind: 'json', value: { a: 1 } }, JSON.stringify(prefix));
    }
  });

  it('calls garbage, non-object JSON, broken JSON and bad UTF-8 invalid', () => {
    const reason = (b: Buffer) => {
      const r = parseMessage(b);
      assert.equal(r.kind, 'invalid', b.toString('hex'));
      return r.kind === 'invalid' ? r.reason : '';
    };
    assert.match(reason(Buffer.from([1, 0, 0, 0, 1])), /first byte 0x01.*expected 0x00 \(Confluent Avro\) or '\{' \(JSON\)/);
    assert.match(reason(Buffer.from('[1,2]')), /first byte 0x5b/);
    assert.match(reason(Buffer.from('  "str"')), /first byte 0x22 at offset 2/);
    assert.match(reason(Buffer.from('hello')), /unknown message format/);
    assert.match(reason(Buffer.from('{"a":')), /does not parse/);
    assert.match(reason(Buffer.from('{} trailing')), /does not parse/);
    assert.match(reason(Buffer.from([0x7b, 0x22, 0xff, 0x22, 0x7d])), /not valid UTF-8/);
    assert.match(reason(Buffer.from('  \n ')), /only whitespace/);
    assert.match(reason(Buffer.from([0xef, 0xbb, 0xbf])), /only whitespace\/BOM/);
    // A second BOM is not whitespace.
    assert.match(reason(Buffer.from('\uFEFF\uFEFF{}', 'utf8')), /first byte 0xef at offset 3/);
  });

  it('never throws on random bytes', () => {
    const r = rng(99);
    for (let i = 0; i < 5000; i++) {
      const b = Buffer.from(Array.from({ length: Math.floor(r() * 12) }, () => Math.floor(r() * 256)));
      const res = parseMessage(b);
      assert.ok(['avro', 'json', 'invalid'].includes(res.kind));
    }
  });
});

// ---- Codec -----------------------------------------------------------------------------------

describe('PlateEventCodec', () => {
  it('round-trips many events as Avro and as JSON, each decodable by either codec', async () => {
    const registry = new MemoryRegistry();
    const avroCodec = new PlateEventCodec({ format: 'avro', registry });
    const jsonCodec = new PlateEventCodec({ format: 'json', registry });
    for (const input of [TYPICAL, MINIMAL, ...MANY]) {
      const expected = PlateEvent.parse(input);
      const a = await avroCodec.encode(input);
      const j = await jsonCodec.encode(input);
      assert.equal(a[0], 0);
      assert.equal(j[0], 0x7b);
      for (const codec of [avroCodec, jsonCodec]) {
        const ra = await codec.decode(a);
        const rj = await codec.decode(j);
        assert.ok(ra.ok && rj.ok, `${JSON.stringify(ra)} ${JSON.stringify(rj)}`);
        assert.deepEqual(ra.event, expected);
        assert.deepEqual(rj.event, expected);
        assert.equal(ra.format, 'avro');
        assert.equal(rj.format, 'json');
      }
    }
    // Registered once, under the topic's value subject; our own id never looked up.
    assert.equal(registry.registrations, 1);
    assert.deepEqual([...registry.subjects.keys()], [PLATE_EVENT_SUBJECT]);
    assert.equal(registry.lookups, 1, 'the JSON codec looked our id up once; the Avro codec never');
  });

  it('measures Avro (with its 5-byte header) against JSON', async (t) => {
    const codec = new PlateEventCodec({ format: 'avro', schemaId: 1 });
    const json = new PlateEventCodec({ format: 'json' });
    const sizes = async (events: PlateEventInput[]) => {
      let a = 0;
      let j = 0;
      for (const e of events) {
        a += (await codec.encode(e)).length;
        j += (await json.encode(e)).length;
      }
      return { avro: a / events.length, json: j / events.length, smaller: 1 - a / j };
    };
    const rows = { typical: await sizes([TYPICAL]), minimal: await sizes([MINIMAL]), random500: await sizes(MANY.slice(0, 500)) };
    for (const [name, s] of Object.entries(rows)) {
      const line = `${name}: avro ${s.avro.toFixed(1)} B, json ${s.json.toFixed(1)} B, avro ${(s.smaller * 100).toFixed(1)}% smaller`;
      t.diagnostic(line);
      console.log(`[bus-codec size] ${line}`);
    }
    assert.ok(rows.typical.avro < rows.typical.json);
    assert.ok(rows.minimal.avro < rows.minimal.json);
  });

  it('needs a registry or a schema id for Avro, and validates events before encoding', async () => {
    assert.throws(
      () => new PlateEventCodec({ format: 'avro' }),
      (e: unknown) => e instanceof AlprError && e.code === 'CONFIG_INVALID',
    );
    assert.throws(() => new PlateEventCodec({ format: 'avro', schemaId: -3 }), RangeError);
    for (const format of ['avro', 'json'] as const) {
      const codec = new PlateEventCodec({ format, schemaId: 5 });
      await assert.rejects(codec.encode({ ...MINIMAL, captured_at: 'yesterday' }), (e: unknown) => e instanceof AlprError && e.code === 'EVENT_INVALID');
    }
    // JSON carries lone surrogates (as \u escapes); Avro refuses them rather than altering them.
    const odd = { ...MINIMAL, node: { site: 'x\uDC00y' } };
    const json = new PlateEventCodec({ format: 'json' });
    const back = await json.decode(await json.encode(odd));
    assert.ok(back.ok);
    assert.equal(back.event.node.site, 'x\uDC00y');
    await assert.rejects(new PlateEventCodec({ format: 'avro', schemaId: 5 }).encode(odd), /lone UTF-16 surrogate/);
  });

  it('retries a failed registration on the next encode', async () => {
    const registry = new MemoryRegistry();
    registry.failWith = new AlprError('BUS_UNAVAILABLE', 'down', { retriable: true });
    const codec = new PlateEventCodec({ format: 'avro', registry });
    await assert.rejects(codec.encode(TYPICAL), (e: unknown) => e instanceof AlprError && e.code === 'BUS_UNAVAILABLE');
    registry.failWith = undefined;
    const buf = await codec.encode(TYPICAL);
    assert.equal(buf.readUInt32BE(1), await codec.schemaId());
    assert.equal(registry.registrations, 2);
  });

  it('gives dead-letter reasons, never throws, for malformed messages', async () => {
    const registry = new MemoryRegistry();
    const codec = new PlateEventCodec({ format: 'avro', registry });
    const good = await codec.encode(TYPICAL);
    const id = good.readUInt32BE(1);
    const cases: [Buffer | null, RegExp][] = [
      [null, /tombstone/],
      [Buffer.alloc(0), /empty message/],
      [Buffer.from([0, 0, 0]), /truncated Confluent Avro header/],
      [Buffer.from('garbage'), /unknown message format/],
      [Buffer.from('{"event_id":"x"}'), /JSON event violates the PlateEvent contract: event_id/],
      [good.subarray(0, good.length - 3), /does not decode: truncated buffer/],
      [Buffer.concat([good, Buffer.from([1, 2])]), /does not decode: trailing data/],
      [encodeConfluent(id, Buffer.alloc(0)), /does not decode/],
      [encodeConfluent(4242, good.subarray(5)), /unknown schema id 4242/],
    ];
    for (const [buf, re] of cases) {
      const r = await codec.decode(buf);
      assert.equal(r.ok, false, String(re));
      assert.match(r.ok ? '' : r.reason, re);
      assert.equal(r.ok ? true : r.retriable, false, `${re} is the message's fault`);
    }
    // Random payloads behind our id: a reason or (rarely) a valid event, never a throw.
    const r = rng(7);
    for (let i = 0; i < 3000; i++) {
      const payload = Buffer.from(Array.from({ length: Math.floor(r() * 200) }, () => Math.floor(r() * 256)));
      const res = await codec.decode(encodeConfluent(id, payload));
      if (!res.ok) assert.equal(res.retriable, false);
    }
  });

  it('reports registry outages as retriable (not dead-letter) and recovers', async () => {
    const registry = new MemoryRegistry();
    const writer = new PlateEventCodec({ format: 'avro', registry });
    const msg = await writer.encode(TYPICAL);
    const reader = new PlateEventCodec({ format: 'json', registry });
    registry.failWith = new AlprError('BUS_UNAVAILABLE', 'schema registry unreachable', { retriable: true });
    const down = await reader.decode(msg);
    assert.deepEqual(down, {
      ok: false,
      reason: `writer schema ${msg.readUInt32BE(1)} not available: schema registry unreachable`,
      retriable: true,
      schemaId: msg.readUInt32BE(1),
    });
    // A bare 404 without the registry's 40403 (wrong base path) is not the message's fault either.
    registry.failWith = new AlprError('SCHEMA_NOT_FOUND', 'answered 404: Not Found', { details: { status: 404 } });
    assert.equal(((await reader.decode(msg)) as { retriable: boolean }).retriable, true);
    registry.failWith = undefined;
    const up = await reader.decode(msg);
    assert.ok(up.ok);
  });

  describe('writer-schema evolution', () => {
    type Field = { name: string; type: unknown; default?: unknown };
    type RecordSchema = { type: 'record'; name: string; namespace?: string; fields: Field[] };
    const clone = (): RecordSchema => JSON.parse(PLATE_EVENT_AVRO_SCHEMA_TEXT) as RecordSchema;
    const sub = (s: RecordSchema, name: string) => s.fields.find((f) => f.name === name)!.type as RecordSchema;

    it('decodes an older writer without optional fields, filling defaults', async () => {
      const old = clone();
      old.fields = old.fields.filter((f) => f.name !== 'latency_ms' && f.name !== 'extras');
      sub(old, 'node').fields = sub(old, 'node').fields.filter((f) => f.name !== 'host');
      sub(old, 'plate').fields = sub(old, 'plate').fields.filter((f) => f.name !== 'region');
      const registry = new MemoryRegistry();
      const id = registry.add(old);
      const oldType = avroType(old as avro.Schema);
      const full = toAvro(TYPICAL);
      const value = {
        event_id: full.event_id,
        captured_at: full.captured_at,
        camera_id: full.camera_id,
        track_id: full.track_id,
        plate: { text: full.plate.text, normalized_text: full.plate.normalized_text, confidence: full.plate.confidence },
        vehicle: full.vehicle,
        images: full.images,
        node: { site: full.node.site },
      };
      const codec = new PlateEventCodec({ format: 'json', registry });
      const res = await codec.decode(encodeConfluent(id, oldType.toBuffer(value)));
      assert.ok(res.ok, res.ok ? '' : res.reason);
      const expected = PlateEvent.parse({
        ...TYPICAL,
        latency_ms: null,
        extras: undefined,
        node: { site: TYPICAL.node?.site },
        plate: { ...TYPICAL.plate, region: null },
      });
      assert.deepEqual(res.event, expected);
      assert.deepEqual(res.event.extras, { roi: null, direction: null, quality_score: null, frame_number: null, char_confidences: null });
      assert.equal(res.schemaId, id);
    });

    it('decodes events of the first release (extras without char_confidences) with the characters unknown', async () => {
      const first = clone();
      sub(first, 'extras').fields = sub(first, 'extras').fields.filter((f) => f.name !== 'char_confidences');
      const registry = new MemoryRegistry();
      const id = registry.add(first);
      const full = toAvro(TYPICAL);
      const { char_confidences: _dropped, ...oldExtras } = full.extras;
      const res = await new PlateEventCodec({ format: 'json', registry }).decode(
        encodeConfluent(id, avroType(first as avro.Schema).toBuffer({ ...full, extras: oldExtras })),
      );
      assert.ok(res.ok, res.ok ? '' : res.reason);
      assert.deepEqual(res.event.extras, { ...PlateEvent.parse(TYPICAL).extras, char_confidences: null });
    });

    it('decodes a newer writer with fields this reader does not know, skipping them', async () => {
      const next = clone();
      next.fields.push({ name: 'speed_kmh', type: ['null', 'double'], default: null });
      next.fields.push({ name: 'lane', type: ['null', { type: 'record', name: 'Lane', fields: [{ name: 'index', type: 'int' }] }], default: null });
      sub(next, 'vehicle').fields.push({ name: 'year', type: ['null', 'int'], default: null });
      const registry = new MemoryRegistry();
      const id = registry.add(next);
      const nextType = avroType(next as avro.Schema);
      const full = toAvro(TYPICAL);
      const value = { ...full, speed_kmh: 48.5, lane: { index: 2 }, vehicle: { ...full.vehicle, year: 2019 } };
      const res = await new PlateEventCodec({ format: 'json', registry }).decode(encodeConfluent(id, nextType.toBuffer(value)));
      assert.ok(res.ok, res.ok ? '' : res.reason);
      assert.deepEqual(res.event, PlateEvent.parse(TYPICAL));
    });

    it('dead-letters messages whose writer schema cannot be resolved, caching the verdict', async () => {
      const registry = new MemoryRegistry();
      const incompatible = clone();
      incompatible.fields.find((f) => f.name === 'camera_id')!.type = 'int';
      const badId = registry.add(incompatible);
      const renamed = clone();
      renamed.name = 'SomethingElse';
      const renamedId = registry.add(renamed);
      const noRequired = clone();
      noRequired.fields = noRequired.fields.filter((f) => f.name !== 'camera_id');
      const noRequiredId = registry.add(noRequired);
      const notJson = registry.add('{not json');
      const notAvro = registry.add('{"type":"record"}');
      const proto = registry.add('syntax = "proto3"; message PlateEvent {}', 'PROTOBUF');
      const codec = new PlateEventCodec({ format: 'json', registry });
      const payload = Buffer.from([2, 0x41]);
      const expect: [number, RegExp][] = [
        [badId, /writer schema \d+ is incompatible with the PlateEvent reader schema/],
        [renamedId, /incompatible/],
        [noRequiredId, /incompatible/],
        [notJson, /is not a valid Avro schema/],
        [notAvro, /is not a valid Avro schema/],
        [proto, /is PROTOBUF, not AVRO/],
      ];
      for (const [id, re] of expect) {
        for (let i = 0; i < 2; i++) {
          const r = await codec.decode(encodeConfluent(id, payload));
          assert.equal(r.ok, false);
          assert.match(r.ok ? '' : r.reason, re);
          assert.equal(r.ok ? undefined : r.retriable, false);
        }
      }
      assert.equal(registry.lookups, expect.length, 'each writer schema fetched once');
    });

    it('rejects (as a reason) records that resolve but break the contract', async () => {
      const loose = clone();
      const registry = new MemoryRegistry();
      const id = registry.add(loose);
      const value = { ...toAvro(TYPICAL), camera_id: '' };
      const res = await new PlateEventCodec({ format: 'json', registry }).decode(encodeConfluent(id, plateEventAvroType.toBuffer(value)));
      assert.equal(res.ok, false);
      assert.match(res.ok ? '' : res.reason, /Avro event \(schema \d+\): event violates the PlateEvent contract: camera_id/);
    });
  });
});
