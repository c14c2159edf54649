/**
 * S3 for event pictures, as `serve` and `api` use it: opens the S3ImageStore from
 * config/images.yaml (never checking the server at open: an S3 outage must not stop a server
 * from starting) and, on the edge, the upload cache that feeds it. `S3ImageAccess` is what the
 * API needs: presigned GETs, the cached copy of a picture, and the queue's numbers.
 */
import { join } from 'node:path';
import type { EventSink } from '../sinks/event-sink.js';
import { ImageUploadSink } from '../sinks/image-upload-sink.js';
import type { SinkLog } from '../sinks/log.js';
import { loadImagesConfig, type LoadedImagesConfig } from './images-config-loader.js';
import { openS3ImageStore, type S3ImageStore } from './s3-image-store.js';
import { openImageUploadQueue, type ImageUploadQueue, type ImageUploadStats } from './upload-queue.js';

export interface S3ImageAccess {
  readonly bucket: string;
  /** Lifetime of the presigned URLs handed out. */
  readonly presignExpiryS: number;
  /** The object key of one of this bucket's `s3://` URLs, or null. */
  keyOf(url: string): string | null;
  presignedGetUrl(url: string, expirySeconds?: number): Promise<string>;
  /** The edge's cached copy of a picture (pending upload or recently uploaded), or null. */
  localFile(url: string): Promise<string | null>;
  /** The upload queue's numbers; null where nothing is uploaded (the backend `api`). */
  uploads(): ImageUploadStats | null;
  /** One cheap request for /health. */
  ping(timeoutMs: number): Promise<void>;
  readonly endpoint: string;
}

export interface S3Images {
  store: S3ImageStore;
  /** The upload cache (edge only). */
  queue: ImageUploadQueue | null;
  access: S3ImageAccess;
  includePlateText: boolean;
  /** Stops the queue (uploads in flight get `drainMs`); pending pictures stay on disk for the next start. */
  close(drainMs?: number): Promise<void>;
}

/** Null when config/images.yaml does not enable S3. `cacheDir` (the edge) adds the upload queue. */
export async function openS3Images(loaded: LoadedImagesConfig, opts: { cacheDir?: string; log?: SinkLog; privacy?: boolean } = {}): Promise<S3Images | null> {
  const { config, credentials } = loaded;
  if (!config.s3.enabled || !credentials) return null;
  const includePlateText = config.s3.include_plate_text && !opts.privacy;
  const store = await openS3ImageStore({
    endpoint: config.s3.endpoint,
    region: config.s3.region,
    bucket: config.s3.bucket,
    accessKey: credentials.accessKey,
    secretKey: credentials.secretKey,
    pathStyle: config.s3.path_style,
    createBucket: config.s3.create_bucket,
    includePlateText,
    checkBucket: false,
    concurrency: config.upload.concurrency,
    requestTimeoutMs: config.s3.request_timeout_ms,
    // The queue is the retry loop (it keeps a picture until it lands); one try per call here.
    retry: { attempts: 1, initialMs: 100, maxMs: 100 },
  });
  const queue = opts.cacheDir
    ? await openImageUploadQueue({
        dir: opts.cacheDir,
        target: store,
        concurrency: config.upload.concurrency,
        retryInitialMs: config.upload.retry_initial_ms,
        retryMaxMs: config.upload.retry_max_ms,
        retentionHours: config.cache.retention_hours,
        maxCacheBytes: Math.floor(config.cache.max_mb * 1024 * 1024),
        log: opts.log,
      })
    : null;
  // The edge creates a missing bucket now, in the background (never blocking the start: S3 may be
  // down), so /health does not report it missing until the first upload; the queue retries it anyway.
  if (queue && config.s3.create_bucket) void store.ensureBucket().catch(() => undefined);
  const access: S3ImageAccess = {
    bucket: store.bucket,
    endpoint: store.endpoint,
    presignExpiryS: config.s3.presign_expiry_s,
    keyOf: (url) => store.keyOf(url),
    presignedGetUrl: (url, s = config.s3.presign_expiry_s) => store.presignedGetUrl(url, s),
    localFile: async (url) => (queue ? queue.localFile(url) : null),
    uploads: () => queue?.stats() ?? null,
    ping: (ms) => store.ping(ms),
  };
  return { store, queue, access, includePlateText, close: async (drainMs) => queue?.close(drainMs) };
}

/** `<dataDir>/image-uploads`: the edge's upload cache. */
export function uploadCacheDir(dataDir: string): string {
  return join(dataDir, 'image-uploads');
}

export interface ServeImages {
  access: S3ImageAccess;
  /** Wraps the pipeline's sink so events carry `s3://` URLs and pictures go through the upload cache. */
  wrap(sink: EventSink): EventSink;
  close(drainMs?: number): Promise<void>;
}

/**
 * config/images.yaml for `serve` and `api`: null when S3 is off. With `uploads` (a server that
 * runs the pipeline) the upload cache under `<dataDir>/image-uploads` is opened and resumed.
 */
export async function setupImages(opts: {
  configDir: string;
  env: Record<string, string | undefined>;
  dataDir?: string;
  uploads: boolean;
  privacy?: boolean;
  log?: SinkLog;
}): Promise<ServeImages | null> {
  const loaded = loadImagesConfig(opts.configDir, opts.env);
  const s3 = await openS3Images(loaded, {
    cacheDir: opts.uploads && opts.dataDir ? uploadCacheDir(opts.dataDir) : undefined,
    log: opts.log,
    privacy: opts.privacy,
  });
  if (!s3) return null;
  return {
    access: s3.access,
    wrap: (sink) => (s3.queue ? new ImageUploadSink({ inner: sink, queue: s3.queue, includePlateText: s3.includePlateText, log: opts.log }) : sink),
    close: (drainMs) => s3.close(drainMs),
  };
}
