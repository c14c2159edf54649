/**
 * Worker-thread entry for one camera: decoding hand-off, image work and inference run here,
 * so the main thread (API, sinks, UI IPC) stays responsive and cameras use the cores in
 * parallel. Everything leaves through postMessage (see worker-protocol.ts).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { AlprError } from '../common/errors.js';
import '../ingest/index.js';
import type { CapturedEvent } from '../sinks/event-sink.js';
import { startCamera } from './camera-runner.js';
import { PreviewEncoder } from './preview-encoder.js';
import type { SupervisorMessage, WorkerInit, WorkerMessage } from './worker-protocol.js';

function requirePort(): NonNullable<typeof parentPort> {
  if (!parentPort) throw new Error('camera-worker.ts must run in a worker thread');
  return parentPort;
}
const port = requirePort();
const init = workerData as WorkerInit;
const post = (m: WorkerMessage) => port.postMessage(m);

const acks = new Map<number, { resolve: () => void; reject: (e: Error) => void }>();
let seq = 0;

function emit(c: CapturedEvent): Promise<void> {
  const id = ++seq;
  return new Promise<void>((resolve, reject) => {
    acks.set(id, { resolve, reject });
    post({
      type: 'event',
      seq: id,
      event: c.event,
      images: { plate: c.images.plate, vehicle: c.images.vehicle, frame: c.images.frame },
      update: c.update ?? false,
    });
  });
}

let stopRequested = false;
let stop: (() => Promise<void>) | undefined;
let previewErrors = 0;
const preview = new PreviewEncoder({
  // The JPEG's bytes move to the main thread without a copy.
  onJpeg: (j) => port.postMessage({ type: 'jpeg', ...j } satisfies WorkerMessage, [j.data.buffer as ArrayBuffer]),
  onError: (err) => {
    // One line, not one per frame: a preview that cannot encode is not worth a flood of logs.
    if (previewErrors++ === 0) post({ type: 'log', level: 'warn', message: 'live preview JPEG could not be encoded', details: { error: String(err) } });
  },
});

port.on('message', (m: SupervisorMessage) => {
  if (m.type === 'ack') {
    const a = acks.get(m.seq);
    acks.delete(m.seq);
    if (m.error) a?.reject(new Error(m.error));
    else a?.resolve();
  } else if (m.type === 'preview') {
    preview.setWatched(m.on);
  } else if (m.type === 'stop') {
    stopRequested = true;
    void stop?.();
  }
});

async function main(): Promise<void> {
  const minGapMs = init.frameReportsPerSecond > 0 ? 1000 / init.frameReportsPerSecond : Infinity;
  let lastReport = 0;
  const run = await startCamera({
    camera: init.camera,
    configs: init.configs,
    host: init.host,
    emit,
    log: (level, message, details) => post({ type: 'log', level, message, details }),
    onFrame: (report, image) => {
      preview.offer(report.index, image);
      const now = performance.now();
      if (now - lastReport < minGapMs) return;
      lastReport = now;
      post({ type: 'frame', report });
    },
  });
  stop = () => run.stop();
  if (stopRequested) void run.stop();
  const timer = setInterval(() => post({ type: 'stats', result: { pipeline: run.pipeline.stats(), source: run.source.stats() } }), 1000);
  post({ type: 'ready' });
  try {
    const result = await run.done;
    post({ type: 'done', result });
  } finally {
    clearInterval(timer);
  }
  // The port's message listener would keep the thread alive; closing it (after the messages
  // above are delivered) lets the worker exit, which is how the supervisor learns it is done.
  port.close();
}

main().catch((err: unknown) => {
  post({ type: 'failed', error: err instanceof Error ? err.message : String(err), code: err instanceof AlprError ? err.code : undefined });
  // Let the message flush, then end with a failure status the supervisor counts.
  setImmediate(() => process.exit(1));
});
