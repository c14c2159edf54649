/**
 * Frame sources backed by a decoder child process (ffmpeg for file, rtsp and v4l2; any
 * command for custom, e.g. a GStreamer NVDEC pipeline on a Jetson) that writes raw rgb24
 * frames to stdout. Decoding stays out of the Node process, so a corrupt stream or a dying
 * camera can only kill the child: every failure becomes state + lastError, never a throw.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { z } from 'zod';
import { Backoff } from './backoff.js';
import { FrameQueue } from './frame-queue.js';
import { registerFrameSource, SOURCE_TYPES, type Frame, type FrameSource, type SourceSpec } from './frame-source.js';
import { RateMeter, type SourceState, type SourceStats } from './stats.js';

/** How much of the child's stderr is kept for lastError: enough for the real message, bounded for a chatty decoder. */
const STDERR_TAIL_CHARS = 4096;
const KILL_GRACE_MS = 2000;
const PROBE_TIMEOUT_MS = 15_000;

export interface VideoInfo {
  width: number;
  height: number;
  /** Frames per second the stream declares, when it declares one. */
  fps?: number;
}

/** ffmpeg options that go before `-i` (and, without the pacing ones, to ffprobe). */
export function inputArgs(spec: SourceSpec, forProbe = false): string[] {
  switch (spec.type) {
    case 'file':
      return forProbe ? [] : [...(spec.realtime ? ['-re'] : []), ...(spec.loop ? ['-stream_loop', '-1'] : [])];
    case 'rtsp':
      // -timeout (µs) bounds the socket waits so a dead camera fails instead of hanging forever.
      return ['-rtsp_transport', spec.transport ?? 'tcp', '-timeout', String((spec.stallTimeoutMs ?? 10_000) * 1000)];
    case 'v4l2':
      return ['-f', 'v4l2'];
    case 'custom':
      return [];
  }
}

/** The full ffmpeg argv for a non-custom source decoding to rgb24 at `size`. */
export function ffmpegArgs(spec: SourceSpec, size: VideoInfo): string[] {
  const filters: string[] = [];
  if (spec.fpsCap) filters.push(`fps=${spec.fpsCap}`);
  // Scale whenever a size was configured; the probed size needs no filter.
  if (spec.width && spec.height) filters.push(`scale=${size.width}:${size.height}`);
  return [
    '-hide_banner',
    '-loglevel',
    'error',
    '-nostdin',
    ...inputArgs(spec),
    '-i',
    spec.source,
    '-an',
    '-sn',
    '-dn',
    ...(filters.length ? ['-vf', filters.join(',')] : []),
    '-pix_fmt',
    'rgb24',
    '-f',
    'rawvideo',
    'pipe:1',
  ];
}

/** Splits a command line on whitespace, honouring '…' and "…" quoting (no shell is involved). */
export function splitCommand(line: string): string[] {
  const out: string[] = [];
  const re = /"([^"]*)"|'([^']*)'|(\S+)/g;
  for (const m of line.matchAll(re)) out.push(m[1] ?? m[2] ?? m[3]);
  return out;
}

/** argv for a custom source with {source}, {width}, {height} and {fps} filled in. */
export function customArgv(spec: SourceSpec): string[] {
  if (!spec.command) throw new Error(`camera ${spec.id}: a custom source needs a command`);
  const argv = typeof spec.command === 'string' ? splitCommand(spec.command) : [...spec.command];
  const vars: Record<string, string> = {
    source: spec.source,
    width: String(spec.width ?? ''),
    height: String(spec.height ?? ''),
    fps: String(spec.fpsCap ?? ''),
  };
  return argv.map((a) => a.replace(/\{(source|width|height|fps)\}/g, (_, k: string) => vars[k]));
}

const ProbeOutput = z.object({
  streams: z
    .array(
      z.object({
        width: z.number().int().positive(),
        height: z.number().int().positive(),
        avg_frame_rate: z.string().optional(),
        r_frame_rate: z.string().optional(),
        tags: z.object({ rotate: z.string().optional() }).optional(),
        side_data_list: z.array(z.object({ rotation: z.number().optional() })).optional(),
      }),
    )
    .min(1),
});

