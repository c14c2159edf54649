/**
 * Launch mode: runs the backend from compose/ with the Docker CLI (`docker compose up -d`,
 * `down`, `ps --format json`) and follows each service's container state and healthcheck until
 * all are healthy, reporting progress on the way. Tells apart the ways it can fail before any
 * container starts (no docker command, no compose plugin, no engine, a bad compose file), since
 * each needs a different fix from the operator.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { redact, report, type BackendError, type BackendReport, type ServiceReport } from './report.js';

export interface ComposeOptions {
  composeFile: string;
  /** Compose project name (-p); keeps containers and volumes apart from other stacks. */
  projectName?: string;
  /** Compose profiles to enable (e.g. observability). */
  profiles?: string[];
  /** The docker executable. */
  docker?: string;
  env?: NodeJS.ProcessEnv;
  /** How long `up` waits for every service to be healthy. */
  timeoutMs?: number;
  pollMs?: number;
  /** Per docker invocation (pulls and builds take long: only status calls use a short one). */
  commandTimeoutMs?: number;
  onProgress?: (p: ComposeProgress) => void;
}

export interface ComposeProgress {
  phase: 'checking' | 'starting' | 'waiting' | 'stopping' | 'done';
  message: string;
  services?: ServiceReport[];
}

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  spawnError?: NodeJS.ErrnoException;
}

/** One `docker compose ps --format json` entry (the fields we use). */
interface PsEntry {
  Service?: string;
  Name?: string;
  State?: string;
  Health?: string;
  ExitCode?: number;
}

class ComposeFailure extends Error {
  constructor(readonly error: BackendError) {
    super(error.message);
  }
}

export class ComposeLauncher {
  private readonly docker: string;
  private readonly file: string;

  constructor(private readonly opts: ComposeOptions) {
    this.docker = opts.docker ?? 'docker';
    this.file = resolve(opts.composeFile);
  }

  /** `up -d`, then waits until every service is healthy (or one fails, or the timeout). */
  async up(): Promise<BackendReport> {
    return this.guard(async () => {
      const expected = await this.prepare();
      this.progress('starting', `starting ${expected.length} service(s): ${expected.join(', ')}`);
      await this.compose(['up', '-d', '--remove-orphans'], this.opts.commandTimeoutMs ?? 30 * 60_000, (line) => this.progress('starting', line));
      const deadline = Date.now() + (this.opts.timeoutMs ?? 5 * 60_000);
      for (;;) {
        const services = await this.services(expected);
        const pending = services.filter((s) => s.state !== 'healthy');
        // A container not there yet is still pending; only a failing healthcheck or a crashed
        // container ends the wait early.
        const broken = services.filter((s) => s.state === 'unhealthy');
        if (pending.length === 0) {
          this.progress('done', `all ${services.length} service(s) healthy`, services);
          return report('launch', services);
        }
        if (broken.length > 0 || Date.now() >= deadline) {
          const why =
            broken.length > 0
              ? `${broken.map((s) => s.service).join(', ')} ${broken.length === 1 ? 'is' : 'are'} unhealthy`
              : `timed out waiting for ${pending.map((s) => s.service).join(', ')}`;
          this.progress('done', why, services);
          return report('launch', services, { code: 'UNHEALTHY', message: `${why}; see \`docker compose -f ${this.file} logs\`` });
        }
        this.progress('waiting', `waiting for ${pending.map((s) => `${s.service} (${s.state})`).join(', ')}`, services);
        await new Promise((r) => setTimeout(r, this.opts.pollMs ?? 2000));
      }
    });
  }

  /** `down` (volumes are kept: plate events and images survive a restart of the stack). */
  async down(): Promise<BackendReport> {
    return this.guard(async () => {
      const expected = await this.prepare();
      this.progress('stopping', 'stopping the backend');
      await this.compose(['down', '--remove-orphans'], this.opts.commandTimeoutMs ?? 5 * 60_000, (line) => this.progress('stopping', line));
      const services = await this.services(expected);
      this.progress('done', 'backend stopped', services);
      // After down, "ok" means nothing is left running.
      return { ...report('launch', services), ok: services.every((s) => s.state === 'stopped') };
    });
  }

  async status(): Promise<BackendReport> {
    return this.guard(async () => {
      const expected = await this.prepare();
      return report('launch', await this.services(expected));
    });
  }

  private async guard(work: () => Promise<BackendReport>): Promise<BackendReport> {
    try {
      return await work();
    } catch (err) {
      if (err instanceof ComposeFailure) {
        this.progress('done', err.error.message);
        return report('launch', [], err.error);
      }
      throw err;
    }
  }

  /** Checks docker, the compose plugin and the file; returns the services the file enables. */
  private async prepare(): Promise<string[]> {
    this.progress('checking', `checking ${this.docker} and the compose plugin`);
    const v = await this.run(['compose', 'version', '--short'], 30_000);
    if (v.spawnError) {
      throw new ComposeFailure(
        v.spawnError.code === 'ENOENT'
          ? {
              code: 'DOCKER_MISSING',
              message: `the docker command was not found (${this.docker}); install Docker Engine and its compose plugin, or use connect mode`,
            }
          : { code: 'DOCKER_MISSING', message: `cannot run ${this.docker}: ${v.spawnError.message}` },
      );
    }
    if (v.code !== 0) {
      throw new ComposeFailure({
        code: 'COMPOSE_MISSING',
        message: `${this.docker} has no compose plugin (\`docker compose version\` failed: ${firstLine(v.stderr || v.stdout)}); install docker-compose-plugin (or scripts/compose-plugin.sh)`,
      });
    }
    if (!existsSync(this.file)) throw new ComposeFailure({ code: 'COMPOSE_FILE_INVALID', message: `compose file not found: ${this.file}` });
    const c = await this.run([...this.base(), 'config', '--services'], 60_000);
    if (c.code !== 0) throw new ComposeFailure({ code: 'COMPOSE_FILE_INVALID', message: `compose file ${this.file} is invalid: ${tail(c.stderr)}` });
    return c.stdout
      .split('\n')
      .map((s) => s.trim())
      .filter(Boolean);
  }

