/**
 * Runs the edge pipeline (`ovr-alpr serve …`) in its own process and keeps it running, the
 * way Frigate's watchdog does: a crash is restarted at once, but at most `maxRestarts` times
 * within `windowMs`; past that the supervisor backs off exponentially and says so in its
 * status, so the operator sees a pipeline that keeps dying instead of a restart storm.
 * A heartbeat (the API's /health answering, or a heartbeat line on stdout/stderr) tells a
 * hung pipeline (alive, not answering) from a busy one: past `timeoutMs` without a beat the
 * process is killed and counts as a crash. A clean exit (code 0) or a requested stop is not
 * restarted. Plain Node (no Electron), so it is tested with real child processes.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { LineSplitter, LogRing, RotatingFile, type LogEntry, type LogStream, type RotatingFileOptions } from './log-store.js';

export type SupervisorState =
  /** Never started, or stopped on request. */
  | 'stopped'
  /** Spawned; no heartbeat yet. */
  | 'starting'
  /** Heartbeat seen within the timeout. */
  | 'running'
  /** Crashed (or hung) within the restart budget; restarting after a short delay. */
  | 'restarting'
  /** Restart budget spent: waiting an exponentially growing delay before the next try. */
  | 'backoff'
  /** Exited on its own with code 0: not restarted. */
  | 'exited'
  /** Stop requested; waiting for the process to exit. */
  | 'stopping';

export type ExitKind = 'clean' | 'crash' | 'hung' | 'stopped' | 'spawn-failed';

export interface ExitInfo {
  kind: ExitKind;
  code: number | null;
  signal: string | null;
  at: string;
  /** How long the process had run. */
  uptimeMs: number;
  message: string;
}

export interface SupervisorStatus {
  state: SupervisorState;
  pid: number | null;
  /** API base URL the child printed ("listening on http://…"), once known. */
  url: string | null;
  startedAt: string | null;
  lastHeartbeatAt: string | null;
  /** Automatic restarts since the last manual start. */
  restarts: number;
  /** Automatic restarts inside the current budget window. */
  restartsInWindow: number;
  /** Consecutive backoff rounds (0 when the budget is not exhausted). */
  backoffLevel: number;
  /** When the next automatic start happens (restarting/backoff), else null. */
  nextStartAt: string | null;
  lastExit: ExitInfo | null;
  /** Something the operator should see (budget exhausted, hang detected); null when all is well. */
  attention: string | null;
}

export type HeartbeatOptions =
  | {
      /** Poll `<url><path>` (the url from the child's "listening on" line); any HTTP answer is a beat. */
      kind: 'http';
      path?: string;
      intervalMs?: number;
      /** No beat for this long (once running, or since spawn while starting) → hung. */
      timeoutMs?: number;
      /** Allowed time from spawn to the first beat (model loading can take a while). */
      startupTimeoutMs?: number;
      /** Per-request timeout. */
      requestTimeoutMs?: number;
    }
  | {
      /** Every stdout/stderr line matching `pattern` is a beat. */
      kind: 'line';
      pattern: RegExp;
      timeoutMs?: number;
      startupTimeoutMs?: number;
    }
  | { kind: 'none' };

export interface PipelineSupervisorOptions {
  /** Executable; defaults to this Node (process.execPath). */
  command?: string;
  /** Arguments, or a function giving them at each start (e.g. to keep the port of the last run). */
  args: readonly string[] | (() => readonly string[]);
  cwd?: string;
  env?: NodeJS.ProcessEnv;
  /** Restart budget: at most maxRestarts automatic restarts within windowMs (default 5 a minute). */
  maxRestarts?: number;
  windowMs?: number;
  /** Delay before an in-budget restart. */
  restartDelayMs?: number;
  /** First backoff delay once the budget is spent; doubles each round up to backoffMaxMs. */
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  heartbeat?: HeartbeatOptions;
  /** SIGTERM, then SIGKILL after this long. */
  stopTimeoutMs?: number;
  /** The line that carries the API URL. */
  listeningPattern?: RegExp;
  ringSize?: number;
  /** Rotating log file; none when absent. */
  logFile?: string;
  logRotation?: RotatingFileOptions;
  /** Clock, for the budget window (tests may pass their own). */
  now?: () => number;
}

interface SupervisorEvents {
  status: [SupervisorStatus];
  log: [LogEntry];
}

const DEFAULT_LISTENING = /listening on (https?:\/\/\S+)/;

