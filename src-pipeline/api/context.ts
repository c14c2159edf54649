/** What every route module gets: the store, the live hub, metrics and a few settings. */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { FastifyBaseLogger, FastifyInstance } from 'fastify';
import type { ZodTypeProvider } from 'fastify-type-provider-zod';
import type { AlertEngine } from '../alerts/engine.js';
import type { SettingsContext } from '../settings/context.js';
import type { Storage } from '../store/storage.js';
import type { HealthOptions } from './health.js';
import type { S3ImageAccess } from '../images/s3-images.js';
import type { LiveHub } from './live.js';
import type { PreviewHub } from './preview.js';
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
  /** Live camera previews (MJPEG, frame.jpg, overlay sockets); enabled only with a pipeline. */
  preview?: PreviewHub;
  /** Pictures in S3 (presigned GETs) and the edge's upload cache; absent when S3 is not configured. */
  s3Images?: S3ImageAccess;
  /** Backends /health checks besides the database (configured ones only). */
  health?: HealthOptions;
  /** Console settings (cameras file, retention, backend); absent on servers without them (`api`). */
  settings?: SettingsContext;
  /** Alert rules, hotlists and history (/alerts/*); absent when the server runs no alert engine. */
  alerts?: AlertEngine;
}

/** Writes an audit entry; searches and plate lookups call it before answering. */
export async function audit(ctx: ApiContext, action: string, details: Record<string, unknown>): Promise<void> {
  await ctx.storage.audit({ actor: ctx.actor, action, details });
}

/** Drops undefined values so audit details and store filters carry only what was asked. */
export function defined<T extends Record<string, unknown>>(o: T): Partial<T> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
}
