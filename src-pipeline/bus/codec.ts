/**
 * PlateEventCodec: turns plate events into Kafka message values and back.
 *
 * Encoding writes the configured format: Avro in the Confluent wire format (schema id from the
 * registry, registered once per codec unless a known id is given) or JSON. Decoding accepts
 * both, whatever the configured format, telling them apart per message (wire-format.ts).
 *
 * Decoding never throws. A message that cannot become a valid PlateEvent gives
 * `{ ok: false, reason, retriable: false }`: the consumer sends it to the dead-letter topic with
 * the reason. `retriable: true` means the message could not be judged because the registry is
 * unreachable or misconfigured (outage, credentials, wrong URL): the consumer must not
 * dead-letter it, but pause and retry without committing.
 *
 * Avro messages are read with the writer schema named by their id (fetched from the registry,
 * cached) resolved against our reader schema, so older producers (fields missing: defaults)
 * and newer ones (extra fields: skipped) both decode; a writer schema that cannot be resolved
 * (a type changed, a field without default removed) is a dead-letter reason.
 */
import type avro from 'avsc';
import { AlprError } from '../common/errors.js';
import { PlateEvent, type PlateEventInput } from '../common/plate-event.js';
import { avroType, describeZodError, fromAvro, PLATE_EVENT_AVRO_SCHEMA_TEXT, PLATE_EVENT_SUBJECT, plateEventAvroType, toAvro } from './plate-event-avro.js';
import type { SchemaLookup } from './schema-registry.js';
import { encodeConfluent, parseMessage } from './wire-format.js';

export type BusFormat = 'avro' | 'json';

export interface PlateEventCodecOptions {
  /** What encode() writes. decode() reads both. */
  format: BusFormat;
  /** Needed to encode Avro (unless schemaId is given) and to decode Avro messages. */
  registry?: SchemaLookup;
  /** Registry subject for our schema; default `alpr.plates.detected-value`. */
  subject?: string;
  /** Id of our schema when already registered: encode() then never calls the registry. */
  schemaId?: number;
}

export type DecodeResult =
  { ok: true; event: PlateEvent; format: BusFormat; schemaId?: number } | { ok: false; reason: string; retriable: boolean; schemaId?: number };

type ReaderEntry = { ok: true; resolver: avro.Resolver } | { ok: false; reason: string };

const errorMessage = (err: unknown) => (err instanceof Error ? err.message : String(err));

export class PlateEventCodec {
  readonly format: BusFormat;
  readonly subject: string;
  readonly #registry: SchemaLookup | undefined;
  #schemaId: Promise<number> | undefined;
  /** Per writer schema id: a resolver, or the (permanent) reason it cannot be read. */
  readonly #readers = new Map<number, Promise<ReaderEntry>>();

  constructor(opts: PlateEventCodecOptions) {
    this.format = opts.format;
    this.subject = opts.subject ?? PLATE_EVENT_SUBJECT;
    this.#registry = opts.registry;
    if (opts.schemaId !== undefined) {
      encodeConfluent(opts.schemaId, Buffer.alloc(0)); // validates the id
      this.#schemaId = Promise.resolve(opts.schemaId);
      // Our own id needs no registry round trip to decode.
      this.#readers.set(opts.schemaId, Promise.resolve({ ok: true, resolver: plateEventAvroType.createResolver(plateEventAvroType) }));
    }
    if (this.format === 'avro' && !this.#registry && opts.schemaId === undefined) {
      throw new AlprError('CONFIG_INVALID', 'Avro plate events need a schema registry (or a known schema id)');
    }
  }

  /**
   * The message value for `event`. Throws EVENT_INVALID for an event that breaks the contract
   * and the registry's AlprError (BUS_UNAVAILABLE, SCHEMA_INCOMPATIBLE, …) when registering
   * our schema fails; a failed registration is tried again on the next call.
   */
  async encode(event: PlateEventInput): Promise<Buffer> {
    if (this.format === 'json') {
      const parsed = PlateEvent.safeParse(event);
      if (!parsed.success) throw new AlprError('EVENT_INVALID', `plate event does not match the contract: ${describeZodError(parsed.error)}`);
      return Buffer.from(JSON.stringify(parsed.data), 'utf8');
    }
    const payload = plateEventAvroType.toBuffer(toAvro(event));
    return encodeConfluent(await this.schemaId(), payload);
  }

