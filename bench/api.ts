/**
 * Query API throughput on loopback: `/events/recent?limit=10` over a store of N events (default
 * 1,000,000) against a trivial route (`GET /`, no database) of the same server, in the same
 * run, so the ratio says how much of the per-request budget the query takes.
 *
 * The load generator runs in a worker thread: its own event loop on the second core, so the
 * server's loop is not shared with the client's. Keep-alive connections, a fixed number of
 * requests in flight, a fixed request count per round and a time cap.
 *
 *   npm run bench -- api [--events N] [--db FILE] [--concurrency C] [--requests R] [--max-seconds S]
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Worker } from 'node:worker_threads';
import { createApiServer } from '../src-pipeline/api/server.js';
import { openSqliteStorage } from '../src-pipeline/store/sqlite.js';
import { syntheticBatches } from '../src-pipeline/store/synthetic.js';

/** Plain JS for the worker (no TypeScript loader needed inside it). */
const LOAD_WORKER = `
const { parentPort, workerData } = require('node:worker_threads');
const http = require('node:http');
const { url, path, requests, concurrency, maxMs } = workerData;
const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
const target = new URL(path, url);
const lat = [];
let started = 0, done = 0, errors = 0, bytes = 0;
const t0 = performance.now();
const deadline = t0 + maxMs;
function one() {
  if (started >= requests || performance.now() > deadline) return Promise.resolve();
  started++;
  const s = performance.now();
  return new Promise((resolve) => {
    const req = http.get({ host: target.hostname, port: target.port, path: target.pathname + target.search, agent }, (res) => {
      res.on('data', (c) => { bytes += c.length; });
      res.on('end', () => {
        if (res.statusCode !== 200) errors++;
        lat.push(performance.now() - s);
        done++;
        resolve();
      });
    });
    req.on('error', () => { errors++; done++; resolve(); });
  }).then(one);
}
Promise.all(Array.from({ length: concurrency }, one)).then(() => {
  const seconds = (performance.now() - t0) / 1000;
  agent.destroy();
  parentPort.postMessage({ done, errors, bytes, seconds, lat });
});
`;

interface Round {
  done: number;
  errors: number;
  bytes: number;
  seconds: number;
  lat: number[];
}

function drive(url: string, path: string, requests: number, concurrency: number, maxMs: number): Promise<Round> {
  return new Promise((resolve, reject) => {
    const w = new Worker(LOAD_WORKER, { eval: true, workerData: { url, path, requests, concurrency, maxMs } });
    w.once('message', (m: Round) => {
      void w.terminate();
      resolve(m);
    });
    w.once('error', reject);
  });
}

function pct(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))];
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

function summarise(rounds: Round[]) {
  const done = rounds.reduce((s, r) => s + r.done, 0);
  const seconds = rounds.reduce((s, r) => s + r.seconds, 0);
  const errors = rounds.reduce((s, r) => s + r.errors, 0);
  const lat = rounds.flatMap((r) => r.lat).sort((a, b) => a - b);
  return { requests: done, errors, req_per_s: round(done / seconds, 0), p50_ms: round(pct(lat, 0.5), 2), p99_ms: round(pct(lat, 0.99), 2) };
}

export async function benchApi(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      events: { type: 'string', default: '1000000' },
      // Reuse a store between runs (loading 1M events takes about a minute); created if missing.
      db: { type: 'string' },
      concurrency: { type: 'string', default: '32' },
      requests: { type: 'string', default: '20000' },
      'max-seconds': { type: 'string', default: '15' },
      seed: { type: 'string', default: '1' },
    },
  });
  const n = Number(values.events);
  const concurrency = Number(values.concurrency);
  const requests = Number(values.requests);
  const maxMs = Number(values['max-seconds']) * 1000;
  for (const [k, v] of Object.entries({ events: n, concurrency, requests, 'max-seconds': maxMs })) {
    if (!Number.isInteger(v) || v <= 0) throw new Error(`--${k} must be a positive whole number`);
  }

  const tmp = values.db ? null : mkdtempSync(join(tmpdir(), 'ovr-bench-api-'));
  const dbPath = values.db ?? join(tmp!, 'events.sqlite');
  const reuse = existsSync(dbPath);
  const storage = await openSqliteStorage(dbPath);
  try {
    let have = (await storage.stats()).total_events;
    if (have < n) {
      const t0 = performance.now();
      // Same (n, seed) gives the same events, so topping up a reused store is idempotent.
      for (const batch of syntheticBatches(n, Number(values.seed), 20_000)) await storage.insertMany(batch);
      have = (await storage.stats()).total_events;
      process.stderr.write(`loaded ${have} events in ${round((performance.now() - t0) / 1000)} s\n`);
    } else if (reuse) {
      process.stderr.write(`reusing ${dbPath} with ${have} events\n`);
    }

    const server = await createApiServer({ storage, host: '127.0.0.1', port: 0, logger: false });
    const url = await server.listen();
    try {
      const trivial = '/';
      const recent = '/events/recent?limit=10';
      // Warm-up: JIT, page cache, keep-alive sockets.
      await drive(url, trivial, 2000, concurrency, maxMs);
      await drive(url, recent, 2000, concurrency, maxMs);
      // Interleaved rounds so drift on this shared machine hits both routes alike.
      const t: Round[] = [];
      const r: Round[] = [];
      for (let i = 0; i < 2; i++) {
        t.push(await drive(url, trivial, Math.ceil(requests / 2), concurrency, maxMs / 2));
        r.push(await drive(url, recent, Math.ceil(requests / 2), concurrency, maxMs / 2));
      }
      const tr = summarise(t);
      const rr = summarise(r);
      const report = {
        bench: 'api',
        events: have,
        concurrency,
        recent: rr,
        trivial: tr,
        ratio_recent_to_trivial: round(rr.req_per_s / tr.req_per_s, 3),
        goal_req_per_s: 2000,
      };
      process.stdout.write(
        `api: ${have} events, ${concurrency} keep-alive connections, loopback\n` +
          `  /events/recent?limit=10 ${String(rr.req_per_s).padStart(7)} req/s  p50 ${rr.p50_ms} ms  p99 ${rr.p99_ms} ms  (${rr.requests} requests, ${rr.errors} errors)\n` +
          `  GET / (trivial)         ${String(tr.req_per_s).padStart(7)} req/s  p50 ${tr.p50_ms} ms  p99 ${tr.p99_ms} ms  (${tr.requests} requests, ${tr.errors} errors)\n` +
          `  ratio recent/trivial    ${report.ratio_recent_to_trivial}\n`,
      );
      process.stdout.write(`${JSON.stringify(report)}\n`);
    } finally {
      await server.close();
    }
  } finally {
    await storage.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  }
}
