/**
 * What the backend launcher reports, to the CLI (`ovr-alpr backend … --json`) and over IPC to
 * the desktop app: one entry per service with a state and, when it is not healthy, an error
 * code and a message an operator can act on. Results, not exceptions: every failure is data.
 */
import { z } from 'zod';

export const BackendErrorCode = z.enum([
  /** Nothing configured for this service (connect mode). */
  'NOT_CONFIGURED',
  /** Connection refused / host unknown / no route. */
  'UNREACHABLE',
  /** No answer within the check's timeout. */
  'TIMEOUT',
  /** The service answered, but refused our credentials. */
  'AUTH_FAILED',
  /** The service answered something unexpected (wrong port? wrong path?). */
  'BAD_RESPONSE',
  /** Reachable, but a resource we need is missing (bucket, database). */
  'MISSING_RESOURCE',
  /** The `docker` command is not installed / not on PATH. */
  'DOCKER_MISSING',
  /** `docker` is there but has no compose plugin. */
  'COMPOSE_MISSING',
  /** `docker` cannot reach a Docker engine (daemon not running, no permission on the socket). */
  'ENGINE_UNAVAILABLE',
  /** The compose file is missing or invalid. */
  'COMPOSE_FILE_INVALID',
  /** `docker compose` failed for another reason (its stderr is in the message). */
  'COMPOSE_FAILED',
  /** A container is unhealthy or exited. */
  'UNHEALTHY',
]);
export type BackendErrorCode = z.infer<typeof BackendErrorCode>;

export const BackendError = z.object({ code: BackendErrorCode, message: z.string() });
export type BackendError = z.infer<typeof BackendError>;

export const ServiceState = z.enum(['healthy', 'starting', 'unhealthy', 'stopped', 'unreachable', 'not-configured']);
export type ServiceState = z.infer<typeof ServiceState>;

export const ServiceReport = z.object({
  /** kafka, schema-registry, postgres, s3 (connect) or the compose service name (launch). */
  service: z.string(),
  state: ServiceState,
  /** Where it was checked, with any credentials removed. */
  target: z.string().nullable(),
  /** Version or other useful facts when healthy ("PostgreSQL 16.4, timescaledb 2.17"). */
  detail: z.string().nullable(),
  error: BackendError.nullable(),
});
export type ServiceReport = z.infer<typeof ServiceReport>;

export const BackendReport = z.object({
  mode: z.enum(['connect', 'launch']),
  ok: z.boolean(),
  at: z.string(),
  services: z.array(ServiceReport),
  /** A failure that is not about one service (docker missing, compose failed). */
  error: BackendError.nullable(),
});
export type BackendReport = z.infer<typeof BackendReport>;

/** Removes user:password from URLs and key=value secrets, for anything shown or logged. */
export function redact(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)[^/@\s:]+(?::[^/@\s]*)?@/gi, '$1***@').replace(/(password|secret|token)=([^&\s]+)/gi, '$1=***');
}

export function report(mode: BackendReport['mode'], services: ServiceReport[], error: BackendError | null = null): BackendReport {
  return { mode, ok: error === null && services.length > 0 && services.every((s) => s.state === 'healthy'), at: new Date().toISOString(), services, error };
}
