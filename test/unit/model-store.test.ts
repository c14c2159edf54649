/**
 * Model registry and store: the manifest contract, the errors a person sees when a model file
 * is missing or damaged, and fetching from a local mirror. Every test points
 * OVR_ALPR_MODEL_DIR at its own temporary folder (modelDir() reads it at call time) and puts
 * the previous value back afterwards.
 */
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AlprError, type ErrorCode } from '../../src-pipeline/common/errors.js';
import { defaultManifestPath, findModel, loadManifest, Manifest } from '../../src-pipeline/vision/model-manifest.js';
import { fetchModels, modelDir, modelPath, resolveModelFile, sha256File } from '../../src-pipeline/vision/model-store.js';
import { projectRoot } from '../../src-pipeline/paths.js';
import { requireShared, sharedModelsDir } from '../support/shared.js';

const CCT_FILE = 'cct_xs_v1_global.onnx';
const CCT_SHA = 'c1ae2ae031b10f8ab7ed6e3cdaf8d9c753477e299dbad3579c8f705a7d882134';

/** A one-model manifest built here (validated by the real schema), not read from the repo. */
const cctManifest: Manifest = Manifest.parse({
  models: [
    {
      name: 'cct-xs-global',
      task: 'plate-ocr',
      file: CCT_FILE,
      sha256: CCT_SHA,
      // Never contacted by these tests: every case has the file in the mirror.
      source: { type: 'url', url: 'https://example.invalid/cct_xs_v1_global.onnx' },
      licence: 'MIT',
      input: { name: 'input', width: 128, height: 64 },
      output: { decoder: 'slots', alphabet: '0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ_', pad: '_', slots: 9 },
    },
  ],
});
const cctEntry = cctManifest.models[0];

