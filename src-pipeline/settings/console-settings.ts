/**
 * Console settings that are not camera or bus config: retention and privacy. They live in
 * `<data dir>/settings.yaml` (next to the store they govern) and `serve` reads them at start;
 * command-line retention flags, when given, win over the file. The privacy key itself never
 * goes into this file: it is generated into `<data dir>/privacy.key` (mode 0600).
 */
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, stringify } from 'yaml';
import { z } from 'zod';
import { AlprError } from '../common/errors.js';
import type { RetentionSettings } from '../store/retention.js';

export const RetentionOptions = z
  .object({
    /** Delete events and images captured more than this many days ago; null keeps them forever. */
    max_age_days: z.number().positive('must be more than 0 days').max(36_500).nullable().default(null),
    max_events: z.number().int('must be a whole number').positive('must be at least 1').nullable().default(null),
    max_image_mb: z.number().positive('must be more than 0 MB').nullable().default(null),
    interval_min: z.number().positive('must be more than 0 minutes').max(1440, 'at most once a day (1440)').default(60),
  })
  .strict();

export const PrivacyOptions = z
  .object({
    /** Store plates only as a keyed hash: exact lookups still work, partial and fuzzy search do not. */
    hash_plates: z.boolean().default(false),
  })
  .strict();

export const ConsoleSettings = z
  .object({
    retention: RetentionOptions.default(RetentionOptions.parse({})),
    privacy: PrivacyOptions.default(PrivacyOptions.parse({})),
  })
  .strict();
export type ConsoleSettings = z.infer<typeof ConsoleSettings>;

export const SETTINGS_FILE = 'settings.yaml';
export const PRIVACY_KEY_FILE = 'privacy.key';

export function settingsFile(dataDir: string): string {
  return join(dataDir, SETTINGS_FILE);
}

export function loadConsoleSettings(dataDir: string): ConsoleSettings {
  const file = settingsFile(dataDir);
  if (!existsSync(file)) return ConsoleSettings.parse({});
  let raw: unknown;
  try {
    raw = parse(readFileSync(file, 'utf8')) ?? {};
  } catch (err) {
    throw new AlprError('CONFIG_INVALID', `${file}: not valid YAML: ${(err as Error).message}`, { cause: err });
  }
  const parsed = ConsoleSettings.safeParse(raw);
  if (!parsed.success) {
    const i = parsed.error.issues[0];
    throw new AlprError('CONFIG_INVALID', `${file}: ${i.path.join('.') || '(root)'}: ${i.message}. Fix it in the console (Settings) or delete the file.`);
  }
  return parsed.data;
}

export function saveConsoleSettings(dataDir: string, settings: ConsoleSettings): void {
  const file = settingsFile(dataDir);
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `# Written by the console (Settings). serve reads it at start; --retention-* flags win over it.\n${stringify(settings)}`, { mode: 0o644 });
  renameSync(tmp, file);
}

/** The retention policy store/retention.ts takes. */
export function retentionPolicy(s: ConsoleSettings): RetentionSettings {
  const r = s.retention;
  return {
    max_age_days: r.max_age_days ?? undefined,
    max_events: r.max_events ?? undefined,
    max_image_bytes: r.max_image_mb === null ? undefined : Math.floor(r.max_image_mb * 1024 * 1024),
  };
}

/** The HMAC key for hashed plates: read, or created once (random, 0600) when privacy is first switched on. */
export function privacyKey(dataDir: string): Buffer {
  const file = join(dataDir, PRIVACY_KEY_FILE);
  if (existsSync(file)) {
    const key = Buffer.from(readFileSync(file, 'utf8').trim(), 'hex');
    if (key.length < 16) throw new AlprError('CONFIG_INVALID', `${file} holds no usable key (expected 32+ hex characters)`);
    return key;
  }
  const key = randomBytes(32);
  // wx: two processes starting at once must not both write different keys.
  writeFileSync(file, `${key.toString('hex')}\n`, { mode: 0o600, flag: 'wx' });
  return key;
}
