/**
 * Reads config/images.yaml (common/images-config.ts) with the environment's overrides:
 *
 *   OVR_ALPR_S3_ENDPOINT, OVR_ALPR_S3_REGION            replace s3.endpoint / s3.region
 *   OVR_ALPR_S3_ACCESS_KEY, OVR_ALPR_S3_SECRET_KEY      the credentials (only from here…)
 *   OVR_ALPR_S3_ACCESS_KEY_FILE, OVR_ALPR_S3_SECRET_KEY_FILE   …or from files they name
 *
 * Uploads are switched on only by `s3.enabled: true` in the file, never by the variables, so a
 * shell that has S3 settings exported (CI does) does not change where a plain `serve` puts its
 * pictures. Errors name the file, the key and the fix; a secret never appears in one.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse } from 'yaml';
import { AlprError } from '../common/errors.js';
import { ImagesConfig, isSecretKey } from '../common/images-config.js';

export interface S3Credentials {
  accessKey: string;
  secretKey: string;
}

export interface LoadedImagesConfig {
  config: ImagesConfig;
  /** Present whenever both keys were found (needed only when s3.enabled). */
  credentials: S3Credentials | null;
  file: string;
}

const FIX = 'Fix the key (see the comments in config/images.yaml) or the OVR_ALPR_S3_* variables.';

function invalid(file: string, lines: string[], issues: { key: string; message: string }[]): AlprError {
  return new AlprError('CONFIG_INVALID', `${lines.join('\n')}\n${FIX}`, { details: { file, issues } });
}

/** One credential from VAR or the file VAR_FILE names (trimmed); undefined when neither is set. */
function secret(env: Record<string, string | undefined>, name: string): string | undefined {
  const direct = env[name];
  if (direct !== undefined && direct.trim() !== '') return direct.trim();
  const file = env[`${name}_FILE`];
  if (file === undefined || file.trim() === '') return undefined;
  let text: string;
  try {
    text = readFileSync(file, 'utf8').trim();
  } catch (err) {
    throw new AlprError('CONFIG_INVALID', `${name}_FILE: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`);
  }
  if (!text) throw new AlprError('CONFIG_INVALID', `${name}_FILE: ${file} is empty`);
  return text;
}

export function loadImagesConfig(dir: string, env: Record<string, string | undefined> = process.env): LoadedImagesConfig {
  const file = join(dir, 'images.yaml');
  let raw: unknown = {};
  if (existsSync(file)) {
    try {
      raw = parse(readFileSync(file, 'utf8')) ?? {};
    } catch (err) {
      throw new AlprError('CONFIG_INVALID', `${file}: not valid YAML: ${(err as Error).message}`, { cause: err, details: { file } });
    }
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw))
    throw invalid(file, [`${file}: (root): must be a mapping`], [{ key: '', message: 'must be a mapping' }]);
  const s3Raw = (raw as { s3?: unknown }).s3;
  if (s3Raw && typeof s3Raw === 'object') {
    const secrets = Object.keys(s3Raw).filter(isSecretKey);
    if (secrets.length)
      throw invalid(
        file,
        secrets.map((k) => `${file}: s3.${k}: secrets are never read from this file; set OVR_ALPR_S3_ACCESS_KEY / OVR_ALPR_S3_SECRET_KEY (or …_FILE) instead`),
        secrets.map((k) => ({ key: `s3.${k}`, message: 'secrets are never read from this file' })),
      );
  }
  const merged = {
    ...(raw as object),
    s3: {
      ...((s3Raw as object | undefined) ?? {}),
      ...(env.OVR_ALPR_S3_ENDPOINT ? { endpoint: env.OVR_ALPR_S3_ENDPOINT.trim() } : {}),
      ...(env.OVR_ALPR_S3_REGION ? { region: env.OVR_ALPR_S3_REGION.trim() } : {}),
    },
  };
  const parsed = ImagesConfig.safeParse(merged);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => {
      const key = i.path.join('.') || '(root)';
      const fromEnv =
        key === 's3.endpoint' && env.OVR_ALPR_S3_ENDPOINT
          ? ' (from OVR_ALPR_S3_ENDPOINT)'
          : key === 's3.region' && env.OVR_ALPR_S3_REGION
            ? ' (from OVR_ALPR_S3_REGION)'
            : '';
      return `${file}: ${key}: ${i.message}${fromEnv}`;
    });
    throw invalid(
      file,
      lines,
      parsed.error.issues.map((i) => ({ key: i.path.join('.'), message: i.message })),
    );
  }
  const config = parsed.data;
  const accessKey = secret(env, 'OVR_ALPR_S3_ACCESS_KEY');
  const secretKey = secret(env, 'OVR_ALPR_S3_SECRET_KEY');
  const credentials = accessKey && secretKey ? { accessKey, secretKey } : null;
  if (config.s3.enabled && !credentials) {
    const missing = [accessKey ? null : 'OVR_ALPR_S3_ACCESS_KEY', secretKey ? null : 'OVR_ALPR_S3_SECRET_KEY'].filter(Boolean).join(' and ');
    throw new AlprError(
      'CONFIG_INVALID',
      `${file}: s3.enabled is true but ${missing} ${missing.includes(' and ') ? 'are' : 'is'} not set (or the …_FILE variant); credentials are only read from the environment`,
      {
        details: { file, issues: [{ key: 's3.enabled', message: `needs ${missing}` }] },
      },
    );
  }
  return { config, credentials, file };
}
