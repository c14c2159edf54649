/**
 * Browser tests: Debian's Chromium driven by playwright-core, against `ovr-alpr serve` run as
 * a user runs it (the built CLI in a child process, on loopback, with a temp data dir).
 *
 *   const ui = await buildRenderer();                 // vite build into a temp folder, once per process
 *   const server = await startServe({ clip: CLIPS.incar, uiDir: ui, token: 'test-token-123' });
 *   const browser = await launchBrowser();
 *   const page = await browser.newPage();
 *   await page.goto(server.uiUrl('#/live'));
 *   await screenshot(page, 'live');                   // test-artifacts/live.png
 *   await browser.close(); await server.stop();
 *
 * `browserSkip()` says why browser tests cannot run here (no Chromium, no dist/ build, no
 * shared clips); in CI (process.env.CI set) it throws instead of skipping.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { projectRoot } from '../../src-pipeline/paths.js';
import { sharedDataDir, missingShared } from './shared.js';
import { freePort } from './tools.js';

const ROOT = projectRoot();
const BIN = join(ROOT, 'bin', 'ovr-alpr.js');
const CLI_BUILD = join(ROOT, 'dist', 'src-pipeline', 'cli.js');
export const CHROMIUM = process.env.OVR_ALPR_CHROMIUM ?? '/usr/bin/chromium';
/** Where screenshots go (gitignored); a reviewer looks at them after a run. */
export const ARTIFACTS_DIR = join(ROOT, 'test-artifacts');

/** Shared clips with known plates (ground truth in ../shared/data/video/plates.csv). */
export const CLIPS = {
  /** 1280×720 @ 15 fps, in-car: JLN390 and JMH552, once each. */
  incar: sharedDataDir('video', '03_nz_highway_incar_qengineering.mp4'),
  /** UK roundabout (region eu): LS15EBC. */
  roundabout: sharedDataDir('video', '04_uk_roundabout_theaiguys_license_plate.mp4'),
} as const;

const execFileP = promisify(execFile);

/** Why browser tests cannot run here, or false. Throws in CI, where everything must be present. */
export function browserSkip(opts: { clips?: boolean } = {}): false | string {
  const missing: string[] = [];
  if (!existsSync(CHROMIUM)) missing.push(`Chromium at ${CHROMIUM} (apt-get install chromium; .ci/run does this)`);
  if (!existsSync(CLI_BUILD)) missing.push('the CLI build in dist/ (run `npm run build`)');
  if (opts.clips !== false) missing.push(...missingShared([CLIPS.incar]).map((p) => `shared data ${p}`));
  if (missing.length === 0) return false;
  const message = `browser tests need: ${missing.join('; ')}`;
  if (process.env.CI) throw new Error(`${message}; CI must have them, refusing to skip`);
  process.stderr.write(`\n*** SKIPPED: ${message}\n\n`);
  return message;
}

let built: Promise<string> | undefined;

/**
 * Builds the console (vite) into a temp folder once per test process and returns it; pass it
 * to startServe as `uiDir`. Takes a few seconds; a failed build throws with vite's output.
 */
export function buildRenderer(): Promise<string> {
  built ??= (async () => {
    const outDir = mkdtempSync(join(tmpdir(), 'ovr-alpr-ui-'));
    const vite = join(ROOT, 'node_modules', 'vite', 'bin', 'vite.js');
    try {
      await execFileP(process.execPath, [vite, 'build', '--outDir', outDir, '--emptyOutDir', '--logLevel', 'warn'], { cwd: ROOT, timeout: 120_000 });
    } catch (err) {
      const e = err as { stdout?: string; stderr?: string; message: string };
      throw new Error(`vite build of the console failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`);
    }
    if (!existsSync(join(outDir, 'index.html'))) throw new Error(`vite build wrote no index.html to ${outDir}`);
    process.once('exit', () => rmSync(outDir, { recursive: true, force: true }));
    return outDir;
  })();
  return built;
}

export interface TestBrowser {
  context: BrowserContext;
  /** A new tab, 1280×720 (the smallest size the console supports); console errors are collected. */
  newPage(): Promise<Page>;
  /** Messages the pages logged at level error, and uncaught page errors. */
  pageErrors: string[];
  close(): Promise<void>;
}

