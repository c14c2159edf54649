/**
 * The Kafka side of the edge, put together from config/bus.yaml: an outbox next to the local
 * store (`<dataDir>/outbox.sqlite`), a sender with an idempotent producer, and the codec
 * (Avro through the schema registry, subject set to BACKWARD compatibility, or JSON).
 */
import { join } from 'node:path';
import { PlateEventCodec } from '../bus/codec.js';
import { Outbox } from '../bus/outbox.js';
import { createProducer, OutboxSender, type BusLog } from '../bus/outbox-sender.js';
import { SchemaRegistryClient } from '../bus/schema-registry.js';
import type { BusConfig } from '../common/bus-config.js';
import { OutboxSink } from './outbox-sink.js';

export interface BusSink {
  sink: OutboxSink;
  outbox: Outbox;
  sender: OutboxSender;
}

export function createBusSink(cfg: BusConfig, dataDir: string, log: BusLog = () => {}): BusSink {
  let codec: PlateEventCodec;
  if (cfg.format === 'avro') {
    const registry = new SchemaRegistryClient({ url: cfg.schema_registry_url! });
    codec = new PlateEventCodec({ format: 'avro', registry, subject: `${cfg.topic}-value` });
    // Best effort at start; the codec registers the schema itself on the first send and the
    // outbox keeps events until that works.
    registry
      .setCompatibility(`${cfg.topic}-value`, 'BACKWARD')
      .catch((err: unknown) =>
        log('warn', 'could not set BACKWARD compatibility on the schema registry yet', { error: err instanceof Error ? err.message : String(err) }),
      );
  } else {
    codec = new PlateEventCodec({ format: 'json' });
  }
  const outbox = new Outbox(join(dataDir, 'outbox.sqlite'), { maxBytes: cfg.outbox_max_mb * 1024 * 1024 });
  const sender = new OutboxSender({ outbox, producer: () => createProducer(cfg.brokers, cfg.client_id), codec, topic: cfg.topic, log });
  return { sink: new OutboxSink(outbox, sender), outbox, sender };
}
