/**
 * The EventSink boundary: where the pipeline hands a finished plate event. The embedded
 * default stores it (SQLite + local image folder) and pushes it to the live feed; a JSONL
 * file, Kafka (later issue) or several at once are other sinks behind the same interface, so
 * the camera pipeline never knows where events go.
 */
import type { PlateEvent } from '../common/plate-event.js';

/** JPEG bytes of the best shot, encoded by the pipeline (off the main thread). */
export interface EventImages {
  plate?: Buffer | null;
  vehicle?: Buffer | null;
  frame?: Buffer | null;
}

export interface CapturedEvent {
  event: PlateEvent;
  images: EventImages;
  /**
   * True when this event replaces an earlier one with the same event_id (a later, better read
   * of the same plate inside the dedup window). Sinks that cannot update treat it as new.
   */
  update?: boolean;
}

export interface EventSink {
  readonly name: string;
  /**
   * Hands one event on. Resolves once the sink holds it durably (stored, written, or spooled
   * for retry); rejects only when it could do none of these, so the caller can keep it.
   */
  write(captured: CapturedEvent): Promise<void>;
  /** Flushes what is pending and releases resources; idempotent. */
  close(): Promise<void>;
}
