/**
 * The query API server: REST + OpenAPI + WebSocket live feed + Prometheus metrics over one
 * Storage. `createApiServer` builds a ready-to-listen Fastify instance; the pipeline (and
 * `import`) push new events to live clients through the returned `publish`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import fastifyCors from '@fastify/cors';
import fastifySwagger from '@fastify/swagger';
import fastifySwaggerUi from '@fastify/swagger-ui';
import fastifyWebsocket from '@fastify/websocket';
import Fastify, { type FastifyError, type FastifyServerOptions } from 'fastify';
import {
  hasZodFastifySchemaValidationErrors,
  jsonSchemaTransform,
  serializerCompiler,
  validatorCompiler,
  type ZodTypeProvider,
} from 'fastify-type-provider-zod';
import type { LoggerOptions } from 'pino';
import { AlprError } from '../common/errors.js';
import type { StoredEvent } from '../common/plate-event.js';
import { projectRoot } from '../paths.js';
import type { Storage } from '../store/storage.js';
import { authHook, isLoopbackHost, redactUrl } from './auth.js';
import { audit, type ApiApp, type ApiContext } from './context.js';
import { ApiError, internalBody } from './errors.js';
import { LiveHub } from './live.js';
import type { CameraOut } from './schemas.js';
import { createMetrics, type ApiMetrics } from './metrics.js';
import { alertRoutes } from './routes/alerts.js';
import type { AlertEngine } from '../alerts/engine.js';
import { auditRoutes } from './routes/audit.js';
import { eventRoutes } from './routes/events.js';
import { imageRoutes } from './routes/images.js';
import { evidenceRoutes } from './routes/evidence.js';
import { frameRoutes } from './routes/frames.js';
import { liveRoutes } from './routes/live.js';
import { defaultUiDir, uiRoutes } from './routes/ui.js';
import { PreviewHub } from './preview.js';
import { metaRoutes } from './routes/meta.js';
import { plateRoutes } from './routes/plates.js';
import { settingsRoutes } from './routes/settings.js';
import type { SettingsContext } from '../settings/context.js';
import type { S3ImageAccess } from '../images/s3-images.js';
import type { HealthOptions } from './health.js';

export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_PORT = 8080;

export interface ApiServerOptions {
  storage: Storage;
  /** Bind address; 127.0.0.1 unless given. Any non-loopback address requires `token`. */
  host?: string;
  /** 0 picks a free port (tests). */
  port?: number;
  /** Bearer token required on every route except /health. */
  token?: string;
  /** Allowed browser origins; off (no CORS headers) by default. */
  cors?: string[] | false;
  /** Folder served under /images/. */
  imagesDir?: string;
  /** pino options (plus a destination stream), or false for no logging (the default: the CLI turns logging on). */
  logger?: (LoggerOptions & { stream?: NodeJS.WritableStream }) | false;
  /** Live feed: messages a slow client may have queued before the oldest are dropped. */
  liveQueue?: number;
  /** Check every JSON response against its documented schema (tests; costs time per request). */
  validateResponses?: boolean;
  /** Node's default process metrics in /metrics (on unless false). */
  defaultMetrics?: boolean;
  /** Camera status of the pipeline this server supervises (GET /cameras, camera metrics). */
  cameras?: () => CameraOut[];
  /** Pictures in S3: presigned GETs for `s3://` image URLs, the upload cache, upload metrics. */
  s3Images?: S3ImageAccess;
  /** Backends /health checks besides the database (only configured ones). */
  health?: HealthOptions;
  /** Turns a camera's live-preview JPEGs on or off (the supervisor's setPreview); without it there are no frames. */
  previewWatch?: (cameraId: string, on: boolean) => void;
  /** The console build served at /ui/; OVR_ALPR_UI_DIR or dist/renderer unless given. */
  uiDir?: string;
  /** Settings routes (/settings/*) for the console; only `serve` gives them. */
  settings?: SettingsContext;
  /** Alert engine behind /alerts/* (rules, hotlists, history); no alert routes without it. */
  alerts?: AlertEngine;
}

