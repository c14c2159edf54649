/**
 * Answer shapes of the API routes the console uses that are not plate events (those come from
 * src-pipeline/common/plate-event). Kept in step with src-pipeline/api/schemas.ts by hand: the
 * renderer may not import the server's modules.
 */
import type { StoredEvent } from '../../src-pipeline/common/plate-event';

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
