/**
 * ImageUploadSink: puts an event's pictures into the S3 upload queue (images/upload-queue.ts)
 * and hands the event on with their `s3://bucket/key` URLs, so every sink behind it (the local
 * store, the Kafka outbox) sees the same URLs.
 *
 * - The URL is fixed before the upload (the key is the event id, kind and capture day): the
 *   event never waits for S3, and an S3 outage neither blocks nor drops events. The queue has
 *   each picture on local disk before write() goes on, so the upload happens later, retried
 *   until it lands.
 * - A picture the queue cannot take (local disk full…) is handed on as bytes instead, so the
 *   inner sink may still keep it (a StoreSink with a local image folder does); it is logged
 *   and counted. write() rejects only when the inner sink does.
 * - Object metadata: camera_id, track_id, quality_score, frame_number, and plate_text unless
 *   `includePlateText` is off (the privacy switch: metadata travels with every GET).
 * close() closes the inner sink; the queue belongs to the caller.
 */
import type { PlateEvent } from '../common/plate-event.js';
import { IMAGE_KINDS, type ImageKind, type ImageMetadata } from '../images/image-store.js';
import type { ImageUploadQueue } from '../images/upload-queue.js';
import type { CapturedEvent, EventImages, EventSink } from './event-sink.js';
import { errorDetails, noLog, safeLog, type SinkLog } from './log.js';

export interface ImageUploadSinkOptions {
  inner: EventSink;
  queue: Pick<ImageUploadQueue, 'enqueue'>;
  /** Keep the plain plate text as object metadata (default true; off with the privacy switch). */
  includePlateText?: boolean;
  log?: SinkLog;
}

export interface ImageUploadSinkStats {
  queued: number;
  /** Pictures the queue refused (handed on as bytes). */
  cacheFailures: number;
}

const URL_FIELD: Record<ImageKind, keyof PlateEvent['images']> = { plate: 'plate_url', vehicle: 'vehicle_url', frame: 'frame_url' };

export class ImageUploadSink implements EventSink {
  readonly name: string;
  private readonly inner: EventSink;
  private readonly queue: Pick<ImageUploadQueue, 'enqueue'>;
  private readonly includePlateText: boolean;
  private readonly log: SinkLog;
  private readonly counters: ImageUploadSinkStats = { queued: 0, cacheFailures: 0 };

  constructor(opts: ImageUploadSinkOptions) {
    this.inner = opts.inner;
    this.queue = opts.queue;
    this.includePlateText = opts.includePlateText ?? true;
    this.log = opts.log ?? noLog;
    this.name = `s3-images(${opts.inner.name})`;
  }

  stats(): ImageUploadSinkStats {
    return { ...this.counters };
  }

  async write(captured: CapturedEvent): Promise<void> {
    const { event } = captured;
    const meta: ImageMetadata = {
      camera_id: event.camera_id,
      ...(event.track_id !== null ? { track_id: event.track_id } : {}),
      ...(this.includePlateText ? { plate_text: event.plate.text } : {}),
      ...(event.extras.quality_score !== null && event.extras.quality_score !== undefined ? { quality_score: event.extras.quality_score } : {}),
      ...(event.extras.frame_number !== null && event.extras.frame_number !== undefined ? { frame_number: event.extras.frame_number } : {}),
    };
    const urls: PlateEvent['images'] = { ...event.images };
    const leftover: EventImages = {};
    await Promise.all(
      IMAGE_KINDS.map(async (kind) => {
        const jpeg = captured.images[kind];
        if (!jpeg) return;
        try {
          urls[URL_FIELD[kind]] = await this.queue.enqueue(kind, event.event_id, event.captured_at, jpeg, meta);
          this.counters.queued++;
        } catch (err) {
          this.counters.cacheFailures++;
          leftover[kind] = jpeg;
          safeLog(this.log, 'warn', 'image not queued for S3; handing it on', { sink: this.name, event_id: event.event_id, kind, ...errorDetails(err) });
        }
      }),
    );
    await this.inner.write({ ...captured, event: { ...event, images: urls }, images: leftover });
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