export interface ApiServer {
  app: ApiApp;
  /** Sends a newly stored event to every live-feed client. Never throws, never blocks. */
  publish(event: StoredEvent): void;
  hub: LiveHub;
  /** Live preview: camera workers' JPEGs and frame reports go in here. */
  preview: PreviewHub;
  metrics: ApiMetrics;
  /** Starts listening on the configured host and port; resolves to the base URL, e.g. http://127.0.0.1:8080. */
  listen(): Promise<string>;
  close(): Promise<void>;
}

let cachedVersion: string | undefined;
export function apiVersion(): string {
  cachedVersion ??= (JSON.parse(readFileSync(join(projectRoot(), 'package.json'), 'utf8')) as { version: string }).version;
  return cachedVersion;
}

/** Logger settings that never write the token: the Authorization header and `?token=` are redacted. */
function loggerOptions(opts: LoggerOptions & { stream?: NodeJS.WritableStream }): FastifyServerOptions['logger'] {
  return {
    ...opts,
    redact: { paths: ['req.headers.authorization', 'headers.authorization', 'token'], censor: '[REDACTED]' },
    serializers: {
      req: (req: { method: string; url: string; ip?: string }) => ({ method: req.method, url: redactUrl(req.url), remoteAddress: req.ip }),
      ...opts.serializers,
    },
  };
}

/** Refuses to expose the API beyond this machine without a token (checked before anything binds). */
export function checkBind(host: string, token: string | undefined): void {
  if (!isLoopbackHost(host) && !token) {
    throw new AlprError(
      'CONFIG_INVALID',
      `refusing to listen on ${host} without a token: anyone who can reach this address could read every plate. ` +
        'Give a token (--token-file FILE or OVR_ALPR_API_TOKEN) or bind to 127.0.0.1.',
    );
  }
}

