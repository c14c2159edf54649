/**
 * `ovr-alpr alerts`: the backend alert engine (Kafka → rules → email/Slack/webhook/SMS, rules and
 * hotlists in PostgreSQL, /metrics on a loopback port), and `ovr-alpr alerts check`, a dry run
 * that prints which rules an event matches and why (nothing is sent).
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { loadAlertsConfig } from '../alerts/config.js';
import { AlertEngine } from '../alerts/engine.js';
import { AlertConsumer, ALERT_CONSUMER_GROUP } from '../alerts/kafka-consumer.js';
import { PlateEventCodec } from '../bus/codec.js';
import { serveMetrics } from '../bus/consumer-metrics.js';
import { SchemaRegistryClient } from '../bus/schema-registry.js';
import { AlprError } from '../common/errors.js';
import { PlateEvent } from '../common/plate-event.js';
import { defaultConfigDir, loadBusConfig } from '../config-loader.js';
import type { RunIo } from './run.js';
import { makeLog } from './run.js';
import { waitForStop } from './wait-for-stop.js';

export const ALERTS_USAGE = `usage: ovr-alpr alerts [--database-url URL] [--brokers H:P,…] [--rules FILE] [--config DIR] [--group G] [--from-beginning]
                      [--metrics-port N] [--metrics-host H] [--log-level L] [--json]
       ovr-alpr alerts check --rules FILE --event JSON|@FILE [--json]
  the engine reads rules from --rules (default <config>/alert_rules.yaml) and, with a database
  (--database-url or OVR_ALPR_DATABASE_URL), the rules and hotlists managed through the API.
  check prints one line per rule (matched or not, and why); with --json the last line is
  {"matched": [rule names], "reasons": {rule: [why]}}.`;

function parse<T extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: T) {
  try {
    return parseArgs({ args, options, strict: true, allowPositionals: false }).values;
  } catch (err) {
    throw new AlprError('USAGE', `${(err as Error).message}\n${ALERTS_USAGE}`);
  }
}

export async function alertsCmd(args: string[], io: RunIo): Promise<number> {
  if (args[0] === 'check') return checkCmd(args.slice(1), io);
  return serviceCmd(args, io);
}

function readEvent(text: string): PlateEvent {
  let raw = text;
  if (text.startsWith('@')) {
    try {
      raw = readFileSync(text.slice(1), 'utf8');
    } catch (err) {
      throw new AlprError('USAGE', `cannot read --event file ${text.slice(1)}: ${(err as Error).message}`);
    }
  }
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch (err) {
    throw new AlprError('EVENT_INVALID', `--event is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = PlateEvent.safeParse(doc);
  if (!parsed.success) {
    const first = parsed.error.issues[0];
    throw new AlprError('EVENT_INVALID', `--event is not a plate event: ${first.path.join('.') || '(root)'}: ${first.message}`);
  }
  return parsed.data;
}

async function checkCmd(args: string[], io: RunIo): Promise<number> {
  const v = parse(args, { rules: { type: 'string' }, event: { type: 'string' }, json: { type: 'boolean' } });
  if (!v.rules || !v.event) throw new AlprError('USAGE', `alerts check needs --rules FILE and --event JSON\n${ALERTS_USAGE}`);
  const config = loadAlertsConfig(resolve(v.rules), { required: true });
  const event = readEvent(v.event);
  const engine = await AlertEngine.open({ config, store: null });
  try {
    const results = engine.explain(event);
    for (const r of results) io.out(`${r.matched ? 'MATCH' : 'no   '} ${r.rule}: ${r.reasons.join('; ')}`);
    const matched = results.filter((r) => r.matched).map((r) => r.rule);
    if (!v.json) io.out(`${matched.length} of ${results.length} rule(s) match: ${matched.join(', ') || '-'}`);
    else io.out(JSON.stringify({ matched, reasons: Object.fromEntries(results.map((r) => [r.rule, r.reasons])) }));
  } finally {
    await engine.close(0);
  }
  return 0;
}

async function serviceCmd(args: string[], io: RunIo): Promise<number> {
  const env = io.env ?? process.env;
  const v = parse(args, {
    'database-url': { type: 'string' },
    brokers: { type: 'string' },
    rules: { type: 'string' },
    config: { type: 'string' },
    group: { type: 'string' },
    'from-beginning': { type: 'boolean' },
    'metrics-port': { type: 'string' },
    'metrics-host': { type: 'string' },
    'log-level': { type: 'string' },
    json: { type: 'boolean' },
  });
  const configDir = v.config ? resolve(v.config) : defaultConfigDir();
  const config = loadAlertsConfig(v.rules ? resolve(v.rules) : join(configDir, 'alert_rules.yaml'), { required: Boolean(v.rules) });
  const bus = loadBusConfig(configDir, v.brokers ? { ...env, OVR_ALPR_KAFKA_BROKERS: v.brokers } : env);
  const log = makeLog(v['log-level'] ?? env.OVR_ALPR_LOG_LEVEL ?? 'info', io.err);
  const metricsPort = v['metrics-port'] === undefined ? undefined : Number(v['metrics-port']);
  if (metricsPort !== undefined && (!Number.isInteger(metricsPort) || metricsPort < 0 || metricsPort > 65535))
    throw new AlprError('USAGE', `--metrics-port must be a whole number from 0 to 65535\n${ALERTS_USAGE}`);
  // Loopback unless asked (compose passes 0.0.0.0 inside its own network, like the storage consumer).
  const metricsHost = v['metrics-host'] ?? '127.0.0.1';
  const codec = bus.schema_registry_url
    ? new PlateEventCodec({ format: bus.format, registry: new SchemaRegistryClient({ url: bus.schema_registry_url }), subject: `${bus.topic}-value` })
    : new PlateEventCodec({ format: 'json' });

  const url = v['database-url'] ?? env.OVR_ALPR_DATABASE_URL;
  const store = url ? await (await import('../alerts/postgres-store.js')).openPostgresAlertStore(url) : null;
  // Kafka hands a batch out again when the engine stopped before committing it.
  const engine = await AlertEngine.open({ config, store, env, skipDelivered: true, log: (l, m, d) => log(l, m, d) });
  engine.watch();
  const group = v.group ?? ALERT_CONSUMER_GROUP;
  const consumer = new AlertConsumer({
    brokers: bus.brokers,
    topic: bus.topic,
    codec,
    engine,
    groupId: group,
    fromBeginning: v['from-beginning'],
    log: (l, m, d) => log(l, m, d),
  });
  let metricsServer: Awaited<ReturnType<typeof serveMetrics>> | null = null;
  const shutdown = async () => {
    await metricsServer?.close();
    await engine.close();
    await store?.close();
  };
  try {
    if (metricsPort !== undefined) {
      metricsServer = await serveMetrics(engine.metrics.registry, metricsHost, metricsPort);
      io.err(`metrics on http://${metricsHost}:${metricsServer.port}/metrics`);
    }
    await consumer.start();
  } catch (err) {
    await shutdown();
    throw new AlprError('BUS_UNAVAILABLE', `cannot start the alert engine on ${bus.brokers.join(',')}: ${(err as Error).message}`, {
      retriable: true,
      cause: err,
    });
  }
  io.err(
    `alert engine: ${engine.allRules().length} rule(s), ${engine.hotlistSize} hotlisted plate(s); consuming ${bus.topic} from ${bus.brokers.join(',')} as group ${group}`,
  );
  const timer = setInterval(() => log('info', 'alert engine status', { ...consumer.stats(), ...engine.deliveryStats() }), 10_000);
  await waitForStop(io.signal);
  clearInterval(timer);
  await consumer.stop();
  const stats = { ...consumer.stats(), ...engine.deliveryStats() };
  await shutdown();
  io.out(
    v.json
      ? JSON.stringify(stats)
      : `consumed ${stats.consumed}, evaluated ${stats.evaluated}, alerts ${stats.fired}, delivered ${stats.delivered}, failed ${stats.failed}, dropped ${stats.dropped}, already delivered ${stats.already_delivered}`,
  );
  return 0;
}
