/**
 * Console settings routes: retention and privacy (`<data dir>/settings.yaml`, applied at the
 * next start of `serve`), the Kafka backend (config/bus.yaml, same contract as the pipeline)
 * with a connection test, and a cached backend status for the Health screen.
 */
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Document, isMap, isScalar, parseDocument } from 'yaml';
import { z } from 'zod';
import { BusConfig } from '../../common/bus-config.js';
import { AlprError } from '../../common/errors.js';
import { loadBusConfig } from '../../config-loader.js';
import { checkBackend, type BackendCheck } from '../../settings/backend-check.js';
import { ConsoleSettings, loadConsoleSettings, saveConsoleSettings, settingsFile } from '../../settings/console-settings.js';
import type { SettingsContext } from '../../settings/context.js';
import type { ApiApp } from '../context.js';
import { ApiError } from '../errors.js';
import { camerasAdminRoutes, issuesBody, settingsErrors, type AuditFn } from './cameras-admin.js';

const TAGS = ['settings'];
const AnyBody = z.record(z.string(), z.unknown());
const BackendTestBody = z
  .object({
    brokers: z.array(z.string().min(1)).min(1).optional(),
    schema_registry_url: z.string().optional(),
    topic: z.string().min(1).optional(),
  })
  .strict();

const RetentionOut = z.object({
  file: z.string(),
  settings: ConsoleSettings,
  overridden_by_flags: z.boolean().describe('serve was started with --retention-* flags, which win over the file'),
  applied: z.literal('restart_required').optional(),
});
const CheckOut = z.object({
  kafka: z.object({
    ok: z.boolean(),
    error: z.string().optional(),
    brokers: z.number().int().optional(),
    topic_exists: z.boolean().optional(),
    partitions: z.number().int().optional(),
    consumer_lag: z.number().int().nullable().optional().describe('events the storage consumer group has not committed yet'),
  }),
  registry: z.object({ ok: z.boolean(), error: z.string().optional(), subjects: z.number().int().optional() }).nullable(),
  elapsed_ms: z.number(),
});
const BackendOut = z.object({
  file: z.string(),
  config: z.record(z.string(), z.unknown()).describe('bus.yaml as written'),
  effective: z.record(z.string(), z.unknown()).nullable().describe('with defaults and environment overrides (credentials masked)'),
  error: z.string().nullable(),
  env_overrides: z.array(z.string()),
});
const StatusOut = z.object({ enabled: z.boolean(), check: CheckOut.nullable(), error: z.string().optional() });

const STATUS_CACHE_MS = 10_000;
const ENV_OVERRIDES = ['OVR_ALPR_KAFKA_BROKERS', 'OVR_ALPR_SCHEMA_REGISTRY_URL'];

function zodIssues(error: z.ZodError) {
  return error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

/** bus.yaml as written (no env overrides), for the edit form. */
function readBusFile(file: string): Record<string, unknown> {
  if (!existsSync(file)) return {};
  const doc = parseDocument(readFileSync(file, 'utf8'));
  if (doc.errors.length > 0) throw new ApiError('BAD_REQUEST', `${file}: not valid YAML: ${doc.errors[0].message}`);
  return (doc.toJS() ?? {}) as Record<string, unknown>;
}

/** Writes bus.yaml keeping its comments: keys are set in place, removed keys deleted. */
function writeBusFile(file: string, values: Record<string, unknown>): void {
  const old = existsSync(file) ? parseDocument(readFileSync(file, 'utf8')) : null;
  let text: string;
  if (old && isMap(old.contents)) {
    const keys = old.contents.items.map((p) => String(isScalar(p.key) ? p.key.value : p.key));
    for (const k of keys) if (!(k in values)) old.delete(k);
    for (const [k, v] of Object.entries(values)) old.set(k, v);
    text = old.toString();
  } else {
    text = new Document(values).toString();
  }
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, text, { mode: 0o644 });
  renameSync(tmp, file);
}

