/**
 * The ffmpeg RTSP source against a real RTSP server on loopback (GStreamer's, see
 * test/support/rtsp.ts) serving clip 04 (1280x720, 30 fps, 140 frames, H.264) as-is: a whole
 * clip over TCP, a server that dies mid-stream and comes back on the same port, and a port
 * where nothing listens. Needs ffmpeg and the GStreamer RTSP server; like shared data, missing
 * pieces fail in CI and skip loudly elsewhere.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createFrameSource, type FrameSource, type SourceSpec } from '../../src-pipeline/ingest/index.js';
import type { SourceState, SourceStats } from '../../src-pipeline/ingest/stats.js';
import { rtspSkip, startRtspServer, type RtspServer } from '../support/rtsp.js';
import { sharedDataDir, sharedSkip } from '../support/shared.js';
import { ffmpegSkip, freePort } from '../support/tools.js';
import { collect } from '../support/frames.js';

const CLIP = sharedDataDir('video', '04_uk_roundabout_theaiguys_license_plate.mp4');
const CLIP_FRAMES = 140;

const skip = sharedSkip([CLIP]) || ffmpegSkip() || rtspSkip();

/** Everything started here is stopped in after(), whatever a test did or failed to do. */
const servers: RtspServer[] = [];
const sources: FrameSource[] = [];
after(async () => {
  await Promise.all(sources.map((s) => s.stop()));
  await Promise.all(servers.map((s) => s.stop()));
});

async function server(opts: Parameters<typeof startRtspServer>[0]): Promise<RtspServer> {
  const s = await startRtspServer(opts);
  servers.push(s);
  return s;
}

function source(spec: Omit<SourceSpec, 'type' | 'transport'>): FrameSource {
  // Short timeouts and backoff keep the test fast; the defaults are seconds.
  const src = createFrameSource({ type: 'rtsp', transport: 'tcp', stallTimeoutMs: 3000, backoff: { initialMs: 200, maxMs: 1000 }, ...spec });
  sources.push(src);
  return src;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await sleep(20);
  }
  return pred();
}

describe('ffmpeg RTSP source against a real RTSP server', { skip }, () => {
  it('reads the whole clip over TCP: right size, about every frame', { timeout: 30_000 }, async () => {
    const srv = await server({ file: CLIP });
    // No reconnect: the source ends when the stream does, so the whole clip is one run.
    const src = source({ id: 'rtsp-clip', source: srv.url, reconnect: false });
    const t0 = performance.now();
    const frames = await collect(src);
    const stats = src.stats();
    assert.deepEqual(frames.sizes, [`1280x720:${1280 * 720 * 3}`]);
    // A few frames may be lost while the client joins; a real-time stream of 4.7 s cannot come much faster.
    assert.ok(frames.length >= CLIP_FRAMES - 10 && frames.length <= CLIP_FRAMES + 3, `got ${frames.length} frames, expected ~${CLIP_FRAMES}`);
    frames.forEach((f, i) => assert.equal(f.index, i));
    for (let i = 1; i < frames.length; i++) assert.ok(frames[i].ptsMs >= frames[i - 1].ptsMs);
    assert.ok(performance.now() - t0 > 3500, 'the server streams in real time');
    assert.equal(stats.width, 1280);
    assert.equal(stats.height, 720);
    assert.equal(stats.framesIn, frames.length);
    assert.equal(stats.reconnects, 0);
    // The server says goodbye (RTCP BYE) at the end of the file and ffmpeg exits cleanly.
    assert.equal(stats.state, 'stopped', `state ${stats.state}: ${stats.lastError ?? ''}`);
  });

  it('a server killed mid-stream: reconnecting, then frames again once it is back on the same port', { timeout: 40_000 }, async () => {
    const first = await server({ file: CLIP, loop: true });
    const src = source({ id: 'rtsp-flaky', source: first.url });
    const states = new Set<SourceState>();
    const poll = setInterval(() => states.add(src.stats().state), 10);
    let killedAt = 0;
    let afterRestart = 0;
    let sawReconnecting = false;
    let recovered: SourceStats | undefined;
    try {
      const frames = await collect(src, async (_f, n) => {
        if (n === 30) {
          first.kill();
          killedAt = n;
          sawReconnecting = await waitFor(() => src.stats().state === 'reconnecting', 10_000);
          assert.ok(sawReconnecting, `state after the kill: ${src.stats().state}`);
          // The camera comes back where it was.
          await server({ file: CLIP, port: first.port, loop: true });
          return false;
        }
        if (killedAt && n > killedAt) afterRestart++;
        // Read the stats before breaking out: leaving the loop stops the source.
        if (afterRestart >= 30) recovered = src.stats();
        return afterRestart >= 30;
      });
      assert.ok(recovered, `only ${afterRestart} frames after the restart`);
      assert.ok(states.has('reconnecting'), `states seen: ${[...states].join(', ')}`);
      assert.ok(recovered.reconnects >= 1, `reconnects ${recovered.reconnects}`);
      assert.equal(recovered.state, 'running');
      assert.equal(recovered.lastError, undefined, 'cleared once frames flow again');
      assert.deepEqual(frames.sizes, [`1280x720:${1280 * 720 * 3}`]);
      for (let i = 1; i < frames.length; i++) assert.ok(frames[i].index > frames[i - 1].index, `index ${frames[i].index} after ${frames[i - 1].index}`);
    } finally {
      clearInterval(poll);
      await src.stop();
    }
    assert.equal(src.stats().state, 'stopped');
  });

  it('nothing listening: retries without frames, and stop() returns promptly', { timeout: 30_000 }, async () => {
    const port = await freePort();
    const src = source({ id: 'rtsp-nobody', source: `rtsp://127.0.0.1:${port}/clip`, stallTimeoutMs: 1000, backoff: { initialMs: 100, maxMs: 300 } });
    const it = src[Symbol.asyncIterator]();
    const next = it.next();
    assert.ok(await waitFor(() => src.stats().reconnects >= 2, 10_000), `stats: ${JSON.stringify(src.stats())}`);
    const stats = src.stats();
    assert.ok(stats.state === 'reconnecting' || stats.state === 'starting', `state ${stats.state}`);
    assert.ok(stats.lastError && stats.lastError.length > 0, 'the error says what happened');
    assert.equal(stats.framesIn, 0);
    const t0 = performance.now();
    await src.stop();
    assert.ok(performance.now() - t0 < 3000, `stop took ${performance.now() - t0} ms`);
    assert.equal(src.stats().state, 'stopped');
    assert.equal((await next).done, true, 'iteration ends after stop');
  });
});
