/**
 * Fault test: the S3 server stops while the edge uploads event pictures, and the edge itself
 * restarts during the outage. Runs against a PRIVATE SeaweedFS (scripts/services.sh with
 * OVR_ALPR_SERVICES_INSTANCE and its own ports, sharing the built binary), so the shared S3
 * other tests use is never touched. The edge is wired as `serve` wires it: the embedded sink
 * (SQLite + spool) behind the S3 image sink from config/images.yaml (setupImages).
 *
 * Expected: every write resolves while S3 is down (events keep flowing and are stored with
 * their s3:// URLs), uploads are retried, and after S3 comes back every picture of every event
 * is in the bucket with the right bytes and metadata.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';
import { join } from 'node:path';
import type { PlateEvent } from '../../src-pipeline/common/plate-event.js';
import { setupImages, type ServeImages } from '../../src-pipeline/images/s3-images.js';
import { createEmbeddedSink, type EmbeddedSink, type EventSink } from '../../src-pipeline/sinks/index.js';
import { makeEvent } from '../api/support.js';
import { s3Settings, s3Skip } from '../support/services.js';
import { objectBytes, objectNames, s3Admin } from '../support/s3.js';
import { servicesInstance } from '../support/services-instance.js';

const skip = s3Skip('test/integration/s3-upload-fault.test.ts');
const BUCKET = 'alpr-plate-images';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => resolve(true)));
  });
}

/** Four ports whose gRPC twins (port + 10000, SeaweedFS's rule) are free too. */
async function seaweedPorts(): Promise<number[]> {
  const out: number[] = [];
  while (out.length < 4) {
    const p = 20_000 + Math.floor(Math.random() * 25_000);
    if (out.includes(p) || out.includes(p + 10_000)) continue;
    if ((await portFree(p)) && (await portFree(p + 10_000))) out.push(p);
  }
  return out;
}

interface PrivateS3 {
  endpoint: string;
  stop(): Promise<void>;
  start(): Promise<void>;
  destroy(): Promise<void>;
}

async function startPrivateS3(): Promise<PrivateS3> {
  const name = `s3fault-${process.pid}-${Date.now().toString(36)}`;
  const [s3, master, volume, filer] = await seaweedPorts();
  const s = s3Settings();
  const { state, sh } = servicesInstance(name, {
    S3_PORT: String(s3),
    S3_MASTER_PORT: String(master),
    S3_VOLUME_PORT: String(volume),
    S3_FILER_PORT: String(filer),
    S3_ACCESS_KEY: s.accessKey,
    S3_SECRET_KEY: s.secretKey,
    S3_REGION: s.region,
    S3_STOP_GRACE: '3',
  });
  await sh('up', 's3');
  return {
    endpoint: `http://127.0.0.1:${s3}`,
    stop: () => sh('down', 's3'),
    start: () => sh('up', 's3'),
    destroy: async () => {
      await sh('down', 's3').catch(() => undefined);
      rmSync(state, { recursive: true, force: true });
      // SeaweedFS's gRPC sockets (/tmp/seaweedfs-<server>-grpc-<port + 10000>.sock) outlive a SIGKILL.
      for (const [server, port] of [
        ['s3', s3],
        ['master', master],
        ['volume', volume],
        ['filer', filer],
      ] as const)
        rmSync(join(tmpdir(), `seaweedfs-${server}-grpc-${port + 10_000}.sock`), { force: true });
    },
  };
}

function jpeg(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n);
  for (let i = 0; i < n; i++) b[i] = (seed * 31 + i * 7) & 0xff;
  b[0] = 0xff;
  b[1] = 0xd8;
  return b;
}

const KINDS = ['plate', 'vehicle', 'frame'] as const;
const FIELD = { plate: 'plate_url', vehicle: 'vehicle_url', frame: 'frame_url' } as const;

