/**
 * Video pipeline throughput on a clip with every frame processed (adaptive sampling off):
 * frames per second, median ms per stage, drops, events, and the ratio of pipeline fps to the
 * inference-only bound measured in the same run (the vehicle detector, pre-processing
 * included, back to back over frames decoded into memory first: the per-frame work the
 * pipeline cannot avoid). With --streams N, N copies of the clip at once through the
 * Supervisor (one worker thread each). With --duration-s S, the clip loops for S seconds
 * through the Supervisor and process RSS (main thread + workers) is sampled for a leak slope.
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { projectRoot } from '../src-pipeline/paths.js';
import { defaultConfigDir } from '../src-pipeline/config-loader.js';
import { loadConfigs, summarize, type RunSummary } from '../src-pipeline/cli/run.js';
import { CamerasConfig, type CameraConfig } from '../src-pipeline/common/cameras-config.js';
import { median } from '../src-pipeline/eval/metrics.js';
import { createFrameSource } from '../src-pipeline/ingest/index.js';
import { startCamera, type PipelineConfigs } from '../src-pipeline/pipeline/camera-runner.js';
import { Supervisor, type CameraStatus } from '../src-pipeline/pipeline/supervisor.js';
import type { PipelineLog } from '../src-pipeline/pipeline/camera-pipeline.js';
import type { EventSink } from '../src-pipeline/sinks/event-sink.js';
import type { RgbImage } from '../src-pipeline/vision/image.js';
import { Recognizer } from '../src-pipeline/vision/recognizer.js';
import { sessionOptions } from '../src-pipeline/vision/session.js';

const DEFAULT_CLIP = resolve(projectRoot(), '..', 'shared', 'data', 'video', '07_ca_overpass_cars_moving_720p.mp4');

export async function benchPipeline(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      source: { type: 'string', default: DEFAULT_CLIP },
      streams: { type: 'string', default: '1' },
      // Frames decoded into memory for the inference-only bound (the whole clip when shorter).
      frames: { type: 'string', default: '300' },
      // Memory run: loop the clip this long through the Supervisor and sample RSS.
      'duration-s': { type: 'string' },
      'warmup-s': { type: 'string', default: '20' },
      'sample-s': { type: 'string', default: '10' },
      // Deliver at the clip's frame rate (live-like: a slow pipeline drops frames) instead of as fast as possible.
      realtime: { type: 'boolean', default: false },
      // Single stream: skip the extra run through the Supervisor (worker thread).
      'no-worker': { type: 'boolean', default: false },
      config: { type: 'string' },
      json: { type: 'boolean', default: false },
      'log-level': { type: 'string', default: 'error' },
    },
  });
  const streams = Number(values.streams);
  const boundFrames = Number(values.frames);
  if (!(Number.isInteger(streams) && streams >= 1)) throw new Error(`--streams must be a positive integer, got ${values.streams}`);
  if (!(Number.isInteger(boundFrames) && boundFrames >= 1)) throw new Error(`--frames must be a positive integer, got ${values.frames}`);
  const durationS = values['duration-s'] === undefined ? undefined : Number(values['duration-s']);
  if (durationS !== undefined && !(durationS > 0)) throw new Error(`--duration-s must be > 0, got ${values['duration-s']}`);
  const source = resolve(values.source!);
  const base = loadConfigs(values.config ? resolve(values.config) : defaultConfigDir());
  // Every frame analyzed: adaptive sampling (idle_stride) off.
  const configs: PipelineConfigs = { ...base, pipeline: { ...base.pipeline, idle_stride: 1 } };
  const log = makeLog(values['log-level']!);
  const say = (line: string) => process.stdout.write(`${line}\n`);

  const report: Record<string, unknown> = {
    bench: 'pipeline',
    source,
    streams,
    realtime: values.realtime,
    idle_stride: 1,
    ort_threads: sessionOptions().intraOpNumThreads,
  };
  // The memory run skips the bound: its frames in memory (~2.6 MB each at 720p) and its models
  // would be freed by GC during the run and bend the RSS slope.
  const bound = durationS === undefined ? await measureBound(source, boundFrames, configs) : undefined;
  if (bound) {
    report.bound = bound;
    say(
      `inference-only bound: ${bound.frames} frames ${bound.width}x${bound.height}, findVehicles back to back: ${bound.fps} fps ` +
        `(median ${bound.median_ms.total} ms: pre ${bound.median_ms.pre}, infer ${bound.median_ms.infer}, post ${bound.median_ms.post}; decode into memory ${bound.decode_fps} fps)`,
    );
  }

  if (!bound) {
    const cameras = cameraList(source, streams, { loop: true, realtime: values.realtime });
    const mem = await memoryRun(cameras, configs, log, durationS!, Number(values['warmup-s']), Number(values['sample-s']), say);
    report.memory = mem;
    say(
      `memory: ${streams} stream(s) looped ${mem.duration_s} s, ${mem.frames} frames (${mem.fps} fps), ${mem.dropped} dropped, ${mem.events} events; ` +
        `RSS ${mem.rss_start_mb} MB after warm-up -> ${mem.rss_end_mb} MB at end (max ${mem.rss_max_mb}), slope ${mem.slope_mb_per_min} MB/min (second half ${mem.slope_last_half_mb_per_min})`,
    );
  } else {
    const cameras = cameraList(source, streams, { loop: false, realtime: values.realtime });
    if (streams === 1) {
      const inThread = await inThreadRun(cameras[0], configs, log);
      report.in_thread = { ...inThread, ratio_to_bound: round(inThread.fps / bound.fps, 3) };
      printRun('in-thread (startCamera)', [{ id: cameras[0].id, ...inThread }], inThread.fps, bound.fps, say);
    }
    if (streams > 1 || !values['no-worker']) {
      const sup = await supervisorRun(cameras, configs, log);
      const total = sup.cameras.reduce((a, c) => a + c.fps, 0);
      report.supervisor = {
        ...sup,
        fps_sum: round(total),
        ratio_to_bound: round(sup.cameras[0].fps / bound.fps, 3),
        ratio_total_to_bound: round(total / bound.fps, 3),
      };
      printRun(`supervisor (${streams} worker${streams > 1 ? 's' : ''})`, sup.cameras, total, bound.fps, say);
    }
  }
  if (values.json) say(JSON.stringify(report));
}

interface Bound {
  frames: number;
  width: number;
  height: number;
  decode_fps: number;
  fps: number;
  median_ms: { total: number; pre: number; infer: number; post: number };
}

/** Decodes the first `limit` frames into memory, then times findVehicles over them back to back. */
async function measureBound(source: string, limit: number, configs: PipelineConfigs): Promise<Bound> {
  const frames: RgbImage[] = [];
  const src = createFrameSource({ id: 'bench-decode', type: 'file', source });
  const td = performance.now();
  for await (const f of src) {
    frames.push(f.image);
    if (frames.length >= limit) break;
  }
  const decodeMs = performance.now() - td;
  await src.stop();
  if (frames.length === 0) throw new Error(`${source}: no frames decoded (${src.stats().lastError ?? 'empty clip'})`);
  const rec = await Recognizer.create(configs.recognition);
  // Warm-up: the first runs pay for session initialisation and allocator growth.
  for (const img of frames.slice(0, 5)) await rec.findVehicles(img);
  const per: { total: number; pre: number; infer: number; post: number }[] = [];
  const t0 = performance.now();
  for (const img of frames) {
    const t = { preMs: 0, inferMs: 0, postMs: 0 };
    const a = performance.now();
    await rec.findVehicles(img, t);
    per.push({ total: performance.now() - a, pre: t.preMs, infer: t.inferMs, post: t.postMs });
  }
  const ms = performance.now() - t0;
  const med = (k: keyof (typeof per)[number]) => round(median(per.map((p) => p[k])), 2);
  return {
    frames: frames.length,
    width: frames[0].width,
    height: frames[0].height,
    decode_fps: round((frames.length * 1000) / decodeMs),
    fps: round((frames.length * 1000) / ms),
    median_ms: { total: med('total'), pre: med('pre'), infer: med('infer'), post: med('post') },
  };
}

