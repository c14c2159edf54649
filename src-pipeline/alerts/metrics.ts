/** Prometheus metrics with the seed's names, on a registry of their own (or the API server's). */
import { Counter, Histogram, Registry, type Metric } from 'prom-client';

export interface AlertMetrics {
  registry: Registry;
  eventsProcessed: Counter;
  triggered: Counter<'rule'>;
  suppressed: Counter<'rule'>;
  sent: Counter<'channel'>;
  failed: Counter<'channel'>;
  dropped: Counter<'channel'>;
  replayed: Counter<'channel'>;
  evaluation: Histogram;
  all: Metric[];
}

export function createAlertMetrics(registry = new Registry()): AlertMetrics {
  const r = [registry];
  const eventsProcessed = new Counter({ name: 'alpr_alert_events_processed_total', help: 'Plate events evaluated against the alert rules', registers: r });
  const triggered = new Counter({
    name: 'alpr_alert_triggered_total',
    help: 'Alerts triggered, by rule (after rate limiting)',
    labelNames: ['rule'],
    registers: r,
  });
  const suppressed = new Counter({
    name: 'alpr_alert_suppressed_total',
    help: 'Rule matches suppressed by the per rule and plate rate limit',
    labelNames: ['rule'],
    registers: r,
  });
  const sent = new Counter({ name: 'alpr_notifications_sent_total', help: 'Notifications delivered, by channel', labelNames: ['channel'], registers: r });
  const failed = new Counter({
    name: 'alpr_notifications_failed_total',
    help: 'Notifications that failed after every retry, by channel',
    labelNames: ['channel'],
    registers: r,
  });
  const dropped = new Counter({
    name: 'alpr_notifications_dropped_total',
    help: 'Notifications dropped because the delivery queue was full, by channel',
    labelNames: ['channel'],
    registers: r,
  });
  const replayed = new Counter({
    name: 'alpr_notifications_replay_skipped_total',
    help: 'Notifications not sent because history shows them delivered for the same event (a replayed Kafka batch), by channel',
    labelNames: ['channel'],
    registers: r,
  });
  const evaluation = new Histogram({
    name: 'alpr_rule_evaluation_duration_seconds',
    help: 'Time to evaluate one event against every rule',
    buckets: [0.000005, 0.00001, 0.000025, 0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.005],
    registers: r,
  });
  return {
    registry,
    eventsProcessed,
    triggered,
    suppressed,
    sent,
    failed,
    dropped,
    replayed,
    evaluation,
    all: [eventsProcessed, triggered, suppressed, sent, failed, dropped, replayed, evaluation],
  };
}

/** Makes the alert metrics show in another registry too (the API server's /metrics). */
export function exposeIn(metrics: AlertMetrics, target: Registry): void {
  for (const m of metrics.all) {
    const name = (m as unknown as { name: string }).name;
    if (!target.getSingleMetric(name)) target.registerMetric(m);
  }
}
