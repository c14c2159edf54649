/**
 * Starts one of this folder's worker-thread entries, from dist/ (the built .js) or from
 * source under tsx (tests, dev).
 */
import { Worker } from 'node:worker_threads';

const FROM_SOURCE = import.meta.url.endsWith('.ts');

/** `name` is the entry's file name without extension, next to this module. */
export function spawnWorker(name: string, workerData: unknown): Worker {
  const url = new URL(`./${name}${FROM_SOURCE ? '.ts' : '.js'}`, import.meta.url);
  if (!FROM_SOURCE) return new Worker(url, { workerData });
  // Node 20 does not apply the --import tsx a worker inherits to the worker's entry module,
  // so the worker registers tsx's hooks itself.
  const tsx = import.meta.resolve('tsx/esm/api');
  const boot = `import(${JSON.stringify(tsx)}).then(({ register }) => { register(); return import(${JSON.stringify(url.href)}); })`;
  return new Worker(boot, { eval: true, workerData });
}
