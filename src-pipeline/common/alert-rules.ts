/**
 * Contract for alert rules, hotlists and alert history: what config/alert_rules.yaml holds,
 * what the API accepts and returns, and what the console's forms build. Runtime-neutral (zod
 * and standard JS only) so the engine, the API and the renderer validate with the same code.
 * Objects are strict: a misspelt key is an error with its path, never a silently ignored rule.
 */
import { z } from 'zod';

export const MATCH_TYPES = ['exact', 'prefix', 'suffix', 'contains', 'regex', 'fuzzy'] as const;
export type MatchType = (typeof MATCH_TYPES)[number];

export const CHANNELS = ['email', 'slack', 'webhook', 'sms'] as const;
export type Channel = (typeof CHANNELS)[number];

export const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;
export type Day = (typeof DAYS)[number];

export const HOTLIST_PRIORITIES = ['low', 'medium', 'high', 'critical'] as const;
export type HotlistPriority = (typeof HOTLIST_PRIORITIES)[number];

export const DELIVERY_STATUSES = ['delivered', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

/** Largest fuzzy distance a rule may ask for; beyond it nearly every plate matches. */
export const MAX_FUZZY_DISTANCE = 3;

/** Env var names only: secrets are referenced, never stored in a rule. */
const EnvName = z.string().regex(/^[A-Z_][A-Z0-9_]{0,127}$/, 'an environment variable name (A-Z, 0-9, _)');
const HHMM = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time as HH:MM (00:00 to 23:59)');
const HotlistName = z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, '1 to 64 letters, digits, _ . or -');
const IsoTime = z.iso.datetime({ offset: true });

export function isValidTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}

