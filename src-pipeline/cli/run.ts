/**
 * `ovr-alpr run`: the headless edge pipeline. One source (--source) or every enabled camera of
 * a cameras.yaml (--cameras), each in its own worker thread under the supervisor, events into
 * the embedded store (and/or a JSONL file). Files end by themselves; live sources run until
 * SIGINT/SIGTERM. At the end it prints a summary; with --json the last stdout line is one JSON
 * object ({frames, fps, dropped, events, plates, cameras, …}).
 */
import { homedir, hostname } from 'node:os';
import { basename, extname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { CameraConfig, type CameraConfig as Camera } from '../common/cameras-config.js';
import { AlprError } from '../common/errors.js';
import type { PlateEvent } from '../common/plate-event.js';
import { defaultConfigDir, loadBusConfig, loadEventsConfig, loadPipelineConfig, loadRecognitionConfig, loadTrackingConfig } from '../config-loader.js';
import { loadCamerasConfig } from '../ingest/cameras.js';
import type { PipelineLog } from '../pipeline/camera-pipeline.js';
import type { PipelineConfigs } from '../pipeline/camera-runner.js';
import { Supervisor, type CameraStatus } from '../pipeline/supervisor.js';
import type { EventSink } from '../sinks/event-sink.js';
import { FanoutSink } from '../sinks/fanout-sink.js';
import { createEmbeddedSink } from '../sinks/index.js';
import { openEmbeddedAlerts } from '../alerts/embedded.js';
import { JsonlSink } from '../sinks/jsonl-sink.js';

export interface RunIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** Stops the run when aborted (tests); SIGINT/SIGTERM do the same from a shell. */
  signal?: AbortSignal;
  env?: Record<string, string | undefined>;
}

export const RUN_USAGE = `usage: ovr-alpr run (--source <file|rtsp://…|/dev/videoN> | --cameras FILE) [options]
  --source S          one video file, RTSP URL or V4L2 device
  --cameras FILE      every enabled camera in a cameras.yaml
  --camera-id ID      id for --source (default: from the file name)
  --region R          plate format for --source: us | eu | any (default: recognition.yaml)
  --transport T       RTSP transport for --source: tcp | udp (default tcp)
  --realtime          files: deliver at the clip's frame rate (default: as fast as possible)
  --loop              files: start over at the end (runs until stopped)
  --fps-cap N         drop decoded frames above N per second
  --config DIR        config folder (recognition/tracking/events/pipeline/bus.yaml; default ./config)
  --data-dir D        embedded store folder (default $OVR_ALPR_DATA_DIR or ~/.local/share/ovr-alpr)
  --no-store          do not store events (use with --events-jsonl)
  --events-jsonl F    also append each event as a JSON line to F
  --json              JSON lines on stdout: one per event, the summary last
  --log-level L       debug | info | warn | error (default warn; logs go to stderr as JSON)`;

const OPTIONS = {
  source: { type: 'string' },
  cameras: { type: 'string' },
  'camera-id': { type: 'string' },
  region: { type: 'string' },
  transport: { type: 'string' },
  realtime: { type: 'boolean' },
  loop: { type: 'boolean' },
  'fps-cap': { type: 'string' },
  config: { type: 'string' },
  'data-dir': { type: 'string' },
  'no-store': { type: 'boolean' },
  'events-jsonl': { type: 'string' },
  json: { type: 'boolean' },
  'log-level': { type: 'string' },
} as const;

const LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const STATUS_EVERY_MS = 5000;

export function defaultDataDir(env: Record<string, string | undefined>): string {
  if (env.OVR_ALPR_DATA_DIR) return resolve(env.OVR_ALPR_DATA_DIR);
  return join(env.XDG_DATA_HOME || join(homedir(), '.local', 'share'), 'ovr-alpr');
}

/** A camera for a bare --source, validated by the same contract as cameras.yaml. */
export function sourceCamera(v: { [K in keyof typeof OPTIONS]?: string | boolean }): Camera {
  const source = String(v.source);
  const id =
    (v['camera-id'] as string | undefined) ??
    (basename(source, extname(source))
      .replace(/[^A-Za-z0-9_-]/g, '-')
      .slice(0, 64) ||
      'camera');
  const raw = {
    id,
    source,
    ...(v.region !== undefined ? { region: v.region } : {}),
    ...(v.transport !== undefined ? { transport: v.transport } : {}),
    ...(v.realtime ? { realtime: true } : {}),
    ...(v.loop ? { loop: true } : {}),
    ...(v['fps-cap'] !== undefined ? { fps_cap: Number(v['fps-cap']) } : {}),
  };
  const parsed = CameraConfig.safeParse(raw);
  if (!parsed.success) {
    const what = parsed.error.issues.map((i) => `${i.path.join('.') || 'source'}: ${i.message}`).join('; ');
    throw new AlprError('USAGE', `bad --source options: ${what}\n${RUN_USAGE}`);
  }
  return parsed.data;
}

