/**
 * The privacy switch shared by both stores: plates that no hotlist keeps are stored only as a
 * keyed hash (HMAC-SHA256, hex, prefixed `#`), in both the text and the normalized column.
 * A keyed hash (not a plain SHA-256) because plates are a small space: without the key
 * anyone could hash every possible plate and reverse the column. With the key, an operator
 * who types an exact plate can still find its events (the query is hashed the same way),
 * while partial and fuzzy search cannot match hashed rows: that is the point of the switch.
 */
import { createHmac } from 'node:crypto';
import { normalizePlate } from '../common/plate-text.js';

export interface PrivacyOptions {
  /** HMAC key; keep it out of the database (config/secret store). */
  key: string | Buffer;
  /** True for plates stored in clear (e.g. on a hotlist); default: none are kept. */
  keep?: (normalized: string) => boolean;
}

/** Prefix of a hashed plate: outside [A-Z0-9], so no pattern or range query ever matches it. */
export const HASH_PREFIX = '#';

export function isHashedPlate(value: string): boolean {
  return value.startsWith(HASH_PREFIX);
}

export function hashPlate(key: string | Buffer, normalized: string): string {
  return HASH_PREFIX + createHmac('sha256', key).update(normalized, 'utf8').digest('hex');
}

export interface StoredPlate {
  text: string;
  normalized: string;
}

export class PlatePrivacy {
  private readonly key: string | Buffer;
  private readonly keep: (normalized: string) => boolean;

  constructor(opts: PrivacyOptions) {
    if (typeof opts.key === 'string' ? opts.key.length === 0 : opts.key.length === 0) throw new Error('privacy key must not be empty');
    this.key = opts.key;
    this.keep = opts.keep ?? (() => false);
  }

  /** What goes into the text columns for a plate read. */
  stored(text: string, normalized: string): StoredPlate {
    if (this.keep(normalized)) return { text, normalized };
    const h = hashPlate(this.key, normalized);
    return { text: h, normalized: h };
  }

  /**
   * The column values an exact query must match: the clear plate and its hash, since keep()
   * may have changed (a plate added to or removed from a hotlist) since the rows were written.
   */
  lookup(plate: string): string[] {
    const n = normalizePlate(plate);
    return [n, hashPlate(this.key, n)];
  }
}

/** Exact-lookup forms of a plate with or without privacy: the store's one entry point. */
export function plateLookupForms(plate: string, privacy: PlatePrivacy | null): string[] {
  return privacy ? privacy.lookup(plate) : [normalizePlate(plate)];
}
