/**
 * The whole pipeline through the RTSP source: clip 04 served on loopback by a real RTSP server
 * (GStreamer, test/support/rtsp.ts), looping like a live camera, read by `ovr-alpr run
 * --source rtsp://…`. The plate must come out exactly once even though the clip loops (the
 * same car within the dedup window is a duplicate), and a server killed mid-stream and brought
 * back on the same port must be reconnected to without losing the run.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCmd, type RunSummary } from '../../src-pipeline/cli/run.js';
import { rtspSkip, startRtspServer, type RtspServer } from '../support/rtsp.js';
import { sharedDataDir, sharedSkip } from '../support/shared.js';
import { ffmpegSkip } from '../support/tools.js';

const CLIP = sharedDataDir('video', '04_uk_roundabout_theaiguys_license_plate.mp4');
const skip = sharedSkip([CLIP]) || ffmpegSkip() || rtspSkip();
const tmp = mkdtempSync(join(tmpdir(), 'ovr-alpr-rtsp-run-'));
const servers: RtspServer[] = [];
after(async () => {
  await Promise.all(servers.map((s) => s.stop()));
  rmSync(tmp, { recursive: true, force: true });
});

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(pred: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await sleep(50);
  }
}

describe('ovr-alpr run over RTSP on loopback', { skip }, () => {
  it('reads LS15EBC once from a looping stream and survives the server dying mid-stream', async () => {
    const first = await startRtspServer({ file: CLIP, loop: true });
    servers.push(first);
    const out: string[] = [];
    const err: string[] = [];
    const stop = new AbortController();
    const running = runCmd(
      ['--source', first.url, '--camera-id', 'gate-rtsp', '--region', 'eu', '--data-dir', join(tmp, 'data'), '--json', '--log-level', 'info'],
      {
        out: (l) => out.push(l),
        err: (l) => err.push(l),
        signal: stop.signal,
      },
    );
    let framesAtKill = 0;
    const statuses = () => err.filter((l) => l.includes('"camera status"')).map((l) => JSON.parse(l) as { frames: number; reconnects: number });
    const events = () =>
      out.filter((l) => l.startsWith('{"type":"event"')).map((l) => (JSON.parse(l) as { event: { plate: { normalized_text: string } } }).event);
    try {
      await until(() => events().some((e) => e.plate.normalized_text === 'LS15EBC'), 90_000, 'the LS15EBC event over RTSP');

      // The camera drops dead (no RTSP teardown), then comes back on the same address.
      await until(() => statuses().length > 0, 10_000, 'a camera status line');
      framesAtKill = statuses().at(-1)!.frames;
      first.kill();
      await sleep(1500);
      const second = await startRtspServer({ file: CLIP, loop: true, port: first.port });
      servers.push(second);
      // Frames flow again, and the looping clip shows the same car again: a duplicate, not an event.
      await until(() => statuses().some((st) => st.reconnects >= 1 && st.frames >= framesAtKill + 60), 60_000, 'frames after the reconnect');
    } finally {
      stop.abort();
    }
    const code = await running;
    assert.equal(code, 0, err.slice(-20).join('\n'));
    const summary = JSON.parse(out[out.length - 1]) as RunSummary;
    const cam = summary.cameras[0];
    assert.equal(cam.state, 'stopped');
    assert.ok(cam.reconnects >= 1, `reconnects: ${cam.reconnects}\n${err.slice(-20).join('\n')}`);
    assert.ok(summary.frames >= framesAtKill + 60, `frames: ${summary.frames}, ${framesAtKill} when the server died`);
    assert.deepEqual(
      events().map((e) => e.plate.normalized_text),
      ['LS15EBC'],
    );
    assert.deepEqual(summary.plates, ['LS15EBC']);
  });
});