describe('S3 outage during uploads (private SeaweedFS)', { skip, timeout: 240_000 }, () => {
  let s3: PrivateS3;
  let dataDir: string;
  let configDir: string;
  const written: { event: PlateEvent; images: Record<(typeof KINDS)[number], Buffer> }[] = [];

  before(async () => {
    s3 = await startPrivateS3();
    dataDir = mkdtempSync(join(tmpdir(), 'ovr-s3fault-data-'));
    configDir = mkdtempSync(join(tmpdir(), 'ovr-s3fault-cfg-'));
    writeFileSync(
      join(configDir, 'images.yaml'),
      `s3:\n  enabled: true\n  endpoint: ${s3.endpoint}\n  request_timeout_ms: 5000\nupload:\n  retry_initial_ms: 100\n  retry_max_ms: 1000\n`,
    );
  });
  after(async () => {
    await s3?.destroy();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(configDir, { recursive: true, force: true });
  });

  async function openEdge(): Promise<{ embedded: EmbeddedSink; images: ServeImages; sink: EventSink }> {
    const s = s3Settings();
    const embedded = await createEmbeddedSink({ dataDir });
    const images = await setupImages({
      configDir,
      // Only the credentials come from the environment; the endpoint is the private server's (images.yaml).
      env: { OVR_ALPR_S3_ACCESS_KEY: s.accessKey, OVR_ALPR_S3_SECRET_KEY: s.secretKey },
      dataDir,
      uploads: true,
    });
    assert.ok(images, 'S3 is enabled by images.yaml');
    return { embedded, images, sink: images.wrap(embedded.sink) };
  }

  async function writeEvents(sink: EventSink, n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const seed = written.length;
      const event = makeEvent({ event_id: randomUUID(), at: new Date(Date.UTC(2024, 4, 1, 12, 0, seed)).toISOString(), camera_id: `cam-${seed % 3}` });
      const images = { plate: jpeg(3_000 + seed, seed), vehicle: jpeg(9_000 + seed, seed + 1), frame: jpeg(30_000 + seed, seed + 2) };
      await sink.write({ event, images });
      written.push({ event, images });
    }
  }

  it('keeps events flowing, loses no picture, and uploads everything once S3 is back', async () => {
    let edge = await openEdge();
    await writeEvents(edge.sink, 30);

    // Stop S3 while those uploads are still going, and keep producing during the stop.
    const stopping = s3.stop();
    await writeEvents(edge.sink, 30);
    await stopping;
    await writeEvents(edge.sink, 30);
    assert.equal((await edge.embedded.storage.stats()).total_events, 90, 'every event is stored while S3 is down');

    // The edge restarts during the outage: the cache carries the pending pictures over.
    await edge.sink.close();
    await edge.images.close();
    await edge.embedded.storage.close();
    edge = await openEdge();
    await writeEvents(edge.sink, 15);
    await new Promise((r) => setTimeout(r, 1_500));
    const during = edge.images.access.uploads();
    assert.ok(during && during.pending > 0, `pictures wait in the cache (${during?.pending})`);
    assert.ok(during.failedAttempts > 0, 'uploads were tried and failed while S3 was down');
    assert.equal(during.retrying, true);

    await s3.start();
    const end = Date.now() + 120_000;
    while ((edge.images.access.uploads()?.pending ?? 1) > 0 && Date.now() < end) await new Promise((r) => setTimeout(r, 250));
    assert.equal(edge.images.access.uploads()?.pending, 0, 'the cache drained after S3 came back');

    // Every event is stored once, with the s3:// URL of each picture, and each object has the right bytes.
    const admin = s3Admin(s3.endpoint);
    assert.equal((await edge.embedded.storage.stats()).total_events, written.length);
    for (const w of written) {
      const stored = await edge.embedded.storage.get(w.event.event_id);
      assert.ok(stored, `event ${w.event.event_id} stored`);
      for (const kind of KINDS) {
        const u: string | null = stored.images[FIELD[kind]];
        assert.equal(u, `s3://${BUCKET}/2024/05/01/${w.event.event_id}-${kind}.jpg`);
        const key = (u as string).slice(`s3://${BUCKET}/`.length);
        assert.deepEqual(await objectBytes(BUCKET, key, admin), w.images[kind], `${key} has the picture's bytes`);
      }
      const st = await admin.statObject(BUCKET, `2024/05/01/${w.event.event_id}-plate.jpg`);
      assert.equal(st.metaData['camera-id'], w.event.camera_id);
      assert.equal(st.metaData['plate-text'], w.event.plate.text);
      assert.equal(st.metaData['frame-number'], String(w.event.extras.frame_number));
    }
    assert.equal((await objectNames(BUCKET, admin)).length, written.length * 3, 'one object per picture, nothing extra');

    await edge.sink.close();
    await edge.images.close();
    await edge.embedded.storage.close();
  });
});