interface StreamResult {
  frames: number;
  fps: number;
  wall_s: number;
  dropped: number;
  decode_errors: number;
  tracks: number;
  reads: number;
  read_attempts: number;
  events: number;
  plates: string[];
  stage_ms: Record<string, number>;
}

/** The whole clip through CameraPipeline on this thread; emit only counts. */
async function inThreadRun(camera: CameraConfig, configs: PipelineConfigs, log: PipelineLog): Promise<StreamResult> {
  let emitted = 0;
  const run = await startCamera({
    camera,
    configs,
    log,
    host: null,
    emit: async () => {
      emitted++;
    },
  });
  const r = await run.done;
  if (r.source.lastError && r.pipeline.frames === 0) throw new Error(`in-thread run failed: ${r.source.lastError}`);
  return {
    frames: r.pipeline.frames,
    fps: round((r.pipeline.frames * 1000) / r.wallMs),
    wall_s: round(r.wallMs / 1000, 2),
    dropped: r.source.drops,
    decode_errors: r.source.decodeErrors,
    tracks: r.pipeline.tracks,
    reads: r.pipeline.reads,
    read_attempts: r.pipeline.read_attempts,
    events: Math.max(emitted, r.pipeline.events),
    plates: r.pipeline.plates,
    stage_ms: r.pipeline.stage_ms,
  };
}

