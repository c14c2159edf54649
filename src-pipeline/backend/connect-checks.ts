/**
 * Connect mode: checks an existing backend (Kafka, the schema registry, PostgreSQL/TimescaleDB,
 * S3) service by service, so the operator learns which one is wrong and why ("PostgreSQL at
 * 10.0.0.5:5432 refused the password for user alpr") instead of one opaque failure. Each check
 * has its own timeout and never throws; credentials never appear in a report.
 */
import { readFileSync } from 'node:fs';
import { redact, report, type BackendErrorCode, type BackendReport, type ServiceReport } from './report.js';

export interface ConnectTargets {
  kafkaBrokers?: string[];
  schemaRegistryUrl?: string;
  databaseUrl?: string;
  s3?: { endpoint: string; bucket: string; accessKey: string; secretKey: string; region?: string };
}

export interface CheckOptions {
  /** Per-service timeout. */
  timeoutMs?: number;
}

/** Targets from the same OVR_ALPR_* variables the services read (see compose/.env.example). */
export function targetsFromEnv(env: Record<string, string | undefined>): ConnectTargets {
  const secret = (name: string) => env[name] ?? (env[`${name}_FILE`] ? readFileSync(env[`${name}_FILE`]!, 'utf8').trim() : undefined);
  const brokers = env.OVR_ALPR_KAFKA_BROKERS?.split(',')
    .map((b) => b.trim())
    .filter(Boolean);
  const endpoint = env.OVR_ALPR_S3_ENDPOINT;
  return {
    kafkaBrokers: brokers?.length ? brokers : undefined,
    schemaRegistryUrl: env.OVR_ALPR_SCHEMA_REGISTRY_URL || undefined,
    databaseUrl: env.OVR_ALPR_DATABASE_URL || undefined,
    s3: endpoint
      ? {
          endpoint,
          bucket: env.OVR_ALPR_S3_BUCKET || 'alpr-plate-images',
          accessKey: secret('OVR_ALPR_S3_ACCESS_KEY') ?? '',
          secretKey: secret('OVR_ALPR_S3_SECRET_KEY') ?? '',
          region: env.OVR_ALPR_S3_REGION || undefined,
        }
      : undefined,
  };
}

export async function checkBackend(t: ConnectTargets, opts: CheckOptions = {}): Promise<BackendReport> {
  const services = await Promise.all([
    checkKafka(t.kafkaBrokers, opts),
    checkRegistry(t.schemaRegistryUrl, opts),
    checkPostgres(t.databaseUrl, opts),
    checkS3(t.s3, opts),
  ]);
  return report('connect', services);
}

const NOT_CONFIGURED: Record<string, string> = {
  kafka: 'no Kafka brokers configured (OVR_ALPR_KAFKA_BROKERS or --brokers)',
  'schema-registry': 'no schema registry configured (OVR_ALPR_SCHEMA_REGISTRY_URL or --schema-registry)',
  postgres: 'no database configured (OVR_ALPR_DATABASE_URL or --database-url)',
  s3: 'no S3 endpoint configured (OVR_ALPR_S3_ENDPOINT or --s3-endpoint)',
};

function notConfigured(service: string): ServiceReport {
  return { service, state: 'not-configured', target: null, detail: null, error: { code: 'NOT_CONFIGURED', message: NOT_CONFIGURED[service]! } };
}

function healthy(service: string, target: string, detail: string): ServiceReport {
  return { service, state: 'healthy', target: redact(target), detail, error: null };
}

function failed(service: string, target: string, code: BackendErrorCode, message: string): ServiceReport {
  return {
    service,
    state: code === 'UNREACHABLE' || code === 'TIMEOUT' ? 'unreachable' : 'unhealthy',
    target: redact(target),
    detail: null,
    error: { code, message: redact(message) },
  };
}

/** Network-level failure codes found anywhere in an error's cause chain. */
function networkCode(err: unknown): BackendErrorCode | null {
  for (let e = err as { code?: unknown; name?: unknown; message?: unknown; cause?: unknown; originalError?: unknown } | undefined, i = 0; e && i < 8; i++) {
    const code = typeof e.code === 'string' ? e.code : '';
    const msg = typeof e.message === 'string' ? e.message : '';
    if (
      ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNRESET'].includes(code) ||
      /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ENETUNREACH/.test(msg)
    )
      return 'UNREACHABLE';
    if (code === 'ETIMEDOUT' || e.name === 'TimeoutError' || /timed? ?out|timeout/i.test(msg)) return 'TIMEOUT';
    e = (e.cause ?? e.originalError) as typeof e;
  }
  return null;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const t = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error(`${what} did not answer within ${ms} ms`), { name: 'TimeoutError' })), ms);
  });
  return Promise.race([p, t]).finally(() => clearTimeout(timer));
}

