/**
 * Contract for config/bus.yaml: whether and how the edge publishes events to Kafka (through
 * the durable outbox), and where the backend consumer reads them. Strict, so a misspelt key
 * fails loudly. Credentials never live here: the registry URL may carry user:pass only through
 * the environment (OVR_ALPR_SCHEMA_REGISTRY_URL).
 */
import { z } from 'zod';

const Broker = z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'brokers are host:port, e.g. 127.0.0.1:9092');

export const BusConfig = z
  .object({
    /** Publish events to Kafka as well as the local store. */
    enabled: z.boolean().default(false),
    brokers: z.array(Broker).min(1, 'give at least one broker').default(['127.0.0.1:9092']),
    /** avro (Confluent wire format, needs the schema registry) or json. */
    format: z.enum(['avro', 'json']).default('avro'),
    /** Confluent-compatible schema registry base URL (Apicurio: http://host:port/apis/ccompat/v7). */
    schema_registry_url: z.url().optional(),
    topic: z.string().min(1).max(249).default('alpr.plates.detected'),
    dlq_topic: z.string().min(1).max(249).default('alpr.plates.dlq'),
    /** The outbox stops taking events past this size (the events then wait in the store's spool); an alarm is logged. */
    outbox_max_mb: z.number().positive().default(2048),
    client_id: z.string().min(1).max(128).default('ovr-alpr-edge'),
  })
  .strict()
  .superRefine((c, ctx) => {
    if (c.enabled && c.format === 'avro' && !c.schema_registry_url) {
      ctx.addIssue({
        code: 'custom',
        path: ['schema_registry_url'],
        message: 'format avro needs schema_registry_url (or OVR_ALPR_SCHEMA_REGISTRY_URL), or use format: json',
      });
    }
  });

export type BusConfig = z.infer<typeof BusConfig>;
export type BusConfigInput = z.input<typeof BusConfig>;
