/**
 * The execution-provider switch (config/recognition.yaml `execution_provider`): validated,
 * cpu by default, mapped to onnxruntime's provider list with CPU as the fallback; and on this
 * machine's CPU-only onnxruntime-node, asking for cuda/tensorrt fails with CONFIG_INVALID and
 * a pointer to the fix instead of a "corrupt model" error. (A GPU run needs a Jetson or a CUDA
 * box with a GPU build of onnxruntime-node: not available here.)
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { RecognitionConfig } from '../../src-pipeline/common/recognition-config.js';
import { loadManifest } from '../../src-pipeline/vision/model-manifest.js';
import { configureExecutionProvider, executionProviders, getSession } from '../../src-pipeline/vision/session.js';
import { sharedSkip } from '../support/shared.js';

/** true when this onnxruntime-node has the CUDA provider libraries (then the refusal below cannot be shown). */
function gpuBuild(): boolean {
  const pkg = dirname(createRequire(import.meta.url).resolve('onnxruntime-node/package.json'));
  const bin = join(pkg, 'bin', 'napi-v6', process.platform, process.arch);
  return existsSync(join(bin, 'libonnxruntime_providers_cuda.so'));
}

describe('execution provider switch', () => {
  after(() => configureExecutionProvider('cpu'));

  it('defaults to cpu and refuses unknown providers', () => {
    const cfg = RecognitionConfig.parse({});
    assert.equal(cfg.execution_provider, 'cpu');
    assert.equal(cfg.gpu_device_id, 0);
    assert.equal(RecognitionConfig.parse({ execution_provider: 'tensorrt', gpu_device_id: 1 }).execution_provider, 'tensorrt');
    assert.throws(() => RecognitionConfig.parse({ execution_provider: 'rocm' }));
    assert.throws(() => RecognitionConfig.parse({ gpu_device_id: -1 }));
  });

  it('maps to onnxruntime provider lists with CPU last', () => {
    assert.deepEqual(executionProviders('cpu'), ['cpu']);
    assert.deepEqual(executionProviders('cuda', 1), [{ name: 'cuda', deviceId: 1 }, 'cpu']);
    assert.deepEqual(executionProviders('tensorrt'), [{ name: 'tensorrt', deviceId: 0 }, { name: 'cuda', deviceId: 0 }, 'cpu']);
  });

  it('a GPU provider missing from this onnxruntime-node build is CONFIG_INVALID with the fix; cpu still loads', { skip: sharedSkip() }, async (t) => {
    const entry = loadManifest().models.find((m) => m.name === 'yolox-nano');
    assert.ok(entry, 'yolox-nano is in the manifest');
    if (gpuBuild()) return t.skip('this onnxruntime-node has the CUDA provider libraries: the CPU-only refusal does not apply');
    for (const ep of ['cuda', 'tensorrt'] as const) {
      configureExecutionProvider(ep);
      await assert.rejects(getSession(entry), (err: Error & { code?: string }) => {
        assert.equal(err.code, 'CONFIG_INVALID', err.message);
        assert.match(err.message, new RegExp(`execution_provider ${ep} is not available in this onnxruntime-node build .*set execution_provider: cpu`));
        return true;
      });
    }
    configureExecutionProvider('cpu');
    const s = await getSession(entry);
    assert.ok(s.inputNames.length > 0);
  });
});
