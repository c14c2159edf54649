/**
 * S3 test helpers shared by the tests that talk to the real S3 server from `scripts/services.sh up s3`:
 * an admin client to check objects behind the code under test, and clean-up of the buckets a test made.
 */
import { Client } from 'minio';
import { s3Settings } from './services.js';

/** A plain MinIO client on `endpoint` (default: the services.sh server) with the services.sh credentials. */
export function s3Admin(endpoint = s3Settings().endpoint): Client {
  const s = s3Settings();
  const url = new URL(endpoint);
  return new Client({
    endPoint: url.hostname,
    port: Number(url.port || 80),
    useSSL: url.protocol === 'https:',
    accessKey: s.accessKey,
    secretKey: s.secretKey,
    region: s.region,
    pathStyle: true,
  });
}

/** The OVR_ALPR_S3_* variables that point the product at the services.sh server. */
export function s3Env(): Record<string, string> {
  const s = s3Settings();
  return { OVR_ALPR_S3_ENDPOINT: s.endpoint, OVR_ALPR_S3_REGION: s.region, OVR_ALPR_S3_ACCESS_KEY: s.accessKey, OVR_ALPR_S3_SECRET_KEY: s.secretKey };
}

/** Every object key in the bucket. */
export async function objectNames(bucket: string, client = s3Admin()): Promise<string[]> {
  const names: string[] = [];
  for await (const o of client.listObjectsV2(bucket, '', true) as AsyncIterable<{ name?: string }>) if (o.name) names.push(o.name);
  return names;
}

/** Empties and removes each bucket; one that was never created (a failed-open test) is passed over. */
export async function removeBuckets(buckets: readonly string[]): Promise<void> {
  const c = s3Admin();
  for (const bucket of buckets) {
    try {
      const names = await objectNames(bucket, c);
      if (names.length) await c.removeObjects(bucket, names);
      await c.removeBucket(bucket);
    } catch {
      // never created, or already gone
    }
  }
}

/** An object's whole body. */
export async function objectBytes(bucket: string, key: string, client = s3Admin()): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of await client.getObject(bucket, key)) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** `n` bytes that start like a JPEG (FF D8), the rest `fill`: enough for the image stores, which check only the magic. */
export function jpegBytes(n: number, fill = 0x5a): Buffer {
  const b = Buffer.alloc(n, fill);
  b[0] = 0xff;
  b[1] = 0xd8;
  return b;
}

/** The object key of an s3://bucket/key URL. */
export const keyOf = (url: string) => url.replace(/^s3:\/\/[^/]+\//, '');
