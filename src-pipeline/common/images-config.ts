/**
 * Contract for config/images.yaml: whether event pictures also go to S3/MinIO, and how the
 * local upload cache behaves. Strict, so a misspelt key fails loudly. Credentials never live
 * here: the access key and secret key come only from the environment (OVR_ALPR_S3_ACCESS_KEY,
 * OVR_ALPR_S3_SECRET_KEY) or files named there (…_FILE), so the file can be committed.
 */
import { z } from 'zod';

const SECRET_KEYS = ['access_key', 'secret_key', 'accessKey', 'secretKey', 'password'];

export const S3UploadConfig = z
  .object({
    /** Upload event pictures to S3 (the local cache stays the source until each is uploaded). */
    enabled: z.boolean().default(false),
    /** `http(s)://host[:port]`; OVR_ALPR_S3_ENDPOINT overrides. */
    endpoint: z.url().default('http://127.0.0.1:9000'),
    /** OVR_ALPR_S3_REGION overrides. */
    region: z.string().min(1).max(64).default('us-east-1'),
    bucket: z
      .string()
      .regex(/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/, 'must be 3-63 lowercase letters, digits, "." or "-" (an S3 bucket name)')
      .default('alpr-plate-images'),
    /** Path-style requests (`host/bucket/key`): what MinIO and SeaweedFS want. */
    path_style: z.boolean().default(true),
    /** Create the bucket when it is missing (at the first upload). */
    create_bucket: z.boolean().default(true),
    /** Keep the plain plate text as object metadata; turn off with the privacy switch. */
    include_plate_text: z.boolean().default(true),
    /** Lifetime of the presigned GET URLs the API hands out. */
    presign_expiry_s: z.number().int().min(1).max(604_800).default(900),
    /** One S3 request's time limit. */
    request_timeout_ms: z.number().int().min(100).max(600_000).default(30_000),
  })
  .strict();

export const UploadQueueConfig = z
  .object({
    /** Uploads at once. */
    concurrency: z.number().int().min(1).max(64).default(4),
    /** First retry delay after a failed upload; doubles per failure up to retry_max_ms. */
    retry_initial_ms: z.number().int().min(1).default(500),
    retry_max_ms: z.number().int().min(1).default(60_000),
  })
  .strict()
  .refine((u) => u.retry_max_ms >= u.retry_initial_ms, { message: 'retry_max_ms must be >= retry_initial_ms', path: ['retry_max_ms'] });

export const ImageCacheConfig = z
  .object({
    /** Uploaded pictures stay in the local cache this long (the API serves them from there); 0 removes them at once. */
    retention_hours: z.number().min(0).default(24),
    /** Above this the oldest uploaded pictures are removed early; pictures not yet uploaded are never removed, an alarm is raised instead. */
    max_mb: z.number().positive().default(2048),
  })
  .strict();

export const ImagesConfig = z
  .object({
    s3: S3UploadConfig.prefault({}),
    upload: UploadQueueConfig.prefault({}),
    cache: ImageCacheConfig.prefault({}),
  })
  .strict();

export type ImagesConfig = z.infer<typeof ImagesConfig>;
export type ImagesConfigInput = z.input<typeof ImagesConfig>;

/** True for keys that would carry a secret: the loader names them with the variables to use instead. */
export function isSecretKey(key: string): boolean {
  return SECRET_KEYS.includes(key);
}
