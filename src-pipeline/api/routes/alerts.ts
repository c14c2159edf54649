/**
 * Alert rules, hotlists and alert history (the contract in src-pipeline/common/alert-rules.ts).
 * Rule bodies are validated with validateRule so a 400 lists every problem with its path
 * (`issues: [{ path: 'conditions.plates.0.pattern', message }]`); config-file rules are listed
 * but read-only. Every change reaches the engine before the response, so the next event sees it.
 */
import { z } from 'zod';
import {
  AlertHistoryItem,
  AlertRule,
  CHANNELS,
  DELIVERY_STATUSES,
  Hotlist,
  HotlistEntry,
  HotlistEntryInput,
  HotlistInput,
  HOTLIST_PRIORITIES,
  validateRule,
  type ValidationIssue,
} from '../../common/alert-rules.js';
import { exportHotlistCsv, importHotlistCsv } from '../../alerts/hotlist-csv.js';
import { exposeIn } from '../../alerts/metrics.js';
import { AlertConflictError, type AlertStore } from '../../alerts/store.js';
import type { ApiApp, ApiContext } from '../context.js';
import { ApiError, badRequest, notFound } from '../errors.js';
import { ErrorBody, limitParam, offsetParam } from '../schemas.js';

const IssuesErrorBody = ErrorBody.extend({ issues: z.array(z.object({ path: z.string(), message: z.string() })).optional() });
const errors = { 400: IssuesErrorBody, 401: ErrorBody, 404: ErrorBody, 500: ErrorBody, 503: ErrorBody } as const;
const tags = ['alerts'];

const HotlistOut = Hotlist.extend({ size: z.number().int() });
const IdParams = z.object({ id: z.string().min(1).max(160) });
const NameParams = z.object({ name: z.string().min(1).max(64) });
const isoQuery = z.iso.datetime({ offset: true, error: 'must be an ISO-8601 date-time with a zone, e.g. 2024-05-01T12:00:00Z' });

class IssuesError extends ApiError {
  constructor(
    message: string,
    readonly issues: ValidationIssue[],
  ) {
    super('BAD_REQUEST', message, issues[0]?.path);
  }
  override body() {
    return { ...super.body(), issues: this.issues };
  }
}

function invalid(issues: ValidationIssue[]): IssuesError {
  return new IssuesError(`invalid rule: ${issues.map((i) => `${i.path || '(body)'}: ${i.message}`).join('; ')}`, issues);
}

