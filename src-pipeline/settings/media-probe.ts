/**
 * Connection test and snapshot for a camera being set up: ffprobe reports what the source
 * delivers (codec, size, frame rate), ffmpeg grabs one JPEG for the ROI editor. Both run with
 * a hard timeout so a dead RTSP camera answers "timed out" instead of hanging the request.
 */
import { execFile } from 'node:child_process';
import type { CameraConfig } from '../common/cameras-config.js';
import { AlprError } from '../common/errors.js';
import type { ProbeResult } from '../common/source-probe.js';

export const PROBE_TIMEOUT_MS = 10_000;
const MAX_SNAPSHOT_BYTES = 8 * 1024 * 1024;

export type { ProbeResult };

type Source = Pick<CameraConfig, 'source' | 'type' | 'transport'>;

function inputArgs(cam: Source, timeoutMs: number): string[] {
  switch (cam.type) {
    case 'rtsp':
      // -timeout (µs) bounds socket waits inside ffmpeg; the process timeout is the backstop.
      return ['-rtsp_transport', cam.transport ?? 'tcp', '-timeout', String(timeoutMs * 1000)];
    case 'v4l2':
      return ['-f', 'v4l2'];
    default:
      return [];
  }
}

function run(cmd: string, args: string[], timeoutMs: number, encoding: 'utf8' | 'buffer'): Promise<{ stdout: string | Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: MAX_SNAPSHOT_BYTES, encoding: encoding === 'buffer' ? 'buffer' : 'utf8' }, (err, stdout, stderr) => {
      const errText = Buffer.isBuffer(stderr) ? stderr.toString('utf8') : stderr;
      if (err) {
        const e = err as NodeJS.ErrnoException & { killed?: boolean };
        if (e.code === 'ENOENT') return reject(new Error(`${cmd} is not installed (apt-get install ffmpeg)`));
        if (e.killed) return reject(new Error(`no answer from the source within ${Math.round(timeoutMs / 1000)} s`));
        return reject(new Error(lastLines(errText) || e.message));
      }
      resolve({ stdout, stderr: errText });
    });
  });
}

/** The last meaningful stderr lines: ffmpeg puts the actual reason at the end. */
function lastLines(s: string): string {
  return s.trim().split('\n').slice(-3).join(' ').trim().slice(-500);
}

function rate(r: string | undefined): number | undefined {
  if (!r) return undefined;
  const [n, d] = r.split('/').map(Number);
  const v = d ? n / d : n;
  return Number.isFinite(v) && v > 0 && v < 1000 ? Math.round(v * 100) / 100 : undefined;
}

export async function probeSource(cam: Source, timeoutMs = PROBE_TIMEOUT_MS): Promise<ProbeResult> {
  const t0 = Date.now();
  if (cam.type === 'custom') return { ok: false, error: 'custom sources run a command and cannot be probed; start the camera to test it', elapsed_ms: 0 };
  try {
    const { stdout } = await run(
      'ffprobe',
      [
        '-v',
        'error',
        ...inputArgs(cam, timeoutMs),
        '-select_streams',
        'v:0',
        '-show_entries',
        'stream=codec_name,width,height,avg_frame_rate,r_frame_rate',
        '-of',
        'json',
        '-i',
        cam.source,
      ],
      timeoutMs,
      'utf8',
    );
    const json = JSON.parse(String(stdout)) as {
      streams?: { codec_name?: string; width?: number; height?: number; avg_frame_rate?: string; r_frame_rate?: string }[];
    };
    const s = json.streams?.[0];
    if (!s || !s.width || !s.height) return { ok: false, error: 'the source has no video stream', elapsed_ms: Date.now() - t0 };
    return {
      ok: true,
      codec: s.codec_name,
      width: s.width,
      height: s.height,
      fps: rate(s.avg_frame_rate) ?? rate(s.r_frame_rate),
      elapsed_ms: Date.now() - t0,
    };
  } catch (err) {
    return { ok: false, error: (err as Error).message, elapsed_ms: Date.now() - t0 };
  }
}

/** One frame as JPEG, at the size the pipeline sees it (scaled when the camera sets width/height). */
export async function snapshotJpeg(cam: Source & Pick<CameraConfig, 'width' | 'height'>, timeoutMs = PROBE_TIMEOUT_MS): Promise<Buffer> {
  if (cam.type === 'custom') throw new AlprError('CONFIG_INVALID', 'custom sources cannot be previewed here');
  const scale = cam.width && cam.height ? ['-vf', `scale=${cam.width}:${cam.height}`] : [];
  try {
    const { stdout } = await run(
      'ffmpeg',
      [
        '-nostdin',
        '-v',
        'error',
        ...inputArgs(cam, timeoutMs),
        '-i',
        cam.source,
        '-frames:v',
        '1',
        ...scale,
        '-q:v',
        '4',
        '-f',
        'image2',
        '-c:v',
        'mjpeg',
        'pipe:1',
      ],
      timeoutMs,
      'buffer',
    );
    const buf = stdout as Buffer;
    if (buf.length < 4 || buf[0] !== 0xff || buf[1] !== 0xd8) throw new Error('ffmpeg produced no picture');
    return buf;
  } catch (err) {
    throw new AlprError('CONFIG_INVALID', `snapshot failed: ${(err as Error).message}`, { retriable: true });
  }
}
