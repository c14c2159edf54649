/**
 * The desktop app's settings: one JSON file in Electron's userData folder, validated with zod
 * on every read and write, written atomically (temp file, fsync, rename) so a power cut on an
 * unattended box leaves the old or the new file, never half of one. A file that fails
 * validation is moved aside (settings.json.invalid-<time>) and the defaults are used, with a
 * warning for the operator, rather than the app refusing to start.
 * No secret is stored here: database and S3 credentials come from the OVR_ALPR_* environment.
 */
import { closeSync, existsSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { z } from 'zod';

const Broker = z.string().regex(/^[A-Za-z0-9.-]+:\d{1,5}$/, 'brokers are host:port, e.g. 127.0.0.1:9092');
const NoCredentials = (what: string) =>
  z.url().refine((u) => {
    try {
      const p = new URL(u);
      return !p.password;
    } catch {
      return false;
    }
  }, `${what} must not carry a password here (settings are a plain file); set it in the OVR_ALPR_* environment instead`);

const pipelineShape = {
  /** Start the pipeline when the app starts. */
  autoStart: z.boolean(),
  /** Embedded store, images and logs; null: <userData>/data. */
  dataDir: z.string().min(1).nullable(),
  /** Config folder; null: the packaged defaults (<resources>/config). */
  configDir: z.string().min(1).nullable(),
  /** API port on 127.0.0.1; 0 picks a free one at each start. */
  port: z.number().int().min(0).max(65535),
  /** Extra `ovr-alpr serve` arguments (e.g. --retention-days 30). */
  extraArgs: z.array(z.string().max(500)).max(32),
};
const backendShape = {
  /** embedded: SQLite only; connect: an existing backend; launch: compose/ with Docker. */
  mode: z.enum(['embedded', 'connect', 'launch']),
  /** null: the packaged compose/docker-compose.yml. */
  composeFile: z.string().min(1).nullable(),
  profiles: z.array(z.enum(['observability'])).max(4),
  kafkaBrokers: z.array(Broker).max(16),
  schemaRegistryUrl: NoCredentials('the schema registry URL').nullable(),
  databaseUrl: NoCredentials('the database URL').nullable(),
  s3Endpoint: NoCredentials('the S3 endpoint').nullable(),
  s3Bucket: z.string().min(3).max(63).nullable(),
};
const windowShape = {
  /** Kiosk: full screen, no window frame or menu, for control-room monitors. */
  kiosk: z.boolean(),
  fullscreen: z.boolean(),
};

const PipelineSettings = z.object(pipelineShape).strict();
const BackendSettings = z.object(backendShape).strict();
const WindowSettings = z.object(windowShape).strict();

export const DEFAULT_SETTINGS = {
  version: 1 as const,
  pipeline: { autoStart: true, dataDir: null, configDir: null, port: 0, extraArgs: [] },
  backend: {
    mode: 'embedded',
    composeFile: null,
    profiles: [],
    kafkaBrokers: [],
    schemaRegistryUrl: null,
    databaseUrl: null,
    s3Endpoint: null,
    s3Bucket: null,
  },
  window: { kiosk: false, fullscreen: false },
  startAtLogin: false,
  autostartMethod: 'xdg',
} satisfies z.input<typeof SettingsStrict>;

const SettingsStrict = z
  .object({
    version: z.literal(1),
    pipeline: PipelineSettings,
    backend: BackendSettings,
    window: WindowSettings,
    /** Start with the desktop session (Jetson kiosks: with automatic login, at boot). */
    startAtLogin: z.boolean(),
    /** How: an XDG autostart entry, or a systemd user unit (restarts the app if it dies). */
    autostartMethod: z.enum(['xdg', 'systemd']),
  })
  .strict();

export type Settings = z.infer<typeof SettingsStrict>;

/** A stored file: missing sections and keys take their defaults (older files stay readable). */
export const Settings = z.preprocess((raw) => withDefaults(raw), SettingsStrict);

/** What `settings:update` accepts: any subset, section by section. */
export const SettingsPatch = z
  .object({
    pipeline: PipelineSettings.partial().optional(),
    backend: BackendSettings.partial().optional(),
    window: WindowSettings.partial().optional(),
    startAtLogin: z.boolean().optional(),
    autostartMethod: z.enum(['xdg', 'systemd']).optional(),
  })
  .strict();
export type SettingsPatch = z.infer<typeof SettingsPatch>;

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function withDefaults(raw: unknown): unknown {
  if (!isObject(raw)) return raw;
  const out: Record<string, unknown> = { ...DEFAULT_SETTINGS, ...raw };
  for (const section of ['pipeline', 'backend', 'window'] as const) {
    const v = raw[section];
    out[section] = v === undefined ? DEFAULT_SETTINGS[section] : isObject(v) ? { ...DEFAULT_SETTINGS[section], ...v } : v;
  }
  return out;
}

/** current + patch, validated as a whole. */
export function applyPatch(current: Settings, patch: SettingsPatch): Settings {
  const p = SettingsPatch.parse(patch);
  return SettingsStrict.parse({
    ...current,
    ...(p.startAtLogin === undefined ? {} : { startAtLogin: p.startAtLogin }),
    ...(p.autostartMethod === undefined ? {} : { autostartMethod: p.autostartMethod }),
    pipeline: { ...current.pipeline, ...p.pipeline },
    backend: { ...current.backend, ...p.backend },
    window: { ...current.window, ...p.window },
  });
}

export interface LoadResult {
  settings: Settings;
  /** Set when the file was unreadable or invalid and was moved aside. */
  warning: string | null;
}

export class SettingsStore {
  constructor(readonly path: string) {}

  load(): LoadResult {
    if (!existsSync(this.path)) return { settings: Settings.parse({}), warning: null };
    let problem: string;
    try {
      const parsed = Settings.safeParse(JSON.parse(readFileSync(this.path, 'utf8')));
      if (parsed.success) return { settings: parsed.data, warning: null };
      problem = parsed.error.issues.map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    } catch (err) {
      problem = (err as Error).message;
    }
    const aside = `${this.path}.invalid-${new Date().toISOString().replace(/[:.]/g, '-')}`;
    renameSync(this.path, aside);
    return { settings: Settings.parse({}), warning: `settings file ${this.path} was invalid (${problem}); using defaults, the old file is ${aside}` };
  }

  save(settings: Settings): Settings {
    const valid = SettingsStrict.parse(settings);
    writeFileAtomic(this.path, `${JSON.stringify(valid, null, 2)}\n`);
    return valid;
  }

  update(patch: SettingsPatch): Settings {
    return this.save(applyPatch(this.load().settings, patch));
  }
}

/** Temp file in the same folder, fsync, rename over the target, fsync the folder. */
export function writeFileAtomic(path: string, data: string, mode = 0o600): void {
  mkdirSync(dirname(path), { recursive: true });
  const tmp = `${path}.tmp-${process.pid}-${Date.now()}`;
  const fd = openSync(tmp, 'w', mode);
  try {
    writeSync(fd, data);
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
  renameSync(tmp, path);
  try {
    const dfd = openSync(dirname(path), 'r');
    try {
      fsyncSync(dfd);
    } finally {
      closeSync(dfd);
    }
  } catch {
    // Some filesystems refuse fsync on a directory; the rename is still atomic.
  }
}