export async function createApiServer(opts: ApiServerOptions): Promise<ApiServer> {
  const host = opts.host ?? DEFAULT_HOST;
  const port = opts.port ?? DEFAULT_PORT;
  checkBind(host, opts.token);
  if (opts.token !== undefined && opts.token.trim().length < 8) throw new AlprError('CONFIG_INVALID', 'the API token must be at least 8 characters');

  const app = Fastify({
    logger: opts.logger ? loggerOptions(opts.logger) : false,
    // Plate events are small; nothing here accepts a large body.
    bodyLimit: 1024 * 1024,
    // Behind nothing by default; a reverse proxy would set trustProxy explicitly.
    trustProxy: false,
  }).withTypeProvider<ZodTypeProvider>();

  app.setValidatorCompiler(validatorCompiler);
  // Responses come from our own store and are already in shape; re-validating every one costs
  // more than the query on hot routes. Tests turn validation on to prove the docs are right.
  app.setSerializerCompiler(opts.validateResponses ? serializerCompiler : () => (data) => JSON.stringify(data));

  const metrics = createMetrics({ defaultMetrics: opts.defaultMetrics, cameras: opts.cameras });
  const version = apiVersion();
  const hub = new LiveHub({ maxQueue: opts.liveQueue, metrics, version });
  const preview = new PreviewHub({ setWatched: opts.previewWatch });
  const ctx: ApiContext = {
    storage: opts.storage,
    hub,
    metrics,
    version,
    actor: opts.token ? 'token' : 'local',
    imagesDir: opts.imagesDir,
    startedAt: Date.now(),
    cameras: opts.cameras,
    s3Images: opts.s3Images,
    health: { ...opts.health, s3: opts.health?.s3 ?? opts.s3Images },
    preview,
    settings: opts.settings,
    alerts: opts.alerts,
  };

  app.setErrorHandler((err: FastifyError, req, reply) => {
    if (err instanceof ApiError) return reply.code(err.status).send(err.body());
    if (hasZodFastifySchemaValidationErrors(err)) {
      const issue = err.validation[0];
      const field = issue.instancePath.replace(/^\//, '').replace(/\//g, '.') || err.validationContext || 'request';
      const reason = issue.keyword === 'invalid_type' && /received undefined/.test(issue.message ?? '') ? 'is required' : (issue.message ?? 'is not valid');
      return reply.code(400).send(new ApiError('BAD_REQUEST', `${field}: ${reason}`, field).body());
    }
    if (err.statusCode && err.statusCode >= 400 && err.statusCode < 500) {
      // Fastify's own client errors (bad JSON, bad content type, URL too long).
      return reply.code(err.statusCode).send({ error: { code: 'BAD_REQUEST', message: err.message, retriable: false } });
    }
    req.log.error({ err }, 'request failed');
    return reply.code(500).send(internalBody(err));
  });
  app.setNotFoundHandler((req, reply) => {
    reply.code(404).send(new ApiError('NOT_FOUND', `no route ${req.method} ${redactUrl(req.url.split('?')[0])}`).body());
  });

  app.addHook('onResponse', async (req, reply) => {
    // Unmatched URLs share one label so scanners cannot blow up the number of series.
    const labels = { method: req.method, route: req.routeOptions.url ?? 'unmatched', status: String(reply.statusCode) };
    metrics.requests.inc(labels);
    metrics.duration.observe(labels, reply.elapsedTime / 1000);
  });

  // Registered before the WebSocket plugin so it runs first: clients get 1001 (going away)
  // rather than a bare close when the server stops.
  app.addHook('preClose', async () => {
    hub.close();
    // Open MJPEG responses would otherwise keep close() waiting.
    preview.close();
  });
  // Clients only listen; a small maxPayload stops anyone pushing large frames at the server.
  await app.register(fastifyWebsocket, { options: { maxPayload: 4096 } });

  // Before auth, so a 401 still carries CORS headers and the browser shows it as a 401.
  if (opts.cors && opts.cors.length > 0) {
    await app.register(fastifyCors, { origin: opts.cors, methods: ['GET', 'HEAD', 'OPTIONS'] });
  }

  // After the WebSocket plugin: its onRequest hook marks upgrade requests, and its onResponse
  // hook then closes the socket of an upgrade this hook refuses (else the socket leaks).
  if (opts.token) {
    const check = authHook(opts.token);
    app.addHook('onRequest', async (req, reply) => {
      // CORS preflights carry no credentials by design; @fastify/cors answers them.
      if (req.method === 'OPTIONS' && opts.cors) return;
      // The console's static files (routes/ui.ts) hold no secrets; the page sends the token on its API calls.
      if ((req.routeOptions.config as { public?: boolean } | undefined)?.public === true) return;
      await check(req, reply);
    });
  }

  await app.register(fastifySwagger, {
    openapi: {
      info: { title: 'OVR-ALPR query API', description: 'Plate events: queries, search, CSV export, live feed, metrics.', version },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: opts.token ? [{ bearer: [] }] : [],
    },
    transform: jsonSchemaTransform,
  });
  await app.register(fastifySwaggerUi, { routePrefix: '/docs' });

  await app.register(async (scope) => {
    const s = scope as unknown as ApiApp;
    metaRoutes(s, ctx);
    eventRoutes(s, ctx);
    plateRoutes(s, ctx);
    auditRoutes(s, ctx);
    imageRoutes(s, ctx);
    liveRoutes(s, ctx);
    frameRoutes(s, ctx);
    evidenceRoutes(s, ctx);
    if (ctx.settings) settingsRoutes(s, ctx.settings, (action, details) => audit(ctx, action, details));
    alertRoutes(s, ctx);
  });

  await uiRoutes(app, opts.uiDir ?? defaultUiDir());

  await app.ready();

  return {
    app,
    hub,
    preview,
    metrics,
    publish: (event) => {
      try {
        hub.publish(event);
      } catch (err) {
        // The pipeline must never fail because a live client did something odd.
        app.log.warn({ err }, 'live publish failed');
      }
    },
    listen: () => app.listen({ host, port }),
    close: () => app.close(),
  };
}