export function alertRoutes(app: ApiApp, ctx: ApiContext): void {
  const engine = ctx.alerts;
  if (!engine) return;
  exposeIn(engine.metrics, ctx.metrics.registry);

  const store = (): AlertStore => {
    if (!engine.store) throw new ApiError('UNAVAILABLE', 'this server keeps no alert store (config rules only)');
    return engine.store;
  };
  const wrap = async <T>(fn: () => Promise<T>): Promise<T> => {
    try {
      return await fn();
    } catch (err) {
      if (err instanceof AlertConflictError) throw badRequest(err.field, err.message);
      throw err;
    }
  };
  // Plate edits are applied to the engine in place; everything else re-reads rules and list settings.
  const reload = () => engine.reload({ entries: false });
  const findRule = async (id: string): Promise<AlertRule> => {
    const config = engine.configRules().find((r) => r.id === id);
    if (config) return config;
    const r = await store().getRule(id);
    if (!r) throw notFound(`no alert rule ${id}`);
    return r;
  };
  const readOnly = (r: AlertRule) => {
    if (r.source === 'config')
      throw badRequest('id', `rule "${r.name}" comes from ${engine.config.path ?? 'the config file'} and is read-only; edit the file instead`);
  };
  const checkBody = (body: unknown) => {
    const v = validateRule(body);
    if (!v.ok) throw invalid(v.issues);
    if (engine.configRules().some((r) => r.name === v.rule.name)) throw invalid([{ path: 'name', message: `a config-file rule is named "${v.rule.name}"` }]);
    return v.rule;
  };

  app.get(
    '/alerts/rules',
    { schema: { summary: 'Alert rules (config file and stored)', tags, response: { 200: z.object({ rules: z.array(AlertRule) }), ...errors } } },
    async () => {
      const stored = engine.store ? await engine.store.listRules() : [];
      return { rules: [...engine.configRules(), ...stored] };
    },
  );

  app.post(
    '/alerts/rules/validate',
    {
      schema: {
        summary: 'Check a rule without storing it',
        tags,
        body: z.unknown(),
        response: { 200: z.object({ ok: z.boolean(), issues: z.array(z.object({ path: z.string(), message: z.string() })) }), ...errors },
      },
    },
    async (req) => {
      const v = validateRule(req.body);
      return v.ok ? { ok: true, issues: [] } : { ok: false, issues: v.issues };
    },
  );

  app.post(
    '/alerts/rules',
    { schema: { summary: 'Create an alert rule', tags, body: z.unknown(), response: { 201: AlertRule, ...errors } } },
    async (req, reply) => {
      const spec = checkBody(req.body);
      const rule = await wrap(() => store().createRule(spec));
      await reload();
      return reply.code(201).send(rule);
    },
  );

  app.get('/alerts/rules/:id', { schema: { summary: 'One alert rule', tags, params: IdParams, response: { 200: AlertRule, ...errors } } }, async (req) =>
    findRule(req.params.id),
  );

  app.put(
    '/alerts/rules/:id',
    { schema: { summary: 'Replace an alert rule', tags, params: IdParams, body: z.unknown(), response: { 200: AlertRule, ...errors } } },
    async (req) => {
      readOnly(await findRule(req.params.id));
      const spec = checkBody(req.body);
      const rule = await wrap(() => store().updateRule(req.params.id, spec));
      if (!rule) throw notFound(`no alert rule ${req.params.id}`);
      await reload();
      return rule;
    },
  );

  app.patch(
    '/alerts/rules/:id',
    {
      schema: {
        summary: 'Enable or disable an alert rule',
        tags,
        params: IdParams,
        body: z.object({ enabled: z.boolean() }).strict(),
        response: { 200: AlertRule, ...errors },
      },
    },
    async (req) => {
      const cur = await findRule(req.params.id);
      readOnly(cur);
      const { id: _id, source: _s, created_at: _c, updated_at: _u, ...spec } = cur;
      const rule = await wrap(() => store().updateRule(cur.id, { ...spec, enabled: req.body.enabled }));
      if (!rule) throw notFound(`no alert rule ${req.params.id}`);
      await reload();
      return rule;
    },
  );

  app.delete(
    '/alerts/rules/:id',
    { schema: { summary: 'Delete an alert rule', tags, params: IdParams, response: { 204: z.null(), ...errors } } },
    async (req, reply) => {
      readOnly(await findRule(req.params.id));
      if (!(await store().deleteRule(req.params.id))) throw notFound(`no alert rule ${req.params.id}`);
      await reload();
      return reply.code(204).send(null);
    },
  );

  app.post(
    '/alerts/rules/:id/test',
    {
      schema: {
        summary: "Send a test notification through each of the rule's actions",
        tags,
        params: IdParams,
        response: { 200: z.object({ results: z.array(z.object({ channel: z.enum(CHANNELS), ok: z.boolean(), error: z.string().optional() })) }), ...errors },
      },
    },
    async (req) => {
      const rule = await findRule(req.params.id);
      const results = await engine.testRule(rule);
      return { results: results.map((r) => ({ channel: r.channel, ok: r.ok, ...(r.error ? { error: r.error } : {}) })) };
    },
  );

  // Hotlists.
  const findList = async (name: string) => {
    const h = await store().getHotlist(name);
    if (!h) throw notFound(`no hotlist ${name}`);
    return h;
  };

  app.get(
    '/alerts/hotlists',
    { schema: { summary: 'Hotlists with their sizes', tags, response: { 200: z.object({ hotlists: z.array(HotlistOut) }), ...errors } } },
    async () => ({
      hotlists: engine.store ? await engine.store.listHotlists() : [],
    }),
  );

  app.post(
    '/alerts/hotlists',
    { schema: { summary: 'Create a hotlist', tags, body: HotlistInput, response: { 201: Hotlist, ...errors } } },
    async (req, reply) => {
      const h = await wrap(() => store().createHotlist(req.body));
      await reload();
      return reply.code(201).send(h);
    },
  );

  app.get('/alerts/hotlists/:name', { schema: { summary: 'One hotlist', tags, params: NameParams, response: { 200: HotlistOut, ...errors } } }, async (req) =>
    findList(req.params.name),
  );

  app.put(
    '/alerts/hotlists/:name',
    {
      schema: {
        summary: "Change a hotlist's priority, reason or description",
        tags,
        params: NameParams,
        body: z
          .object({
            name: z.string().optional(),
            priority: z.enum(HOTLIST_PRIORITIES).optional(),
            reason: z.string().max(500).nullable().optional(),
            description: z.string().max(2000).nullable().optional(),
          })
          .strict(),
        response: { 200: Hotlist, ...errors },
      },
    },
    async (req) => {
      if (req.body.name !== undefined && req.body.name !== req.params.name) throw badRequest('name', 'a hotlist cannot be renamed; create a new one');
      const h = await store().updateHotlist(req.params.name, { priority: req.body.priority, reason: req.body.reason, description: req.body.description });
      if (!h) throw notFound(`no hotlist ${req.params.name}`);
      await reload();
      return h;
    },
  );

  app.delete(
    '/alerts/hotlists/:name',
    { schema: { summary: 'Delete a hotlist and its plates', tags, params: NameParams, response: { 204: z.null(), ...errors } } },
    async (req, reply) => {
      if (!(await store().deleteHotlist(req.params.name))) throw notFound(`no hotlist ${req.params.name}`);
      await engine.hotlistDeleted(req.params.name);
      return reply.code(204).send(null);
    },
  );

  app.get(
    '/alerts/hotlists/:name/entries',
    {
      schema: {
        summary: 'Plates on a hotlist',
        tags,
        params: NameParams,
        querystring: z.object({ q: z.string().max(32).optional(), limit: limitParam(100, 1000), offset: offsetParam }),
        response: { 200: z.object({ items: z.array(HotlistEntry), total: z.number().int() }), ...errors },
      },
    },
    async (req) => {
      await findList(req.params.name);
      const q = req.query.q ? req.query.q.toUpperCase().replace(/[^A-Z0-9]/g, '') : undefined;
      return store().listEntries(req.params.name, { q, limit: req.query.limit, offset: req.query.offset });
    },
  );

  app.post(
    '/alerts/hotlists/:name/entries',
    {
      schema: {
        summary: 'Add (or replace) a plate on a hotlist',
        tags,
        params: NameParams,
        body: HotlistEntryInput,
        response: { 201: HotlistEntry, ...errors },
      },
    },
    async (req, reply) => {
      await findList(req.params.name);
      const b = req.body;
      const row = { plate: b.plate, reason: b.reason, expires_at: b.expires_at ? new Date(b.expires_at).toISOString() : undefined };
      await store().upsertEntries(req.params.name, [row]);
      engine.hotlistEntriesChanged(req.params.name, [row]);
      const page = await store().listEntries(req.params.name, { q: b.plate, limit: 1000, offset: 0 });
      return reply.code(201).send(page.items.find((e) => e.plate === b.plate)!);
    },
  );

  app.delete(
    '/alerts/hotlists/:name/entries/:plate',
    {
      schema: {
        summary: 'Remove a plate from a hotlist',
        tags,
        params: NameParams.extend({ plate: z.string().min(1).max(32) }),
        response: { 204: z.null(), ...errors },
      },
    },
    async (req, reply) => {
      const plate = req.params.plate.toUpperCase().replace(/[^A-Z0-9]/g, '');
      if (!(await store().deleteEntry(req.params.name, plate))) throw notFound(`plate ${plate} is not on hotlist ${req.params.name}`);
      engine.hotlistEntryRemoved(req.params.name, plate);
      return reply.code(204).send(null);
    },
  );

  app.addContentTypeParser('text/csv', { parseAs: 'string', bodyLimit: 32 * 1024 * 1024 }, (_req, body, done) => done(null, body));

  app.post(
    '/alerts/hotlists/:name/import',
    {
      bodyLimit: 32 * 1024 * 1024,
      schema: {
        summary: 'Import plates from CSV (plate,reason,expires_at)',
        tags,
        params: NameParams,
        querystring: z.object({ dry_run: z.enum(['true', 'false']).default('false') }),
        body: z.string({ error: 'send the CSV text with content-type text/csv' }),
        response: {
          200: z.object({
            imported: z.number().int(),
            skipped: z.number().int(),
            errors: z.array(z.object({ line: z.number().int(), message: z.string() })),
            preview: z.array(HotlistEntry),
          }),
          ...errors,
        },
      },
    },
    async (req) => {
      await findList(req.params.name);
      const parsed = importHotlistCsv(req.body);
      const dry = req.query.dry_run === 'true';
      if (!dry && parsed.rows.length) {
        await store().upsertEntries(req.params.name, parsed.rows);
        engine.hotlistEntriesChanged(req.params.name, parsed.rows);
      }
      const addedAt = new Date().toISOString();
      return {
        imported: dry ? 0 : parsed.rows.length,
        skipped: parsed.skipped,
        errors: parsed.errors.slice(0, 1000),
        preview: parsed.rows
          .slice(0, 20)
          .map((r) => ({ hotlist: req.params.name, plate: r.plate, reason: r.reason, expires_at: r.expires_at, added_at: addedAt })),
      };
    },
  );

  app.get(
    '/alerts/hotlists/:name/export.csv',
    { schema: { summary: 'Export a hotlist as CSV', tags, params: NameParams, produces: ['text/csv'] } },
    async (req, reply) => {
      const h = await findList(req.params.name);
      const all = await store().listEntries(h.name, { limit: Math.max(1, h.size), offset: 0 });
      return reply
        .type('text/csv; charset=utf-8')
        .header('content-disposition', `attachment; filename="hotlist-${h.name}.csv"`)
        .send(exportHotlistCsv(all.items));
    },
  );

  app.get(
    '/alerts/history',
    {
      schema: {
        summary: 'Alert history: which rule, event and channel, delivered or failed and why',
        tags,
        querystring: z.object({
          rule: z.string().max(160).optional(),
          plate: z.string().max(32).optional(),
          channel: z.enum(CHANNELS).optional(),
          status: z.enum(DELIVERY_STATUSES).optional(),
          start_time: isoQuery.optional(),
          end_time: isoQuery.optional(),
          limit: limitParam(100, 1000),
          offset: offsetParam,
        }),
        response: { 200: z.object({ items: z.array(AlertHistoryItem), total: z.number().int() }), ...errors },
      },
    },
    async (req) => {
      const q = req.query;
      return store().queryHistory({ ...q, plate: q.plate ? q.plate.toUpperCase().replace(/[^A-Z0-9]/g, '') : undefined });
    },
  );
}
