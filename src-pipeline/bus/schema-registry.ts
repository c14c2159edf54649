/**
 * A small client for the Confluent-compatible schema registry REST API (Confluent Schema
 * Registry, Apicurio's `/apis/ccompat/v7`, Redpanda, Karapace), on global fetch.
 *
 * Credentials come from the URL's userinfo (`https://user:pass@host/…`) or the options and
 * go out as HTTP basic auth; they are stripped from the base URL, so no message, error or
 * `toString()` of this client ever contains them.
 *
 * Errors are AlprError: BUS_UNAVAILABLE (network, timeout, 5xx, 429; retriable),
 * SCHEMA_NOT_FOUND (404), SCHEMA_INCOMPATIBLE (409, and 422 invalid schema), CONFIG_INVALID
 * (401/403, bad URL), INTERNAL (any other answer).
 */
import { AlprError } from '../common/errors.js';

export const SCHEMA_REGISTRY_CONTENT_TYPE = 'application/vnd.schemaregistry.v1+json';

export type CompatibilityLevel = 'BACKWARD' | 'BACKWARD_TRANSITIVE' | 'FORWARD' | 'FORWARD_TRANSITIVE' | 'FULL' | 'FULL_TRANSITIVE' | 'NONE';

export interface RegisteredSchema {
  id: number;
  /** The schema text as the registry holds it. */
  schema: string;
  /** AVRO when the registry leaves it out (the API's default). */
  schemaType: string;
}

/** What the codec needs from a registry (the client below, or an in-memory one in tests). */
export interface SchemaLookup {
  register(subject: string, schema: string | object): Promise<number>;
  getSchemaById(id: number): Promise<RegisteredSchema>;
}

export interface SchemaRegistryOptions {
  /** Base URL, e.g. http://registry:8081 or http://apicurio:8080/apis/ccompat/v7; may carry user:pass@. */
  url: string;
  username?: string;
  password?: string;
  /** Per-request timeout; default 10 s. */
  timeoutMs?: number;
}

export interface CompatibilityResult {
  compatible: boolean;
  /** Registry's explanations when it gives any (Confluent with ?verbose=true). */
  messages: string[];
}

interface RegistryErrorBody {
  error_code?: number;
  message?: string;
}

/** fetch's "fetch failed" with the system error under it (ECONNREFUSED, ENOTFOUND, …). */
function networkReason(err: unknown): string {
  type Cause = { code?: string; message?: string; errors?: Cause[]; cause?: Cause };
  const e = err as Cause;
  const c = e.cause;
  const code = c?.code ?? c?.errors?.find((x) => x.code)?.code ?? c?.cause?.code;
  return [e.message, code ?? c?.message].filter(Boolean).join(': ');
}

const schemaText = (schema: string | object) => (typeof schema === 'string' ? schema : JSON.stringify(schema));

export class SchemaRegistryClient implements SchemaLookup {
  /** Base URL without credentials and without a trailing slash. */
  readonly url: string;
  readonly #authorization: string | undefined;
  readonly #timeoutMs: number;
  readonly #byId = new Map<number, Promise<RegisteredSchema>>();

  constructor(opts: SchemaRegistryOptions) {
    let parsed: URL;
    try {
      parsed = new URL(opts.url);
    } catch {
      // Do not echo the string: it may hold a password.
      throw new AlprError('CONFIG_INVALID', 'schema registry URL is not a valid URL');
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new AlprError('CONFIG_INVALID', `schema registry URL must be http(s), got ${parsed.protocol}`);
    }
    const username = opts.username ?? (parsed.username ? decodeURIComponent(parsed.username) : undefined);
    const password = opts.password ?? (parsed.password ? decodeURIComponent(parsed.password) : undefined);
    parsed.username = '';
    parsed.password = '';
    this.url = parsed.toString().replace(/\/+$/, '');
    this.#authorization = username !== undefined ? `Basic ${Buffer.from(`${username}:${password ?? ''}`, 'utf8').toString('base64')}` : undefined;
    this.#timeoutMs = opts.timeoutMs ?? 10_000;
  }

  toString(): string {
    return `SchemaRegistryClient(${this.url})`;
  }

  /** Registers `schema` (Avro) under `subject`, or finds it there; resolves to its global id. */
  async register(subject: string, schema: string | object): Promise<number> {
    const text = schemaText(schema);
    const body = await this.#request<{ id?: unknown }>('POST', `/subjects/${encodeURIComponent(subject)}/versions`, { schema: text });
    if (typeof body.id !== 'number' || !Number.isInteger(body.id)) throw this.#malformed('register', body);
    if (!this.#byId.has(body.id)) this.#byId.set(body.id, Promise.resolve({ id: body.id, schema: text, schemaType: 'AVRO' }));
    return body.id;
  }

  /** The schema with global id `id`; cached for the life of the client (ids are immutable). */
  getSchemaById(id: number): Promise<RegisteredSchema> {
    const hit = this.#byId.get(id);
    if (hit) return hit;
    const p = this.#request<{ schema?: unknown; schemaType?: unknown }>('GET', `/schemas/ids/${encodeURIComponent(String(id))}`).then((body) => {
      if (typeof body.schema !== 'string') throw this.#malformed(`schema ${id}`, body);
      return { id, schema: body.schema, schemaType: typeof body.schemaType === 'string' ? body.schemaType : 'AVRO' };
    });
    this.#byId.set(id, p);
    // Only successes stay cached: a 404 or an outage is asked again next time.
    p.catch(() => {
      if (this.#byId.get(id) === p) this.#byId.delete(id);
    });
    return p;
  }