  private base(): string[] {
    const args = ['compose', '-f', this.file];
    if (this.opts.projectName) args.push('-p', this.opts.projectName);
    for (const p of this.opts.profiles ?? []) args.push('--profile', p);
    return args;
  }

  private async compose(args: string[], timeoutMs: number, onLine?: (line: string) => void): Promise<string> {
    const r = await this.run([...this.base(), ...args], timeoutMs, onLine);
    if (r.code === 0) return r.stdout;
    const err = r.stderr || r.stdout;
    if (
      /Cannot connect to the Docker daemon|docker daemon is not running|permission denied while trying to connect|error during connect|Is the docker daemon running/i.test(
        err,
      )
    ) {
      throw new ComposeFailure({
        code: 'ENGINE_UNAVAILABLE',
        message: `no Docker engine reachable (${firstLine(err)}); start it (systemctl start docker) or add this user to the docker group`,
      });
    }
    throw new ComposeFailure({ code: 'COMPOSE_FAILED', message: `docker compose ${args[0]} failed (exit ${r.code}): ${tail(err)}` });
  }

  private async services(expected: string[]): Promise<ServiceReport[]> {
    const out = await this.compose(['ps', '--all', '--format', 'json'], 60_000);
    const entries = parsePs(out);
    return expected.map((name) =>
      serviceReport(
        name,
        entries.filter((e) => e.Service === name),
      ),
    );
  }

  private progress(phase: ComposeProgress['phase'], message: string, services?: ServiceReport[]): void {
    this.opts.onProgress?.({ phase, message: redact(message), ...(services ? { services } : {}) });
  }

  private run(args: string[], timeoutMs: number, onLine?: (line: string) => void): Promise<RunResult> {
    return new Promise((done) => {
      const child = spawn(this.docker, args, { env: this.opts.env ?? process.env, stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      let partial = '';
      const timer = setTimeout(() => child.kill('SIGTERM'), timeoutMs);
      child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr.on('data', (c: Buffer) => {
        const text = c.toString();
        stderr += text;
        if (!onLine) return;
        // compose writes its progress to stderr
        const lines = (partial + text).split(/\r?\n|\r/);
        partial = lines.pop() ?? '';
        for (const l of lines) if (l.trim()) onLine(l.trim());
      });
      child.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        done({ code: null, stdout, stderr, spawnError: e });
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        if (onLine && partial.trim()) onLine(partial.trim());
        done({ code, stdout, stderr });
      });
    });
  }
}

/** `ps --format json` prints one object per line (compose ≥ 2.21) or one JSON array (older). */
export function parsePs(out: string): PsEntry[] {
  const text = out.trim();
  if (!text) return [];
  if (text.startsWith('[')) return JSON.parse(text) as PsEntry[];
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter(Boolean)
    .map((l) => JSON.parse(l) as PsEntry);
}

function serviceReport(service: string, entries: PsEntry[]): ServiceReport {
  const base = { service, target: entries.map((e) => e.Name).join(',') || null, detail: null as string | null, error: null };
  if (entries.length === 0) return { ...base, state: 'stopped', detail: 'no container' };
  // With several replicas the worst one decides.
  const states = entries.map(containerState);
  const order = ['unhealthy', 'stopped', 'starting', 'healthy'] as const;
  const worst = order.find((o) => states.some((s) => s.state === o))!;
  const pick = states.find((s) => s.state === worst)!;
  return {
    ...base,
    state: worst,
    detail: pick.detail,
    error: worst === 'unhealthy' ? { code: 'UNHEALTHY', message: `${service}: ${pick.detail}` } : null,
  };
}

function containerState(e: PsEntry): { state: 'healthy' | 'starting' | 'unhealthy' | 'stopped'; detail: string } {
  const state = (e.State ?? '').toLowerCase();
  const health = (e.Health ?? '').toLowerCase();
  if (state === 'running') {
    if (health === 'unhealthy') return { state: 'unhealthy', detail: 'healthcheck failing' };
    if (health === 'starting') return { state: 'starting', detail: 'running, healthcheck starting' };
    return { state: 'healthy', detail: health === 'healthy' ? 'running, healthy' : 'running (no healthcheck)' };
  }
  if (state === 'exited' || state === 'dead') {
    // One-shot jobs (minio-init creating the bucket) are done when they exit 0.
    if (e.ExitCode === 0 && state === 'exited') return { state: 'healthy', detail: 'completed (exit 0)' };
    return { state: 'unhealthy', detail: `exited with code ${e.ExitCode ?? '?'}` };
  }
  if (state === 'created' || state === 'restarting') return { state: 'starting', detail: state };
  if (state === 'paused') return { state: 'unhealthy', detail: 'paused' };
  return { state: 'stopped', detail: state || 'unknown state' };
}

function firstLine(s: string): string {
  return s.trim().split('\n')[0]?.trim() ?? '';
}

function tail(s: string, lines = 5): string {
  return s.trim().split('\n').slice(-lines).join(' | ');
}
