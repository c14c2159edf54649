/**
 * The Health screen's rolling window: one sample every few seconds (cameras, health, totals,
 * backend), the last WINDOW kept in zustand so the charts survive switching screens. Polling
 * runs only while a Health screen is mounted (start() returns its stop).
 */
import { create } from 'zustand';
import { errorText } from '../api/client';
import { getBackendStatus, getCameras, getHealth, getStats, type BackendStatus } from '../api/health';
import type { Sample } from '../screens/health/problems';

export const POLL_MS = 3000;
/** 5 minutes at 3 s. */
export const WINDOW = 100;

interface HealthState {
  samples: Sample[];
  error: string | null;
  pipeline: boolean | null;
  add(sample: Sample, pipeline: boolean): void;
  fail(error: string): void;
}

export const useHealthStore = create<HealthState>((set) => ({
  samples: [],
  error: null,
  pipeline: null,
  add: (sample, pipeline) => set((s) => ({ samples: [...s.samples, sample].slice(-WINDOW), error: null, pipeline })),
  fail: (error) => set({ error }),
}));

let users = 0;
let timer: ReturnType<typeof setTimeout> | null = null;
let backendEvery = 0;
let inFlight = false;
/** Latest backend status; fetched on the side because a down broker can take seconds to answer. */
let backend: BackendStatus | null = null;
let backendPending = false;

function refreshBackend(): void {
  if (backendPending) return;
  backendPending = true;
  getBackendStatus()
    .then((b) => (backend = b))
    .catch(() => (backend = null))
    .finally(() => (backendPending = false));
}

async function poll(): Promise<void> {
  timer = null;
  inFlight = true;
  try {
    // The backend check is cached server-side for 10 s; asking every third poll is enough.
    if (backendEvery++ % 3 === 0) refreshBackend();
    const [cams, health, stats] = await Promise.all([getCameras(), getHealth(), getStats().catch(() => null)]);
    useHealthStore.getState().add({ at: Date.now(), cameras: cams.cameras, health, totalEvents: stats?.total_events ?? null, backend }, cams.pipeline);
  } catch (err) {
    useHealthStore.getState().fail(errorText(err));
  } finally {
    inFlight = false;
    if (users > 0 && !timer) timer = setTimeout(() => void poll(), POLL_MS);
  }
}

/** Starts polling (shared by every mounted user); returns the stop. */
export function startHealthPolling(): () => void {
  users++;
  if (users === 1 && !inFlight && !timer) {
    backendEvery = 0;
    void poll();
  }
  return () => {
    users--;
    if (users === 0 && timer) {
      clearTimeout(timer);
      timer = null;
    }
  };
}
