/**
 * `ovr-alpr serve` (the console server on the embedded SQLite store) and `ovr-alpr api` (the
 * backend query API on PostgreSQL). Both print the URL they listen on and run until SIGINT or
 * SIGTERM (or `io.signal` in tests), then close the server and the store and return 0.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { checkBind, createApiServer, DEFAULT_HOST, DEFAULT_PORT, type ApiServer, type ApiServerOptions } from '../api/server.js';
import { AlprError } from '../common/errors.js';
import { RetentionScheduler, retentionEnabled, type RetentionSettings } from '../store/retention.js';
import type { Storage } from '../store/storage.js';
import { hostname } from 'node:os';
import type { CameraOut } from '../api/schemas.js';
import type { CameraConfig } from '../common/cameras-config.js';
import type { StoredEvent } from '../common/plate-event.js';
import { defaultConfigDir, loadBusConfig } from '../config-loader.js';
import { busHealth } from '../api/health.js';
import type { BusConfig } from '../common/bus-config.js';
import type { PipelineLog } from '../pipeline/camera-pipeline.js';
import type { PipelineConfigs } from '../pipeline/camera-runner.js';
import { Supervisor, type CameraStatus } from '../pipeline/supervisor.js';
import type { EventSink } from '../sinks/event-sink.js';
import type { SettingsContext } from '../settings/context.js';
import { loadConsoleSettings, privacyKey, retentionPolicy } from '../settings/console-settings.js';
import { mkdirSync } from 'node:fs';
import { waitForStop } from './wait-for-stop.js';
import type { PrivacyOptions } from '../store/privacy.js';

/** Same shape as cli.ts's Io (declared here so cli.ts can import this module without a cycle). */
export interface ServeIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Stops the server when aborted (tests); the process signals do the same from a shell. */
  signal?: AbortSignal;
  /** Environment to read OVR_ALPR_* from; process.env unless given. */
  env?: Record<string, string | undefined>;
}

const SERVE_USAGE =
  'usage: ovr-alpr serve --data-dir DIR [--cameras FILE | --source S] [--config DIR] [--no-pipeline] [--port N] [--host H] [--token-file F] [--cors ORIGIN,…] [--log-level L] [--retention-days N] [--max-events N] [--max-image-mb N] [--retention-interval-min N]';
const API_USAGE = 'usage: ovr-alpr api --database-url URL [--port N] [--host H] [--token-file F] [--cors ORIGIN,…] [--log-level L]';

const COMMON_OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  'token-file': { type: 'string' },
  cors: { type: 'string' },
  'log-level': { type: 'string' },
} as const satisfies NonNullable<ParseArgsConfig['options']>;

function parse<O extends NonNullable<ParseArgsConfig['options']>>(args: string[], options: O, usage: string) {
  try {
    return parseArgs({ args, options, allowPositionals: false, strict: true }).values;
  } catch (err) {
    throw new AlprError('USAGE', `${(err as Error).message}\n${usage}`);
  }
}

interface Common {
  host: string;
  port: number;
  token?: string;
  cors: string[] | false;
  logLevel: string;
}

function commonSettings(
  v: { port?: string; host?: string; 'token-file'?: string; cors?: string; 'log-level'?: string },
  env: Record<string, string | undefined>,
  usage: string,
): Common {
  const port = v.port === undefined ? DEFAULT_PORT : Number(v.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535)
    throw new AlprError('USAGE', `--port must be a whole number from 0 to 65535, got "${v.port}"\n${usage}`);
  let token: string | undefined;
  if (v['token-file']) {
    try {
      token = readFileSync(v['token-file'], 'utf8').trim();
    } catch (err) {
      throw new AlprError('CONFIG_INVALID', `cannot read --token-file ${v['token-file']}: ${(err as Error).message}`);
    }
    if (!token) throw new AlprError('CONFIG_INVALID', `--token-file ${v['token-file']} is empty`);
  } else if (env.OVR_ALPR_API_TOKEN) {
    token = env.OVR_ALPR_API_TOKEN.trim();
  }
  const cors = v.cors
    ? v.cors
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : false;
  const logLevel = v['log-level'] ?? env.OVR_ALPR_LOG_LEVEL ?? 'info';
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(logLevel))
    throw new AlprError('USAGE', `--log-level must be one of fatal, error, warn, info, debug, trace, silent\n${usage}`);
  return { host: v.host ?? DEFAULT_HOST, port, token, cors, logLevel };
}

