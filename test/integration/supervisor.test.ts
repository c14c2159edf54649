/**
 * The Supervisor with real camera workers (worker threads running the real Recognizer on the
 * models in models/, ffmpeg decoding clips from ../shared/data) and a real JSONL sink: a camera
 * that fails for real is restarted with backoff up to its budget and then given up on, while a
 * healthy camera next to it finishes with its events in the sink; stop() ends a looping camera.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfigs } from '../../src-pipeline/cli/run.js';
import { CameraConfig } from '../../src-pipeline/common/cameras-config.js';
import type { PlateEvent } from '../../src-pipeline/common/plate-event.js';
import { defaultConfigDir } from '../../src-pipeline/config-loader.js';
import type { PipelineConfigs } from '../../src-pipeline/pipeline/camera-runner.js';
import { Supervisor, type RestartPolicy } from '../../src-pipeline/pipeline/supervisor.js';
import { JsonlSink } from '../../src-pipeline/sinks/jsonl-sink.js';
import { sharedDataDir, sharedSkip } from '../support/shared.js';

/** 79 frames, two plates readable from the start: JLN390 (hot-rod) and JMH552 (Land Cruiser). */
const CLIP = sharedDataDir('video', '03_nz_highway_incar_qengineering.mp4');
const POLICY: RestartPolicy = { maxRestarts: 2, windowMs: 60_000, backoff: { initialMs: 50, maxMs: 100 } };

interface LogLine {
  level: string;
  message: string;
  details?: Record<string, unknown>;
}

/** OS threads of this process (Linux), to see camera workers (and their onnxruntime threads) go away. */
function threadCount(): number | null {
  return existsSync('/proc/self/task') ? readdirSync('/proc/self/task').length : null;
}

describe('Supervisor with real camera workers', { skip: sharedSkip([CLIP]) }, () => {
  let dir: string;
  let configs: PipelineConfigs;

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'ovr-alpr-supervisor-'));
    configs = loadConfigs(defaultConfigDir());
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('restarts a camera whose source is missing with backoff, gives up after the budget, while a healthy camera finishes into the sink', async () => {
    const missing = join(dir, 'no-such-clip.mp4');
    const sink = new JsonlSink({ path: join(dir, 'events.jsonl') });
    const logs: LogLine[] = [];
    const taken: PlateEvent[] = [];
    const sup = new Supervisor({
      cameras: [CameraConfig.parse({ id: 'missing', source: missing }), CameraConfig.parse({ id: 'clip03', source: CLIP })],
      configs,
      sink,
      restart: POLICY,
      host: 'test-host',
      log: (level, message, details) => logs.push({ level, message, details }),
      onEvent: (e) => taken.push(e),
    });
    sup.start();
    const statuses = await sup.done();
    await sink.close();

    const bad = statuses.find((s) => s.id === 'missing')!;
    assert.equal(bad.state, 'failed');
    assert.equal(bad.restarts, 2);
    assert.equal(bad.result, null);
    assert.ok(bad.lastError?.includes(missing) && /no such file/i.test(bad.lastError), `lastError says why: ${bad.lastError}`);
    const restarts = logs.filter((l) => l.details?.camera_id === 'missing' && l.message === 'camera worker died; restarting');
    assert.deepEqual(
      restarts.map((l) => l.details?.in_ms),
      [50, 100],
      'capped exponential backoff between restarts',
    );
    assert.ok(logs.some((l) => l.level === 'error' && l.details?.camera_id === 'missing' && /giving up/.test(l.message)));

    const good = statuses.find((s) => s.id === 'clip03')!;
    assert.equal(good.state, 'finished');
    assert.equal(good.restarts, 0);
    assert.equal(good.lastError, null);
    assert.equal(good.result?.pipeline.frames, 79);
    assert.deepEqual([...(good.result?.pipeline.plates ?? [])].sort(), ['JLN390', 'JMH552']);

    // Every event the worker reported is in the sink, each once, and the sink took only this camera's.
    const lines = readFileSync(sink.path, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as PlateEvent);
    assert.deepEqual(lines.map((e) => e.plate.normalized_text).sort(), ['JLN390', 'JMH552']);
    assert.ok(lines.every((e) => e.camera_id === 'clip03' && e.node.host === 'test-host'));
    assert.deepEqual(taken.map((e) => e.event_id).sort(), lines.map((e) => e.event_id).sort());
  });

  it('a worker that cannot load its models fails with the model error as lastError', async () => {
    const broken: PipelineConfigs = {
      ...configs,
      recognition: { ...configs.recognition, models: { ...configs.recognition.models, vehicle: 'no-such-model' } },
    };
    const sink = new JsonlSink({ path: join(dir, 'broken.jsonl') });
    const sup = new Supervisor({
      cameras: [CameraConfig.parse({ id: 'badmodel', source: CLIP })],
      configs: broken,
      sink,
      restart: { ...POLICY, maxRestarts: 1 },
    });
    sup.start();
    const [status] = await sup.done();
    await sink.close();
    assert.equal(status.state, 'failed');
    assert.equal(status.restarts, 1);
    assert.ok(status.lastError?.startsWith('MODEL_MANIFEST_INVALID') && status.lastError.includes('no-such-model'), `lastError: ${status.lastError}`);
    assert.equal(sink.lines, 0);
  });

  it('stop() ends a looping camera promptly: state stopped, result in, worker gone', async () => {
    const sink = new JsonlSink({ path: join(dir, 'loop.jsonl') });
    const threadsBefore = threadCount();
    const sup = new Supervisor({ cameras: [CameraConfig.parse({ id: 'loop', source: CLIP, loop: true })], configs, sink, restart: POLICY });
    sup.start();
    // Wait until the worker has gone past one pass of the clip (stats arrive once a second).
    const deadline = Date.now() + 60_000;
    while ((sup.status()[0].latest?.pipeline.frames ?? 0) < 100) {
      assert.ok(Date.now() < deadline, `looping camera made no progress: ${JSON.stringify(sup.status()[0])}`);
      assert.ok(['starting', 'running'].includes(sup.status()[0].state), `unexpected state ${sup.status()[0].state}: ${sup.status()[0].lastError}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    const threadsRunning = threadCount();
    const t0 = performance.now();
    const [status] = await sup.stop(10_000);
    const stopMs = performance.now() - t0;
    await sink.close();

    assert.ok(stopMs < 5000, `stop took ${Math.round(stopMs)} ms`);
    assert.equal(status.state, 'stopped');
    assert.equal(status.restarts, 0);
    // A result means the worker finalized its tracks, said "done" and exited on its own (not terminated).
    assert.ok(status.result, 'the stopped worker handed in its result');
    assert.ok(status.result.pipeline.frames >= 100);
    assert.ok(status.result.pipeline.plates.includes('JLN390'));
    if (threadsBefore !== null && threadsRunning !== null) {
      await new Promise((r) => setTimeout(r, 200));
      const threadsAfter = threadCount()!;
      assert.ok(threadsAfter < threadsRunning, `worker threads gone: ${threadsBefore} before, ${threadsRunning} running, ${threadsAfter} after`);
    }
  });
});
