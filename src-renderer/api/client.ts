/**
 * The typed API client. Every screen talks to the server through these functions, never
 * through fetch directly, so the token, base URL and error envelope are handled in one place.
 *
 * The console is served by the API itself (/ui/), so the base URL is the page's origin. A token
 * arrives once as `?token=` in the address (the link `ovr-alpr serve` prints); it is moved into
 * sessionStorage and removed from the address bar so it is not bookmarked or shared by accident.
 */

const TOKEN_KEY = 'ovr-alpr.token';

/** One problem with a request, as the API's error envelope or a zod issue list describes it. */
export interface ApiIssue {
  path: string;
  message: string;
}

/** A failed API call, carrying the envelope `{error:{code,message,retriable,field?}}` the server sends. */
export class ApiRequestError extends Error {
  readonly code: string;
  readonly status: number;
  readonly retriable: boolean;
  readonly field?: string;
  readonly issues: ApiIssue[];

  constructor(init: { code: string; message: string; status: number; retriable?: boolean; field?: string; issues?: ApiIssue[] }) {
    super(init.message);
    this.name = 'ApiRequestError';
    this.code = init.code;
    this.status = init.status;
    this.retriable = init.retriable ?? false;
    this.field = init.field;
    this.issues = init.issues ?? (init.field ? [{ path: init.field, message: init.message }] : []);
  }
}

let cachedToken: string | null | undefined;

/** The API token: taken once from `?token=`, then from sessionStorage. Null when the server needs none. */
export function apiToken(): string | null {
  if (cachedToken !== undefined) return cachedToken;
  const url = new URL(window.location.href);
  const fromQuery = url.searchParams.get('token');
  if (fromQuery) {
    try {
      sessionStorage.setItem(TOKEN_KEY, fromQuery);
    } catch {
      // Storage can be disabled; the token then lives only in memory for this page.
    }
    url.searchParams.delete('token');
    window.history.replaceState(window.history.state, '', url.pathname + url.search + url.hash);
    cachedToken = fromQuery;
    return cachedToken;
  }
  try {
    cachedToken = sessionStorage.getItem(TOKEN_KEY);
  } catch {
    cachedToken = null;
  }
  return cachedToken;
}

/** Replaces the stored token (the "token needed" prompt uses this). */
export function setApiToken(token: string | null): void {
  cachedToken = token;
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // See apiToken.
  }
}

export type QueryValue = string | number | boolean | null | undefined | readonly (string | number)[];
export type Query = Record<string, QueryValue>;

/** An absolute URL on the API for `path` with `query`; empty values are left out. */
export function apiUrl(path: string, query?: Query): string {
  const url = new URL(path, window.location.origin);
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === null || v === '') continue;
    if (Array.isArray(v)) for (const item of v) url.searchParams.append(k, String(item));
    else url.searchParams.set(k, String(v));
  }
  return url.toString();
}

/**
 * A URL a browser element opens by itself (img src, download link, WebSocket), where no
 * Authorization header can be set: the token travels as `?token=`, which the API accepts.
 */
export function authedUrl(path: string, query?: Query): string {
  const token = apiToken();
  return apiUrl(path, token ? { ...query, token } : query);
}

function headers(json: boolean): Headers {
  const h = new Headers({ accept: 'application/json' });
  if (json) h.set('content-type', 'application/json');
  const token = apiToken();
  if (token) h.set('authorization', `Bearer ${token}`);
  return h;
}

async function toError(res: Response): Promise<ApiRequestError> {
  const text = await res.text().catch(() => '');
  try {
    const body = JSON.parse(text) as { error?: { code?: unknown; message?: unknown; retriable?: unknown; field?: unknown; issues?: unknown } };
    const e = body.error;
    if (e && typeof e.message === 'string') {
      const issues = Array.isArray(e.issues)
        ? (e.issues as { path?: unknown; message?: unknown }[]).map((i) => ({
            path: Array.isArray(i.path) ? i.path.join('.') : String(i.path ?? ''),
            message: String(i.message ?? ''),
          }))
        : undefined;
      return new ApiRequestError({
        code: typeof e.code === 'string' ? e.code : 'ERROR',
        message: e.message,
        status: res.status,
        retriable: e.retriable === true,
        field: typeof e.field === 'string' ? e.field : undefined,
        issues,
      });
    }
  } catch {
    // Not the envelope (a proxy page, an empty body): fall through to a generic message.
  }
  return new ApiRequestError({ code: `HTTP_${res.status}`, message: `the server answered ${res.status} ${res.statusText}`.trim(), status: res.status });
}

async function request(method: string, path: string, init: { query?: Query; body?: unknown; signal?: AbortSignal }): Promise<Response> {
  let res: Response;
  try {
    res = await fetch(apiUrl(path, init.query), {
      method,
      headers: headers(init.body !== undefined),
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
      signal: init.signal,
    });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiRequestError({ code: 'NETWORK', message: 'cannot reach the OVR-ALPR service (is `ovr-alpr serve` running?)', status: 0, retriable: true });
  }
  if (!res.ok) throw await toError(res);
  return res;
}

/** GET `path` and parse the JSON answer. */
export async function apiGet<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T> {
  const res = await request('GET', path, { query, signal });
  return (await res.json()) as T;
}

/** POST/PUT/PATCH/DELETE with an optional JSON body; a 204 resolves to undefined. */
export async function apiSend<T>(method: 'POST' | 'PUT' | 'PATCH' | 'DELETE', path: string, body?: unknown, signal?: AbortSignal): Promise<T> {
  const res = await request(method, path, { body, signal });
  if (res.status === 204) return undefined as T;
  const text = await res.text();
  return (text ? JSON.parse(text) : undefined) as T;
}

/** GET `path` as text (CSV, Prometheus metrics). */
export async function apiText(path: string, query?: Query, signal?: AbortSignal): Promise<string> {
  const res = await request('GET', path, { query, signal });
  return res.text();
}

/** A message for a person from anything thrown by the client. */
export function errorText(err: unknown): string {
  if (err instanceof ApiRequestError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
