/**
 * The ImageStore stage: where plate crops, vehicle shots and frames live. The embedded
 * default is LocalImageStore (a folder the API serves under `/images/`); S3ImageStore
 * (s3-image-store.ts, S3/MinIO/SeaweedFS) implements the same interface.
 *
 * Privacy: file names and URLs carry only the event id and the kind of image, never the
 * plate text, so with the privacy switch on (plates stored only as a keyed hash) nothing on
 * disk or in a URL gives the plate away. The optional ImageMetadata passed to put() may carry the
 * plate text: stores that keep it (S3 user metadata) must be told not to when privacy is on.
 */
import { AlprError } from '../common/errors.js';

export type ImageKind = 'plate' | 'vehicle' | 'frame';

export const IMAGE_KINDS: readonly ImageKind[] = ['plate', 'vehicle', 'frame'];

/** What a removal (by URL, by age or by size) did. */
export interface ImageRemoval {
  /** Files removed. */
  deleted: number;
  /** Their bytes (0 where a store cannot tell). */
  freedBytes: number;
  /** The URLs of the removed files, oldest first for prunes. */
  urls: string[];
  /** Files that could not be removed (permissions, I/O); they stay and count in usage(). */
  failed: number;
}

/**
 * Optional facts about an image that a store may keep next to it (S3: object user metadata;
 * the local store ignores it). `plate_text` is the plain plate: a store only keeps it when its
 * owner allows it (privacy off), see S3ImageStoreOptions.includePlateText.
 */
export interface ImageMetadata {
  camera_id?: string;
  track_id?: string;
  plate_text?: string;
  quality_score?: number;
  frame_number?: number;
}

export interface ImageUsage {
  bytes: number;
  files: number;
}

export interface ImageStore {
  readonly kind: 'local' | 's3';
  /**
   * Stores one JPEG for an event and returns the URL the API serves it under, e.g.
   * `/images/2024/05/01/<eventId>-plate.jpg` (the day is the UTC day of `capturedAt`).
   * Storing the same event and kind again replaces the file. `meta` is optional and only kept
   * by stores that can (the local store ignores it).
   */
  put(kind: ImageKind, eventId: string, capturedAt: string, jpeg: Buffer, meta?: ImageMetadata): Promise<string>;
  /** Removes the files behind these URLs; returns how many were removed. URLs that are not this store's (or unsafe) are skipped. */
  delete(urls: readonly string[]): Promise<number>;
  /** The same as delete, with the bytes freed and which URLs went. */
  remove(urls: readonly string[]): Promise<ImageRemoval>;
  /** Bytes and files held now. */
  usage(): Promise<ImageUsage>;
  /** Removes the oldest images (by capture time) until at most `maxBytes` are held. */
  pruneToBytes(maxBytes: number): Promise<ImageRemoval>;
  /** Removes every image captured before `date`. */
  pruneOlderThan(date: Date): Promise<ImageRemoval>;
}

const EVENT_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/;

function pad(n: number, width = 2): string {
  return String(n).padStart(width, '0');
}

/** `YYYY/MM/DD` of a time's UTC day: the folder (or key prefix) images of that day live under. */
export function dayPath(t: number): string {
  const d = new Date(t);
  return `${pad(d.getUTCFullYear(), 4)}/${pad(d.getUTCMonth() + 1)}/${pad(d.getUTCDate())}`;
}

/**
 * Checks put()'s arguments the same way for every store and gives the image's relative key
 * `YYYY/MM/DD/<eventId>-<kind>.jpg` and its capture time (ms).
 */
export function imageKey(kind: ImageKind, eventId: string, capturedAt: string, jpeg: Buffer): { key: string; capturedAtMs: number } {
  if (!IMAGE_KINDS.includes(kind)) throw new AlprError('USAGE', `image kind must be one of ${IMAGE_KINDS.join(', ')}, got "${String(kind)}"`);
  if (typeof eventId !== 'string' || !EVENT_ID.test(eventId))
    throw new AlprError('USAGE', 'event id must be 1-128 letters, digits, "-" or "_" to name an image file');
  const t = Date.parse(capturedAt);
  if (!Number.isFinite(t)) throw new AlprError('USAGE', `captured_at is not a date: "${capturedAt}"`);
  if (!Buffer.isBuffer(jpeg)) throw new AlprError('USAGE', 'image bytes must be a Buffer');
  return { key: `${dayPath(t)}/${eventId}-${kind}.jpg`, capturedAtMs: t };
}
