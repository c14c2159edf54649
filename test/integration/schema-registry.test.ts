/**
 * SchemaRegistryClient and PlateEventCodec against a REAL Confluent-compatible schema registry
 * (Confluent, Apicurio's /apis/ccompat/v7, Karapace, Redpanda), named by
 * OVR_ALPR_SCHEMA_REGISTRY_URL (may carry user:pass@ for basic auth). Each run uses fresh,
 * random subject names, so it can share a registry with other runs.
 *
 * The registry comes from scripts/services.sh (started by .ci/run); without it the file fails in
 * CI and skips loudly elsewhere.
 */
import { before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { AlprError } from '../../src-pipeline/common/errors.js';
import { PlateEvent } from '../../src-pipeline/common/plate-event.js';
import { PlateEventCodec } from '../../src-pipeline/bus/codec.js';
import { PLATE_EVENT_AVRO_SCHEMA_TEXT, avroType } from '../../src-pipeline/bus/plate-event-avro.js';
import { SchemaRegistryClient } from '../../src-pipeline/bus/schema-registry.js';
import { encodeConfluent } from '../../src-pipeline/bus/wire-format.js';
import { registrySkip } from '../support/services.js';
import { freePort } from '../support/tools.js';

const URL_ENV = 'OVR_ALPR_SCHEMA_REGISTRY_URL';
const registryUrl = process.env[URL_ENV];
const skip = registrySkip('test/integration/schema-registry.test.ts');

type Field = { name: string; type: unknown; default?: unknown };
type RecordSchema = { type: 'record'; name: string; namespace?: string; fields: Field[] };
const ours = (): RecordSchema => JSON.parse(PLATE_EVENT_AVRO_SCHEMA_TEXT) as RecordSchema;

const EVENT = PlateEvent.parse({
  event_id: '9b2f4c1e-0d3a-4f6b-8e7c-2a1d5f9e3b60',
  captured_at: '2026-11-29T08:15:00.250+03:00',
  camera_id: 'gate-south-02',
  track_id: 17,
  plate: { text: '06 KLM 4521', normalized_text: '06KLM4521', confidence: 0.91, region: 'TR' },
  node: { site: 'Ankara Depo', host: 'edge-02' },
});

const isCode = (code: string) => (err: unknown) => err instanceof AlprError && err.code === code;

describe('schema registry (real)', { skip }, () => {
  let client: SchemaRegistryClient;
  const subject = `ovr-alpr-test-${randomUUID()}-value`;

  before(() => {
    client = new SchemaRegistryClient({ url: registryUrl!, timeoutMs: 15_000 });
  });

  it('never shows credentials from the URL', () => {
    const withCreds = new SchemaRegistryClient({ url: 'http://alice:s3cr3t@registry.invalid:8081/' });
    assert.equal(withCreds.url, 'http://registry.invalid:8081');
    assert.ok(!String(withCreds).includes('s3cr3t'));
    assert.ok(!client.url.includes('@'));
  });

  it('registers our schema, idempotently, and serves it back by id (cached)', async () => {
    const id = await client.register(subject, PLATE_EVENT_AVRO_SCHEMA_TEXT);
    assert.ok(Number.isInteger(id) && id >= 0);
    assert.equal(await client.register(subject, PLATE_EVENT_AVRO_SCHEMA_TEXT), id);
    const fresh = new SchemaRegistryClient({ url: registryUrl! });
    const got = await fresh.getSchemaById(id);
    assert.equal(got.id, id);
    assert.equal(got.schemaType.toUpperCase(), 'AVRO');
    // The registry may normalise the text; it must still be our schema.
    assert.equal(avroType(got.schema).fingerprint().toString('hex'), avroType(PLATE_EVENT_AVRO_SCHEMA_TEXT).fingerprint().toString('hex'));
    assert.strictEqual(fresh.getSchemaById(id), fresh.getSchemaById(id), 'second lookup comes from the cache');
  });

  it('sets BACKWARD and judges evolutions by it', async () => {
    assert.equal(await client.setCompatibility(subject, 'BACKWARD'), 'BACKWARD');
    const optionalAdded = ours();
    optionalAdded.fields.push({ name: 'speed_kmh', type: ['null', 'double'], default: null });
    assert.equal((await client.checkCompatibility(subject, optionalAdded)).compatible, true);

    const requiredAdded = ours();
    requiredAdded.fields.push({ name: 'lane', type: 'int' });
    const verdict = await client.checkCompatibility(subject, requiredAdded);
    assert.equal(verdict.compatible, false);
    await assert.rejects(client.register(subject, requiredAdded), isCode('SCHEMA_INCOMPATIBLE'));

    const v2 = await client.register(subject, optionalAdded);
    assert.notEqual(v2, await client.register(subject, PLATE_EVENT_AVRO_SCHEMA_TEXT));
  });

  it('treats a subject without versions as compatible with anything', async () => {
    assert.equal((await client.checkCompatibility(`ovr-alpr-test-${randomUUID()}-value`, PLATE_EVENT_AVRO_SCHEMA_TEXT)).compatible, true);
  });

  it('answers SCHEMA_NOT_FOUND for an unknown id and BUS_UNAVAILABLE when unreachable', async () => {
    await assert.rejects(client.getSchemaById(2_000_000_000), isCode('SCHEMA_NOT_FOUND'));
    const dead = new SchemaRegistryClient({ url: `http://127.0.0.1:${await freePort()}/`, timeoutMs: 2000 });
    await assert.rejects(dead.getSchemaById(1), (err: unknown) => isCode('BUS_UNAVAILABLE')(err) && (err as AlprError).retriable);
  });

  it('carries events end to end: producer codec registers, consumer codec resolves writer schemas', async () => {
    const topicSubject = `ovr-alpr-test-${randomUUID()}-value`;
    const producer = new PlateEventCodec({ format: 'avro', registry: client, subject: topicSubject });
    const consumer = new PlateEventCodec({ format: 'json', registry: new SchemaRegistryClient({ url: registryUrl! }) });
    const msg = await producer.encode(EVENT);
    const back = await consumer.decode(msg);
    assert.ok(back.ok, back.ok ? '' : back.reason);
    assert.deepEqual(back.event, EVENT);

    // A newer producer (extra optional field) registered in the same subject still decodes.
    const next = ours();
    next.fields.push({ name: 'speed_kmh', type: ['null', 'double'], default: null });
    const nextId = await client.register(topicSubject, next);
    const nextType = avroType(JSON.stringify(next));
    const res = await consumer.decode(encodeConfluent(nextId, nextType.toBuffer({ ...EVENT, speed_kmh: 51 })));
    assert.ok(res.ok, res.ok ? '' : res.reason);
    assert.deepEqual(res.event, EVENT);

    const unknown = await consumer.decode(encodeConfluent(2_000_000_001, Buffer.from([0])));
    assert.equal(unknown.ok, false);
    assert.match(unknown.ok ? '' : unknown.reason, /unknown schema id 2000000001/);
    assert.equal(unknown.ok ? undefined : unknown.retriable, false);
  });
});
