/**
 * The ffmpeg frame source on a real clip (clip 04: 1280x720, 30 fps, 140 frames): full-speed
 * reads, a corrupt file, a decoder killed mid-stream, and real-time pacing. Needs ffmpeg and
 * ffprobe on PATH (Debian `ffmpeg`); like shared data, a missing ffmpeg fails in CI and skips
 * loudly elsewhere.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FfmpegFrameSource } from '../../src-pipeline/ingest/ffmpeg-source.js';
import { createFrameSource } from '../../src-pipeline/ingest/index.js';
import type { SourceState, SourceStats } from '../../src-pipeline/ingest/stats.js';
import { sharedDataDir, sharedSkip } from '../support/shared.js';
import { ffmpegSkip } from '../support/tools.js';
import { collect } from '../support/frames.js';

const CLIP = sharedDataDir('video', '04_uk_roundabout_theaiguys_license_plate.mp4');
const CLIP_FRAMES = 140;
const CLIP_FPS = 30;

const skip = sharedSkip([CLIP]) || ffmpegSkip();
const tmp = mkdtempSync(join(tmpdir(), 'ovr-alpr-ingest-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await sleep(20);
  }
  return pred();
}

describe('ffmpeg frame source on a real clip', { skip }, () => {
  it('reads the whole file as fast as possible: every frame, right size, monotonic indices', { timeout: 60_000 }, async () => {
    const src = createFrameSource({ id: 'clip04', type: 'file', source: CLIP });
    const frames = await collect(src);
    const stats = src.stats();
    assert.ok(Math.abs(frames.length - CLIP_FRAMES) <= 3, `got ${frames.length} frames, expected ~${CLIP_FRAMES}`);
    assert.deepEqual(frames.sizes, [`1280x720:${1280 * 720 * 3}`]);
    frames.forEach((f, i) => assert.equal(f.index, i));
    for (let i = 1; i < frames.length; i++) assert.ok(frames[i].ptsMs > frames[i - 1].ptsMs);
    assert.ok(Math.abs(frames[30].ptsMs - 1000) < 1, `pts of frame 30: ${frames[30].ptsMs}`);
    assert.ok(!Number.isNaN(Date.parse(frames[0].capturedAt)));
    assert.equal(stats.state, 'stopped');
    assert.equal(stats.drops, 0, 'file reads apply backpressure instead of dropping');
    assert.equal(stats.framesIn, frames.length);
    assert.equal(stats.framesOut, frames.length);
    assert.equal(stats.width, 1280);
    assert.equal(stats.height, 720);
  });

  it('scales to a configured size and honours fps_cap', { timeout: 60_000 }, async () => {
    const src = createFrameSource({ id: 'small', type: 'file', source: CLIP, width: 320, height: 180, fpsCap: 10 });
    const frames = await collect(src);
    assert.deepEqual(frames.sizes, [`320x180:${320 * 180 * 3}`]);
    // 4.67 s at 10 fps.
    assert.ok(Math.abs(frames.length - 47) <= 3, `got ${frames.length} frames at fps_cap 10`);
    assert.ok(Math.abs(frames[10].ptsMs - 1000) < 1);
  });

  it('a slow reader still gets every frame, including those held back when the decoder exits', { timeout: 60_000 }, async () => {
    // Tiny frames put several in one pipe chunk, so the decoder finishes while frames are still
    // held back behind a full queue: the end of the file must not cut them off.
    const spec = { type: 'file' as const, source: CLIP, width: 64, height: 36 };
    const fast = await collect(createFrameSource({ id: 'fast', ...spec }));
    const slowSrc = createFrameSource({ id: 'slow', ...spec, queueCapacity: 1 });
    const slow = await collect(slowSrc, async (f) => {
      if (f.index % 10 === 0) await sleep(25);
      return false;
    });
    assert.ok(Math.abs(fast.length - CLIP_FRAMES) <= 3, `got ${fast.length} frames`);
    assert.equal(slow.length, fast.length);
    slow.forEach((f, i) => assert.equal(f.index, i));
    assert.equal(slowSrc.stats().drops, 0);
    assert.equal(slowSrc.stats().framesIn, slow.length);
  });

  it('stop() while the decoder is paused by backpressure ends promptly', { timeout: 30_000 }, async () => {
    const src = new FfmpegFrameSource({ id: 'paused', type: 'file', source: CLIP });
    const it = src[Symbol.asyncIterator]();
    assert.equal((await it.next()).done, false);
    await sleep(500);
    const t0 = performance.now();
    await src.stop();
    assert.ok(performance.now() - t0 < 3000, `stop took ${performance.now() - t0} ms`);
    assert.equal(src.stats().state, 'stopped');
    assert.equal(src.childPid, undefined);
    assert.equal((await it.next()).done, true, 'iteration ends after stop');
  });

  it('a corrupt file ends in the error state without throwing or hanging', { timeout: 30_000 }, async () => {
    const bad = join(tmp, 'corrupt.mp4');
    const bytes = new Uint8Array(256 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 2654435761) >>> 24;
    writeFileSync(bad, bytes);
    const src = createFrameSource({ id: 'bad', type: 'file', source: bad });
    const frames = await collect(src);
    const stats = src.stats();
    assert.equal(frames.length, 0);
    assert.equal(stats.state, 'error');
    assert.ok(stats.lastError && stats.lastError.length > 0, 'the error says what happened');
    await src.stop();
  });

  it('a missing file and a missing decoder binary are errors too', { timeout: 30_000 }, async () => {
    const gone = createFrameSource({ id: 'gone', type: 'file', source: join(tmp, 'nope.mp4') });
    assert.equal((await collect(gone)).length, 0);
    assert.equal(gone.stats().state, 'error');
    const nobin = createFrameSource({ id: 'nobin', type: 'file', source: CLIP, ffmpegPath: join(tmp, 'no-ffmpeg') });
    assert.equal((await collect(nobin)).length, 0);
    assert.equal(nobin.stats().state, 'error');
    assert.match(nobin.stats().lastError ?? '', /no-ffmpeg/);
  });

  it('a killed decoder of a file source (no reconnect) leaves the error state', { timeout: 30_000 }, async () => {
    const src = new FfmpegFrameSource({ id: 'killed-file', type: 'file', source: CLIP });
    const frames = await collect(src, (_f, n) => {
      if (n === 5) process.kill(src.childPid ?? 0, 'SIGKILL');
      return false;
    });
    assert.ok(frames.length >= 5 && frames.length < CLIP_FRAMES, `${frames.length} frames`);
    assert.equal(src.stats().state, 'error');
    assert.match(src.stats().lastError ?? '', /SIGKILL/);
  });

  it('a killed decoder of a live source goes to reconnecting and recovers on restart', { timeout: 60_000 }, async () => {
    // A custom source is live (reconnects); ffmpeg -re stands in for a camera.
    const src = new FfmpegFrameSource({
      id: 'live',
      type: 'custom',
      source: CLIP,
      width: 320,
      height: 180,
      command: 'ffmpeg -hide_banner -loglevel error -nostdin -re -i {source} -vf scale={width}:{height} -pix_fmt rgb24 -f rawvideo pipe:1',
      backoff: { initialMs: 200, maxMs: 1000 },
    });
    const states = new Set<SourceState>();
    const poll = setInterval(() => states.add(src.stats().state), 10);
    let firstPid: number | undefined;
    let afterKill = 0;
    let recovered: SourceStats | undefined;
    try {
      const frames = await collect(src, async (_f, n) => {
        if (n === 10) {
          firstPid = src.childPid;
          process.kill(firstPid ?? 0, 'SIGKILL');
          assert.ok(await waitFor(() => src.stats().state === 'reconnecting', 5000), `state ${src.stats().state}`);
          states.add('reconnecting');
          return false;
        }
        if (n > 10) afterKill++;
        // Read before breaking out: leaving the loop stops the source.
        if (afterKill >= 10) recovered = src.stats();
        return afterKill >= 10;
      });
      const stats = recovered;
      assert.ok(stats);
      assert.ok(states.has('reconnecting'), `states seen: ${[...states].join(', ')}`);
      assert.equal(afterKill, 10, 'frames flow again after the restart');
      assert.ok(stats.reconnects >= 1);
      assert.notEqual(src.childPid, firstPid, 'a new child');
      frames.forEach((f, i) => assert.equal(f.index, i, 'indices keep counting across the reconnect'));
      assert.equal(stats.state, 'running');
      assert.equal(stats.lastError, undefined, 'cleared once frames flow again');
    } finally {
      clearInterval(poll);
      await src.stop();
    }
    assert.equal(src.stats().state, 'stopped');
    assert.equal(src.childPid, undefined, 'stop() leaves no child behind');
  });

  it('real-time pacing delivers at about the clip frame rate', { timeout: 30_000 }, async () => {
    const src = createFrameSource({ id: 'rt', type: 'file', source: CLIP, realtime: true, width: 320, height: 180 });
    const stamps: number[] = [];
    await collect(src, (_f, n) => {
      stamps.push(performance.now());
      return n >= 75;
    });
    // Skip the first frames: -re may let a few through in a burst while the decoder starts.
    const span = stamps[stamps.length - 1] - stamps[15];
    const fps = ((stamps.length - 1 - 15) * 1000) / span;
    const ratio = fps / CLIP_FPS;
    assert.ok(ratio > 0.8 && ratio < 1.25, `delivered ${fps.toFixed(1)} fps, ratio ${ratio.toFixed(2)} to the clip's ${CLIP_FPS}`);
    assert.equal(src.stats().state, 'stopped', 'breaking out of the loop stops the source');
  });
});
