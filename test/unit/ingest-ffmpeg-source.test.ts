/**
 * The decoder-child plumbing without ffmpeg: argv building, and custom sources driven by a
 * small Node child that writes frames in awkward chunk sizes, stalls or dies.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { customArgv, FfmpegFrameSource, ffmpegArgs, splitCommand } from '../../src-pipeline/ingest/ffmpeg-source.js';
import { createFrameSource, inferSourceType, registeredSourceTypes } from '../../src-pipeline/ingest/index.js';
import type { Frame } from '../../src-pipeline/ingest/frame-source.js';

/** A custom source whose "decoder" is `node -e script`. */
function nodeSource(script: string, extra: { stallTimeoutMs?: number; reconnect?: boolean } = {}) {
  return new FfmpegFrameSource({
    id: 'fake',
    type: 'custom',
    source: 'unused',
    width: 4,
    height: 2,
    command: [process.execPath, '-e', script],
    backoff: { initialMs: 50, maxMs: 200 },
    ...extra,
  });
}

describe('ffmpeg argv', () => {
  it('builds input options per source type', () => {
    const size = { width: 640, height: 360 };
    const file = ffmpegArgs({ id: 'f', type: 'file', source: 'a.mp4', loop: true, realtime: true }, size);
    assert.deepEqual(file.slice(0, 4), ['-hide_banner', '-loglevel', 'error', '-nostdin']);
    assert.ok(file.join(' ').includes('-re -stream_loop -1 -i a.mp4'));
    assert.ok(file.join(' ').endsWith('-pix_fmt rgb24 -f rawvideo pipe:1'));
    const rtsp = ffmpegArgs({ id: 'r', type: 'rtsp', source: 'rtsp://h/s', transport: 'udp', width: 640, height: 360, fpsCap: 5 }, size).join(' ');
    assert.ok(rtsp.includes('-rtsp_transport udp -timeout 10000000 -i rtsp://h/s'), rtsp);
    assert.ok(rtsp.includes('-vf fps=5,scale=640:360'), rtsp);
    assert.ok(ffmpegArgs({ id: 'v', type: 'v4l2', source: '/dev/video0' }, size).join(' ').includes('-f v4l2 -i /dev/video0'));
  });

  it('splits and fills custom command templates', () => {
    assert.deepEqual(splitCommand(`gst-launch-1.0 -q "a b" 'c d' e`), ['gst-launch-1.0', '-q', 'a b', 'c d', 'e']);
    assert.deepEqual(customArgv({ id: 'c', type: 'custom', source: 'rtsp://x', width: 8, height: 6, command: 'dec {source} {width}x{height}' }), [
      'dec',
      'rtsp://x',
      '8x6',
    ]);
  });

  it('registers every type and infers types from a bare source', () => {
    assert.deepEqual(registeredSourceTypes().sort(), ['custom', 'file', 'rtsp', 'v4l2']);
    assert.equal(inferSourceType('rtsp://cam/1'), 'rtsp');
    assert.equal(inferSourceType('/dev/video2'), 'v4l2');
    assert.equal(inferSourceType('clip.mp4'), 'file');
    assert.throws(() => createFrameSource({ id: 'c', type: 'custom', source: 'x', command: 'x' }), /width and height/);
  });
});

describe('custom source plumbing', () => {
  it('assembles frames across odd chunk boundaries and counts a truncated tail as a decode error', { timeout: 10_000 }, async () => {
    // 4x2 rgb24 = 24 bytes a frame; 2.5 frames written as 7-byte chunks, then exit 0.
    const script = `const b=Buffer.alloc(60);for(let i=0;i<60;i++)b[i]=i;let o=0;const t=setInterval(()=>{process.stdout.write(b.subarray(o,o+7));o+=7;if(o>=60){clearInterval(t);}},1)`;
    const src = nodeSource(script, { reconnect: false });
    const frames: Frame[] = [];
    for await (const f of src) frames.push(f);
    assert.equal(frames.length, 2);
    assert.deepEqual(
      [...frames[1].image.data],
      Array.from({ length: 24 }, (_, i) => 24 + i),
    );
    const st = src.stats();
    assert.equal(st.decodeErrors, 1, 'the half frame at the end');
    assert.equal(st.state, 'stopped');
  });

  it('counts stderr lines as decode errors and keeps a bounded tail', { timeout: 10_000 }, async () => {
    // writeSync: a Node child's stderr socket is asynchronous, so process.exit could cut it short.
    const src = nodeSource(`let s='';for(let i=0;i<2000;i++)s+='bad block '+i+'\\n';require('fs').writeSync(2,s);process.exit(3)`, { reconnect: false });
    for await (const f of src) assert.fail(`unexpected frame ${f.index}`);
    const st = src.stats();
    assert.equal(st.state, 'error');
    assert.equal(st.decodeErrors, 2000);
    assert.ok((st.lastError ?? '').length < 5000);
    assert.match(st.lastError ?? '', /code 3.*bad block 1999/s);
  });

  it('a live source that stalls is killed and retried with backoff', { timeout: 10_000 }, async () => {
    const src = nodeSource(`setTimeout(()=>{},60000)`, { stallTimeoutMs: 200 });
    src.start();
    const end = Date.now() + 5000;
    while (src.stats().reconnects < 2 && Date.now() < end) await new Promise((r) => setTimeout(r, 20));
    const st = src.stats();
    assert.ok(st.reconnects >= 2, `reconnects ${st.reconnects}`);
    assert.match(st.lastError ?? '', /no data for 200 ms/);
    await src.stop();
    assert.equal(src.stats().state, 'stopped');
    assert.equal(src.childPid, undefined);
  });
});