/** Every camera in its own worker; events go to a sink that only counts them. */
async function supervisorRun(
  cameras: CameraConfig[],
  configs: PipelineConfigs,
  log: PipelineLog,
): Promise<{ wall_s: number; events_taken: number; cameras: (StreamResult & { id: string; state: string })[] }> {
  const sink = countingSink();
  const supervisor = new Supervisor({ cameras, configs, sink, log, host: null, restart: { maxRestarts: 0, windowMs: 1 } });
  const t0 = performance.now();
  supervisor.start();
  const statuses = await supervisor.done();
  const summary = summarize(statuses, performance.now() - t0);
  const failed = summary.cameras.filter((c) => c.state === 'failed');
  if (failed.length) throw new Error(`cameras failed: ${failed.map((c) => `${c.id}: ${c.error}`).join('; ')}`);
  return { wall_s: summary.wall_s, events_taken: sink.count, cameras: summary.cameras.map((c) => streamOf(c, statuses)) };
}

function streamOf(c: RunSummary['cameras'][number], statuses: CameraStatus[]): StreamResult & { id: string; state: string } {
  const wallMs = statuses.find((s) => s.id === c.id)?.result?.wallMs ?? 0;
  return {
    id: c.id,
    state: c.state,
    frames: c.frames,
    fps: c.fps,
    wall_s: round(wallMs / 1000, 2),
    dropped: c.dropped,
    decode_errors: c.decode_errors,
    tracks: c.tracks,
    reads: c.reads,
    read_attempts: statuses.find((s) => s.id === c.id)?.result?.pipeline.read_attempts ?? 0,
    events: c.events,
    plates: c.plates,
    stage_ms: c.stage_ms,
  };
}

interface MemoryReport {
  duration_s: number;
  warmup_s: number;
  frames: number;
  fps: number;
  dropped: number;
  events: number;
  rss_start_mb: number;
  rss_end_mb: number;
  rss_max_mb: number;
  slope_mb_per_min: number;
  slope_last_half_mb_per_min: number;
  samples: { t_s: number; rss_mb: number; frames: number }[];
  cameras: { id: string; state: string; frames: number; dropped: number; events: number; restarts: number; error: string | null }[];
}

