/**
 * CameraPipeline's own logic (tracks, read budget, vote, settle, filters, dedup, sampling,
 * event fields) over synthetic frames. Vehicle and plate finding is a scripted test double
 * (`ScriptedAnalyzerDouble`): the real Recognizer runs on real clips in the integration tests;
 * here the point is what the pipeline does with what the recogniser says. Everything else
 * (ByteTrack, vote, best shot, EventProcessor, JPEG encoding) is the real code.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { Box } from '../../src-pipeline/common/geometry.js';
import { EventsConfig, type EventsConfigInput } from '../../src-pipeline/common/events-config.js';
import { PipelineConfig, type PipelineConfigInput } from '../../src-pipeline/common/pipeline-config.js';
import { TrackingConfig, type TrackingConfigInput } from '../../src-pipeline/common/tracking-config.js';
import type { Frame } from '../../src-pipeline/ingest/frame-source.js';
import { CameraPipeline, type CameraSettings, type FrameAnalyzer, type PipelineStats } from '../../src-pipeline/pipeline/camera-pipeline.js';
import type { CapturedEvent } from '../../src-pipeline/sinks/event-sink.js';
import type { RgbImage } from '../../src-pipeline/vision/image.js';
import type { PlateResult, RejectedRead, VehicleResult } from '../../src-pipeline/vision/plate-candidates.js';

const W = 640;
const H = 480;
const T0 = Date.parse('2026-03-01T12:00:00.000Z');
/** Frames are 100 ms apart. */
const capturedAt = (index: number) => new Date(T0 + index * 100).toISOString();

/** A frame: a high-contrast checkerboard (sharp plates) or one flat grey (every crop is blur). */
function image(flat = false): RgbImage {
  const data = new Uint8Array(W * H * 3);
  if (flat) data.fill(128);
  else
    for (let y = 0; y < H; y++)
      for (let x = 0; x < W; x++) {
        const v = ((x >> 1) + (y >> 1)) % 2 ? 230 : 20;
        data.fill(v, (y * W + x) * 3, (y * W + x) * 3 + 3);
      }
  return { width: W, height: H, data };
}
const SHARP = image();
const FLAT = image(true);

/** What the scripted recogniser "sees" on one frame. */
interface Scene {
  vehicles: VehicleResult[];
  /** Plates found by readRegion, as absolute boxes; only those inside the asked region are returned. */
  plates: { box: Box; text: string; confidence: number }[];
  /** findVehicles rejects on this frame. */
  detectorFails?: boolean;
  /** findVehicles throws synchronously on this frame (a non-async implementation). */
  detectorThrows?: boolean;
}

const box = (x1: number, y1: number, x2: number, y2: number): Box => ({ x1, y1, x2, y2 });
const car = (b: Box, type = 'car', score = 0.9): VehicleResult => ({ type, score, box: b });
/** A plate where a plate sits: lower middle of the vehicle box. */
const plateOn = (v: Box): Box => {
  const w = v.x2 - v.x1;
  const h = v.y2 - v.y1;
  return box(v.x1 + w * 0.3, v.y1 + h * 0.75, v.x1 + w * 0.7, v.y1 + h * 0.85);
};

/**
 * Test double for the Recognizer (FrameAnalyzer): replays a per-frame script and records
 * every call, so tests can check which frames were analyzed and which regions were read.
 */
class ScriptedAnalyzerDouble implements FrameAnalyzer {
  readonly detectCalls: number[] = [];
  readonly readCalls: { frame: number; region: Box }[] = [];
  private readonly frameOf = new Map<RgbImage, number>();

  constructor(private readonly script: (index: number) => Scene) {}

  /** Frames for the pipeline; each gets its own RgbImage object so calls can be traced back to it. */
  async *frames(count: number, flat = false): AsyncGenerator<Frame> {
    for (let index = 0; index < count; index++) {
      const base = flat ? FLAT : SHARP;
      const img: RgbImage = { width: base.width, height: base.height, data: base.data };
      this.frameOf.set(img, index);
      yield { image: img, index, ptsMs: index * 100, capturedAt: capturedAt(index) };
      await new Promise((r) => setImmediate(r));
    }
  }

