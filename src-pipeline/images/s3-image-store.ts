/**
 * An ImageStore on S3 (AWS, MinIO, SeaweedFS…) through the `minio` client.
 *
 *   s3://<bucket>/<yyyy>/<mm>/<dd>/<eventId>-<kind>.jpg      (the UTC day of capturedAt, as LocalImageStore)
 *
 * - Keys and URLs carry only the event id and the kind, never the plate text. put() returns the
 *   `s3://bucket/key` URL; the API hands out presignedGetUrl(url, seconds) for it.
 * - Metadata: Content-Type image/jpeg and user metadata `captured-at` plus, when given,
 *   `camera-id`, `track-id`, `quality-score`, `frame-number` and `plate-text` (the names use
 *   hyphens because proxies such as nginx drop header names with underscores). Values outside
 *   printable ASCII are percent-encoded. PRIVACY: user metadata comes back as response headers
 *   of every GET, presigned ones included, so whoever gets an image URL also gets the plate
 *   text; open the store with `includePlateText: false` whenever the privacy switch is on.
 * - "This store's objects" are the keys in the day layout above (plain segments, an image
 *   extension); anything else in the bucket is ignored by usage(), prunes and removal, and URLs
 *   of other buckets or unsafe keys (`..`, backslashes, NUL…) are skipped, as the local store does.
 * - Capture time for pruning: S3 cannot set an object's lastModified, so the day comes from the
 *   key. pruneOlderThan(date) removes every object of an earlier day than `date`'s UTC day, and
 *   in `date`'s own day those whose `captured-at` metadata (one HEAD each, only for that day;
 *   lastModified when it is missing) is before `date`. pruneToBytes orders oldest first by the
 *   key's day, then lastModified (upload time) within a day, then key.
 * - usage() and the prunes list the bucket (one LIST call per 1,000 objects): there is no
 *   in-memory index, so other writers to the bucket are always seen. A failing LIST (or a
 *   failing HEAD of the cutoff day) makes usage()/prunes throw; failing deletes do not throw but
 *   count in ImageRemoval.failed (remove() likewise for HEADs), as LocalImageStore does.
 * - Failures: retriable ones (connection refused/reset, timeouts, DNS, HTTP 5xx/429/SlowDown) are
 *   retried with capped exponential backoff (ingest/backoff.ts) and end as STORAGE_UNAVAILABLE
 *   (retriable); the rest (access denied, bad signature…) are STORAGE_FAILED. Bad options are
 *   CONFIG_INVALID. At most `concurrency` (default 4) uploads/HEADs run at once. The secret key is
 *   never put in an error message (messages are also scrubbed of it, in case a server echoes it).
 */
import { Client, S3Error } from 'minio';
import { z } from 'zod';
import { AlprError } from '../common/errors.js';
import { Backoff } from '../ingest/backoff.js';
import { dayPath, imageKey, type ImageKind, type ImageMetadata, type ImageRemoval, type ImageStore, type ImageUsage } from './image-store.js';

export const DEFAULT_S3_BUCKET = 'alpr-plate-images';

/** What a retry looked like, for logs (never carries credentials). */
export interface S3RetryInfo {
  op: string;
  attempt: number;
  delayMs: number;
  error: string;
}