/** A flag's value as a number >= 0 (whole when `whole`), or undefined when absent. */
function nonNegative(v: string | undefined, flag: string, whole: boolean, usage: string): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v.trim() === '' || !Number.isFinite(n) || n < 0 || (whole && !Number.isInteger(n)))
    throw new AlprError('USAGE', `--${flag} must be a ${whole ? 'whole ' : ''}number >= 0, got "${v}"\n${usage}`);
  return n;
}

interface Extra {
  imagesDir?: string;
  cameras?: ApiServerOptions['cameras'];
  previewWatch?: ApiServerOptions['previewWatch'];
  settings?: ApiServerOptions['settings'];
  s3Images?: ApiServerOptions['s3Images'];
  health?: ApiServerOptions['health'];
  alerts?: ApiServerOptions['alerts'];
  /** Gets the server's live-feed publish once the server exists. */
  onServer?: (server: ApiServer) => void;
  /** Called once the server listens (starts background work such as retention). */
  onListening?: () => void;
  /** Awaited after the server closed and before the store closes. */
  beforeClose?: () => Promise<void>;
}

/** Runs the server until a stop signal, then closes server and store. */
async function runUntilStopped(storage: Storage, c: Common, io: ServeIo, extra: Extra): Promise<number> {
  let server;
  try {
    server = await createApiServer({
      storage,
      host: c.host,
      port: c.port,
      token: c.token,
      cors: c.cors,
      imagesDir: extra.imagesDir,
      cameras: extra.cameras,
      previewWatch: extra.previewWatch,
      settings: extra.settings,
      s3Images: extra.s3Images,
      health: extra.health,
      alerts: extra.alerts,
      // Logs go to stderr as JSON lines; stdout is for the lines a person or script reads.
      logger: { level: c.logLevel, stream: process.stderr },
    });
  } catch (err) {
    await storage.close();
    throw err;
  }
  extra.onServer?.(server);
  let url: string;
  try {
    url = await server.listen();
  } catch (err) {
    await server.close();
    await storage.close();
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new AlprError('CONFIG_INVALID', `port ${c.port} on ${c.host} is already in use; pick another with --port`, { cause: err });
    throw err;
  }
  io.out(`listening on ${url}`);
  if (c.token) io.err('a token is required on every route except /health');
  extra.onListening?.();

  await waitForStop(io.signal);
  io.err('shutting down');
  await server.close();
  await extra.beforeClose?.();
  await storage.close();
  return 0;
}

