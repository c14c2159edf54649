/** Shapes of the health-related API answers, kept free of DOM code so plain-node unit tests can use them. */

export interface CameraRow {
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
  stage_ms?: Record<string, number>;
  queue_depth?: number;
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
