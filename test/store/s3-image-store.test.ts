/**
 * S3ImageStore against a real S3 server: the SeaweedFS that `scripts/services.sh up s3` starts
 * (OVR_ALPR_S3_* settings). Every store below gets a bucket of its own (created by the store,
 * emptied and removed after), so usage and prune numbers are exact. The last suite needs no S3
 * server: a fake HTTP endpoint checks 5xx retries, timeouts and the upload concurrency bound.
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { AlprError } from '../../src-pipeline/common/errors.js';
import { openS3ImageStore, type S3ImageStore, type S3ImageStoreOptions, type S3RetryInfo } from '../../src-pipeline/images/s3-image-store.js';
import { s3Settings, s3Skip } from '../support/services.js';
import { freePort } from '../support/tools.js';
import { jpegBytes, keyOf, objectNames, removeBuckets, s3Admin } from '../support/s3.js';

const skip = s3Skip('test/store/s3-image-store.test.ts');
const buckets: string[] = [];

/** A store on a fresh bucket of its own. */
async function freshStore(over: Partial<S3ImageStoreOptions> = {}): Promise<S3ImageStore> {
  const s = s3Settings();
  const bucket = `alpr-test-${randomUUID().slice(0, 12)}`;
  buckets.push(bucket);
  return openS3ImageStore({ endpoint: s.endpoint, region: s.region, accessKey: s.accessKey, secretKey: s.secretKey, bucket, ...over });
}