function parseRate(r: string | undefined): number | undefined {
  if (!r) return undefined;
  const [n, d] = r.split('/').map(Number);
  const v = d ? n / d : n;
  return Number.isFinite(v) && v > 0 && v < 1000 ? v : undefined;
}

/** Width, height and frame rate of the first video stream, as ffmpeg will deliver it (rotation applied). */
export function probeVideo(spec: SourceSpec): Promise<VideoInfo> {
  const args = [
    '-v',
    'error',
    ...inputArgs(spec, true),
    '-select_streams',
    'v:0',
    '-show_entries',
    'stream=width,height,avg_frame_rate,r_frame_rate:stream_tags=rotate:stream_side_data=rotation',
    '-of',
    'json',
    '-i',
    spec.source,
  ];
  return new Promise((resolve, reject) => {
    execFile(spec.ffprobePath ?? 'ffprobe', args, { timeout: PROBE_TIMEOUT_MS, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err) {
        reject(new Error(`ffprobe ${spec.source} failed: ${(stderr || err.message).trim().slice(-STDERR_TAIL_CHARS)}`));
        return;
      }
      let json: unknown;
      try {
        json = JSON.parse(stdout);
      } catch {
        reject(new Error(`ffprobe ${spec.source}: unreadable output`));
        return;
      }
      const parsed = ProbeOutput.safeParse(json);
      if (!parsed.success) {
        reject(new Error(`ffprobe ${spec.source}: no video stream with a size`));
        return;
      }
      const s = parsed.data.streams[0];
      const rotation = Math.abs(s.side_data_list?.find((d) => d.rotation !== undefined)?.rotation ?? Number(s.tags?.rotate ?? 0)) % 180;
      // ffmpeg auto-rotates on decode, so a 90°-rotated phone clip comes out with the sides swapped.
      const [width, height] = rotation === 90 ? [s.height, s.width] : [s.width, s.height];
      resolve({ width, height, fps: parseRate(s.avg_frame_rate) ?? parseRate(s.r_frame_rate) });
    });
  });
}

interface RunOutcome {
  ok: boolean;
  message?: string;
}

export class FfmpegFrameSource implements FrameSource {
  readonly id: string;
  private readonly spec: SourceSpec;
  private readonly queue: FrameQueue<Frame>;
  /** Files read as fast as possible must not lose frames: the child is paused instead of dropping. */
  private readonly backpressure: boolean;
  private readonly reconnect: boolean;
  private readonly backoff: Backoff;
  private readonly inMeter = new RateMeter();
  private readonly outMeter = new RateMeter();
  /** Frames completed while the queue was full in backpressure mode (at most one stdout chunk's worth). */
  private readonly overflow: Frame[] = [];
  private state: SourceState = 'starting';
  private started = false;
  private stopping = false;
  private child: ChildProcess | undefined;
  private paused = false;
  private info: VideoInfo | undefined;
  private frameIndex = 0;
  private framesOut = 0;
  private decodeErrors = 0;
  private reconnects = 0;
  private lastError: string | undefined;
  private firstFrameAt: number | undefined;
  private loop: Promise<void> | undefined;
  private wakeSleep: (() => void) | undefined;

  constructor(spec: SourceSpec) {
    if (!SOURCE_TYPES.includes(spec.type)) throw new Error(`camera ${spec.id}: unknown source type ${String(spec.type)}`);
    if ((spec.width === undefined) !== (spec.height === undefined)) throw new Error(`camera ${spec.id}: give both width and height or neither`);
    if (spec.type === 'custom' && (!spec.width || !spec.height))
      throw new Error(`camera ${spec.id}: a custom source needs width and height (its output cannot be probed)`);
    this.id = spec.id;
    this.spec = spec;
    this.queue = new FrameQueue<Frame>(spec.queueCapacity ?? 4);
    this.backpressure = spec.type === 'file' && !spec.realtime;
    this.reconnect = spec.reconnect ?? spec.type !== 'file';
    this.backoff = new Backoff(spec.backoff);
  }

  /** pid of the current decoder child (for diagnostics and tests that kill it). */
  get childPid(): number | undefined {
    return this.child?.pid;
  }

  start(): void {
    if (this.started) return;
    this.started = true;
    this.loop = this.runLoop();
  }