export class PipelineSupervisor extends EventEmitter<SupervisorEvents> {
  private readonly opts: Required<
    Pick<
      PipelineSupervisorOptions,
      | 'command'
      | 'maxRestarts'
      | 'windowMs'
      | 'restartDelayMs'
      | 'backoffInitialMs'
      | 'backoffMaxMs'
      | 'heartbeat'
      | 'stopTimeoutMs'
      | 'listeningPattern'
      | 'now'
    >
  > &
    PipelineSupervisorOptions;
  readonly logs: LogRing;
  private readonly file: RotatingFile | null;
  private child: ChildProcess | null = null;
  private childExited: Promise<void> = Promise.resolve();
  private stopRequested = false;
  private hungKill = false;
  private restartTimes: number[] = [];
  private timer: NodeJS.Timeout | null = null;
  private heartbeatTimer: NodeJS.Timeout | null = null;
  private spawnedAt = 0;
  private lastBeat = 0;
  private probing = false;
  private st: SupervisorStatus = {
    state: 'stopped',
    pid: null,
    url: null,
    startedAt: null,
    lastHeartbeatAt: null,
    restarts: 0,
    restartsInWindow: 0,
    backoffLevel: 0,
    nextStartAt: null,
    lastExit: null,
    attention: null,
  };

  constructor(options: PipelineSupervisorOptions) {
    super();
    this.opts = {
      command: process.execPath,
      maxRestarts: 5,
      windowMs: 60_000,
      restartDelayMs: 1000,
      backoffInitialMs: 10_000,
      backoffMaxMs: 5 * 60_000,
      heartbeat: { kind: 'http' },
      stopTimeoutMs: 10_000,
      listeningPattern: DEFAULT_LISTENING,
      now: Date.now,
      ...options,
    };
    const o = this.opts;
    if (!Number.isInteger(o.maxRestarts) || o.maxRestarts < 0) throw new RangeError(`maxRestarts must be a whole number >= 0, got ${o.maxRestarts}`);
    for (const k of ['windowMs', 'backoffInitialMs', 'backoffMaxMs', 'stopTimeoutMs'] as const) {
      if (!(o[k] > 0)) throw new RangeError(`${k} must be > 0, got ${o[k]}`);
    }
    if (!(o.restartDelayMs >= 0)) throw new RangeError(`restartDelayMs must be >= 0, got ${o.restartDelayMs}`);
    this.logs = new LogRing(options.ringSize ?? 2000);
    this.file = options.logFile ? new RotatingFile(options.logFile, options.logRotation) : null;
  }

  status(): SupervisorStatus {
    return { ...this.st, lastExit: this.st.lastExit ? { ...this.st.lastExit } : null };
  }

  /** Starts the pipeline (a manual start also clears an exhausted budget). No-op while it runs. */
  start(): void {
    if (this.child) return;
    this.clearTimer();
    this.restartTimes = [];
    // Emitted with the spawn's own update, so listeners see one 'starting'.
    this.st = { ...this.st, restarts: 0, restartsInWindow: 0, backoffLevel: 0, attention: null };
    this.spawnChild();
  }

  /** Stops the pipeline (SIGTERM, then SIGKILL after stopTimeoutMs) and cancels any pending restart. */
  async stop(): Promise<void> {
    this.clearTimer();
    const child = this.child;
    if (!child) {
      this.update({ state: 'stopped', nextStartAt: null });
      return;
    }
    this.stopRequested = true;
    this.update({ state: 'stopping', nextStartAt: null });
    this.note(`stopping pid ${child.pid}`);
    child.kill('SIGTERM');
    const kill = setTimeout(() => {
      this.note(`pid ${child.pid} did not exit within ${this.opts.stopTimeoutMs} ms; killing it`);
      child.kill('SIGKILL');
    }, this.opts.stopTimeoutMs);
    await this.childExited;
    clearTimeout(kill);
  }

  async restart(): Promise<void> {
    await this.stop();
    this.start();
  }

  /** Stops the child and closes the log file; the supervisor is not used afterwards. */
  async dispose(): Promise<void> {
    await this.stop();
    this.file?.close();
    this.removeAllListeners();
  }