export async function checkKafka(brokers: string[] | undefined, opts: CheckOptions = {}): Promise<ServiceReport> {
  if (!brokers?.length) return notConfigured('kafka');
  const target = brokers.join(',');
  const timeoutMs = opts.timeoutMs ?? 5000;
  const { Kafka, logLevel } = await import('kafkajs');
  const kafka = new Kafka({
    clientId: 'ovr-alpr-backend-check',
    brokers,
    connectionTimeout: Math.min(3000, timeoutMs),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING,
  });
  const admin = kafka.admin();
  try {
    const cluster = await withTimeout(
      (async () => {
        await admin.connect();
        return admin.describeCluster();
      })(),
      timeoutMs,
      `Kafka at ${target}`,
    );
    return healthy('kafka', target, `${cluster.brokers.length} broker(s), controller ${cluster.controller ?? 'unknown'}, cluster ${cluster.clusterId}`);
  } catch (err) {
    const net = networkCode(err);
    const msg = (err as Error).message;
    if (net === 'UNREACHABLE')
      return failed('kafka', target, net, `Kafka at ${target} refused the connection or is unknown (is the broker running and listening there?): ${msg}`);
    if (net === 'TIMEOUT') return failed('kafka', target, net, `Kafka at ${target} did not answer in time: ${msg}`);
    if (/SASL|authentica/i.test(msg)) return failed('kafka', target, 'AUTH_FAILED', `Kafka at ${target} refused our credentials: ${msg}`);
    return failed('kafka', target, 'BAD_RESPONSE', `Kafka at ${target}: ${msg}`);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function checkRegistry(url: string | undefined, opts: CheckOptions = {}): Promise<ServiceReport> {
  if (!url) return notConfigured('schema-registry');
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return failed('schema-registry', url, 'BAD_RESPONSE', `schema registry URL is not a URL: ${url}`);
  }
  const headers: Record<string, string> = { accept: 'application/vnd.schemaregistry.v1+json, application/json' };
  if (parsed.username || parsed.password) {
    // fetch refuses URLs with credentials in them; the registry wants them as Basic auth.
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(parsed.username)}:${decodeURIComponent(parsed.password)}`).toString('base64')}`;
    parsed.username = '';
    parsed.password = '';
  }
  const base = parsed.href.replace(/\/+$/, '');
  try {
    const res = await fetch(`${base}/subjects`, { headers, signal: AbortSignal.timeout(opts.timeoutMs ?? 5000) });
    const body = await res.text();
    if (res.status === 401 || res.status === 403)
      return failed('schema-registry', url, 'AUTH_FAILED', `schema registry at ${base} refused our credentials (HTTP ${res.status})`);
    if (!res.ok)
      return failed(
        'schema-registry',
        url,
        'BAD_RESPONSE',
        `schema registry at ${base} answered HTTP ${res.status} on /subjects (wrong URL? Apicurio needs …/apis/ccompat/v7)`,
      );
    let subjects: unknown;
    try {
      subjects = JSON.parse(body);
    } catch {
      subjects = null;
    }
    if (!Array.isArray(subjects))
      return failed('schema-registry', url, 'BAD_RESPONSE', `schema registry at ${base}: /subjects is not a JSON list (is this a schema registry?)`);
    return healthy('schema-registry', url, `${subjects.length} subject(s)`);
  } catch (err) {
    const net = networkCode(err) ?? 'UNREACHABLE';
    return failed(
      'schema-registry',
      url,
      net,
      `schema registry at ${base} ${net === 'TIMEOUT' ? 'did not answer in time' : 'is unreachable'}: ${causeMessage(err)}`,
    );
  }
}

function causeMessage(err: unknown): string {
  const e = err as Error & { cause?: Error };
  return e.cause?.message ? `${e.message} (${e.cause.message})` : e.message;
}