  findVehicles(img: RgbImage): Promise<VehicleResult[]> {
    const index = this.indexOf(img);
    this.detectCalls.push(index);
    const scene = this.script(index);
    if (scene.detectorThrows) throw new Error(`scripted synchronous detector crash on frame ${index}`);
    if (scene.detectorFails) return Promise.reject(new Error(`scripted detector failure on frame ${index}`));
    return Promise.resolve(scene.vehicles);
  }

  async readRegion(img: RgbImage, region: Box): Promise<{ plates: PlateResult[]; rejected: RejectedRead[]; ocrMs: number }> {
    const index = this.indexOf(img);
    this.readCalls.push({ frame: index, region });
    await new Promise((r) => setImmediate(r));
    const plates = this.script(index)
      .plates.filter((p) => (p.box.x1 + p.box.x2) / 2 >= region.x1 && (p.box.x1 + p.box.x2) / 2 <= region.x2)
      .filter((p) => (p.box.y1 + p.box.y2) / 2 >= region.y1 && (p.box.y1 + p.box.y2) / 2 <= region.y2)
      .map((p) => plateResult(p.text, p.confidence, p.box));
    return { plates, rejected: [], ocrMs: 1 };
  }

  private indexOf(img: RgbImage): number {
    const i = this.frameOf.get(img);
    assert.ok(i !== undefined, 'analyzer got an image that is not one of the frames');
    return i;
  }
}

function plateResult(text: string, confidence: number, b: Box): PlateResult {
  return {
    text,
    confidence,
    char_confidences: [...text].map(() => confidence),
    box: b,
    corners: null,
    detector_score: 0.9,
    detector: 'scripted',
    plate_class: 'single-row',
    region: 'us',
    strategy: 'scripted',
    vehicle: null,
  };
}

interface Setup {
  script: (index: number) => Scene;
  frames: number;
  flat?: boolean;
  camera?: Partial<CameraSettings>;
  events?: EventsConfigInput;
  tracking?: TrackingConfigInput;
  pipeline?: PipelineConfigInput;
  /**
   * Before handing out this frame, the source waits (up to 10 s) for the first event to reach
   * emit, so "emitted while the vehicle was in view" does not depend on how fast JPEG encoding
   * runs on a loaded machine.
   */
  holdAtFrameForEmit?: number;
}

interface Outcome {
  stats: PipelineStats;
  captured: CapturedEvent[];
  /** Index of the latest frame the source had handed out when each event reached emit. */
  emittedAtFrame: number[];
  analyzer: ScriptedAnalyzerDouble;
  logs: { level: string; message: string }[];
}

