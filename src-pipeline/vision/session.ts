/**
 * onnxruntime sessions, created once per model file and shared. Thread counts come from the
 * environment so a small edge box can leave a core for decoding.
 */
import { availableParallelism } from 'node:os';
import * as ort from 'onnxruntime-node';
import { AlprError } from '../common/errors.js';
import type { ModelEntry } from './model-manifest.js';
import { resolveModelFile } from './model-store.js';

const sessions = new Map<string, Promise<ort.InferenceSession>>();

export type ExecutionProviderName = 'cpu' | 'cuda' | 'tensorrt';
let provider: { name: ExecutionProviderName; deviceId: number } = { name: 'cpu', deviceId: 0 };

/**
 * Selects the execution provider for sessions created from now on (config/recognition.yaml
 * `execution_provider`, applied by Recognizer.create). Sessions are cached per provider, so
 * switching never hands out a session made for another one.
 */
export function configureExecutionProvider(name: ExecutionProviderName, deviceId = 0): void {
  provider = { name, deviceId };
}

/** The provider list for onnxruntime: the GPU ones first, CPU last for the operators they do not take. */
export function executionProviders(name: ExecutionProviderName, deviceId = 0): ort.InferenceSession.ExecutionProviderConfig[] {
  if (name === 'cuda') return [{ name: 'cuda', deviceId }, 'cpu'];
  if (name === 'tensorrt') return [{ name: 'tensorrt', deviceId }, { name: 'cuda', deviceId }, 'cpu'];
  return ['cpu'];
}

/**
 * One intra-op thread per two cores by default: on small boxes onnxruntime's spinning worker
 * threads fight the decoder and the event loop (measured on 2 cores: 124 ms per 1080p photo
 * with 1 thread, 211 ms with 2; `npm run bench -- recognize`). OVR_ALPR_ORT_THREADS overrides.
 */
export function sessionOptions(): ort.InferenceSession.SessionOptions {
  const fromEnv = Number(process.env.OVR_ALPR_ORT_THREADS ?? 0);
  const threads = fromEnv > 0 ? fromEnv : Math.max(1, Math.floor(availableParallelism() / 2));
  return {
    executionProviders: executionProviders(provider.name, provider.deviceId),
    graphOptimizationLevel: 'all',
    interOpNumThreads: 1,
    intraOpNumThreads: threads,
  };
}

export function getSession(e: ModelEntry): Promise<ort.InferenceSession> {
  const path = resolveModelFile(e);
  const { name, deviceId } = provider;
  const key = `${name}:${deviceId}:${path}`;
  let s = sessions.get(key);
  if (!s) {
    s = ort.InferenceSession.create(path, sessionOptions()).catch((err: unknown) => {
      sessions.delete(key);
      const msg = (err as Error).message;
      // A GPU provider missing from this onnxruntime-node build (the npm package is CPU-only
      // unless its CUDA libraries were installed) is a configuration problem, not a bad model.
      if (name !== 'cpu' && /ExecutionProvider|shared library|backend not found|providers_/i.test(msg)) {
        throw new AlprError(
          'CONFIG_INVALID',
          `execution_provider ${name} is not available in this onnxruntime-node build (${msg.split('\n')[0]}); ` +
            `set execution_provider: cpu in recognition.yaml, or install an onnxruntime-node with ${name === 'tensorrt' ? 'TensorRT and CUDA' : 'CUDA'} (README "Jetson")`,
          { cause: err },
        );
      }
      throw new AlprError('MODEL_CORRUPT', `onnxruntime cannot load ${path} (${e.name}): ${msg}`, { cause: err });
    });
    sessions.set(key, s);
  }
  return s;
}

export async function runSingle(session: ort.InferenceSession, inputName: string, tensor: ort.Tensor): Promise<ort.Tensor> {
  const out = await session.run({ [inputName]: tensor });
  return out[session.outputNames[0]];
}

export { ort };
