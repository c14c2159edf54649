/**
 * AlertChannel: one way of telling a person (email, Slack, webhook, SMS). A channel gets one
 * notification and either resolves (delivered) or throws a DeliveryError whose message is safe
 * to store and show: it never holds a secret, a webhook URL or a token.
 */
import type { AlertAction, Channel } from '../../common/alert-rules.js';
import type { PlateEvent } from '../../common/plate-event.js';
import type { HotlistHit } from '../hotlist-index.js';

export interface Notification {
  rule: { id: string; name: string; description?: string };
  event: PlateEvent;
  action: AlertAction;
  hotlist: HotlistHit | null;
  /** The plate pattern that matched, in words (`fuzzy ABC123 (max 1)`), if any. */
  matched: string | null;
  triggeredAt: string;
}

export interface AlertChannel {
  readonly channel: Channel;
  send(n: Notification, signal: AbortSignal): Promise<void>;
}

export class DeliveryError extends Error {
  constructor(
    message: string,
    /** false: retrying cannot help (4xx other than 408/429, missing secret). */
    readonly retriable = true,
  ) {
    super(message);
    this.name = 'DeliveryError';
  }
}

/** An HTTP status as a DeliveryError; 408, 429 and 5xx are worth retrying. */
export function httpError(what: string, status: number): DeliveryError {
  return new DeliveryError(`${what} answered HTTP ${status}`, status === 408 || status === 429 || status >= 500);
}

/** Network failures in words without the URL (a Slack or webhook URL may be a secret). */
export function networkError(what: string, err: unknown): DeliveryError {
  const e = err as { name?: string; cause?: { code?: string; message?: string }; code?: string };
  if (e?.name === 'TimeoutError' || e?.name === 'AbortError') return new DeliveryError(`${what} timed out`);
  const code = e?.cause?.code ?? e?.code;
  return new DeliveryError(`${what} unreachable${code ? ` (${code})` : ''}`);
}
