/** The audit log of searches and plate lookups (who, when, what), newest first. */
import type { ApiApp, ApiContext } from '../context.js';
import { AuditOut, AuditQuery, errorResponses } from '../schemas.js';

export function auditRoutes(app: ApiApp, ctx: ApiContext): void {
  app.get(
    '/audit',
    {
      schema: { summary: 'Audit log of searches and plate lookups', tags: ['audit'], querystring: AuditQuery, response: { 200: AuditOut, ...errorResponses } },
    },
    async (req) => {
      const { limit, offset } = req.query;
      return { entries: await ctx.storage.auditLog({ limit, offset }), limit, offset };
    },
  );
}