  /** Our schema's registry id (registers it on first use). */
  schemaId(): Promise<number> {
    if (!this.#schemaId) {
      const registry = this.#registry;
      if (!registry) return Promise.reject(new AlprError('CONFIG_INVALID', 'no schema registry configured'));
      const p = registry.register(this.subject, PLATE_EVENT_AVRO_SCHEMA_TEXT);
      this.#schemaId = p;
      p.then(
        (id) => this.#readers.set(id, Promise.resolve({ ok: true, resolver: plateEventAvroType.createResolver(plateEventAvroType) })),
        () => {
          if (this.#schemaId === p) this.#schemaId = undefined;
        },
      );
    }
    return this.#schemaId;
  }

  /** One message value to an event, or the reason it is not one. Never throws. */
  async decode(value: Buffer | Uint8Array | null | undefined): Promise<DecodeResult> {
    const msg = parseMessage(value);
    switch (msg.kind) {
      case 'invalid':
        return { ok: false, reason: msg.reason, retriable: false };
      case 'json': {
        const parsed = PlateEvent.safeParse(msg.value);
        if (!parsed.success) return { ok: false, reason: `JSON event violates the PlateEvent contract: ${describeZodError(parsed.error)}`, retriable: false };
        return { ok: true, event: parsed.data, format: 'json' };
      }
      case 'avro': {
        const { schemaId, payload } = msg;
        let reader: ReaderEntry;
        try {
          reader = await this.#reader(schemaId);
        } catch (err) {
          return { ok: false, reason: `writer schema ${schemaId} not available: ${errorMessage(err)}`, retriable: true, schemaId };
        }
        if (!reader.ok) return { ok: false, reason: reader.reason, retriable: false, schemaId };
        let raw: unknown;
        try {
          raw = plateEventAvroType.fromBuffer(payload, reader.resolver);
        } catch (err) {
          return {
            ok: false,
            reason: `Avro payload (schema ${schemaId}, ${payload.length} bytes) does not decode: ${errorMessage(err)}`,
            retriable: false,
            schemaId,
          };
        }
        const res = fromAvro(raw);
        if (!res.ok) return { ok: false, reason: `Avro event (schema ${schemaId}): ${res.reason}`, retriable: false, schemaId };
        return { ok: true, event: res.event, format: 'avro', schemaId };
      }
    }
  }

  /**
   * The resolver for writer schema `id`. Rejects (not cached) when the registry cannot answer;
   * failures that are the message's (id unknown to the registry, not Avro, unreadable or
   * incompatible writer schema) are cached entries with a reason.
   */
  #reader(id: number): Promise<ReaderEntry> {
    const hit = this.#readers.get(id);
    if (hit) return hit;
    const registry = this.#registry;
    if (!registry) return Promise.resolve({ ok: false, reason: `unknown schema id ${id}: no schema registry configured` });
    const p = registry.getSchemaById(id).then(
      (found): ReaderEntry => {
        if (found.schemaType.toUpperCase() !== 'AVRO') return { ok: false, reason: `schema ${id} is ${found.schemaType}, not AVRO` };
        let writer: avro.Type;
        try {
          writer = avroType(found.schema);
        } catch (err) {
          return { ok: false, reason: `writer schema ${id} is not a valid Avro schema: ${errorMessage(err)}` };
        }
        try {
          return { ok: true, resolver: plateEventAvroType.createResolver(writer) };
        } catch (err) {
          return { ok: false, reason: `writer schema ${id} is incompatible with the PlateEvent reader schema: ${errorMessage(err)}` };
        }
      },
      (err: unknown): ReaderEntry => {
        // Only the registry's own "schema not found" (error code 40403) blames the message. A
        // bare 404 (wrong base path), bad credentials or an outage would otherwise dead-letter
        // every message: those reject, and decode() reports them as retriable.
        if (err instanceof AlprError && err.code === 'SCHEMA_NOT_FOUND' && err.details?.errorCode === 40403) {
          return { ok: false, reason: `unknown schema id ${id}: ${err.message}` };
        }
        throw err;
      },
    );
    this.#readers.set(id, p);
    p.catch(() => {
      if (this.#readers.get(id) === p) this.#readers.delete(id);
    });
    return p;
  }
}
