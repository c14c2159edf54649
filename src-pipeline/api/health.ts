/**
 * Component checks behind GET /health: the database, and when configured the Kafka broker, the
 * schema registry and S3. Each check is one cheap request with a short time limit (a broker
 * metadata request on a kept-open admin connection, GET /config of the registry, a signed HEAD
 * of the image bucket). Results are cached for `cacheMs` and concurrent callers share one round
 * of checks, so a console or a load balancer polling /health does not hammer the backends.
 *
 * Required components (the database: nothing answers without it) make /health 503 when down;
 * the others only make it `degraded`, since the edge keeps their data meanwhile (the outbox
 * holds events for Kafka, the upload cache holds pictures for S3). Error messages never carry
 * credentials: URLs are reduced to scheme://host:port/path and secrets are scrubbed.
 */
import { Kafka, logLevel, type Admin } from 'kafkajs';
import type { BusConfig } from '../common/bus-config.js';
import type { Storage } from '../store/storage.js';

export type ComponentName = 'database' | 'kafka' | 'schema_registry' | 's3';
export type ComponentStatus = 'ok' | 'down' | 'not_configured';

export interface ComponentReport {
  status: ComponentStatus;
  required: boolean;
  latency_ms: number | null;
  error: string | null;
  /** What was checked (host:port, bucket…), without credentials. */
  target: string | null;
  checked_at: string | null;
}

export interface HealthReport {
  status: 'ok' | 'degraded';
  /** True when a required component is down (the route answers 503). */
  unavailable: boolean;
  components: Record<ComponentName, ComponentReport>;
}

export interface ComponentCheck {
  name: ComponentName;
  required: boolean;
  target: string;
  /** Resolves when healthy; rejects with the reason. Must not outlive `timeoutMs` by much. */
  check(timeoutMs: number): Promise<void>;
  close?(): Promise<void>;
}

export interface HealthOptions {
  /** Kafka brokers (host:port) when the bus is configured. */
  kafkaBrokers?: string[];
  kafkaClientId?: string;
  /** Confluent-compatible registry base URL (may carry user:pass) when configured. */
  schemaRegistryUrl?: string;
  /** The S3 image store when configured. */
  s3?: { bucket: string; endpoint: string; ping(timeoutMs: number): Promise<void> };
  /** One check's time limit (default 1,500 ms). */
  timeoutMs?: number;
  /** How long a result is reused (default 2,000 ms). */
  cacheMs?: number;
}

const NAMES: readonly ComponentName[] = ['database', 'kafka', 'schema_registry', 's3'];
const MAX_ERROR = 300;

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    // Not unref'd: it is short, always cleared, and a caller awaiting the report needs it to fire.
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}