export function settingsRoutes(app: ApiApp, s: SettingsContext, audit: AuditFn = async () => {}): void {
  camerasAdminRoutes(app, s, audit);
  const busFile = join(s.configDir, 'bus.yaml');

  app.get(
    '/settings/retention',
    { schema: { summary: 'Retention and privacy settings (settings.yaml in the data dir)', tags: TAGS, response: { 200: RetentionOut, ...settingsErrors } } },
    async () => {
      try {
        return { file: settingsFile(s.dataDir), settings: loadConsoleSettings(s.dataDir), overridden_by_flags: s.retentionFlags === true };
      } catch (err) {
        if (err instanceof AlprError) throw new ApiError('BAD_REQUEST', err.message);
        throw err;
      }
    },
  );

  app.put(
    '/settings/retention',
    {
      schema: {
        summary: 'Save retention and privacy settings (applied at the next start)',
        tags: TAGS,
        body: AnyBody,
        response: { 200: RetentionOut, ...settingsErrors },
      },
    },
    async (req, reply) => {
      const parsed = ConsoleSettings.safeParse(req.body);
      if (!parsed.success) return reply.code(400).send(issuesBody(zodIssues(parsed.error)));
      saveConsoleSettings(s.dataDir, parsed.data);
      await audit('settings.retention.save', { ...parsed.data });
      return { file: settingsFile(s.dataDir), settings: parsed.data, applied: 'restart_required' as const, overridden_by_flags: s.retentionFlags === true };
    },
  );

  app.get(
    '/settings/backend',
    { schema: { summary: 'Kafka backend settings (config/bus.yaml) and the effective values', tags: TAGS, response: { 200: BackendOut, ...settingsErrors } } },
    async () => {
      let effective: BusConfig | null = null;
      let error: string | null = null;
      try {
        effective = loadBusConfig(s.configDir, s.env);
      } catch (err) {
        error = (err as Error).message;
      }
      return {
        file: busFile,
        config: readBusFile(busFile),
        effective: effective && { ...effective, schema_registry_url: effective.schema_registry_url && redactCredentials(effective.schema_registry_url) },
        error,
        env_overrides: ENV_OVERRIDES.filter((k) => s.env[k]),
      };
    },
  );

  app.put(
    '/settings/backend',
    {
      schema: {
        summary: 'Save config/bus.yaml (applied at the next start)',
        tags: TAGS,
        body: AnyBody,
        response: { 200: z.object({ file: z.string(), config: z.record(z.string(), z.unknown()), applied: z.literal('restart_required') }), ...settingsErrors },
      },
    },
    async (req, reply) => {
      // The environment's registry URL counts, as it does when serve loads the file.
      const registryEnv = s.env.OVR_ALPR_SCHEMA_REGISTRY_URL;
      const parsed = BusConfig.safeParse(
        registryEnv && req.body.schema_registry_url === undefined ? { ...req.body, schema_registry_url: registryEnv } : req.body,
      );
      if (!parsed.success) return reply.code(400).send(issuesBody(zodIssues(parsed.error)));
      if (typeof req.body.schema_registry_url === 'string' && /\/\/[^/]*@/.test(req.body.schema_registry_url))
        return reply
          .code(400)
          .send(
            issuesBody([
              { path: 'schema_registry_url', message: 'credentials do not belong in bus.yaml; set OVR_ALPR_SCHEMA_REGISTRY_URL in the environment' },
            ]),
          );
      // Only what the client sent goes to the file: defaults stay implicit, as in the shipped file.
      writeBusFile(busFile, req.body);
      // Brokers and flags only: the registry URL is left out in case it carries anything private.
      await audit('settings.backend.save', {
        enabled: parsed.data.enabled,
        brokers: parsed.data.brokers,
        format: parsed.data.format,
        topic: parsed.data.topic,
      });
      return { file: busFile, config: readBusFile(busFile), applied: 'restart_required' as const };
    },
  );

  app.post(
    '/settings/backend/test',
    {
      schema: {
        summary: 'Test the Kafka brokers and schema registry',
        tags: TAGS,
        body: BackendTestBody.optional(),
        response: { 200: CheckOut, ...settingsErrors },
      },
    },
    async (req) => {
      let base: BusConfig;
      try {
        base = loadBusConfig(s.configDir, s.env);
      } catch {
        base = BusConfig.parse({});
      }
      const b = req.body ?? {};
      return checkBackend({
        brokers: b.brokers ?? base.brokers,
        topic: b.topic ?? base.topic,
        client_id: base.client_id,
        schema_registry_url: b.schema_registry_url === undefined ? base.schema_registry_url : b.schema_registry_url || undefined,
      });
    },
  );

  let cached: { at: number; value: { enabled: boolean; check: BackendCheck | null; error?: string } } | null = null;
  let pending: Promise<{ enabled: boolean; check: BackendCheck | null; error?: string }> | null = null;
  app.get(
    '/settings/backend/status',
    {
      schema: {
        summary: 'Backend reachability and consumer lag (cached 10 s), for the Health screen',
        tags: TAGS,
        response: { 200: StatusOut, ...settingsErrors },
      },
    },
    async () => {
      if (cached && Date.now() - cached.at < STATUS_CACHE_MS) return cached.value;
      // One check at a time however many consoles poll.
      pending ??= (async () => {
        try {
          const bus = loadBusConfig(s.configDir, s.env);
          if (!bus.enabled) return { enabled: false, check: null };
          return { enabled: true, check: await checkBackend(bus) };
        } catch (err) {
          return { enabled: false, check: null, error: (err as Error).message };
        }
      })().finally(() => (pending = null));
      const value = await pending;
      cached = { at: Date.now(), value };
      return value;
    },
  );
}

function redactCredentials(url: string): string {
  return url.replace(/\/\/[^/@]*@/, '//***@');
}
