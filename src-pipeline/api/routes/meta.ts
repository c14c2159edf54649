/** Service routes: index, health (database, Kafka, schema registry, S3), stats, Prometheus metrics. */
import type { ApiApp, ApiContext } from '../context.js';
import { HealthChecker } from '../health.js';
import { CamerasOut, ErrorBody, errorResponses, HealthOut, RootOut, StatsOut } from '../schemas.js';

export function metaRoutes(app: ApiApp, ctx: ApiContext): void {
  app.get('/', { schema: { summary: 'Service name, version and links', tags: ['service'], response: { 200: RootOut, ...errorResponses } } }, async () => ({
    service: 'ovr-alpr-api',
    version: ctx.version,
    storage: ctx.storage.kind,
    links: {
      ui: '/ui/',
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

  const health = HealthChecker.forServer(ctx.storage, ctx.health ?? {});
  app.addHook('onClose', async () => health.close());

  app.get(
    '/health',
    {
      schema: {
        summary: 'Status of the database and, when configured, Kafka, the schema registry and S3; 503 when a required one (the database) is down',
        description:
          'Each component is ok, down or not_configured, with its latency and the error (never credentials). Results are cached for about 2 s. ' +
          '`status` is degraded when any configured component is down; the answer is 503 only when a required one is.',
        tags: ['service'],
        security: [],
        response: { 200: HealthOut, 503: HealthOut, 500: ErrorBody },
      },
    },
    async (req, reply) => {
      const report = await health.report();
      for (const [name, c] of Object.entries(report.components))
        if (c.status === 'down') req.log.warn({ component: name, error: c.error }, 'health check: component down');
      const uploads = ctx.s3Images?.uploads() ?? null;
      reply.code(report.unavailable ? 503 : 200);
      return {
        status: report.status,
        database: report.components.database.status === 'ok' ? ('ok' as const) : ('down' as const),
        storage: ctx.storage.kind,
        version: ctx.version,
        uptime_s: Math.round((Date.now() - ctx.startedAt) / 100) / 10,
        live_clients: ctx.hub.size,
        components: report.components,
        ...(uploads
          ? {
              image_uploads: {
                pending: uploads.pending,
                pending_bytes: uploads.pendingBytes,
                failed_attempts: uploads.failedAttempts,
                retrying: uploads.retrying,
                over_cap: uploads.overCap,
                last_error: uploads.lastError,
              },
            }
          : {}),
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
