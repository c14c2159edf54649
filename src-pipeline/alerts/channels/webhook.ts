/**
 * Generic webhooks: the alert as JSON, POSTed with optional extra headers, an Authorization
 * header from a secret, and `X-ALPR-Signature: sha256=<hex>`, an HMAC-SHA256 of the exact
 * body bytes under a shared secret (the receiver recomputes it to trust the sender), plus
 * `X-ALPR-Timestamp` inside the signed body so a captured request cannot be replayed later unnoticed.
 */
import { createHmac } from 'node:crypto';
import type { WebhookAction } from '../../common/alert-rules.js';
import { requireSecret, type Env } from '../secrets.js';
import type { AlertChannel, Notification } from './channel.js';
import { post } from './http.js';

export const SIGNATURE_HEADER = 'x-alpr-signature';

export function webhookPayload(n: Notification): Record<string, unknown> {
  return {
    type: 'alpr.alert',
    triggered_at: n.triggeredAt,
    rule: { id: n.rule.id, name: n.rule.name },
    matched: n.matched,
    hotlist: n.hotlist ? { name: n.hotlist.hotlist, priority: n.hotlist.priority, reason: n.hotlist.reason } : null,
    event: n.event,
  };
}

export function signBody(secret: string, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(body, 'utf8').digest('hex')}`;
}

export class WebhookChannel implements AlertChannel {
  readonly channel = 'webhook' as const;

  constructor(
    private readonly env: Env,
    private readonly defaultTimeoutMs: number,
  ) {}

  async send(n: Notification, signal: AbortSignal): Promise<void> {
    const a = n.action as WebhookAction;
    const body = JSON.stringify(webhookPayload(n));
    const headers: Record<string, string> = { ...(a.headers ?? {}), 'content-type': 'application/json', 'user-agent': 'ovr-alpr-alerts' };
    if (a.auth_env) headers.authorization = requireSecret(a.auth_env, this.env, 'webhook auth header');
    if (a.secret_env) headers[SIGNATURE_HEADER] = signBody(requireSecret(a.secret_env, this.env, 'webhook signing secret'), body);
    await post(`webhook ${new URL(a.url).host}`, a.url, body, headers, a.timeout_ms ?? this.defaultTimeoutMs, signal);
  }
}