/** Looped clip(s) through the Supervisor for durationS; RSS sampled every sampleS after warmupS. */
async function memoryRun(
  cameras: CameraConfig[],
  configs: PipelineConfigs,
  log: PipelineLog,
  durationS: number,
  warmupS: number,
  sampleS: number,
  say: (line: string) => void,
): Promise<MemoryReport> {
  const sink = countingSink();
  const supervisor = new Supervisor({ cameras, configs, sink, log, host: null });
  const frames = () => supervisor.status().reduce((a, s) => a + (s.latest?.pipeline.frames ?? 0), 0);
  const t0 = performance.now();
  supervisor.start();
  const samples: MemoryReport['samples'] = [];
  const sample = () => {
    const s = { t_s: round((performance.now() - t0) / 1000), rss_mb: round(process.memoryUsage().rss / 2 ** 20), frames: frames() };
    samples.push(s);
    say(`  t=${s.t_s}s rss=${s.rss_mb} MB frames=${s.frames}`);
  };
  const warm = Math.min(warmupS, durationS / 2);
  await sleep(warm * 1000);
  const framesAtStart = frames();
  const tStart = performance.now();
  sample();
  const end = t0 + durationS * 1000;
  while (performance.now() < end) {
    await sleep(Math.min(sampleS * 1000, end - performance.now()));
    sample();
  }
  const framesAtEnd = frames();
  const measuredS = (performance.now() - tStart) / 1000;
  const statuses = await supervisor.stop();
  const rss = samples.map((s) => s.rss_mb);
  const summary = summarize(statuses, performance.now() - t0);
  return {
    duration_s: round((performance.now() - t0) / 1000),
    warmup_s: warm,
    frames: summary.frames,
    // Over the sampled window only (after warm-up), from the workers' 1 s stats.
    fps: round((framesAtEnd - framesAtStart) / measuredS),
    dropped: summary.dropped,
    events: summary.events,
    rss_start_mb: rss[0],
    rss_end_mb: rss[rss.length - 1],
    rss_max_mb: Math.max(...rss),
    slope_mb_per_min: round(slope(samples.map((s) => [s.t_s / 60, s.rss_mb])), 2),
    // The allocator is often still settling early on; the second half says more about a leak.
    slope_last_half_mb_per_min: round(slope(samples.slice(Math.floor(samples.length / 2)).map((s) => [s.t_s / 60, s.rss_mb])), 2),
    samples,
    cameras: summary.cameras.map((c) => ({
      id: c.id,
      state: c.state,
      frames: c.frames,
      dropped: c.dropped,
      events: c.events,
      restarts: c.restarts,
      error: c.error,
    })),
  };
}

function cameraList(source: string, streams: number, opts: { loop: boolean; realtime: boolean }): CameraConfig[] {
  return CamerasConfig.parse({
    cameras: Array.from({ length: streams }, (_, i) => ({
      id: streams === 1 ? 'bench' : `bench-${i + 1}`,
      source,
      type: 'file',
      loop: opts.loop,
      realtime: opts.realtime,
    })),
  }).cameras;
}

function countingSink(): EventSink & { count: number } {
  return {
    name: 'count',
    count: 0,
    async write() {
      this.count++;
    },
    async close() {},
  };
}

function printRun(title: string, rows: (StreamResult & { id: string })[], totalFps: number, boundFps: number, say: (line: string) => void): void {
  say(`${title}:`);
  say(
    `  ${'camera'.padEnd(10)} ${'frames'.padStart(6)} ${'fps'.padStart(6)} ${'ratio'.padStart(6)} ${'dropped'.padStart(7)} ${'tracks'.padStart(6)} ${'reads'.padStart(9)} ${'events'.padStart(6)}  stage medians (ms)`,
  );
  for (const r of rows) {
    const stages = Object.entries(r.stage_ms)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    say(
      `  ${r.id.padEnd(10)} ${String(r.frames).padStart(6)} ${String(r.fps).padStart(6)} ${round(r.fps / boundFps, 2)
        .toFixed(2)
        .padStart(
          6,
        )} ${String(r.dropped).padStart(7)} ${String(r.tracks).padStart(6)} ${`${r.reads}/${r.read_attempts}`.padStart(9)} ${String(r.events).padStart(6)}  ${stages}`,
    );
  }
  if (rows.length > 1) say(`  total fps ${round(totalFps)} (sum over streams), ${round(totalFps / boundFps, 2)} x the one-stream bound`);
  const plates = rows.flatMap((r) => r.plates);
  say(`  plates: ${plates.join(' ') || '-'}`);
}

function makeLog(level: string): PipelineLog {
  const order = ['debug', 'info', 'warn', 'error'];
  const min = order.indexOf(level);
  return (l, message, details) => {
    if (order.indexOf(l) >= min) process.stderr.write(`${JSON.stringify({ level: l, msg: message, ...details })}\n`);
  };
}

/** Least-squares slope of y over x. */
function slope(points: [number, number][]): number {
  const n = points.length;
  if (n < 2) return 0;
  const mx = points.reduce((a, p) => a + p[0], 0) / n;
  const my = points.reduce((a, p) => a + p[1], 0) / n;
  let num = 0;
  let den = 0;
  for (const [x, y] of points) {
    num += (x - mx) * (y - my);
    den += (x - mx) ** 2;
  }
  return den > 0 ? num / den : 0;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, Math.max(0, ms)));
}

function round(x: number, digits = 1): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
