/**
 * The alert engine: config rules plus stored rules, compiled once; hotlists in memory; each
 * event evaluated synchronously (microseconds) and matches handed to the delivery queue.
 * `submit` is the pipeline's hook: it never throws and never waits, so an alert problem can
 * neither block nor lose an event.
 */
import { randomUUID } from 'node:crypto';
import type { Counter } from 'prom-client';
import type { AlertRule, Channel, RuleEvaluation } from '../common/alert-rules.js';
import { PlateEvent } from '../common/plate-event.js';
import type { AlertChannel, Notification } from './channels/channel.js';
import { EmailChannel } from './channels/email.js';
import { SlackChannel } from './channels/slack.js';
import { SmsChannel } from './channels/sms.js';
import { WebhookChannel } from './channels/webhook.js';
import { compileRule, EventFacts, type CompiledRule } from './compile.js';
import type { AlertsConfig } from './config.js';
import { DeliveryQueue, type AlertLog, type DeliveryResult } from './delivery.js';
import { HotlistIndex } from './hotlist-index.js';
import { imageLoader } from './images.js';
import { createAlertMetrics, type AlertMetrics } from './metrics.js';
import { RateLimiter } from './rate-limit.js';
import { RuleIndex } from './rule-index.js';
import type { Env } from './secrets.js';
import type { AlertStore } from './store.js';

export interface AlertEngineOptions {
  config: AlertsConfig;
  /** Stored rules, hotlists and history; null evaluates config rules only (`alerts check`). */
  store: AlertStore | null;
  env?: Env;
  /** Folder behind `/images/` URLs, for email attachments. */
  imagesDir?: string;
  metrics?: AlertMetrics;
  log?: AlertLog;
  /** Clock for rate limiting and hotlist expiry (tests). */
  now?: () => number;
  /** Replaces built-in channels (tests of the queue); normally built from config.channels. */
  channels?: Partial<Record<Channel, AlertChannel>>;
  /** Skip notifications history shows as delivered for the same event (a consumer that may see replays). */
  skipDelivered?: boolean;
  /** false: do not load hotlist plates into memory (a process that manages rules but evaluates no events). */
  indexHotlists?: boolean;
}

export interface EvaluationOutcome {
  /** Rules whose conditions held. */
  matched: string[];
  /** Of those, the ones that fired (not rate-limited). */
  fired: string[];
}

export class AlertEngine {
  readonly metrics: AlertMetrics;
  readonly store: AlertStore | null;
  readonly config: AlertsConfig;
  private readonly delivery: DeliveryQueue;
  private readonly limiter = new RateLimiter();
  private readonly perEvent = new RateLimiter(20_000);
  private readonly now: () => number;
  private readonly log: AlertLog;
  private compiled: CompiledRule[] = [];
  private index = new RuleIndex([]);
  /** Per-rule metric children, so a match does not hash label sets. */
  private triggeredBy: Counter[] = [];
  private rules: AlertRule[] = [];
  private hotlists = new HotlistIndex();
  private revision = -1;
  private watcher: NodeJS.Timeout | undefined;
  private reloading: Promise<void> | null = null;
  private readonly emailChannel: EmailChannel | undefined;
  private readonly indexHotlists: boolean;

  private constructor(opts: AlertEngineOptions) {
    this.config = opts.config;
    this.store = opts.store;
    this.metrics = opts.metrics ?? createAlertMetrics();
    this.now = opts.now ?? Date.now;
    this.log = opts.log ?? (() => {});
    this.indexHotlists = opts.indexHotlists ?? true;
    const env = opts.env ?? process.env;
    const d = opts.config.channels.delivery;
    this.emailChannel = opts.channels ? undefined : new EmailChannel(opts.config.channels.email, env, imageLoader(opts.imagesDir), d.timeout_ms);
    const channels: Partial<Record<Channel, AlertChannel>> = opts.channels ?? {
      email: this.emailChannel,
      slack: new SlackChannel(env, d.timeout_ms),
      webhook: new WebhookChannel(env, d.timeout_ms),
      sms: new SmsChannel(opts.config.channels.sms, env, d.timeout_ms),
    };
    this.delivery = new DeliveryQueue({
      channels,
      store: opts.store,
      metrics: this.metrics,
      attempts: d.attempts,
      backoffMs: d.backoff_ms,
      timeoutMs: d.timeout_ms,
      queueSize: d.queue_size,
      concurrency: d.concurrency,
      skipDelivered: opts.skipDelivered,
      log: this.log,
    });
  }

