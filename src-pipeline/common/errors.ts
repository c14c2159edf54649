/**
 * Errors that cross a boundary (CLI, IPC, HTTP) carry a stable code, a message a person can
 * act on and whether retrying can help, modelled on kafkajs' error classes.
 */
export type ErrorCode =
  | 'CONFIG_INVALID'
  | 'MODEL_MISSING'
  | 'MODEL_CORRUPT'
  | 'MODEL_MANIFEST_INVALID'
  | 'MODEL_FETCH_FAILED'
  | 'IMAGE_UNREADABLE'
  | 'DATASET_INVALID'
  | 'STORAGE_UNAVAILABLE'
  | 'STORAGE_FAILED'
  | 'BUS_UNAVAILABLE'
  | 'SCHEMA_NOT_FOUND'
  | 'SCHEMA_INCOMPATIBLE'
  | 'EVENT_INVALID'
  | 'OUTBOX_FULL'
  | 'USAGE'
  | 'INTERNAL';

export interface ErrorEnvelope {
  code: ErrorCode;
  message: string;
  retriable: boolean;
  details?: Record<string, unknown>;
}

export class AlprError extends Error {
  readonly code: ErrorCode;
  readonly retriable: boolean;
  readonly details?: Record<string, unknown>;

  constructor(code: ErrorCode, message: string, opts: { retriable?: boolean; details?: Record<string, unknown>; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'AlprError';
    this.code = code;
    this.retriable = opts.retriable ?? false;
    this.details = opts.details;
  }

  toEnvelope(): ErrorEnvelope {
    return { code: this.code, message: this.message, retriable: this.retriable, ...(this.details ? { details: this.details } : {}) };
  }
}

/** Turns anything thrown into an envelope without leaking stack traces across a boundary. */
export function toErrorEnvelope(err: unknown): ErrorEnvelope {
  if (err instanceof AlprError) return err.toEnvelope();
  const message = err instanceof Error ? err.message : String(err);
  return { code: 'INTERNAL', message, retriable: false };
}