export function regexError(pattern: string): string | null {
  try {
    new RegExp(pattern);
    return null;
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
}

export const PlatePattern = z
  .object({
    /** For every type but regex the pattern is normalised like a plate (upper case, A-Z0-9 only) before matching. */
    pattern: z.string().min(1).max(256),
    match: z.enum(MATCH_TYPES).default('exact'),
    /** Fuzzy only: edits allowed; O/0, I/1, B/8, S/5, Z/2 swaps cost 0.25 each. */
    max_distance: z.number().min(0).max(MAX_FUZZY_DISTANCE).optional(),
  })
  .strict()
  .superRefine((p, ctx) => {
    if (p.match === 'regex') {
      const err = regexError(p.pattern);
      if (err) ctx.addIssue({ code: 'custom', path: ['pattern'], message: `invalid regular expression: ${err}` });
    } else if (!/[A-Za-z0-9]/.test(p.pattern)) {
      ctx.addIssue({ code: 'custom', path: ['pattern'], message: 'must contain at least one letter or digit' });
    }
    if (p.max_distance !== undefined && p.match !== 'fuzzy') {
      ctx.addIssue({ code: 'custom', path: ['max_distance'], message: "only applies to match 'fuzzy'" });
    }
  });
export type PlatePattern = z.infer<typeof PlatePattern>;

export const AlertConditions = z
  .object({
    plates: z.array(PlatePattern).max(1000).optional(),
    /** Hotlist names; the plate must be on (any) one of them, unexpired. `*` means any hotlist. */
    hotlists: z
      .array(z.union([HotlistName, z.literal('*')]))
      .max(100)
      .optional(),
    cameras: z.array(z.string().min(1).max(128)).max(1000).optional(),
    sites: z.array(z.string().min(1).max(128)).max(1000).optional(),
    days: z.array(z.enum(DAYS)).max(7).optional(),
    /** Local time window in `timezone`; from > to wraps past midnight (22:00-06:00). `to` is exclusive. */
    hours: z.object({ from: HHMM, to: HHMM }).strict().optional(),
    /** IANA zone for days/hours; default UTC. */
    timezone: z.string().min(1).max(64).refine(isValidTimeZone, { message: 'unknown IANA time zone' }).optional(),
    min_confidence: z.number().min(0).max(1).optional(),
    /** Case-insensitive against event.vehicle.type. */
    vehicle_types: z.array(z.string().min(1).max(32)).max(50).optional(),
    /** Case-insensitive against event.extras.direction. */
    directions: z.array(z.string().min(1).max(32)).max(50).optional(),
  })
  .strict();
export type AlertConditions = z.infer<typeof AlertConditions>;

/**
 * Templates (subject, body, text) replace `{{name}}` with: plate, plate_text, camera_id, site,
 * captured_at, confidence, vehicle_type, direction, rule, hotlist, hotlist_priority, hotlist_reason, event_id.
 */
export const EmailAction = z
  .object({
    channel: z.literal('email'),
    to: z.array(z.email()).min(1).max(50),
    subject: z.string().max(500).optional(),
    body: z.string().max(10_000).optional(),
    /** Attach the plate crop when the event has one (default true). */
    attach_plate: z.boolean().optional(),
  })
  .strict();

export const SlackAction = z
  .object({
    channel: z.literal('slack'),
    /** Prefer webhook_url_env: a Slack webhook URL is itself a secret. */
    webhook_url: z.url().optional(),
    webhook_url_env: EnvName.optional(),
    text: z.string().max(3000).optional(),
  })
  .strict();

export const WebhookAction = z
  .object({
    channel: z.literal('webhook'),
    url: z.url(),
    /** Non-secret extra headers. */
    headers: z.record(z.string().regex(/^[A-Za-z0-9-]{1,64}$/, 'a header name'), z.string().max(1024)).optional(),
    /** Env var holding the HMAC-SHA256 key; the signature goes in X-ALPR-Signature: sha256=<hex>. */
    secret_env: EnvName.optional(),
    /** Env var holding the full Authorization header value (e.g. `Bearer abc`). */
    auth_env: EnvName.optional(),
    timeout_ms: z.number().int().min(100).max(60_000).optional(),
  })
  .strict();

export const SmsAction = z
  .object({
    channel: z.literal('sms'),
    to: z
      .array(z.string().regex(/^\+[1-9]\d{6,14}$/, 'an E.164 phone number like +15551234567'))
      .min(1)
      .max(20),
    body: z.string().max(1600).optional(),
  })
  .strict();

export const AlertAction = z.discriminatedUnion('channel', [EmailAction, SlackAction, WebhookAction, SmsAction]);
export type AlertAction = z.infer<typeof AlertAction>;
export type EmailAction = z.infer<typeof EmailAction>;
export type SlackAction = z.infer<typeof SlackAction>;
export type WebhookAction = z.infer<typeof WebhookAction>;
export type SmsAction = z.infer<typeof SmsAction>;

export const RateLimit = z
  .object({
    /** No second alert for the same rule and plate within this many seconds (0 disables). */
    window_s: z
      .number()
      .int()
      .min(0)
      .max(7 * 86_400),
    key: z.literal('rule_plate').default('rule_plate'),
  })
  .strict();
export type RateLimit = z.infer<typeof RateLimit>;

export const AlertRuleInput = z
  .object({
    name: z.string().trim().min(1).max(128),
    description: z.string().max(2000).optional(),
    enabled: z.boolean().default(true),
    conditions: AlertConditions.prefault({}),
    actions: z.array(AlertAction).max(20).default([]),
    /** Absent: the engine's default window (60 s). */
    rate_limit: RateLimit.optional(),
  })
  .strict()
  .superRefine((r, ctx) => {
    r.actions.forEach((a, i) => {
      if (a.channel === 'slack' && !a.webhook_url === !a.webhook_url_env) {
        ctx.addIssue({ code: 'custom', path: ['actions', i, 'webhook_url_env'], message: 'give exactly one of webhook_url or webhook_url_env' });
      }
    });
  });
export type AlertRuleInput = z.input<typeof AlertRuleInput>;
export type AlertRuleSpec = z.infer<typeof AlertRuleInput>;

export const RULE_SOURCES = ['config', 'api'] as const;

export const AlertRule = z.object({
  id: z.string().min(1).max(160),
  source: z.enum(RULE_SOURCES),
  name: z.string().min(1).max(128),
  description: z.string().max(2000).optional(),
  enabled: z.boolean(),
  conditions: AlertConditions,
  actions: z.array(AlertAction),
  rate_limit: RateLimit.optional(),
  created_at: IsoTime,
  updated_at: IsoTime,
});
export type AlertRule = z.infer<typeof AlertRule>;

export const HotlistInput = z
  .object({
    name: HotlistName,
    priority: z.enum(HOTLIST_PRIORITIES).default('medium'),
    reason: z.string().max(500).optional(),
    description: z.string().max(2000).optional(),
  })
  .strict();
export type HotlistInput = z.input<typeof HotlistInput>;

export const Hotlist = z.object({
  name: HotlistName,
  priority: z.enum(HOTLIST_PRIORITIES),
  reason: z.string().max(500).optional(),
  description: z.string().max(2000).optional(),
  created_at: IsoTime,
  updated_at: IsoTime,
});
export type Hotlist = z.infer<typeof Hotlist>;

export const HotlistEntryInput = z
  .object({
    /** Normalised on the way in (upper case, A-Z0-9 only). */
    plate: z
      .string()
      .max(32)
      .transform((p) => p.toUpperCase().replace(/[^A-Z0-9]/g, ''))
      .pipe(z.string().min(1, 'must contain a letter or digit').max(16)),
    reason: z.string().max(500).optional(),
    expires_at: IsoTime.optional(),
  })
  .strict();
export type HotlistEntryInput = z.input<typeof HotlistEntryInput>;

export const HotlistEntry = z.object({
  hotlist: HotlistName,
  plate: z.string(),
  reason: z.string().optional(),
  expires_at: IsoTime.optional(),
  added_at: IsoTime,
});
export type HotlistEntry = z.infer<typeof HotlistEntry>;

export const AlertHistoryItem = z.object({
  id: z.string(),
  rule_id: z.string(),
  rule_name: z.string(),
  event_id: z.string(),
  plate: z.string(),
  camera_id: z.string(),
  channel: z.enum(CHANNELS),
  status: z.enum(DELIVERY_STATUSES),
  error: z.string().optional(),
  attempts: z.number().int().min(0),
  created_at: IsoTime,
});
export type AlertHistoryItem = z.infer<typeof AlertHistoryItem>;

/** Channel settings (no secrets: only env var names) from the `channels` section of alert_rules.yaml. */
export const AlertChannelsConfig = z
  .object({
    email: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: z.number().int().min(1).max(65535).default(25),
        /** TLS from the start (465); otherwise STARTTLS when the server offers it. */
        secure: z.boolean().default(false),
        from: z.string().min(3).default('ovr-alpr@localhost'),
        user_env: EnvName.optional(),
        pass_env: EnvName.optional(),
      })
      .strict()
      .prefault({}),
    sms: z
      .object({
        /** Twilio's API root; tests point it at a local receiver. */
        base_url: z.url().default('https://api.twilio.com'),
        from: z.string().min(1).optional(),
        account_sid_env: EnvName.default('TWILIO_ACCOUNT_SID'),
        auth_token_env: EnvName.default('TWILIO_AUTH_TOKEN'),
      })
      .strict()
      .prefault({}),
    delivery: z
      .object({
        /** Attempts per notification, the first included. */
        attempts: z.number().int().min(1).max(10).default(3),
        backoff_ms: z.number().int().min(0).max(60_000).default(500),
        timeout_ms: z.number().int().min(100).max(60_000).default(5000),
        /** Pending notifications beyond this are dropped (and counted) so a dead receiver cannot grow memory. */
        queue_size: z.number().int().min(1).max(100_000).default(1000),
        concurrency: z.number().int().min(1).max(64).default(4),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type AlertChannelsConfig = z.infer<typeof AlertChannelsConfig>;

/** config/alert_rules.yaml. */
export const AlertRulesFile = z
  .object({
    rules: z.array(z.unknown()).default([]),
    channels: AlertChannelsConfig.prefault({}),
    defaults: z
      .object({
        rate_limit_window_s: z
          .number()
          .int()
          .min(0)
          .max(7 * 86_400)
          .default(60),
      })
      .strict()
      .prefault({}),
  })
  .strict();
export type AlertRulesFile = z.infer<typeof AlertRulesFile>;

export interface ValidationIssue {
  path: string;
  message: string;
}

export type ValidateRuleResult = { ok: true; rule: AlertRuleSpec } | { ok: false; issues: ValidationIssue[] };

/** zod issues → `{ path: 'conditions.plates.0.pattern', message }`, one per unknown key. */
export function toValidationIssues(issues: readonly z.core.$ZodIssue[], prefix: readonly PropertyKey[] = []): ValidationIssue[] {
  const out: ValidationIssue[] = [];
  for (const issue of issues) {
    const base = [...prefix, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) out.push({ path: [...base, key].map(String).join('.'), message: `unknown field '${key}'` });
    } else if (issue.code === 'invalid_union' && 'discriminator' in issue && issue.discriminator) {
      const path = base[base.length - 1] === issue.discriminator ? base : [...base, issue.discriminator];
      out.push({ path: path.map(String).join('.'), message: `unknown channel; expected one of ${CHANNELS.join(', ')}` });
    } else {
      out.push({ path: base.map(String).join('.'), message: issue.message });
    }
  }
  return out;
}

export function validateRule(input: unknown): ValidateRuleResult {
  const parsed = AlertRuleInput.safeParse(input);
  if (parsed.success) return { ok: true, rule: parsed.data };
  return { ok: false, issues: toValidationIssues(parsed.error.issues) };
}

export function validateHotlistEntry(input: unknown): { ok: true; entry: z.infer<typeof HotlistEntryInput> } | { ok: false; issues: ValidationIssue[] } {
  const parsed = HotlistEntryInput.safeParse(input);
  return parsed.success ? { ok: true, entry: parsed.data } : { ok: false, issues: toValidationIssues(parsed.error.issues) };
}

/** Per-rule outcome of evaluating one event, as `alerts check` and the engine report it. */
export interface RuleEvaluation {
  rule: string;
  matched: boolean;
  /** Why: each condition that held, or the first one that did not. */
  reasons: string[];
}