/** `scheme://host:port/path` of a URL, credentials and query dropped. */
export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname.replace(/\/$/, '')}`;
  } catch {
    return '(invalid URL)';
  }
}

function message(err: unknown, secrets: readonly string[]): string {
  let text = err instanceof Error ? err.message : String(err);
  const cause = (err as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (text === 'fetch failed' && cause) text = `fetch failed: ${typeof cause.code === 'string' ? cause.code : String(cause.message ?? '')}`;
  for (const s of secrets) if (s.length >= 3) text = text.split(s).join('***');
  return text.length > MAX_ERROR ? `${text.slice(0, MAX_ERROR)}…` : text;
}

export function databaseCheck(storage: Pick<Storage, 'ping' | 'kind'>): ComponentCheck {
  return {
    name: 'database',
    required: true,
    target: storage.kind,
    async check(timeoutMs) {
      const ok = await withTimeout(storage.ping(), timeoutMs, 'database');
      if (!ok) throw new Error('database did not answer the ping');
    },
  };
}

/**
 * A broker metadata request (describeCluster) on an admin connection kept open between checks;
 * a failed check drops the connection so the next one starts clean. No retries: the check's
 * time limit is the budget.
 */
export function kafkaCheck(brokers: string[], clientId = 'ovr-alpr-health'): ComponentCheck {
  let admin: Admin | null = null;
  let connected = false;
  const drop = async () => {
    const a = admin;
    admin = null;
    connected = false;
    await a?.disconnect().catch(() => undefined);
  };
  return {
    name: 'kafka',
    required: false,
    target: brokers.join(','),
    async check(timeoutMs) {
      try {
        if (!admin) {
          const kafka = new Kafka({
            clientId,
            brokers,
            connectionTimeout: Math.max(100, Math.floor(timeoutMs * 0.8)),
            requestTimeout: timeoutMs,
            retry: { retries: 0 },
            logLevel: logLevel.NOTHING,
          });
          admin = kafka.admin({ retry: { retries: 0 } });
        }
        const a = admin;
        await withTimeout(
          (async () => {
            if (!connected) {
              await a.connect();
              connected = true;
            }
            const cluster = await a.describeCluster();
            if (cluster.brokers.length === 0) throw new Error('the cluster reports no brokers');
          })(),
          timeoutMs,
          'kafka',
        );
      } catch (err) {
        await drop();
        throw err;
      }
    },
    close: drop,
  };
}

/** GET <registry>/config (the global compatibility level: a tiny answer every Confluent-compatible registry gives). */
export function schemaRegistryCheck(url: string): ComponentCheck {
  const u = new URL(url);
  const secrets = [u.password, decodeURIComponent(u.password)].filter(Boolean);
  const headers: Record<string, string> = { accept: 'application/vnd.schemaregistry.v1+json, application/json' };
  if (u.username || u.password)
    headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
  const base = safeUrl(url);
  return {
    name: 'schema_registry',
    required: false,
    target: base,
    async check(timeoutMs) {
      try {
        const res = await fetch(`${base}/config`, { headers, signal: AbortSignal.timeout(timeoutMs) });
        await res.arrayBuffer().catch(() => undefined);
        if (!res.ok) throw new Error(`HTTP ${res.status}${res.status === 401 || res.status === 403 ? ' (check the registry credentials)' : ''}`);
      } catch (err) {
        if ((err as Error).name === 'TimeoutError') throw new Error(`schema registry: no answer within ${timeoutMs} ms`);
        throw new Error(message(err, secrets));
      }
    },
  };
}

export function s3Check(s3: NonNullable<HealthOptions['s3']>): ComponentCheck {
  return {
    name: 's3',
    required: false,
    target: `${s3.endpoint} (bucket ${s3.bucket})`,
    check: (timeoutMs) => s3.ping(timeoutMs),
  };
}

export class HealthChecker {
  private readonly checks: ComponentCheck[];
  private readonly timeoutMs: number;
  private readonly cacheMs: number;
  private cached: { at: number; report: HealthReport } | null = null;
  private running: Promise<HealthReport> | null = null;

  constructor(checks: ComponentCheck[], opts: { timeoutMs?: number; cacheMs?: number } = {}) {
    this.checks = checks;
    this.timeoutMs = opts.timeoutMs ?? 1_500;
    this.cacheMs = opts.cacheMs ?? 2_000;
  }

  /** The checks for a server: the database always, the rest when configured. */
  static forServer(storage: Pick<Storage, 'ping' | 'kind'>, opts: HealthOptions = {}): HealthChecker {
    const checks = [databaseCheck(storage)];
    if (opts.kafkaBrokers && opts.kafkaBrokers.length > 0) checks.push(kafkaCheck(opts.kafkaBrokers, opts.kafkaClientId));
    if (opts.schemaRegistryUrl) checks.push(schemaRegistryCheck(opts.schemaRegistryUrl));
    if (opts.s3) checks.push(s3Check(opts.s3));
    return new HealthChecker(checks, opts);
  }

  /** The latest report: cached when younger than cacheMs; concurrent callers share one round. */
  report(): Promise<HealthReport> {
    if (this.cached && Date.now() - this.cached.at < this.cacheMs) return Promise.resolve(this.cached.report);
    this.running ??= this.run().finally(() => {
      this.running = null;
    });
    return this.running;
  }

  async close(): Promise<void> {
    await Promise.allSettled(this.checks.map((c) => c.close?.()));
  }

  private async run(): Promise<HealthReport> {
    const components = Object.fromEntries(
      NAMES.map((n) => [
        n,
        { status: 'not_configured', required: false, latency_ms: null, error: null, target: null, checked_at: null } satisfies ComponentReport,
      ]),
    ) as Record<ComponentName, ComponentReport>;
    await Promise.all(
      this.checks.map(async (c) => {
        const t0 = performance.now();
        let error: string | null = null;
        try {
          // The outer limit also covers a check that ignores its own.
          await withTimeout(c.check(this.timeoutMs), this.timeoutMs + 250, c.name);
        } catch (err) {
          error = message(err, []);
        }
        components[c.name] = {
          status: error === null ? 'ok' : 'down',
          required: c.required,
          latency_ms: Math.round((performance.now() - t0) * 10) / 10,
          error,
          target: c.target,
          checked_at: new Date().toISOString(),
        };
      }),
    );
    const down = Object.values(components).filter((c) => c.status === 'down');
    const report: HealthReport = {
      status: down.length === 0 ? 'ok' : 'degraded',
      unavailable: down.some((c) => c.required),
      components,
    };
    this.cached = { at: Date.now(), report };
    return report;
  }
}

/** The Kafka and registry checks for a server whose config/bus.yaml enables the bus (none otherwise). */
export function busHealth(bus: BusConfig | null | undefined): HealthOptions {
  if (!bus?.enabled) return {};
  return { kafkaBrokers: bus.brokers, kafkaClientId: `${bus.client_id}-health`, schemaRegistryUrl: bus.schema_registry_url };
}
