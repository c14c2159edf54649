/**
 * Kafka message framing for plate events. Two formats share the topic and the consumer tells
 * them apart by the first byte:
 * - Confluent wire format: magic byte 0, the schema id as a 4-byte big-endian int, then the
 *   Avro binary of the record (written with that schema).
 * - JSON: a UTF-8 JSON object, optionally after a UTF-8 BOM and JSON whitespace.
 * Anything else is `invalid` with a reason a person can act on (it goes to the dead-letter topic).
 */

export const CONFLUENT_MAGIC_BYTE = 0;
export const CONFLUENT_HEADER_BYTES = 5;
/** Schema ids are Java ints in the registry; negative ids are never assigned. */
export const MAX_SCHEMA_ID = 0x7fffffff;

export type ParsedMessage = { kind: 'avro'; schemaId: number; payload: Buffer } | { kind: 'json'; value: unknown } | { kind: 'invalid'; reason: string };

/** Frames an Avro payload as magic byte + schema id + payload. */
export function encodeConfluent(schemaId: number, payload: Buffer | Uint8Array): Buffer {
  if (!Number.isInteger(schemaId) || schemaId < 0 || schemaId > MAX_SCHEMA_ID) {
    throw new RangeError(`schema id must be an integer in 0..${MAX_SCHEMA_ID}, got ${schemaId}`);
  }
  const out = Buffer.allocUnsafe(CONFLUENT_HEADER_BYTES + payload.length);
  out.writeUInt8(CONFLUENT_MAGIC_BYTE, 0);
  out.writeUInt32BE(schemaId, 1);
  out.set(payload, CONFLUENT_HEADER_BYTES);
  return out;
}

const BOM = [0xef, 0xbb, 0xbf];
const isJsonSpace = (b: number) => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;
const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

const hex = (b: number) => `0x${b.toString(16).padStart(2, '0')}`;

/**
 * Classifies one Kafka message value. Never throws. For `avro` the payload is a view into
 * `buf` (no copy); for `json` the value is parsed but not validated against the contract.
 */
export function parseMessage(buf: Buffer | Uint8Array | null | undefined): ParsedMessage {
  if (buf === null || buf === undefined) return { kind: 'invalid', reason: 'message has no value (null or tombstone)' };
  const b = Buffer.isBuffer(buf) ? buf : Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength);
  if (b.length === 0) return { kind: 'invalid', reason: 'empty message (0 bytes)' };

  if (b[0] === CONFLUENT_MAGIC_BYTE) {
    if (b.length < CONFLUENT_HEADER_BYTES) {
      return {
        kind: 'invalid',
        reason: `truncated Confluent Avro header: ${b.length} byte(s), need at least ${CONFLUENT_HEADER_BYTES} (magic byte + 4-byte schema id)`,
      };
    }
    const schemaId = b.readUInt32BE(1);
    if (schemaId > MAX_SCHEMA_ID) return { kind: 'invalid', reason: `Confluent Avro header has schema id ${schemaId}, out of range 0..${MAX_SCHEMA_ID}` };
    return { kind: 'avro', schemaId, payload: b.subarray(CONFLUENT_HEADER_BYTES) };
  }

  let start = 0;
  if (b.length >= 3 && b[0] === BOM[0] && b[1] === BOM[1] && b[2] === BOM[2]) start = 3;
  while (start < b.length && isJsonSpace(b[start])) start++;
  if (start < b.length && b[start] === 0x7b /* { */) {
    let text: string;
    try {
      text = utf8.decode(b.subarray(start));
    } catch {
      return { kind: 'invalid', reason: 'message looks like JSON but is not valid UTF-8' };
    }
    try {
      return { kind: 'json', value: JSON.parse(text) as unknown };
    } catch (err) {
      return { kind: 'invalid', reason: `message looks like JSON but does not parse: ${(err as Error).message}` };
    }
  }
  if (start === b.length) return { kind: 'invalid', reason: `message holds only whitespace/BOM (${b.length} bytes)` };
  return {
    kind: 'invalid',
    reason: `unknown message format: first byte ${hex(b[start])}${start > 0 ? ` at offset ${start}` : ''}, expected ${hex(CONFLUENT_MAGIC_BYTE)} (Confluent Avro) or '{' (JSON)`,
  };
}
