/**
 * The rule editor as plain data: every condition and action type as text fields, converted to
 * the AlertRuleInput the API takes and validated with the shared validateRule, so the inline
 * messages are the server's own. No DOM: unit-tested under node.
 */
import {
  validateRule,
  type AlertAction,
  type AlertRule,
  type AlertRuleInput,
  type Channel,
  type Day,
  type MatchType,
  type ValidationIssue,
} from '../../../src-pipeline/common/alert-rules.js';

export interface PlateRow {
  pattern: string;
  match: MatchType;
  max_distance: string;
}

export interface ActionRow {
  channel: Channel;
  /** email/sms recipients, comma or newline separated. */
  to: string;
  subject: string;
  body: string;
  attach_plate: boolean;
  /** slack */
  webhook_url: string;
  webhook_url_env: string;
  text: string;
  /** webhook */
  url: string;
  /** `Name: value` per line. */
  headers: string;
  secret_env: string;
  auth_env: string;
  timeout_ms: string;
}

export interface RuleForm {
  name: string;
  description: string;
  enabled: boolean;
  plates: PlateRow[];
  hotlists: string;
  cameras: string;
  sites: string;
  days: Day[];
  hours_from: string;
  hours_to: string;
  timezone: string;
  min_confidence: string;
  vehicle_types: string;
  directions: string;
  actions: ActionRow[];
  rate_limit_s: string;
}

export const EMPTY_ACTION: ActionRow = {
  channel: 'webhook',
  to: '',
  subject: '',
  body: '',
  attach_plate: true,
  webhook_url: '',
  webhook_url_env: '',
  text: '',
  url: '',
  headers: '',
  secret_env: '',
  auth_env: '',
  timeout_ms: '',
};

export const EMPTY_RULE: RuleForm = {
  name: '',
  description: '',
  enabled: true,
  plates: [],
  hotlists: '',
  cameras: '',
  sites: '',
  days: [],
  hours_from: '',
  hours_to: '',
  timezone: '',
  min_confidence: '',
  vehicle_types: '',
  directions: '',
  actions: [],
  rate_limit_s: '',
};

/** "a, b\nc" → ['a','b','c']. */
export function splitList(s: string): string[] {
  return s
    .split(/[,\n]/)
    .map((x) => x.trim())
    .filter(Boolean);
}

function num(s: string): number | undefined {
  const t = s.trim();
  return t === '' ? undefined : Number(t);
}

function opt(s: string): string | undefined {
  const t = s.trim();
  return t === '' ? undefined : t;
}

function parseHeaders(s: string): Record<string, string> | undefined {
  const out: Record<string, string> = {};
  for (const line of s.split('\n')) {
    const t = line.trim();
    if (!t) continue;
    const i = t.indexOf(':');
    // A line without a colon becomes a header named after the whole line with an empty value, which the schema then names.
    if (i < 0) out[t] = '';
    else out[t.slice(0, i).trim()] = t.slice(i + 1).trim();
  }
  return Object.keys(out).length ? out : undefined;
}

function toAction(a: ActionRow): AlertAction {
  switch (a.channel) {
    case 'email':
      return { channel: 'email', to: splitList(a.to), subject: opt(a.subject), body: opt(a.body), attach_plate: a.attach_plate ? undefined : false };
    case 'sms':
      return { channel: 'sms', to: splitList(a.to), body: opt(a.body) };
    case 'slack':
      return { channel: 'slack', webhook_url: opt(a.webhook_url), webhook_url_env: opt(a.webhook_url_env), text: opt(a.text) };
    case 'webhook':
      return {
        channel: 'webhook',
        url: a.url.trim(),
        headers: parseHeaders(a.headers),
        secret_env: opt(a.secret_env),
        auth_env: opt(a.auth_env),
        timeout_ms: num(a.timeout_ms),
      };
  }
}

/** Drops undefined keys so the stored rule (and the strict schema) sees only what was set. */
function clean<T extends object>(o: T): T {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as T;
}