  /** Sets the subject's compatibility level (PUT /config/{subject}). */
  async setCompatibility(subject: string, level: CompatibilityLevel): Promise<CompatibilityLevel> {
    const body = await this.#request<{ compatibility?: unknown; compatibilityLevel?: unknown }>('PUT', `/config/${encodeURIComponent(subject)}`, {
      compatibility: level,
    });
    const got = body.compatibility ?? body.compatibilityLevel;
    return typeof got === 'string' ? (got as CompatibilityLevel) : level;
  }

  /**
   * Whether `schema` may be registered as the next version of `subject` under its compatibility
   * level (POST /compatibility/subjects/{subject}/versions/latest). A subject with no versions
   * yet accepts anything: that answer is `compatible: true`.
   */
  async checkCompatibility(subject: string, schema: string | object, version: number | 'latest' = 'latest'): Promise<CompatibilityResult> {
    let body: { is_compatible?: unknown; messages?: unknown };
    try {
      body = await this.#request('POST', `/compatibility/subjects/${encodeURIComponent(subject)}/versions/${version}?verbose=true`, {
        schema: schemaText(schema),
      });
    } catch (err) {
      // 40401 subject not found, 40402 version not found: nothing to be incompatible with.
      const code = err instanceof AlprError ? err.details?.errorCode : undefined;
      if (err instanceof AlprError && err.code === 'SCHEMA_NOT_FOUND' && (code === 40401 || code === 40402)) return { compatible: true, messages: [] };
      throw err;
    }
    if (typeof body.is_compatible !== 'boolean') throw this.#malformed('compatibility check', body);
    const messages = Array.isArray(body.messages) ? body.messages.map(String) : [];
    return { compatible: body.is_compatible, messages };
  }

  async #request<T>(method: string, path: string, json?: unknown): Promise<T> {
    const url = `${this.url}${path}`;
    const what = `${method} ${path.replace(/\?.*$/, '')}`;
    const headers: Record<string, string> = { accept: `${SCHEMA_REGISTRY_CONTENT_TYPE}, application/json` };
    if (json !== undefined) headers['content-type'] = SCHEMA_REGISTRY_CONTENT_TYPE;
    if (this.#authorization) headers.authorization = this.#authorization;
    let res: Response;
    try {
      res = await fetch(url, { method, headers, body: json === undefined ? undefined : JSON.stringify(json), signal: AbortSignal.timeout(this.#timeoutMs) });
    } catch (err) {
      const name = (err as { name?: string }).name;
      const reason = name === 'TimeoutError' || name === 'AbortError' ? `no answer within ${this.#timeoutMs} ms` : networkReason(err);
      throw new AlprError('BUS_UNAVAILABLE', `schema registry ${this.url} unreachable (${what}): ${reason}`, { retriable: true, details: { url: this.url } });
    }
    const text = await res.text().catch(() => '');
    let body: unknown = undefined;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = undefined;
    }
    if (res.ok) {
      if (body === undefined || body === null || typeof body !== 'object') throw this.#malformed(what, text.slice(0, 200));
      return body as T;
    }
    const eb = (body && typeof body === 'object' ? body : {}) as RegistryErrorBody;
    const detail = eb.message ?? (text.slice(0, 200) || res.statusText);
    const details = { url: this.url, status: res.status, ...(typeof eb.error_code === 'number' ? { errorCode: eb.error_code } : {}) };
    const msg = `schema registry ${what} answered ${res.status}: ${detail}`;
    if (res.status >= 500 || res.status === 429 || res.status === 408) throw new AlprError('BUS_UNAVAILABLE', msg, { retriable: true, details });
    if (res.status === 401 || res.status === 403) throw new AlprError('CONFIG_INVALID', `${msg} (check the registry credentials)`, { details });
    if (res.status === 404) throw new AlprError('SCHEMA_NOT_FOUND', msg, { details });
    if (res.status === 409 || res.status === 422) throw new AlprError('SCHEMA_INCOMPATIBLE', msg, { details });
    throw new AlprError('INTERNAL', msg, { details });
  }

  #malformed(what: string, body: unknown): AlprError {
    const shown = typeof body === 'string' ? body : JSON.stringify(body)?.slice(0, 200);
    return new AlprError('INTERNAL', `schema registry ${this.url} gave an unexpected answer to ${what}: ${shown}`, { details: { url: this.url } });
  }
}
