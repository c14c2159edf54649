/** Fuzzy plate lookup: distinct stored plates that look like the query, best first. Audited. */
import { audit, type ApiApp, type ApiContext } from '../context.js';
import { errorResponses, FuzzyOut, FuzzyQuery } from '../schemas.js';

export function plateRoutes(app: ApiApp, ctx: ApiContext): void {
  app.get(
    '/plates/fuzzy',
    {
      schema: {
        summary: 'Plates within OCR look-alikes (O/0, I/1, B/8, S/5, Z/2) or one edit of the query, ranked by closeness',
        tags: ['plates'],
        querystring: FuzzyQuery,
        response: { 200: FuzzyOut, ...errorResponses },
      },
    },
    async (req) => {
      const { plate, limit } = req.query;
      const matches = await ctx.storage.fuzzyPlates(plate, limit);
      await audit(ctx, 'plates.fuzzy', { plate, limit, results: matches.length });
      return { plate, matches };
    },
  );
}