export function toRuleInput(f: RuleForm): AlertRuleInput {
  const list = (s: string) => {
    const l = splitList(s);
    return l.length ? l : undefined;
  };
  const conditions = clean({
    plates: f.plates.length
      ? f.plates.map((p) => clean({ pattern: p.pattern.trim(), match: p.match, max_distance: p.match === 'fuzzy' ? num(p.max_distance) : undefined }))
      : undefined,
    hotlists: list(f.hotlists),
    cameras: list(f.cameras),
    sites: list(f.sites),
    days: f.days.length ? f.days : undefined,
    hours: f.hours_from.trim() || f.hours_to.trim() ? { from: f.hours_from.trim(), to: f.hours_to.trim() } : undefined,
    timezone: opt(f.timezone),
    min_confidence: num(f.min_confidence),
    vehicle_types: list(f.vehicle_types),
    directions: list(f.directions),
  });
  const windowS = num(f.rate_limit_s);
  return clean({
    name: f.name,
    description: opt(f.description),
    enabled: f.enabled,
    conditions,
    actions: f.actions.map((a) => clean(toAction(a))),
    rate_limit: windowS === undefined ? undefined : { window_s: windowS, key: 'rule_plate' as const },
  });
}

export function formFromRule(r: AlertRule): RuleForm {
  const c = r.conditions;
  return {
    name: r.name,
    description: r.description ?? '',
    enabled: r.enabled,
    plates: (c.plates ?? []).map((p) => ({ pattern: p.pattern, match: p.match, max_distance: p.max_distance === undefined ? '' : String(p.max_distance) })),
    hotlists: (c.hotlists ?? []).join(', '),
    cameras: (c.cameras ?? []).join(', '),
    sites: (c.sites ?? []).join(', '),
    days: [...(c.days ?? [])],
    hours_from: c.hours?.from ?? '',
    hours_to: c.hours?.to ?? '',
    timezone: c.timezone ?? '',
    min_confidence: c.min_confidence === undefined ? '' : String(c.min_confidence),
    vehicle_types: (c.vehicle_types ?? []).join(', '),
    directions: (c.directions ?? []).join(', '),
    actions: r.actions.map((a) => {
      const row: ActionRow = { ...EMPTY_ACTION, channel: a.channel };
      if (a.channel === 'email')
        Object.assign(row, { to: a.to.join(', '), subject: a.subject ?? '', body: a.body ?? '', attach_plate: a.attach_plate !== false });
      if (a.channel === 'sms') Object.assign(row, { to: a.to.join(', '), body: a.body ?? '' });
      if (a.channel === 'slack') Object.assign(row, { webhook_url: a.webhook_url ?? '', webhook_url_env: a.webhook_url_env ?? '', text: a.text ?? '' });
      if (a.channel === 'webhook')
        Object.assign(row, {
          url: a.url,
          headers: Object.entries(a.headers ?? {})
            .map(([k, v]) => `${k}: ${v}`)
            .join('\n'),
          secret_env: a.secret_env ?? '',
          auth_env: a.auth_env ?? '',
          timeout_ms: a.timeout_ms === undefined ? '' : String(a.timeout_ms),
        });
      return row;
    }),
    rate_limit_s: r.rate_limit ? String(r.rate_limit.window_s) : '',
  };
}

/**
 * Issues keyed by the form's own field names: `conditions.plates.0.pattern` → `plates.0.pattern`,
 * `actions.1.to.0` → `actions.1.to`, `conditions.hours.from` → `hours`, `rate_limit.window_s` → `rate_limit_s`.
 */
export function formIssues(issues: readonly ValidationIssue[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const i of issues) {
    const p = i.path.split('.');
    let key: string;
    if (p[0] === 'conditions') {
      if (p[1] === 'plates' && p.length >= 4) key = `plates.${p[2]}.${p[3]}`;
      else if (p[1] === 'hours') key = 'hours';
      else key = p[1] ?? 'conditions';
    } else if (p[0] === 'actions' && p.length >= 3) key = `actions.${p[1]}.${p[2]}`;
    else if (p[0] === 'actions' && p.length === 2) key = `actions.${p[1]}.channel`;
    else if (p[0] === 'rate_limit') key = 'rate_limit_s';
    else key = p[0] || 'name';
    out[key] ??= i.message;
  }
  return out;
}

/** Validates the form with the shared schema; {} when the rule is valid. */
export function ruleFormIssues(f: RuleForm): Record<string, string> {
  const r = validateRule(toRuleInput(f));
  return r.ok ? {} : formIssues(r.issues);
}
