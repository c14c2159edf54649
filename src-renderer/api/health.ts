/** Typed calls for the Health screen: camera rates, service health, totals, backend status. */
import type { BackendStatus, CamerasAnswer, CameraStatus, HealthAnswer, StatsAnswer } from './types';
import { ApiRequestError, apiGet } from './client';

export type { BackendStatus, CameraStatus, HealthAnswer, StatsAnswer };

export const getCameras = (signal?: AbortSignal) => apiGet<CamerasAnswer>('/cameras', undefined, signal);
export const getStats = (signal?: AbortSignal) => apiGet<StatsAnswer>('/stats', undefined, signal);

/** /health answers 503 with the same body when the database is down: that is data here, not an error. */
export async function getHealth(signal?: AbortSignal): Promise<HealthAnswer> {
  try {
    return await apiGet<HealthAnswer>('/health', undefined, signal);
  } catch (err) {
    if (err instanceof ApiRequestError && err.status === 503)
      return { status: 'degraded', database: 'down', storage: '?', version: '?', uptime_s: 0, live_clients: 0 };
    throw err;
  }
}

/** Null when this server has no settings routes (the backend `api`). */
export async function getBackendStatus(signal?: AbortSignal): Promise<BackendStatus | null> {
  try {
    return await apiGet<BackendStatus>('/settings/backend/status', undefined, signal);
  } catch (err) {
    if (err instanceof ApiRequestError && err.status === 404) return null;
    throw err;
  }
}
