/**
 * `ovr-alpr serve` (the console server on the embedded SQLite store) and `ovr-alpr api` (the
 * backend query API on PostgreSQL). Both print the URL they listen on and run until SIGINT or
 * SIGTERM (or `io.signal` in tests), then close the server and the store and return 0.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { createApiServer, DEFAULT_HOST, DEFAULT_PORT } from '../api/server.js';
import { AlprError } from '../common/errors.js';
import { RetentionScheduler, retentionEnabled, type RetentionSettings } from '../store/retention.js';
import type { Storage } from '../store/storage.js';

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
  'usage: ovr-alpr serve --data-dir DIR [--port N] [--host H] [--token-file F] [--cors ORIGIN,…] [--log-level L] [--no-pipeline] [--retention-days N] [--max-events N] [--max-image-mb N] [--retention-interval-min N]';
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

/** Resolves on SIGINT, SIGTERM or `signal` aborting, removing its listeners either way. */
function waitForStop(signal?: AbortSignal): Promise<void> {
  return new Promise<void>((done) => {
    const stop = () => {
      process.removeListener('SIGINT', stop);
      process.removeListener('SIGTERM', stop);
      signal?.removeEventListener('abort', stop);
      done();
    };
    if (signal?.aborted) return done();
    signal?.addEventListener('abort', stop, { once: true });
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
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
      // Logs go to stderr as JSON lines; stdout is for the lines a person or script reads.
      logger: { level: c.logLevel, stream: process.stderr },
    });
  } catch (err) {
    await storage.close();
    throw err;
  }
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
  const policy: RetentionSettings = {
    max_age_days: nonNegative(v['retention-days'], 'retention-days', false, SERVE_USAGE),
    max_events: nonNegative(v['max-events'], 'max-events', true, SERVE_USAGE),
    max_image_bytes: maxImageMb === undefined ? undefined : Math.floor(maxImageMb * 1024 * 1024),
  };
  const intervalMin = nonNegative(v['retention-interval-min'], 'retention-interval-min', false, SERVE_USAGE) ?? 60;
  if (intervalMin <= 0) throw new AlprError('USAGE', `--retention-interval-min must be > 0\n${SERVE_USAGE}`);
  const dataDir = resolve(v['data-dir']);
  if (!v['no-pipeline']) {
    // Honest about what runs: no camera is read until the pipeline issue lands.
    io.err('serve: the recognition pipeline is not built yet; serving the API over the stored events only (as with --no-pipeline)');
  }
  const { openSqliteStorage } = await import('../store/sqlite.js');
  const storage = await openSqliteStorage(join(dataDir, 'events.sqlite'));
  const imagesDir = join(dataDir, 'images');
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
      await storage.close();
      throw err;
    }
  }
  return runUntilStopped(storage, c, io, {
    imagesDir,
    onListening: () => scheduler?.start(intervalMin * 60_000),
    beforeClose: async () => scheduler?.stop(),
  });
}

export async function apiCmd(args: string[], io: ServeIo): Promise<number> {
  const env = io.env ?? process.env;
  const v = parse(args, { ...COMMON_OPTIONS, 'database-url': { type: 'string' } }, API_USAGE);
  const url = v['database-url'] ?? env.OVR_ALPR_DATABASE_URL;
  if (!url) throw new AlprError('USAGE', `api needs --database-url URL (or OVR_ALPR_DATABASE_URL)\n${API_USAGE}`);
  const c = commonSettings(v, env, API_USAGE);
  // Loaded only here: `serve` users need neither pg nor its connection pool.
  const { openPostgresStorage } = await import('../store/postgres.js');
  const storage = await openPostgresStorage(url);
  return runUntilStopped(storage, c, io, {});
}
