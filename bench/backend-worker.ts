/**
 * The storage consumer of `npm run bench -- backend`, on a worker thread: in production it is
 * its own process on the backend, so it must not share an event loop with the simulated edge
 * (whose synchronous outbox commits would stall it). Posts, for every batch stored, the event
 * ids and the wall-clock time (ms since the epoch, comparable across threads) the transaction
 * committed; stops on a 'stop' message and posts its stats.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { PlateEventCodec, type BusFormat } from '../src-pipeline/bus/codec.js';
import { SchemaRegistryClient } from '../src-pipeline/bus/schema-registry.js';
import { StorageConsumer } from '../src-pipeline/bus/storage-consumer.js';
import type { PlateEvent } from '../src-pipeline/common/plate-event.js';
import { openPostgresStorage } from '../src-pipeline/store/postgres.js';
import type { Storage } from '../src-pipeline/store/storage.js';

export interface BackendWorkerData {
  brokers: string[];
  dbUrl: string;
  topic: string;
  groupId: string;
  format: BusFormat;
  registryUrl?: string;
}

export type BackendWorkerMessage =
  | { type: 'started' }
  | { type: 'stored'; ids: string[]; at: number }
  | { type: 'warning'; text: string }
  | { type: 'stopped'; stats: ReturnType<StorageConsumer['stats']> };

const d = workerData as BackendWorkerData;
const port = parentPort!;
const post = (m: BackendWorkerMessage) => port.postMessage(m);
const now = () => performance.timeOrigin + performance.now();

const storage = await openPostgresStorage(d.dbUrl);
const stamping: Storage = Object.create(storage, {
  insertMany: {
    value: async (batch: readonly PlateEvent[]) => {
      const stored = await storage.insertMany(batch);
      post({ type: 'stored', ids: batch.map((e) => e.event_id), at: now() });
      return stored;
    },
  },
}) as Storage;
const codec =
  d.format === 'avro'
    ? new PlateEventCodec({ format: 'avro', registry: new SchemaRegistryClient({ url: d.registryUrl! }), subject: `${d.topic}-value` })
    : new PlateEventCodec({ format: 'json' });
const consumer = new StorageConsumer({
  brokers: d.brokers,
  storage: stamping,
  codec,
  topic: d.topic,
  dlqTopic: `${d.topic}-dlq`,
  groupId: d.groupId,
  log: (level, message, details) => {
    if (level !== 'info') post({ type: 'warning', text: `${message}: ${String(details?.error ?? '')}`.slice(0, 300) });
  },
});
port.on('message', (m: { type: string }) => {
  if (m.type !== 'stop') return;
  void (async () => {
    await consumer.stop();
    await storage.close();
    post({ type: 'stopped', stats: consumer.stats() });
    port.close();
  })();
});
await consumer.start();
post({ type: 'started' });
