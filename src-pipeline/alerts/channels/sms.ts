/**
 * SMS through Twilio's REST API (POST /2010-04-01/Accounts/{sid}/Messages.json, form body, basic
 * auth with the account SID and auth token). The API root is configurable so tests talk to a
 * local stand-in; credentials come from the environment only.
 */
import type { AlertChannelsConfig, SmsAction } from '../../common/alert-rules.js';
import { requireSecret, type Env } from '../secrets.js';
import { DEFAULT_SMS, renderTemplate, templateValues } from '../templates.js';
import { DeliveryError, type AlertChannel, type Notification } from './channel.js';
import { post } from './http.js';

export class SmsChannel implements AlertChannel {
  readonly channel = 'sms' as const;

  constructor(
    private readonly cfg: AlertChannelsConfig['sms'],
    private readonly env: Env,
    private readonly timeoutMs: number,
  ) {}

  async send(n: Notification, signal: AbortSignal): Promise<void> {
    const a = n.action as SmsAction;
    const sid = requireSecret(this.cfg.account_sid_env, this.env, 'Twilio account SID');
    const token = requireSecret(this.cfg.auth_token_env, this.env, 'Twilio auth token');
    const from = this.cfg.from ?? this.env.TWILIO_FROM;
    if (!from) throw new DeliveryError('SMS: channels.sms.from (or TWILIO_FROM) is not set', false);
    const text = renderTemplate(a.body ?? DEFAULT_SMS, templateValues(n)).slice(0, 1600);
    const url = `${this.cfg.base_url.replace(/\/+$/, '')}/2010-04-01/Accounts/${encodeURIComponent(sid)}/Messages.json`;
    const headers = {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${sid}:${token}`).toString('base64')}`,
    };
    for (const to of a.to) {
      await post('Twilio API', url, new URLSearchParams({ To: to, From: from, Body: text }).toString(), headers, this.timeoutMs, signal);
    }
  }
}
