/** What every route module gets: the store, the live hub, metrics and a few settings. */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { Storage } from '../store/storage.js';
import type { LiveHub } from './live.js';
import type { ApiMetrics } from './metrics.js';
import type { CameraOut } from './schemas.js';

export type ApiApp = FastifyInstance<Server, IncomingMessage, ServerResponse, FastifyBaseLogger, ZodTypeProvider>;

export interface ApiContext {
  storage: Storage;
  hub: LiveHub;
  metrics: ApiMetrics;
  version: string;
  /** Audit identity: 'token' when a token guards the server, else 'local' (only this machine can call it). */
  actor: string;
  imagesDir?: string;
  startedAt: number;
  /** Status of the cameras this server's pipeline runs; absent when it runs none (`api`, `serve --no-pipeline`). */
  cameras?: () => CameraOut[];
}

/** Writes an audit entry; searches and plate lookups call it before answering. */
export async function audit(ctx: ApiContext, action: string, details: Record<string, unknown>): Promise<void> {
  await ctx.storage.audit({ actor: ctx.actor, action, details });
}

/** Drops undefined values so audit details and store filters carry only what was asked. */
export function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
