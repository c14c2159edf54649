/**
 * Worker-thread entry for ThreadedPlateReader: loads the recognition models once, then reads
 * the regions it is sent, one message each (see threaded-reader.ts for the protocol).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AlprError } from '../common/errors.js';
import { Recognizer } from '../vision/recognizer.js';
import type { ReaderInit, ReaderReply, ReadRequest } from './threaded-reader.js';

if (!parentPort) throw new Error('plate-reader-worker.ts must run in a worker thread');
const port = parentPort;
const post = (m: ReaderReply) => port.postMessage(m);
const init = workerData as ReaderInit;

try {
  const rec = await Recognizer.create(init.recognition);
  port.on('message', (m: ReadRequest) => {
    const t = { preMs: 0, inferMs: 0, postMs: 0 };
    rec.readRegion(m.image, m.region, m.opts, t).then(
      (r) => post({ type: 'result', id: m.id, t, ...r }),
      (err: unknown) => post({ type: 'error', id: m.id, message: err instanceof Error ? err.message : String(err) }),
    );
  });
  post({ type: 'ready' });
} catch (err) {
  post({ type: 'init-error', code: err instanceof AlprError ? err.code : 'INTERNAL', message: err instanceof Error ? err.message : String(err) });
}