const root = mkdtempSync(join(tmpdir(), 'ovr-alpr-models-'));
after(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (what: string) => {
  const d = join(root, `${what}${n++}`);
  mkdirSync(d);
  return d;
};

function assertAlprError(err: unknown, code: ErrorCode, ...needles: string[]): true {
  assert.ok(err instanceof AlprError, `expected AlprError ${code}, got ${String(err)}`);
  assert.equal(err.code, code, err.message);
  for (const s of needles) assert.ok(err.message.includes(s), `message should contain ${JSON.stringify(s)}: ${err.message}`);
  return true;
}

describe('model store', () => {
  let savedEnv: string | undefined;
  let dir: string;
  beforeEach(() => {
    savedEnv = process.env.OVR_ALPR_MODEL_DIR;
    dir = freshDir('store');
    process.env.OVR_ALPR_MODEL_DIR = dir;
  });
  afterEach(() => {
    if (savedEnv === undefined) delete process.env.OVR_ALPR_MODEL_DIR;
    else process.env.OVR_ALPR_MODEL_DIR = savedEnv;
  });

  it('modelDir() follows OVR_ALPR_MODEL_DIR at call time, and defaults to <project>/models', () => {
    assert.equal(modelDir(), dir);
    assert.equal(modelPath(cctEntry), join(dir, CCT_FILE));
    delete process.env.OVR_ALPR_MODEL_DIR;
    assert.equal(modelDir(), join(projectRoot(), 'models'));
  });

  it('a missing file is MODEL_MISSING naming the path and `npm run models`', () => {
    assert.throws(
      () => resolveModelFile(cctEntry),
      (err) => assertAlprError(err, 'MODEL_MISSING', join(dir, CCT_FILE), 'npm run models', 'cct-xs-global'),
    );
  });

  it('a file with the wrong bytes is MODEL_CORRUPT naming the path, the expected sha and the fix', () => {
    writeFileSync(join(dir, CCT_FILE), 'not an onnx model');
    assert.throws(
      () => resolveModelFile(cctEntry),
      (err) => assertAlprError(err, 'MODEL_CORRUPT', join(dir, CCT_FILE), CCT_SHA, 'npm run models'),
    );
  });

  it('a good file resolves to its path', (t) => {
    if (!requireShared(t, [sharedModelsDir(CCT_FILE)])) return;
    copyFileSync(sharedModelsDir(CCT_FILE), join(dir, CCT_FILE));
    assert.equal(resolveModelFile(cctEntry), join(dir, CCT_FILE));
  });

  it('fetchModels copies from a mirror and verifies; a second call reports present', async (t) => {
    if (!requireShared(t, [sharedModelsDir(CCT_FILE)])) return;
    const mirror = freshDir('mirror');
    copyFileSync(sharedModelsDir(CCT_FILE), join(mirror, CCT_FILE));
    const dest = join(dir, 'nested', 'models');
    process.env.OVR_ALPR_MODEL_DIR = dest; // created on demand

    const first = await fetchModels(cctManifest, { mirror });
    assert.deepEqual(first, [{ name: 'cct-xs-global', file: join(dest, CCT_FILE), status: 'copied' }]);
    assert.equal(sha256File(join(dest, CCT_FILE)), CCT_SHA);
    assert.deepEqual(readdirSync(dest), [CCT_FILE], 'no temporary file left behind');
    assert.equal(resolveModelFile(cctEntry), join(dest, CCT_FILE));

    const second = await fetchModels(cctManifest, { mirror });
    assert.deepEqual(second, [{ name: 'cct-xs-global', file: join(dest, CCT_FILE), status: 'present' }]);
  });

  it('a mirror file with the wrong sha is MODEL_CORRUPT and is not installed under the final name', async (t) => {
    if (!requireShared(t, [sharedModelsDir(CCT_FILE)])) return;
    const mirror = freshDir('badmirror');
    // A truncated copy: plausible bytes, wrong hash.
    writeFileSync(join(mirror, CCT_FILE), readFileSync(sharedModelsDir(CCT_FILE)).subarray(0, 100_000));
    await assert.rejects(fetchModels(cctManifest, { mirror }), (err) => assertAlprError(err, 'MODEL_CORRUPT', CCT_FILE, join(mirror, CCT_FILE), CCT_SHA));
    assert.equal(existsSync(join(dir, CCT_FILE)), false, 'the final name must not exist');
    assert.throws(
      () => resolveModelFile(cctEntry),
      (err) => assertAlprError(err, 'MODEL_MISSING'),
    );
    t.diagnostic(`left in the model dir after the failed copy: ${JSON.stringify(readdirSync(dir))}`);
  });

  it('a failed verification leaves no .part file behind', async (t) => {
    if (!requireShared(t, [sharedModelsDir(CCT_FILE)])) return;
    const mirror = freshDir('badmirror');
    writeFileSync(join(mirror, CCT_FILE), 'garbage');
    await assert.rejects(fetchModels(cctManifest, { mirror }));
    assert.deepEqual(readdirSync(dir), []);
  });
});

describe('model manifest', () => {
  const valid = JSON.parse(JSON.stringify(cctManifest)) as { models: Record<string, unknown>[] };

  function writeManifest(content: string): string {
    const file = join(freshDir('manifest'), 'manifest.json');
    writeFileSync(file, content);
    return file;
  }

  it('the repo manifest loads, with unique names and files, and finds models by task', () => {
    const m = loadManifest();
    assert.equal(defaultManifestPath(), join(projectRoot(), 'models', 'manifest.json'));
    const names = m.models.map((e) => e.name);
    assert.equal(new Set(names).size, names.length);
    for (const name of ['yolox-nano', 'y5fu-640', 'y5fu-320', 'cct-xs-global']) assert.ok(names.includes(name), `${name} in the manifest`);
    const cct = findModel(m, 'cct-xs-global', 'plate-ocr');
    assert.equal(cct.sha256, CCT_SHA);
    assert.equal(cct.file, CCT_FILE);
    assert.throws(
      () => findModel(m, 'no-such-model'),
      (err) => assertAlprError(err, 'MODEL_MANIFEST_INVALID', 'no-such-model', 'yolox-nano'),
    );
    assert.throws(
      () => findModel(m, 'yolox-nano', 'plate-ocr'),
      (err) => assertAlprError(err, 'MODEL_MANIFEST_INVALID', 'vehicle-detection'),
    );
  });

  it('a bad sha256 is MODEL_MANIFEST_INVALID naming the file and the key path', () => {
    const file = writeManifest(JSON.stringify({ models: [{ ...valid.models[0], sha256: 'ABC' }] }));
    assert.throws(
      () => loadManifest(file),
      (err) => assertAlprError(err, 'MODEL_MANIFEST_INVALID', `${file}: models.0.sha256`),
    );
  });

  it('duplicate names are MODEL_MANIFEST_INVALID naming the file and the second entry', () => {
    const file = writeManifest(JSON.stringify({ models: [valid.models[0], { ...valid.models[0], file: 'other.onnx' }] }));
    assert.throws(
      () => loadManifest(file),
      (err) => assertAlprError(err, 'MODEL_MANIFEST_INVALID', `${file}: models.1.name`, 'duplicate', 'cct-xs-global'),
    );
  });

  it('a file that is not JSON, or not there, is MODEL_MANIFEST_INVALID naming it', () => {
    const file = writeManifest('{ "models": [ ');
    assert.throws(
      () => loadManifest(file),
      (err) => assertAlprError(err, 'MODEL_MANIFEST_INVALID', file),
    );
    const missing = join(root, 'nope', 'manifest.json');
    assert.throws(
      () => loadManifest(missing),
      (err) => assertAlprError(err, 'MODEL_MANIFEST_INVALID', missing),
    );
  });
});
