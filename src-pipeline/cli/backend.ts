/**
 * `ovr-alpr backend up|down|status`: launch the compose/ stack with Docker, stop it, or check
 * a backend. `status` without --compose-file checks an existing backend (connect mode: Kafka,
 * schema registry, PostgreSQL, S3 from the OVR_ALPR_* variables or flags); with it, the state
 * of the compose stack's containers. Exit code 0 when everything is healthy, 1 otherwise.
 */
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { checkBackend, targetsFromEnv } from '../backend/connect-checks.js';
import { ComposeLauncher, type ComposeProgress } from '../backend/compose-launcher.js';
import type { BackendReport } from '../backend/report.js';
import { AlprError } from '../common/errors.js';
import { projectRoot } from '../paths.js';

export interface BackendIo {
  out: (line: string) => void;
  err: (line: string) => void;
  env?: Record<string, string | undefined>;
}

const USAGE = `usage: ovr-alpr backend up|down|status [options]
  up | down                  start (docker compose up -d, then wait for every healthcheck) or stop the compose stack
  status                     without --compose-file: check an existing backend (connect mode);
                             with it: the compose stack's per-service state
options:
  --compose-file F           compose file (default for up/down: compose/docker-compose.yml of this install)
  --project NAME             compose project name (default ovr-alpr)
  --profile P                enable a compose profile, e.g. observability (repeatable)
  --timeout-s N              how long up waits for healthy services (default 300)
  --brokers H:P,…            Kafka (default OVR_ALPR_KAFKA_BROKERS)
  --schema-registry URL      (default OVR_ALPR_SCHEMA_REGISTRY_URL)
  --database-url URL         (default OVR_ALPR_DATABASE_URL)
  --s3-endpoint URL          (default OVR_ALPR_S3_ENDPOINT; keys from OVR_ALPR_S3_ACCESS_KEY / _SECRET_KEY)
  --s3-bucket B              (default OVR_ALPR_S3_BUCKET or alpr-plate-images)
  --check-timeout-s N        per-service timeout in connect mode (default 5)
  --json                     JSON lines: progress lines, then the report`;

export async function backendCmd(args: string[], io: BackendIo): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        'compose-file': { type: 'string' },
        project: { type: 'string' },
        profile: { type: 'string', multiple: true },
        'timeout-s': { type: 'string' },
        brokers: { type: 'string' },
        'schema-registry': { type: 'string' },
        'database-url': { type: 'string' },
        's3-endpoint': { type: 'string' },
        's3-bucket': { type: 'string' },
        'check-timeout-s': { type: 'string' },
        json: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new AlprError('USAGE', `${(err as Error).message}\n${USAGE}`);
  }
  const { values: v, positionals } = parsed;
  const action = positionals[0];
  if (positionals.length !== 1 || !['up', 'down', 'status'].includes(action!)) throw new AlprError('USAGE', `backend needs one of up, down, status\n${USAGE}`);
  const json = v.json === true;
  const env = io.env ?? process.env;

  let result: BackendReport;
  if (action === 'status' && !v['compose-file']) {
    const t = targetsFromEnv(env);
    if (v.brokers)
      t.kafkaBrokers = v.brokers
        .split(',')
        .map((b) => b.trim())
        .filter(Boolean);
    if (v['schema-registry']) t.schemaRegistryUrl = v['schema-registry'];
    if (v['database-url']) t.databaseUrl = v['database-url'];
    if (v['s3-endpoint']) t.s3 = { ...(t.s3 ?? { bucket: 'alpr-plate-images', accessKey: '', secretKey: '' }), endpoint: v['s3-endpoint'] };
    if (v['s3-bucket'] && t.s3) t.s3.bucket = v['s3-bucket'];
    result = await checkBackend(t, { timeoutMs: seconds(v['check-timeout-s'], 'check-timeout-s', 5) * 1000 });
  } else {
    const launcher = new ComposeLauncher({
      composeFile: resolve(v['compose-file'] ?? join(projectRoot(), 'compose', 'docker-compose.yml')),
      projectName: v.project ?? 'ovr-alpr',
      profiles: v.profile,
      timeoutMs: seconds(v['timeout-s'], 'timeout-s', 300) * 1000,
      env: env as NodeJS.ProcessEnv,
      onProgress: (p: ComposeProgress) =>
        json ? io.out(JSON.stringify({ progress: { phase: p.phase, message: p.message } })) : io.err(`${p.phase}: ${p.message}`),
    });
    result = action === 'up' ? await launcher.up() : action === 'down' ? await launcher.down() : await launcher.status();
  }
  if (json) io.out(JSON.stringify(result));
  else printReport(result, io);
  return result.ok ? 0 : 1;
}

function seconds(value: string | undefined, flag: string, dflt: number): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!value.trim() || !Number.isFinite(n) || n <= 0) throw new AlprError('USAGE', `--${flag} must be a number of seconds > 0, got "${value}"`);
  return n;
}

function printReport(r: BackendReport, io: BackendIo): void {
  if (r.error) io.err(`${r.error.code}: ${r.error.message}`);
  const width = Math.max(8, ...r.services.map((s) => s.service.length));
  for (const s of r.services) {
    const what = s.error ? `${s.error.code}: ${s.error.message}` : (s.detail ?? '');
    io.out(`${s.service.padEnd(width)}  ${s.state.padEnd(14)}  ${s.target ?? '-'}  ${what}`);
  }
  io.out(r.ok ? `backend (${r.mode}): all healthy` : `backend (${r.mode}): NOT healthy`);
}