const optionsSchema = z.object({
  /** `http(s)://host[:port]`, no path, no credentials. */
  endpoint: z.string().min(1),
  region: z.string().min(1).max(64).default('us-east-1'),
  bucket: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be 3-63 lowercase letters, digits, "." or "-" (an S3 bucket name)')
    .refine((b) => !b.includes('..') && !/^\d+\.\d+\.\d+\.\d+$/.test(b), 'must be a valid S3 bucket name')
    .default(DEFAULT_S3_BUCKET),
  accessKey: z.string().min(1, 'is required'),
  secretKey: z.string().min(1, 'is required'),
  /** Keep the plate text as object metadata (turn off when the privacy switch is on). */
  includePlateText: z.boolean().default(true),
  /** Create the bucket at open when it is missing (default true). */
  createBucket: z.boolean().default(true),
  /** Check (and create) the bucket at open (default true); off, the first call finds problems. */
  checkBucket: z.boolean().default(true),
  /** Path-style requests (`host/bucket/key`), what MinIO and SeaweedFS want (default true). */
  pathStyle: z.boolean().default(true),
  /** Uploads and HEADs at once (default 4). */
  concurrency: z.number().int().min(1).max(64).default(4),
  /** One request's time limit before it counts as a (retriable) timeout. */
  requestTimeoutMs: z.number().int().min(1).max(600_000).default(30_000),
  retry: z
    .object({
      /** Tries in all, the first included (default 5). */
      attempts: z.number().int().min(1).max(100).default(5),
      initialMs: z.number().positive().default(200),
      maxMs: z.number().positive().default(5_000),
    })
    .refine((r) => r.maxMs >= r.initialMs, 'maxMs must be >= initialMs')
    .default({ attempts: 5, initialMs: 200, maxMs: 5_000 }),
});

export type S3ImageStoreOptions = z.input<typeof optionsSchema> & {
  /** Called before each retry (for logging); the error text is already scrubbed of the secret. */
  onRetry?: (info: S3RetryInfo) => void;
};
type Resolved = z.output<typeof optionsSchema>;

const IMAGE_EXT = /\.(?:jpe?g|png|webp)$/i;
const SEGMENT = /^[A-Za-z0-9_][A-Za-z0-9_.-]*$/;
/** A key of this store: `yyyy/mm/dd/<name>` with an image extension. */
const DAY_KEY = /^(\d{4})\/(\d{2})\/(\d{2})\/([^/]+)$/;
const DAY_MS = 86_400_000;
const META_MAX = 256;

/** Start of the key's UTC day (ms), or null when the key is not in the day layout (or unsafe). */
function keyDay(key: string): number | null {
  const m = DAY_KEY.exec(key);
  if (!m) return null;
  const name = m[4];
  if (!SEGMENT.test(name) || !IMAGE_EXT.test(name)) return null;
  const t = Date.UTC(Number(m[1]), Number(m[2]) - 1, Number(m[3]));
  return Number.isFinite(t) && dayPath(t) === `${m[1]}/${m[2]}/${m[3]}` ? t : null;
}

/** Header-safe metadata value: printable ASCII as is, anything else percent-encoded; capped. */
function metaValue(v: string | number): string {
  const s = String(v);
  const out = /^[\x20-\x7e]*$/.test(s) ? s : encodeURIComponent(s);
  return out.slice(0, META_MAX);
}

const RETRIABLE_ERRNO = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'S3_TIMEOUT',
]);
const RETRIABLE_S3 = new Set(['InternalError', 'ServiceUnavailable', 'SlowDown', 'RequestTimeout', 'RequestTimeTooSkewed', 'OperationAborted', 'ServiceError']);

