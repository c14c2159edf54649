/**
 * Prometheus metrics of the storage consumer, on a registry of its own (not prom-client's
 * global one, so several consumers in one process, as in tests and the benchmark, do not
 * collide). Lag is per partition: the partition's high watermark minus the group's committed
 * offset, i.e. messages on the topic not yet stored (or dead-lettered) for good.
 */
import { createServer, type Server } from 'node:http';
import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';
import { AlprError } from '../common/errors.js';

export interface PartitionLag {
  topic: string;
  partition: number;
  /** Offset the next message written to the partition gets. */
  high: bigint;
  /** Offset the group resumes at (-1 before its first commit: counted from the log start). */
  committed: bigint;
  lag: bigint;
}

export class ConsumerMetrics {
  readonly registry = new Registry();
  readonly messages: Counter<'outcome'>;
  readonly batches: Counter<'result'>;
  readonly batchSize: Histogram;
  readonly insertSeconds: Histogram;
  readonly deadLettered: Counter;
  readonly lag: Gauge<'topic' | 'partition'>;
  readonly committed: Gauge<'topic' | 'partition'>;
  readonly highWatermark: Gauge<'topic' | 'partition'>;
  readonly messagesPerSecond: Gauge;
  readonly lagRefreshErrors: Counter;

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    if (opts.defaultMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'ovr_alpr_consumer_' });
    this.messages = new Counter({
      name: 'ovr_alpr_consumer_messages_total',
      help: 'Messages taken from the topic, by outcome: stored (new row), duplicate (event already stored), dead_lettered',
      labelNames: ['outcome'],
      registers,
    });
    this.batches = new Counter({
      name: 'ovr_alpr_consumer_batches_total',
      help: 'Batches handled: ok (stored and committed) or failed (nothing committed, retried)',
      labelNames: ['result'],
      registers,
    });
    this.batchSize = new Histogram({
      name: 'ovr_alpr_consumer_batch_size',
      help: 'Messages per batch',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers,
    });
    this.insertSeconds = new Histogram({
      name: 'ovr_alpr_consumer_insert_seconds',
      help: "Time to store one batch's events in the database (one transaction)",
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    });
    this.deadLettered = new Counter({ name: 'ovr_alpr_consumer_dead_lettered_total', help: 'Messages sent to the dead-letter topic', registers });
    const partitionLabels = ['topic', 'partition'] as const;
    this.lag = new Gauge({
      name: 'ovr_alpr_consumer_lag',
      help: 'Messages per partition not yet committed by the group (high watermark - committed offset)',
      labelNames: partitionLabels,
      registers,
    });
    this.committed = new Gauge({
      name: 'ovr_alpr_consumer_committed_offset',
      help: "The group's committed offset per partition",
      labelNames: partitionLabels,
      registers,
    });
    this.highWatermark = new Gauge({ name: 'ovr_alpr_consumer_high_watermark', help: 'High watermark per partition', labelNames: partitionLabels, registers });
    this.messagesPerSecond = new Gauge({
      name: 'ovr_alpr_consumer_messages_per_second',
      help: 'Messages handled per second over the last interval',
      registers,
    });
    this.lagRefreshErrors = new Counter({
      name: 'ovr_alpr_consumer_lag_refresh_errors_total',
      help: 'Lag lookups that failed (broker unreachable); the lag gauges keep their last values',
      registers,
    });
  }

  setLag(rows: readonly PartitionLag[]): void {
    for (const r of rows) {
      const labels = { topic: r.topic, partition: String(r.partition) };
      this.lag.set(labels, Number(r.lag));
      this.highWatermark.set(labels, Number(r.high));
      if (r.committed >= 0n) this.committed.set(labels, Number(r.committed));
    }
  }
}

/**
 * Serves GET /metrics (Prometheus text format) on host:port; port 0 picks a free one. Any
 * other path is a 404. Resolves once listening, with the bound port.
 */
export async function serveMetrics(registry: Registry, host: string, port: number): Promise<{ server: Server; port: number; close: () => Promise<void> }> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (req.method !== 'GET' || path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: GET /metrics\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${(err as Error).message}\n`),
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new AlprError('USAGE', `cannot serve metrics on ${host}:${port}: ${err.message}`, { cause: err, details: { host, port } })),
    );
    server.listen(port, host, () => resolve());
  });
  const addr = server.address();
  const bound = typeof addr === 'object' && addr ? addr.port : port;
  return {
    server,
    port: bound,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
