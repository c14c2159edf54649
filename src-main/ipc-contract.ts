/**
 * The one contract between the console (renderer) and the app (main process): every channel
 * the preload bridge may use, with zod schemas for its request and its response, and the
 * events main sends. Anything else is refused. Handlers never throw across the boundary:
 * results travel as `{ ok: true, value } | { ok: false, error: { code, message } }`.
 * Plain TS with zod (no Electron), so it is unit-tested directly; preload.cts repeats the
 * channel names (a sandboxed preload cannot load modules) and tsc checks both lists agree.
 */
import { z } from 'zod';
import { BackendReport } from '../src-pipeline/backend/report.js';
import { Settings, SettingsPatch } from './settings.js';

export const SupervisorStatusSchema = z.object({
  state: z.enum(['stopped', 'starting', 'running', 'restarting', 'backoff', 'exited', 'stopping']),
  pid: z.number().int().nullable(),
  url: z.string().nullable(),
  startedAt: z.string().nullable(),
  lastHeartbeatAt: z.string().nullable(),
  restarts: z.number().int(),
  restartsInWindow: z.number().int(),
  backoffLevel: z.number().int(),
  nextStartAt: z.string().nullable(),
  lastExit: z
    .object({
      kind: z.enum(['clean', 'crash', 'hung', 'stopped', 'spawn-failed']),
      code: z.number().int().nullable(),
      signal: z.string().nullable(),
      at: z.string(),
      uptimeMs: z.number(),
      message: z.string(),
    })
    .nullable(),
  attention: z.string().nullable(),
});

export const LogEntrySchema = z.object({ seq: z.number().int(), at: z.string(), stream: z.enum(['stdout', 'stderr', 'supervisor']), line: z.string() });

export const AppInfoSchema = z.object({
  name: z.string(),
  version: z.string(),
  platform: z.string(),
  arch: z.string(),
  electron: z.string().nullable(),
  node: z.string(),
  /** Where the settings and pipeline log live (shown in the About box). */
  userData: z.string(),
  logFile: z.string(),
});

const NoPayload = z.undefined();

export const INVOKE = {
  'app:info': { request: NoPayload, response: AppInfoSchema },
  'pipeline:status': { request: NoPayload, response: SupervisorStatusSchema },
  'pipeline:start': { request: NoPayload, response: SupervisorStatusSchema },
  'pipeline:stop': { request: NoPayload, response: SupervisorStatusSchema },
  'pipeline:restart': { request: NoPayload, response: SupervisorStatusSchema },
  'pipeline:logs': {
    request: z.object({ limit: z.number().int().min(1).max(2000).optional(), afterSeq: z.number().int().min(0).optional() }).strict(),
    response: z.array(LogEntrySchema),
  },
  'settings:get': { request: NoPayload, response: Settings },
  'settings:update': { request: SettingsPatch, response: Settings },
  /** Connect mode: checks Kafka, registry, PostgreSQL and S3 as configured. */
  'backend:check': { request: NoPayload, response: BackendReport },
  /** Launch mode: compose up/down/status (progress arrives as backend:progress events). */
  'backend:up': { request: NoPayload, response: BackendReport },
  'backend:down': { request: NoPayload, response: BackendReport },
  'backend:status': { request: NoPayload, response: BackendReport },
} as const;

export const EVENTS = {
  'pipeline:status-changed': SupervisorStatusSchema,
  'pipeline:log': LogEntrySchema,
  'backend:progress': z.object({
    phase: z.enum(['checking', 'starting', 'waiting', 'stopping', 'done']),
    message: z.string(),
    services: BackendReport.shape.services.optional(),
  }),
} as const;

export type InvokeChannel = keyof typeof INVOKE;
export type EventChannel = keyof typeof EVENTS;
export type InvokeRequest<C extends InvokeChannel> = z.input<(typeof INVOKE)[C]['request']>;
export type InvokeResponse<C extends InvokeChannel> = z.infer<(typeof INVOKE)[C]['response']>;
export type EventPayload<C extends EventChannel> = z.infer<(typeof EVENTS)[C]>;

export const INVOKE_CHANNELS = Object.freeze(Object.keys(INVOKE) as InvokeChannel[]);
export const EVENT_CHANNELS = Object.freeze(Object.keys(EVENTS) as EventChannel[]);

export type IpcErrorCode = 'UNKNOWN_CHANNEL' | 'UNTRUSTED_SENDER' | 'INVALID_PAYLOAD' | 'INVALID_RESPONSE' | 'FAILED' | (string & {});
export type IpcResult<T> = { ok: true; value: T } | { ok: false; error: { code: IpcErrorCode; message: string } };

export function isInvokeChannel(c: unknown): c is InvokeChannel {
  return typeof c === 'string' && Object.prototype.hasOwnProperty.call(INVOKE, c);
}

export function isEventChannel(c: unknown): c is EventChannel {
  return typeof c === 'string' && Object.prototype.hasOwnProperty.call(EVENTS, c);
}

export type Handlers = { [C in InvokeChannel]: (request: z.infer<(typeof INVOKE)[C]['request']>) => Promise<InvokeResponse<C>> | InvokeResponse<C> };

function fail(code: IpcErrorCode, message: string): IpcResult<never> {
  return { ok: false, error: { code, message } };
}

function describeIssues(err: z.ZodError): string {
  return err.issues
    .slice(0, 5)
    .map((i) => `${i.path.join('.') || '(payload)'}: ${i.message}`)
    .join('; ');
}

/**
 * Validates and runs one invoke: unknown channel, malformed payload, a handler that throws or
 * answers out of contract all come back as error results. Error messages from AlprError keep
 * their code; anything else is reported without a stack.
 */
export async function dispatch(channel: unknown, payload: unknown, handlers: Partial<Handlers>): Promise<IpcResult<unknown>> {
  if (!isInvokeChannel(channel)) return fail('UNKNOWN_CHANNEL', `channel ${JSON.stringify(String(channel)).slice(0, 80)} is not allowed`);
  const spec = INVOKE[channel];
  const req = spec.request.safeParse(payload);
  if (!req.success) return fail('INVALID_PAYLOAD', `${channel}: ${describeIssues(req.error)}`);
  const handler = handlers[channel] as ((r: unknown) => unknown) | undefined;
  if (!handler) return fail('UNKNOWN_CHANNEL', `${channel} has no handler in this build`);
  let value: unknown;
  try {
    value = await handler(req.data);
  } catch (err) {
    const e = err as { code?: unknown; message?: unknown };
    const code = typeof e?.code === 'string' && /^[A-Z_]{3,40}$/.test(e.code) ? e.code : 'FAILED';
    return fail(code, typeof e?.message === 'string' ? e.message : String(err));
  }
  const res = spec.response.safeParse(value);
  if (!res.success) return fail('INVALID_RESPONSE', `${channel}: the app answered out of contract (${describeIssues(res.error)})`);
  return { ok: true, value: res.data };
}

/** Validates an event before main sends it (a bug in main must not push junk into the console). */
export function checkEvent<C extends EventChannel>(channel: C, payload: unknown): EventPayload<C> {
  return EVENTS[channel].parse(payload) as EventPayload<C>;
}
