/**
 * Launch mode of the backend launcher. There is no Docker engine on this machine, so the
 * compose flow (up -d, polling `ps --format json` until healthy, down) runs against a
 * stand-in docker CLI (test/main/fixtures/fake-docker.mjs); what a missing docker command or
 * a docker client without an engine does is checked with the real ones where they exist.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { ComposeLauncher, parsePs, type ComposeProgress } from '../../src-pipeline/backend/compose-launcher.js';
import { backendCmd } from '../../src-pipeline/cli/backend.js';

const FAKE = fileURLToPath(new URL('../main/fixtures/fake-docker.mjs', import.meta.url));
const COMPOSE_FILE = fileURLToPath(new URL('../../compose/docker-compose.yml', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'ovr-backend-launch-'));
const bin = join(dir, 'bin');
spawnSync('mkdir', ['-p', bin]);
copyFileSync(FAKE, join(bin, 'docker'));
chmodSync(join(bin, 'docker'), 0o755);
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

function fakeEnv(mode: string) {
  const state = join(dir, `state-${++n}.json`);
  writeFileSync(`${state}.calls`, '');
  return {
    env: { ...process.env, PATH: `${bin}:${process.env.PATH}`, FAKE_DOCKER_MODE: mode, FAKE_DOCKER_STATE: state },
    calls: () =>
      readFileSync(`${state}.calls`, 'utf8')
        .trim()
        .split('\n')
        .filter(Boolean)
        .map((l) => (JSON.parse(l) as string[]).join(' ')),
  };
}

describe('backend launch mode (stand-in docker CLI: no Docker engine here)', () => {
  it('up: runs `compose up -d`, polls ps until every service is healthy, reports progress; down stops it', async () => {
    const { env, calls } = fakeEnv('ok');
    const progress: ComposeProgress[] = [];
    const launcher = new ComposeLauncher({ composeFile: COMPOSE_FILE, projectName: 'ovr-alpr', env, pollMs: 10, onProgress: (p) => progress.push(p) });
    const r = await launcher.up();
    assert.equal(r.ok, true, JSON.stringify(r));
    assert.deepEqual(
      r.services.map((s) => [s.service, s.state, s.detail]),
      [
        ['kafka', 'healthy', 'running, healthy'],
        ['postgres', 'healthy', 'running, healthy'],
        ['minio', 'healthy', 'running (no healthcheck)'],
        ['minio-init', 'healthy', 'completed (exit 0)'],
      ],
    );
    const phases = [...new Set(progress.map((p) => p.phase))];
    assert.deepEqual(phases, ['checking', 'starting', 'waiting', 'done']);
    assert.ok(
      progress.some((p) => p.phase === 'starting' && p.message === 'Container ovr-alpr-kafka-1  Started'),
      'compose progress lines are passed on',
    );
    assert.ok(progress.some((p) => p.phase === 'waiting' && /kafka \(starting\)/.test(p.message)));
    const base = `compose -f ${COMPOSE_FILE} -p ovr-alpr`;
    assert.deepEqual(calls().slice(0, 4), [
      'compose version --short',
      `${base} config --services`,
      `${base} up -d --remove-orphans`,
      `${base} ps --all --format json`,
    ]);

    const d = await launcher.down();
    assert.equal(d.ok, true, JSON.stringify(d));
    assert.ok(d.services.every((s) => s.state === 'stopped'));
    assert.ok(calls().includes(`${base} down --remove-orphans`));
  });

  it('up: a failing healthcheck ends the wait with UNHEALTHY naming the service', async () => {
    const { env } = fakeEnv('unhealthy');
    const r = await new ComposeLauncher({ composeFile: COMPOSE_FILE, env, pollMs: 10 }).up();
    assert.equal(r.ok, false);
    assert.equal(r.error?.code, 'UNHEALTHY');
    assert.match(r.error!.message, /^postgres is unhealthy; see `docker compose -f .* logs`/);
    assert.equal(r.services.find((s) => s.service === 'postgres')?.error?.code, 'UNHEALTHY');
  });

  it('a docker client without the compose plugin: COMPOSE_MISSING', async () => {
    const { env } = fakeEnv('no-compose');
    const r = await new ComposeLauncher({ composeFile: COMPOSE_FILE, env }).status();
    assert.equal(r.error?.code, 'COMPOSE_MISSING');
    assert.match(r.error!.message, /has no compose plugin .*'compose' is not a docker command/);
  });

  it('no engine: ENGINE_UNAVAILABLE with the fix, through `ovr-alpr backend up --json`', async () => {
    const { env } = fakeEnv('no-engine');
    const out: string[] = [];
    const code = await backendCmd(['up', '--compose-file', COMPOSE_FILE, '--json'], { out: (l) => out.push(l), err: () => undefined, env });
    assert.equal(code, 1);
    const last = JSON.parse(out.at(-1)!);
    assert.equal(last.error.code, 'ENGINE_UNAVAILABLE');
    assert.match(last.error.message, /no Docker engine reachable \(Cannot connect to the Docker daemon.*\); start it/);
    assert.ok(out.slice(0, -1).every((l) => 'progress' in JSON.parse(l)));
  });

  it('no docker command at all: DOCKER_MISSING', async () => {
    const r = await new ComposeLauncher({ composeFile: COMPOSE_FILE, docker: join(dir, 'no-docker-here') }).up();
    assert.equal(r.error?.code, 'DOCKER_MISSING');
    assert.match(r.error!.message, /docker command was not found/);
  });

  it('a missing compose file: COMPOSE_FILE_INVALID', async () => {
    const { env } = fakeEnv('ok');
    const r = await new ComposeLauncher({ composeFile: join(dir, 'nope.yml'), env }).status();
    assert.equal(r.error?.code, 'COMPOSE_FILE_INVALID');
  });

  it('the real docker client on this machine (no engine): a clear error, never a hang', async (t) => {
    const probe = spawnSync('docker', ['info'], { encoding: 'utf8', timeout: 20_000 });
    if (probe.error) return t.skip('no docker client on PATH (DOCKER_MISSING is covered above)');
    if (probe.status === 0) return t.skip('a Docker engine is reachable here: not starting the real stack from a test');
    const r = await new ComposeLauncher({ composeFile: COMPOSE_FILE }).up();
    assert.equal(r.ok, false);
    // Without the compose plugin the client says so; with it, up fails on the missing daemon.
    assert.ok(['COMPOSE_MISSING', 'ENGINE_UNAVAILABLE'].includes(r.error?.code ?? ''), JSON.stringify(r));
  });

  it('parsePs reads both the NDJSON (compose >= 2.21) and the array format', () => {
    const a = { Service: 'kafka', State: 'running', Health: 'healthy' };
    assert.deepEqual(parsePs(`${JSON.stringify(a)}\n${JSON.stringify({ ...a, Service: 'x' })}\n`), [a, { ...a, Service: 'x' }]);
    assert.deepEqual(parsePs(JSON.stringify([a])), [a]);
    assert.deepEqual(parsePs('  \n'), []);
  });
});
