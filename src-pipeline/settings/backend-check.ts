/**
 * "Test connection" for the Kafka backend: can we reach the brokers (cluster metadata), does
 * the topic exist, how far behind is the storage consumer group, and does the schema registry
 * answer. Each part reports ok/error in words; nothing here throws.
 */
import { Kafka, logLevel } from 'kafkajs';
import type { BusConfig } from '../common/bus-config.js';
import { STORAGE_CONSUMER_GROUP } from '../bus/storage-consumer.js';

export const BACKEND_TIMEOUT_MS = 5000;

export interface BackendCheck {
  kafka: { ok: boolean; error?: string; brokers?: number; topic_exists?: boolean; partitions?: number; consumer_lag?: number | null };
  registry: { ok: boolean; error?: string; subjects?: number } | null;
  elapsed_ms: number;
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms / 1000} s`)), ms))),
  ]).finally(() => clearTimeout(timer));
}

/** Registry URLs may carry user:pass; never echo them back in an error. */
function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    u.username = '';
    u.password = '';
    return u.toString();
  } catch {
    return '(unparseable URL)';
  }
}

async function checkKafka(bus: Pick<BusConfig, 'brokers' | 'topic' | 'client_id'>, timeoutMs: number): Promise<BackendCheck['kafka']> {
  const kafka = new Kafka({
    clientId: `${bus.client_id}-console-check`,
    brokers: [...bus.brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(timeoutMs, 3000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin();
  try {
    await withTimeout(admin.connect(), timeoutMs, 'kafka');
    const cluster = await withTimeout(admin.describeCluster(), timeoutMs, 'kafka');
    const topics = await withTimeout(admin.listTopics(), timeoutMs, 'kafka');
    const exists = topics.includes(bus.topic);
    let partitions: number | undefined;
    let lag: number | null = null;
    if (exists) {
      const ends = await withTimeout(admin.fetchTopicOffsets(bus.topic), timeoutMs, 'kafka');
      partitions = ends.length;
      const committed = await withTimeout(admin.fetchOffsets({ groupId: STORAGE_CONSUMER_GROUP, topics: [bus.topic] }), timeoutMs, 'kafka');
      const byPartition = new Map((committed[0]?.partitions ?? []).map((p) => [p.partition, Number(p.offset)]));
      // No committed offset anywhere: the backend consumer has never run, so lag means nothing.
      if ([...byPartition.values()].some((o) => o >= 0)) {
        lag = ends.reduce((sum, e) => sum + Math.max(0, Number(e.high) - Math.max(0, byPartition.get(e.partition) ?? 0)), 0);
      }
    }
    return { ok: true, brokers: cluster.brokers.length, topic_exists: exists, partitions, consumer_lag: lag };
  } catch (err) {
    return { ok: false, error: `cannot reach Kafka at ${bus.brokers.join(', ')}: ${(err as Error).message}` };
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function checkRegistry(url: string, timeoutMs: number): Promise<NonNullable<BackendCheck['registry']>> {
  try {
    const u = new URL(url.replace(/\/+$/, '') + '/subjects');
    const headers: Record<string, string> = {};
    if (u.username) {
      headers.authorization = `Basic ${Buffer.from(`${decodeURIComponent(u.username)}:${decodeURIComponent(u.password)}`).toString('base64')}`;
      u.username = '';
      u.password = '';
    }
    const res = await fetch(u, { headers, signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return { ok: false, error: `schema registry at ${safeUrl(url)} answered HTTP ${res.status}` };
    const subjects = (await res.json()) as unknown;
    return { ok: true, subjects: Array.isArray(subjects) ? subjects.length : undefined };
  } catch (err) {
    const e = err as Error;
    const why = e.name === 'TimeoutError' ? `no answer within ${timeoutMs / 1000} s` : ((e.cause as Error | undefined)?.message ?? e.message);
    return { ok: false, error: `cannot reach the schema registry at ${safeUrl(url)}: ${why}` };
  }
}

export async function checkBackend(
  bus: Pick<BusConfig, 'brokers' | 'topic' | 'client_id' | 'schema_registry_url'>,
  timeoutMs = BACKEND_TIMEOUT_MS,
): Promise<BackendCheck> {
  const t0 = Date.now();
  const [kafka, registry] = await Promise.all([
    checkKafka(bus, timeoutMs),
    bus.schema_registry_url ? checkRegistry(bus.schema_registry_url, timeoutMs) : Promise.resolve(null),
  ]);
  return { kafka, registry, elapsed_ms: Date.now() - t0 };
}
