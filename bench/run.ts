/**
 * Benchmarks, run as `npm run bench -- <name> [options]`. Each prints ratios measured in the
 * same run (this machine is shared and noisy, so absolute numbers drift between runs).
 */
import { benchRecognize } from './recognize.js';
import { benchStorage } from './storage.js';
import { benchApi } from './api.js';
import { benchPipeline } from './pipeline.js';
import { benchBackend } from './backend.js';
import { benchAlerts } from './alerts.js';

const benches: Record<string, (args: string[]) => Promise<void>> = {
  recognize: benchRecognize,
  storage: benchStorage,
  api: benchApi,
  pipeline: benchPipeline,
  backend: benchBackend,
  alerts: benchAlerts,
};

const [name, ...rest] = process.argv.slice(2);
const bench = name ? benches[name] : undefined;
if (!bench) {
  process.stderr.write(`usage: npm run bench -- <${Object.keys(benches).join('|')}> [options]\n`);
  process.exit(2);
}
await bench(rest);