  private spawnChild(): void {
    const o = this.opts;
    this.stopRequested = false;
    this.hungKill = false;
    this.spawnedAt = o.now();
    this.lastBeat = 0;
    const args = typeof o.args === 'function' ? o.args() : o.args;
    let child: ChildProcess;
    try {
      child = spawn(o.command, [...args], { cwd: o.cwd, env: o.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (err) {
      this.onExit(null, null, `cannot start ${o.command}: ${(err as Error).message}`);
      return;
    }
    this.child = child;
    let settled = false;
    let done!: () => void;
    this.childExited = new Promise((r) => (done = r));
    const finish = (code: number | null, signal: NodeJS.Signals | null, spawnError?: string) => {
      if (settled) return;
      settled = true;
      out.flush();
      err.flush();
      this.child = null;
      this.onExit(code, signal, spawnError);
      done();
    };
    const out = new LineSplitter((l) => this.onLine('stdout', l));
    const err = new LineSplitter((l) => this.onLine('stderr', l));
    child.stdout!.on('data', (c: Buffer) => out.push(c));
    child.stderr!.on('data', (c: Buffer) => err.push(c));
    child.once('error', (e) => {
      // Spawn failures (ENOENT, EACCES) come here without an exit event.
      if (child.pid === undefined) finish(null, null, `cannot start ${o.command}: ${e.message}`);
      else this.note(`child error: ${e.message}`);
    });
    // 'close' (not 'exit'): the streams are drained, so the last lines before a crash are logged.
    child.once('close', (code, signal) => finish(code, signal));
    this.update({
      state: 'starting',
      pid: child.pid ?? null,
      url: null,
      startedAt: new Date(this.spawnedAt).toISOString(),
      lastHeartbeatAt: null,
      nextStartAt: null,
    });
    this.note(`started pid ${child.pid}: ${o.command} ${args.join(' ')}`);
    this.startHeartbeat();
  }

  private onLine(stream: LogStream, line: string): void {
    this.record(stream, line);
    const hb = this.opts.heartbeat;
    if (this.st.url === null) {
      const m = this.opts.listeningPattern.exec(line);
      if (m?.[1]) this.update({ url: m[1].replace(/\/+$/, '') });
    }
    if (hb.kind === 'line' && hb.pattern.test(line)) this.beat();
  }

  private beat(): void {
    if (!this.child) return;
    this.lastBeat = this.opts.now();
    const patch: Partial<SupervisorStatus> = { lastHeartbeatAt: new Date(this.lastBeat).toISOString() };
    if (this.st.state === 'starting') {
      patch.state = 'running';
      this.note('heartbeat: pipeline is up');
    }
    // A pipeline that stayed up for a whole window has recovered: the next crash starts the backoff over.
    if (this.st.backoffLevel > 0 && this.lastBeat - this.spawnedAt >= this.opts.windowMs) patch.backoffLevel = 0;
    if (this.st.attention && patch.state === 'running') patch.attention = null;
    this.update(patch);
  }

  private startHeartbeat(): void {
    const hb = this.opts.heartbeat;
    if (hb.kind === 'none') {
      this.update({ state: 'running' });
      return;
    }
    const timeoutMs = hb.timeoutMs ?? 30_000;
    const startupMs = hb.startupTimeoutMs ?? 120_000;
    const intervalMs = hb.kind === 'http' ? (hb.intervalMs ?? 5000) : Math.max(50, Math.min(1000, timeoutMs / 4));
    const tick = () => {
      if (!this.child || this.stopRequested || this.hungKill) return;
      const now = this.opts.now();
      const silentFor = this.lastBeat ? now - this.lastBeat : now - this.spawnedAt;
      const limit = this.lastBeat ? timeoutMs : startupMs;
      if (silentFor > limit) {
        this.killHung(silentFor, this.lastBeat === 0);
        return;
      }
      if (hb.kind === 'http') void this.probe(hb.path ?? '/health', hb.requestTimeoutMs ?? Math.min(5000, timeoutMs));
    };
    this.heartbeatTimer = setInterval(tick, intervalMs);
    this.heartbeatTimer.unref();
  }

  private async probe(path: string, requestTimeoutMs: number): Promise<void> {
    if (this.probing || !this.st.url) return;
    this.probing = true;
    const pid = this.st.pid;
    try {
      const res = await fetch(`${this.st.url}${path}`, { signal: AbortSignal.timeout(requestTimeoutMs) });
      await res.arrayBuffer();
      // Any HTTP answer means the event loop is alive (liveness, not readiness: a 503 from a
      // database check is the API's business, not a reason to kill the pipeline).
      if (this.st.pid === pid) this.beat();
    } catch {
      // No answer: the timeout check in tick() decides.
    } finally {
      this.probing = false;
    }
  }

  private killHung(silentFor: number, neverBeat: boolean): void {
    const child = this.child;
    if (!child) return;
    this.hungKill = true;
    const msg = neverBeat
      ? `pipeline gave no heartbeat within ${Math.round(silentFor)} ms of starting; killing pid ${child.pid}`
      : `pipeline stopped answering (no heartbeat for ${Math.round(silentFor)} ms); killing pid ${child.pid}`;
    this.note(msg);
    this.update({ attention: msg });
    child.kill('SIGKILL');
  }

  private onExit(code: number | null, signal: NodeJS.Signals | null, spawnError?: string): void {
    this.stopHeartbeat();
    const now = this.opts.now();
    const uptimeMs = this.spawnedAt ? now - this.spawnedAt : 0;
    const kind: ExitKind = spawnError ? 'spawn-failed' : this.stopRequested ? 'stopped' : this.hungKill ? 'hung' : code === 0 ? 'clean' : 'crash';
    const how = signal ? `signal ${signal}` : `code ${code}`;
    const message =
      kind === 'spawn-failed'
        ? spawnError!
        : kind === 'stopped'
          ? `stopped (${how})`
          : kind === 'clean'
            ? 'exited cleanly (code 0)'
            : kind === 'hung'
              ? `killed after a missed heartbeat (${how})`
              : `crashed (${how})`;
    const lastExit: ExitInfo = { kind, code, signal, at: new Date(now).toISOString(), uptimeMs, message };
    this.note(`pid ${this.st.pid ?? '-'} ${message} after ${uptimeMs} ms`);
    const base = { pid: null, url: null, lastExit } satisfies Partial<SupervisorStatus>;
    if (kind === 'stopped') return this.update({ ...base, state: 'stopped', nextStartAt: null });
    if (kind === 'clean') return this.update({ ...base, state: 'exited', nextStartAt: null });
    this.scheduleRestart(base, now, message);
  }

  private scheduleRestart(base: Partial<SupervisorStatus>, now: number, why: string): void {
    const o = this.opts;
    this.restartTimes = this.restartTimes.filter((t) => now - t < o.windowMs);
    if (this.restartTimes.length < o.maxRestarts) {
      this.restartTimes.push(now);
      this.update({
        ...base,
        state: 'restarting',
        restarts: this.st.restarts + 1,
        restartsInWindow: this.restartTimes.length,
        nextStartAt: new Date(now + o.restartDelayMs).toISOString(),
        // A hang message stays visible until the pipeline is up again.
        attention: this.st.attention,
      });
      this.later(o.restartDelayMs);
      return;
    }
    const level = this.st.backoffLevel + 1;
    const delay = Math.min(o.backoffMaxMs, o.backoffInitialMs * 2 ** (level - 1));
    // The start after the backoff counts against the window too, so a pipeline that dies again
    // at once goes straight to a longer backoff.
    this.restartTimes.push(now + delay);
    const attention =
      `pipeline ${why} and used its restart budget (${o.maxRestarts} restarts within ${Math.round(o.windowMs / 1000)} s); ` +
      `next try in ${Math.round(delay / 1000)} s. See the pipeline log.`;
    this.note(attention);
    this.update({
      ...base,
      state: 'backoff',
      backoffLevel: level,
      restarts: this.st.restarts + 1,
      restartsInWindow: this.restartTimes.filter((t) => now - t < o.windowMs).length,
      nextStartAt: new Date(now + delay).toISOString(),
      attention,
    });
    this.later(delay);
  }

  private later(ms: number): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      if (!this.child) this.spawnChild();
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private stopHeartbeat(): void {
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.heartbeatTimer = null;
  }

  private note(line: string): void {
    this.record('supervisor', line);
  }

  private record(stream: LogStream, line: string): void {
    const entry = this.logs.push(stream, line);
    try {
      this.file?.write(`${entry.at} ${stream} ${line}`);
    } catch (err) {
      // A full disk must not take the supervisor down; the ring still has the lines.
      this.logs.push('supervisor', `log file write failed: ${(err as Error).message}`);
    }
    this.emit('log', entry);
  }

  private update(patch: Partial<SupervisorStatus>): void {
    this.st = { ...this.st, ...patch };
    this.emit('status', this.status());
  }
}

/** Arguments for supervising `ovr-alpr serve` from this checkout or package (bin/ovr-alpr.js under this Node). */
export function servePipelineArgs(binPath: string, opts: { dataDir: string; port?: number; configDir?: string; extra?: readonly string[] }): string[] {
  const args = [binPath, 'serve', '--data-dir', opts.dataDir, '--host', '127.0.0.1', '--port', String(opts.port ?? 0)];
  if (opts.configDir) args.push('--config', opts.configDir);
  return [...args, ...(opts.extra ?? [])];
}
