/**
 * The small pure pieces of the video pipeline: direction of travel, the ROI point test, the
 * stage timer, and config/pipeline.yaml (defaults and the errors a bad file gives).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pointInPolygon } from '../../src-pipeline/common/geometry.js';
import { PipelineConfig } from '../../src-pipeline/common/pipeline-config.js';
import { loadPipelineConfig } from '../../src-pipeline/config-loader.js';
import { projectRoot } from '../../src-pipeline/paths.js';
import { travelDirection, type Line, type TrackSample } from '../../src-pipeline/pipeline/direction.js';
import { StageTimer } from '../../src-pipeline/pipeline/stage-timer.js';
import { assertAlprError } from '../support/assertions.js';

/** A track sample for a square box of side `side` centred at (cx, cy). */
const at = (cx: number, cy: number, side = 100): TrackSample => ({ cx, cy, area: side * side });

describe('travelDirection', () => {
  // Horizontal line from (0, 500) to (1000, 500): looking from p1 to p2 (+x), the right-hand side is below (image y down).
  const line: Line = [
    [0, 500],
    [1000, 500],
  ];

  it('crossing a reference line from its left to its right is "in", the other way "out"', () => {
    assert.equal(travelDirection(at(500, 300), at(500, 700), line), 'in');
    assert.equal(travelDirection(at(500, 700), at(500, 300), line), 'out');
    // The line's orientation decides: the same motion against the reversed line is "out".
    const reversed: Line = [line[1], line[0]];
    assert.equal(travelDirection(at(500, 300), at(500, 700), reversed), 'out');
  });

  it('a diagonal line works the same way', () => {
    const diag: Line = [
      [0, 0],
      [1000, 1000],
    ];
    // Right of (0,0)→(1000,1000) in image coordinates is below the diagonal (larger y for the same x).
    assert.equal(travelDirection(at(700, 200), at(200, 700), diag), 'in');
    assert.equal(travelDirection(at(200, 700), at(700, 200), diag), 'out');
  });

  it('a line that was not crossed falls back to the motion in the image', () => {
    // Both samples above the line: moved right.
    assert.equal(travelDirection(at(100, 200), at(600, 220), line), 'right');
    // Both below, growing: approaching.
    assert.equal(travelDirection(at(500, 600, 100), at(500, 650, 200), line), 'approaching');
    // Ending exactly on the line is not a crossing either.
    assert.equal(travelDirection(at(500, 300), at(500, 500), line), 'down');
  });

  it('approaching / receding when the box grows or shrinks by half or more', () => {
    assert.equal(travelDirection(at(500, 500, 100), at(500, 500, 130)), 'approaching'); // area ratio 1.69
    assert.equal(travelDirection(at(500, 500, 130), at(500, 500, 100)), 'receding');
    // Area beats sideways motion.
    assert.equal(travelDirection(at(100, 500, 100), at(900, 500, 200)), 'approaching');
    assert.equal(travelDirection(at(100, 500, 200), at(900, 500, 100)), 'receding');
  });

  it('left, right, up and down by the dominant axis', () => {
    assert.equal(travelDirection(at(500, 500), at(300, 520)), 'left');
    assert.equal(travelDirection(at(500, 500), at(700, 480)), 'right');
    assert.equal(travelDirection(at(500, 500), at(520, 300)), 'up');
    assert.equal(travelDirection(at(500, 500), at(480, 700)), 'down');
  });

  it('moving less than 15% of the box size is stationary', () => {
    assert.equal(travelDirection(at(500, 500, 100), at(510, 505, 105)), 'stationary');
    assert.equal(travelDirection(at(500, 500, 100), at(500, 500, 100)), 'stationary');
    assert.equal(travelDirection(at(500, 500, 100), at(520, 500, 100)), 'right'); // 20 px of a 100 px box
  });

  it('an empty first box does not divide by zero', () => {
    assert.equal(travelDirection({ cx: 0, cy: 0, area: 0 }, { cx: 0, cy: 0, area: 0 }), 'stationary');
  });
});

describe('pointInPolygon', () => {
  const square: [number, number][] = [
    [0, 0],
    [100, 0],
    [100, 100],
    [0, 100],
  ];
  // A "U": the notch between x 40..60 above y 50 is outside.
  const u: [number, number][] = [
    [0, 0],
    [40, 0],
    [40, 50],
    [60, 50],
    [60, 0],
    [100, 0],
    [100, 100],
    [0, 100],
  ];

  it('convex polygon: inside and outside', () => {
    assert.equal(pointInPolygon({ x: 50, y: 50 }, square), true);
    assert.equal(pointInPolygon({ x: 1, y: 99 }, square), true);
    assert.equal(pointInPolygon({ x: 150, y: 50 }, square), false);
    assert.equal(pointInPolygon({ x: 50, y: -1 }, square), false);
    assert.equal(pointInPolygon({ x: -0.5, y: 50 }, square), false);
  });

  it('concave polygon: the notch is outside, the arms and base inside', () => {
    assert.equal(pointInPolygon({ x: 50, y: 25 }, u), false); // in the notch
    assert.equal(pointInPolygon({ x: 20, y: 25 }, u), true); // left arm
    assert.equal(pointInPolygon({ x: 80, y: 25 }, u), true); // right arm
    assert.equal(pointInPolygon({ x: 50, y: 75 }, u), true); // base below the notch
  });

  it('the vertex order does not matter, and far points are outside', () => {
    const reversed = [...u].reverse();
    assert.equal(pointInPolygon({ x: 50, y: 25 }, reversed), false);
    assert.equal(pointInPolygon({ x: 20, y: 25 }, reversed), true);
    assert.equal(pointInPolygon({ x: 1e6, y: 1e6 }, u), false);
  });
});