async function runPipeline(s: Setup): Promise<Outcome> {
  const analyzer = new ScriptedAnalyzerDouble(s.script);
  const captured: CapturedEvent[] = [];
  const emittedAtFrame: number[] = [];
  const logs: { level: string; message: string }[] = [];
  let latest = -1;
  let ids = 0;
  const pipeline = new CameraPipeline({
    camera: { id: 'cam-test', ...s.camera },
    analyzer,
    // A short lost-track buffer so vehicles that leave are finalized within a few frames.
    tracking: TrackingConfig.parse({ track_buffer: 5, ...s.tracking }),
    events: EventsConfig.parse(s.events ?? {}),
    pipeline: PipelineConfig.parse({ read_interval: 1, ...s.pipeline }),
    emit: async (c) => {
      captured.push(c);
      emittedAtFrame.push(latest);
    },
    log: (level, message) => logs.push({ level, message }),
    newId: () => `00000000-0000-4000-8000-${String(++ids).padStart(12, '0')}`,
    now: () => T0 + 60_000,
    host: 'test-host',
  });
  const source = analyzer.frames(s.frames, s.flat);
  async function* counted(): AsyncGenerator<Frame> {
    for await (const f of source) {
      if (f.index === s.holdAtFrameForEmit) {
        const until = Date.now() + 10_000;
        while (captured.length === 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
      }
      latest = f.index;
      yield f;
    }
  }
  const stats = await pipeline.run(counted());
  return { stats, captured, emittedAtFrame, analyzer, logs };
}

/** One vehicle in view on frames [from, to), moving `dx` px right per frame from `start`. */
function oneVehicle(start: Box, from: number, to: number, text: string, conf: (i: number) => number = () => 0.95, dx = 0, type = 'car') {
  return (i: number): Scene => {
    if (i < from || i >= to) return { vehicles: [], plates: [] };
    const b = box(start.x1 + dx * (i - from), start.y1, start.x2 + dx * (i - from), start.y2);
    return { vehicles: [car(b, type)], plates: [{ box: plateOn(b), text, confidence: conf(i) }] };
  };
}

const V1 = box(100, 100, 300, 300);
/** Reads never settle: the track is read on every frame it is due until it leaves. */
const NEVER_SETTLE: EventsConfigInput = { settle_min_reads: 1000 };

describe('CameraPipeline (scripted analyzer double)', () => {
  it('one event per vehicle track even when its plate is read on many frames', async () => {
    const r = await runPipeline({ script: oneVehicle(V1, 0, 20, 'ABC1234'), frames: 40, events: NEVER_SETTLE, pipeline: { emit_on_settle: false } });
    assert.ok(r.stats.reads >= 15, `reads ${r.stats.reads}`);
    assert.equal(r.stats.tracks, 1);
    assert.equal(r.captured.length, 1);
    assert.equal(r.stats.events, 1);
    assert.deepEqual(r.stats.plates, ['ABC1234']);
    assert.equal(r.captured[0].event.plate.normalized_text, 'ABC1234');
    assert.equal(r.captured[0].update, false);
  });

  it('emits early once the reads settle, and reads that track no more', async () => {
    const r = await runPipeline({
      script: oneVehicle(V1, 0, 60, 'ABC1234'),
      frames: 60,
      events: { settle_min_reads: 3, settle_confidence: 0.9 },
      pipeline: { emit_on_settle: true },
      holdAtFrameForEmit: 20,
    });
    assert.equal(r.captured.length, 1);
    // Settled after the 3rd read (frames 0, 1, 2): the event left while the vehicle was still in
    // view, not when the source ended.
    assert.ok(r.emittedAtFrame[0] < 20, `emitted when frame ${r.emittedAtFrame[0]} was current`);
    assert.equal(r.analyzer.readCalls.length, 3, `reads on frames ${r.analyzer.readCalls.map((c) => c.frame).join(',')}`);
    assert.equal(r.stats.read_attempts, 3);
    // Finalizing again when the source ends does not make a second event.
    assert.equal(r.stats.events, 1);
    assert.equal(r.stats.duplicates, 0);
  });

  it('without emit_on_settle a settled track is still not read again, and its event comes at the end', async () => {
    const r = await runPipeline({
      script: oneVehicle(V1, 0, 30, 'ABC1234'),
      frames: 30,
      events: { settle_min_reads: 3, settle_confidence: 0.9 },
      pipeline: { emit_on_settle: false },
    });
    assert.equal(r.analyzer.readCalls.length, 3);
    assert.equal(r.captured.length, 1);
    assert.equal(r.emittedAtFrame[0], 29);
  });

  it('respects reads_per_frame with several vehicles, and every vehicle gets read', async () => {
    const boxes = [box(20, 20, 200, 200), box(240, 20, 420, 200), box(440, 20, 620, 200), box(20, 260, 200, 440), box(240, 260, 420, 440)];
    const texts = ['AAA1111', 'BBB2222', 'CCC3333', 'DDD4444', 'EEE5555'];
    const script = (): Scene => ({
      vehicles: boxes.map((b) => car(b)),
      plates: boxes.map((b, k) => ({ box: plateOn(b), text: texts[k], confidence: 0.95 })),
    });
    const r = await runPipeline({ script, frames: 20, events: NEVER_SETTLE, pipeline: { reads_per_frame: 2, emit_on_settle: false } });
    const perFrame = new Map<number, number>();
    for (const c of r.analyzer.readCalls) perFrame.set(c.frame, (perFrame.get(c.frame) ?? 0) + 1);
    for (const [frame, n] of perFrame) assert.ok(n <= 2, `frame ${frame} had ${n} reads`);
    assert.equal(r.analyzer.readCalls.length, 20 * 2, 'the budget is used on every frame');
    assert.deepEqual([...r.stats.plates].sort(), texts);
    assert.equal(r.stats.events, 5);
  });

  it('plate text off the vehicle or in its top third never becomes an event (overlay text trap)', async () => {
    const script = (): Scene => ({
      vehicles: [car(V1)],
      plates: [
        // A timestamp banner straddling the vehicle's top edge: mostly outside the box.
        { box: box(120, 90, 280, 110), text: 'OVL2026', confidence: 0.99 },
        // Roof number / livery in the top third.
        { box: box(150, 110, 250, 140), text: 'TOP1234', confidence: 0.99 },
      ],
    });
    const r = await runPipeline({ script, frames: 20 });
    assert.ok(r.analyzer.readCalls.length > 0, 'the vehicle was looked at');
    assert.equal(r.stats.reads, 0);
    assert.equal(r.captured.length, 0);
    assert.equal(r.stats.events, 0);
    assert.equal(r.stats.rejected.no_reads, 1);
  });

  it('an ROI excludes vehicles outside it', async () => {
    const left = box(20, 100, 220, 300);
    const right = box(400, 100, 600, 300);
    const script = (): Scene => ({
      vehicles: [car(left), car(right)],
      plates: [
        { box: plateOn(left), text: 'LEFT123', confidence: 0.95 },
        { box: plateOn(right), text: 'RIGHT12', confidence: 0.95 },
      ],
    });
    const roi: [number, number][] = [
      [0, 0],
      [320, 0],
      [320, 480],
      [0, 480],
    ];
    const r = await runPipeline({ script, frames: 20, camera: { roi } });
    assert.deepEqual(r.stats.plates, ['LEFT123']);
    assert.ok(
      r.analyzer.readCalls.every((c) => c.region.x2 < 320),
      'no plate work on the vehicle outside the ROI',
    );
  });

  it('blurry plates (flat crops) are skipped and counted', async () => {
    const r = await runPipeline({ script: oneVehicle(V1, 0, 20, 'ABC1234'), frames: 20, flat: true });
    assert.ok(r.stats.blurry_skipped > 0);
    assert.equal(r.stats.blurry_skipped, r.stats.read_attempts);
    assert.equal(r.stats.reads, 0);
    assert.equal(r.captured.length, 0);
  });

  it('a second track of the same plate within the dedup window is a duplicate, not a second event', async () => {
    const first = oneVehicle(V1, 0, 10, 'ABC1234');
    const second = oneVehicle(box(350, 150, 550, 350), 30, 40, 'ABC1234');
    const script = (i: number): Scene => (i < 30 ? first(i) : second(i));
    const r = await runPipeline({ script, frames: 50, events: NEVER_SETTLE });
    assert.equal(r.stats.tracks, 2);
    assert.equal(r.stats.events, 1);
    assert.equal(r.stats.duplicates, 1);
    assert.equal(r.captured.length, 1);
  });

  it('the same plate after the dedup window is a new event', async () => {
    const first = oneVehicle(V1, 0, 10, 'ABC1234');
    const second = oneVehicle(box(350, 150, 550, 350), 30, 40, 'ABC1234');
    const script = (i: number): Scene => (i < 30 ? first(i) : second(i));
    // 100 ms per frame: the second car is seen ~2 s after the first.
    const r = await runPipeline({ script, frames: 50, events: { ...NEVER_SETTLE, dedup_window_s: 1 } });
    assert.equal(r.stats.events, 2);
    assert.equal(r.stats.duplicates, 0);
  });

  it('adaptive sampling: an empty scene is analyzed on every idle_stride-th frame only, and a vehicle still gets its event', async () => {
    const r = await runPipeline({ script: oneVehicle(V1, 30, 60, 'ABC1234'), frames: 60, pipeline: { idle_after: 3, idle_stride: 4 } });
    const emptyPart = r.analyzer.detectCalls.filter((i) => i < 30);
    assert.deepEqual(emptyPart, [0, 1, 2, 4, 8, 12, 16, 20, 24, 28]);
    assert.equal(r.stats.frames, 60);
    assert.equal(r.stats.analyzed, r.analyzer.detectCalls.length);
    // Once the vehicle is tracked every frame is analyzed again.
    const tail = r.analyzer.detectCalls.filter((i) => i >= 45);
    assert.deepEqual(
      tail,
      Array.from({ length: 15 }, (_, k) => 45 + k),
    );
    assert.deepEqual(r.stats.plates, ['ABC1234']);
  });

  it('idle_stride 1 turns adaptive sampling off', async () => {
    const r = await runPipeline({ script: () => ({ vehicles: [], plates: [] }), frames: 30, pipeline: { idle_after: 1, idle_stride: 1 } });
    assert.equal(r.analyzer.detectCalls.length, 30);
  });

  it('a findVehicles that fails on one frame costs that frame, not the run', async () => {
    const base = oneVehicle(V1, 0, 30, 'ABC1234');
    const script = (i: number): Scene => ({ ...base(i), detectorFails: i === 5 });
    const r = await runPipeline({ script, frames: 30, events: NEVER_SETTLE });
    assert.equal(r.stats.frames, 30);
    assert.equal(r.stats.analyzed, 29);
    assert.deepEqual(r.stats.plates, ['ABC1234']);
    assert.ok(r.logs.some((l) => l.level === 'warn' && /vehicle detection failed/.test(l.message)));
  });

  it('a findVehicles that throws synchronously on one frame does not stop the run either', async () => {
    const base = oneVehicle(V1, 0, 30, 'ABC1234');
    const script = (i: number): Scene => ({ ...base(i), detectorThrows: i === 5 });
    const r = await runPipeline({ script, frames: 30, events: NEVER_SETTLE });
    assert.equal(r.stats.frames, 30);
    assert.equal(r.stats.analyzed, 29);
    assert.deepEqual(r.stats.plates, ['ABC1234']);
  });

  it('events carry direction, vehicle type, frame_number and captured_at of the best shot, and JPEG images', async () => {
    // A truck driving down across a horizontal line at y 240 (right of [0,240]→[640,240] is below it): "in".
    const BEST = 7;
    const script = (i: number): Scene => {
      if (i >= 16) return { vehicles: [], plates: [] };
      const b = box(200, 20 + i * 10, 400, 220 + i * 10);
      return { vehicles: [car(b, 'truck')], plates: [{ box: plateOn(b), text: 'TRK4567', confidence: i === BEST ? 0.99 : 0.8 }] };
    };
    const line: [[number, number], [number, number]] = [
      [0, 240],
      [640, 240],
    ];
    const r = await runPipeline({ script, frames: 30, camera: { direction_line: line }, events: NEVER_SETTLE, pipeline: { emit_on_settle: false } });
    assert.equal(r.captured.length, 1);
    const { event, images } = r.captured[0];
    assert.equal(event.camera_id, 'cam-test');
    assert.equal(event.plate.normalized_text, 'TRK4567');
    assert.equal(event.extras.direction, 'in');
    assert.equal(event.vehicle.type, 'truck');
    assert.equal(event.extras.frame_number, BEST);
    assert.equal(event.captured_at, capturedAt(BEST));
    assert.equal(event.node.host, 'test-host');
    assert.ok(event.extras.quality_score !== null && event.extras.quality_score > 0);
    for (const [name, jpeg] of Object.entries(images)) {
      assert.ok(jpeg, `${name} image present`);
      assert.deepEqual([...jpeg.subarray(0, 3)], [0xff, 0xd8, 0xff], `${name} is a JPEG`);
    }
  });

  it('save_images decides which pictures an event keeps', async () => {
    const r = await runPipeline({
      script: oneVehicle(V1, 0, 10, 'ABC1234'),
      frames: 20,
      pipeline: { save_images: { plate: true, vehicle: false, frame: false } },
    });
    assert.equal(r.captured.length, 1);
    assert.ok(r.captured[0].images.plate);
    assert.equal(r.captured[0].images.vehicle, null);
    assert.equal(r.captured[0].images.frame, null);
  });

  it('a failing emit is logged and counted; the run goes on', async () => {
    const analyzer = new ScriptedAnalyzerDouble(oneVehicle(V1, 0, 10, 'ABC1234'));
    const pipeline = new CameraPipeline({
      camera: { id: 'cam-test' },
      analyzer,
      tracking: TrackingConfig.parse({ track_buffer: 5 }),
      events: EventsConfig.parse({}),
      pipeline: PipelineConfig.parse({ read_interval: 1 }),
      emit: () => Promise.reject(new Error('sink down')),
      host: null,
    });
    const stats = await pipeline.run(analyzer.frames(20));
    assert.equal(stats.events, 1);
    assert.equal(stats.emit_failures, 1);
    assert.equal(stats.frames, 20);
  });
});
