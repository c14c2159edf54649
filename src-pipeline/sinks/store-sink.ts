/**
 * StoreSink: the embedded default destination. Puts the best-shot JPEGs into an ImageStore,
 * stores the event (with their URLs) in a Storage, then hands the stored event to `onStored`
 * (the server's live-feed publish).
 *
 * - Images are best effort: when one cannot be stored its URL stays what the event carried
 *   (null from the pipeline) and a warning is logged; the event matters more than its pictures.
 * - write() rejects only when the Storage write itself fails (so a SpoolSink around it keeps
 *   the event). Re-sending the same event is harmless: insert is idempotent on event_id, image
 *   puts replace their file, and onStored is not called again for a duplicate insert.
 * - An update (captured.update) upserts; kinds it brings no new picture for keep the stored
 *   event's URL, and pictures the update replaced under another path (a capture day that
 *   moved) are removed after the upsert.
 * - Once stored, nothing after (reading it back, onStored) can make write() reject.
 * The caller owns the Storage and ImageStore: close() does not close them.
 */
import type { PlateEvent, StoredEvent } from '../common/plate-event.js';
import { IMAGE_KINDS, type ImageKind, type ImageStore } from '../images/image-store.js';
import type { Storage } from '../store/storage.js';
import type { CapturedEvent, EventSink } from './event-sink.js';
import { errorDetails, noLog, safeLog, type SinkLog } from './log.js';

export interface StoreSinkOptions {
  storage: Storage;
  /** Where JPEGs go; without one, image bytes are ignored (URLs stay as the event has them). */
  images?: ImageStore | null;
  /** Called with the event as stored (created_at included), after each new or updated event. */
  onStored?: (event: StoredEvent) => void | Promise<void>;
  log?: SinkLog;
}

export interface StoreSinkStats {
  inserted: number;
  updated: number;
  duplicates: number;
  imageFailures: number;
  callbackFailures: number;
}

const URL_FIELD: Record<ImageKind, keyof PlateEvent['images']> = { plate: 'plate_url', vehicle: 'vehicle_url', frame: 'frame_url' };

export class StoreSink implements EventSink {
  readonly name = 'store';
  private readonly storage: Storage;
  private readonly images: ImageStore | null;
  private readonly onStored?: (event: StoredEvent) => void | Promise<void>;
  private readonly log: SinkLog;
  private readonly inFlight = new Set<Promise<unknown>>();
  private closed = false;
  private readonly counters: StoreSinkStats = { inserted: 0, updated: 0, duplicates: 0, imageFailures: 0, callbackFailures: 0 };

  constructor(opts: StoreSinkOptions) {
    this.storage = opts.storage;
    this.images = opts.images ?? null;
    this.onStored = opts.onStored;
    this.log = opts.log ?? noLog;
  }

  stats(): StoreSinkStats {
    return { ...this.counters };
  }

  write(captured: CapturedEvent): Promise<void> {
    if (this.closed) return Promise.reject(new Error('store sink is closed'));
    const p = this.writeOne(captured);
    this.inFlight.add(p);
    const done = () => this.inFlight.delete(p);
    p.then(done, done);
    return p;
  }

  private async writeOne({ event, images, update }: CapturedEvent): Promise<void> {
    const previous = update ? await this.storage.get(event.event_id).catch(() => null) : null;
    const urls: PlateEvent['images'] = { ...event.images };
    for (const kind of IMAGE_KINDS) {
      const field = URL_FIELD[kind];
      const jpeg = images[kind];
      if (jpeg && this.images) {
        try {
          urls[field] = await this.images.put(kind, event.event_id, event.captured_at, jpeg);
        } catch (err) {
          this.counters.imageFailures++;
          safeLog(this.log, 'warn', 'image not stored; storing the event without it', {
            sink: this.name,
            event_id: event.event_id,
            kind,
            ...errorDetails(err),
          });
        }
      }
      if (urls[field] === null && previous) urls[field] = previous.images[field];
    }
    const toStore: PlateEvent = { ...event, images: urls };

    let outcome: 'inserted' | 'updated' | 'duplicate';
    if (update) outcome = await this.storage.upsert(toStore);
    else outcome = (await this.storage.insert(toStore)) ? 'inserted' : 'duplicate';

    if (outcome === 'duplicate') {
      this.counters.duplicates++;
      safeLog(this.log, 'info', 'event already stored; ignored', { sink: this.name, event_id: event.event_id });
      return;
    }
    this.counters[outcome]++;
    if (previous && this.images) {
      const now = new Set(Object.values(urls));
      const stale = Object.values(previous.images).filter((u): u is string => u !== null && !now.has(u));
      if (stale.length)
        await this.images
          .delete(stale)
          .catch((err: unknown) =>
            safeLog(this.log, 'warn', 'replaced images not removed', { sink: this.name, event_id: event.event_id, ...errorDetails(err) }),
          );
    }
    if (!this.onStored) return;
    try {
      const stored = await this.storage.get(event.event_id);
      if (stored) await this.onStored(stored);
    } catch (err) {
      this.counters.callbackFailures++;
      safeLog(this.log, 'error', 'onStored failed (the event is stored)', { sink: this.name, event_id: event.event_id, ...errorDetails(err) });
    }
  }

  /** Waits for writes in flight; the Storage and ImageStore stay open (the caller owns them). */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.allSettled([...this.inFlight]);
  }
}
