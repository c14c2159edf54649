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
