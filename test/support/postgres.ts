/**
 * A throwaway, real PostgreSQL server for tests (no Docker here: Debian's server binaries).
 *
 * With OVR_ALPR_TEST_DATABASE_URL set, that server is used instead (its role needs CREATEDB:
 * every store under test gets a database of its own). Otherwise the Debian binaries under
 * /usr/lib/postgresql/<version>/bin are found, a cluster is initialised in a temp folder and
 * started on 127.0.0.1 on a free port with durability off (fsync, synchronous_commit: it is
 * thrown away), and stop() removes it again.
 *
 * Same skip policy as test/support/shared.ts: when the binaries are missing, CI
 * (process.env.CI set) fails loudly; a developer machine skips with a loud line on stderr.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync, appendFileSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { freePort } from './tools.js';

export interface TestPostgres {
  /** URL of the maintenance database (`postgres`) on that server. */
  adminUrl: string;
  /** Creates an empty database and returns its URL. */
  createDatabase(prefix?: string): Promise<string>;
  /** Stops the server (when this harness started it) and removes its folder. */
  stop(): Promise<void>;
}

const INSTALL_HINT = 'install Debian package postgresql (apt-get install -y postgresql postgresql-contrib; .ci/run does this)';

/** The newest PostgreSQL server bin folder installed, or null. */
export function findPostgresBin(): string | null {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return null;
  const versions = readdirSync(root)
    .filter((v) => /^\d+$/.test(v) && existsSync(path.join(root, v, 'bin', 'initdb')) && existsSync(path.join(root, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length ? path.join(root, versions[0], 'bin') : null;
}

/**
 * For `describe(name, { skip: postgresSkip() }, …)`: false when a server can be had (URL given
 * or binaries installed); otherwise throws in CI and returns the loud reason elsewhere.
 */
export function postgresSkip(): false | string {
  if (process.env.OVR_ALPR_TEST_DATABASE_URL || findPostgresBin()) return false;
  const message = `PostgreSQL server binaries not found under /usr/lib/postgresql/*/bin and OVR_ALPR_TEST_DATABASE_URL is not set (${INSTALL_HINT})`;
  if (process.env.CI) throw new Error(`${message}; CI must run the PostgreSQL tests, refusing to skip`);
  process.stderr.write(`\n*** SKIPPED: ${message}\n\n`);
  return message;
}

let dbCounter = 0;

function makeCreateDatabase(adminUrl: string): (prefix?: string) => Promise<string> {
  return async (prefix = 'ovr_test') => {
    const name = `${prefix}_${process.pid}_${++dbCounter}_${Date.now().toString(36)}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      // Identifiers cannot be parameters; the name is built above from [a-z0-9_] only.
      await client.query(`CREATE DATABASE "${name}"`);
    } finally {
      await client.end();
    }
    const url = new URL(adminUrl);
    url.pathname = `/${name}`;
    return url.toString();
  };
}

/** Starts (or connects to) a server; call postgresSkip() first to apply the skip policy. */
export async function startTestPostgres(): Promise<TestPostgres> {
  const external = process.env.OVR_ALPR_TEST_DATABASE_URL;
  if (external) return { adminUrl: external, createDatabase: makeCreateDatabase(external), stop: async () => {} };

  const bin = findPostgresBin();
  if (!bin) throw new Error(`PostgreSQL server binaries not found (${INSTALL_HINT})`);

  const asRoot = process.getuid?.() === 0;
  // initdb refuses to run as root: the cluster belongs to the postgres system user.
  const runAs = (cmd: string, args: string[]): string[] => (asRoot ? ['runuser', '-u', 'postgres', '--', cmd, ...args] : [cmd, ...args]);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'ovr-alpr-pg-'));
  const dataDir = path.join(dir, 'data');
  if (asRoot) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  const run = (cmd: string, args: string[]): void => {
    const [exe, ...rest] = runAs(cmd, args);
    // cwd: the postgres user may not be allowed into the caller's folder.
    const r = spawnSync(exe, rest, { cwd: dir, encoding: 'utf8' });
    if (r.status !== 0) {
      const log = existsSync(path.join(dir, 'log')) ? readFileSync(path.join(dir, 'log'), 'utf8').slice(-2000) : '';
      throw new Error(`${cmd} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout || r.error?.message}\n${log}`);
    }
  };

  let started = false;
  const stopSync = (): void => {
    if (started) {
      started = false;
      const [exe, ...rest] = runAs(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-m', 'immediate', '-w', 'stop']);
      spawnSync(exe, rest, { cwd: dir, stdio: 'ignore' });
    }
    rmSync(dir, { recursive: true, force: true });
  };
  // A crashed or interrupted test run must not leave a postmaster behind.
  process.once('exit', stopSync);

  try {
    run(path.join(bin, 'initdb'), ['-D', dataDir, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--locale=C', '--no-sync']);
    let lastError: unknown;
    for (let attempt = 0; attempt < 5; attempt++) {
      const port = await freePort();
      // Loopback only, no Unix socket (its default folder may not exist or be writable), and no
      // durability: the cluster is deleted after the run.
      const conf = path.join(dataDir, 'postgresql.auto.conf');
      writeFileSync(conf, '');
      appendFileSync(
        conf,
        [
          `listen_addresses = '127.0.0.1'`,
          `port = ${port}`,
          `unix_socket_directories = ''`,
          `fsync = off`,
          `synchronous_commit = off`,
          `full_page_writes = off`,
          `max_connections = 200`,
          '',
        ].join('\n'),
      );
      try {
        run(path.join(bin, 'pg_ctl'), ['-D', dataDir, '-w', '-t', '60', '-l', path.join(dir, 'log'), 'start']);
        started = true;
        const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
        return {
          adminUrl,
          createDatabase: makeCreateDatabase(adminUrl),
          stop: async () => {
            process.removeListener('exit', stopSync);
            stopSync();
          },
        };
      } catch (err) {
        // Most likely the port was taken between freePort() and the bind: try another.
        lastError = err;
      }
    }
    throw lastError;
  } catch (err) {
    process.removeListener('exit', stopSync);
    stopSync();
    throw err;
  }
}
