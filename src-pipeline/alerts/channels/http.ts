/** One JSON or form POST with a deadline, turned into DeliveryErrors that never carry the URL. */
import { httpError, networkError } from './channel.js';

export async function post(what: string, url: string, body: string, headers: Record<string, string>, timeoutMs: number, signal: AbortSignal): Promise<void> {
  let res: Response;
  try {
    res = await fetch(url, { method: 'POST', headers, body, signal: AbortSignal.any([signal, AbortSignal.timeout(timeoutMs)]), redirect: 'error' });
  } catch (err) {
    throw networkError(what, err);
  }
  // Drain the body so the connection can be reused.
  await res.arrayBuffer().catch(() => undefined);
  if (!res.ok) throw httpError(what, res.status);
}
