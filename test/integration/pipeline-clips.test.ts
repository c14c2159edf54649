/**
 * Acceptance of the video pipeline on the real clips in ../shared/data/video (ground truth in
 * plates.csv there), through the built command line as an operator runs it:
 * `ovr-alpr run --source clip --data-dir D --events-jsonl F --json`. Each camera runs in a
 * worker thread of the built dist/, events go to the embedded SQLite store (with JPEGs) and a
 * JSONL file, and the summary is the last stdout line.
 *
 * Needs dist/ (npm ci builds it), ffmpeg, and the shared clips and models.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { editDistance } from '../../src-pipeline/common/plate-text.js';
import { projectRoot } from '../../src-pipeline/paths.js';
import { openSqliteStorage } from '../../src-pipeline/store/sqlite.js';
import { sharedDataDir, sharedSkip } from '../support/shared.js';
import { ffmpegSkip } from '../support/tools.js';

const ROOT = projectRoot();
const BIN = join(ROOT, 'bin', 'ovr-alpr.js');
const clip = (name: string) => sharedDataDir('video', name);
const CLIPS = {
  tollbooth: clip('01_vn_tollbooth_parkpow_cars.mp4'),
  incar: clip('03_nz_highway_incar_qengineering.mp4'),
  roundabout: clip('04_uk_roundabout_theaiguys_license_plate.mp4'),
  overpass540: clip('05_nl_highway_overpass_degirum_Traffic_540p.mp4'),
  overpass720: clip('07_ca_overpass_cars_moving_720p.mp4'),
  parking: clip('08_us_parkinglot_topdown_intel_car-detection.mp4'),
};

const skip = sharedSkip(Object.values(CLIPS)) || ffmpegSkip();
const tmp = mkdtempSync(join(tmpdir(), 'ovr-alpr-clips-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

interface Summary {
  frames: number;
  fps: number;
  dropped: number;
  events: number;
  plates: string[];
  cameras: { id: string; state: string; frames: number; tracks: number; decode_errors: number; rejected: Record<string, number> }[];
}

interface ClipRun {
  summary: Summary;
  stdout: string;
  stderr: string;
  dataDir: string;
  jsonl: string;
}

function runClip(name: string, source: string, extra: string[] = []): Promise<ClipRun> {
  return runCli(name, ['--source', source, ...extra]);
}

function runCli(name: string, args: string[]): Promise<ClipRun> {
  const dataDir = join(tmp, name);
  const jsonl = join(dataDir, 'events.jsonl');
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [BIN, 'run', ...args, '--data-dir', dataDir, '--events-jsonl', jsonl, '--json'],
      { cwd: ROOT, timeout: 300_000, maxBuffer: 64 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) return reject(new Error(`ovr-alpr run ${name} failed: ${err.message}\nstderr: ${stderr.slice(-4000)}`));
        const lines = stdout.trim().split('\n');
        const summary = JSON.parse(lines[lines.length - 1]) as Summary;
        process.stderr.write(`${name}: ${summary.frames} frames, ${summary.fps} fps, events ${JSON.stringify(summary.plates)}\n`);
        resolve({ summary, stdout, stderr, dataDir, jsonl });
      },
    );
  });
}

/** Every event is in the store once, with its three JPEGs on disk, and in the JSONL file. */
async function assertPersisted(run: ClipRun): Promise<void> {
  const storage = await openSqliteStorage(join(run.dataDir, 'events.sqlite'));
  try {
    const stored = await storage.recent({ limit: 100, offset: 0 });
    assert.equal(stored.length, run.summary.events);
    assert.deepEqual(stored.map((e) => e.plate.normalized_text).sort(), [...run.summary.plates].sort());
    for (const e of stored) {
      for (const url of [e.images.plate_url, e.images.vehicle_url, e.images.frame_url]) {
        assert.ok(url, `event ${e.event_id} has all three image URLs`);
        const file = join(run.dataDir, 'images', url.replace(/^\/images\//, ''));
        assert.ok(existsSync(file), `${file} exists`);
        assert.deepEqual([...readFileSync(file).subarray(0, 3)], [0xff, 0xd8, 0xff], `${file} is a JPEG`);
      }
      assert.ok(e.latency_ms !== null && e.latency_ms >= 0);
      assert.ok(e.extras.frame_number !== null && e.extras.quality_score !== null);
      assert.ok(e.vehicle.type, 'vehicle type is set');
    }
  } finally {
    await storage.close();
  }
  const lines = existsSync(run.jsonl) ? readFileSync(run.jsonl, 'utf8').trim().split('\n').filter(Boolean) : [];
  assert.equal(lines.length, run.summary.events);
}

function count(plates: readonly string[], p: string): number {
  return plates.filter((x) => x === p).length;
}

describe('ovr-alpr run on the shared clips', { skip, concurrency: false }, () => {
  it('01 toll barrier: each lane vehicle once, never the burned-in overlay text', async () => {
    const run = await runClip('01', CLIPS.tollbooth);
    const { plates } = run.summary;
    for (const p of ['34A36837', '34A23126', '89C20339']) assert.equal(count(plates, p), 1, `${p} exactly once in ${JSON.stringify(plates)}`);
    assert.ok(!plates.some((p) => editDistance(p, '14B02819T') <= 2), `overlay text 14B02819T is not a vehicle: ${JSON.stringify(plates)}`);
    // The dark van in the adjacent lane (15C17174, UNCERTAIN in plates.csv) is don't-care;
    // anything else is a false event.
    const others = plates.filter((p) => !['34A36837', '34A23126', '89C20339'].includes(p));
    assert.ok(
      others.every((p) => editDistance(p, '15C17174') <= 3),
      `unexpected events ${JSON.stringify(others)}`,
    );
    assert.equal(run.summary.dropped, 0, 'a file read as fast as possible drops nothing');
    assert.equal(run.summary.cameras[0].state, 'finished');
    await assertPersisted(run);
  });

  it('03 in-car: JLN390 and JMH552 once each', async () => {
    const run = await runClip('03', CLIPS.incar);
    assert.deepEqual([...run.summary.plates].sort(), ['JLN390', 'JMH552']);
    await assertPersisted(run);
  });

  it('04 roundabout (UK format): LS15EBC once', async () => {
    const run = await runClip('04', CLIPS.roundabout, ['--region', 'eu']);
    assert.equal(count(run.summary.plates, 'LS15EBC'), 1, JSON.stringify(run.summary.plates));
    // The parked dark Ford is unreadable (don't-care); at most it could add one event.
    assert.ok(run.summary.events <= 2, JSON.stringify(run.summary.plates));
    await assertPersisted(run);
  });

  it('08 top-down parking lot (plates not readable): no events', async () => {
    const run = await runClip('08', CLIPS.parking);
    assert.equal(run.summary.events, 0, JSON.stringify(run.summary.plates));
    assert.ok(run.summary.frames > 300);
  });

  it('05 and 07 (many vehicles): no crash, plausible track counts, events reported', async () => {
    for (const [name, source, frames] of [
      ['05', CLIPS.overpass540, 330],
      ['07', CLIPS.overpass720, 295],
    ] as const) {
      const run = await runClip(name, source);
      const cam = run.summary.cameras[0];
      assert.equal(cam.state, 'finished');
      assert.ok(run.summary.frames >= frames, `${name}: ${run.summary.frames} frames`);
      // Dozens of vehicles pass; an id per detection (no tracking) would be in the thousands.
      assert.ok(cam.tracks >= 5 && cam.tracks <= 150, `${name}: ${cam.tracks} tracks`);
      assert.equal(cam.decode_errors, 0);
      assert.ok(Array.isArray(run.summary.plates) && run.summary.plates.length === run.summary.events);
      await assertPersisted(run);
    }
  });

  it('--cameras runs every enabled camera at once, each with its own plate format', async () => {
    const file = join(tmp, 'cameras.yaml');
    writeFileSync(
      file,
      [
        'cameras:',
        `  - id: incar`,
        `    source: ${JSON.stringify(CLIPS.incar)}`,
        `  - id: roundabout`,
        `    source: ${JSON.stringify(CLIPS.roundabout)}`,
        `    region: eu`,
        `  - id: parked`,
        `    source: /nonexistent.mp4`,
        `    enabled: false`,
      ].join('\n'),
    );
    const run = await runCli('cams', ['--cameras', file]);
    assert.deepEqual(run.summary.cameras.map((c) => [c.id, c.state]).sort(), [
      ['incar', 'finished'],
      ['roundabout', 'finished'],
    ]);
    assert.deepEqual([...run.summary.plates].sort(), ['JLN390', 'JMH552', 'LS15EBC']);
    assert.equal(run.summary.frames, 79 + 140);
    await assertPersisted(run);
  });

  it('a bad cameras.yaml stops before anything runs, naming the file, the key and the fix', async () => {
    const file = join(tmp, 'bad-cameras.yaml');
    writeFileSync(file, 'cameras:\n  - id: gate 1\n    source: rtsp://cam/stream\n    fps_cap: -5\n');
    const err = await runCli('bad', ['--cameras', file]).then(
      () => assert.fail('a bad cameras.yaml must fail'),
      (e: Error) => e.message,
    );
    assert.match(err, /CONFIG_INVALID/);
    assert.match(err, /bad-cameras\.yaml: cameras\.0\.id: use 1-64 letters/);
    assert.match(err, /bad-cameras\.yaml: cameras\.0\.fps_cap/);
    assert.match(err, /config\/cameras\.yaml/);
  });
});