export async function serveCmd(args: string[], io: ServeIo): Promise<number> {
  const env = io.env ?? process.env;
  const v = parse(
    args,
    {
      ...COMMON_OPTIONS,
      'data-dir': { type: 'string' },
      'no-pipeline': { type: 'boolean' },
      source: { type: 'string' },
      cameras: { type: 'string' },
      config: { type: 'string' },
      'retention-days': { type: 'string' },
      'max-events': { type: 'string' },
      'max-image-mb': { type: 'string' },
      'retention-interval-min': { type: 'string' },
    },
    SERVE_USAGE,
  );
  if (!v['data-dir']) throw new AlprError('USAGE', `serve needs --data-dir DIR\n${SERVE_USAGE}`);
  const c = commonSettings(v, env, SERVE_USAGE);
  const maxImageMb = nonNegative(v['max-image-mb'], 'max-image-mb', false, SERVE_USAGE);
  const dataDir = resolve(v['data-dir']);
  // Retention and privacy saved from the console (Settings); retention flags win over the file.
  const saved = loadConsoleSettings(dataDir);
  const retentionFlags = v['retention-days'] !== undefined || v['max-events'] !== undefined || v['max-image-mb'] !== undefined;
  const policy: RetentionSettings = retentionFlags
    ? {
        max_age_days: nonNegative(v['retention-days'], 'retention-days', false, SERVE_USAGE),
        max_events: nonNegative(v['max-events'], 'max-events', true, SERVE_USAGE),
        max_image_bytes: maxImageMb === undefined ? undefined : Math.floor(maxImageMb * 1024 * 1024),
      }
    : retentionPolicy(saved);
  const intervalMin = nonNegative(v['retention-interval-min'], 'retention-interval-min', false, SERVE_USAGE) ?? saved.retention.interval_min;
  if (intervalMin <= 0) throw new AlprError('USAGE', `--retention-interval-min must be > 0\n${SERVE_USAGE}`);
  // Before any camera, store or spool is opened: a refused bind must leave nothing behind.
  checkBind(c.host, c.token);
  const imagesDir = join(dataDir, 'images');
  const configDir = v.config ? resolve(v.config) : defaultConfigDir();
  const pipeline = v['no-pipeline'] ? null : await planPipeline(v, io, env);
  // Alert engine (rules, hotlists, history in <data-dir>/alerts.sqlite), opened before the sink so it sees every stored event, spool replays included.
  const { openEmbeddedAlerts } = await import('../alerts/embedded.js');
  const alerts = await openEmbeddedAlerts({
    dataDir,
    configDir,
    imagesDir,
    env,
    log: (l, m, d) => io.err(JSON.stringify({ time: new Date().toISOString(), level: l, msg: m, ...d })),
  });
  // Plate hashing keeps hotlisted plates in clear (operators must see their hits); every other
  // plate is stored, and seen by the alert rules, only as its keyed hash.
  let sqliteOptions: { privacy?: PrivacyOptions } = {};
  if (saved.privacy.hash_plates) {
    mkdirSync(dataDir, { recursive: true });
    sqliteOptions = { privacy: { key: privacyKey(dataDir), keep: (plate) => alerts.engine.isHotlisted(plate) } };
  }
  let storage: Storage;
  let sink: EventSink | undefined;
  let publish: ((e: StoredEvent) => void) | undefined;
  let server: ApiServer | undefined;
  if (pipeline) {
    const { createEmbeddedSink } = await import('../sinks/index.js');
    // Events reach live-feed clients once stored, with their image URLs.
    const embedded = await createEmbeddedSink({
      dataDir,
      log: pipeline.sinkLog,
      onStored: (e) => {
        publish?.(e);
        // Alert rules see every stored event; submit() only queues, so it never holds up or loses the event.
        alerts.submit(e);
      },
      sqlite: sqliteOptions,
    });
    storage = embedded.storage;
    sink = embedded.sink;
    if (pipeline.bus.enabled) {
      // Kafka as well, through the durable outbox next to the store (config/bus.yaml).
      const { createBusSink } = await import('../sinks/bus-sink.js');
      const { FanoutSink } = await import('../sinks/fanout-sink.js');
      sink = new FanoutSink([embedded.sink, createBusSink(pipeline.bus, dataDir, pipeline.sinkLog).sink], { log: pipeline.sinkLog });
    }
  } else {
    const { openSqliteStorage } = await import('../store/sqlite.js');
    storage = await openSqliteStorage(join(dataDir, 'events.sqlite'), sqliteOptions);
  }
  // Pictures to S3 when config/images.yaml enables it: cached locally first, uploaded in the background.
  const { setupImages } = await import('../images/s3-images.js');
  const s3Images = await setupImages({
    configDir,
    env,
    dataDir,
    uploads: Boolean(pipeline),
    privacy: saved.privacy.hash_plates,
    log: pipeline?.sinkLog,
  }).catch(async (err: unknown) => {
    await sink?.close();
    await storage.close();
    throw err;
  });
  if (s3Images && sink) sink = s3Images.wrap(sink);
  let scheduler: RetentionScheduler | undefined;
  if (retentionEnabled(policy)) {
    try {
      const { openLocalImageStore } = await import('../images/local-image-store.js');
      const images = await openLocalImageStore(imagesDir);
      scheduler = new RetentionScheduler({
        storage,
        images,
        policy,
        log: (level, message, details) => io.err(`retention ${level}: ${message}${details ? ` ${JSON.stringify(details)}` : ''}`),
      });
    } catch (err) {
      await sink?.close();
      await storage.close();
      throw err;
    }
  }
  let supervisor: Supervisor | undefined;
  if (pipeline && sink) {
    supervisor = new Supervisor({
      cameras: pipeline.cameras,
      configs: pipeline.configs,
      sink,
      log: pipeline.log,
      host: hostname(),
      // Live view: overlay boxes always flow (small); JPEGs only while the console watches a camera.
      onFrame: (id, report) => server?.preview.overlay(id, report),
      onJpeg: (id, jpeg) => server?.preview.jpeg(id, jpeg),
    });
  }
  const settings: SettingsContext = {
    camerasFile: v.source ? null : v.cameras ? resolve(v.cameras) : join(configDir, 'cameras.yaml'),
    configDir,
    dataDir,
    env,
    retentionFlags,
    live: supervisor ? { upsert: (cam, previousId) => supervisor.upsertCamera(cam, previousId), remove: (id) => supervisor.removeCamera(id) } : undefined,
  };
  return runUntilStopped(storage, c, io, {
    imagesDir,
    settings,
    s3Images: s3Images?.access,
    health: busHealth(pipeline?.bus),
    alerts: alerts.engine,
    cameras: supervisor ? () => supervisor.status().map(cameraView) : undefined,
    previewWatch: supervisor ? (id, on) => void supervisor.setPreview(id, on) : undefined,
    onServer: (s) => {
      server = s;
      publish = s.publish;
    },
    onListening: () => {
      scheduler?.start(intervalMin * 60_000);
      supervisor?.start();
      if (pipeline) io.err(`pipeline: ${pipeline.cameras.length} camera(s): ${pipeline.cameras.map((cam) => cam.id).join(', ') || 'none configured'}`);
    },
    beforeClose: async () => {
      // Cameras first: tracks in view are finalized and their events stored before the store closes.
      await supervisor?.stop();
      await sink?.close();
      await alerts.close();
      await s3Images?.close();
      scheduler?.stop();
    },
  });
}

