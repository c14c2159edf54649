/**
 * Answer shapes of the API routes the console uses that are not plate events (those come from
 * src-pipeline/common/plate-event). Kept in step with src-pipeline/api/schemas.ts by hand: the
 * renderer may not import the server's modules.
 */
import type { StoredEvent } from '../../src-pipeline/common/plate-event.js';

export interface CameraStatus {
  id: string;
  state: 'starting' | 'running' | 'restarting' | 'finished' | 'failed' | 'stopped';
  source_state: string | null;
  restarts: number;
  last_error: string | null;
  frames: number;
  fps_in: number;
  fps_out: number;
  dropped: number;
  decode_errors: number;
  reconnects: number;
  tracks: number;
  events: number;
  width: number | null;
  height: number | null;
  /** Median milliseconds per pipeline stage (decode, detect, ocr, …) over recent frames. */
  stage_ms?: Record<string, number>;
  /** Frames decoded and waiting for the pipeline. */
  queue_depth?: number;
}

export interface CamerasAnswer {
  pipeline: boolean;
  cameras: CameraStatus[];
}

export interface EventList {
  events: StoredEvent[];
  count: number;
  limit: number;
  offset: number;
}

export interface FuzzyAnswer {
  plate: string;
  matches: { plate: string; rank: number; distance: number; events: number; last_seen: string }[];
}

export interface HealthComponent {
  status: 'ok' | 'down' | 'not_configured';
  required: boolean;
  latency_ms: number | null;
  error: string | null;
  target: string | null;
  checked_at: string | null;
}

export interface HealthAnswer {
  status: 'ok' | 'degraded';
  database: 'ok' | 'down';
  storage: string;
  version: string;
  uptime_s: number;
  live_clients: number;
  /** Absent from servers older than the component checks. */
  components?: Partial<Record<'database' | 'kafka' | 'schema_registry' | 's3', HealthComponent>>;
  image_uploads?: { pending: number; pending_bytes: number; failed_attempts: number; retrying: boolean; over_cap: boolean; last_error: string | null };
}

export interface StatsAnswer {
  total_events: number;
  unique_plates: number;
  active_cameras: number;
  latest_event: string | null;
  avg_latency_ms: number | null;
}

export interface BackendStatus {
  enabled: boolean;
  check: BackendCheck | null;
  error?: string;
}

export interface BackendCheck {
  kafka: { ok: boolean; error?: string; brokers?: number; topic_exists?: boolean; partitions?: number; consumer_lag?: number | null };
  registry: { ok: boolean; error?: string; subjects?: number } | null;
  elapsed_ms: number;
}