export function loadConfigs(dir: string): PipelineConfigs {
  return { recognition: loadRecognitionConfig(dir), tracking: loadTrackingConfig(dir), events: loadEventsConfig(dir), pipeline: loadPipelineConfig(dir) };
}

export interface RunSummary {
  frames: number;
  /** Frames processed per second of wall time, over all cameras. */
  fps: number;
  dropped: number;
  events: number;
  plates: string[];
  wall_s: number;
  cameras: {
    id: string;
    state: CameraStatus['state'];
    restarts: number;
    error: string | null;
    frames: number;
    fps: number;
    dropped: number;
    decode_errors: number;
    reconnects: number;
    tracks: number;
    reads: number;
    events: number;
    duplicates: number;
    rejected: Record<string, number>;
    plates: string[];
    stage_ms: Record<string, number>;
  }[];
}

export function summarize(statuses: CameraStatus[], wallMs: number): RunSummary {
  const cams = statuses.map((s) => {
    const p = s.result?.pipeline ?? s.latest?.pipeline;
    const src = s.result?.source ?? s.latest?.source;
    const ms = s.result?.wallMs ?? wallMs;
    const frames = p?.frames ?? 0;
    return {
      id: s.id,
      state: s.state,
      restarts: s.restarts,
      error: s.lastError,
      frames,
      fps: ms > 0 ? round1((frames * 1000) / ms) : 0,
      dropped: src?.drops ?? 0,
      decode_errors: src?.decodeErrors ?? 0,
      reconnects: src?.reconnects ?? 0,
      tracks: p?.tracks ?? 0,
      reads: p?.reads ?? 0,
      events: p?.events ?? 0,
      duplicates: p?.duplicates ?? 0,
      rejected: (p?.rejected ?? {}) as Record<string, number>,
      plates: p?.plates ?? [],
      stage_ms: p?.stage_ms ?? {},
    };
  });
  const frames = cams.reduce((a, c) => a + c.frames, 0);
  return {
    frames,
    fps: wallMs > 0 ? round1((frames * 1000) / wallMs) : 0,
    dropped: cams.reduce((a, c) => a + c.dropped, 0),
    events: cams.reduce((a, c) => a + c.events, 0),
    plates: cams.flatMap((c) => c.plates),
    wall_s: round1(wallMs / 1000),
    cameras: cams,
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

export function makeLog(level: string, err: (line: string) => void): PipelineLog {
  const min = LEVELS.indexOf(level as (typeof LEVELS)[number]);
  return (l, message, details) => {
    if (LEVELS.indexOf(l) < min) return;
    err(JSON.stringify({ time: new Date().toISOString(), level: l, msg: message, ...details }));
  };
}

export async function runCmd(args: string[], io: RunIo): Promise<number> {
  const env = io.env ?? process.env;
  let v;
  try {
    v = parseArgs({ args, options: OPTIONS, allowPositionals: false, strict: true }).values;
  } catch (err) {
    throw new AlprError('USAGE', `${(err as Error).message}\n${RUN_USAGE}`);
  }
  if (!v.source === !v.cameras) throw new AlprError('USAGE', `give exactly one of --source or --cameras\n${RUN_USAGE}`);

  const logLevel = v['log-level'] ?? env.OVR_ALPR_LOG_LEVEL ?? 'warn';
  if (!LEVELS.includes(logLevel as (typeof LEVELS)[number])) throw new AlprError('USAGE', `--log-level must be one of ${LEVELS.join(', ')}\n${RUN_USAGE}`);
  const log = makeLog(logLevel, io.err);

  const configDir = v.config ? resolve(v.config) : defaultConfigDir();
  const configs = loadConfigs(configDir);
  const bus = loadBusConfig(configDir, env);
  if (v['no-store'] && !v['events-jsonl'] && !bus.enabled)
    throw new AlprError('USAGE', `--no-store needs --events-jsonl or Kafka (config/bus.yaml enabled: true), or events would go nowhere\n${RUN_USAGE}`);
  const cameras = v.source ? [sourceCamera(v)] : loadCamerasConfig(resolve(v.cameras!)).cameras.filter((c) => c.enabled);
  if (cameras.length === 0) throw new AlprError('CONFIG_INVALID', `${v.cameras}: no enabled cameras; add one under "cameras:" (see config/cameras.yaml)`);

  const print = (e: PlateEvent) => {
    if (v.json) io.out(JSON.stringify({ type: 'event', event: e }));
    else
      io.out(
        `event ${e.plate.normalized_text} (${e.plate.confidence.toFixed(2)}) camera ${e.camera_id} track ${e.track_id ?? '-'} ${e.extras.direction ?? ''}`.trimEnd(),
      );
  };
  const dataDir = v['data-dir'] ? resolve(v['data-dir']) : defaultDataDir(env);
  const sinks: EventSink[] = [];
  const closers: (() => Promise<void>)[] = [];
  const sinkLog = (level: 'info' | 'warn' | 'error', message: string, details?: object) => log(level, message, details as Record<string, unknown>);
  try {
    if (!v['no-store']) {
      // Printed as stored, with the image URLs the store gave them.
      // Alert rules see every stored event; submit() only queues, so it never holds up or loses the event.
      const alerts = await openEmbeddedAlerts({ dataDir, configDir, env, log: sinkLog });
      closers.push(() => alerts.close());
      const embedded = await createEmbeddedSink({
        dataDir,
        log: sinkLog,
        onStored: (e) => {
          print(e);
          alerts.submit(e);
        },
      });
      sinks.push(embedded.sink);
      closers.push(() => embedded.storage.close());
    }
    if (v['events-jsonl']) sinks.push(new JsonlSink({ path: resolve(v['events-jsonl']) }));
    if (bus.enabled) {
      const { createBusSink } = await import('../sinks/bus-sink.js');
      sinks.push(createBusSink(bus, dataDir, sinkLog).sink);
    }
  } catch (err) {
    for (const s of sinks) await s.close().catch(() => {});
    for (const c of closers) await c().catch(() => {});
    throw err;
  }
  const sink = sinks.length === 1 ? sinks[0] : new FanoutSink(sinks, { log: sinkLog });

  const onEvent = v['no-store'] ? print : undefined;
  const t0 = performance.now();
  const supervisor = new Supervisor({ cameras, configs, sink, onEvent, log, host: hostname() });
  const stopOnSignal = () => void supervisor.stop();
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  io.signal?.addEventListener('abort', stopOnSignal, { once: true });
  let statuses: CameraStatus[];
  // A line per camera now and then, so whoever watches a live run sees it is alive.
  const progress = setInterval(() => {
    for (const s of supervisor.status()) {
      const p = s.latest?.pipeline;
      const src = s.latest?.source;
      log('info', 'camera status', {
        camera_id: s.id,
        state: s.state,
        source_state: src?.state ?? null,
        frames: p?.frames ?? 0,
        fps_in: round1(src?.fpsIn ?? 0),
        fps_out: round1(src?.fpsOut ?? 0),
        dropped: src?.drops ?? 0,
        reconnects: src?.reconnects ?? 0,
        events: p?.events ?? 0,
        restarts: s.restarts,
      });
    }
  }, STATUS_EVERY_MS);
  try {
    supervisor.start();
    statuses = await supervisor.done();
  } finally {
    clearInterval(progress);
    process.removeListener('SIGINT', stopOnSignal);
    process.removeListener('SIGTERM', stopOnSignal);
    io.signal?.removeEventListener('abort', stopOnSignal);
    await sink.close();
    for (const c of closers) await c();
  }
  const summary = summarize(statuses, performance.now() - t0);
  if (v.json) io.out(JSON.stringify(summary));
  else {
    for (const c of summary.cameras) {
      io.out(
        `${c.id}: ${c.state}${c.error ? ` (${c.error})` : ''}, ${c.frames} frames at ${c.fps} fps, ${c.dropped} dropped, ${c.tracks} tracks, ${c.events} events: ${c.plates.join(' ') || '-'}`,
      );
    }
    io.out(`total: ${summary.frames} frames, ${summary.fps} fps, ${summary.dropped} dropped, ${summary.events} events in ${summary.wall_s} s`);
  }
  return statuses.some((s) => s.state === 'failed') ? 1 : 0;
}
