/**
 * Helpers for the API tests: deterministic plate events, a store on a temp file and a server
 * on a free loopback port.
 */
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PlateEvent, type PlateEventInput, type StoredEvent } from '../../src-pipeline/common/plate-event.js';
import type { Storage } from '../../src-pipeline/store/storage.js';
import { openSqliteStorage } from '../../src-pipeline/store/sqlite.js';
import { createApiServer, type ApiServer, type ApiServerOptions } from '../../src-pipeline/api/server.js';
import type { ServeIo } from '../../src-pipeline/cli/serve.js';

export function makeEvent(over: Omit<Partial<PlateEventInput>, 'plate'> & { plate?: string; confidence?: number; at?: string } = {}): PlateEvent {
  const { plate = 'ABC123', confidence = 0.9, at = '2024-05-01T12:00:00.000Z', ...rest } = over;
  return PlateEvent.parse({
    event_id: randomUUID(),
    captured_at: at,
    camera_id: 'cam-1',
    track_id: 7,
    plate: { text: plate, normalized_text: plate.toUpperCase().replace(/[^A-Z0-9]/g, ''), confidence, region: 'us' },
    vehicle: { type: 'car', make: null, model: null, color: 'blue' },
    images: { plate_url: null, vehicle_url: null, frame_url: null },
    latency_ms: 42,
    node: { site: 'site-a', host: 'edge-1' },
    extras: { roi: null, direction: 'in', quality_score: 0.8, frame_number: 10 },
    ...rest,
  });
}

/** The event as the store would return it (what publish() takes). */
export const stored = (e: PlateEvent): StoredEvent => ({ ...e, created_at: new Date().toISOString() });

export interface TestStore {
  storage: Storage;
  dir: string;
  /** Makes ping fail, to test /health's 503. */
  breakPing(): void;
  cleanup(): Promise<void>;
}

/** The real SQLite store on a temp file (removed by cleanup). */
export async function openTestStore(): Promise<TestStore> {
  const dir = mkdtempSync(join(tmpdir(), 'ovr-api-'));
  const storage = await openSqliteStorage(join(dir, 'events.sqlite'));
  let closed = false;
  return {
    storage,
    dir,
    breakPing: () => {
      // A closed connection is what a vanished database looks like to the server.
      closed = true;
      void storage.close();
    },
    cleanup: async () => {
      if (!closed) await storage.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface Running {
  server: ApiServer;
  url: string;
}

/** A server on a free loopback port with response validation on (so the documented shapes are checked). */
export async function startServer(opts: Partial<ApiServerOptions> & { storage: Storage }): Promise<Running> {
  const server = await createApiServer({ host: '127.0.0.1', port: 0, validateResponses: true, defaultMetrics: false, ...opts });
  const url = await server.listen();
  return { server, url };
}

export interface StartedCommand {
  url: string;
  out: string[];
  err: string[];
  stop(): Promise<number>;
}

/** Runs `serve`/`api` in-process until its "listening on" line, and returns a stop() that aborts it and gives its exit code. */
export async function startCommand(
  cmd: (args: string[], io: ServeIo) => Promise<number>,
  args: string[],
  env: Record<string, string | undefined> = {},
): Promise<StartedCommand> {
  const ac = new AbortController();
  const out: string[] = [];
  const err: string[] = [];
  let onUrl!: (u: string) => void;
  const urlP = new Promise<string>((r) => (onUrl = r));
  const io: ServeIo = {
    out: (l) => {
      out.push(l);
      const m = /^listening on (http:\/\/\S+)$/.exec(l);
      if (m) onUrl(m[1]);
    },
    err: (l) => err.push(l),
    signal: ac.signal,
    env,
  };
  const done = cmd(args, io);
  const url = await Promise.race([urlP, done.then((code) => Promise.reject(new Error(`exited ${code} before listening: ${err.join('\n')}`)))]);
  return {
    url,
    out,
    err,
    stop: async () => {
      ac.abort();
      return done;
    },
  };
}

export async function getJson(
  url: string,
  init?: RequestInit,
): Promise<{ status: number; body: Record<string, unknown> & { error?: { code: string; message: string; field?: string } } }> {
  const res = await fetch(url, init);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> & { error?: { code: string; message: string; field?: string } } };
}
