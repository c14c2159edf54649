/**
 * HTTP error envelope. Every non-2xx answer from the API has the same body,
 * `{ error: { code, message, retriable, field? } }`, so the console and scripts can branch on
 * `code` and show `message` to a person. Stack traces never cross the wire.
 */
import { AlprError } from '../common/errors.js';

export type ApiErrorCode = 'BAD_REQUEST' | 'UNAUTHORIZED' | 'NOT_FOUND' | 'UNAVAILABLE' | 'INTERNAL';

export interface ApiErrorBody {
  error: { code: string; message: string; retriable: boolean; field?: string };
}

const STATUS: Record<ApiErrorCode, number> = { BAD_REQUEST: 400, UNAUTHORIZED: 401, NOT_FOUND: 404, UNAVAILABLE: 503, INTERNAL: 500 };

export class ApiError extends Error {
  readonly code: ApiErrorCode;
  readonly status: number;
  readonly field?: string;

  constructor(code: ApiErrorCode, message: string, field?: string) {
    super(message);
    this.name = 'ApiError';
    this.code = code;
    this.status = STATUS[code];
    this.field = field;
  }

  body(): ApiErrorBody {
    return { error: { code: this.code, message: this.message, retriable: this.code === 'UNAVAILABLE', ...(this.field ? { field: this.field } : {}) } };
  }
}

export const badRequest = (field: string, reason: string) => new ApiError('BAD_REQUEST', `${field}: ${reason}`, field);
export const notFound = (message: string) => new ApiError('NOT_FOUND', message);

/**
 * The 500 body. AlprError messages are written for people and are kept; anything else (a
 * driver error, a bug) may carry SQL or paths, so the client gets a generic line and the
 * details go to the log only.
 */
export function internalBody(err: unknown): ApiErrorBody {
  if (err instanceof AlprError) return { error: { code: err.code, message: err.message, retriable: err.retriable } };
  return { error: { code: 'INTERNAL', message: 'internal server error (details are in the server log)', retriable: false } };
}
