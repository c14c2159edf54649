/**
 * config/recognition.yaml through loadRecognitionConfig: defaults, the shipped file, and the
 * errors an operator gets for a bad file (file, key and what to do).
 */
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlprError } from '../../src-pipeline/common/errors.js';
import { RecognitionConfig } from '../../src-pipeline/common/recognition-config.js';
import { defaultConfigDir, loadEventsConfig, loadRecognitionConfig, loadTrackingConfig } from '../../src-pipeline/config-loader.js';
import { EventsConfig } from '../../src-pipeline/common/events-config.js';
import { TrackingConfig } from '../../src-pipeline/common/tracking-config.js';
import { projectRoot } from '../../src-pipeline/paths.js';

const root = mkdtempSync(join(tmpdir(), 'ovr-alpr-config-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
function configDir(yaml?: string): { dir: string; file: string } {
  const dir = join(root, `c${n++}`);
  mkdirSync(dir);
  const file = join(dir, 'recognition.yaml');
  if (yaml !== undefined) writeFileSync(file, yaml);
  return { dir, file };
}

const DEFAULTS = RecognitionConfig.parse({});

function assertConfigInvalid(fn: () => unknown, ...needles: string[]) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AlprError, `expected AlprError, got ${String(err)}`);
    assert.equal(err.code, 'CONFIG_INVALID');
    assert.equal(err.retriable, false);
    for (const s of needles) assert.ok(err.message.includes(s), `message should contain ${JSON.stringify(s)}:\n${err.message}`);
    return true;
  });
}

describe('loadRecognitionConfig', () => {
  it('defaults are what the design documents', () => {
    assert.equal(DEFAULTS.plate_format, 'us');
    assert.equal(DEFAULTS.models.ocr, 'cct-xs-global');
    assert.equal(DEFAULTS.models.plate, 'y5fu-640');
    assert.equal(DEFAULTS.min_plate_confidence, 0.6);
    assert.deepEqual(DEFAULTS.strategies, ['rectified', 'padded', 'enhanced', 'chars']);
  });

  it('a folder without recognition.yaml gives the defaults', () => {
    assert.deepEqual(loadRecognitionConfig(configDir().dir), DEFAULTS);
  });

  it('an empty file gives the defaults', () => {
    assert.deepEqual(loadRecognitionConfig(configDir('# nothing set\n').dir), DEFAULTS);
  });

  it('the shipped config/recognition.yaml equals the defaults', () => {
    const { dir, file } = configDir();
    copyFileSync(join(projectRoot(), 'config', 'recognition.yaml'), file);
    assert.deepEqual(loadRecognitionConfig(dir), DEFAULTS);
  });

  it('reads the default folder from OVR_ALPR_CONFIG_DIR at call time', () => {
    const saved = process.env.OVR_ALPR_CONFIG_DIR;
    try {
      const { dir } = configDir('plate_format: eu\n');
      process.env.OVR_ALPR_CONFIG_DIR = dir;
      assert.equal(defaultConfigDir(), dir);
      assert.equal(loadRecognitionConfig().plate_format, 'eu');
      delete process.env.OVR_ALPR_CONFIG_DIR;
      assert.equal(defaultConfigDir(), join(projectRoot(), 'config'));
    } finally {
      if (saved === undefined) delete process.env.OVR_ALPR_CONFIG_DIR;
      else process.env.OVR_ALPR_CONFIG_DIR = saved;
    }
  });

  it('overrides merge with defaults, nested keys included', () => {
    const { dir } = configDir('plate_format: eu\nmodels:\n  plate_crop: null\nstrategies: [tight]\n');
    const c = loadRecognitionConfig(dir);
    assert.equal(c.plate_format, 'eu');
    assert.equal(c.models.plate_crop, null);
    assert.equal(c.models.plate, 'y5fu-640');
    assert.deepEqual(c.strategies, ['tight']);
    assert.equal(c.max_plates, DEFAULTS.max_plates);
  });

  it('a bad value is CONFIG_INVALID naming the file, the key and the fix', () => {
    const { dir, file } = configDir('plate_format: mars\n');
    assertConfigInvalid(() => loadRecognitionConfig(dir), `${file}: plate_format:`, 'Fix the key', 'config/recognition.yaml');
    try {
      loadRecognitionConfig(dir);
    } catch (err) {
      assert.ok(err instanceof AlprError);
      assert.deepEqual((err.details as { file: string }).file, file);
      assert.equal((err.details as { issues: { key: string }[] }).issues[0].key, 'plate_format');
    }
  });

  it('reports every bad key, nested ones by their dotted path', () => {
    const { dir, file } = configDir('min_plate_confidence: 1.5\nmodels:\n  ocr: 7\n');
    assertConfigInvalid(() => loadRecognitionConfig(dir), `${file}: min_plate_confidence:`, `${file}: models.ocr:`);
  });

  it('invalid YAML is CONFIG_INVALID naming the file', () => {
    const { dir, file } = configDir('plate_format: [us\nmax_plates: : 3\n');
    assertConfigInvalid(() => loadRecognitionConfig(dir), file, 'not valid YAML');
  });

  it('an unknown key is an error naming it', () => {
    const { dir, file } = configDir('plate_fromat: eu\n');
    assertConfigInvalid(() => loadRecognitionConfig(dir), file, 'plate_fromat');
    const nested = configDir('models:\n  ocr_model: cct-xs-global\n');
    assertConfigInvalid(() => loadRecognitionConfig(nested.dir), nested.file, 'ocr_model', 'models');
  });

  it('a file that is YAML but not a mapping is CONFIG_INVALID', () => {
    const { dir, file } = configDir('- just\n- a list\n');
    assertConfigInvalid(() => loadRecognitionConfig(dir), file);
  });
});

describe('loadTrackingConfig / loadEventsConfig', () => {
  it('the shipped config/tracking.yaml and config/events.yaml hold exactly the defaults', () => {
    const shipped = join(projectRoot(), 'config');
    assert.deepEqual(loadTrackingConfig(shipped), TrackingConfig.parse({}));
    assert.deepEqual(loadEventsConfig(shipped), EventsConfig.parse({}));
  });

  it('a bad value names the file, the key and the fix', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ovr-cfg-'));
    try {
      writeFileSync(join(dir, 'tracking.yaml'), 'track_buffer: -3\n');
      assert.throws(
        () => loadTrackingConfig(dir),
        (e: unknown) => e instanceof AlprError && e.code === 'CONFIG_INVALID' && e.message.includes('tracking.yaml') && e.message.includes('track_buffer'),
      );
      writeFileSync(join(dir, 'events.yaml'), 'dedup_window_s: soon\n');
      assert.throws(
        () => loadEventsConfig(dir),
        (e: unknown) => e instanceof AlprError && e.message.includes('events.yaml') && e.message.includes('dedup_window_s'),
      );
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
