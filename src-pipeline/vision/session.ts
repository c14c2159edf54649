/**
 * onnxruntime sessions, created once per model file and shared. Thread counts come from the
 * environment so a small edge box can leave a core for decoding.
 */
import * as ort from 'onnxruntime-node';
import { AlprError } from '../common/errors.js';
import type { ModelEntry } from './model-manifest.js';
import { resolveModelFile } from './model-store.js';

const sessions = new Map<string, Promise<ort.InferenceSession>>();

export function sessionOptions(): ort.InferenceSession.SessionOptions {
  const threads = Number(process.env.OVR_ALPR_ORT_THREADS ?? 0);
  return {
    executionProviders: ['cpu'],
    graphOptimizationLevel: 'all',
    ...(threads > 0 ? { intraOpNumThreads: threads, interOpNumThreads: 1 } : {}),
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
