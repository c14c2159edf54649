/**
 * Bearer-token access control. The API binds to loopback by default; anything reachable
 * from other machines must have a token, checked on every route except /health (which load
 * balancers and the desktop supervisor poll without credentials).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ApiError } from './errors.js';

/** Routes that answer without a token. */
const OPEN_ROUTES = new Set(['/health']);

/** True for addresses only this machine can reach. `localhost` counts; wildcards never do. */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, '');
  if (h === 'localhost') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  if (isIP(h) === 6) return h === '::1' || /^::ffff:127\./.test(h);
  return false;
}

/**
 * Digests first, then timingSafeEqual: comparing fixed-length digests takes the same time
 * whatever the input, and does not reveal the token's length the way a length check would.
 */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The token a request carries: `Authorization: Bearer …`, or `?token=` for links a browser opens (WebSocket, CSV). */
export function requestToken(req: FastifyRequest): string | undefined {
  const header = req.headers.authorization;
  if (header) {
    const m = /^Bearer\s+(.+)$/i.exec(header);
    return m ? m[1].trim() : undefined;
  }
  const q = req.query as Record<string, unknown> | undefined;
  return typeof q?.token === 'string' ? q.token : undefined;
}

/** An onRequest hook enforcing `token`; runs before body parsing, validation and WebSocket upgrade. */
export function authHook(token: string) {
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const path = req.routeOptions.url ?? req.url.split('?')[0];
    if (OPEN_ROUTES.has(path)) return;
    const given = requestToken(req);
    if (given === undefined) throw new ApiError('UNAUTHORIZED', 'this server needs a token: send "Authorization: Bearer <token>" (or ?token= on links)');
    if (!tokensEqual(given, token)) throw new ApiError('UNAUTHORIZED', 'the token is not valid');
  };
}

/** Replaces `token=…` in a logged URL so the secret never reaches a log file. */
export function redactUrl(url: string): string {
  return url.replace(/([?&]token=)[^&#]*/gi, '$1[REDACTED]');
}
