/** Service routes: index, health (with a database check), stats, Prometheus metrics. */
import type { ApiApp, ApiContext } from '../context.js';
import { CamerasOut, ErrorBody, errorResponses, HealthOut, RootOut, StatsOut } from '../schemas.js';

export function metaRoutes(app: ApiApp, ctx: ApiContext): void {
  app.get('/', { schema: { summary: 'Service name, version and links', tags: ['service'], response: { 200: RootOut, ...errorResponses } } }, async () => ({
    service: 'ovr-alpr-api',
    version: ctx.version,
    storage: ctx.storage.kind,
    links: {
      health: '/health',
      stats: '/stats',
      recent: '/events/recent',
      search: '/events/search',
      export_csv: '/events/search.csv',
      fuzzy: '/plates/fuzzy',
      counts: '/events/counts',
      live: '/live',
      cameras: '/cameras',
      metrics: '/metrics',
      docs: '/docs',
      openapi: '/docs/json',
    },
  }));

  app.get(
    '/health',
    {
      schema: {
        summary: 'Liveness with a database check; 503 when the database does not answer',
        tags: ['service'],
        security: [],
        response: { 200: HealthOut, 503: HealthOut, 500: ErrorBody },
      },
    },
    async (req, reply) => {
      let dbOk = false;
      try {
        dbOk = await ctx.storage.ping();
      } catch (err) {
        req.log.warn({ err }, 'database ping failed');
      }
      reply.code(dbOk ? 200 : 503);
      return {
        status: dbOk ? ('ok' as const) : ('degraded' as const),
        database: dbOk ? ('ok' as const) : ('down' as const),
        storage: ctx.storage.kind,
        version: ctx.version,
        uptime_s: Math.round((Date.now() - ctx.startedAt) / 100) / 10,
        live_clients: ctx.hub.size,
      };
    },
  );

  app.get('/stats', { schema: { summary: 'Totals over all stored events', tags: ['events'], response: { 200: StatsOut, ...errorResponses } } }, async () =>
    ctx.storage.stats(),
  );

  app.get(
    '/cameras',
    {
      schema: {
        summary: 'Cameras of the pipeline this server runs, with their state and rates',
        tags: ['service'],
        response: { 200: CamerasOut, ...errorResponses },
      },
    },
    async () => ({ pipeline: ctx.cameras !== undefined, cameras: ctx.cameras?.() ?? [] }),
  );

  app.get(
    '/metrics',
    // No response schemas: the body is Prometheus text, and must not go through the JSON serializer.
    { schema: { summary: 'Prometheus metrics (text exposition format)', tags: ['service'] } },
    async (_req, reply) => {
      reply.type(ctx.metrics.registry.contentType);
      return ctx.metrics.registry.metrics();
    },
  );
}
