/**
 * Event queries: recent, by id, by plate, by camera and time, multi-filter search, its CSV
 * export, and counts per bucket for charts. Plate lookups and searches are audited.
 */
import { Readable } from 'node:stream';
import type { StoredEvent } from '../../common/plate-event.js';
import type { EventFilters } from '../../store/storage.js';
import { audit, defined, type ApiApp, type ApiContext } from '../context.js';
import { csvLines } from '../csv.js';
import { notFound } from '../errors.js';
import {
  CameraParams,
  CameraQuery,
  CountsOut,
  CountsQuery,
  CsvQuery,
  ErrorBody,
  errorResponses,
  EventIdParams,
  EventList,
  EventOut,
  PageQuery,
  PlateParams,
  RecentQuery,
  ReviewBody,
  SearchQuery,
} from '../schemas.js';

const list = (events: StoredEvent[], limit: number, offset: number) => ({ events, count: events.length, limit, offset });

type SearchInput = {
  plate?: string;
  camera?: string;
  site?: string;
  start_time?: string;
  end_time?: string;
  min_confidence?: number;
  vehicle_type?: string;
  direction?: string;
  reviewed?: boolean;
  sort?: EventFilters['sort'];
  order?: EventFilters['order'];
};

/** Query-string names (`camera`) to the store's filter names (`camera_id`). */
function toFilters(q: SearchInput, limit: number, offset: number): EventFilters {
  return {
    ...defined({
      plate: q.plate,
      camera_id: q.camera,
      site: q.site,
      start_time: q.start_time,
      end_time: q.end_time,
      min_confidence: q.min_confidence,
      vehicle_type: q.vehicle_type,
      direction: q.direction,
      reviewed: q.reviewed,
      sort: q.sort,
      order: q.order,
    }),
    limit,
    offset,
  };
}

export function eventRoutes(app: ApiApp, ctx: ApiContext): void {
  app.get(
    '/events/recent',
    { schema: { summary: 'Newest events by insertion time', tags: ['events'], querystring: RecentQuery, response: { 200: EventList, ...errorResponses } } },
    async (req) => list(await ctx.storage.recent({ limit: req.query.limit, offset: 0 }), req.query.limit, 0),
  );

  app.get(
    '/events/search',
    {
      schema: {
        summary: 'Search by plate (exact or pattern AB*12, *123, ?), camera, site, time, confidence, vehicle type, direction',
        tags: ['events'],
        querystring: SearchQuery,
        response: { 200: EventList, ...errorResponses },
      },
    },
    async (req) => {
      const { limit, offset, ...q } = req.query;
      const filters = toFilters(q, limit, offset);
      const events = await ctx.storage.search(filters);
      await audit(ctx, 'events.search', { ...filters, results: events.length });
      return list(events, limit, offset);
    },
  );

  app.get(
    '/events/search.csv',
    {
      schema: {
        summary: 'CSV export of a search (same filters; up to 100,000 rows, streamed)',
        tags: ['events'],
        querystring: CsvQuery,
        // No response schemas: the body is a CSV stream, not JSON (errors use the usual envelope).
      },
    },
    async (req, reply) => {
      const { limit, offset, ...q } = req.query;
      const filters = toFilters(q, limit, offset);
      await audit(ctx, 'events.export_csv', { ...filters });
      const stamp = new Date().toISOString().replace(/[:.]/g, '-');
      reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="plate-events-${stamp}.csv"`)
        .header('cache-control', 'no-store');
      // Errors after the header is sent can only cut the stream short; the log has the reason.
      return reply.send(Readable.from(csvLines(ctx.storage, filters)));
    },
  );

  app.get(
    '/events/counts',
    {
      schema: {
        summary: 'Events per camera per hour or day, for charts',
        tags: ['events'],
        querystring: CountsQuery,
        response: { 200: CountsOut, ...errorResponses },
      },
    },
    async (req) => {
      const { bucket, start_time, end_time } = req.query;
      const counts = await ctx.storage.counts(defined({ start_time, end_time }), bucket);
      return { bucket, start_time: start_time ?? null, end_time: end_time ?? null, counts };
    },
  );

  app.get(
    '/events/plate/:plate',
    {
      schema: {
        summary: 'Events of one plate (normalised; a pattern with * or ? searches instead), newest captured first',
        tags: ['events'],
        params: PlateParams,
        querystring: PageQuery,
        response: { 200: EventList, ...errorResponses },
      },
    },
    async (req) => {
      const { plate } = req.params;
      const { limit, offset } = req.query;
      const events = /[*?]/.test(plate) ? await ctx.storage.search({ plate, limit, offset }) : await ctx.storage.byPlate(plate, { limit, offset });
      await audit(ctx, 'events.plate', { plate, limit, offset, results: events.length });
      return list(events, limit, offset);
    },
  );

  app.get(
    '/events/camera/:camera_id',
    {
      schema: {
        summary: 'Events of one camera in a time range, newest captured first',
        tags: ['events'],
        params: CameraParams,
        querystring: CameraQuery,
        response: { 200: EventList, ...errorResponses },
      },
    },
    async (req) => {
      const { limit, offset, start_time, end_time } = req.query;
      const range = defined({ start_time, end_time });
      const events = await ctx.storage.byCamera(req.params.camera_id, range, { limit, offset });
      await audit(ctx, 'events.camera', { camera_id: req.params.camera_id, ...range, limit, offset, results: events.length });
      return list(events, limit, offset);
    },
  );

  app.patch(
    '/events/:event_id',
    {
      schema: {
        summary: 'Correct a misread (kept beside the original read, and searchable) and/or mark the event reviewed; audited',
        tags: ['events'],
        params: EventIdParams,
        body: ReviewBody,
        response: { 200: EventOut, 404: ErrorBody, ...errorResponses },
      },
    },
    async (req) => {
      const { corrected_text, reviewed, operator } = req.body;
      // The audit keeps both: the credential that made the call and the name the operator gave.
      const actor = operator ? `${operator} (${ctx.actor})` : ctx.actor;
      const before = await ctx.storage.get(req.params.event_id);
      if (!before) throw notFound(`no event with event_id ${req.params.event_id}`);
      const event = await ctx.storage.review(req.params.event_id, { corrected_text, reviewed, actor });
      if (!event) throw notFound(`no event with event_id ${req.params.event_id}`);
      if (corrected_text !== undefined) {
        await audit(ctx, 'events.correct', {
          event_id: event.event_id,
          read: before.plate.text,
          previous_correction: before.review?.corrected_text ?? null,
          corrected_text: event.review?.corrected_text ?? null,
          operator: operator ?? null,
        });
      }
      if (reviewed !== undefined) await audit(ctx, 'events.review', { event_id: event.event_id, reviewed, operator: operator ?? null });
      return event;
    },
  );

  app.get(
    '/events/:event_id',
    {
      schema: {
        summary: 'One event by id',
        tags: ['events'],
        params: EventIdParams,
        response: { 200: EventOut, 404: ErrorBody, ...errorResponses },
      },
    },
    async (req) => {
      const event = await ctx.storage.get(req.params.event_id);
      if (!event) throw notFound(`no event with event_id ${req.params.event_id}`);
      return event;
    },
  );
}