  stats(): SourceStats {
    const now = performance.now();
    return {
      id: this.id,
      state: this.state,
      fpsIn: this.inMeter.rate(now),
      fpsOut: this.outMeter.rate(now),
      framesIn: this.frameIndex,
      framesOut: this.framesOut,
      drops: this.queue.drops,
      decodeErrors: this.decodeErrors,
      reconnects: this.reconnects,
      ...(this.info ? { width: this.info.width, height: this.info.height, ...(this.info.fps ? { declaredFps: this.info.fps } : {}) } : {}),
      ...(this.lastError !== undefined ? { lastError: this.lastError } : {}),
    };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    this.wakeSleep?.();
    const child = this.child;
    if (child) {
      // A child paused by backpressure must be drained, or its stdout never ends and 'close' never comes.
      this.paused = false;
      child.stdout?.resume();
      await killChild(child);
    }
    await this.loop;
    this.state = 'stopped';
    this.queue.close();
    // Free the frame buffers nobody will read.
    this.queue.clear();
    this.overflow.length = 0;
  }

  /** Single consumer. Leaving the loop early (break/throw) stops the source. */
  async *[Symbol.asyncIterator](): AsyncIterator<Frame> {
    this.start();
    let drained = false;
    try {
      for (;;) {
        // The decoder can exit while frames are still held back behind a full queue (several
        // small frames fit in one pipe chunk): once the queue is closed they come from here.
        const frame = (await this.queue.shift()) ?? this.overflow.shift();
        if (!frame) {
          drained = true;
          return;
        }
        if (!this.queue.closed) this.refill();
        this.framesOut++;
        this.outMeter.mark(performance.now());
        yield frame;
      }
    } finally {
      if (!drained && !this.stopping) await this.stop();
    }
  }

  /** After the consumer took a frame: move held-back frames in and let a paused child continue. */
  private refill(): void {
    while (this.overflow.length && !this.queue.isFull()) {
      const f = this.overflow.shift();
      if (f) this.queue.push(f);
    }
    if (this.paused && this.overflow.length === 0) {
      this.paused = false;
      this.child?.stdout?.resume();
    }
  }

