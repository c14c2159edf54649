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

/**
 * One intra-op thread per two cores by default: on small boxes onnxruntime's spinning worker
 * threads fight the decoder and the event loop (measured on 2 cores: 124 ms per 1080p photo
 * with 1 thread, 211 ms with 2; `npm run bench -- recognize`). OVR_ALPR_ORT_THREADS overrides.
 */
export function sessionOptions(): ort.InferenceSession.SessionOptions {
  const fromEnv = Number(process.env.OVR_ALPR_ORT_THREADS ?? 0);
  const threads = fromEnv > 0 ? fromEnv : Math.max(1, Math.floor(availableParallelism() / 2));
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    interOpNumThreads: 1,
    intraOpNumThreads: threads,
  };
}

export function getSession(e: ModelEntry): Promise<ort.InferenceSession> {
  const path = resolveModelFile(e);
  let s = sessions.get(path);
  if (!s) {
    s = ort.InferenceSession.create(path, sessionOptions()).catch((err: unknown) => {
      sessions.delete(path);
      throw new AlprError('MODEL_CORRUPT', `onnxruntime cannot load ${path} (${e.name}): ${(err as Error).message}`, { cause: err });
    });
    sessions.set(path, s);
  }
  return s;
}

export async function runSingle(session: ort.InferenceSession, inputName: string, tensor: ort.Tensor): Promise<ort.Tensor> {
  const out = await session.run({ [inputName]: tensor });
  return out[session.outputNames[0]];
}

export { ort };
