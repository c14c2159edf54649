/**
 * A private instance of a scripts/services.sh service for fault tests: its own state folder
 * (OVR_ALPR_SERVICES_INSTANCE) beside the shared services, from the same cached installs, so a
 * test can stop and start it without touching what other tests use.
 */
import { execFile } from 'node:child_process';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const SERVICES_SH = join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'scripts', 'services.sh');
const run = promisify(execFile);

export interface ServicesInstance {
  name: string;
  /** The instance's state folder (pid files, data, logs). */
  state: string;
  /** Runs `services.sh ARGS…` for this instance (asynchronously, so the test's clients keep working meanwhile). */
  sh(...args: string[]): Promise<void>;
}

/** `vars` are the service's settings for services.sh (ports, credentials, …). */
export function servicesInstance(name: string, vars: Record<string, string>): ServicesInstance {
  const home = process.env.OVR_ALPR_SERVICES_HOME || join(homedir(), '.cache', 'ovr-alpr-services');
  const env = { ...process.env, OVR_ALPR_SERVICES_HOME: home, OVR_ALPR_SERVICES_INSTANCE: name, ...vars };
  return {
    name,
    state: join(home, 'instances', name),
    sh: async (...args: string[]) => {
      try {
        await run('bash', [SERVICES_SH, ...args], { env, maxBuffer: 1 << 20 });
      } catch (err) {
        const e = err as { stderr?: string; message: string };
        throw new Error(`services.sh ${args.join(' ')} (instance ${name}) failed: ${e.stderr || e.message}`);
      }
    },
  };
}