/** Whether an error from the client is worth another try. */
export function isRetriableS3Error(err: unknown): boolean {
  if (err instanceof AlprError) return err.retriable;
  const e = err as { code?: unknown; message?: unknown; errors?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (typeof e.code === 'string' && (RETRIABLE_ERRNO.has(e.code) || RETRIABLE_S3.has(e.code))) return true;
  // minio wraps 408/429/5xx answers (with its own retries off) as "Retryable HTTP status: 503".
  if (typeof e.message === 'string' && (/Retryable HTTP status: \d+/.test(e.message) || /socket hang up/i.test(e.message))) return true;
  // AggregateError from happy-eyeballs connects (node >= 20): retriable when any part is.
  if (Array.isArray(e.errors)) return e.errors.some((x) => isRetriableS3Error(x));
  return false;
}

/** A counting semaphore: at most `n` holders. */
class Semaphore {
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(private readonly n: number) {}

  async run<T>(fn: () => Promise<T>): Promise<T> {
    if (this.active >= this.n) await new Promise<void>((resolve) => this.waiting.push(resolve));
    else this.active++;
    try {
      return await fn();
    } finally {
      const next = this.waiting.shift();
      if (next) next();
      else this.active--;
    }
  }
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class S3ImageStore implements ImageStore {
  readonly kind = 's3' as const;
  readonly bucket: string;
  readonly endpoint: string;
  private readonly urlPrefix: string;
  private readonly uploads: Semaphore;

  private constructor(
    private readonly client: Client,
    private readonly opts: Resolved,
    private readonly onRetry: ((info: S3RetryInfo) => void) | undefined,
  ) {
    this.bucket = opts.bucket;
    this.endpoint = opts.endpoint;
    this.urlPrefix = `s3://${opts.bucket}/`;
    this.uploads = new Semaphore(opts.concurrency);
  }

  /** Validates the options, connects and (unless `checkBucket: false`) checks/creates the bucket. */
  static async open(options: S3ImageStoreOptions): Promise<S3ImageStore> {
    const { onRetry, ...rest } = options ?? ({} as S3ImageStoreOptions);
    const parsed = optionsSchema.safeParse(rest);
    const secret = typeof rest?.secretKey === 'string' ? rest.secretKey : '';
    if (!parsed.success) {
      const issues = parsed.error.issues.map((i) => `${i.path.join('.') || 'options'}: ${i.message}`).join('; ');
      throw new AlprError('CONFIG_INVALID', scrub(`invalid S3 image store options: ${issues}`, secret));
    }
    const o = parsed.data;
    let url: URL;
    try {
      url = new URL(o.endpoint);
    } catch {
      throw new AlprError('CONFIG_INVALID', 'S3 endpoint must be a URL like http://127.0.0.1:9000');
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:')
      throw new AlprError('CONFIG_INVALID', `S3 endpoint must be http:// or https://, got ${url.protocol}`);
    if (url.username || url.password) throw new AlprError('CONFIG_INVALID', 'S3 endpoint must not carry credentials; use accessKey/secretKey');
    if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash)
      throw new AlprError('CONFIG_INVALID', `S3 endpoint must be scheme://host[:port] without a path, got ${url.origin}${url.pathname}`);
    const useSSL = url.protocol === 'https:';
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    let client: Client;
    try {
      client = new Client({
        endPoint: host,
        port: url.port ? Number(url.port) : useSSL ? 443 : 80,
        useSSL,
        accessKey: o.accessKey,
        secretKey: o.secretKey,
        region: o.region,
        pathStyle: o.pathStyle,
        retryOptions: { disableRetry: true }, // ours (below) is the only retry loop
      });
    } catch (err) {
      throw new AlprError('CONFIG_INVALID', scrub(`invalid S3 settings: ${(err as Error).message}`, o.secretKey));
    }
    const store = new S3ImageStore(client, { ...o, endpoint: url.origin }, onRetry);
    if (o.checkBucket) await store.ensureBucket();
    return store;
  }

  async put(kind: ImageKind, eventId: string, capturedAt: string, jpeg: Buffer, meta?: ImageMetadata): Promise<string> {
    const { key: key, capturedAtMs: t } = imageKey(kind, eventId, capturedAt, jpeg);
    const headers: Record<string, string> = { 'Content-Type': 'image/jpeg', 'captured-at': new Date(t).toISOString() };
    if (meta?.camera_id !== undefined) headers['camera-id'] = metaValue(meta.camera_id);
    if (meta?.track_id !== undefined) headers['track-id'] = metaValue(meta.track_id);
    if (meta?.quality_score !== undefined && Number.isFinite(meta.quality_score)) headers['quality-score'] = metaValue(meta.quality_score);
    if (meta?.frame_number !== undefined && Number.isFinite(meta.frame_number)) headers['frame-number'] = metaValue(meta.frame_number);
    if (this.opts.includePlateText && meta?.plate_text !== undefined) headers['plate-text'] = metaValue(meta.plate_text);

    await this.uploads.run(() => this.call(`store image ${key}`, () => this.client.putObject(this.bucket, key, jpeg, jpeg.length, headers)));
    return this.urlPrefix + key;
  }

  /** The `s3://bucket/key` URL put() gives for a key (no request): lets a caller name an object before it is uploaded. */
  urlOfKey(key: string): string {
    return this.urlPrefix + key;
  }

  /**
   * One cheap signed request (HEAD bucket), no retries, limited to `timeoutMs`: for health
   * checks. Resolves when the server answered and the bucket exists; rejects with an AlprError
   * (message scrubbed of the secret) otherwise.
   */
  async ping(timeoutMs = 2_000): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(
        () => reject(new AlprError('STORAGE_UNAVAILABLE', `S3 at ${this.endpoint}: no answer within ${timeoutMs} ms`, { retriable: true })),
        timeoutMs,
      );
      timer.unref?.();
    });
    try {
      const exists = await Promise.race([this.call(`check bucket ${this.bucket}`, () => this.client.bucketExists(this.bucket), 1), timeout]);
      if (!exists) throw new AlprError('STORAGE_FAILED', `S3 bucket ${this.bucket} does not exist at ${this.endpoint}`);
    } finally {
      clearTimeout(timer);
    }
  }

  /** The object key a URL names, or null when it is not this store's (other bucket, unsafe, not the day layout). */
  keyOf(url: string): string | null {
    if (typeof url !== 'string' || url.includes('\0') || url.includes('\\') || !url.startsWith(this.urlPrefix)) return null;
    const key = url.slice(this.urlPrefix.length);
    if (key.split('/').some((p) => p === '.' || p === '..')) return null;
    return keyDay(key) === null ? null : key;
  }

  /** A time-limited plain HTTP(S) GET URL for one of this store's URLs (signed locally, no request). */
  async presignedGetUrl(url: string, expirySeconds = 900): Promise<string> {
    const key = this.keyOf(url);
    if (key === null) throw new AlprError('USAGE', `not an image URL of bucket ${this.bucket}`);
    if (!Number.isInteger(expirySeconds) || expirySeconds < 1 || expirySeconds > 604_800)
      throw new AlprError('USAGE', `presigned URL expiry must be 1-604800 whole seconds, got ${expirySeconds}`);
    return this.call('presign image URL', () => this.client.presignedGetObject(this.bucket, key, expirySeconds), 1);
  }

  async delete(urls: readonly string[]): Promise<number> {
    return (await this.remove(urls)).deleted;
  }

  async remove(urls: readonly string[]): Promise<ImageRemoval> {
    const keys: string[] = [];
    const seen = new Set<string>();
    for (const url of urls) {
      const key = this.keyOf(url);
      if (key === null || seen.has(key)) continue;
      seen.add(key);
      keys.push(key);
    }
    // DELETE succeeds for missing keys too, so a HEAD first tells what is there and its size.
    // Like the local store, removal by URL does not throw: what cannot be checked or removed
    // (S3 down, access denied) counts in `failed` and stays (a later age prune finds it by day).
    let failed = 0;
    const found = await Promise.all(
      keys.map((key) =>
        this.uploads.run(async () => {
          try {
            const st = await this.call(`stat image ${key}`, () => this.client.statObject(this.bucket, key));
            return { key, size: st.size };
          } catch (err) {
            if (!isNotFound(err)) failed++;
            return null;
          }
        }),
      ),
    );
    const out = await this.deleteKeys(found.filter((f): f is { key: string; size: number } => f !== null));
    out.failed += failed;
    return out;
  }

  async usage(): Promise<ImageUsage> {
    const objects = await this.list();
    return { bytes: objects.reduce((n, o) => n + o.size, 0), files: objects.length };
  }

  async pruneToBytes(maxBytes: number): Promise<ImageRemoval> {
    if (!Number.isFinite(maxBytes) || maxBytes < 0) throw new AlprError('USAGE', `max image bytes must be a number >= 0, got ${maxBytes}`);
    const objects = await this.list();
    objects.sort((a, b) => a.day - b.day || a.modified - b.modified || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
    let bytes = objects.reduce((n, o) => n + o.size, 0);
    const victims: { key: string; size: number }[] = [];
    for (const o of objects) {
      if (bytes <= maxBytes) break;
      victims.push(o);
      bytes -= o.size;
    }
    return this.deleteKeys(victims);
  }

  async pruneOlderThan(date: Date): Promise<ImageRemoval> {
    const cutoff = date.getTime();
    if (!Number.isFinite(cutoff)) throw new AlprError('USAGE', 'pruneOlderThan needs a valid date');
    const cutoffDay = Math.floor(cutoff / DAY_MS) * DAY_MS;
    const objects = await this.list();
    const victims: { key: string; size: number; t: number }[] = [];
    const boundary = objects.filter((o) => o.day === cutoffDay);
    for (const o of objects) if (o.day + DAY_MS <= cutoff) victims.push({ ...o, t: o.day });
    const timed = await Promise.all(
      boundary.map((o) =>
        this.uploads.run(async () => {
          try {
            const st = await this.call(`stat image ${o.key}`, () => this.client.statObject(this.bucket, o.key));
            const t = Date.parse(String(st.metaData['captured-at'] ?? ''));
            return { ...o, t: Number.isFinite(t) ? t : st.lastModified.getTime() };
          } catch (err) {
            if (isNotFound(err)) return null;
            throw err;
          }
        }),
      ),
    );
    for (const o of timed) if (o && o.t < cutoff) victims.push(o);
    victims.sort((a, b) => a.t - b.t || (a.key < b.key ? -1 : 1));
    return this.deleteKeys(victims);
  }

  // ---- internals ----

  /** Checks the bucket and creates it when missing (and createBucket allows): open() does this unless checkBucket is off. */
  async ensureBucket(): Promise<void> {
    const exists = await this.call(`check bucket ${this.bucket}`, () => this.client.bucketExists(this.bucket));
    if (exists) return;
    if (!this.opts.createBucket) throw new AlprError('STORAGE_FAILED', `S3 bucket ${this.bucket} does not exist at ${this.endpoint} (createBucket is off)`);
    try {
      await this.call(`create bucket ${this.bucket}`, () => this.client.makeBucket(this.bucket, this.opts.region));
    } catch (err) {
      // Another process may have created it meanwhile.
      const code = (err as AlprError).cause && ((err as AlprError).cause as { code?: string }).code;
      if (code !== 'BucketAlreadyOwnedByYou' && code !== 'BucketAlreadyExists') throw err;
    }
  }

  /** This store's objects (day-layout image keys) with size, day and lastModified. */
  private async list(): Promise<{ key: string; size: number; day: number; modified: number }[]> {
    return this.call(`list bucket ${this.bucket}`, async () => {
      const out: { key: string; size: number; day: number; modified: number }[] = [];
      const stream = this.client.listObjectsV2(this.bucket, '', true);
      for await (const item of stream as AsyncIterable<{ name?: string; size?: number; lastModified?: Date }>) {
        if (typeof item.name !== 'string') continue;
        const day = keyDay(item.name);
        if (day === null) continue;
        out.push({ key: item.name, size: item.size ?? 0, day, modified: item.lastModified?.getTime() ?? 0 });
      }
      return out;
    });
  }

  /** Deletes keys (sizes known) in batches of 1,000, oldest first as given; never throws (failures count in `failed`). */
  private async deleteKeys(victims: readonly { key: string; size: number }[]): Promise<ImageRemoval> {
    const out: ImageRemoval = { deleted: 0, freedBytes: 0, urls: [], failed: 0 };
    for (let i = 0; i < victims.length; i += 1000) {
      const batch = victims.slice(i, i + 1000);
      let failedKeys = new Set<string>();
      try {
        const res = await this.call(`delete ${batch.length} images`, () =>
          this.client.removeObjects(
            this.bucket,
            batch.map((v) => v.key),
          ),
        );
        failedKeys = new Set(res.map((r) => r?.Error?.Key).filter((k): k is string => typeof k === 'string'));
      } catch {
        // S3 went away (after retries) or refused: what is left stays and counts as failed.
        out.failed += victims.length - i;
        return out;
      }
      for (const v of batch) {
        if (failedKeys.has(v.key)) {
          out.failed++;
          continue;
        }
        out.deleted++;
        out.freedBytes += v.size;
        out.urls.push(this.urlPrefix + v.key);
      }
    }
    return out;
  }

  /**
   * Runs one client call with a time limit and retries retriable failures with capped
   * exponential backoff; maps what is left to AlprError (secret scrubbed).
   */
  private async call<T>(what: string, fn: () => Promise<T>, attempts = this.opts.retry.attempts): Promise<T> {
    const backoff = new Backoff({ initialMs: this.opts.retry.initialMs, maxMs: this.opts.retry.maxMs });
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.withTimeout(fn());
      } catch (err) {
        if (err instanceof AlprError) throw err;
        const retriable = isRetriableS3Error(err);
        if (!retriable || attempt >= attempts) throw this.toAlprError(what, err, retriable, attempt);
        const delayMs = backoff.failed(Date.now());
        this.onRetry?.({ op: what, attempt, delayMs, error: this.describe(err) });
        await sleep(delayMs);
      }
    }
  }

  private withTimeout<T>(p: Promise<T>): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const e = new Error(`no answer within ${this.opts.requestTimeoutMs} ms`) as Error & { code: string };
        e.code = 'S3_TIMEOUT';
        reject(e);
      }, this.opts.requestTimeoutMs);
      timer.unref?.();
    });
    return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
  }

  private describe(err: unknown): string {
    const e = err as { code?: unknown; message?: unknown; errors?: unknown[] } | null;
    let text = '';
    if (e && typeof e === 'object') {
      const code = typeof e.code === 'string' ? e.code : '';
      let message = typeof e.message === 'string' ? e.message : '';
      if (!message && Array.isArray(e.errors) && e.errors.length > 0) message = String((e.errors[0] as Error)?.message ?? '');
      text = code && !message.includes(code) ? `${code}: ${message}` : message;
    } else text = String(err);
    return scrub(text || 'unknown error', this.opts.secretKey);
  }

  private toAlprError(what: string, err: unknown, retriable: boolean, attempts: number): AlprError {
    const detail = this.describe(err);
    const code = (err as { code?: unknown } | null)?.code;
    const cause = { code: typeof code === 'string' ? code : undefined, message: detail };
    if (retriable)
      return new AlprError('STORAGE_UNAVAILABLE', `cannot ${what}: S3 at ${this.endpoint} unavailable after ${attempts} tries (${detail})`, {
        retriable: true,
        cause,
        details: { endpoint: this.endpoint, bucket: this.bucket, attempts },
      });
    const auth = err instanceof S3Error && typeof code === 'string' && /AccessDenied|SignatureDoesNotMatch|InvalidAccessKeyId|Forbidden/.test(code);
    const hint = auth ? ' (check the S3 access key and secret key and the bucket policy)' : '';
    return new AlprError('STORAGE_FAILED', `cannot ${what} in S3 bucket ${this.bucket} at ${this.endpoint}: ${detail}${hint}`, {
      cause,
      details: { endpoint: this.endpoint, bucket: this.bucket },
    });
  }
}

function isNotFound(err: unknown): boolean {
  const code = err instanceof AlprError ? (err.cause as { code?: string } | undefined)?.code : (err as { code?: string } | null)?.code;
  return code === 'NotFound' || code === 'NoSuchKey';
}

function scrub(text: string, secret: string): string {
  return secret.length >= 4 ? text.split(secret).join('***') : text;
}

/** Opens an S3ImageStore (validating options; CONFIG_INVALID when they are wrong). */
export function openS3ImageStore(opts: S3ImageStoreOptions): Promise<S3ImageStore> {
  return S3ImageStore.open(opts);
}
