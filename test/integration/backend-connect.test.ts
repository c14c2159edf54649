/**
 * `ovr-alpr backend status` in connect mode against the real services scripts/services.sh runs
 * (Kafka, Apicurio's Confluent-compatible registry, SeaweedFS S3) and a real PostgreSQL
 * (test/support/postgres.ts), then against closed ports, wrong names and wrong keys: each
 * service must come back with its own state and error code, and no secret in the output.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { checkBackend, checkPostgres, checkRegistry, checkS3 } from '../../src-pipeline/backend/connect-checks.js';
import { main } from '../../src-pipeline/cli.js';
import { backendCmd } from '../../src-pipeline/cli/backend.js';
import { postgresSkip, startTestPostgres, type TestPostgres } from '../support/postgres.js';
import { kafkaBrokers, kafkaSkip, registrySkip, s3Settings, s3Skip } from '../support/services.js';
import { freePort } from '../support/tools.js';

const FILE = 'test/integration/backend-connect.test.ts';
const skip = kafkaSkip(FILE) || registrySkip(FILE) || postgresSkip();
// .ci/run does not start S3 yet (see test/support/services.ts): the S3 checks skip on their own.
const noS3 = s3Skip(FILE);

describe('backend connect mode (real Kafka, registry, PostgreSQL, S3)', { skip }, () => {
  let pg: TestPostgres;
  let closed: number;
  before(async () => {
    pg = await startTestPostgres();
    closed = await freePort();
  });
  after(async () => {
    await pg?.stop();
  });

  const s3 = () => {
    const s = s3Settings();
    return { endpoint: s.endpoint, bucket: s.bucket, accessKey: s.accessKey, secretKey: s.secretKey, region: s.region };
  };
  const someS3 = { endpoint: 'http://127.0.0.1:1', bucket: 'alpr-plate-images', accessKey: 'ovralpr', secretKey: 'never-printed-secret-42' };

  it('reports every service healthy with what it found', async () => {
    const r = await checkBackend({
      kafkaBrokers: kafkaBrokers(),
      schemaRegistryUrl: process.env.OVR_ALPR_SCHEMA_REGISTRY_URL,
      databaseUrl: pg.adminUrl,
      s3: noS3 ? undefined : s3(),
    });
    assert.deepEqual(
      r.services.map((s) => [s.service, s.state, s.error]),
      [
        ['kafka', 'healthy', null],
        ['schema-registry', 'healthy', null],
        ['postgres', 'healthy', null],
        noS3
          ? ['s3', 'not-configured', { code: 'NOT_CONFIGURED', message: 'no S3 endpoint configured (OVR_ALPR_S3_ENDPOINT or --s3-endpoint)' }]
          : ['s3', 'healthy', null],
      ],
      JSON.stringify(r, null, 1),
    );
    assert.equal(r.ok, !noS3);
    assert.match(r.services[0]!.detail!, /^\d+ broker\(s\), controller/);
    assert.match(r.services[2]!.detail!, /^PostgreSQL \d+/);
    if (!noS3) assert.ok(!JSON.stringify(r).includes(s3().secretKey), 'the S3 secret must not appear');
  });

  it('closed ports: each service is unreachable with its own message', async () => {
    const r = await checkBackend(
      {
        kafkaBrokers: [`127.0.0.1:${closed}`],
        schemaRegistryUrl: `http://127.0.0.1:${closed}/apis/ccompat/v7`,
        databaseUrl: `postgres://alpr:hunter2@127.0.0.1:${closed}/alpr`,
        s3: { ...someS3, endpoint: `http://127.0.0.1:${closed}` },
      },
      { timeoutMs: 3000 },
    );
    assert.equal(r.ok, false);
    for (const s of r.services) {
      assert.equal(s.state, 'unreachable', JSON.stringify(s));
      assert.equal(s.error?.code, 'UNREACHABLE', JSON.stringify(s));
    }
    const [kafka, registry, postgres, s3r] = r.services;
    assert.match(kafka!.error!.message, new RegExp(`^Kafka at 127\\.0\\.0\\.1:${closed} refused the connection`));
    assert.match(registry!.error!.message, new RegExp(`^schema registry at http://127\\.0\\.0\\.1:${closed}/apis/ccompat/v7 is unreachable`));
    assert.match(postgres!.error!.message, new RegExp(`^PostgreSQL at 127\\.0\\.0\\.1:${closed} database alpr refused the connection`));
    assert.match(s3r!.error!.message, new RegExp(`^S3 at http://127\\.0\\.0\\.1:${closed} refused the connection`));
    const text = JSON.stringify(r);
    assert.ok(!text.includes('hunter2'), 'the database password must not appear');
    assert.ok(!text.includes(someS3.secretKey), 'the S3 secret must not appear');
    assert.match(postgres!.target!, /^postgres:\/\/\*\*\*@127\.0\.0\.1/);
  });

  it('tells a wrong database and a wrong registry path apart', async () => {
    const noDb = pg.adminUrl.replace(/\/postgres(\?|$)/, '/no_such_db_ovr$1');
    const db = await checkPostgres(noDb);
    assert.equal(db.error?.code, 'MISSING_RESOURCE', JSON.stringify(db));
    assert.match(db.error!.message, /database "no_such_db_ovr" does not exist/);

    const base = new URL(process.env.OVR_ALPR_SCHEMA_REGISTRY_URL!);
    const wrongPath = await checkRegistry(`${base.origin}/not-the-registry`);
    assert.equal(wrongPath.error?.code, 'BAD_RESPONSE', JSON.stringify(wrongPath));
  });

  it('S3: a missing bucket and wrong keys are told apart', { skip: noS3 }, async () => {
    const bucket = await checkS3({ ...s3(), bucket: 'no-such-bucket-ovr-alpr' });
    assert.equal(bucket.error?.code, 'MISSING_RESOURCE', JSON.stringify(bucket));

    const keys = await checkS3({ ...s3(), secretKey: 'wrong-secret-0123456789' });
    assert.equal(keys.error?.code, 'AUTH_FAILED', JSON.stringify(keys));
    assert.ok(!JSON.stringify(keys).includes('wrong-secret'));
  });

  it('nothing configured: every service says which variable or flag to set', async () => {
    const r = await checkBackend({});
    assert.deepEqual(
      r.services.map((s) => s.error?.code),
      ['NOT_CONFIGURED', 'NOT_CONFIGURED', 'NOT_CONFIGURED', 'NOT_CONFIGURED'],
    );
    assert.match(r.services[2]!.error!.message, /OVR_ALPR_DATABASE_URL or --database-url/);
  });

  it('`ovr-alpr backend status --json` reads the OVR_ALPR_* variables, and flags override them; exit 1 when a service is down', async () => {
    const env = {
      OVR_ALPR_KAFKA_BROKERS: kafkaBrokers().join(','),
      OVR_ALPR_SCHEMA_REGISTRY_URL: process.env.OVR_ALPR_SCHEMA_REGISTRY_URL,
      OVR_ALPR_DATABASE_URL: pg.adminUrl,
      ...(noS3
        ? {}
        : {
            OVR_ALPR_S3_ENDPOINT: s3().endpoint,
            OVR_ALPR_S3_BUCKET: s3().bucket,
            OVR_ALPR_S3_ACCESS_KEY: s3().accessKey,
            OVR_ALPR_S3_SECRET_KEY: s3().secretKey,
          }),
    };
    const out: string[] = [];
    const err: string[] = [];
    const ok = await backendCmd(['status', '--json'], { out: (l) => out.push(l), err: (l) => err.push(l), env });
    const report = JSON.parse(out.at(-1)!) as { ok: boolean; services: { service: string; state: string }[] };
    assert.deepEqual(
      report.services.filter((x) => x.service !== 's3').map((x) => x.state),
      ['healthy', 'healthy', 'healthy'],
    );
    assert.equal(ok, noS3 ? 1 : 0, `${out.join('\n')}\n${err.join('\n')}`);

    out.length = 0;
    const down = await backendCmd(['status', '--database-url', `postgres://u:pw@127.0.0.1:${closed}/x`], {
      out: (l) => out.push(l),
      err: (l) => err.push(l),
      env,
    });
    assert.equal(down, 1);
    assert.match(
      out.find((l) => l.startsWith('postgres'))!,
      /unreachable .*UNREACHABLE: PostgreSQL at 127\.0\.0\.1:\d+ database x refused the connection/,
    );
    assert.match(out.at(-1)!, /backend \(connect\): NOT healthy/);
    assert.ok(!out.join('\n').includes(':pw@'));
  });

  it('`ovr-alpr backend` without an action is a usage error (exit 2)', async () => {
    const err: string[] = [];
    assert.equal(await main(['backend'], { out: () => undefined, err: (l) => err.push(l) }), 2);
    assert.match(err.join('\n'), /backend needs one of up, down, status/);
  });
});