  static async open(opts: AlertEngineOptions): Promise<AlertEngine> {
    const engine = new AlertEngine(opts);
    await engine.reload();
    return engine;
  }

  /** Config rules first, then stored ones. */
  allRules(): AlertRule[] {
    return this.rules;
  }

  configRules(): AlertRule[] {
    return this.config.rules;
  }

  /**
   * Re-reads stored rules and hotlists and recompiles (at start, or when the store's revision
   * moved). `entries: false` keeps the in-memory plates and re-reads only rules and list
   * settings: what the API does after a rule or list edit, since plate edits are applied in place.
   */
  reload(opts: { entries?: boolean } = {}): Promise<void> {
    const withEntries = opts.entries ?? true;
    // Reloads run one after another, so a change made during one is picked up by the next.
    const run = async () => {
      const rev = this.store ? await this.store.revision() : 0;
      const stored = this.store ? await this.store.listRules() : [];
      const lists = this.store ? await this.store.listHotlists() : [];
      let index = this.hotlists;
      if (withEntries) index = new HotlistIndex(lists, this.store && this.indexHotlists ? await this.store.allEntries() : []);
      else index.setLists(lists);
      const configNames = new Set(this.config.rules.map((r) => r.name));
      const rules = [...this.config.rules, ...stored.filter((r) => !configNames.has(r.name))];
      this.compiled = rules.map((r) => compileRule(r, index));
      this.index = new RuleIndex(this.compiled);
      this.triggeredBy = rules.map((r) => this.metrics.triggered.labels({ rule: r.name }) as unknown as Counter);
      this.rules = rules;
      this.hotlists = index;
      this.revision = rev;
    };
    const p = (this.reloading ?? Promise.resolve()).then(run, run);
    // The chain itself never rejects (the caller gets the error from `p`).
    this.reloading = p.catch(() => {});
    return p;
  }

  /** Plates added or replaced on a list through the API (already stored). */
  hotlistEntriesChanged(hotlist: string, rows: readonly { plate: string; reason?: string; expires_at?: string }[]): void {
    if (!this.indexHotlists) return;
    for (const r of rows) this.hotlists.add({ hotlist, ...r });
  }

  hotlistEntryRemoved(hotlist: string, plate: string): void {
    this.hotlists.remove(hotlist, plate);
  }

  /** A list was deleted: forget its plates, then re-read rules and list settings. */
  hotlistDeleted(hotlist: string): Promise<void> {
    this.hotlists.drop(hotlist);
    return this.reload({ entries: false });
  }

  /** Polls the store's revision so rules edited by another process (`api`) take effect. */
  watch(intervalMs = 5000): void {
    if (!this.store || this.watcher) return;
    this.watcher = setInterval(() => {
      void this.store!.revision()
        .then((rev) => (rev !== this.revision ? this.reload() : undefined))
        .catch((err) => this.log('warn', 'alert rules not reloaded', { error: (err as Error).message }));
    }, intervalMs);
    this.watcher.unref();
  }

  /** On an unexpired hotlist now (the store's privacy switch keeps such plates in clear). */
  isHotlisted(plate: string): boolean {
    return this.hotlists.lookup(plate, this.now()).length > 0;
  }

  get hotlistSize(): number {
    return this.hotlists.size;
  }