/** Headless Chromium with a fresh profile that is deleted on close. */
export async function launchBrowser(opts: { viewport?: { width: number; height: number } } = {}): Promise<TestBrowser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'ovr-alpr-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport: opts.viewport ?? { width: 1280, height: 720 },
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      '--no-first-run',
      '--disable-dev-shm-usage',
    ],
  });
  const pageErrors: string[] = [];
  const watch = (p: Page) => {
    p.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(`console: ${m.text()}`);
    });
    p.on('pageerror', (err) => pageErrors.push(`pageerror: ${err.message}`));
  };
  context.pages().forEach(watch);
  context.on('page', watch);
  return {
    context,
    pageErrors,
    newPage: async () => {
      const blank = context.pages().find((p) => p.url() === 'about:blank');
      return blank ?? context.newPage();
    },
    close: async () => {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Saves a full-page PNG to test-artifacts/<name>.png and returns its path. */
export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const path = join(ARTIFACTS_DIR, `${name.replace(/[^A-Za-z0-9_.-]/g, '-')}.png`);
  await page.screenshot({ path, fullPage: true });
  return path;
}

export interface ServeOptions {
  /** A video file played as camera `cameraId`, in real time and looped (a "live" camera). */
  clip?: string;
  cameraId?: string;
  /** Plate format of the clip's camera (us, eu, any). */
  region?: string;
  /** Extra camera fields for the generated cameras.yaml (roi, direction_line…). */
  camera?: Record<string, unknown>;
  /** Loop the clip (default true). */
  loop?: boolean;
  /** Bearer token the server requires (written to a token file); none when absent. */
  token?: string;
  /** The console build to serve (buildRenderer()); without it the server answers /ui/ with 503. */
  uiDir?: string;
  /** More `serve` arguments (e.g. ['--config', dir]). */
  extraArgs?: string[];
  env?: Record<string, string>;
  /** Data folder to use; a temp one (removed on stop) unless given. */
  dataDir?: string;
}

export interface ServeHandle {
  url: string;
  token?: string;
  dataDir: string;
  cameraId: string | null;
  /** The console URL with the token (as `ovr-alpr serve` users open it), plus a hash route. */
  uiUrl(hash?: string): string;
  /** fetch() on the server with the token sent as a Bearer header. */
  api(path: string, init?: RequestInit): Promise<Response>;
  /** Everything the server wrote to stdout and stderr so far. */
  logs(): string;
  /** SIGTERM, waits for exit (SIGKILL after 20 s); returns the exit code. Removes the temp data dir. */
  stop(): Promise<number | null>;
}

/** Starts `ovr-alpr serve` from the built CLI on a free loopback port and waits for "listening on". */
export async function startServe(opts: ServeOptions = {}): Promise<ServeHandle> {
  if (!existsSync(CLI_BUILD)) throw new Error(`startServe needs the CLI build (${CLI_BUILD}); run \`npm run build\` first`);
  const work = mkdtempSync(join(tmpdir(), 'ovr-alpr-serve-'));
  const dataDir = opts.dataDir ?? join(work, 'data');
  const port = await freePort();
  const args = [BIN, 'serve', '--data-dir', dataDir, '--port', String(port), '--log-level', 'warn'];
  const cameraId = opts.clip ? (opts.cameraId ?? 'lane-1') : null;
  if (opts.clip) {
    const camera = {
      id: cameraId,
      source: opts.clip,
      realtime: true,
      loop: opts.loop ?? true,
      ...(opts.region ? { region: opts.region } : {}),
      ...opts.camera,
    };
    const file = join(work, 'cameras.yaml');
    // JSON is YAML: no YAML writer needed.
    writeFileSync(file, JSON.stringify({ cameras: [camera] }, null, 2));
    args.push('--cameras', file);
  } else {
    args.push('--no-pipeline');
  }
  if (opts.token) {
    const tokenFile = join(work, 'token');
    writeFileSync(tokenFile, opts.token, { mode: 0o600 });
    args.push('--token-file', tokenFile);
  }
  args.push(...(opts.extraArgs ?? []));
  const env: Record<string, string | undefined> = { ...process.env, ...opts.env };
  delete env.OVR_ALPR_API_TOKEN;
  if (opts.uiDir) env.OVR_ALPR_UI_DIR = opts.uiDir;
  const child: ChildProcess = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  child.stderr!.on('data', (b: Buffer) => (out += b.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no "listening on" line within 60 s:\n${out}`)), 60_000);
    const check = () => {
      const m = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`serve exited early with ${code}:\n${out}`));
    });
  }).catch(async (err: unknown) => {
    child.kill('SIGKILL');
    rmSync(work, { recursive: true, force: true });
    throw err;
  });
  let stopped: Promise<number | null> | undefined;
  return {
    url,
    token: opts.token,
    dataDir,
    cameraId,
    uiUrl: (hash = '') => `${url}/ui/${opts.token ? `?token=${encodeURIComponent(opts.token)}` : ''}${hash}`,
    api: (path, init = {}) => {
      const headers = new Headers(init.headers);
      if (opts.token) headers.set('authorization', `Bearer ${opts.token}`);
      return fetch(`${url}${path}`, { ...init, headers });
    },
    logs: () => out,
    stop: () => {
      stopped ??= (async () => {
        child.kill('SIGTERM');
        const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
        const code = await exited;
        clearTimeout(kill);
        // The temp folder holds cameras.yaml, the token file and (unless given) the data dir.
        rmSync(work, { recursive: true, force: true });
        return code;
      })();
      return stopped;
    },
  };
}
