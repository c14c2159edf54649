/**
 * GET /health per component: the database always, Kafka, the schema registry and S3 when
 * configured. Against the real services from scripts/services.sh (all ok), against loopback
 * ports nothing listens on (down, with a reason and no credentials), a wrong S3 secret, and a
 * closed database (503). Also: results are cached and concurrent polls share one round.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { apiCmd } from '../../src-pipeline/cli/serve.js';
import { openS3ImageStore, type S3ImageStore } from '../../src-pipeline/images/s3-image-store.js';
import { HealthChecker, type ComponentCheck } from '../../src-pipeline/api/health.js';
import { freePort } from '../support/tools.js';
import { postgresSkip, startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { kafkaBrokers, kafkaSkip, registrySkip, s3Settings, s3Skip } from '../support/services.js';
import { s3Admin, s3Env } from '../support/s3.js';
import { getJson, openTestStore, startCommand, startServer, type Running, type TestStore } from './support.js';

interface Component {
  status: string;
  required: boolean;
  latency_ms: number | null;
  error: string | null;
  target: string | null;
  checked_at: string | null;
}
type Health = { status: string; database: string; components: Record<string, Component> };

const servicesSkip = kafkaSkip('test/api/health.test.ts') || registrySkip('test/api/health.test.ts') || s3Skip('test/api/health.test.ts');

async function s3Store(over: { endpoint?: string; secretKey?: string } = {}): Promise<S3ImageStore> {
  const s = s3Settings();
  return openS3ImageStore({
    endpoint: over.endpoint ?? s.endpoint,
    region: s.region,
    bucket: s.bucket,
    accessKey: s.accessKey,
    secretKey: over.secretKey ?? s.secretKey,
    checkBucket: false,
    retry: { attempts: 1, initialMs: 10, maxMs: 10 },
  });
}

describe('/health without backends configured', () => {
  let store: TestStore;
  let srv: Running;
  before(async () => {
    store = await openTestStore();
    srv = await startServer({ storage: store.storage });
  });
  after(async () => {
    await srv.server.close();
    await store.cleanup();
  });

  it('reports the database and not_configured for the rest', async () => {
    const r = await getJson(`${srv.url}/health`);
    assert.equal(r.status, 200);
    const body = r.body as unknown as Health;
    assert.equal(body.status, 'ok');
    assert.equal(body.components.database.status, 'ok');
    assert.equal(body.components.database.required, true);
    assert.equal(typeof body.components.database.latency_ms, 'number');
    for (const c of ['kafka', 'schema_registry', 's3']) {
      assert.equal(body.components[c].status, 'not_configured', c);
      assert.equal(body.components[c].latency_ms, null);
    }
  });
});

describe('/health against the real services', { skip: servicesSkip }, () => {
  let store: TestStore;
  let srv: Running;
  before(async () => {
    store = await openTestStore();
    srv = await startServer({
      storage: store.storage,
      health: { kafkaBrokers: kafkaBrokers(), schemaRegistryUrl: process.env.OVR_ALPR_SCHEMA_REGISTRY_URL, s3: await s3Store() },
    });
  });
  after(async () => {
    await srv.server.close();
    await store.cleanup();
  });

  it('every configured component is ok, with its latency and target', async () => {
    const r = await getJson(`${srv.url}/health`);
    const body = r.body as unknown as Health;
    assert.equal(r.status, 200, JSON.stringify(body));
    assert.equal(body.status, 'ok');
    for (const c of ['database', 'kafka', 'schema_registry', 's3']) {
      assert.equal(body.components[c].status, 'ok', `${c}: ${body.components[c].error}`);
      assert.equal(body.components[c].error, null);
      assert.equal(typeof body.components[c].latency_ms, 'number');
    }
    assert.equal(body.components.kafka.target, kafkaBrokers().join(','));
    assert.match(String(body.components.s3.target), new RegExp(`bucket ${s3Settings().bucket}`));
  });

  it('caches results: polls in a row and at once share one round of checks', async () => {
    const first = (await getJson(`${srv.url}/health`)).body as unknown as Health;
    const burst = await Promise.all(Array.from({ length: 8 }, () => getJson(`${srv.url}/health`)));
    const stamps = new Set([first, ...burst.map((b) => b.body as unknown as Health)].map((b) => b.components.kafka.checked_at));
    assert.ok(stamps.size <= 2, `at most one new round while polling (${stamps.size})`);
  });
});

describe('/health with unreachable backends and a wrong S3 secret', () => {
  let store: TestStore;
  let srv: Running;
  let secretSrv: Running | undefined;
  before(async () => {
    store = await openTestStore();
    const [k, r, s] = [await freePort(), await freePort(), await freePort()];
    srv = await startServer({
      storage: store.storage,
      health: {
        kafkaBrokers: [`127.0.0.1:${k}`],
        schemaRegistryUrl: `http://reg-user:reg-pass-123@127.0.0.1:${r}/apis/ccompat/v7`,
        s3: await s3Store({ endpoint: `http://127.0.0.1:${s}` }),
        timeoutMs: 1_000,
      },
    });
  });
  after(async () => {
    await srv.server.close();
    await secretSrv?.server.close();
    await store.cleanup();
  });

  it('answers 200 degraded (only the database is required) with a reason per component and no credentials', async () => {
    const r = await getJson(`${srv.url}/health`);
    const body = r.body as unknown as Health;
    assert.equal(r.status, 200);
    assert.equal(body.status, 'degraded');
    assert.equal(body.database, 'ok');
    for (const c of ['kafka', 'schema_registry', 's3']) {
      assert.equal(body.components[c].status, 'down', c);
      assert.equal(body.components[c].required, false);
      assert.ok(body.components[c].error && body.components[c].error.length > 0, `${c} has a reason`);
    }
    assert.match(String(body.components.schema_registry.error), /ECONNREFUSED|fetch failed/);
    assert.match(String(body.components.s3.error), /ECONNREFUSED|unavailable/i);
    const text = JSON.stringify(body);
    assert.ok(!text.includes('reg-pass-123') && !text.includes('reg-user'), 'registry credentials never appear');
    assert.ok(!text.includes(s3Settings().secretKey || 'no-secret-set'), 'the S3 secret never appears');
    assert.match(String(body.components.schema_registry.target), /^http:\/\/127\.0\.0\.1:\d+\/apis\/ccompat\/v7$/);
  });

  it('a wrong S3 secret is down with an access hint (s3 server needed)', { skip: s3Skip('test/api/health.test.ts') }, async () => {
    const s = await startServer({ storage: store.storage, health: { s3: await s3Store({ secretKey: 'wrong-secret-xyz' }) } });
    secretSrv = s;
    const body = (await getJson(`${s.url}/health`)).body as unknown as Health;
    assert.equal(body.components.s3.status, 'down');
    assert.match(String(body.components.s3.error), /SignatureDoesNotMatch|AccessDenied|InvalidAccessKeyId|access key/i);
    assert.ok(!JSON.stringify(body).includes('wrong-secret-xyz'));
  });
});

describe('/health when the database is down', () => {
  it('answers 503 while the optional components stay as they are', async () => {
    const broken = await openTestStore();
    const srv = await startServer({ storage: broken.storage });
    try {
      broken.breakPing();
      const r = await getJson(`${srv.url}/health`);
      const body = r.body as unknown as Health;
      assert.equal(r.status, 503);
      assert.equal(body.status, 'degraded');
      assert.equal(body.components.database.status, 'down');
      assert.equal(body.components.kafka.status, 'not_configured');
    } finally {
      await srv.server.close();
      await broken.cleanup();
    }
  });
});

describe('HealthChecker', () => {
  it('a check that never answers is cut off by the time limit', async () => {
    const hang: ComponentCheck = { name: 'kafka', required: false, target: 'nowhere', check: () => new Promise<void>(() => {}) };
    const checker = new HealthChecker([hang], { timeoutMs: 100, cacheMs: 0 });
    const r = await checker.report();
    assert.equal(r.components.kafka.status, 'down');
    assert.match(String(r.components.kafka.error), /no answer within/);
    assert.equal(r.unavailable, false);
    assert.equal(r.components.database.status, 'not_configured');
  });
});

describe('ovr-alpr api (backend): /health and presigned image URLs from config/bus.yaml and images.yaml', { skip: servicesSkip || postgresSkip() }, () => {
  let pg: TestPostgres;
  let cfg: string;
  before(async () => {
    pg = await startTestPostgres();
    cfg = mkdtempSync(join(tmpdir(), 'ovr-health-cfg-'));
    writeFileSync(join(cfg, 'bus.yaml'), 'enabled: true\nformat: avro\n');
    writeFileSync(join(cfg, 'images.yaml'), `s3:\n  enabled: true\n  bucket: ${s3Settings().bucket}\n`);
  });
  after(async () => {
    await pg?.stop();
    rmSync(cfg, { recursive: true, force: true });
  });

  it('reports every backend ok and redirects s3:// pictures to presigned URLs', async () => {
    const s = s3Settings();
    const env = {
      OVR_ALPR_DATABASE_URL: await pg.createDatabase('ovr_health'),
      OVR_ALPR_CONFIG_DIR: cfg,
      OVR_ALPR_KAFKA_BROKERS: kafkaBrokers().join(','),
      OVR_ALPR_SCHEMA_REGISTRY_URL: process.env.OVR_ALPR_SCHEMA_REGISTRY_URL,
      ...s3Env(),
    };
    const cmd = await startCommand(apiCmd, ['--port', '0', '--log-level', 'silent'], env);
    try {
      const url = cmd.url;
      const r = await getJson(`${url}/health`);
      const body = r.body as unknown as Health;
      assert.equal(r.status, 200, JSON.stringify(body));
      for (const c of ['database', 'kafka', 'schema_registry', 's3']) assert.equal(body.components[c].status, 'ok', `${c}: ${body.components[c].error}`);
      assert.equal((body as unknown as { image_uploads?: unknown }).image_uploads, undefined, 'the backend uploads nothing');

      const key = `2024/05/01/${randomUUID()}-plate.jpg`;
      const admin = s3Admin();
      const bytes = Buffer.from([0xff, 0xd8, 1, 2, 3, 4]);
      await admin.putObject(s.bucket, key, bytes, bytes.length, { 'Content-Type': 'image/jpeg' });
      try {
        const res = await fetch(`${url}/images/s3/${s.bucket}/${key}`, { redirect: 'manual' });
        assert.equal(res.status, 302);
        const img = await fetch(res.headers.get('location') as string);
        assert.equal(img.status, 200);
        assert.deepEqual(Buffer.from(await img.arrayBuffer()), bytes);
      } finally {
        await admin.removeObject(s.bucket, key);
      }
    } finally {
      assert.equal(await cmd.stop(), 0);
    }
  });
});
