/**
 * A real RTSP server on loopback for the ingest tests: test/support/rtsp-server.py, GStreamer's
 * RTSP server driven through python3-gi, serving an H.264 MP4 as-is (no re-encoding) at
 * rtsp://127.0.0.1:PORT/clip. kill() is SIGKILL (a camera that drops dead); a new server can
 * then be started on the same port to stand for the camera coming back.
 *
 * Needs Debian packages python3-gi and gir1.2-gst-rtsp-server-1.0 (which pulls in the
 * GStreamer base/good/bad plugins: qtdemux, rtph264pay, h264parse). The system python is
 * preferred over whatever `python3` is first on PATH (a pyenv or venv python does not see
 * Debian's python3-gi); OVR_ALPR_TEST_PYTHON overrides both. Same skip policy as
 * test/support/shared.ts: missing pieces fail in CI (process.env.CI set) and skip loudly
 * elsewhere.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { projectRoot } from '../../src-pipeline/paths.js';

export interface RtspServerOptions {
  /** H.264 MP4 to serve. */
  file: string;
  /** TCP port on 127.0.0.1; 0 or omitted picks a free one. */
  port?: number;
  /** Mount point (default /clip). */
  mount?: string;
  /** Start the file over at its end so clients see one continuous stream. */
  loop?: boolean;
}

export interface RtspServer {
  url: string;
  port: number;
  /** SIGTERM, SIGKILL after a grace period; resolves once the process has exited. Idempotent. */
  stop(): Promise<void>;
  /** SIGKILL now, no clean shutdown (the camera drops dead). */
  kill(): void;
}

const SCRIPT = path.join(projectRoot(), 'test', 'support', 'rtsp-server.py');
const INSTALL_HINT = 'install Debian packages python3-gi and gir1.2-gst-rtsp-server-1.0 (.ci/run does this)';
const READY_TIMEOUT_MS = 15_000;
const STOP_GRACE_MS = 3000;
/** How long a fixed port is retried when it is still busy (a just-killed server's port). */
const PORT_RETRY_MS = 5000;

const CHECK = `
import gi
gi.require_version('Gst', '1.0')
gi.require_version('GstRtspServer', '1.0')
from gi.repository import Gst, GstRtspServer
Gst.init(None)
missing = [e for e in ('filesrc', 'qtdemux', 'h264parse', 'rtph264pay') if Gst.ElementFactory.find(e) is None]
if missing:
    raise SystemExit('missing GStreamer elements: ' + ', '.join(missing))
`;

let pythonChecked: { python?: string; reason?: string } | undefined;

/** The first python that can run the server, or why none can. Cached. */
function findPython(): { python?: string; reason?: string } {
  if (pythonChecked) return pythonChecked;
  const candidates = process.env.OVR_ALPR_TEST_PYTHON ? [process.env.OVR_ALPR_TEST_PYTHON] : ['/usr/bin/python3', 'python3'];
  const errors: string[] = [];
  for (const python of candidates) {
    try {
      execFileSync(python, ['-c', CHECK], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 20_000 });
      pythonChecked = { python };
      return pythonChecked;
    } catch (err) {
      const e = err as { stderr?: Buffer; message: string };
      const lines = (e.stderr?.toString() ?? e.message).trim().split('\n');
      errors.push(`${python}: ${lines[lines.length - 1]}`);
    }
  }
  pythonChecked = { reason: errors.join('; ') };
  return pythonChecked;
}

/**
 * For `describe(name, { skip: rtspSkip() }, …)`: false when the GStreamer RTSP server can run;
 * otherwise throws in CI and returns the loud reason elsewhere.
 */
export function rtspSkip(): false | string {
  const { python, reason } = findPython();
  if (python) return false;
  const message = `GStreamer RTSP server (python3-gi + GstRtspServer) not usable: ${reason} (${INSTALL_HINT})`;
  if (process.env.CI) throw new Error(`${message}; CI must run the RTSP tests, refusing to skip`);
  process.stderr.write(`\n*** SKIPPED: ${message}\n\n`);
  return message;
}

function exited(child: ChildProcess): boolean {
  return child.exitCode !== null || child.signalCode !== null;
}

function stopChild(child: ChildProcess, graceMs = STOP_GRACE_MS): Promise<void> {
  if (exited(child)) return Promise.resolve();
  return new Promise((resolve) => {
    const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** One attempt: spawn, wait for READY. Rejects with the server's stderr when it does not come up. */
function launch(python: string, opts: RtspServerOptions): Promise<RtspServer> {
  const args = [SCRIPT, '--file', opts.file, '--port', String(opts.port ?? 0), '--mount', opts.mount ?? '/clip', ...(opts.loop ? ['--loop'] : [])];
  const child = spawn(python, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr?.setEncoding('utf8');
  child.stderr?.on('data', (s: string) => {
    stderr = (stderr + s).slice(-8192);
  });
  // The server is quiet once up; keep draining stderr so a chatty GStreamer never blocks it.
  return new Promise<RtspServer>((resolve, reject) => {
    let stdout = '';
    let done = false;
    const fail = (why: string) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      void stopChild(child, 500).then(() => reject(new Error(`rtsp-server.py ${why}${stderr.trim() ? `: ${stderr.trim()}` : ''}`)));
    };
    const timer = setTimeout(() => fail(`did not print READY within ${READY_TIMEOUT_MS} ms`), READY_TIMEOUT_MS);
    child.on('error', (err) => fail(`could not start ${python}: ${err.message}`));
    child.on('exit', (code, signal) => fail(`exited (${signal ?? `code ${code}`}) before it was ready`));
    child.stdout?.setEncoding('utf8');
    child.stdout?.on('data', (s: string) => {
      if (done) return;
      stdout += s;
      const m = /^READY (rtsp:\/\/127\.0\.0\.1:(\d+)\/\S*)$/m.exec(stdout);
      if (!m) return;
      done = true;
      clearTimeout(timer);
      const port = Number(m[2]);
      resolve({
        url: m[1],
        port,
        stop: () => stopChild(child),
        kill: () => {
          if (!exited(child)) child.kill('SIGKILL');
        },
      });
    });
  });
}

/** Starts rtsp-server.py and resolves once it listens. A busy fixed port is retried for a few seconds. */
export async function startRtspServer(opts: RtspServerOptions): Promise<RtspServer> {
  const { python, reason } = findPython();
  if (!python) throw new Error(`cannot start the RTSP server: ${reason} (${INSTALL_HINT})`);
  const deadline = Date.now() + PORT_RETRY_MS;
  for (;;) {
    try {
      return await launch(python, opts);
    } catch (err) {
      const busy = /cannot listen/.test((err as Error).message);
      if (!busy || !opts.port || Date.now() > deadline) throw err;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