interface PipelinePlan {
  cameras: CameraConfig[];
  configs: PipelineConfigs;
  bus: BusConfig;
  log: PipelineLog;
  sinkLog: (level: 'info' | 'warn' | 'error', message: string, details?: object) => void;
}

/** Cameras (--source, --cameras, or the config folder's cameras.yaml) and configs, validated before anything starts. */
async function planPipeline(
  v: { source?: string; cameras?: string; config?: string; 'log-level'?: string },
  io: ServeIo,
  env: Record<string, string | undefined>,
): Promise<PipelinePlan> {
  const { loadConfigs, makeLog, sourceCamera } = await import('./run.js');
  const { loadCamerasConfig } = await import('../ingest/cameras.js');
  if (v.source && v.cameras) throw new AlprError('USAGE', `give --source or --cameras, not both\n${SERVE_USAGE}`);
  const configDir = v.config ? resolve(v.config) : defaultConfigDir();
  const configs = loadConfigs(configDir);
  const cameras = v.source
    ? [sourceCamera({ source: v.source })]
    : loadCamerasConfig(v.cameras ? resolve(v.cameras) : join(configDir, 'cameras.yaml')).cameras.filter((cam) => cam.enabled);
  const level =
    v['log-level'] === 'debug' ? 'debug' : v['log-level'] === 'error' || v['log-level'] === 'fatal' ? 'error' : v['log-level'] === 'warn' ? 'warn' : 'info';
  const log = makeLog(level, io.err);
  return { cameras, configs, bus: loadBusConfig(configDir, env), log, sinkLog: (l, m, d) => log(l, m, d as Record<string, unknown>) };
}

function cameraView(s: CameraStatus): CameraOut {
  const p = s.latest?.pipeline;
  const src = s.latest?.source;
  return {
    id: s.id,
    state: s.state,
    source_state: src?.state ?? null,
    restarts: s.restarts,
    last_error: s.lastError ?? src?.lastError ?? null,
    frames: p?.frames ?? 0,
    fps_in: Math.round((src?.fpsIn ?? 0) * 10) / 10,
    fps_out: Math.round((src?.fpsOut ?? 0) * 10) / 10,
    dropped: src?.drops ?? 0,
    decode_errors: src?.decodeErrors ?? 0,
    reconnects: src?.reconnects ?? 0,
    tracks: p?.tracks ?? 0,
    events: p?.events ?? 0,
    width: src?.width ?? null,
    height: src?.height ?? null,
    stage_ms: p?.stage_ms ?? {},
    queue_depth: src ? Math.max(0, src.framesIn - src.framesOut - src.drops) : 0,
  };
}

export async function apiCmd(args: string[], io: ServeIo): Promise<number> {
  const env = io.env ?? process.env;
  const v = parse(args, { ...COMMON_OPTIONS, 'database-url': { type: 'string' } }, API_USAGE);
  const url = v['database-url'] ?? env.OVR_ALPR_DATABASE_URL;
  if (!url) throw new AlprError('USAGE', `api needs --database-url URL (or OVR_ALPR_DATABASE_URL)\n${API_USAGE}`);
  const c = commonSettings(v, env, API_USAGE);
  // Loaded only here: `serve` users need neither pg nor its connection pool.
  const { openPostgresStorage } = await import('../store/postgres.js');
  // Read before the store opens: a bad config/images.yaml or bus.yaml fails without side effects.
  const configDir = env.OVR_ALPR_CONFIG_DIR ? resolve(env.OVR_ALPR_CONFIG_DIR) : defaultConfigDir();
  const health = busHealth(loadBusConfig(configDir, env));
  const { setupImages } = await import('../images/s3-images.js');
  const s3Images = await setupImages({ configDir, env, uploads: false });
  const storage = await openPostgresStorage(url);
  const { openApiAlerts } = await import('../alerts/embedded.js');
  const alerts = await openApiAlerts({ databaseUrl: url, configDir, env }).catch(async (err: unknown) => {
    await storage.close();
    throw err;
  });
  return runUntilStopped(storage, c, io, { s3Images: s3Images?.access, health, alerts: alerts.engine, beforeClose: () => alerts.close() });
}
