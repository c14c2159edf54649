/**
 * Checks for external programs and a free loopback port, shared by the integration tests.
 * Same skip policy as shared.ts: a missing tool fails in CI (process.env.CI set) and skips
 * loudly elsewhere.
 */
import { execFileSync } from 'node:child_process';
import net from 'node:net';

/** false when ffmpeg and ffprobe run; otherwise the loud reason (throws in CI). */
export function ffmpegSkip(): false | string {
  try {
    execFileSync('ffmpeg', ['-version'], { stdio: 'ignore' });
    execFileSync('ffprobe', ['-version'], { stdio: 'ignore' });
    return false;
  } catch {
    const message = 'ffmpeg/ffprobe not on PATH (Debian package `ffmpeg`)';
    if (process.env.CI) throw new Error(`${message}; CI must have it, refusing to skip`);
    process.stderr.write(`\n*** SKIPPED: ${message}\n\n`);
    return message;
  }
}

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}
