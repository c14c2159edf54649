/** Slack incoming webhooks: a text fallback plus Block Kit blocks. */
import type { SlackAction } from '../../common/alert-rules.js';
import { requireSecret, type Env } from '../secrets.js';
import { renderTemplate, templateValues } from '../templates.js';
import { DeliveryError, type AlertChannel, type Notification } from './channel.js';
import { post } from './http.js';

const DEFAULT_TEXT = ':rotating_light: {{rule}}: plate *{{plate}}* at {{camera_id}}';

export function slackPayload(n: Notification, text?: string): Record<string, unknown> {
  const v = templateValues(n);
  const headline = renderTemplate(text ?? DEFAULT_TEXT, v);
  const fields = [
    ['Plate', `${v.plate} (${v.confidence})`],
    ['Camera', v.camera_id],
    ['Site', v.site],
    ['Time', v.captured_at],
    ['Vehicle', v.vehicle_type],
    ['Direction', v.direction],
  ];
  if (n.hotlist) fields.push(['Hotlist', `${n.hotlist.hotlist} (${n.hotlist.priority})${n.hotlist.reason ? `: ${n.hotlist.reason}` : ''}`]);
  return {
    text: headline,
    blocks: [
      { type: 'header', text: { type: 'plain_text', text: `ALPR alert: ${v.plate}`.slice(0, 150) } },
      { type: 'section', text: { type: 'mrkdwn', text: headline } },
      { type: 'section', fields: fields.slice(0, 10).map(([k, val]) => ({ type: 'mrkdwn', text: `*${k}*\n${val}` })) },
      { type: 'context', elements: [{ type: 'mrkdwn', text: `rule ${n.rule.name} · event ${v.event_id}` }] },
    ],
  };
}

export class SlackChannel implements AlertChannel {
  readonly channel = 'slack' as const;

  constructor(
    private readonly env: Env,
    private readonly timeoutMs: number,
  ) {}

  async send(n: Notification, signal: AbortSignal): Promise<void> {
    const a = n.action as SlackAction;
    const url = a.webhook_url ?? (a.webhook_url_env ? requireSecret(a.webhook_url_env, this.env, 'Slack webhook') : undefined);
    if (!url) throw new DeliveryError('Slack action has no webhook URL', false);
    await post('Slack webhook', url, JSON.stringify(slackPayload(n, a.text)), { 'content-type': 'application/json' }, this.timeoutMs, signal);
  }
}