  private async runLoop(): Promise<void> {
    while (!this.stopping) {
      let outcome: RunOutcome;
      try {
        outcome = await this.runOnce();
      } catch (err) {
        outcome = { ok: false, message: err instanceof Error ? err.message : String(err) };
      }
      if (this.stopping) break;
      if (!outcome.ok) this.lastError = outcome.message;
      // A file that reached its end is done; a live stream that "ends" has gone away.
      if (outcome.ok && this.spec.type === 'file') {
        this.state = 'stopped';
        break;
      }
      if (!this.reconnect) {
        this.state = outcome.ok ? 'stopped' : 'error';
        break;
      }
      this.state = 'reconnecting';
      this.lastError ??= outcome.message ?? 'stream ended';
      const delay = this.backoff.failed(Date.now());
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, delay);
        this.wakeSleep = () => {
          clearTimeout(t);
          resolve();
        };
      });
      this.wakeSleep = undefined;
      if (this.stopping) break;
      this.reconnects++;
    }
    // Frames already queued stay readable; the consumer's iteration ends after them.
    this.queue.close();
  }

  /** One child process from spawn to exit. Resolves (never rejects for stream problems) with how it went. */
  private async runOnce(): Promise<RunOutcome> {
    if (!this.info) {
      this.info =
        this.spec.width && this.spec.height ? { width: this.spec.width, height: this.spec.height, fps: this.spec.fpsCap } : await probeVideo(this.spec);
      if (this.spec.fpsCap && this.info.fps) this.info.fps = Math.min(this.info.fps, this.spec.fpsCap);
    }
    if (this.stopping) return { ok: true };
    const info = this.info;
    const frameBytes = info.width * info.height * 3;
    const [cmd, ...args] = this.spec.type === 'custom' ? customArgv(this.spec) : [this.spec.ffmpegPath ?? 'ffmpeg', ...ffmpegArgs(this.spec, info)];

    return new Promise<RunOutcome>((resolve) => {
      let stderrTail = '';
      let stderrPartial = '';
      let framesThisRun = 0;
      let buf = new Uint8Array(frameBytes);
      let filled = 0;
      let lastDataAt = performance.now();
      let stalled = false;
      let settled = false;
      const finish = (o: RunOutcome) => {
        if (settled) return;
        settled = true;
        clearInterval(watchdog);
        this.child = undefined;
        this.paused = false;
        resolve(o);
      };

      let child: ChildProcess;
      try {
        child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      } catch (err) {
        finish({ ok: false, message: `cannot start ${cmd}: ${(err as Error).message}` });
        return;
      }
      this.child = child;

      // A live source that stops delivering (camera unplugged, RTSP server gone quiet) is killed
      // so the reconnect logic can take over instead of waiting forever.
      const stallMs = this.spec.stallTimeoutMs ?? 10_000;
      const watchdog = setInterval(
        () => {
          if (this.reconnect && !this.paused && performance.now() - lastDataAt > stallMs && !stalled) {
            stalled = true;
            void killChild(child);
          }
        },
        Math.min(1000, stallMs),
      );

      const emit = (data: Uint8Array) => {
        const now = performance.now();
        if (this.firstFrameAt === undefined) this.firstFrameAt = now;
        const index = this.frameIndex++;
        const ptsMs = this.spec.type === 'file' && info.fps ? (index * 1000) / info.fps : now - this.firstFrameAt;
        const frame: Frame = { image: { width: info.width, height: info.height, data }, index, ptsMs, capturedAt: new Date().toISOString() };
        this.inMeter.mark(now);
        framesThisRun++;
        if (this.state !== 'running') {
          this.state = 'running';
          this.lastError = undefined;
        }
        this.backoff.connected(Date.now());
        if (this.backpressure && (this.queue.isFull() || this.overflow.length)) {
          this.overflow.push(frame);
          if (!this.paused) {
            this.paused = true;
            child.stdout?.pause();
          }
        } else {
          this.queue.push(frame);
        }
      };

      child.stdout?.on('data', (chunk: Buffer) => {
        if (this.stopping) return;
        lastDataAt = performance.now();
        // Pipe chunks (64 KiB) rarely line up with frames: copy into the frame being filled and
        // emit each time it is complete.
        let off = 0;
        while (off < chunk.length) {
          const n = Math.min(frameBytes - filled, chunk.length - off);
          buf.set(chunk.subarray(off, off + n), filled);
          filled += n;
          off += n;
          if (filled === frameBytes) {
            emit(buf);
            buf = new Uint8Array(frameBytes);
            filled = 0;
          }
        }
      });
      child.stderr?.setEncoding('utf8');
      child.stderr?.on('data', (text: string) => {
        stderrTail = (stderrTail + text).slice(-STDERR_TAIL_CHARS);
        // At -loglevel error every complete line is an error report from the decoder.
        const lines = (stderrPartial + text).split('\n');
        stderrPartial = (lines.pop() ?? '').slice(-STDERR_TAIL_CHARS);
        this.decodeErrors += lines.filter((l) => l.trim()).length;
      });
      // Stream errors (EPIPE and the like) on a dying child must not become uncaught exceptions.
      child.stdout?.on('error', () => undefined);
      child.stderr?.on('error', () => undefined);
      child.on('error', (err) => finish({ ok: false, message: `cannot run ${cmd}: ${err.message}` }));
      child.on('close', (code, signal) => {
        if (stderrPartial.trim()) this.decodeErrors++;
        // A truncated last frame means the stream broke mid-frame; its bytes are discarded.
        if (filled > 0) this.decodeErrors++;
        const tail = stderrTail.trim();
        if (stalled) finish({ ok: false, message: `no data for ${stallMs} ms; killed${tail ? `: ${tail}` : ''}` });
        else if (code === 0 && framesThisRun > 0) finish({ ok: true });
        else {
          const how = signal ? `killed by ${signal}` : code === 0 ? 'exited without delivering a frame' : `exited with code ${code}`;
          finish({ ok: false, message: `${cmd} ${how}${tail ? `: ${tail}` : ''}` });
        }
      });
    });
  }
}

/** SIGTERM so ffmpeg can close its input cleanly, SIGKILL if it has not exited after a grace period. */
export function killChild(child: ChildProcess, graceMs = KILL_GRACE_MS): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('close', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Registers the ffmpeg-backed factory for every source type. */
export function registerFfmpegSources(): void {
  for (const type of SOURCE_TYPES) registerFrameSource(type, (spec) => new FfmpegFrameSource(spec));
}
