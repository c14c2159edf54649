/**
 * Secrets are named, never written in rules: `NAME` is read from the environment, or from the
 * file named by `NAME_FILE` (Docker/Kubernetes secrets). Values never reach logs or history.
 */
import { readFileSync } from 'node:fs';
import { DeliveryError } from './channels/channel.js';

export type Env = Record<string, string | undefined>;

export function readSecret(name: string, env: Env): string | undefined {
  const direct = env[name];
  if (direct !== undefined && direct !== '') return direct;
  const file = env[`${name}_FILE`];
  if (file) {
    try {
      return readFileSync(file, 'utf8').trim() || undefined;
    } catch {
      throw new DeliveryError(`cannot read the secret file named by ${name}_FILE`, false);
    }
  }
  return undefined;
}

export function requireSecret(name: string, env: Env, what: string): string {
  const v = readSecret(name, env);
  if (v === undefined) throw new DeliveryError(`${what}: environment variable ${name} (or ${name}_FILE) is not set`, false);
  return v;
}