  /** Evaluates one event and queues its notifications. Synchronous; throws only on a bug. */
  evaluate(event: PlateEvent): EvaluationOutcome {
    const t0 = performance.now();
    const nowMs = this.now();
    const facts = new EventFacts(event, this.hotlists, nowMs);
    const matched: string[] = [];
    const fired: string[] = [];
    const groups = this.index.candidates(facts.plate, event.camera_id, () => facts.hotlistHits().length > 0);
    const hit: number[] = [];
    for (let g = 0; g < groups.length; g++) {
      const group = groups[g];
      for (let k = 0; k < group.length; k++) if (this.compiled[group[k]].matches(facts)) hit.push(group[k]);
    }
    // Rule order, whatever gate found them.
    if (hit.length > 1) hit.sort((a, b) => a - b);
    for (const i of hit) {
      const c = this.compiled[i];
      matched.push(c.rule.name);
      // The store hands an event over again when a later read updates it: alert once per event and rule.
      if (!this.perEvent.allow(c.rule.id, event.event_id, 3600, nowMs)) continue;
      const windowS = c.rateLimit?.window_s ?? this.config.defaults.rate_limit_window_s;
      if (!this.limiter.allow(c.rule.id, facts.plate, windowS, nowMs)) {
        this.metrics.suppressed.inc({ rule: c.rule.name });
        continue;
      }
      fired.push(c.rule.name);
      this.triggeredBy[i].inc();
      if (c.actions.length === 0) continue;
      const wanted = c.rule.conditions.hotlists;
      const hits = facts.hotlistHits();
      const hotlist = (wanted && !wanted.includes('*') ? hits.find((h) => wanted.includes(h.hotlist)) : hits[0]) ?? null;
      const triggeredAt = new Date(nowMs).toISOString();
      const matchedPattern = c.matchedPattern(facts);
      for (const action of c.actions) {
        this.delivery.enqueue({
          rule: { id: c.rule.id, name: c.rule.name, description: c.rule.description },
          event,
          action,
          hotlist,
          matched: matchedPattern,
          triggeredAt,
        });
      }
    }
    this.metrics.eventsProcessed.inc();
    this.metrics.evaluation.observe((performance.now() - t0) / 1000);
    return { matched, fired };
  }

  /** The pipeline hook: evaluate and forget. Never throws, never waits. */
  submit(event: PlateEvent): void {
    try {
      this.evaluate(event);
    } catch (err) {
      this.log('error', 'alert evaluation failed; the event itself is unaffected', { event_id: event.event_id, error: (err as Error)?.message });
    }
  }

  /** Why each rule did or did not match (no rate limiting, nothing sent). */
  explain(event: PlateEvent): RuleEvaluation[] {
    const facts = new EventFacts(event, this.hotlists, this.now());
    return this.compiled.map((c) => c.explain(facts));
  }

  /** Sends a sample notification through each of the rule's actions now (no retries beyond the configured ones, nothing rate-limited). */
  async testRule(rule: AlertRule): Promise<DeliveryResult[]> {
    const event = sampleEvent(rule, new Date(this.now()).toISOString());
    const results: DeliveryResult[] = [];
    for (const action of rule.actions) {
      const n: Notification = {
        rule: { id: rule.id, name: rule.name, description: rule.description },
        event,
        action,
        hotlist: null,
        matched: 'test notification',
        triggeredAt: event.captured_at,
      };
      results.push(await this.delivery.deliver(n));
    }
    return results;
  }

  deliveryStats() {
    return this.delivery.stats();
  }

  /** Resolves once every queued notification was sent or gave up (tests). */
  idle(): Promise<void> {
    return this.delivery.idle();
  }

  async close(graceMs = 5000): Promise<void> {
    if (this.watcher) clearInterval(this.watcher);
    this.watcher = undefined;
    await this.reloading?.catch(() => {});
    await this.delivery.close(graceMs);
    this.emailChannel?.close();
  }
}

/** A made-up event that fits the rule's first plate, camera and site (for test sends). */
export function sampleEvent(rule: AlertRule, at: string): PlateEvent {
  const c = rule.conditions;
  const p = c.plates?.find((x) => x.match !== 'regex');
  const plate =
    (p?.pattern ?? 'TEST123')
      .toUpperCase()
      .replace(/[^A-Z0-9]/g, '')
      .slice(0, 16) || 'TEST123';
  return PlateEvent.parse({
    event_id: randomUUID(),
    captured_at: at,
    camera_id: c.cameras?.[0] ?? 'test-camera',
    track_id: null,
    plate: { text: plate, normalized_text: plate, confidence: 0.99, region: null },
    vehicle: { type: c.vehicle_types?.[0] ?? 'car' },
    node: { site: c.sites?.[0] ?? null, host: null },
    extras: { direction: c.directions?.[0] ?? null },
  });
}