export async function checkPostgres(databaseUrl: string | undefined, opts: CheckOptions = {}): Promise<ServiceReport> {
  if (!databaseUrl) return notConfigured('postgres');
  const timeoutMs = opts.timeoutMs ?? 5000;
  const { default: pg } = await import('pg');
  let where = 'PostgreSQL';
  try {
    const u = new URL(databaseUrl);
    where = `PostgreSQL at ${u.hostname}:${u.port || 5432}${u.pathname && u.pathname !== '/' ? ` database ${u.pathname.slice(1)}` : ''}`;
  } catch {
    return failed('postgres', '(unparseable URL)', 'BAD_RESPONSE', 'database URL is not a URL like postgres://user:pass@host:5432/db');
  }
  const client = new pg.Client({ connectionString: databaseUrl, connectionTimeoutMillis: timeoutMs, query_timeout: timeoutMs, statement_timeout: timeoutMs });
  // A failed connect can also emit 'error' later; unhandled it would take the process down.
  client.on('error', () => undefined);
  try {
    await client.connect();
    const v = await client.query<{ v: string }>('select current_setting($1) as v', ['server_version']);
    const ts = await client.query<{ extversion: string }>("select extversion from pg_extension where extname = 'timescaledb'");
    const tsText = ts.rows[0] ? `, timescaledb ${ts.rows[0].extversion}` : ', no timescaledb extension (plain PostgreSQL tables)';
    return healthy('postgres', databaseUrl, `PostgreSQL ${v.rows[0]?.v}${tsText}`);
  } catch (err) {
    const code = (err as { code?: string }).code;
    const msg = (err as Error).message;
    if (code === '28P01' || code === '28000') return failed('postgres', databaseUrl, 'AUTH_FAILED', `${where} refused the login: ${msg}`);
    if (code === '3D000') return failed('postgres', databaseUrl, 'MISSING_RESOURCE', `${where}: ${msg} (create it, or fix the database name in the URL)`);
    const net = networkCode(err);
    if (net === 'UNREACHABLE')
      return failed('postgres', databaseUrl, net, `${where} refused the connection or is unknown (is PostgreSQL running and listening there?): ${msg}`);
    if (net === 'TIMEOUT') return failed('postgres', databaseUrl, net, `${where} did not answer in time: ${msg}`);
    return failed('postgres', databaseUrl, 'BAD_RESPONSE', `${where}: ${msg}`);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function checkS3(s3: ConnectTargets['s3'], opts: CheckOptions = {}): Promise<ServiceReport> {
  if (!s3) return notConfigured('s3');
  const timeoutMs = opts.timeoutMs ?? 5000;
  const target = `${s3.endpoint} bucket ${s3.bucket}`;
  let url: URL;
  try {
    url = new URL(s3.endpoint);
  } catch {
    return failed('s3', s3.endpoint, 'BAD_RESPONSE', `S3 endpoint is not a URL like http://127.0.0.1:9000: ${s3.endpoint}`);
  }
  if (!s3.accessKey || !s3.secretKey)
    return failed('s3', target, 'AUTH_FAILED', 'S3 credentials missing: set OVR_ALPR_S3_ACCESS_KEY and OVR_ALPR_S3_SECRET_KEY (or their _FILE variants)');
  const { Client } = await import('minio');
  const useSSL = url.protocol === 'https:';
  const client = new Client({
    endPoint: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : useSSL ? 443 : 80,
    useSSL,
    accessKey: s3.accessKey,
    secretKey: s3.secretKey,
    region: s3.region ?? 'us-east-1',
    pathStyle: true,
    retryOptions: { disableRetry: true },
  });
  try {
    const exists = await withTimeout(client.bucketExists(s3.bucket), timeoutMs, `S3 at ${s3.endpoint}`);
    if (!exists)
      return failed(
        's3',
        target,
        'MISSING_RESOURCE',
        `S3 at ${s3.endpoint} has no bucket "${s3.bucket}" (compose's minio-init creates alpr-plate-images; or create it yourself)`,
      );
    return healthy('s3', target, `bucket ${s3.bucket} reachable`);
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    const msg = (err as Error).message;
    if (['InvalidAccessKeyId', 'SignatureDoesNotMatch', 'AccessDenied', 'InvalidToken'].includes(code))
      return failed('s3', target, 'AUTH_FAILED', `S3 at ${s3.endpoint} refused our credentials (${code})`);
    const net = networkCode(err);
    if (net === 'UNREACHABLE') return failed('s3', target, net, `S3 at ${s3.endpoint} refused the connection or is unknown (is MinIO running there?): ${msg}`);
    if (net === 'TIMEOUT') return failed('s3', target, net, `S3 at ${s3.endpoint} did not answer in time: ${msg}`);
    return failed('s3', target, 'BAD_RESPONSE', `S3 at ${s3.endpoint}: ${code ? `${code}: ` : ''}${msg}`);
  }
}
