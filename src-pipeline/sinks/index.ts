/** Event sinks: where the pipeline hands finished plate events (see event-sink.ts). */
import { join } from 'node:path';
import type { StoredEvent } from '../common/plate-event.js';
import { openLocalImageStore, type LocalImageStore } from '../images/local-image-store.js';
import { openSqliteStorage, type SqliteStorage, type SqliteStorageOptions } from '../store/sqlite.js';
import { noLog, type SinkLog } from './log.js';
import { SpoolSink } from './spool-sink.js';
import { StoreSink } from './store-sink.js';

export type { CapturedEvent, EventImages, EventSink } from './event-sink.js';
export { FanoutSink, type FanoutSinkStats } from './fanout-sink.js';
export { JsonlSink, type JsonlSinkOptions } from './jsonl-sink.js';
export { noLog, type SinkLog, type SinkLogLevel } from './log.js';
export { SpoolSink, type SpoolSinkOptions, type SpoolSinkStats } from './spool-sink.js';
export { StoreSink, type StoreSinkOptions, type StoreSinkStats } from './store-sink.js';

export interface EmbeddedSinkOptions {
  /** `<dataDir>/events.sqlite`, `<dataDir>/images`, `<dataDir>/spool`. */
  dataDir: string;
  onStored?: (event: StoredEvent) => void | Promise<void>;
  log?: SinkLog;
  /** Passed to openSqliteStorage (privacy switch, busy timeout…). */
  sqlite?: SqliteStorageOptions;
}

export interface EmbeddedSink {
  /** SpoolSink around a StoreSink; closing it does not close storage or images. */
  sink: SpoolSink;
  /** The SQLite store: hand it to the API server; close it after the sink. */
  storage: SqliteStorage;
  images: LocalImageStore;
}

/**
 * The embedded default: SQLite at `<dataDir>/events.sqlite` and local images at
 * `<dataDir>/images` behind a StoreSink, wrapped in a SpoolSink at `<dataDir>/spool` (which
 * starts replaying whatever an earlier run left there).
 */
export async function createEmbeddedSink(opts: EmbeddedSinkOptions): Promise<EmbeddedSink> {
  const log = opts.log ?? noLog;
  const storage = await openSqliteStorage(join(opts.dataDir, 'events.sqlite'), opts.sqlite);
  try {
    const images = await openLocalImageStore(join(opts.dataDir, 'images'));
    const store = new StoreSink({ storage, images, onStored: opts.onStored, log });
    const sink = await SpoolSink.open({ inner: store, dir: join(opts.dataDir, 'spool'), log });
    return { sink, storage, images };
  } catch (err) {
    await storage.close().catch(() => {});
    throw err;
  }
}