describe('StageTimer', () => {
  it('median per stage, odd and even counts, rounded to 0.01 ms', () => {
    const t = new StageTimer();
    for (const ms of [5, 1, 3]) t.add('a', ms);
    for (const ms of [4, 1, 2, 3]) t.add('b', ms);
    t.add('c', 1.23456);
    assert.deepEqual(t.medians(), { a: 3, b: 2.5, c: 1.23 });
  });

  it('no stages, no medians', () => {
    assert.deepEqual(new StageTimer().medians(), {});
  });

  it('keeps only the last `capacity` samples, so memory stays bounded and old samples age out', () => {
    const t = new StageTimer(4);
    for (let i = 0; i < 1000; i++) t.add('s', 1000); // long ago: slow
    for (const ms of [1, 2, 3, 4]) t.add('s', ms); // recently: fast
    assert.equal(t.medians().s, 2.5);
    // The buffer is fixed-size: a weeks-long run keeps 4 numbers per stage.
    const kept = (t as unknown as { samples: Map<string, { buf: Float64Array; count: number }> }).samples.get('s')!;
    assert.equal(kept.buf.length, 4);
    assert.equal(kept.count, 4);
  });

  it('wraps mid-buffer correctly', () => {
    const t = new StageTimer(3);
    for (const ms of [100, 100, 100, 1, 2]) t.add('s', ms); // kept: 100, 1, 2
    assert.equal(t.medians().s, 2);
  });
});

describe('PipelineConfig / loadPipelineConfig', () => {
  const root = mkdtempSync(join(tmpdir(), 'ovr-alpr-pipeline-config-'));
  after(() => rmSync(root, { recursive: true, force: true }));
  let n = 0;
  function configDir(yaml?: string): { dir: string; file: string } {
    const dir = join(root, `c${n++}`);
    mkdirSync(dir);
    const file = join(dir, 'pipeline.yaml');
    if (yaml !== undefined) writeFileSync(file, yaml);
    return { dir, file };
  }

  const DEFAULTS = PipelineConfig.parse({});

  it('defaults are the documented ones', () => {
    assert.deepEqual(DEFAULTS, {
      reads_per_frame: 2,
      read_interval: 2,
      max_reads_per_track: 40,
      min_vehicle_width: 110,
      min_plate_sharpness: 20,
      vote_full_plate_width: 60,
      full_size_every: 4,
      primary_views_only: true,
      plate_reads_in_thread: true,
      emit_on_settle: true,
      idle_after: 15,
      idle_stride: 3,
      save_images: { plate: true, vehicle: true, frame: true },
      jpeg_quality: 85,
      frame_jpeg_max_width: 1280,
      site: null,
    });
  });

  it('a folder without pipeline.yaml, and the shipped config/pipeline.yaml, give the defaults', () => {
    assert.deepEqual(loadPipelineConfig(configDir().dir), DEFAULTS);
    const { dir, file } = configDir();
    copyFileSync(join(projectRoot(), 'config', 'pipeline.yaml'), file);
    assert.deepEqual(loadPipelineConfig(dir), DEFAULTS);
  });

  it('a partial save_images keeps the other pictures on', () => {
    const { dir } = configDir('save_images:\n  frame: false\nsite: depot-3\n');
    const cfg = loadPipelineConfig(dir);
    assert.deepEqual(cfg.save_images, { plate: true, vehicle: true, frame: false });
    assert.equal(cfg.site, 'depot-3');
  });

  it('a misspelt key is CONFIG_INVALID naming the file and the key', () => {
    const { dir, file } = configDir('reads_per_frme: 3\n');
    assertAlprError(() => loadPipelineConfig(dir), 'CONFIG_INVALID', file, 'reads_per_frme', 'config/pipeline.yaml');
  });

  it('a misspelt nested key names its full path', () => {
    const { dir, file } = configDir('save_images:\n  plates: false\n');
    assertAlprError(() => loadPipelineConfig(dir), 'CONFIG_INVALID', file, 'save_images', 'plates');
  });

  it('a wrong type or out-of-range value is CONFIG_INVALID naming the file and the key', () => {
    const wrongType = configDir('idle_stride: fast\n');
    assertAlprError(() => loadPipelineConfig(wrongType.dir), 'CONFIG_INVALID', wrongType.file, 'idle_stride');
    const outOfRange = configDir('jpeg_quality: 5\n');
    assertAlprError(() => loadPipelineConfig(outOfRange.dir), 'CONFIG_INVALID', outOfRange.file, 'jpeg_quality');
    const notInt = configDir('reads_per_frame: 1.5\n');
    assertAlprError(() => loadPipelineConfig(notInt.dir), 'CONFIG_INVALID', notInt.file, 'reads_per_frame');
  });

  it('YAML that does not parse is CONFIG_INVALID naming the file', () => {
    const { dir, file } = configDir('reads_per_frame: [1\n');
    assertAlprError(() => loadPipelineConfig(dir), 'CONFIG_INVALID', file, 'not valid YAML');
  });
});
