/**
 * `ovr-alpr consumer`: the backend storage consumer (Kafka → PostgreSQL/TimescaleDB). Runs
 * until SIGINT/SIGTERM (or `io.signal`), serving Prometheus metrics on 127.0.0.1 (lag per
 * partition, messages/s, batch sizes, insert latency, DLQ count) and logging its numbers every
 * --status-interval seconds; on a signal it stops after the batch in hand (whose offsets are
 * committed only if it was stored) and prints a summary line.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { PlateEventCodec } from '../bus/codec.js';
import { SchemaRegistryClient } from '../bus/schema-registry.js';
import { ConsumerMetrics, serveMetrics } from '../bus/consumer-metrics.js';
import { StorageConsumer, STORAGE_CONSUMER_GROUP } from '../bus/storage-consumer.js';
import { AlprError } from '../common/errors.js';
import { defaultConfigDir, loadBusConfig } from '../config-loader.js';
import type { RunIo } from './run.js';
import { makeLog } from './run.js';
import { waitForStop } from './wait-for-stop.js';

export const CONSUMER_USAGE = `usage: ovr-alpr consumer [--database-url URL] [--brokers H:P,…] [--group G] [--config DIR] [--log-level L] [--json]
                         [--metrics-port N] [--metrics-host H] [--status-interval S]
  brokers, topic, DLQ topic and schema registry come from config/bus.yaml and OVR_ALPR_KAFKA_BROKERS /
  OVR_ALPR_SCHEMA_REGISTRY_URL; the database from --database-url or OVR_ALPR_DATABASE_URL.
  --metrics-port N    GET /metrics (Prometheus) on --metrics-host (default 127.0.0.1), port N (default 9464;
                      0: any free port, printed; off: no server)
  --status-interval S seconds between status log lines (default 10)`;

const DEFAULT_METRICS_PORT = 9464;

export async function consumerCmd(args: string[], io: RunIo): Promise<number> {
  const env = io.env ?? process.env;
  let v;
  try {
    v = parseArgs({
      args,
      options: {
        'database-url': { type: 'string' },
        brokers: { type: 'string' },
        group: { type: 'string' },
        config: { type: 'string' },
        'log-level': { type: 'string' },
        json: { type: 'boolean' },
        'metrics-port': { type: 'string' },
        'metrics-host': { type: 'string' },
        'status-interval': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (err) {
    throw new AlprError('USAGE', `${(err as Error).message}\n${CONSUMER_USAGE}`);
  }
  const metricsPortArg = v['metrics-port'] ?? String(DEFAULT_METRICS_PORT);
  const metricsPort = metricsPortArg === 'off' ? null : Number(metricsPortArg);
  if (metricsPort !== null && !(Number.isInteger(metricsPort) && metricsPort >= 0 && metricsPort <= 65535)) {
    throw new AlprError('USAGE', `--metrics-port must be a port number (0 for any free one) or off, got ${metricsPortArg}\n${CONSUMER_USAGE}`);
  }
  const statusS = Number(v['status-interval'] ?? '10');
  if (!(statusS > 0)) throw new AlprError('USAGE', `--status-interval must be a positive number of seconds, got ${v['status-interval']}\n${CONSUMER_USAGE}`);
  const url = v['database-url'] ?? env.OVR_ALPR_DATABASE_URL;
  if (!url) throw new AlprError('USAGE', `consumer needs --database-url URL (or OVR_ALPR_DATABASE_URL)\n${CONSUMER_USAGE}`);
  const bus = loadBusConfig(v.config ? resolve(v.config) : defaultConfigDir(), v.brokers ? { ...env, OVR_ALPR_KAFKA_BROKERS: v.brokers } : env);
  const log = makeLog(v['log-level'] ?? env.OVR_ALPR_LOG_LEVEL ?? 'info', io.err);
  const codec = bus.schema_registry_url
    ? new PlateEventCodec({ format: bus.format, registry: new SchemaRegistryClient({ url: bus.schema_registry_url }), subject: `${bus.topic}-value` })
    : new PlateEventCodec({ format: 'json' });

  const { openPostgresStorage } = await import('../store/postgres.js');
  const metrics = new ConsumerMetrics();
  let server: Awaited<ReturnType<typeof serveMetrics>> | null = null;
  if (metricsPort !== null) server = await serveMetrics(metrics.registry, v['metrics-host'] ?? '127.0.0.1', metricsPort);
  let storage;
  try {
    storage = await openPostgresStorage(url);
  } catch (err) {
    await server?.close();
    throw err;
  }
  const consumer = new StorageConsumer({
    brokers: bus.brokers,
    storage,
    codec,
    topic: bus.topic,
    dlqTopic: bus.dlq_topic,
    groupId: v.group ?? STORAGE_CONSUMER_GROUP,
    log,
    metrics,
    lagIntervalMs: Math.min(5000, statusS * 1000),
  });
  try {
    await consumer.start();
  } catch (err) {
    await consumer.stop().catch(() => {});
    await storage.close();
    await server?.close();
    throw new AlprError('BUS_UNAVAILABLE', `cannot start consuming from ${bus.brokers.join(',')}: ${(err as Error).message}`, { retriable: true, cause: err });
  }
  io.err(`consuming ${bus.topic} from ${bus.brokers.join(',')} as group ${v.group ?? STORAGE_CONSUMER_GROUP}`);
  if (server) io.err(`metrics on http://${v['metrics-host'] ?? '127.0.0.1'}:${server.port}/metrics`);
  const timer = setInterval(() => log('info', 'consumer status', { ...consumer.stats() }), statusS * 1000);
  await waitForStop(io.signal);
  clearInterval(timer);
  await consumer.stop();
  await storage.close();
  await server?.close();
  const s = consumer.stats();
  io.out(v.json ? JSON.stringify(s) : `consumed ${s.consumed}, stored ${s.stored}, duplicates ${s.duplicates}, dead-lettered ${s.deadLettered}`);
  return 0;
}