describe('S3ImageStore (real S3 server)', { skip }, () => {
  after(async () => {
    await removeBuckets(buckets);
  });

  it('creates the bucket, puts with metadata and serves the bytes through a presigned URL', async () => {
    const store = await freshStore();
    assert.equal(store.kind, 's3');
    assert.equal(await s3Admin().bucketExists(store.bucket), true);
    const id = randomUUID();
    const bytes = jpegBytes(2048, 0x11);
    const url = await store.put('plate', id, '2024-05-01T23:59:59.500Z', bytes, {
      camera_id: 'cam-north',
      track_id: 'trk-7',
      plate_text: 'AB123CD',
      quality_score: 0.81,
      frame_number: 1234,
    });
    assert.equal(url, `s3://${store.bucket}/2024/05/01/${id}-plate.jpg`);
    assert.ok(!url.includes('AB123CD'));

    const st = await s3Admin().statObject(store.bucket, keyOf(url));
    assert.equal(st.size, bytes.length);
    assert.equal(st.metaData['content-type'], 'image/jpeg');
    assert.equal(st.metaData['camera-id'], 'cam-north');
    assert.equal(st.metaData['track-id'], 'trk-7');
    assert.equal(st.metaData['plate-text'], 'AB123CD');
    assert.equal(st.metaData['quality-score'], '0.81');
    assert.equal(st.metaData['frame-number'], '1234');
    assert.equal(st.metaData['captured-at'], '2024-05-01T23:59:59.500Z');

    const signed = await store.presignedGetUrl(url, 60);
    assert.match(signed, /^http:\/\/127\.0\.0\.1:\d+\//);
    assert.ok(!signed.includes(s3Settings().secretKey), 'presigned URL must not carry the secret');
    const res = await fetch(signed);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'image/jpeg');
    assert.deepEqual(Buffer.from(await res.arrayBuffer()), bytes);

    // Same event and kind again replaces the object.
    const again = await store.put('plate', id, '2024-05-01T23:59:59.500Z', jpegBytes(100));
    assert.equal(again, url);
    assert.deepEqual(await store.usage(), { bytes: 100, files: 1 });

    await assert.rejects(store.presignedGetUrl('s3://other-bucket/2024/05/01/x-plate.jpg'), (e: unknown) => e instanceof AlprError && e.code === 'USAGE');
    await assert.rejects(store.presignedGetUrl(url, 0), (e: unknown) => e instanceof AlprError && e.code === 'USAGE');
  });

  it('keeps the plate text out of keys always and out of metadata with includePlateText false', async () => {
    const store = await freshStore({ includePlateText: false });
    const url = await store.put('vehicle', 'ev-1', '2024-05-02T10:00:00Z', jpegBytes(10), { camera_id: 'cam-ü', plate_text: 'SECRETPLATE' });
    assert.equal(url, `s3://${store.bucket}/2024/05/02/ev-1-vehicle.jpg`);
    const st = await s3Admin().statObject(store.bucket, keyOf(url));
    assert.equal(st.metaData['plate-text'], undefined);
    assert.equal(st.metaData['camera-id'], encodeURIComponent('cam-ü'), 'non-ASCII values are percent-encoded');
    assert.ok(!JSON.stringify(st.metaData).includes('SECRETPLATE'));
    assert.deepEqual(await objectNames(store.bucket), ['2024/05/02/ev-1-vehicle.jpg']);
  });

  it('rejects bad arguments like the local store', async () => {
    const store = await freshStore({ checkBucket: false });
    const usage = (e: unknown) => e instanceof AlprError && e.code === 'USAGE';
    await assert.rejects(store.put('plate', '../x', '2024-05-01T00:00:00Z', jpegBytes(1)), usage);
    await assert.rejects(store.put('plate', 'a/b', '2024-05-01T00:00:00Z', jpegBytes(1)), usage);
    await assert.rejects(store.put('thumb' as never, 'ev', '2024-05-01T00:00:00Z', jpegBytes(1)), usage);
    await assert.rejects(store.put('plate', 'ev', 'not a date', jpegBytes(1)), usage);
    await assert.rejects(store.pruneToBytes(-1), usage);
    await assert.rejects(store.pruneOlderThan(new Date(NaN)), usage);
  });

  it('delete/remove by URL: counts, bytes, skips foreign, unsafe and missing URLs', async () => {
    const store = await freshStore();
    const a = await store.put('plate', 'ev-a', '2024-05-01T08:00:00Z', jpegBytes(100));
    const b = await store.put('frame', 'ev-a', '2024-05-01T08:00:00Z', jpegBytes(300));
    const c = await store.put('plate', 'ev-c', '2024-05-03T08:00:00Z', jpegBytes(50));
    const prefix = `s3://${store.bucket}/`;
    const r = await store.remove([
      a,
      a, // duplicate
      `${prefix}2024/05/01/missing-plate.jpg`,
      's3://another-bucket/2024/05/01/ev-a-frame.jpg',
      '/images/2024/05/01/ev-a-frame.jpg',
      `${prefix}2024/05/01/../01/ev-a-frame.jpg`,
      `${prefix}2024/05/01/ev-a-frame.txt`,
      `${prefix}notes/ev-a-frame.jpg`,
      `${prefix}2024\\05\\01\\ev-a-frame.jpg`,
    ]);
    assert.deepEqual(r, { deleted: 1, freedBytes: 100, urls: [a], failed: 0 });
    assert.deepEqual(await store.usage(), { bytes: 350, files: 2 });
    assert.equal(await store.delete([b, c, a]), 2);
    assert.deepEqual(await store.usage(), { bytes: 0, files: 0 });
  });

  it('usage ignores objects outside the day layout', async () => {
    const store = await freshStore();
    await store.put('plate', 'ev-1', '2024-05-01T00:00:00Z', jpegBytes(70));
    await s3Admin().putObject(store.bucket, 'README.txt', Buffer.from('not an image'));
    await s3Admin().putObject(store.bucket, 'other/ev-2-plate.jpg', jpegBytes(30));
    assert.deepEqual(await store.usage(), { bytes: 70, files: 1 });
    const r = await store.pruneToBytes(0);
    assert.equal(r.deleted, 1);
    assert.equal((await s3Admin().statObject(store.bucket, 'other/ev-2-plate.jpg')).size, 30, 'foreign objects are left alone');
  });

  it('pruneOlderThan: earlier days by key, the cutoff day by captured-at metadata', async () => {
    const store = await freshStore();
    const d1 = await store.put('plate', 'ev-1', '2024-05-01T12:00:00Z', jpegBytes(10));
    const d2early = await store.put('plate', 'ev-2', '2024-05-02T06:00:00Z', jpegBytes(20));
    const d2late = await store.put('plate', 'ev-3', '2024-05-02T18:00:00Z', jpegBytes(40));
    const d3 = await store.put('plate', 'ev-4', '2024-05-03T00:00:00Z', jpegBytes(80));
    const r = await store.pruneOlderThan(new Date('2024-05-02T12:00:00Z'));
    assert.deepEqual(r, { deleted: 2, freedBytes: 30, urls: [d1, d2early], failed: 0 });
    assert.deepEqual(await store.usage(), { bytes: 120, files: 2 });
    const none = await store.pruneOlderThan(new Date('2024-05-02T18:00:00Z'));
    assert.equal(none.deleted, 0, 'start of the cutoff is exclusive');
    const rest = await store.pruneOlderThan(new Date('2024-06-01T00:00:00Z'));
    assert.deepEqual(rest.urls, [d2late, d3]);
  });

  it('pruneToBytes removes oldest days first until under the limit', async () => {
    const store = await freshStore();
    // Uploaded newest first: the order must come from the key's day, not upload time.
    const d3 = await store.put('plate', 'ev-3', '2024-05-03T00:00:00Z', jpegBytes(100));
    const d2 = await store.put('plate', 'ev-2', '2024-05-02T00:00:00Z', jpegBytes(100));
    const d1 = await store.put('plate', 'ev-1', '2024-05-01T00:00:00Z', jpegBytes(100));
    const r = await store.pruneToBytes(150);
    assert.deepEqual(r, { deleted: 2, freedBytes: 200, urls: [d1, d2], failed: 0 });
    assert.deepEqual(await store.usage(), { bytes: 100, files: 1 });
    assert.equal((await store.pruneToBytes(100)).deleted, 0);
    assert.deepEqual((await store.pruneToBytes(0)).urls, [d3]);
  });

  it('uploads many images concurrently (bounded) without losing any', async () => {
    const store = await freshStore({ concurrency: 4 });
    const urls = await Promise.all(Array.from({ length: 24 }, (_, i) => store.put('frame', `ev-${i}`, '2024-05-01T00:00:00Z', jpegBytes(64 + i))));
    assert.equal(new Set(urls).size, 24);
    const u = await store.usage();
    assert.equal(u.files, 24);
    assert.equal(
      u.bytes,
      Array.from({ length: 24 }, (_, i) => 64 + i).reduce((a, b) => a + b, 0),
    );
  });

  it('a wrong secret key fails with STORAGE_FAILED, not retried, without the secret in the message', async () => {
    const wrong = 'definitely-wrong-secret-9876543210';
    const retries: S3RetryInfo[] = [];
    const err = await freshStore({ secretKey: wrong, onRetry: (i) => retries.push(i) }).then(
      () => assert.fail('open should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof AlprError, String(err));
    assert.equal(err.code, 'STORAGE_FAILED');
    assert.equal(err.retriable, false);
    assert.equal(retries.length, 0);
    const text = `${err.message} ${JSON.stringify(err.toEnvelope())} ${JSON.stringify(err.cause)}`;
    assert.ok(!text.includes(wrong), text);
    assert.ok(!text.includes(s3Settings().secretKey), text);

    // The same through put() when the bucket check at open is off.
    const lazy = await freshStore({ secretKey: wrong, checkBucket: false });
    await assert.rejects(lazy.put('plate', 'ev', '2024-05-01T00:00:00Z', jpegBytes(5)), (e: unknown) => {
      assert.ok(e instanceof AlprError);
      assert.equal(e.code, 'STORAGE_FAILED');
      assert.ok(!e.message.includes(wrong), e.message);
      return true;
    });
  });

  it('an unreachable endpoint is STORAGE_UNAVAILABLE (retriable) after capped retries', async () => {
    const port = await freePort();
    const retries: S3RetryInfo[] = [];
    const opts: Partial<S3ImageStoreOptions> = {
      endpoint: `http://127.0.0.1:${port}`,
      retry: { attempts: 4, initialMs: 5, maxMs: 10 },
      onRetry: (i) => retries.push(i),
    };
    const err = await freshStore(opts).then(
      () => assert.fail('open should fail'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof AlprError, String(err));
    assert.equal(err.code, 'STORAGE_UNAVAILABLE');
    assert.equal(err.retriable, true);
    assert.deepEqual(
      retries.map((r) => r.delayMs),
      [5, 10, 10],
    );
    assert.ok(!err.message.includes(s3Settings().secretKey));

    retries.length = 0;
    const lazy = await freshStore({ ...opts, checkBucket: false });
    await assert.rejects(
      lazy.put('plate', 'ev', '2024-05-01T00:00:00Z', jpegBytes(5)),
      (e: unknown) => e instanceof AlprError && e.code === 'STORAGE_UNAVAILABLE',
    );
    assert.equal(retries.length, 3);
  });

  it('bad options are CONFIG_INVALID and never echo the secret', async () => {
    const s = s3Settings();
    const base = { endpoint: s.endpoint, accessKey: s.accessKey, secretKey: 'a-secret-value-xyz' };
    const cases: Partial<S3ImageStoreOptions>[] = [
      { endpoint: 'not a url' },
      { endpoint: 'ftp://127.0.0.1:1' },
      { endpoint: 'http://user:a-secret-value-xyz@127.0.0.1:1' },
      { endpoint: 'http://127.0.0.1:1/some/path' },
      { bucket: 'Bad_Bucket' },
      { accessKey: '' },
      { secretKey: '' },
      { concurrency: 0 },
      { retry: { attempts: 2, initialMs: 100, maxMs: 10 } },
    ];
    for (const over of cases) {
      await assert.rejects(openS3ImageStore({ ...base, ...over } as S3ImageStoreOptions), (e: unknown) => {
        assert.ok(e instanceof AlprError, `${JSON.stringify(over)}: ${String(e)}`);
        assert.equal(e.code, 'CONFIG_INVALID', JSON.stringify(over));
        assert.ok(!e.message.includes('a-secret-value-xyz'), e.message);
        return true;
      });
    }
  });
});

/** A fake S3 endpoint on 127.0.0.1 answering every request with `handler`. */
async function fakeS3(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ endpoint: string; close: () => Promise<void> }> {
  const server: Server = createHttpServer((req, res) => {
    req.resume();
    req.on('end', () => handler(req, res));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

describe('S3ImageStore failure handling (fake endpoint)', () => {
  const base = { accessKey: 'test-access', secretKey: 'fake-secret-key-123456', bucket: 'fake-bucket', checkBucket: false };

  it('retries 5xx answers with capped backoff and ends STORAGE_UNAVAILABLE', async () => {
    let requests = 0;
    const fake = await fakeS3((_req, res) => {
      requests++;
      res.writeHead(503).end();
    });
    try {
      const retries: S3RetryInfo[] = [];
      const store = await openS3ImageStore({
        ...base,
        endpoint: fake.endpoint,
        retry: { attempts: 3, initialMs: 5, maxMs: 8 },
        onRetry: (i) => retries.push(i),
      });
      await assert.rejects(store.put('plate', 'ev', '2024-05-01T00:00:00Z', jpegBytes(5)), (e: unknown) => {
        assert.ok(e instanceof AlprError);
        assert.equal(e.code, 'STORAGE_UNAVAILABLE');
        assert.equal(e.retriable, true);
        assert.ok(!e.message.includes(base.secretKey), e.message);
        return true;
      });
      assert.equal(requests, 3);
      assert.deepEqual(
        retries.map((r) => r.delayMs),
        [5, 8],
      );
      // Removal by URL does not throw: what cannot be checked or removed counts as failed.
      const r = await store.remove([`s3://fake-bucket/2024/05/01/ev-plate.jpg`, 's3://other/2024/05/01/ev-plate.jpg']);
      assert.deepEqual(r, { deleted: 0, freedBytes: 0, urls: [], failed: 1 });
      await assert.rejects(store.usage(), (e: unknown) => e instanceof AlprError && e.code === 'STORAGE_UNAVAILABLE');
      await assert.rejects(store.pruneToBytes(0), (e: unknown) => e instanceof AlprError && e.code === 'STORAGE_UNAVAILABLE');
    } finally {
      await fake.close();
    }
  });

  it('a request that never gets an answer times out as STORAGE_UNAVAILABLE', async () => {
    const fake = await fakeS3(() => undefined); // never answers
    try {
      const store = await openS3ImageStore({ ...base, endpoint: fake.endpoint, requestTimeoutMs: 50, retry: { attempts: 2, initialMs: 5, maxMs: 5 } });
      const t0 = Date.now();
      await assert.rejects(
        store.put('plate', 'ev', '2024-05-01T00:00:00Z', jpegBytes(5)),
        (e: unknown) => e instanceof AlprError && e.code === 'STORAGE_UNAVAILABLE',
      );
      assert.ok(Date.now() - t0 < 2_000);
    } finally {
      await fake.close();
    }
  });

  it('runs at most `concurrency` uploads at once', async () => {
    let active = 0;
    let maxActive = 0;
    let puts = 0;
    const fake = await fakeS3((req, res) => {
      if (req.method !== 'PUT') return void res.writeHead(400).end();
      puts++;
      active++;
      maxActive = Math.max(maxActive, active);
      setTimeout(() => {
        active--;
        res.writeHead(200, { ETag: '"0123456789abcdef0123456789abcdef"' }).end();
      }, 30);
    });
    try {
      const store = await openS3ImageStore({ ...base, endpoint: fake.endpoint, concurrency: 4 });
      const urls = await Promise.all(Array.from({ length: 12 }, (_, i) => store.put('frame', `ev-${i}`, '2024-05-01T00:00:00Z', jpegBytes(8))));
      assert.equal(urls.length, 12);
      assert.equal(puts, 12);
      assert.equal(maxActive, 4);
    } finally {
      await fake.close();
    }
  });
});
