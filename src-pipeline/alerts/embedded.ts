/**
 * The alert engine inside `serve` and `run`: config rules from <config>/alert_rules.yaml, stored
 * rules, hotlists and history in <data-dir>/alerts.sqlite (beside events.sqlite). The hook the
 * pipeline calls (`submit`) never throws and never waits; delivery happens on the engine's queue.
 */
import { join } from 'node:path';
import type { PlateEvent } from '../common/plate-event.js';
import { loadAlertsConfig } from './config.js';
import type { AlertLog } from './delivery.js';
import { AlertEngine } from './engine.js';
import { SqliteAlertStore } from './sqlite-store.js';

export interface EmbeddedAlerts {
  engine: AlertEngine;
  submit(event: PlateEvent): void;
  /** Lets queued notifications finish (up to `graceMs`), then closes the store. */
  close(graceMs?: number): Promise<void>;
}

export async function openEmbeddedAlerts(opts: {
  dataDir: string;
  configDir: string;
  imagesDir?: string;
  log?: AlertLog;
  env?: Record<string, string | undefined>;
}): Promise<EmbeddedAlerts> {
  const config = loadAlertsConfig(join(opts.configDir, 'alert_rules.yaml'));
  const store = new SqliteAlertStore(join(opts.dataDir, 'alerts.sqlite'));
  let engine: AlertEngine;
  try {
    engine = await AlertEngine.open({ config, store, env: opts.env, imagesDir: opts.imagesDir ?? join(opts.dataDir, 'images'), log: opts.log });
  } catch (err) {
    await store.close();
    throw err;
  }
  return {
    engine,
    submit: (event) => engine.submit(event),
    close: async (graceMs = 5000) => {
      await engine.close(graceMs);
      await store.close();
    },
  };
}

/**
 * Rules, hotlists and history for the backend query API (`ovr-alpr api`): the PostgreSQL alert
 * store, no event evaluation (the `alerts` service does that), so the hotlist plates are not
 * loaded into memory here.
 */
export async function openApiAlerts(opts: {
  databaseUrl: string;
  configDir: string;
  env?: Record<string, string | undefined>;
}): Promise<{ engine: AlertEngine; close(): Promise<void> }> {
  const config = loadAlertsConfig(join(opts.configDir, 'alert_rules.yaml'));
  const { openPostgresAlertStore } = await import('./postgres-store.js');
  const store = await openPostgresAlertStore(opts.databaseUrl);
  try {
    const engine = await AlertEngine.open({ config, store, env: opts.env, indexHotlists: false });
    return {
      engine,
      close: async () => {
        await engine.close();
        await store.close();
      },
    };
  } catch (err) {
    await store.close();
    throw err;
  }
}
