/** Typed calls for the Settings screen (/settings/*). */
import type { CameraConfig } from '../../src-pipeline/common/cameras-config';
import type { ProbeResult } from '../../src-pipeline/common/source-probe';
import type { BackendCheck } from './types';
import { ApiRequestError, apiGet, apiSend, apiToken, apiUrl } from './client';

export type { BackendCheck };

/** A camera as written in the cameras file (no defaults filled in). */
export type CameraRaw = Record<string, unknown> & { id?: string; source?: string };
export type Applied = 'live' | 'restart_required';

export interface CamerasList {
  file: string | null;
  editable: boolean;
  live_apply: boolean;
  cameras: CameraRaw[];
}

export type { ProbeResult };

export interface SourceRef {
  source: string;
  type?: string;
  transport?: string;
  width?: number;
  height?: number;
}

export interface ConsoleSettings {
  retention: { max_age_days: number | null; max_events: number | null; max_image_mb: number | null; interval_min: number };
  privacy: { hash_plates: boolean };
}

export interface RetentionAnswer {
  file: string;
  settings: ConsoleSettings;
  overridden_by_flags: boolean;
  applied?: Applied;
}

export interface BackendAnswer {
  file: string;
  config: Record<string, unknown>;
  effective: Record<string, unknown> | null;
  error: string | null;
  env_overrides: string[];
}

export const listCameras = (signal?: AbortSignal) => apiGet<CamerasList>('/settings/cameras', undefined, signal);
export const addCamera = (cam: CameraRaw) => apiSend<{ camera: CameraConfig; applied: Applied }>('POST', '/settings/cameras', cam);
export const updateCamera = (id: string, cam: CameraRaw) =>
  apiSend<{ camera: CameraConfig; applied: Applied }>('PUT', `/settings/cameras/${encodeURIComponent(id)}`, cam);
export const removeCamera = (id: string) => apiSend<{ removed: string; applied: Applied }>('DELETE', `/settings/cameras/${encodeURIComponent(id)}`);
export const testSource = (src: SourceRef) => apiSend<ProbeResult>('POST', '/settings/cameras/test', src);

/** One JPEG frame from the source, as an object URL (revoke it when done). */
export async function snapshotUrl(src: SourceRef, signal?: AbortSignal): Promise<string> {
  const headers = new Headers({ 'content-type': 'application/json' });
  const token = apiToken();
  if (token) headers.set('authorization', `Bearer ${token}`);
  let res: Response;
  try {
    res = await fetch(apiUrl('/settings/cameras/snapshot'), { method: 'POST', headers, body: JSON.stringify(src), signal });
  } catch (err) {
    if (err instanceof DOMException && err.name === 'AbortError') throw err;
    throw new ApiRequestError({ code: 'NETWORK', message: 'cannot reach the OVR-ALPR service', status: 0, retriable: true });
  }
  if (!res.ok) {
    const body = (await res.json().catch(() => null)) as { error?: { code?: string; message?: string; field?: string } } | null;
    throw new ApiRequestError({
      code: body?.error?.code ?? `HTTP_${res.status}`,
      message: body?.error?.message ?? `the server answered ${res.status}`,
      status: res.status,
      field: body?.error?.field,
    });
  }
  return URL.createObjectURL(await res.blob());
}

export const getRetention = (signal?: AbortSignal) => apiGet<RetentionAnswer>('/settings/retention', undefined, signal);
export const saveRetention = (s: ConsoleSettings) => apiSend<RetentionAnswer>('PUT', '/settings/retention', s);
export const getBackend = (signal?: AbortSignal) => apiGet<BackendAnswer>('/settings/backend', undefined, signal);
export const saveBackend = (cfg: Record<string, unknown>) =>
  apiSend<{ file: string; config: Record<string, unknown>; applied: Applied }>('PUT', '/settings/backend', cfg);
export const testBackend = (cfg: { brokers?: string[]; schema_registry_url?: string; topic?: string }) =>
  apiSend<BackendCheck>('POST', '/settings/backend/test', cfg);
